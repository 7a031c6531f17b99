//! proptest for VL2: the dictionary, network config and credential (COM, COO, tag) decoders never panic on arbitrary
//! bytes; whatever decodes re-encodes byte-exact; generated values round-trip; MAC derivation
//! inverts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use zerotier::vl2::com::Qualifier;
use zerotier::vl2::derive::{mac_for, mac_to_address};
use zerotier::vl2::{
    CertificateOfMembership, CertificateOfOwnership, DictLimits, Dictionary, IpPrefix,
    NetworkConfig, NetworkType, Route, Rule, RuleKind, Tag, Thing,
};
use zerotier::wire::InetAddr;
use zerotier::{Address, NetworkId};

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,8}"
}

fn rule() -> impl Strategy<Value = Rule> {
    let kind = prop_oneof![
        Just(RuleKind::Accept),
        Just(RuleKind::Drop),
        Just(RuleKind::Break),
        (2u8..=4, any::<u64>(), any::<u32>(), any::<u16>()).prop_map(|(a, x, f, l)| {
            RuleKind::Forward {
                action: a,
                address: Address::new(x),
                flags: f,
                length: l,
            }
        }),
        (24u8..=25, any::<u64>()).prop_map(|(k, x)| RuleKind::ZtAddress {
            kind: k,
            address: Address::new(x)
        }),
        (31u8..=32, any::<[u8; 4]>(), any::<u8>()).prop_map(|(k, ip, m)| RuleKind::Ipv4 {
            kind: k,
            ip: Ipv4Addr::from(ip),
            mask: m
        }),
        (33u8..=34, any::<[u8; 16]>(), any::<u8>()).prop_map(|(k, ip, m)| RuleKind::Ipv6 {
            kind: k,
            ip: Ipv6Addr::from(ip),
            mask: m
        }),
        any::<u16>().prop_map(RuleKind::Ethertype),
        any::<u8>().prop_map(RuleKind::IpProtocol),
        (43u8..=51, proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(k, d)| RuleKind::Other { kind: k, data: d }),
    ];
    (any::<bool>(), any::<bool>(), kind).prop_map(|(not, or, kind)| Rule { not, or, kind })
}

fn prefix() -> impl Strategy<Value = IpPrefix> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u16..=32).prop_map(|(a, b)| IpPrefix {
            addr: IpAddr::from(a),
            bits: b
        }),
        (any::<[u8; 16]>(), 0u16..=128).prop_map(|(a, b)| IpPrefix {
            addr: IpAddr::from(a),
            bits: b
        }),
    ]
}

