//! RTP, G.711, jitter buffer, the media graph and the 20 ms media workers.
//!
//! [`MediaEngine`] is the handle the rest of Dialtone uses. It owns a few
//! worker threads (`worker`), each running the media clock for the units
//! placed on it (call endpoints, players, recorders), and one recording writer
//! thread (`recorder`) that owns every recording file. Control calls are
//! synchronous where the caller needs an answer (`allocate` binds the port
//! before returning) and otherwise queue a command for the owning worker.
//!
//! The authoritative media graph lives here, behind one lock together with the
//! unit placement, so commands reach each worker in the order the graph
//! changed. Edges may name units that are not allocated yet; they take effect
//! when the unit appears. Units joined by an edge are expected on the same
//! worker (the engine gives all units of one session the same shard); an edge
//! across workers is kept but carries no audio, and a warning is logged.

pub mod clock;
pub mod codec;
pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod graph;
pub mod jitter;
pub mod latch;
pub mod link;
pub mod load;
pub mod mixer;
#[cfg(feature = "mp3")]
pub mod mp3;
pub mod player;
pub mod ports;
pub mod priority;
pub mod recorder;
mod recording_budget;
pub mod rtcp;
pub mod rtp;
pub mod sender;
mod seq;
mod stamp;
pub mod tones;
mod units;
pub mod wav;
pub mod webrtc;
mod worker;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use thiserror::Error;
use tokio::sync::mpsc::UnboundedSender;

pub use codec::Codec;
use endpoint::Endpoint;
use graph::MediaGraph;
pub use player::{Clip, PlayerMedia};
use ports::PortPool;
use recorder::WriterHandle;
pub use recorder::{RecordFormat, RecorderSpec};
pub use recording_budget::RecordingBudget;
pub use worker::MIX_BUCKETS_US;
use worker::{Command, Unit, Worker, WorkerStats};

/// A media unit in the graph. The engine maps a call's `CallId` to `UnitId(call.0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub u64);

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Worker threads; about one per core left after signalling and scripts.
    pub workers: usize,
    pub bind_ip: IpAddr,
    pub port_min: u16,
    pub port_max: u16,
    /// Silence after which `RtpStopped` is reported; zero disables it.
    pub rtp_timeout: Duration,
    /// How long an endpoint's latched RTP source must have been silent before
    /// another source (sending one steady stream) may take over; until then
    /// packets from other sources are dropped. Zero: a steady stream from
    /// another source takes over at once.
    pub relatch_after: Duration,
    /// The nice value the worker threads ask for ([`priority`]); `None`
    /// leaves them at the process's priority.
    pub thread_nice: Option<i32>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            workers: 1,
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port_min: 10_000,
            port_max: 20_000,
            rtp_timeout: Duration::from_secs(10),
            relatch_after: DEFAULT_RELATCH_AFTER,
            thread_nice: None,
        }
    }
}

/// The default of [`MediaConfig::relatch_after`].
pub const DEFAULT_RELATCH_AFTER: Duration = Duration::from_secs(2);

/// The negotiated remote side of one endpoint.
#[derive(Debug, Clone, Copy)]
pub struct RtpParams {
    /// Address from SDP; replaced by the address packets actually come from.
    pub remote: SocketAddr,
    pub codec: Codec,
    pub payload_type: u8,
    pub telephone_event_pt: Option<u8>,
    /// Whether we send to the peer: false while the negotiated direction is
    /// `recvonly` or `inactive` from our side (the peer put the call on hold).
    pub send: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    FirstAudioPacket(UnitId),
    /// No RTP for `rtp_timeout` (counted from `set_remote` or the last packet).
    RtpStopped(UnitId),
    RtpResumed(UnitId),
    /// A player's first frame went out; `duration` is one pass of its media
    /// (zero for a tone script without an end).
    PlayerStarted {
        unit: UnitId,
        duration: Duration,
    },
    /// A player reached the end of its media (never when looped).
    PlayerFinished(UnitId),
    PlayerMarker {
        unit: UnitId,
        offset_ms: i64,
    },
    /// A DTMF key press, once per press, while detection is on.
    Tone {
        unit: UnitId,
        tone: char,
    },
    /// The recording file is open.
    RecorderStarted(UnitId),
    /// A call's statistics, every interval while they are asked for
    /// ([`MediaEngine::set_statistics`]).
    Statistics {
        unit: UnitId,
        stats: rtcp::CallStats,
    },
    /// The recording was released and its file finished.
    RecorderStopped {
        unit: UnitId,
        duration: Duration,
    },
    /// Opening or writing failed; the recording stops, calls go on.
    RecorderError {
        unit: UnitId,
        error: String,
    },
    /// A WebRTC leg's connection failed for good (DTLS: a certificate that
    /// does not match the fingerprint, a broken handshake): no audio can
    /// flow on it any more.
    TransportFailed {
        unit: UnitId,
        reason: String,
    },
}

