//! `dialtone test` spec files: `Spec::from_json` on arbitrary UTF-8, and the
//! lookups the simulator makes on a spec that parsed.
#![no_main]

use dialtone_sim::Spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = Spec::from_json(text) else {
        return;
    };
    let _ = spec.callee_for("sip:bob@example.com");
    let _ = spec.callee_for(text);
    let _ = spec.http_reply("http://example.com/hook");
    let _ = spec.http_reply(text);
    let _ = spec.playback.duration_of("tone");
    for uri in spec.callees.keys() {
        let _ = spec.callee_for(uri);
    }
});
