//! Timer tests with virtual time: every instant is computed, nothing sleeps.

use std::time::{Duration, Instant};

use super::*;
use crate::message::SipMessage;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn invite() -> SipMessage {
    SipMessage::parse(
        b"INVITE sip:bob@10.0.0.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
Route: <sip:proxy;lr>\r\n\
From: <sip:alice@10.0.0.1>;tag=a1\r\n\
To: <sip:bob@10.0.0.2>\r\n\
Call-ID: call-1\r\n\
CSeq: 3 INVITE\r\n\
Contact: <sip:alice@10.0.0.1>\r\n\r\n",
    )
    .unwrap()
}

fn response(code: u16, to_tag: &str) -> SipMessage {
    let text = format!(
        "SIP/2.0 {code} X\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
From: <sip:alice@10.0.0.1>;tag=a1\r\n\
To: <sip:bob@10.0.0.2>;tag={to_tag}\r\n\
Call-ID: call-1\r\n\
CSeq: 3 INVITE\r\n\r\n"
    );
    SipMessage::parse(text.as_bytes()).unwrap()
}

/// Drives `on_timeout` at each `next_timeout` until `end`, recording when bytes
/// were sent and whether it timed out.
fn run_timers(
    start: Instant,
    end: Duration,
    mut next: impl FnMut() -> Option<Instant>,
    mut fire: impl FnMut(Instant) -> TxStep,
) -> (Vec<Duration>, Option<Duration>) {
    let mut sends = Vec::new();
    let mut timed_out = None;
    while let Some(at) = next() {
        if at > start + end {
            break;
        }
        let step = fire(at);
        if step.transmit.is_some() {
            sends.push(at - start);
        }
        if step.timed_out {
            timed_out = Some(at - start);
        }
    }
    (sends, timed_out)
}

#[test]
fn timer_a_doubles_and_timer_b_times_out() {
    let t0 = Instant::now();
    let (tx, _) = ClientInviteTx::new(t0, invite(), false, TimerConfig::default());
    let tx = std::cell::RefCell::new(tx);
    let (sends, timeout) = run_timers(
        t0,
        Duration::from_secs(60),
        || tx.borrow().next_timeout(),
        |now| tx.borrow_mut().on_timeout(now),
    );
    assert_eq!(
        sends,
        vec![ms(500), ms(1500), ms(3500), ms(7500), ms(15500), ms(31500)]
    );
    assert_eq!(timeout, Some(ms(32000)));
    assert!(tx.borrow().is_terminated());
}

#[test]
fn reliable_invite_has_no_timer_a() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTx::new(t0, invite(), true, TimerConfig::default());
    assert_eq!(tx.next_timeout(), Some(t0 + ms(32000)));
    assert!(tx.on_timeout(t0 + ms(32000)).timed_out);
}

#[test]
fn provisional_stops_retransmission_and_timer_b() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTx::new(t0, invite(), false, TimerConfig::default());
    let step = tx.on_response(t0 + ms(100), &response(100, ""));
    assert!(step.deliver);
    assert_eq!(tx.state(), ClientInviteState::Proceeding);
    assert_eq!(tx.next_timeout(), None);
}

#[test]
fn non_2xx_is_acked_by_the_transaction_then_timer_d() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTx::new(t0, invite(), false, TimerConfig::default());
    let step = tx.on_response(t0 + ms(200), &response(486, "b1"));
    assert!(step.deliver);
    let ack = SipMessage::parse(&step.transmit.unwrap()).unwrap();
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.request_uri(), Some("sip:bob@10.0.0.2"));
    assert_eq!(ack.headers.get("CSeq"), Some("3 ACK"));
    assert_eq!(ack.to_tag(), Some("b1"));
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKabc"));
    assert_eq!(ack.headers.get("Route"), Some("<sip:proxy;lr>"));
    // A retransmitted 486 is ACKed again and not delivered.
    let again = tx.on_response(t0 + ms(700), &response(486, "b1"));
    assert!(!again.deliver);
    assert!(again.transmit.is_some());
    assert_eq!(tx.next_timeout(), Some(t0 + ms(200) + ms(32000)));
    let done = tx.on_timeout(t0 + ms(32200));
    assert!(!done.timed_out);
    assert!(tx.is_terminated());
}

#[test]
fn non_2xx_over_tcp_terminates_at_once() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTx::new(t0, invite(), true, TimerConfig::default());
    let step = tx.on_response(t0, &response(603, "b1"));
    assert!(step.deliver && step.transmit.is_some());
    assert!(tx.is_terminated());
}

