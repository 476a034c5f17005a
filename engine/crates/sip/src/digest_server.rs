//! Digest authentication, server side (RFC 3261 §22, RFC 7616 / RFC 8760):
//! challenges offering SHA-256 and MD5 with `qop=auth`, nonces that carry
//! their own issue time and a keyed hash (nothing to remember per nonce; an
//! old one is answered `stale=true`), and verification against a stored HA1,
//! so passwords are never kept.

use std::fmt::Write;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::auth::{AuthError, AuthParams};
use crate::name_addr::write_quoted;

/// The hash of a digest exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Md5,
    Sha256,
}

impl DigestAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(s: &str) -> Option<DigestAlgorithm> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(DigestAlgorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(DigestAlgorithm::Sha256)
        } else {
            None
        }
    }

    /// Lower-case hex of the hash of `parts` joined by `:`.
    pub fn hex(self, parts: &[&str]) -> String {
        fn run<D: Digest>(mut d: D, parts: &[&str]) -> String {
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(part.as_bytes());
            }
            let mut out = String::with_capacity(64);
            for byte in d.finalize() {
                let _ = write!(out, "{byte:02x}");
            }
            out
        }
        match self {
            DigestAlgorithm::Md5 => run(Md5::new(), parts),
            DigestAlgorithm::Sha256 => run(Sha256::new(), parts),
        }
    }
}

/// HA1 = H(username:realm:password), what a registrar stores instead of the
/// password.
pub fn ha1(algorithm: DigestAlgorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hex(&[username, realm, password])
}

/// A parsed Authorization / Proxy-Authorization value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestAuthorization {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: DigestAlgorithm,
    pub cnonce: Option<String>,
    pub nc: Option<String>,
    pub qop: Option<String>,
}

impl DigestAuthorization {
    pub fn parse(value: &str) -> Result<DigestAuthorization, AuthError> {
        let value = value.trim_start();
        let scheme_end = value.find([' ', '\t']).unwrap_or(value.len());
        let (scheme, params) = value.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::NotDigest);
        }
        let (mut username, mut realm, mut nonce, mut uri, mut response) =
            (None, None, None, None, None);
        let (mut cnonce, mut nc, mut qop) = (None, None, None);
        let mut algorithm = DigestAlgorithm::Md5;
        for pair in AuthParams::new(params) {
            let (name, value) = pair?;
            match name.to_ascii_lowercase().as_str() {
                "username" => username = Some(value),
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "uri" => uri = Some(value),
                "response" => response = Some(value),
                "cnonce" => cnonce = Some(value),
                "nc" => nc = Some(value),
                "qop" => qop = Some(value),
                "algorithm" => {
                    algorithm = DigestAlgorithm::parse(&value)
                        .ok_or(AuthError::UnsupportedAlgorithm(value))?
                }
                _ => {}
            }
        }
        Ok(DigestAuthorization {
            username: username.ok_or(AuthError::Missing("username"))?,
            realm: realm.ok_or(AuthError::Missing("realm"))?,
            nonce: nonce.ok_or(AuthError::Missing("nonce"))?,
            uri: uri.ok_or(AuthError::Missing("uri"))?,
            response: response.ok_or(AuthError::Missing("response"))?,
            algorithm,
            cnonce,
            nc,
            qop,
        })
    }

    /// Whether the response proves knowledge of the password behind `ha1`
    /// (of this authorization's algorithm) for a request of `method`.
    /// `qop=auth` and the RFC 2069 form without qop are taken; `auth-int`
    /// is not.
    pub fn verify(&self, method: &str, ha1: &str) -> bool {
        let alg = self.algorithm;
        let ha2 = alg.hex(&[method, &self.uri]);
        let expected = match self.qop.as_deref() {
            None => alg.hex(&[ha1, &self.nonce, &ha2]),
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let (Some(cnonce), Some(nc)) = (&self.cnonce, &self.nc) else {
                    return false;
                };
                alg.hex(&[ha1, &self.nonce, nc, cnonce, "auth", &ha2])
            }
            Some(_) => return false,
        };
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a nonce presented by a client is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Ours, for this realm, and younger than the limit.
    Fresh,
    /// Ours but too old: challenge again with `stale=true`.
    Stale,
    /// Not one we issued (or for another realm).
    Invalid,
}

