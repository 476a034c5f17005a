//! The shared, process-wide source of clips.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::cache::ClipCache;
use crate::disk_cache::{DiskCache, DiskCacheStats, Stored};
use crate::http::{build_http, sha256_hex, Fetcher, Origin, DOWNLOAD_FILES};
use crate::source::{resolve, Source};
use crate::tts::{EspeakTts, HttpTts, TtsEngine, TtsError, TtsRequest, MAX_TTS_CHARS};
use crate::{decode_owned, AudioConfig, AudioError, Clip};

/// Largest local file read, so a huge file in the media directory cannot
/// exhaust memory; decoding also stops at one hour of audio.
const MAX_LOCAL_FILE: u64 = 256 * 1024 * 1024;

/// The file of one cached synthesis: its decoded PCM.
const TTS_FILES: &[&str] = &["s16"];

/// Counters since the library was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudioStats {
    /// Files decoded (downloads, local files and TTS output).
    pub decodes: u64,
    /// HTTP bodies transferred in full.
    pub downloads: u64,
    /// HTTP loads answered 304 and served from the disk cache.
    pub revalidated: u64,
    /// HTTP loads served from disk because the origin was unreachable.
    pub stale: u64,
    /// Loads and syntheses answered from memory.
    pub memory_hits: u64,
    /// Syntheses answered from the disk cache.
    pub tts_disk_hits: u64,
    /// Calls into a TTS engine.
    pub syntheses: u64,
    pub cached_clips: usize,
    pub cached_samples: usize,
    /// The budget of `cached_samples`.
    pub memory_budget_samples: usize,
    /// Clips dropped from memory to make room.
    pub memory_evictions: u64,
    /// The download cache on disk.
    pub download_cache: DiskCacheStats,
    /// The TTS cache on disk.
    pub tts_cache: DiskCacheStats,
}

#[derive(Default)]
struct Counters {
    decodes: AtomicU64,
    downloads: AtomicU64,
    revalidated: AtomicU64,
    stale: AtomicU64,
    memory_hits: AtomicU64,
    tts_disk_hits: AtomicU64,
    syntheses: AtomicU64,
}

/// Loads, decodes and caches clips; cheap to clone, shared by all sessions.
#[derive(Clone)]
pub struct AudioLibrary {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AudioConfig,
    media_dir: Option<PathBuf>,
    fetcher: Fetcher,
    clips: ClipCache,
    /// Decoded speech, `<hash>.s16`.
    tts_cache: DiskCache,
    engines: RwLock<HashMap<String, Arc<dyn TtsEngine>>>,
    counters: Counters,
}

impl AudioLibrary {
    /// Builds the HTTP client maker (keeping to `cfg.egress`) and the
    /// built-in engines (`espeak`, and `http` when `tts.http_url` is set),
    /// and opens the disk caches: what a previous run left there counts
    /// against their budgets, and the least recently stored entries past
    /// them are removed now.
    pub fn new(cfg: AudioConfig) -> Result<AudioLibrary, AudioError> {
        let media_dir = match &cfg.media_dir {
            Some(dir) => Some(std::fs::canonicalize(dir).map_err(|e| {
                AudioError::Config(format!("media directory {}: {e}", dir.display()))
            })?),
            None => None,
        };
        let http = build_http(cfg.egress.clone())?;
        let fetcher = Fetcher::new(
            http.clone(),
            DiskCache::open(
                cfg.cache_dir.join("http"),
                DOWNLOAD_FILES,
                cfg.max_download_cache_bytes,
            ),
            cfg.max_download,
            cfg.download_timeout,
        );
        let mut engines: HashMap<String, Arc<dyn TtsEngine>> = HashMap::new();
        let espeak = Arc::new(EspeakTts::new(
            cfg.tts.espeak_command.clone(),
            cfg.tts.timeout,
        ));
        engines.insert(espeak.name().to_string(), espeak);
        if let Some(url) = &cfg.tts.http_url {
            let http = Arc::new(HttpTts::new(
                &http,
                url.clone(),
                cfg.max_download,
                cfg.tts.timeout,
            ));
            engines.insert(http.name().to_string(), http);
        }
        Ok(AudioLibrary {
            inner: Arc::new(Inner {
                clips: ClipCache::new(cfg.max_memory_samples),
                tts_cache: DiskCache::open(
                    cfg.cache_dir.join("tts"),
                    TTS_FILES,
                    cfg.max_tts_cache_bytes,
                ),
                cfg,
                media_dir,
                fetcher,
                engines: RwLock::new(engines),
                counters: Counters::default(),
            }),
        })
    }

    /// Loads `http(s)://…`, `file:///abs/path` or a path relative to the
    /// media directory. Local sources must lie inside the media directory
    /// (after resolving `..` and symlinks). Concurrent loads of one source
    /// share a single download and decode; later loads hit memory, or revalidate
    /// the disk copy of a download.
    pub async fn load(&self, source: &str) -> Result<Clip, AudioError> {
        let src = resolve(source, self.inner.media_dir.as_deref())?;
        let key = src.cache_key();
        let inner = &self.inner;
        inner
            .clips
            .get_or_load(&key, &inner.counters.memory_hits, || {
                self.load_uncached(src)
            })
            .await
    }

