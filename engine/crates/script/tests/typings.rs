//! The scenario API three ways must agree: what a live session actually
//! exposes (enumerated by JS inside a session), what `sdk-types/dialtone.d.ts`
//! declares, and what `docs/FEATURES.md` marks as implemented.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use dialtone_core::CallId;

/// Lists every global the session adds to a plain QuickJS context, each
/// namespace's and enum's members, and the methods of a Call, a Player and a
/// Recorder, one item each:
/// `F name` (global function), `N ns member`, `E enum member value`,
/// `C class method`, `O name` (a global `baseline` does not explain).
/// Items go out 100 to a log line, `|`-separated, within the session's
/// log budget.
const INVENTORY: &str = r#"
require(Modules.IVR);
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
    var items = [];
    function item(text) { items.push(text); }
    // Declared inside the handler so that it adds no global of its own.
    function methods(object) {
        var seen = {};
        for (var o = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
            Object.getOwnPropertyNames(o).forEach(function (name) {
                if (name !== "constructor" && typeof object[name] === "function") seen[name] = true;
            });
        }
        return Object.keys(seen);
    }
    var baseline = BASELINE;
    Object.getOwnPropertyNames(globalThis).forEach(function (name) {
        if (baseline.indexOf(name) >= 0) return;
        var value = globalThis[name];
        if (typeof value === "function") {
            item("F " + name);
        } else if (value !== null && typeof value === "object") {
            var keys = Object.getOwnPropertyNames(value);
            var isEnum = keys.every(function (k) { return typeof value[k] === "string"; });
            keys.forEach(function (k) {
                item(isEnum ? "E " + name + " " + k + " " + value[k] : "N " + name + " " + k);
            });
        } else {
            item("O " + name);
        }
    });
    var conference = VoxEngine.createConference();
    var instances = {
        Call: e.call,
        Player: VoxEngine.createURLPlayer("http://example.com/a.wav"),
        SequencePlayer: VoxEngine.createSequencePlayer({ segments: [{ url: "http://example.com/a.wav" }] }),
        Recorder: VoxEngine.createRecorder(),
        Conference: conference,
        Endpoint: conference.add({ call: e.call }),
        IVRState: new IVRState("inventory", { type: "noinput" }),
        ACDRequest: VoxEngine.enqueueACDRequest("inventory", "1"),
    };
    Object.keys(instances).forEach(function (cls) {
        methods(instances[cls]).forEach(function (m) { item("C " + cls + " " + m); });
    });
    for (var i = 0; i < items.length; i += 100) Logger.write(items.slice(i, i + 100).join("|"));
    VoxEngine.terminate();
});
"#;

/// One side's view of the API.
#[derive(Debug, Default, PartialEq)]
struct Api {
    /// Global functions such as `setTimeout`.
    functions: BTreeSet<String>,
    /// Namespace name to its members (`VoxEngine` -> `callSIP`, ...).
    namespaces: BTreeMap<String, BTreeSet<String>>,
    /// Enum name to member to string value.
    enums: BTreeMap<String, BTreeMap<String, String>>,
    /// Class name to instance methods.
    classes: BTreeMap<String, BTreeSet<String>>,
    /// Globals of no other kind.
    other: BTreeSet<String>,
}

impl Api {
    /// Every member as `Owner.member` (or a bare global function name).
    fn qualified(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.functions.clone();
        for (owner, members) in self.namespaces.iter().chain(&self.classes) {
            all.extend(members.iter().map(|m| format!("{owner}.{m}")));
        }
        for (owner, members) in &self.enums {
            all.extend(members.keys().map(|m| format!("{owner}.{m}")));
        }
        all.extend(self.other.iter().cloned());
        all
    }

    fn enum_members(&self) -> BTreeSet<String> {
        self.enums
            .iter()
            .flat_map(|(owner, members)| members.keys().map(move |m| format!("{owner}.{m}")))
            .collect()
    }
}

/// Global names of a plain QuickJS context, the same kind the host builds.
fn baseline_globals() -> Vec<String> {
    let runtime = rquickjs::Runtime::new().unwrap();
    let context = rquickjs::Context::full(&runtime).unwrap();
    context.with(|ctx| {
        ctx.eval::<Vec<String>, _>("Object.getOwnPropertyNames(globalThis)")
            .unwrap()
    })
}

