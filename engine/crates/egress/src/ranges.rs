//! The address ranges a scenario may not reach unless the operator allows
//! them: this host, the networks it sits on, cloud metadata, and addresses
//! that are not anybody's unicast host on the Internet (IANA's
//! special-purpose registries, RFC 6890 and successors).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::{canonical, IpNet};

/// What kind of special address it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unspecified,
    Loopback,
    /// RFC 1918.
    Private,
    /// 100.64.0.0/10, RFC 6598.
    SharedNat,
    /// 169.254.0.0/16 (cloud metadata lives there) and fe80::/10.
    LinkLocal,
    /// fc00::/7, RFC 4193.
    UniqueLocal,
    Multicast,
    Broadcast,
    /// TEST-NETs, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15.
    Benchmarking,
    /// Everything else set aside: protocol assignments, "this network",
    /// 240/4, deprecated IPv6 forms, discard-only.
    Reserved,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Loopback => "loopback",
            Kind::Private => "private",
            Kind::SharedNat => "carrier-grade NAT",
            Kind::LinkLocal => "link-local",
            Kind::UniqueLocal => "unique local",
            Kind::Multicast => "multicast",
            Kind::Broadcast => "broadcast",
            Kind::Documentation => "documentation",
            Kind::Benchmarking => "benchmarking",
            Kind::Reserved => "reserved",
        }
    }
}

/// A special range an address was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub kind: Kind,
    pub net: IpNet,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind.describe(), self.net)
    }
}

/// Most specific first where ranges nest (broadcast inside 240/4,
/// unspecified inside 0/8).
const V4: &[(IpNet, Kind)] = &[
    (IpNet::v4(0, 0, 0, 0, 32), Kind::Unspecified),
    (IpNet::v4(0, 0, 0, 0, 8), Kind::Reserved),
    (IpNet::v4(10, 0, 0, 0, 8), Kind::Private),
    (IpNet::v4(100, 64, 0, 0, 10), Kind::SharedNat),
    (IpNet::v4(127, 0, 0, 0, 8), Kind::Loopback),
    (IpNet::v4(169, 254, 0, 0, 16), Kind::LinkLocal),
    (IpNet::v4(172, 16, 0, 0, 12), Kind::Private),
    (IpNet::v4(192, 0, 0, 0, 24), Kind::Reserved),
    (IpNet::v4(192, 0, 2, 0, 24), Kind::Documentation),
    (IpNet::v4(192, 88, 99, 0, 24), Kind::Reserved),
    (IpNet::v4(192, 168, 0, 0, 16), Kind::Private),
    (IpNet::v4(198, 18, 0, 0, 15), Kind::Benchmarking),
    (IpNet::v4(198, 51, 100, 0, 24), Kind::Documentation),
    (IpNet::v4(203, 0, 113, 0, 24), Kind::Documentation),
    (IpNet::v4(224, 0, 0, 0, 4), Kind::Multicast),
    (IpNet::v4(255, 255, 255, 255, 32), Kind::Broadcast),
    (IpNet::v4(240, 0, 0, 0, 4), Kind::Reserved),
];

const V6: &[(IpNet, Kind)] = &[
    (IpNet::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Kind::Unspecified),
    (IpNet::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Kind::Loopback),
    // IPv4-compatible addresses (deprecated); mapped ones never get here.
    (IpNet::v6([0, 0, 0, 0, 0, 0, 0, 0], 96), Kind::Reserved),
    (
        IpNet::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        Kind::Reserved,
    ),
    (IpNet::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Kind::Reserved),
    // IETF protocol assignments, Teredo among them.
    (IpNet::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Kind::Reserved),
    (
        IpNet::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Kind::Documentation,
    ),
    (
        IpNet::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        Kind::Documentation,
    ),
    (
        IpNet::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        Kind::UniqueLocal,
    ),
    (
        IpNet::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        Kind::LinkLocal,
    ),
    // Site-local (deprecated).
    (IpNet::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Kind::Reserved),
    (IpNet::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Kind::Multicast),
];

/// NAT64's well-known prefix: a gateway turns `64:ff9b::a.b.c.d` into a.b.c.d.
const NAT64: IpNet = IpNet::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
/// 6to4: `2002:AABB:CCDD::/48` is routed through the IPv4 host AA.BB.CC.DD.
const SIX_TO_FOUR: IpNet = IpNet::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// The special range `ip` lies in, or `None` for an ordinary Internet
/// address. An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4)
/// is judged by the IPv4 address it carries.
pub fn special(ip: IpAddr) -> Option<Range> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<Range> {
    lookup(V4, IpAddr::V4(ip))
}

fn special_v6(ip: Ipv6Addr) -> Option<Range> {
    if let Some(v4) = embedded_v4(ip) {
        return special_v4(v4);
    }
    lookup(V6, IpAddr::V6(ip))
}

