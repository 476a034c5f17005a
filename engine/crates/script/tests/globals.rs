//! The global helpers (`base64_encode`, `str2bytes`, `md5`…), `Crypto`, and
//! `require(Modules.X)`.

mod common;

use common::*;
use dialtone_core::messages::SessionEnd;

async fn logs_of(script: &str) -> (Vec<String>, SessionEnd) {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn("globals.js", script, "", None);
    let (_, end) = engine.until_ended(s.id).await;
    (messages(s.id, "log"), end)
}

#[tokio::test]
async fn byte_helpers_round_trip() {
    let (logs, end) = logs_of(
        r#"
        require(Modules.Conference);
        require(Modules.Player);
        require(Modules.Recorder);
        var bytes = str2bytes("héllo");
        Logger.write(JSON.stringify(bytes));
        Logger.write(bytes2str(bytes));
        Logger.write(base64_encode("héllo") + " " + base64_encode([0, 255, 16]));
        Logger.write(bytes2str(base64_decode("aMOpbGxv")) + " " + JSON.stringify(base64_decode("AP8Q")));
        Logger.write(bytes2hex([202, 254, 192, 222]) + " " + bytes2hex([202, 254], true));
        Logger.write(JSON.stringify(hex2bytes("cafec0de")));
        Logger.write(JSON.stringify(str2bytes("é", "iso-8859-1")) + " " + bytes2str([233], "latin1"));
        Logger.write(md5("abc") + " " + sha1("abc"));
        Logger.write(sha256("abc") + " " + Crypto.sha256([97, 98, 99]));
        Logger.write(Crypto.hmac_sha256("Jefe", "what do ya want for nothing?"));
        var id = uuidgen();
        Logger.write(String(/^[0-9a-f-]{36}$/.test(id) && id !== uuidgen()));
        try { hex2bytes("xyz"); } catch (e) { Logger.write(e.name + ": " + e.message); }
        try { base64_encode([300]); } catch (e) { Logger.write(e.name + ": " + e.message); }
        VoxEngine.terminate();
        "#,
    )
    .await;
    assert_eq!(end, SessionEnd::Normal, "{logs:?}");
    assert_eq!(
        logs,
        [
            "[104,195,169,108,108,111]",
            "héllo",
            "aMOpbGxv AP8Q",
            "héllo [0,255,16]",
            "cafec0de CAFE",
            "[202,254,192,222]",
            "[233] é",
            "900150983cd24fb0d6963f7d28e17f72 a9993e364706816aba3e25717850c26c9cd0d89d",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "true",
            "TypeError: hex2bytes(): \"xyz\" is not a hex string",
            "TypeError: base64_encode(): bytes must be integers from 0 to 255",
        ]
    );
}

#[tokio::test]
async fn requiring_a_module_dialtone_lacks_fails_at_its_line() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "asr.js",
        "// speech\nrequire(Modules.Conference);\nrequire(Modules.ASR);\nVoxEngine.addEventListener(AppEvents.Started, function () {});\n",
        "",
        None,
    );
    let (_, end) = engine.until_ended(s.id).await;
    let SessionEnd::ScriptError(text) = end else {
        panic!("expected a script error, got {end:?}");
    };
    assert!(text.starts_with("asr.js:3:"), "{text}");
    assert!(
        text.contains("require(Modules.ASR): the ASR module is not provided by Dialtone"),
        "{text}"
    );
    let (_, end) = logs_of("require(Modules.Speech);").await;
    let SessionEnd::ScriptError(text) = end else {
        panic!("expected a script error, got {end:?}");
    };
    assert!(
        text.contains("require(undefined): not a VoxEngine module"),
        "{text}"
    );
}
