//! The simulated far ends' SDP: the caller offers G.711 and telephone-event
//! from a documentation address; a callee answers our offer the way a
//! phone would.

use std::net::{IpAddr, Ipv4Addr};

use dialtone_sdp::{Codec, LocalMedia};

fn far_end(last: u8, port: u16) -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        port,
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        telephone_event: true,
        session_id: 1,
        session_version: 1,
        username: "sim".into(),
    }
}

/// The inbound caller's offer.
pub(super) fn caller_offer() -> String {
    dialtone_sdp::make_offer(&far_end(1, 40_000))
}

/// A callee's answer to our offer; `None` if it cannot answer it.
pub(super) fn callee_answer(offer: &str) -> Option<String> {
    dialtone_sdp::answer_offer(offer, &far_end(2, 40_002))
        .map(|(answer, _)| answer)
        .ok()
}

/// The caller's new offer in a re-INVITE, with `direction` (`sendonly`…).
pub(super) fn reinvite_offer(direction: &str) -> String {
    let offer = dialtone_sdp::make_offer(&LocalMedia {
        session_version: 2,
        ..far_end(1, 40_000)
    });
    offer.replace("a=sendrecv", &format!("a={direction}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_offer_is_one_dialtone_answers() {
        let offer = caller_offer();
        let ours = LocalMedia {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 20_000,
            ..far_end(9, 0)
        };
        let (answer, negotiated) = dialtone_sdp::answer_offer(&offer, &ours).expect("answerable");
        assert!(negotiated.telephone_event_pt.is_some());
        assert!(callee_answer(&dialtone_sdp::make_offer(&ours)).is_some());
        assert!(answer.contains("PCMU"));
    }
}