#[test]
fn accepted_state_and_timer_m() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientInviteTx::new(t0, invite(), false, TimerConfig::default());
    assert!(tx.on_response(t0 + ms(10), &response(200, "b1")).deliver);
    assert_eq!(tx.state(), ClientInviteState::Accepted);
    // Before the TU has built its ACK, retransmissions go to the TU.
    assert!(tx.on_response(t0 + ms(20), &response(200, "b1")).deliver);
    tx.set_2xx_ack("b1", b"ACK".to_vec());
    let step = tx.on_response(t0 + ms(510), &response(200, "b1"));
    assert_eq!(step.transmit.as_deref(), Some(&b"ACK"[..]));
    assert!(step.dialog_ack && !step.deliver);
    // Another fork's 2xx still reaches the TU.
    assert!(tx.on_response(t0 + ms(600), &response(200, "b2")).deliver);
    // Late provisional and failures are absorbed.
    assert_eq!(
        tx.on_response(t0 + ms(700), &response(180, "b1")),
        TxStep::default()
    );
    assert_eq!(tx.next_timeout(), Some(t0 + ms(10) + ms(32000)));
    assert!(!tx.on_timeout(t0 + ms(32010)).timed_out);
    assert!(tx.is_terminated());
}

fn bye() -> SipMessage {
    SipMessage::parse(
        b"BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKbye\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 4 BYE\r\n\r\n",
    )
    .unwrap()
}

fn bye_response(code: u16) -> SipMessage {
    let text = format!(
        "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKbye\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 4 BYE\r\n\r\n"
    );
    SipMessage::parse(text.as_bytes()).unwrap()
}

#[test]
fn timer_e_caps_at_t2_and_timer_f_times_out() {
    let t0 = Instant::now();
    let (tx, _) = ClientNonInviteTx::new(t0, &bye(), false, TimerConfig::default());
    let tx = std::cell::RefCell::new(tx);
    let (sends, timeout) = run_timers(
        t0,
        Duration::from_secs(60),
        || tx.borrow().next_timeout(),
        |now| tx.borrow_mut().on_timeout(now),
    );
    assert_eq!(
        sends,
        vec![
            ms(500),
            ms(1500),
            ms(3500),
            ms(7500),
            ms(11500),
            ms(15500),
            ms(19500),
            ms(23500),
            ms(27500),
            ms(31500)
        ]
    );
    assert_eq!(timeout, Some(ms(32000)));
}

#[test]
fn timer_e_after_provisional_is_t2() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientNonInviteTx::new(t0, &bye(), false, TimerConfig::default());
    assert!(tx.on_response(t0 + ms(100), &bye_response(100)).deliver);
    assert!(tx.on_timeout(t0 + ms(500)).transmit.is_some());
    assert_eq!(tx.next_timeout(), Some(t0 + ms(4500)));
}

#[test]
fn final_then_timer_k_and_duplicates_absorbed() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientNonInviteTx::new(t0, &bye(), false, TimerConfig::default());
    assert!(tx.on_response(t0 + ms(50), &bye_response(200)).deliver);
    assert!(!tx.on_response(t0 + ms(60), &bye_response(200)).deliver);
    assert_eq!(tx.next_timeout(), Some(t0 + ms(5050)));
    assert!(!tx.on_timeout(t0 + ms(5050)).timed_out);
    assert!(tx.is_terminated());

    let (mut tcp, _) = ClientNonInviteTx::new(t0, &bye(), true, TimerConfig::default());
    assert_eq!(tcp.next_timeout(), Some(t0 + ms(32000)));
    assert!(tcp.on_response(t0, &bye_response(481)).deliver);
    assert!(tcp.is_terminated());
}

#[test]
fn server_invite_resends_last_response_on_retransmission() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    assert_eq!(tx.on_retransmission(), TxStep::default());
    tx.send_response(t0, 100, b"100".to_vec());
    assert_eq!(
        tx.on_retransmission().transmit.as_deref(),
        Some(&b"100"[..])
    );
    tx.send_response(t0, 180, b"180".to_vec());
    assert_eq!(
        tx.on_retransmission().transmit.as_deref(),
        Some(&b"180"[..])
    );
    assert_eq!(tx.next_timeout(), None);
}

#[test]
fn timer_g_h_for_unacked_failure() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    tx.send_response(t0, 486, b"486".to_vec());
    let tx = std::cell::RefCell::new(tx);
    let (sends, timeout) = run_timers(
        t0,
        Duration::from_secs(60),
        || tx.borrow().next_timeout(),
        |now| tx.borrow_mut().on_timeout(now),
    );
    assert_eq!(
        &sends[..6],
        &[ms(500), ms(1500), ms(3500), ms(7500), ms(11500), ms(15500)]
    );
    assert_eq!(sends.last(), Some(&ms(31500)));
    assert_eq!(timeout, Some(ms(32000)));
}

