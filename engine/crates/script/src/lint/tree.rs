//! Token trees: tokens with every `()`, `[]` and `{}` pair folded into a
//! group, so that "the arguments of this call" or "the body of this
//! function" is one value and commas inside nested brackets never confuse
//! the walker.

use super::tokens::{Kind, LexError, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delim {
    Paren,
    Bracket,
    Brace,
}

#[derive(Debug)]
pub(crate) struct Group {
    pub delim: Delim,
    pub open: Token,
    pub trees: Vec<Tree>,
}

#[derive(Debug)]
pub(crate) enum Tree {
    Leaf(Token),
    Group(Group),
    /// A template literal and the trees of each of its substitutions.
    Template(Token, Vec<Vec<Tree>>),
}

impl Tree {
    /// The token the tree starts with.
    pub(crate) fn token(&self) -> &Token {
        match self {
            Tree::Leaf(t) | Tree::Template(t, _) => t,
            Tree::Group(g) => &g.open,
        }
    }

    pub(crate) fn leaf(&self) -> Option<&Token> {
        match self {
            Tree::Leaf(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn is_punct(&self, p: &str) -> bool {
        self.leaf().is_some_and(|t| t.is_punct(p))
    }

    pub(crate) fn is_word(&self, w: &str) -> bool {
        self.leaf().is_some_and(|t| t.is_word(w))
    }

    /// The name of an identifier leaf.
    pub(crate) fn ident(&self) -> Option<&Token> {
        self.leaf().filter(|t| t.kind == Kind::Ident)
    }

    pub(crate) fn group(&self, delim: Delim) -> Option<&Group> {
        match self {
            Tree::Group(g) if g.delim == delim => Some(g),
            _ => None,
        }
    }
}

/// One open bracket (none at the top level) and the trees inside it so far.
type Level = (Option<(Delim, Token)>, Vec<Tree>);

/// Folds tokens into trees.
pub(crate) fn build(tokens: Vec<Token>) -> Result<Vec<Tree>, LexError> {
    // Each level: the open bracket (none at the top) and the trees so far.
    let mut stack: Vec<Level> = vec![(None, Vec::new())];
    for token in tokens {
        let opens = match (&token.kind, token.text.as_str()) {
            (Kind::Punct, "(") => Some(Delim::Paren),
            (Kind::Punct, "[") => Some(Delim::Bracket),
            (Kind::Punct, "{") => Some(Delim::Brace),
            _ => None,
        };
        let closes = match (&token.kind, token.text.as_str()) {
            (Kind::Punct, ")") => Some(Delim::Paren),
            (Kind::Punct, "]") => Some(Delim::Bracket),
            (Kind::Punct, "}") => Some(Delim::Brace),
            _ => None,
        };
        if let Some(delim) = opens {
            stack.push((Some((delim, token)), Vec::new()));
        } else if let Some(delim) = closes {
            let unbalanced = || LexError::Unbalanced {
                found: token.text.clone(),
                line: token.line,
                col: token.col,
            };
            let (open, trees) = match stack.pop() {
                Some((Some((open_delim, open)), trees)) if open_delim == delim => (open, trees),
                _ => return Err(unbalanced()),
            };
            let Some((_, parent)) = stack.last_mut() else {
                return Err(unbalanced());
            };
            parent.push(Tree::Group(Group { delim, open, trees }));
        } else {
            let mut token = token;
            let tree = match &mut token.kind {
                Kind::Template(parts) => {
                    let parts = std::mem::take(parts)
                        .into_iter()
                        .map(build)
                        .collect::<Result<Vec<_>, _>>()?;
                    Tree::Template(token, parts)
                }
                _ => Tree::Leaf(token),
            };
            if let Some((_, trees)) = stack.last_mut() {
                trees.push(tree);
            }
        }
    }
    match stack.pop() {
        Some((None, trees)) if stack.is_empty() => Ok(trees),
        Some((Some((_, open)), _)) => Err(LexError::Unbalanced {
            found: open.text.clone(),
            line: open.line,
            col: open.col,
        }),
        _ => Ok(Vec::new()),
    }
}

/// Splits a group's contents at its top-level commas: call arguments,
/// parameters, array or object elements. A trailing comma adds nothing.
pub(crate) fn split_commas(trees: &[Tree]) -> Vec<&[Tree]> {
    if trees.is_empty() {
        return Vec::new();
    }
    let mut parts: Vec<&[Tree]> = trees.split(|t| t.is_punct(",")).collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    #[test]
    fn brackets_fold_into_groups() {
        let trees = build(tokenize("f(a, [b, c], {d: (e)}) + g").unwrap()).unwrap();
        assert_eq!(trees.len(), 4);
        let args = trees[1].group(Delim::Paren).unwrap();
        assert_eq!(split_commas(&args.trees).len(), 3);
        assert!(trees[2].is_punct("+"));
        assert_eq!(
            split_commas(&build(tokenize("a, b,").unwrap()).unwrap()).len(),
            2
        );
    }

    #[test]
    fn unbalanced_brackets_are_errors() {
        for source in ["f(a]", "{", "a)"] {
            assert!(build(tokenize(source).unwrap()).is_err(), "{source:?}");
        }
    }
}
