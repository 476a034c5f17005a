//! webrtc-load: N browser-like WebRTC legs calling dialtone.
//!
//! Each call: its own UDP media socket on 127.0.0.1 with a str0m `Rtc` in
//! full-ICE (controlling) mode and one host candidate; the SDP offer of one
//! sendrecv audio stream (Opus preferred, PCMU too) goes out in an INVITE over
//! UDP from the client's one SIP socket (calls told apart by Call-ID); the 200's
//! answer is applied and the leg handed to a media worker thread, which sends a
//! looping Opus tone every 20 ms once DTLS-SRTP is up and counts what comes
//! back. Calls start at `--rate` per second, each is hung up (BYE) `--hold`
//! seconds after its 200. Progress on stderr, a JSON summary on stdout.
//!
//!     webrtc-load --target 127.0.0.1:5060 --calls 200 --rate 20 --hold 40

mod media;
mod sip;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

use media::{Cmd, Leg, LegReport, Note};
use sip::Msg;

struct Args {
    target: SocketAddr,
    user: String,
    calls: usize,
    rate: f64,
    hold: f64,
    legs_per_thread: usize,
    decode_every: usize,
    tone_hz: f64,
    timeout: f64,
    /// Offer only G.711 (PCMU, PCMA): DTLS-SRTP without Opus, to see what
    /// the Opus transcoding costs.
    g711_only: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: webrtc-load --codec-cost | webrtc-load --target IP:PORT [--user webrtc] [--calls 200] [--rate 20] [--hold 30] \
         [--legs-per-thread 50] [--decode-every 1] [--tone-hz 400] [--timeout SECONDS] [--codecs opus|g711]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        target: "127.0.0.1:5060".parse().unwrap_or_else(|_| usage()),
        user: "webrtc".into(),
        calls: 200,
        rate: 20.0,
        hold: 30.0,
        legs_per_thread: 50,
        decode_every: 1,
        tone_hz: 400.0,
        timeout: 0.0,
        g711_only: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_else(|| usage());
        match argv[i].as_str() {
            "--target" => a.target = v.parse().unwrap_or_else(|_| usage()),
            "--user" => a.user = v,
            "--calls" => a.calls = v.parse().unwrap_or_else(|_| usage()),
            "--rate" => a.rate = v.parse().unwrap_or_else(|_| usage()),
            "--hold" => a.hold = v.parse().unwrap_or_else(|_| usage()),
            "--legs-per-thread" => a.legs_per_thread = v.parse().unwrap_or_else(|_| usage()),
            "--decode-every" => a.decode_every = v.parse().unwrap_or_else(|_| usage()),
            "--tone-hz" => a.tone_hz = v.parse().unwrap_or_else(|_| usage()),
            "--timeout" => a.timeout = v.parse().unwrap_or_else(|_| usage()),
            "--codecs" => {
                a.g711_only = match v.as_str() {
                    "opus" => false,
                    "g711" => true,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
        i += 2;
    }
    if a.rate <= 0.0 || a.legs_per_thread == 0 {
        usage();
    }
    a
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Inviting,
    Up,
    Byeing,
    Done,
}

struct Call {
    id: usize,
    call_id: String,
    from_tag: String,
    branch: String,
    to_header: Option<String>,
    remote_target: String,
    state: State,
    /// The request being retransmitted (INVITE, then BYE) and its timer.
    request: String,
    next_retx: Instant,
    retx_every: Duration,
    give_up: Instant,
    got_provisional: bool,
    ack: Option<String>,
    invite_sent: Instant,
    invite_to_200_ms: Option<f64>,
    hangup_at: Option<Instant>,
    pending: Option<(Leg, SdpPendingOffer)>,
    worker: usize,
    connected: bool,
    error: Option<String>,
    report: Option<LegReport>,
    remote_bye: bool,
    bye_ok: bool,
}

struct Client {
    args: Args,
    sip: UdpSocket,
    local: SocketAddr,
    calls: Vec<Call>,
    by_call_id: HashMap<String, usize>,
    workers: Vec<Sender<Cmd>>,
    rng: sip::Rng,
    connected: usize,
    failures: BTreeMap<String, usize>,
}

impl Client {
    fn fail(&mut self, idx: usize, why: String) {
        let c = &mut self.calls[idx];
        if c.error.is_none() {
            eprintln!("call {}: {}", c.id, why);
            *self.failures.entry(why.split(':').next().unwrap_or("").to_string()).or_default() += 1;
            c.error = Some(why);
        }
    }

    fn send(&self, msg: &str) {
        send(&self.sip, self.args.target, msg);
    }

    /// A new call: media socket, Rtc with a host candidate, offer, INVITE.
    fn start_call(&mut self, id: usize, now: Instant) {
        let call_id = format!("{}-{}@webrtc-load", self.rng.hex(12), id);
        let from_tag = self.rng.hex(8);
        let branch = format!("z9hG4bK{}", self.rng.hex(16));
        let mut call = Call {
            id,
            call_id: call_id.clone(),
            from_tag,
            branch,
            to_header: None,
            remote_target: format!("sip:{}@{}", self.args.user, self.args.target),
            state: State::Inviting,
            request: String::new(),
            next_retx: now + Duration::from_millis(500),
            retx_every: Duration::from_millis(500),
            give_up: now + Duration::from_secs(32),
            got_provisional: false,
            ack: None,
            invite_sent: now,
            invite_to_200_ms: None,
            hangup_at: None,
            pending: None,
            worker: id / self.args.legs_per_thread % self.workers.len(),
            connected: false,
            error: None,
            report: None,
            remote_bye: false,
            bye_ok: false,
        };
        let idx = self.calls.len();
        self.by_call_id.insert(call_id, idx);
        match make_leg(id, id % self.args.decode_every.max(1) == 0, self.args.g711_only) {
            Ok((leg, pending, offer)) => {
                call.pending = Some((leg, pending));
                call.request = sip::invite(&call_sip(&call), self.local, &self.args.user, self.args.target, &offer);
                self.send(&call.request);
                self.calls.push(call);
            }
            Err(e) => {
                call.state = State::Done;
                self.calls.push(call);
                self.fail(idx, format!("leg: {e}"));
            }
        }
    }

    fn on_datagram(&mut self, data: &[u8], now: Instant) {
        if debug() {
            eprintln!("<<<\n{}", String::from_utf8_lossy(data));
        }
        let Some(msg) = Msg::parse(data) else { return };
        let Some(idx) = msg.header("call-id").and_then(|c| self.by_call_id.get(c).copied()) else {
            if let Some(method) = msg.method() {
                if method != "ACK" {
                    self.send(&sip::response(&msg, 481, "Call/Transaction Does Not Exist"));
                }
            }
            return;
        };
        match msg.status() {
            Some(code) => self.on_response(idx, &msg, code, now),
            None => self.on_request(idx, &msg),
        }
    }

    fn on_response(&mut self, idx: usize, msg: &Msg, code: u16, now: Instant) {
        let method = msg.cseq_method().unwrap_or_default();
        if method == "INVITE" {
            let c = &mut self.calls[idx];
            if code < 200 {
                c.got_provisional = true;
                return;
            }
            if code >= 300 {
                if c.state == State::Inviting {
                    let ack = sip::ack_failure(&call_sip(c), self.local, msg);
                    send(&self.sip, self.args.target, &ack);
                    c.state = State::Done;
                    c.pending = None;
                    self.fail(idx, format!("INVITE answered {code}"));
                }
                return;
            }
            // 2xx
            if c.state != State::Inviting {
                if let Some(ack) = &c.ack {
                    let ack = ack.clone();
                    send(&self.sip, self.args.target, &ack);
                }
                return;
            }
            c.to_header = msg.header("to").map(str::to_string);
            if let Some(uri) = msg.header("contact").and_then(sip::uri_of) {
                c.remote_target = uri;
            }
            c.invite_to_200_ms = Some((now - c.invite_sent).as_secs_f64() * 1000.0);
            let ack = sip::in_dialog(&call_sip(c), self.local, "ACK", 1, &c.remote_target, &self.rng.hex(16));
            send(&self.sip, self.args.target, &ack);
            c.ack = Some(ack);
            c.state = State::Up;
            c.hangup_at = Some(now + Duration::from_secs_f64(self.args.hold));
            let Some((mut leg, pending)) = c.pending.take() else { return };
            let answer = SdpAnswer::from_sdp_string(msg.body())
                .map_err(|e| format!("answer SDP: {e}"))
                .and_then(|a| leg.rtc.sdp_api().accept_answer(pending, a).map_err(|e| format!("accept_answer: {e}")));
            match answer {
                Ok(()) => {
                    leg.answered_at = Instant::now();
                    let w = c.worker;
                    let _ = self.workers[w].send(Cmd::Add(Box::new(leg)));
                }
                Err(e) => {
                    self.fail(idx, e);
                    self.hang_up(idx, now);
                }
            }
        } else if method == "BYE" && code >= 200 {
            let c = &mut self.calls[idx];
            if c.state == State::Byeing {
                c.state = State::Done;
                c.bye_ok = (200..300).contains(&code);
                if !c.bye_ok {
                    self.fail(idx, format!("BYE answered {code}"));
                }
            }
        }
    }

    fn on_request(&mut self, idx: usize, msg: &Msg) {
        let method = msg.method().unwrap_or_default().to_string();
        match method.as_str() {
            "ACK" => {}
            "BYE" => {
                self.send(&sip::response(msg, 200, "OK"));
                let c = &mut self.calls[idx];
                if matches!(c.state, State::Up | State::Byeing) {
                    c.remote_bye = true;
                    c.state = State::Done;
                    let _ = self.workers[c.worker].send(Cmd::Stop(c.id));
                    self.fail(idx, "BYE from dialtone".into());
                }
            }
            "OPTIONS" => self.send(&sip::response(msg, 200, "OK")),
            _ => self.send(&sip::response(msg, 488, "Not Acceptable Here")),
        }
    }

    fn hang_up(&mut self, idx: usize, now: Instant) {
        let branch = self.rng.hex(16);
        let c = &mut self.calls[idx];
        if c.state != State::Up {
            return;
        }
        let _ = self.workers[c.worker].send(Cmd::Stop(c.id));
        c.request = sip::in_dialog(&call_sip(c), self.local, "BYE", 2, &c.remote_target, &branch);
        c.state = State::Byeing;
        c.retx_every = Duration::from_millis(500);
        c.next_retx = now + c.retx_every;
        c.give_up = now + Duration::from_secs(8);
        let req = c.request.clone();
        self.send(&req);
    }

    fn timers(&mut self, now: Instant) {
        for idx in 0..self.calls.len() {
            let c = &mut self.calls[idx];
            match c.state {
                State::Inviting | State::Byeing => {
                    if now >= c.give_up {
                        let what = if c.state == State::Inviting { "INVITE timed out" } else { "BYE timed out" };
                        c.state = State::Done;
                        c.pending = None;
                        self.fail(idx, what.into());
                        continue;
                    }
                    let resend = !(c.state == State::Inviting && c.got_provisional);
                    if resend && now >= c.next_retx {
                        c.retx_every = (c.retx_every * 2).min(Duration::from_secs(4));
                        c.next_retx = now + c.retx_every;
                        let req = c.request.clone();
                        self.send(&req);
                    }
                }
                State::Up => {
                    if c.hangup_at.is_some_and(|t| now >= t) {
                        self.hang_up(idx, now);
                    }
                }
                State::Done => {}
            }
        }
    }

    fn on_note(&mut self, note: Note, lateness: &mut Vec<u64>) {
        match note {
            Note::Connected(id) => {
                if let Some(c) = self.calls.get_mut(id) {
                    c.connected = true;
                    self.connected += 1;
                }
            }
            Note::Failed(id, why) => {
                if id < self.calls.len() {
                    self.fail(id, format!("media: {why}"));
                }
            }
            Note::Report(r) => {
                if let Some(c) = self.calls.get_mut(r.id) {
                    c.report = Some(r);
                }
            }
            Note::Lateness(h) => {
                for (a, b) in lateness.iter_mut().zip(h) {
                    *a += b;
                }
            }
        }
    }
}

fn send(sock: &UdpSocket, target: SocketAddr, msg: &str) {
    if debug() {
        eprintln!(">>> {target}\n{msg}");
    }
    let _ = sock.send_to(msg.as_bytes(), target);
}

/// WEBRTC_LOAD_DEBUG=1 prints every SIP message sent and received.
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("WEBRTC_LOAD_DEBUG").is_some_and(|v| v != "0"))
}

