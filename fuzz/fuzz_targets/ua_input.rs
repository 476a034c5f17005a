//! The stateful path: a `UaCore` fed arbitrary datagrams, commands and time.
//!
//! The input is a script of records, each starting with `%%` at the start of
//! the input or after a line feed:
//!
//! ```text
//! %%u0          the bytes up to the next record: a UDP datagram from peer 0
//! %%t1          the same over TCP from peer 1 (peers 0-3)
//! %%w250        advance the clock 250 ms and run due timers
//! %%ca          a command on the latest leg: a answer, A answer without SDP,
//!               p 180, P 183 with SDP, r reject 486, h hang up, i INFO,
//!               R re-INVITE 200, E re-INVITE 488, m MESSAGE, v our
//!               re-INVITE, f our REFER, g our REFER replacing the first
//!               leg, F REFER 202, n NOTIFY; d dials peer 0; G our
//!               REGISTER to peer 0 (a trunk), U its un-REGISTER
//! %%e2          a transport error towards peer 2
//! ```
//!
//! In datagrams, `$B`, `$T`, `$C` and `$S` become the Via branch, local tag,
//! Call-ID and CSeq number of the last message the core sent, so a script can
//! answer the core's INVITE or ACK its 200.
//!
//! Properties: everything the core transmits (bar CRLF keep-alive pongs)
//! parses; and once every leg is hung up and the timers have run out, no leg
//! and no transaction is left (every call ends).
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dialtone_sip::auth::Credentials;
use dialtone_sip::{
    parse_message, Body, ClientRegister, LegId, Peer, SipMessage, Transport, UaCommand, UaConfig, UaCore, UaEvent,
    UaOutput,
};
use libfuzzer_sys::fuzz_target;

const MAX_RECORDS: usize = 64;
const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn peer(n: u8, transport: Transport) -> Peer {
    let addr: SocketAddr = match n % 4 {
        0 => "127.0.0.1:5070",
        1 => "127.0.0.2:5060",
        2 => "[::1]:5080",
        _ => "10.0.0.1:5090",
    }
    .parse()
    .unwrap();
    Peer { transport, addr }
}

fn sdp() -> Option<Body> {
    Some(Body {
        content_type: "application/sdp".into(),
        data: SDP.as_bytes().to_vec(),
    })
}

/// What `$B`, `$T`, `$C`, `$S` stand for.
#[derive(Default)]
struct Last {
    branch: String,
    tag: String,
    call_id: String,
    cseq: String,
}

impl Last {
    fn learn(&mut self, msg: &SipMessage) {
        if let Ok(via) = msg.top_via() {
            self.branch = via.branch().unwrap_or_default().to_string();
        }
        let tag = if msg.is_request() {
            msg.from_tag()
        } else {
            msg.to_tag()
        };
        if let Some(tag) = tag {
            self.tag = tag.to_string();
        }
        if let Ok(id) = msg.call_id() {
            self.call_id = id.to_string();
        }
        if let Ok(cseq) = msg.cseq() {
            self.cseq = cseq.seq.to_string();
        }
    }

    fn substitute(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            let value = match (data[i], data.get(i + 1)) {
                (b'$', Some(b'B')) => Some(&self.branch),
                (b'$', Some(b'T')) => Some(&self.tag),
                (b'$', Some(b'C')) => Some(&self.call_id),
                (b'$', Some(b'S')) => Some(&self.cseq),
                _ => None,
            };
            match value {
                Some(v) => {
                    out.extend_from_slice(v.as_bytes());
                    i += 2;
                }
                None => {
                    out.push(data[i]);
                    i += 1;
                }
            }
        }
        out
    }
}

struct Run {
    ua: UaCore,
    now: Instant,
    last: Last,
    legs: Vec<LegId>,
}

