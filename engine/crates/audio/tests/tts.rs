//! Speech synthesis: caching, limits, engines that fail or hang, espeak-ng
//! and the HTTP engine.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_audio::{
    AudioConfig, AudioError, AudioLibrary, TtsConfig, TtsEngine, TtsError, TtsFuture, TtsRequest,
};
use support::{assert_tone, wav_16k_440, Reply, TestServer};

enum Behaviour {
    Tone,
    Fail,
    Hang,
}

/// A test engine: a 440 Hz tone, an error, or no answer at all.
struct FixtureTts {
    name: &'static str,
    behaviour: Behaviour,
    calls: AtomicUsize,
}

impl FixtureTts {
    fn new(name: &'static str, behaviour: Behaviour) -> Arc<FixtureTts> {
        Arc::new(FixtureTts {
            name,
            behaviour,
            calls: AtomicUsize::new(0),
        })
    }
}

impl TtsEngine for FixtureTts {
    fn name(&self) -> &str {
        self.name
    }

    fn synthesize<'a>(&'a self, _req: &'a TtsRequest) -> TtsFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match self.behaviour {
                Behaviour::Tone => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(wav_16k_440(0.5))
                }
                Behaviour::Fail => Err(TtsError::Failed("voice not installed".into())),
                Behaviour::Hang => std::future::pending().await,
            }
        })
    }
}

fn config(dir: &std::path::Path, tts: TtsConfig) -> AudioConfig {
    AudioConfig {
        cache_dir: dir.to_path_buf(),
        tts,
        ..AudioConfig::default()
    }
}

fn tts_config() -> TtsConfig {
    TtsConfig {
        default_engine: "fixture".into(),
        timeout: Duration::from_millis(300),
        ..TtsConfig::default()
    }
}

fn say(text: &str) -> TtsRequest {
    TtsRequest {
        text: text.into(),
        ..TtsRequest::default()
    }
}

#[tokio::test]
async fn identical_requests_hit_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let lib = AudioLibrary::new(config(dir.path(), tts_config())).unwrap();
    let engine = FixtureTts::new("fixture", Behaviour::Tone);
    lib.register_tts(engine.clone());

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let lib = lib.clone();
            tokio::spawn(async move { lib.synthesize(&say("Hello")).await })
        })
        .collect();
    for t in tasks {
        assert_tone(&t.await.unwrap().unwrap(), 440.0, 0.5, 0.02, "fixture tts");
    }
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);
    lib.synthesize(&say("Hello")).await.unwrap();
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);

    // Voice, rate and text are all part of the key.
    let mut other = say("Hello");
    other.voice = Some("en-gb".into());
    lib.synthesize(&other).await.unwrap();
    other.rate = Some(1.5);
    lib.synthesize(&other).await.unwrap();
    lib.synthesize(&say("Hello!")).await.unwrap();
    assert_eq!(engine.calls.load(Ordering::SeqCst), 4);
    assert_eq!(lib.stats().syntheses, 4);

    // A restarted process reads the decoded speech from disk.
    let restarted = AudioLibrary::new(config(dir.path(), tts_config())).unwrap();
    let engine2 = FixtureTts::new("fixture", Behaviour::Tone);
    restarted.register_tts(engine2.clone());
    assert_tone(
        &restarted.synthesize(&say("Hello")).await.unwrap(),
        440.0,
        0.5,
        0.02,
        "disk",
    );
    assert_eq!(engine2.calls.load(Ordering::SeqCst), 0);
    assert_eq!(restarted.stats().tts_disk_hits, 1);
}