#[test]
fn ack_confirms_then_timer_i() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    tx.send_response(t0, 487, b"487".to_vec());
    assert_eq!(tx.on_ack(t0 + ms(100)), TxStep::default());
    assert_eq!(tx.state(), ServerInviteState::Confirmed);
    // Retransmitted INVITE and ACK in Confirmed are absorbed.
    assert_eq!(tx.on_retransmission(), TxStep::default());
    assert_eq!(tx.on_ack(t0 + ms(200)), TxStep::default());
    assert_eq!(tx.next_timeout(), Some(t0 + ms(5100)));
    tx.on_timeout(t0 + ms(5100));
    assert!(tx.is_terminated());

    let mut tcp = ServerInviteTx::new(true, TimerConfig::default());
    tcp.send_response(t0, 487, b"487".to_vec());
    assert_eq!(tcp.next_timeout(), Some(t0 + ms(32000)));
    tcp.on_ack(t0);
    assert!(tcp.is_terminated());
}

#[test]
fn accepted_retransmits_2xx_until_ack_then_timer_l() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    tx.send_response(t0, 200, b"200".to_vec());
    assert!(tx.on_timeout(t0 + ms(500)).transmit.is_some());
    assert!(tx.on_timeout(t0 + ms(1500)).transmit.is_some());
    tx.ack_received();
    assert_eq!(tx.next_timeout(), Some(t0 + ms(32000)));
    // Retransmitted INVITEs still get the 2xx.
    assert!(tx.on_retransmission().transmit.is_some());
    let end = tx.on_timeout(t0 + ms(32000));
    assert!(!end.timed_out);
    assert!(tx.is_terminated());
}

#[test]
fn accepted_without_ack_times_out_at_timer_l() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    tx.send_response(t0, 200, b"200".to_vec());
    let tx = std::cell::RefCell::new(tx);
    let (sends, timeout) = run_timers(
        t0,
        Duration::from_secs(60),
        || tx.borrow().next_timeout(),
        |now| tx.borrow_mut().on_timeout(now),
    );
    assert_eq!(
        &sends[..5],
        &[ms(500), ms(1500), ms(3500), ms(7500), ms(11500)]
    );
    assert_eq!(timeout, Some(ms(32000)));
}

#[test]
fn accepted_ack_by_branch_goes_to_the_tu() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(true, TimerConfig::default());
    tx.send_response(t0, 200, b"200".to_vec());
    assert!(tx.on_ack(t0).deliver);
    // Only the dialog's word stops the 2xx: it may still drop the ACK.
    tx.ack_received();
    assert_eq!(tx.next_timeout(), Some(t0 + ms(32000)));
    assert!(!tx.on_timeout(t0 + ms(32000)).timed_out);
}

/// Found by the ua_input fuzz target: an ACK reusing the INVITE's branch that
/// the dialog then drops (no Call-ID, wrong tag) used to stop the 2xx and
/// Timer L's timeout, so the leg waited for an ACK forever.
#[test]
fn accepted_ack_by_branch_alone_does_not_stop_the_2xx() {
    let t0 = Instant::now();
    let mut tx = ServerInviteTx::new(false, TimerConfig::default());
    tx.send_response(t0, 200, b"200".to_vec());
    assert!(tx.on_ack(t0).deliver);
    assert_eq!(tx.next_timeout(), Some(t0 + ms(500)));
    assert_eq!(
        tx.on_timeout(t0 + ms(500)).transmit.as_deref(),
        Some(&b"200"[..])
    );
    assert!(tx.on_timeout(t0 + ms(32000)).timed_out);
}

#[test]
fn server_non_invite_timer_j() {
    let t0 = Instant::now();
    let mut tx = ServerNonInviteTx::new(false, TimerConfig::default());
    assert_eq!(tx.on_retransmission(), TxStep::default());
    tx.send_response(t0, 200, b"200".to_vec());
    assert_eq!(
        tx.on_retransmission().transmit.as_deref(),
        Some(&b"200"[..])
    );
    // Only one final response.
    assert_eq!(
        tx.send_response(t0, 500, b"500".to_vec()),
        TxStep::default()
    );
    assert_eq!(tx.next_timeout(), Some(t0 + ms(32000)));
    tx.on_timeout(t0 + ms(32000));
    assert!(tx.is_terminated());

    let mut tcp = ServerNonInviteTx::new(true, TimerConfig::default());
    tcp.send_response(t0, 200, b"200".to_vec());
    assert!(tcp.is_terminated());
}

#[test]
fn keys_match_per_rfc() {
    let inv = invite();
    let via = inv.top_via().unwrap();
    let k_inv = ServerKey::for_request(&inv, &via, &Method::Invite);
    assert_eq!(k_inv, ServerKey::for_request(&inv, &via, &Method::Ack));
    assert_ne!(k_inv, ServerKey::for_request(&inv, &via, &Method::Cancel));
    let mut other = via.clone();
    other.port = Some(5070);
    assert_ne!(k_inv, ServerKey::for_request(&inv, &other, &Method::Invite));
    // RFC 2543 peers: no magic cookie, keyed by request identity.
    let mut old = via.clone();
    old.set_param("branch", Some("1".into()));
    let k_old = ServerKey::for_request(&inv, &old, &Method::Invite);
    assert_eq!(k_old, ServerKey::for_request(&inv, &old, &Method::Ack));
}