async fn runtime_api() -> Api {
    let mut engine = FakeEngine::start(config());
    let baseline = serde_json::to_string(&baseline_globals()).unwrap();
    let source = INVENTORY.replace("BASELINE", &baseline);
    let s = engine.spawn("inventory.js", &source, "", Some(alerting(CallId::next())));
    let (_, end) = engine.until_ended(s.id).await;
    assert_eq!(end, dialtone_core::messages::SessionEnd::Normal);
    let mut api = Api::default();
    let logs = messages(s.id, "log");
    for line in logs.iter().flat_map(|l| l.split('|')) {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts[..] {
            ["F", name] => {
                api.functions.insert(name.into());
            }
            ["O", name] => {
                api.other.insert(name.into());
            }
            ["N", ns, member] => {
                api.namespaces
                    .entry(ns.into())
                    .or_default()
                    .insert(member.into());
            }
            ["E", en, member, value] => {
                api.enums
                    .entry(en.into())
                    .or_default()
                    .insert(member.into(), value.into());
            }
            ["C", class, method] => {
                api.classes
                    .entry(class.into())
                    .or_default()
                    .insert(method.into());
            }
            _ => panic!("unexpected inventory line {line:?}"),
        }
    }
    api
}

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// What the declarations say, plus the enum members whose JSDoc says they are
/// never emitted.
struct Declared {
    api: Api,
    not_emitted: BTreeSet<String>,
}

/// What kind of block a `{` opened at the top level.
enum Block {
    Namespace(String),
    Enum(String),
    Class(String),
    /// Interfaces, type literals: types only, nothing at runtime.
    Ignored,
}

/// The leading identifier of `text` and what follows it.
fn ident(text: &str) -> Option<(&str, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    (end > 0).then(|| (&text[..end], &text[end..]))
}

/// A line-oriented reader of the declaration style `dialtone.d.ts` uses:
/// `declare namespace|enum|class X {` blocks, `function f(` members of
/// namespaces, `m(` / `m<` members of classes, `A = "value",` members of
/// enums, and `declare function f(` globals. Nested interfaces and types
/// describe shapes only and are skipped.
fn parse_dts(text: &str) -> Declared {
    let mut api = Api::default();
    let mut not_emitted = BTreeSet::new();
    let mut depth = 0usize;
    let mut block = Block::Ignored;
    let mut doc = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with("/**") || line.starts_with('*') || line.starts_with("//") {
            if line.starts_with("/**") {
                doc.clear();
            }
            doc.push_str(line);
            doc.push(' ');
            continue;
        }
        if depth == 0 {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["declare", kind, name, ..] = words[..] {
                let name = ident(name).map(|(n, _)| n.to_string()).unwrap_or_default();
                match kind {
                    "namespace" => {
                        api.namespaces.entry(name.clone()).or_default();
                        block = Block::Namespace(name);
                    }
                    "enum" => {
                        api.enums.entry(name.clone()).or_default();
                        block = Block::Enum(name);
                    }
                    "class" => {
                        // A class with a public constructor is a global
                        // function too (`new IVRState(...)`).
                        if text_of_class(text, &name).contains("\n  constructor(") {
                            api.functions.insert(name.clone());
                        }
                        api.classes.entry(name.clone()).or_default();
                        block = Block::Class(name);
                    }
                    "function" => {
                        api.functions.insert(name);
                        block = Block::Ignored;
                    }
                    _ => block = Block::Ignored,
                }
            } else {
                block = Block::Ignored;
            }
        } else if depth == 1 {
            match &block {
                Block::Namespace(ns) => {
                    let member = line
                        .strip_prefix("function ")
                        .or_else(|| line.strip_prefix("class "))
                        .or_else(|| line.strip_prefix("const "))
                        .and_then(ident);
                    if let Some((name, _)) = member {
                        api.namespaces.get_mut(ns).unwrap().insert(name.to_string());
                    }
                }
                Block::Class(class) => {
                    if let Some((name, rest)) = line.strip_prefix("static ").and_then(ident) {
                        // Statics are called as `Class.member(...)`, like a
                        // namespace's functions.
                        if rest.starts_with('(') {
                            api.namespaces
                                .entry(class.clone())
                                .or_default()
                                .insert(name.to_string());
                        }
                    } else if let Some((name, rest)) =
                        ident(line).filter(|(name, _)| *name != "constructor")
                    {
                        if rest.starts_with('(') || rest.starts_with('<') {
                            api.classes.get_mut(class).unwrap().insert(name.to_string());
                        }
                    }
                }
                Block::Enum(en) => {
                    if let Some((name, rest)) = ident(line) {
                        let value = rest
                            .trim_start()
                            .strip_prefix('=')
                            .map(|v| v.trim().trim_end_matches(',').trim_matches('"'))
                            .unwrap_or_default();
                        api.enums
                            .get_mut(en)
                            .unwrap()
                            .insert(name.to_string(), value.to_string());
                        if doc.contains("Not emitted") || doc.contains("Not provided") {
                            not_emitted.insert(format!("{en}.{name}"));
                        }
                    }
                }
                Block::Ignored => {}
            }
        }
        doc.clear();
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
    }
    Declared { api, not_emitted }
}

