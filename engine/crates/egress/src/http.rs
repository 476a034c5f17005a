//! HTTP clients that keep to an [`EgressPolicy`]: a literal address in the
//! URL is checked before anything is sent, a host name is checked in the
//! client's own resolver (so the addresses checked are the addresses
//! connected to: a DNS answer that changes between a check and the
//! connection cannot slip past), and every redirect is checked before it is
//! followed.
//!
//! The resolver learns a name, never the port, from the HTTP stack; the
//! policy needs both (Dialtone's own listeners are address *and* port). So
//! each request gets a client of its own, whose resolver is told the port of
//! the URL it is fetching, and each redirect updates it. The TLS setup (root
//! store, crypto provider) is built once and shared; what a request loses is
//! connection reuse across requests, which for webhooks and cached prompt
//! downloads costs one handshake.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::{Denied, EgressPolicy};

/// Redirects followed at most, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// Makes policy-keeping clients; cheap to clone.
#[derive(Clone)]
pub struct HttpEgress {
    policy: Arc<EgressPolicy>,
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    trusted: Option<Authority>,
}

/// A host (lower case, IPv6 without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: String,
    port: u16,
}

impl Authority {
    fn of(url: &Url) -> Option<Authority> {
        let host = url.host_str()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some(Authority {
            host: host.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressError {
    /// Not an `http` or `https` URL with a host.
    NotHttp,
    Denied(Denied),
    /// The HTTP client could not be built.
    Client(String),
}

impl std::fmt::Display for EgressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EgressError::NotHttp => f.write_str("not an http(s) URL with a host"),
            EgressError::Denied(d) => d.fmt(f),
            EgressError::Client(e) => write!(f, "HTTP client: {e}"),
        }
    }
}

impl std::error::Error for EgressError {}

/// A redirect chain longer than [`MAX_REDIRECTS`].
#[derive(Debug)]
struct TooManyRedirects;

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("too many redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

impl HttpEgress {
    /// TLS on `ring` with the platform's roots, built once here.
    pub fn new(policy: Arc<EgressPolicy>, connect_timeout: Duration) -> Result<HttpEgress, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| format!("TLS verifier: {e}"))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpEgress {
            policy,
            tls: Arc::new(tls),
            connect_timeout,
            trusted: None,
        })
    }

    /// The same, trusting `url`'s own host and port: for a destination the
    /// operator configured (the HTTP TTS engine), not one a scenario chose.
    /// Redirects away from it are checked as usual.
    pub fn trusting(&self, url: &Url) -> HttpEgress {
        HttpEgress {
            trusted: Authority::of(url),
            ..self.clone()
        }
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// A client for one request to `url` and the redirects it follows.
    /// Fails at once when `url` names a denied address; a denied name, or a
    /// denied redirect, fails the request with an error that [`denial`]
    /// finds.
    pub fn client_for(&self, url: &Url) -> Result<reqwest::Client, EgressError> {
        let port = check_url(&self.policy, self.trusted.as_ref(), url)?;
        let port = Arc::new(AtomicU16::new(port));
        let resolver = CheckedResolver {
            policy: self.policy.clone(),
            port: port.clone(),
            trusted: self.trusted.clone(),
        };
        let policy = self.policy.clone();
        let trusted = self.trusted.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(TooManyRedirects);
            }
            match check_url(&policy, trusted.as_ref(), attempt.url()) {
                Ok(next) => {
                    port.store(next, Ordering::SeqCst);
                    attempt.follow()
                }
                Err(EgressError::Denied(denied)) => attempt.error(denied),
                Err(other) => attempt.error(other),
            }
        });
        reqwest::Client::builder()
            .tls_backend_preconfigured((*self.tls).clone())
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("dialtone/", env!("CARGO_PKG_VERSION")))
            // A proxy would resolve and connect on our behalf, unchecked.
            .no_proxy()
            .dns_resolver(resolver)
            .redirect(redirects)
            .build()
            .map_err(|e| EgressError::Client(e.to_string()))
    }
}

