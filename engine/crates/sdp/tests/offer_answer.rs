use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use dialtone_sdp::{
    accept_answer, answer_offer, make_offer, Codec, Direction, LocalMedia, Negotiated, SdpError,
    SessionDescription,
};

fn local() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
        port: 30000,
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        telephone_event: true,
        session_id: 4242,
        session_version: 1,
        username: "dialtone".into(),
    }
}

fn lines(sdp: &str) -> Vec<&str> {
    assert!(sdp.ends_with("\r\n"), "{sdp:?}");
    let body = sdp.strip_suffix("\r\n").unwrap();
    assert!(!body.contains("\r\n\r\n"));
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert!(lines.iter().all(|l| !l.contains('\n')), "{sdp:?}");
    lines
}

/// What a PJSIP softphone (pjsua) offers: wideband codecs first, two telephone-events.
const PJSIP_OFFER: &str = "v=0\r\n\
o=- 3917423245 3917423245 IN IP4 192.168.1.20\r\n\
s=pjmedia\r\n\
b=AS:117\r\n\
t=0 0\r\n\
a=X-nat:0\r\n\
m=audio 4000 RTP/AVP 120 97 9 0 8 96 101\r\n\
c=IN IP4 192.168.1.20\r\n\
b=AS:117\r\n\
b=TIAS:96000\r\n\
a=rtcp:4001 IN IP4 192.168.1.20\r\n\
a=sendrecv\r\n\
a=rtpmap:120 opus/48000/2\r\n\
a=fmtp:120 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:96 telephone-event/48000\r\n\
a=fmtp:96 0-16\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ssrc:1946158394 cname:5f3a1c0d2b7e4a99\r\n";

/// SIPp's built-in uac scenario: PCMU only, static type without rtpmap, LF line ends.
const SIPP_OFFER: &str = "v=0\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\n\
s=-\n\
c=IN IP4 127.0.0.1\n\
t=0 0\n\
m=audio 6000 RTP/AVP 0\n";

#[test]
fn pjsip_offer_picks_first_g711_and_8k_telephone_event() {
    let (answer, negotiated) = answer_offer(PJSIP_OFFER, &local()).unwrap();
    assert_eq!(
        negotiated,
        Negotiated {
            remote: "192.168.1.20:4000".parse().unwrap(),
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event_pt: Some(101),
            ptime_ms: 20,
            direction: Direction::SendRecv,
        }
    );
    assert_eq!(
        lines(&answer),
        [
            "v=0",
            "o=dialtone 4242 1 IN IP4 10.0.0.5",
            "s=-",
            "c=IN IP4 10.0.0.5",
            "t=0 0",
            "m=audio 30000 RTP/AVP 0 8 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ]
    );
}

#[test]
fn sipp_offer_with_static_type_and_no_rtpmap() {
    let (answer, negotiated) = answer_offer(SIPP_OFFER, &local()).unwrap();
    assert_eq!(negotiated.codec, Codec::Pcmu);
    assert_eq!(negotiated.payload_type, 0);
    assert_eq!(negotiated.telephone_event_pt, None);
    assert_eq!(
        negotiated.remote,
        "127.0.0.1:6000".parse::<SocketAddr>().unwrap()
    );
    let answer = SessionDescription::parse(&answer).unwrap();
    let audio = &answer.media[0];
    assert_eq!(audio.formats, ["0"]);
    assert_eq!(
        audio.attributes_named("rtpmap").collect::<Vec<_>>(),
        ["0 PCMU/8000"]
    );
    assert_eq!(audio.attributes_named("fmtp").count(), 0);
}

#[test]
fn static_pcma_without_rtpmap_is_recognised() {
    let offer = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 8");
    let (_, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Pcma, 8)
    );
}

#[test]
fn offerers_order_wins_over_ours() {
    let offer = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 18 8 0 101")
        + "a=rtpmap:101 telephone-event/8000\n";
    let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Pcma, 8)
    );
    assert_eq!(negotiated.telephone_event_pt, Some(101));
    let answer = SessionDescription::parse(&answer).unwrap();
    assert_eq!(answer.media[0].formats, ["8", "0", "101"]);
}

