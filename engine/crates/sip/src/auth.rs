//! Digest authentication, client side (RFC 2617 / RFC 3261 §22): MD5 and MD5-sess,
//! with `qop=auth` or without qop.

use std::fmt::Write;

use md5::{Digest, Md5};
use thiserror::Error;

use crate::name_addr::write_quoted;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("not a Digest challenge")]
    NotDigest,
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
    #[error("malformed challenge")]
    Malformed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
        }
    }
}

/// A parsed WWW-Authenticate / Proxy-Authenticate value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offered `qop=auth`; we then answer with qop, cnonce and nc.
    pub qop_auth: bool,
    pub stale: bool,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let value = value.trim_start();
        let scheme_end = value.find([' ', '\t']).unwrap_or(value.len());
        let (scheme, params) = value.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::NotDigest);
        }
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = Algorithm::Md5;
        let mut qop = None;
        let mut stale = false;
        for pair in AuthParams::new(params) {
            let (name, value) = pair?;
            match name.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "opaque" => opaque = Some(value),
                "stale" => stale = value.eq_ignore_ascii_case("true"),
                "qop" => qop = Some(value),
                "algorithm" => {
                    algorithm = if value.eq_ignore_ascii_case("MD5") {
                        Algorithm::Md5
                    } else if value.eq_ignore_ascii_case("MD5-sess") {
                        Algorithm::Md5Sess
                    } else {
                        return Err(AuthError::UnsupportedAlgorithm(value));
                    }
                }
                _ => {}
            }
        }
        let qop_auth = match qop {
            None => false,
            Some(list) => {
                if !list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return Err(AuthError::UnsupportedQop(list));
                }
                true
            }
        };
        Ok(Challenge {
            realm: realm.ok_or(AuthError::Missing("realm"))?,
            nonce: nonce.ok_or(AuthError::Missing("nonce"))?,
            opaque,
            algorithm,
            qop_auth,
            stale,
        })
    }
}

/// `name=value` pairs separated by commas; values are tokens or quoted strings.
pub(crate) struct AuthParams<'a> {
    rest: &'a str,
}

impl<'a> AuthParams<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        AuthParams { rest: s }
    }
}

impl Iterator for AuthParams<'_> {
    type Item = Result<(String, String), AuthError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rest = self.rest.trim_start_matches([' ', '\t', ',']);
        if self.rest.is_empty() {
            return None;
        }
        let Some((name, after)) = self.rest.split_once('=') else {
            self.rest = "";
            return Some(Err(AuthError::Malformed));
        };
        let name = name.trim().to_string();
        let after = after.trim_start();
        if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, n)) => value.push(n),
                        None => break,
                    },
                    '"' => {
                        self.rest = quoted.get(i + 1..).unwrap_or_default();
                        return Some(Ok((name, value)));
                    }
                    _ => value.push(c),
                }
            }
            self.rest = "";
            Some(Err(AuthError::Malformed))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let (value, rest) = after.split_at(end);
            self.rest = rest;
            Some(Ok((name, value.trim().to_string())))
        }
    }
}

fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// What `Debug` prints in place of a secret.
pub const REDACTED: &str = "***";

/// A username and password to answer digest challenges with. `Debug` shows
/// the username only: the password cannot reach a log through `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The password, to compute a digest with. Never print it.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl From<(String, String)> for Credentials {
    /// From `(username, password)`, as `UaCommand::Dial` carries them.
    fn from((username, password): (String, String)) -> Credentials {
        Credentials::new(username, password)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

/// Where a digest answer is computed from. `Debug` hides the password.
#[derive(Clone, Copy)]
pub struct DigestInput<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    /// Client nonce; used with qop and MD5-sess.
    pub cnonce: &'a str,
    /// Nonce count; used with qop.
    pub nc: u32,
}

impl std::fmt::Debug for DigestInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestInput")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("cnonce", &self.cnonce)
            .field("nc", &self.nc)
            .finish()
    }
}

/// The `response` value of RFC 2617 §3.2.2.1.
pub fn digest_response(challenge: &Challenge, input: &DigestInput<'_>) -> String {
    let mut ha1 = md5_hex(&[input.username, &challenge.realm, input.password]);
    if challenge.algorithm == Algorithm::Md5Sess {
        ha1 = md5_hex(&[&ha1, &challenge.nonce, input.cnonce]);
    }
    let ha2 = md5_hex(&[input.method, input.uri]);
    if challenge.qop_auth {
        let nc = format!("{:08x}", input.nc);
        md5_hex(&[&ha1, &challenge.nonce, &nc, input.cnonce, "auth", &ha2])
    } else {
        md5_hex(&[&ha1, &challenge.nonce, &ha2])
    }
}

