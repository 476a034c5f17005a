//! Jitter buffer behaviour under a simulated network, all in virtual time.

use super::*;

const SSRC: u32 = 0x5eed;

#[derive(Clone, Debug)]
struct Pkt {
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
}

/// What one tick played: the index of the packet a frame came from, or a conceal kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Frame(u16),
    Repeat,
    Silence,
    Nothing,
}

/// Packet `idx` carries its index in the first two bytes.
fn packet(idx: u16, seq0: u16, ts0: u32) -> Pkt {
    let mut payload = vec![idx as u8; FRAME_SAMPLES];
    payload[..2].copy_from_slice(&idx.to_be_bytes());
    Pkt {
        ssrc: SSRC,
        seq: seq0.wrapping_add(idx),
        ts: ts0.wrapping_add(u32::from(idx) * FRAME_SAMPLES as u32),
        marker: idx == 0,
        payload,
    }
}

fn relabel(p: &mut Pkt, offset: u16) {
    let idx = u16::from_be_bytes([p.payload[0], p.payload[1]]) + offset;
    p.payload[..2].copy_from_slice(&idx.to_be_bytes());
}

fn stream(n: u16, seq0: u16, ts0: u32) -> Vec<Pkt> {
    (0..n).map(|i| packet(i, seq0, ts0)).collect()
}

/// Send time of packet i is 20·i ms; arrival adds `delay(i)`.
fn on_time(pkts: &[Pkt], delay: impl Fn(usize) -> Option<u64>) -> Vec<(u64, Pkt)> {
    let mut v: Vec<(u64, Pkt)> = pkts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| delay(i).map(|d| (20 * i as u64 + d, p.clone())))
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v
}

/// Runs the buffer with ticks at 10 + 20·k ms, pushing each packet before the
/// first tick at or after its arrival.
fn run(jb: &mut JitterBuffer, arrivals: &[(u64, Pkt)], ticks: u64) -> Vec<Out> {
    let t0 = Instant::now();
    let mut next = 0;
    let mut outs = Vec::new();
    for k in 0..ticks {
        let now_ms = 10 + 20 * k;
        while let Some((t, p)) = arrivals.get(next) {
            if *t > now_ms {
                break;
            }
            let at = t0 + Duration::from_millis(*t);
            jb.push(p.ssrc, p.seq, p.ts, &p.payload, p.marker, at);
            next += 1;
        }
        outs.push(match jb.pop(t0 + Duration::from_millis(now_ms)) {
            Playout::Frame(f) => Out::Frame(u16::from_be_bytes([f[0], f[1]])),
            Playout::Repeat(_) => Out::Repeat,
            Playout::Silence => Out::Silence,
            Playout::Nothing => Out::Nothing,
        });
    }
    outs
}

fn frames(outs: &[Out]) -> Vec<u16> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Frame(i) => Some(*i),
            _ => None,
        })
        .collect()
}

#[track_caller]
fn assert_frames(outs: &[Out], want: &[u16]) {
    let got = frames(outs);
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        let lo = i.saturating_sub(3);
        panic!(
            "frames differ at {i}: got {:?}, want {:?}; outs {:?}",
            &got[lo..got.len().min(i + 4)],
            &want[lo..want.len().min(i + 4)],
            outs.iter()
                .skip_while(|o| **o != Out::Frame(got[lo]))
                .take(10)
                .collect::<Vec<_>>()
        );
    }
}

fn conceals(outs: &[Out]) -> usize {
    outs.iter()
        .filter(|o| matches!(o, Out::Repeat | Out::Silence))
        .count()
}

