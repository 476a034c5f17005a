//! RFC 4475, the SIP torture test messages, fed to one `UaCore` per message and
//! transport, in virtual time.
//!
//! The messages live in `tests/sip/rfc4475/*.sip` at the repository root, written
//! the way the RFC prints them (see the README there); the interop test
//! `tests/test_rfc4475.py` sends the same files to a running dialtone. What each
//! message must get is the table in `docs/sip-conformance.md`, read by both tests,
//! so the document cannot drift from the behaviour.
//!
//! An outcome is what the core does, in order, written as steps joined by `+`:
//! a final response code, `call` (100 Trying and an `Incoming` event: the INVITE
//! goes to the call layer), `close` (the TCP framer gives up on the stream),
//! `wait` (the framer waits for more bytes), or `drop` for nothing at all.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use dialtone_sip::{
    frame_stream, Peer, SipMessage, Transport, UaCommand, UaCore, UaEvent, UaOutput,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Bytes of a message written in the RFC's notation (RFC 4475 §2): every line
/// end is CRLF; the lines between `<allOneLine>` and `</allOneLine>` are one
/// line; `<repeat count=N>x</repeat>` is `x` N times; `<hex>..</hex>` are the
/// bytes spelled in hex (whitespace inside ignored, line ends in it not CRLF).
fn decode(src: &str) -> Vec<u8> {
    let joined = join_all_one_line(src);
    let text = expand_repeats(&joined);
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut rest = text.as_str();
    while let Some(start) = rest.find("<hex>") {
        push_crlf(&mut out, &rest[..start]);
        let after = &rest[start + "<hex>".len()..];
        let end = after.find("</hex>").expect("unterminated <hex>");
        let digits: Vec<u8> = after[..end]
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
        for pair in digits.chunks(2) {
            let pair = std::str::from_utf8(pair).unwrap();
            out.push(u8::from_str_radix(pair, 16).expect("hex digit"));
        }
        rest = &after[end + "</hex>".len()..];
    }
    push_crlf(&mut out, rest);
    out
}

fn push_crlf(out: &mut Vec<u8>, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line.as_bytes());
    }
}

fn join_all_one_line(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut joining = false;
    for line in src.split_inclusive('\n') {
        match line.trim_end_matches('\n') {
            "<allOneLine>" => joining = true,
            "</allOneLine>" => {
                joining = false;
                out.push('\n');
            }
            text if joining => out.push_str(text),
            _ => out.push_str(line),
        }
    }
    assert!(!joining, "unterminated <allOneLine>");
    out
}

fn expand_repeats(src: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut rest = src;
    while let Some(start) = rest.find("<repeat count=") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "<repeat count=".len()..];
        let close = after.find('>').expect("bad <repeat>");
        let count: usize = after[..close].parse().expect("repeat count");
        let body = &after[close + 1..];
        let end = body.find("</repeat>").expect("unterminated <repeat>");
        out.push_str(&body[..end].repeat(count));
        rest = &body[end + "</repeat>".len()..];
    }
    out.push_str(rest);
    out
}

/// One message: its section in the RFC, its bytes and the outcomes it must get.
struct Case {
    name: String,
    section: String,
    bytes: Vec<u8>,
    udp: String,
    tcp: String,
}

/// Rows of the table in docs/sip-conformance.md whose first cell names a message:
/// `| `name` | § | … | `udp` | `tcp` | … |`.
fn cases() -> Vec<Case> {
    let doc = std::fs::read_to_string(repo_root().join("docs/sip-conformance.md"))
        .expect("docs/sip-conformance.md");
    let dir = repo_root().join("tests/sip/rfc4475");
    let mut cases = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 7 || !cells[1].starts_with('`') {
            continue;
        }
        let unquote = |s: &str| s.trim_matches('`').to_string();
        let name = unquote(cells[1]);
        let src = std::fs::read_to_string(dir.join(format!("{name}.sip")))
            .unwrap_or_else(|e| panic!("{name}.sip: {e}"));
        cases.push(Case {
            section: cells[2].to_string(),
            bytes: decode(&src),
            udp: unquote(cells[4]),
            tcp: unquote(cells[5]),
            name,
        });
    }
    cases
}

/// What happened to one input, in order.
#[derive(Default)]
struct Trace {
    steps: Vec<String>,
    /// Each response with the request bytes it answers.
    responses: Vec<(Peer, SipMessage, Vec<u8>)>,
    incoming: Vec<UaEvent>,
}