/// The Authorization / Proxy-Authorization header value answering `challenge`.
pub fn authorization(challenge: &Challenge, input: &DigestInput<'_>) -> String {
    let response = digest_response(challenge, input);
    let mut out = String::with_capacity(256);
    out.push_str("Digest username=");
    let _ = write_quoted(&mut out, input.username);
    out.push_str(", realm=");
    let _ = write_quoted(&mut out, &challenge.realm);
    out.push_str(", nonce=");
    let _ = write_quoted(&mut out, &challenge.nonce);
    out.push_str(", uri=");
    let _ = write_quoted(&mut out, input.uri);
    let _ = write!(
        out,
        ", response=\"{response}\", algorithm={}",
        challenge.algorithm.as_str()
    );
    if challenge.qop_auth {
        out.push_str(", cnonce=");
        let _ = write_quoted(&mut out, input.cnonce);
        let _ = write!(out, ", qop=auth, nc={:08x}", input.nc);
    } else if challenge.algorithm == Algorithm::Md5Sess {
        out.push_str(", cnonce=");
        let _ = write_quoted(&mut out, input.cnonce);
    }
    if let Some(opaque) = &challenge.opaque {
        out.push_str(", opaque=");
        let _ = write_quoted(&mut out, opaque);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2617 §3.5.
    const RFC2617: &str = r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    fn rfc_input() -> DigestInput<'static> {
        DigestInput {
            username: "Mufasa",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            cnonce: "0a4f113b",
            nc: 1,
        }
    }

    #[test]
    fn rfc2617_test_vector() {
        let folded = RFC2617.replace('\n', " ");
        let ch = Challenge::parse(&folded).unwrap();
        assert_eq!(ch.realm, "testrealm@host.com");
        assert!(ch.qop_auth);
        assert_eq!(
            digest_response(&ch, &rfc_input()),
            "6629fae49393a05397450978507c4ef1"
        );
        let header = authorization(&ch, &rfc_input());
        assert!(header.starts_with("Digest username=\"Mufasa\""));
        assert!(header.contains("response=\"6629fae49393a05397450978507c4ef1\""));
        assert!(header.contains("qop=auth, nc=00000001"));
        assert!(header.contains("cnonce=\"0a4f113b\""));
        assert!(header.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn no_qop_digest() {
        // RFC 2069 style: response = MD5(HA1:nonce:HA2).
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        )
        .unwrap();
        assert!(!ch.qop_auth);
        let input = rfc_input();
        let ha1 = md5_hex(&["Mufasa", "testrealm@host.com", "Circle Of Life"]);
        let ha2 = md5_hex(&["GET", "/dir/index.html"]);
        let expected = md5_hex(&[&ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", &ha2]);
        assert_eq!(digest_response(&ch, &input), expected);
        assert!(!authorization(&ch, &input).contains("qop"));
    }

    #[test]
    fn rejects_what_we_cannot_answer() {
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Err(AuthError::NotDigest)
        );
        assert!(matches!(
            Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-256"#),
            Err(AuthError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#),
            Err(AuthError::UnsupportedQop(_))
        ));
        assert_eq!(
            Challenge::parse(r#"Digest realm="r""#),
            Err(AuthError::Missing("nonce"))
        );
        assert_eq!(
            Challenge::parse(r#"Digest realm="r, nonce=1"#),
            Err(AuthError::Malformed)
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let input = rfc_input();
        let shown = format!("{input:?} {input:#?}");
        assert!(!shown.contains("Circle Of Life"), "{shown}");
        assert!(
            shown.contains("Mufasa") && shown.contains(REDACTED),
            "{shown}"
        );
        let creds = Credentials::from(("Mufasa".to_owned(), "Circle Of Life".to_owned()));
        let shown = format!("{creds:?} {:?}", Some(creds.clone()));
        assert!(!shown.contains("Circle Of Life"), "{shown}");
        assert!(shown.contains("Mufasa"), "{shown}");
        assert_eq!(creds.password(), "Circle Of Life");
    }

    #[test]
    fn md5_sess_and_stale() {
        let ch = Challenge::parse(
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess, stale=TRUE, qop=auth"#,
        )
        .unwrap();
        assert_eq!(ch.algorithm, Algorithm::Md5Sess);
        assert!(ch.stale);
        let header = authorization(&ch, &rfc_input());
        assert!(header.contains("algorithm=MD5-sess"));
    }
}
