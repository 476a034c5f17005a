//! Dialtone's HTTP listener. Now: recordings under `/recordings/`. The
//! management API (`dialtone serve`) will mount here too.

use axum::Router;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// Binds `addr` and serves in the background; returns the bound address.
pub async fn start(addr: SocketAddr, recordings: &Path) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().nest_service("/recordings", ServeDir::new(recordings));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP listener stopped");
        }
    });
    Ok(bound)
}