impl Trace {
    fn outcome(&self) -> String {
        if self.steps.is_empty() {
            "drop".into()
        } else {
            self.steps.join("+")
        }
    }
}

fn drain(ua: &mut UaCore, trace: &mut Trace, request: &[u8]) {
    let mut trying = false;
    while let Some(out) = ua.poll_output() {
        match out {
            UaOutput::Transmit { to, data } => {
                if data.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                    continue;
                }
                let msg = SipMessage::parse(&data).expect("our own output parses");
                match msg.code() {
                    Some(100) => trying = true,
                    Some(code) => trace.steps.push(code.to_string()),
                    None => panic!("the core sent a request: {msg:?}"),
                }
                trace.responses.push((to, msg, request.to_vec()));
            }
            UaOutput::Event(event @ UaEvent::Incoming { .. }) => {
                assert!(trying, "Incoming without 100 Trying first");
                trace.steps.push("call".into());
                trace.incoming.push(event);
            }
            UaOutput::Event(other) => panic!("unexpected event {other:?}"),
        }
    }
}

const PEER_PORT: u16 = 5060;

fn peer(transport: Transport) -> Peer {
    Peer {
        transport,
        addr: addr(PEER_PORT),
    }
}

/// Feeds `bytes` as one datagram, or as a TCP stream cut by `frame_stream`
/// the way the engine's connection task cuts it.
fn feed(ua: &mut UaCore, now: Instant, transport: Transport, bytes: &[u8]) -> Trace {
    if transport == Transport::Udp {
        let mut trace = Trace::default();
        ua.handle_input(now, peer(transport), bytes);
        drain(ua, &mut trace, bytes);
        return trace;
    }
    feed_stream(ua, now, &[bytes])
}

/// A TCP stream arriving in `chunks`: whole messages are cut from what has
/// arrived so far, the rest waits for the next chunk.
fn feed_stream(ua: &mut UaCore, now: Instant, chunks: &[&[u8]]) -> Trace {
    let mut trace = Trace::default();
    let from = peer(Transport::Tcp);
    let mut buf: Vec<u8> = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match frame_stream(&buf) {
                Ok(Some(n)) => {
                    let unit: Vec<u8> = buf.drain(..n).collect();
                    ua.handle_input(now, from, &unit);
                    drain(ua, &mut trace, &unit);
                }
                Ok(None) => break,
                Err(_) => {
                    trace.steps.push("close".into());
                    return trace;
                }
            }
        }
    }
    if !buf.is_empty() {
        trace.steps.push("wait".into());
    }
    trace
}

/// What every response must look like, whatever its code.
fn check_response(case: &Case, transport: Transport, to: Peer, resp: &SipMessage, bytes: &[u8]) {
    let what = format!("{} over {transport:?}", case.name);
    assert_eq!(to, peer(transport), "{what}: answered elsewhere");
    let request = SipMessage::parse(bytes)
        .or_else(|_| {
            dialtone_sip::parse::parse_head_lenient(bytes).map(|h| SipMessage {
                start: h.start,
                headers: h.headers,
                body: Vec::new(),
            })
        })
        .expect("an answered request parses, at least leniently");
    for name in ["Call-ID", "CSeq", "From"] {
        assert_eq!(
            resp.headers.get(name),
            request.headers.get(name),
            "{what}: {name} not copied"
        );
    }
    assert_eq!(
        resp.headers.get_all("Via").count(),
        request.headers.get_all("Via").count(),
        "{what}: Via lines not copied"
    );
    let code = resp.code().unwrap();
    if request.to_addr().is_ok() && code > 100 {
        assert!(resp.to_tag().is_some(), "{what}: {code} without a To tag");
    }
    let reason = resp.reason().unwrap_or_default();
    assert!(!reason.is_empty(), "{what}: {code} without a reason phrase");
    assert!(
        !reason.chars().any(char::is_control),
        "{what}: control character in the reason phrase"
    );
    let header = |name: &str| resp.headers.get(name).unwrap_or_default().to_string();
    match code {
        405 | 501 => assert!(
            header("Allow").contains("INVITE"),
            "{what}: {code} without Allow"
        ),
        415 | 406 => assert_eq!(header("Accept"), "application/sdp", "{what}: {code}"),
        420 => assert_eq!(
            header("Unsupported"),
            request.headers.get("Require").unwrap_or_default(),
            "{what}: 420 must list what Require asked for"
        ),
        _ => {}
    }
}

