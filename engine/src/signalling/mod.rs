//! The signalling task: one tokio task that owns the SIP user-agent core and
//! the call layer, fed by the UDP socket, the TCP connections, session
//! commands, media events and its own timer. Everything SIP happens here, in
//! order, without locks. Each turn's working time is measured for overload
//! control (crate::overload).

mod framing;
pub mod tcp;
pub mod ws;

use crate::call::control::Control;
use crate::call::CallDriver;
use crate::overload::meter::BusyMeter;
use crate::overload::LoadWatch;
use dialtone_calls::JobResult;
use dialtone_core::messages::SessionCommand;
use dialtone_core::SessionId;
use dialtone_media::MediaEvent;
use dialtone_sip::{Peer, Transport, UaCore, UaOutput};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tcp::TcpEvent;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// Datagrams read in one go before outputs are processed.
const UDP_BATCH: usize = 64;

pub struct Inputs {
    pub commands: mpsc::UnboundedReceiver<(SessionId, SessionCommand)>,
    pub media: mpsc::UnboundedReceiver<MediaEvent>,
    pub jobs: mpsc::UnboundedReceiver<JobResult>,
    pub control: mpsc::UnboundedReceiver<Control>,
    pub shutdown: watch::Receiver<bool>,
}

/// What woke the loop.
enum Input {
    Udp(Result<(usize, SocketAddr), String>),
    Tcp(TcpEvent),
    Command(SessionId, SessionCommand),
    Media(MediaEvent),
    Job(JobResult),
    Control(Control),
    Timer,
    /// Whether the shutdown signal was sent (rather than its sender dropped).
    Shutdown(bool),
}

fn ws_peer(addr: SocketAddr) -> Peer {
    Peer {
        transport: Transport::Ws,
        addr,
    }
}

fn udp_peer(addr: SocketAddr) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr,
    }
}

pub struct Signalling {
    ua: UaCore,
    calls: CallDriver,
    udp: Arc<UdpSocket>,
    tcp_events_tx: mpsc::UnboundedSender<TcpEvent>,
    tcp_writers: HashMap<SocketAddr, tcp::Writer>,
    /// SIP WebSocket connections, by the peer's address.
    ws_writers: HashMap<SocketAddr, tcp::Writer>,
    load: Arc<LoadWatch>,
}

impl Signalling {
    pub fn new(
        ua: UaCore,
        calls: CallDriver,
        udp: Arc<UdpSocket>,
        tcp_events_tx: mpsc::UnboundedSender<TcpEvent>,
        load: Arc<LoadWatch>,
    ) -> Self {
        Signalling {
            ua,
            calls,
            udp,
            tcp_events_tx,
            tcp_writers: HashMap::new(),
            ws_writers: HashMap::new(),
            load,
        }
    }

    pub async fn run(
        mut self,
        mut inputs: Inputs,
        mut tcp_events: mpsc::UnboundedReceiver<TcpEvent>,
    ) {
        let mut buf = vec![0u8; 65536];
        let mut shutting_down = false;
        let mut busy = BusyMeter::new(Instant::now());
        loop {
            let deadline = match (self.ua.poll_timeout(), self.calls.core.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            // Not biased: every ready input gets its turn, so a flood of
            // datagrams cannot starve the commands, media events and timers
            // of calls already up (and overdue timers run below anyway).
            let input = tokio::select! {
                r = self.udp.recv_from(&mut buf) => Input::Udp(r.map_err(|e| e.to_string())),
                Some(ev) = tcp_events.recv() => Input::Tcp(ev),
                Some((session, cmd)) = inputs.commands.recv() => Input::Command(session, cmd),
                Some(ev) = inputs.media.recv() => Input::Media(ev),
                Some(r) = inputs.jobs.recv() => Input::Job(r),
                Some(c) = inputs.control.recv() => Input::Control(c),
                _ = sleep => Input::Timer,
                r = inputs.shutdown.changed(), if !shutting_down => Input::Shutdown(r.is_ok()),
            };
            let start = Instant::now();
            match input {
                Input::Udp(r) => {
                    match r {
                        Ok((n, from)) => self.ua.handle_input(
                            start,
                            udp_peer(from),
                            buf.get(..n).unwrap_or_default(),
                        ),
                        Err(e) => tracing::debug!(error = %e, "UDP receive error"),
                    }
                    for _ in 1..UDP_BATCH {
                        match self.udp.try_recv_from(&mut buf) {
                            Ok((n, from)) => self.ua.handle_input(
                                start,
                                udp_peer(from),
                                buf.get(..n).unwrap_or_default(),
                            ),
                            Err(_) => break,
                        }
                    }
                }
                Input::Tcp(ev) => self.on_tcp(ev),
                Input::Command(session, cmd) => {
                    self.calls.core.handle_command(start, session, cmd);
                    while let Ok((session, cmd)) = inputs.commands.try_recv() {
                        self.calls.core.handle_command(start, session, cmd);
                    }
                }
                Input::Media(ev) => self.calls.core.handle_media_event(start, ev),
                Input::Job(r) => self.calls.core.handle_job_result(start, r),
                Input::Control(c) => self.calls.on_control(c),
                Input::Timer => {
                    self.ua.handle_timeout(start);
                    self.calls.core.handle_timeout(start);
                }
                Input::Shutdown(changed) => {
                    shutting_down = true;
                    if changed {
                        self.calls.core.terminate_all("engine shutdown");
                        self.calls.core.unregister_trunks();
                    }
                }
            }
            // Timers that came due while another input was served run now,
            // whatever wakes the loop next.
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                self.ua.handle_timeout(now);
                self.calls.core.handle_timeout(now);
            }
            self.drain_outputs();
            if let Some(share) = busy.record(start, Instant::now()) {
                self.load.publish_signalling(share);
            }
        }
    }