fn call_sip(c: &Call) -> sip::Dialog<'_> {
    sip::Dialog {
        call_id: &c.call_id,
        from_tag: &c.from_tag,
        branch: &c.branch,
        to: c.to_header.as_deref(),
        id: c.id,
    }
}

/// The leg's media socket and Rtc (full ICE, controlling: it makes the offer)
/// and the SDP offer for the INVITE.
fn make_leg(id: usize, decode: bool, g711_only: bool) -> Result<(Leg, SdpPendingOffer, String), String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    sock.set_nonblocking(true).map_err(|e| format!("nonblocking: {e}"))?;
    let local = sock.local_addr().map_err(|e| format!("local_addr: {e}"))?;
    let now = Instant::now();
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(!g711_only, false)
        .enable_pcmu(true, false)
        .enable_pcma(true, false)
        .build(now);
    let cand = Candidate::host(local, "udp").map_err(|e| format!("candidate: {e}"))?;
    rtc.add_local_candidate(cand);
    let mut api = rtc.sdp_api();
    let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    let leg = Leg::new(id, sock, local, rtc, mid, decode);
    Ok((leg, pending, offer.to_sdp_string()))
}

fn percentiles(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "null".into();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        let k = (v.len() - 1) as f64 * p;
        let (lo, hi) = (k.floor() as usize, k.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (k - lo as f64)
    };
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    format!(
        "{{\"n\": {}, \"min\": {:.2}, \"mean\": {:.2}, \"p50\": {:.2}, \"p90\": {:.2}, \"p99\": {:.2}, \"max\": {:.2}}}",
        v.len(),
        v[0],
        mean,
        q(0.5),
        q(0.9),
        q(0.99),
        v[v.len() - 1]
    )
}

