//! A JavaScript tokenizer for the linter: identifiers, literals and punctuators
//! with 1-based line and column, and whether a line break came before each
//! token (automatic semicolon insertion depends on it).
//!
//! It only runs on scenarios QuickJS has already compiled, so it is lenient:
//! it tells regular expressions from divisions by the previous token (as
//! editors do) and keeps template substitutions as nested token lists.

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Identifiers and keywords alike; `text` holds the name.
    Ident,
    Number,
    /// A string literal; `text` holds its value with simple escapes decoded.
    Str,
    /// A template literal: the cooked text of a template without
    /// substitutions is in `text`; each `${…}` is one token list.
    Template(Vec<Vec<Token>>),
    Regex,
    /// An operator or bracket; `text` holds it.
    Punct,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub text: String,
    pub line: u32,
    pub col: u32,
    /// Index of the token's first character in the source: a unique key.
    pub offset: usize,
    pub newline_before: bool,
}

impl Token {
    pub(crate) fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }

    pub(crate) fn is_word(&self, w: &str) -> bool {
        self.kind == Kind::Ident && self.text == w
    }
}

/// Where the scenario stops being JavaScript this reader understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    #[error("{line}:{col}: unterminated {what}")]
    Unterminated {
        what: &'static str,
        line: u32,
        col: u32,
    },
    #[error("{line}:{col}: unexpected character {found:?}")]
    UnexpectedChar { found: char, line: u32, col: u32 },
    #[error("{line}:{col}: unbalanced {found:?}")]
    Unbalanced { found: String, line: u32, col: u32 },
}

/// Longest first, so that `>>>=` wins over `>>`.
const PUNCTUATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%",
    "&", "|", "^", "!", "~", "?", ":", "=", ".", "@", "#",
];

/// Keywords after which a `/` starts a regular expression, not a division.
const BEFORE_EXPRESSION: &[&str] = &[
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
];

pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, LexError> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        newline: false,
    };
    lexer.skip_hashbang();
    lexer.tokens(false)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    /// A line break was crossed since the last token.
    newline: bool,
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript has no punctuation outside ASCII, so in code QuickJS has
/// accepted any other non-space character belongs to a name (letters,
/// combining marks, `·`, ZWJ…).
fn is_ident_start(c: char) -> bool {
    c == '_' || c == '$' || c == '\\' || c.is_ascii_alphabetic() || is_other_name_char(c)
}

