//! Measures what a session costs: create+start latency, throughput, and
//! resident memory per idle session. Run with
//! `cargo test -p dialtone-script --release --test costs -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use dialtone_core::messages::{SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::CallId;
use dialtone_script::Scenario;

const SESSIONS: usize = 1000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
#[ignore = "measurement; run explicitly in release"]
async fn session_costs() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_secs(600);
    let mut engine = FakeEngine::start(cfg);
    let path = format!("{}/../../../scripts/echo.js", env!("CARGO_MANIFEST_DIR"));
    let scenario = Arc::new(Scenario {
        name: "echo.js".into(),
        source: std::fs::read_to_string(path).unwrap(),
    });

    // Warm up both workers (bytecode cache, allocator).
    for _ in 0..20 {
        let s = engine.spawn_scenario(scenario.clone(), "", Some(alerting(CallId::next())));
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::Answer { .. }
        ));
        s.send(SessionEvent::Terminate {
            reason: "warm-up".into(),
        });
        assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    }

    // One at a time: spawn until the Answer of CallAlerting arrives.
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let s = engine.spawn_scenario(scenario.clone(), "", Some(alerting(CallId::next())));
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::Answer { .. }
        ));
        latencies.push(start.elapsed());
        s.send(SessionEvent::Terminate {
            reason: "done".into(),
        });
        engine.ended(s.id).await;
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];

    let rss_before = rss_kib();
    let start = Instant::now();
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|_| engine.spawn_scenario(scenario.clone(), "", Some(alerting(CallId::next()))))
        .collect();
    for s in &sessions {
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::Answer { .. }
        ));
    }
    let burst = start.elapsed();
    let rss_loaded = rss_kib();
    assert_eq!(engine.host.live_sessions(), SESSIONS);

    for s in &sessions {
        s.send(SessionEvent::Terminate {
            reason: "done".into(),
        });
    }
    for s in &sessions {
        assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    }
    let rss_ended = rss_kib();
    // Workers give freed memory back after a second without sessions.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rss_idle = rss_kib();

    println!("create+start+CallAlerting->Answer, one at a time: median {median:?}, p99 {p99:?}");
    println!(
        "{SESSIONS} sessions in a burst on 2 workers: {burst:?} ({:.0} sessions/s)",
        SESSIONS as f64 / burst.as_secs_f64()
    );
    println!(
        "RSS: {rss_before} KiB before, {rss_loaded} KiB with {SESSIONS} idle sessions ({:.0} KiB each), {rss_ended} KiB when they ended, {rss_idle} KiB a moment later",
        (rss_loaded.saturating_sub(rss_before)) as f64 / SESSIONS as f64
    );
}