/// The egress denial behind a failed request, if that is why it failed.
pub fn denial(error: &(dyn std::error::Error + 'static)) -> Option<Denied> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(d) = e.downcast_ref::<Denied>() {
            return Some(*d);
        }
        if let Some(EgressError::Denied(d)) = e.downcast_ref::<EgressError>() {
            return Some(*d);
        }
        next = e.source();
    }
    None
}

/// Checks what can be checked of a URL before connecting, and returns the
/// port a resolver must check the name's addresses with.
fn check_url(
    policy: &EgressPolicy,
    trusted: Option<&Authority>,
    url: &Url,
) -> Result<u16, EgressError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EgressError::NotHttp);
    }
    let authority = Authority::of(url).ok_or(EgressError::NotHttp)?;
    if trusted == Some(&authority) {
        return Ok(authority.port);
    }
    // The URL parser has already turned `http://2130706433/` and
    // `http://0x7f.1/` into the address they mean.
    if let Ok(ip) = authority.host.parse::<IpAddr>() {
        policy
            .check(SocketAddr::new(ip, authority.port))
            .map_err(EgressError::Denied)?;
    }
    Ok(authority.port)
}

/// Resolves a name and keeps only the addresses the policy allows at the
/// port being fetched; when none is left, the request fails with the first
/// denial.
struct CheckedResolver {
    policy: Arc<EgressPolicy>,
    port: Arc<AtomicU16>,
    trusted: Option<Authority>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let port = self.port.load(Ordering::SeqCst);
        let host = name.as_str().to_ascii_lowercase();
        let trusted = self.trusted.as_ref().is_some_and(|t| {
            t.port == port && t.host == host.trim_start_matches('[').trim_end_matches(']')
        });
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect();
            if trusted {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let mut denied = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|addr| match policy.check(*addr) {
                    Ok(()) => true,
                    Err(d) => {
                        denied.get_or_insert(d);
                        false
                    }
                })
                .collect();
            match denied {
                Some(d) if allowed.is_empty() => Err(Box::new(d) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_allow_list, OwnListeners};

    fn egress(allow: &str) -> HttpEgress {
        let policy = EgressPolicy::new(parse_allow_list(allow).unwrap());
        HttpEgress::new(Arc::new(policy), Duration::from_secs(2)).unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn literal_addresses_are_refused_before_a_client_exists() {
        let e = egress("none");
        for denied in [
            "http://127.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "https://[::1]:8443/",
            "http://[::ffff:169.254.169.254]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://10.0.0.1:8080/",
        ] {
            match e.client_for(&url(denied)) {
                Err(EgressError::Denied(d)) => {
                    assert!(
                        d.to_string().starts_with("denied by the egress policy"),
                        "{d}"
                    )
                }
                other => panic!("{denied}: {:?}", other.map(|_| ())),
            }
        }
        assert!(e.client_for(&url("http://example.com/")).is_ok());
        assert!(e.client_for(&url("http://8.8.8.8/")).is_ok());
        assert!(matches!(
            e.client_for(&url("ftp://example.com/")),
            Err(EgressError::NotHttp)
        ));
    }

    #[test]
    fn a_trusted_authority_is_that_host_and_port_only() {
        let e = egress("none").trusting(&url("http://127.0.0.1:5002/tts"));
        assert!(e.client_for(&url("http://127.0.0.1:5002/other")).is_ok());
        assert!(matches!(
            e.client_for(&url("http://127.0.0.1:5003/")),
            Err(EgressError::Denied(_))
        ));
    }

    #[test]
    fn own_listeners_are_refused_even_in_an_allowed_network() {
        let policy = EgressPolicy::new(parse_allow_list("127.0.0.0/8").unwrap())
            .with_own_listeners(OwnListeners::new([8080], []));
        let e = HttpEgress::new(Arc::new(policy), Duration::from_secs(2)).unwrap();
        assert!(matches!(
            e.client_for(&url("http://127.0.0.1:8080/metrics")),
            Err(EgressError::Denied(_))
        ));
        assert!(e.client_for(&url("http://127.0.0.1:8081/")).is_ok());
    }
}
