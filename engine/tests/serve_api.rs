//! `dialtone serve` end to end: the real binary on free loopback ports with a
//! temporary data directory, driven over its REST API.

mod common;

use common::Server;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
const ECHO: &str =
    "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => { e.call.answer(); });\n";

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            client: common::client(),
            base: server.base.clone(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let b = self.client.request(method, format!("{}{path}", self.base));
        match key {
            Some(k) => b.bearer_auth(k),
            None => b,
        }
    }

    fn get(&self, path: &str, key: &str) -> Response {
        self.req(reqwest::Method::GET, path, Some(key))
            .send()
            .expect("GET")
    }

    fn delete(&self, path: &str, key: &str) -> Response {
        self.req(reqwest::Method::DELETE, path, Some(key))
            .send()
            .expect("DELETE")
    }

    fn post(&self, path: &str, key: &str, body: Value) -> Response {
        self.req(reqwest::Method::POST, path, Some(key))
            .json(&body)
            .send()
            .expect("POST")
    }

    fn put_json(&self, path: &str, key: &str, body: Value) -> Response {
        self.req(reqwest::Method::PUT, path, Some(key))
            .json(&body)
            .send()
            .expect("PUT")
    }

    fn put_app(&self, app: &str, key: &str) -> Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v1/applications/{app}"),
            Some(key),
        )
        .send()
        .expect("PUT app")
    }

    fn put_scenario(&self, app: &str, name: &str, key: &str, ctype: &str, src: &str) -> Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v1/applications/{app}/scenarios/{name}"),
            Some(key),
        )
        .header("Content-Type", ctype)
        .body(src.to_owned())
        .send()
        .expect("PUT scenario")
    }

    fn create_account(&self, name: &str) -> (String, String) {
        let r = self.post("/v1/accounts", ADMIN_KEY, json!({ "name": name }));
        let (status, body) = status_json(r);
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["apiKey"].as_str().expect("apiKey").to_owned(),
        )
    }
}

