//! A reader of the TypeScript subset `dialtone.d.ts` is written in:
//! `declare namespace|enum|class|function`, interfaces, type aliases,
//! function signatures with generic, optional (`?`, defaults) and rest
//! parameters, and types as far as [`TsType`] follows them. Anything else in
//! a type (object literals, tuples, conditional types) is skipped as a
//! balanced unit; a construct outside the subset is an error naming its line.

mod lex;
mod signatures;

use std::collections::BTreeMap;

use super::typings::{Alias, Function, Member, Signature, TsType, Typings, TypingsError};
use lex::{lex, Tk, Tok};

pub(crate) fn read(text: &str) -> Result<Typings> {
    let mut reader = Reader {
        toks: lex(text)?,
        pos: 0,
        out: Typings::default(),
    };
    reader.items(None, false)?;
    Ok(reader.out)
}

struct Reader {
    toks: Vec<Tok>,
    pos: usize,
    out: Typings,
}

type Result<T> = std::result::Result<T, TypingsError>;

/// Member modifiers, skipped when they are followed by a member name.
const MODIFIERS: &[&str] = &[
    "private",
    "public",
    "protected",
    "static",
    "readonly",
    "abstract",
    "declare",
    "override",
    "async",
    "get",
    "set",
];

fn qualify(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}.{name}"),
        None => name.to_string(),
    }
}

impl Reader {
    fn peek_at(&self, ahead: usize) -> &Tk {
        self.toks
            .get(self.pos + ahead)
            .or(self.toks.last())
            .map_or(&Tk::Eof, |t| &t.tk)
    }

    fn peek(&self) -> &Tk {
        self.peek_at(0)
    }

