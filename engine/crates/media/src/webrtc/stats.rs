//! How long WebRTC legs take to connect (first datagram from the peer to
//! DTLS-SRTP keys), as a histogram for `/metrics` and the benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the histogram's buckets, milliseconds.
pub const HANDSHAKE_BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

static BUCKETS: [AtomicU64; HANDSHAKE_BUCKETS_MS.len() + 1] =
    [const { AtomicU64::new(0) }; HANDSHAKE_BUCKETS_MS.len() + 1];
static SUM_MS: AtomicU64 = AtomicU64::new(0);
static LEGS: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn leg_opened() {
    LEGS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn leg_closed() {
    let _ = LEGS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
}

pub(crate) fn leg_failed() {
    FAILED.fetch_add(1, Ordering::Relaxed);
}

/// WebRTC connections alive now, and how many failed (DTLS or SRTP error).
pub fn legs() -> (u64, u64) {
    (LEGS.load(Ordering::Relaxed), FAILED.load(Ordering::Relaxed))
}

pub(crate) fn record_handshake(took: Duration) {
    let ms = took.as_millis() as u64;
    let i = HANDSHAKE_BUCKETS_MS
        .iter()
        .position(|&b| ms <= b)
        .unwrap_or(HANDSHAKE_BUCKETS_MS.len());
    if let Some(b) = BUCKETS.get(i) {
        b.fetch_add(1, Ordering::Relaxed);
    }
    SUM_MS.fetch_add(ms, Ordering::Relaxed);
}

/// Counts per bucket (the last one is above every bound) and the sum in ms.
pub fn handshakes() -> ([u64; HANDSHAKE_BUCKETS_MS.len() + 1], u64) {
    let mut out = [0u64; HANDSHAKE_BUCKETS_MS.len() + 1];
    for (o, b) in out.iter_mut().zip(BUCKETS.iter()) {
        *o = b.load(Ordering::Relaxed);
    }
    (out, SUM_MS.load(Ordering::Relaxed))
}
