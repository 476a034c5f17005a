//! Inputs the fuzz targets (fuzz/, see fuzz/README.md) found, replayed through
//! the same entry points so `cargo test` keeps them fixed without cargo-fuzz.
//! Each input is also kept under fuzz/regressions/<target>/.
//!
//! ua_input, fuzz/regressions/ua_input/unanswered-refer-outlives-its-leg (a
//! REFER the call layer never answered kept its transaction after the call
//! ended) is replayed as `ua_refer.rs`'s
//! `a_refer_left_unanswered_when_the_call_ends_gets_481_and_leaves_nothing`;
//! ua_input/reinvite-after-100-outlives-its-dialog (our re-INVITE, answered
//! only 100, waited for ever: Timer B stops at the first 1xx) as
//! `ua_in_dialog.rs`'s `our_reinvite_answered_only_1xx_gives_up_and_leaves_nothing`.

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

/// sip_parse, fuzz/regressions/sip_parse/printed-message-too-many-headers: a
/// request with exactly `MAX_HEADERS` headers and no Content-Length parsed,
/// but printed with the Content-Length its body needs it had one header too
/// many to parse again. The limit is now on headers other than
/// Content-Length, and a repeated Content-Length is kept once.
#[test]
fn sip_parse_a_message_at_the_header_limit_parses_again_once_printed() {
    let found: &[u8] =
        include_bytes!("../../../../fuzz/regressions/sip_parse/printed-message-too-many-headers");
    if let Ok(msg) = dialtone_sip::parse_message(found) {
        let printed = msg.to_bytes();
        dialtone_sip::parse_message(&printed).expect("printed message parses");
    }

    let mut text = String::from("OPTIONS sip:a@example.com SIP/2.0\r\n");
    for n in 0..dialtone_sip::MAX_HEADERS {
        text.push_str(&format!("X-{n}: v\r\n"));
    }
    text.push_str("\r\n");
    let msg = dialtone_sip::parse_message(text.as_bytes()).expect("at the limit");
    let again = dialtone_sip::parse_message(&msg.to_bytes()).expect("printed, at the limit");
    assert_eq!(again.headers.len(), dialtone_sip::MAX_HEADERS + 1);

    let over = text.replacen("\r\n\r\n", "\r\nX-over: v\r\n\r\n", 1);
    assert!(dialtone_sip::parse_message(over.as_bytes()).is_err());

    let repeated = text.replacen(
        "\r\n\r\n",
        "\r\nContent-Length: 0\r\nContent-Length: 0\r\nl: 0\r\n\r\n",
        1,
    );
    let msg = dialtone_sip::parse_message(repeated.as_bytes()).expect("repeats of one length");
    assert_eq!(msg.headers.len(), dialtone_sip::MAX_HEADERS + 1);
}

/// sip_parse, fuzz/regressions/sip_parse/quoted-string-across-a-fold: control
/// characters were looked for line by line, so a quoted string that ran over
/// a folded line ended at the fold. An escaped control character after the
/// fold read as bare in the message as received but not once it was printed
/// (folds joined) and parsed again, or the other way round. The check now
/// runs over the whole header, folds joined, as it is printed.
#[test]
fn sip_parse_a_quoted_string_may_run_over_a_fold() {
    let found: &[u8] =
        include_bytes!("../../../../fuzz/regressions/sip_parse/quoted-string-across-a-fold");
    if let Ok(msg) = dialtone_sip::parse_message(found) {
        dialtone_sip::parse_message(&msg.to_bytes()).expect("printed message parses");
    }

    let folded = b"OPTIONS sip:a@example.com SIP/2.0\r\nSubject: \"one\r\n \\\x07two\"\r\n\r\n";
    let msg = dialtone_sip::parse_message(folded).expect("an escaped BEL in a quoted string");
    assert_eq!(msg.headers.get("Subject"), Some("\"one \\\x07two\""));
    dialtone_sip::parse_message(&msg.to_bytes()).expect("printed, it parses again");

    let bare = b"OPTIONS sip:a@example.com SIP/2.0\r\nSubject: \"one\"\r\n \x07two\r\n\r\n";
    assert!(
        dialtone_sip::parse_message(bare).is_err(),
        "a bare BEL after a fold"
    );
}
