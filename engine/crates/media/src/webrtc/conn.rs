//! One WebRTC leg: str0m's sans-IO `Rtc` in ICE-lite mode (we answer the
//! browser's connectivity checks, never start our own), DTLS-SRTP with the
//! engine's certificate, rtcp-mux on the leg's own UDP port, Opus or G.711.
//!
//! The connection is shared by the signalling side, which writes and reads
//! SDP through it, and the media worker, which feeds it datagrams and the
//! leg's audio every tick. Every input is followed by draining str0m's
//! output, so what it wants sent waits in `outbox` for the worker's socket
//! and what it decoded waits in `inbound` for the endpoint's jitter buffer.
//! Towards the graph a WebRTC leg speaks G.711 µ-law at 8 kHz like every
//! other endpoint: Opus is decoded to 8 kHz on arrival and encoded from the
//! graph's 20 ms frames on departure.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::format::Codec as WireCodec;
use str0m::media::{Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::Extension;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::opus_codec::{Opus, WideOpus, MAX_DECODED, OPUS_FRAME_TICKS};
use crate::codec::{Codec, EncodedFrame, PcmFrame, WidePcm, FRAME_SAMPLES, WIDE_SAMPLES};
use crate::endpoint::Counters;
use crate::UnitId;

/// Frames decoded but not yet taken by the endpoint; more than a second's
/// worth means the worker is not reading them, so the oldest go.
const MAX_INBOUND: usize = 64;
/// Datagrams str0m may queue between two flushes (DTLS flights are a few).
const MAX_OUTBOX: usize = 256;

/// Why a WebRTC operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    #[error("bad WebRTC description: {0}")]
    Sdp(String),
    #[error("WebRTC negotiation failed: {0}")]
    Negotiation(String),
    #[error("no offer of ours is waiting for an answer")]
    NoPendingOffer,
    #[error("the description did not change")]
    NothingToOffer,
    #[error("cannot use {0} as an ICE host candidate")]
    Candidate(SocketAddr),
    #[error("no DTLS certificate could be made")]
    Certificate,
}

/// What the leg sends with, chosen from what the peer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Opus,
    G711(Codec),
}

pub struct WebRtcConn {
    unit: UnitId,
    rtc: Rtc,
    /// The advertised address of the leg's UDP port: the host candidate,
    /// and the destination str0m expects every datagram to have.
    local: SocketAddr,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    wire: Option<(Pt, Wire)>,
    opus: Option<Box<Opus>>,
    decoded: Box<[i16; MAX_DECODED]>,
    next_timeout: Instant,
    first_rx: Option<Instant>,
    connected: bool,
    failed: bool,
    /// Why it failed, until the endpoint reports it.
    failure: Option<String>,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    inbound: VecDeque<(u32, EncodedFrame)>,
    /// Opus packets as they arrived (48 kHz media time), for a browser
    /// that hears this one: they pass through untouched, wideband.
    raw: Vec<OpusPacket>,
    /// When Opus last arrived.
    opus_seen: Option<Instant>,
    /// Passed-through packets' offset onto our RTP clock, and the tick it
    /// was last used in.
    pass_offset: Option<(i64, u64)>,
    /// 16 kHz audio, while the leg is in a conference that mixes in
    /// wideband (dropped a second after it last was).
    wide: Option<Box<Wide>>,
}

/// A leg's wideband side: its Opus at 16 kHz and the frames decoded so.
struct Wide {
    opus: WideOpus,
    /// Decoded 20 ms frames waiting for the mix; playing starts once
    /// `WIDE_PRIME` are there, so arrival jitter does not starve it.
    frames: VecDeque<WidePcm>,
    playing: bool,
    wanted: Instant,
    decoded: Box<[i16; 2 * MAX_DECODED]>,
}

/// Frames a wideband side holds before it plays (60 ms), and at most.
const WIDE_PRIME: usize = 3;
const WIDE_MAX: usize = 12;
/// A wideband side not asked for this long goes.
const WIDE_IDLE: Duration = Duration::from_secs(1);

/// One Opus packet from a peer: its media time at 48 kHz and its bytes.
pub type OpusPacket = (u64, std::sync::Arc<[u8]>);

