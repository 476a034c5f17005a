//! REGISTER through a real `UaCore` into the call core and back: digest
//! challenges (SHA-256 and MD5), stale nonces on virtual time, wrong
//! passwords, bindings, expiry, un-REGISTER and the wildcard.

mod harness;

use std::sync::Arc;
use std::time::Duration;

use dialtone_calls::{Output, UserAuth, UserKey};
use dialtone_sip::auth::{authorization, Challenge, DigestInput};
use dialtone_sip::digest_server::{ha1, DigestAlgorithm};
use dialtone_sip::{Peer, SipMessage, Transport, UaConfig, UaCore, UaOutput};
use harness::Harness;

const PASSWORD: &str = "correct horse";

struct Phone {
    ua: UaCore,
    h: Harness,
    peer: Peer,
    cseq: u32,
}

impl Phone {
    fn new() -> Phone {
        let mut cfg = UaConfig::new("127.0.0.1:5060".parse().unwrap(), "dialtone");
        cfg.registrar = true;
        let h = Harness::new(None);
        h.knobs().users.push((
            "support.acme.test".into(),
            Arc::new(UserAuth {
                account: "acc".into(),
                application: "support".into(),
                name: "alice".into(),
                display_name: None,
                realm: "dialtone".into(),
                ha1_md5: ha1(DigestAlgorithm::Md5, "alice", "dialtone", PASSWORD),
                ha1_sha256: ha1(DigestAlgorithm::Sha256, "alice", "dialtone", PASSWORD),
            }),
        ));
        Phone {
            ua: UaCore::new(cfg),
            h,
            peer: Peer {
                transport: Transport::Udp,
                addr: "192.0.2.7:5062".parse().unwrap(),
            },
            cseq: 0,
        }
    }

