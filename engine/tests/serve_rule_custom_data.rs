//! A routing rule's `customData` over the REST API: written like the
//! `customData` of `POST /v1/sessions`, returned by every rule read, and
//! given to the sessions the rule starts unless the request brings its own.
//! (INVITE-started sessions: tests/test_serve.py.)

mod common;

use common::{send, Server};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
/// Answers every accessURL request with the session's customData in brackets.
const SHOWS_DATA: &str = "VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {\n\
     return \"[\" + VoxEngine.customData() + \"]\";\n});\n";
const MAX: usize = 64 * 1024;

struct Api {
    client: Client,
    base: String,
    key: String,
}

impl Api {
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        send(
            &self.client,
            method,
            &format!("{}{path}", self.base),
            &self.key,
            body,
        )
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body))
    }

    fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body))
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None)
    }

    /// What the session's scenario answers at its accessURL.
    fn custom_data_of(&self, session: &Value) -> String {
        let url = session["accessURL"].as_str().expect("accessURL");
        let resp = self.client.get(url).send().expect("GET accessURL");
        assert_eq!(resp.status().as_u16(), 200);
        resp.text().expect("body")
    }
}

fn rule(custom_data: Option<Value>) -> Value {
    let mut r = json!({ "name": "fwd", "pattern": r"1\d{3}", "scenarios": ["show"] });
    if let Some(data) = custom_data {
        r["customData"] = data;
    }
    r
}

#[test]
fn rules_carry_custom_data_to_their_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(ADMIN_KEY), "42400-42500");
    let client = common::client();
    let admin = Api {
        client: client.clone(),
        base: server.base.clone(),
        key: ADMIN_KEY.to_owned(),
    };
    let (status, acct) = admin.post("/v1/accounts", json!({ "name": "acme" }));
    assert_eq!(status, 201, "{acct}");
    let api = Api {
        client,
        base: server.base.clone(),
        key: acct["apiKey"].as_str().unwrap().to_owned(),
    };
    assert_eq!(api.call(Method::PUT, "/v1/applications/pbx", None).0, 201);
    let resp = api
        .client
        .put(format!("{}/v1/applications/pbx/scenarios/show", api.base))
        .bearer_auth(&api.key)
        .header("Content-Type", "application/javascript")
        .body(SHOWS_DATA)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Absent: the empty string, in every read.
    let rules = "/v1/applications/pbx/rules";
    let (status, plain) = api.post(rules, rule(None));
    assert_eq!((status, &plain["customData"]), (201, &json!("")), "{plain}");
    let plain_path = format!("{rules}/{}", plain["id"].as_str().unwrap());

    // A string as is; any other value as its JSON text; null as "".
    let (status, fwd) = api.put(&plain_path, rule(Some(json!("sip:bob@127.0.0.1:5080"))));
    assert_eq!(status, 200, "{fwd}");
    assert_eq!(fwd["customData"], "sip:bob@127.0.0.1:5080");
    let (_, got) = api.get(&plain_path);
    assert_eq!(got["customData"], "sip:bob@127.0.0.1:5080", "{got}");
    let (_, listed) = api.get(rules);
    assert_eq!(
        listed["rules"][0]["customData"], "sip:bob@127.0.0.1:5080",
        "{listed}"
    );
    let (status, m) = api.post("/v1/rules/match", json!({ "to": "1234" }));
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["rule"]["customData"], "sip:bob@127.0.0.1:5080", "{m}");

    let (_, obj) = api.put(&plain_path, rule(Some(json!({ "n": [1], "to": "sip:x" }))));
    assert_eq!(obj["customData"], r#"{"n":[1],"to":"sip:x"}"#, "{obj}");
    let (_, null) = api.put(&plain_path, rule(Some(Value::Null)));
    assert_eq!(null["customData"], "", "{null}");
    // A PUT replaces the whole rule: leaving customData out clears it.
    api.put(&plain_path, rule(Some(json!("kept?"))));
    let (_, cleared) = api.put(&plain_path, rule(None));
    assert_eq!(cleared["customData"], "", "{cleared}");

    // 64 KB at most, like sessions; over it 413 and nothing changes.
    let (status, exact) = api.put(&plain_path, rule(Some(json!("x".repeat(MAX)))));
    assert_eq!(status, 200, "{}", exact["error"]);
    let over = rule(Some(json!("x".repeat(MAX + 1))));
    let (status, err) = api.put(&plain_path, over.clone());
    assert_eq!((status, &err["error"]["code"]), (413, &json!("too_large")));
    let (status, err) = api.post(rules, over);
    assert_eq!((status, &err["error"]["code"]), (413, &json!("too_large")));
    let (_, listed) = api.get(rules);
    assert_eq!(listed["rules"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        listed["rules"][0]["customData"].as_str().map(str::len),
        Some(MAX)
    );

    // Sessions the rule starts get its customData; the request's own wins.
    api.put(&plain_path, rule(Some(json!("sip:bob@127.0.0.1:5080"))));
    let start = |extra: Value| {
        let mut body = json!({ "application": "pbx", "rule": "fwd" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, s) = api.post("/v1/sessions", body);
        assert_eq!(status, 201, "{s}");
        api.custom_data_of(&s)
    };
    assert_eq!(start(json!({})), "[sip:bob@127.0.0.1:5080]");
    assert_eq!(
        start(json!({ "customData": null })),
        "[sip:bob@127.0.0.1:5080]"
    );
    assert_eq!(start(json!({ "customData": "mine" })), "[mine]");
    assert_eq!(start(json!({ "customData": {"a": 1} })), r#"[{"a":1}]"#);
    assert_eq!(
        start(json!({ "customData": "" })),
        "[]",
        "an empty string is given"
    );
    let (status, err) = api.post(
        "/v1/sessions",
        json!({ "application": "pbx", "rule": "fwd", "customData": "x".repeat(MAX + 1) }),
    );
    assert_eq!((status, &err["error"]["code"]), (413, &json!("too_large")));
    // A session of the scenario alone has no rule, so no rule customData.
    let (status, s) = api.post(
        "/v1/sessions",
        json!({ "application": "pbx", "scenario": "show" }),
    );
    assert_eq!(status, 201, "{s}");
    assert_eq!(api.custom_data_of(&s), "[]");

    assert!(server.stop().success());
}
