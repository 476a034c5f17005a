//! docs/FEATURES.md's `Where` column stays true: every backticked path in a
//! table row (`…/x.rs`, `.py`, `.js`, `.json`) is a file of the repository,
//! every `(`name`)` after a path is defined in that file (`fn name` in Rust,
//! `def name` in Python, the name anywhere in JavaScript or JSON), every
//! *implemented* or *declared only* member names where it lives, and *not
//! yet* members name nothing. (Which members exist and their status are
//! checked against the runtime by `cargo test -p dialtone-script --test
//! typings`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository root: the `dialtone` package lives in `engine/`.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One table row of FEATURES.md whose first cell is a backticked member.
#[derive(Debug)]
struct Row {
    /// 1-based line number in the file.
    line: usize,
    member: String,
    status: String,
    cells: Vec<String>,
}

impl Row {
    fn label(&self) -> String {
        format!("docs/FEATURES.md:{} `{}`", self.line, self.member)
    }
}

/// The rows of every table, split into cells as the typings test splits them.
fn rows(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        let Some(member) = cells[0].strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue;
        };
        rows.push(Row {
            line: i + 1,
            member: member.to_string(),
            status: cells.get(1).cloned().unwrap_or_default(),
            cells,
        });
    }
    rows
}

/// A file named in a row, with the functions named after it.
#[derive(Debug, PartialEq)]
struct Reference {
    path: String,
    names: Vec<String>,
}

fn looks_like_path(token: &str) -> bool {
    token.contains('/')
        && [".rs", ".py", ".js", ".json"]
            .iter()
            .any(|ext| token.ends_with(ext))
}

/// The backticked paths of `cell`, each with the backticked names in the
/// parentheses right after it: `` `a/b.rs` (`f`, `g`) ``.
fn references(cell: &str) -> Result<Vec<Reference>, String> {
    let mut found = Vec::new();
    let mut rest = cell;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            return Err(format!("unpaired backtick in {cell:?}"));
        };
        let token = &after[..close];
        rest = &after[close + 1..];
        if !looks_like_path(token) {
            continue;
        }
        let mut names = Vec::new();
        let tail = rest.trim_start();
        if let Some(inner) = tail.strip_prefix('(') {
            let Some(end) = inner.find(')') else {
                return Err(format!("unclosed parenthesis after `{token}`"));
            };
            for name in inner[..end].split(',') {
                let name = name.trim();
                match name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
                    Some(n) if !n.is_empty() && n.chars().all(is_ident) => {
                        names.push(n.to_string())
                    }
                    _ => {
                        return Err(format!(
                            "`{token}` is followed by ({}), not (`name`, …)",
                            &inner[..end]
                        ))
                    }
                }
            }
            rest = &inner[end + 1..];
        }
        found.push(Reference {
            path: token.to_string(),
            names,
        });
    }
    Ok(found)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `text` holds `keyword name` as whole words (`fn answer(`, not
/// `fn answer_offer(`).
fn defines(text: &str, keyword: &str, name: &str) -> bool {
    let needle = format!("{keyword} {name}");
    text.match_indices(&needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(is_ident) && after.is_some_and(|c| !is_ident(c))
    })
}

/// Whether the file at `path` (its text) has `name` as the reference says.
fn has_name(path: &str, text: &str, name: &str) -> bool {
    if path.ends_with(".rs") {
        defines(text, "fn", name)
    } else if path.ends_with(".py") {
        defines(text, "def", name)
    } else {
        text.contains(name)
    }
}

/// Where a part's paths may point: `JS` into the script host, `core` into
/// the call core, `media` into the media engine, `tests` at test files
/// (unit-test modules `*_tests.rs` included) and specs.
fn part_allows(label: &str, path: &str) -> bool {
    match label {
        "JS" => path.starts_with("engine/crates/script/src/"),
        "core" => path.starts_with("engine/crates/calls/src/"),
        "media" => path.starts_with("engine/crates/media/src/"),
        "tests" => {
            path.contains("/tests/")
                || path.starts_with("tests/test_")
                || path.ends_with("_tests.rs")
                || (path.starts_with("scripts/") && path.ends_with(".spec.json"))
        }
        _ => false,
    }
}

