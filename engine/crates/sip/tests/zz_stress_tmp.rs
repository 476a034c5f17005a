mod common;
use common::*;
use dialtone_sip::{Transport, UaCommand, UaEvent};

#[test]
fn stress() {
    let net = NetConfig { loss: 0.3, duplicate: 0.2, min_delay: ms(0), max_delay: ms(700) };
    let mut fails = Vec::new();
    for seed in 0..3000u64 {
        let mut h = Harness::new(Transport::Udp, net, seed);
        let a_leg = h.dial(Some(sdp("offer")));
        if !h.run_until(secs(40), |h| h.incoming_leg(B).is_some()) { fails.push((seed, "incoming")); continue; }
        let b_leg = h.incoming_leg(B).unwrap();
        h.command(B, UaCommand::Provisional { leg: b_leg, code: 180, body: None, headers: vec![] });
        h.run_for(ms(500));
        h.command(B, UaCommand::Answer { leg: b_leg, body: Some(sdp("answer")), headers: vec![] });
        if !h.run_until(secs(40), |h| h.has(A, is_answered)) { fails.push((seed, "answered")); continue; }
        h.run_for(secs(1));
        h.command(A, UaCommand::Hangup { leg: a_leg, headers: vec![] });
        if !h.run_until(secs(70), |h| h.has(A, is_terminated) && h.has(B, is_terminated)) { fails.push((seed, "terminated")); continue; }
        h.run_to_idle(secs(200));
        if h.sides.iter().any(|s| s.ua.leg_count() + s.ua.transaction_count() > 0) { fails.push((seed, "idle")); }
        if h.count(A, is_terminated) != 1 || h.count(B, is_terminated) != 1 || h.count(A, is_answered) != 1 { fails.push((seed, "counts")); }
        let bt = h.events(B).find(|e| is_terminated(e)).cloned();
        if let Some(UaEvent::Terminated { by_remote: false, .. }) = bt { fails.push((seed, "b-ack-timeout")); }
    }
    println!("fails: {} {:?}", fails.len(), &fails[..fails.len().min(30)]);
}
