//! Prometheus metrics: counters the engine bumps as calls, sessions and HTTP
//! requests come and go, plus readings taken from the script host and the
//! media engine, rendered in the text exposition format 0.0.4 only when
//! `GET /metrics` is scraped.
//!
//! Every metric is documented in docs/metrics.md; keep the two in step.

use crate::history::Direction;
use crate::overload::gate::Sample as LoadSample;
use crate::overload::LoadWatch;
use dialtone_audio::{AudioLibrary, AudioStats};
use dialtone_calls::{AdmissionError, Overload};
use dialtone_core::messages::SessionEnd;
use dialtone_media::{MediaEngine, MediaStats};
use dialtone_script::ScriptHost;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The engine's own counters. Cheap to bump from any thread: plain atomics,
/// and a short mutex for the labelled ones.
#[derive(Default)]
pub struct Metrics {
    live_calls: AtomicU64,
    inbound_started: AtomicU64,
    outbound_started: AtomicU64,
    /// Calls that connected and then ended.
    calls_ended: AtomicU64,
    /// Calls that never connected, by the SIP code they ended with.
    calls_failed: Mutex<BTreeMap<u16, u64>>,
    sessions_started: AtomicU64,
    runtime_errors: AtomicU64,
    compile_errors: AtomicU64,
    http_requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// New sessions refused, by reason.
    sessions_refused: Mutex<BTreeMap<&'static str, u64>>,
    /// REGISTER responses, by code.
    registers: Mutex<BTreeMap<u16, u64>>,
    /// Bindings the registrar holds (as of its last answer).
    bindings: AtomicU64,
    /// Answers to our trunks' REGISTERs, by code.
    trunk_registers: Mutex<BTreeMap<u16, u64>>,
    /// Registering trunks: registered, failed, registering.
    trunk_states: Mutex<[u64; 3]>,
    /// Agent state changes, by the state entered.
    agent_states: Mutex<BTreeMap<&'static str, u64>>,
    /// Callers waiting in queues, and agents by state (as of the last change).
    acd: Mutex<(u64, [u64; 7])>,
}

/// What is read from elsewhere at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readings {
    pub live_sessions: usize,
    pub media: MediaStats,
    /// Overload control's readings and verdict.
    pub load: LoadSample,
    pub overload: Option<Overload>,
    /// The share of the set-up rate new sessions may use, ‰.
    pub setup_share: u64,
}

