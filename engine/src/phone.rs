//! The browser softphone at `/phone`: a page that registers as one of
//! Dialtone's users over this listener's own `/sip` WebSocket, with JsSIP,
//! and makes, answers, holds, transfers and hangs up calls. Its sources are
//! in `web/phone`; `build.rs` bundles them when the crate is built, and they
//! are served from the binary (no file, CDN or network needed at run time).
//! Static and public: it holds nothing but code, and the user's password is
//! only ever typed into it.
//!
//! A binary built without `web/phone/node_modules` has no page: every route
//! answers 503 saying how to bundle it.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// What a build without the page answers.
pub const NOT_BUNDLED: &str =
    "the softphone was not bundled: run npm ci --prefix web/phone before building";

/// The bundled files, from `build.rs`.
#[cfg(dialtone_phone)]
mod bundle {
    pub const HTML: Option<&str> = Some(include_str!(concat!(env!("OUT_DIR"), "/phone.html")));
    pub const JS: Option<&str> = Some(include_str!(concat!(env!("OUT_DIR"), "/phone.js")));
    pub const CSS: Option<&str> = Some(include_str!(concat!(env!("OUT_DIR"), "/phone.css")));
}

#[cfg(not(dialtone_phone))]
mod bundle {
    pub const HTML: Option<&str> = None;
    pub const JS: Option<&str> = None;
    pub const CSS: Option<&str> = None;
}

/// Whether this binary was built with the page.
pub const BUNDLED: bool = bundle::HTML.is_some();

/// The page may talk to its own origin only (the `/sip` WebSocket included).
const POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `GET /phone`, `/phone/phone.js` and `/phone/phone.css`, for the HTTP
/// listener.
pub fn routes() -> Router {
    Router::new()
        .route(
            "/phone",
            get(|| async { file(bundle::HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/phone/phone.js",
            get(|| async { file(bundle::JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/phone/phone.css",
            get(|| async { file(bundle::CSS, "text/css; charset=utf-8") }),
        )
}

fn file(body: Option<&'static str>, content_type: &'static str) -> Response {
    let Some(body) = body else {
        return crate::api::ApiError::Other {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "not_bundled",
            message: NOT_BUNDLED.to_owned(),
        }
        .into_response();
    };
    (
        [
            (CONTENT_TYPE, content_type),
            // A new binary may bring a new page: always ask.
            (CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("content-security-policy"), POLICY),
            (HeaderName::from_static("x-content-type-options"), "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = routes().oneshot(request).await.expect("response");
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = to_bytes(response.into_body(), 1 << 24).await.expect("body");
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn the_page_and_its_script_are_served_or_503_says_how_to_bundle_them() {
        for (path, kind) in [
            ("/phone", "text/html"),
            ("/phone/phone.js", "text/javascript"),
            ("/phone/phone.css", "text/css"),
        ] {
            let (status, content_type, body) = get(path).await;
            if BUNDLED {
                assert_eq!(status, StatusCode::OK, "{path}");
                assert!(content_type.starts_with(kind), "{path}: {content_type}");
            } else {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
                assert!(content_type.starts_with("application/json"), "{path}");
                let error: serde_json::Value = serde_json::from_str(&body).expect("JSON");
                assert_eq!(error["error"]["code"], "not_bundled", "{body}");
                assert_eq!(error["error"]["message"], NOT_BUNDLED, "{body}");
            }
        }
        if BUNDLED {
            let (_, _, html) = get("/phone").await;
            assert!(html.contains(r#"<script src="/phone/phone.js">"#), "{html}");
            let (_, _, js) = get("/phone/phone.js").await;
            assert!(js.contains("JsSIP"), "JsSIP is bundled in");
        }
    }
}
