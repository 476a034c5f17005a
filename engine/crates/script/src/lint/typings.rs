//! The scenario API as `sdk-types/dialtone.d.ts` declares it: what the
//! linter knows about names, arities, enum values and which objects event
//! handlers receive. Read from the file embedded at build time, so the
//! declarations stay the one source of truth.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::dts;

/// The declarations, embedded when the crate is built.
const DECLARATIONS: &str = include_str!("../../../../../sdk-types/dialtone.d.ts");

/// Why the declarations could not be read (a reader bug or an unsupported
/// construct in `dialtone.d.ts`; the unit tests catch it before release).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypingsError {
    #[error("dialtone.d.ts:{line}: expected {expected}, found {found}")]
    Unexpected {
        line: u32,
        expected: &'static str,
        found: String,
    },
    #[error("dialtone.d.ts:{line}: unterminated {what}")]
    Unterminated { line: u32, what: &'static str },
}

/// A type as far as the linter follows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TsType {
    /// `Call`, `AppEvents.StartedEvent`, `_CallEvent<"Call.Connected">`.
    Named { name: String, args: Vec<TsType> },
    /// `(event: X) => any`.
    Function(Box<Signature>),
    /// `Map[E]`: the type of the property of `Map` named by the type `E`.
    Indexed { object: String, index: String },
    /// Unions, literals, object types, arrays: nothing the linter follows.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub name: String,
    pub optional: bool,
    pub rest: bool,
    pub ty: TsType,
}

/// A type parameter; `keyof` holds `M` of `E extends keyof M`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypeParam {
    pub name: String,
    pub keyof: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Signature {
    pub type_params: Vec<TypeParam>,
    pub params: Vec<Param>,
    pub returns: TsType,
}

/// How many arguments a call may pass; `max` is `None` with a rest parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    pub min: usize,
    pub max: Option<usize>,
}

/// A function or method with all its overloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Function {
    pub overloads: Vec<Signature>,
}

impl Function {
    /// The widest range over the overloads.
    pub(crate) fn arity(&self) -> Arity {
        let mut arity: Option<Arity> = None;
        for sig in &self.overloads {
            let min = sig.params.iter().filter(|p| !p.optional && !p.rest).count();
            let max = (!sig.params.iter().any(|p| p.rest)).then_some(sig.params.len());
            arity = Some(match arity {
                None => Arity { min, max },
                Some(a) => Arity {
                    min: a.min.min(min),
                    max: a.max.zip(max).map(|(a, b)| a.max(b)),
                },
            });
        }
        arity.unwrap_or(Arity { min: 0, max: None })
    }
}

/// A member of an object: callable, or a plain value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    Function(Function),
    Value(TsType),
}

/// An interface or type alias lives in a namespace (or at the top level);
/// the names in it are looked up there first.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Interface {
    pub namespace: Option<String>,
    pub extends: Vec<TsType>,
    pub properties: BTreeMap<String, TsType>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alias {
    pub namespace: Option<String>,
    pub ty: TsType,
}

/// Everything `dialtone.d.ts` declares that the linter uses.
#[derive(Debug, Default)]
pub struct Typings {
    /// Namespace name to its value members (functions and `const`s).
    pub(crate) namespaces: BTreeMap<String, BTreeMap<String, Member>>,
    /// Enum name to member to string value (`None` for a numeric member).
    pub(crate) enums: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Class name to instance members.
    pub(crate) classes: BTreeMap<String, BTreeMap<String, Member>>,
    /// Global functions and values (`declare function setTimeout`).
    pub(crate) globals: BTreeMap<String, Member>,
    /// Qualified name (`AppEvents.CallAlertingEvent`) to interface.
    pub(crate) interfaces: BTreeMap<String, Interface>,
    pub(crate) aliases: BTreeMap<String, Alias>,
}

