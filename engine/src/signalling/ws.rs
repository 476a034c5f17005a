//! SIP over WebSocket (RFC 7118) on the HTTP listener: `GET /sip` upgraded
//! with the `sip` subprotocol. Each text or binary frame is one whole SIP
//! message. A connection's messages reach the signalling task as events of
//! a WebSocket peer (its address as seen by the HTTP listener), and what
//! the task sends that peer goes down the same socket: a browser that
//! registered is called through its own connection, and its bindings end
//! with it.
//!
//! Bounded as SIP over TCP is: connections in all and per address, the
//! message size, the queue towards a peer that does not read, idle time.

use super::tcp::{TcpEvent, Writer, MAX_CONNECTIONS, MAX_PER_ADDRESS, WRITE_QUEUE};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest SIP message taken in one frame.
const MAX_MESSAGE: usize = 64 * 1024;
/// A connection with no traffic for this long is closed (browsers keep
/// theirs open with REGISTER refreshes or pings).
const IDLE: Duration = Duration::from_secs(300);

/// The peer's address, as the HTTP listener accepted it.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, crate::http_limits::BoundedListener>,
    > for PeerAddr
{
    fn connect_info(
        stream: axum::serve::IncomingStream<'_, crate::http_limits::BoundedListener>,
    ) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, crate::http_tls::TlsListener>,
    > for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::http_tls::TlsListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

#[derive(Clone)]
struct WsState {
    events: mpsc::UnboundedSender<TcpEvent>,
    open: Arc<Mutex<(usize, HashMap<IpAddr, usize>)>>,
}

/// `GET /sip`, for the HTTP listener; events go to the signalling task.
pub fn routes(events: mpsc::UnboundedSender<TcpEvent>) -> Router {
    Router::new()
        .route("/sip", get(upgrade))
        .with_state(WsState {
            events,
            open: Arc::default(),
        })
}

async fn upgrade(
    State(state): State<WsState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(seat) = Seat::take(&state, peer.ip()) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many SIP connections").into_response();
    };
    ws.protocols(["sip"])
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| connection(state, socket, peer, seat))
        .into_response()
}

/// One counted connection; the count goes down when it is dropped.
struct Seat {
    open: Arc<Mutex<(usize, HashMap<IpAddr, usize>)>>,
    ip: IpAddr,
}

impl Seat {
    fn take(state: &WsState, ip: IpAddr) -> Option<Seat> {
        let mut open = state.open.lock();
        let (total, by_ip) = &mut *open;
        let mine = by_ip.entry(ip).or_insert(0);
        if *total >= MAX_CONNECTIONS || *mine >= MAX_PER_ADDRESS {
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Seat {
            open: state.open.clone(),
            ip,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        let (total, by_ip) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

async fn connection(state: WsState, mut socket: WebSocket, peer: SocketAddr, _seat: Seat) {
    // RFC 7118 §4: only a client that offered the `sip` subprotocol.
    if socket.protocol().is_none_or(|p| p != "sip") {
        tracing::debug!(%peer, "WebSocket without the sip subprotocol closed");
        return;
    }
    let (tx, mut rx): (Writer, _) = mpsc::channel(WRITE_QUEUE);
    if state.events.send(TcpEvent::WsOpened(peer, tx)).is_err() {
        return;
    }
    tracing::debug!(%peer, "SIP WebSocket opened");
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                // The signalling task sends whole messages as text.
                Some(data) => {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                // The task dropped the writer (peer not reading): close.
                None => break,
            },
            frame = tokio::time::timeout(IDLE, socket.recv()) => match frame {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let _ = state.events.send(TcpEvent::WsMessage(peer, t.as_bytes().to_vec()));
                }
                Ok(Some(Ok(Message::Binary(b)))) => {
                    let _ = state.events.send(TcpEvent::WsMessage(peer, b.to_vec()));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => break,
                Err(_) => {
                    tracing::debug!(%peer, "SIP WebSocket idle: closed");
                    break;
                }
            },
        }
    }
    let _ = state.events.send(TcpEvent::WsClosed(peer));
    tracing::debug!(%peer, "SIP WebSocket closed");
}