impl Metrics {
    /// A new call: an inbound INVITE that opens a dialog (even one refused at
    /// once), or a `callSIP`.
    pub fn call_started(&self, direction: Direction) {
        let counter = match direction {
            Direction::Inbound => &self.inbound_started,
            Direction::Outbound => &self.outbound_started,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A call that never connected ended with `code` (a final response we
    /// sent or got, or the code its end was reported with).
    pub fn call_failed(&self, code: u16) {
        *self.calls_failed.lock().entry(code).or_default() += 1;
    }

    /// A REGISTER was answered with `code`; the registrar holds `bindings`.
    pub fn register_answered(&self, code: u16, bindings: usize) {
        *self.registers.lock().entry(code).or_default() += 1;
        self.bindings.store(bindings as u64, Ordering::Relaxed);
    }

    /// A REGISTER of one of our trunks was answered with `code`.
    pub fn trunk_register_answered(&self, code: u16) {
        *self.trunk_registers.lock().entry(code).or_default() += 1;
    }

    /// Registering trunks by state.
    pub fn set_trunk_registrations(&self, registered: usize, failed: usize, registering: usize) {
        *self.trunk_states.lock() = [registered as u64, failed as u64, registering as u64];
    }

    /// Callers waiting and agents by state (`AgentState::ALL` order).
    pub fn set_acd(&self, waiting: usize, agents: [usize; 7]) {
        *self.acd.lock() = (waiting as u64, agents.map(|n| n as u64));
    }

    /// An agent entered `state`.
    pub fn agent_state(&self, state: &'static str) {
        *self.agent_states.lock().entry(state).or_default() += 1;
    }

    /// A connected call ended.
    pub fn call_ended(&self) {
        self.calls_ended.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls in the call core's table now; set by the task that owns it.
    pub fn set_live_calls(&self, n: usize) {
        self.live_calls.store(n as u64, Ordering::Relaxed);
    }

    pub fn session_started(&self) {
        self.sessions_started.fetch_add(1, Ordering::Relaxed);
    }

    /// A session ended; one that died of a script error is counted.
    pub fn session_ended(&self, reason: &SessionEnd) {
        let counter = match reason {
            SessionEnd::Normal => return,
            SessionEnd::ScriptError(_) => &self.runtime_errors,
            SessionEnd::CompileError(_) => &self.compile_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A new session (INVITE or REST) was refused.
    pub fn session_refused(&self, why: &AdmissionError) {
        let reason = match why {
            AdmissionError::ShuttingDown => "shutdown",
            AdmissionError::Overloaded => "history",
            AdmissionError::SessionLimit(_) => "session_limit",
            AdmissionError::SetupRate(_) => "setup_rate",
            AdmissionError::Busy(what) => what.as_str(),
        };
        *self.sessions_refused.lock().entry(reason).or_default() += 1;
    }

    /// An HTTP request got a response with `status`.
    pub fn http_request(&self, method: &str, status: u16) {
        *self
            .http_requests
            .lock()
            .entry((method_label(method), status))
            .or_default() += 1;
    }

    /// The whole scrape.
    pub fn render(&self, r: &Readings) -> String {
        let mut out = Exposition::default();
        out.family(
            "dialtone_build_info",
            "The running version of Dialtone (always 1).",
            Kind::Gauge,
        );
        out.sample(
            "dialtone_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );

        out.single(
            "dialtone_live_sessions",
            "Sessions running now.",
            Kind::Gauge,
            r.live_sessions as u64,
        );
        out.single(
            "dialtone_sessions_started_total",
            "Sessions started.",
            Kind::Counter,
            load(&self.sessions_started),
        );
        out.family(
            "dialtone_sessions_refused_total",
            "New sessions (INVITEs and REST requests) refused with 503, by reason: \
             overload (media, signalling, memory), history falling behind (history), \
             the session limit (session_limit), shutdown.",
            Kind::Counter,
        );
        for (reason, n) in self.sessions_refused.lock().iter() {
            out.sample("dialtone_sessions_refused_total", &[("reason", reason)], *n);
        }
        render_load(&mut out, &r.load, r.overload, r.setup_share);
        out.family(
            "dialtone_script_errors_total",
            "Sessions ended by a script error: an uncaught exception, the CPU budget or the \
             memory limit (kind=\"runtime\"), or a scenario that does not compile \
             (kind=\"compile\").",
            Kind::Counter,
        );
        for (kind, counter) in [
            ("runtime", &self.runtime_errors),
            ("compile", &self.compile_errors),
        ] {
            out.sample(
                "dialtone_script_errors_total",
                &[("kind", kind)],
                load(counter),
            );
        }

        out.single(
            "dialtone_registrar_bindings",
            "Contacts the registrar holds for users' phones (as of its last REGISTER).",
            Kind::Gauge,
            load(&self.bindings),
        );
        out.family(
            "dialtone_register_responses_total",
            "REGISTER requests answered, by SIP code: 200 bound, 401 challenged, 403 wrong \
             credentials, 423 expiry too brief, 400 malformed.",
            Kind::Counter,
        );
        for (code, n) in self.registers.lock().iter() {
            out.sample(
                "dialtone_register_responses_total",
                &[("code", &code.to_string())],
                *n,
            );
        }

        out.family(
            "dialtone_trunk_registrations",
            "Trunks that register with their provider, by state: registered, failed (retrying \
             after a back-off), registering.",
            Kind::Gauge,
        );
        let states = *self.trunk_states.lock();
        for (state, n) in ["registered", "failed", "registering"].iter().zip(states) {
            out.sample("dialtone_trunk_registrations", &[("state", state)], n);
        }
        out.family(
            "dialtone_trunk_register_responses_total",
            "Final answers to our trunks' REGISTERs, by SIP code (408: no answer, 503: \
             transport failed).",
            Kind::Counter,
        );
        for (code, n) in self.trunk_registers.lock().iter() {
            out.sample(
                "dialtone_trunk_register_responses_total",
                &[("code", &code.to_string())],
                *n,
            );
        }

        let (waiting, agents) = *self.acd.lock();
        out.single(
            "dialtone_acd_waiting",
            "Callers waiting in ACD queues (not counting those whose agent's phone rings).",
            Kind::Gauge,
            waiting,
        );
        out.family(
            "dialtone_acd_agents",
            "Contact-centre agents by state.",
            Kind::Gauge,
        );
        for (state, n) in dialtone_calls::AgentState::ALL.iter().zip(agents) {
            out.sample("dialtone_acd_agents", &[("state", state.as_str())], n);
        }
        out.family(
            "dialtone_agent_state_changes_total",
            "Contact-centre agents entering a state (loggedOut, notReady, ready, reserved, \
             talking, afterCallWork).",
            Kind::Counter,
        );
        for (state, n) in self.agent_states.lock().iter() {
            out.sample(
                "dialtone_agent_state_changes_total",
                &[("state", state)],
                *n,
            );
        }

        out.single(
            "dialtone_live_calls",
            "Calls (SIP legs) in progress now.",
            Kind::Gauge,
            load(&self.live_calls),
        );
        out.family(
            "dialtone_calls_started_total",
            "Calls started: inbound INVITEs opening a dialog, and outbound calls.",
            Kind::Counter,
        );
        for (direction, counter) in [
            ("inbound", &self.inbound_started),
            ("outbound", &self.outbound_started),
        ] {
            out.sample(
                "dialtone_calls_started_total",
                &[("direction", direction)],
                load(counter),
            );
        }
        out.family(
            "dialtone_calls_failed_total",
            "Calls that ended without connecting, by SIP code (rejected, busy, cancelled, \
             timed out, unroutable).",
            Kind::Counter,
        );
        for (code, n) in self.calls_failed.lock().iter() {
            out.sample(
                "dialtone_calls_failed_total",
                &[("code", &code.to_string())],
                *n,
            );
        }
        out.single(
            "dialtone_calls_ended_total",
            "Calls that connected and then ended.",
            Kind::Counter,
            load(&self.calls_ended),
        );

        render_media(&mut out, &r.media);

        out.family(
            "dialtone_http_requests_total",
            "Requests answered by the HTTP listener, by method and status.",
            Kind::Counter,
        );
        for ((method, status), n) in self.http_requests.lock().iter() {
            out.sample(
                "dialtone_http_requests_total",
                &[("method", method), ("status", &status.to_string())],
                *n,
            );
        }
        out.text
    }
}

fn render_load(out: &mut Exposition, l: &LoadSample, state: Option<Overload>, share: u64) {
    out.family(
        "dialtone_overloaded",
        "1 while new sessions are refused to protect the calls already up, with the \
         resource that is short (media, signalling, memory); 0 otherwise.",
        Kind::Gauge,
    );
    for what in [Overload::Media, Overload::Signalling, Overload::Memory] {
        let on = u64::from(state == Some(what));
        out.sample("dialtone_overloaded", &[("resource", what.as_str())], on);
    }
    out.single(
        "dialtone_media_load_permille",
        "The busiest media worker over its last 200 ms: per mille of its 20 ms clock \
         spent behind it (wake-up latency plus work).",
        Kind::Gauge,
        l.media,
    );
    out.single(
        "dialtone_signalling_load_permille",
        "The signalling loop's busy share over its last 200 ms, per mille (or the \
         runtime's scheduling delay, when higher).",
        Kind::Gauge,
        l.signalling,
    );
    out.single(
        "dialtone_setup_share_permille",
        "The share of the set-up rate new sessions may use, per mille: 1000 while media \
         and signalling are below their low marks, falling to 0 at their high marks.",
        Kind::Gauge,
        share,
    );
    out.single(
        "dialtone_resident_memory_bytes",
        "Resident memory of the process, as overload control last read it.",
        Kind::Gauge,
        l.rss,
    );
    out.single(
        "dialtone_memory_budget_bytes",
        "The memory budget overload control keeps to (0: memory is not watched).",
        Kind::Gauge,
        l.budget.unwrap_or(0),
    );
}

fn render_media(out: &mut Exposition, m: &MediaStats) {
    out.single(
        "dialtone_rtp_endpoints",
        "RTP endpoints (one UDP port each) open now.",
        Kind::Gauge,
        m.endpoints,
    );
    let counters = [
        (
            "dialtone_rtp_packets_in_total",
            "RTP datagrams received.",
            m.packets_in,
        ),
        (
            "dialtone_rtp_packets_out_total",
            "RTP packets sent.",
            m.packets_out,
        ),
        (
            "dialtone_rtp_packets_lost_total",
            "RTP packets never received, by sequence number.",
            m.packets_lost,
        ),
        (
            "dialtone_rtp_packets_dropped_total",
            "RTP datagrams discarded: malformed, for no configured endpoint, of a foreign \
             payload type, duplicate or late.",
            m.packets_dropped,
        ),
        (
            "dialtone_rtp_packets_foreign_total",
            "RTP datagrams dropped because they came from another source than the one the \
             call's endpoint latched to (also counted in dialtone_rtp_packets_dropped_total).",
            m.packets_foreign,
        ),
        (
            "dialtone_rtp_telephone_event_packets_total",
            "RFC 4733 telephone-event packets received.",
            m.telephone_event_packets,
        ),
        (
            "dialtone_rtp_send_errors_total",
            "RTP packets the socket refused to send.",
            m.send_errors,
        ),
        (
            "dialtone_media_late_ticks_total",
            "Media ticks skipped because a media worker fell behind.",
            m.late_ticks,
        ),
        (
            "dialtone_recorder_frames_dropped_total",
            "Recording frames dropped because the writer fell behind.",
            m.recorder_frames_dropped,
        ),
    ];
    for (name, help, value) in counters {
        out.single(name, help, Kind::Counter, value);
    }
    out.single(
        "dialtone_mixer_ticks_total",
        "Media worker ticks that mixed at least one conference.",
        Kind::Counter,
        m.mix_ticks,
    );
    out.single(
        "dialtone_mixer_nanoseconds_total",
        "Time those ticks spent mixing (members' frames summed, what each hears rendered).",
        Kind::Counter,
        m.mix_nanos,
    );
    let name = "dialtone_mixer_ticks_by_time_total";
    out.family(
        name,
        "Mixing ticks by the time mixing took in them: at most le_us microseconds \
         (le_us=\"inf\": longer than the largest bound). Not cumulative.",
        Kind::Counter,
    );
    for (i, count) in m.mix_buckets.iter().enumerate() {
        let bound = dialtone_media::MIX_BUCKETS_US
            .get(i)
            .map_or_else(|| "inf".to_string(), u64::to_string);
        out.sample(name, &[("le_us", &bound)], *count);
    }
    render_webrtc(out);
    let name = "dialtone_media_ticks_by_lateness_total";
    out.family(
        name,
        "Media ticks (of workers with units) by how late they started after their 20 ms \
         deadline: at most le_us microseconds (le_us=\"inf\": later). Every packet of a \
         tick goes out that late. Not cumulative.",
        Kind::Counter,
    );
    for (i, count) in m.lateness_buckets.iter().enumerate() {
        let bound = dialtone_media::MIX_BUCKETS_US
            .get(i)
            .map_or_else(|| "inf".to_string(), u64::to_string);
        out.sample(name, &[("le_us", &bound)], *count);
    }
}

fn render_webrtc(out: &mut Exposition) {
    let (legs, failed) = dialtone_media::webrtc::stats::legs();
    out.single(
        "dialtone_webrtc_legs",
        "WebRTC (ICE, DTLS-SRTP) connections of calls open now.",
        Kind::Gauge,
        legs,
    );
    out.single(
        "dialtone_webrtc_failed_total",
        "WebRTC connections that failed (DTLS or SRTP error).",
        Kind::Counter,
        failed,
    );
    let (buckets, sum_ms) = dialtone_media::webrtc::stats::handshakes();
    let name = "dialtone_webrtc_connect_total";
    out.family(
        name,
        "WebRTC legs connected, by the time from the peer's first datagram to DTLS-SRTP \
         keys (ICE check and DTLS handshake): at most le_ms milliseconds (le_ms=\"inf\": \
         longer). Not cumulative.",
        Kind::Counter,
    );
    for (i, count) in buckets.iter().enumerate() {
        let bound = dialtone_media::webrtc::stats::HANDSHAKE_BUCKETS_MS
            .get(i)
            .map_or_else(|| "inf".to_string(), u64::to_string);
        out.sample(name, &[("le_ms", &bound)], *count);
    }
    out.single(
        "dialtone_webrtc_connect_milliseconds_total",
        "Sum of the connect times of dialtone_webrtc_connect_total.",
        Kind::Counter,
        sum_ms,
    );
}

/// One audio cache's figures, as scraped.
struct CacheReading {
    cache: &'static str,
    bytes: u64,
    budget: u64,
    entries: u64,
    evictions: u64,
}

/// Which figure of a cache a family reports.
type CacheField = fn(&CacheReading) -> u64;

/// The audio caches: decoded clips in memory, downloads and speech on disk.
fn render_audio(a: &AudioStats) -> String {
    let disk = |cache, d: &dialtone_audio::DiskCacheStats| CacheReading {
        cache,
        bytes: d.bytes,
        budget: d.budget,
        entries: d.entries as u64,
        evictions: d.evictions,
    };
    let caches = [
        CacheReading {
            cache: "memory",
            bytes: a.cached_samples as u64 * 2,
            budget: a.memory_budget_samples as u64 * 2,
            entries: a.cached_clips as u64,
            evictions: a.memory_evictions,
        },
        disk("download", &a.download_cache),
        disk("tts", &a.tts_cache),
    ];
    let families: [(&str, &str, Kind, CacheField); 4] = [
        (
            "dialtone_audio_cache_bytes",
            "Bytes held by each audio cache: decoded clips in memory (memory), playback \
             downloads on disk (download), synthesized speech on disk (tts).",
            Kind::Gauge,
            |c| c.bytes,
        ),
        (
            "dialtone_audio_cache_budget_bytes",
            "The limit of each audio cache's bytes; past it the least recently used \
             entries are evicted.",
            Kind::Gauge,
            |c| c.budget,
        ),
        (
            "dialtone_audio_cache_entries",
            "Entries in each audio cache: clips, downloaded URLs, syntheses.",
            Kind::Gauge,
            |c| c.entries,
        ),
        (
            "dialtone_audio_cache_evictions_total",
            "Entries evicted from each audio cache to stay within its budget (on disk, \
             at start-up too).",
            Kind::Counter,
            |c| c.evictions,
        ),
    ];
    let mut out = Exposition::default();
    for (name, help, kind, value) in families {
        out.family(name, help, kind);
        for cache in &caches {
            out.sample(name, &[("cache", cache.cache)], value(cache));
        }
    }
    out.text
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Methods outside the standard set share one label value, so a client
/// cannot grow the series without bound.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// Text exposition format 0.0.4: a `# HELP` and a `# TYPE` line per family,
/// then its samples.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label_value(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, help: &str, kind: Kind, value: u64) {
        self.family(name, help, kind);
        self.sample(name, &[], value);
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What `GET /metrics` needs: the engine's counters and where to read the
/// live figures. Cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    metrics: Arc<Metrics>,
    host: ScriptHost,
    media: MediaEngine,
    load: Arc<LoadWatch>,
    /// Set once the audio library exists (it is made after the listener).
    audio: Arc<OnceLock<AudioLibrary>>,
}

impl Exporter {
    pub fn new(
        metrics: Arc<Metrics>,
        host: ScriptHost,
        media: MediaEngine,
        load: Arc<LoadWatch>,
    ) -> Exporter {
        Exporter {
            metrics,
            host,
            media,
            load,
            audio: Arc::default(),
        }
    }

    /// Where the audio cache figures come from.
    pub fn set_audio(&self, audio: AudioLibrary) {
        let _ = self.audio.set(audio);
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Reads the live figures and renders everything.
    pub fn scrape(&self) -> String {
        let audio = self
            .audio
            .get()
            .map(AudioLibrary::stats)
            .unwrap_or_default();
        let mut text = self.metrics.render(&Readings {
            live_sessions: self.host.live_sessions(),
            media: self.media.stats(),
            load: self.load.reading(),
            overload: self.load.overload(),
            setup_share: self.load.setup_share(),
        });
        text.push_str(&render_audio(&audio));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// One parsed sample: name, labels, value.
    type Sample = (String, Vec<(String, String)>, u64);

    /// A strict reader of the subset of the text format we write; panics on
    /// anything a Prometheus server would reject.
    fn parse(text: &str) -> Vec<Sample> {
        assert!(text.ends_with('\n'), "a scrape ends with a newline");
        let mut help: HashMap<String, String> = HashMap::new();
        let mut kinds: HashMap<String, String> = HashMap::new();
        let mut finished: Vec<String> = Vec::new();
        let mut current: Option<String> = None;
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, doc) = rest.split_once(' ').expect("HELP name text");
                assert!(!help.contains_key(name), "HELP twice for {name}");
                assert!(!doc.contains('\n'));
                help.insert(name.to_string(), doc.to_string());
                if let Some(prev) = current.replace(name.to_string()) {
                    finished.push(prev);
                }
                assert!(!finished.contains(&name.to_string()), "{name} split");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert_eq!(current.as_deref(), Some(name), "TYPE right after HELP");
                assert!(matches!(kind, "counter" | "gauge"), "{kind}");
                assert!(kinds.insert(name.into(), kind.into()).is_none());
            } else {
                let sample = parse_sample(line);
                let name = &sample.0;
                assert_eq!(current.as_ref(), Some(name), "{name} outside its family");
                assert!(kinds.contains_key(name), "{name} has no TYPE");
                samples.push(sample);
            }
        }
        for (name, kind) in &kinds {
            assert!(name.starts_with("dialtone_"), "{name}");
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name}: {kind}"
            );
            assert!(help.contains_key(name), "{name} has no HELP");
        }
        samples
    }

    fn parse_sample(line: &str) -> Sample {
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .expect("a sample has a value");
        let name = &line[..name_end];
        assert!(!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()));
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(mut inner) = rest.strip_prefix('{') {
            loop {
                let eq = inner.find('=').expect("label=value");
                let label = &inner[..eq];
                assert!(
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !label.starts_with(|c: char| c.is_ascii_digit()),
                    "bad label name {label:?}"
                );
                let mut chars = inner[eq + 1..].char_indices();
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "quoted value");
                let mut value = String::new();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?}"),
                        },
                        '"' => {
                            end = Some(eq + 1 + i + 1);
                            break;
                        }
                        '\n' => panic!("raw newline in a label value"),
                        c => value.push(c),
                    }
                }
                let end = end.expect("closing quote");
                labels.push((label.to_string(), value));
                inner = &inner[end..];
                if let Some(r) = inner.strip_prefix(',') {
                    inner = r;
                } else if let Some(r) = inner.strip_prefix('}') {
                    rest = r;
                    break;
                } else {
                    panic!("expected , or }} in {line:?}");
                }
            }
        }
        let value = rest.strip_prefix(' ').expect("space before the value");
        let value = value.parse().expect("an integer value");
        (name.to_string(), labels, value)
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
    }

    #[test]
    fn an_idle_engine_scrapes_as_zeros_in_valid_format() {
        let m = Metrics::default();
        let s = parse(&m.render(&Readings::default()));
        assert_eq!(value(&s, "dialtone_live_sessions", &[]), Some(0));
        assert_eq!(value(&s, "dialtone_live_calls", &[]), Some(0));
        for d in ["inbound", "outbound"] {
            assert_eq!(
                value(&s, "dialtone_calls_started_total", &[("direction", d)]),
                Some(0)
            );
        }
        assert_eq!(value(&s, "dialtone_rtp_packets_in_total", &[]), Some(0));
        assert_eq!(
            value(
                &s,
                "dialtone_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            Some(1)
        );
        // Labelled families with nothing counted yet still say what they are.
        let text = m.render(&Readings::default());
        assert!(text.contains("# TYPE dialtone_calls_failed_total counter\n"));
        assert!(text.contains("# TYPE dialtone_http_requests_total counter\n"));
    }

    #[test]
    fn counters_and_readings_show_in_their_samples() {
        let m = Metrics::default();
        m.call_started(Direction::Inbound);
        m.call_started(Direction::Inbound);
        m.call_started(Direction::Outbound);
        m.call_failed(486);
        m.call_failed(404);
        m.call_failed(486);
        m.call_ended();
        m.set_live_calls(3);
        m.session_started();
        m.session_ended(&SessionEnd::Normal);
        m.session_ended(&SessionEnd::ScriptError("boom".into()));
        m.session_ended(&SessionEnd::CompileError("syntax".into()));
        m.session_ended(&SessionEnd::ScriptError("cpu".into()));
        m.http_request("GET", 200);
        m.http_request("GET", 200);
        m.http_request("POST", 404);
        let readings = Readings {
            live_sessions: 2,
            media: MediaStats {
                endpoints: 4,
                packets_in: 100,
                packets_out: 90,
                packets_lost: 3,
                packets_dropped: 1,
                packets_foreign: 1,
                ..MediaStats::default()
            },
            load: LoadSample {
                media: 450,
                signalling: 120,
                rss: 64 << 20,
                budget: Some(1 << 30),
            },
            overload: Some(Overload::Media),
            setup_share: 0,
        };
        m.session_refused(&AdmissionError::Busy(Overload::Media));
        m.session_refused(&AdmissionError::Busy(Overload::Media));
        m.session_refused(&AdmissionError::SessionLimit(10));
        let s = parse(&m.render(&readings));
        let get = |name, labels: &[(&str, &str)]| value(&s, name, labels);
        assert_eq!(
            get("dialtone_calls_started_total", &[("direction", "inbound")]),
            Some(2)
        );
        assert_eq!(
            get("dialtone_calls_started_total", &[("direction", "outbound")]),
            Some(1)
        );
        assert_eq!(
            get("dialtone_calls_failed_total", &[("code", "486")]),
            Some(2)
        );
        assert_eq!(
            get("dialtone_calls_failed_total", &[("code", "404")]),
            Some(1)
        );
        assert_eq!(get("dialtone_calls_ended_total", &[]), Some(1));
        assert_eq!(
            get("dialtone_sessions_refused_total", &[("reason", "media")]),
            Some(2)
        );
        assert_eq!(
            get(
                "dialtone_sessions_refused_total",
                &[("reason", "session_limit")]
            ),
            Some(1)
        );
        assert_eq!(
            get("dialtone_overloaded", &[("resource", "media")]),
            Some(1)
        );
        assert_eq!(
            get("dialtone_overloaded", &[("resource", "memory")]),
            Some(0)
        );
        assert_eq!(get("dialtone_media_load_permille", &[]), Some(450));
        assert_eq!(get("dialtone_signalling_load_permille", &[]), Some(120));
        assert_eq!(get("dialtone_setup_share_permille", &[]), Some(0));
        assert_eq!(get("dialtone_resident_memory_bytes", &[]), Some(64 << 20));
        assert_eq!(get("dialtone_memory_budget_bytes", &[]), Some(1 << 30));
        assert_eq!(get("dialtone_live_calls", &[]), Some(3));
        assert_eq!(get("dialtone_live_sessions", &[]), Some(2));
        assert_eq!(get("dialtone_sessions_started_total", &[]), Some(1));
        assert_eq!(
            get("dialtone_script_errors_total", &[("kind", "runtime")]),
            Some(2)
        );
        assert_eq!(
            get("dialtone_script_errors_total", &[("kind", "compile")]),
            Some(1)
        );
        assert_eq!(
            get(
                "dialtone_http_requests_total",
                &[("method", "GET"), ("status", "200")]
            ),
            Some(2)
        );
        assert_eq!(
            get(
                "dialtone_http_requests_total",
                &[("method", "POST"), ("status", "404")]
            ),
            Some(1)
        );
        assert_eq!(get("dialtone_rtp_endpoints", &[]), Some(4));
        assert_eq!(get("dialtone_rtp_packets_in_total", &[]), Some(100));
        assert_eq!(get("dialtone_rtp_packets_out_total", &[]), Some(90));
        assert_eq!(get("dialtone_rtp_packets_lost_total", &[]), Some(3));
        assert_eq!(get("dialtone_rtp_packets_dropped_total", &[]), Some(1));
        assert_eq!(get("dialtone_rtp_packets_foreign_total", &[]), Some(1));
    }

    #[test]
    fn audio_caches_scrape_by_cache() {
        let stats = AudioStats {
            cached_clips: 3,
            cached_samples: 1000,
            memory_budget_samples: 5000,
            memory_evictions: 2,
            download_cache: dialtone_audio::DiskCacheStats {
                bytes: 700,
                entries: 4,
                budget: 1 << 20,
                evictions: 9,
            },
            ..AudioStats::default()
        };
        let mut text = Metrics::default().render(&Readings::default());
        text.push_str(&render_audio(&stats));
        let s = parse(&text);
        let get = |name, cache| value(&s, name, &[("cache", cache)]);
        assert_eq!(get("dialtone_audio_cache_bytes", "memory"), Some(2000));
        assert_eq!(
            get("dialtone_audio_cache_budget_bytes", "memory"),
            Some(10_000)
        );
        assert_eq!(get("dialtone_audio_cache_entries", "memory"), Some(3));
        assert_eq!(
            get("dialtone_audio_cache_evictions_total", "memory"),
            Some(2)
        );
        assert_eq!(get("dialtone_audio_cache_bytes", "download"), Some(700));
        assert_eq!(
            get("dialtone_audio_cache_budget_bytes", "download"),
            Some(1 << 20)
        );
        assert_eq!(get("dialtone_audio_cache_entries", "download"), Some(4));
        assert_eq!(
            get("dialtone_audio_cache_evictions_total", "download"),
            Some(9)
        );
        assert_eq!(get("dialtone_audio_cache_bytes", "tts"), Some(0));
    }

    #[test]
    fn odd_methods_share_one_label() {
        let m = Metrics::default();
        m.http_request("BREW", 405);
        m.http_request("PROPFIND", 405);
        let s = parse(&m.render(&Readings::default()));
        assert_eq!(
            value(
                &s,
                "dialtone_http_requests_total",
                &[("method", "other"), ("status", "405")]
            ),
            Some(2)
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::default();
        out.family("dialtone_x_total", "a \\ and a\nnewline", Kind::Counter);
        out.sample("dialtone_x_total", &[("v", "q\"b\\n\nl"), ("w", "")], 7);
        assert_eq!(
            out.text,
            "# HELP dialtone_x_total a \\\\ and a\\nnewline\n\
             # TYPE dialtone_x_total counter\n\
             dialtone_x_total{v=\"q\\\"b\\\\n\\nl\",w=\"\"} 7\n"
        );
        let s = parse(&out.text);
        assert_eq!(s[0].1[0].1, "q\"b\\n\nl");
        assert_eq!(s[0].2, 7);
    }
}
