//! SIP over TCP: one reader and one writer task per connection; whole framed
//! messages go to the signalling task, which owns the table of writers.
//!
//! Bounded everywhere: connections in all and per source address, what a
//! connection may hold partially, what may wait to be written to a peer that
//! does not read (past it the connection is closed), and framing in linear
//! time (`framing`).

use super::framing::StreamFramer;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Largest message a connection may hold partially before it is closed.
const MAX_BUFFERED: usize = 128 * 1024;
/// A connection with no traffic for this long is closed.
const IDLE: Duration = Duration::from_secs(300);
/// Inbound connections at most, in all and from one address.
pub const MAX_CONNECTIONS: usize = 4096;
pub const MAX_PER_ADDRESS: usize = 64;
/// Messages that may wait for a slow peer before its connection is closed.
pub const WRITE_QUEUE: usize = 256;

pub type Writer = mpsc::Sender<Vec<u8>>;

/// Inbound connections open now, by source address.
#[derive(Clone, Default)]
struct Census {
    open: Arc<Mutex<(usize, HashMap<IpAddr, usize>)>>,
}

impl Census {
    /// Counts a new connection from `ip`, unless a limit is reached.
    fn admit(&self, ip: IpAddr) -> Option<Seat> {
        let mut open = self.open.lock();
        let (total, by_ip) = &mut *open;
        let mine = by_ip.entry(ip).or_insert(0);
        if *total >= MAX_CONNECTIONS || *mine >= MAX_PER_ADDRESS {
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Seat {
            census: self.clone(),
            ip,
        })
    }
}

/// One counted connection; the count goes down when it is dropped.
struct Seat {
    census: Census,
    ip: IpAddr,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.census.open.lock();
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

#[derive(Debug)]
pub enum TcpEvent {
    Opened(SocketAddr, Writer),
    Message(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
    /// The same for a SIP WebSocket (`ws`): one message per frame.
    WsOpened(SocketAddr, Writer),
    WsMessage(SocketAddr, Vec<u8>),
    WsClosed(SocketAddr),
}

pub fn spawn_listener(listener: TcpListener, events: mpsc::UnboundedSender<TcpEvent>) {
    let census = Census::default();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let Some(seat) = census.admit(peer.ip()) else {
                        // Dropping the stream closes it: too many already.
                        tracing::debug!(%peer, "TCP connection refused: connection limit");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
                    if events.send(TcpEvent::Opened(peer, tx)).is_err() {
                        return;
                    }
                    let events = events.clone();
                    tokio::spawn(async move {
                        serve(stream, peer, rx, events).await;
                        drop(seat);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
}

/// Opens a connection to `peer` for a request we send; messages queued on the
/// returned writer go out once it is up.
pub fn connect(peer: SocketAddr, events: mpsc::UnboundedSender<TcpEvent>) -> Writer {
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    tokio::spawn(async move {
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(peer)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                serve(stream, peer, rx, events).await;
            }
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "TCP connect failed");
                let _ = events.send(TcpEvent::Closed(peer));
            }
            Err(_) => {
                tracing::info!(%peer, "TCP connect timed out");
                let _ = events.send(TcpEvent::Closed(peer));
            }
        }
    });
    tx
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        while let Some(data) = outgoing.recv().await {
            if wr.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::default();
    let mut chunk = [0u8; 8192];
    'read: loop {
        let n = match tokio::time::timeout(IDLE, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        framer.push(&chunk[..n]);
        loop {
            match framer.next_message() {
                // CRLF keep-alives go through too: the SIP core answers a ping with a pong.
                Ok(Some(msg)) => {
                    if events.send(TcpEvent::Message(peer, msg)).is_err() {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing TCP connection: unframeable SIP");
                    break 'read;
                }
            }
        }
        if framer.buffered() > MAX_BUFFERED {
            tracing::warn!(%peer, "closing TCP connection: message too large");
            break;
        }
    }
    writer.abort();
    let _ = events.send(TcpEvent::Closed(peer));
}
