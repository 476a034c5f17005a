//! `parse_message` on arbitrary bytes, and the header parsers on whatever text
//! they can reach. Properties, not just "no panic":
//! - a parsed message prints (`to_bytes`) to bytes that parse back to the same
//!   start line, headers and body (Content-Length is rewritten from the body);
//! - a parsed Via, CSeq, name-addr or URI prints to text that parses back equal.
#![no_main]

use dialtone_sip::auth::Challenge;
use dialtone_sip::digest_server::DigestAuthorization;
use dialtone_sip::headers::split_list;
use dialtone_sip::parse::parse_head_lenient;
use dialtone_sip::uri::unescape;
use dialtone_sip::{parse_message, CSeq, NameAddr, SipMessage, SipUri, Via};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_head_lenient(data);
    if let Ok(msg) = parse_message(data) {
        check_message(&msg);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_value(text);
    }
});

fn without_length(msg: &SipMessage) -> Vec<(String, String)> {
    msg.headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("Content-Length"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn check_message(msg: &SipMessage) {
    let bytes = msg.to_bytes();
    let again = parse_message(&bytes)
        .unwrap_or_else(|e| panic!("printed message does not parse ({e}): {bytes:?}"));
    assert_eq!(again.start, msg.start, "start line changed");
    assert_eq!(again.body, msg.body, "body changed");
    assert_eq!(
        without_length(&again),
        without_length(msg),
        "headers changed"
    );

    let _ = msg.method();
    let _ = msg.code();
    let _ = msg.reason();
    let _ = msg.call_id();
    let _ = msg.via_count();
    let _ = msg.from_tag();
    let _ = msg.to_tag();
    let _ = msg.content_type();
    if let Some(uri) = msg.request_uri() {
        check_uri(uri);
    }
    if let Ok(cseq) = msg.cseq() {
        round_trip_cseq(&cseq);
    }
    if let Ok(via) = msg.top_via() {
        round_trip_via(&via);
    }
    for addr in [msg.from_addr(), msg.to_addr()].into_iter().flatten() {
        round_trip_name_addr(&addr);
    }
    for (name, value) in msg.headers.iter() {
        if name.eq_ignore_ascii_case("Via") {
            for v in split_list(value) {
                if let Ok(via) = Via::parse(v) {
                    round_trip_via(&via);
                }
            }
        }
        if ["Contact", "Route", "Record-Route"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        {
            for v in split_list(value) {
                if let Ok(addr) = NameAddr::parse(v) {
                    round_trip_name_addr(&addr);
                }
            }
        }
        if name.eq_ignore_ascii_case("WWW-Authenticate")
            || name.eq_ignore_ascii_case("Proxy-Authenticate")
        {
            let _ = Challenge::parse(value);
        }
    }
}

fn check_value(text: &str) {
    check_uri(text);
    if let Ok(addr) = NameAddr::parse(text) {
        round_trip_name_addr(&addr);
    }
    if let Ok(via) = Via::parse(text) {
        round_trip_via(&via);
    }
    if let Ok(cseq) = CSeq::parse(text) {
        round_trip_cseq(&cseq);
    }
    let _ = Challenge::parse(text);
    if let Ok(auth) = DigestAuthorization::parse(text) {
        let _ = auth.verify("REGISTER", "0123456789abcdef0123456789abcdef");
    }
    let _ = unescape(text);
    for _ in split_list(text) {}
}

fn check_uri(text: &str) {
    if let Ok(uri) = SipUri::parse(text) {
        let _ = uri.user_str();
        let _ = uri.transport();
        let _ = uri.socket_addr();
        let printed = uri.to_string();
        let again = SipUri::parse(&printed)
            .unwrap_or_else(|e| panic!("URI {text:?} printed as {printed:?} does not parse: {e}"));
        assert!(
            again == uri,
            "URI {text:?} printed as {printed:?} parses differently"
        );
    }
}

fn round_trip_via(via: &Via) {
    let printed = via.to_string();
    let again = Via::parse(&printed)
        .unwrap_or_else(|e| panic!("Via {via:?} printed as {printed:?} does not parse: {e}"));
    assert_eq!(&again, via, "Via printed as {printed:?}");
    let _ = via.sent_by();
    let _ = via.rport();
}

fn round_trip_cseq(cseq: &CSeq) {
    let printed = cseq.to_string();
    let again = CSeq::parse(&printed)
        .unwrap_or_else(|e| panic!("CSeq {cseq:?} printed as {printed:?} does not parse: {e}"));
    assert_eq!(&again, cseq, "CSeq printed as {printed:?}");
}

fn round_trip_name_addr(addr: &NameAddr) {
    let printed = addr.to_string();
    let again = NameAddr::parse(&printed).unwrap_or_else(|e| {
        panic!("name-addr {addr:?} printed as {printed:?} does not parse: {e}")
    });
    assert_eq!(&again, addr, "name-addr printed as {printed:?}");
}
