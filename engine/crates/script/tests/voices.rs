//! `Language` and `VoiceList` voices become the TTS engine's voices by
//! language; one the engine lacks falls back and the session log says so.

mod common;

use std::sync::Arc;

use common::*;
use dialtone_core::messages::{PlayerSource, SessionCommand};
use dialtone_core::voices::VoiceCatalogue;

const LISTING: &str = "Pty Language Age/Gender VoiceName File Other
 5  en-us  --/M  English_(America) gmw/en-US
 5  ru     --/M  Russian zle/ru
";

#[tokio::test]
async fn language_and_voice_list_map_onto_the_engine() {
    let mut cfg = config();
    cfg.voices = Arc::new(VoiceCatalogue::espeak_from_listing(LISTING));
    let mut engine = FakeEngine::start(cfg);
    let s = engine.spawn(
        "voices.js",
        r#"
        VoxEngine.createTTSPlayer("one", Language.US_ENGLISH_FEMALE);
        VoxEngine.createTTSPlayer("two", { voice: VoiceList.Amazon.ru_RU_Tatyana });
        VoxEngine.createTTSPlayer("three", VoiceList.Default.ja_JP_Female);
        VoxEngine.createTTSPlayer("four", "de");
        "#,
        "",
        None,
    );
    let mut voices = Vec::new();
    for _ in 0..4 {
        match engine.next(s.id).await {
            SessionCommand::CreatePlayer {
                source: PlayerSource::Tts { voice, .. },
                ..
            } => voices.push(voice),
            other => panic!("expected a TTS player, got {other:?}"),
        }
    }
    assert_eq!(
        voices,
        [
            Some("en-us+f3".to_string()),
            Some("ru+f3".to_string()),
            None,
            Some("de".to_string())
        ]
    );
    let notes = messages(s.id, "log");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Amazon.Tatyana is not available")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("no ja-JP voice")),
        "{notes:?}"
    );
}
