//! The decision: may a scenario connect to this address and port?

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::net::{canonical, IpNet};
use crate::ranges::{embedded_v4, special, Range};

/// One entry of the operator's allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Allow {
    /// Every port of every address in the network (`10.0.0.0/8`, or one
    /// address: `192.168.1.20`). Dialtone's own listeners stay denied.
    Net(IpNet),
    /// This address and port only (`127.0.0.1:8090`, `[::1]:8090`); may name
    /// one of Dialtone's own listeners.
    Exact(SocketAddr),
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allow::Net(net) => net.fmt(f),
            Allow::Exact(addr) => addr.fmt(f),
        }
    }
}

impl FromStr for Allow {
    type Err = String;
    fn from_str(s: &str) -> Result<Allow, String> {
        let s = s.trim();
        if let Ok(addr) = s.parse::<SocketAddr>() {
            if addr.port() == 0 {
                return Err(format!("{s:?}: port 0 is no destination"));
            }
            return Ok(Allow::Exact(SocketAddr::new(
                canonical(addr.ip()),
                addr.port(),
            )));
        }
        s.parse::<IpNet>().map(Allow::Net).map_err(|e| {
            format!(
                "{e}: expected a CIDR range (10.0.0.0/8), an IP address (192.0.2.7) or \
                 an address and port (127.0.0.1:8090, [::1]:8090); host names are not accepted"
            )
        })
    }
}

/// Parses an allow-list: entries separated by commas or white space.
/// `none` (alone) is the empty list.
pub fn parse_allow_list(s: &str) -> Result<Vec<Allow>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::parse)
        .collect()
}

/// Dialtone's own listening ports (SIP on UDP and TCP, HTTP). Any address of
/// this host with one of them is denied, whatever network is allowed: a
/// scenario must not talk to the REST API, `/metrics` or the SIP port it
/// runs behind.
#[derive(Debug, Clone, Default)]
pub struct OwnListeners {
    ports: BTreeSet<u16>,
    /// Addresses known to be ours (bound, advertised); others are probed.
    addrs: Vec<IpAddr>,
    /// Ask the kernel whether an address not in `addrs` is ours.
    probe: bool,
}

impl OwnListeners {
    /// `ports` on any local address; `addrs` are local for sure (the bound
    /// and advertised addresses), others are found by trying to bind them.
    pub fn new(
        ports: impl IntoIterator<Item = u16>,
        addrs: impl IntoIterator<Item = IpAddr>,
    ) -> OwnListeners {
        OwnListeners {
            ports: ports.into_iter().filter(|p| *p != 0).collect(),
            addrs: addrs.into_iter().map(canonical).collect(),
            probe: true,
        }
    }

    /// Without the kernel probe: only loopback, unspecified and `addrs`
    /// count as local (for tests that must not depend on the host).
    pub fn without_probe(mut self) -> OwnListeners {
        self.probe = false;
        self
    }

    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports.iter().copied()
    }

    fn is_own(&self, ip: IpAddr, port: u16) -> bool {
        self.ports.contains(&port) && self.is_local(ip)
    }

    /// Loopback and unspecified addresses reach this host; so do the
    /// addresses of its interfaces, which the kernel lets us bind to.
    fn is_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback()
            || ip.is_unspecified()
            || self.addrs.contains(&ip)
            || (self.probe && std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok())
    }
}

/// Where scenarios may connect: `Net` requests, playback and TTS downloads
/// and `callSIP` all ask [`EgressPolicy::check`] for every address they
/// would connect to, after name resolution.
///
/// In order: an exact `address:port` allow entry admits; Dialtone's own
/// listeners are denied; an allowed network admits; an address in a
/// special range ([`special`]: loopback, private, link-local, …) is
/// denied; anything else (the Internet) is allowed.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allow: Vec<Allow>,
    own: OwnListeners,
}

impl EgressPolicy {
    pub fn new(allow: Vec<Allow>) -> EgressPolicy {
        EgressPolicy {
            allow: allow
                .into_iter()
                .map(|a| match a {
                    Allow::Exact(addr) => {
                        Allow::Exact(SocketAddr::new(canonical(addr.ip()), addr.port()))
                    }
                    net => net,
                })
                .collect(),
            own: OwnListeners::default(),
        }
    }

    pub fn with_own_listeners(mut self, own: OwnListeners) -> EgressPolicy {
        self.own = own;
        self
    }

    pub fn allow_list(&self) -> &[Allow] {
        &self.allow
    }

    pub fn own_listeners(&self) -> &OwnListeners {
        &self.own
    }

