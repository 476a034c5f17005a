//! Inputs the fuzz targets (fuzz/, see fuzz/README.md) found, replayed through
//! the same entry points so `cargo test` keeps them fixed without cargo-fuzz.
//! Each input is also kept under fuzz/regressions/<target>/.

use std::time::{Duration, Instant};

use dialtone_sip::{Peer, Transport, UaCommand, UaConfig, UaCore, UaEvent, UaOutput};

fn drain(ua: &mut UaCore, events: &mut Vec<UaEvent>) {
    while let Some(out) = ua.poll_output() {
        if let UaOutput::Event(e) = out {
            events.push(e);
        }
    }
}

/// ua_input, fuzz/regressions/ua_input/ack-by-branch-stops-2xx: an ACK that
/// reuses the INVITE's branch but that the dialog drops (here it has no
/// Call-ID, From, To or CSeq) stopped the 2xx retransmissions and disarmed the
/// ACK timeout, so the answered leg waited for an ACK forever and a Hangup
/// (which waits for the ACK before its BYE) never ended it.
#[test]
fn ua_input_ack_by_branch_alone_leaves_the_leg_to_time_out() {
    let mut ua = UaCore::new(UaConfig::new("127.0.0.1:5060".parse().unwrap(), "t"));
    let peer = Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:5070".parse().unwrap(),
    };
    let start = Instant::now();
    let mut events = Vec::new();
    let invite = b"INVITE sip:0 SIP/2.0\n\
V:SIP/2.0/P 127.0.0.1:5070;branch=z9hG4bK-4242-1-0\n\
F:<sip:7>\n\
T:<sip:0>\n\
Call-ID:1\n\
CSeq:1 INVITE\n\
\n";
    ua.handle_input(start, peer, invite);
    drain(&mut ua, &mut events);
    let Some(UaEvent::Incoming { leg, .. }) = events.first().cloned() else {
        panic!("no Incoming: {events:?}");
    };
    ua.handle_command(
        start,
        UaCommand::Answer {
            leg,
            body: None,
            headers: vec![],
        },
    );
    let ack = b"ACK 0 SIP/2.0\nV:SIP/2.0/P 127.0.0.1:5070;branch=z9hG4bK-4242-1-0\n\n";
    ua.handle_input(start, peer, ack);
    ua.handle_command(
        start,
        UaCommand::Hangup {
            leg,
            headers: vec![],
        },
    );
    drain(&mut ua, &mut events);
    let mut now = start;
    while let Some(at) = ua.poll_timeout() {
        assert!(at < start + Duration::from_secs(3600), "timers run forever");
        now = now.max(at);
        ua.handle_timeout(now);
        drain(&mut ua, &mut events);
    }
    assert_eq!(ua.leg_count(), 0, "{events:?}");
    assert_eq!(ua.transaction_count(), 0);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, UaEvent::Terminated { leg: l, code: 408, .. } if *l == leg)),
        "{events:?}"
    );
}