#[derive(Debug, Error)]
pub enum MediaError {
    #[error("no free RTP port in the configured range")]
    PortsExhausted,
    #[error("cannot bind RTP socket on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("media unit {0:?} is already allocated")]
    AlreadyAllocated(UnitId),
    #[error("invalid media configuration: {0}")]
    Config(String),
    #[error("media workers are not running")]
    WorkerGone,
    #[error("cannot start media worker: {0}")]
    Spawn(std::io::Error),
    #[error("media unit {0:?} is not allocated")]
    UnknownUnit(UnitId),
    #[error("media unit {0:?} has no telephone-event payload type")]
    NoTelephoneEvent(UnitId),
    #[error("WebRTC: {0}")]
    WebRtc(String),
    #[error("cannot send digits: {0}")]
    Digits(#[from] dtmf::DtmfError),
}

/// Totals since start, summed over workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Endpoints allocated and not yet released.
    pub endpoints: u64,
    /// Datagrams read from RTP sockets.
    pub packets_in: u64,
    pub packets_out: u64,
    /// Packets never received, by sequence number (live and released endpoints).
    pub packets_lost: u64,
    /// Datagrams discarded: malformed, unconfigured endpoint, foreign payload
    /// type, foreign source, duplicate, late.
    pub packets_dropped: u64,
    /// Of `packets_dropped`: valid RTP from a source other than the one the
    /// endpoint latched to (a spray, or a peer's old address after a move).
    pub packets_foreign: u64,
    pub telephone_event_packets: u64,
    pub send_errors: u64,
    /// Media ticks skipped because a worker fell behind.
    pub late_ticks: u64,
    /// Recording frames dropped because the writer thread fell behind.
    pub recorder_frames_dropped: u64,
    /// Worker ticks that mixed at least one conference, the time mixing
    /// took in them (ns), and those ticks by mixing time
    /// ([`MIX_BUCKETS_US`]; the last bucket counts the longer ones).
    pub mix_ticks: u64,
    pub mix_nanos: u64,
    pub mix_buckets: [u64; MIX_BUCKETS_US.len() + 1],
    /// Ticks by how late they started after their deadline, in the same
    /// buckets.
    pub lateness_buckets: [u64; MIX_BUCKETS_US.len() + 1],
}

#[derive(Clone, Copy)]
struct Placement {
    worker: usize,
    /// The RTP port of an endpoint; players and recorders have none.
    port: Option<u16>,
    /// Whether the endpoint's peer negotiated telephone-event.
    telephone_event: bool,
}

struct Control {
    graph: MediaGraph,
    placed: HashMap<UnitId, Placement>,
}

struct Shared {
    workers: Vec<Sender<Command>>,
    stats: Vec<Arc<WorkerStats>>,
    control: Mutex<Control>,
    ports: Mutex<PortPool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    writer: WriterHandle,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Recording ids: a unit id may be reused, a writer file id never is.
    next_recording: std::sync::atomic::AtomicU64,
    relatch_after: Duration,
    webrtc: webrtc::Registry,
}

#[derive(Clone)]
pub struct MediaEngine {
    shared: Arc<Shared>,
}

