//! The binary's command line: `check` and argument errors. (Building this test
//! also makes `cargo test` build the `dialtone` binary the interop tests use.)

use std::process::Command;

fn dialtone() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dialtone"))
}

fn scratch(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dialtone-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn check_reports_syntax_errors_as_file_line_col() {
    let p = scratch(
        "bad.js",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n  e.call.answer(;\n});\n",
    );
    let out = dialtone().arg("check").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!("{}:2:", p.display());
    assert!(stdout.starts_with(&expected), "got {stdout:?}");
}

#[test]
fn check_accepts_the_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    let out = dialtone().arg("check").args(&files).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn run_refuses_a_bad_port_range() {
    let p = scratch("ok.js", "Logger.write('x');\n");
    let out = dialtone()
        .args(["run"])
        .arg(&p)
        .args(["--rtp-ports", "9-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port range"));
}

#[test]
fn run_refuses_a_missing_scenario() {
    let out = dialtone()
        .args(["run", "/nonexistent/x.js", "--sip", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_subcommand_passes_an_example_and_fails_a_wrong_expectation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let ok = dialtone()
        .arg("test")
        .arg(root.join("busy.js"))
        .arg("--spec")
        .arg(root.join("busy.spec.json"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("PASS"));

    // busy.js rejects with 486; a spec that expects 603 must fail with a diff.
    let spec = std::fs::read_to_string(root.join("busy.spec.json")).unwrap();
    assert!(spec.contains("486"), "busy.spec.json should expect 486");
    let wrong = scratch("busy_wrong.spec.json", &spec.replace("486", "603"));
    let bad = dialtone()
        .arg("test")
        .arg(root.join("busy.js"))
        .arg("--spec")
        .arg(&wrong)
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    assert!(String::from_utf8_lossy(&bad.stdout).contains("FAIL"));
}