    /// Sends a REGISTER with `extra` headers; returns the response.
    fn register(&mut self, user: &str, extra: &str) -> SipMessage {
        self.cseq += 1;
        let text = format!(
            "REGISTER sip:support.acme.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK{}{};rport\r\n\
             From: <sip:{user}@support.acme.test>;tag=ph\r\n\
             To: <sip:{user}@support.acme.test>\r\n\
             Call-ID: reg-call\r\n\
             CSeq: {} REGISTER\r\n\
             Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n",
            user, self.cseq, self.cseq
        );
        let now = self.h.now;
        self.ua.handle_input(now, self.peer, text.as_bytes());
        let mut sent = Vec::new();
        loop {
            let mut progressed = false;
            while let Some(out) = self.ua.poll_output() {
                progressed = true;
                match out {
                    UaOutput::Transmit { data, .. } => {
                        sent.push(SipMessage::parse(&data).expect("response parses"))
                    }
                    UaOutput::Event(ev) => {
                        for o in self.h.ua(ev) {
                            if let Output::Ua(cmd) = o {
                                self.ua.handle_command(now, cmd);
                            }
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        assert_eq!(sent.len(), 1, "{sent:?}");
        sent.remove(0)
    }

    fn answer(&mut self, challenge: &str, password: &str, extra: &str) -> SipMessage {
        let ch = Challenge::parse(challenge).expect("challenge parses");
        let auth = authorization(
            &ch,
            &DigestInput {
                username: "alice",
                password,
                method: "REGISTER",
                uri: "sip:support.acme.test",
                cnonce: "c0ffee",
                nc: 1,
            },
        );
        self.register("alice", &format!("Authorization: {auth}\r\n{extra}"))
    }

    fn bindings(&self) -> Vec<String> {
        let key = UserKey {
            account: "acc".into(),
            application: "support".into(),
            user: "alice".into(),
        };
        self.h
            .core
            .registered_users(self.h.now, "acc", None)
            .into_iter()
            .filter(|(k, _)| *k == key)
            .flat_map(|(_, b)| b.into_iter().map(|b| b.contact))
            .collect()
    }
}

fn md5_challenge(resp: &SipMessage) -> String {
    resp.headers
        .get_all("WWW-Authenticate")
        .find(|c| c.contains("algorithm=MD5"))
        .expect("an MD5 challenge")
        .to_string()
}

#[test]
fn a_phone_registers_after_a_challenge() {
    let mut p = Phone::new();
    let contact = "Contact: <sip:alice@10.0.0.7:5062>\r\nExpires: 600\r\n";
    let resp = p.register("alice", contact);
    assert_eq!(resp.code(), Some(401));
    let challenges: Vec<&str> = resp.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(challenges.len(), 2);
    // MD5 first: clients that only read the first challenge support it.
    assert!(challenges[0].contains("algorithm=MD5") && challenges[0].contains("qop=\"auth\""));
    assert!(challenges[1].contains("algorithm=SHA-256"));
    let resp = p.answer(&md5_challenge(&resp), PASSWORD, contact);
    assert_eq!(resp.code(), Some(200));
    let bound: Vec<&str> = resp.headers.get_all("Contact").collect();
    assert_eq!(bound, ["<sip:alice@10.0.0.7:5062>;expires=600"]);
    assert_eq!(p.bindings(), ["sip:alice@10.0.0.7:5062"]);
    let (_, list) = &p.h.core.registered_users(p.h.now, "acc", Some("support"))[0];
    assert_eq!(
        list[0].source, p.peer,
        "reached where the REGISTER came from"
    );

    // A refresh with the same nonce inside its lifetime is taken; past it
    // the nonce is stale and the phone is challenged again with stale=true.
    let challenge = md5_challenge(&resp_challenge(&mut p));
    p.h.advance(Duration::from_secs(200));
    assert_eq!(p.answer(&challenge, PASSWORD, contact).code(), Some(200));
    p.h.advance(Duration::from_secs(200));
    let resp = p.answer(&challenge, PASSWORD, contact);
    assert_eq!(resp.code(), Some(401));
    assert!(md5_challenge(&resp).contains("stale=true"));

    // The binding lasts its 600 s from the last refresh (at 200 s), then
    // is gone.
    p.h.advance(Duration::from_secs(399));
    assert_eq!(p.bindings().len(), 1);
    p.h.advance(Duration::from_secs(2));
    assert!(p.bindings().is_empty());
}

fn resp_challenge(p: &mut Phone) -> SipMessage {
    p.register("alice", "")
}

#[test]
fn sha256_answers_are_taken_too() {
    let mut p = Phone::new();
    let resp = p.register("alice", "");
    let sha = resp
        .headers
        .get_all("WWW-Authenticate")
        .find(|c| c.contains("SHA-256"))
        .unwrap()
        .to_string();
    let nonce = sha
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let alg = DigestAlgorithm::Sha256;
    let ha1 = ha1(alg, "alice", "dialtone", PASSWORD);
    let ha2 = alg.hex(&["REGISTER", "sip:support.acme.test"]);
    let response = alg.hex(&[&ha1, nonce, "00000001", "abc", "auth", &ha2]);
    let auth = format!(
        "Authorization: Digest username=\"alice\", realm=\"dialtone\", nonce=\"{nonce}\", \
         uri=\"sip:support.acme.test\", response=\"{response}\", algorithm=SHA-256, \
         qop=auth, nc=00000001, cnonce=\"abc\"\r\nContact: <sip:alice@10.0.0.7>\r\n"
    );
    assert_eq!(p.register("alice", &auth).code(), Some(200));
    assert_eq!(p.bindings().len(), 1);
}

#[test]
fn wrong_passwords_and_unknown_users_get_403_and_no_binding() {
    let mut p = Phone::new();
    let contact = "Contact: <sip:alice@10.0.0.7:5062>\r\n";
    let resp = p.register("alice", contact);
    assert_eq!(
        p.answer(&md5_challenge(&resp), "guess", contact).code(),
        Some(403)
    );
    assert!(p.bindings().is_empty());
    // An unknown user is challenged like a known one, then refused.
    let resp = p.register("mallory", contact);
    assert_eq!(resp.code(), Some(401));
    assert!(p.bindings().is_empty());
    // A nonce that is not ours is challenged again, not refused.
    let forged = md5_challenge(&resp).replace("nonce=\"", "nonce=\"1");
    assert_eq!(p.answer(&forged, PASSWORD, contact).code(), Some(401));
}

#[test]
fn expiry_limits_unregister_and_wildcard() {
    let mut p = Phone::new();
    let challenge = md5_challenge(&p.register("alice", ""));
    let resp = p.answer(
        &challenge,
        PASSWORD,
        "Contact: <sip:alice@10.0.0.7>;expires=10\r\n",
    );
    assert_eq!(resp.code(), Some(423));
    assert_eq!(resp.headers.get("Min-Expires"), Some("60"));
    let resp = p.answer(
        &challenge,
        PASSWORD,
        "Contact: <sip:alice@10.0.0.7>;expires=99999, <sip:alice@10.0.0.8>\r\n",
    );
    assert_eq!(resp.code(), Some(200));
    let mut bound: Vec<&str> = resp.headers.get_all("Contact").collect();
    bound.sort();
    assert_eq!(
        bound,
        [
            "<sip:alice@10.0.0.7>;expires=3600",
            "<sip:alice@10.0.0.8>;expires=3600"
        ]
    );
    // A query (no Contact) lists them without change.
    let resp = p.answer(&challenge, PASSWORD, "");
    assert_eq!(resp.headers.get_all("Contact").count(), 2);
    // Expires: 0 removes one.
    let resp = p.answer(
        &challenge,
        PASSWORD,
        "Contact: <sip:alice@10.0.0.7>\r\nExpires: 0\r\n",
    );
    assert_eq!(resp.code(), Some(200));
    assert_eq!(p.bindings(), ["sip:alice@10.0.0.8"]);
    // The wildcard needs Expires: 0.
    let resp = p.answer(&challenge, PASSWORD, "Contact: *\r\n");
    assert_eq!(resp.code(), Some(400));
    let resp = p.answer(&challenge, PASSWORD, "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(resp.code(), Some(200));
    assert!(p.bindings().is_empty());
    assert_eq!(p.h.core.binding_count(), 0);
}

/// An INVITE from alice@support.acme.test with `headers`.
fn invite_from_alice(p: &mut Phone, headers: Vec<(String, String)>) -> Vec<Output> {
    let leg = p.h.new_leg();
    p.h.ua(dialtone_sip::UaEvent::Incoming {
        leg,
        source: p.peer,
        request_uri: "sip:1234@127.0.0.1".into(),
        destination: "1234".into(),
        from_uri: "sip:alice@support.acme.test".into(),
        from_user: "alice".into(),
        from_display: None,
        to_uri: "sip:1234@127.0.0.1".into(),
        headers,
        body: Some(harness::peer_offer()),
    })
}

#[test]
fn a_users_invite_is_challenged_then_routed_by_its_application() {
    let mut p = Phone::new();
    let out = invite_from_alice(&mut p, vec![]);
    let Some(dialtone_sip::UaCommand::Reject {
        code: 407, headers, ..
    }) = harness::ua_cmds(&out).into_iter().next()
    else {
        panic!("no 407: {out:?}");
    };
    assert!(harness::starts(&out).is_empty());
    let challenge = headers
        .iter()
        .find(|(n, v)| n == "Proxy-Authenticate" && v.contains("MD5"))
        .map(|(_, v)| v.clone())
        .expect("an MD5 challenge");
    let answer = |password: &str| {
        let ch = Challenge::parse(&challenge).unwrap();
        authorization(
            &ch,
            &DigestInput {
                username: "alice",
                password,
                method: "INVITE",
                uri: "sip:1234@127.0.0.1",
                cnonce: "abc",
                nc: 1,
            },
        )
    };
    let out = invite_from_alice(
        &mut p,
        vec![("Proxy-Authorization".into(), answer("wrong password"))],
    );
    assert!(matches!(
        harness::ua_cmds(&out).into_iter().next(),
        Some(dialtone_sip::UaCommand::Reject { code: 403, .. })
    ));
    let out = invite_from_alice(
        &mut p,
        vec![("Proxy-Authorization".into(), answer(PASSWORD))],
    );
    let starts = harness::starts(&out);
    assert_eq!(starts.len(), 1, "{out:?}");
    assert_eq!(starts[0].custom_data, "user alice");
    let live = p.h.core.list_sessions(Some("acc"));
    let owner = live[0].owner.clone().expect("an owner");
    assert_eq!(owner.application, "support");
}

#[test]
fn an_address_that_keeps_guessing_is_refused_even_the_right_password() {
    let mut p = Phone::new();
    let contact = "Contact: <sip:alice@10.0.0.7:5062>\r\n";
    let challenge = md5_challenge(&p.register("alice", contact));
    for i in 0..dialtone_calls::MAX_AUTH_FAILURES {
        let resp = p.answer(&challenge, &format!("guess-{i}"), contact);
        assert_eq!(resp.code(), Some(403));
    }
    assert_eq!(p.answer(&challenge, PASSWORD, contact).code(), Some(403));
    assert!(p.bindings().is_empty());
    // Five minutes later (a new nonce: the old one is stale) it is heard again.
    p.h.advance(Duration::from_secs(301));
    let challenge = md5_challenge(&p.register("alice", contact));
    assert_eq!(p.answer(&challenge, PASSWORD, contact).code(), Some(200));
}
