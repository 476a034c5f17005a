//! Tokens of `dialtone.d.ts`: names, string literals, numbers and the
//! punctuators the declaration subset uses; comments are dropped.

use super::super::typings::TypingsError;
use super::Result;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tk {
    Ident(String),
    Str(String),
    Num,
    Punct(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub tk: Tk,
    pub line: u32,
}

const PUNCTS: &[&str] = &[
    "=>", "...", "{", "}", "(", ")", "[", "]", "<", ">", ";", ":", ",", "?", "|", "&", "=", ".",
    "*", "!", "-", "+", "@",
];

pub(super) fn lex(text: &str) -> Result<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            loop {
                match at(i) {
                    Some('*') if at(i + 1) == Some('/') => {
                        i += 2;
                        break;
                    }
                    Some(c) => {
                        line += u32::from(c == '\n');
                        i += 1;
                    }
                    None => {
                        return Err(TypingsError::Unterminated {
                            line: start_line,
                            what: "comment",
                        })
                    }
                }
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let mut value = String::new();
            i += 1;
            loop {
                match at(i) {
                    Some(q) if q == c => break,
                    Some('\\') => {
                        value.extend(at(i + 1));
                        i += 2;
                    }
                    Some(ch) => {
                        line += u32::from(ch == '\n');
                        value.push(ch);
                        i += 1;
                    }
                    None => {
                        return Err(TypingsError::Unterminated {
                            line: start_line,
                            what: "string",
                        })
                    }
                }
            }
            i += 1;
            out.push(Tok {
                tk: Tk::Str(value),
                line: start_line,
            });
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let mut name = String::new();
            while let Some(ch) = at(i).filter(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '$')
            {
                name.push(ch);
                i += 1;
            }
            out.push(Tok {
                tk: Tk::Ident(name),
                line,
            });
        } else if c.is_ascii_digit() {
            while at(i).is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '_') {
                i += 1;
            }
            out.push(Tok { tk: Tk::Num, line });
        } else {
            let Some(p) = PUNCTS
                .iter()
                .find(|p| p.chars().enumerate().all(|(k, pc)| at(i + k) == Some(pc)))
            else {
                return Err(TypingsError::Unexpected {
                    line,
                    expected: "a token",
                    found: c.to_string(),
                });
            };
            i += p.len();
            out.push(Tok {
                tk: Tk::Punct(p),
                line,
            });
        }
    }
    out.push(Tok { tk: Tk::Eof, line });
    Ok(out)
}
