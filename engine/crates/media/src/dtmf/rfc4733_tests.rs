use super::*;

fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
    EventPayload {
        event,
        end,
        volume: 10,
        duration,
    }
    .write()
}

#[test]
fn digit_event_mapping_round_trips() {
    for (i, c) in "0123456789*#ABCD".chars().enumerate() {
        let e = digit_to_event(c).unwrap();
        assert_eq!(usize::from(e), i);
        assert_eq!(event_to_digit(e), Some(c));
    }
    assert_eq!(digit_to_event('a'), Some(12));
    assert_eq!(digit_to_event('d'), Some(15));
    for c in ['e', 'E', 'p', ' ', '+', 'é'] {
        assert_eq!(digit_to_event(c), None);
    }
    assert_eq!(event_to_digit(16), None);
    assert_eq!(event_to_digit(255), None);
}

#[test]
fn payload_parse_and_write() {
    let p = EventPayload::parse(&[5, 0x8a, 0x03, 0x20]).unwrap();
    assert_eq!(
        p,
        EventPayload {
            event: 5,
            end: true,
            volume: 10,
            duration: 800
        }
    );
    assert_eq!(p.write(), [5, 0x8a, 0x03, 0x20]);
    // The reserved bit is ignored on input and cleared on output.
    let r = EventPayload::parse(&[1, 0x40 | 7, 0, 160]).unwrap();
    assert!(!r.end);
    assert_eq!(r.volume, 7);
    assert_eq!(r.write()[1], 7);
    // Redundant trailing blocks are fine.
    assert!(EventPayload::parse(&[1, 2, 3, 4, 5, 6, 7, 8]).is_ok());
    for len in 0..4 {
        assert_eq!(
            EventPayload::parse(&[0u8; 4][..len]),
            Err(DtmfError::TooShort { len })
        );
    }
    // Volume beyond 6 bits is masked rather than spilling into the flags.
    let w = EventPayload {
        event: 1,
        end: false,
        volume: 0xff,
        duration: 1,
    }
    .write();
    assert_eq!(w[1], 0x3f);
}

#[test]
fn receiver_reports_once_per_event_with_repeated_end_packets() {
    let mut r = DtmfReceiver::new();
    let ts = 1000;
    assert_eq!(r.on_packet(ts, &pkt(5, false, 160)), Some('5'));
    for d in [320, 480, 640] {
        assert_eq!(r.on_packet(ts, &pkt(5, false, d)), None);
    }
    for _ in 0..3 {
        assert_eq!(r.on_packet(ts, &pkt(5, true, 800)), None);
    }
}

#[test]
fn same_digit_with_new_timestamp_is_a_new_press() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(1000, &pkt(1, true, 800)), Some('1'));
    assert_eq!(r.on_packet(1000, &pkt(1, true, 800)), None);
    assert_eq!(r.on_packet(3000, &pkt(1, false, 160)), Some('1'));
    assert_eq!(r.on_packet(3000, &pkt(1, true, 800)), None);
}

#[test]
fn event_without_end_does_not_block_the_next() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(1000, &pkt(2, false, 160)), Some('2'));
    assert_eq!(r.on_packet(1000, &pkt(2, false, 320)), None);
    // End packets lost; next key.
    assert_eq!(r.on_packet(2600, &pkt(3, false, 160)), Some('3'));
    assert_eq!(r.on_packet(4200, &pkt(2, false, 160)), Some('2'));
}