fn hist_percentile(h: &[u64], p: f64) -> Option<usize> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let want = (total as f64 * p).ceil() as u64;
    let mut acc = 0;
    for (i, n) in h.iter().enumerate() {
        acc += n;
        if acc >= want {
            return Some(i);
        }
    }
    Some(h.len() - 1)
}

/// `webrtc-load --codec-cost`: what one leg's audio costs in libopus with
/// the settings of dialtone's WebRTC endpoint (8 kHz mono, VoIP, in-band
/// FEC; 20 ms frames of a tone), per complexity: encode and decode µs per
/// frame and % of one core per leg (50 frames a second each way).
fn codec_cost() {
    let frames = 5000;
    let pcm: Vec<Vec<i16>> = (0..50)
        .map(|f| {
            (0..160)
                .map(|i| {
                    let t = (f * 160 + i) as f64 / 8000.0;
                    (9830.0 * (2.0 * std::f64::consts::PI * 400.0 * t).sin()) as i16
                })
                .collect()
        })
        .collect();
    let mut out = vec![0u8; 1500];
    let mut dec_out = vec![0i16; 960];
    println!("[");
    for (k, complexity) in [None, Some(10), Some(5), Some(3), Some(1)].into_iter().enumerate() {
        let Ok(mut enc) = opus::Encoder::new(8000, opus::Channels::Mono, opus::Application::Voip) else { return };
        let _ = enc.set_inband_fec(true);
        if let Some(c) = complexity {
            let _ = enc.set_complexity(c);
        }
        let effective = enc.get_complexity().unwrap_or(-1);
        let Ok(mut dec) = opus::Decoder::new(8000, opus::Channels::Mono) else { return };
        let mut packets = Vec::new();
        let t = Instant::now();
        for f in 0..frames {
            let n = enc.encode(&pcm[f % 50], &mut out).unwrap_or(0);
            if f < 50 {
                packets.push(out[..n].to_vec());
            }
        }
        let enc_us = t.elapsed().as_secs_f64() * 1e6 / frames as f64;
        let t = Instant::now();
        for f in 0..frames {
            let _ = dec.decode(&packets[f % 50], &mut dec_out, false);
        }
        let dec_us = t.elapsed().as_secs_f64() * 1e6 / frames as f64;
        let pct = (enc_us + dec_us) * 50.0 / 1e6 * 100.0;
        let label = complexity.map(|c| c.to_string()).unwrap_or_else(|| "default".into());
        println!(
            "  {{\"complexity\": \"{label}\", \"effective\": {effective}, \"encode_us\": {enc_us:.1}, \"decode_us\": {dec_us:.1}, \"pct_of_core_per_leg\": {pct:.3}}}{}",
            if k < 4 { "," } else { "" }
        );
    }
    println!("]");
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--codec-cost") {
        codec_cost();
        return;
    }
    let args = parse_args();
    let frames = match media::make_frames(args.tone_hz) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let sip = match UdpSocket::bind("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("SIP socket: {e}");
            std::process::exit(1);
        }
    };
    let _ = sip.set_read_timeout(Some(Duration::from_millis(2)));
    let local = sip.local_addr().expect("bound socket has an address");
    let threads = args.calls.div_ceil(args.legs_per_thread).max(1);
    let (note_tx, note_rx) = channel();
    let mut workers = Vec::new();
    let mut handles = Vec::new();
    for w in 0..threads {
        let (tx, rx) = channel();
        let notes = note_tx.clone();
        let frames = frames.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("media-{w}"))
                .spawn(move || media::worker(rx, notes, frames))
                .expect("spawn media worker"),
        );
        workers.push(tx);
    }
    drop(note_tx);
    let seed = std::process::id() as u64 ^ (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1));
    let mut client = Client {
        sip,
        local,
        calls: Vec::with_capacity(args.calls),
        by_call_id: HashMap::new(),
        workers,
        rng: sip::Rng::new(seed),
        connected: 0,
        failures: BTreeMap::new(),
        args,
    };
    let n = client.args.calls;
    let t0 = Instant::now();
    let ramp = Duration::from_secs_f64(n as f64 / client.args.rate);
    let hard_stop = t0
        + Duration::from_secs_f64(if client.args.timeout > 0.0 {
            client.args.timeout
        } else {
            ramp.as_secs_f64() + client.args.hold + 60.0
        });
    let mut started = 0;
    let mut buf = vec![0u8; 65536];
    let mut last_progress = t0;
    let mut lateness = vec![0u64; media::LATE_BUCKETS];
    let mut all_up_at: Option<f64> = None;
    loop {
        let now = Instant::now();
        while started < n && now >= t0 + Duration::from_secs_f64(started as f64 / client.args.rate) {
            client.start_call(started, now);
            started += 1;
        }
        for _ in 0..256 {
            match client.sip.recv_from(&mut buf) {
                Ok((len, _)) => {
                    let data = buf[..len].to_vec();
                    client.on_datagram(&data, Instant::now());
                }
                Err(_) => break,
            }
        }
        while let Ok(note) = note_rx.try_recv() {
            client.on_note(note, &mut lateness);
        }
        let now = Instant::now();
        client.timers(now);
        let done = client.calls.iter().filter(|c| c.state == State::Done).count();
        let failed = client.calls.iter().filter(|c| c.error.is_some()).count();
        let up = client.calls.iter().filter(|c| c.connected && c.state == State::Up && c.error.is_none()).count();
        if all_up_at.is_none() && client.connected + failed >= n {
            all_up_at = Some((now - t0).as_secs_f64());
        }
        if now - last_progress >= Duration::from_millis(500) {
            last_progress = now;
            eprintln!(
                "progress t={:.1} started={} connected={} up={} failed={} done={}",
                (now - t0).as_secs_f64(),
                started,
                client.connected,
                up,
                failed,
                done
            );
        }
        if started == n && done == n {
            break;
        }
        if now >= hard_stop {
            eprintln!("hard stop: {} of {} calls not finished", n - done, n);
            break;
        }
    }
    // Reports of legs still with their worker, then the workers' lateness.
    client.workers.clear();
    for h in handles {
        let _ = h.join();
    }
    while let Ok(note) = note_rx.try_recv() {
        client.on_note(note, &mut lateness);
    }
    let wall = t0.elapsed().as_secs_f64();
    summary(&client, &lateness, wall, all_up_at);
}

