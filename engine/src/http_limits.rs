//! Bounds on the HTTP listener: connections held at once (a connection past
//! the limit waits in the kernel's accept queue until one closes), requests
//! in flight at once (past it: 503 with Retry-After, at once, rather than a
//! queue), and how long a handler may take to produce its answer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections the listener holds at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Requests handled at once.
pub const MAX_IN_FLIGHT: usize = 512;
/// Longest a handler may take to produce its answer's head (a body may
/// stream on after it).
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(60);

/// A TCP listener that holds at most `MAX_CONNECTIONS` connections.
pub struct BoundedListener {
    inner: TcpListener,
    seats: Arc<Semaphore>,
}

impl BoundedListener {
    pub fn new(inner: TcpListener, max: usize) -> BoundedListener {
        BoundedListener {
            inner,
            seats: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

/// A connection holding its seat until it is dropped.
pub struct Seated {
    stream: TcpStream,
    _seat: OwnedSemaphorePermit,
}

impl axum::serve::Listener for BoundedListener {
    type Io = Seated;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Seated, std::net::SocketAddr) {
        // Not accepting past the limit leaves new connections in the
        // kernel's queue; they are taken as seats free up.
        let seat = match self.seats.clone().acquire_owned().await {
            Ok(seat) => seat,
            // The semaphore is never closed; wait forever if it were.
            Err(_) => std::future::pending().await,
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        Seated {
                            stream,
                            _seat: seat,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    tracing::debug!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for Seated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Seated {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Requests in flight, shared by the middleware.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight(Arc::new(Semaphore::new(max.max(1))))
    }
}

fn busy(status: StatusCode, code: &'static str, message: &str) -> Response {
    let mut response = crate::api::ApiError::Other {
        status,
        code,
        message: message.to_owned(),
    }
    .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

/// Middleware: a request past `MAX_IN_FLIGHT` gets 503 at once; a handler
/// past `HANDLER_TIMEOUT` gets 504.
pub async fn bounded(State(in_flight): State<InFlight>, req: Request, next: Next) -> Response {
    let Ok(_permit) = in_flight.0.clone().try_acquire_owned() else {
        return busy(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many requests at once; retry later",
        );
    };
    match tokio::time::timeout(HANDLER_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => busy(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the request took too long to handle",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn requests_past_the_limit_get_503_at_once_and_connections_are_capped() {
        let release = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(AtomicUsize::new(0));
        let (r, e) = (release.clone(), entered.clone());
        let app = Router::new()
            .route(
                "/slow",
                get(move || {
                    let (r, e) = (r.clone(), e.clone());
                    async move {
                        e.fetch_add(1, Ordering::SeqCst);
                        r.notified().await;
                        "done"
                    }
                }),
            )
            .route("/fast", get(|| async { "fast" }))
            .layer(axum::middleware::from_fn_with_state(
                InFlight::new(1),
                bounded,
            ));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(BoundedListener::new(listener, 2), app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let slow = tokio::spawn({
            let client = client.clone();
            async move { client.get(format!("http://{addr}/slow")).send().await }
        });
        while entered.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let busy = client
            .get(format!("http://{addr}/fast"))
            .send()
            .await
            .expect("answered");
        assert_eq!(busy.status().as_u16(), 503);
        assert_eq!(
            busy.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        release.notify_one();
        let done = slow.await.expect("joined").expect("answered");
        assert_eq!(done.text().await.expect("body"), "done");
        let fast = client
            .get(format!("http://{addr}/fast"))
            .send()
            .await
            .expect("answered");
        assert_eq!(fast.status().as_u16(), 200);
    }
}
