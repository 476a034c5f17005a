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
fn check_reports_what_a_typed_editor_would() {
    let p = scratch(
        "typo.js",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n  e.call.answr();\n  \
         e.call.addEventListener(CallEvents.Conected, () => {});\n});\n",
    );
    let out = dialtone().arg("check").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let file = p.display();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{file}:2:10: unknown member Call.answr (did you mean Call.answer?)\n\
             {file}:3:38: unknown member CallEvents.Conected (did you mean CallEvents.Connected?)\n"
        )
    );
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

#[test]
fn test_subcommand_runs_a_directory_and_reports_for_machines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let all = dialtone().arg("test").arg(&root).output().unwrap();
    let stdout = String::from_utf8_lossy(&all.stdout);
    assert!(all.status.success(), "{stdout}");
    assert!(
        stdout.contains("passed, 0 failed, 0 could not run"),
        "{stdout}"
    );

    let json = dialtone()
        .args(["test", "--format", "json"])
        .arg(root.join("echo.js"))
        .output()
        .unwrap();
    assert!(json.status.success());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["passed"], true);
    assert!(value["scenario"].as_str().unwrap().ends_with("echo.js"));
    assert!(value["spec"].as_str().unwrap().ends_with("echo.spec.json"));
    assert!(value["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["text"].as_str().unwrap().starts_with("Call.Connected")));

    let junit = dialtone()
        .args(["test", "--format", "junit"])
        .arg(&root)
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(junit.status.success(), "{xml}");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(
        xml.contains("name=\"") && xml.contains("busy.js\""),
        "{xml}"
    );
}

#[test]
fn test_subcommand_refuses_what_cannot_be_checked() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    // A spec that expects nothing.
    let empty = scratch("empty.spec.json", "{\"call\": {}}");
    let out = dialtone()
        .arg("test")
        .arg(root.join("echo.js"))
        .arg("--spec")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no expectations"));
    // A scenario with no spec next to it.
    let lonely = scratch("lonely.js", "VoxEngine.terminate();\n");
    let out = dialtone().arg("test").arg(&lonely).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no spec"));
    // A scenario that does not compile fails even a spec it would otherwise pass.
    let broken = scratch("broken.js", "VoxEngine.addEventListener(\n");
    let spec = scratch("broken.spec.json", "{\"expect\": [{\"terminated\": true}]}");
    let out = dialtone()
        .arg("test")
        .arg(&broken)
        .arg("--spec")
        .arg(&spec)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("unexpected script error"), "{stdout}");
}
