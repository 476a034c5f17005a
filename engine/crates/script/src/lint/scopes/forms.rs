//! The forms that bind names: declarations and patterns, parameters,
//! functions, classes, `catch` and `for` heads.

use super::super::syntax::{expression_end, is_keyword, whole_function};
use super::super::tokens::Kind;
use super::super::tree::{split_commas, Delim, Tree};
use super::{Ctx, ScopeId, Source, Walker};

impl<'t> Walker<'t> {
    /// Binds the names of a declaration target or parameter: an identifier,
    /// or an object / array pattern. `source(property)` gives the value of a
    /// name taken from `{ property }`; `None` means the whole value.
    pub(super) fn bind_target(
        &mut self,
        target: &'t [Tree],
        scope: ScopeId,
        source: &dyn Fn(Option<String>) -> Option<Source<'t>>,
    ) {
        match target {
            [single] if single.ident().is_some() => {
                if let Some(name) = single.ident() {
                    self.bind(scope, &name.text, source(None));
                }
            }
            [Tree::Group(g)] if g.delim == Delim::Brace => {
                for element in split_commas(&g.trees) {
                    match element {
                        // `{ call }` and `{ call: inbound }`
                        [key] if key.ident().is_some() => {
                            if let Some(key) = key.ident() {
                                self.bind(scope, &key.text, source(Some(key.text.clone())));
                            }
                        }
                        [key, colon, value] if colon.is_punct(":") && value.ident().is_some() => {
                            if let (Some(key), Some(value)) = (key.ident(), value.ident()) {
                                self.bind(scope, &value.text, source(Some(key.text.clone())));
                            }
                        }
                        other => self.bind_unknown(other, scope),
                    }
                }
            }
            other => self.bind_unknown(other, scope),
        }
    }

    /// Binds every name in a pattern the linter does not follow (defaults,
    /// rest elements, nested patterns) as unknown, and walks the defaults.
    pub(super) fn bind_unknown(&mut self, pattern: &'t [Tree], scope: ScopeId) {
        let mut k = 0;
        while let Some(t) = pattern.get(k) {
            match t {
                Tree::Leaf(tok) if tok.is_punct("=") => {
                    let end = expression_end(pattern, k + 1);
                    self.walk(&pattern[k + 1..end], scope, Ctx::Expression);
                    k = end;
                    continue;
                }
                Tree::Leaf(tok) if tok.kind == Kind::Ident && !is_keyword(&tok.text) => {
                    let is_key = pattern.get(k + 1).is_some_and(|n| n.is_punct(":"));
                    if !is_key {
                        self.bind(scope, &tok.text, Some(Source::Unknown));
                    }
                }
                Tree::Group(g) if g.delim != Delim::Paren => self.bind_unknown(&g.trees, scope),
                _ => {}
            }
            k += 1;
        }
    }

    /// Declarators after `var`/`let`/`const` at `trees[start]`, bound in `target`.
    pub(super) fn declaration(
        &mut self,
        trees: &'t [Tree],
        start: usize,
        scope: ScopeId,
        target: ScopeId,
    ) -> usize {
        let mut j = start;
        while let Some(t) = trees.get(j) {
            let pattern = &trees[j..j + 1];
            if t.ident().is_none()
                && t.group(Delim::Brace).is_none()
                && t.group(Delim::Bracket).is_none()
            {
                break;
            }
            j += 1;
            if trees.get(j).is_some_and(|t| t.is_punct("=")) {
                let end = expression_end(trees, j + 1);
                let expr = &trees[j + 1..end];
                self.bind_target(pattern, target, &|property| {
                    Some(Source::Expr {
                        scope,
                        expr,
                        property,
                    })
                });
                if let (Some(name), Some(function)) = (t.ident(), whole_function(expr)) {
                    let name = (target, name.text.clone());
                    self.program.named_functions.insert(function, name);
                }
                self.walk(expr, scope, Ctx::Expression);
                j = end;
            } else {
                // `let out;` or the variable of `for (const x of xs)`.
                let unknown_if_loop = trees
                    .get(j)
                    .is_some_and(|t| t.is_word("of") || t.is_word("in"));
                self.bind_target(pattern, target, &|_| {
                    unknown_if_loop.then_some(Source::Unknown)
                });
            }
            if trees.get(j).is_some_and(|t| t.is_punct(",")) {
                j += 1;
            } else {
                break;
            }
        }
        j
    }

    /// Every name a destructuring or loop assignment writes (property keys
    /// aside) gets a value the linter does not follow.
    pub(super) fn reassign_pattern(&mut self, pattern: &'t [Tree], scope: ScopeId) {
        for (k, t) in pattern.iter().enumerate() {
            match t {
                Tree::Leaf(tok) if tok.kind == Kind::Ident && !is_keyword(&tok.text) => {
                    let is_key = pattern.get(k + 1).is_some_and(|n| n.is_punct(":"));
                    let is_property = k > 0 && pattern[k - 1].is_punct(".");
                    if !is_key && !is_property {
                        self.assignments
                            .push((scope, tok.text.clone(), Source::Unknown));
                    }
                }
                Tree::Group(g) => self.reassign_pattern(&g.trees, scope),
                _ => {}
            }
        }
    }

    /// Binds a function's parameters in its scope `inner`.
    pub(super) fn params(&mut self, params: &'t [Tree], function: usize, inner: ScopeId) {
        for (index, param) in split_commas(params).into_iter().enumerate() {
            self.bind_target(param, inner, &|property| {
                Some(Source::Param {
                    function,
                    index,
                    property,
                })
            });
        }
    }

