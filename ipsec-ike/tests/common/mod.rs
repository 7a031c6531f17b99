//! Reading `../shared/captures/ike`: pcaps, key files and Wireshark UAT tables.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

pub fn dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for cand in [
        here.join("../../shared/captures/ike"),
        here.join("../shared/captures/ike"),
        PathBuf::from("/work/shared/captures/ike"),
    ] {
        if cand.is_dir() {
            return cand;
        }
    }
    panic!("captures folder shared/captures/ike not found");
}

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.trim().trim_start_matches("0x")).unwrap()
}

/// One UDP datagram of a capture.
#[derive(Clone, Debug)]
pub struct Datagram {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub payload: Vec<u8>,
}

/// UDP datagrams of an Ethernet/IPv4 pcap.
pub fn datagrams(case: &str) -> Vec<Datagram> {
    let bytes = std::fs::read(dir().join(format!("{case}.pcap"))).unwrap();
    let (linktype, frames) = netsim::pcap::parse(&bytes).unwrap();
    assert_eq!(linktype, netsim::pcap::LINKTYPE_ETHERNET);
    frames
        .into_iter()
        .filter_map(|(_, f)| {
            if f[12..14] != [0x08, 0x00] {
                return None;
            }
            let ip = &f[14..];
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ip[9] != 17 {
                return None;
            }
            let udp = &ip[ihl..];
            let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
            Some(Datagram {
                src: ip[12..16].try_into().unwrap(),
                dst: ip[16..20].try_into().unwrap(),
                sport: u16::from_be_bytes([udp[0], udp[1]]),
                dport: u16::from_be_bytes([udp[2], udp[3]]),
                payload: udp[8..ulen].to_vec(),
            })
        })
        .collect()
}

/// `key = value` lines of `<case>.keys.txt`.
pub fn keys(case: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(dir().join(format!("{case}.keys.txt"))).unwrap();
    let mut m = HashMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((k, v)) = l.split_once(" = ") {
            m.insert(k.trim().to_string(), v.trim().to_string());
        } else if let Some(rest) = l.strip_prefix("ESP SA SPI ") {
            // "ESP SA SPI 0xeada920f 10.99.3.1 -> 10.99.3.2"
            let mut it = rest.split_whitespace();
            let spi = it.next().unwrap().to_string();
            let src = it.next().unwrap().to_string();
            m.insert(format!("esp spi from {src}"), spi);
        }
    }
    m
}

/// Rows of the Wireshark `ikev2_decryption_table`: spi_i, spi_r, sk_ei, sk_er, encr, sk_ai,
/// sk_ar, integ.
pub fn ike_table(case: &str) -> Vec<Vec<String>> {
    let text =
        std::fs::read_to_string(dir().join(format!("{case}.ikev2_decryption_table"))).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// Rows of the Wireshark `esp_sa` table: family, src, dst, spi, encr, key, auth, auth key.
pub fn esp_table(case: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir().join(format!("{case}.esp_sa"))).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("\",\"")
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// The IKEv2 cases with ESP.
pub const CASES: &[&str] = &[
    "ikev2-psk-libipsec",
    "ikev2-psk-gcm-libipsec",
    "ikev2-cert-libipsec",
];