impl Run {
    fn drain(&mut self) {
        while let Some(out) = self.ua.poll_output() {
            match out {
                UaOutput::Transmit { data, .. } => {
                    if data.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        continue;
                    }
                    let msg = parse_message(&data).unwrap_or_else(|e| {
                        panic!(
                            "the core sent bytes that do not parse ({e}): {:?}",
                            String::from_utf8_lossy(&data)
                        )
                    });
                    self.last.learn(&msg);
                }
                UaOutput::Event(UaEvent::Incoming { leg, .. } | UaEvent::Replacing { leg, .. }) => {
                    self.legs.push(leg)
                }
                UaOutput::Event(UaEvent::Register { request, reply }) => {
                    // A registrar's answers: a challenge, or 200 with the
                    // contacts the request named.
                    let code = if request.authorization.is_empty() { 401 } else { 200 };
                    let cmd = UaCommand::Respond {
                        reply,
                        code,
                        contacts: request.contacts.clone(),
                        headers: vec![("WWW-Authenticate".into(), "Digest realm=\"r\", nonce=\"n\"".into())],
                    };
                    self.ua.handle_command(self.now, cmd);
                }
                UaOutput::Event(_) => {}
            }
        }
    }

    fn command(&mut self, op: u8) {
        if let b'G' | b'U' = op {
            // Our own REGISTER (a trunk's), then its un-REGISTER.
            let register = ClientRegister {
                id: 1,
                target: peer(0, Transport::Udp),
                registrar_uri: "sip:127.0.0.1:5070".into(),
                aor: "sip:trunk@127.0.0.1:5070".into(),
                contact_user: "trunk".into(),
                expires: if op == b'G' { 600 } else { 0 },
                auth: Some(Credentials::new("trunk", "secret")),
            };
            return self
                .ua
                .handle_command(self.now, UaCommand::Register(register));
        }
        let Some(&leg) = self.legs.last() else {
            if op != b'd' {
                return;
            }
            return self.dial();
        };
        let cmd = match op {
            b'a' => UaCommand::Answer {
                leg,
                body: sdp(),
                headers: vec![],
            },
            b'A' => UaCommand::Answer {
                leg,
                body: None,
                headers: vec![],
            },
            b'p' => UaCommand::Provisional {
                leg,
                code: 180,
                body: None,
                headers: vec![],
            },
            b'P' => UaCommand::Provisional {
                leg,
                code: 183,
                body: sdp(),
                headers: vec![],
            },
            b'r' => UaCommand::Reject {
                leg,
                code: 486,
                reason: None,
                headers: vec![("Reason".into(), "SIP;cause=17".into())],
            },
            b'h' => UaCommand::Hangup {
                leg,
                headers: vec![],
            },
            b'i' => UaCommand::Info {
                leg,
                body: Body {
                    content_type: "application/dtmf-relay".into(),
                    data: b"Signal=5\r\nDuration=160\r\n".to_vec(),
                },
                headers: vec![],
            },
            b'R' => UaCommand::AnswerReInvite {
                leg,
                code: 200,
                body: sdp(),
                headers: vec![("X-Held".into(), "1".into())],
            },
            b'E' => UaCommand::AnswerReInvite {
                leg,
                code: 488,
                body: None,
                headers: vec![],
            },
            b'm' => UaCommand::Message {
                leg,
                body: Body {
                    content_type: "text/plain".into(),
                    data: b"hello".to_vec(),
                },
                headers: vec![],
            },
            b'v' => UaCommand::ReInvite {
                leg,
                body: sdp(),
                headers: vec![],
            },
            b'f' => UaCommand::Refer {
                leg,
                refer_to: "sip:carol@127.0.0.3:5060".into(),
                headers: vec![],
            },
            b'F' => UaCommand::AnswerRefer { leg, code: 202 },
            b'g' => UaCommand::ReferReplacing {
                leg,
                target: self.legs.first().copied().unwrap_or(leg),
                headers: vec![],
            },
            b'n' => UaCommand::Notify {
                leg,
                sipfrag: "SIP/2.0 200 OK".into(),
                terminated: true,
            },
            b'd' => return self.dial(),
            _ => return,
        };
        self.ua.handle_command(self.now, cmd);
    }

    fn dial(&mut self) {
        let leg = self.ua.new_leg_id();
        self.legs.push(leg);
        self.ua.handle_command(
            self.now,
            UaCommand::Dial {
                leg,
                target: peer(0, Transport::Udp),
                request_uri: "sip:bob@127.0.0.1:5070".into(),
                from_uri: "sip:dialtone@127.0.0.1:5060".into(),
                from_display: Some("Dial Tone".into()),
                to_uri: "sip:bob@127.0.0.1:5070".into(),
                body: sdp(),
                headers: vec![("X-Fuzz".into(), "1".into())],
                auth: Some(("user".into(), "secret".into())),
                max_forwards: 70,
            },
        );
    }

    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.ua.poll_timeout().filter(|&at| at <= until) {
            self.now = self.now.max(at);
            self.ua.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.ua.handle_timeout(self.now);
    }
}