/// Opus packets kept per tick for passing through (a 20 ms stream brings one).
const MAX_RAW: usize = 8;
/// A peer that sent Opus this recently still counts as sending Opus.
const OPUS_FRESH: Duration = Duration::from_millis(200);

impl WebRtcConn {
    pub fn new(
        unit: UnitId,
        local: SocketAddr,
        cert: DtlsCert,
        now: Instant,
    ) -> Result<WebRtcConn, WebRtcError> {
        let candidate = Candidate::host(local, "udp").map_err(|_| WebRtcError::Candidate(local))?;
        // Audio needs no bandwidth estimation: without transport-wide
        // sequence numbers and send times, browsers send no TWCC feedback
        // to process 20 times a second.
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_dtls_cert(cert)
            .clear_extension_map()
            .set_extension(1, Extension::AudioLevel)
            .set_extension(4, Extension::RtpMid)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_pcmu(true, false)
            .enable_pcma(true, false)
            .build(now);
        rtc.add_local_candidate(candidate);
        super::stats::leg_opened();
        Ok(WebRtcConn {
            unit,
            rtc,
            local,
            mid: None,
            pending: None,
            wire: None,
            opus: None,
            decoded: Box::new([0; MAX_DECODED]),
            next_timeout: now,
            first_rx: None,
            connected: false,
            failed: false,
            failure: None,
            outbox: Vec::new(),
            inbound: VecDeque::new(),
            raw: Vec::new(),
            opus_seen: None,
            pass_offset: None,
            wide: None,
        })
    }

    /// Answers the peer's offer (first or re-offer) with ours.
    pub fn accept_offer(&mut self, offer: &str, now: Instant) -> Result<String, WebRtcError> {
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| WebRtcError::Sdp(e.to_string()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| WebRtcError::Negotiation(e.to_string()))?;
        self.wire = None;
        self.drain(now);
        Ok(answer.to_sdp_string())
    }