#[test]
fn reordered_and_late_packets_are_ignored() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(1000, &pkt(4, false, 320)), Some('4'));
    assert_eq!(r.on_packet(2600, &pkt(6, false, 160)), Some('6'));
    // A late end packet of the first event.
    assert_eq!(r.on_packet(1000, &pkt(4, true, 800)), None);
    // A late packet of an event never seen but older than the newest one.
    assert_eq!(r.on_packet(1800, &pkt(9, false, 160)), None);
    // Many events later the first timestamp has left the memory, yet its
    // copies are still recognised as late.
    let mut ts = 2600u32;
    for _ in 0..40 {
        ts = ts.wrapping_add(1600);
        assert_eq!(r.on_packet(ts, &pkt(0, false, 160)), Some('0'));
    }
    assert_eq!(
        r.on_packet(ts.wrapping_sub(1600 * 30), &pkt(0, true, 800)),
        None
    );
}

#[test]
fn timestamps_wrap_around() {
    let mut r = DtmfReceiver::new();
    let ts = u32::MAX - 100;
    assert_eq!(r.on_packet(ts, &pkt(7, false, 160)), Some('7'));
    let next = ts.wrapping_add(1600);
    assert_eq!(r.on_packet(next, &pkt(8, false, 160)), Some('8'));
    assert_eq!(r.on_packet(ts, &pkt(7, true, 800)), None);
}

#[test]
fn restarted_stream_far_behind_is_accepted() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(5_000_000, &pkt(1, true, 800)), Some('1'));
    assert_eq!(r.on_packet(100, &pkt(2, false, 160)), Some('2'));
}

#[test]
fn long_event_continued_under_new_timestamp_is_one_press() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(0, &pkt(5, false, 160)), Some('5'));
    assert_eq!(r.on_packet(0, &pkt(5, false, 0xffff)), None);
    assert_eq!(r.on_packet(0xffff, &pkt(5, false, 160)), None);
    assert_eq!(r.on_packet(0xffff, &pkt(5, true, 800)), None);
    // A genuinely new press afterwards is reported.
    assert_eq!(r.on_packet(0xffff + 3000, &pkt(5, false, 160)), Some('5'));
}

#[test]
fn non_dtmf_events_and_junk_are_ignored() {
    let mut r = DtmfReceiver::new();
    assert_eq!(r.on_packet(1, &pkt(16, false, 160)), None);
    assert_eq!(r.on_packet(2, &[1, 2]), None);
    assert_eq!(r.on_packet(3, &[]), None);
    assert_eq!(r.on_packet(4, &pkt(11, false, 160)), Some('#'));
    r.reset();
    assert_eq!(r.on_packet(4, &pkt(11, false, 160)), Some('#'));
}

/// Drains the sender, returning every step until it goes idle.
fn drain(s: &mut DtmfSender) -> Vec<SenderStep> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        match s.next() {
            SenderStep::Idle => return out,
            step => out.push(step),
        }
    }
    panic!("sender never went idle");
}

fn decoded(step: &SenderStep) -> Option<(EventPayload, bool, bool)> {
    match step {
        SenderStep::Packet {
            payload,
            marker,
            event_start,
        } => Some((EventPayload::parse(payload).unwrap(), *marker, *event_start)),
        _ => None,
    }
}

#[test]
fn sender_paces_one_digit() {
    let mut s = DtmfSender::new();
    assert!(!s.is_busy());
    assert_eq!(s.next(), SenderStep::Idle);
    s.queue("5").unwrap();
    assert!(s.is_busy());
    let steps = drain(&mut s);
    assert!(!s.is_busy());
    // 120 ms tone = 6 ticks, the last of which is the first end packet,
    // then two more end copies, then 60 ms (3 ticks) of gap.
    assert_eq!(steps.len(), 6 + 2 + 3);
    let packets: Vec<_> = steps.iter().filter_map(decoded).collect();
    assert_eq!(packets.len(), 8);
    for (i, (p, marker, start)) in packets.iter().enumerate() {
        assert_eq!(p.event, 5);
        assert_eq!(p.volume, DEFAULT_VOLUME);
        assert_eq!(*marker, i == 0);
        assert_eq!(*start, i == 0);
        let expected = (160 * (i as u16 + 1)).min(960);
        assert_eq!(p.duration, expected, "packet {i}");
        assert_eq!(p.end, i >= 5, "packet {i}");
    }
    assert!(steps[8..].iter().all(|s| *s == SenderStep::Silent));
}

