//! The disk caches stay within their byte budgets: downloads and speech
//! past them push out the least recently used entries, a clip a player
//! holds stays whole, and a restart counts what is on disk.

mod support;

use std::sync::Arc;
use std::time::Duration;

use dialtone_audio::{AudioConfig, AudioLibrary, TtsConfig, TtsEngine, TtsFuture, TtsRequest};
use dialtone_egress::{parse_allow_list, EgressPolicy};
use support::{wav_16k_440, Reply, TestServer};

fn files_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|l| {
            l.flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn config(cache: &std::path::Path, download_budget: u64, tts_budget: u64) -> AudioConfig {
    AudioConfig {
        cache_dir: cache.to_path_buf(),
        download_timeout: Duration::from_secs(5),
        egress: Arc::new(EgressPolicy::new(parse_allow_list("127.0.0.0/8").unwrap())),
        max_download_cache_bytes: download_budget,
        max_tts_cache_bytes: tts_budget,
        tts: TtsConfig {
            default_engine: "fixture".into(),
            ..TtsConfig::default()
        },
        ..AudioConfig::default()
    }
}

/// Every URL serves the same half-second tone with an ETag, always in full.
async fn server() -> TestServer {
    let wav = wav_16k_440(0.5);
    TestServer::start(move |_req| Reply::Full {
        status: 200,
        headers: vec![("ETag".into(), "\"v1\"".into())],
        body: wav.clone(),
    })
    .await
}

#[tokio::test]
async fn downloads_past_the_budget_evict_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = server().await;
    let one = wav_16k_440(0.5).len() as u64 + 200;
    // Room for two downloads (body and metadata), not three.
    let lib = AudioLibrary::new(config(dir.path(), 2 * one + one / 2, 1 << 20)).unwrap();
    let held = lib.load(&server.url("/a.wav")).await.unwrap();
    lib.load(&server.url("/b.wav")).await.unwrap();
    // A reload from disk (memory dropped, 304 or not) marks /a as used.
    lib.clear_memory();
    lib.load(&server.url("/a.wav")).await.unwrap();
    lib.load(&server.url("/c.wav")).await.unwrap();
    let stats = lib.stats().download_cache;
    assert_eq!(stats.entries, 2, "{stats:?}");
    assert_eq!(stats.evictions, 1);
    assert!(stats.bytes <= stats.budget);
    assert_eq!(files_bytes(&dir.path().join("http")), stats.bytes);
    // The clip a player holds is untouched by any eviction.
    assert_eq!(held.len(), 4000);
    assert!(held.iter().any(|s| *s != 0));

    // /b went: loading it again downloads it in full.
    lib.clear_memory();
    let downloads = lib.stats().downloads;
    lib.load(&server.url("/b.wav")).await.unwrap();
    assert_eq!(lib.stats().downloads, downloads + 1);
    // /c was still on disk: its reload was a conditional request.
    lib.clear_memory();
    lib.load(&server.url("/c.wav")).await.unwrap();
    let last = server.requests.lock().last().cloned().unwrap();
    assert_eq!(last.path, "/c.wav");
    assert_eq!(
        last.headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );

    // A restart with a smaller budget keeps only what fits, newest first.
    drop(lib);
    let restarted = AudioLibrary::new(config(dir.path(), one + one / 2, 1 << 20)).unwrap();
    let stats = restarted.stats().download_cache;
    assert_eq!((stats.entries, stats.evictions), (1, 1), "{stats:?}");
    assert_eq!(files_bytes(&dir.path().join("http")), stats.bytes);
}

#[tokio::test]
async fn a_download_larger_than_the_whole_cache_plays_but_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = server().await;
    let lib = AudioLibrary::new(config(dir.path(), 1000, 1 << 20)).unwrap();
    let clip = lib.load(&server.url("/big.wav")).await.unwrap();
    assert_eq!(clip.len(), 4000);
    let stats = lib.stats().download_cache;
    assert_eq!((stats.entries, stats.bytes), (0, 0));
    assert_eq!(files_bytes(&dir.path().join("http")), 0);
}

struct Tone;

impl TtsEngine for Tone {
    fn name(&self) -> &str {
        "fixture"
    }

    fn synthesize<'a>(&'a self, _req: &'a TtsRequest) -> TtsFuture<'a> {
        Box::pin(async { Ok(wav_16k_440(0.5)) })
    }
}

fn say(text: &str) -> TtsRequest {
    TtsRequest {
        text: text.into(),
        ..TtsRequest::default()
    }
}

#[tokio::test]
async fn speech_past_the_budget_evicts_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    // Half a second at 8 kHz is 8,000 bytes of PCM; room for two.
    let lib = AudioLibrary::new(config(dir.path(), 1 << 20, 20_000)).unwrap();
    lib.register_tts(Arc::new(Tone));
    for text in ["one", "two", "three", "four"] {
        lib.synthesize(&say(text)).await.unwrap();
        let stats = lib.stats().tts_cache;
        assert!(stats.bytes <= stats.budget, "{stats:?}");
        assert_eq!(files_bytes(&dir.path().join("tts")), stats.bytes);
    }
    let stats = lib.stats().tts_cache;
    assert_eq!(
        (stats.entries, stats.bytes, stats.evictions),
        (2, 16_000, 2)
    );

    // "three" read back from disk becomes the most recent; "four" then goes.
    lib.clear_memory();
    lib.synthesize(&say("three")).await.unwrap();
    assert_eq!(lib.stats().tts_disk_hits, 1);
    lib.synthesize(&say("five")).await.unwrap();
    lib.clear_memory();
    let syntheses = lib.stats().syntheses;
    lib.synthesize(&say("three")).await.unwrap();
    assert_eq!(lib.stats().syntheses, syntheses, "three stayed on disk");
    lib.synthesize(&say("four")).await.unwrap();
    assert_eq!(lib.stats().syntheses, syntheses + 1, "four was evicted");
}
