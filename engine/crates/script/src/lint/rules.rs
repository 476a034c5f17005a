//! The checks, run over every access chain of a scenario:
//! - a member that the object's declared type does not have;
//! - a call with fewer arguments than required or more than allowed;
//! - an event name, string or enum member, that the listener does not take.

use std::collections::HashSet;

use super::scopes::{Chain, Link, Program};
use super::suggest;
use super::tokens::{Kind, Token};
use super::tree::{split_commas, Group, Tree};
use super::types::{Access, Callee, Owner, Resolver, Ty};
use super::typings::{Signature, TsType, Typings};

/// One finding at a token's position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Finding {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Finding {
    fn at(token: &Token, message: String) -> Finding {
        Finding {
            line: token.line,
            col: token.col,
            message,
        }
    }
}

/// Members every object has through `Object.prototype`.
const OBJECT_MEMBERS: &[&str] = &[
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "__proto__",
];

/// The owner name a member of `ty` is reported under, if `ty` is an object
/// whose members are all declared.
fn owner_name(ty: &Ty) -> Option<&str> {
    match ty {
        Ty::Global(name) | Ty::Instance(name) => Some(name),
        _ => None,
    }
}

pub(crate) fn check(typings: &Typings, program: &Program<'_>) -> Vec<Finding> {
    let mut resolver = Resolver::new(typings, program);
    // Members the scenario adds itself (`call.tag = …`) are its own business.
    let mut added: HashSet<(String, String)> = HashSet::new();
    for chain in program.chains.iter().filter(|c| c.assigned) {
        if let Some(Link::Member(name)) = chain.links.last() {
            let ty = resolver.chain_prefix(chain, chain.links.len() - 1);
            if let Some(owner) = owner_name(&ty) {
                added.insert((owner.to_string(), name.text.clone()));
            }
        }
    }
    let mut findings = Vec::new();
    for chain in &program.chains {
        check_chain(&mut resolver, chain, &added, &mut findings);
    }
    findings.sort();
    findings.dedup();
    findings
}

fn check_chain(
    resolver: &mut Resolver<'_, '_>,
    chain: &Chain<'_>,
    added: &HashSet<(String, String)>,
    findings: &mut Vec<Finding>,
) {
    let mut ty = resolver.ident(chain.scope, &chain.head.text);
    let mut name = chain.head;
    for (k, link) in chain.links.iter().enumerate() {
        if let (Link::Call(args), Ty::Function(callee)) = (link, &ty) {
            // A method the scenario replaces itself takes what it likes.
            let replaced = match &callee.owner {
                Owner::Global(o) | Owner::Class(o) => {
                    added.contains(&(o.clone(), callee.name.clone()))
                }
                Owner::None => false,
            };
            if !replaced {
                check_call(resolver, callee, name, args, chain.scope, findings);
            }
        }
        if let Link::Member(member) = link {
            name = member;
        }
        ty = match resolver.step(&ty, link) {
            Access::Found(next) => next,
            Access::Missing => {
                let Link::Member(member) = link else { return };
                let Some(owner) = owner_name(&ty) else { return };
                let assigned_here = chain.assigned && k + 1 == chain.links.len();
                let own = added.contains(&(owner.to_string(), member.text.clone()));
                if !assigned_here && !own && !OBJECT_MEMBERS.contains(&member.text.as_str()) {
                    findings.push(unknown_member(resolver.typings, owner, &ty, member));
                }
                return;
            }
        };
    }
}

fn unknown_member(typings: &Typings, owner: &str, ty: &Ty, member: &Token) -> Finding {
    let candidates: Vec<&str> = match ty {
        Ty::Instance(class) => typings
            .classes
            .get(class)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default(),
        _ => typings.global_member_names(owner),
    };
    let message = match suggest(&member.text, candidates) {
        Some(close) => format!(
            "unknown member {owner}.{} (did you mean {owner}.{close}?)",
            member.text
        ),
        None => format!("unknown member {owner}.{}", member.text),
    };
    Finding::at(member, message)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "argument"
    } else {
        "arguments"
    }
}

fn check_call(
    resolver: &mut Resolver<'_, '_>,
    callee: &Callee,
    name: &Token,
    group: &Group,
    scope: usize,
    findings: &mut Vec<Finding>,
) {
    let Some(function) = resolver.function(callee) else {
        return;
    };
    let args = split_commas(&group.trees);
    let spread = args
        .iter()
        .any(|a| a.first().is_some_and(|t| t.is_punct("...")));
    let arity = function.arity();
    let given = args.len();
    let qualified = callee.qualified();
    if !spread {
        let message = if arity.max == Some(arity.min) && given != arity.min {
            Some(match arity.min {
                0 => format!("{qualified} takes no arguments, {given} given"),
                n => format!("{qualified} takes {n} {}, {given} given", plural(n)),
            })
        } else if given < arity.min {
            Some(format!(
                "{qualified} takes at least {} {}, {given} given",
                arity.min,
                plural(arity.min)
            ))
        } else if arity.max.is_some_and(|max| given > max) {
            let max = arity.max.unwrap_or_default();
            Some(format!(
                "{qualified} takes at most {max} {}, {given} given",
                plural(max)
            ))
        } else {
            None
        };
        if let Some(message) = message {
            findings.push(Finding::at(name, message));
        }
    }
    for sig in &function.overloads {
        check_event_args(resolver, &qualified, sig, &args, scope, findings);
    }
}

/// Arguments declared as `E extends keyof Map` must name a key of `Map`.
fn check_event_args(
    resolver: &mut Resolver<'_, '_>,
    qualified: &str,
    sig: &Signature,
    args: &[&[Tree]],
    scope: usize,
    findings: &mut Vec<Finding>,
) {
    let typings = resolver.typings;
    for (position, param) in sig.params.iter().enumerate() {
        let TsType::Named { name: ty, .. } = &param.ty else {
            continue;
        };
        let Some(map) = sig
            .type_params
            .iter()
            .find(|tp| tp.name == *ty)
            .and_then(|tp| tp.keyof.as_deref())
        else {
            continue;
        };
        let Some(arg) = args.get(position) else {
            continue;
        };
        let Some(first) = arg.first().map(Tree::token) else {
            continue;
        };
        let keys = typings.keys(map);
        match resolver.expr(scope, arg) {
            Ty::Str(value) if !keys.contains(&value.as_str()) => {
                let quoted = match first.kind {
                    Kind::Template(_) => format!("`{value}`"),
                    _ => format!("{value:?}"),
                };
                let message = match suggest(&value, keys) {
                    Some(close) => format!(
                        "unknown event {quoted} for {qualified} (did you mean \"{close}\"?)"
                    ),
                    None => format!("unknown event {quoted} for {qualified}"),
                };
                findings.push(Finding::at(first, message));
            }
            Ty::EnumValue {
                owner,
                member,
                value,
            } if !keys.contains(&value.as_str()) => {
                let listener_owner = qualified.rsplit_once('.').map_or(qualified, |(o, _)| o);
                let message = match typings.enum_of_keys(map) {
                    Some(expected) => format!(
                        "{owner}.{member} is not an event of {listener_owner} (expected a {expected} member)"
                    ),
                    None => format!("{owner}.{member} is not an event of {listener_owner}"),
                };
                findings.push(Finding::at(first, message));
            }
            _ => {}
        }
    }
}
