//! One call leg's RTP endpoint as a media worker sees it.
//!
//! Symmetric RTP (RFC 4961 style, as SBCs and NAT'd phones expect), latched
//! strictly (`latch`): once the endpoint knows its remote parameters, the
//! first source to send packets of a negotiated payload type is where media
//! comes from and goes to; until one does, packets go to the address from
//! SDP. Packets from any other source are dropped and counted as foreign
//! until the latched source has been silent for a while and the newcomer
//! proves to be one steady stream; a new address from SDP is latched at once.
//! Anything else (unconfigured endpoint, malformed packet, foreign payload
//! type) is dropped and counted.
//!
//! RTCP is handled only for calls that asked for statistics ([`crate::rtcp`]):
//! they bind the odd port next to their RTP port, read the peer's reports
//! and send their own every report interval. Other endpoints leave that port
//! unbound (peers' RTCP draws an ICMP port unreachable) and pay nothing.
//!
//! Packet handling (`on_datagram`, `on_tick`, `render`, `stamp_packet`) is
//! plain state with time passed in; only `receive` and `send` touch the socket.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::codec::{Codec, EncodedFrame, PcmFrame, FRAME_SAMPLES};
use crate::dtmf::{DtmfError, DtmfReceiver, DtmfSender, InbandDetector, SenderStep};
use crate::jitter::{JitterBuffer, JitterConfig, Playout, PushOutcome};
use crate::latch::{Latch, Verdict};
use crate::rtcp::Stats;
use crate::rtp::{RtpHeader, RtpPacket, RTP_HEADER_LEN};
use crate::sender::RtpSender;
use crate::{MediaEvent, RtpParams, UnitId};

/// Datagrams read per endpoint per tick; a 20 ms stream needs one or two, and
/// the cap keeps one flooded socket from stalling the whole worker.
const MAX_READS_PER_TICK: usize = 16;
/// Bytes of one outgoing packet: fixed header plus a 20 ms G.711 frame.
pub const PACKET_LEN: usize = RTP_HEADER_LEN + FRAME_SAMPLES;

/// Per-worker counters the endpoints add to; published once per tick.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub packets_in: u64,
    pub packets_out: u64,
    pub dropped: u64,
    /// Of `dropped`: valid packets from a source other than the latched one.
    pub foreign: u64,
    pub telephone_events: u64,
    pub send_errors: u64,
}

/// Bytes of an RFC 4733 event packet: fixed header plus the 4-byte event.
pub const EVENT_PACKET_LEN: usize = RTP_HEADER_LEN + 4;

/// DTMF detection state, present only while the script asked for tones.
struct ToneDetect {
    rtp: DtmfReceiver,
    inband: InbandDetector,
}

/// What this endpoint sent on the current tick, kept only while a recorder
/// taps the call.
struct Capture {
    taps: u32,
    pcm: PcmFrame,
    sent: bool,
}

/// What this endpoint's jitter buffer produced on the current tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickFrame {
    None,
    Received,
    Repeat,
    Silence,
}

pub struct Endpoint {
    unit: UnitId,
    socket: UdpSocket,
    local: SocketAddr,
    params: Option<RtpParams>,
    /// The last usable remote address from SDP: a re-INVITE naming another
    /// one moves the latch there.
    sdp_remote: Option<SocketAddr>,
    latch: Latch,
    send_to: Option<SocketAddr>,
    jitter: JitterBuffer,
    sender: RtpSender,
    frame: TickFrame,
    /// What it receives is heard by no one (an agent's mute): every
    /// frame it gives is silence.
    muted: bool,
    last_rx: Option<Instant>,
    heard_audio: bool,
    stopped: bool,
    tones: Option<Box<ToneDetect>>,
    dtmf_out: Option<Box<DtmfSender>>,
    /// RTP timestamp of the event being sent (fixed at its first packet).
    event_ts: u32,
    capture: Option<Box<Capture>>,
    stats: Option<Box<StatsState>>,
    /// A WebRTC leg: every datagram goes through this connection.
    webrtc: Option<crate::webrtc::SharedConn>,
    /// A WebRTC leg's Opus packets of this tick, as they arrived.
    opus_in: Vec<crate::webrtc::OpusPacket>,
    /// Its peer sends Opus now; it sends Opus to its peer.
    receives_opus: bool,
    sends_opus: bool,
    /// This tick's 16 kHz frame of a WebRTC leg in a wideband conference.
    wide_in: Option<Box<crate::codec::WidePcm>>,
}

