//! Addresses: which one a request came from when Verity runs behind reverse proxies, and which
//! ones Verity may call on its own ([`internal`], [`OutboundPolicy`]).
//!
//! The peer address of the TCP connection is the client unless the peer is a trusted proxy. Then
//! `X-Forwarded-For` is read from the right: each hop appended the address it saw, so the first
//! address from the right that is not itself a trusted proxy is the client. Anything to its left
//! was written by the client and is ignored (it could be forged).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address block such as `10.0.0.0/8`, `fd00::/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (such as 10.0.0.0/8)")]
pub struct BadCidr(String);

impl FromStr for Cidr {
    type Err = BadCidr;
    fn from_str(s: &str) -> Result<Self, BadCidr> {
        let bad = || BadCidr(s.to_owned());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Cidr {
        Cidr {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Cidr {
        let [a, b, c, d, e, f, g, h] = segments;
        Cidr {
            addr: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, from dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses a comma-separated list of blocks (the `VERITY_TRUSTED_PROXIES` setting).
pub fn parse_list(text: &str) -> Result<Vec<Cidr>, BadCidr> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Cidr::from_str)
        .collect()
}

/// The client's address: `peer` itself, or, when `peer` is a trusted proxy, the rightmost
/// address of the `X-Forwarded-For` values that is not a trusted proxy. A malformed entry stops
/// the walk at the last address known good.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    // Several headers are one list, in order; each header is itself a comma-separated list.
    let hops: Vec<&str> = forwarded_for.flat_map(|h| h.split(',')).collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// What kind of internal address an address is (RFC 6890 and IANA's special-purpose address
/// registries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    Shared,
    LinkLocal,
    ProtocolAssignments,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    Discard,
    Nat64Local,
    UniqueLocal,
    SiteLocal,
    /// IPv6 outside 2000::/3, the only block IANA hands out for global unicast.
    NotGlobalUnicast,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Range::Unspecified => "unspecified",
            Range::ThisNetwork => "\"this network\"",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::Shared => "shared address space (carrier-grade NAT)",
            Range::LinkLocal => "link-local",
            Range::ProtocolAssignments => "IETF protocol assignments",
            Range::Documentation => "documentation",
            Range::Benchmarking => "benchmarking",
            Range::Multicast => "multicast",
            Range::Broadcast => "broadcast",
            Range::Reserved => "reserved",
            Range::Discard => "discard-only",
            Range::Nat64Local => "local-use NAT64",
            Range::UniqueLocal => "unique-local",
            Range::SiteLocal => "site-local (deprecated)",
            Range::NotGlobalUnicast => "not global unicast, outside",
        })
    }
}

/// How an IPv6 address carries an IPv4 address, which is then judged instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`: a dual-stack socket connects to the IPv4 address itself.
    Mapped,
    /// `::a.b.c.d` (deprecated by RFC 4291, still routed as IPv4 by some stacks).
    Compatible,
    /// `64:ff9b::a.b.c.d`, the well-known NAT64 prefix: a NAT64 gateway connects to the IPv4
    /// address.
    Nat64,
    /// `2002:aabb:ccdd::/48`, 6to4 (RFC 3056): the site behind IPv4 `a.b.c.d`.
    SixToFour,
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Embedding::Mapped => "IPv4-mapped",
            Embedding::Compatible => "IPv4-compatible",
            Embedding::Nat64 => "NAT64",
            Embedding::SixToFour => "6to4",
        })
    }
}

/// Why an address is internal: its range, the block it lies in, and the IPv4 address it carries
/// when it is an IPv6 spelling of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Internal {
    pub range: Range,
    pub block: Cidr,
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((how, v4)) = self.embedded {
            write!(f, "{how} {v4}, ")?;
        }
        write!(f, "{} {}", self.range, self.block)
    }
}