/// The IPv4 address a NAT64 or 6to4 address leads to.
pub(crate) fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    if NAT64.contains(IpAddr::V6(ip)) {
        Some(Ipv4Addr::from(bits as u32))
    } else if SIX_TO_FOUR.contains(IpAddr::V6(ip)) {
        Some(Ipv4Addr::from((bits >> 80) as u32))
    } else {
        None
    }
}

fn lookup(table: &[(IpNet, Kind)], ip: IpAddr) -> Option<Range> {
    table
        .iter()
        .find(|(net, _)| net.contains(ip))
        .map(|&(net, kind)| Range { kind, net })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<Kind> {
        special(s.parse().unwrap()).map(|r| r.kind)
    }

    #[test]
    fn the_tables_hold_valid_networks() {
        for (net, _) in V4.iter().chain(V6) {
            assert_eq!(
                IpNet::new(net.addr(), net.prefix()),
                Some(*net),
                "{net} has host bits set"
            );
        }
    }

    #[test]
    fn every_ipv4_range() {
        let cases = [
            ("0.0.0.0", Kind::Unspecified),
            ("0.1.2.3", Kind::Reserved),
            ("10.0.0.1", Kind::Private),
            ("10.255.255.255", Kind::Private),
            ("100.64.0.1", Kind::SharedNat),
            ("100.127.255.254", Kind::SharedNat),
            ("127.0.0.1", Kind::Loopback),
            ("127.255.0.9", Kind::Loopback),
            ("169.254.169.254", Kind::LinkLocal),
            ("172.16.0.1", Kind::Private),
            ("172.31.255.255", Kind::Private),
            ("192.0.0.170", Kind::Reserved),
            ("192.0.2.10", Kind::Documentation),
            ("192.88.99.1", Kind::Reserved),
            ("192.168.1.10", Kind::Private),
            ("198.18.0.1", Kind::Benchmarking),
            ("198.19.255.255", Kind::Benchmarking),
            ("198.51.100.3", Kind::Documentation),
            ("203.0.113.9", Kind::Documentation),
            ("224.0.0.1", Kind::Multicast),
            ("239.255.255.250", Kind::Multicast),
            ("240.0.0.1", Kind::Reserved),
            ("255.255.255.255", Kind::Broadcast),
        ];
        for (ip, want) in cases {
            assert_eq!(kind(ip), Some(want), "{ip}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "11.0.0.1",
        ] {
            assert_eq!(kind(public), None, "{public}");
        }
    }

    #[test]
    fn every_ipv6_range() {
        let cases = [
            ("::", Kind::Unspecified),
            ("::1", Kind::Loopback),
            ("::7f00:1", Kind::Reserved),
            ("64:ff9b:1::5", Kind::Reserved),
            ("100::1", Kind::Reserved),
            ("2001::1", Kind::Reserved),
            ("2001:db8::1", Kind::Documentation),
            ("3fff::1", Kind::Documentation),
            ("fc00::1", Kind::UniqueLocal),
            ("fd12:3456::1", Kind::UniqueLocal),
            ("fe80::1", Kind::LinkLocal),
            ("febf::1", Kind::LinkLocal),
            ("fec0::1", Kind::Reserved),
            ("ff02::1", Kind::Multicast),
        ];
        for (ip, want) in cases {
            assert_eq!(kind(ip), Some(want), "{ip}");
        }
        for public in ["2606:4700::1111", "2a00:1450::1", "2001:4860:4860::8888"] {
            assert_eq!(kind(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_as_ipv4() {
        let cases = [
            ("::ffff:127.0.0.1", Kind::Loopback),
            ("::ffff:169.254.169.254", Kind::LinkLocal),
            ("::ffff:10.1.2.3", Kind::Private),
            ("::ffff:172.16.0.1", Kind::Private),
            ("::ffff:192.168.0.1", Kind::Private),
            ("::ffff:100.64.0.1", Kind::SharedNat),
            ("::ffff:0.0.0.0", Kind::Unspecified),
            ("::ffff:224.0.0.1", Kind::Multicast),
            ("::ffff:255.255.255.255", Kind::Broadcast),
            ("::ffff:192.0.2.1", Kind::Documentation),
            ("64:ff9b::169.254.169.254", Kind::LinkLocal),
            ("64:ff9b::127.0.0.1", Kind::Loopback),
            ("2002:7f00:1::1", Kind::Loopback),
            ("2002:a9fe:a9fe::1", Kind::LinkLocal),
            ("2002:c0a8:0101::1", Kind::Private),
        ];
        for (ip, want) in cases {
            assert_eq!(kind(ip), Some(want), "{ip}");
        }
        assert_eq!(kind("::ffff:8.8.8.8"), None);
        assert_eq!(kind("64:ff9b::8.8.8.8"), None);
        assert_eq!(kind("2002:0808:0808::1"), None);
    }

    #[test]
    fn a_range_names_itself() {
        let r = special("169.254.169.254".parse().unwrap()).unwrap();
        assert_eq!(r.to_string(), "link-local (169.254.0.0/16)");
    }
}
