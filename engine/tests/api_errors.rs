//! Every error `dialtone serve` answers over HTTP is JSON
//! `{"error": {"code", "message"}}`: unknown routes, wrong methods (with
//! `Allow`), and the rejections of axum's extractors (path, query, JSON
//! body, body limit). Also: the OpenAPI document is served without a key.

mod common;

use common::Server;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use serde_json::Value;

const ADMIN_KEY: &str = "api-errors-admin-key-0123456789abcdef";

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(serve: &Server) -> Api {
        Api {
            client: common::client(),
            base: serve.base.clone(),
        }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
    }

    fn send(&self, method: Method, path: &str) -> Response {
        self.req(method, path).send().expect("request")
    }
}

/// Asserts the status, a JSON content type and the error shape; returns
/// the response headers and the message.
fn expect_error(r: Response, status: u16, code: &str) -> (reqwest::header::HeaderMap, String) {
    let got = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().expect("body");
    assert_eq!(got, status, "{text}");
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ctype.starts_with("application/json"),
        "{status} answered as {ctype:?}: {text}"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({got}): {text}"));
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {body}"));
    assert!(!message.is_empty(), "{body}");
    (headers, message.to_owned())
}

fn allowed(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    let allow = headers
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Allow header: {headers:?}"));
    let mut methods: Vec<String> = allow.split(',').map(|m| m.trim().to_owned()).collect();
    methods.sort();
    methods
}

#[test]
fn every_error_is_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let serve = Server::start(dir.path(), Some(ADMIN_KEY), "42200-42300");
    let api = Api::new(&serve);

    // Unknown routes, inside /v1 and outside, with and without a key.
    expect_error(api.send(Method::GET, "/v1/nope"), 404, "not_found");
    expect_error(api.send(Method::GET, "/nothing/here"), 404, "not_found");
    let r = api
        .client
        .get(format!("{}/v1/nope", api.base))
        .send()
        .expect("GET");
    expect_error(r, 404, "not_found");

    // No key.
    let r = api
        .client
        .get(format!("{}/v1/applications", api.base))
        .send()
        .expect("GET");
    expect_error(r, 401, "unauthorized");

    // Wrong methods: 405 with Allow.
    let (h, message) = expect_error(
        api.send(Method::POST, "/v1/applications"),
        405,
        "method_not_allowed",
    );
    assert_eq!(allowed(&h), ["GET", "HEAD"]);
    assert!(message.contains("POST"), "{message}");
    let (h, _) = expect_error(
        api.send(Method::PATCH, "/v1/applications/pbx"),
        405,
        "method_not_allowed",
    );
    assert_eq!(allowed(&h), ["DELETE", "GET", "HEAD", "PUT"]);
    let (h, _) = expect_error(
        api.send(Method::GET, "/v1/rules/match"),
        405,
        "method_not_allowed",
    );
    assert_eq!(allowed(&h), ["POST"]);
    // Without a key too: the method is wrong whoever asks.
    let r = api
        .client
        .delete(format!("{}/v1/openapi.json", api.base))
        .send()
        .expect("DELETE");
    expect_error(r, 405, "method_not_allowed");

    // Path rejection: not UTF-8 once percent-decoded.
    expect_error(
        api.send(Method::GET, "/v1/applications/%FF"),
        400,
        "bad_request",
    );

    // Query rejections.
    assert_eq!(
        api.send(Method::PUT, "/v1/applications/pbx")
            .status()
            .as_u16(),
        201
    );
    expect_error(
        api.send(Method::GET, "/v1/applications/pbx/scenarios/x?version=abc"),
        400,
        "bad_request",
    );
    expect_error(
        api.send(Method::GET, "/v1/history?limit=-1"),
        400,
        "bad_request",
    );
    expect_error(
        api.send(Method::GET, "/v1/history?unknown=1"),
        400,
        "bad_request",
    );
    let (_, message) = expect_error(
        api.send(Method::GET, "/v1/history?status=done"),
        400,
        "bad_request",
    );
    assert!(message.contains("running, ended, failed"), "{message}");
    assert_eq!(
        api.send(Method::GET, "/v1/history?status=ended")
            .status()
            .as_u16(),
        200
    );

    // JSON body rejections.
    let post_match = |ctype: Option<&str>, body: Vec<u8>| {
        let mut b = api.req(Method::POST, "/v1/rules/match").body(body);
        if let Some(c) = ctype {
            b = b.header("content-type", c);
        }
        b.send().expect("POST")
    };
    expect_error(
        post_match(None, b"{}".to_vec()),
        415,
        "unsupported_media_type",
    );
    expect_error(
        post_match(Some("application/json"), b"{\"to\":".to_vec()),
        400,
        "bad_request",
    );
    expect_error(
        post_match(Some("application/json"), b"{\"from\":\"1\"}".to_vec()),
        422,
        "invalid",
    );
    // Over the body limit (1 MiB), on a JSON body and on a raw one. Only a
    // little over: the server stops reading at the limit, answers and
    // closes, and a client still sending a much larger body would see the
    // connection reset before it reads the answer.
    let over = 1024 * 1024 + 64 * 1024;
    let mut huge = b"{\"to\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'1', over));
    huge.extend(b"\"}");
    expect_error(post_match(Some("application/json"), huge), 413, "too_large");
    let r = api
        .req(Method::PUT, "/v1/applications/pbx/scenarios/big")
        .header("content-type", "application/javascript")
        .body(vec![b'/'; over])
        .send()
        .expect("PUT");
    expect_error(r, 413, "too_large");

    // The document needs no key.
    let r = api
        .client
        .get(format!("{}/v1/openapi.json", api.base))
        .send()
        .expect("GET openapi");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let doc: Value = r.json().expect("openapi JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/applications/{app}"]["put"].is_object());
}
