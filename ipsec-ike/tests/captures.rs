//! Real-peer captures (strongSwan 5.9.8 <-> strongSwan 5.9.8, `../shared/captures/ike`):
//! every IKE message decodes and re-encodes byte-exact; with the logged keys the key schedule
//! reproduces strongSwan's SKEYSEED, SK_* and ESP keys; every SK/SKF payload decrypts, its inner
//! payloads re-encode byte-exact and the message re-encrypts byte-exact; every ESP packet
//! decrypts and re-encrypts byte-exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use ipsec_ike::crypto::{self, Encr, Group, IkeSuite, Integ, Prf};
use ipsec_ike::sk::{FragmentResult, Reassembly, SkCodec};
use ipsec_ike::wire::{parse_chain, Body, ExchangeType, Message, PayloadType};

/// The IKE message inside a datagram (port 4500 carries the 4-byte non-ESP marker).
fn ike_bytes(d: &Datagram) -> Option<&[u8]> {
    if d.sport == 500 || d.dport == 500 {
        Some(&d.payload)
    } else if d.payload.len() >= 4 && d.payload[..4] == [0, 0, 0, 0] {
        Some(&d.payload[4..])
    } else {
        None
    }
}

fn suite(case: &str) -> IkeSuite {
    if case.contains("gcm") {
        IkeSuite {
            encr: Encr::AesGcm(16, 16),
            integ: None,
            prf: Prf::HmacSha256,
            dh: Group::Curve25519,
        }
    } else {
        IkeSuite {
            encr: Encr::AesCbc(32),
            integ: Some(Integ::HmacSha256_128),
            prf: Prf::HmacSha256,
            dh: Group::Modp(2048),
        }
    }
}

#[test]
fn every_ike_message_round_trips() {
    for case in CASES.iter().chain(["ikev1-psk-libipsec"].iter()) {
        let mut n = 0;
        for d in datagrams(case) {
            let Some(b) = ike_bytes(&d) else { continue };
            if case.contains("ikev1") {
                // The IKEv2 decoder refuses IKEv1 with a typed error (tests/v1_captures.rs decodes it).
                assert!(Message::parse(b).is_err());
                continue;
            }
            let m = Message::parse(b).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(m.to_bytes(), b, "{case}: message {n} re-encodes byte-exact");
            n += 1;
        }
        if !case.contains("ikev1") {
            assert!(n >= 8, "{case}: {n} IKE messages");
        }
    }
}

