//! `public_url`: the URLs a session hands out (its accessURL, recording
//! URLs) start with the configured public base instead of the bound HTTP
//! address, and the real listener still serves them under the same paths
//! (what a reverse proxy in front of it would forward). A bad value stops
//! the start with one line and exit code 2.

mod common;

use common::{send, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::{Command, Stdio};

const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
const PUBLIC: &str = "https://calls.example.com/dialtone";
/// Records (silence) from the start and reports, at its accessURL, what it
/// was told: its accessURL, the recording URL and the request path.
const REPORTS_URLS: &str = r#"
var seen = { access: "", recording: "" };
VoxEngine.addEventListener(AppEvents.Started, function (e) {
  seen.access = e.accessURL;
  var recorder = VoxEngine.createRecorder();
  recorder.addEventListener(RecorderEvents.Started, function (r) { seen.recording = r.url; });
});
VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  return { access: seen.access, recording: seen.recording, path: e.path };
});
"#;

/// `url` with the public base replaced by the real listener's.
fn on_listener(url: &str, base: &str) -> String {
    let rest = url
        .strip_prefix(PUBLIC)
        .unwrap_or_else(|| panic!("{url} is not under {PUBLIC}"));
    format!("{base}{rest}")
}

#[test]
fn session_urls_start_with_the_public_url_and_reach_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    // The trailing slash is trimmed.
    let server = Server::start_with(
        dir.path(),
        Some(ADMIN_KEY),
        "42600-42700",
        &["--public-url", &format!("{PUBLIC}/")],
    );
    let client = common::client();
    let call = |method: Method, path: &str, body: Option<Value>| {
        send(
            &client,
            method,
            &format!("{}{path}", server.base),
            ADMIN_KEY,
            body,
        )
    };
    assert_eq!(call(Method::PUT, "/v1/applications/pbx", None).0, 201);
    let resp = client
        .put(format!(
            "{}/v1/applications/pbx/scenarios/urls",
            server.base
        ))
        .bearer_auth(ADMIN_KEY)
        .header("Content-Type", "application/javascript")
        .body(REPORTS_URLS)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let (status, s) = call(
        Method::POST,
        "/v1/sessions",
        Some(json!({ "application": "pbx", "scenario": "urls" })),
    );
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap();
    let access = s["accessURL"].as_str().unwrap().to_owned();
    assert!(
        access.starts_with(&format!("{PUBLIC}/access/{id}/")),
        "{access}"
    );
    assert_eq!(s["accessSecureURL"], access.as_str());
    let (_, live) = call(Method::GET, &format!("/v1/sessions/{id}"), None);
    assert_eq!(live["accessURL"], access.as_str(), "{live}");

    // The real listener answers the same path.
    let direct = on_listener(&access, &server.base);
    let seen = (0..100)
        .find_map(|_| {
            let resp = client.get(format!("{direct}/status")).send().ok()?;
            assert_eq!(resp.status().as_u16(), 200);
            let v: Value = resp.json().ok()?;
            if v["recording"].as_str().is_some_and(|r| !r.is_empty()) {
                return Some(v);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            None
        })
        .expect("the recorder started");
    assert_eq!(seen["access"], access.as_str(), "{seen}");
    // The path the listener saw: the public URL's own path prefix is the
    // proxy's to strip.
    let path = format!("{}/status", access.strip_prefix(PUBLIC).unwrap());
    assert_eq!(seen["path"], path.as_str(), "{seen}");
    let recording = seen["recording"].as_str().unwrap();
    assert!(
        recording.starts_with(&format!("{PUBLIC}/v1/recordings/")),
        "{recording}"
    );
    // The file is there under that name. (`GET /v1/recordings/{id}` serves
    // recordings of calls only; this one has none, so the file is checked.)
    let file = recording.rsplit('/').next().unwrap();
    assert!(dir.path().join("recordings").join(file).is_file(), "{file}");

    assert!(server.stop().success());
}

fn exits_2_with_one_line(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run dialtone");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn invalid_public_url_exits_2() {
    let serve = ["serve", "--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"];
    let err = exits_2_with_one_line(
        &[&serve[..], &["--public-url", "calls.example.com"]].concat(),
        &[],
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("public_url") && err.contains("--public-url"),
        "{err}"
    );
    let err = exits_2_with_one_line(&serve, &[("DIALTONE_PUBLIC_URL", "https://x.example/?q=1")]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("DIALTONE_PUBLIC_URL"), "{err}");

    // `dialtone run` validates the flag as it does its others.
    let scenario = tempfile::NamedTempFile::new().unwrap();
    let path = scenario.path().to_str().unwrap();
    let err = exits_2_with_one_line(&["run", path, "--public-url", "ftp://x.example"], &[]);
    assert!(err.contains("--public-url"), "{err}");
}
