//! Loading over HTTP: disk cache with revalidation, limits, timeouts, and
//! one download + one decode for any number of simultaneous callers.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_audio::{AudioConfig, AudioError, AudioLibrary};
use dialtone_egress::{parse_allow_list, EgressPolicy};
use support::{assert_tone, wav_16k_440, Reply, TestServer};

/// The test servers live on loopback, which the default policy denies.
fn loopback_allowed() -> Arc<EgressPolicy> {
    Arc::new(EgressPolicy::new(parse_allow_list("127.0.0.0/8").unwrap()))
}

fn library(cache: &std::path::Path) -> AudioLibrary {
    AudioLibrary::new(AudioConfig {
        cache_dir: cache.to_path_buf(),
        download_timeout: Duration::from_millis(500),
        egress: loopback_allowed(),
        ..AudioConfig::default()
    })
    .unwrap()
}

/// Serves the WAV with an ETag and answers 304 to a matching If-None-Match.
async fn etag_server() -> TestServer {
    let wav = wav_16k_440(0.5);
    TestServer::start(move |req| {
        if req.headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") {
            return Reply::status(304);
        }
        Reply::Full {
            status: 200,
            headers: vec![("ETag".into(), "\"v1\"".into())],
            body: wav.clone(),
        }
    })
    .await
}

#[tokio::test]
async fn downloads_once_then_revalidates_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let server = etag_server().await;
    let lib = library(dir.path());
    let url = server.url("/prompt.wav");

    let clip = lib.load(&url).await.unwrap();
    assert_tone(&clip, 440.0, 0.5, 0.02, "http wav");
    let s = lib.stats();
    assert_eq!((s.downloads, s.decodes, s.revalidated), (1, 1, 0));

    // In memory: no request at all.
    let again = lib.load(&url).await.unwrap();
    assert!(Arc::ptr_eq(&clip, &again));
    assert_eq!(server.hits(), 1);
    assert_eq!(lib.stats().memory_hits, 1);

    // Memory dropped: a conditional request, answered 304, reuses the disk copy.
    lib.clear_memory();
    let clip2 = lib.load(&url).await.unwrap();
    assert_eq!(&clip[..], &clip2[..]);
    let s = lib.stats();
    assert_eq!((s.downloads, s.revalidated), (1, 1));
    assert_eq!(server.hits(), 2);
    let last = server.requests.lock().last().cloned().unwrap();
    assert_eq!(
        last.headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );

    // A restarted process finds the disk cache too.
    let restarted = library(dir.path());
    restarted.load(&url).await.unwrap();
    let s = restarted.stats();
    assert_eq!((s.downloads, s.revalidated), (0, 1));
}

#[tokio::test]
async fn changed_resource_is_downloaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let version = Arc::new(AtomicUsize::new(1));
    let v = version.clone();
    let server = TestServer::start(move |req| {
        let tag = format!("\"v{}\"", v.load(Ordering::SeqCst));
        if req.headers.get("if-none-match") == Some(&tag) {
            return Reply::status(304);
        }
        let hz = if tag == "\"v1\"" { 440.0 } else { 1000.0 };
        Reply::Full {
            status: 200,
            headers: vec![("ETag".into(), tag)],
            body: support::tone_wav(8000, 1, support::SampleFormat::I16, hz, 0.5),
        }
    })
    .await;
    let lib = library(dir.path());
    let url = server.url("/p.wav");
    assert_tone(&lib.load(&url).await.unwrap(), 440.0, 0.5, 0.02, "v1");
    version.store(2, Ordering::SeqCst);
    lib.clear_memory();
    assert_tone(&lib.load(&url).await.unwrap(), 1000.0, 0.5, 0.02, "v2");
    assert_eq!(lib.stats().downloads, 2);
}

