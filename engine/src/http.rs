//! Dialtone's HTTP listener: recordings under `/recordings/` for `dialtone
//! run`, Prometheus metrics under `/metrics`, plus whatever routes the caller
//! merges in (the management API of `dialtone serve`, where recordings are
//! served to their owner only), all on one port. Every request to any of them
//! is counted in the metrics; connections, requests in flight and handler
//! time are bounded (`http_limits`).

use crate::metrics::{Exporter, Metrics, CONTENT_TYPE};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// Binds `addr` and serves the routes of `extra`, the files of
/// `public_recordings` under `/recordings` when given, and `GET /metrics`
/// from `metrics`, in the background; returns the bound address.
pub async fn start(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    public_recordings: Option<&Path>,
    extra: Router,
    metrics: Exporter,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = routes(public_recordings, extra, metrics).layer(middleware::from_fn_with_state(
        crate::http_limits::InFlight::new(crate::http_limits::MAX_IN_FLIGHT),
        crate::http_limits::bounded,
    ));
    let listener =
        crate::http_limits::BoundedListener::new(listener, crate::http_limits::MAX_CONNECTIONS);
    let app = app.into_make_service_with_connect_info::<crate::signalling::ws::PeerAddr>();
    match tls {
        None => tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "HTTP listener stopped");
            }
        }),
        Some(config) => {
            let listener = crate::http_tls::TlsListener::new(listener, config);
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "HTTPS listener stopped");
                }
            })
        }
    };
    Ok(bound)
}

/// Everything the listener serves, wrapped in the request counter.
fn routes(public_recordings: Option<&Path>, extra: Router, metrics: Exporter) -> Router {
    let counted_in = metrics.metrics().clone();
    let mut app = Router::new()
        .route("/metrics", get(scrape).with_state(metrics))
        .method_not_allowed_fallback(crate::api::method_not_allowed)
        .layer(middleware::map_response(crate::api::json_errors));
    if let Some(dir) = public_recordings {
        app = app.nest_service("/recordings", ServeDir::new(dir));
    }
    counted(app.merge(extra), counted_in)
}

/// `app` with every request counted in `metrics`, unmatched ones included.
fn counted(app: Router, metrics: Arc<Metrics>) -> Router {
    app.layer(middleware::from_fn_with_state(metrics, count_request))
}

async fn scrape(State(exporter): State<Exporter>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], exporter.scrape()).into_response()
}

async fn count_request(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let response = next.run(req).await;
    metrics.http_request(method.as_str(), response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    /// Serves `app` on a loopback port; returns its base URL.
    async fn serve(app: Router) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn every_request_is_counted_by_method_and_status() {
        let metrics = Arc::new(Metrics::default());
        let api = Router::new()
            .route("/v1/thing", get(|| async { "ok" }))
            .route("/v1/gone", get(|| async { StatusCode::GONE }));
        let app = counted(Router::new().merge(api), metrics.clone());
        let base = serve(app).await;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        for (method, path, status) in [
            (reqwest::Method::GET, "/v1/thing", 200),
            (reqwest::Method::GET, "/v1/thing", 200),
            (reqwest::Method::GET, "/v1/gone", 410),
            (reqwest::Method::POST, "/v1/thing", 405),
            (reqwest::Method::GET, "/nowhere", 404),
        ] {
            let r = client
                .request(method, format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            assert_eq!(r.status().as_u16(), status, "{path}");
        }
        let text = metrics.render(&crate::metrics::Readings::default());
        for line in [
            "dialtone_http_requests_total{method=\"GET\",status=\"200\"} 2\n",
            "dialtone_http_requests_total{method=\"GET\",status=\"410\"} 1\n",
            "dialtone_http_requests_total{method=\"POST\",status=\"405\"} 1\n",
            "dialtone_http_requests_total{method=\"GET\",status=\"404\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
