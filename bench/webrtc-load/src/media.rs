//! The media side of the load client: worker threads, each driving the str0m
//! `Rtc`s of its legs from one `poll(2)` loop over their UDP sockets.
//!
//! A leg is handed to a worker once its SDP answer has been applied; from then
//! on the worker feeds it datagrams and timeouts, sends a 20 ms audio frame
//! every 20 ms once DTLS-SRTP is up, counts (and on sampled legs decodes) the
//! frames that come back, and returns the leg's figures when told to stop.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

pub const FRAME: Duration = Duration::from_millis(20);
/// Lateness of a frame's send against its 20 ms schedule, 1 ms buckets.
pub const LATE_BUCKETS: usize = 101;

/// The audio every leg sends, encoded once: a looping tone as Opus (48 kHz,
/// 960 samples a frame) and as G.711 µ-law (8 kHz, 160), in case the peer
/// answered without Opus.
pub struct Frames {
    pub opus: Vec<Arc<[u8]>>,
    pub pcmu: Vec<Arc<[u8]>>,
    pub tone_hz: f64,
}

pub struct Leg {
    pub id: usize,
    pub sock: UdpSocket,
    pub local: SocketAddr,
    pub rtc: Rtc,
    pub mid: Mid,
    /// When the SDP answer was applied (the leg starts its ICE checks then).
    pub answered_at: Instant,
    pub decode: bool,
    first_tx: Option<Instant>,
    connected_at: Option<Instant>,
    send: Option<(Pt, Codec)>,
    next_frame: Option<Instant>,
    rtp_time: u64,
    frame_idx: usize,
    sent: u64,
    received: u64,
    decoded: u64,
    tone: u64,
    decoder: Option<opus::Decoder>,
    pcm: Vec<i16>,
    next_timeout: Instant,
    failed: Option<String>,
}

/// What a leg reports when it is stopped.
#[derive(Debug, Clone, Default)]
pub struct LegReport {
    pub id: usize,
    /// First datagram sent (STUN) -> `Event::Connected` (DTLS-SRTP keys).
    pub handshake_ms: Option<f64>,
    /// Answer applied -> `Event::Connected`.
    pub answer_to_connected_ms: Option<f64>,
    pub codec: Option<String>,
    pub sent: u64,
    pub received: u64,
    pub decoded: u64,
    pub tone: u64,
    pub connected_s: f64,
    pub failed: Option<String>,
}

pub enum Cmd {
    Add(Box<Leg>),
    Stop(usize),
}

pub enum Note {
    Connected(usize),
    Failed(usize, String),
    Report(LegReport),
    Lateness(Vec<u64>),
}

impl Leg {
    pub fn new(id: usize, sock: UdpSocket, local: SocketAddr, rtc: Rtc, mid: Mid, decode: bool) -> Leg {
        let now = Instant::now();
        Leg {
            id,
            sock,
            local,
            rtc,
            mid,
            answered_at: now,
            decode,
            first_tx: None,
            connected_at: None,
            send: None,
            next_frame: None,
            rtp_time: 0,
            frame_idx: 0,
            sent: 0,
            received: 0,
            decoded: 0,
            tone: 0,
            decoder: None,
            pcm: vec![0; 5760],
            next_timeout: now,
            failed: None,
        }
    }

