use std::net::{IpAddr, Ipv4Addr};

use dialtone_sdp::{Attribute, Connection, Direction, SdpError, SessionDescription};

const FULL: &str = "v=0\r\n\
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
s=SDP Seminar\r\n\
i=A Seminar on the session description protocol\r\n\
u=http://www.example.com/seminars/sdp.pdf\r\n\
e=j.doe@example.com (Jane Doe)\r\n\
c=IN IP4 224.2.17.12/127\r\n\
b=CT:128\r\n\
t=2873397496 2873404696\r\n\
r=7d 1h 0 25h\r\n\
t=0 0\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/AVP 0\r\n\
i=voice\r\n\
b=AS:64\r\n\
m=video 51372/2 RTP/AVP 99\r\n\
c=IN IP6 ff15::101/3\r\n\
a=rtpmap:99 h263-1998/90000\r\n\
a=fmtp:99 profile=0;level=10\r\n";

fn parse_err(text: &str) -> String {
    match SessionDescription::parse(text) {
        Err(SdpError::Parse(why)) => why,
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn full_description_round_trips_exactly() {
    let parsed = SessionDescription::parse(FULL).unwrap();
    assert_eq!(parsed.to_string(), FULL);
    assert_eq!(parsed.origin.username, "jdoe");
    assert_eq!(parsed.session_name, "SDP Seminar");
    assert_eq!(
        parsed.connection.as_ref().unwrap().multicast.as_deref(),
        Some("127")
    );
    assert_eq!(parsed.fields.iter().filter(|f| f.kind == 't').count(), 2);
    let video = &parsed.media[1];
    assert_eq!((video.port, video.port_count), (51372, Some(2)));
    assert_eq!(
        parsed.connection_for(video).unwrap().addr.to_string(),
        "ff15::101"
    );
    assert_eq!(parsed.direction_for(video), Direction::RecvOnly);
    assert_eq!(video.encoding(99).unwrap().to_string(), "h263-1998/90000");
    let reparsed: SessionDescription = parsed.to_string().parse().unwrap();
    assert_eq!(reparsed, parsed);
}

#[test]
fn lenient_input() {
    let messy = "\n\nv=0 \n\
o=- 1 1 IN IP4 192.0.2.1\t\n\
c=IN IP4 192.0.2.1   \n\
\n\
t=0 0\n\
k=prompt\n\
t=1 2\n\
b=AS:64\n\
x=an unknown kind\n\
m=audio 4000   RTP/AVP  0   8\n\
a=sendrecv\r\n\
a=X-whatever:1:2\n\
a=rtpmap:0 PCMU/8000  \n\
t=ignored inside media\n";
    let parsed = SessionDescription::parse(messy).unwrap();
    assert_eq!(parsed.session_name, "-");
    let kinds: String = parsed.fields.iter().map(|f| f.kind).collect();
    // Put back into RFC 8866 order: b= before t=, k= last.
    assert_eq!(kinds, "bttk");
    let audio = &parsed.media[0];
    assert_eq!(audio.formats, ["0", "8"]);
    assert_eq!(audio.fields, []);
    assert_eq!(
        audio.attributes[1],
        Attribute::with_value("X-whatever", "1:2")
    );
    assert_eq!(audio.attributes_named("rtpmap").next(), Some("0 PCMU/8000"));
    let printed = parsed.to_string();
    assert!(printed.starts_with("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nb=AS:64\r\nt=0 0\r\nt=1 2\r\nk=prompt\r\nm=audio 4000 RTP/AVP 0 8\r\n"), "{printed}");
    assert_eq!(SessionDescription::parse(&printed).unwrap(), parsed);
}

#[test]
fn strict_where_it_matters() {
    let head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";
    for (body, expected) in [
        ("", "empty"),
        ("v=1\n", "v=0"),
        ("o=- 1 1 IN IP4 192.0.2.1\nv=0\n", "v=0"),
        ("v=0\ns=-\n", "o="),
        ("v=0\no=- 1 1 IN IP4\n", "o="),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\no=- 1 1 IN IP4 1.2.3.4\n",
            "o=",
        ),
        ("v=0\nv=0\no=- 1 1 IN IP4 1.2.3.4\n", "v="),
        ("v=0\nhello\n", "<type>=<value>"),
        ("v=0\nab=c\n", "one-letter"),
        ("v=0\n=c\n", "one-letter"),
        ("v=0\na=x\0y\n", "control"),
        ("v=0\na=x\ry\n", "control"),
    ] {
        let why = parse_err(body);
        assert!(why.contains(expected), "{body:?}: {why}");
    }
    for (tail, expected) in [
        ("c=IN IP4 example.com\n", "c= address"),
        ("c=IN IP4 ::1\n", "address type"),
        ("c=IN IP6 10.0.0.1\n", "address type"),
        ("c=ATM NSAP 47.0091\n", "network type"),
        ("c=IN IP4\n", "three fields"),
        ("c=IN IP4 224.0.0.1/x\n", "multicast"),
        ("c=IN IP4 224.0.0.1/\n", "multicast"),
        ("m=audio\n", "m= needs"),
        ("m=audio 4000 RTP/AVP\n", "no formats"),
        ("m=audio 65536 RTP/AVP 0\n", "port"),
        ("m=audio -1 RTP/AVP 0\n", "port"),
        ("m=audio +4000 RTP/AVP 0\n", "port"),
        ("m=audio 4000/0 RTP/AVP 0\n", "port count"),
        ("m=audio 4000/x RTP/AVP 0\n", "port count"),
        ("m=audio 4000 RTP/AVP PCMU\n", "payload type"),
        ("m=audio 4000 RTP/AVP 0 128\n", "payload type"),
        ("m=audio 4000 RTP/AVP 0\nc=IN IP4 1.2.3.4.5\n", "c= address"),
        (
            "m=audio 4000 RTP/AVP 0\no=- 1 1 IN IP4 1.2.3.4\n",
            "media section",
        ),
    ] {
        let why = parse_err(&format!("{head}{tail}"));
        assert!(why.contains(expected), "{tail:?}: {why}");
        assert!(why.starts_with("line "), "{why}");
    }
}

#[test]
fn non_rtp_formats_are_opaque() {
    let text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
m=application 9 TCP/BFCP *\nm=message 7394 TCP/MSRP *\n";
    let parsed = SessionDescription::parse(text).unwrap();
    assert_eq!(parsed.media[0].formats, ["*"]);
    assert!(parsed.media[0].payload_types().is_empty());
}

#[test]
fn built_by_hand() {
    let mut parsed =
        SessionDescription::parse("v=0\no=- 7 7 IN IP4 192.0.2.1\ns=call\nt=0 0\n").unwrap();
    parsed.connection = Some(Connection::new(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    parsed.attributes.push(Attribute::flag("inactive"));
    assert_eq!(
        parsed.to_string(),
        "v=0\r\no=- 7 7 IN IP4 192.0.2.1\r\ns=call\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=inactive\r\n"
    );
}