#[test]
fn only_our_codecs_are_answered() {
    let mut alaw_only = local();
    alaw_only.codecs = vec![Codec::Pcma];
    alaw_only.telephone_event = false;
    let (answer, negotiated) = answer_offer(PJSIP_OFFER, &alaw_only).unwrap();
    assert_eq!(negotiated.codec, Codec::Pcma);
    assert_eq!(negotiated.telephone_event_pt, None);
    let answer = SessionDescription::parse(&answer).unwrap();
    assert_eq!(answer.media[0].formats, ["8"]);
}

#[test]
fn g711_on_a_dynamic_payload_type_is_accepted() {
    let offer = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 96") + "a=rtpmap:96 pcma/8000\n";
    let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Pcma, 96)
    );
    assert!(answer.contains("a=rtpmap:96 PCMA/8000\r\n"));
}

#[test]
fn no_common_codec() {
    let offer =
        SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 9 18 101") + "a=rtpmap:101 telephone-event/8000\n";
    let err = answer_offer(&offer, &local()).unwrap_err();
    assert_eq!(err, SdpError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);
    // A dynamic type without rtpmap is unknown, whatever its number.
    let offer = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 96");
    assert_eq!(answer_offer(&offer, &local()), Err(SdpError::NoCommonCodec));
}

#[test]
fn no_audio() {
    let video_only = SIPP_OFFER.replace("m=audio 6000 RTP/AVP 0", "m=video 6002 RTP/AVP 31");
    assert_eq!(answer_offer(&video_only, &local()), Err(SdpError::NoAudio));
    let srtp_only = SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP");
    assert_eq!(answer_offer(&srtp_only, &local()), Err(SdpError::NoAudio));
    let refused = SIPP_OFFER.replace("audio 6000", "audio 0");
    assert_eq!(answer_offer(&refused, &local()), Err(SdpError::NoAudio));
    let no_media = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n";
    assert_eq!(
        answer_offer(no_media, &local()).unwrap_err().sip_status(),
        488
    );
}

#[test]
fn missing_connection_is_a_parse_error() {
    let offer = SIPP_OFFER.replace("c=IN IP4 127.0.0.1\n", "");
    let err = answer_offer(&offer, &local()).unwrap_err();
    assert!(matches!(err, SdpError::Parse(_)), "{err:?}");
    assert_eq!(err.sip_status(), 400);
}