fn summary(client: &Client, lateness: &[u64], wall: f64, all_up_at: Option<f64>) {
    let calls = &client.calls;
    let n = client.args.calls;
    let answered = calls.iter().filter(|c| c.invite_to_200_ms.is_some()).count();
    let connected = calls.iter().filter(|c| c.connected).count();
    let failed = calls.iter().filter(|c| c.error.is_some()).count();
    let ok = calls.iter().filter(|c| c.error.is_none() && c.connected && c.bye_ok).count();
    let reports: Vec<&LegReport> = calls.iter().filter_map(|c| c.report.as_ref()).collect();
    let hs: Vec<f64> = reports.iter().filter_map(|r| r.handshake_ms).collect();
    let a2c: Vec<f64> = reports.iter().filter_map(|r| r.answer_to_connected_ms).collect();
    let i2o: Vec<f64> = calls.iter().filter_map(|c| c.invite_to_200_ms).collect();
    let media: Vec<&&LegReport> = reports.iter().filter(|r| r.connected_s > 0.0).collect();
    let sent_ps: Vec<f64> = media.iter().map(|r| r.sent as f64 / r.connected_s).collect();
    let recv_ps: Vec<f64> = media.iter().map(|r| r.received as f64 / r.connected_s).collect();
    let continuity: Vec<f64> = media.iter().filter(|r| r.sent > 0).map(|r| r.received as f64 / r.sent as f64).collect();
    let tone: Vec<f64> = media.iter().filter(|r| r.decoded > 0).map(|r| r.tone as f64 / r.decoded as f64).collect();
    let mut codecs: BTreeMap<String, usize> = BTreeMap::new();
    for r in &reports {
        *codecs.entry(r.codec.clone().unwrap_or_else(|| "none".into())).or_default() += 1;
    }
    let sum = |f: fn(&LegReport) -> u64| reports.iter().map(|r| f(r)).sum::<u64>();
    let json_map = |m: &BTreeMap<String, usize>| {
        let inner: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", sip::json_str(k), v)).collect();
        format!("{{{}}}", inner.join(", "))
    };
    let late_total: u64 = lateness.iter().sum();
    println!("{{");
    println!("  \"calls\": {n},");
    println!("  \"answered\": {answered},");
    println!("  \"connected\": {connected},");
    println!("  \"ok\": {ok},");
    println!("  \"failed\": {failed},");
    println!("  \"failures\": {},", json_map(&client.failures));
    println!("  \"legs_failed_in_media\": {},", reports.iter().filter(|r| r.failed.is_some()).count());
    println!("  \"rate\": {},", client.args.rate);
    println!("  \"hold_s\": {},", client.args.hold);
    println!("  \"media_threads\": {},", n.div_ceil(client.args.legs_per_thread).max(1));
    println!("  \"all_connected_at_s\": {},", all_up_at.map(|t| format!("{t:.2}")).unwrap_or("null".into()));
    println!("  \"wall_s\": {wall:.2},");
    println!("  \"handshake_ms\": {},", percentiles(hs));
    println!("  \"answer_to_connected_ms\": {},", percentiles(a2c));
    println!("  \"invite_to_200_ms\": {},", percentiles(i2o));
    println!("  \"codecs\": {},", json_map(&codecs));
    println!("  \"frames_sent\": {},", sum(|r| r.sent));
    println!("  \"frames_received\": {},", sum(|r| r.received));
    println!("  \"frames_decoded\": {},", sum(|r| r.decoded));
    println!("  \"frames_with_tone\": {},", sum(|r| r.tone));
    println!("  \"sent_per_s_per_leg\": {},", percentiles(sent_ps));
    println!("  \"received_per_s_per_leg\": {},", percentiles(recv_ps));
    println!("  \"received_over_sent\": {},", percentiles(continuity));
    println!("  \"tone_fraction_of_decoded\": {},", percentiles(tone));
    println!(
        "  \"client_send_lateness_ms\": {{\"frames\": {late_total}, \"p50\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}",
        opt(hist_percentile(lateness, 0.5)),
        opt(hist_percentile(lateness, 0.99)),
        opt(hist_percentile(lateness, 0.999)),
        opt(lateness.iter().rposition(|&x| x > 0))
    );
    println!("}}");
}

fn opt(v: Option<usize>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "null".into())
}
