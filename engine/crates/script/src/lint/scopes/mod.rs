//! One walk over a scenario's token trees that records what the type rules
//! need, and no more: scopes (functions and blocks) with their bindings,
//! where each binding gets its values (initialisers, assignments, handler
//! parameters), every access chain such as `e.call.answer(x)`, and which
//! call argument each inline function is.
//!
//! Nothing here decides types; [`super::types`] does, lazily, once every
//! declaration is known (`var` and functions are hoisted).

mod forms;

use std::collections::HashMap;

use super::syntax::{chain_links, expression_end, is_keyword, whole_function};
use super::tokens::{Kind, Token};
use super::tree::{split_commas, Delim, Group, Tree};

pub(crate) type ScopeId = usize;
pub(crate) type BindingId = usize;

#[derive(Debug)]
pub(crate) struct Scope {
    pub parent: Option<ScopeId>,
    /// A function scope (where `var` lands), not a block.
    pub function: bool,
    pub names: HashMap<String, BindingId>,
}

/// Where a binding gets a value from.
#[derive(Debug)]
pub(crate) enum Source<'t> {
    /// `= expr` in a declaration or assignment, evaluated in `scope`;
    /// `property` for `const { call } = expr`.
    Expr {
        scope: ScopeId,
        expr: &'t [Tree],
        property: Option<String>,
    },
    /// Parameter `index` of the function starting at token offset
    /// `function`; `property` for a destructured `({ call }) => …`.
    Param {
        function: usize,
        index: usize,
        property: Option<String>,
    },
    /// A value the linter cannot follow: a function declaration, `x += 1`,
    /// a `for … of` variable, a parameter default.
    Unknown,
}

#[derive(Debug)]
pub(crate) struct Binding<'t> {
    pub sources: Vec<Source<'t>>,
}

/// One step of an access chain.
#[derive(Debug)]
pub(crate) enum Link<'t> {
    /// `.name` or `?.name`
    Member(&'t Token),
    /// `(args)` or `?.(args)`
    Call(&'t Group),
    /// `[index]`
    Index(&'t Group),
}

/// `head.member(args)[i]…`, starting at an identifier.
#[derive(Debug)]
pub(crate) struct Chain<'t> {
    pub scope: ScopeId,
    pub head: &'t Token,
    pub links: Vec<Link<'t>>,
    /// The chain is assigned to: `a.b = …`.
    pub assigned: bool,
}

/// Which call argument a value is (an inline function, or a lone name):
/// argument `arg` of the call that is link `link` of chain `chain`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgSite {
    pub chain: usize,
    pub link: usize,
    pub arg: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Program<'t> {
    pub scopes: Vec<Scope>,
    pub bindings: Vec<Binding<'t>>,
    /// Chains with at least one link, in source order.
    pub chains: Vec<Chain<'t>>,
    /// Where a whole call argument starts (an inline function, or a lone
    /// identifier) to the argument it is.
    pub arg_sites: HashMap<usize, ArgSite>,
    /// Every identifier read or written, with its scope.
    pub uses: Vec<(ScopeId, &'t Token)>,
    /// Functions that are the whole value of a name (`function f() {}`,
    /// `const f = (e) => …`), by start offset: the name and its scope.
    pub named_functions: HashMap<usize, (ScopeId, String)>,
}

/// What the trees being walked are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Statements,
    Expression,
    Object,
    Class,
}

/// Words after which a `{` is an object literal, not a block.
const BEFORE_OPERAND: &[&str] = &[
    "return",
    "typeof",
    "void",
    "delete",
    "in",
    "instanceof",
    "new",
    "throw",
    "yield",
    "await",
    "case",
];

pub(crate) fn build(trees: &[Tree]) -> Program<'_> {
    let mut walker = Walker {
        program: Program::default(),
        assignments: Vec::new(),
    };
    let root = walker.new_scope(None, true);
    walker.walk(trees, root, Ctx::Statements);
    // Assignments bind to the declaration in scope, or (sloppy mode) create a global.
    for (scope, name, source) in std::mem::take(&mut walker.assignments) {
        let id = match walker.lookup(scope, &name) {
            Some(id) => id,
            None => walker.declare(root, &name),
        };
        walker.program.bindings[id].sources.push(source);
    }
    walker.program
}

struct Walker<'t> {
    program: Program<'t>,
    /// `name = …` seen in a scope, bound once every declaration is known.
    assignments: Vec<(ScopeId, String, Source<'t>)>,
}

impl<'t> Walker<'t> {
    fn new_scope(&mut self, parent: Option<ScopeId>, function: bool) -> ScopeId {
        self.program.scopes.push(Scope {
            parent,
            function,
            names: HashMap::new(),
        });
        self.program.scopes.len() - 1
    }

    fn function_scope(&self, mut scope: ScopeId) -> ScopeId {
        while !self.program.scopes[scope].function {
            match self.program.scopes[scope].parent {
                Some(parent) => scope = parent,
                None => break,
            }
        }
        scope
    }

