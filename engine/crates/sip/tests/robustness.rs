//! Nothing a peer sends may panic the stack: truncated, mutated and random input,
//! through the parser, the framer and a live user-agent core; and random command
//! sequences on a lossy network must still drain every table.

mod common;

use std::time::{Duration, Instant};

use common::raw::crlf;
use common::*;
use dialtone_sip::auth::Challenge;
use dialtone_sip::{
    frame_stream, CSeq, NameAddr, Peer, SipMessage, SipUri, Transport, UaCommand, UaCore, UaEvent,
    Via,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const INVITE: &str = "INVITE sip:bob@127.0.0.1:5070;transport=udp SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfuzz;rport, SIP/2.0/TCP [::1]:5062;branch=z9hG4bKup
Max-Forwards: 70
From: \"Al \\\"the\\\" ice\" <sip:alice:pw@127.0.0.1:5060;lr?h=v>;tag=fz1
To: Bob <sip:bob@127.0.0.1:5070>
Call-ID: fuzz-1@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5060>;expires=60
Record-Route: <sip:127.0.0.1:5090;lr>
Require: 
Authorization: Digest username=\"a\", realm=\"r\", nonce=\"n\"
Content-Type: application/sdp
Content-Length: 32

v=0
o=- 1 1 IN IP4 127.0.0.1
";

const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=BRANCH;rport=5070;received=127.0.0.1
From: <sip:dialtone@127.0.0.1:5070>;tag=FROMTAG
To: <sip:bob@127.0.0.1:5060>;tag=tt
Call-ID: CALLID
CSeq: 1 INVITE
Contact: <sip:bob@127.0.0.1:5060>
Record-Route: <sip:127.0.0.1:5060;lr>
WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"
Content-Length: 0

";

const PEER: Peer = Peer {
    transport: Transport::Udp,
    addr: std::net::SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        5060,
    )),
};

/// Feeds `data` everywhere a peer's bytes can reach.
fn feed(ua: &mut UaCore, now: Instant, data: &[u8]) {
    ua.handle_input(now, PEER, data);
    let tcp = Peer {
        transport: Transport::Tcp,
        ..PEER
    };
    ua.handle_input(now, tcp, data);
    if let Ok(Some(n)) = frame_stream(data) {
        assert!(n <= data.len());
    }
    let _ = SipMessage::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SipUri::parse(text);
        let _ = NameAddr::parse(text);
        let _ = Via::parse(text);
        let _ = CSeq::parse(text);
        let _ = Challenge::parse(text);
    }
    while ua.poll_output().is_some() {}
}

fn mutations() -> Vec<Vec<u8>> {
    let base = crlf(INVITE);
    let mut out = Vec::new();
    for len in 0..=base.len() {
        out.push(base[..len].to_vec());
    }
    let replacements = [
        0x00, 0x01, 0x20, 0x7f, 0x80, 0xff, b':', b';', b'<', b'>', b'"', b'\\', b' ', b'\r',
        b'\n', b',', b'@', b'%', b'[', b']', b'=', b'0', b'9',
    ];
    for i in 0..base.len() {
        for x in [0x01u8, 0x20, 0x80] {
            let mut m = base.clone();
            m[i] ^= x;
            out.push(m);
        }
        for r in replacements {
            let mut m = base.clone();
            m[i] = r;
            out.push(m);
        }
    }
    out
}

#[test]
fn every_prefix_and_flipped_byte_of_an_invite() {
    let mut ua = ua(5070);
    let start = Instant::now();
    let inputs = mutations();
    assert!(inputs.len() > 10_000);
    let mut answered = 0;
    for (i, m) in inputs.iter().enumerate() {
        let now = start + Duration::from_millis(i as u64);
        ua.handle_input(now, PEER, m);
        while let Some(out) = ua.poll_output() {
            if matches!(out, dialtone_sip::UaOutput::Transmit { .. }) {
                answered += 1;
            }
        }
        feed(&mut ua, now, m);
    }
    // Plenty of mutants are still answerable requests.
    assert!(answered > 1000, "{answered}");
    // Whatever legs the mutants created are driven through their timers too.
    let mut now = start;
    while let Some(t) = ua.poll_timeout() {
        now = now.max(t);
        ua.handle_timeout(now);
        while ua.poll_output().is_some() {}
        if now > start + secs(3600) {
            break;
        }
    }
}