    fn line(&self) -> u32 {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |t| t.line)
    }

    fn bump(&mut self) -> Tk {
        let tk = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        tk
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tk::Punct(q) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tk::Ident(n) if n == w)
    }

    fn eat(&mut self, p: &str) -> bool {
        let found = self.is(p);
        if found {
            self.bump();
        }
        found
    }

    fn unexpected(&self, expected: &'static str) -> TypingsError {
        TypingsError::Unexpected {
            line: self.line(),
            expected,
            found: format!("{:?}", self.peek()),
        }
    }

    fn expect(&mut self, p: &'static str) -> Result<()> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.unexpected(p))
        }
    }

    fn ident(&mut self, expected: &'static str) -> Result<String> {
        match self.peek().clone() {
            Tk::Ident(name) => {
                self.bump();
                Ok(name)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    /// `a.b.c`
    fn dotted(&mut self) -> Result<String> {
        let mut name = self.ident("a name")?;
        while self.is(".") && matches!(self.peek_at(1), Tk::Ident(_)) {
            self.bump();
            name.push('.');
            name.push_str(&self.ident("a name")?);
        }
        Ok(name)
    }

    /// Skips from an opening bracket to its match, whatever is inside.
    fn skip_balanced(&mut self) -> Result<()> {
        let line = self.line();
        let mut depth = 0usize;
        loop {
            match self.bump() {
                Tk::Punct("{" | "(" | "[") => depth += 1,
                Tk::Punct("}" | ")" | "]") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Tk::Eof => {
                    return Err(TypingsError::Unterminated {
                        line,
                        what: "bracket",
                    })
                }
                _ => {}
            }
        }
    }

    /// Declarations until the end of input or (in a namespace) its `}`.
    fn items(&mut self, namespace: Option<&str>, braced: bool) -> Result<()> {
        loop {
            let word = match self.peek().clone() {
                Tk::Eof if !braced => return Ok(()),
                Tk::Punct("}") if braced => {
                    self.bump();
                    return Ok(());
                }
                Tk::Punct(";") => {
                    self.bump();
                    continue;
                }
                Tk::Ident(word) => word,
                _ => return Err(self.unexpected("a declaration")),
            };
            match word.as_str() {
                "declare" | "export" | "default" | "abstract" => {
                    self.bump();
                }
                "const" if matches!(self.peek_at(1), Tk::Ident(w) if w == "enum") => {
                    self.bump();
                }
                "namespace" | "module" => {
                    self.bump();
                    let name = qualify(namespace, &self.dotted()?);
                    self.out.namespaces.entry(name.clone()).or_default();
                    self.expect("{")?;
                    self.items(Some(&name), true)?;
                }
                "enum" => {
                    self.bump();
                    let name = qualify(namespace, &self.ident("an enum name")?);
                    self.enum_body(name)?;
                }
                "class" => {
                    self.bump();
                    let name = qualify(namespace, &self.ident("a class name")?);
                    // Type parameters, `extends`, `implements`: not followed.
                    while !self.is("{") {
                        if self.is("<") {
                            self.type_params()?;
                        } else if matches!(self.bump(), Tk::Eof) {
                            return Err(self.unexpected("{"));
                        }
                    }
                    self.class_body(name)?;
                }
                "interface" => {
                    self.bump();
                    self.interface(namespace)?;
                }
                "type" => {
                    self.bump();
                    let name = qualify(namespace, &self.ident("a type name")?);
                    if self.is("<") {
                        self.type_params()?;
                    }
                    self.expect("=")?;
                    let ty = self.parse_type()?;
                    self.eat(";");
                    let namespace = namespace.map(str::to_string);
                    self.out.aliases.insert(name, Alias { namespace, ty });
                }
                "function" => {
                    self.bump();
                    let name = self.ident("a function name")?;
                    let sig = self.signature()?;
                    self.eat(";");
                    let members = match namespace {
                        Some(ns) => self.out.namespaces.entry(ns.to_string()).or_default(),
                        None => &mut self.out.globals,
                    };
                    add_overload(members, name, sig);
                }
                "const" | "let" | "var" => {
                    self.bump();
                    let name = self.ident("a name")?;
                    let ty = if self.eat(":") {
                        self.parse_type()?
                    } else {
                        TsType::Other
                    };
                    self.eat(";");
                    let members = match namespace {
                        Some(ns) => self.out.namespaces.entry(ns.to_string()).or_default(),
                        None => &mut self.out.globals,
                    };
                    members.insert(name, Member::Value(ty));
                }
                _ => return Err(self.unexpected("a declaration")),
            }
        }
    }

    fn enum_body(&mut self, name: String) -> Result<()> {
        self.expect("{")?;
        let mut members = BTreeMap::new();
        while !self.eat("}") {
            let member = match self.bump() {
                Tk::Ident(m) | Tk::Str(m) => m,
                _ => return Err(self.unexpected("an enum member")),
            };
            let mut value = None;
            if self.eat("=") {
                match self.peek().clone() {
                    Tk::Str(v) => {
                        self.bump();
                        value = Some(v);
                    }
                    _ => {
                        // A computed or numeric value.
                        while !self.is(",") && !self.is("}") {
                            if matches!(self.bump(), Tk::Eof) {
                                return Err(self.unexpected("}"));
                            }
                        }
                    }
                }
            }
            members.insert(member, value);
            if !self.eat(",") && !self.is("}") {
                return Err(self.unexpected(","));
            }
        }
        self.out.enums.entry(name).or_default().extend(members);
        Ok(())
    }

    /// Skips modifiers; says whether `static` and `private` were among them.
    fn modifiers(&mut self) -> (bool, bool) {
        let (mut is_static, mut is_private) = (false, false);
        while let Tk::Ident(word) = self.peek() {
            let followed_by_name =
                matches!(self.peek_at(1), Tk::Ident(_) | Tk::Str(_) | Tk::Punct("["));
            if !(MODIFIERS.contains(&word.as_str()) && followed_by_name) {
                break;
            }
            is_static |= word == "static";
            is_private |= word == "private";
            self.bump();
        }
        (is_static, is_private)
    }

    fn class_body(&mut self, name: String) -> Result<()> {
        self.expect("{")?;
        let mut members = BTreeMap::new();
        while !self.eat("}") {
            if self.eat(";") {
                continue;
            }
            let (is_static, is_private) = self.modifiers();
            let member = match self.peek().clone() {
                Tk::Ident(m) | Tk::Str(m) => {
                    self.bump();
                    Some(m)
                }
                Tk::Punct("[") => {
                    self.skip_balanced()?;
                    None
                }
                _ => return Err(self.unexpected("a class member")),
            };
            self.eat("?");
            let entry = if self.is("(") || self.is("<") {
                Some(Err(self.signature()?))
            } else if self.eat(":") {
                Some(Ok(self.parse_type()?))
            } else {
                None
            };
            self.eat(";");
            if is_static {
                // `Name.member(...)`: read as a namespace function (a class of
                // statics is how TypeScript names a member `delete`).
                if let (Some(member), Some(Err(sig))) = (member.clone(), entry.clone()) {
                    let statics = self.out.namespaces.entry(name.clone()).or_default();
                    add_overload(statics, member, sig);
                }
                continue;
            }
            if member.as_deref() == Some("constructor") {
                // A public constructor makes the class a global a scenario
                // calls with `new` (`new IVRState(...)`).
                if let (false, Some(Err(sig))) = (is_private, entry) {
                    add_overload(&mut self.out.globals, name.clone(), sig);
                }
                continue;
            }
            let Some(member) = member else {
                continue;
            };
            match entry {
                Some(Err(sig)) => add_overload(&mut members, member, sig),
                Some(Ok(ty)) => {
                    members.insert(member, Member::Value(ty));
                }
                None => {
                    members.insert(member, Member::Value(TsType::Other));
                }
            }
        }
        self.out.classes.entry(name).or_default().extend(members);
        Ok(())
    }

    fn interface(&mut self, namespace: Option<&str>) -> Result<()> {
        let name = qualify(namespace, &self.ident("an interface name")?);
        if self.is("<") {
            self.type_params()?;
        }
        let mut extends = Vec::new();
        if self.is_word("extends") {
            self.bump();
            loop {
                extends.push(self.parse_type()?);
                if !self.eat(",") {
                    break;
                }
            }
        }
        self.expect("{")?;
        let mut properties = BTreeMap::new();
        while !self.eat("}") {
            if self.eat(";") || self.eat(",") {
                continue;
            }
            if self.is("[") {
                // An index signature: `[name: string]: T`.
                self.skip_balanced()?;
                self.eat("?");
                self.expect(":")?;
                self.parse_type()?;
                continue;
            }
            if self.is("(") || self.is("<") {
                // A call signature.
                self.signature()?;
                continue;
            }
            self.modifiers();
            let key = match self.bump() {
                Tk::Ident(k) | Tk::Str(k) => k,
                _ => return Err(self.unexpected("a property")),
            };
            self.eat("?");
            let ty = if self.is("(") || self.is("<") {
                TsType::Function(Box::new(self.signature()?))
            } else {
                self.expect(":")?;
                self.parse_type()?
            };
            properties.insert(key, ty);
        }
        let entry = self.out.interfaces.entry(name).or_default();
        entry.namespace = namespace.map(str::to_string);
        entry.extends.extend(extends);
        entry.properties.extend(properties);
        Ok(())
    }
}

fn add_overload(members: &mut BTreeMap<String, Member>, name: String, sig: Signature) {
    match members
        .entry(name)
        .or_insert_with(|| Member::Function(Function::default()))
    {
        Member::Function(f) => f.overloads.push(sig),
        value => {
            *value = Member::Function(Function {
                overloads: vec![sig],
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::typings::{Arity, Declared};
    use super::*;

    const SAMPLE: &str = r#"
// A comment with a { brace.
/** A namespace. */
declare namespace Ns {
  function f(a: string): void;
  function f(a: string, b?: number, c?: { x: number }): void;
  function g<E extends keyof M>(
    event: E,
    handler: (e: M[E]) => any,
  ): Promise<number>;
  function rest(first: number, ...more: any[]): void;
  const version: string;
  interface Options {
    loop?: boolean;
    nested?: { inner(): void };
    [extra: string]: any;
  }
  type Alias = Options;
}
declare enum En {
  /** Emitted. */
  A = "En.A",
  B = "En.B",
}
declare const enum Num { X = 1, Y }
declare class Cl {
  private constructor();
  m(x?: number): void;
  n<E>(e: E): Cl;
  static s(): void;
  prop: string;
}
interface M {
  "En.A": Ns.Options;
  "En.B": Base<"x">;
}
interface Base<N extends string> extends Other {
  name: N;
  cl: Cl;
}
interface Other { deep: (a: number) => void }
type Union = "a" | "b" | ((x: number) => void);
declare function top(cb: (...args: any[]) => void, ms?: number, ...args: any[]): number;
"#;

    #[test]
    fn every_kind_of_declaration_is_read() {
        let t = Typings::parse(SAMPLE).unwrap();
        let members: Vec<String> = t.members().into_iter().collect();
        assert_eq!(
            members,
            [
                "Cl.m",
                "Cl.n",
                // `prop` is an instance's data, not a method of the class.
                // A static is called as `Cl.s()`: read as a namespace function.
                "Cl.s",
                "En.A",
                "En.B",
                "Ns.f",
                "Ns.g",
                "Ns.rest",
                "Ns.version",
                "Num.X",
                "Num.Y",
                "top"
            ]
        );
        assert_eq!(t.enum_value("En", "B"), Some("En.B"));
        assert_eq!(t.enum_value("Num", "X"), None);
        assert_eq!(
            t.arity("Ns.f"),
            Some(Arity {
                min: 1,
                max: Some(3)
            })
        );
        assert_eq!(t.arity("Ns.rest"), Some(Arity { min: 1, max: None }));
        assert_eq!(t.arity("top"), Some(Arity { min: 1, max: None }));
        assert_eq!(
            t.arity("Cl.m"),
            Some(Arity {
                min: 0,
                max: Some(1)
            })
        );
        assert_eq!(t.arity("Ns.version"), None);
        assert_eq!(t.keys("M"), ["En.A", "En.B"]);
        assert_eq!(t.enum_of_keys("M"), Some("En"));
        assert_eq!(
            t.resolve("Alias", Some("Ns")),
            Some(Declared::Interface("Ns.Options"))
        );
        assert!(matches!(
            t.property("Base", "deep"),
            Some((TsType::Function(_), None))
        ));
        assert!(matches!(
            t.property("Base", "cl"),
            Some((TsType::Named { name, .. }, None)) if name == "Cl"
        ));
    }

    #[test]
    fn constructs_outside_the_subset_are_errors_with_a_line() {
        let err =
            Typings::parse("declare namespace A {\n  function f(: number): void;\n}").unwrap_err();
        assert!(
            matches!(err, TypingsError::Unexpected { line: 2, .. }),
            "{err}"
        );
        let err = Typings::parse("declare enum E { A = \"x\"").unwrap_err();
        assert!(matches!(err, TypingsError::Unexpected { .. }), "{err}");
        assert!(Typings::parse("/* open").is_err());
        assert!(Typings::parse("declare class C { m(): { a: string }").is_err());
    }
}
