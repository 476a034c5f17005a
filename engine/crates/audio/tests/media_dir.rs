//! Local sources stay inside the media directory.

mod support;

use std::time::{Duration, Instant};

use dialtone_audio::{AudioConfig, AudioError, AudioLibrary};
use support::{assert_tone, wav_16k_440};

struct Fixture {
    _root: tempfile::TempDir,
    media: std::path::PathBuf,
    secret: std::path::PathBuf,
    lib: AudioLibrary,
}

fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let media = root.path().join("media");
    std::fs::create_dir_all(media.join("sub")).unwrap();
    std::fs::write(media.join("prompt.wav"), wav_16k_440(0.5)).unwrap();
    std::fs::write(media.join("sub/inner.wav"), wav_16k_440(0.5)).unwrap();
    let secret = root.path().join("secret.wav");
    std::fs::write(&secret, wav_16k_440(0.5)).unwrap();
    std::os::unix::fs::symlink(&secret, media.join("escape.wav")).unwrap();
    std::os::unix::fs::symlink(media.join("prompt.wav"), media.join("alias.wav")).unwrap();
    let lib = AudioLibrary::new(AudioConfig {
        media_dir: Some(media.clone()),
        cache_dir: root.path().join("cache"),
        ..AudioConfig::default()
    })
    .unwrap();
    Fixture {
        _root: root,
        media,
        secret,
        lib,
    }
}

fn refused(r: Result<dialtone_audio::Clip, AudioError>) -> bool {
    matches!(r, Err(AudioError::Refused(_)))
}

#[tokio::test]
async fn paths_inside_the_media_dir_load() {
    let f = fixture();
    assert_tone(
        &f.lib.load("prompt.wav").await.unwrap(),
        440.0,
        0.5,
        0.02,
        "relative",
    );
    f.lib.load("sub/inner.wav").await.unwrap();
    f.lib.load("sub/../prompt.wav").await.unwrap();
    f.lib.load("alias.wav").await.unwrap();
    let abs = f.media.join("prompt.wav");
    f.lib.load(abs.to_str().unwrap()).await.unwrap();
    f.lib
        .load(&format!("file://{}", abs.display()))
        .await
        .unwrap();
    // Every spelling names the same canonical file: decoded once.
    assert_eq!(f.lib.stats().decodes, 2);
}

#[tokio::test]
async fn escapes_are_refused() {
    let f = fixture();
    assert!(refused(f.lib.load("../secret.wav").await));
    assert!(refused(f.lib.load("sub/../../secret.wav").await));
    assert!(refused(f.lib.load(f.secret.to_str().unwrap()).await));
    assert!(refused(
        f.lib.load(&format!("file://{}", f.secret.display())).await
    ));
    assert!(refused(f.lib.load("escape.wav").await));
    assert!(refused(f.lib.load("/etc/passwd").await));
    assert!(refused(f.lib.load("ftp://127.0.0.1/a.wav").await));
    assert_eq!(f.lib.stats().decodes, 0);
}

#[tokio::test]
async fn missing_files_and_directories_are_not_found() {
    let f = fixture();
    assert!(matches!(
        f.lib.load("nope.wav").await,
        Err(AudioError::NotFound(_))
    ));
    assert!(matches!(
        f.lib.load("sub").await,
        Err(AudioError::NotFound(_))
    ));
}

#[tokio::test]
async fn without_media_dir_local_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    std::fs::write(&path, wav_16k_440(0.2)).unwrap();
    let lib = AudioLibrary::new(AudioConfig {
        cache_dir: dir.path().join("cache"),
        ..AudioConfig::default()
    })
    .unwrap();
    assert!(refused(
        lib.load(&format!("file://{}", path.display())).await
    ));
    assert!(refused(lib.load(path.to_str().unwrap()).await));
    assert!(refused(lib.load("a.wav").await));
}

#[tokio::test]
async fn missing_media_dir_is_a_config_error() {
    let r = AudioLibrary::new(AudioConfig {
        media_dir: Some("/nonexistent/dialtone/media".into()),
        ..AudioConfig::default()
    });
    assert!(matches!(r, Err(AudioError::Config(_))));
}

#[tokio::test]
async fn cached_local_load_takes_microseconds() {
    let f = fixture();
    f.lib.load("prompt.wav").await.unwrap();
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        f.lib.load("prompt.wav").await.unwrap();
    }
    let per = start.elapsed() / n;
    eprintln!("cached media-dir load: {per:?} per call");
    assert!(per < Duration::from_millis(1), "cached load took {per:?}");
}