    fn on_tcp(&mut self, ev: TcpEvent) {
        match ev {
            TcpEvent::Opened(peer, w) => {
                self.tcp_writers.insert(peer, w);
            }
            TcpEvent::Message(peer, data) => self.ua.handle_input(
                Instant::now(),
                Peer {
                    transport: Transport::Tcp,
                    addr: peer,
                },
                &data,
            ),
            TcpEvent::Closed(peer) => {
                self.tcp_writers.remove(&peer);
                self.ua.handle_transport_error(
                    Instant::now(),
                    Peer {
                        transport: Transport::Tcp,
                        addr: peer,
                    },
                );
            }
            TcpEvent::WsOpened(peer, w) => {
                self.ws_writers.insert(peer, w);
            }
            TcpEvent::WsMessage(peer, data) => {
                self.ua.handle_input(Instant::now(), ws_peer(peer), &data)
            }
            TcpEvent::WsClosed(peer) => {
                self.ws_writers.remove(&peer);
                let now = Instant::now();
                self.ua.handle_transport_error(now, ws_peer(peer));
                // A browser's registrations live as long as its connection.
                self.calls.core.connection_closed(now, ws_peer(peer));
            }
        }
    }

    /// Runs the user-agent core and the call core against each other until
    /// neither has anything left to do.
    fn drain_outputs(&mut self) {
        let now = Instant::now();
        loop {
            let mut any = false;
            while let Some(out) = self.ua.poll_output() {
                any = true;
                match out {
                    UaOutput::Transmit { to, data } => self.transmit(to, data),
                    UaOutput::Event(ev) => self.calls.core.handle_ua_event(now, ev),
                }
            }
            any |= self.calls.drain(&mut self.ua, now);
            if !any {
                break;
            }
        }
    }

    fn transmit(&mut self, to: Peer, data: Vec<u8>) {
        match to.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.try_send_to(&data, to.addr) {
                    tracing::debug!(peer = %to.addr, error = %e, "UDP send failed");
                }
            }
            Transport::Tcp => {
                let writer = self
                    .tcp_writers
                    .entry(to.addr)
                    .or_insert_with(|| tcp::connect(to.addr, self.tcp_events_tx.clone()));
                match writer.try_send(data) {
                    Ok(()) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                        // A peer that does not read: drop its connection
                        // rather than queue without bound.
                        tracing::warn!(peer = %to.addr, "closing TCP connection: peer not reading");
                        self.tcp_writers.remove(&to.addr);
                    }
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                        self.tcp_writers.remove(&to.addr);
                    }
                }
            }
            // Only down the peer's own connection: nothing to dial.
            Transport::Ws => match self.ws_writers.get(&to.addr).map(|w| w.try_send(data)) {
                Some(Ok(())) => {}
                Some(Err(tokio::sync::mpsc::error::TrySendError::Full(_))) => {
                    tracing::warn!(peer = %to.addr, "closing SIP WebSocket: peer not reading");
                    self.ws_writers.remove(&to.addr);
                }
                Some(Err(_)) => {
                    self.ws_writers.remove(&to.addr);
                }
                None => tracing::debug!(peer = %to.addr, "no SIP WebSocket to this peer"),
            },
        }
    }
}