fn is_ident_part(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

fn is_other_name_char(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace() && c != '\u{feff}'
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        // `\r\n` is one line break, counted at the `\n`.
        if c == '\n' || (is_line_break(c) && !(c == '\r' && self.peek(0) == Some('\n'))) {
            self.line += 1;
            self.col = 1;
            self.newline = true;
        } else if c != '\r' {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_hashbang(&mut self) {
        if self.peek(0) == Some('#') && self.peek(1) == Some('!') {
            while self.peek(0).is_some_and(|c| !is_line_break(c)) {
                self.bump();
            }
        }
    }

    /// Skips white space and comments.
    fn skip_trivia(&mut self) -> Result<(), LexError> {
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() || c == '\u{feff}' {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| !is_line_break(c)) {
                    self.bump();
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                let (line, col) = (self.line, self.col);
                self.bump();
                self.bump();
                loop {
                    match self.bump() {
                        Some('*') if self.peek(0) == Some('/') => {
                            self.bump();
                            break;
                        }
                        Some(_) => {}
                        None => {
                            return Err(LexError::Unterminated {
                                what: "comment",
                                line,
                                col,
                            })
                        }
                    }
                }
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Tokens up to the end of input, or (inside a template substitution)
    /// up to the `}` that closes it, which is consumed.
    fn tokens(&mut self, in_substitution: bool) -> Result<Vec<Token>, LexError> {
        let mut out: Vec<Token> = Vec::new();
        let mut braces = 0usize;
        // For each open `(`: whether it follows `if`, `while`, `for` or `with`,
        // after whose `)` a `/` starts a regular expression.
        let mut parens: Vec<bool> = Vec::new();
        let mut after_control_paren = false;
        loop {
            self.skip_trivia()?;
            let (line, col, offset) = (self.line, self.col, self.pos);
            let newline_before = std::mem::take(&mut self.newline);
            let Some(c) = self.peek(0) else {
                if in_substitution {
                    return Err(LexError::Unterminated {
                        what: "template substitution",
                        line,
                        col,
                    });
                }
                return Ok(out);
            };
            let token = |kind, text| Token {
                kind,
                text,
                line,
                col,
                offset,
                newline_before,
            };
            if in_substitution && c == '}' && braces == 0 {
                self.bump();
                return Ok(out);
            }
            let regex_allowed = match out.last() {
                None => true,
                Some(t) => match t.kind {
                    Kind::Ident => BEFORE_EXPRESSION.contains(&t.text.as_str()),
                    Kind::Punct => match t.text.as_str() {
                        ")" => after_control_paren,
                        "]" | "++" | "--" => false,
                        _ => true,
                    },
                    _ => false,
                },
            };
            let private_name = c == '#' && self.peek(1).is_some_and(is_ident_start);
            let next = if is_ident_start(c) || private_name {
                token(Kind::Ident, self.identifier())
            } else if c.is_ascii_digit()
                || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
            {
                token(Kind::Number, self.number())
            } else if c == '"' || c == '\'' {
                token(Kind::Str, self.string(c, line, col)?)
            } else if c == '`' {
                let (text, parts) = self.template(line, col)?;
                token(Kind::Template(parts), text)
            } else if c == '/' && regex_allowed {
                token(Kind::Regex, self.regex(line, col)?)
            } else {
                let Some(p) = PUNCTUATORS.iter().find(|p| self.starts_with(p)) else {
                    return Err(LexError::UnexpectedChar {
                        found: c,
                        line,
                        col,
                    });
                };
                // `a?.5:b` is a conditional, not optional chaining.
                let p = if *p == "?." && self.peek(2).is_some_and(|d| d.is_ascii_digit()) {
                    "?"
                } else {
                    p
                };
                for _ in 0..p.chars().count() {
                    self.bump();
                }
                token(Kind::Punct, p.to_string())
            };
            after_control_paren = false;
            match (next.kind == Kind::Punct, next.text.as_str()) {
                (true, "{") => braces += 1,
                (true, "}") => braces = braces.saturating_sub(1),
                (true, "(") => parens.push(out.last().is_some_and(|t| {
                    t.kind == Kind::Ident
                        && matches!(t.text.as_str(), "if" | "while" | "for" | "with")
                })),
                (true, ")") => after_control_paren = parens.pop().unwrap_or(false),
                _ => {}
            }
            out.push(next);
        }
    }

    fn starts_with(&self, p: &str) -> bool {
        p.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    /// A name, or a private name `#name` (one token: `this.#s` is no `s`).
    fn identifier(&mut self) -> String {
        let mut name = String::new();
        if self.peek(0) == Some('#') {
            name.extend(self.bump());
        }
        while let Some(c) = self.peek(0).filter(|c| is_ident_part(*c)) {
            self.bump();
            if c == '\\' {
                // `\u0061` or `\u{61}` in a name: keep it as written.
                name.push(c);
                continue;
            }
            name.push(c);
        }
        name
    }

    fn number(&mut self) -> String {
        let mut text = String::new();
        while let Some(c) = self.peek(0) {
            let exponent_sign = (c == '+' || c == '-')
                && text.ends_with(['e', 'E'])
                && !text.starts_with("0x")
                && !text.starts_with("0X");
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                text.push(c);
                self.bump();
            } else {
                break;
            }
        }
        text
    }

    /// Reads one escape after a `\`, pushing its value (approximately: the
    /// linter only compares plain event names).
    fn escape(&mut self, value: &mut String) {
        let Some(c) = self.bump() else { return };
        match c {
            'n' => value.push('\n'),
            't' => value.push('\t'),
            'r' => value.push('\r'),
            'b' => value.push('\u{8}'),
            'f' => value.push('\u{c}'),
            'v' => value.push('\u{b}'),
            '0' if !self.peek(0).is_some_and(|d| d.is_ascii_digit()) => value.push('\0'),
            'x' => {
                let hex: String = (0..2).filter_map(|_| self.bump()).collect();
                value.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            'u' => {
                let hex: String = if self.peek(0) == Some('{') {
                    self.bump();
                    let mut h = String::new();
                    while let Some(d) = self.bump() {
                        if d == '}' {
                            break;
                        }
                        h.push(d);
                    }
                    h
                } else {
                    (0..4).filter_map(|_| self.bump()).collect()
                };
                value.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            // A line continuation adds nothing.
            c if is_line_break(c) => {
                if c == '\r' && self.peek(0) == Some('\n') {
                    self.bump();
                }
            }
            c => value.push(c),
        }
    }

    fn string(&mut self, quote: char, line: u32, col: u32) -> Result<String, LexError> {
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => return Ok(value),
                Some('\\') => self.escape(&mut value),
                Some(c) if c != '\n' && c != '\r' => value.push(c),
                _ => {
                    return Err(LexError::Unterminated {
                        what: "string",
                        line,
                        col,
                    })
                }
            }
        }
    }

    fn template(&mut self, line: u32, col: u32) -> Result<(String, Vec<Vec<Token>>), LexError> {
        self.bump();
        let mut text = String::new();
        let mut parts = Vec::new();
        loop {
            match self.bump() {
                Some('`') => {
                    // A template that crossed lines is not a line break before the next token.
                    self.newline = false;
                    return Ok((text, parts));
                }
                Some('\\') => self.escape(&mut text),
                Some('$') if self.peek(0) == Some('{') => {
                    self.bump();
                    parts.push(self.tokens(true)?);
                }
                Some(c) => text.push(c),
                None => {
                    return Err(LexError::Unterminated {
                        what: "template literal",
                        line,
                        col,
                    })
                }
            }
        }
    }

    fn regex(&mut self, line: u32, col: u32) -> Result<String, LexError> {
        let mut text = String::new();
        text.extend(self.bump());
        let mut in_class = false;
        loop {
            let unterminated = LexError::Unterminated {
                what: "regular expression",
                line,
                col,
            };
            match self.bump() {
                Some('\\') => {
                    text.push('\\');
                    match self.bump() {
                        Some(c) if !is_line_break(c) => text.push(c),
                        _ => return Err(unterminated),
                    }
                }
                Some('[') => {
                    in_class = true;
                    text.push('[');
                }
                Some(']') => {
                    in_class = false;
                    text.push(']');
                }
                Some('/') if !in_class => {
                    text.push('/');
                    break;
                }
                Some(c) if !is_line_break(c) => text.push(c),
                _ => return Err(unterminated),
            }
        }
        while let Some(flag) = self.peek(0).filter(|c| is_ident_part(*c)) {
            text.push(flag);
            self.bump();
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(Kind, String)> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let tokens = tokenize("a\n  bb.c // x\r\n/* y\n */ d").unwrap();
        let at: Vec<(String, u32, u32, bool)> = tokens
            .into_iter()
            .map(|t| (t.text, t.line, t.col, t.newline_before))
            .collect();
        assert_eq!(
            at,
            [
                ("a".into(), 1, 1, false),
                ("bb".into(), 2, 3, true),
                (".".into(), 2, 5, false),
                ("c".into(), 2, 6, false),
                ("d".into(), 4, 5, true),
            ]
        );
    }

    #[test]
    fn slash_is_a_regex_or_a_division_by_what_precedes_it() {
        assert_eq!(kinds("x = a / b / c")[3], (Kind::Punct, "/".to_string()));
        assert_eq!(
            kinds("s.split(/\\s+/)")[4],
            (Kind::Regex, "/\\s+/".to_string())
        );
        assert_eq!(
            kinds("if (x) /a[/]b/g.test(y)")[4],
            (Kind::Regex, "/a[/]b/g".to_string())
        );
        assert_eq!(kinds("f(a) / 2")[4], (Kind::Punct, "/".to_string()));
    }

    #[test]
    fn strings_are_decoded_and_templates_keep_their_substitutions() {
        assert_eq!(
            kinds(r#"'it\'s' "Call.\u0043onnected""#),
            [
                (Kind::Str, "it's".to_string()),
                (Kind::Str, "Call.Connected".to_string())
            ]
        );
        let tokens = tokenize("`a ${ {b: `c${d}`}.b } e`").unwrap();
        let Kind::Template(parts) = &tokens[0].kind else {
            panic!("not a template: {tokens:?}");
        };
        assert_eq!(parts.len(), 1);
        let texts: Vec<&str> = parts[0].iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["{", "b", ":", "c", "}", ".", "b"]);
    }

    #[test]
    fn punctuators_take_the_longest_match() {
        let texts: Vec<String> = kinds("a?.b ?? c >>>= d => e?.5:f")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            texts,
            ["a", "?.", "b", "??", "c", ">>>=", "d", "=>", "e", "?", ".5", ":", "f"]
        );
    }

    #[test]
    fn names_may_use_any_letter_or_mark() {
        let names: Vec<String> = kinds("var café·x = ñ\u{301}; $_1")
            .into_iter()
            .filter(|(k, _)| *k == Kind::Ident)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(names, ["var", "café·x", "ñ\u{301}", "$_1"]);
        assert_eq!(kinds("this.#s")[2], (Kind::Ident, "#s".to_string()));
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        for source in ["'open", "`open ${", "/* open", "x = /open", "a \u{1} b"] {
            assert!(tokenize(source).is_err(), "{source:?} was accepted");
        }
    }
}
