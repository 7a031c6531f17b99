//! VL2 against the real ZeroTierOne 1.14.1 captures (`../shared/captures/zerotier`): the network
//! config dictionary carried by OK(NETWORK_CONFIG_REQUEST) / NETWORK_CONFIG, the saved
//! `networks.d/74beb2463d000097.conf`, the typed config, certificates of membership and the
//! address derivations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zerotier::crypto::{dearmor, PeerKey};
use zerotier::vl2::com::CertificateOfMembership;
use zerotier::vl2::derive::{mac_for, mac_to_address, mac_to_string, rfc4193, sixplane};
use zerotier::vl2::netconf::FLAG_ENABLE_BROADCAST;
use zerotier::vl2::{ComError, Dictionary, NetworkConfig, NetworkType, RuleKind};
use zerotier::wire::verbs::{Message, NetworkConfigChunk, OkBody};
use zerotier::wire::{lz4_decompress, Header, Verb, IDX_PAYLOAD, IDX_VERB};
use zerotier::{Address, Identity, NetworkId};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/zerotier")
}

fn identities() -> HashMap<Address, Identity> {
    let mut m = HashMap::new();
    for n in ["root", "a", "b"] {
        let t = std::fs::read_to_string(dir().join(n).join("identity.secret")).unwrap();
        let id = Identity::from_file_contents(&t).unwrap();
        m.insert(id.address(), id);
    }
    m
}

fn saved_conf(node: &str) -> Vec<u8> {
    std::fs::read(dir().join(node).join("networks.d/74beb2463d000097.conf")).unwrap()
}

/// UDP payloads of an Ethernet/IPv4 pcap, in order.
fn udp_payloads(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let d = &p.unwrap().data;
        let ihl = usize::from(d[14] & 0x0f) * 4;
        let udp = 14 + ihl;
        let len = usize::from(u16::from_be_bytes([d[udp + 4], d[udp + 5]]));
        out.push(d[udp + 8..udp + len].to_vec());
    }
    out
}

/// Every decrypted, decompressed and decoded message of a capture, with its frame number,
/// source and destination.
fn messages(pcap: &str, me: &str) -> Vec<(usize, Address, Address, Message)> {
    let ids = identities();
    let me: Address = me.parse().unwrap();
    let mut out = Vec::new();
    for (i, wire) in udp_payloads(&dir().join(pcap)).iter().enumerate() {
        if wire.len() < 28 {
            continue; // NAT-traversal junk
        }
        let h = Header::parse(wire).unwrap();
        let (mine, theirs) = if h.source == me {
            (h.source, h.dest)
        } else {
            (h.dest, h.source)
        };
        let key = PeerKey::new(ids[&mine].agree(&ids[&theirs]).unwrap());
        let mut buf = wire.clone();
        dearmor(&mut buf, &key).unwrap();
        let verb = Verb::from_u8(buf[IDX_VERB]);
        let payload = if buf[IDX_VERB] & 0x80 != 0 {
            let mut o = Vec::new();
            lz4_decompress(&buf[IDX_PAYLOAD..], &mut o).unwrap();
            o
        } else {
            buf[IDX_PAYLOAD..].to_vec()
        };
        out.push((
            i + 1,
            h.source,
            h.dest,
            Message::parse(verb, &payload).unwrap(),
        ));
    }
    out
}

/// The config chunks a member received (OK(NETWORK_CONFIG_REQUEST) and NETWORK_CONFIG pushes),
/// with their frame numbers.
fn config_chunks(pcap: &str, me: &str) -> Vec<(usize, NetworkConfigChunk)> {
    messages(pcap, me)
        .into_iter()
        .filter_map(|(f, _, dst, m)| {
            (dst.to_string() == me).then_some(())?;
            match m {
                Message::NetworkConfig(c) => Some((f, c)),
                Message::Ok(ok) => match ok.body {
                    OkBody::NetworkConfigRequest(c) => Some((f, c)),
                    _ => None,
                },
                _ => None,
            }
        })
        .collect()
}

