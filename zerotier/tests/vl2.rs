//! VL2 against the real ZeroTierOne 1.14.1 captures (`../shared/captures/zerotier`): the network
//! config dictionary carried by OK(NETWORK_CONFIG_REQUEST) / NETWORK_CONFIG, the saved
//! `networks.d/74beb2463d000097.conf`, the typed config, certificates of membership and the
//! address derivations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zerotier::crypto::{dearmor, PeerKey};
use zerotier::vl2::Dictionary;
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
