//! Dialtone's HTTP listener: recordings under `/recordings/` for `dialtone
//! run`, plus whatever routes the caller merges in (the management API of
//! `dialtone serve`, where recordings are served to their owner only), all on
//! one port.

use axum::Router;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// Binds `addr` and serves the routes of `extra`, and the files of
/// `public_recordings` under `/recordings` when given, in the background;
/// returns the bound address.
pub async fn start(
    addr: SocketAddr,
    public_recordings: Option<&Path>,
    extra: Router,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let mut app = Router::new();
    if let Some(dir) = public_recordings {
        app = app.nest_service("/recordings", ServeDir::new(dir));
    }
    let app = app.merge(extra);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP listener stopped");
        }
    });
    Ok(bound)
}