/// The IPv4 blocks Verity does not call, most specific first.
const INTERNAL_V4: [(Cidr, Range); 16] = [
    (Cidr::v4(0, 0, 0, 0, 32), Range::Unspecified),
    (Cidr::v4(0, 0, 0, 0, 8), Range::ThisNetwork),
    (Cidr::v4(10, 0, 0, 0, 8), Range::Private),
    (Cidr::v4(100, 64, 0, 0, 10), Range::Shared),
    (Cidr::v4(127, 0, 0, 0, 8), Range::Loopback),
    (Cidr::v4(169, 254, 0, 0, 16), Range::LinkLocal),
    (Cidr::v4(172, 16, 0, 0, 12), Range::Private),
    (Cidr::v4(192, 0, 0, 0, 24), Range::ProtocolAssignments),
    (Cidr::v4(192, 0, 2, 0, 24), Range::Documentation),
    (Cidr::v4(192, 168, 0, 0, 16), Range::Private),
    (Cidr::v4(198, 18, 0, 0, 15), Range::Benchmarking),
    (Cidr::v4(198, 51, 100, 0, 24), Range::Documentation),
    (Cidr::v4(203, 0, 113, 0, 24), Range::Documentation),
    (Cidr::v4(224, 0, 0, 0, 4), Range::Multicast),
    (Cidr::v4(255, 255, 255, 255, 32), Range::Broadcast),
    (Cidr::v4(240, 0, 0, 0, 4), Range::Reserved),
];

/// The IPv6 blocks Verity does not call, once IPv4 carried in IPv6 was taken out.
const INTERNAL_V6: [(Cidr, Range); 11] = [
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Range::Unspecified),
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Range::Loopback),
    (
        Cidr::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        Range::Nat64Local,
    ),
    (Cidr::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Range::Discard),
    (
        Cidr::v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48),
        Range::Benchmarking,
    ),
    (
        Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Range::Documentation,
    ),
    (
        Cidr::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        Range::Documentation,
    ),
    (
        Cidr::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        Range::UniqueLocal,
    ),
    (
        Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        Range::LinkLocal,
    ),
    (
        Cidr::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        Range::SiteLocal,
    ),
    (Cidr::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Range::Multicast),
];

/// Global unicast IPv6; everything else not already named above is refused.
const GLOBAL_UNICAST: Cidr = Cidr::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// The IPv4 address an IPv6 address stands for, if it is one of the [`Embedding`]s.
pub fn embedded_v4(v6: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let s = v6.segments();
    let o = v6.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some((Embedding::Mapped, v4))
    } else if s[..6] == [0; 6] && u32::from(low) > 1 {
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        Some((Embedding::Compatible, low))
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some((Embedding::Nat64, low))
    } else if s[0] == 0x2002 {
        Some((Embedding::SixToFour, Ipv4Addr::new(o[2], o[3], o[4], o[5])))
    } else {
        None
    }
}

/// Why `ip` is an address inside some network rather than a public host, or `None` when it is
/// public: loopback, private, link-local, shared, unique-local, multicast, broadcast,
/// unspecified, `0.0.0.0/8`, benchmarking, documentation and the other reserved blocks, IPv4 in
/// any IPv6 spelling ([`embedded_v4`]) judged as the IPv4 address it is. Teredo (`2001::/32`)
/// is left public: its embedded addresses are a relay's and an obfuscated client's.
pub fn internal(ip: IpAddr) -> Option<Internal> {
    let (v4, embedded) = match ip {
        IpAddr::V4(v4) => (v4, None),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some((how, v4)) => (v4, Some((how, v4))),
            None => {
                let ip = IpAddr::V6(v6);
                let found = INTERNAL_V6.iter().find(|(block, _)| block.contains(ip));
                return match found {
                    Some(&(block, range)) => Some(Internal {
                        range,
                        block,
                        embedded: None,
                    }),
                    None if !GLOBAL_UNICAST.contains(ip) => Some(Internal {
                        range: Range::NotGlobalUnicast,
                        block: GLOBAL_UNICAST,
                        embedded: None,
                    }),
                    None => None,
                };
            }
        },
    };
    INTERNAL_V4
        .iter()
        .find(|(block, _)| block.contains(IpAddr::V4(v4)))
        .map(|&(block, range)| Internal {
            range,
            block,
            embedded,
        })
}

/// Which addresses Verity's own calls (an app's `jwks_uri`, back-channel logout) may reach:
/// public ones, plus the internal blocks an operator allowed, plus loopback in the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Internal blocks calls may reach all the same (`VERITY_OUTBOUND_ALLOW`).
    pub allow: Vec<Cidr>,
    /// Loopback allowed (the sandbox, whose test apps run on this machine).
    pub loopback: bool,
}