fn status_json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// Asserts the status and the `{error: {code, message}}` shape.
fn expect_error(r: Response, status: u16, code: &str) -> Value {
    let (got, body) = status_json(r);
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

#[test]
fn rest_api_accounts_scenarios_rules_and_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(ADMIN_KEY), "42000-42100");
    assert!(
        !server.startup.iter().any(|l| l.contains("admin API key")),
        "a supplied admin key is never printed: {:?}",
        server.startup
    );
    let api = Api::new(&server);

    // Authentication.
    let r = api
        .req(reqwest::Method::GET, "/v1/applications", None)
        .send()
        .unwrap();
    expect_error(r, 401, "unauthorized");
    expect_error(
        api.get("/v1/applications", "wrong-key"),
        401,
        "unauthorized",
    );

    let (_a_id, a) = api.create_account("alice");
    let (_b_id, b) = api.create_account("bob");
    expect_error(
        api.post("/v1/accounts", &a, json!({ "name": "mallory" })),
        403,
        "forbidden",
    );

    // Applications.
    let (status, app) = status_json(api.put_app("ivr", &a));
    assert_eq!((status, app["name"].as_str()), (201, Some("ivr")), "{app}");
    assert_eq!(api.put_app("ivr", &a).status().as_u16(), 200);
    let (_, list) = status_json(api.get("/v1/applications", &a));
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);

    // Scenarios: checks, limits and versions.
    let js = "application/javascript";
    let (status, v1) = status_json(api.put_scenario("ivr", "main", &a, js, ECHO));
    assert_eq!((status, v1["version"].as_i64()), (201, Some(1)), "{v1}");
    let second = format!("{ECHO}// v2\n");
    let (_, v2) = status_json(api.put_scenario("ivr", "main", &a, js, &second));
    assert_eq!(v2["version"], 2);
    let (_, versions) = status_json(api.get("/v1/applications/ivr/scenarios/main/versions", &a));
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
    let (_, old) = status_json(api.get("/v1/applications/ivr/scenarios/main?version=1", &a));
    assert_eq!(old["source"], ECHO);
    let (_, latest) = status_json(api.get("/v1/applications/ivr/scenarios/main", &a));
    assert_eq!(
        (latest["version"].as_i64(), latest["source"].as_str()),
        (Some(2), Some(second.as_str()))
    );
    let (_, listed) = status_json(api.get("/v1/applications/ivr/scenarios", &a));
    assert_eq!(listed["scenarios"][0]["version"], 2, "{listed}");

    let bad = "let x = 1;\nfunction ( {\n";
    let err = expect_error(
        api.put_scenario("ivr", "bad", &a, js, bad),
        422,
        "syntax_error",
    );
    assert_eq!(err["error"]["line"], 2, "{err}");
    assert!(err["error"]["column"].as_u64().unwrap() >= 1, "{err}");
    let big = format!("// {}\n", "x".repeat(256 * 1024));
    expect_error(
        api.put_scenario("ivr", "big", &a, js, &big),
        413,
        "too_large",
    );
    expect_error(
        api.put_scenario("ivr", "txt", &a, "text/plain", ECHO),
        415,
        "unsupported_media_type",
    );
    expect_error(
        api.get("/v1/applications/ivr/scenarios/bad", &a),
        404,
        "not_found",
    );
    assert_eq!(
        api.put_scenario(
            "ivr",
            "second",
            &a,
            "text/javascript; charset=utf-8",
            "Logger.write('x');"
        )
        .status()
        .as_u16(),
        201
    );

    // Rules.
    let rule = json!({ "name": "ext", "pattern": r"1\d{3}", "scenarios": ["main", "second"] });
    let (status, created) = status_json(api.post("/v1/applications/ivr/rules", &a, rule));
    assert_eq!(status, 201, "{created}");
    let rule_id = created["id"].as_str().unwrap().to_owned();
    expect_error(
        api.post(
            "/v1/applications/ivr/rules",
            &a,
            json!({ "name": "broken", "pattern": "(", "scenarios": ["main"] }),
        ),
        422,
        "invalid",
    );
    expect_error(
        api.post("/v1/applications/ivr/rules", &a, json!({ "name": "x" })),
        422,
        "invalid",
    );
    let r = api
        .req(
            reqwest::Method::POST,
            "/v1/applications/ivr/rules",
            Some(&a),
        )
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    expect_error(r, 415, "unsupported_media_type");
    let r = api
        .req(
            reqwest::Method::POST,
            "/v1/applications/ivr/rules",
            Some(&a),
        )
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    expect_error(r, 400, "bad_request");

    let (_, rules) = status_json(api.get("/v1/applications/ivr/rules", &a));
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1, "{rules}");
    let rule_path = format!("/v1/applications/ivr/rules/{rule_id}");
    let updated = json!({
        "name": "ext", "pattern": r"1\d{3}", "priority": 5, "exclude": "1999",
        "scenarios": ["main", "second"],
    });
    let (status, body) = status_json(api.put_json(&rule_path, &a, updated));
    assert_eq!(
        (status, body["priority"].as_i64()),
        (200, Some(5)),
        "{body}"
    );
    let (_, got) = status_json(api.get(&rule_path, &a));
    assert_eq!(got["exclude"], "1999");

    // Dry run.
    let (status, m) = status_json(api.post("/v1/rules/match", &a, json!({ "to": "1234" })));
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["rule"]["id"], rule_id.as_str());
    assert_eq!(m["scenarios"], json!(["main", "second"]));
    assert_eq!(m["scenario"], "ivr/main+second");
    // A has no claim yet: the rule would not receive such an INVITE.
    assert_eq!(m["claim"], Value::Null, "{m}");
    assert!(m.get("shadowed").is_none(), "{m}");
    expect_error(
        api.post("/v1/rules/match", &a, json!({ "to": "999" })),
        404,
        "not_found",
    );
    expect_error(
        api.post("/v1/rules/match", &a, json!({ "to": "1999" })),
        404,
        "not_found",
    );

    // Another account sees none of it.
    expect_error(api.get("/v1/applications/ivr", &b), 404, "not_found");
    expect_error(
        api.get("/v1/applications/ivr/scenarios/main", &b),
        404,
        "not_found",
    );
    expect_error(api.get(&rule_path, &b), 404, "not_found");
    expect_error(api.delete(&rule_path, &b), 404, "not_found");
    expect_error(
        api.put_scenario("ivr", "main", &b, js, ECHO),
        404,
        "not_found",
    );
    expect_error(
        api.post("/v1/rules/match", &b, json!({ "to": "1234" })),
        404,
        "not_found",
    );
    assert_eq!(api.put_app("ivr", &b).status().as_u16(), 201);
    expect_error(api.get(&rule_path, &b), 404, "not_found");
    let (_, b_apps) = status_json(api.get("/v1/applications", &b));
    assert_eq!(b_apps["applications"].as_array().unwrap().len(), 1);
    let (_, b_scen) = status_json(api.get("/v1/applications/ivr/scenarios", &b));
    assert_eq!(b_scen["scenarios"], json!([]));
    // A's objects are intact after B's attempts.
    assert_eq!(api.get(&rule_path, &a).status().as_u16(), 200);

    // Deletes.
    assert_eq!(api.delete(&rule_path, &a).status().as_u16(), 204);
    expect_error(
        api.post("/v1/rules/match", &a, json!({ "to": "1234" })),
        404,
        "not_found",
    );
    assert_eq!(
        api.delete("/v1/applications/ivr/scenarios/second", &a)
            .status()
            .as_u16(),
        204
    );
    expect_error(
        api.delete("/v1/applications/ivr/scenarios/second", &a),
        404,
        "not_found",
    );
    assert_eq!(
        api.delete("/v1/applications/ivr", &a).status().as_u16(),
        204
    );
    expect_error(api.get("/v1/applications/ivr", &a), 404, "not_found");
    expect_error(api.get("/v1/nothing-here", &a), 404, "not_found");

    assert!(server.stop().success());
}