/// Reassemble one config update from its chunks (by update ID, placed at their byte offsets).
fn assemble(chunks: &[&NetworkConfigChunk]) -> Vec<u8> {
    let info = chunks[0].info.as_ref().unwrap();
    let mut out = vec![0u8; info.total_len as usize];
    let mut filled = 0;
    for c in chunks {
        let i = c.info.as_ref().unwrap();
        assert_eq!(i.update_id, info.update_id);
        let at = i.chunk_index as usize;
        out[at..at + c.chunk.len()].copy_from_slice(&c.chunk);
        filled += c.chunk.len();
    }
    assert_eq!(filled, out.len(), "all chunks present");
    out
}

#[test]
fn saved_conf_parses_and_reemits_byte_exact() {
    for node in ["a", "b"] {
        let raw = saved_conf(node);
        let d = Dictionary::parse(&raw).unwrap();
        assert_eq!(d.to_bytes(), raw, "{node}");
        assert_eq!(d.encoded_len(), raw.len());
        assert_eq!(d.len(), 21);
        assert_eq!(d.get("nwid"), Some(&b"74beb2463d000097"[..]));
        assert_eq!(d.get_u64("ml").unwrap(), Some(32));
        assert_eq!(d.get_u64("mtu").unwrap(), Some(2800));
        assert_eq!(d.get_str("n").unwrap(), Some("zt-hidden-lab"));
    }
}

/// Each member received the config three times (OK to its request, a NETWORK_CONFIG push, and a
/// later refresh). Every one is a single chunk of the whole dictionary. The last one a member
/// received is byte-identical to the `.conf` it saved; the earlier ones differ only in the
/// timestamp (`ts`) and the timestamp-dependent credentials (`C`, `COO`: their timestamp and
/// signature, and so the escaping length), i.e. they are the same network config re-issued.
#[test]
fn captured_config_dictionary_equals_saved_conf() {
    for (pcap, me, node, n) in [
        ("pcap/a-underlay.pcap", "67681252b5", "a", 3),
        ("pcap/b-underlay.pcap", "1df7e85fc5", "b", 3),
        ("pcap-proto11/b-underlay-proto11.pcap", "1df7e85fc5", "b", 2),
    ] {
        let saved = Dictionary::parse(&saved_conf(node)).unwrap();
        let chunks = config_chunks(pcap, me);
        assert_eq!(chunks.len(), n, "{pcap}");
        let mut by_update: Vec<(u64, Vec<&NetworkConfigChunk>)> = Vec::new();
        for (_, c) in &chunks {
            assert_eq!(c.network_id, NetworkId(0x74beb2463d000097));
            let id = c.info.as_ref().unwrap().update_id;
            match by_update.iter_mut().find(|(u, _)| *u == id) {
                Some((_, v)) => v.push(c),
                None => by_update.push((id, vec![c])),
            }
        }
        let mut exact = 0;
        for (_, cs) in &by_update {
            let raw = assemble(cs);
            let d = Dictionary::parse(&raw).unwrap();
            assert_eq!(d.to_bytes(), raw, "{pcap}: byte-exact");
            if raw == saved_conf(node) {
                exact += 1;
                continue;
            }
            // Same keys in the same order; only ts, C and COO differ.
            let keys: Vec<_> = d.entries().map(|(k, _)| k.to_vec()).collect();
            let skeys: Vec<_> = saved.entries().map(|(k, _)| k.to_vec()).collect();
            assert_eq!(keys, skeys);
            for ((k, v), (_, sv)) in d.entries().zip(saved.entries()) {
                let differs = v != sv;
                let may = matches!(k, b"ts" | b"C" | b"COO");
                assert!(
                    !differs || may,
                    "{pcap}: key {}",
                    String::from_utf8_lossy(k)
                );
            }
        }
        if !pcap.contains("proto11") {
            assert_eq!(exact, 1, "{pcap}: the last refresh is the saved file");
        }
    }
}

fn root() -> Identity {
    identities()[&"74beb2463d".parse().unwrap()].public_only()
}

