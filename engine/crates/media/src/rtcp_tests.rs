use super::*;

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

/// Feeds packets `seqs` sent every 20 ms, arriving `delay(i)` ms late.
fn feed(s: &mut Stats, seqs: impl Iterator<Item = u16>, delay: impl Fn(u64) -> u64) {
    for seq in seqs {
        let i = u64::from(seq);
        s.on_packet(7, seq, (i * 160) as u32, at(i * 20 + delay(i)));
    }
}

#[test]
fn loss_is_counted_by_sequence_and_per_interval() {
    let mut s = Stats::new();
    feed(&mut s, (0..100).filter(|i| i % 10 != 3), |_| 0);
    let r = s.report(0);
    assert_eq!(r.packets_received, 90);
    assert_eq!(r.packets_lost, 10);
    assert!((r.loss_ppm as i64 - 100_000).abs() < 20_000, "{r:?}");
    feed(&mut s, 100..200, |_| 0);
    let r = s.report(0);
    assert_eq!(r.packets_lost, 10);
    assert_eq!(r.loss_ppm, 0);
}

#[test]
fn sequence_numbers_wrap_and_duplicates_or_reordering_do_not_count_as_loss() {
    let mut s = Stats::new();
    let seqs: Vec<u16> = (65_500u32..65_600).map(|x| (x % 65_536) as u16).collect();
    for (i, seq) in seqs.iter().enumerate() {
        s.on_packet(7, *seq, (i * 160) as u32, at(i as u64 * 20));
    }
    // Two swapped and one duplicated.
    s.on_packet(7, 62, 0, at(2_000));
    s.on_packet(7, 61, 0, at(2_001));
    assert_eq!(s.lost(), 0);
    assert_eq!(s.report(0).packets_received, 102);
}

#[test]
fn jitter_follows_rfc_3550() {
    let mut steady = Stats::new();
    feed(&mut steady, 0..200, |_| 30);
    assert!(steady.jitter_ms() < 0.2, "{}", steady.jitter_ms());
    // Every other packet 10 ms late: |D| is 10 ms each time.
    let mut bumpy = Stats::new();
    feed(&mut bumpy, 0..400, |i| if i % 2 == 0 { 0 } else { 10 });
    assert!(
        (bumpy.jitter_ms() - 10.0).abs() < 1.0,
        "{}",
        bumpy.jitter_ms()
    );
}

#[test]
fn a_report_exchange_gives_the_round_trip_time() {
    let (a_ssrc, b_ssrc) = (0xA, 0xB);
    let mut a = Stats::new();
    let mut b = Stats::new();
    // Each has heard the other's stream.
    a.on_packet(b_ssrc, 1, 160, at(0));
    b.on_packet(a_ssrc, 1, 160, at(0));
    let mut sr = Vec::new();
    a.build_report(a_ssrc, at(1_000), 8_000, 50, 8_000, &mut sr);
    assert_eq!(sr[1], 200, "A has sent: a sender report");
    assert_eq!(sr.len(), (2 + 5 + 6) * 4);
    assert_eq!(
        usize::from(u16::from_be_bytes([sr[2], sr[3]])),
        2 + 5 + 6 - 1
    );
    // 10 ms each way; B holds A's SR 100 ms before reporting.
    b.on_rtcp(&sr, b_ssrc, at(1_010));
    let mut rr = Vec::new();
    b.build_report(b_ssrc, at(1_110), 0, 0, 0, &mut rr);
    assert_eq!(rr[1], 201, "B sent nothing: a receiver report");
    a.on_rtcp(&rr, a_ssrc, at(1_120));
    let r = a.report(50);
    let rtt = r.rtt_us.expect("an RTT");
    assert!((i64::from(rtt) - 20_000).abs() < 500, "{rtt}");
    assert_eq!(r.remote_loss_ppm, Some(0));
    // A report about someone else's stream changes nothing.
    let mut c = Stats::new();
    c.on_rtcp(&rr, 0xC, at(1_120));
    assert_eq!(c.report(0).rtt_us, None);
}

#[test]
fn garbage_is_skipped_without_panic() {
    let mut s = Stats::new();
    // A receiver report whose length field says one word: shorter than its
    // own header (found by the rtp fuzz target).
    s.on_rtcp(&[0x81, 201, 0, 0, 0, 0, 0, 1, 0x81, 201, 0, 0], 1, at(0));
    let mut x: u32 = 12345;
    for len in 0..200 {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        s.on_rtcp(&data, 1, at(0));
        let mut v = data.clone();
        if v.len() >= 4 {
            v[0] = 0x81;
            v[1] = 200;
            v[2] = 0;
            v[3] = 0xFF;
        }
        s.on_rtcp(&v, 1, at(0));
    }
}