#[test]
fn restart_keeps_accounts_scenarios_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), None, "42000-42100");
    let key_line = first
        .startup
        .iter()
        .find(|l| l.contains("admin API key"))
        .unwrap_or_else(|| panic!("generated admin key printed: {:?}", first.startup));
    let admin = key_line.split_whitespace().last().unwrap().to_owned();
    assert!(
        dir.path().join("dialtone.db").exists(),
        "default database in the data dir"
    );
    let api = Api::new(&first);
    let (status, acct) = status_json(api.post("/v1/accounts", &admin, json!({ "name": "carol" })));
    assert_eq!(status, 201, "{acct}");
    let key = acct["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(api.put_app("app", &key).status().as_u16(), 201);
    let js = "application/javascript";
    assert_eq!(
        api.put_scenario("app", "s", &key, js, ECHO)
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        api.put_scenario("app", "s", &key, js, ECHO)
            .status()
            .as_u16(),
        201
    );
    let rule = json!({ "name": "r", "pattern": r"\d+", "scenarios": ["s"] });
    assert_eq!(
        api.post("/v1/applications/app/rules", &key, rule)
            .status()
            .as_u16(),
        201
    );
    assert!(first.stop().success(), "clean exit on SIGTERM");

    let second = Server::start(dir.path(), None, "42000-42100");
    assert!(
        !second.startup.iter().any(|l| l.contains("admin API key")),
        "the key is printed only when generated: {:?}",
        second.startup
    );
    let api = Api::new(&second);
    assert_eq!(api.get("/v1/applications", &admin).status().as_u16(), 200);
    let (_, versions) = status_json(api.get("/v1/applications/app/scenarios/s/versions", &key));
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
    let (status, m) = status_json(api.post("/v1/rules/match", &key, json!({ "to": "42" })));
    assert_eq!(
        (status, m["scenario"].as_str()),
        (200, Some("app/s")),
        "{m}"
    );
    assert!(second.stop().success());
}