fn nonce(m: &Message) -> Vec<u8> {
    match &m.find(PayloadType::NONCE).unwrap().body {
        Body::Nonce(n) => n.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn key_schedule_matches_strongswan() {
    for case in CASES {
        let k = keys(case);
        let msgs: Vec<Message> = datagrams(case)
            .iter()
            .filter_map(|d| ike_bytes(d).map(|b| Message::parse(b).unwrap()))
            .collect();
        let req = &msgs[0];
        let resp = &msgs[1];
        assert_eq!(req.header.exchange, ExchangeType::IKE_SA_INIT);
        let (ni, nr) = (nonce(req), nonce(resp));
        let gir = h(&k["shared Diffie Hellman secret"]);
        let s = suite(case);
        let skeyseed = crypto::skeyseed(s.prf, &ni, &nr, &gir);
        assert_eq!(&skeyseed[..], &h(&k["SKEYSEED"])[..], "{case}: SKEYSEED");
        let keys = crypto::ike_keys(
            &s,
            &skeyseed,
            &ni,
            &nr,
            &resp.header.spi_i,
            &resp.header.spi_r,
        )
        .unwrap();
        assert_eq!(&keys.sk_d[..], &h(&k["Sk_d secret"])[..]);
        assert_eq!(&keys.sk_ei[..], &h(&k["Sk_ei secret"])[..]);
        assert_eq!(&keys.sk_er[..], &h(&k["Sk_er secret"])[..]);
        assert_eq!(&keys.sk_pi[..], &h(&k["Sk_pi secret"])[..]);
        assert_eq!(&keys.sk_pr[..], &h(&k["Sk_pr secret"])[..]);
        if s.integ.is_some() {
            assert_eq!(&keys.sk_ai[..], &h(&k["Sk_ai secret"])[..]);
            assert_eq!(&keys.sk_ar[..], &h(&k["Sk_ar secret"])[..]);
        }
        // The ESP SA of IKE_AUTH: AES-GCM-16-128 (16-byte key + 4-byte salt), no PFS.
        let [ei, ii, er, ir] = crypto::child_keys(
            s.prf,
            &keys.sk_d,
            None,
            &ni,
            &nr,
            Encr::AesGcm(16, 16),
            None,
        )
        .unwrap();
        assert!(ii.is_empty() && ir.is_empty());
        assert_eq!(
            &ei[..],
            &h(&k["encryption initiator key"])[..],
            "{case}: ESP key i->r"
        );
        assert_eq!(
            &er[..],
            &h(&k["encryption responder key"])[..],
            "{case}: ESP key r->i"
        );
    }
}

fn codecs(case: &str) -> (SkCodec, SkCodec) {
    let t = &ike_table(case)[0];
    let s = suite(case);
    let integ = |k: &str| s.integ.map(|i| (i, h(k)));
    let ai = integ(&t[5]);
    let ar = integ(&t[6]);
    let i = SkCodec::new(s.encr, &h(&t[2]), ai.as_ref().map(|(i, k)| (*i, &k[..]))).unwrap();
    let r = SkCodec::new(s.encr, &h(&t[3]), ar.as_ref().map(|(i, k)| (*i, &k[..]))).unwrap();
    (i, r)
}

#[test]
fn every_sk_payload_decrypts_and_reencrypts_byte_exact() {
    for case in CASES {
        let (ci, cr) = codecs(case);
        let mut opened = 0;
        let mut fragments = 0;
        let mut reasm = Reassembly::default();
        let mut complete = 0;
        for d in datagrams(case) {
            let Some(b) = ike_bytes(&d) else { continue };
            let m = Message::parse(b).unwrap();
            let Some(last) = m.payloads.last() else {
                continue;
            };
            if !matches!(last.body, Body::Sk { .. } | Body::Skf { .. }) {
                continue;
            }
            // The sender's direction: the original initiator uses SK_ei/SK_ai.
            let codec = if m.header.is_initiator() { &ci } else { &cr };
            let o = codec
                .open(b, &m)
                .unwrap_or_else(|e| panic!("{case}: open: {e}"));
            opened += 1;
            let clear = &m.payloads[..m.payloads.len() - 1];
            let frag = match last.body {
                Body::Skf { number, total, .. } => Some((number, total)),
                _ => None,
            };
            let resealed = codec
                .seal(
                    &m.header,
                    clear,
                    o.first,
                    &o.inner,
                    Some(&o.padding),
                    &o.iv,
                    frag,
                )
                .unwrap();
            assert_eq!(resealed, b, "{case}: re-encrypts byte-exact");
            let plain = match frag {
                None => Some((o.first, o.inner.clone())),
                Some((n, t)) => {
                    fragments += 1;
                    match reasm.add(m.header.message_id, n, t, o.first, o.inner.clone()) {
                        FragmentResult::Complete(f, v) => Some((f, v)),
                        FragmentResult::Pending => None,
                        other => panic!("{other:?}"),
                    }
                }
            };
            if let Some((first, inner)) = plain {
                complete += 1;
                let chain =
                    parse_chain(first, &inner, 0).unwrap_or_else(|e| panic!("{case}: inner: {e}"));
                assert_eq!(
                    ipsec_ike::wire::chain_to_bytes(&chain),
                    inner,
                    "{case}: inner re-encodes"
                );
                if m.header.exchange == ExchangeType::IKE_AUTH {
                    assert!(
                        chain.iter().any(|p| p.ptype == PayloadType::AUTH),
                        "{case}: AUTH inside"
                    );
                }
            }
        }
        assert!(opened >= 6, "{case}: {opened} SK payloads");
        if case.contains("cert") {
            assert_eq!(fragments, 4, "cert case: two fragments each way");
        }
        assert!(complete >= 5);
        // A flipped bit anywhere fails the ICV.
        let d = datagrams(case)
            .into_iter()
            .find(|d| ike_bytes(d).is_some_and(|b| b[18] == 37))
            .unwrap();
        let mut b = ike_bytes(&d).unwrap().to_vec();
        let n = b.len();
        b[n - 20] ^= 1;
        let m = Message::parse(&b).unwrap();
        let codec = if m.header.is_initiator() { &ci } else { &cr };
        assert!(codec.open(&b, &m).is_err());
    }
}

#[test]
fn every_esp_packet_decrypts_and_reencrypts_byte_exact() {
    use ipsec_ike::esp::{classify_udp_encap, EspParams, EspSa, UdpEncap};
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for case in CASES {
        let mut sas: Vec<EspSa> = esp_table(case)
            .iter()
            .map(|row| {
                assert!(row[4].starts_with("AES-GCM with 16 octet ICV"));
                let p = EspParams {
                    spi: u32::from_str_radix(row[3].trim_start_matches("0x"), 16).unwrap(),
                    encr: Encr::AesGcm(16, 16),
                    enc_key: h(&row[5]),
                    integ: None,
                    integ_key: vec![],
                    esn: false,
                    replay_window: 32,
                };
                EspSa::new(&p, &mut rng).unwrap()
            })
            .collect();
        let mut n = 0;
        for d in datagrams(case) {
            if d.dport != 4500 {
                continue;
            }
            let UdpEncap::Esp(esp) = classify_udp_encap(&d.payload) else {
                continue;
            };
            let spi = u32::from_be_bytes(esp[..4].try_into().unwrap());
            let sa = sas.iter_mut().find(|s| s.spi() == spi).unwrap();
            let mut buf = esp.to_vec();
            let dec = sa
                .decapsulate_in_place(&mut buf)
                .unwrap_or_else(|e| panic!("{case}: {e:?}"));
            assert_eq!(dec.next_header, 4, "tunnel mode: IPv4 inside");
            let inner = buf[dec.payload.clone()].to_vec();
            // An ICMP echo between the inner addresses 10.99.32.1 and 10.99.31.1.
            assert_eq!(inner[9], 1);
            assert!(inner[12..16] == [10, 99, 32, 1] || inner[12..16] == [10, 99, 31, 1]);
            let ct_end = buf.len() - 16;
            let padl = usize::from(buf[ct_end - 2]);
            let padding = buf[ct_end - 2 - padl..ct_end - 2].to_vec();
            let mut out = Vec::new();
            sa.seal_with(dec.seq, &esp[8..16], 4, &inner, Some(&padding), &mut out)
                .unwrap();
            assert_eq!(
                out, esp,
                "{case}: ESP seq {} re-encrypts byte-exact",
                dec.seq
            );
            n += 1;
        }
        assert_eq!(n, 6, "{case}: three pings, both directions");
    }
}

/// The decrypted inner payloads of the IKE_AUTH exchange (request, response).
fn ike_auth_payloads(case: &str) -> (Vec<ipsec_ike::wire::Payload>, Vec<ipsec_ike::wire::Payload>) {
    let (ci, cr) = codecs(case);
    let mut reasm = Reassembly::default();
    let mut out = Vec::new();
    for d in datagrams(case) {
        let Some(b) = ike_bytes(&d) else { continue };
        let m = Message::parse(b).unwrap();
        if m.header.exchange != ExchangeType::IKE_AUTH {
            continue;
        }
        let codec = if m.header.is_initiator() { &ci } else { &cr };
        let o = codec.open(b, &m).unwrap();
        let plain = match m.payloads.last().unwrap().body {
            Body::Skf { number, total, .. } => {
                match reasm.add(m.header.message_id, number, total, o.first, o.inner) {
                    FragmentResult::Complete(f, v) => Some((f, v)),
                    _ => None,
                }
            }
            _ => Some((o.first, o.inner)),
        };
        if let Some((f, v)) = plain {
            out.push(parse_chain(f, &v, 0).unwrap());
        }
    }
    (out[0].clone(), out[1].clone())
}

#[test]
fn auth_payloads_of_the_captures_verify() {
    use ipsec_ike::auth::{self, CertInfo, CertStore};
    use ipsec_ike::wire::{Auth, Id};
    for case in CASES {
        let k = keys(case);
        let msgs: Vec<(Vec<u8>, Message)> = datagrams(case)
            .iter()
            .filter_map(|d| ike_bytes(d).map(|b| (b.to_vec(), Message::parse(b).unwrap())))
            .collect();
        let (m1, m2) = (&msgs[0], &msgs[1]);
        let (ni, nr) = (nonce(&m1.1), nonce(&m2.1));
        let (req, resp) = ike_auth_payloads(case);
        let get = |ps: &[ipsec_ike::wire::Payload], t| {
            ps.iter().find(|p| p.ptype == t).map(|p| p.body.clone())
        };
        let (Some(Body::Id(idi)), Some(Body::Auth(ai))) =
            (get(&req, PayloadType::IDI), get(&req, PayloadType::AUTH))
        else {
            panic!()
        };
        let (Some(Body::Id(idr)), Some(Body::Auth(ar))) =
            (get(&resp, PayloadType::IDR), get(&resp, PayloadType::AUTH))
        else {
            panic!()
        };
        let oct_i = auth::signed_octets(&m1.0, &nr, Prf::HmacSha256, &h(&k["Sk_pi secret"]), &idi);
        let oct_r = auth::signed_octets(&m2.0, &ni, Prf::HmacSha256, &h(&k["Sk_pr secret"]), &idr);
        let check = |a: &Auth, id: &Id, oct: &[u8], who: &str| {
            if case.contains("cert") {
                let pem = std::fs::read_to_string(dir().join(format!("pki/{who}.crt"))).unwrap();
                let cert = CertInfo::from_pem(&pem).unwrap();
                assert!(cert.matches_id(id), "{case}: ID is the subject DN");
                let mut store = CertStore::default();
                store.cas.push(
                    CertInfo::from_pem(&std::fs::read_to_string(dir().join("pki/ca.crt")).unwrap())
                        .unwrap(),
                );
                store.validate(&cert.der, &[]).unwrap();
                assert_eq!(a.method, ipsec_ike::wire::AuthMethod::DIGITAL_SIGNATURE);
                auth::verify(&cert.public, a.method, &a.data, oct).unwrap();
                let mut bad = oct.to_vec();
                bad[0] ^= 1;
                assert!(auth::verify(&cert.public, a.method, &a.data, &bad).is_err());
            } else {
                assert_eq!(
                    a.data,
                    auth::psk_auth(Prf::HmacSha256, b"interop-psk-123", oct),
                    "{case}: {who} PSK AUTH"
                );
            }
        };
        check(&ai, &idi, &oct_i, "initiator");
        check(&ar, &idr, &oct_r, "responder");
    }
}