#[test]
fn random_junk_and_splices() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut ua = ua(5070);
    let now = Instant::now();
    let pieces: Vec<Vec<u8>> = vec![
        crlf(INVITE),
        crlf(OK),
        crlf("BYE sip:x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@b>;tag=1\n\n"),
        crlf("ACK sip:x SIP/2.0\nVia: SIP/2.0/UDP h\n\n"),
        b"\r\n".to_vec(),
        b": ; < > \" , @ [ ] = ? & %".to_vec(),
    ];
    for _ in 0..20_000 {
        let mut data = Vec::new();
        match rng.gen_range(0..4) {
            0 => {
                let n = rng.gen_range(0..600);
                data.extend((0..n).map(|_| rng.gen::<u8>()));
            }
            1 => {
                let n = rng.gen_range(0..600);
                data.extend((0..n).map(|_| rng.gen_range(0x20u8..0x7f)));
            }
            _ => {
                for _ in 0..rng.gen_range(1..5) {
                    let p = &pieces[rng.gen_range(0..pieces.len())];
                    let a = rng.gen_range(0..=p.len());
                    let b = rng.gen_range(a..=p.len());
                    data.extend_from_slice(&p[a..b]);
                }
                // Random edits.
                for _ in 0..rng.gen_range(0..8) {
                    if data.is_empty() {
                        break;
                    }
                    let i = rng.gen_range(0..data.len());
                    match rng.gen_range(0..3) {
                        0 => data[i] = rng.gen(),
                        1 => {
                            data.remove(i);
                        }
                        _ => data.insert(i, rng.gen()),
                    }
                }
            }
        }
        feed(&mut ua, now, &data);
    }
}

#[test]
fn mutated_responses_to_a_live_dial() {
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..300 {
        let mut ua = ua(5070);
        let now = Instant::now();
        let leg = ua.new_leg_id();
        ua.handle_command(
            now,
            UaCommand::Dial {
                leg,
                target: PEER,
                request_uri: "sip:bob@127.0.0.1:5060".into(),
                from_uri: "sip:dialtone@127.0.0.1:5070".into(),
                from_display: None,
                to_uri: "sip:bob@127.0.0.1:5060".into(),
                body: Some(sdp("o")),
                headers: vec![],
                auth: Some(("u".into(), "p".into())),
                max_forwards: 70,
            },
        );
        let invite = match ua.poll_output() {
            Some(dialtone_sip::UaOutput::Transmit { data, .. }) => {
                SipMessage::parse(&data).unwrap()
            }
            other => panic!("{other:?}"),
        };
        let branch = invite.top_via().unwrap().branch().unwrap().to_string();
        let response = OK
            .replace("BRANCH", &branch)
            .replace("FROMTAG", invite.from_tag().unwrap())
            .replace("CALLID", invite.call_id().unwrap());
        for code in [
            "100 Trying",
            "180 Ringing",
            "401 Unauthorized",
            "200 OK",
            "486 Busy",
        ] {
            let text = crlf(&response.replace("200 OK", code));
            for _ in 0..20 {
                let mut m = text.clone();
                for _ in 0..rng.gen_range(0..4) {
                    let i = rng.gen_range(0..m.len());
                    m[i] = rng.gen_range(0x20u8..0x7f);
                }
                if rng.gen_bool(0.2) {
                    m.truncate(rng.gen_range(0..m.len()));
                }
                feed(&mut ua, now, &m);
            }
            feed(&mut ua, now, &text);
        }
        ua.handle_command(
            now,
            UaCommand::Hangup {
                leg,
                headers: vec![],
            },
        );
        let mut t = now;
        while let Some(at) = ua.poll_timeout() {
            t = t.max(at);
            ua.handle_timeout(t);
            while ua.poll_output().is_some() {}
        }
        assert_eq!(ua.leg_count(), 0, "round {round}");
        assert_eq!(ua.transaction_count(), 0, "round {round}");
    }
}

