//! Overload control: new sessions are refused (503 with Retry-After, to
//! INVITEs and to REST alike) as soon as the media workers run behind their
//! clock, the signalling loop is busy nearly all the time, or memory nears
//! its budget, so that the calls already up keep their audio.
//!
//! Three readings feed one [`gate::Gate`] every [`PERIOD`]: the busiest media
//! worker's load (dialtone_media::load), the signalling loop's busy share
//! ([`meter::BusyMeter`], published by the loop itself) or, when higher, how
//! late this monitor's own timer fires on the runtime, and the resident set
//! against the memory budget. The call core asks [`LoadWatch::overload`]
//! before it spends anything on a new session.

pub mod gate;
pub mod meter;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_calls::Overload;
use dialtone_media::MediaEngine;

use gate::{Change, Gate, Sample, Thresholds};

/// How often the readings are taken.
pub const PERIOD: Duration = Duration::from_millis(100);

/// The readings and the gate's state, shared by the monitor (writes), the
/// signalling loop (writes its busy share), the call core (reads the state)
/// and `/metrics` (reads everything).
#[derive(Debug, Default)]
pub struct LoadWatch {
    state: AtomicU8,
    /// The share of the set-up rate new sessions may use, ‰ ([`Gate::share`]).
    share: AtomicU64,
    media: AtomicU64,
    signalling: AtomicU64,
    rss: AtomicU64,
    /// Bytes; 0: memory is not watched.
    budget: AtomicU64,
}

impl LoadWatch {
    /// `budget`: the memory budget in bytes (`None`: not watched).
    pub fn new(budget: Option<u64>) -> LoadWatch {
        let w = LoadWatch::default();
        w.share.store(1000, Ordering::Relaxed);
        w.budget.store(budget.unwrap_or(0), Ordering::Relaxed);
        w
    }

    /// Why new sessions are refused now, if they are.
    pub fn overload(&self) -> Option<Overload> {
        match self.state.load(Ordering::Relaxed) {
            1 => Some(Overload::Media),
            2 => Some(Overload::Signalling),
            3 => Some(Overload::Memory),
            _ => None,
        }
    }

    fn set_state(&self, state: Option<Overload>) {
        let v = match state {
            None => 0,
            Some(Overload::Media) => 1,
            Some(Overload::Signalling) => 2,
            Some(Overload::Memory) => 3,
        };
        self.state.store(v, Ordering::Relaxed);
    }

    /// The share of the set-up rate new sessions may use now, ‰.
    pub fn setup_share(&self) -> u64 {
        self.share.load(Ordering::Relaxed)
    }

    /// The signalling loop's busy share over its last window, ‰.
    pub fn publish_signalling(&self, permille: u64) {
        self.signalling.store(permille, Ordering::Relaxed);
    }

    /// The last readings, as the gate saw them.
    pub fn reading(&self) -> Sample {
        let budget = self.budget.load(Ordering::Relaxed);
        Sample {
            media: self.media.load(Ordering::Relaxed),
            signalling: self.signalling.load(Ordering::Relaxed),
            rss: self.rss.load(Ordering::Relaxed),
            budget: (budget > 0).then_some(budget),
        }
    }
}

/// The default memory budget: 80 % of the memory this process may use (the
/// machine's or its cgroup's), the rest left to the kernel's buffers and the
/// system.
pub fn default_memory_budget() -> Option<u64> {
    crate::memory::available_bytes().map(|b| b / 5 * 4)
}

/// Takes the readings every [`PERIOD`] until the runtime stops.
pub fn spawn_monitor(watch: Arc<LoadWatch>, media: MediaEngine) {
    tokio::spawn(async move {
        let mut gate = Gate::new(Thresholds::default());
        let mut resident = Resident::open();
        let mut ticker = tokio::time::interval(PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expected = Instant::now();
        loop {
            ticker.tick().await;
            let now = Instant::now();
            // A runtime too busy to run this task on time is too busy for
            // new calls' signalling as well.
            let late = now.saturating_duration_since(expected);
            expected = now + PERIOD;
            let runtime_lag = (late.as_micros() * 1000 / PERIOD.as_micros()) as u64;
            let mut sample = watch.reading();
            sample.signalling = sample.signalling.max(runtime_lag.min(10_000));
            sample.media = media.load_permille();
            if let Some(rss) = resident.bytes() {
                sample.rss = rss;
            }
            watch.media.store(sample.media, Ordering::Relaxed);
            watch.rss.store(sample.rss, Ordering::Relaxed);
            match gate.update(now, &sample) {
                Some(Change::Closed(what)) => tracing::warn!(
                    resource = what.as_str(),
                    media_load = sample.media,
                    signalling_load = sample.signalling,
                    rss_mib = sample.rss >> 20,
                    budget_mib = sample.budget.map(|b| b >> 20),
                    "overloaded: new sessions get 503 until the load drops"
                ),
                Some(Change::Opened) => {
                    tracing::info!("load is back to normal: new sessions are taken again")
                }
                None => {}
            }
            watch.set_state(gate.state());
            watch.share.store(gate.share(&sample), Ordering::Relaxed);
        }
    });
}

/// This process's resident set, from `/proc/self/statm` (Linux), kept open
/// and read again from its start each time: a few numbers, no allocation.
struct Resident {
    file: Option<std::fs::File>,
    page: u64,
    buf: [u8; 128],
}

impl Resident {
    fn open() -> Resident {
        // SAFETY: sysconf only reads a constant of the system.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Resident {
            file: std::fs::File::open("/proc/self/statm").ok(),
            page: u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096),
            buf: [0; 128],
        }
    }

    fn bytes(&mut self) -> Option<u64> {
        use std::io::{Read, Seek, SeekFrom};
        let file = self.file.as_mut()?;
        file.seek(SeekFrom::Start(0)).ok()?;
        let n = file.read(&mut self.buf).ok()?;
        let pages = statm_resident(self.buf.get(..n)?)?;
        pages.checked_mul(self.page)
    }
}

/// The second field of statm: resident pages.
fn statm_resident(statm: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(statm).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_readings_carry_the_budget() {
        let w = LoadWatch::new(Some(1 << 30));
        assert_eq!(w.overload(), None);
        assert_eq!(
            w.setup_share(),
            1000,
            "all of it until the monitor says otherwise"
        );
        for s in [Overload::Media, Overload::Signalling, Overload::Memory] {
            w.set_state(Some(s));
            assert_eq!(w.overload(), Some(s));
        }
        w.set_state(None);
        assert_eq!(w.overload(), None);
        w.publish_signalling(420);
        let r = w.reading();
        assert_eq!(r.signalling, 420);
        assert_eq!(r.budget, Some(1 << 30));
        assert_eq!(LoadWatch::new(None).reading().budget, None);
    }

    #[test]
    fn resident_memory_is_read_from_proc_statm() {
        assert_eq!(statm_resident(b"5000 1200 300 10 0 900 0\n"), Some(1200));
        assert_eq!(statm_resident(b"5000"), None);
        let mut r = Resident::open();
        let first = r.bytes().expect("statm");
        let _grow = vec![1u8; 8 << 20];
        assert!(first > 0);
        assert!(
            r.bytes().is_some_and(|b| b > 0),
            "read again from the start"
        );
    }
}
