//! Playback downloads keep to the egress policy: loopback, link-local and
//! names that resolve to them are refused under the default, an allow-listed
//! address and port is fetched, and a redirect to a denied destination is
//! not followed. The HTTP TTS engine's own URL is the operator's and exempt.

mod support;

use std::sync::Arc;
use std::time::Duration;

use dialtone_audio::{AudioConfig, AudioError, AudioLibrary, TtsConfig, TtsRequest};
use dialtone_egress::{parse_allow_list, EgressPolicy};
use support::{wav_16k_440, Reply, TestServer};

fn library(cache: &std::path::Path, allow: &str) -> AudioLibrary {
    AudioLibrary::new(AudioConfig {
        cache_dir: cache.to_path_buf(),
        download_timeout: Duration::from_secs(5),
        egress: Arc::new(EgressPolicy::new(parse_allow_list(allow).unwrap())),
        ..AudioConfig::default()
    })
    .unwrap()
}

fn refused(r: Result<dialtone_audio::Clip, AudioError>) -> String {
    match r {
        Err(AudioError::Refused(why)) => why,
        other => panic!("expected a refusal, got {:?}", other.map(|c| c.len())),
    }
}

async fn wav_server() -> TestServer {
    let wav = wav_16k_440(0.2);
    TestServer::start(move |_| Reply::ok(wav.clone())).await
}

#[tokio::test]
async fn loopback_link_local_and_names_of_them_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = wav_server().await;
    let lib = library(dir.path(), "none");
    let port = server.addr.port();
    for url in [
        server.url("/a.wav"),
        format!("http://localhost:{port}/a.wav"),
        format!("http://[::ffff:127.0.0.1]:{port}/a.wav"),
        "http://169.254.169.254/latest/meta-data/a.wav".to_string(),
    ] {
        let why = refused(lib.load(&url).await);
        assert!(
            why.starts_with("denied by the egress policy: "),
            "{url}: {why}"
        );
    }
    assert_eq!(server.hits(), 0, "nothing reached the server");
}

#[tokio::test]
async fn an_allow_listed_port_is_fetched_and_its_redirect_to_another_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let target = wav_server().await;
    let to = target.url("/prompt.wav");
    let redirecting = TestServer::start(move |_| Reply::Full {
        status: 302,
        headers: vec![("Location".into(), to.clone())],
        body: vec![],
    })
    .await;
    let lib = library(dir.path(), &redirecting.addr.to_string());
    let why = refused(lib.load(&redirecting.url("/prompt.wav")).await);
    assert!(
        why.contains(&format!("{} is loopback", target.addr)),
        "{why}"
    );
    assert_eq!(redirecting.hits(), 1);
    assert_eq!(target.hits(), 0);

    let both = library(
        dir.path(),
        &format!("{}, {}", redirecting.addr, target.addr),
    );
    assert!(both.load(&redirecting.url("/prompt.wav")).await.is_ok());
    assert_eq!(target.hits(), 1);
}

#[tokio::test]
async fn the_tts_engines_own_url_is_exempt_but_not_where_it_redirects() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = wav_server().await;
    let to = elsewhere.url("/speech.wav");
    let wav = wav_16k_440(0.3);
    let tts = TestServer::start(move |req| match req.path.as_str() {
        "/tts" => Reply::ok(wav.clone()),
        _ => Reply::Full {
            status: 307,
            headers: vec![("Location".into(), to.clone())],
            body: vec![],
        },
    })
    .await;
    let engine = |url: String| {
        AudioLibrary::new(AudioConfig {
            cache_dir: dir.path().join(url.replace(['/', ':'], "_")),
            tts: TtsConfig {
                default_engine: "http".into(),
                http_url: Some(url),
                timeout: Duration::from_secs(5),
                ..TtsConfig::default()
            },
            ..AudioConfig::default()
        })
        .unwrap()
    };
    let say = TtsRequest {
        text: "Hello".into(),
        ..TtsRequest::default()
    };
    assert!(engine(tts.url("/tts")).synthesize(&say).await.is_ok());
    let r = engine(tts.url("/moved")).synthesize(&say).await;
    assert!(
        matches!(&r, Err(AudioError::Tts(m)) if m.contains("denied by the egress policy")),
        "{:?}",
        r.map(|c| c.len())
    );
    assert_eq!(elsewhere.hits(), 0);
}