impl MediaEngine {
    /// Spawns the worker threads.
    pub fn start(
        cfg: MediaConfig,
        events: UnboundedSender<MediaEvent>,
    ) -> Result<MediaEngine, MediaError> {
        if cfg.workers == 0 {
            return Err(MediaError::Config(
                "at least one media worker is needed".into(),
            ));
        }
        let ports = PortPool::new(cfg.bind_ip, cfg.port_min, cfg.port_max)?;
        let (writer, writer_thread) =
            recorder::spawn_writer(events.clone()).map_err(MediaError::Spawn)?;
        let mut senders = Vec::with_capacity(cfg.workers);
        let mut stats = Vec::with_capacity(cfg.workers);
        let mut threads = Vec::with_capacity(cfg.workers);
        for index in 0..cfg.workers {
            let (tx, rx) = crossbeam_channel::unbounded();
            let st = Arc::new(WorkerStats::default());
            let worker = Worker::new(
                index,
                rx,
                events.clone(),
                st.clone(),
                cfg.rtp_timeout,
                writer.clone(),
            );
            let nice = cfg.thread_nice;
            let handle = std::thread::Builder::new()
                .name(format!("dialtone-media-{index}"))
                .spawn(move || {
                    if let Some(nice) = nice {
                        match priority::set_thread_nice(nice) {
                            Ok(()) => {
                                tracing::debug!(worker = index, nice, "media worker priority")
                            }
                            Err(e) if index == 0 => tracing::info!(
                                nice,
                                error = %e,
                                "media workers keep the process's priority"
                            ),
                            Err(_) => {}
                        }
                    }
                    worker.run()
                })
                .map_err(MediaError::Spawn)?;
            senders.push(tx);
            stats.push(st);
            threads.push(handle);
        }
        tracing::info!(
            workers = cfg.workers,
            ip = %cfg.bind_ip,
            ports = format!("{}-{}", cfg.port_min, cfg.port_max),
            relatch_after = ?cfg.relatch_after,
            "media engine started"
        );
        Ok(MediaEngine {
            shared: Arc::new(Shared {
                workers: senders,
                stats,
                control: Mutex::new(Control {
                    graph: MediaGraph::new(),
                    placed: HashMap::new(),
                }),
                ports: Mutex::new(ports),
                threads: Mutex::new(threads),
                writer,
                writer_thread: Mutex::new(Some(writer_thread)),
                next_recording: std::sync::atomic::AtomicU64::new(1),
                relatch_after: cfg.relatch_after,
                webrtc: webrtc::Registry::default(),
            }),
        })
    }

    /// Binds an RTP port for `unit` and places its endpoint on worker
    /// `shard % workers`. Returns the local RTP address for the SDP.
    pub fn allocate(&self, unit: UnitId, shard: usize) -> Result<SocketAddr, MediaError> {
        let worker = shard % self.shared.workers.len();
        if self.shared.control.lock().placed.contains_key(&unit) {
            return Err(MediaError::AlreadyAllocated(unit));
        }
        let (socket, local) = self.shared.ports.lock().allocate()?;
        let port = local.port();
        let endpoint = Unit::Endpoint(Box::new(Endpoint::new(
            unit,
            socket,
            local,
            self.shared.relatch_after,
        )));
        if let Err(e) = self.place(unit, worker, Some(port), endpoint) {
            self.shared.ports.lock().release(port);
            return Err(e);
        }
        tracing::debug!(unit = unit.0, %local, worker, "RTP endpoint allocated");
        Ok(local)
    }

    /// Records `unit` on `worker` and hands it over with its current input.
    fn place(
        &self,
        unit: UnitId,
        worker: usize,
        port: Option<u16>,
        new: Unit,
    ) -> Result<(), MediaError> {
        let mut control = self.shared.control.lock();
        if control.placed.contains_key(&unit) {
            return Err(MediaError::AlreadyAllocated(unit));
        }
        let input = control.graph.input_of(unit);
        let cmd = Command::Add { unit: new, input };
        let sender = self
            .shared
            .workers
            .get(worker)
            .ok_or(MediaError::WorkerGone)?;
        if sender.send(cmd).is_err() {
            return Err(MediaError::WorkerGone);
        }
        control.placed.insert(
            unit,
            Placement {
                worker,
                port,
                telephone_event: false,
            },
        );
        let neighbours = input
            .into_iter()
            .chain(control.graph.outputs_of(unit).iter().copied());
        for other in neighbours {
            warn_if_crossing(&control, unit, other);
        }
        Ok(())
    }

    /// Starts (or, on re-INVITE, changes) receiving and sending for `unit`.
    pub fn set_remote(&self, unit: UnitId, params: RtpParams) {
        let mut control = self.shared.control.lock();
        match control.placed.get_mut(&unit) {
            Some(p) => {
                p.telephone_event = params.telephone_event_pt.is_some();
                let worker = p.worker;
                self.send(worker, Command::SetRemote { unit, params });
            }
            None => tracing::warn!(unit = unit.0, "set_remote before allocate; ignored"),
        }
    }

    /// Closes the socket, frees the port and removes the unit from the graph.
    /// A player stops (no event); a recorder stops and its file is finished
    /// (`RecorderStopped`).
    pub fn release(&self, unit: UnitId) {
        let mut control = self.shared.control.lock();
        let orphans = control.graph.remove(unit);
        let placement = control.placed.remove(&unit);
        self.shared.webrtc.remove(unit);
        if let Some(p) = placement {
            self.send(p.worker, Command::Remove { unit });
        }
        // Units on the same worker learn of the removal from `Remove` itself.
        for to in orphans {
            if let Some(t) = control.placed.get(&to) {
                if placement.map(|p| p.worker) != Some(t.worker) {
                    self.send(t.worker, Command::SetInput { to, from: None });
                }
            }
        }
        drop(control);
        if let Some(port) = placement.and_then(|p| p.port) {
            self.shared.ports.lock().release(port);
            tracing::debug!(unit = unit.0, port, "RTP endpoint released");
        }
    }