impl OutboundPolicy {
    /// `Ok` when a call may connect to `ip`, otherwise why not.
    pub fn check(&self, ip: IpAddr) -> Result<(), Internal> {
        let Some(why) = internal(ip) else {
            return Ok(());
        };
        let carried = why.embedded.map(|(_, v4)| IpAddr::V4(v4));
        let allowed = (self.loopback && why.range == Range::Loopback)
            || self
                .allow
                .iter()
                .any(|c| c.contains(ip) || carried.is_some_and(|v4| c.contains(v4)));
        if allowed { Ok(()) } else { Err(why) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.255.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("::1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "nonsense", "::/129", "10.0.0/8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(parse_list(" 10.0.0.0/8, 127.0.0.1 ,").unwrap().len(), 2);
    }

    /// Every range of [`internal`], at its edges and in IPv6 spellings, and public addresses
    /// beside them.
    #[test]
    fn internal_addresses_in_every_spelling() {
        use Embedding::*;
        use Range::*;
        let table: &[(&str, Option<Range>, Option<Embedding>)] = &[
            // IPv4, each block at its edges, with public neighbours.
            ("0.0.0.0", Some(Unspecified), None),
            ("0.1.2.3", Some(ThisNetwork), None),
            ("0.255.255.255", Some(ThisNetwork), None),
            ("1.0.0.0", None, None),
            ("9.255.255.255", None, None),
            ("10.0.0.0", Some(Private), None),
            ("10.255.255.255", Some(Private), None),
            ("11.0.0.0", None, None),
            ("100.63.255.255", None, None),
            ("100.64.0.0", Some(Shared), None),
            ("100.127.255.255", Some(Shared), None),
            ("100.128.0.0", None, None),
            ("126.255.255.255", None, None),
            ("127.0.0.1", Some(Loopback), None),
            ("127.255.255.254", Some(Loopback), None),
            ("128.0.0.0", None, None),
            ("169.254.169.254", Some(LinkLocal), None),
            ("169.253.255.255", None, None),
            ("169.255.0.0", None, None),
            ("172.15.255.255", None, None),
            ("172.16.0.0", Some(Private), None),
            ("172.31.255.255", Some(Private), None),
            ("172.32.0.0", None, None),
            ("192.0.0.8", Some(ProtocolAssignments), None),
            ("192.0.1.1", None, None),
            ("192.0.2.1", Some(Documentation), None),
            ("192.88.99.1", None, None),
            ("192.167.255.255", None, None),
            ("192.168.0.1", Some(Private), None),
            ("192.169.0.0", None, None),
            ("198.17.255.255", None, None),
            ("198.18.0.0", Some(Benchmarking), None),
            ("198.19.255.255", Some(Benchmarking), None),
            ("198.20.0.0", None, None),
            ("198.51.100.7", Some(Documentation), None),
            ("203.0.113.200", Some(Documentation), None),
            ("203.0.114.1", None, None),
            ("223.255.255.255", None, None),
            ("224.0.0.1", Some(Multicast), None),
            ("239.255.255.255", Some(Multicast), None),
            ("240.0.0.1", Some(Reserved), None),
            ("255.255.255.254", Some(Reserved), None),
            ("255.255.255.255", Some(Broadcast), None),
            ("8.8.8.8", None, None),
            ("93.184.216.34", None, None),
            // IPv4-mapped, in several spellings.
            ("::ffff:127.0.0.1", Some(Loopback), Some(Mapped)),
            ("::ffff:7f00:1", Some(Loopback), Some(Mapped)),
            ("0:0:0:0:0:ffff:a9fe:a9fe", Some(LinkLocal), Some(Mapped)),
            (
                "0000:0000:0000:0000:0000:FFFF:0A00:0001",
                Some(Private),
                Some(Mapped),
            ),
            ("::ffff:0.0.0.0", Some(Unspecified), Some(Mapped)),
            ("::ffff:100.64.1.1", Some(Shared), Some(Mapped)),
            ("::ffff:8.8.8.8", None, None),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", Some(Loopback), Some(Compatible)),
            ("::7f00:1", Some(Loopback), Some(Compatible)),
            ("::a9fe:a9fe", Some(LinkLocal), Some(Compatible)),
            ("::0.0.0.2", Some(ThisNetwork), Some(Compatible)),
            ("::c0a8:1", Some(Private), Some(Compatible)),
            // Judged as the IPv4 address carried: public.
            ("::8.8.8.8", None, None),
            // NAT64 and 6to4.
            ("64:ff9b::127.0.0.1", Some(Loopback), Some(Nat64)),
            ("64:ff9b::a00:1", Some(Private), Some(Nat64)),
            ("64:ff9b::8.8.8.8", None, None),
            ("64:ff9b:1::1", Some(Nat64Local), None),
            ("2002:7f00:1::1", Some(Loopback), Some(SixToFour)),
            ("2002:a9fe:a9fe::", Some(LinkLocal), Some(SixToFour)),
            ("2002:808:808::1", None, None),
            // IPv6 itself.
            ("::", Some(Unspecified), None),
            ("0:0:0:0:0:0:0:0", Some(Unspecified), None),
            ("::1", Some(Loopback), None),
            ("0:0:0:0:0:0:0:1", Some(Loopback), None),
            ("fe80::1", Some(LinkLocal), None),
            ("febf:ffff::1", Some(LinkLocal), None),
            ("fec0::1", Some(SiteLocal), None),
            ("fc00::1", Some(UniqueLocal), None),
            ("fd12:3456::1", Some(UniqueLocal), None),
            ("ff02::1", Some(Multicast), None),
            ("ff0e::101", Some(Multicast), None),
            ("100::1", Some(Discard), None),
            ("2001:2::1", Some(Benchmarking), None),
            ("2001:db8::1", Some(Documentation), None),
            ("3fff:fff::1", Some(Documentation), None),
            ("::2:0:0:1", Some(NotGlobalUnicast), None),
            ("::ffff:0:7f00:1", Some(NotGlobalUnicast), None),
            ("4000::1", Some(NotGlobalUnicast), None),
            ("2606:4700:4700::1111", None, None),
            ("2a00:1450:4001::200e", None, None),
            ("2001:4860:4860::8888", None, None),
            ("3fff:1000::1", None, None),
        ];
        for &(text, range, how) in table {
            let found = internal(ip(text));
            assert_eq!(found.map(|i| i.range), range, "{text}");
            assert_eq!(found.and_then(|i| i.embedded).map(|e| e.0), how, "{text}");
        }
        // The reason names the address carried and the block.
        assert_eq!(
            internal(ip("::ffff:127.0.0.1")).unwrap().to_string(),
            "IPv4-mapped 127.0.0.1, loopback 127.0.0.0/8"
        );
        assert_eq!(
            internal(ip("fe80::1")).unwrap().to_string(),
            "link-local fe80::/10"
        );
    }

    #[test]
    fn the_outbound_policy_allows_public_addresses_and_only_the_internal_blocks_it_lists() {
        let strict = OutboundPolicy::default();
        assert!(strict.check(ip("93.184.216.34")).is_ok());
        for refused in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "::1",
            "10.0.0.1",
            "fe80::1",
        ] {
            assert!(strict.check(ip(refused)).is_err(), "{refused}");
        }
        let sandbox = OutboundPolicy {
            allow: Vec::new(),
            loopback: true,
        };
        for allowed in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.9.9.9"] {
            assert!(sandbox.check(ip(allowed)).is_ok(), "{allowed}");
        }
        for refused in ["10.0.0.1", "169.254.169.254", "::ffff:a9fe:a9fe", "fd00::1"] {
            assert!(sandbox.check(ip(refused)).is_err(), "{refused}");
        }
        let inside = OutboundPolicy {
            allow: parse_list("10.20.0.0/16, fd00:1::/32").unwrap(),
            loopback: false,
        };
        // The allowed block, in any spelling of its addresses; nothing else internal.
        for allowed in ["10.20.3.4", "::ffff:10.20.3.4", "::a14:304", "fd00:1::5"] {
            assert!(inside.check(ip(allowed)).is_ok(), "{allowed}");
        }
        for refused in [
            "10.21.0.1",
            "127.0.0.1",
            "fd00:2::5",
            "::ffff:169.254.169.254",
        ] {
            assert!(inside.check(ip(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_and_only_from_trusted_peers() {
        let trusted = parse_list("10.0.0.0/8").unwrap();
        // Untrusted peer: its header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), ["198.51.100.1"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Trusted peer: the rightmost untrusted hop; the forged leftmost entry is ignored.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                ["6.6.6.6, 198.51.100.1, 10.0.0.5"].into_iter(),
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Several headers form one list.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                ["6.6.6.6", "198.51.100.2"].into_iter(),
                &trusted
            ),
            ip("198.51.100.2")
        );
        // Garbage stops the walk; no header leaves the proxy's own address.
        assert_eq!(
            client_address(ip("10.0.0.2"), ["1.2.3.4, junk"].into_iter(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
        // Nothing trusted: the peer, always.
        assert_eq!(
            client_address(ip("10.0.0.2"), ["198.51.100.1"].into_iter(), &[]),
            ip("10.0.0.2")
        );
    }
}
