//! A media worker: one OS thread owning a set of endpoints and running the
//! 20 ms media clock for all of them.
//!
//! Each tick: drain every socket into its jitter buffer, take one frame per
//! endpoint, then for every endpoint with an input render that input's frame in
//! its own codec and send it. Commands are applied while waiting for the next
//! deadline of the [`MediaClock`], so a release closes its socket at once
//! rather than a tick later.
//!
//! Edges whose source endpoint lives on another worker are kept in the graph
//! but carry no audio: the engine places every unit of a session on the same
//! worker and logs a warning when an edge crosses workers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::mpsc::UnboundedSender;

use crate::clock::MediaClock;
use crate::codec::{EncodedFrame, PcmFrame, FRAME_SAMPLES};
use crate::endpoint::{Counters, Endpoint, PACKET_LEN};
use crate::graph::MediaGraph;
use crate::rtp::RTP_HEADER_LEN;
use crate::{MediaEvent, RtpParams, UnitId};

/// Large enough for any UDP datagram a sane peer sends; longer ones are
/// truncated by the kernel and then fail validation or carry a clipped payload.
const RECV_BUF: usize = 2048;

pub enum Command {
    Add {
        endpoint: Box<Endpoint>,
        input: Option<UnitId>,
    },
    SetRemote {
        unit: UnitId,
        params: RtpParams,
    },
    Remove {
        unit: UnitId,
    },
    /// `to` hears `from` (`None`: nothing).
    SetInput {
        to: UnitId,
        from: Option<UnitId>,
    },
    Shutdown,
}

/// Totals a worker publishes for `MediaEngine::stats`.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct WorkerStats {
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub packets_lost: AtomicU64,
    pub packets_dropped: AtomicU64,
    pub telephone_events: AtomicU64,
    pub send_errors: AtomicU64,
    pub late_ticks: AtomicU64,
}

struct Slot {
    ep: Box<Endpoint>,
    /// Slot index of the endpoint this one hears.
    input: Option<usize>,
}

pub struct Worker {
    index: usize,
    commands: Receiver<Command>,
    events: UnboundedSender<MediaEvent>,
    stats: Arc<WorkerStats>,
    rtp_timeout: Duration,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    by_unit: HashMap<UnitId, usize>,
    /// Edges into this worker's endpoints (and those awaiting allocation).
    graph: MediaGraph,
    clock: MediaClock,
    counters: Counters,
    retired_lost: u64,
    late_ticks: u64,
    pending_events: Vec<MediaEvent>,
    recv_buf: Box<[u8; RECV_BUF]>,
    packet: [u8; PACKET_LEN],
    pcm: PcmFrame,
}

impl Worker {
    pub fn new(
        index: usize,
        commands: Receiver<Command>,
        events: UnboundedSender<MediaEvent>,
        stats: Arc<WorkerStats>,
        rtp_timeout: Duration,
    ) -> Worker {
        Worker {
            index,
            commands,
            events,
            stats,
            rtp_timeout,
            slots: Vec::new(),
            free: Vec::new(),
            by_unit: HashMap::new(),
            graph: MediaGraph::new(),
            clock: MediaClock::new(Instant::now()),
            counters: Counters::default(),
            retired_lost: 0,
            late_ticks: 0,
            pending_events: Vec::with_capacity(64),
            recv_buf: Box::new([0; RECV_BUF]),
            packet: [0; PACKET_LEN],
            pcm: [0; FRAME_SAMPLES],
        }
    }