    /// Whether a scenario may connect to `dest`.
    pub fn check(&self, dest: SocketAddr) -> Result<(), Denied> {
        let ip = canonical(dest.ip());
        let port = dest.port();
        let deny = |why| {
            Err(Denied {
                dest: SocketAddr::new(ip, port),
                why,
            })
        };
        if port == 0 {
            return deny(Why::PortZero);
        }
        if self
            .allow
            .contains(&Allow::Exact(SocketAddr::new(ip, port)))
        {
            return Ok(());
        }
        if self.own.is_own(ip, port) {
            return deny(Why::OwnListener);
        }
        let carried = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |ip: IpAddr| {
            self.allow
                .iter()
                .any(|a| matches!(a, Allow::Net(net) if net.contains(ip)))
        };
        if allowed(ip) || carried.is_some_and(allowed) {
            return Ok(());
        }
        match special(ip) {
            Some(range) => deny(Why::Range(range)),
            None => Ok(()),
        }
    }
}

/// Why a destination was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Range(Range),
    OwnListener,
    PortZero,
}

/// A destination the policy refused. Its text names the address and the
/// reason: "denied by the egress policy: 169.254.169.254:80 is link-local
/// (169.254.0.0/16)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    /// Canonical: an IPv4-mapped address is shown as IPv4.
    pub dest: SocketAddr,
    pub why: Why,
}

impl Denied {
    /// The reason without the "denied by the egress policy" prefix.
    pub fn reason(&self) -> String {
        match self.why {
            Why::Range(range) => format!("{} is {range}", self.dest),
            Why::OwnListener => format!("{} is one of Dialtone's own listeners", self.dest),
            Why::PortZero => format!("{} has port 0", self.dest),
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "denied by the egress policy: {}", self.reason())
    }
}

impl std::error::Error for Denied {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranges::Kind;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn policy(allow: &str) -> EgressPolicy {
        EgressPolicy::new(parse_allow_list(allow).unwrap())
    }