/// What a qualified type name stands for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Declared<'a> {
    Class(&'a str),
    Interface(&'a str),
}

/// How deep alias and `extends` chains are followed.
const MAX_DEPTH: usize = 16;

impl Typings {
    /// The declarations of this build, read once.
    pub fn embedded() -> Result<&'static Typings, TypingsError> {
        static TYPINGS: OnceLock<Result<Typings, TypingsError>> = OnceLock::new();
        TYPINGS
            .get_or_init(|| Typings::parse(DECLARATIONS))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Reads declarations written in `dialtone.d.ts`'s subset of TypeScript.
    pub fn parse(text: &str) -> Result<Typings, TypingsError> {
        dts::read(text)
    }

    /// Every value the API has, as `Owner.member` (namespace functions, enum
    /// members, class methods) or a bare name (global functions).
    pub fn members(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.globals.keys().cloned().collect();
        for (owner, members) in &self.namespaces {
            all.extend(members.keys().map(|m| format!("{owner}.{m}")));
        }
        // An instance's data properties (`state.input`) are its own, not
        // the class's: only methods count.
        for (owner, members) in &self.classes {
            all.extend(
                members
                    .iter()
                    .filter(|(_, m)| matches!(m, Member::Function(_)))
                    .map(|(name, _)| format!("{owner}.{name}")),
            );
        }
        for (owner, members) in &self.enums {
            all.extend(members.keys().map(|m| format!("{owner}.{m}")));
        }
        all
    }

    /// The string value of an enum member.
    pub fn enum_value(&self, en: &str, member: &str) -> Option<&str> {
        self.enums.get(en)?.get(member)?.as_deref()
    }

    /// How many arguments `Owner.member` (or a global function) takes.
    pub fn arity(&self, qualified: &str) -> Option<Arity> {
        let member = match qualified.split_once('.') {
            // A class's statics are in `namespaces` under its name.
            Some((owner, name)) => self
                .namespaces
                .get(owner)
                .and_then(|m| m.get(name))
                .or_else(|| self.classes.get(owner).and_then(|m| m.get(name)))?,
            None => self.globals.get(qualified)?,
        };
        match member {
            Member::Function(f) => Some(f.arity()),
            Member::Value(_) => None,
        }
    }

    /// Whether `name` is a global object of the API (a namespace or enum).
    pub(crate) fn is_global_object(&self, name: &str) -> bool {
        self.namespaces.contains_key(name) || self.enums.contains_key(name)
    }

    /// Names readable on a global object: its enum members and namespace values.
    pub(crate) fn global_member_names(&self, owner: &str) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        if let Some(members) = self.enums.get(owner) {
            names.extend(members.keys().map(String::as_str));
        }
        if let Some(members) = self.namespaces.get(owner) {
            names.extend(members.keys().map(String::as_str));
        }
        names
    }

    /// Looks a type name up as written inside `namespace`: first the
    /// namespace's own declarations, then the top level. Aliases are followed.
    pub(crate) fn resolve(&self, name: &str, namespace: Option<&str>) -> Option<Declared<'_>> {
        self.resolve_at(name, namespace, 0)
    }

    fn resolve_at(
        &self,
        name: &str,
        namespace: Option<&str>,
        depth: usize,
    ) -> Option<Declared<'_>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut candidates = Vec::with_capacity(2);
        if let Some(ns) = namespace {
            candidates.push(format!("{ns}.{name}"));
        }
        candidates.push(name.to_string());
        for candidate in candidates {
            if let Some((key, _)) = self.classes.get_key_value(&candidate) {
                return Some(Declared::Class(key));
            }
            if let Some((key, _)) = self.interfaces.get_key_value(&candidate) {
                return Some(Declared::Interface(key));
            }
            if let Some(alias) = self.aliases.get(&candidate) {
                return match &alias.ty {
                    TsType::Named { name, .. } => {
                        self.resolve_at(name, alias.namespace.as_deref(), depth + 1)
                    }
                    _ => None,
                };
            }
        }
        None
    }

    /// The declared type of property `name` of an interface, inherited ones
    /// included, with the namespace its names are looked up in.
    pub(crate) fn property(&self, interface: &str, name: &str) -> Option<(&TsType, Option<&str>)> {
        self.property_at(interface, name, 0)
    }

    fn property_at(
        &self,
        interface: &str,
        name: &str,
        depth: usize,
    ) -> Option<(&TsType, Option<&str>)> {
        let declared = self.interfaces.get(interface)?;
        if let Some(ty) = declared.properties.get(name) {
            return Some((ty, declared.namespace.as_deref()));
        }
        if depth > MAX_DEPTH {
            return None;
        }
        declared.extends.iter().find_map(|base| match base {
            TsType::Named { name: base, .. } => {
                match self.resolve(base, declared.namespace.as_deref())? {
                    Declared::Interface(base) => self.property_at(base, name, depth + 1),
                    Declared::Class(_) => None,
                }
            }
            _ => None,
        })
    }

    /// The keys of an event map interface (`_CallEventMap`).
    pub(crate) fn keys(&self, interface: &str) -> Vec<&str> {
        self.interfaces
            .get(interface)
            .map(|i| i.properties.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The enum whose values are the keys of an event map: `CallEvents` for
    /// `_CallEventMap`.
    pub(crate) fn enum_of_keys(&self, interface: &str) -> Option<&str> {
        let keys = self.keys(interface);
        self.enums
            .iter()
            .filter(|(_, members)| {
                !members.is_empty()
                    && members
                        .values()
                        .all(|v| v.as_deref().is_some_and(|v| keys.contains(&v)))
            })
            .max_by_key(|(_, members)| members.len())
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> &'static Typings {
        Typings::embedded().expect("dialtone.d.ts reads")
    }

    fn arity(min: usize, max: Option<usize>) -> Option<Arity> {
        Some(Arity { min, max })
    }

    #[test]
    fn arities_come_from_optional_rest_and_overloaded_parameters() {
        let t = embedded();
        assert_eq!(t.arity("Call.answer"), arity(0, Some(2)));
        assert_eq!(t.arity("Call.reject"), arity(0, Some(2)));
        assert_eq!(t.arity("Call.sendDigits"), arity(1, Some(1)));
        assert_eq!(t.arity("Call.id"), arity(0, Some(0)));
        // Two overloads: (to, parameters?) and the positional (to, callerid?, … extraHeaders?).
        assert_eq!(t.arity("VoxEngine.callSIP"), arity(1, Some(6)));
        assert_eq!(t.arity("VoxEngine.easyProcess"), arity(2, Some(4)));
        assert_eq!(t.arity("VoxEngine.addEventListener"), arity(2, Some(2)));
        assert_eq!(t.arity("Net.httpRequest"), arity(2, Some(3)));
        assert_eq!(t.arity("Logger.write"), arity(1, Some(1)));
        assert_eq!(t.arity("setTimeout"), arity(1, None));
        assert_eq!(t.arity("clearTimeout"), arity(0, Some(1)));
        assert_eq!(t.arity("Player.addMarker"), arity(1, Some(1)));
        assert_eq!(t.arity("Recorder.mute"), arity(0, Some(1)));
        assert_eq!(t.arity("Call.nope"), None);
    }

    #[test]
    fn enums_namespaces_and_classes_are_read() {
        let t = embedded();
        assert_eq!(
            t.enum_value("CallEvents", "Connected"),
            Some("Call.Connected")
        );
        assert_eq!(
            t.enum_value("CallEvents", "VideoTrackCreated"),
            Some("Call.Video.TrackCreated")
        );
        assert_eq!(
            t.enum_value("AppEvents", "CallAlerting"),
            Some("Application.CallAlerting")
        );
        assert_eq!(
            t.enum_value("RecorderEvents", "RecorderError"),
            Some("Recorder.Error")
        );
        let members = t.members();
        for expected in [
            "VoxEngine.callSIP",
            "VoxEngine.createRecorder",
            "Net.httpRequestAsync",
            "Logger.write",
            "Call.addEventListener",
            "Player.addMarker",
            "Recorder.stop",
            "PlayerEvents.PlaybackMarkerReached",
            "setInterval",
        ] {
            assert!(members.contains(expected), "{expected} missing");
        }
        // Interfaces and types inside namespaces are not values.
        for absent in [
            "VoxEngine.CallSIPParameters",
            "AppEvents.StartedEvent",
            "Call.constructor",
        ] {
            assert!(!members.contains(absent), "{absent} listed");
        }
    }

    #[test]
    fn event_payloads_lead_to_the_objects_they_carry() {
        let t = embedded();
        let alerting = t.property("_AppEventMap", "Application.CallAlerting");
        let Some((TsType::Named { name, .. }, ns)) = alerting else {
            panic!("{alerting:?}");
        };
        assert_eq!(
            t.resolve(name, ns),
            Some(Declared::Interface("AppEvents.CallAlertingEvent"))
        );
        // ConnectedEvent extends _SIPCallEvent, which extends _CallEvent, which has `call`.
        let call = t.property("CallEvents.ConnectedEvent", "call");
        assert!(matches!(call, Some((TsType::Named { name, .. }, _)) if name == "Call"));
        // RingingEvent is an alias of _SIPCallEvent<"Call.Ringing">.
        assert_eq!(
            t.resolve("RingingEvent", Some("CallEvents")),
            Some(Declared::Interface("CallEvents._SIPCallEvent"))
        );
        assert!(t
            .property("RecorderEvents.StoppedEvent", "recorder")
            .is_some());
        assert_eq!(t.enum_of_keys("_CallEventMap"), Some("CallEvents"));
        assert_eq!(t.enum_of_keys("_AppEventMap"), Some("AppEvents"));
    }

    #[test]
    fn listener_signatures_keep_their_keyof_type_parameter() {
        let t = embedded();
        let Some(Member::Function(f)) = t.classes["Call"].get("addEventListener") else {
            panic!("no Call.addEventListener");
        };
        let sig = &f.overloads[0];
        assert_eq!(sig.type_params[0].keyof.as_deref(), Some("_CallEventMap"));
        let TsType::Function(handler) = &sig.params[1].ty else {
            panic!("{:?}", sig.params[1]);
        };
        assert_eq!(
            handler.params[0].ty,
            TsType::Indexed {
                object: "_CallEventMap".into(),
                index: "E".into()
            }
        );
    }
}
