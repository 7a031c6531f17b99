//! IKEv1 known-answer test against the strongSwan 5.9.8 capture `ikev1-psk-libipsec`
//! (`../shared/captures/ike`, main mode PSK + quick mode + two informational deletes):
//! every ISAKMP message decodes and re-encodes byte-exact; from the PSK, the nonces and KE
//! values of the capture and the DH shared secret strongSwan logged (the DH private values are
//! not logged), our RFC 2409 schedule reproduces SKEYID, SKEYID_d/a/e, Ka and the initial IV;
//! every encrypted message decrypts along the CBC IV chains, its HASH verifies, its plaintext
//! re-encodes byte-exact and re-encrypts to the captured ciphertext; the quick mode KEYMAT
//! equals the ESP keys of `.keys.txt` and `.esp_sa`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use ipsec_ike::crypto::{Cipher, Encr, Prf};
use ipsec_ike::v1::crypto as v1c;
use ipsec_ike::v1::wire::*;

const CASE: &str = "ikev1-psk-libipsec";
const PSK: &[u8] = b"interop-psk-123";
const PRF: Prf = Prf::HmacSha256;
const ENCR: Encr = Encr::AesCbc(32);

/// The ISAKMP messages of the capture in order (port 4500 carries the non-ESP marker; ESP
/// datagrams are skipped).
fn isakmp() -> Vec<(Vec<u8>, Message)> {
    datagrams(CASE)
        .into_iter()
        .filter_map(|d| {
            let b = if d.sport == 500 || d.dport == 500 {
                d.payload
            } else if d.payload.len() >= 4 && d.payload[..4] == [0, 0, 0, 0] {
                d.payload[4..].to_vec()
            } else {
                return None;
            };
            let m = Message::parse(&b).unwrap_or_else(|e| panic!("{e}"));
            Some((b, m))
        })
        .collect()
}

fn body<'a>(ps: &'a [Payload], t: PayloadType) -> Vec<u8> {
    let p: &'a Payload = find(ps, t).unwrap_or_else(|| panic!("no payload {t:?}"));
    p.body_bytes()
}

/// Decrypt message `m` with `iv`, check the plaintext re-encodes and re-encrypts byte-exact;
/// returns the payloads and the next IV of the chain.
fn open(c: &Cipher, iv: &[u8], m: &Message) -> (Vec<Payload>, Vec<u8>) {
    let Body::Encrypted(ct) = &m.body else {
        panic!("not encrypted")
    };
    let (pt, next) = v1c::decrypt(c, iv, ct).unwrap();
    let (ps, used) = parse_chain(m.header.next_payload, &pt, 0).unwrap();
    assert!(
        used <= pt.len() && pt.len() - used <= 16,
        "padding {:02x?}",
        &pt[used..]
    );
    let mut again = chain_to_bytes(&ps);
    again.extend_from_slice(&pt[used..]);
    assert_eq!(&again[..], &pt[..], "plaintext re-encodes byte-exact");
    // strongSwan pads with 1..=block zero bytes, which is what `pad` produces.
    assert_eq!(v1c::pad(chain_to_bytes(&ps), ENCR), again);
    let (ct2, next2) = v1c::encrypt(c, iv, &again).unwrap();
    assert_eq!(&ct2, ct, "re-encrypts byte-exact");
    assert_eq!(next2, next);
    (ps, next)
}