fn strictly_increasing(v: &[u16]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Adaptive upwards from 40 ms but never below it, so that tests about
/// other things do not also see the delay being trimmed on a calm network.
fn jb() -> JitterBuffer {
    let cfg = JitterConfig {
        min_delay: Duration::from_millis(40),
        ..JitterConfig::default()
    };
    JitterBuffer::new(cfg, 0xff)
}

#[test]
fn in_order_plays_every_frame_after_the_initial_delay() {
    let mut jb = jb();
    let arr = on_time(&stream(200, 1000, 5000), |_| Some(5));
    let outs = run(&mut jb, &arr, 220);
    // First packet at 5 ms, 40 ms target: ticks at 10 and 30 wait, 50 plays.
    assert_eq!(&outs[..2], &[Out::Nothing, Out::Nothing]);
    assert_eq!(outs[2], Out::Frame(0));
    assert_frames(&outs, &(0..200).collect::<Vec<_>>());
    // After the stream ends: one repeat, then silence, then idle.
    assert_eq!(
        &outs[202..207],
        &[
            Out::Repeat,
            Out::Silence,
            Out::Silence,
            Out::Nothing,
            Out::Nothing
        ]
    );
    assert_eq!(jb.lost(), 0);
    assert_eq!(jb.stats().received, 200);
    assert_eq!(jb.stats().late, 0);
}

fn lossy(percent: u64, seed: u64) {
    let mut rng = Rng(seed);
    let lost: Vec<bool> = (0..500)
        .map(|i| i != 0 && i != 499 && rng.chance(percent))
        .collect();
    let mut jb = jb();
    let arr = on_time(&stream(500, 7, 9), |i| (!lost[i]).then_some(5));
    let outs = run(&mut jb, &arr, 520);
    let delivered: Vec<u16> = (0..500).filter(|&i| !lost[i as usize]).collect();
    assert_frames(&outs, &delivered);
    let n_lost = lost.iter().filter(|l| **l).count();
    // Each lost frame is concealed in place (plus the end-of-stream tail).
    // A run of three or more losses looks like a delay spike when it
    // happens, so it may also stall playout for a frame or two.
    let long_runs = lost.windows(3).filter(|w| w.iter().all(|l| *l)).count();
    let extra = conceals(&outs) - (n_lost + 3);
    assert!(extra <= 2 * long_runs, "extra {extra}, runs {long_runs}");
    assert_eq!(jb.lost(), n_lost as u64);
    // The first frame of each loss run repeats, later ones are silent.
    for w in outs.windows(2) {
        if let [Out::Frame(_), c] = w {
            assert!(matches!(c, Out::Frame(_) | Out::Repeat));
        }
        if let [Out::Repeat | Out::Silence, c] = w {
            assert_ne!(*c, Out::Repeat);
        }
    }
}

#[test]
fn ten_percent_loss_is_concealed_in_place() {
    lossy(10, 0x1234_5678);
}

#[test]
fn thirty_percent_loss_is_concealed_in_place() {
    lossy(30, 0x8765_4321);
}

#[test]
fn duplicates_are_dropped() {
    let mut rng = Rng(99);
    let pkts = stream(300, 0, 0);
    let mut arr = on_time(&pkts, |_| Some(5));
    let mut extra = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        if rng.chance(20) {
            // Immediately, and once more after the frame has played.
            extra.push((20 * i as u64 + 6, p.clone()));
            extra.push((20 * i as u64 + 90, p.clone()));
        }
    }
    let n_dup = extra.len() as u64;
    arr.extend(extra);
    arr.sort_by_key(|(t, _)| *t);
    let mut jb = jb();
    let outs = run(&mut jb, &arr, 320);
    assert_frames(&outs, &(0..300).collect::<Vec<_>>());
    assert_eq!(jb.stats().duplicates, n_dup);
    assert_eq!(jb.lost(), 0);
}

#[test]
fn reordering_by_up_to_three_packets_adapts_without_loss() {
    let mut rng = Rng(7);
    let delays: Vec<u64> = (0..500)
        .map(|_| {
            if rng.chance(15) {
                5 + 20 * (1 + rng.next() % 3)
            } else {
                5
            }
        })
        .collect();
    let mut jb = jb();
    let arr = on_time(&stream(500, 100, 100), |i| Some(delays[i]));
    let outs = run(&mut jb, &arr, 540);
    let played = frames(&outs);
    assert!(strictly_increasing(&played));
    // At most the packets that arrived before the buffer grew are lost.
    assert!(jb.stats().late <= 2, "late {}", jb.stats().late);
    assert!(played.len() >= 498, "played {}", played.len());
    // Once adapted nothing more is concealed until the stream ends.
    let tail = &outs[100..500];
    assert_eq!(conceals(tail), 0);
}

