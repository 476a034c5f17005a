//! A media worker: one OS thread owning a set of media units (call endpoints,
//! players, recorders) and running the 20 ms media clock for all of them.
//!
//! Each tick: drain every socket into its jitter buffer and take one frame per
//! endpoint, advance every player by one frame; then every endpoint sends its
//! DTMF event packet or, with an input, that input's frame in its own codec;
//! last, every recorder hands its frame to the writer thread. Commands are
//! applied while waiting for the next deadline of the [`MediaClock`], so a
//! release closes its socket at once rather than a tick later, and a player
//! added now plays its first frame on the next tick.
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
use crate::endpoint::{Counters, Endpoint, EVENT_PACKET_LEN, PACKET_LEN};
use crate::graph::MediaGraph;
use crate::link::LinkEnd;
use crate::load::LoadMeter;
use crate::mixer::{MemberSpec, Mixer};
use crate::player::Player;
use crate::recorder::{ControlMsg, RecorderUnit, WriterHandle};
use crate::rtp::RTP_HEADER_LEN;
use crate::{MediaEvent, RtpParams, UnitId};

/// Large enough for any UDP datagram a sane peer sends; longer ones are
/// truncated by the kernel and then fail validation or carry a clipped payload.
const RECV_BUF: usize = 2048;

/// How long commands may hold back a tick that is due (of the 40 ms a
/// worker may fall behind before it skips ticks).
const COMMAND_SHARE: Duration = Duration::from_millis(1);

/// A unit of the media graph. Endpoints are sources (what their peer says)
/// and sinks (sent to their peer); players are sources only, recorders sinks
/// only; a mixer is a source whose inputs are its members; a link end is a
/// sink and a source, for the other half of a call between sessions.
pub enum Unit {
    Endpoint(Box<Endpoint>),
    Player(Box<Player>),
    Recorder(Box<RecorderUnit>),
    Mixer(Box<Mixer>),
    Link(Box<LinkEnd>),
}

impl Unit {
    fn id(&self) -> UnitId {
        match self {
            Unit::Endpoint(e) => e.unit(),
            Unit::Player(p) => p.unit(),
            Unit::Recorder(r) => r.unit,
            Unit::Mixer(m) => m.unit(),
            Unit::Link(l) => l.unit(),
        }
    }
}