    async fn load_uncached(&self, src: Source) -> Result<Clip, AudioError> {
        let c = &self.inner.counters;
        let hint = src.hint();
        let bytes = match &src {
            Source::Http(url) => {
                let (body, origin) = self.inner.fetcher.fetch(url).await?;
                let counter = match origin {
                    Origin::Downloaded => &c.downloads,
                    Origin::NotModified => &c.revalidated,
                    Origin::Stale => &c.stale,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                body
            }
            Source::File(path) => read_local(path).await?,
        };
        self.decode_blocking(bytes, hint).await
    }

    async fn decode_blocking(
        &self,
        bytes: Vec<u8>,
        hint: Option<String>,
    ) -> Result<Clip, AudioError> {
        self.inner.counters.decodes.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || decode_owned(bytes, hint.as_deref()))
            .await
            .map_err(|e| AudioError::Decode(format!("decoder task failed: {e}")))?
    }

    /// Speech for `req.text`, cached in memory and on disk by (engine, voice,
    /// rate, text). Fails with `TextTooLong` over 1,500 characters; a missing,
    /// failing or slow engine fails within `tts.timeout`.
    pub async fn synthesize(&self, req: &TtsRequest) -> Result<Clip, AudioError> {
        if req.text.chars().count() > MAX_TTS_CHARS {
            return Err(AudioError::TextTooLong);
        }
        if req.text.trim().is_empty() {
            return Err(AudioError::Tts("empty text".into()));
        }
        let name = req
            .engine
            .clone()
            .unwrap_or_else(|| self.inner.cfg.tts.default_engine.clone());
        let engine = self
            .inner
            .engines
            .read()
            .get(&name)
            .cloned()
            .ok_or_else(|| AudioError::Tts(format!("unknown TTS engine {name:?}")))?;
        let rate = req.rate.map(|r| r.to_string()).unwrap_or_default();
        let hash = sha256_hex(&[
            name.as_bytes(),
            req.voice.as_deref().unwrap_or("").as_bytes(),
            rate.as_bytes(),
            req.text.as_bytes(),
        ]);
        let key = format!("tts:{hash}");
        let inner = &self.inner;
        inner
            .clips
            .get_or_load(&key, &inner.counters.memory_hits, || {
                self.synthesize_uncached(engine, req, hash)
            })
            .await
    }

    async fn synthesize_uncached(
        &self,
        engine: Arc<dyn TtsEngine>,
        req: &TtsRequest,
        hash: String,
    ) -> Result<Clip, AudioError> {
        let cache = &self.inner.tts_cache;
        let path = cache.path(&hash, "s16");
        if let Ok(bytes) = tokio::fs::read(&path).await {
            if !bytes.is_empty() && bytes.len() % 2 == 0 {
                cache.touch(&hash);
                self.inner
                    .counters
                    .tts_disk_hits
                    .fetch_add(1, Ordering::Relaxed);
                let pcm: Vec<i16> = bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok(pcm.into());
            }
        }
        self.inner
            .counters
            .syntheses
            .fetch_add(1, Ordering::Relaxed);
        let audio = tokio::time::timeout(self.inner.cfg.tts.timeout, engine.synthesize(req))
            .await
            .map_err(|_| AudioError::Timeout)?
            .map_err(|e| match e {
                TtsError::Timeout => AudioError::Timeout,
                other => AudioError::Tts(other.to_string()),
            })?;
        let clip = self.decode_blocking(audio, None).await?;
        // Decoded PCM is kept, so a restart needs neither the engine nor a decode.
        let bytes: Vec<u8> = clip.iter().flat_map(|s| s.to_le_bytes()).collect();
        match cache.store(&hash, &[("s16", &bytes)]).await {
            Stored::Kept => {}
            Stored::TooLarge => {
                tracing::debug!(
                    bytes = bytes.len(),
                    "speech larger than the whole TTS cache; not kept"
                )
            }
            Stored::Failed(e) => tracing::warn!(error = %e, "cannot write TTS cache"),
        }
        Ok(clip)
    }

    /// Adds or replaces an engine, selected by its `name()`.
    pub fn register_tts(&self, engine: Arc<dyn TtsEngine>) {
        let name = engine.name().to_string();
        self.inner.engines.write().insert(name, engine);
    }

    /// Forgets every clip held in memory (disk caches stay).
    pub fn clear_memory(&self) {
        self.inner.clips.clear();
    }

    pub fn stats(&self) -> AudioStats {
        let c = &self.inner.counters;
        let (cached_clips, cached_samples) = self.inner.clips.usage();
        let memory_evictions = self.inner.clips.evictions();
        AudioStats {
            decodes: c.decodes.load(Ordering::Relaxed),
            downloads: c.downloads.load(Ordering::Relaxed),
            revalidated: c.revalidated.load(Ordering::Relaxed),
            stale: c.stale.load(Ordering::Relaxed),
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
            tts_disk_hits: c.tts_disk_hits.load(Ordering::Relaxed),
            syntheses: c.syntheses.load(Ordering::Relaxed),
            cached_clips,
            cached_samples,
            memory_budget_samples: self.inner.cfg.max_memory_samples,
            memory_evictions,
            download_cache: self.inner.fetcher.cache_stats(),
            tts_cache: self.inner.tts_cache.stats(),
        }
    }
}

async fn read_local(path: &std::path::Path) -> Result<Vec<u8>, AudioError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| AudioError::NotFound(format!("{}: {e}", path.display())))?;
    if meta.len() > MAX_LOCAL_FILE {
        return Err(AudioError::TooLarge);
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| AudioError::Io(format!("{}: {e}", path.display())))
}