#[test]
fn every_isakmp_message_round_trips() {
    let msgs = isakmp();
    assert_eq!(
        msgs.len(),
        11,
        "6 main mode + 3 quick mode + 2 informational"
    );
    for (b, m) in &msgs {
        assert_eq!(m.header.version, VERSION_1_0);
        assert_eq!(&m.to_bytes(), b);
    }
    let ex: Vec<ExchangeType> = msgs.iter().map(|(_, m)| m.header.exchange).collect();
    assert_eq!(&ex[..6], &[ExchangeType::MAIN; 6]);
    assert_eq!(&ex[6..9], &[ExchangeType::QUICK; 3]);
    assert_eq!(&ex[9..], &[ExchangeType::INFORMATIONAL; 2]);
    // Messages 1-4 in the clear, 5 on in the clear only after flag E.
    for (i, (_, m)) in msgs.iter().enumerate() {
        assert_eq!(m.header.is_encrypted(), i >= 4, "message {}", i + 1);
    }
    // The phase-1 proposal: KEY_IKE with AES-CBC-256, SHA2-256, PSK, MODP-2048 among them.
    let Payload::Sa(sa) = find(msgs[1].1.payloads(), PayloadType::SA).unwrap() else {
        panic!()
    };
    assert_eq!(sa.doi, DOI_IPSEC);
    assert_eq!(sa.situation, SIT_IDENTITY_ONLY);
    let t = &sa.proposals[0].transforms[0];
    let v = |a| t.attr(a).unwrap().as_u64().unwrap();
    assert_eq!(v(AttrType::ENCRYPTION_ALGORITHM), 7);
    assert_eq!(v(AttrType::KEY_LENGTH), 256);
    assert_eq!(v(AttrType::HASH_ALGORITHM), 4);
    assert_eq!(v(AttrType::AUTHENTICATION_METHOD), 1);
    assert_eq!(v(AttrType::GROUP_DESCRIPTION), 14);
    assert_eq!(
        find(msgs[2].1.payloads(), PayloadType::NAT_D).map(Payload::ptype),
        Some(PayloadType::NAT_D)
    );
}

