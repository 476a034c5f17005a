//! Process figures read from /proc, percentiles, and the JSON line both
//! binaries print. Shared by `bench-str0m` and `bench-webrtc-rs`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The system allocator, counting the bytes live on the heap, so that a
/// leak (live bytes that stay after close) is told apart from memory the
/// allocator keeps for reuse (RSS that stays while live bytes fall).
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes live on the heap, KiB.
pub fn heap_kib() -> i64 {
    LIVE.load(Ordering::Relaxed) / 1024
}

/// Settings from the command line: `--pairs N --cycles C --steady SECS`.
pub struct Args {
    pub pairs: usize,
    pub cycles: usize,
    pub steady: Duration,
    /// Media before the figures are taken, after every pair is connected.
    pub warmup: Duration,
    /// Wait after closing, before RSS and threads are read again.
    pub settle: Duration,
    /// webrtc-rs only: register its default interceptors (NACK, RTCP
    /// reports, TWCC), as its examples do. `--interceptors 0` leaves them out.
    pub interceptors: bool,
}

pub fn args() -> Args {
    let mut a = Args {
        pairs: 100,
        cycles: 3,
        steady: Duration::from_secs(20),
        warmup: Duration::from_secs(3),
        settle: Duration::from_secs(5),
        interceptors: true,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < v.len() {
        let n: u64 = v[i + 1].parse().expect("a number");
        match v[i].as_str() {
            "--pairs" => a.pairs = n as usize,
            "--cycles" => a.cycles = n as usize,
            "--steady" => a.steady = Duration::from_secs(n),
            "--warmup" => a.warmup = Duration::from_secs(n),
            "--settle" => a.settle = Duration::from_secs(n),
            "--interceptors" => a.interceptors = n != 0,
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    a
}

/// Resident set, KiB (VmRSS).
pub fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// OS threads of this process.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// utime + stime in clock ticks (USER_HZ, 100 a second on Linux).
pub fn cpu_ticks() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

pub const TICKS_PER_SEC: f64 = 100.0;

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Nearest-rank percentile of milliseconds.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A flat JSON object built field by field.
pub struct Json(String);

impl Json {
    pub fn new() -> Json {
        Json(String::from("{"))
    }
    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "\"{k}\":");
    }
    pub fn s(mut self, k: &str, v: &str) -> Json {
        self.key(k);
        let _ = write!(self.0, "\"{}\"", v.replace('"', "'"));
        self
    }
    pub fn n(mut self, k: &str, v: impl std::fmt::Display) -> Json {
        self.key(k);
        let _ = write!(self.0, "{v}");
        self
    }
    pub fn f(mut self, k: &str, v: f64, decimals: usize) -> Json {
        self.key(k);
        if v.is_finite() {
            let _ = write!(self.0, "{v:.decimals$}");
        } else {
            self.0.push_str("null");
        }
        self
    }
    pub fn print(mut self) {
        self.0.push('}');
        println!("{}", self.0);
    }
}

/// One cycle's figures, filled in by each binary in the same order.
#[derive(Default)]
pub struct Cycle {
    pub cycle: usize,
    pub pairs: usize,
    pub connections: usize,
    pub connected: usize,
    pub connect_ms: Vec<f64>,
    pub rss_before_kib: u64,
    pub rss_connected_kib: u64,
    pub heap_before_kib: i64,
    pub heap_connected_kib: i64,
    pub heap_after_close_kib: i64,
    pub threads_before: usize,
    pub threads_connected: usize,
    pub tasks_before: Option<usize>,
    pub tasks_connected: Option<usize>,
    /// Over the steady window (first cycle only).
    pub steady_secs: f64,
    pub steady_ticks: Option<u64>,
    pub rx_packets: Option<u64>,
    pub tx_packets: Option<u64>,
    pub rss_after_close_kib: u64,
    pub threads_after_close: usize,
    pub tasks_after_close: Option<usize>,
}

impl Cycle {
    pub fn print(mut self, krate: &str, version: &str, rss_start_kib: u64, threads_start: usize) {
        self.connect_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let conns = self.connections.max(1) as f64;
        let mut j = Json::new()
            .s("crate", krate)
            .s("version", version)
            .n("pairs", self.pairs)
            .n("connections", self.connections)
            .n("cycle", self.cycle)
            .n("connected", self.connected)
            .f("connect_ms_p50", pct(&self.connect_ms, 50.0), 1)
            .f("connect_ms_p99", pct(&self.connect_ms, 99.0), 1)
            .f("connect_ms_max", pct(&self.connect_ms, 100.0), 1)
            .n("rss_start_kib", rss_start_kib)
            .n("rss_before_kib", self.rss_before_kib)
            .n("rss_connected_kib", self.rss_connected_kib)
            .f(
                "kib_per_connection",
                (self.rss_connected_kib as f64 - self.rss_before_kib as f64) / conns,
                1,
            )
            .n("heap_before_kib", self.heap_before_kib)
            .n("heap_connected_kib", self.heap_connected_kib)
            .f(
                "heap_kib_per_connection",
                (self.heap_connected_kib - self.heap_before_kib) as f64 / conns,
                1,
            )
            .n("threads_start", threads_start)
            .n("threads_before", self.threads_before)
            .n("threads_connected", self.threads_connected);
        if let Some(t) = self.tasks_connected {
            j = j
                .n("tasks_before", self.tasks_before.unwrap_or(0))
                .n("tasks_connected", t)
                .f(
                    "tasks_per_connection",
                    (t as f64 - self.tasks_before.unwrap_or(0) as f64) / conns,
                    1,
                );
        }
        if let Some(ticks) = self.steady_ticks {
            let core_pct = ticks as f64 / TICKS_PER_SEC / self.steady_secs * 100.0;
            j = j
                .f("steady_s", self.steady_secs, 1)
                .f("cpu_pct_one_core_total", core_pct, 1)
                .f("cpu_pct_one_core_per_connection", core_pct / conns, 3);
            if let (Some(rx), Some(tx)) = (self.rx_packets, self.tx_packets) {
                j = j.n("tx_packets", tx).n("rx_packets", rx).f(
                    "rx_per_s_per_connection",
                    rx as f64 / self.steady_secs / conns,
                    1,
                );
            }
        }
        j.n("rss_after_close_kib", self.rss_after_close_kib)
            .n("heap_after_close_kib", self.heap_after_close_kib)
            .n("threads_after_close", self.threads_after_close)
            .n(
                "tasks_after_close",
                self.tasks_after_close.map(|t| t as i64).unwrap_or(-1),
            )
            .s("loadavg", &loadavg())
            .print();
    }
}
