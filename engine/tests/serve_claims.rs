//! Number ownership in `dialtone serve`: claims over REST (409 on overlap
//! with another account, isolation between accounts, the admin's reach),
//! the rule dry run seeing only the caller's own claims and rules, and
//! INVITEs going to the account that claims them, whatever other accounts'
//! rules say.

mod common;

use common::{send, Server};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
const RTP: &str = "43200-43300";

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

    fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        send(
            &self.client,
            method,
            &format!("{}{path}", self.base),
            key,
            body,
        )
    }

    fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(Method::GET, path, key, None)
    }

    fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, key, Some(body))
    }

    fn delete(&self, path: &str, key: &str) -> u16 {
        self.call(Method::DELETE, path, key, None).0
    }

    fn account(&self, name: &str) -> (String, String) {
        let (status, body) = self.post("/v1/accounts", ADMIN_KEY, json!({ "name": name }));
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["apiKey"].as_str().expect("apiKey").to_owned(),
        )
    }

    /// An application `pbx` with one scenario `main` and one rule.
    fn routes(&self, key: &str, source: &str, rule: Value) -> String {
        let (status, _) = self.call(Method::PUT, "/v1/applications/pbx", key, None);
        assert_eq!(status, 201);
        let resp = self
            .client
            .put(format!("{}/v1/applications/pbx/scenarios/main", self.base))
            .bearer_auth(key)
            .header("Content-Type", "application/javascript")
            .body(source.to_owned())
            .send()
            .expect("PUT scenario");
        assert_eq!(resp.status().as_u16(), 201);
        let (status, body) = self.post("/v1/applications/pbx/rules", key, rule);
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("rule id").to_owned()
    }

    /// The account's ended sessions once there are `want` of them.
    fn history(&self, key: &str, want: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (status, page) = self.get("/v1/history", key);
            assert_eq!(status, 200, "{page}");
            let sessions = page["sessions"].as_array().cloned().unwrap_or_default();
            let ended = sessions.iter().filter(|s| s["status"] != "running").count();
            if ended >= want {
                return sessions;
            }
            assert!(Instant::now() < deadline, "history: {page}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn expect_error(got: (u16, Value), status: u16, code: &str) -> String {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    got.1["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

/// Sends one INVITE for `sip:USER@HOST` over UDP and returns the final
/// status code (acknowledging it).
fn invite(sip: &str, user: &str, host: &str) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let local = socket.local_addr().expect("local addr");
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let branch = format!("z9hG4bK{}", &tag[..16]);
    let call_id = format!("{tag}@127.0.0.1");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        local.port() + 2
    );
    let uri = format!("sip:{user}@{host}");
    let common = format!(
        "Via: SIP/2.0/UDP {local};branch={branch}\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@{local}>;tag={}\r\nCall-ID: {call_id}\r\n",
        &tag[16..]
    );
    let request = format!(
        "INVITE {uri} SIP/2.0\r\n{common}To: <{uri}>\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{local}>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    socket
        .send_to(request.as_bytes(), sip)
        .expect("send INVITE");
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = socket
            .recv_from(&mut buf)
            .expect("a response to the INVITE");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let code: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not a response: {text}"));
        if code < 200 {
            continue;
        }
        assert!(code >= 300, "the test scenarios never answer: {text}");
        let to = text
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("to:"))
            .expect("To in the response");
        let ack = format!(
            "ACK {uri} SIP/2.0\r\n{common}{to}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        socket.send_to(ack.as_bytes(), sip).expect("send ACK");
        return code;
    }
}

/// Logs who ran and turns the call down with `code`.
fn rejecting(who: &str, code: u16) -> String {
    format!(
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {{\n\
         Logger.write('{who} got ' + e.destination);\n\
         e.call.reject({code});\n\
         VoxEngine.terminate();\n}});\n"
    )
}

