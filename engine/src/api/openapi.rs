//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the REST API. The
//! document is kept by hand in `openapi.json` beside this file; the tests
//! below hold it to the routes the code registers.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Needs no API key.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use serde_json::Value;
    use std::collections::BTreeSet;
    use std::path::Path;

    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    /// Every path registered with `.route("…")` in the crate's sources
    /// outside their test modules, written the OpenAPI way (`{*rest}`
    /// becomes `{rest}`).
    fn routed_paths() -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read source dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read source");
                    let code = text.split("#[cfg(test)]").next().unwrap_or("");
                    found.extend(route_literals(code));
                }
            }
        }
        found
    }

    /// The string literals passed as first argument to `.route(`.
    fn route_literals(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let arg = rest.trim_start();
            let Some(literal) = arg.strip_prefix('"') else {
                continue;
            };
            let Some(end) = literal.find('"') else {
                continue;
            };
            let path = &literal[..end];
            if path.starts_with('/') {
                out.push(path.replace("{*", "{"));
            }
        }
        out
    }

    fn documented_paths(doc: &Value) -> BTreeSet<String> {
        doc["paths"]
            .as_object()
            .expect("paths object")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn route_literals_are_found_across_lines() {
        let src = r#"Router::new()
            .route("/v1/a", get(a))
            .route(
                "/v1/b/{id}/{*rest}",
                get(b),
            )
            .route(name, get(c))"#;
        assert_eq!(route_literals(src), ["/v1/a", "/v1/b/{id}/{rest}"]);
    }

    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        let doc = document();
        let documented = documented_paths(&doc);
        let routed = routed_paths();
        for known in [
            "/v1/accounts",
            "/metrics",
            "/access/{session}/{token}/{rest}",
        ] {
            assert!(routed.contains(known), "{known} not found in the sources");
        }
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from engine/src/api/openapi.json: {undocumented:?}"
        );
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            unrouted.is_empty(),
            "documented paths no code routes: {unrouted:?}"
        );
    }

    #[test]
    fn document_is_openapi_3_1_with_complete_operations() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let item = item.as_object().expect("path item");
            let ops: Vec<_> = METHODS.iter().filter_map(|m| item.get(*m)).collect();
            assert!(!ops.is_empty(), "{path}: no operation");
            for op in ops {
                let id = op["operationId"].as_str().expect("operationId");
                assert!(ids.insert(id.to_owned()), "{path}: duplicate {id}");
                let responses = op["responses"].as_object().expect("responses");
                assert!(!responses.is_empty(), "{path} {id}: no responses");
                // /v1 needs a key except the document itself; 401 must be listed.
                let open = op
                    .get("security")
                    .is_some_and(|s| s == &Value::Array(vec![]));
                if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                    assert!(!open, "{path} {id}: must need the API key");
                    assert!(responses.contains_key("401"), "{path} {id}: no 401");
                } else {
                    assert!(open, "{path} {id}: needs no API key");
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut stack = vec![&doc];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        let pointer = r.strip_prefix('#').expect("local $ref");
                        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}