    fn declare(&mut self, scope: ScopeId, name: &str) -> BindingId {
        if let Some(id) = self.program.scopes[scope].names.get(name) {
            return *id;
        }
        self.program.bindings.push(Binding {
            sources: Vec::new(),
        });
        let id = self.program.bindings.len() - 1;
        self.program.scopes[scope]
            .names
            .insert(name.to_string(), id);
        id
    }

    fn lookup(&self, mut scope: ScopeId, name: &str) -> Option<BindingId> {
        loop {
            if let Some(id) = self.program.scopes[scope].names.get(name) {
                return Some(*id);
            }
            scope = self.program.scopes[scope].parent?;
        }
    }

    fn bind(&mut self, scope: ScopeId, name: &str, source: Option<Source<'t>>) {
        let id = self.declare(scope, name);
        self.program.bindings[id].sources.extend(source);
    }

    fn walk(&mut self, trees: &'t [Tree], scope: ScopeId, ctx: Ctx) {
        let mut i = 0;
        let mut case_pending = false;
        let mut colon_was_case = false;
        while i < trees.len() {
            let tree = &trees[i];
            let next = trees.get(i + 1);
            i = match tree {
                Tree::Template(_, parts) => {
                    for part in parts {
                        self.walk(part, scope, Ctx::Expression);
                    }
                    i + 1
                }
                Tree::Leaf(tok) if tok.kind == Kind::Punct => {
                    if tok.text == ":" {
                        colon_was_case = std::mem::take(&mut case_pending);
                    }
                    // `.name` after something that is not an identifier: a property.
                    let property = (tok.text == "." || tok.text == "?.")
                        && next.is_some_and(|n| n.ident().is_some());
                    if property {
                        i + 2
                    } else {
                        i + 1
                    }
                }
                Tree::Leaf(tok) if tok.kind == Kind::Ident => {
                    if matches!(tok.text.as_str(), "case" | "default") {
                        case_pending = true;
                    }
                    self.word(trees, i, scope, ctx)
                }
                Tree::Leaf(_) => i + 1,
                Tree::Group(g) => match g.delim {
                    Delim::Paren if next.is_some_and(|n| n.is_punct("=>")) => {
                        self.function(&g.trees, g.open.offset, trees, i + 2, scope)
                    }
                    Delim::Paren => {
                        self.walk(&g.trees, scope, Ctx::Expression);
                        i + 1
                    }
                    Delim::Bracket
                        if matches!(ctx, Ctx::Object | Ctx::Class) && self.is_method(trees, i) =>
                    {
                        self.walk(&g.trees, scope, Ctx::Expression);
                        self.method(trees, i, scope)
                    }
                    Delim::Bracket | Delim::Brace if next.is_some_and(|n| n.is_punct("=")) => {
                        // A destructuring assignment: `[a, b] = …`, `({ a } = …)`.
                        self.reassign_pattern(&g.trees, scope);
                        self.walk(&g.trees, scope, Ctx::Object);
                        i + 1
                    }
                    Delim::Bracket => {
                        self.walk(&g.trees, scope, Ctx::Expression);
                        i + 1
                    }
                    Delim::Brace => {
                        let object = match ctx {
                            Ctx::Expression | Ctx::Object => true,
                            Ctx::Class => false,
                            Ctx::Statements => {
                                i > 0 && follows_operator(&trees[i - 1], colon_was_case, tree)
                            }
                        };
                        if object {
                            self.walk(&g.trees, scope, Ctx::Object);
                        } else {
                            let block = self.new_scope(Some(scope), false);
                            self.walk(&g.trees, block, Ctx::Statements);
                        }
                        i + 1
                    }
                },
            };
        }
    }

    /// Whether `trees[i]` (a name) starts a method: `name(…) {…}`.
    fn is_method(&self, trees: &[Tree], i: usize) -> bool {
        trees
            .get(i + 1)
            .and_then(|t| t.group(Delim::Paren))
            .is_some()
            && trees
                .get(i + 2)
                .and_then(|t| t.group(Delim::Brace))
                .is_some()
    }

    /// A method of an object literal or class at `trees[i]`; returns the
    /// index after its body.
    fn method(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId) -> usize {
        if let (Some(params), Some(body)) = (
            trees.get(i + 1).and_then(|t| t.group(Delim::Paren)),
            trees.get(i + 2).and_then(|t| t.group(Delim::Brace)),
        ) {
            let inner = self.new_scope(Some(scope), true);
            self.params(&params.trees, params.open.offset, inner);
            self.walk(&body.trees, inner, Ctx::Statements);
        }
        i + 3
    }