#[tokio::test]
async fn five_hundred_simultaneous_loads_share_one_download_and_decode() {
    let dir = tempfile::tempdir().unwrap();
    let wav = wav_16k_440(1.0);
    // The delay keeps the first load in flight while the others arrive.
    let server = TestServer::start(move |_| {
        Reply::After(Duration::from_millis(150), Box::new(Reply::ok(wav.clone())))
    })
    .await;
    let lib = library(dir.path());
    let url = server.url("/burst.wav");
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let (lib, url) = (lib.clone(), url.clone());
            tokio::spawn(async move { lib.load(&url).await })
        })
        .collect();
    let mut clips = Vec::new();
    for t in tasks {
        clips.push(t.await.unwrap().unwrap());
    }
    assert!(clips.iter().all(|c| Arc::ptr_eq(c, &clips[0])));
    let s = lib.stats();
    assert_eq!(server.hits(), 1);
    assert_eq!((s.downloads, s.decodes), (1, 1));
}

#[tokio::test]
async fn cached_load_takes_microseconds() {
    let dir = tempfile::tempdir().unwrap();
    let server = etag_server().await;
    let lib = library(dir.path());
    let url = server.url("/fast.wav");
    lib.load(&url).await.unwrap();
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        lib.load(&url).await.unwrap();
    }
    let per = start.elapsed() / n;
    eprintln!("cached HTTP load: {per:?} per call");
    assert!(per < Duration::from_millis(1), "cached load took {per:?}");
}

#[tokio::test]
async fn body_over_limit_is_too_large_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|req| {
        if req.path == "/declared" {
            // Declared length over the limit: refused before the body.
            Reply::Full {
                status: 200,
                headers: vec![],
                body: vec![0; 10 * 1024 * 1024 + 1],
            }
        } else {
            Reply::Unsized(200 * 1024 * 1024)
        }
    })
    .await;
    let lib = AudioLibrary::new(AudioConfig {
        cache_dir: dir.path().to_path_buf(),
        download_timeout: Duration::from_secs(20),
        egress: loopback_allowed(),
        ..AudioConfig::default()
    })
    .unwrap();
    let start = Instant::now();
    assert_eq!(
        lib.load(&server.url("/declared")).await,
        Err(AudioError::TooLarge)
    );
    assert_eq!(
        lib.load(&server.url("/endless")).await,
        Err(AudioError::TooLarge)
    );
    // Reading 200 MB would take far longer than stopping at 10 MB.
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(lib.stats().decodes, 0);
}

#[tokio::test]
async fn slow_server_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|req| {
        if req.path == "/silent" {
            Reply::After(Duration::from_secs(30), Box::new(Reply::status(200)))
        } else {
            Reply::Stall
        }
    })
    .await;
    let lib = library(dir.path());
    for path in ["/silent", "/stall"] {
        let start = Instant::now();
        assert_eq!(
            lib.load(&server.url(path)).await,
            Err(AudioError::Timeout),
            "{path}"
        );
        assert!(start.elapsed() < Duration::from_secs(3), "{path}");
    }
}

#[tokio::test]
async fn http_errors_and_bad_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|req| match req.path.as_str() {
        "/missing.wav" => Reply::status(404),
        "/broken" => Reply::status(500),
        _ => Reply::ok(b"this is not audio at all, just some text".repeat(50)),
    })
    .await;
    let lib = library(dir.path());
    assert_eq!(
        lib.load(&server.url("/missing.wav")).await,
        Err(AudioError::Http(404))
    );
    assert_eq!(
        lib.load(&server.url("/broken")).await,
        Err(AudioError::Http(500))
    );
    assert!(matches!(
        lib.load(&server.url("/text.wav")).await,
        Err(AudioError::Decode(_))
    ));
    // Failures are not cached: the next call asks again.
    lib.load(&server.url("/missing.wav")).await.unwrap_err();
    assert_eq!(
        server
            .requests
            .lock()
            .iter()
            .filter(|r| r.path == "/missing.wav")
            .count(),
        2
    );
}

#[tokio::test]
async fn unreachable_origin_is_a_network_error() {
    let dir = tempfile::tempdir().unwrap();
    // Bind then drop to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lib = library(dir.path());
    let r = lib.load(&format!("http://127.0.0.1:{port}/x.wav")).await;
    assert!(matches!(r, Err(AudioError::Network(_))), "{r:?}");
}