fn com() -> impl Strategy<Value = CertificateOfMembership> {
    (
        proptest::collection::vec(any::<(u64, u64, u64)>(), 0..10),
        any::<u64>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(q, s, sig)| {
            let signed_by = Address::new(s);
            let mut full = [0u8; 96];
            full[..32].copy_from_slice(&sig);
            CertificateOfMembership {
                qualifiers: q
                    .into_iter()
                    .map(|(id, value, max_delta)| Qualifier {
                        id,
                        value,
                        max_delta,
                    })
                    .collect(),
                signed_by,
                signature: (signed_by.to_u64() != 0).then_some(full),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_and_reencode(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        if let Ok(d) = Dictionary::parse(&data) {
            prop_assert_eq!(d.to_bytes(), data.clone());
            prop_assert_eq!(d.encoded_len(), data.len());
            if let Ok(c) = NetworkConfig::from_dictionary(&d) {
                prop_assert_eq!(NetworkConfig::parse(&c.to_bytes()).unwrap(), c);
            }
        }
        if let Ok(c) = CertificateOfMembership::parse(&data) {
            prop_assert_eq!(c.to_bytes(), data.clone());
        }
        let _ = CertificateOfMembership::parse_prefix(&data);
        if let Ok((c, n)) = CertificateOfOwnership::parse_prefix(&data) {
            let mut b = Vec::new();
            c.emit(&mut b);
            prop_assert_eq!(&b[..], &data[..n]);
        }
        let _ = CertificateOfOwnership::parse_list(&data);
        if let Ok((t, n)) = Tag::parse_prefix(&data) {
            let mut b = Vec::new();
            t.emit(&mut b);
            prop_assert_eq!(&b[..], &data[..n]);
        }
    }

    #[test]
    fn certificates_of_ownership_round_trip(
        nwid in any::<u64>(), ts in any::<u64>(), id in any::<u32>(), to in any::<u64>(),
        ips in proptest::collection::vec(prefix(), 0..16),
        sig in any::<[u8; 32]>(),
    ) {
        let things = ips.iter().map(|p| Thing::Ip(p.addr)).collect();
        let mut c = CertificateOfOwnership::new(NetworkId(nwid), ts, Address::new(to), id, things);
        c.signature[..32].copy_from_slice(&sig);
        let mut b = Vec::new();
        c.emit(&mut b);
        prop_assert_eq!(CertificateOfOwnership::parse_list(&b).unwrap(), vec![c]);
    }

    #[test]
    fn dictionary_like_input_never_panics(
        lines in proptest::collection::vec(("[a-zA-Z]{0,3}", proptest::collection::vec(prop_oneof![Just(b'\\'), Just(b'='), Just(b'0'), Just(b'e'), Just(b'n'), Just(b'\r'), any::<u8>()], 0..12)), 0..8)
    ) {
        let mut raw = Vec::new();
        for (i, (k, v)) in lines.iter().enumerate() {
            if i > 0 { raw.push(b'\n'); }
            raw.extend_from_slice(k.as_bytes());
            raw.push(b'=');
            raw.extend_from_slice(v);
        }
        let lim = DictLimits { max_len: 64, max_keys: 4 };
        if let Ok(d) = Dictionary::parse_with(&raw, &lim) {
            prop_assert_eq!(d.to_bytes(), raw);
            prop_assert!(d.len() <= 4);
        }
    }

    #[test]
    fn dictionaries_round_trip(entries in proptest::collection::vec((key(), proptest::collection::vec(any::<u8>(), 0..40)), 0..12)) {
        let mut d = Dictionary::new();
        for (k, v) in &entries {
            d.push(k, v.clone()).unwrap();
        }
        let b = d.to_bytes();
        prop_assert!(!b.contains(&0));
        let p = Dictionary::parse(&b).unwrap();
        prop_assert_eq!(&p, &d);
        for (k, v) in &entries {
            // The first entry under a key wins.
            let first = entries.iter().find(|(k2, _)| k2 == k).unwrap();
            prop_assert_eq!(p.get(k).unwrap(), first.1.as_slice());
            let _ = v;
        }
    }

    #[test]
    fn coms_round_trip(c in com()) {
        let b = c.to_bytes();
        if c.qualifiers.len() <= zerotier::vl2::com::MAX_QUALIFIERS {
            prop_assert_eq!(CertificateOfMembership::parse(&b).unwrap(), c);
        }
    }

    #[test]
    fn network_configs_round_trip(
        nwid in 1u64..,
        addr in any::<u64>(),
        ts in any::<u64>(),
        name in "\\PC{0,20}",
        mtu in 1280u64..=10000,
        ml in any::<u64>(),
        public in any::<bool>(),
        flags in any::<u64>(),
        ips in proptest::collection::vec(prefix(), 0..4),
        routes in proptest::collection::vec((prefix(), proptest::option::of(any::<[u8; 4]>()), any::<u16>(), any::<u16>()), 0..4),
        rules in proptest::collection::vec(rule(), 1..6),
        c in proptest::option::of(com()),
        caps in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        let mut n = NetworkConfig::new(NetworkId(nwid), Address::new(addr), ts);
        n.name = name;
        n.mtu = mtu;
        n.multicast_limit = ml;
        n.flags = flags;
        n.network_type = if public { NetworkType::Public } else { NetworkType::Private };
        n.static_ips = ips;
        n.routes = routes.into_iter().map(|(t, via, f, m)| Route {
            target: t,
            via: via.map_or(InetAddr::Nil, |v| InetAddr::Ip(SocketAddr::new(IpAddr::from(v), 0))),
            flags: f,
            metric: m,
        }).collect();
        n.rules = rules;
        n.com = c.filter(|c| c.qualifiers.len() <= zerotier::vl2::com::MAX_QUALIFIERS);
        n.capabilities = caps;
        let b = n.to_bytes();
        let back = NetworkConfig::parse(&b).unwrap();
        prop_assert_eq!(&back, &n);
        prop_assert_eq!(back.to_bytes(), b);
    }

    #[test]
    fn mac_derivation_inverts(addr in any::<u64>(), nwid in any::<u64>()) {
        let (a, n) = (Address::new(addr), NetworkId(nwid));
        let m = mac_for(a, n);
        prop_assert_eq!(m[0] & 0x01, 0, "unicast");
        prop_assert_eq!(m[0] & 0x02, 2, "locally administered");
        prop_assert_eq!(mac_to_address(m, n), Some(a));
    }
}