#[test]
fn claims_are_per_account_and_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(ADMIN_KEY), RTP);
    let api = Api::new(&server);
    let (a_id, a) = api.account("alice");
    let (b_id, b) = api.account("bob");

    // Making claims, in each kind.
    let (status, number) = api.post("/v1/claims", &a, json!({ "number": "+15550100" }));
    assert_eq!(status, 201, "{number}");
    assert_eq!(
        (&number["kind"], &number["value"], &number["account"]),
        (&json!("number"), &json!("+15550100"), &json!(a_id))
    );
    assert!(number["createdAt"].as_i64().unwrap() > 0);
    let (status, pattern) = api.post("/v1/claims", &a, json!({ "pattern": r"1\d{3}" }));
    assert_eq!(status, 201, "{pattern}");
    let (status, domain) = api.post("/v1/claims", &a, json!({ "domain": "Alice.Example.COM." }));
    assert_eq!(status, 201, "{domain}");
    assert_eq!(domain["value"], "alice.example.com");
    // Overlaps within one account are fine.
    assert_eq!(
        api.post("/v1/claims", &a, json!({ "number": "1234" })).0,
        201
    );

    // Another account's overlapping claims: 409 with a JSON error that
    // does not say whose claim is in the way.
    for (body, what) in [
        (json!({ "pattern": r"12\d\d" }), "pattern vs pattern"),
        (json!({ "pattern": ".*" }), "catch-all"),
        (json!({ "number": "1999" }), "number vs pattern"),
        (json!({ "number": "+15550100" }), "number vs number"),
        (json!({ "pattern": r"\+1555.*" }), "pattern vs number"),
        (json!({ "domain": "ALICE.example.com" }), "domain vs domain"),
    ] {
        let message = expect_error(api.post("/v1/claims", &b, body), 409, "conflict");
        assert!(message.contains("another account"), "{what}: {message}");
        assert!(!message.contains(&a_id), "{what}: {message}");
    }
    let (status, b_pattern) = api.post("/v1/claims", &b, json!({ "pattern": r"2\d{3}" }));
    assert_eq!(status, 201, "{b_pattern}");
    let (status, _) = api.post("/v1/claims", &b, json!({ "domain": "bob.example.com" }));
    assert_eq!(status, 201);
    // Repeating one's own claim is a conflict too.
    expect_error(
        api.post("/v1/claims", &b, json!({ "pattern": r"2\d{3}" })),
        409,
        "conflict",
    );

    // Malformed claims: 422.
    for body in [
        json!({}),
        json!({ "number": "1", "domain": "x.example.com" }),
        json!({ "number": "12 34" }),
        json!({ "pattern": "(" }),
        json!({ "domain": "10.0.0.1" }),
        json!({ "domain": "localhost" }),
        json!({ "phone": "1234" }),
        json!({ "number": 1234 }),
    ] {
        expect_error(api.post("/v1/claims", &b, body.clone()), 422, "invalid");
    }

    // Each account lists its own; another's id answers 404 and ?account=
    // answers 403 to anyone but the admin.
    let (status, listed) = api.get("/v1/claims", &a);
    assert_eq!(status, 200, "{listed}");
    let values: Vec<&str> = listed["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        ["+15550100", r"1\d{3}", "alice.example.com", "1234"]
    );
    let (_, b_listed) = api.get("/v1/claims", &b);
    assert_eq!(
        b_listed["claims"].as_array().unwrap().len(),
        2,
        "{b_listed}"
    );
    let a_claim = format!("/v1/claims/{}", number["id"].as_str().unwrap());
    assert_eq!(api.get(&a_claim, &a).1, number);
    expect_error(api.get(&a_claim, &b), 404, "not_found");
    expect_error(
        api.call(Method::DELETE, &a_claim, &b, None),
        404,
        "not_found",
    );
    expect_error(
        api.get(&format!("/v1/claims?account={a_id}"), &b),
        403,
        "forbidden",
    );
    expect_error(
        api.post(
            &format!("/v1/claims?account={a_id}"),
            &b,
            json!({ "number": "777" }),
        ),
        403,
        "forbidden",
    );
    assert_eq!(api.get(&format!("/v1/claims?account={b_id}"), &b).0, 200);
    assert_eq!(api.get(&a_claim, &a).0, 200, "still there");

    // The admin manages any account's claims.
    let (status, by_admin) = api.get(&format!("/v1/claims?account={a_id}"), ADMIN_KEY);
    assert_eq!(
        (status, by_admin["claims"].as_array().map(Vec::len)),
        (200, Some(4))
    );
    let (status, granted) = api.post(
        &format!("/v1/claims?account={b_id}"),
        ADMIN_KEY,
        json!({ "number": "+15550200" }),
    );
    assert_eq!(
        (status, &granted["account"]),
        (201, &json!(b_id)),
        "{granted}"
    );
    expect_error(
        api.post(
            "/v1/claims?account=no-such-account",
            ADMIN_KEY,
            json!({ "number": "5" }),
        ),
        404,
        "not_found",
    );
    assert_eq!(api.get(&a_claim, ADMIN_KEY).1, number);
    assert_eq!(api.delete(&a_claim, ADMIN_KEY), 204);
    expect_error(api.get(&a_claim, &a), 404, "not_found");
    // Released, the number can be claimed by another account.
    assert_eq!(
        api.post("/v1/claims", &b, json!({ "number": "+15550100" }))
            .0,
        201
    );
    let (_, admin_own) = api.get("/v1/claims", ADMIN_KEY);
    assert_eq!(admin_own["claims"], json!([]));

    assert!(server.stop().success());
}