#[test]
fn sequence_wraps_at_65535() {
    let mut jb = jb();
    let arr = on_time(&stream(200, 65_450, 0), |_| Some(5));
    let outs = run(&mut jb, &arr, 210);
    assert_frames(&outs, &(0..200).collect::<Vec<_>>());
    assert_eq!(jb.lost(), 0);
    assert_eq!(jb.stats().duplicates, 0);
    assert_eq!(jb.stats().resyncs, 0);
}

#[test]
fn timestamp_wraps() {
    let mut jb = jb();
    let ts0 = u32::MAX - 10 * FRAME_SAMPLES as u32 + 7;
    let mut rng = Rng(3);
    let delays: Vec<u64> = (0..100).map(|_| 5 + rng.next() % 30).collect();
    let arr = on_time(&stream(100, 1, ts0), |i| Some(delays[i]));
    let outs = run(&mut jb, &arr, 120);
    assert_frames(&outs, &(0..100).collect::<Vec<_>>());
    assert_eq!(jb.stats().resyncs, 0);
}

#[test]
fn ssrc_change_resyncs_to_the_new_stream() {
    let mut jb = jb();
    let a = stream(50, 10, 10);
    let mut b = stream(50, 40_000, 3_000_000_000);
    for p in b.iter_mut() {
        p.ssrc = 0xbeef;
        relabel(p, 1000);
    }
    let mut arr = on_time(&a, |_| Some(5));
    arr.extend(
        on_time(&b, |_| Some(5))
            .into_iter()
            .map(|(t, p)| (t + 2000, p)),
    );
    let outs = run(&mut jb, &arr, 160);
    let mut want: Vec<u16> = (0..50).collect();
    want.extend(1000..1050);
    assert_frames(&outs, &want);
    assert_eq!(jb.stats().resyncs, 1);
    assert_eq!(jb.lost(), 0);
}

#[test]
fn ssrc_change_mid_stream_switches_without_waiting_for_silence() {
    let mut jb = jb();
    let a = stream(50, 10, 10);
    let mut b = stream(50, 500, 77);
    for p in b.iter_mut() {
        p.ssrc = 0xbeef;
        relabel(p, 1000);
    }
    // B starts right behind A, while A's last frames are still queued: the
    // new source takes over at once and A's queued tail is dropped.
    let mut arr = on_time(&a, |_| Some(5));
    arr.extend(
        on_time(&b, |_| Some(5))
            .into_iter()
            .map(|(t, p)| (t + 1000, p)),
    );
    let outs = run(&mut jb, &arr, 120);
    let mut want: Vec<u16> = (0..48).collect();
    want.extend(1000..1050);
    assert_frames(&outs, &want);
    assert_eq!(jb.stats().resyncs, 1);
}

#[test]
fn late_packet_is_dropped_and_raises_the_delay() {
    let mut jb = jb();
    let arr = on_time(&stream(100, 0, 0), |i| Some(if i == 30 { 200 } else { 5 }));
    let outs = run(&mut jb, &arr, 120);
    assert_eq!(jb.stats().late, 1);
    let played = frames(&outs);
    assert!(!played.contains(&30));
    assert_eq!(played.len(), 99);
    assert_eq!(jb.target_delay(), Duration::from_millis(60));
}

#[test]
fn bursty_arrival_plays_continuously_once_adapted() {
    let mut jb = jb();
    // Five packets at a time every 100 ms, the first of each burst 100 ms old.
    let arr = on_time(&stream(500, 0, 0), |i| Some(100 - 20 * (i as u64 % 5) + 3));
    let outs = run(&mut jb, &arr, 530);
    let played = frames(&outs);
    assert!(strictly_increasing(&played));
    assert!(played.len() >= 495, "played {}", played.len());
    assert_eq!(conceals(&outs[60..500]), 0);
}