/// The SSRC a WebRTC leg's decoded frames are filed under in the jitter
/// buffer (the connection already sorted out the peer's streams).
const WEBRTC_SSRC: u32 = 0x5745_4252;

/// Statistics of a call that asked for them, and its RTCP socket.
struct StatsState {
    stats: Stats,
    /// The odd port next to the RTP port; `None` if it could not be bound
    /// (the figures then have no round-trip time).
    rtcp: Option<UdpSocket>,
    interval: Duration,
    next_report: Instant,
    packets_sent: u64,
    octets_sent: u64,
    buf: Vec<u8>,
}

/// RTCP is read every this many ticks (reports come every few seconds).
const RTCP_READ_TICKS: u64 = 10;

impl Endpoint {
    /// `relatch_after`: how long the latched source must have been silent
    /// before another one may take over.
    pub fn new(
        unit: UnitId,
        socket: UdpSocket,
        local: SocketAddr,
        relatch_after: Duration,
    ) -> Endpoint {
        Endpoint {
            unit,
            socket,
            local,
            params: None,
            sdp_remote: None,
            latch: Latch::new(relatch_after),
            send_to: None,
            jitter: JitterBuffer::new(JitterConfig::default(), Codec::Pcmu.silence_byte()),
            sender: RtpSender::random(),
            frame: TickFrame::None,
            muted: false,
            last_rx: None,
            heard_audio: false,
            stopped: false,
            tones: None,
            dtmf_out: None,
            event_ts: 0,
            capture: None,
            stats: None,
            webrtc: None,
            opus_in: Vec::new(),
            receives_opus: false,
            sends_opus: false,
            wide_in: None,
        }
    }

    /// Makes this endpoint a WebRTC leg.
    pub fn attach_webrtc(&mut self, conn: crate::webrtc::SharedConn) {
        self.webrtc = Some(conn);
    }

    pub fn detach_webrtc(&mut self) {
        self.webrtc = None;
        self.opus_in.clear();
        self.receives_opus = false;
        self.sends_opus = false;
    }

    /// This tick's Opus packets of a WebRTC leg whose peer sends Opus, for
    /// a browser that hears it to take untouched. `None` when there is no
    /// such stream or what it says must not be heard (muted).
    pub fn opus_packets(&self) -> Option<&[crate::webrtc::OpusPacket]> {
        (self.receives_opus && !self.muted).then_some(self.opus_in.as_slice())
    }

    /// A WebRTC leg that sends Opus and can take another leg's packets as
    /// they are: nothing taps what it sends (a recorder needs the audio).
    pub fn takes_opus(&self) -> bool {
        self.sends_opus && self.capture.is_none() && self.params.is_some_and(|p| p.send)
    }

    /// A WebRTC leg in a conference that mixes in wideband: its connection
    /// keeps a 16 kHz side.
    pub fn want_wide(&self) {
        if let Some(shared) = self.webrtc.as_ref() {
            shared.lock().want_wide(Instant::now());
        }
    }

    /// This tick's 16 kHz frame from the peer (`None` when there is none,
    /// or it is muted).
    pub fn wide_pcm(&self) -> Option<&crate::codec::WidePcm> {
        self.wide_in.as_deref().filter(|_| !self.muted)
    }

    /// Sends a 16 kHz frame (a wideband mix) to the peer as Opus.
    pub fn send_wide(&mut self, tick: u64, pcm: &crate::codec::WidePcm, c: &mut Counters) {
        let Some(shared) = self.webrtc.as_ref() else {
            return;
        };
        let mut conn = shared.lock();
        if conn.send_wide(Instant::now(), tick, pcm) {
            c.packets_out += 1;
        }
        conn.flush(&self.socket, c);
    }

    /// Sends another WebRTC leg's Opus packets to this one's peer.
    pub fn send_opus_packets(
        &mut self,
        tick: u64,
        packets: &[crate::webrtc::OpusPacket],
        c: &mut Counters,
    ) {
        let Some(shared) = self.webrtc.as_ref() else {
            return;
        };
        let mut conn = shared.lock();
        let sent = conn.send_opus_packets(Instant::now(), tick, packets);
        c.packets_out += sent as u64;
        conn.flush(&self.socket, c);
    }

