//! One `UaCore` driven by hand-written messages from a scripted peer.

use std::time::{Duration, Instant};

use dialtone_sip::{Peer, SipMessage, Transport, UaCommand, UaCore, UaEvent, UaOutput};

use super::{addr, sdp, ua};

/// The core under test listens on 127.0.0.1:5070; the scripted peer is 5060.
pub struct Raw {
    pub ua: UaCore,
    pub start: Instant,
    pub now: Instant,
    pub peer: Peer,
}

/// Turns `\n` line ends into CRLF, so messages can be written as plain text.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

#[derive(Debug, Default)]
pub struct Out {
    pub sent: Vec<(Peer, SipMessage)>,
    pub events: Vec<UaEvent>,
}

impl Out {
    pub fn codes(&self) -> Vec<u16> {
        self.sent.iter().filter_map(|(_, m)| m.code()).collect()
    }

    pub fn only(&self) -> &SipMessage {
        assert_eq!(
            self.sent.len(),
            1,
            "expected one message, got {:#?}",
            self.sent
        );
        &self.sent[0].1
    }

    pub fn first_lines(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|(_, m)| {
                String::from_utf8_lossy(&m.to_bytes())
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }
}

impl Raw {
    pub fn new(transport: Transport) -> Raw {
        let start = Instant::now();
        Raw {
            ua: ua(5070),
            start,
            now: start,
            peer: Peer {
                transport,
                addr: addr(5060),
            },
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn send(&mut self, text: &str) -> Out {
        let bytes = crlf(text);
        self.send_bytes(&bytes)
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> Out {
        let (now, peer) = (self.now, self.peer);
        self.ua.handle_input(now, peer, bytes);
        self.out()
    }

    pub fn command(&mut self, cmd: UaCommand) -> Out {
        let now = self.now;
        self.ua.handle_command(now, cmd);
        self.out()
    }

    pub fn advance(&mut self, d: Duration) -> Out {
        self.now += d;
        let now = self.now;
        self.ua.handle_timeout(now);
        self.out()
    }

    /// Fires every timer up to `until` (from the start), recording when each
    /// message went out.
    pub fn run_timers(&mut self, until: Duration) -> Vec<(Duration, SipMessage, Vec<UaEvent>)> {
        let mut log = Vec::new();
        while let Some(at) = self.ua.poll_timeout() {
            if at > self.start + until {
                break;
            }
            self.now = self.now.max(at);
            let now = self.now;
            self.ua.handle_timeout(now);
            let out = self.out();
            let elapsed = self.elapsed();
            let mut events = out.events;
            for (_, msg) in out.sent {
                log.push((elapsed, msg, std::mem::take(&mut events)));
            }
            if !events.is_empty() {
                log.push((elapsed, SipMessage::response(100, "no message"), events));
            }
        }
        self.now = self.now.max(self.start + until);
        log
    }

    pub fn out(&mut self) -> Out {
        let mut out = Out::default();
        while let Some(o) = self.ua.poll_output() {
            match o {
                UaOutput::Transmit { to, data } => {
                    if data == b"\r\n" {
                        out.sent.push((to, SipMessage::response(100, "pong")));
                        continue;
                    }
                    let msg = SipMessage::parse(&data).expect("our own output parses");
                    out.sent.push((to, msg));
                }
                UaOutput::Event(e) => out.events.push(e),
            }
        }
        out
    }

    pub fn idle(&self) -> bool {
        self.ua.leg_count() == 0 && self.ua.transaction_count() == 0
    }
}

/// An INVITE from the scripted peer. `extra` lines go before the blank line.
pub fn invite(branch: &str, call_id: &str, extra: &str) -> String {
    format!(
        "INVITE sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch={branch};rport
Max-Forwards: 70
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>
Call-ID: {call_id}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5060>
{extra}Content-Type: application/sdp
Content-Length: 5

v=0
"
    )
}

/// An in-dialog request from the scripted peer to the core's leg.
pub fn in_dialog(method: &str, branch: &str, call_id: &str, to_tag: &str, seq: u32) -> String {
    format!(
        "{method} sip:dialtone@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}
Max-Forwards: 70
From: <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>;tag={to_tag}
Call-ID: {call_id}
CSeq: {seq} {method}
Content-Length: 0

"
    )
}

/// A response from the scripted peer to a request the core sent.
pub fn response_to(
    req: &SipMessage,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &str,
) -> String {
    let h = |n: &str| req.headers.get(n).unwrap_or_default().to_string();
    let to = match to_tag {
        Some(t) => format!("{};tag={t}", h("To")),
        None => h("To"),
    };
    format!(
        "SIP/2.0 {code} {reason}
Via: {}
From: {}
To: {to}
Call-ID: {}
CSeq: {}
{extra}Content-Length: 0

",
        h("Via"),
        h("From"),
        h("Call-ID"),
        h("CSeq"),
    )
}

/// Sends an INVITE and a 180; returns the leg and our To tag.
pub fn ringing(raw: &mut Raw, branch: &str, call_id: &str) -> (u64, String) {
    let out = raw.send(&invite(branch, call_id, ""));
    assert_eq!(out.codes(), vec![100]);
    let leg = match &out.events[..] {
        [UaEvent::Incoming { leg, .. }] => *leg,
        other => panic!("expected Incoming, got {other:?}"),
    };
    let out = raw.command(UaCommand::Provisional {
        leg,
        code: 180,
        body: None,
        headers: vec![],
    });
    let tag = out.only().to_tag().unwrap().to_string();
    (leg, tag)
}

/// `ringing`, then a 200 with an SDP answer.
pub fn answered(raw: &mut Raw, branch: &str, call_id: &str) -> (u64, String) {
    let (leg, tag) = ringing(raw, branch, call_id);
    let out = raw.command(UaCommand::Answer {
        leg,
        body: Some(sdp("answer")),
        headers: vec![],
    });
    assert_eq!(out.codes(), vec![200]);
    assert_eq!(out.only().to_tag(), Some(tag.as_str()));
    (leg, tag)
}