fn ident(node: &str) -> Identity {
    let t = std::fs::read_to_string(dir().join(node).join("identity.public")).unwrap();
    Identity::from_file_contents(&t).unwrap()
}

#[test]
fn typed_config_matches_the_controller_records() {
    let net: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("root/controller-network.json")).unwrap(),
    )
    .unwrap();
    for (node, ip) in [("a", "10.97.100.109/24"), ("b", "10.97.100.132/24")] {
        let raw = saved_conf(node);
        let c = NetworkConfig::parse(&raw).unwrap();
        let nj: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join(node).join("network.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(c.version, 7);
        assert_eq!(c.network_id, NetworkId(0x74beb2463d000097));
        assert_eq!(c.issued_to, ident(node).address());
        assert_eq!(c.revision, net["revision"].as_u64().unwrap());
        assert_eq!(c.revision, nj["netconfRevision"].as_u64().unwrap());
        assert_eq!(c.credential_time_max_delta, 1_800_000);
        assert_eq!(c.flags, FLAG_ENABLE_BROADCAST);
        assert!(c.broadcast_enabled());
        assert_eq!(
            c.broadcast_enabled(),
            net["enableBroadcast"].as_bool().unwrap()
        );
        assert_eq!(c.multicast_limit, 32);
        assert_eq!(c.multicast_limit, net["multicastLimit"].as_u64().unwrap());
        assert_eq!(c.network_type, NetworkType::Private);
        assert_eq!(c.name, "zt-hidden-lab");
        assert_eq!(c.mtu, 2800);
        assert_eq!(c.mtu, nj["mtu"].as_u64().unwrap());
        let ips: Vec<String> = c.static_ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, [ip]);
        assert_eq!(nj["assignedAddresses"][0].as_str().unwrap(), ip);
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.routes[0].target.to_string(), "10.97.100.0/24");
        assert_eq!(c.routes[0].via, zerotier::wire::InetAddr::Nil);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].kind, RuleKind::Accept);
        assert!(!c.rules[0].not && !c.rules[0].or);
        let dns = c.dns.as_ref().unwrap();
        assert_eq!(dns.domain, "");
        assert_eq!(dns.servers.len(), 4);
        assert_eq!(c.sso_enabled, Some(false));
        assert_eq!(c.sso_version, Some(0));
        assert!(c.extra.is_empty() && c.capabilities.is_empty() && c.tags.is_empty());
        assert!(!c.certificates_of_ownership.is_empty());
        let com = c.com.as_ref().unwrap();
        assert_eq!(com.network_id(), Some(c.network_id));
        assert_eq!(com.issued_to(), Some(c.issued_to));
        assert_eq!(
            com.timestamp(),
            Some((c.timestamp, c.credential_time_max_delta))
        );
        // Typed -> dictionary -> bytes reproduces the saved file exactly.
        assert_eq!(c.to_bytes(), raw, "{node}");
    }
}

