//! Our own REGISTERs to a provider: digest answered, one Call-ID with a
//! rising CSeq across refreshes, what was granted reported, un-REGISTER
//! forgotten once answered, loss and timeouts reported once.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::auth::Credentials;
use dialtone_sip::digest_server::{self, DigestAlgorithm, DigestAuthorization};
use dialtone_sip::{ClientRegister, SipMessage, Transport, UaCommand, UaEvent};

fn register(raw: &Raw, expires: u32) -> UaCommand {
    UaCommand::Register(ClientRegister {
        id: 9,
        target: raw.peer,
        registrar_uri: "sip:provider.test".into(),
        aor: "sip:4471000@provider.test".into(),
        contact_user: "4471000".into(),
        expires,
        auth: Some(Credentials::new("4471000", "s3cret-pw")),
    })
}

/// A response to `req` as a provider writes it, with `extra` headers.
fn answer(req: &SipMessage, status: &str, extra: &str) -> String {
    let h = |name| req.headers.get(name).unwrap_or_default();
    format!(
        "SIP/2.0 {status}\nVia: {}\nFrom: {}\nTo: {};tag=prov\nCall-ID: {}\nCSeq: {}\n{extra}Content-Length: 0\n\n",
        h("Via"),
        h("From"),
        h("To"),
        h("Call-ID"),
        h("CSeq")
    )
}

fn cseq(req: &SipMessage) -> u32 {
    req.cseq().unwrap().seq
}

fn answered(out: &Out) -> (u16, Option<u32>, Option<u32>, Option<u32>) {
    match &out.events[..] {
        [UaEvent::RegisterAnswered {
            id: 9,
            code,
            expires,
            min_expires,
            retry_after,
            ..
        }] => (*code, *expires, *min_expires, *retry_after),
        other => panic!("expected one RegisterAnswered, got {other:?}"),
    }
}

#[test]
fn digest_challenge_is_answered_and_the_granted_time_reported() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.command(register(&raw, 3600));
    let first = out.only().clone();
    assert_eq!(first.request_uri(), Some("sip:provider.test"));
    assert_eq!(first.headers.get("Expires"), Some("3600"));
    assert_eq!(first.headers.get("To"), Some("<sip:4471000@provider.test>"));
    assert_eq!(
        first.headers.get("Contact"),
        Some("<sip:4471000@127.0.0.1:5070>")
    );
    assert!(first.headers.get("Authorization").is_none());
    let nonce = "n0nce-1";
    let challenge = digest_server::challenge("provider.test", nonce, DigestAlgorithm::Md5, false);
    let out = raw.send(&answer(
        &first,
        "401 Unauthorized",
        &format!("WWW-Authenticate: {challenge}\n"),
    ));
    assert!(out.events.is_empty(), "{:?}", out.events);
    let second = out.only().clone();
    assert_eq!(second.call_id().unwrap(), first.call_id().unwrap());
    assert_eq!(cseq(&second), cseq(&first) + 1);
    assert_ne!(
        second.top_via().unwrap().branch(),
        first.top_via().unwrap().branch()
    );
    let auth = DigestAuthorization::parse(second.headers.get("Authorization").unwrap()).unwrap();
    let ha1 = digest_server::ha1(
        DigestAlgorithm::Md5,
        "4471000",
        "provider.test",
        "s3cret-pw",
    );
    assert!(auth.verify("REGISTER", &ha1), "the digest checks out");
    // The provider grants less than asked, on our contact; another
    // binding of the same AOR has its own time.
    let out = raw.send(&answer(
        &second,
        "200 OK",
        "Contact: <sip:4471000@10.9.9.9:5060>;expires=30\nContact: <sip:4471000@127.0.0.1:5070>;expires=120\nExpires: 999\n",
    ));
    assert_eq!(answered(&out), (200, Some(120), None, None));
    assert!(out.sent.is_empty());
    assert_eq!(raw.ua.registration_count(), 1);

    // A refresh: same Call-ID and From tag, next CSeq; the nonce is
    // answered again when challenged anew.
    let out = raw.command(register(&raw, 3600));
    let refresh = out.only().clone();
    assert_eq!(refresh.call_id().unwrap(), first.call_id().unwrap());
    assert_eq!(refresh.from_tag(), first.from_tag());
    assert_eq!(cseq(&refresh), cseq(&second) + 1);
    let out = raw.send(&answer(&refresh, "200 OK", "Expires: 45\n"));
    assert_eq!(
        answered(&out),
        (200, Some(45), None, None),
        "Expires header when no Contact is ours"
    );
}