/// Random calls, commands and timing on a lossy, duplicating, reordering network;
/// then everything is hung up and the tables must drain.
#[test]
fn random_command_sequences_drain() {
    for seed in 0..60 {
        let net = NetConfig {
            loss: 0.15,
            duplicate: 0.15,
            min_delay: ms(0),
            max_delay: ms(400),
        };
        let transport = if seed % 4 == 3 {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let mut h = Harness::new(transport, net, seed);
        let mut rng = StdRng::seed_from_u64(seed + 1000);
        let mut a_legs = Vec::new();
        for _ in 0..200 {
            match rng.gen_range(0..10) {
                0 => a_legs.push(h.dial(if rng.gen_bool(0.8) {
                    Some(sdp("o"))
                } else {
                    None
                })),
                1..=6 => {
                    let b_legs: Vec<_> = h
                        .events(B)
                        .filter_map(|e| match e {
                            UaEvent::Incoming { leg, .. } => Some(*leg),
                            _ => None,
                        })
                        .collect();
                    let (side, legs) = if rng.gen_bool(0.5) {
                        (A, &a_legs)
                    } else {
                        (B, &b_legs)
                    };
                    if legs.is_empty() {
                        continue;
                    }
                    let leg = legs[rng.gen_range(0..legs.len())];
                    let cmd = match rng.gen_range(0..6) {
                        0 => UaCommand::Provisional {
                            leg,
                            code: [180, 183, 100, 200][rng.gen_range(0..4)],
                            body: None,
                            headers: vec![],
                        },
                        1 | 2 => UaCommand::Answer {
                            leg,
                            body: Some(sdp("a")),
                            headers: vec![],
                        },
                        3 => UaCommand::Reject {
                            leg,
                            code: [486, 603, 200, 999][rng.gen_range(0..4)],
                            reason: None,
                            headers: vec![],
                        },
                        4 => UaCommand::Hangup {
                            leg,
                            headers: vec![],
                        },
                        _ => UaCommand::AnswerReInvite {
                            leg,
                            code: 200,
                            body: None,
                            headers: Vec::new(),
                        },
                    };
                    h.command(side, cmd);
                }
                _ => {
                    let d = ms(rng.gen_range(0..3000));
                    h.run_for(d);
                }
            }
        }
        // Hang up everything still up, from both sides.
        let b_legs: Vec<_> = h
            .events(B)
            .filter_map(|e| match e {
                UaEvent::Incoming { leg, .. } => Some(*leg),
                _ => None,
            })
            .collect();
        for leg in a_legs.clone() {
            h.command(
                A,
                UaCommand::Hangup {
                    leg,
                    headers: vec![],
                },
            );
        }
        for leg in b_legs.clone() {
            h.command(
                B,
                UaCommand::Hangup {
                    leg,
                    headers: vec![],
                },
            );
        }
        h.run_to_idle(secs(1000));
        h.assert_idle();
        // Every leg ended exactly once, with one terminal event.
        for (side, legs) in [(A, &a_legs), (B, &b_legs)] {
            for leg in legs {
                let ends = h.count(side, |e| match e {
                    UaEvent::Terminated { leg: l, .. }
                    | UaEvent::Failed { leg: l, .. }
                    | UaEvent::Cancelled { leg: l } => l == leg,
                    _ => false,
                });
                // Outbound legs always end with an event; a rejected inbound one
                // ends without (the call layer rejected it).
                if side == A {
                    assert_eq!(ends, 1, "seed {seed}: leg {leg} ended {ends} times");
                } else {
                    assert!(ends <= 1, "seed {seed}: leg {leg} ended {ends} times");
                }
            }
        }
    }
}
