//! HTTP downloads with a size limit, a whole-request timeout and an on-disk
//! cache keyed by URL that is revalidated with ETag / Last-Modified and
//! bounded in bytes ([`DiskCache`]).

use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use dialtone_egress::http::{denial, EgressError, HttpEgress};
use dialtone_egress::EgressPolicy;

use reqwest::header::{CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::disk_cache::{DiskCache, DiskCacheStats, Stored};
use crate::AudioError;

/// The files of one download: the body and its URL and validators.
pub(crate) const DOWNLOAD_FILES: &[&str] = &["body", "json"];

/// Builds the process's maker of HTTP clients that keep to the egress
/// policy. rustls runs on `ring`; the provider is also installed as the
/// process default once (a no-op if the host program already did).
pub(crate) fn build_http(policy: Arc<EgressPolicy>) -> Result<HttpEgress, AudioError> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    HttpEgress::new(policy, Duration::from_secs(5)).map_err(AudioError::Config)
}

pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// How a body was obtained, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Downloaded,
    /// The server answered 304 and the disk copy was used.
    NotModified,
    /// The server could not be reached and a disk copy existed.
    Stale,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

pub(crate) struct Fetcher {
    http: HttpEgress,
    cache: DiskCache,
    max_bytes: u64,
    timeout: Duration,
}

impl Fetcher {
    pub(crate) fn new(
        http: HttpEgress,
        cache: DiskCache,
        max_bytes: u64,
        timeout: Duration,
    ) -> Fetcher {
        Fetcher {
            http,
            cache,
            max_bytes,
            timeout,
        }
    }

    pub(crate) async fn fetch(&self, url: &str) -> Result<(Vec<u8>, Origin), AudioError> {
        let name = sha256_hex(&[url.as_bytes()]);
        let body_path = self.cache.path(&name, "body");
        let meta_path = self.cache.path(&name, "json");
        let cached = read_meta(&meta_path, url).await;
        let attempt = tokio::time::timeout(
            self.timeout,
            self.request(url, cached.as_ref(), &name, &body_path),
        )
        .await
        .unwrap_or(Err(AudioError::Timeout));
        match attempt {
            Err(e @ (AudioError::Timeout | AudioError::Network(_))) if cached.is_some() => {
                // Serving the last good copy beats failing a prompt mid-call.
                match tokio::fs::read(&body_path).await {
                    Ok(body) => {
                        tracing::warn!(%url, error = %e, "using cached copy, origin unreachable");
                        self.cache.touch(&name);
                        Ok((body, Origin::Stale))
                    }
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }

    async fn request(
        &self,
        url: &str,
        cached: Option<&Meta>,
        name: &str,
        body_path: &Path,
    ) -> Result<(Vec<u8>, Origin), AudioError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| AudioError::Refused(format!("invalid URL: {e}")))?;
        let client = self.http.client_for(&parsed).map_err(refused)?;
        let mut req = client.get(parsed).timeout(self.timeout);
        if let Some(m) = cached {
            if let Some(etag) = &m.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &m.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let resp = req.send().await.map_err(net_error)?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED && cached.is_some() {
            if let Ok(body) = tokio::fs::read(body_path).await {
                self.cache.touch(name);
                return Ok((body, Origin::NotModified));
            }
            // Disk copy vanished (evicted, say): fetch it again without validators.
            return Box::pin(self.request(url, None, name, body_path)).await;
        }
        if !status.is_success() {
            return Err(AudioError::Http(status.as_u16()));
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let meta = Meta {
            url: url.to_string(),
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let body = read_limited(resp, self.max_bytes).await?;
        self.store(name, &body, &meta).await;
        Ok((body, Origin::Downloaded))
    }

    /// Best effort: a full disk costs the cache, not the prompt; a body
    /// larger than the whole cache is played but not kept.
    async fn store(&self, name: &str, body: &[u8], meta: &Meta) {
        let json = match serde_json::to_vec(meta) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode download cache entry");
                return;
            }
        };
        match self
            .cache
            .store(name, &[("body", body), ("json", &json)])
            .await
        {
            Stored::Kept => {}
            Stored::TooLarge => {
                tracing::debug!(url = %meta.url, "download larger than the whole cache; not kept")
            }
            Stored::Failed(e) => tracing::warn!(error = %e, "cannot write download cache"),
        }
    }

    pub(crate) fn cache_stats(&self) -> DiskCacheStats {
        self.cache.stats()
    }
}

/// Reads a response body, stopping as soon as it exceeds `max_bytes`.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    max_bytes: u64,
) -> Result<Vec<u8>, AudioError> {
    let declared = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(AudioError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(net_error)? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(AudioError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A URL the egress policy (or its form) rules out: never retried, never
/// served from a stale copy.
pub(crate) fn refused(e: EgressError) -> AudioError {
    AudioError::Refused(e.to_string())
}

pub(crate) fn net_error(e: reqwest::Error) -> AudioError {
    if let Some(denied) = denial(&e) {
        AudioError::Refused(denied.to_string())
    } else if e.is_timeout() {
        AudioError::Timeout
    } else {
        AudioError::Network(e.to_string())
    }
}

async fn read_meta(path: &Path, url: &str) -> Option<Meta> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let meta: Meta = serde_json::from_slice(&bytes).ok()?;
    // The file name is a hash; the stored URL guards against a collision.
    (meta.url == url && (meta.etag.is_some() || meta.last_modified.is_some())).then_some(meta)
}

pub(crate) async fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}
