//! Dialtone's HTTP listener: recordings under `/recordings/`, plus whatever
//! routes the caller merges in (the management API of `dialtone serve`), all
//! on one port.

use axum::Router;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// Binds `addr` and serves `/recordings` and the routes of `extra` in the
/// background; returns the bound address.
pub async fn start(
    addr: SocketAddr,
    recordings: &Path,
    extra: Router,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .nest_service("/recordings", ServeDir::new(recordings))
        .merge(extra);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP listener stopped");
        }
    });
    Ok(bound)
}
