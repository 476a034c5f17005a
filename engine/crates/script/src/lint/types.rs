//! What the linter knows about a value: which API object, instance, event
//! payload or constant it is, worked out from the declarations and from what
//! flows into each binding. Anything it cannot tell is [`Ty::Unknown`], and
//! unknown values are never reported on.

use std::collections::{HashMap, HashSet};

use super::scopes::{ArgSite, BindingId, Chain, Link, Program, ScopeId, Source};
use super::syntax::{chain_links, is_keyword};
use super::tokens::Kind;
use super::tree::{split_commas, Delim, Tree};
use super::typings::{Declared, Function, Member, Signature, TsType, Typings};

/// Who owns a function of the API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Owner {
    /// A namespace such as `VoxEngine`.
    Global(String),
    /// A class such as `Call`: the function is a method of an instance.
    Class(String),
    /// A global function such as `setTimeout`.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Callee {
    pub owner: Owner,
    pub name: String,
}

impl Callee {
    /// `VoxEngine.callSIP`, `Call.answer`, `setTimeout`.
    pub(crate) fn qualified(&self) -> String {
        match &self.owner {
            Owner::Global(o) | Owner::Class(o) => format!("{o}.{}", self.name),
            Owner::None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Unknown,
    /// `null`, `undefined`: a placeholder before the real value arrives.
    Nothing,
    /// A namespace or enum object: `VoxEngine`, `CallEvents`.
    Global(String),
    /// An instance of a declared class: `Call`, `Player`, `Recorder`.
    Instance(String),
    /// An object of a declared interface (qualified name): an event payload.
    Payload(String),
    Function(Callee),
    /// `CallEvents.Connected`, with its string value.
    EnumValue {
        owner: String,
        member: String,
        value: String,
    },
    Str(String),
}

/// The outcome of reading a member.
pub(crate) enum Access {
    Found(Ty),
    /// The object's type is known and has no such member.
    Missing,
}

pub(crate) struct Resolver<'p, 't> {
    pub typings: &'p Typings,
    pub program: &'p Program<'t>,
    memo: HashMap<BindingId, Ty>,
    busy: HashSet<BindingId>,
}

/// Joins the values a binding may hold: placeholders drop out, and any two
/// different values make it unknown.
fn join(types: impl IntoIterator<Item = Ty>) -> Ty {
    let mut joined: Option<Ty> = None;
    for ty in types {
        match (ty, &joined) {
            (Ty::Nothing, _) => {}
            (Ty::Unknown, _) => return Ty::Unknown,
            (ty, None) => joined = Some(ty),
            (ty, Some(j)) if ty == *j => {}
            _ => return Ty::Unknown,
        }
    }
    joined.unwrap_or(Ty::Unknown)
}

impl<'p, 't> Resolver<'p, 't> {
    pub(crate) fn new(typings: &'p Typings, program: &'p Program<'t>) -> Self {
        Resolver {
            typings,
            program,
            memo: HashMap::new(),
            busy: HashSet::new(),
        }
    }

    fn lookup(&self, mut scope: ScopeId, name: &str) -> Option<BindingId> {
        loop {
            let s = self.program.scopes.get(scope)?;
            if let Some(id) = s.names.get(name) {
                return Some(*id);
            }
            scope = s.parent?;
        }
    }

    /// The type of an identifier read in `scope`.
    pub(crate) fn ident(&mut self, scope: ScopeId, name: &str) -> Ty {
        if let Some(id) = self.lookup(scope, name) {
            return self.binding(id);
        }
        if name == "undefined" {
            Ty::Nothing
        } else if self.typings.is_global_object(name) {
            Ty::Global(name.to_string())
        } else if matches!(self.typings.globals.get(name), Some(Member::Function(_))) {
            Ty::Function(Callee {
                owner: Owner::None,
                name: name.to_string(),
            })
        } else {
            Ty::Unknown
        }
    }

    fn binding(&mut self, id: BindingId) -> Ty {
        if let Some(ty) = self.memo.get(&id) {
            return ty.clone();
        }
        // A binding whose value depends on itself is not followed.
        if !self.busy.insert(id) {
            return Ty::Unknown;
        }
        let program = self.program;
        let sources = program
            .bindings
            .get(id)
            .map(|b| b.sources.as_slice())
            .unwrap_or_default();
        let mut types = Vec::with_capacity(sources.len());
        for source in sources {
            types.push(self.source(source));
        }
        let ty = join(types);
        self.busy.remove(&id);
        self.memo.insert(id, ty.clone());
        ty
    }

    fn source(&mut self, source: &Source<'t>) -> Ty {
        match source {
            Source::Unknown => Ty::Unknown,
            Source::Expr {
                scope,
                expr,
                property,
            } => {
                let ty = self.expr(*scope, expr);
                self.property_of(ty, property.as_deref())
            }
            Source::Param {
                function,
                index,
                property,
            } => {
                let ty = self.param(*function, *index);
                self.property_of(ty, property.as_deref())
            }
        }
    }

    fn property_of(&mut self, ty: Ty, property: Option<&str>) -> Ty {
        match property {
            None => ty,
            Some(name) => match self.member(&ty, name) {
                Access::Found(ty) => ty,
                Access::Missing => Ty::Unknown,
            },
        }
    }

    /// The type of an expression: a literal, or a single access chain.
    pub(crate) fn expr(&mut self, scope: ScopeId, trees: &[Tree]) -> Ty {
        match trees {
            [Tree::Leaf(t)] if t.kind == Kind::Str => Ty::Str(t.text.clone()),
            [Tree::Template(t, parts)] if parts.is_empty() => Ty::Str(t.text.clone()),
            [Tree::Leaf(t)] if t.is_word("null") => Ty::Nothing,
            [Tree::Group(g)] if g.delim == Delim::Paren => self.expr(scope, &g.trees),
            [Tree::Leaf(t), ..] if t.kind == Kind::Ident => {
                let (links, end) = chain_links(trees, 0);
                if end != trees.len() || is_keyword(&t.text) {
                    return Ty::Unknown;
                }
                let mut ty = self.ident(scope, &t.text);
                for link in &links {
                    ty = match self.step(&ty, link) {
                        Access::Found(ty) => ty,
                        Access::Missing => return Ty::Unknown,
                    };
                }
                ty
            }
            _ => Ty::Unknown,
        }
    }

    /// The type after one link of a chain.
    pub(crate) fn step(&mut self, ty: &Ty, link: &Link<'_>) -> Access {
        match link {
            Link::Member(name) => self.member(ty, &name.text),
            Link::Call(_) => Access::Found(self.returns(ty)),
            Link::Index(_) => Access::Found(Ty::Unknown),
        }
    }

    /// The type of the chain's value before link `upto`.
    pub(crate) fn chain_prefix(&mut self, chain: &Chain<'_>, upto: usize) -> Ty {
        let mut ty = self.ident(chain.scope, &chain.head.text);
        for link in chain.links.iter().take(upto) {
            ty = match self.step(&ty, link) {
                Access::Found(ty) => ty,
                Access::Missing => return Ty::Unknown,
            };
        }
        ty
    }

    pub(crate) fn member(&mut self, ty: &Ty, name: &str) -> Access {
        let typings = self.typings;
        match ty {
            Ty::Global(owner) => {
                if let Some(value) = typings.enums.get(owner).and_then(|m| m.get(name)) {
                    return Access::Found(match value {
                        Some(value) => Ty::EnumValue {
                            owner: owner.clone(),
                            member: name.to_string(),
                            value: value.clone(),
                        },
                        None => Ty::Unknown,
                    });
                }
                match typings.namespaces.get(owner).and_then(|m| m.get(name)) {
                    Some(Member::Function(_)) => Access::Found(Ty::Function(Callee {
                        owner: Owner::Global(owner.clone()),
                        name: name.to_string(),
                    })),
                    Some(Member::Value(ty)) => Access::Found(self.declared(ty, Some(owner))),
                    None => Access::Missing,
                }
            }
            Ty::Instance(class) => match typings.classes.get(class).and_then(|m| m.get(name)) {
                Some(Member::Function(_)) => Access::Found(Ty::Function(Callee {
                    owner: Owner::Class(class.clone()),
                    name: name.to_string(),
                })),
                Some(Member::Value(ty)) => Access::Found(self.declared(ty, None)),
                None => Access::Missing,
            },
            // Payloads may carry more than declared: never reported.
            Ty::Payload(interface) => Access::Found(match typings.property(interface, name) {
                Some((ty, namespace)) => self.declared(ty, namespace),
                None => Ty::Unknown,
            }),
            _ => Access::Found(Ty::Unknown),
        }
    }

    /// The value of a declared type, as the names in `namespace` resolve.
    fn declared(&self, ty: &TsType, namespace: Option<&str>) -> Ty {
        match ty {
            TsType::Named { name, .. } => match self.typings.resolve(name, namespace) {
                Some(Declared::Class(c)) => Ty::Instance(c.to_string()),
                Some(Declared::Interface(i)) => Ty::Payload(i.to_string()),
                None => Ty::Unknown,
            },
            _ => Ty::Unknown,
        }
    }

    /// The declared function behind a callee.
    pub(crate) fn function(&self, callee: &Callee) -> Option<&'p Function> {
        let typings: &'p Typings = self.typings;
        let member = match &callee.owner {
            Owner::Global(o) => typings.namespaces.get(o)?.get(&callee.name)?,
            Owner::Class(c) => typings.classes.get(c)?.get(&callee.name)?,
            Owner::None => typings.globals.get(&callee.name)?,
        };
        match member {
            Member::Function(f) => Some(f),
            Member::Value(_) => None,
        }
    }

    fn namespace_of(callee: &Callee) -> Option<&str> {
        match &callee.owner {
            Owner::Global(o) => Some(o),
            _ => None,
        }
    }

    /// What calling a value gives: the declared return type when every
    /// overload agrees on it.
    fn returns(&mut self, ty: &Ty) -> Ty {
        let Ty::Function(callee) = ty else {
            return Ty::Unknown;
        };
        let Some(function) = self.function(callee) else {
            return Ty::Unknown;
        };
        let namespace = Self::namespace_of(callee);
        join(
            function
                .overloads
                .iter()
                .map(|sig| match self.declared(&sig.returns, namespace) {
                    Ty::Unknown => Ty::Unknown,
                    ty => ty,
                }),
        )
    }

    /// The type of parameter `index` of the function at `function`: from
    /// the declared callback type of the call argument it is, or, for a
    /// named function, of every argument its name is, provided the name is
    /// used nowhere else (a direct call could pass anything).
    fn param(&mut self, function: usize, index: usize) -> Ty {
        let program = self.program;
        if let Some(site) = program.arg_sites.get(&function) {
            return self.site_param(*site, index);
        }
        let Some((scope, name)) = program.named_functions.get(&function) else {
            return Ty::Unknown;
        };
        let Some(binding) = self.lookup(*scope, name) else {
            return Ty::Unknown;
        };
        let mut sites = Vec::new();
        for (use_scope, token) in &program.uses {
            if token.text != *name || self.lookup(*use_scope, name) != Some(binding) {
                continue;
            }
            match program.arg_sites.get(&token.offset) {
                Some(site) => sites.push(*site),
                None => return Ty::Unknown,
            }
        }
        let types: Vec<Ty> = sites
            .into_iter()
            .map(|s| self.site_param(s, index))
            .collect();
        join(types)
    }

    /// The type of parameter `index` of the callback passed as `site`.
    fn site_param(&mut self, site: ArgSite, index: usize) -> Ty {
        let program = self.program;
        let Some(chain) = program.chains.get(site.chain) else {
            return Ty::Unknown;
        };
        let Ty::Function(callee) = self.chain_prefix(chain, site.link) else {
            return Ty::Unknown;
        };
        let Some(Link::Call(call)) = chain.links.get(site.link) else {
            return Ty::Unknown;
        };
        let Some(declared) = self.function(&callee) else {
            return Ty::Unknown;
        };
        let args = split_commas(&call.trees);
        let namespace = Self::namespace_of(&callee);
        let mut types = Vec::new();
        for sig in &declared.overloads {
            let Some(TsType::Function(callback)) = sig.params.get(site.arg).map(|p| &p.ty) else {
                continue;
            };
            let ty = match callback.params.get(index) {
                Some(p) if !p.rest => {
                    self.callback_param(&p.ty, sig, &args, chain.scope, namespace)
                }
                _ => Ty::Unknown,
            };
            types.push(ty);
        }
        join(types)
    }

    /// A callback parameter's type: a declared name, or `Map[E]` where `E`
    /// is the type of another argument of the same call (an event name).
    fn callback_param(
        &mut self,
        ty: &TsType,
        sig: &Signature,
        args: &[&[Tree]],
        scope: ScopeId,
        namespace: Option<&str>,
    ) -> Ty {
        match ty {
            TsType::Indexed { object, index } => {
                let Some(position) = sig
                    .params
                    .iter()
                    .position(|p| matches!(&p.ty, TsType::Named { name, .. } if name == index))
                else {
                    return Ty::Unknown;
                };
                let Some(arg) = args.get(position) else {
                    return Ty::Unknown;
                };
                let key = match self.expr(scope, arg) {
                    Ty::Str(s) => s,
                    Ty::EnumValue { value, .. } => value,
                    _ => return Ty::Unknown,
                };
                match self.typings.property(object, &key) {
                    Some((ty, namespace)) => self.declared(ty, namespace),
                    None => Ty::Unknown,
                }
            }
            ty => self.declared(ty, namespace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_ignore_placeholders_and_give_up_on_disagreement() {
        let call = Ty::Instance("Call".into());
        assert_eq!(join([Ty::Nothing, call.clone()]), call);
        assert_eq!(join([call.clone(), call.clone()]), call);
        assert_eq!(
            join([call.clone(), Ty::Instance("Player".into())]),
            Ty::Unknown
        );
        assert_eq!(join([call, Ty::Unknown]), Ty::Unknown);
        assert_eq!(join([Ty::Nothing]), Ty::Unknown);
        assert_eq!(join([]), Ty::Unknown);
    }
}