    /// Our offer: one audio stream in `direction` (sendrecv, or sendonly
    /// to hold the peer), or the stream we have turned that way.
    pub fn make_offer(
        &mut self,
        sends: bool,
        receives: bool,
        now: Instant,
    ) -> Result<String, WebRtcError> {
        let direction = match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        };
        let mut api = self.rtc.sdp_api();
        match self.mid {
            None => self.mid = Some(api.add_media(MediaKind::Audio, direction, None, None, None)),
            Some(mid) => api.set_direction(mid, direction),
        }
        let (offer, pending) = api.apply().ok_or(WebRtcError::NothingToOffer)?;
        self.pending = Some(pending);
        self.drain(now);
        Ok(offer.to_sdp_string())
    }

    /// The peer's answer to our last offer.
    pub fn accept_answer(&mut self, answer: &str, now: Instant) -> Result<(), WebRtcError> {
        let pending = self.pending.take().ok_or(WebRtcError::NoPendingOffer)?;
        let answer =
            SdpAnswer::from_sdp_string(answer).map_err(|e| WebRtcError::Sdp(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| WebRtcError::Negotiation(e.to_string()))?;
        self.wire = None;
        self.drain(now);
        Ok(())
    }

    /// One datagram from the leg's socket (STUN, DTLS or SRTP/SRTCP).
    /// Returns false when it was none of them.
    pub fn receive(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        let Ok(datagram) = Receive::new(Protocol::Udp, from, self.local, data) else {
            return false;
        };
        self.first_rx.get_or_insert(now);
        if let Err(e) = self.rtc.handle_input(Input::Receive(now, datagram)) {
            tracing::debug!(unit = self.unit.0, %from, error = %e, "WebRTC input refused");
        }
        self.drain(now);
        true
    }

    /// str0m's timers (consent, DTLS retransmission, RTCP reports).
    pub fn tick(&mut self, now: Instant) {
        if self.failed || now < self.next_timeout {
            return;
        }
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            tracing::debug!(unit = self.unit.0, error = %e, "WebRTC timeout input refused");
        }
        self.drain(now);
    }

    /// Sends one 20 ms frame of the graph's audio, stamped for media tick
    /// `tick`. Returns true when a packet was queued.
    pub fn send_pcm(&mut self, now: Instant, tick: u64, pcm: &PcmFrame) -> bool {
        if !self.connected || self.failed {
            return false;
        }
        let Some((pt, wire)) = self.wire.or_else(|| self.choose_wire()) else {
            return false;
        };
        self.wire = Some((pt, wire));
        let (time, data): (MediaTime, Vec<u8>) = match wire {
            Wire::Opus => {
                let opus = match opus_of(&mut self.opus) {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(unit = self.unit.0, error = %e, "no Opus encoder");
                        self.failed = true;
                        return false;
                    }
                };
                match opus.encode(pcm) {
                    Ok(bytes) => (
                        MediaTime::new(tick * OPUS_FRAME_TICKS, Frequency::FORTY_EIGHT_KHZ),
                        bytes.to_vec(),
                    ),
                    Err(e) => {
                        tracing::debug!(unit = self.unit.0, error = %e, "Opus encode failed");
                        return false;
                    }
                }
            }
            Wire::G711(codec) => {
                let mut out = [0u8; FRAME_SAMPLES];
                codec.encode_frame(pcm, &mut out);
                (
                    MediaTime::new(tick * FRAME_SAMPLES as u64, Frequency::EIGHT_KHZ),
                    out.to_vec(),
                )
            }
        };
        let Some(mid) = self.mid else {
            return false;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        if let Err(e) = writer.write(pt, now, time, data) {
            tracing::debug!(unit = self.unit.0, error = %e, "WebRTC write refused");
            return false;
        }
        self.drain(now);
        true
    }

    /// Sends Opus packets of another leg as they are (a browser hearing a
    /// browser: no transcoding, the audio stays wideband), re-stamped onto
    /// this leg's RTP clock. Returns how many went out.
    pub fn send_opus_packets(&mut self, now: Instant, tick: u64, packets: &[OpusPacket]) -> usize {
        if !self.connected || self.failed || packets.is_empty() {
            return 0;
        }
        let Some((pt, Wire::Opus)) = self.wire.or_else(|| self.choose_wire()) else {
            return 0;
        };
        self.wire = Some((pt, Wire::Opus));
        let Some(mid) = self.mid else {
            return 0;
        };
        let mut sent = 0;
        for (src_time, data) in packets {
            // A stream passed through after a pause is aligned with our
            // clock again; within one, the source's spacing is kept.
            let offset = match self.pass_offset {
                Some((offset, last)) if tick <= last + 5 => offset,
                _ => (tick * OPUS_FRAME_TICKS) as i64 - *src_time as i64,
            };
            self.pass_offset = Some((offset, tick));
            let at = (*src_time as i64).saturating_add(offset).max(0) as u64;
            let Some(writer) = self.rtc.writer(mid) else {
                break;
            };
            let time = MediaTime::new(at, Frequency::FORTY_EIGHT_KHZ);
            if writer.write(pt, now, time, data.clone()).is_ok() {
                sent += 1;
            }
            self.drain(now);
        }
        sent
    }

    /// The leg is in a conference mixing in wideband: its Opus is decoded at
    /// 16 kHz as well, for the wideband mix.
    pub fn want_wide(&mut self, now: Instant) {
        match self.wide.as_mut() {
            Some(w) => w.wanted = now,
            None => match WideOpus::new() {
                Ok(opus) => {
                    self.wide = Some(Box::new(Wide {
                        opus,
                        frames: VecDeque::new(),
                        playing: false,
                        wanted: now,
                        decoded: Box::new([0; 2 * MAX_DECODED]),
                    }))
                }
                Err(e) => tracing::debug!(unit = self.unit.0, error = %e, "no wideband Opus"),
            },
        }
    }

    /// This tick's 16 kHz frame from the peer, once enough are buffered.
    pub fn pop_wide(&mut self, now: Instant) -> Option<WidePcm> {
        let w = self.wide.as_mut()?;
        if now.saturating_duration_since(w.wanted) > WIDE_IDLE {
            self.wide = None;
            return None;
        }
        if !w.playing && w.frames.len() < WIDE_PRIME {
            return None;
        }
        let frame = w.frames.pop_front();
        w.playing = frame.is_some();
        frame
    }

    /// Sends one 20 ms frame of 16 kHz audio as Opus.
    pub fn send_wide(&mut self, now: Instant, tick: u64, pcm: &WidePcm) -> bool {
        if !self.sends_opus() {
            return false;
        }
        let (Some((pt, _)), Some(mid)) = (self.wire, self.mid) else {
            return false;
        };
        let Some(w) = self.wide.as_mut() else {
            return false;
        };
        let data = match w.opus.encode(pcm) {
            Ok(bytes) => bytes.to_vec(),
            Err(e) => {
                tracing::debug!(unit = self.unit.0, error = %e, "wideband Opus encode failed");
                return false;
            }
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        let time = MediaTime::new(tick * OPUS_FRAME_TICKS, Frequency::FORTY_EIGHT_KHZ);
        if writer.write(pt, now, time, data).is_err() {
            return false;
        }
        self.drain(now);
        true
    }

    /// This leg sends Opus, and can take packets passed through.
    pub fn sends_opus(&self) -> bool {
        self.connected && !self.failed && matches!(self.wire, Some((_, Wire::Opus)))
    }

    /// The peer is sending Opus now.
    pub fn receives_opus(&self, now: Instant) -> bool {
        self.opus_seen
            .is_some_and(|t| now.saturating_duration_since(t) < OPUS_FRESH)
    }

    /// Moves the Opus packets that arrived since the last call into `out`.
    pub fn take_opus_packets(&mut self, out: &mut Vec<OpusPacket>) {
        out.clear();
        out.append(&mut self.raw);
    }

    /// Opus if the peer took it, else a G.711 law.
    fn choose_wire(&mut self) -> Option<(Pt, Wire)> {
        let mid = self.mid?;
        let writer = self.rtc.writer(mid)?;
        let mut g711 = None;
        for p in writer.payload_params() {
            match p.spec().codec {
                WireCodec::Opus => return Some((p.pt(), Wire::Opus)),
                WireCodec::PCMU if g711.is_none() => g711 = Some((p.pt(), Wire::G711(Codec::Pcmu))),
                WireCodec::PCMA if g711.is_none() => g711 = Some((p.pt(), Wire::G711(Codec::Pcma))),
                _ => {}
            }
        }
        g711
    }

    /// Sends what str0m queued.
    pub fn flush(&mut self, socket: &UdpSocket, c: &mut Counters) {
        for (to, data) in self.outbox.drain(..) {
            match socket.send_to(&data, to) {
                Ok(_) => {}
                Err(e) => {
                    c.send_errors += 1;
                    tracing::trace!(unit = self.unit.0, %to, error = %e, "WebRTC send failed");
                }
            }
        }
    }

    /// What str0m queued, for tests that carry it themselves.
    #[cfg(test)]
    pub(crate) fn take_outbox(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        std::mem::take(&mut self.outbox)
    }

    /// The oldest decoded 20 ms frame: its 8 kHz timestamp and µ-law codes.
    pub fn pop_frame(&mut self) -> Option<(u32, EncodedFrame)> {
        self.inbound.pop_front()
    }

    /// Why the connection failed, once (the endpoint reports it).
    pub fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    if self.outbox.len() < MAX_OUTBOX {
                        self.outbox.push((t.destination, t.contents.into()));
                    }
                }
                Ok(Output::Event(e)) => self.on_event(e, now),
                Err(e) => {
                    tracing::warn!(unit = self.unit.0, error = %e, "WebRTC connection failed");
                    super::stats::leg_failed();
                    self.failure = Some(e.to_string());
                    self.failed = true;
                    self.next_timeout = now + Duration::from_secs(3600);
                    break;
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::MediaAdded(m) if m.kind == MediaKind::Audio && self.mid.is_none() => {
                self.mid = Some(m.mid);
            }
            Event::MediaData(data) => self.on_media(data),
            Event::Connected => {
                self.connected = true;
                let setup = self
                    .first_rx
                    .map(|t| now.saturating_duration_since(t))
                    .unwrap_or_default();
                super::stats::record_handshake(setup);
                tracing::info!(unit = self.unit.0, local = %self.local, setup_ms = setup.as_millis() as u64,
                    "WebRTC leg connected (ICE and DTLS-SRTP)");
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(unit = self.unit.0, ?state, "WebRTC ICE state");
                if state == IceConnectionState::Disconnected {
                    tracing::info!(
                        unit = self.unit.0,
                        "WebRTC peer stopped answering consent checks"
                    );
                }
            }
            _ => {}
        }
    }

    /// Decoded audio from the peer, as 20 ms µ-law frames for the endpoint.
    fn on_media(&mut self, data: MediaData) {
        let start = data.time.rebase(Frequency::EIGHT_KHZ).numer() as u32;
        match data.params.spec().codec {
            WireCodec::Opus => {
                let Ok(opus) = opus_of(&mut self.opus) else {
                    return;
                };
                let n = match opus.decode(&data.data, &mut self.decoded) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::trace!(unit = self.unit.0, error = %e, "Opus decode failed");
                        return;
                    }
                };
                self.opus_seen = Some(data.network_time);
                if let Some(w) = self.wide.as_mut() {
                    if let Ok(n) = w.opus.decode(&data.data, &mut w.decoded[..]) {
                        for chunk in w.decoded.get(..n).unwrap_or(&[]).chunks_exact(WIDE_SAMPLES) {
                            let mut frame = [0i16; WIDE_SAMPLES];
                            frame.copy_from_slice(chunk);
                            if w.frames.len() >= WIDE_MAX {
                                w.frames.pop_front();
                            }
                            w.frames.push_back(frame);
                        }
                    }
                }
                if self.raw.len() >= MAX_RAW {
                    self.raw.remove(0);
                }
                let at = data.time.rebase(Frequency::FORTY_EIGHT_KHZ).numer();
                self.raw.push((at, data.data));
                let pcm = self.decoded.get(..n).unwrap_or(&[]);
                for (k, chunk) in pcm.chunks_exact(FRAME_SAMPLES).enumerate() {
                    let mut frame = [0u8; FRAME_SAMPLES];
                    let mut samples = [0i16; FRAME_SAMPLES];
                    samples.copy_from_slice(chunk);
                    Codec::Pcmu.encode_frame(&samples, &mut frame);
                    let ts = start.wrapping_add((k * FRAME_SAMPLES) as u32);
                    queue(&mut self.inbound, ts, frame);
                }
            }
            WireCodec::PCMU | WireCodec::PCMA => {
                let law = if data.params.spec().codec == WireCodec::PCMU {
                    Codec::Pcmu
                } else {
                    Codec::Pcma
                };
                for (k, chunk) in data.data.chunks_exact(FRAME_SAMPLES).enumerate() {
                    let mut frame = [0u8; FRAME_SAMPLES];
                    if law == Codec::Pcmu {
                        frame.copy_from_slice(chunk);
                    } else {
                        let mut samples = [0i16; FRAME_SAMPLES];
                        law.decode(chunk, &mut samples);
                        Codec::Pcmu.encode_frame(&samples, &mut frame);
                    }
                    let ts = start.wrapping_add((k * FRAME_SAMPLES) as u32);
                    queue(&mut self.inbound, ts, frame);
                }
            }
            _ => {}
        }
    }
}

impl Drop for WebRtcConn {
    fn drop(&mut self) {
        super::stats::leg_closed();
    }
}

/// The leg's Opus codec, made on first use (by whichever comes first: the
/// first frame to send or the first packet to decode).
fn opus_of(slot: &mut Option<Box<Opus>>) -> Result<&mut Opus, super::OpusError> {
    let opus = match slot.take() {
        Some(o) => o,
        None => Box::new(Opus::new()?),
    };
    Ok(slot.insert(opus))
}

fn queue(inbound: &mut VecDeque<(u32, EncodedFrame)>, ts: u32, frame: EncodedFrame) {
    if inbound.len() >= MAX_INBOUND {
        inbound.pop_front();
    }
    inbound.push_back((ts, frame));
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