    fn kind(p: &EgressPolicy, dest: &str) -> Option<Kind> {
        match p.check(addr(dest)) {
            Err(Denied {
                why: Why::Range(r), ..
            }) => Some(r.kind),
            Err(other) => panic!("{dest}: {other}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn the_default_denies_every_special_range_and_allows_the_internet() {
        let p = EgressPolicy::default();
        for (dest, want) in [
            ("127.0.0.1:80", Kind::Loopback),
            ("[::1]:80", Kind::Loopback),
            ("0.0.0.0:80", Kind::Unspecified),
            ("[::]:80", Kind::Unspecified),
            ("169.254.169.254:80", Kind::LinkLocal),
            ("[fe80::1]:80", Kind::LinkLocal),
            ("10.0.0.1:80", Kind::Private),
            ("172.16.5.4:80", Kind::Private),
            ("192.168.1.1:5060", Kind::Private),
            ("100.64.0.1:80", Kind::SharedNat),
            ("[fd00::1]:80", Kind::UniqueLocal),
            ("224.0.0.251:5353", Kind::Multicast),
            ("[ff02::1]:80", Kind::Multicast),
            ("255.255.255.255:80", Kind::Broadcast),
            ("192.0.2.1:80", Kind::Documentation),
            ("[2001:db8::1]:80", Kind::Documentation),
            ("240.0.0.1:80", Kind::Reserved),
            ("[::ffff:127.0.0.1]:80", Kind::Loopback),
            ("[::ffff:169.254.169.254]:80", Kind::LinkLocal),
            ("[::ffff:10.0.0.1]:80", Kind::Private),
            ("[64:ff9b::a9fe:a9fe]:80", Kind::LinkLocal),
        ] {
            assert_eq!(kind(&p, dest), Some(want), "{dest}");
        }
        for dest in [
            "8.8.8.8:443",
            "[2606:4700::1111]:443",
            "[::ffff:1.1.1.1]:80",
        ] {
            assert_eq!(p.check(addr(dest)), Ok(()), "{dest}");
        }
        assert_eq!(p.check(addr("8.8.8.8:0")).unwrap_err().why, Why::PortZero);
    }

    #[test]
    fn the_text_names_address_and_range() {
        let p = EgressPolicy::default();
        let denied = p.check(addr("[::ffff:169.254.169.254]:80")).unwrap_err();
        assert_eq!(
            denied.to_string(),
            "denied by the egress policy: 169.254.169.254:80 is link-local (169.254.0.0/16)"
        );
    }

    #[test]
    fn an_allowed_network_admits_every_port_of_it_including_mapped_forms() {
        let p = policy("10.0.0.0/8, 127.0.0.0/8 ::1");
        assert_eq!(p.check(addr("10.1.2.3:5060")), Ok(()));
        assert_eq!(p.check(addr("[::ffff:10.1.2.3]:80")), Ok(()));
        assert_eq!(p.check(addr("127.0.0.1:8090")), Ok(()));
        assert_eq!(p.check(addr("[::1]:8090")), Ok(()));
        assert_eq!(
            p.check(addr("[64:ff9b::a01:203]:80")),
            Ok(()),
            "NAT64 of 10.1.2.3"
        );
        assert_eq!(kind(&p, "192.168.0.1:80"), Some(Kind::Private));
        assert_eq!(kind(&p, "169.254.169.254:80"), Some(Kind::LinkLocal));
    }

    #[test]
    fn an_exact_entry_admits_that_port_only() {
        let p = policy("127.0.0.1:8090,[::1]:8091");
        assert_eq!(p.check(addr("127.0.0.1:8090")), Ok(()));
        assert_eq!(p.check(addr("[::ffff:127.0.0.1]:8090")), Ok(()));
        assert_eq!(kind(&p, "127.0.0.1:8091"), Some(Kind::Loopback));
        assert_eq!(kind(&p, "127.0.0.2:8090"), Some(Kind::Loopback));
        assert_eq!(p.check(addr("[::1]:8091")), Ok(()));
        assert_eq!(kind(&p, "[::1]:8090"), Some(Kind::Loopback));
    }

    #[test]
    fn own_listeners_are_denied_on_any_local_address_unless_named_exactly() {
        let own = OwnListeners::new([5060, 8080], ["198.51.7.10".parse().unwrap()]).without_probe();
        let p = policy("0.0.0.0/0, ::/0, 127.0.0.1:8080").with_own_listeners(own);
        let own_listener = |dest: &str| p.check(addr(dest)).map_err(|d| d.why);
        for dest in [
            "127.0.0.1:5060",
            "127.9.9.9:5060",
            "[::1]:5060",
            "[::ffff:127.0.0.1]:5060",
            "0.0.0.0:5060",
            "[::]:8080",
            "198.51.7.10:8080",
            "198.51.7.10:5060",
        ] {
            assert_eq!(own_listener(dest), Err(Why::OwnListener), "{dest}");
        }
        // Named exactly: the operator means it.
        assert_eq!(p.check(addr("127.0.0.1:8080")), Ok(()));
        // Other ports of this host, and the same ports elsewhere, are not ours.
        assert_eq!(p.check(addr("127.0.0.1:5061")), Ok(()));
        assert_eq!(p.check(addr("198.51.7.10:443")), Ok(()));
        assert_eq!(p.check(addr("8.8.8.8:5060")), Ok(()));
        let text = p.check(addr("127.0.0.1:5060")).unwrap_err().to_string();
        assert_eq!(
            text,
            "denied by the egress policy: 127.0.0.1:5060 is one of Dialtone's own listeners"
        );
    }

    #[test]
    fn own_listeners_are_found_on_interface_addresses_by_the_probe() {
        // 127.0.0.1 binds everywhere; an address of nobody does not.
        let own = OwnListeners::new([5060], []);
        assert!(own.is_own("127.0.0.1".parse().unwrap(), 5060));
        assert!(!own.is_own("192.0.2.200".parse().unwrap(), 5060));
        assert!(!own.is_own("127.0.0.1".parse().unwrap(), 5061));
    }

    #[test]
    fn allow_entries_parse_or_say_what_is_expected() {
        let list =
            parse_allow_list("10.0.0.0/8 127.0.0.1:8090, [::1]:9000,192.0.2.7,fc00::/7").unwrap();
        assert_eq!(
            list.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "10.0.0.0/8",
                "127.0.0.1:8090",
                "[::1]:9000",
                "192.0.2.7/32",
                "fc00::/7"
            ]
        );
        assert_eq!(
            "[::ffff:127.0.0.1]:80"
                .parse::<Allow>()
                .unwrap()
                .to_string(),
            "127.0.0.1:80"
        );
        assert!(parse_allow_list("none").unwrap().is_empty());
        assert!(parse_allow_list("").unwrap().is_empty());
        for bad in [
            "example.com",
            "example.com:80",
            "10.0.0.0/40",
            "10.0.0.1/8",
            "1.2.3.4:0",
        ] {
            let err = bad.parse::<Allow>().unwrap_err();
            assert!(err.contains(bad.split(':').next().unwrap()), "{bad}: {err}");
        }
        let err = "example.com:80".parse::<Allow>().unwrap_err();
        assert!(err.contains("host names are not accepted"), "{err}");
    }
}