    /// A function with `params`, known by `offset`, whose body (block or
    /// expression) starts at `trees[body]`. Returns the index after it.
    pub(super) fn function(
        &mut self,
        params: &'t [Tree],
        offset: usize,
        trees: &'t [Tree],
        body: usize,
        scope: ScopeId,
    ) -> usize {
        let inner = self.new_scope(Some(scope), true);
        self.params(params, offset, inner);
        match trees.get(body) {
            Some(Tree::Group(g)) if g.delim == Delim::Brace => {
                self.walk(&g.trees, inner, Ctx::Statements);
                body + 1
            }
            Some(_) => {
                let end = expression_end(trees, body);
                self.walk(&trees[body..end], inner, Ctx::Expression);
                end
            }
            None => body,
        }
    }

    /// `function [*] [name] (params) {body}` at `trees[i]`.
    pub(super) fn function_keyword(
        &mut self,
        trees: &'t [Tree],
        i: usize,
        scope: ScopeId,
        ctx: Ctx,
    ) -> usize {
        let mut j = i + 1;
        if trees.get(j).is_some_and(|t| t.is_punct("*")) {
            j += 1;
        }
        let name = trees
            .get(j)
            .and_then(Tree::ident)
            .filter(|n| !is_keyword(&n.text));
        if name.is_some() {
            j += 1;
        }
        let (Some(params), Some(body)) = (
            trees.get(j).and_then(|t| t.group(Delim::Paren)),
            trees.get(j + 1).and_then(|t| t.group(Delim::Brace)),
        ) else {
            return j;
        };
        let inner = self.new_scope(Some(scope), true);
        if let Some(name) = name {
            // A declaration binds its name around it; an expression only inside.
            let target = if ctx == Ctx::Statements {
                self.function_scope(scope)
            } else {
                inner
            };
            self.bind(target, &name.text, Some(Source::Unknown));
            if ctx == Ctx::Statements {
                let name = (target, name.text.clone());
                self.program
                    .named_functions
                    .insert(trees[i].token().offset, name);
            }
        }
        self.params(&params.trees, trees[i].token().offset, inner);
        self.walk(&body.trees, inner, Ctx::Statements);
        j + 2
    }

    /// `class [name] [extends …] {body}` at `trees[i]`.
    pub(super) fn class(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId, ctx: Ctx) -> usize {
        let mut j = i + 1;
        let inner = self.new_scope(Some(scope), true);
        if let Some(name) = trees
            .get(j)
            .and_then(Tree::ident)
            .filter(|n| !is_keyword(&n.text))
        {
            if ctx == Ctx::Statements {
                self.bind(scope, &name.text, Some(Source::Unknown));
            }
            // The name is bound inside the class too, for expressions as well.
            self.bind(inner, &name.text, Some(Source::Unknown));
            j += 1;
        }
        let rest = trees.get(j..).unwrap_or_default();
        let Some(offset) = rest.iter().position(|t| t.group(Delim::Brace).is_some()) else {
            return j;
        };
        self.walk(&trees[j..j + offset], scope, Ctx::Expression);
        let body_at = j + offset;
        if let Some(body) = trees[body_at].group(Delim::Brace) {
            self.walk(&body.trees, inner, Ctx::Class);
        }
        body_at + 1
    }

    /// `catch [(param)] {body}` at `trees[i]`.
    pub(super) fn catch(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId) -> usize {
        let inner = self.new_scope(Some(scope), false);
        let mut j = i + 1;
        if let Some(param) = trees.get(j).and_then(|t| t.group(Delim::Paren)) {
            self.bind_unknown(&param.trees, inner);
            j += 1;
        }
        if let Some(body) = trees.get(j).and_then(|t| t.group(Delim::Brace)) {
            self.walk(&body.trees, inner, Ctx::Statements);
            j += 1;
        }
        j
    }

    /// `for (head) body` at `trees[i]`: the head's `let`/`const` live in a
    /// scope of their own around the body.
    pub(super) fn for_loop(&mut self, trees: &'t [Tree], i: usize, scope: ScopeId) -> usize {
        let mut j = i + 1;
        if trees.get(j).is_some_and(|t| t.is_word("await")) {
            j += 1;
        }
        let Some(head) = trees.get(j).and_then(|t| t.group(Delim::Paren)) else {
            return j;
        };
        let inner = self.new_scope(Some(scope), false);
        // `for (x of xs)` and `for ([a, b] of pairs)` assign without declaring.
        if let [target, keyword, ..] = head.trees.as_slice() {
            if keyword.is_word("of") || keyword.is_word("in") {
                match target {
                    Tree::Group(g) => self.reassign_pattern(&g.trees, scope),
                    _ => self.reassign_pattern(std::slice::from_ref(target), scope),
                }
            }
        }
        self.walk(&head.trees, inner, Ctx::Statements);
        j += 1;
        match trees.get(j) {
            Some(Tree::Group(g)) if g.delim == Delim::Brace => {
                let block = self.new_scope(Some(inner), false);
                self.walk(&g.trees, block, Ctx::Statements);
                j + 1
            }
            Some(_) => {
                // A single statement: up to its `;` or line end.
                let mut end = expression_end(trees, j);
                if trees.get(end).is_some_and(|t| t.is_punct(";")) {
                    end += 1;
                }
                self.walk(&trees[j..end], inner, Ctx::Statements);
                end
            }
            None => j,
        }
    }
}