    /// Everything str0m has to say after an input: datagrams to send, events.
    pub fn drain(&mut self, now: Instant, notes: &Sender<Note>, tone_hz: f64) {
        if self.failed.is_some() {
            return;
        }
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    self.first_tx.get_or_insert(now);
                    let _ = self.sock.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => self.event(now, e, notes, tone_hz),
                Err(e) => {
                    self.fail(format!("str0m: {e}"), notes);
                    break;
                }
            }
        }
    }

    fn fail(&mut self, why: String, notes: &Sender<Note>) {
        if self.failed.is_none() {
            let _ = notes.send(Note::Failed(self.id, why.clone()));
            self.failed = Some(why);
        }
    }

    fn event(&mut self, now: Instant, e: Event, notes: &Sender<Note>, tone_hz: f64) {
        match e {
            Event::Connected => {
                if self.connected_at.is_some() {
                    return;
                }
                self.connected_at = Some(now);
                let choice = self.rtc.writer(self.mid).and_then(|w| {
                    let params: Vec<(Pt, Codec)> =
                        w.payload_params().map(|p| (p.pt(), p.spec().codec)).collect();
                    params
                        .iter()
                        .find(|(_, c)| *c == Codec::Opus)
                        .or_else(|| params.iter().find(|(_, c)| *c == Codec::PCMU))
                        .copied()
                });
                match choice {
                    Some(c) => {
                        self.send = Some(c);
                        self.next_frame = Some(now);
                        let _ = notes.send(Note::Connected(self.id));
                    }
                    None => self.fail("no Opus or PCMU in the answer".into(), notes),
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.fail("ICE disconnected".into(), notes);
            }
            Event::MediaData(d) => {
                self.received += 1;
                if self.decode {
                    self.decode_frame(&d.data, tone_hz);
                }
            }
            _ => {}
        }
    }

    /// Decodes a received frame to 8 kHz and checks it carries the tone we
    /// send (it came back through dialtone, G.711 and the echo).
    fn decode_frame(&mut self, data: &[u8], tone_hz: f64) {
        let n = match self.send.map(|s| s.1) {
            Some(Codec::Opus) => {
                if self.decoder.is_none() {
                    self.decoder = opus::Decoder::new(8000, opus::Channels::Mono).ok();
                }
                let Some(dec) = self.decoder.as_mut() else { return };
                match dec.decode(data, &mut self.pcm, false) {
                    Ok(n) => n,
                    Err(_) => return,
                }
            }
            Some(Codec::PCMU) => {
                let n = data.len().min(self.pcm.len());
                for (o, b) in self.pcm.iter_mut().zip(data) {
                    *o = ulaw_to_linear(*b);
                }
                n
            }
            _ => return,
        };
        self.decoded += 1;
        if has_tone(&self.pcm[..n], tone_hz, 8000.0) {
            self.tone += 1;
        }
    }

    pub fn receive(&mut self, now: Instant, from: SocketAddr, data: &[u8], notes: &Sender<Note>, tone_hz: f64) {
        if self.failed.is_some() {
            return;
        }
        let Ok(r) = Receive::new(Protocol::Udp, from, self.local, data) else { return };
        if let Err(e) = self.rtc.handle_input(Input::Receive(now, r)) {
            self.fail(format!("str0m input: {e}"), notes);
            return;
        }
        self.drain(now, notes, tone_hz);
    }

    pub fn timeout(&mut self, now: Instant, notes: &Sender<Note>, tone_hz: f64) {
        if self.failed.is_some() || now < self.next_timeout {
            return;
        }
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.fail(format!("str0m timeout: {e}"), notes);
            return;
        }
        self.drain(now, notes, tone_hz);
    }

    /// Sends the frames due by `now` (at most 5 at once after a stall).
    fn send_due(&mut self, now: Instant, frames: &Frames, late: &mut [u64], notes: &Sender<Note>) {
        let (Some(mut due), Some((pt, codec))) = (self.next_frame, self.send) else { return };
        if self.failed.is_some() || now < due {
            return;
        }
        let mut n = 0;
        while now >= due && n < 5 {
            let ms = (now - due).as_millis() as usize;
            late[ms.min(LATE_BUCKETS - 1)] += 1;
            let (data, step, freq) = match codec {
                Codec::Opus => (&frames.opus, 960, Frequency::FORTY_EIGHT_KHZ),
                _ => (&frames.pcmu, 160, Frequency::EIGHT_KHZ),
            };
            let frame = data[self.frame_idx % data.len()].clone();
            self.frame_idx += 1;
            if let Some(w) = self.rtc.writer(self.mid) {
                if w.write(pt, now, MediaTime::new(self.rtp_time, freq), frame).is_ok() {
                    self.sent += 1;
                }
            }
            self.rtp_time += step;
            due += FRAME;
            n += 1;
        }
        if now >= due {
            due = now + FRAME; // stalled: skip rather than burst
        }
        self.next_frame = Some(due);
        self.drain(now, notes, frames.tone_hz);
    }

    fn deadline(&self) -> Instant {
        match self.next_frame {
            Some(f) if self.failed.is_none() => f.min(self.next_timeout),
            _ => self.next_timeout,
        }
    }

    pub fn report(&self, now: Instant) -> LegReport {
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        LegReport {
            id: self.id,
            handshake_ms: match (self.first_tx, self.connected_at) {
                (Some(a), Some(b)) => Some(ms(a, b)),
                _ => None,
            },
            answer_to_connected_ms: self.connected_at.map(|b| ms(self.answered_at, b)),
            codec: self.send.map(|(_, c)| format!("{c:?}").to_lowercase()),
            sent: self.sent,
            received: self.received,
            decoded: self.decoded,
            tone: self.tone,
            connected_s: self.connected_at.map(|c| (now - c).as_secs_f64()).unwrap_or(0.0),
            failed: self.failed.clone(),
        }
    }
}