/// Splits the script into records: (op, argument, payload).
fn records(data: &[u8]) -> Vec<(u8, &[u8], &[u8])> {
    let mut out = Vec::new();
    let mut starts = Vec::new();
    if data.starts_with(b"%%") {
        starts.push(2);
    }
    for i in 0..data.len() {
        if data[i] == b'\n' && data[i + 1..].starts_with(b"%%") {
            starts.push(i + 3);
        }
    }
    for (n, &start) in starts.iter().enumerate().take(MAX_RECORDS) {
        let end = starts.get(n + 1).map_or(data.len(), |&next| next - 3);
        let record = &data[start..end.max(start)];
        let Some((&op, rest)) = record.split_first() else {
            continue;
        };
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let arg = &rest[..line_end];
        let payload = rest.get(line_end + 1..).unwrap_or_default();
        out.push((op, arg, payload));
    }
    out
}

fn number(arg: &[u8]) -> u64 {
    arg.iter()
        .take_while(|b| b.is_ascii_digit())
        .take(9)
        .fold(0, |n, &b| n * 10 + u64::from(b - b'0'))
}

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut run = Run {
        ua: UaCore::new({
            let mut cfg = UaConfig::new("127.0.0.1:5060".parse().unwrap(), "dialtone-fuzz");
            // REGISTER is reported and answered like a registrar would.
            cfg.registrar = true;
            cfg
        }),
        now: start,
        last: Last::default(),
        legs: Vec::new(),
    };
    for (op, arg, payload) in records(data) {
        match op {
            b'u' | b't' => {
                let transport = if op == b'u' {
                    Transport::Udp
                } else {
                    Transport::Tcp
                };
                let from = peer(arg.first().copied().unwrap_or(b'0'), transport);
                let datagram = run.last.substitute(payload);
                run.ua.handle_input(run.now, from, &datagram);
            }
            b'w' => run.advance(Duration::from_millis(number(arg).min(120_000))),
            b'c' => run.command(arg.first().copied().unwrap_or(b'a')),
            b'e' => {
                let n = arg.first().copied().unwrap_or(b'0');
                run.ua
                    .handle_transport_error(run.now, peer(n, Transport::Tcp));
                run.ua
                    .handle_transport_error(run.now, peer(n, Transport::Udp));
            }
            _ => {}
        }
        run.drain();
    }

    // Every call ends: hang up what is left and let the timers run out.
    for leg in run.legs.clone() {
        run.ua.handle_command(
            run.now,
            UaCommand::Hangup {
                leg,
                headers: vec![],
            },
        );
        run.drain();
    }
    let deadline = run.now + Duration::from_secs(3600);
    while let Some(at) = run.ua.poll_timeout() {
        if at > deadline {
            break;
        }
        run.now = run.now.max(at);
        run.ua.handle_timeout(run.now);
        run.drain();
    }
    assert_eq!(
        run.ua.leg_count(),
        0,
        "legs left after every leg was hung up and timed out"
    );
    assert_eq!(
        run.ua.transaction_count(),
        0,
        "transactions left after the timers ran out"
    );
});