    /// An identifier or keyword at `trees[i]`; returns where to go on.
    fn word(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId, ctx: Ctx) -> usize {
        let Some(tok) = trees[i].ident() else {
            return i + 1;
        };
        let next = trees.get(i + 1);
        let word = tok.text.as_str();
        let declares = matches!(word, "var" | "const")
            || (word == "let"
                && next.is_some_and(|n| {
                    n.ident().is_some()
                        || n.group(Delim::Bracket).is_some()
                        || n.group(Delim::Brace).is_some()
                }));
        if declares {
            let target = if word == "var" {
                self.function_scope(scope)
            } else {
                scope
            };
            return self.declaration(trees, i + 1, scope, target);
        }
        match word {
            "function" => return self.function_keyword(trees, i, scope, ctx),
            "class" => return self.class(trees, i, scope, ctx),
            "catch" => return self.catch(trees, i, scope),
            "for" => return self.for_loop(trees, i, scope),
            _ => {}
        }
        if is_keyword(word) {
            return i + 1;
        }
        // `async` before a function: the function itself is next.
        let arrow_after = |k: usize| trees.get(k).is_some_and(|t| t.is_punct("=>"));
        if word == "async"
            && next.is_some_and(|n| {
                n.is_word("function")
                    || (n.group(Delim::Paren).is_some() && arrow_after(i + 2))
                    || (n.ident().is_some() && arrow_after(i + 2))
            })
        {
            return i + 1;
        }
        if next.is_some_and(|n| n.is_punct("=>")) {
            return self.function(
                std::slice::from_ref(&trees[i]),
                tok.offset,
                trees,
                i + 2,
                scope,
            );
        }
        match ctx {
            // A property name: `{ key: value }`.
            Ctx::Object if next.is_some_and(|n| n.is_punct(":")) => return i + 1,
            Ctx::Object | Ctx::Class if self.is_method(trees, i) => {
                return self.method(trees, i, scope)
            }
            // A class field `name = value;`: the value is walked on.
            Ctx::Class if next.is_some_and(|n| n.is_punct("=") || n.is_punct(";")) => return i + 2,
            _ => {}
        }
        self.chain(trees, i, scope)
    }

    /// An access chain starting at the identifier `trees[i]`.
    fn chain(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId) -> usize {
        let Some(head) = trees[i].ident() else {
            return i + 1;
        };
        self.program.uses.push((scope, head));
        let (links, end) = chain_links(trees, i);
        let after = trees.get(end).and_then(Tree::leaf);
        let assigned = after.is_some_and(|t| t.is_punct("="));
        if links.is_empty() {
            let name = head.text.clone();
            let updated = after.is_some_and(|t| {
                let compound = t.text.len() >= 2
                    && t.text.ends_with('=')
                    && !matches!(t.text.as_str(), "==" | "===" | "!=" | "!==" | "<=" | ">=");
                let step = (t.text == "++" || t.text == "--") && !t.newline_before;
                t.kind == Kind::Punct && (compound || step)
            });
            let prefixed = i > 0 && (trees[i - 1].is_punct("++") || trees[i - 1].is_punct("--"));
            if assigned {
                let value_end = expression_end(trees, end + 1);
                let source = Source::Expr {
                    scope,
                    expr: &trees[end + 1..value_end],
                    property: None,
                };
                self.assignments.push((scope, name, source));
            } else if updated || prefixed {
                self.assignments.push((scope, name, Source::Unknown));
            }
            return end;
        }
        let id = self.program.chains.len();
        let groups: Vec<(usize, &'t Group, bool)> = links
            .iter()
            .enumerate()
            .filter_map(|(k, link)| match link {
                Link::Call(g) => Some((k, *g, true)),
                Link::Index(g) => Some((k, *g, false)),
                Link::Member(_) => None,
            })
            .collect();
        self.program.chains.push(Chain {
            scope,
            head,
            links,
            assigned,
        });
        for (link, group, is_call) in groups {
            if is_call {
                for (arg, trees) in split_commas(&group.trees).into_iter().enumerate() {
                    let site = ArgSite {
                        chain: id,
                        link,
                        arg,
                    };
                    // Only a whole function: `function (a, e) {}.bind(null, 1)`
                    // would shift the parameters.
                    if let Some(function) = whole_function(trees) {
                        self.program.arg_sites.insert(function, site);
                    } else if let [single] = trees {
                        if let Some(name) = single.ident() {
                            self.program.arg_sites.insert(name.offset, site);
                        }
                    }
                }
            }
            self.walk(&group.trees, scope, Ctx::Expression);
        }
        end
    }
}

/// Whether a `{` after `prev` (in a statement list) is an object literal:
/// it follows an operator or a word that takes an operand.
fn follows_operator(prev: &Tree, colon_was_case: bool, brace: &Tree) -> bool {
    match prev {
        Tree::Leaf(t) => match t.kind {
            Kind::Punct => match t.text.as_str() {
                ";" | "++" | "--" => false,
                ":" => !colon_was_case,
                _ => true,
            },
            Kind::Ident => {
                BEFORE_OPERAND.contains(&t.text.as_str())
                    && !(t.text == "return" && brace.token().newline_before)
            }
            _ => false,
        },
        _ => false,
    }
}
