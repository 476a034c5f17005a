//! Shapes in token trees that both the walk and the type rules read: access
//! chains, where an expression ends (automatic semicolon insertion), inline
//! functions as call arguments, and reserved words.

use super::scopes::Link;
use super::tokens::Kind;
use super::tree::{Delim, Tree};

/// Reserved words: never a binding or the head of a chain.
const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "null",
    "true",
    "false",
    "enum",
    "await",
];

/// Words that cannot continue an expression: a statement starts at them.
const STATEMENT_WORDS: &[&str] = &[
    "var", "const", "if", "for", "while", "do", "return", "switch", "try", "throw", "break",
    "continue",
];

/// Binary operator words: an expression goes on after them.
const OPERATOR_WORDS: &[&str] = &["in", "instanceof"];

pub(crate) fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// The links after an identifier at `trees[start]`, and where they end.
pub(crate) fn chain_links(trees: &[Tree], start: usize) -> (Vec<Link<'_>>, usize) {
    let mut links = Vec::new();
    let mut j = start + 1;
    while let Some(tree) = trees.get(j) {
        // `?.` may precede a name, a call or an index; `.` only a name.
        let optional = tree.is_punct("?.");
        let (target, after) = if optional || tree.is_punct(".") {
            (trees.get(j + 1), j + 2)
        } else {
            (Some(tree), j + 1)
        };
        let link = match target {
            Some(t) if (optional || tree.is_punct(".")) && t.ident().is_some() => {
                t.ident().map(Link::Member)
            }
            Some(Tree::Group(g)) if !tree.is_punct(".") && g.delim == Delim::Paren => {
                Some(Link::Call(g))
            }
            Some(Tree::Group(g)) if !tree.is_punct(".") && g.delim == Delim::Bracket => {
                Some(Link::Index(g))
            }
            _ => None,
        };
        let Some(link) = link else { break };
        links.push(link);
        j = after;
    }
    (links, j)
}

/// The offset an inline function at the start of `arg` is known by, if
/// `arg` is one: `function …`, `(…) => …`, `x => …`, each maybe `async`.
pub(crate) fn function_start(arg: &[Tree]) -> Option<usize> {
    let arg = match arg {
        [first, rest @ ..] if first.is_word("async") && !rest.is_empty() => rest,
        _ => arg,
    };
    match arg {
        [first, ..] if first.is_word("function") => Some(first.token().offset),
        [Tree::Group(g), arrow, ..] if g.delim == Delim::Paren && arrow.is_punct("=>") => {
            Some(g.open.offset)
        }
        [first, arrow, ..] if first.ident().is_some() && arrow.is_punct("=>") => {
            Some(first.token().offset)
        }
        _ => None,
    }
}

/// The start offset of `expr` if all of it is one function.
pub(crate) fn whole_function(expr: &[Tree]) -> Option<usize> {
    let start = function_start(expr)?;
    let body = match expr {
        [first, rest @ ..] if first.is_word("async") => rest,
        _ => expr,
    };
    if !body.first().is_some_and(|t| t.is_word("function")) {
        // An arrow's body runs to the end of the expression.
        return Some(start);
    }
    let mut k = 1;
    if body.get(k).is_some_and(|t| t.is_punct("*")) {
        k += 1;
    }
    if body.get(k).and_then(Tree::ident).is_some() {
        k += 1;
    }
    let shaped = body.get(k).and_then(|t| t.group(Delim::Paren)).is_some()
        && body
            .get(k + 1)
            .and_then(|t| t.group(Delim::Brace))
            .is_some()
        && body.len() == k + 2;
    shaped.then_some(start)
}

/// Where the expression starting at `trees[start]` ends: at a `,` or `;` of
/// this level, or where automatic semicolon insertion would end it.
pub(crate) fn expression_end(trees: &[Tree], start: usize) -> usize {
    let mut k = start;
    while let Some(t) = trees.get(k) {
        if t.is_punct(",") || t.is_punct(";") {
            break;
        }
        if k > start {
            let word = t.ident().map(|w| w.text.as_str());
            if word.is_some_and(|w| STATEMENT_WORDS.contains(&w)) {
                break;
            }
            if t.token().newline_before && ends_expression(&trees[k - 1]) && starts_statement(t) {
                break;
            }
        }
        k += 1;
    }
    k
}

fn ends_expression(tree: &Tree) -> bool {
    match tree {
        Tree::Leaf(t) => match t.kind {
            Kind::Ident => {
                !KEYWORDS.contains(&t.text.as_str())
                    || matches!(
                        t.text.as_str(),
                        "this" | "null" | "true" | "false" | "super"
                    )
            }
            Kind::Punct => t.text == "++" || t.text == "--",
            _ => true,
        },
        Tree::Group(_) | Tree::Template(..) => true,
    }
}

fn starts_statement(tree: &Tree) -> bool {
    match tree {
        Tree::Leaf(t) => match t.kind {
            Kind::Ident => !OPERATOR_WORDS.contains(&t.text.as_str()),
            Kind::Number | Kind::Str | Kind::Regex => true,
            Kind::Punct => matches!(t.text.as_str(), "++" | "--" | "!" | "~"),
            Kind::Template(_) => false,
        },
        Tree::Group(g) => g.delim == Delim::Brace,
        Tree::Template(..) => false,
    }
}