/// An accepted INVITE is answered, ACKed and hung up with what its odd headers
/// make of the dialog; the core must then be idle.
fn finish_call(ua: &mut UaCore, now: Instant, transport: Transport, case: &Case, trace: &Trace) {
    let [UaEvent::Incoming { leg, .. }] = trace.incoming[..] else {
        panic!("{}: expected one Incoming", case.name);
    };
    ua.handle_command(
        now,
        UaCommand::Answer {
            leg,
            body: Some(sdp("answer")),
            headers: vec![],
        },
    );
    let mut answer = Trace::default();
    drain(ua, &mut answer, &[]);
    assert_eq!(answer.outcome(), "200", "{}: answer", case.name);
    let ok = &answer.responses[0].1;
    let cseq = ok.cseq().unwrap().seq;
    let in_dialog = |method: &str, seq: u32| {
        let mut text = format!(
            "{method} sip:dialtone@127.0.0.1:5070 SIP/2.0\r\n\
             Via: SIP/2.0/{} 127.0.0.1:{PEER_PORT};branch=z9hG4bK-{method}-{}\r\n\
             Max-Forwards: 70\r\n",
            transport.via_name(),
            case.name,
        );
        for name in ["From", "To", "Call-ID"] {
            text += &format!("{name}: {}\r\n", ok.headers.get(name).unwrap());
        }
        text += &format!("CSeq: {seq} {method}\r\nContent-Length: 0\r\n\r\n");
        text.into_bytes()
    };
    ua.handle_input(now, peer(transport), &in_dialog("ACK", cseq));
    let mut acked = false;
    while let Some(out) = ua.poll_output() {
        match out {
            UaOutput::Event(UaEvent::Acked { .. }) => acked = true,
            other => panic!("{}: after the ACK {other:?}", case.name),
        }
    }
    assert!(acked, "{}: the ACK did not reach the leg", case.name);
    let bye = in_dialog("BYE", cseq + 1);
    ua.handle_input(now, peer(transport), &bye);
    let mut codes = Vec::new();
    let mut ended = false;
    while let Some(out) = ua.poll_output() {
        match out {
            UaOutput::Transmit { data, .. } => {
                codes.push(SipMessage::parse(&data).unwrap().code().unwrap())
            }
            UaOutput::Event(UaEvent::Terminated { by_remote, .. }) => ended = by_remote,
            UaOutput::Event(e) => panic!("{}: {e:?}", case.name),
        }
    }
    assert_eq!(codes, vec![200], "{}: BYE", case.name);
    assert!(ended, "{}: the BYE did not end the leg", case.name);
}

/// Runs every timer out: whatever a message started must end on its own.
fn run_out(ua: &mut UaCore, mut now: Instant) {
    let start = now;
    while let Some(at) = ua.poll_timeout() {
        now = now.max(at);
        ua.handle_timeout(now);
        while ua.poll_output().is_some() {}
        assert!(now < start + secs(3600), "timers never stop");
    }
    assert_eq!(ua.leg_count(), 0);
    assert_eq!(ua.transaction_count(), 0);
}

#[test]
fn every_message_gets_what_the_table_says() {
    let cases = cases();
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for case in &cases {
        for (transport, expected) in [(Transport::Udp, &case.udp), (Transport::Tcp, &case.tcp)] {
            let trace = feed(&mut ua(5070), Instant::now(), transport, &case.bytes);
            let got = trace.outcome();
            let reasons: Vec<String> = trace
                .responses
                .iter()
                .filter(|(_, r, _)| r.code() != Some(100))
                .map(|(_, r, _)| format!("{:?}", r.reason().unwrap_or_default()))
                .collect();
            report.push(format!(
                "{:10} {:10} {transport:?}: {got}",
                case.section, case.name
            ));
            if &got != expected {
                wrong.push(format!(
                    "{} ({}) over {transport:?}: expected {expected}, got {got} {}",
                    case.name,
                    case.section,
                    reasons.join(" ")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nall outcomes:\n{}",
        wrong.join("\n"),
        report.join("\n")
    );
    // The responses themselves, and what an accepted INVITE goes on to do.
    for case in &cases {
        for transport in [Transport::Udp, Transport::Tcp] {
            let mut ua = ua(5070);
            let now = Instant::now();
            let trace = feed(&mut ua, now, transport, &case.bytes);
            for (to, resp, request) in &trace.responses {
                check_response(case, transport, *to, resp, request);
            }
            if !trace.incoming.is_empty() {
                finish_call(&mut ua, now, transport, case, &trace);
            }
            run_out(&mut ua, now);
        }
    }
}

#[test]
fn the_table_covers_every_message_of_the_rfc() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a message is in the table twice");
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("tests/sip/rfc4475"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".sip").map(str::to_string)
        })
        .collect();
    files.sort_unstable();
    assert_eq!(names, files, "table rows and message files differ");
    // Sections 3.1.1, 3.1.2, 3.2, 3.3 and 3.4 of RFC 4475 hold 49 messages.
    assert_eq!(names.len(), 49);
}

/// This decoder and the Python one in tests/rfc4475.py make the same bytes: both
/// are checked against tests/sip/rfc4475/decoded.md5.
#[test]
fn messages_decode_to_the_recorded_bytes() {
    use md5::{Digest, Md5};
    let digests = std::fs::read_to_string(repo_root().join("tests/sip/rfc4475/decoded.md5"))
        .expect("decoded.md5");
    let want: BTreeMap<&str, &str> = digests
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (digest, name) = l.split_once("  ").expect("`digest  name`");
            (name, digest)
        })
        .collect();
    let cases = cases();
    let got: BTreeMap<&str, String> = cases
        .iter()
        .map(|c| {
            let digest: String = Md5::digest(&c.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (c.name.as_str(), digest)
        })
        .collect();
    let got: BTreeMap<&str, &str> = got.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(got, want);
}

