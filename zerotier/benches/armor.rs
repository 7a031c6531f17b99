//! Armor + dearmor of one ZeroTier FRAME packet carrying a 1400-byte Ethernet payload
//! (28-byte header + 8-byte network ID + 2-byte ethertype + 1400 = 1438 bytes), per cipher
//! suite: AES-GMAC-SIV (what 1.14 peers use), Salsa20/12-Poly1305 (older peers).
//! `zerotier/benches/compare_openssl.sh` runs this next to the same AES-GMAC-SIV construction
//! built from OpenSSL's EVP primitives (`gmac_siv_openssl.c`) and prints the ratio;
//! `ZT_ARMOR_VECTOR=1 cargo bench -p rosproto-zerotier --bench armor` prints the armored test
//! packet so the script can check both produce the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use criterion::{black_box, Criterion, Throughput};
use zerotier::crypto::{armor, dearmor, CipherSuite, PeerKey};

/// The packet both implementations armor: ID 0x0102030405060708, dest 0a0b0c0d0e, source
/// 1112131415, FRAME to network 74beb2463d000097, ethertype 0x0800, payload bytes i*7 mod 256.
pub fn test_packet() -> Vec<u8> {
    let mut p = Vec::with_capacity(1438);
    p.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
    p.extend_from_slice(&[
        0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x11, 0x12, 0x13, 0x14, 0x15, 0x00,
    ]);
    p.extend_from_slice(&[0; 8]);
    p.push(0x06);
    p.extend_from_slice(&0x74be_b246_3d00_0097u64.to_be_bytes());
    p.extend_from_slice(&0x0800u16.to_be_bytes());
    p.extend((0..1400u32).map(|i| (i * 7) as u8));
    p
}

fn main() {
    let key = PeerKey::new([0x11; 48]);
    if std::env::var_os("ZT_ARMOR_VECTOR").is_some() {
        let mut p = test_packet();
        armor(&mut p, &key, CipherSuite::AesGmacSiv);
        println!("{}", hex::encode(&p));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("armor_dearmor");
    g.throughput(Throughput::Bytes(1400));
    for (name, suite) in [
        ("AES-GMAC-SIV", CipherSuite::AesGmacSiv),
        ("Salsa2012-Poly1305", CipherSuite::Salsa2012Poly1305),
    ] {
        let template = test_packet();
        let mut buf = template.clone();
        g.bench_function(format!("{name}/frame1400"), |b| {
            b.iter(|| {
                buf.copy_from_slice(&template);
                armor(&mut buf, &key, suite);
                let r = dearmor(black_box(&mut buf), &key);
                assert!(r.is_ok());
            })
        });
    }
    g.finish();
    c.final_summary();
}