#[tokio::test]
async fn text_over_1500_chars_is_refused_before_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let lib = AudioLibrary::new(config(dir.path(), tts_config())).unwrap();
    let engine = FixtureTts::new("fixture", Behaviour::Tone);
    lib.register_tts(engine.clone());
    // Characters, not bytes: 1,500 two-byte characters are accepted.
    assert!(lib.synthesize(&say(&"é".repeat(1500))).await.is_ok());
    assert_eq!(
        lib.synthesize(&say(&"a".repeat(1501))).await,
        Err(AudioError::TextTooLong)
    );
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn failing_hanging_and_unknown_engines_error_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let lib = AudioLibrary::new(config(dir.path(), tts_config())).unwrap();
    lib.register_tts(FixtureTts::new("fail", Behaviour::Fail));
    lib.register_tts(FixtureTts::new("hang", Behaviour::Hang));
    let mut req = say("Hello");

    req.engine = Some("fail".into());
    assert!(matches!(
        lib.synthesize(&req).await,
        Err(AudioError::Tts(_))
    ));

    req.engine = Some("hang".into());
    let start = Instant::now();
    assert_eq!(lib.synthesize(&req).await, Err(AudioError::Timeout));
    assert!(start.elapsed() < Duration::from_secs(2));

    req.engine = Some("nope".into());
    assert!(matches!(
        lib.synthesize(&req).await,
        Err(AudioError::Tts(_))
    ));
    assert!(matches!(
        lib.synthesize(&say("  ")).await,
        Err(AudioError::Tts(_))
    ));
}

#[tokio::test]
async fn espeak_ng_speaks() {
    let dir = tempfile::tempdir().unwrap();
    let lib = AudioLibrary::new(config(dir.path(), TtsConfig::default())).unwrap();
    let req = TtsRequest {
        text: "Hello, thank you for calling. Press one for sales.".into(),
        voice: Some("en-us".into()),
        rate: Some(1.2),
        engine: None,
    };
    let clip = lib
        .synthesize(&req)
        .await
        .expect("espeak-ng must be installed");
    let secs = clip.len() as f64 / 8000.0;
    assert!(secs > 1.0 && secs < 10.0, "speech lasts {secs} s");
    let level = support::rms(&clip);
    assert!(level > 500.0, "speech rms {level}");
    // Hostile-looking text is just text (stdin, never a shell or an option).
    let odd = say("--help; rm -rf / $(reboot) `id`");
    let odd = TtsRequest {
        engine: Some("espeak".into()),
        ..odd
    };
    assert!(lib.synthesize(&odd).await.unwrap().len() > 800);
}

#[tokio::test]
async fn missing_espeak_binary_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let lib = AudioLibrary::new(config(
        dir.path(),
        TtsConfig {
            espeak_command: "/nonexistent/espeak-ng".into(),
            ..TtsConfig::default()
        },
    ))
    .unwrap();
    let start = Instant::now();
    let r = lib.synthesize(&say("Hello")).await;
    assert!(
        matches!(&r, Err(AudioError::Tts(m)) if m.contains("unavailable")),
        "{r:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn http_engine_posts_json_and_decodes_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|req| {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        match (
            req.method.as_str(),
            req.path.as_str(),
            body["text"].as_str(),
        ) {
            ("POST", "/tts", Some("fail")) => Reply::status(503),
            ("POST", "/tts", Some(_)) => Reply::ok(wav_16k_440(0.5)),
            _ => Reply::status(400),
        }
    })
    .await;
    let lib = AudioLibrary::new(config(
        dir.path(),
        TtsConfig {
            default_engine: "http".into(),
            http_url: Some(server.url("/tts")),
            ..TtsConfig::default()
        },
    ))
    .unwrap();
    let req = TtsRequest {
        text: "Hello".into(),
        voice: Some("anna".into()),
        rate: Some(0.9),
        engine: None,
    };
    assert_tone(
        &lib.synthesize(&req).await.unwrap(),
        440.0,
        0.5,
        0.02,
        "http tts",
    );
    let sent = server.requests.lock()[0].clone();
    let json: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(json["voice"], "anna");
    assert!((json["rate"].as_f64().unwrap() - 0.9).abs() < 1e-6);
    assert_eq!(
        sent.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );

    let r = lib.synthesize(&say("fail")).await;
    assert!(
        matches!(&r, Err(AudioError::Tts(m)) if m.contains("503")),
        "{r:?}"
    );
}
