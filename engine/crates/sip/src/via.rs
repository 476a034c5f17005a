//! Via (RFC 3261 §20.42) and CSeq (§20.16).

use std::fmt;

use crate::error::ParseError;
use crate::headers::is_token;
use crate::message::Method;
use crate::name_addr::param_iter;
use crate::uri::{parse_port, split_host, Params};

const BAD_VIA: ParseError = ParseError::Invalid("Via");
const BAD_CSEQ: ParseError = ParseError::Invalid("CSeq");
const LWS: [char; 2] = [' ', '\t'];

/// One via-parm: `SIP/2.0/UDP host:port;branch=...;rport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// As written (UDP, TCP, TLS, WS...).
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let mut parts = s.trim_matches(LWS).splitn(3, '/');
        let (Some(name), Some(version), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(BAD_VIA);
        };
        if !name.trim_matches(LWS).eq_ignore_ascii_case("SIP") || version.trim_matches(LWS) != "2.0"
        {
            return Err(BAD_VIA);
        }
        let rest = rest.trim_start_matches(LWS);
        let transport_end = rest.find(LWS).ok_or(BAD_VIA)?;
        let (transport, rest) = rest.split_at(transport_end);
        if !is_token(transport) {
            return Err(BAD_VIA);
        }
        let (host, rest) = split_host(rest.trim_start_matches(LWS)).map_err(|_| BAD_VIA)?;
        let rest = rest.trim_start_matches(LWS);
        let (port, rest) = match rest.strip_prefix(':') {
            Some(p) => {
                let p = p.trim_start_matches(LWS);
                let end = p.find([';', ' ', '\t']).unwrap_or(p.len());
                let (digits, rest) = p.split_at(end);
                (Some(parse_port(digits).map_err(|_| BAD_VIA)?), rest)
            }
            None => (None, rest),
        };
        let params = param_iter(rest)
            .map(|p| {
                p.map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                    .map_err(|_| BAD_VIA)
            })
            .collect::<Result<Params, _>>()?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// `Some(None)` when the client asked for rport (RFC 3581) without a value yet.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Lower-cased `host:port` with the default port filled in, for transaction keys.
    pub fn sent_by(&self) -> String {
        let port = self
            .port
            .unwrap_or(if self.transport.eq_ignore_ascii_case("TLS") {
                5061
            } else {
                5060
            });
        format!("{}:{}", self.host.to_ascii_lowercase(), port)
    }

    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_string(), value)),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let mut words = s.split([' ', '\t']).filter(|w| !w.is_empty());
        let (Some(seq), Some(method), None) = (words.next(), words.next(), words.next()) else {
            return Err(BAD_CSEQ);
        };
        if seq.len() > 10 || !seq.bytes().all(|b| b.is_ascii_digit()) || !is_token(method) {
            return Err(BAD_CSEQ);
        }
        let seq: u32 = seq.parse().map_err(|_| BAD_CSEQ)?;
        // RFC 3261 §8.1.1.5: the sequence number must be less than 2**31.
        if seq >= 1 << 31 {
            return Err(BAD_CSEQ);
        }
        Ok(CSeq {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_everything() {
        let v = Via::parse(
            "SIP / 2.0 / udp  10.0.0.1 : 5062 ; branch=z9hG4bK1 ;rport;received=1.2.3.4",
        )
        .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "10.0.0.1");
        assert_eq!(v.port, Some(5062));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("1.2.3.4"));
        assert_eq!(v.sent_by(), "10.0.0.1:5062");
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;rport;received=1.2.3.4"
        );
    }

    #[test]
    fn via_ipv6_and_defaults() {
        let mut v = Via::parse("SIP/2.0/TCP [::1];branch=x").unwrap();
        assert_eq!(v.sent_by(), "[::1]:5060");
        v.set_param("rport", Some("4000".into()));
        assert_eq!(v.rport(), Some(Some(4000)));
    }

    #[test]
    fn bad_vias() {
        for bad in [
            "",
            "SIP/2.0",
            "SIP/2.0/UDP",
            "SIP/3.0/UDP h",
            "SIP/2.0/UDP h:x",
            "SIP/2.0/UDP h;=1",
            "SIP/2.0/UDP h;branch",
            "HTTP/2.0/UDP h",
            "SIP/2.0/U@P h",
            "SIP/2.0/UDP h junk",
        ] {
            let parsed = Via::parse(bad);
            if bad == "SIP/2.0/UDP h;branch" {
                assert!(parsed.is_ok(), "valueless param is legal");
            } else {
                assert!(parsed.is_err(), "{bad:?} parsed as {parsed:?}");
            }
        }
    }

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse(" 4711   INVITE ").unwrap(),
            CSeq {
                seq: 4711,
                method: Method::Invite
            }
        );
        for bad in [
            "",
            "1",
            "INVITE 1",
            "1 INVITE x",
            "-1 INVITE",
            "2147483648 BYE",
            "1 B@YE",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad:?}");
        }
    }
}
