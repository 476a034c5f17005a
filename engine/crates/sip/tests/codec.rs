//! Message parsing and serialization.

use dialtone_sip::{
    parse_message, Method, ParseError, SipMessage, StartLine, MAX_HEADERS, MAX_MESSAGE_SIZE,
};

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 8

v=0
o=x
";

#[test]
fn parses_a_real_invite() {
    let msg = SipMessage::parse(&crlf(INVITE)).unwrap();
    assert_eq!(
        msg.start,
        StartLine::Request {
            method: Method::Invite,
            uri: "sip:bob@biloxi.example.com".into()
        }
    );
    assert_eq!(msg.headers.len(), 9);
    assert_eq!(
        msg.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert_eq!(msg.cseq().unwrap().seq, 314159);
    assert_eq!(msg.from_tag(), Some("1928301774"));
    assert_eq!(msg.to_tag(), None);
    assert_eq!(msg.to_addr().unwrap().display.as_deref(), Some("Bob"));
    assert_eq!(msg.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(msg.body, b"v=0\r\no=x");
}

#[test]
fn folding_compact_forms_and_case() {
    let text = "BYE sip:x@y SIP/2.0
v: SIP/2.0/UDP a.example
 ;branch=z9hG4bK1
\t;rport
VIA: SIP/2.0/TCP b.example;branch=z9hG4bK2, SIP/2.0/UDP c.example;branch=z9hG4bK3
f: <sip:a@x>;tag=1
t: <sip:b@y>
i: folded-1
CSEQ: 2 BYE
Subject: hello
   world
k:
l: 0

";
    let msg = SipMessage::parse(&crlf(text)).unwrap();
    assert_eq!(
        msg.headers.get("via"),
        Some("SIP/2.0/UDP a.example ;branch=z9hG4bK1 ;rport")
    );
    assert_eq!(msg.top_via().unwrap().rport(), Some(None));
    assert_eq!(msg.via_count(), 3);
    let branches: Vec<_> = msg
        .headers
        .values("Via")
        .map(|v| {
            dialtone_sip::Via::parse(v)
                .unwrap()
                .branch()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(branches, ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]);
    assert_eq!(msg.headers.get("From"), Some("<sip:a@x>;tag=1"));
    assert_eq!(msg.call_id().unwrap(), "folded-1");
    assert_eq!(msg.cseq().unwrap().method, Method::Bye);
    assert_eq!(msg.headers.get("Subject"), Some("hello world"));
    assert_eq!(msg.headers.get("Supported"), Some(""));
    assert_eq!(msg.headers.get("Content-Length"), Some("0"));
}

#[test]
fn every_compact_form() {
    let pairs = [
        ("v", "Via"),
        ("f", "From"),
        ("t", "To"),
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("k", "Supported"),
        ("s", "Subject"),
        ("e", "Content-Encoding"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("u", "Allow-Events"),
        ("x", "Session-Expires"),
    ];
    let mut text = String::from("OPTIONS sip:x SIP/2.0\n");
    for (short, _) in pairs {
        let value = if short == "l" { "0" } else { "v" };
        text.push_str(&format!("{short}: {value}\n"));
    }
    text.push('\n');
    let msg = SipMessage::parse(&crlf(&text)).unwrap();
    for (_, long) in pairs {
        assert!(msg.headers.get(long).is_some(), "{long}");
    }
}

#[test]
fn content_length_rules_for_datagrams() {
    // Longer datagram than declared: the extra is ignored.
    let mut long = crlf(INVITE);
    long.extend_from_slice(b"garbage after the body");
    assert_eq!(SipMessage::parse(&long).unwrap().body, b"v=0\r\no=x");
    // Shorter than declared: an error.
    let short = crlf(&INVITE.replace("Content-Length: 8", "Content-Length: 80"));
    assert_eq!(SipMessage::parse(&short), Err(ParseError::BadContentLength));
    // Missing: the rest of the datagram.
    let missing = crlf(&INVITE.replace("Content-Length: 8\n", ""));
    assert_eq!(SipMessage::parse(&missing).unwrap().body, b"v=0\r\no=x\r\n");
    for bad in ["-1", "8 8", "0x8", "", "99999999999", "70000"] {
        let text = crlf(&INVITE.replace("Content-Length: 8", &format!("Content-Length: {bad}")));
        assert_eq!(
            SipMessage::parse(&text),
            Err(ParseError::BadContentLength),
            "{bad:?}"
        );
    }
    let twice = crlf(&INVITE.replace("Content-Length: 8", "Content-Length: 8\nl: 9"));
    assert_eq!(SipMessage::parse(&twice), Err(ParseError::BadContentLength));
    let same_twice = crlf(&INVITE.replace("Content-Length: 8", "Content-Length: 8\nl: 8"));
    assert!(SipMessage::parse(&same_twice).is_ok());
}

#[test]
fn start_line_syntax() {
    let ok = [
        "SIP/2.0 200 OK\n\n",
        "SIP/2.0 180 \n\n",
        "SIP/2.0 183\n\n",
        "SIP/2.0 603 Decline for a long reason\n\n",
        "\n\nOPTIONS sip:x SIP/2.0\n\n",
        "INFO sip:x sip/2.0\n\n",
        "NEWMETHOD sip:x SIP/2.0\n\n",
    ];
    for text in ok {
        assert!(SipMessage::parse(&crlf(text)).is_ok(), "{text:?}");
    }
    let bad = [
        ("SIP/2.0 99 Low\n\n", ParseError::BadStatusCode),
        ("SIP/2.0 700 High\n\n", ParseError::BadStatusCode),
        ("SIP/2.0 2000 OK\n\n", ParseError::BadStatusCode),
        ("SIP/2.0 2x0 OK\n\n", ParseError::BadStatusCode),
        ("SIP/3.0 200 OK\n\n", ParseError::BadVersion),
        ("SIP/2.0\n\n", ParseError::BadStartLine),
        ("INVITE sip:x SIP/3.0\n\n", ParseError::BadVersion),
        ("INVITE sip:x\n\n", ParseError::BadStartLine),
        ("INVITE  sip:x SIP/2.0\n\n", ParseError::BadStartLine),
        ("INVITE sip:x SIP/2.0 extra\n\n", ParseError::BadStartLine),
        ("INV@TE sip:x SIP/2.0\n\n", ParseError::BadStartLine),
        ("HTTP/1.1 200 OK\n\n", ParseError::BadStartLine),
    ];
    for (text, err) in bad {
        assert_eq!(SipMessage::parse(&crlf(text)), Err(err), "{text:?}");
    }
}

#[test]
fn header_syntax() {
    let cases = [
        (
            "OPTIONS sip:x SIP/2.0\n no-header-to-fold\n\n",
            ParseError::BadHeaderLine,
        ),
        (
            "OPTIONS sip:x SIP/2.0\nNoColon\n\n",
            ParseError::BadHeaderLine,
        ),
        (
            "OPTIONS sip:x SIP/2.0\n: empty name\n\n",
            ParseError::BadHeaderLine,
        ),
        (
            "OPTIONS sip:x SIP/2.0\nBad Name: x\n\n",
            ParseError::BadHeaderLine,
        ),
        (
            "OPTIONS sip:x SIP/2.0\nX: a\0b\n\n",
            ParseError::ControlCharacter,
        ),
        (
            "OPTIONS sip:x SIP/2.0\nX: a\rb\n\n",
            ParseError::ControlCharacter,
        ),
        ("OPTIONS sip:x SIP/2.0\nX: v\n", ParseError::Truncated),
        ("OPTIONS sip:x SIP/2.0\nX: v", ParseError::Truncated),
        ("OPTIONS sip:x SIP/2.0", ParseError::Truncated),
    ];
    for (text, err) in cases {
        assert_eq!(SipMessage::parse(&crlf(text)), Err(err), "{text:?}");
    }
    let mut bad_utf8 = crlf("OPTIONS sip:x SIP/2.0\nX: ");
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    bad_utf8.extend_from_slice(b"\r\n\r\n");
    assert_eq!(SipMessage::parse(&bad_utf8), Err(ParseError::BadEncoding));
    // UTF-8 display names are fine.
    let utf8 = crlf("OPTIONS sip:x SIP/2.0\nFrom: \"Zoë\" <sip:z@x>;tag=1\n\n");
    let msg = SipMessage::parse(&utf8).unwrap();
    assert_eq!(msg.from_addr().unwrap().display.as_deref(), Some("Zoë"));
}

#[test]
fn control_characters_only_as_quoted_pairs() {
    // RFC 3261 quoted-pair escapes anything but CR and LF (RFC 4475 §3.1.1.2).
    let text = crlf("OPTIONS sip:x SIP/2.0\nTo: \"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@y>\n\n");
    let msg = SipMessage::parse(&text).unwrap();
    assert_eq!(
        msg.to_addr().unwrap().display.as_deref(),
        Some("BEL:\x07 NUL:\0 DEL:\x7f")
    );
    // Our own response carrying that To parses again.
    let again = SipMessage::parse(&msg.to_bytes()).unwrap();
    assert_eq!(again.headers.get("To"), msg.headers.get("To"));
    for bad in [
        "OPTIONS sip:x SIP/2.0\nTo: \"a\x07\" <sip:x@y>\n\n",
        "OPTIONS sip:x SIP/2.0\nTo: \\\x07 <sip:x@y>\n\n",
        "OPTIONS sip:x SIP/2.0\nTo: \"a\\\rb\" <sip:x@y>\n\n",
        "OPTIONS sip:x SIP/2.0\nTo: \"a\" \\\0 <sip:x@y>\n\n",
    ] {
        assert_eq!(
            SipMessage::parse(&crlf(bad)),
            Err(ParseError::ControlCharacter),
            "{bad:?}"
        );
    }
}

#[test]
fn lf_only_messages_parse() {
    let msg = parse_message(INVITE.as_bytes()).unwrap();
    assert_eq!(msg.body, b"v=0\no=x\n");
}

#[test]
fn limits() {
    let mut big = crlf("OPTIONS sip:x SIP/2.0\nX: ");
    big.resize(MAX_MESSAGE_SIZE + 1, b'a');
    assert_eq!(SipMessage::parse(&big), Err(ParseError::TooLarge));
    let mut many = String::from("OPTIONS sip:x SIP/2.0\n");
    for i in 0..=MAX_HEADERS {
        many.push_str(&format!("X-{i}: v\n"));
    }
    many.push('\n');
    assert_eq!(
        SipMessage::parse(&crlf(&many)),
        Err(ParseError::TooManyHeaders)
    );
}

#[test]
fn binary_junk_is_rejected() {
    for junk in [
        &b""[..],
        b"\x00\x01\x02",
        b"\xff\xff\xff\xff\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1",
        b"\r\n\r\n",
        b"{\"json\": true}",
    ] {
        assert!(SipMessage::parse(junk).is_err(), "{junk:?}");
    }
}

#[test]
fn serializer_round_trips_and_owns_content_length() {
    let msg = SipMessage::parse(&crlf(INVITE)).unwrap();
    let bytes = msg.to_bytes();
    assert_eq!(bytes, crlf(INVITE).strip_suffix(b"\r\n").unwrap());
    assert_eq!(SipMessage::parse(&bytes).unwrap(), msg);

    let mut m = SipMessage::request(Method::Info, "sip:x");
    m.headers.push("Content-Length", "999");
    m.headers.push("l", "5");
    m.body = b"abc".to_vec();
    let text = String::from_utf8(m.to_bytes()).unwrap();
    assert_eq!(text, "INFO sip:x SIP/2.0\r\nContent-Length: 3\r\n\r\nabc");

    let r = SipMessage::response(486, "Busy Here");
    assert_eq!(
        r.to_bytes(),
        b"SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn tcp_stream_in_random_chunks_frames_back_to_the_messages() {
    use dialtone_sip::frame_stream;
    use rand::{Rng, SeedableRng};

    let messages: Vec<Vec<u8>> = vec![
        crlf(INVITE).strip_suffix(b"\r\n").unwrap().to_vec(),
        crlf("SIP/2.0 100 Trying\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\nl: 0\n\n"),
        // A body that itself contains an empty line.
        crlf("INFO sip:x SIP/2.0\nContent-Length: 10\n\na\n\nb\n\n"),
        crlf("BYE sip:x SIP/2.0\nCSeq: 2 BYE\n\n"),
    ];
    let mut stream = Vec::new();
    for m in &messages {
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(m);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for _ in 0..200 {
        let mut buffer = Vec::new();
        let mut framed = Vec::new();
        let mut pos = 0;
        while pos < stream.len() {
            let n = rng.gen_range(1..=40).min(stream.len() - pos);
            buffer.extend_from_slice(&stream[pos..pos + n]);
            pos += n;
            while let Some(len) = frame_stream(&buffer).unwrap() {
                let unit: Vec<u8> = buffer.drain(..len).collect();
                if !unit.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    framed.push(unit);
                }
            }
        }
        assert!(buffer.is_empty());
        assert_eq!(framed, messages);
        for m in &framed {
            assert!(SipMessage::parse(m).is_ok());
        }
    }
}