/// `a` minus `b`, as `"label: item"` lines.
fn missing(label: &str, a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).map(|x| format!("{label}: {x}")).collect()
}

/// The body of `declare class name`, up to its closing brace.
fn text_of_class<'a>(text: &'a str, name: &str) -> &'a str {
    let head = format!("declare class {name}");
    let Some(start) = text.find(&head) else {
        return "";
    };
    let body = &text[start..];
    &body[..body.find("\n}").unwrap_or(body.len())]
}

fn compare(runtime: &Api, declared: &Api) -> Vec<String> {
    let mut diffs = missing(
        "at runtime, not in dialtone.d.ts",
        &runtime.qualified(),
        &declared.qualified(),
    );
    diffs.extend(missing(
        "in dialtone.d.ts, not at runtime",
        &declared.qualified(),
        &runtime.qualified(),
    ));
    for (en, members) in &runtime.enums {
        for (member, value) in members {
            let declared_value = declared.enums.get(en).and_then(|m| m.get(member));
            if let Some(d) = declared_value.filter(|d| *d != value) {
                diffs.push(format!(
                    "{en}.{member} is {value:?} at runtime, {d:?} in dialtone.d.ts"
                ));
            }
        }
    }
    diffs
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Implemented,
    DeclaredOnly,
    NotYet,
}

/// Rows of the Markdown tables in FEATURES.md: `| `Owner.member` | status | note |`.
fn parse_features(text: &str) -> BTreeMap<String, Status> {
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if cells.len() < 2 {
            continue;
        }
        let member = cells[0].trim();
        let Some(member) = member.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue;
        };
        // `VoxEngine.callSIP(to, parameters)` names the member `VoxEngine.callSIP`.
        let member = member.split('(').next().unwrap_or(member).to_string();
        let status = match cells[1].trim().to_lowercase().as_str() {
            "implemented" => Status::Implemented,
            "declared only" => Status::DeclaredOnly,
            "not yet" => Status::NotYet,
            other => panic!("FEATURES.md: {member}: unknown status {other:?}"),
        };
        assert!(
            rows.insert(member.clone(), status).is_none(),
            "FEATURES.md lists {member} twice"
        );
    }
    rows
}

fn check_features(
    runtime: &Api,
    not_emitted: &BTreeSet<String>,
    rows: &BTreeMap<String, Status>,
) -> Vec<String> {
    let present = runtime.qualified();
    let enum_members = runtime.enum_members();
    let mut diffs = Vec::new();
    for member in &present {
        let expected = if not_emitted.contains(member) {
            Status::DeclaredOnly
        } else {
            Status::Implemented
        };
        match rows.get(member) {
            None => diffs.push(format!("FEATURES.md lacks {member} (exists at runtime)")),
            Some(s) if *s != expected => diffs.push(format!(
                "FEATURES.md marks {member} {s:?}; runtime and dialtone.d.ts say {expected:?}"
            )),
            Some(_) => {}
        }
    }
    for (member, status) in rows {
        let exists = present.contains(member);
        match status {
            Status::Implemented if !exists => diffs.push(format!(
                "FEATURES.md marks {member} implemented; it does not exist at runtime"
            )),
            Status::DeclaredOnly if !enum_members.contains(member) => diffs.push(format!(
                "FEATURES.md marks {member} declared only; no such constant at runtime"
            )),
            Status::NotYet if exists => diffs.push(format!(
                "FEATURES.md marks {member} not yet; it exists at runtime"
            )),
            _ => {}
        }
    }
    diffs
}

