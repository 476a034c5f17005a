//! Turning a script-supplied source string into something safe to read.
//! Local files are confined to the media directory after resolving `..` and
//! symlinks, so a scenario cannot read arbitrary files of the host.

use std::path::{Path, PathBuf};

use crate::AudioError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Http(String),
    /// Canonical path, known to be inside the media directory.
    File(PathBuf),
}

impl Source {
    /// Identity of the decoded clip in the in-memory cache.
    pub(crate) fn cache_key(&self) -> String {
        match self {
            Source::Http(url) => url.clone(),
            Source::File(p) => format!("file:{}", p.display()),
        }
    }

    /// File extension, used as a probing hint.
    pub(crate) fn hint(&self) -> Option<String> {
        let path = match self {
            Source::Http(url) => {
                let no_query = url.split(['?', '#']).next().unwrap_or(url);
                PathBuf::from(no_query.rsplit('/').next().unwrap_or(""))
            }
            Source::File(p) => p.clone(),
        };
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
    }
}

/// `media_dir` must already be canonical.
pub(crate) fn resolve(source: &str, media_dir: Option<&Path>) -> Result<Source, AudioError> {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let url = reqwest::Url::parse(source)
            .map_err(|e| AudioError::Refused(format!("invalid URL: {e}")))?;
        return Ok(Source::Http(url.to_string()));
    }
    let path = if lower.starts_with("file://") {
        let url = reqwest::Url::parse(source)
            .map_err(|e| AudioError::Refused(format!("invalid file URL: {e}")))?;
        url.to_file_path()
            .map_err(|()| AudioError::Refused("file URL must name a local absolute path".into()))?
    } else if source.contains("://") {
        return Err(AudioError::Refused("unsupported URL scheme".into()));
    } else if source.is_empty() {
        return Err(AudioError::Refused("empty source".into()));
    } else {
        PathBuf::from(source)
    };
    let Some(dir) = media_dir else {
        return Err(AudioError::Refused(
            "local files need a configured media directory".into(),
        ));
    };
    let joined = if path.is_absolute() {
        path
    } else {
        dir.join(path)
    };
    let canonical = std::fs::canonicalize(&joined).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AudioError::NotFound(source.to_string())
        } else {
            AudioError::Refused(format!("cannot resolve path: {e}"))
        }
    })?;
    if !canonical.starts_with(dir) {
        return Err(AudioError::Refused(
            "path is outside the media directory".into(),
        ));
    }
    if !canonical.is_file() {
        return Err(AudioError::NotFound(source.to_string()));
    }
    Ok(Source::File(canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_are_accepted_without_media_dir() {
        let s = resolve("https://example.com/a/b.MP3?x=1", None).unwrap();
        assert_eq!(s.hint().as_deref(), Some("mp3"));
    }

    #[test]
    fn other_schemes_and_local_paths_without_dir_are_refused() {
        assert!(matches!(
            resolve("ftp://x/y.wav", None),
            Err(AudioError::Refused(_))
        ));
        assert!(matches!(
            resolve("a.wav", None),
            Err(AudioError::Refused(_))
        ));
        assert!(matches!(
            resolve("file:///tmp/a.wav", None),
            Err(AudioError::Refused(_))
        ));
        assert!(matches!(
            resolve("", Some(Path::new("/"))),
            Err(AudioError::Refused(_))
        ));
    }
}