#[test]
fn invites_go_to_the_account_that_claims_them() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr.log");
    let config = dir.path().join("dialtone.toml");
    std::fs::write(&config, "reserved_domains = \"sip.operator.example\"\n").unwrap();
    let config_arg = config.to_str().unwrap();
    let server = Server::start_logging(
        dir.path(),
        Some(ADMIN_KEY),
        RTP,
        &["--config", config_arg],
        Some(&stderr),
    );
    let api = Api::new(&server);
    let (_, a) = api.account("alice");
    let (_, b) = api.account("bob");
    api.routes(
        &a,
        &rejecting("alice", 486),
        json!({ "name": "did", "pattern": r"\+1555\d+", "scenarios": ["main"] }),
    );
    // The reproduction: bob's catch-all rule at the highest priority.
    api.routes(
        &b,
        &rejecting("bob", 603),
        json!({ "name": "all", "pattern": ".*", "priority": 2147483647, "scenarios": ["main"] }),
    );

    // Nobody claims anything yet: nothing routes.
    assert_eq!(invite(&server.sip, "+15550100", "127.0.0.1"), 404);
    let (status, m) = api.post("/v1/rules/match", &b, json!({ "to": "+15550100" }));
    assert_eq!((status, &m["claim"]), (200, &json!(null)), "{m}");
    assert!(m.get("shadowed").is_none(), "{m}");

    assert_eq!(
        api.post("/v1/claims", &a, json!({ "number": "+15550100" }))
            .0,
        201
    );
    expect_error(
        api.post("/v1/claims", &b, json!({ "pattern": ".*" })),
        409,
        "conflict",
    );
    // Alice's call reaches alice's rule, bob's catch-all never runs.
    assert_eq!(invite(&server.sip, "+15550100", "127.0.0.1"), 486);
    let sessions = api.history(&a, 1);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["calls"][0]["to"], "+15550100", "{sessions:?}");
    // An unclaimed number is 404, bob's rule notwithstanding.
    assert_eq!(invite(&server.sip, "+15550199", "127.0.0.1"), 404);

    // The dry run answers from the caller's own claims and rules only.
    let (status, m) = api.post("/v1/rules/match", &a, json!({ "to": "+15550100" }));
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["claim"]["kind"], &m["claim"]["value"]),
        (&json!("number"), &json!("+15550100"))
    );
    let (status, m) = api.post("/v1/rules/match", &b, json!({ "to": "+15550100" }));
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["claim"], json!(null), "bob learns nothing of alice: {m}");
    assert_eq!(m["rule"]["name"], "all");
    let (status, m) = api.post("/v1/rules/match", ADMIN_KEY, json!({ "to": "+15550100" }));
    assert_eq!(status, 404, "the admin's dry run is its own too: {m}");

    // User@domain routing: bob claims his domain. A number claim still
    // beats it; any other user at bob's domain is bob's.
    assert_eq!(
        api.post("/v1/claims", &b, json!({ "domain": "bob.example.com" }))
            .0,
        201
    );
    assert_eq!(invite(&server.sip, "carol", "Bob.Example.com"), 603);
    assert_eq!(invite(&server.sip, "+15550100", "bob.example.com"), 486);
    let (_, m) = api.post(
        "/v1/rules/match",
        &b,
        json!({ "to": "carol", "domain": "BOB.example.com" }),
    );
    assert_eq!(m["claim"]["kind"], "domain", "{m}");
    // The server's own name is reserved.
    let message = expect_error(
        api.post(
            "/v1/claims",
            &b,
            json!({ "domain": "SIP.operator.example" }),
        ),
        409,
        "conflict",
    );
    assert!(message.contains("reserved"), "{message}");

    let a_sessions = api.history(&a, 2);
    let b_sessions = api.history(&b, 1);
    assert_eq!((a_sessions.len(), b_sessions.len()), (2, 1));
    assert_eq!(b_sessions[0]["calls"][0]["to"], "carol");
    assert!(server.stop().success());

    // At start, an account with rules and no claims is named on stderr.
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(!log.contains("claims no number"), "{log}");
    let restarted = Server::start_logging(dir.path(), Some(ADMIN_KEY), RTP, &[], Some(&stderr));
    let api = Api::new(&restarted);
    let (_, c) = api.account("carol");
    api.routes(
        &c,
        &rejecting("carol", 480),
        json!({ "name": "r", "pattern": "9", "scenarios": ["main"] }),
    );
    assert!(restarted.stop().success());
    let again = Server::start_logging(dir.path(), Some(ADMIN_KEY), RTP, &[], Some(&stderr));
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        if log.contains("claims no number") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(log.matches("claims no number").count(), 1, "{log}");
    assert!(log.contains("name=carol") || log.contains("carol"), "{log}");
    let st = again.stop();
    assert!(st.success(), "{st:?}");
}