/// The id of the only key in `GET /v1/keys` marked `current`.
fn current_key_id(api: &Api, key: &str) -> (String, usize) {
    let (status, body) = status_json(api.get("/v1/keys", key));
    assert_eq!(status, 200, "{body}");
    let keys = body["keys"].as_array().expect("keys");
    let current: Vec<_> = keys.iter().filter(|k| k["current"] == true).collect();
    assert_eq!(current.len(), 1, "{body}");
    (
        current[0]["id"].as_str().expect("id").to_owned(),
        keys.len(),
    )
}

fn is_key_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn api_keys_rotate_without_locking_anyone_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(ADMIN_KEY), "42000-42100");
    let api = Api::new(&server);
    let post_empty = |path: &str, key: &str| {
        api.req(reqwest::Method::POST, path, Some(key))
            .send()
            .expect("POST")
    };
    let r = api
        .req(reqwest::Method::GET, "/v1/keys", None)
        .send()
        .unwrap();
    expect_error(r, 401, "unauthorized");

    let (a_id, a1) = api.create_account("alice");
    let (b_id, b1) = api.create_account("bob");

    // Listing: ids only, the request's own key marked.
    let (status, list) = status_json(api.get("/v1/keys", &a1));
    assert_eq!(status, 200, "{list}");
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{list}");
    let a1_id = keys[0]["id"].as_str().unwrap().to_owned();
    assert!(is_key_id(&a1_id), "{list}");
    assert!(
        !a1.contains(&a1_id) && !list.to_string().contains(&a1),
        "{list}"
    );
    assert_eq!(keys[0]["current"], true);
    assert!(keys[0]["createdAt"].as_i64().unwrap() > 0);

    // Rotation: a new key, shown once, works at once beside the old one.
    let (status, created) = status_json(post_empty("/v1/keys", &a1));
    assert_eq!(status, 201, "{created}");
    let a2 = created["apiKey"].as_str().unwrap().to_owned();
    let a2_id = created["id"].as_str().unwrap().to_owned();
    assert!(is_key_id(&a2_id) && a2_id != a1_id && a2 != a1, "{created}");
    assert!(created["createdAt"].as_i64().unwrap() > 0);
    assert_eq!(current_key_id(&api, &a1), (a1_id.clone(), 2));
    assert_eq!(current_key_id(&api, &a2), (a2_id.clone(), 2));
    let (_, list) = status_json(api.get("/v1/keys", &a2));
    assert!(!list.to_string().contains(&a2), "{list}");
    assert_eq!(api.put_app("ivr", &a2).status().as_u16(), 201);
    assert_eq!(api.get("/v1/applications/ivr", &a1).status().as_u16(), 200);

    // Another account cannot see or revoke them.
    assert_eq!(current_key_id(&api, &b1).1, 1);
    expect_error(
        api.delete(&format!("/v1/keys/{a1_id}"), &b1),
        404,
        "not_found",
    );
    expect_error(
        api.delete("/v1/keys/0000000000000000", &a1),
        404,
        "not_found",
    );
    expect_error(api.delete("/v1/keys/not-a-key", &a1), 404, "not_found");
    expect_error(
        api.delete(&format!("/v1/keys/{}", &a1_id[..8]), &a1),
        404,
        "not_found",
    );
    assert_eq!(api.get("/v1/applications", &a1).status().as_u16(), 200);

    // Revoking the old key: it answers 401 everywhere from then on.
    let r = api.delete(&format!("/v1/keys/{a1_id}"), &a2);
    assert_eq!(r.status().as_u16(), 204);
    expect_error(api.get("/v1/applications", &a1), 401, "unauthorized");
    expect_error(api.get("/v1/keys", &a1), 401, "unauthorized");
    expect_error(
        api.delete(&format!("/v1/keys/{a1_id}"), &a2),
        404,
        "not_found",
    );
    assert_eq!(current_key_id(&api, &a2), (a2_id.clone(), 1));

    // The last key stays: nobody locks themselves out.
    let err = expect_error(
        api.delete(&format!("/v1/keys/{a2_id}"), &a2),
        409,
        "conflict",
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last key"),
        "{err}"
    );
    assert_eq!(api.get("/v1/applications/ivr", &a2).status().as_u16(), 200);

    // With another key, a request may revoke the key it is made with.
    let (status, created) = status_json(post_empty("/v1/keys", &a2));
    assert_eq!(status, 201, "{created}");
    let a3 = created["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(
        api.delete(&format!("/v1/keys/{a2_id}"), &a2)
            .status()
            .as_u16(),
        204
    );
    expect_error(api.get("/v1/keys", &a2), 401, "unauthorized");
    assert_eq!(current_key_id(&api, &a3).1, 1);
    assert_eq!(api.get("/v1/applications/ivr", &a3).status().as_u16(), 200);

    // Recovery of an account whose keys are lost: admin only.
    let recover = format!("/v1/accounts/{b_id}/keys");
    expect_error(post_empty(&recover, &b1), 403, "forbidden");
    expect_error(post_empty(&recover, &a3), 403, "forbidden");
    expect_error(
        post_empty(&format!("/v1/accounts/{a_id}/keys"), &a3),
        403,
        "forbidden",
    );
    expect_error(
        post_empty("/v1/accounts/no-such-account/keys", ADMIN_KEY),
        404,
        "not_found",
    );
    let (status, recovered) = status_json(post_empty(&recover, ADMIN_KEY));
    assert_eq!(status, 201, "{recovered}");
    let b2 = recovered["apiKey"].as_str().unwrap().to_owned();
    let b2_id = recovered["id"].as_str().unwrap().to_owned();
    assert_eq!(current_key_id(&api, &b2), (b2_id, 2));
    assert_eq!(current_key_id(&api, &b1).1, 2, "bob's old key still works");
    // The admin's own keys are untouched by it.
    assert_eq!(current_key_id(&api, ADMIN_KEY).1, 1);
    let (admin_key_id, _) = current_key_id(&api, ADMIN_KEY);
    expect_error(
        api.delete(&format!("/v1/keys/{admin_key_id}"), ADMIN_KEY),
        409,
        "conflict",
    );

    // Wrong methods answer the API's 405.
    let r = api
        .req(reqwest::Method::PUT, "/v1/keys", Some(&a3))
        .send()
        .unwrap();
    expect_error(r, 405, "method_not_allowed");
    expect_error(api.get(&recover, ADMIN_KEY), 405, "method_not_allowed");

    assert!(server.stop().success());
}

fn run_expecting_failure(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd.output().expect("run dialtone serve");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn invalid_config_exits_2_with_one_clear_message() {
    let (code, err) = run_expecting_failure(&["--sip", "not-an-address"], &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("sip") && err.contains("--sip"), "{err}");

    let (code, err) = run_expecting_failure(&[], &[("DIALTONE_RTP_PORTS", "5000-10")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("DIALTONE_RTP_PORTS"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dialtone.toml");
    std::fs::write(&file, "sip = \"127.0.0.1:0\"\nbogus = 1\n").unwrap();
    let (code, err) = run_expecting_failure(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bogus"), "{err}");

    std::fs::write(&file, "sip = [\n").unwrap();
    let (code, err) = run_expecting_failure(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not valid TOML"), "{err}");

    let (code, err) = run_expecting_failure(&["--database", "mysql://x"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("database"), "{err}");

    let (code, err) = run_expecting_failure(
        &["--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"],
        &[("DIALTONE_ADMIN_KEY", "short")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("DIALTONE_ADMIN_KEY"), "{err}");
}