#[test]
fn wrong_credentials_end_with_the_second_challenge() {
    let mut raw = Raw::new(Transport::Udp);
    let req = raw.command(register(&raw, 600)).only().clone();
    let challenge = digest_server::challenge("p", "same-nonce", DigestAlgorithm::Md5, false);
    let header = format!("WWW-Authenticate: {challenge}\n");
    let req2 = raw
        .send(&answer(&req, "401 Unauthorized", &header))
        .only()
        .clone();
    let out = raw.send(&answer(&req2, "401 Unauthorized", &header));
    assert!(out.sent.is_empty(), "the same nonce is not answered twice");
    assert_eq!(answered(&out).0, 401);
    // A stale nonce is answered again (up to a limit).
    let req3 = raw.command(register(&raw, 600)).only().clone();
    let stale = digest_server::challenge("p", "n-a", DigestAlgorithm::Md5, true);
    let req4 = raw
        .send(&answer(
            &req3,
            "401 Unauthorized",
            &format!("WWW-Authenticate: {stale}\n"),
        ))
        .only()
        .clone();
    let out = raw.send(&answer(
        &req4,
        "407 Proxy Authentication Required",
        &format!("Proxy-Authenticate: {stale}\n"),
    ));
    let req5 = out.only().clone();
    assert!(req5.headers.get("Proxy-Authorization").is_some());
}

#[test]
fn interval_too_brief_and_retry_after_are_reported() {
    let mut raw = Raw::new(Transport::Udp);
    let req = raw.command(register(&raw, 30)).only().clone();
    let out = raw.send(&answer(
        &req,
        "423 Interval Too Brief",
        "Min-Expires: 120\n",
    ));
    assert_eq!(answered(&out), (423, None, Some(120), None));
    let req = raw.command(register(&raw, 120)).only().clone();
    let out = raw.send(&answer(
        &req,
        "503 Service Unavailable",
        "Retry-After: 18 (maintenance)\n",
    ));
    assert_eq!(answered(&out), (503, None, None, Some(18)));
}

#[test]
fn lost_registers_are_retransmitted_then_time_out_once() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.command(register(&raw, 600));
    assert_eq!(out.sent.len(), 1);
    let log = raw.run_timers(secs(40));
    let resent = log.iter().filter(|(_, m, _)| m.is_request()).count();
    assert!(
        (9..=12).contains(&resent),
        "Timer E retransmissions: {resent}"
    );
    let events: Vec<&UaEvent> = log.iter().flat_map(|(_, _, e)| e).collect();
    assert!(
        matches!(events[..], [UaEvent::RegisterAnswered { code: 408, .. }]),
        "{events:?}"
    );
    // It is still known (a later refresh keeps the Call-ID).
    assert_eq!(raw.ua.registration_count(), 1);
}

#[test]
fn unregister_is_forgotten_once_answered_and_a_new_command_supersedes_the_old() {
    let mut raw = Raw::new(Transport::Udp);
    let first = raw.command(register(&raw, 600)).only().clone();
    // Superseded before any answer: the old transaction is dropped.
    let second = raw.command(register(&raw, 0)).only().clone();
    assert_eq!(second.headers.get("Expires"), Some("0"));
    assert_eq!(second.call_id().unwrap(), first.call_id().unwrap());
    let out = raw.send(&answer(&first, "200 OK", "Expires: 600\n"));
    assert!(
        out.events.is_empty(),
        "an answer to the superseded REGISTER: {:?}",
        out.events
    );
    let out = raw.send(&answer(&second, "200 OK", ""));
    assert_eq!(answered(&out).0, 200);
    assert_eq!(raw.ua.registration_count(), 0);
    raw.run_timers(secs(40));
    assert_eq!(raw.ua.transaction_count(), 0);
}

#[test]
fn tcp_contact_and_bad_uris() {
    let mut raw = Raw::new(Transport::Tcp);
    let req = raw.command(register(&raw, 600)).only().clone();
    assert_eq!(
        req.headers.get("Contact"),
        Some("<sip:4471000@127.0.0.1:5070;transport=tcp>")
    );
    assert!(req.headers.get("Via").unwrap().starts_with("SIP/2.0/TCP"));
    let mut bad = register(&raw, 600);
    if let UaCommand::Register(r) = &mut bad {
        r.id = 10;
        r.contact_user = "a b".into();
    }
    let out = raw.command(bad);
    assert!(out.sent.is_empty());
    assert!(matches!(
        out.events[..],
        [UaEvent::RegisterAnswered {
            id: 10,
            code: 400,
            ..
        }]
    ));
}

#[test]
fn register_debug_hides_the_password() {
    let raw = Raw::new(Transport::Udp);
    let shown = format!("{:?}", register(&raw, 600));
    assert!(!shown.contains("s3cret-pw"), "{shown}");
}