#[test]
fn com_signatures_verify_with_the_controller_identity() {
    let root = root();
    let mut checked = 0;
    for node in ["a", "b"] {
        let c = NetworkConfig::parse(&saved_conf(node)).unwrap();
        let com = c.com.unwrap();
        assert_eq!(com.qualifiers.len(), 7);
        com.verify(&root).unwrap();
        com.issued_to_identity(&ident(node)).unwrap();
        assert_eq!(
            com.issued_to_identity(&ident(if node == "a" { "b" } else { "a" })),
            Err(ComError::NotIssuedTo)
        );
        assert_eq!(
            CertificateOfMembership::parse(&com.to_bytes()).unwrap(),
            com
        );
        checked += 1;
    }
    // Every COM pushed in NETWORK_CREDENTIALS verifies too, and re-encodes byte-exact.
    for (pcap, me) in [
        ("pcap/a-underlay.pcap", "67681252b5"),
        ("pcap/b-underlay.pcap", "1df7e85fc5"),
        ("pcap-proto11/b-underlay-proto11.pcap", "1df7e85fc5"),
    ] {
        for (_, src, _, m) in messages(pcap, me) {
            if let Message::NetworkCredentials(nc) = m {
                for w in &nc.coms {
                    let com = CertificateOfMembership::from(w);
                    com.verify(&root).unwrap();
                    assert_eq!(com.issued_to(), Some(src));
                    let mut a = Vec::new();
                    w.emit(&mut a);
                    assert_eq!(com.to_bytes(), a);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[test]
fn forged_or_altered_com_is_refused() {
    let root = root();
    let com = NetworkConfig::parse(&saved_conf("b")).unwrap().com.unwrap();
    // Altered timestamp.
    let mut x = com.clone();
    x.qualifiers[0].value += 1;
    assert_eq!(x.verify(&root), Err(ComError::BadSignature));
    // Altered issued-to (someone claiming b's certificate for itself).
    let mut x = com.clone();
    x.qualifiers[2].value ^= 1;
    assert_eq!(x.verify(&root), Err(ComError::BadSignature));
    // Flipped signature bit.
    let mut x = com.clone();
    x.signature.as_mut().unwrap()[5] ^= 0x10;
    assert_eq!(x.verify(&root), Err(ComError::BadSignature));
    // Signed by a member instead of the controller.
    let a = identities()[&"67681252b5".parse().unwrap()].clone();
    let mut x = com.clone();
    x.sign(&a).unwrap();
    assert!(matches!(x.verify(&root), Err(ComError::WrongSigner { .. })));
    assert!(matches!(x.verify(&a), Err(ComError::WrongSigner { .. })));
    // Unsigned.
    let mut x = com.clone();
    x.signed_by = Address::new(0);
    x.signature = None;
    assert_eq!(x.verify(&root), Err(ComError::Unsigned));
    // Truncated / bad version bytes.
    let b = com.to_bytes();
    assert!(matches!(
        CertificateOfMembership::parse(&b[..b.len() - 1]),
        Err(ComError::Truncated { .. })
    ));
    let mut v = b.clone();
    v[0] = 2;
    assert_eq!(
        CertificateOfMembership::parse(&v),
        Err(ComError::Version(2))
    );
    // A re-signed COM from the controller's own key verifies (the signing path is right).
    let root_secret = identities()[&"74beb2463d".parse().unwrap()].clone();
    let mut x = com.clone();
    x.qualifiers[0].value += 1;
    x.sign(&root_secret).unwrap();
    x.verify(&root).unwrap();
}

#[test]
fn coms_of_a_and_b_agree_and_the_max_delta_rule_holds() {
    let ca = NetworkConfig::parse(&saved_conf("a")).unwrap().com.unwrap();
    let cb = NetworkConfig::parse(&saved_conf("b")).unwrap().com.unwrap();
    let (ia, ib) = (ident("a"), ident("b"));
    ca.agrees_with(&cb, &ib).unwrap();
    cb.agrees_with(&ca, &ia).unwrap();
    // Presented by the wrong node: the identity hash does not match.
    assert_eq!(ca.agrees_with(&cb, &ia), Err(ComError::NotIssuedTo));
    // Timestamps exactly max delta apart agree, one ms more does not.
    let (ts_a, delta) = ca.timestamp().unwrap();
    let mut late = cb.clone();
    late.qualifiers[0].value = ts_a + delta;
    ca.agrees_with(&late, &ib).unwrap();
    late.qualifiers[0].value = ts_a + delta + 1;
    assert_eq!(ca.agrees_with(&late, &ib), Err(ComError::Disagree(0)));
    // Another network never agrees (max delta 0).
    let mut other = cb.clone();
    other.qualifiers[1].value ^= 1;
    assert_eq!(ca.agrees_with(&other, &ib), Err(ComError::Disagree(1)));
    // A missing qualifier does not agree.
    let mut short = cb.clone();
    short.qualifiers.remove(0);
    assert_eq!(ca.agrees_with(&short, &ib), Err(ComError::Disagree(0)));
}

#[test]
fn issued_com_has_the_captured_layout() {
    // A COM built by us for b with the saved timestamp equals the controller's, qualifier for
    // qualifier (including the identity hash); signing with the root's key gives a valid COM.
    let saved = NetworkConfig::parse(&saved_conf("b")).unwrap();
    let com = saved.com.unwrap();
    let (ts, delta) = com.timestamp().unwrap();
    let mut ours = CertificateOfMembership::new(ts, delta, saved.network_id, &ident("b"));
    assert_eq!(ours.qualifiers, com.qualifiers);
    assert_eq!(ours.signing_message(), com.signing_message());
    ours.sign(&identities()[&"74beb2463d".parse().unwrap()])
        .unwrap();
    ours.verify(&root()).unwrap();
    // Ed25519 signatures are deterministic; the 96-byte form ends with the digest half.
    assert_eq!(ours.signature, com.signature);
}

#[test]
fn config_chunk_signatures_verify() {
    let root = root();
    let mut n = 0;
    for (pcap, me) in [
        ("pcap/a-underlay.pcap", "67681252b5"),
        ("pcap/b-underlay.pcap", "1df7e85fc5"),
    ] {
        for (_, c) in config_chunks(pcap, me) {
            let mut p = Vec::new();
            c.emit(&mut p);
            let info = c.info.as_ref().unwrap();
            assert_eq!(info.signature_type, 1);
            let signed_len = 8 + 2 + c.chunk.len() + 1 + 8 + 4 + 4;
            assert!(root.verify(&p[..signed_len], &info.signature), "{pcap}");
            assert!(!root.verify(&p[..signed_len - 1], &info.signature));
            n += 1;
        }
    }
    assert_eq!(n, 6);
}

#[test]
fn member_macs_from_address_and_network() {
    let nwid = NetworkId(0x74beb2463d000097);
    for (node, mac) in [("a", "96:67:68:2f:14:07"), ("b", "96:1d:f7:d5:19:77")] {
        let addr = ident(node).address();
        let m = mac_for(addr, nwid);
        assert_eq!(mac_to_string(m), mac);
        let nj: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join(node).join("network.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(nj["mac"].as_str().unwrap(), mac);
        assert_eq!(mac_to_address(m, nwid), Some(addr));
        assert_eq!(mac_to_address(m, NetworkId(0x74beb2463d000098)), None);
    }
    // Seed vectors (spec section 5).
    for (n, a, mac) in [
        (0x1d71939404912b40, 0x879c0b5265, "42:ac:0d:0f:c6:f6"),
        (0x879c0b5265a99e4b, 0x879c0b5265, "4a:19:35:6e:00:6e"),
    ] {
        assert_eq!(mac_to_string(mac_for(Address::new(a), NetworkId(n))), mac);
    }
    // 0x52 as first octet is replaced by 0x32.
    assert_eq!(mac_for(Address::new(1), NetworkId(0x50))[0], 0x32);
}

#[test]
fn rfc4193_and_6plane_addresses() {
    let nwid = NetworkId(0x74beb2463d000097);
    let a = ident("a").address();
    assert_eq!(
        rfc4193(a, nwid).to_string(),
        "fd74:beb2:463d:0:9799:9367:6812:52b5"
    );
    // 6plane: fc, then 0x74beb246 ^ 0x3d000097 = 0x49beb2d1, then the address, then ::1.
    assert_eq!(sixplane(a, nwid).to_string(), "fc49:beb2:d167:6812:52b5::1");
    // The ZeroTier manual's example (section 2.2.3): network 9bee8941b5de0691, node 1234512345.
    let (n, a) = (NetworkId(0x9bee8941b5de0691), Address::new(0x1234512345));
    assert_eq!(
        rfc4193(a, n),
        "fd9b:ee89:41b5:de06:9199:9312:3451:2345"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
    );
    assert_eq!(
        sixplane(a, n),
        "fc2e:308f:d012:3451:2345:0000:0000:0001"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
    );
}

#[test]
fn captured_certificate_of_ownership_verifies() {
    use zerotier::vl2::{CertificateOfOwnership, CredentialError, Tag, Thing};
    let root = root();
    for (node, ip) in [("a", "10.97.100.109"), ("b", "10.97.100.132")] {
        let c = NetworkConfig::parse(&saved_conf(node)).unwrap();
        let coos = CertificateOfOwnership::parse_list(&c.certificates_of_ownership).unwrap();
        assert_eq!(coos.len(), 1);
        let coo = &coos[0];
        assert_eq!(coo.network_id, c.network_id);
        assert_eq!(coo.timestamp, c.timestamp);
        assert_eq!(coo.issued_to, c.issued_to);
        assert_eq!(coo.id, 1);
        assert_eq!(coo.things, [Thing::Ip(ip.parse().unwrap())]);
        assert!(coo.owns_ip(ip.parse().unwrap()));
        coo.verify(&root).unwrap();
        let mut b = Vec::new();
        coo.emit(&mut b);
        assert_eq!(b, c.certificates_of_ownership);
        // Claiming another address breaks the signature.
        let mut x = coo.clone();
        x.things = vec![Thing::Ip("10.97.100.1".parse().unwrap())];
        assert_eq!(x.verify(&root), Err(CredentialError::BadSignature));
        // Truncations are typed errors.
        for n in 0..b.len() {
            assert!(CertificateOfOwnership::parse_prefix(&b[..n]).is_err());
        }
    }
    // Tags: same framing; sign, verify, round trip, tamper.
    let secret = identities()[&"74beb2463d".parse().unwrap()].clone();
    let mut t = Tag {
        network_id: NetworkId(0x74beb2463d000097),
        timestamp: 5,
        id: 100,
        value: 7,
        issued_to: "67681252b5".parse().unwrap(),
        signed_by: Address::new(0),
        signature: [0; 96],
    };
    t.sign(&secret).unwrap();
    t.verify(&root).unwrap();
    let mut b = Vec::new();
    t.emit(&mut b);
    assert_eq!(Tag::parse_prefix(&b).unwrap(), (t.clone(), b.len()));
    t.value = 8;
    assert_eq!(t.verify(&root), Err(CredentialError::BadSignature));
}

/// The member side against the real controller's output: every captured config update,
/// fed to a [`Membership`](zerotier::vl2::Membership) of that member, is accepted (chunk
/// signatures, network, issued-to and COM all check) and brings the network to OK with the
/// captured addresses; the same chunks are refused by the other member.
#[test]
fn captured_configs_are_accepted_by_the_member_side() {
    use zerotier::vl2::{ConfigError, Membership, NetworkStatus};
    let nwid = NetworkId(0x74beb2463d000097);
    let now = std::time::Instant::now();
    for (pcap, me, other, node) in [
        ("pcap/a-underlay.pcap", "67681252b5", "1df7e85fc5", "a"),
        ("pcap/b-underlay.pcap", "1df7e85fc5", "67681252b5", "b"),
        (
            "pcap-proto11/b-underlay-proto11.pcap",
            "1df7e85fc5",
            "67681252b5",
            "b",
        ),
    ] {
        let ids = identities();
        let mine = ids[&me.parse().unwrap()].clone();
        let theirs = ids[&other.parse().unwrap()].clone();
        let mut m = Membership::new(root(), mine, nwid, now);
        let mut wrong = Membership::new(root(), theirs, nwid, now);
        let mut applied = 0;
        for (_, c) in config_chunks(pcap, me) {
            if m.handle_config_chunk(&c).unwrap() {
                applied += 1;
            }
            assert!(matches!(
                wrong.handle_config_chunk(&c),
                Err(ConfigError::NotForUs(_))
            ));
        }
        assert!(applied >= 2, "{pcap}");
        assert_eq!(m.status(), NetworkStatus::Ok);
        assert_eq!(wrong.status(), NetworkStatus::RequestingConfiguration);
        let saved = NetworkConfig::parse(&saved_conf(node)).unwrap();
        assert_eq!(m.config().unwrap().static_ips, saved.static_ips);
        if !pcap.contains("proto11") {
            // The last update received is the saved file.
            assert_eq!(m.config().unwrap(), &saved);
        }
    }
}
