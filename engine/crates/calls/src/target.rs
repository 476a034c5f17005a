//! Where an outbound `callSIP` goes: the request URI and the transport address.

use dialtone_sip::{Peer, Transport};
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Normalised request URI (`sip:user@host:port;params`).
    pub uri: String,
    pub host: String,
    pub port: u16,
    pub transport: Transport,
}

impl Target {
    /// The peer to send to, when the host is an IP literal or `localhost`.
    pub fn literal_peer(&self) -> Option<Peer> {
        let ip: IpAddr = if self.host.eq_ignore_ascii_case("localhost") {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()?
        };
        Some(Peer {
            transport: self.transport,
            addr: SocketAddr::new(ip, self.port),
        })
    }
}

/// Parses what a script passes to `callSIP`: `sip:user@host[:port][;params]`,
/// or the same without the scheme. `sips:` and other schemes are refused.
pub fn parse_target(to: &str) -> Result<Target, String> {
    let to = to.trim();
    let to = to
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(to);
    let rest = match to.strip_prefix("sip:") {
        Some(r) => r,
        None if has_other_scheme(to) => return Err(format!("unsupported URI scheme in {to:?}")),
        None => to,
    };
    if rest.is_empty() {
        return Err("empty SIP URI".into());
    }
    let (user_host, params) = match rest.split_once(';') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let user_host = user_host.split('?').next().unwrap_or(user_host);
    let hostport = match user_host.rsplit_once('@') {
        Some((_, h)) => h,
        None => user_host,
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
    {
        return Err(format!("bad host in SIP URI {to:?}"));
    }
    let transport = match params.into_iter().flat_map(|p| p.split(';')).find_map(|p| {
        p.strip_prefix("transport=")
            .or_else(|| p.strip_prefix("Transport="))
    }) {
        None => Transport::Udp,
        Some(t) if t.eq_ignore_ascii_case("udp") => Transport::Udp,
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        Some(t) => return Err(format!("unsupported transport {t:?}")),
    };
    Ok(Target {
        uri: format!("sip:{rest}"),
        host: host.to_string(),
        port: port.unwrap_or(5060),
        transport,
    })
}

/// `tel:+1`, `sips:x@y` — but not `host:5060`.
fn has_other_scheme(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.contains('@')
                && !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphabetic())
                && !rest.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(r) = s.strip_prefix('[') {
        let (h, tail) = r
            .split_once(']')
            .ok_or_else(|| format!("bad IPv6 host {s:?}"))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| format!("bad port in {s:?}"))?),
            None if tail.is_empty() => None,
            None => return Err(format!("bad host {s:?}")),
        };
        return Ok((h, port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((
            h,
            Some(p.parse().map_err(|_| format!("bad port in {s:?}"))?),
        )),
        None => Ok((s, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let t = parse_target("sip:bob@127.0.0.1:5062").unwrap();
        assert_eq!(t.uri, "sip:bob@127.0.0.1:5062");
        assert_eq!(
            t.literal_peer().unwrap().addr,
            "127.0.0.1:5062".parse().unwrap()
        );
        let t = parse_target("bob@localhost;transport=tcp").unwrap();
        assert_eq!(t.transport, Transport::Tcp);
        assert_eq!(t.port, 5060);
        assert_eq!(t.literal_peer().unwrap().addr.port(), 5060);
        let t = parse_target("<sip:[::1]:5070>").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(
            t.literal_peer().unwrap().addr,
            "[::1]:5070".parse().unwrap()
        );
        assert!(parse_target("sip:example.com")
            .unwrap()
            .literal_peer()
            .is_none());
    }

    #[test]
    fn refuses_junk() {
        assert!(parse_target("").is_err());
        assert!(parse_target("sip:").is_err());
        assert!(parse_target("sip:bob@host:99999").is_err());
        assert!(parse_target("sip:bob@ho st").is_err());
        assert!(parse_target("tel:+123").is_err());
        assert!(parse_target("sip:bob@host;transport=sctp").is_err());
    }
}