#[test]
fn key_schedule_decryption_and_hashes_match_strongswan() {
    let k = keys(CASE);
    let msgs = isakmp();
    let m = |i: usize| &msgs[i - 1].1;
    let (cky_i, cky_r) = (m(2).header.spi_i, m(2).header.spi_r);
    assert_eq!(cky_i.to_vec(), h(&k["IKE SPI initiator"]));
    assert_eq!(cky_r.to_vec(), h(&k["IKE SPI responder"]));
    let sai_b = body(m(1).payloads(), PayloadType::SA);
    let gxi = body(m(3).payloads(), PayloadType::KE);
    let gxr = body(m(4).payloads(), PayloadType::KE);
    let ni = body(m(3).payloads(), PayloadType::NONCE);
    let nr = body(m(4).payloads(), PayloadType::NONCE);
    assert_eq!((gxi.len(), gxr.len()), (256, 256));
    let gxy = h(&k["shared Diffie Hellman secret"]);

    let skeyid = v1c::skeyid_psk(PRF, PSK, &ni, &nr);
    assert_eq!(&skeyid[..], &h(&k["SKEYID"])[..]);
    let ks = v1c::phase1_keys(PRF, skeyid, &gxy, &cky_i, &cky_r, ENCR);
    assert_eq!(&ks.skeyid_d[..], &h(&k["SKEYID_d"])[..]);
    assert_eq!(&ks.skeyid_a[..], &h(&k["SKEYID_a"])[..]);
    assert_eq!(&ks.skeyid_e[..], &h(&k["SKEYID_e"])[..]);
    assert_eq!(&ks.enc_key[..], &h(&k["encryption key Ka"])[..]);
    let iv0 = v1c::phase1_iv(PRF, ENCR, &gxi, &gxr).unwrap();
    assert_eq!(iv0, h(&k["initial IV"]));
    // Wireshark's ikev1_decryption_table holds the same cookie and key.
    let table =
        std::fs::read_to_string(dir().join(format!("{CASE}.ikev1_decryption_table"))).unwrap();
    let (c, key) = table.trim().split_once(',').unwrap();
    assert_eq!((h(c), h(key)), (cky_i.to_vec(), ks.enc_key.to_vec()));

    let c = Cipher::new(ENCR, &ks.enc_key).unwrap();
    // Main mode 5 and 6: ID, HASH_I / HASH_R along the phase-1 chain.
    let (p5, iv) = open(&c, &iv0, m(5));
    let idii = body(&p5, PayloadType::ID);
    let hash_i = v1c::phase1_hash(
        PRF, &ks.skeyid, true, &gxi, &gxr, &cky_i, &cky_r, &sai_b, &idii,
    );
    assert_eq!(body(&p5, PayloadType::HASH), hash_i, "HASH_I");
    let Payload::Id(id) = find(&p5, PayloadType::ID).unwrap() else {
        panic!()
    };
    assert_eq!(
        id.identity(),
        Some(Identity::Addr("10.99.3.2".parse().unwrap()))
    );
    let (p6, last_p1) = open(&c, &iv, m(6));
    let idir = body(&p6, PayloadType::ID);
    let hash_r = v1c::phase1_hash(
        PRF, &ks.skeyid, false, &gxi, &gxr, &cky_i, &cky_r, &sai_b, &idir,
    );
    assert_eq!(body(&p6, PayloadType::HASH), hash_r, "HASH_R");

    // Quick mode 7-9: IV from the last phase-1 block and the M-ID, then its own chain.
    let mid = m(7).header.message_id;
    assert_ne!(mid, 0);
    let iv7 = v1c::phase2_iv(PRF, ENCR, &last_p1, mid).unwrap();
    let (p7, iv8) = open(&c, &iv7, m(7));
    assert_eq!(p7[0].ptype(), PayloadType::HASH);
    assert_eq!(
        body(&p7, PayloadType::HASH),
        v1c::hash1(PRF, &ks.skeyid_a, mid, &chain_to_bytes(&p7[1..])),
        "HASH(1)"
    );
    let (p8, iv9) = open(&c, &iv8, m(8));
    let qni = body(&p7, PayloadType::NONCE);
    let qnr = body(&p8, PayloadType::NONCE);
    assert_eq!(
        body(&p8, PayloadType::HASH),
        v1c::hash2(PRF, &ks.skeyid_a, mid, &qni, &chain_to_bytes(&p8[1..])),
        "HASH(2)"
    );
    let (p9, _) = open(&c, &iv9, m(9));
    assert_eq!(p9.len(), 1);
    assert_eq!(
        body(&p9, PayloadType::HASH),
        v1c::hash3(PRF, &ks.skeyid_a, mid, &qni, &qnr),
        "HASH(3)"
    );
    // Phase-2 IDs: the tunnel's subnets/addresses 10.99.32.1 and 10.99.31.1.
    let ids: Vec<_> = p7
        .iter()
        .filter_map(|p| match p {
            Payload::Id(i) => i.identity(),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);

    // KEYMAT (no PFS): each SA keyed with the SPI its receiver chose. ESP = protocol 3,
    // AES-GCM-16-128 = 16-byte key + 4-byte salt.
    let spi = |ps: &[Payload]| match find(ps, PayloadType::SA).unwrap() {
        Payload::Sa(sa) => sa.proposals[0].spi.clone(),
        _ => unreachable!(),
    };
    let (spi_i, spi_r) = (spi(&p7), spi(&p8));
    assert_eq!(
        spi_r,
        h(&k["esp spi from 10.99.3.2"]),
        "I->R SA uses R's SPI"
    );
    assert_eq!(spi_i, h(&k["esp spi from 10.99.3.1"]));
    let len = Encr::AesGcm(16, 16).key_len();
    let to_r = v1c::keymat(PRF, &ks.skeyid_d, None, 3, &spi_r, &qni, &qnr, len);
    let to_i = v1c::keymat(PRF, &ks.skeyid_d, None, 3, &spi_i, &qni, &qnr, len);
    assert_eq!(&to_r[..], &h(&k["encryption initiator key"])[..]);
    assert_eq!(&to_i[..], &h(&k["encryption responder key"])[..]);
    for row in esp_table(CASE) {
        let want = if h(&row[3]) == spi_r { &to_r } else { &to_i };
        assert_eq!(&h(&row[5])[..], &want[..], "esp_sa row {row:?}");
    }

    // Informational 10, 11 (deletes): each its own chain from the last phase-1 block.
    let mut deleted = Vec::new();
    for i in [10, 11] {
        let mid = m(i).header.message_id;
        let iv = v1c::phase2_iv(PRF, ENCR, &last_p1, mid).unwrap();
        let (ps, _) = open(&c, &iv, m(i));
        assert_eq!(
            body(&ps, PayloadType::HASH),
            v1c::hash1(PRF, &ks.skeyid_a, mid, &chain_to_bytes(&ps[1..])),
            "informational HASH"
        );
        let Payload::Delete(d) = find(&ps, PayloadType::D).unwrap() else {
            panic!()
        };
        // The shapes our `close_and_delete` sends (the sender's inbound SPI for ESP; the
        // cookie pair for the ISAKMP SA), one Delete per informational exchange.
        assert_eq!(ps.len(), 2, "HASH, D");
        let want = if d.protocol == 1 {
            Delete {
                doi: DOI_IPSEC,
                protocol: 1,
                spi_size: 16,
                spis: vec![[cky_i, cky_r].concat()],
            }
        } else {
            Delete {
                doi: DOI_IPSEC,
                protocol: 3,
                spi_size: 4,
                spis: vec![spi_i.clone()],
            }
        };
        assert_eq!(d, &want);
        deleted.push(d.protocol);
    }
    deleted.sort();
    assert_eq!(deleted, vec![1, 3], "ISAKMP SA and ESP SA deleted");
}

/// NAT-T (RFC 3947) against the capture: strongSwan's first two messages carry the RFC 3947
/// vendor ID; the NAT-D hashes it sent for the destination of messages 3 and 4 equal our
/// [`nat_d`] of the cookies and the pcap's addresses and ports; strongSwan's libipsec forces
/// UDP encapsulation, so the hash of its *own* address in messages 3 and 4 deliberately
/// matches nothing (which is what our `force_encap` does too), and everything from message 5
/// on is on UDP 4500 with the non-ESP marker.
#[test]
fn nat_t_vendor_id_and_nat_d_match_strongswan() {
    use ipsec_ike::v1::session::{nat_d, VID_DPD, VID_RFC3947};
    use std::net::SocketAddr;
    let dgs: Vec<Datagram> = datagrams(CASE)
        .into_iter()
        .filter(|d| d.sport == 500 || d.payload.len() > 4 && d.payload[..4] == [0; 4])
        .collect();
    let msgs: Vec<Message> = isakmp().into_iter().map(|(_, m)| m).collect();
    assert_eq!(dgs.len(), msgs.len());
    for (k, m) in msgs.iter().take(2).enumerate() {
        assert!(
            m.payloads()
                .iter()
                .any(|p| matches!(p, Payload::VendorId(v) if v[..] == VID_RFC3947)),
            "message {} has the RFC 3947 vendor ID",
            k + 1
        );
        assert!(
            m.payloads()
                .iter()
                .any(|p| matches!(p, Payload::VendorId(v) if v[..] == VID_DPD)),
            "message {} has the RFC 3706 DPD vendor ID",
            k + 1
        );
    }
    let (ci, cr) = (msgs[2].header.spi_i, msgs[2].header.spi_r);
    let sock = |a: [u8; 4], p: u16| SocketAddr::from((a, p));
    for k in [2, 3] {
        let d = &dgs[k];
        let nds: Vec<Vec<u8>> = msgs[k]
            .payloads()
            .iter()
            .filter_map(|p| match p {
                Payload::NatD(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(nds.len(), 2, "message {}", k + 1);
        assert_eq!(
            nds[0],
            nat_d(PRF, &ci, &cr, sock(d.dst, d.dport)),
            "message {}: NAT-D of the destination",
            k + 1
        );
        let own = nat_d(PRF, &ci, &cr, sock(d.src, d.sport));
        // Both strongSwan peers run libipsec and force encapsulation: the hash of their own
        // address is a decoy.
        assert_ne!(nds[1], own, "message {}: forced-encapsulation decoy", k + 1);
    }
    // From main mode message 5 on: UDP 4500 both ways.
    for (k, d) in dgs.iter().enumerate() {
        let want = if k < 4 { 500 } else { 4500 };
        assert_eq!((d.sport, d.dport), (want, want), "message {}", k + 1);
    }
}