#[tokio::test]
async fn runtime_typings_and_features_agree() {
    let runtime = runtime_api().await;
    // The inventory itself must have found the API, or every comparison passes vacuously.
    for class in [
        "Call",
        "Player",
        "SequencePlayer",
        "Recorder",
        "Conference",
        "Endpoint",
    ] {
        assert!(
            runtime.classes.get(class).is_some_and(|m| m.contains("id")),
            "no {class} methods found: {runtime:?}"
        );
    }
    assert!(runtime.namespaces["VoxEngine"].contains("callSIP"));
    assert_eq!(runtime.enums["AppEvents"]["Started"], "Application.Started");
    assert!(runtime.functions.contains("setTimeout"));

    let declared = parse_dts(&repo_file("sdk-types/dialtone.d.ts"));
    let mut diffs = compare(&runtime, &declared.api);
    let rows = parse_features(&repo_file("docs/FEATURES.md"));
    diffs.extend(check_features(&runtime, &declared.not_emitted, &rows));
    assert!(
        diffs.is_empty(),
        "{} difference(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `dialtone check` reads the same declarations with its own reader
/// (`dialtone_script::lint::Typings`, embedded at build time): it must know
/// every member a live session has, with the same enum values and nothing
/// more, or it would report valid scenarios (or miss typos).
#[tokio::test]
async fn lint_typings_know_exactly_the_runtime_api() {
    let runtime = runtime_api().await;
    let typings = dialtone_script::lint::Typings::embedded().expect("dialtone.d.ts reads");
    let known = typings.members();
    assert!(known.contains("Call.answer"), "{known:?}");
    let mut diffs = missing(
        "at runtime, unknown to dialtone check",
        &runtime.qualified(),
        &known,
    );
    diffs.extend(missing(
        "known to dialtone check, not at runtime",
        &known,
        &runtime.qualified(),
    ));
    for (en, members) in &runtime.enums {
        for (member, value) in members {
            let linted = typings.enum_value(en, member);
            if linted != Some(value.as_str()) {
                diffs.push(format!(
                    "{en}.{member} is {value:?} at runtime, {linted:?} for dialtone check"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} difference(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn dts_parser_reads_each_kind_of_declaration() {
    let text = r#"
/** A namespace. */
declare namespace Ns {
  function f(a: string): void;
  function g<E extends keyof M>(
    event: E,
    handler: (e: { x: number }) => any,
  ): void;
  interface Options {
    loop?: boolean;
    nested?: { inner(): void };
  }
}
declare enum En {
  /** Emitted. */
  A = "En.A",
  /** Not emitted yet. */
  B = "En.B",
}
declare class Cl {
  private constructor();
  m(x?: number): void;
  n<E>(e: E): void;
}
interface Ignored { p(): void; }
declare function top(cb: () => void, ms?: number): number;
"#;
    let declared = parse_dts(text);
    let api = declared.api;
    assert_eq!(
        api.qualified(),
        ["Cl.m", "Cl.n", "En.A", "En.B", "Ns.f", "Ns.g", "top"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(api.enums["En"]["A"], "En.A");
    assert_eq!(declared.not_emitted, BTreeSet::from(["En.B".to_string()]));
}

#[test]
fn features_parser_reads_rows_and_statuses() {
    let text = "| member | status | note |\n|---|---|---|\n\
        | `VoxEngine.callSIP(to, parameters)` | implemented | SIP only |\n\
        | `CallEvents.OnHold` | declared only | |\n\
        | `Net.sendMail` | not yet | |\n";
    let rows = parse_features(text);
    assert_eq!(rows["VoxEngine.callSIP"], Status::Implemented);
    assert_eq!(rows["CallEvents.OnHold"], Status::DeclaredOnly);
    assert_eq!(rows["Net.sendMail"], Status::NotYet);
    assert_eq!(rows.len(), 3);
}