#[test]
fn sender_handles_pauses_and_sequences() {
    let mut s = DtmfSender::new();
    s.queue("12p3#").unwrap();
    let steps = drain(&mut s);
    let per_digit = 11;
    let pause = 25;
    assert_eq!(steps.len(), 4 * per_digit + pause);
    let starts: Vec<u8> = steps
        .iter()
        .filter_map(decoded)
        .filter(|(_, _, start)| *start)
        .map(|(p, _, _)| p.event)
        .collect();
    assert_eq!(starts, vec![1, 2, 3, 11]);
    // The pause sits between the second digit's gap and the third digit.
    let pause_range = &steps[2 * per_digit..2 * per_digit + pause];
    assert!(pause_range.iter().all(|s| *s == SenderStep::Silent));
    let (third, _, start) = decoded(&steps[2 * per_digit + pause]).unwrap();
    assert_eq!(third.event, 3);
    assert!(start);
}

#[test]
fn sender_rejects_bad_input_atomically() {
    let mut s = DtmfSender::new();
    assert_eq!(s.queue("12x3"), Err(DtmfError::InvalidDigit('x')));
    assert!(!s.is_busy());
    s.queue(&"1".repeat(200)).unwrap();
    assert_eq!(
        s.queue(&"2".repeat(57)),
        Err(DtmfError::QueueFull {
            queued: 200,
            requested: 57,
            max: MAX_QUEUED
        })
    );
    s.queue(&"3".repeat(56)).unwrap();
    assert!(s.queue("4").is_err());
    s.queue("").unwrap();
    s.queue("aBcDpP*#").unwrap_err();
}

#[test]
fn lower_case_letters_are_sent_as_events() {
    let mut s = DtmfSender::new();
    s.queue("aP").unwrap();
    let (first, _, _) = decoded(&s.next()).unwrap();
    assert_eq!(first.event, 12);
}

#[test]
fn clear_ends_a_started_digit_properly() {
    let mut s = DtmfSender::new();
    s.queue("789").unwrap();
    s.next();
    s.next();
    s.clear();
    assert!(s.is_busy());
    let steps = drain(&mut s);
    let packets: Vec<_> = steps.iter().filter_map(decoded).collect();
    assert_eq!(packets.len(), 3);
    for (p, marker, _) in packets {
        assert_eq!(p.event, 7);
        assert!(p.end);
        assert_eq!(p.duration, 320);
        assert!(!marker);
    }
    assert!(!s.is_busy());
    // Clearing while idle or in a gap stops at once.
    s.queue("1").unwrap();
    s.clear();
    assert!(!s.is_busy());
    assert_eq!(s.next(), SenderStep::Idle);
}

#[test]
fn custom_timing_rounds_to_ticks() {
    let mut s = DtmfSender::with_timing(Duration::from_millis(50), Duration::ZERO);
    s.queue("0").unwrap();
    let packets: Vec<_> = drain(&mut s).iter().filter_map(decoded).collect();
    // 50 ms rounds up to 3 ticks: 160, 320, 480(E) ×3.
    let durations: Vec<u16> = packets.iter().map(|(p, _, _)| p.duration).collect();
    assert_eq!(durations, vec![160, 320, 480, 480, 480]);

    let mut s = DtmfSender::with_timing(Duration::from_secs(60), Duration::ZERO);
    s.queue("0").unwrap();
    let last = drain(&mut s).iter().rev().find_map(decoded).unwrap().0;
    assert_eq!(last.duration, 64_000);

    let mut s = DtmfSender::with_timing(Duration::ZERO, Duration::ZERO);
    s.queue("0").unwrap();
    let (p, marker, start) = decoded(&s.next()).unwrap();
    assert!(p.end && marker && start);
}