    /// `to` hears `from` from now on, replacing whatever it heard before.
    pub fn connect(&self, from: UnitId, to: UnitId) {
        let mut control = self.shared.control.lock();
        control.graph.connect(from, to);
        if let Some(t) = control.placed.get(&to) {
            self.send(
                t.worker,
                Command::SetInput {
                    to,
                    from: Some(from),
                },
            );
        }
        warn_if_crossing(&control, from, to);
    }

    /// Removes `to`'s input if it is `from`.
    pub fn disconnect(&self, from: UnitId, to: UnitId) {
        let mut control = self.shared.control.lock();
        if control.graph.disconnect(from, to) {
            if let Some(t) = control.placed.get(&to) {
                self.send(t.worker, Command::SetInput { to, from: None });
            }
        }
    }

    pub fn stats(&self) -> MediaStats {
        let mut s = MediaStats {
            endpoints: self
                .shared
                .control
                .lock()
                .placed
                .values()
                .filter(|p| p.port.is_some())
                .count() as u64,
            recorder_frames_dropped: self.shared.writer.dropped.load(Ordering::Relaxed),
            ..MediaStats::default()
        };
        for w in &self.shared.stats {
            s.packets_in += w.packets_in.load(Ordering::Relaxed);
            s.packets_out += w.packets_out.load(Ordering::Relaxed);
            s.packets_lost += w.packets_lost.load(Ordering::Relaxed);
            s.packets_dropped += w.packets_dropped.load(Ordering::Relaxed);
            s.packets_foreign += w.packets_foreign.load(Ordering::Relaxed);
            s.telephone_event_packets += w.telephone_events.load(Ordering::Relaxed);
            s.send_errors += w.send_errors.load(Ordering::Relaxed);
            s.late_ticks += w.late_ticks.load(Ordering::Relaxed);
            s.mix_ticks += w.mix_ticks.load(Ordering::Relaxed);
            s.mix_nanos += w.mix_nanos.load(Ordering::Relaxed);
            for (sum, b) in s.mix_buckets.iter_mut().zip(&w.mix_buckets) {
                *sum += b.load(Ordering::Relaxed);
            }
            for (sum, b) in s.lateness_buckets.iter_mut().zip(&w.lateness_buckets) {
                *sum += b.load(Ordering::Relaxed);
            }
        }
        s
    }

    /// The busiest worker's load over its last window, ‰ of its clock spent
    /// behind (see [`load`]). New sessions land on every worker in turn, so
    /// the busiest one says whether another call fits.
    pub fn load_permille(&self) -> u64 {
        self.shared
            .stats
            .iter()
            .map(|w| w.load_permille.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Stops every worker (closing all sockets) and waits for them.
    pub fn shutdown(&self) {
        for w in &self.shared.workers {
            let _ = w.send(Command::Shutdown);
        }
        let threads: Vec<_> = std::mem::take(&mut *self.shared.threads.lock());
        for t in threads {
            if t.join().is_err() {
                tracing::error!("a media worker panicked");
            }
        }
        // Workers closed their recordings on the way out; the writer finishes
        // those files before it stops.
        self.shared.writer.control(recorder::ControlMsg::Shutdown);
        if let Some(t) = self.shared.writer_thread.lock().take() {
            if t.join().is_err() {
                tracing::error!("the recording writer panicked");
            }
        }
    }

    fn send(&self, worker: usize, cmd: Command) {
        if let Some(w) = self.shared.workers.get(worker) {
            if w.send(cmd).is_err() {
                tracing::debug!(worker, "media command after shutdown dropped");
            }
        }
    }
}

fn warn_if_crossing(control: &Control, a: UnitId, b: UnitId) {
    if let (Some(pa), Some(pb)) = (control.placed.get(&a), control.placed.get(&b)) {
        if pa.worker != pb.worker {
            tracing::warn!(
                from = a.0,
                to = b.0,
                "media edge between units on different workers carries no audio"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn handle_is_send_sync_and_config_is_checked() {
        send_sync::<MediaEngine>();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let no_workers = MediaConfig {
            workers: 0,
            ..MediaConfig::default()
        };
        assert!(matches!(
            MediaEngine::start(no_workers, tx.clone()),
            Err(MediaError::Config(_))
        ));
        let no_ports = MediaConfig {
            port_min: 20_000,
            port_max: 20_000,
            ..MediaConfig::default()
        };
        assert!(matches!(
            MediaEngine::start(no_ports, tx),
            Err(MediaError::Config(_))
        ));
    }
}