/// One worker thread: runs until its command channel closes.
pub fn worker(cmds: Receiver<Cmd>, notes: Sender<Note>, frames: Arc<Frames>) {
    let mut legs: Vec<Box<Leg>> = Vec::new();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut late = vec![0u64; LATE_BUCKETS];
    let tone_hz = frames.tone_hz;
    loop {
        loop {
            match cmds.try_recv() {
                Ok(Cmd::Add(leg)) => {
                    let mut leg = leg;
                    // The answer was applied on the SIP thread: start ICE now.
                    let now = Instant::now();
                    leg.timeout(now, &notes, tone_hz);
                    leg.drain(now, &notes, tone_hz);
                    legs.push(leg);
                }
                Ok(Cmd::Stop(id)) => {
                    if let Some(i) = legs.iter().position(|l| l.id == id) {
                        let mut leg = legs.swap_remove(i);
                        leg.rtc.disconnect();
                        let _ = notes.send(Note::Report(leg.report(Instant::now())));
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let now = Instant::now();
                    for leg in &legs {
                        let _ = notes.send(Note::Report(leg.report(now)));
                    }
                    let _ = notes.send(Note::Lateness(late));
                    return;
                }
            }
        }
        let now = Instant::now();
        let mut next = now + Duration::from_millis(5);
        for leg in &legs {
            next = next.min(leg.deadline());
        }
        let wait = next.saturating_duration_since(now);
        let timeout_ms = (wait.as_micros() as i32 + 999) / 1000;
        fds.clear();
        fds.extend(legs.iter().map(|l| libc::pollfd { fd: l.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 }));
        // SAFETY: `fds` is a valid, exclusively borrowed array of pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms.clamp(0, 5)) };
        let now = Instant::now();
        for (leg, fd) in legs.iter_mut().zip(&fds) {
            if fd.revents & libc::POLLIN != 0 {
                for _ in 0..64 {
                    match leg.sock.recv_from(&mut buf) {
                        Ok((n, from)) => leg.receive(now, from, &buf[..n], &notes, tone_hz),
                        Err(_) => break,
                    }
                }
            }
            leg.timeout(now, &notes, tone_hz);
            leg.send_due(now, &frames, &mut late, &notes);
        }
    }
}

/// True when most of the frame's energy is at `hz` (Goertzel) and it is not
/// silence.
pub fn has_tone(pcm: &[i16], hz: f64, rate: f64) -> bool {
    if pcm.is_empty() {
        return false;
    }
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2, mut energy) = (0.0f64, 0.0f64, 0.0f64);
    for &x in pcm {
        let x = x as f64;
        energy += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = pcm.len() as f64;
    let rms = (energy / n).sqrt();
    // A pure tone of amplitude A gives power (A*n/2)^2 and energy A^2*n/2.
    let tone_energy = 2.0 * power / n;
    rms > 200.0 && tone_energy > 0.5 * energy
}

pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0f) as i32;
    let mut sample = ((mantissa << 3) + 0x84) << exponent;
    sample -= 0x84;
    (if sign != 0 { -sample } else { sample }) as i16
}

pub fn linear_to_ulaw(s: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut x = s as i32;
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    x = x.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && x & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (x >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as i32 | mantissa) as u8
}

/// Encodes one second of a `hz` tone (a whole number of cycles a frame, so
/// the loop is seamless) with the opus crate: 48 kHz mono, VoIP, 20 ms. The
/// second of the two seconds encoded is kept (the encoder has settled).
pub fn make_frames(hz: f64) -> Result<Frames, String> {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
        .map_err(|e| format!("opus encoder: {e}"))?;
    let amp = 0.3 * 32767.0;
    let mut opus_frames = Vec::new();
    let mut out = vec![0u8; 1500];
    for f in 0..100u64 {
        let pcm: Vec<i16> = (0..960u64)
            .map(|i| {
                let t = (f * 960 + i) as f64 / 48_000.0;
                (amp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect();
        let n = enc.encode(&pcm, &mut out).map_err(|e| format!("opus encode: {e}"))?;
        if f >= 50 {
            opus_frames.push(Arc::from(&out[..n]));
        }
    }
    let pcmu = (0..50u64)
        .map(|f| {
            let v: Vec<u8> = (0..160u64)
                .map(|i| {
                    let t = (f * 160 + i) as f64 / 8000.0;
                    linear_to_ulaw((amp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16)
                })
                .collect();
            Arc::from(v.as_slice())
        })
        .collect();
    Ok(Frames { opus: opus_frames, pcmu, tone_hz: hz })
}