#[test]
fn media_level_connection_overrides_session_level() {
    let offer = SIPP_OFFER.to_owned() + "c=IN IP4 198.51.100.7\n";
    let (_, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(
        negotiated.remote,
        "198.51.100.7:6000".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn late_offer_we_offer_and_accept_their_answer() {
    let ours = local();
    let offer = make_offer(&ours);
    assert_eq!(
        lines(&offer),
        [
            "v=0",
            "o=dialtone 4242 1 IN IP4 10.0.0.5",
            "s=-",
            "c=IN IP4 10.0.0.5",
            "t=0 0",
            "m=audio 30000 RTP/AVP 0 8 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ]
    );

    // A phone that prefers A-law answers with its own address and ptime.
    let mut phone = local();
    phone.addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    phone.port = 7078;
    phone.codecs = vec![Codec::Pcma];
    let (answer, their_view) = answer_offer(&offer, &phone).unwrap();
    assert_eq!(
        their_view.remote,
        "10.0.0.5:30000".parse::<SocketAddr>().unwrap()
    );

    let negotiated = accept_answer(&answer, &ours).unwrap();
    assert_eq!(
        negotiated,
        Negotiated {
            remote: "192.0.2.9:7078".parse().unwrap(),
            codec: Codec::Pcma,
            payload_type: 8,
            telephone_event_pt: Some(101),
            ptime_ms: 20,
            direction: Direction::SendRecv,
        }
    );
}

#[test]
fn our_offer_follows_our_preference() {
    let mut ours = local();
    ours.codecs = vec![Codec::Pcma, Codec::Pcmu, Codec::Pcma];
    ours.telephone_event = false;
    let offer = SessionDescription::parse(&make_offer(&ours)).unwrap();
    assert_eq!(offer.media[0].formats, ["8", "0"]);
    ours.codecs.clear();
    let offer = SessionDescription::parse(&make_offer(&ours)).unwrap();
    assert_eq!(offer.media[0].formats, ["0", "8"]);
}

#[test]
fn answers_that_refuse_or_do_not_match() {
    let ours = local();
    let answer = "v=0\r\no=- 1 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n";
    assert_eq!(accept_answer(answer, &ours), Err(SdpError::NoAudio));
    let refused = format!("{answer}m=audio 0 RTP/AVP 0\r\n");
    assert_eq!(accept_answer(&refused, &ours), Err(SdpError::AudioRejected));
    let foreign = format!("{answer}m=audio 7078 RTP/AVP 18\r\n");
    assert_eq!(accept_answer(&foreign, &ours), Err(SdpError::NoCommonCodec));
    let mut mulaw_only = local();
    mulaw_only.codecs = vec![Codec::Pcmu];
    let alaw = format!("{answer}m=audio 7078 RTP/AVP 8\r\n");
    assert_eq!(
        accept_answer(&alaw, &mulaw_only),
        Err(SdpError::NoCommonCodec)
    );
    let answered = format!("{answer}m=audio 7078 RTP/AVP 0 101\r\na=ptime:30\r\na=recvonly\r\n");
    let negotiated = accept_answer(&answered, &ours).unwrap();
    // Without an rtpmap, 101 is an unknown dynamic type, not telephone-event.
    assert_eq!(negotiated.telephone_event_pt, None);
    assert_eq!(negotiated.ptime_ms, 30);
    assert_eq!(negotiated.direction, Direction::SendOnly);
}

#[test]
fn hold_directions_are_mirrored() {
    for (offered, ours) in [
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
        ("sendrecv", Direction::SendRecv),
    ] {
        let offer = format!("{SIPP_OFFER}a={offered}\n");
        let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
        assert_eq!(negotiated.direction, ours, "{offered}");
        assert!(
            answer.ends_with(&format!("a={}\r\n", ours.as_str())),
            "{answer}"
        );
    }
}

#[test]
fn session_level_direction_applies_to_media() {
    let offer = SIPP_OFFER.replace("t=0 0\n", "t=0 0\na=sendonly\n");
    let (_, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(negotiated.direction, Direction::RecvOnly);
    let overridden = offer + "a=sendrecv\n";
    let (_, negotiated) = answer_offer(&overridden, &local()).unwrap();
    assert_eq!(negotiated.direction, Direction::SendRecv);
}

#[test]
fn zero_address_is_old_style_hold() {
    let offer = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(negotiated.direction, Direction::RecvOnly);
    assert!(negotiated.remote.ip().is_unspecified());
    assert!(answer.contains("a=recvonly\r\n"));
    let both_ways_off = format!("{offer}a=recvonly\n");
    let (_, negotiated) = answer_offer(&both_ways_off, &local()).unwrap();
    assert_eq!(negotiated.direction, Direction::Inactive);
}

#[test]
fn ptime_is_read_from_the_offer() {
    let offer = format!("{SIPP_OFFER}a=ptime:30\n");
    let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(negotiated.ptime_ms, 30);
    assert!(answer.contains("a=ptime:20\r\n"));
    for junk in ["a=ptime:abc", "a=ptime:0", "a=ptime", "a=ptime:-20"] {
        let offer = format!("{SIPP_OFFER}{junk}\n");
        let (_, negotiated) = answer_offer(&offer, &local()).unwrap();
        assert_eq!(negotiated.ptime_ms, 20, "{junk}");
    }
    let fractional = format!("{SIPP_OFFER}a=ptime:10.0\n");
    assert_eq!(answer_offer(&fractional, &local()).unwrap().1.ptime_ms, 10);
}

#[test]
fn ipv6_offer_and_local_address() {
    let offer = "v=0\r\n\
o=- 1 1 IN IP6 2001:db8::10\r\n\
s=-\r\n\
c=IN IP6 2001:db8::10\r\n\
t=0 0\r\n\
m=audio 5004 RTP/AVP 8 0\r\n";
    let mut ours = local();
    ours.addr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x5));
    let (answer, negotiated) = answer_offer(offer, &ours).unwrap();
    assert_eq!(
        negotiated.remote,
        "[2001:db8::10]:5004".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(negotiated.codec, Codec::Pcma);
    assert!(answer.contains("o=dialtone 4242 1 IN IP6 2001:db8::5\r\n"));
    assert!(answer.contains("c=IN IP6 2001:db8::5\r\n"));
    // The address type must say what the address is.
    let mismatched = offer.replace("c=IN IP6", "c=IN IP4");
    assert!(matches!(
        answer_offer(&mismatched, &ours),
        Err(SdpError::Parse(_))
    ));
}

#[test]
fn other_streams_are_refused_with_port_zero() {
    let offer = "v=0\r\n\
o=- 1 1 IN IP4 192.0.2.1\r\n\
s=-\r\n\
c=IN IP4 192.0.2.1\r\n\
t=0 0\r\n\
m=video 5006 RTP/AVP 96 31\r\n\
a=rtpmap:96 H264/90000\r\n\
m=audio 5004 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n\
m=audio 5008 RTP/AVP 0 8\r\n\
m=audio 5010 RTP/AVP 8\r\n\
m=application 5012 TCP/BFCP *\r\n";
    let (answer, negotiated) = answer_offer(offer, &local()).unwrap();
    assert_eq!(negotiated.remote.port(), 5008);
    let answer = SessionDescription::parse(&answer).unwrap();
    let summary: Vec<(String, u16, String, Vec<String>)> = answer
        .media
        .iter()
        .map(|m| {
            (
                m.media.clone(),
                m.port,
                m.protocol.clone(),
                m.formats.clone(),
            )
        })
        .collect();
    let expected = [
        ("video", 0, "RTP/AVP", vec!["96", "31"]),
        ("audio", 0, "RTP/SAVP", vec!["0"]),
        ("audio", 30000, "RTP/AVP", vec!["0", "8"]),
        ("audio", 0, "RTP/AVP", vec!["8"]),
        ("application", 0, "TCP/BFCP", vec!["*"]),
    ]
    .map(|(media, port, proto, formats)| {
        let formats = formats.into_iter().map(String::from).collect();
        (media.to_owned(), port, proto.to_owned(), formats)
    });
    assert_eq!(summary, expected);
    // Refused streams carry nothing but their m= line.
    assert!(answer.media[0].attributes.is_empty());
}

#[test]
fn a_stream_without_common_codec_is_skipped_for_a_later_one() {
    let offer = format!("{SIPP_OFFER}m=audio 6002 RTP/AVP 8\n").replace("RTP/AVP 0", "RTP/AVP 18");
    let (answer, negotiated) = answer_offer(&offer, &local()).unwrap();
    assert_eq!(negotiated.remote.port(), 6002);
    let answer = SessionDescription::parse(&answer).unwrap();
    assert_eq!(answer.media[0].port, 0);
    assert_eq!(answer.media[1].port, 30000);
}

#[test]
fn answer_origin_survives_odd_usernames() {
    let mut ours = local();
    ours.username = "my user\r\n".into();
    let (answer, _) = answer_offer(SIPP_OFFER, &ours).unwrap();
    assert!(answer.contains("o=myuser 4242 1 IN IP4"));
    ours.username.clear();
    let offer = make_offer(&ours);
    assert!(offer.contains("o=- 4242 1 IN IP4"));
    SessionDescription::parse(&offer).unwrap();
}