/// Issues and checks nonces: `<issue time, hex seconds>.<keyed hash>`. The
/// key is random per process, so a restart makes every nonce stale-free
/// invalid and clients simply get a new challenge.
#[derive(Clone)]
pub struct Nonces {
    key: [u8; 32],
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces { key: *** }")
    }
}

impl Nonces {
    pub fn new(key: [u8; 32]) -> Nonces {
        Nonces { key }
    }

    fn mac(&self, issued: u64, realm: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(issued.to_be_bytes());
        h.update(realm.as_bytes());
        let mut out = String::with_capacity(32);
        for byte in &h.finalize()[..16] {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// A nonce for `realm` issued at `now_secs` (any monotonic seconds).
    pub fn issue(&self, now_secs: u64, realm: &str) -> String {
        format!("{now_secs:x}.{}", self.mac(now_secs, realm))
    }

    pub fn check(&self, nonce: &str, realm: &str, now_secs: u64, max_age_secs: u64) -> NonceState {
        let Some((issued, mac)) = nonce.split_once('.') else {
            return NonceState::Invalid;
        };
        let Ok(issued) = u64::from_str_radix(issued, 16) else {
            return NonceState::Invalid;
        };
        if !constant_time_eq(mac.as_bytes(), self.mac(issued, realm).as_bytes()) {
            return NonceState::Invalid;
        }
        if issued > now_secs || now_secs - issued > max_age_secs {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }
}

/// A WWW-Authenticate / Proxy-Authenticate value.
pub fn challenge(realm: &str, nonce: &str, algorithm: DigestAlgorithm, stale: bool) -> String {
    let mut out = String::with_capacity(160);
    out.push_str("Digest realm=");
    let _ = write_quoted(&mut out, realm);
    out.push_str(", nonce=");
    let _ = write_quoted(&mut out, nonce);
    let _ = write!(out, ", qop=\"auth\", algorithm={}", algorithm.as_str());
    if stale {
        out.push_str(", stale=true");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{authorization, Challenge, DigestInput};

    #[test]
    fn verifies_what_our_client_side_computes() {
        let nonces = Nonces::new([7; 32]);
        let nonce = nonces.issue(1000, "acme");
        let ch = Challenge::parse(&challenge("acme", &nonce, DigestAlgorithm::Md5, false)).unwrap();
        let input = DigestInput {
            username: "alice",
            password: "s3cret",
            method: "REGISTER",
            uri: "sip:acme",
            cnonce: "abc",
            nc: 1,
        };
        let header = authorization(&ch, &input);
        let auth = DigestAuthorization::parse(&header).unwrap();
        let good = ha1(DigestAlgorithm::Md5, "alice", "acme", "s3cret");
        let bad = ha1(DigestAlgorithm::Md5, "alice", "acme", "wrong");
        assert!(auth.verify("REGISTER", &good));
        assert!(!auth.verify("REGISTER", &bad));
        assert!(!auth.verify("INVITE", &good));
        assert_eq!(
            nonces.check(&auth.nonce, "acme", 1010, 300),
            NonceState::Fresh
        );
        assert_eq!(
            nonces.check(&auth.nonce, "acme", 1400, 300),
            NonceState::Stale
        );
        assert_eq!(
            nonces.check(&auth.nonce, "other", 1010, 300),
            NonceState::Invalid
        );
        assert_eq!(
            nonces.check("3e8.00", "acme", 1010, 300),
            NonceState::Invalid
        );
        assert_eq!(nonces.check("junk", "acme", 1010, 300), NonceState::Invalid);
    }

    // RFC 7616 §3.9.1, SHA-256 (HTTP, but the arithmetic is the same).
    #[test]
    fn rfc7616_sha256_example() {
        let header = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let auth = DigestAuthorization::parse(header).unwrap();
        assert_eq!(auth.algorithm, DigestAlgorithm::Sha256);
        let ha1 = ha1(
            DigestAlgorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        assert!(auth.verify("GET", &ha1));
    }

    #[test]
    fn refuses_malformed_and_unknown() {
        assert!(DigestAuthorization::parse("Basic abc").is_err());
        assert!(DigestAuthorization::parse(r#"Digest username="a""#).is_err());
        assert!(DigestAuthorization::parse(
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", algorithm=SHA-512"#
        )
        .is_err());
        let auth = DigestAuthorization::parse(
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth-int, nc=1, cnonce=c"#,
        )
        .unwrap();
        assert!(!auth.verify("REGISTER", "00"));
    }
}