    /// Runs the media clock until shutdown or until the engine is dropped.
    pub fn run(mut self) {
        tracing::debug!(worker = self.index, "media worker started");
        self.clock = MediaClock::new(Instant::now());
        'clock: loop {
            loop {
                match self.commands.recv_deadline(self.clock.deadline()) {
                    Ok(Command::Shutdown) => break 'clock,
                    Ok(cmd) => self.apply(cmd, Instant::now()),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break 'clock,
                }
            }
            self.run_tick(Instant::now());
            let skipped = self.clock.advance(Instant::now());
            if skipped > 0 {
                self.late_ticks += skipped;
                tracing::warn!(worker = self.index, skipped, "media worker fell behind");
            }
        }
        tracing::debug!(worker = self.index, "media worker stopped");
    }

    pub fn apply(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::Add { endpoint, input } => self.add(endpoint, input),
            Command::SetRemote { unit, params } => match self.by_unit.get(&unit) {
                Some(&i) => {
                    if let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) {
                        slot.ep.configure(params, now);
                    }
                }
                None => tracing::warn!(unit = unit.0, "set_remote for an unknown media unit"),
            },
            Command::Remove { unit } => self.remove(unit),
            Command::SetInput { to, from } => self.set_input(to, from),
            Command::Shutdown => {}
        }
    }

    fn add(&mut self, endpoint: Box<Endpoint>, input: Option<UnitId>) {
        let unit = endpoint.unit();
        if self.by_unit.contains_key(&unit) {
            tracing::warn!(unit = unit.0, "media unit added twice; keeping the first");
            return;
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.by_unit.insert(unit, idx);
        if let Some(from) = input {
            self.graph.connect(from, unit);
        }
        let input = input.and_then(|f| self.by_unit.get(&f).copied());
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Some(Slot {
                ep: endpoint,
                input,
            });
        }
        // Endpoints here that were told to hear this unit before it existed.
        for to in self.graph.outputs_of(unit) {
            if let Some(slot) = self
                .by_unit
                .get(to)
                .and_then(|&t| self.slots.get_mut(t))
                .and_then(Option::as_mut)
            {
                slot.input = Some(idx);
            }
        }
    }

    fn remove(&mut self, unit: UnitId) {
        for to in self.graph.remove(unit) {
            self.resolve_input(to, None);
        }
        let Some(idx) = self.by_unit.remove(&unit) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(idx).and_then(Option::take) {
            self.retired_lost += slot.ep.lost();
            // Dropping the endpoint closes its socket.
        }
        self.free.push(idx);
    }

    fn set_input(&mut self, to: UnitId, from: Option<UnitId>) {
        match from {
            Some(from) => {
                self.graph.connect(from, to);
            }
            None => {
                if let Some(old) = self.graph.input_of(to) {
                    self.graph.disconnect(old, to);
                }
            }
        }
        let src = from.and_then(|f| self.by_unit.get(&f).copied());
        self.resolve_input(to, src);
    }

    fn resolve_input(&mut self, to: UnitId, src: Option<usize>) {
        if let Some(slot) = self
            .by_unit
            .get(&to)
            .and_then(|&t| self.slots.get_mut(t))
            .and_then(Option::as_mut)
        {
            slot.input = src;
        }
    }

    /// One media tick at `now`.
    pub fn run_tick(&mut self, now: Instant) {
        let mut lost = self.retired_lost;
        for slot in self.slots.iter_mut().flatten() {
            slot.ep.receive(
                &mut self.recv_buf[..],
                now,
                &mut self.counters,
                &mut self.pending_events,
            );
            slot.ep
                .on_tick(now, self.rtp_timeout, &mut self.pending_events);
            lost += slot.ep.lost();
        }
        for i in 0..self.slots.len() {
            let (src, dst) = match self.slots.get(i).and_then(Option::as_ref) {
                Some(Slot {
                    input: Some(src),
                    ep,
                }) => match ep.codec() {
                    Some(codec) => (*src, codec),
                    None => continue,
                },
                _ => continue,
            };
            let Some(source) = self.slots.get(src).and_then(Option::as_ref) else {
                continue;
            };
            let Some(payload) = payload_of(&mut self.packet) else {
                continue;
            };
            if !source.ep.render(dst, payload, &mut self.pcm) {
                continue;
            }
            if let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) {
                slot.ep
                    .send(self.clock.tick(), &mut self.packet, &mut self.counters);
            }
        }
        self.publish(lost);
    }

    fn publish(&mut self, lost: u64) {
        for ev in self.pending_events.drain(..) {
            // The receiver going away means the engine is shutting down.
            let _ = self.events.send(ev);
        }
        let c = &self.counters;
        let s = &self.stats;
        s.packets_in.store(c.packets_in, Ordering::Relaxed);
        s.packets_out.store(c.packets_out, Ordering::Relaxed);
        s.packets_dropped.store(c.dropped, Ordering::Relaxed);
        s.telephone_events
            .store(c.telephone_events, Ordering::Relaxed);
        s.send_errors.store(c.send_errors, Ordering::Relaxed);
        s.packets_lost.store(lost, Ordering::Relaxed);
        s.late_ticks.store(self.late_ticks, Ordering::Relaxed);
    }
}

/// The payload part of the outgoing packet buffer, as a frame.
fn payload_of(packet: &mut [u8; PACKET_LEN]) -> Option<&mut EncodedFrame> {
    packet
        .get_mut(RTP_HEADER_LEN..)
        .and_then(|s| <&mut EncodedFrame>::try_from(s).ok())
}
