//! SDP: `SessionDescription::parse` on arbitrary UTF-8, then offer/answer
//! against a fixed local description (the first byte picks one of four).
//!
//! Properties: a parsed description prints to text that parses back equal;
//! an answer we make parses, keeps one m= line per offered one with exactly
//! one stream accepted, and uses one of our codecs; and the offerer accepts
//! the answer we made to its offer.
#![no_main]

use std::net::IpAddr;

use dialtone_sdp::{
    accept_answer, answer_offer, make_offer, Codec, LocalMedia, SessionDescription,
};
use libfuzzer_sys::fuzz_target;

fn local(variant: u8) -> LocalMedia {
    let (addr, codecs, telephone_event): (IpAddr, Vec<Codec>, bool) = match variant % 4 {
        0 => (
            "10.0.0.5".parse().unwrap(),
            vec![Codec::Pcma, Codec::Pcmu],
            true,
        ),
        1 => ("10.0.0.5".parse().unwrap(), vec![Codec::Pcmu], false),
        2 => ("2001:db8::5".parse().unwrap(), vec![], true),
        _ => ("0.0.0.0".parse().unwrap(), vec![Codec::Pcma], false),
    };
    LocalMedia {
        addr,
        port: 30000,
        codecs,
        telephone_event,
        session_id: 1,
        session_version: 2,
        username: "dialtone".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&variant, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let local = local(variant);

    if let Ok(parsed) = SessionDescription::parse(text) {
        let printed = parsed.to_string();
        let again = SessionDescription::parse(&printed)
            .unwrap_or_else(|e| panic!("printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(again, parsed, "printed as {printed:?}");
        for m in &parsed.media {
            let _ = parsed.connection_for(m);
            let _ = parsed.ptime_for(m);
            let _ = parsed.direction_for(m);
            for pt in m.payload_types() {
                let _ = m.encoding(pt);
            }
        }
    }

    if let Ok((answer, negotiated)) = answer_offer(text, &local) {
        let offer = SessionDescription::parse(text).expect("an answered offer parses");
        let parsed = SessionDescription::parse(&answer)
            .unwrap_or_else(|e| panic!("our answer {answer:?} does not parse: {e}"));
        assert_eq!(
            parsed.media.len(),
            offer.media.len(),
            "m= lines of {answer:?}"
        );
        assert_eq!(
            parsed.media.iter().filter(|m| m.port != 0).count(),
            1,
            "{answer:?}"
        );
        let ours = if local.codecs.is_empty() {
            Codec::ALL.to_vec()
        } else {
            local.codecs.clone()
        };
        assert!(ours.contains(&negotiated.codec), "{negotiated:?}");
        // The offerer, holding the offer, must take our answer.
        let _ = accept_answer(&answer, &local);
    }

    let _ = make_offer(&local);
    let _ = accept_answer(text, &local);
});
