//! REGISTER with a registrar above the core: reported with what the
//! registrar needs, answered statelessly with its bindings.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{Transport, UaCommand, UaConfig, UaCore, UaEvent};

fn registrar() -> Raw {
    let mut raw = Raw::new(Transport::Udp);
    let mut cfg = UaConfig::new(addr(5070), "dialtone-test");
    cfg.registrar = true;
    raw.ua = UaCore::new(cfg);
    raw
}

const REGISTER: &str = "REGISTER sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKreg1;rport
From: <sip:alice@support.acme.test>;tag=r1
To: <sip:alice@support.acme.test>
Call-ID: reg-1
CSeq: 7 REGISTER
Contact: <sip:alice@10.0.0.5:5060>;expires=600, <sip:alice@10.0.0.5:5062>
Contact: *
Expires: 3600
Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"
User-Agent: test-phone
Max-Forwards: 70

";

#[test]
fn register_is_reported_and_answered_with_contacts() {
    let mut raw = registrar();
    let out = raw.send(REGISTER);
    assert!(
        out.sent.is_empty(),
        "nothing is answered before the registrar"
    );
    let [UaEvent::Register { request, reply }] = &out.events[..] else {
        panic!("expected one Register event, got {:?}", out.events);
    };
    assert_eq!(request.source, raw.peer);
    assert_eq!(request.to_uri, "<sip:alice@support.acme.test>");
    assert_eq!(request.call_id, "reg-1");
    assert_eq!(request.cseq, 7);
    assert_eq!(request.expires, Some(3600));
    assert_eq!(
        request.contacts,
        vec![
            "<sip:alice@10.0.0.5:5060>;expires=600",
            "<sip:alice@10.0.0.5:5062>",
            "*"
        ]
    );
    assert_eq!(request.authorization.len(), 1);
    assert_eq!(request.user_agent.as_deref(), Some("test-phone"));
    let out = raw.command(UaCommand::Respond {
        reply: reply.clone(),
        code: 200,
        contacts: vec!["<sip:alice@10.0.0.5:5060>;expires=600".into()],
        headers: vec![
            ("Contact".into(), "<sip:evil>".into()),
            ("Date".into(), "x".into()),
        ],
    });
    let resp = out.only();
    assert_eq!(resp.code(), Some(200));
    assert_eq!(resp.headers.get("CSeq"), Some("7 REGISTER"));
    assert!(resp.to_tag().is_some());
    let contacts: Vec<&str> = resp.headers.get_all("Contact").collect();
    assert_eq!(contacts, vec!["<sip:alice@10.0.0.5:5060>;expires=600"]);
    let via = resp.headers.get("Via").unwrap();
    assert!(
        via.contains("received=127.0.0.1") && via.contains("rport=5060"),
        "{via}"
    );
    // Stateless: nothing is left to time out.
    raw.run_timers(secs(40));
    assert!(raw.idle());
}

#[test]
fn register_without_a_registrar_is_405_and_junk_is_400() {
    let mut raw = Raw::new(Transport::Udp);
    assert_eq!(raw.send(REGISTER).only().code(), Some(405));
    let mut raw = registrar();
    let bad = REGISTER.replace("Expires: 3600", "Expires: soon");
    let out = raw.send(&bad);
    assert_eq!(out.only().code(), Some(400));
    assert!(out.events.is_empty());
    let many: String = (0..20)
        .map(|i| format!("Contact: <sip:a@10.0.0.5:{}>\n", 6000 + i))
        .collect();
    let flood = REGISTER.replace("Contact: *\n", &many);
    let out = raw.send(&flood);
    assert_eq!(out.only().code(), Some(400));
}