/// Every problem of every row; and how many rows and references were read.
fn check(text: &str, root: &Path) -> (usize, usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut files: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut checked = 0;
    let rows = rows(text);
    for row in &rows {
        let label = row.label();
        if row.cells.len() != 4 {
            problems.push(format!(
                "{label}: {} cells; expected | Member | Status | Note | Where |",
                row.cells.len()
            ));
            continue;
        }
        let mut bad = |problem: String| problems.push(format!("{label}: {problem}"));
        // Paths anywhere in the row (a Note may name a script) must exist.
        let mut in_where = 0;
        for (i, cell) in row.cells.iter().enumerate() {
            let refs = match references(cell) {
                Ok(refs) => refs,
                Err(e) => {
                    bad(e);
                    continue;
                }
            };
            if i == 3 {
                in_where = refs.len();
            }
            for r in refs {
                checked += 1;
                let text = files
                    .entry(r.path.clone())
                    .or_insert_with(|| std::fs::read_to_string(root.join(&r.path)).ok());
                let Some(text) = text else {
                    bad(format!("`{}` is not a file of the repository", r.path));
                    continue;
                };
                for name in &r.names {
                    if !has_name(&r.path, text, name) {
                        let what = if r.path.ends_with(".rs") {
                            format!("no `fn {name}`")
                        } else if r.path.ends_with(".py") {
                            format!("no `def {name}`")
                        } else {
                            format!("no `{name}`")
                        };
                        bad(format!("`{}` (`{name}`): {what} in that file", r.path));
                    }
                }
            }
        }
        let place = row.cells[3].as_str();
        match row.status.as_str() {
            "implemented" | "declared only" => {
                if in_where == 0 {
                    bad(format!(
                        "{} but its Where cell names no file: {place:?}",
                        row.status
                    ));
                    continue;
                }
                let mut labels = Vec::new();
                for part in place.split("; ") {
                    let (label, body) = part.split_once(' ').unwrap_or((part, ""));
                    labels.push(label);
                    if !["JS", "core", "media", "tests"].contains(&label) {
                        bad(format!(
                            "Where part {part:?} does not start with JS, core, media or tests"
                        ));
                        continue;
                    }
                    for r in references(body).unwrap_or_default() {
                        if !part_allows(label, &r.path) {
                            bad(format!("`{}` does not belong in its {label} part", r.path));
                        }
                    }
                }
                if labels.first() != Some(&"JS") {
                    bad(format!(
                        "Where cell does not start with its JS part: {place:?}"
                    ));
                }
            }
            "not yet" => {
                if !(place.is_empty() || place == "—") {
                    bad(format!(
                        "not yet, but its Where cell is {place:?} (want — or empty)"
                    ));
                }
            }
            other => bad(format!("unknown status {other:?}")),
        }
    }
    (rows.len(), checked, problems)
}

#[test]
fn features_where_column_names_real_files_functions_and_tests() {
    let root = repo_root();
    let path = root.join("docs/FEATURES.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (rows, checked, problems) = check(&text, &root);
    // A change of the table format must not make this test pass vacuously.
    assert!(rows >= 150, "only {rows} member rows found in FEATURES.md");
    assert!(
        checked >= 200,
        "only {checked} references found in FEATURES.md"
    );
    assert!(
        problems.is_empty(),
        "{} problem(s) in the Where column of docs/FEATURES.md:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn references_are_read_with_their_function_names() {
    let cell = "JS `engine/crates/script/src/call.rs`; core `engine/crates/calls/src/ending.rs` \
                (`hangup`, `finish`); tests `tests/test_sipp.py` (`test_plain_calls_to_echo`), \
                `--media-dir`";
    assert_eq!(
        references(cell).unwrap(),
        [
            Reference {
                path: "engine/crates/script/src/call.rs".into(),
                names: vec![],
            },
            Reference {
                path: "engine/crates/calls/src/ending.rs".into(),
                names: vec!["hangup".into(), "finish".into()],
            },
            Reference {
                path: "tests/test_sipp.py".into(),
                names: vec!["test_plain_calls_to_echo".into()],
            },
        ]
    );
    assert!(references("`a/b.rs` (see there)").is_err());
    assert!(defines("pub(crate) fn answer(\n", "fn", "answer"));
    assert!(!defines("fn answer_offer(", "fn", "answer"));
    assert!(!defines("fn reanswer(", "fn", "answer"));
    assert!(defines("async def test_x(dialtone):", "def", "test_x"));
}

#[test]
fn bad_references_are_reported_by_row_and_reference() {
    let text = "| Member | Status | Note | Where |\n|---|---|---|---|\n\
        | `A.good` | implemented | | JS `engine/crates/script/src/voxengine.rs`; core `engine/crates/calls/src/bridge.rs` (`send_media`) |\n\
        | `A.gone` | implemented | | JS `engine/crates/script/src/nothing_here.rs` |\n\
        | `A.nofn` | implemented | | JS `engine/crates/script/src/call.rs`; core `engine/crates/calls/src/bridge.rs` (`not_a_function_here`) |\n\
        | `A.empty` | implemented | |  |\n\
        | `A.later` | not yet | | JS `engine/crates/script/src/call.rs` |\n\
        | `A.short` | implemented | |\n";
    let (rows, checked, problems) = check(text, &repo_root());
    assert_eq!(rows, 6);
    assert_eq!(checked, 6);
    let expected = [
        "docs/FEATURES.md:4 `A.gone`: `engine/crates/script/src/nothing_here.rs` is not a file",
        "docs/FEATURES.md:5 `A.nofn`: `engine/crates/calls/src/bridge.rs` (`not_a_function_here`): no `fn not_a_function_here`",
        "docs/FEATURES.md:6 `A.empty`: implemented but its Where cell names no file",
        "docs/FEATURES.md:7 `A.later`: not yet, but its Where cell is",
        "docs/FEATURES.md:8 `A.short`: 3 cells",
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (got, want) in problems.iter().zip(expected) {
        assert!(got.starts_with(want), "{got:?} should start with {want:?}");
    }
}
