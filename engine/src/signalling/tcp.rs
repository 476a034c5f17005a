//! SIP over TCP: one reader and one writer task per connection; whole framed
//! messages go to the signalling task, which owns the table of writers.

use dialtone_sip::frame_stream;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Largest message a connection may hold partially before it is closed.
const MAX_BUFFERED: usize = 128 * 1024;
/// A connection with no traffic for this long is closed.
const IDLE: Duration = Duration::from_secs(300);

pub type Writer = mpsc::UnboundedSender<Vec<u8>>;

#[derive(Debug)]
pub enum TcpEvent {
    Opened(SocketAddr, Writer),
    Message(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

pub fn spawn_listener(listener: TcpListener, events: mpsc::UnboundedSender<TcpEvent>) {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (tx, rx) = mpsc::unbounded_channel();
                    if events.send(TcpEvent::Opened(peer, tx)).is_err() {
                        return;
                    }
                    tokio::spawn(serve(stream, peer, rx, events.clone()));
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
    let (tx, rx) = mpsc::unbounded_channel();
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
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
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
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    'read: loop {
        let n = match tokio::time::timeout(IDLE, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match frame_stream(&buf) {
                Ok(Some(len)) => {
                    let len = len.min(buf.len());
                    // CRLF keep-alives go through too: the SIP core answers a ping with a pong.
                    let msg: Vec<u8> = buf.drain(..len).collect();
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
        if buf.len() > MAX_BUFFERED {
            tracing::warn!(%peer, "closing TCP connection: message too large");
            break;
        }
    }
    writer.abort();
    let _ = events.send(TcpEvent::Closed(peer));
}