/// The notation is transcribed right: the Content-Length of each message the RFC
/// does not mean to be wrong about covers its body exactly (trailing CRLFs
/// aside), and the long and binary parts come out as the RFC describes them.
#[test]
fn messages_decode_as_the_rfc_describes() {
    let cases = cases();
    let by_name: BTreeMap<&str, &Case> = cases.iter().map(|c| (c.name.as_str(), c)).collect();
    for case in &cases {
        if ["clerr", "ncl", "mcl01", "inv2543", "dblreq"].contains(&case.name.as_str()) {
            continue;
        }
        let msg = SipMessage::parse(&case.bytes).map_err(|e| e.to_string());
        let head_end = case
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        let after = &case.bytes[head_end..];
        if let Ok(msg) = &msg {
            assert_eq!(msg.body, after[..msg.body.len()], "{}", case.name);
            assert!(
                after[msg.body.len()..]
                    .iter()
                    .all(|b| matches!(b, b'\r' | b'\n')),
                "{}: bytes past Content-Length",
                case.name
            );
        }
    }
    let longreq = SipMessage::parse(&by_name["longreq"].bytes).unwrap();
    assert_eq!(longreq.via_count(), 34);
    assert_eq!(
        longreq.call_id().unwrap(),
        format!("longreq.one{}longcallid", "really".repeat(20))
    );
    assert_eq!(
        longreq.from_tag().unwrap(),
        format!("12{}424", "982".repeat(50))
    );
    let mpart = SipMessage::parse(&by_name["mpart01"].bytes).unwrap();
    assert_eq!(mpart.body.len(), 553);
    assert!(mpart.body.contains(&0), "the binary part has NULs");
    assert!(mpart.body.ends_with(b"\r\n--7a9cbec02ceef655--\r\n"));
    let intmeth = &by_name["intmeth"].bytes;
    for needle in [
        &b"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"[..],
        "работающий".as_bytes(),
    ] {
        assert!(intmeth.windows(needle.len()).any(|w| w == needle));
    }
    let unreason = SipMessage::parse(&by_name["unreason"].bytes).unwrap();
    assert_eq!(
        unreason.reason(),
        Some("= 2**3 * 5**2 но сто девяносто девять - простое")
    );
    assert!(by_name["trws"]
        .bytes
        .starts_with(b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"));
    assert!(by_name["noreason"].bytes.starts_with(b"SIP/2.0 100 \r\n"));
    let scalar02 = String::from_utf8_lossy(&by_name["scalar02"].bytes).to_string();
    assert!(scalar02.contains(&format!("Expires: 1{}\r\n", "0".repeat(100))));
}

/// Every message again over TCP, arriving in two pieces cut at every point: no
/// split of a torture message changes what the framer and the core make of it.
#[test]
fn every_message_split_anywhere_over_tcp() {
    let now = Instant::now();
    for case in cases() {
        let whole = feed_stream(&mut ua(5070), now, &[&case.bytes]).outcome();
        for cut in 1..case.bytes.len() {
            let (a, b) = case.bytes.split_at(cut);
            let split = feed_stream(&mut ua(5070), now, &[a, b]).outcome();
            assert_eq!(split, whole, "{} cut at {cut}", case.name);
        }
    }
}
