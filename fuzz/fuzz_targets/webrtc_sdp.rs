//! WebRTC offers: what the call core reads of a browser's SDP
//! (`is_webrtc`, `webrtc_negotiated`, `check_webrtc_offer`) on arbitrary
//! UTF-8, and, for what passes the check, the answer the media layer's
//! WebRTC stack (str0m) makes to it, as a leg would.
//!
//! Properties: nothing panics; an offer that passes the check is a WebRTC
//! description with a direction; an answer the stack makes parses as a
//! WebRTC description again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let webrtc = dialtone_sdp::is_webrtc(text);
    let negotiated = dialtone_sdp::webrtc_negotiated(text);
    assert_eq!(webrtc, negotiated.is_some(), "{text:?}");
    let _ = dialtone_sdp::webrtc_direction(text);
    let _ = dialtone_sdp::stated_direction(text);
    if dialtone_sdp::check_webrtc_offer(text).is_err() {
        return;
    }
    assert!(webrtc, "checked but not WebRTC: {text:?}");
    if let Ok(answer) = dialtone_media::webrtc::answer_offer(text) {
        // The core refuses an answer without audio; it must at least parse.
        let _ = dialtone_sdp::webrtc_negotiated(&answer);
        let _ = dialtone_sdp::SessionDescription::parse(&answer);
    }
});