pub enum Command {
    Add {
        unit: Unit,
        input: Option<UnitId>,
    },
    SetRemote {
        unit: UnitId,
        params: RtpParams,
    },
    /// The endpoint is a WebRTC leg: its datagrams go through `conn`.
    AttachWebRtc {
        unit: UnitId,
        conn: crate::webrtc::SharedConn,
    },
    /// The endpoint speaks plain RTP again.
    DetachWebRtc {
        unit: UnitId,
    },
    Remove {
        unit: UnitId,
    },
    /// `to` hears `from` (`None`: nothing).
    SetInput {
        to: UnitId,
        from: Option<UnitId>,
    },
    PausePlayer {
        unit: UnitId,
        paused: bool,
    },
    AddMarker {
        unit: UnitId,
        offset_ms: i64,
    },
    MuteRecorder {
        unit: UnitId,
        muted: bool,
    },
    ToneDetection {
        unit: UnitId,
        enabled: bool,
    },
    MuteEndpoint {
        unit: UnitId,
        muted: bool,
    },
    SendDigits {
        unit: UnitId,
        digits: String,
    },
    /// Statistics every `interval` (`None`: none).
    Statistics {
        unit: UnitId,
        interval: Option<Duration>,
    },
    /// Adds a member to a mixer or changes what it does.
    SetMember {
        mixer: UnitId,
        spec: MemberSpec,
    },
    RemoveMember {
        mixer: UnitId,
        unit: UnitId,
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
    pub packets_foreign: AtomicU64,
    pub telephone_events: AtomicU64,
    pub send_errors: AtomicU64,
    pub late_ticks: AtomicU64,
    /// The last window's load, ‰ of the clock spent behind it (`load`).
    pub load_permille: AtomicU64,
    /// Ticks in which at least one mixer ran, and the time mixing took in
    /// them (summing members' frames and rendering what each hears), in ns.
    pub mix_ticks: AtomicU64,
    pub mix_nanos: AtomicU64,
    /// Mixing time per tick by bucket: ≤ `MIX_BUCKETS_US[i]` µs (the last
    /// counts everything longer).
    pub mix_buckets: [AtomicU64; MIX_BUCKETS_US.len() + 1],
    /// Ticks (of a worker with units) by how late they started after their
    /// 20 ms deadline: ≤ `MIX_BUCKETS_US[i]` µs, the last counts the later
    /// ones. Every packet of a tick goes out that much late.
    pub lateness_buckets: [AtomicU64; MIX_BUCKETS_US.len() + 1],
}

/// Upper bounds of the mixing-time buckets, in µs.
pub const MIX_BUCKETS_US: [u64; 8] = [50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];

struct Slot {
    unit: Unit,
    /// Slot index of the unit this one hears.
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
    /// Slots holding mixers, mixed each tick before anything is sent.
    mixers: Vec<usize>,
    /// Scratch frame for mixers.
    mix_pcm: PcmFrame,
    /// Edges into this worker's endpoints (and those awaiting allocation).
    graph: MediaGraph,
    clock: MediaClock,
    counters: Counters,
    retired_lost: u64,
    late_ticks: u64,
    load: LoadMeter,
    pending_events: Vec<MediaEvent>,
    recv_buf: Box<[u8; RECV_BUF]>,
    packet: [u8; PACKET_LEN],
    event_packet: [u8; EVENT_PACKET_LEN],
    pcm: PcmFrame,
    /// A source's Opus packets on their way to a browser hearing it.
    opus_scratch: Vec<crate::webrtc::OpusPacket>,
    /// A 16 kHz frame on its way into or out of a wideband mix.
    wide_pcm: crate::codec::WidePcm,
    writer: WriterHandle,
    /// This tick's mixing time so far.
    mix_time: Duration,
    mix_ticks: u64,
    mix_nanos: u64,
    mix_buckets: [u64; MIX_BUCKETS_US.len() + 1],
    lateness_buckets: [u64; MIX_BUCKETS_US.len() + 1],
}

impl Worker {
    pub fn new(
        index: usize,
        commands: Receiver<Command>,
        events: UnboundedSender<MediaEvent>,
        stats: Arc<WorkerStats>,
        rtp_timeout: Duration,
        writer: WriterHandle,
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
            mixers: Vec::new(),
            mix_pcm: [0; FRAME_SAMPLES],
            graph: MediaGraph::new(),
            clock: MediaClock::new(Instant::now()),
            counters: Counters::default(),
            retired_lost: 0,
            late_ticks: 0,
            load: LoadMeter::new(),
            pending_events: Vec::with_capacity(64),
            recv_buf: Box::new([0; RECV_BUF]),
            packet: [0; PACKET_LEN],
            event_packet: [0; EVENT_PACKET_LEN],
            pcm: [0; FRAME_SAMPLES],
            opus_scratch: Vec::new(),
            wide_pcm: [0; crate::codec::WIDE_SAMPLES],
            writer,
            mix_time: Duration::ZERO,
            mix_ticks: 0,
            mix_nanos: 0,
            mix_buckets: [0; MIX_BUCKETS_US.len() + 1],
            lateness_buckets: [0; MIX_BUCKETS_US.len() + 1],
        }
    }