    pub fn is_webrtc(&self) -> bool {
        self.webrtc.is_some()
    }

    /// Starts (`Some(interval)`) or stops measuring the call: a
    /// `Statistics` event every interval, RTCP reports to and from the peer.
    pub fn set_statistics(&mut self, interval: Option<Duration>, now: Instant) {
        let Some(interval) = interval else {
            self.stats = None;
            return;
        };
        if let Some(st) = self.stats.as_mut() {
            st.interval = interval;
            return;
        }
        let rtcp_addr = SocketAddr::new(self.local.ip(), self.local.port().wrapping_add(1));
        let rtcp = UdpSocket::bind(rtcp_addr)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .inspect(|s| {
                // The first call turns the kernel's time-stamping on.
                let _ = crate::stamp::last_arrival(s);
            })
            .map_err(|e| {
                tracing::info!(unit = self.unit.0, %rtcp_addr, error = %e,
                    "RTCP port not bound: statistics without round-trip time");
            })
            .ok();
        self.stats = Some(Box::new(StatsState {
            stats: Stats::new(),
            rtcp,
            interval,
            next_report: now + interval,
            packets_sent: 0,
            octets_sent: 0,
            buf: Vec::with_capacity(64),
        }));
    }

    /// Statistics work of tick `tick`: the peer's reports read, ours sent
    /// and a `Statistics` event raised when the interval is up.
    pub fn tick_statistics(&mut self, tick: u64, now: Instant, events: &mut Vec<MediaEvent>) {
        let Some(st) = self.stats.as_mut() else {
            return;
        };
        let wall = std::time::SystemTime::now();
        let ssrc = self.sender.ssrc();
        if tick.is_multiple_of(RTCP_READ_TICKS) {
            if let Some(sock) = &st.rtcp {
                let mut buf = [0u8; 1500];
                for _ in 0..MAX_READS_PER_TICK {
                    match sock.recv_from(&mut buf) {
                        Ok((n, _)) => {
                            // Read up to RTCP_READ_TICKS ticks late: the
                            // kernel's receive time keeps the RTT exact.
                            let at = crate::stamp::last_arrival(sock).unwrap_or(wall);
                            st.stats.on_rtcp(buf.get(..n).unwrap_or(&[]), ssrc, at);
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        if now < st.next_report {
            return;
        }
        st.next_report = now + st.interval;
        let timestamp = self.sender.timestamp_at(tick);
        st.stats.build_report(
            ssrc,
            wall,
            timestamp,
            st.packets_sent,
            st.octets_sent,
            &mut st.buf,
        );
        if let (Some(sock), Some(to)) = (&st.rtcp, self.send_to) {
            let to = SocketAddr::new(to.ip(), to.port().wrapping_add(1));
            if let Err(e) = sock.send_to(&st.buf, to) {
                tracing::trace!(unit = self.unit.0, error = %e, "RTCP send failed");
            }
        }
        let stats = st.stats.report(st.packets_sent);
        events.push(MediaEvent::Statistics {
            unit: self.unit,
            stats,
        });
    }

    pub fn unit(&self) -> UnitId {
        self.unit
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn codec(&self) -> Option<Codec> {
        self.params.map(|p| p.codec)
    }

    /// Where packets go now: the latched source, else the SDP address.
    pub fn send_addr(&self) -> Option<SocketAddr> {
        self.send_to
    }

    /// The source RTP is accepted from, once one is latched.
    pub fn source(&self) -> Option<SocketAddr> {
        self.latch.source()
    }

    pub fn frame(&self) -> TickFrame {
        self.frame
    }

    pub fn lost(&self) -> u64 {
        self.jitter.lost()
    }

    pub fn ssrc(&self) -> u32 {
        self.sender.ssrc()
    }

    /// Sets (or, on re-INVITE, changes) the remote side. The no-packet timer
    /// starts here, so a remote that never sends is reported as stopped too.
    ///
    /// The first address stays open to NAT traversal: whoever sends first is
    /// latched. A later one is the peer moving its media, negotiated over
    /// signalling, so it is latched at once. `c=0.0.0.0` (old-style hold) or
    /// port 0 stops sending until the peer sends again, and leaves the latch
    /// alone: resuming to the address held before is no move.
    pub fn configure(&mut self, params: RtpParams, now: Instant) {
        let old = self.params;
        if old.map(|p| (p.codec, p.payload_type)) != Some((params.codec, params.payload_type)) {
            self.jitter.reset(params.codec.silence_byte());
        }
        let remote = params.remote;
        let usable = !remote.ip().is_unspecified() && remote.port() != 0;
        if !usable {
            self.send_to = None;
        } else if self.sdp_remote.is_some_and(|sdp| sdp != remote) {
            let before = self.latch.source();
            self.latch.trust(remote, now);
            self.send_to = Some(remote);
            tracing::info!(unit = self.unit.0, local = %self.local, to = %remote, before = ?before,
                "RTP source latched to the address of a new offer or answer");
        } else if old.map(|p| p.remote) != Some(remote) {
            self.send_to = Some(self.latch.source().unwrap_or(remote));
        }
        if usable {
            self.sdp_remote = Some(remote);
        }
        self.params = Some(params);
        self.last_rx.get_or_insert(now);
    }

    /// Drains the socket into the jitter buffer. `buf` is the worker's
    /// receive scratch buffer.
    ///
    /// One `recv_from` per datagram plus one that finds the socket empty:
    /// `recvmmsg` (one call for both) measured no cheaper at 500 endpoints.
    pub fn receive(
        &mut self,
        buf: &mut [u8],
        now: Instant,
        c: &mut Counters,
        events: &mut Vec<MediaEvent>,
    ) {
        if self.webrtc.is_some() {
            self.receive_webrtc(buf, now, c, events);
            return;
        }
        for _ in 0..MAX_READS_PER_TICK {
            match self.socket.recv_from(buf) {
                Ok((n, from)) => {
                    let data = buf.get(..n).unwrap_or(&[]);
                    self.on_datagram(data, from, now, c, events);
                    if self.stats.is_some() {
                        self.measure(data, from);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // e.g. ECONNREFUSED echoed from an earlier send's ICMP error.
                    tracing::trace!(unit = self.unit.0, error = %e, "RTP receive error");
                    break;
                }
            }
        }
    }

    /// A WebRTC leg's tick of input: its datagrams and timers through the
    /// connection, what the connection wants sent out, and the frames it
    /// decoded into the jitter buffer.
    fn receive_webrtc(
        &mut self,
        buf: &mut [u8],
        now: Instant,
        c: &mut Counters,
        events: &mut Vec<MediaEvent>,
    ) {
        let Some(shared) = self.webrtc.as_ref() else {
            return;
        };
        let mut conn = shared.lock();
        for _ in 0..MAX_READS_PER_TICK {
            match self.socket.recv_from(buf) {
                Ok((n, from)) => {
                    c.packets_in += 1;
                    if !conn.receive(now, from, buf.get(..n).unwrap_or(&[])) {
                        c.dropped += 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::trace!(unit = self.unit.0, error = %e, "WebRTC receive error");
                    break;
                }
            }
        }
        conn.tick(now);
        conn.flush(&self.socket, c);
        conn.take_opus_packets(&mut self.opus_in);
        match (conn.pop_wide(now), self.wide_in.as_mut()) {
            (Some(frame), Some(slot)) => **slot = frame,
            (Some(frame), None) => self.wide_in = Some(Box::new(frame)),
            (None, _) => self.wide_in = None,
        }
        self.receives_opus = conn.receives_opus(now);
        self.sends_opus = conn.sends_opus();
        if let Some(reason) = conn.take_failure() {
            events.push(MediaEvent::TransportFailed {
                unit: self.unit,
                reason,
            });
        }
        let mut got = false;
        while let Some((ts, frame)) = conn.pop_frame() {
            got = true;
            let seq = (ts / FRAME_SAMPLES as u32) as u16;
            let outcome = self.jitter.push(WEBRTC_SSRC, seq, ts, &frame, false, now);
            if matches!(
                outcome,
                PushOutcome::Duplicate | PushOutcome::Late | PushOutcome::Invalid
            ) {
                c.dropped += 1;
            }
        }
        drop(conn);
        if got {
            self.last_rx = Some(now);
            if self.stopped {
                self.stopped = false;
                events.push(MediaEvent::RtpResumed(self.unit));
            }
            if !self.heard_audio {
                self.heard_audio = true;
                events.push(MediaEvent::FirstAudioPacket(self.unit));
            }
        }
    }

    /// Statistics of one received datagram, if it is audio from the peer.
    fn measure(&mut self, data: &[u8], from: SocketAddr) {
        let (Some(st), Some(params)) = (self.stats.as_mut(), self.params) else {
            return;
        };
        if self.send_to != Some(from) {
            return;
        }
        let Ok(pkt) = RtpPacket::parse(data) else {
            return;
        };
        if pkt.payload_type() != params.payload_type {
            return;
        }
        let arrival =
            crate::stamp::last_arrival(&self.socket).unwrap_or_else(std::time::SystemTime::now);
        st.stats
            .on_packet(pkt.ssrc(), pkt.sequence(), pkt.timestamp(), arrival);
    }

    pub fn on_datagram(
        &mut self,
        data: &[u8],
        from: SocketAddr,
        now: Instant,
        c: &mut Counters,
        events: &mut Vec<MediaEvent>,
    ) {
        c.packets_in += 1;
        let Some(params) = self.params else {
            c.dropped += 1;
            return;
        };
        let Ok(pkt) = RtpPacket::parse(data) else {
            c.dropped += 1;
            return;
        };
        let pt = pkt.payload_type();
        let audio = pt == params.payload_type;
        if !audio && params.telephone_event_pt != Some(pt) {
            c.dropped += 1;
            return;
        }
        match self.latch.check(from, pkt.ssrc(), pkt.sequence(), now) {
            Verdict::Accept => {}
            Verdict::Latched { before: None } => {
                tracing::info!(unit = self.unit.0, local = %self.local, from = %from,
                    "RTP source latched");
            }
            Verdict::Latched {
                before: Some(before),
            } => {
                tracing::info!(unit = self.unit.0, local = %self.local, from = %from, %before,
                    ssrc = pkt.ssrc(), "RTP source re-latched: the old one went silent");
            }
            Verdict::Foreign { warn } => {
                c.dropped += 1;
                c.foreign += 1;
                if let Some(dropped) = warn {
                    tracing::warn!(unit = self.unit.0, local = %self.local, from = %from,
                        latched = ?self.latch.source(), dropped,
                        "dropping RTP from a source other than the latched one");
                }
                return;
            }
        }
        // Follows the source (after a move, or on a resume from hold).
        if self.send_to != Some(from) {
            self.send_to = Some(from);
        }
        self.last_rx = Some(now);
        if self.stopped {
            self.stopped = false;
            events.push(MediaEvent::RtpResumed(self.unit));
        }
        if !audio {
            c.telephone_events += 1;
            if let Some(t) = self.tones.as_mut() {
                if let Some(tone) = t.rtp.on_packet(pkt.timestamp(), pkt.payload()) {
                    events.push(MediaEvent::Tone {
                        unit: self.unit,
                        tone,
                    });
                }
            }
            return;
        }
        if !self.heard_audio {
            self.heard_audio = true;
            events.push(MediaEvent::FirstAudioPacket(self.unit));
        }
        let outcome = self.jitter.push(
            pkt.ssrc(),
            pkt.sequence(),
            pkt.timestamp(),
            pkt.payload(),
            pkt.marker(),
            now,
        );
        if matches!(
            outcome,
            PushOutcome::Duplicate | PushOutcome::Late | PushOutcome::Invalid
        ) {
            c.dropped += 1;
        }
    }

    /// Tick bookkeeping: the no-packet timer, then this tick's frame.
    pub fn on_tick(&mut self, now: Instant, rtp_timeout: Duration, events: &mut Vec<MediaEvent>) {
        if !self.stopped && !rtp_timeout.is_zero() {
            if let Some(last) = self.last_rx {
                if now.saturating_duration_since(last) >= rtp_timeout {
                    self.stopped = true;
                    events.push(MediaEvent::RtpStopped(self.unit));
                }
            }
        }
        self.frame = match self.jitter.pop(now) {
            Playout::Frame(_) => TickFrame::Received,
            Playout::Repeat(_) => TickFrame::Repeat,
            Playout::Silence => TickFrame::Silence,
            Playout::Nothing => TickFrame::None,
        };
        if let Some(cap) = self.capture.as_mut() {
            cap.sent = false;
        }
        self.detect_inband(events);
        if self.muted && self.frame != TickFrame::None {
            self.frame = TickFrame::Silence;
        }
    }

    /// Mutes (or unmutes) what this call says: listeners, mixers and
    /// recorders get silence from it. Its DTMF is still detected.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    pub fn muted(&self) -> bool {
        self.muted
    }

    /// In-band DTMF, for peers that did not negotiate telephone-event. Ticks
    /// without audio feed silence, which is what ends a held key.
    fn detect_inband(&mut self, events: &mut Vec<MediaEvent>) {
        let negotiated = self.params.is_some_and(|p| p.telephone_event_pt.is_some());
        if negotiated || self.tones.is_none() {
            return;
        }
        let mut pcm = [0i16; FRAME_SAMPLES];
        if !self.frame_pcm(&mut pcm) {
            pcm.fill(0);
        }
        if let Some(t) = self.tones.as_mut() {
            if let Some(tone) = t.inband.process(&pcm) {
                events.push(MediaEvent::Tone {
                    unit: self.unit,
                    tone,
                });
            }
        }
    }

    /// Turns DTMF detection on or off (off by default, as in VoxEngine).
    pub fn set_tone_detection(&mut self, enabled: bool) {
        match (enabled, self.tones.is_some()) {
            (true, false) => {
                self.tones = Some(Box::new(ToneDetect {
                    rtp: DtmfReceiver::new(),
                    inband: InbandDetector::new(),
                }))
            }
            (false, true) => self.tones = None,
            _ => {}
        }
    }

    /// Queues digits for RFC 4733; the caller falls back to SIP INFO when the
    /// peer has no telephone-event payload type.
    pub fn send_digits(&mut self, digits: &str) -> Result<(), DtmfError> {
        self.dtmf_out
            .get_or_insert_with(|| Box::new(DtmfSender::new()))
            .queue(digits)
    }

    pub fn has_telephone_event(&self) -> bool {
        self.params.is_some_and(|p| p.telephone_event_pt.is_some())
    }

    /// Sends this tick's telephone-event packet if a digit is being sent.
    /// Returns true when it did, so no audio goes out this tick; gaps and
    /// pauses between digits carry the call's audio as usual.
    pub fn send_dtmf(
        &mut self,
        tick: u64,
        buf: &mut [u8; EVENT_PACKET_LEN],
        c: &mut Counters,
    ) -> bool {
        let Some(tx) = self.dtmf_out.as_mut() else {
            return false;
        };
        if !tx.is_busy() {
            return false;
        }
        let SenderStep::Packet {
            payload,
            marker,
            event_start,
        } = tx.next()
        else {
            return false;
        };
        let (Some(params), Some(to)) = (self.params, self.send_to) else {
            return false;
        };
        if !params.send {
            return false;
        }
        let Some(pt) = params.telephone_event_pt else {
            return false;
        };
        if event_start {
            self.event_ts = self.sender.timestamp_at(tick);
        }
        let stamp = self.sender.stamp_fixed(tick, self.event_ts, marker);
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type: pt,
            sequence: stamp.sequence,
            timestamp: stamp.timestamp,
            ssrc: stamp.ssrc,
            ..RtpHeader::default()
        };
        if header.write(buf).is_err() {
            return false;
        }
        if let Some(dst) = buf.get_mut(RTP_HEADER_LEN..) {
            dst.copy_from_slice(&payload);
        }
        match self.socket.send_to(buf, to) {
            Ok(_) => c.packets_out += 1,
            Err(e) => {
                c.send_errors += 1;
                tracing::trace!(unit = self.unit.0, %to, error = %e, "RTP event send failed");
            }
        }
        true
    }

    /// A recorder starts (`true`) or stops tapping this call.
    pub fn tap(&mut self, on: bool) {
        match (on, self.capture.as_mut()) {
            (true, Some(cap)) => cap.taps += 1,
            (true, None) => {
                self.capture = Some(Box::new(Capture {
                    taps: 1,
                    pcm: [0; FRAME_SAMPLES],
                    sent: false,
                }))
            }
            (false, Some(cap)) => {
                cap.taps = cap.taps.saturating_sub(1);
                if cap.taps == 0 {
                    self.capture = None;
                }
            }
            (false, None) => {}
        }
    }

    /// What this call sent to its peer this tick, while tapped.
    pub fn sent_pcm(&self) -> Option<&PcmFrame> {
        self.capture.as_ref().filter(|c| c.sent).map(|c| &c.pcm)
    }

    /// Writes this tick's audio, encoded as `dst`, into `out`. Received audio
    /// in the same codec is copied as is; everything else goes through PCM.
    /// Returns false when there is nothing to send.
    pub fn render(&self, dst: Codec, out: &mut EncodedFrame, pcm: &mut PcmFrame) -> bool {
        let src = match self.codec() {
            Some(c) => c,
            None => return false,
        };
        match self.frame {
            TickFrame::None => return false,
            TickFrame::Received if src == dst => out.copy_from_slice(self.jitter.last_frame()),
            TickFrame::Silence => out.fill(dst.silence_byte()),
            TickFrame::Received | TickFrame::Repeat => {
                self.frame_pcm(pcm);
                dst.encode_frame(pcm, out);
            }
        }
        true
    }

    /// This tick's audio as linear PCM (decoded on demand: most ticks of a
    /// same-codec bridge never need it). Returns false when there is none.
    pub fn frame_pcm(&self, out: &mut PcmFrame) -> bool {
        let Some(src) = self.codec() else {
            return false;
        };
        match self.frame {
            TickFrame::None => return false,
            TickFrame::Received => src.decode_frame(self.jitter.last_frame(), out),
            TickFrame::Repeat => {
                src.decode_frame(self.jitter.last_frame(), out);
                for s in out.iter_mut() {
                    *s /= 2;
                }
            }
            TickFrame::Silence => out.fill(0),
        }
        true
    }

    /// Fills in the RTP header of `packet` (whose payload is already in place)
    /// for media tick `tick`. Returns where to send it, if anywhere.
    pub fn stamp_packet(&mut self, tick: u64, packet: &mut [u8; PACKET_LEN]) -> Option<SocketAddr> {
        let params = self.params.filter(|p| p.send)?;
        let to = self.send_to?;
        let stamp = self.sender.stamp(tick);
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type: params.payload_type,
            sequence: stamp.sequence,
            timestamp: stamp.timestamp,
            ssrc: stamp.ssrc,
            ..RtpHeader::default()
        };
        header.write(packet).ok()?;
        Some(to)
    }

    pub fn send(&mut self, tick: u64, packet: &mut [u8; PACKET_LEN], c: &mut Counters) {
        if self.webrtc.is_some() {
            self.send_webrtc(tick, packet, c);
            return;
        }
        let Some(to) = self.stamp_packet(tick, packet) else {
            return;
        };
        if let Some(cap) = self.capture.as_mut() {
            if let (Some(codec), Some(payload)) =
                (self.params.map(|p| p.codec), packet.get(RTP_HEADER_LEN..))
            {
                codec.decode(payload, &mut cap.pcm);
                cap.sent = true;
            }
        }
        match self.socket.send_to(packet, to) {
            Ok(n) => {
                c.packets_out += 1;
                if let Some(st) = self.stats.as_mut() {
                    st.packets_sent += 1;
                    st.octets_sent += n.saturating_sub(RTP_HEADER_LEN) as u64;
                }
            }
            Err(e) => {
                c.send_errors += 1;
                tracing::trace!(unit = self.unit.0, %to, error = %e, "RTP send failed");
            }
        }
    }
}

impl Endpoint {
    /// A WebRTC leg sends this tick's frame (G.711 in `packet`'s payload)
    /// through its connection, as Opus or G.711, whichever the peer took.
    fn send_webrtc(&mut self, tick: u64, packet: &mut [u8; PACKET_LEN], c: &mut Counters) {
        let Some(params) = self.params.filter(|p| p.send) else {
            return;
        };
        let Some(payload) = packet.get(RTP_HEADER_LEN..) else {
            return;
        };
        let mut pcm = [0i16; FRAME_SAMPLES];
        params.codec.decode(payload, &mut pcm);
        if let Some(cap) = self.capture.as_mut() {
            cap.pcm = pcm;
            cap.sent = true;
        }
        let Some(shared) = self.webrtc.as_ref() else {
            return;
        };
        let mut conn = shared.lock();
        if conn.send_pcm(Instant::now(), tick, &pcm) {
            c.packets_out += 1;
        }
        conn.flush(&self.socket, c);
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