#[test]
fn jitter_spike_stalls_instead_of_dropping() {
    let mut jb = jb();
    // Packets 40..=44 are held up 100 ms and then arrive together.
    let arr = on_time(&stream(200, 0, 0), |i| {
        Some(if (40..45).contains(&i) {
            105 - 20 * (i as u64 - 40)
        } else {
            5
        })
    });
    let outs = run(&mut jb, &arr, 240);
    let played = frames(&outs);
    assert!(strictly_increasing(&played));
    assert!(
        (40..45).all(|i| played.contains(&i)),
        "the held-up packets play"
    );
    assert_eq!(jb.stats().late, 0);
    // The delay the stall added is worked off again by dropping frames later.
    let dropped = jb.stats().dropped_frames;
    assert!((1..=5).contains(&dropped), "dropped {dropped}");
    assert_eq!(played.len() as u64, 200 - dropped);
    assert!(!played[..50]
        .iter()
        .any(|&i| i >= 40 && !(40..45).contains(&i) && i < 45));
}

#[test]
fn excess_delay_is_reduced() {
    let mut jb = jb();
    // The first 15 packets arrive together at 300 ms, the rest on time.
    let arr = on_time(&stream(400, 0, 0), |i| {
        Some(if i < 15 { 300 - 20 * i as u64 } else { 5 })
    });
    let outs = run(&mut jb, &arr, 420);
    let played = frames(&outs);
    assert!(strictly_increasing(&played));
    assert!(
        jb.stats().dropped_frames >= 8,
        "dropped {}",
        jb.stats().dropped_frames
    );
    assert!(jb.buffered_samples() <= 4 * FRAME_SAMPLES);
}

#[test]
fn calm_network_lowers_the_delay() {
    let mut jb = JitterBuffer::new(JitterConfig::default(), 0xff);
    let arr = on_time(&stream(500, 0, 0), |_| Some(5));
    let outs = run(&mut jb, &arr, 520);
    assert_eq!(jb.target_delay(), Duration::from_millis(20));
    let played = frames(&outs);
    assert!(strictly_increasing(&played));
    assert_eq!(played.len() as u64, 500 - jb.stats().dropped_frames);
    assert_eq!(jb.stats().dropped_frames, 1);
    assert_eq!(jb.stats().concealed, 3);
}

#[test]
fn fixed_delay_never_adapts() {
    let mut jb = JitterBuffer::new(JitterConfig::fixed(Duration::from_millis(60)), 0xff);
    let arr = on_time(&stream(100, 0, 0), |i| Some(if i == 30 { 300 } else { 5 }));
    let outs = run(&mut jb, &arr, 120);
    // 5 ms arrival, 60 ms wait: ticks 10, 30, 50 wait and 70 plays.
    assert_eq!(outs[3], Out::Frame(0));
    assert_eq!(jb.target_delay(), Duration::from_millis(60));
    assert_eq!(jb.stats().late, 1);
}

#[test]
fn talkspurt_after_silence_restarts_with_the_target_delay() {
    let mut jb = jb();
    let mut pkts = stream(100, 0, 0);
    // Sender stops after 50 packets for 1 s (DTX): timestamps jump, seq does not.
    for p in pkts.iter_mut().skip(50) {
        p.ts = p.ts.wrapping_add(8000);
    }
    pkts[50].marker = true;
    let arr = on_time(&pkts, |i| Some(if i >= 50 { 1005 } else { 5 }));
    let outs = run(&mut jb, &arr, 200);
    assert_frames(&outs, &(0..100).collect::<Vec<_>>());
    let nothing = outs[52..105].iter().filter(|o| **o == Out::Nothing).count();
    assert!(nothing > 40, "idle during the pause");
    assert_eq!(jb.lost(), 0);
}

#[test]
fn big_timestamp_jump_resyncs() {
    let mut jb = jb();
    let mut pkts = stream(100, 0, 0);
    for p in pkts.iter_mut().skip(50) {
        p.ts = p.ts.wrapping_add(2_000_000);
    }
    let arr = on_time(&pkts, |_| Some(5));
    let outs = run(&mut jb, &arr, 120);
    // The frames still queued from before the jump (48, 49) give way.
    let want: Vec<u16> = (0..48).chain(50..100).collect();
    assert_frames(&outs, &want);
    assert_eq!(jb.stats().resyncs, 1);
    let idle = outs[..100].iter().filter(|o| **o == Out::Nothing).count();
    assert!(idle <= 5, "idle {idle}");
}