    /// Runs the media clock until shutdown or until the engine is dropped.
    ///
    /// Between ticks the worker applies the commands it was sent; once a
    /// tick is due it goes on with them for [`COMMAND_SHARE`] at most.
    pub fn run(mut self) {
        tracing::debug!(worker = self.index, "media worker started");
        self.clock = MediaClock::new(Instant::now());
        'clock: loop {
            // Time spent on commands since the last tick.
            let mut spent = Duration::ZERO;
            loop {
                match self.commands.recv_deadline(self.clock.deadline()) {
                    Ok(Command::Shutdown) => break 'clock,
                    Ok(cmd) => {
                        let started = Instant::now();
                        self.apply(cmd, started);
                        let done = Instant::now();
                        let took = done.saturating_duration_since(started);
                        self.load.add_busy(took);
                        spent += took;
                        // A burst of commands (a surge of set-ups) may hold
                        // a due tick back by COMMAND_SHARE at most, then
                        // waits for it: the calls already up keep their
                        // 20 ms, and a worker that runs late still gets
                        // through its commands.
                        if done >= self.clock.deadline() && spent >= COMMAND_SHARE {
                            break;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break 'clock,
                }
            }
            let due = self.clock.deadline();
            let started = Instant::now();
            if !self.by_unit.is_empty() {
                self.count_lateness(started.saturating_duration_since(due));
            }
            self.run_tick(started);
            let done = Instant::now();
            let skipped = self.clock.advance(done);
            // With no units a late tick costs nobody anything: on a busy
            // machine an idle worker must not read as overloaded and turn
            // away the first call.
            let (done_for_load, skipped_for_load) = if self.by_unit.is_empty() {
                (due, 0)
            } else {
                (done, skipped)
            };
            if let Some(load) = self.load.record(due, done_for_load, skipped_for_load) {
                self.stats
                    .load_permille
                    .store(u64::from(load), Ordering::Relaxed);
            }
            if skipped > 0 {
                self.late_ticks += skipped;
                tracing::warn!(worker = self.index, skipped, "media worker fell behind");
            }
        }
        let units: Vec<UnitId> = self.by_unit.keys().copied().collect();
        for unit in units {
            self.remove(unit);
        }
        tracing::debug!(worker = self.index, "media worker stopped");
    }

    pub fn apply(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::Add { unit, input } => self.add(unit, input),
            Command::SetRemote { unit, params } => match self.unit_mut(unit) {
                Some(Unit::Endpoint(ep)) => ep.configure(params, now),
                // A call between sessions has no RTP peer.
                Some(Unit::Link(_)) => {}
                _ => tracing::warn!(unit = unit.0, "set_remote for an unknown media unit"),
            },
            Command::AttachWebRtc { unit, conn } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    ep.attach_webrtc(conn);
                }
            }
            Command::DetachWebRtc { unit } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    ep.detach_webrtc();
                }
            }
            Command::Remove { unit } => self.remove(unit),
            Command::SetInput { to, from } => self.set_input(to, from),
            Command::PausePlayer { unit, paused } => {
                if let Some(Unit::Player(p)) = self.unit_mut(unit) {
                    p.set_paused(paused);
                }
            }
            Command::AddMarker { unit, offset_ms } => {
                if let Some(Unit::Player(p)) = self.unit_mut(unit) {
                    p.add_marker(offset_ms);
                }
            }
            Command::MuteRecorder { unit, muted } => {
                if let Some(Unit::Recorder(r)) = self.unit_mut(unit) {
                    r.muted = muted;
                }
            }
            Command::ToneDetection { unit, enabled } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    ep.set_tone_detection(enabled);
                }
            }
            Command::MuteEndpoint { unit, muted } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    ep.set_muted(muted);
                }
            }
            Command::SendDigits { unit, digits } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    if let Err(e) = ep.send_digits(&digits) {
                        tracing::warn!(unit = unit.0, error = %e, "digits not sent");
                    }
                }
            }
            Command::Statistics { unit, interval } => {
                if let Some(Unit::Endpoint(ep)) = self.unit_mut(unit) {
                    ep.set_statistics(interval, now);
                }
            }
            Command::SetMember { mixer, spec } => match self.unit_mut(mixer) {
                Some(Unit::Mixer(m)) => m.set_member(spec),
                _ => tracing::debug!(mixer = mixer.0, "member for an unknown mixer"),
            },
            Command::RemoveMember { mixer, unit } => {
                if let Some(Unit::Mixer(m)) = self.unit_mut(mixer) {
                    m.remove_member(unit);
                }
            }
            Command::Shutdown => {}
        }
    }

    fn unit_mut(&mut self, unit: UnitId) -> Option<&mut Unit> {
        let idx = *self.by_unit.get(&unit)?;
        self.slots
            .get_mut(idx)
            .and_then(Option::as_mut)
            .map(|s| &mut s.unit)
    }

    /// Starts or stops `rec`'s tap on its call, if that call is here.
    fn set_tap(&mut self, rec: &RecorderUnit, on: bool) {
        if let Some(tap) = rec.tap {
            if let Some(Unit::Endpoint(ep)) = self.unit_mut(tap) {
                ep.tap(on);
            }
        }
    }

    fn add(&mut self, new: Unit, input: Option<UnitId>) {
        let unit = new.id();
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
        let mut new = new;
        match &mut new {
            Unit::Recorder(rec) => self.set_tap(rec, true),
            Unit::Endpoint(ep) => {
                // Recorders told to tap this call before it existed.
                let taps = self
                    .slots
                    .iter()
                    .flatten()
                    .filter(|s| matches!(&s.unit, Unit::Recorder(r) if r.tap == Some(unit)))
                    .count();
                for _ in 0..taps {
                    ep.tap(true);
                }
            }
            Unit::Player(_) | Unit::Link(_) => {}
            Unit::Mixer(_) => self.mixers.push(idx),
        }
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Some(Slot { unit: new, input });
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
        match self
            .slots
            .get_mut(idx)
            .and_then(Option::take)
            .map(|s| s.unit)
        {
            // Dropping the endpoint closes its socket.
            Some(Unit::Endpoint(ep)) => self.retired_lost += ep.lost(),
            Some(Unit::Recorder(rec)) => {
                self.set_tap(&rec, false);
                // Sent after the recorder's last frame: the writer finishes
                // the file once every earlier frame is written.
                self.writer.control(ControlMsg::Close { id: rec.id });
            }
            Some(Unit::Mixer(_)) => self.mixers.retain(|&m| m != idx),
            Some(Unit::Player(_)) | Some(Unit::Link(_)) | None => {}
        }
        // A unit that leaves speaks in no conference any more.
        for &m in &self.mixers {
            if let Some(Slot {
                unit: Unit::Mixer(mixer),
                ..
            }) = self.slots.get_mut(m).and_then(Option::as_mut)
            {
                mixer.remove_member(unit);
            }
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
        let tick = self.clock.tick();
        for slot in self.slots.iter_mut().flatten() {
            match &mut slot.unit {
                Unit::Endpoint(ep) => {
                    ep.receive(
                        &mut self.recv_buf[..],
                        now,
                        &mut self.counters,
                        &mut self.pending_events,
                    );
                    ep.on_tick(now, self.rtp_timeout, &mut self.pending_events);
                    ep.tick_statistics(tick, now, &mut self.pending_events);
                    lost += ep.lost();
                }
                Unit::Player(p) => p.tick(&mut self.pending_events),
                Unit::Link(l) => l.tick(),
                Unit::Recorder(_) | Unit::Mixer(_) => {}
            }
        }
        self.mix_all();
        self.send_all();
        self.count_mixing();
        self.record_all();
        self.publish(lost);
    }

    /// Every mixer takes this tick's frame of each of its speaking members
    /// (on this worker) and makes its full mix.
    fn mix_all(&mut self) {
        self.mix_time = Duration::ZERO;
        if self.mixers.is_empty() {
            return;
        }
        let started = Instant::now();
        for k in 0..self.mixers.len() {
            let Some(&idx) = self.mixers.get(k) else {
                continue;
            };
            // The mixer leaves its slot while it reads the others.
            let Some(mut slot) = self.slots.get_mut(idx).and_then(Option::take) else {
                continue;
            };
            if let Unit::Mixer(mixer) = &mut slot.unit {
                // A member that is a browser sending Opus hears a 16 kHz
                // mix; its connection keeps its audio at 16 kHz meanwhile.
                let mut wide = false;
                for n in 0..mixer.member_count() {
                    let unit = mixer
                        .member_at(n)
                        .and_then(|m| self.by_unit.get(&m).copied());
                    if let Some(Unit::Endpoint(ep)) = unit_at(&self.slots, unit) {
                        if ep.takes_opus() {
                            ep.want_wide();
                            wide = true;
                        }
                    }
                }
                mixer.begin_tick(wide);
                for n in 0..mixer.member_count() {
                    let Some(member) = mixer.sender_at(n) else {
                        continue;
                    };
                    let unit = unit_at(&self.slots, self.by_unit.get(&member).copied());
                    let Some(pcm) = source_pcm(unit, &mut self.mix_pcm) else {
                        continue;
                    };
                    mixer.contribute(member, pcm);
                    if wide {
                        // A browser's own 16 kHz audio, else the 8 kHz frame upsampled.
                        let own = match unit {
                            Some(Unit::Endpoint(ep)) => ep.wide_pcm(),
                            _ => None,
                        };
                        match own {
                            Some(w) => mixer.contribute_wide(member, w),
                            None => {
                                crate::codec::upsample(pcm, &mut self.wide_pcm);
                                mixer.contribute_wide(member, &self.wide_pcm);
                            }
                        }
                    }
                }
                mixer.finish_tick();
            }
            if let Some(place) = self.slots.get_mut(idx) {
                *place = Some(slot);
            }
        }
        self.mix_time = started.elapsed();
    }

    fn count_lateness(&mut self, late: Duration) {
        let bucket = bucket_of(late);
        if let Some(b) = self.lateness_buckets.get_mut(bucket) {
            *b += 1;
        }
    }

    /// Adds this tick's mixing time to the figures.
    fn count_mixing(&mut self) {
        if self.mixers.is_empty() {
            return;
        }
        let nanos = self.mix_time.as_nanos() as u64;
        self.mix_ticks += 1;
        self.mix_nanos += nanos;
        let bucket = bucket_of(self.mix_time);
        if let Some(b) = self.mix_buckets.get_mut(bucket) {
            *b += 1;
        }
    }

    /// Every endpoint sends its DTMF event packet or its input's frame;
    /// every link end passes its input's frame to its other half.
    fn send_all(&mut self) {
        let tick = self.clock.tick();
        for i in 0..self.slots.len() {
            if let Some(Slot {
                unit: Unit::Link(_),
                input: Some(src),
            }) = self.slots.get(i).and_then(Option::as_ref)
            {
                let src = *src;
                self.feed_link(i, src);
                continue;
            }
            let (src, dst, dst_unit) = match self.slots.get_mut(i).and_then(Option::as_mut) {
                Some(Slot {
                    unit: Unit::Endpoint(ep),
                    input,
                }) => {
                    if ep.send_dtmf(tick, &mut self.event_packet, &mut self.counters) {
                        continue;
                    }
                    match (*input, ep.codec()) {
                        (Some(src), Some(codec)) => (src, codec, ep.unit()),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            if self.pass_opus(i, src, tick) || self.pass_wide(i, src, tick) {
                continue;
            }
            let Some(payload) = payload_of(&mut self.packet) else {
                continue;
            };
            let rendered = match self.slots.get_mut(src).and_then(Option::as_mut) {
                Some(Slot {
                    unit: Unit::Endpoint(source),
                    ..
                }) => source.render(dst, payload, &mut self.pcm),
                Some(Slot {
                    unit: Unit::Player(player),
                    ..
                }) => player.render(dst, payload),
                Some(Slot {
                    unit: Unit::Mixer(mixer),
                    ..
                }) => {
                    let started = Instant::now();
                    let r = mixer.render(dst_unit, dst, payload, &mut self.mix_pcm);
                    self.mix_time += started.elapsed();
                    r
                }
                Some(Slot {
                    unit: Unit::Link(link),
                    ..
                }) => link.render(dst, payload),
                _ => false,
            };
            if !rendered {
                continue;
            }
            if let Some(Slot {
                unit: Unit::Endpoint(ep),
                ..
            }) = self.slots.get_mut(i).and_then(Option::as_mut)
            {
                ep.send(tick, &mut self.packet, &mut self.counters);
            }
        }
    }

    /// A browser hearing a browser: the Opus packets of the source (slot
    /// `src`) go out of the endpoint in slot `i` as they came, so the
    /// audio stays wideband and is never transcoded. False when either end
    /// is not such a WebRTC leg; the frame then goes through PCM as usual.
    fn pass_opus(&mut self, i: usize, src: usize, tick: u64) -> bool {
        let takes = matches!(
            self.slots.get(i).and_then(Option::as_ref),
            Some(Slot { unit: Unit::Endpoint(ep), .. }) if ep.takes_opus()
        );
        if !takes {
            return false;
        }
        match self.slots.get(src).and_then(Option::as_ref) {
            Some(Slot {
                unit: Unit::Endpoint(source),
                ..
            }) => match source.opus_packets() {
                Some(packets) => {
                    self.opus_scratch.clear();
                    self.opus_scratch.extend_from_slice(packets);
                }
                None => return false,
            },
            _ => return false,
        }
        if let Some(Slot {
            unit: Unit::Endpoint(ep),
            ..
        }) = self.slots.get_mut(i).and_then(Option::as_mut)
        {
            ep.send_opus_packets(tick, &self.opus_scratch, &mut self.counters);
        }
        true
    }

    /// A browser in a conference that mixes in wideband: it hears the 16 kHz
    /// mix of its mixer (slot `src`), encoded as such. False when either is
    /// not so; the narrowband mix then goes out as usual.
    fn pass_wide(&mut self, i: usize, src: usize, tick: u64) -> bool {
        let dst = match self.slots.get(i).and_then(Option::as_ref) {
            Some(Slot {
                unit: Unit::Endpoint(ep),
                ..
            }) if ep.takes_opus() => ep.unit(),
            _ => return false,
        };
        let rendered = match self.slots.get_mut(src).and_then(Option::as_mut) {
            Some(Slot {
                unit: Unit::Mixer(mixer),
                ..
            }) if mixer.is_wide() => {
                let started = Instant::now();
                let r = mixer.render_wide(dst, &mut self.wide_pcm);
                self.mix_time += started.elapsed();
                r
            }
            _ => false,
        };
        if !rendered {
            return false;
        }
        if let Some(Slot {
            unit: Unit::Endpoint(ep),
            ..
        }) = self.slots.get_mut(i).and_then(Option::as_mut)
        {
            ep.send_wide(tick, &self.wide_pcm, &mut self.counters);
        }
        true
    }

    /// The link end in slot `i` takes this tick's frame of its input (slot
    /// `src`) for its other half.
    fn feed_link(&mut self, i: usize, src: usize) {
        let link_unit = match unit_at(&self.slots, Some(i)) {
            Some(Unit::Link(l)) => l.unit(),
            _ => return,
        };
        // A mixer gives each listener its own mix.
        if let Some(Slot {
            unit: Unit::Mixer(m),
            ..
        }) = self.slots.get_mut(src).and_then(Option::as_mut)
        {
            let started = Instant::now();
            m.render_pcm(link_unit, &mut self.pcm);
            self.mix_time += started.elapsed();
            if let Some(Unit::Link(l)) = unit_at(&self.slots, Some(i)) {
                l.push(&self.pcm);
            }
            return;
        }
        let slots = &self.slots;
        let frame = source_pcm(unit_at(slots, Some(src)), &mut self.pcm);
        if let (Some(Unit::Link(l)), Some(frame)) = (unit_at(slots, Some(i)), frame) {
            l.push(frame);
        }
    }

    /// Every recorder hands this tick's frame to the writer: a tapped call's
    /// two directions, or the recorder's input (silence when there is none,
    /// so the file keeps wall-clock time).
    fn record_all(&mut self) {
        let slots = &self.slots;
        let pcm = &mut self.pcm;
        for slot in slots.iter().flatten() {
            let Unit::Recorder(rec) = &slot.unit else {
                continue;
            };
            let msg = match rec.tap {
                Some(tap) => match unit_at(slots, self.by_unit.get(&tap).copied()) {
                    Some(Unit::Endpoint(ep)) => {
                        let inbound = ep.frame_pcm(pcm);
                        rec.frame(inbound.then_some(&*pcm), ep.sent_pcm())
                    }
                    _ => rec.frame(None, None),
                },
                None => match unit_at(slots, slot.input) {
                    Some(Unit::Mixer(m)) => rec.frame(Some(m.full_pcm()), None),
                    input => rec.frame(source_pcm(input, pcm), None),
                },
            };
            self.writer.push(msg);
        }
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
        s.packets_foreign.store(c.foreign, Ordering::Relaxed);
        s.telephone_events
            .store(c.telephone_events, Ordering::Relaxed);
        s.send_errors.store(c.send_errors, Ordering::Relaxed);
        s.packets_lost.store(lost, Ordering::Relaxed);
        s.late_ticks.store(self.late_ticks, Ordering::Relaxed);
        for (a, v) in s.lateness_buckets.iter().zip(self.lateness_buckets) {
            a.store(v, Ordering::Relaxed);
        }
        if self.mix_ticks > 0 {
            s.mix_ticks.store(self.mix_ticks, Ordering::Relaxed);
            s.mix_nanos.store(self.mix_nanos, Ordering::Relaxed);
            for (a, v) in s.mix_buckets.iter().zip(self.mix_buckets) {
                a.store(v, Ordering::Relaxed);
            }
        }
    }
}

/// The bucket of [`MIX_BUCKETS_US`] a duration falls in.
fn bucket_of(d: Duration) -> usize {
    let us = d.as_micros() as u64;
    MIX_BUCKETS_US
        .iter()
        .position(|&b| us <= b)
        .unwrap_or(MIX_BUCKETS_US.len())
}

/// This tick's audio of a unit that gives the same to everyone who hears
/// it (a call's received audio, decoded into `scratch`; a player's; a link
/// end's), if it has any. Mixers render per listener and are not covered.
fn source_pcm<'a>(unit: Option<&'a Unit>, scratch: &'a mut PcmFrame) -> Option<&'a PcmFrame> {
    match unit {
        Some(Unit::Endpoint(ep)) => ep.frame_pcm(scratch).then_some(&*scratch),
        Some(Unit::Player(p)) => p.pcm(),
        Some(Unit::Link(l)) => l.pcm(),
        _ => None,
    }
}

fn unit_at(slots: &[Option<Slot>], idx: Option<usize>) -> Option<&Unit> {
    slots.get(idx?)?.as_ref().map(|s| &s.unit)
}

/// The payload part of the outgoing packet buffer, as a frame.
fn payload_of(packet: &mut [u8; PACKET_LEN]) -> Option<&mut EncodedFrame> {
    packet
        .get_mut(RTP_HEADER_LEN..)
        .and_then(|s| <&mut EncodedFrame>::try_from(s).ok())
}
