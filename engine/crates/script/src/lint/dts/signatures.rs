//! The type grammar of the declaration subset: type parameters, function
//! signatures and parameters, and types as far as [`TsType`] follows them
//! (unions, literals, object types and tuples become [`TsType::Other`]).

use super::super::typings::{Param, Signature, TsType, TypeParam};
use super::lex::Tk;
use super::{Reader, Result};

impl Reader {
    /// `<A, E extends keyof M = X>`
    pub(super) fn type_params(&mut self) -> Result<Vec<TypeParam>> {
        self.expect("<")?;
        let mut params = Vec::new();
        while !self.eat(">") {
            let name = self.ident("a type parameter")?;
            let mut keyof = None;
            if self.is_word("extends") {
                self.bump();
                if self.is_word("keyof") {
                    self.bump();
                    if let TsType::Named { name, .. } = self.postfix_type()? {
                        keyof = Some(name);
                    }
                } else {
                    self.parse_type()?;
                }
            }
            if self.eat("=") {
                self.parse_type()?;
            }
            params.push(TypeParam { name, keyof });
            if !self.eat(",") && !self.is(">") {
                return Err(self.unexpected(">"));
            }
        }
        Ok(params)
    }

    /// `<T>(a: X, b?: Y, ...c: Z[]): R` (the return type is optional).
    pub(super) fn signature(&mut self) -> Result<Signature> {
        let type_params = if self.is("<") {
            self.type_params()?
        } else {
            Vec::new()
        };
        let params = self.params()?;
        let returns = if self.eat(":") {
            self.parse_type()?
        } else {
            TsType::Other
        };
        Ok(Signature {
            type_params,
            params,
            returns,
        })
    }

    pub(super) fn params(&mut self) -> Result<Vec<Param>> {
        self.expect("(")?;
        let mut params = Vec::new();
        while !self.eat(")") {
            let rest = self.eat("...");
            let name = match self.peek().clone() {
                Tk::Ident(name) => {
                    self.bump();
                    name
                }
                Tk::Punct("{" | "[") => {
                    self.skip_balanced()?;
                    String::new()
                }
                _ => return Err(self.unexpected("a parameter")),
            };
            let mut optional = self.eat("?");
            let ty = if self.eat(":") {
                self.parse_type()?
            } else {
                TsType::Other
            };
            if self.eat("=") {
                // A default value (not in declaration files, but harmless).
                optional = true;
                while !self.is(",") && !self.is(")") {
                    if matches!(self.bump(), Tk::Eof) {
                        return Err(self.unexpected(")"));
                    }
                }
            }
            // `this: T` types `this`; it is not an argument.
            if name != "this" {
                params.push(Param {
                    name,
                    optional,
                    rest,
                    ty,
                });
            }
            if !self.eat(",") && !self.is(")") {
                return Err(self.unexpected(")"));
            }
        }
        Ok(params)
    }

    /// A type: unions and intersections are `Other`.
    pub(super) fn parse_type(&mut self) -> Result<TsType> {
        let leading = self.eat("|") || self.eat("&");
        let first = self.postfix_type()?;
        let mut parts = 1;
        while self.eat("|") || self.eat("&") {
            self.postfix_type()?;
            parts += 1;
        }
        if self.is_word("extends") {
            // A conditional type `A extends B ? C : D`.
            self.bump();
            self.parse_type()?;
            self.expect("?")?;
            self.parse_type()?;
            self.expect(":")?;
            self.parse_type()?;
            return Ok(TsType::Other);
        }
        Ok(if parts == 1 && !leading {
            first
        } else {
            TsType::Other
        })
    }

    /// A primary type followed by `[]` or `[K]`.
    pub(super) fn postfix_type(&mut self) -> Result<TsType> {
        let mut ty = self.primary_type()?;
        while self.is("[") {
            self.bump();
            if self.eat("]") {
                ty = TsType::Other;
                continue;
            }
            let index = self.parse_type()?;
            self.expect("]")?;
            ty = match (ty, index) {
                (TsType::Named { name: object, .. }, TsType::Named { name: index, .. }) => {
                    TsType::Indexed { object, index }
                }
                _ => TsType::Other,
            };
        }
        Ok(ty)
    }

    pub(super) fn primary_type(&mut self) -> Result<TsType> {
        match self.peek().clone() {
            Tk::Ident(word)
                if matches!(
                    word.as_str(),
                    "keyof" | "typeof" | "readonly" | "unique" | "infer"
                ) =>
            {
                self.bump();
                self.postfix_type()?;
                Ok(TsType::Other)
            }
            Tk::Ident(word) if word == "new" => {
                self.bump();
                self.function_type()?;
                Ok(TsType::Other)
            }
            Tk::Ident(_) => {
                let name = self.dotted()?;
                let mut args = Vec::new();
                if self.eat("<") {
                    while !self.eat(">") {
                        args.push(self.parse_type()?);
                        if !self.eat(",") && !self.is(">") {
                            return Err(self.unexpected(">"));
                        }
                    }
                }
                Ok(TsType::Named { name, args })
            }
            Tk::Str(_) | Tk::Num => {
                self.bump();
                Ok(TsType::Other)
            }
            Tk::Punct("-") => {
                self.bump();
                self.bump();
                Ok(TsType::Other)
            }
            Tk::Punct("{" | "[") => {
                self.skip_balanced()?;
                Ok(TsType::Other)
            }
            Tk::Punct("<") => self.function_type(),
            Tk::Punct("(") => {
                if self.is_function_type() {
                    self.function_type()
                } else {
                    self.bump();
                    let ty = self.parse_type()?;
                    self.expect(")")?;
                    Ok(ty)
                }
            }
            _ => Err(self.unexpected("a type")),
        }
    }

    /// Whether the `(` here starts `(…) => R` rather than a parenthesised type.
    pub(super) fn is_function_type(&self) -> bool {
        let mut depth = 0usize;
        let mut k = 0;
        loop {
            match self.peek_at(k) {
                Tk::Punct("(" | "[" | "{") => depth += 1,
                Tk::Punct(")" | "]" | "}") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return matches!(self.peek_at(k + 1), Tk::Punct("=>"));
                    }
                }
                Tk::Eof => return false,
                _ => {}
            }
            k += 1;
        }
    }

    /// `<T>(params) => R`
    pub(super) fn function_type(&mut self) -> Result<TsType> {
        let type_params = if self.is("<") {
            self.type_params()?
        } else {
            Vec::new()
        };
        let params = self.params()?;
        self.expect("=>")?;
        let returns = self.parse_type()?;
        Ok(TsType::Function(Box::new(Signature {
            type_params,
            params,
            returns,
        })))
    }
}