#[test]
fn other_packet_times_play_as_contiguous_20ms_frames() {
    for ptime in [80usize, 240, 160, 400] {
        let mut jb = jb();
        let count = 8000u64.div_ceil(ptime as u64 * 2) * 2; // about one second
        let arr: Vec<(u64, Pkt)> = (0..count)
            .map(|i| {
                let start = i as usize * ptime;
                let payload = (start..start + ptime).map(|n| (n % 251) as u8).collect();
                let p = Pkt {
                    ssrc: 1,
                    seq: i as u16,
                    ts: start as u32 + 11,
                    marker: false,
                    payload,
                };
                (i * ptime as u64 / 8 + 3, p)
            })
            .collect();
        let t0 = Instant::now();
        let mut next = 0;
        let mut pos = None;
        let mut played = 0;
        for k in 0..70u64 {
            let now = 10 + 20 * k;
            while next < arr.len() && arr[next].0 <= now {
                let p = &arr[next].1;
                jb.push(
                    p.ssrc,
                    p.seq,
                    p.ts,
                    &p.payload,
                    false,
                    t0 + Duration::from_millis(arr[next].0),
                );
                next += 1;
            }
            if let Playout::Frame(f) = jb.pop(t0 + Duration::from_millis(now)) {
                let start = *pos.get_or_insert(0usize);
                let want: Vec<u8> = (start..start + FRAME_SAMPLES)
                    .map(|n| (n % 251) as u8)
                    .collect();
                assert_eq!(f, &want[..], "ptime {ptime} frame at {start}");
                pos = Some(start + FRAME_SAMPLES);
                played += 1;
            }
        }
        assert_eq!(
            played,
            count as usize * ptime / FRAME_SAMPLES,
            "ptime {ptime}: all of it plays"
        );
        assert_eq!(jb.stats().concealed, 3, "only the end-of-stream tail");
    }
}

#[test]
fn half_received_frame_keeps_what_arrived() {
    let mut jb = jb();
    let t0 = Instant::now();
    // 10 ms packets; the second half of the second frame is lost.
    for i in 0..6u16 {
        if i == 3 {
            continue;
        }
        jb.push(1, i, u32::from(i) * 80, &[i as u8 + 1; 80], false, t0);
    }
    let later = t0 + Duration::from_millis(40);
    assert!(matches!(jb.pop(later), Playout::Frame(f) if f[..80] == [1; 80] && f[80..] == [2; 80]));
    match jb.pop(later) {
        Playout::Frame(f) => {
            assert_eq!(&f[..80], &[3; 80]);
            assert_eq!(&f[80..], &[0xff; 80]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(jb.lost(), 1);
}

#[test]
fn invalid_payloads_are_rejected() {
    let mut jb = jb();
    let now = Instant::now();
    assert_eq!(jb.push(1, 0, 0, &[], false, now), PushOutcome::Invalid);
    let huge = vec![0u8; MAX_PACKET_SAMPLES + 1];
    assert_eq!(jb.push(1, 0, 0, &huge, false, now), PushOutcome::Invalid);
    assert_eq!(jb.stats().invalid, 2);
    assert_eq!(jb.pop(now + Duration::from_secs(1)), Playout::Nothing);
    assert_eq!(
        jb.push(1, 0, 0, &[1; 160], false, now),
        PushOutcome::Resynced
    );
    assert_eq!(
        jb.push(1, 0, 0, &[1; 160], false, now),
        PushOutcome::Duplicate
    );
    assert_eq!(
        jb.push(1, 1, 160, &[2; MAX_PACKET_SAMPLES], false, now),
        PushOutcome::Stored
    );
}

#[test]
fn hostile_input_never_panics() {
    let mut jb = jb();
    let mut rng = Rng(0xdead_beef);
    let t0 = Instant::now();
    let buf = [7u8; MAX_PACKET_SAMPLES];
    for k in 0..20_000u64 {
        let r = rng.next();
        let len = (r % (MAX_PACKET_SAMPLES as u64 + 1)) as usize;
        let ssrc = if r.is_multiple_of(97) { 2 } else { 1 };
        let now = t0 + Duration::from_millis(k);
        jb.push(
            ssrc,
            (r >> 16) as u16,
            (r >> 32) as u32,
            &buf[..len],
            r & 1 == 0,
            now,
        );
        if k % 3 == 0 {
            let _ = jb.pop(now);
        }
    }
}
