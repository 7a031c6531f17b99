//! RADIUS: known answers (RFC 2865 s7, RFC 2548, RFC 3579), the client against an in-test
//! fake server in virtual time (retransmit timings, failover, dead-time, drops, accounting),
//! and the Dynamic Authorization server (RFC 5176).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use netsim::TestRng;
use ppp::radius::crypto::{self, Signing};
use ppp::radius::wire::{attr, ms};
use ppp::radius::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Known answers
// ---------------------------------------------------------------------------------------

/// RFC 2865 s7.1: "nemo" / "arctangent", secret "xyzzy5461".
const RFC2865_7_1_REQUEST: &str = "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee
    04 06 c0 a8 01 10 05 06 00 00 00 03";
const RFC2865_7_1_ACCEPT: &str = "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03";
/// RFC 2865 s7.2: CHAP Access-Request of "flopsy".
const RFC2865_7_2_REQUEST: &str = "01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e
    0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9 75 57 c3 16 18 58 95 f2 93 ff 63 44
    07 72 75 04 06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00 02 07 06 00 00 00 01";

#[test]
fn rfc2865_7_1_pap_request_is_built_byte_exact() {
    let ra: [u8; 16] = h("0f403f94739780 57bd83d5cb98f4227a").try_into().unwrap();
    let mut p = Packet::new(Code::AccessRequest, 0, ra);
    p.push(Attribute::new(attr::USER_NAME, "nemo"));
    let hidden = crypto::hide_password(b"xyzzy5461", &ra, b"arctangent").unwrap();
    assert_eq!(hidden, h("0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee"));
    p.push(Attribute::new(attr::USER_PASSWORD, hidden.clone()));
    p.push(Attribute::ipv4(
        attr::NAS_IP_ADDRESS,
        Ipv4Addr::new(192, 168, 1, 16),
    ));
    p.push(Attribute::u32(attr::NAS_PORT, 3));
    assert_eq!(p.to_bytes().unwrap(), h(RFC2865_7_1_REQUEST));
    assert_eq!(
        crypto::unhide_password(b"xyzzy5461", &ra, &hidden).unwrap(),
        b"arctangent"
    );
    // And parsing gives the same packet back.
    assert_eq!(Packet::parse(&h(RFC2865_7_1_REQUEST)).unwrap(), p);
}

#[test]
fn rfc2865_7_1_accept_response_authenticator() {
    let req = h(RFC2865_7_1_REQUEST);
    let ra: [u8; 16] = req[4..20].try_into().unwrap();
    let acc = h(RFC2865_7_1_ACCEPT);
    assert_eq!(
        crypto::response_authenticator(&acc, &ra, b"xyzzy5461"),
        acc[4..20]
    );
    assert!(crypto::verify(&acc, Signing::Response(&ra), b"xyzzy5461", false).is_ok());
    assert!(crypto::verify(&acc, Signing::Response(&ra), b"xyzzy5462", false).is_err());
    // Signing our own parse of it reproduces it.
    let p = Packet::parse(&acc).unwrap();
    assert_eq!(p.get_u32(attr::SERVICE_TYPE), Some(1));
    let mut b = p.to_bytes().unwrap();
    b[4..20].fill(0);
    crypto::sign(&mut b, Signing::Response(&ra), b"xyzzy5461");
    assert_eq!(b, acc);
}

#[test]
fn rfc2865_7_2_chap_request_round_trips() {
    let b = h(RFC2865_7_2_REQUEST);
    let p = Packet::parse(&b).unwrap();
    assert_eq!(p.user_name().as_deref(), Some("flopsy"));
    let chap = p.get(attr::CHAP_PASSWORD).unwrap();
    assert_eq!(chap.value[0], 0x16);
    assert_eq!(chap.value.len(), 17);
    assert_eq!(p.get_u32(attr::NAS_PORT), Some(20));
    assert_eq!(p.to_bytes().unwrap(), b);
    // Our builder makes the same CHAP-Password from the PPP proof (the challenge is the
    // Request Authenticator in the RFC's example; we always send CHAP-Challenge).
    let creds = Credentials::Chap {
        ident: 0x16,
        challenge: b[4..20].to_vec(),
        response: chap.value[1..].try_into().unwrap(),
    };
    let mut c = RadiusClient::new(config(1), t0(), TestRng(1)).unwrap();
    c.send_access_request(t0(), AccessRequest::new("flopsy", creds))
        .unwrap();
    let sent = Packet::parse(&c.poll_transmit(t0()).unwrap().payload).unwrap();
    assert_eq!(sent.get(attr::CHAP_PASSWORD), Some(chap));
    assert_eq!(
        sent.get(attr::CHAP_CHALLENGE).unwrap().value,
        b[4..20].to_vec()
    );
}

#[test]
fn user_password_hiding_multi_block_and_limits() {
    let ra = [7u8; 16];
    let pw = b"a password of more than sixteen octets, three blocks";
    let hidden = crypto::hide_password(b"s3cret", &ra, pw).unwrap();
    assert_eq!(hidden.len(), 64);
    // Block 2 is keyed by ciphertext block 1 (RFC 2865 s5.2), computed here independently.
    let mut padded = pw.to_vec();
    padded.resize(64, 0);
    let b1: [u8; 16] = Md5::new()
        .chain_update(b"s3cret")
        .chain_update(ra)
        .finalize()
        .into();
    let b2: [u8; 16] = Md5::new()
        .chain_update(b"s3cret")
        .chain_update(&hidden[..16])
        .finalize()
        .into();
    for i in 0..16 {
        assert_eq!(hidden[i], padded[i] ^ b1[i]);
        assert_eq!(hidden[16 + i], padded[16 + i] ^ b2[i]);
    }
    assert_eq!(
        crypto::unhide_password(b"s3cret", &ra, &hidden).unwrap(),
        pw
    );
    assert_eq!(crypto::hide_password(b"s", &ra, b"").unwrap().len(), 16);
    assert!(crypto::hide_password(b"s", &ra, &[1u8; 129]).is_err());
    assert!(crypto::unhide_password(b"s", &ra, &[1u8; 15]).is_none());
}

#[test]
fn rfc2548_mppe_key_encryption() {
    let secret = b"testing123";
    let ra: [u8; 16] = h("00112233445566778899aabbccddeeff").try_into().unwrap();
    let key: Vec<u8> = (1..=16).collect();
    let v = crypto::mppe_key_encrypt(secret, &ra, 0x0123, &key).unwrap();
    // Salt with the high bit set, then 32 octets: length(1) | key(16) | 15 zero pad.
    assert_eq!(&v[..2], &[0x81, 0x23]);
    assert_eq!(v.len(), 2 + 32);
    let b1: [u8; 16] = Md5::new()
        .chain_update(secret)
        .chain_update(ra)
        .chain_update([0x81, 0x23])
        .finalize()
        .into();
    let b2: [u8; 16] = Md5::new()
        .chain_update(secret)
        .chain_update(&v[2..18])
        .finalize()
        .into();
    let mut plain = vec![16u8];
    plain.extend_from_slice(&key);
    plain.resize(32, 0);
    for i in 0..16 {
        assert_eq!(v[2 + i], plain[i] ^ b1[i]);
        assert_eq!(v[18 + i], plain[16 + i] ^ b2[i]);
    }
    assert_eq!(crypto::mppe_key_decrypt(secret, &ra, &v).unwrap(), key);
    // Wrong secret: the embedded length no longer fits (or the key differs).
    assert_ne!(
        crypto::mppe_key_decrypt(b"other", &ra, &v),
        Some(key.clone())
    );
    // A salt without the high bit is refused.
    let mut bad = v.clone();
    bad[0] &= 0x7f;
    assert!(crypto::mppe_key_decrypt(secret, &ra, &bad).is_none());
}

/// Published bytes: the MS-MPPE key vector of a third-party RADIUS library's test suite
/// (shared secret "hogehogefugafuga", salt 0x8036, 16-octet key).
#[test]
fn rfc2548_mppe_key_published_vector() {
    let secret = b"hogehogefugafuga";
    let ra: [u8; 16] = h("678ae6ed696e1bd10ae2fea105d46a56").try_into().unwrap();
    let encrypted = h("8036 f4abbe2117fb3e4a7874dce91c5b0449 8ec7720f168688562dbc88e21cab6271");
    let key = h("fc6ea418373d8e90c136fae3735e37d1");
    assert_eq!(
        crypto::mppe_key_decrypt(secret, &ra, &encrypted).unwrap(),
        key
    );
    assert_eq!(
        crypto::mppe_key_encrypt(secret, &ra, 0x8036, &key).unwrap(),
        encrypted
    );
}

#[test]
fn rfc3579_message_authenticator() {
    // An Access-Request with an EAP-Response/Identity "bob" and a Message-Authenticator: the
    // value is HMAC-MD5(secret, packet with the value zeroed), computed here independently.
    let ra = [0x42u8; 16];
    let mut p = Packet::new(Code::AccessRequest, 9, ra);
    p.push(Attribute::new(attr::USER_NAME, "bob"));
    p.push_eap_message(&h("02 00 00 08 01 62 6f 62"));
    p.push(Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]));
    let zeroed = p.to_bytes().unwrap();
    let mut signed = zeroed.clone();
    crypto::sign(&mut signed, Signing::AccessRequest, b"sharedsecret");
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(b"sharedsecret").unwrap();
    mac.update(&zeroed);
    let want = mac.finalize().into_bytes();
    let n = signed.len();
    assert_eq!(&signed[n - 16..], want.as_slice());
    assert!(crypto::verify(&signed, Signing::AccessRequest, b"sharedsecret", true).is_ok());
    let mut tampered = signed.clone();
    tampered[25] ^= 1;
    assert_eq!(
        crypto::verify(&tampered, Signing::AccessRequest, b"sharedsecret", true),
        Err(crypto::VerifyError::MessageAuthenticator)
    );

    // A reply: Message-Authenticator over the packet holding the *request's* authenticator,
    // then the Response Authenticator over the final packet (RFC 3579 s3.2).
    let mut r = Packet::new(Code::AccessChallenge, 9, [0; 16]);
    r.push_eap_message(&h("01 01 00 06 04 10"));
    r.push(Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]));
    let mut rb = r.to_bytes().unwrap();
    crypto::sign(&mut rb, Signing::Response(&ra), b"sharedsecret");
    let mut check = rb.clone();
    check[4..20].copy_from_slice(&ra);
    let n = check.len();
    check[n - 16..].fill(0);
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(b"sharedsecret").unwrap();
    mac.update(&check);
    assert_eq!(&rb[n - 16..], mac.finalize().into_bytes().as_slice());
    let ma: [u8; 16] = rb[n - 16..].try_into().unwrap();
    let _ = ma;
    assert_eq!(
        crypto::response_authenticator(&rb, &ra, b"sharedsecret"),
        rb[4..20]
    );
    assert!(crypto::verify(&rb, Signing::Response(&ra), b"sharedsecret", true).is_ok());
}

#[test]
fn codec_rejects_bad_input_with_typed_errors() {
    assert_eq!(Packet::parse(&[1, 0, 0]), Err(ParseError::Short { len: 3 }));
    let mut b = h(RFC2865_7_1_REQUEST);
    assert!(matches!(
        Packet::parse(&b[..40]),
        Err(ParseError::Truncated { .. })
    ));
    b[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(Packet::parse(&b), Err(ParseError::BadLength { length: 19 }));
    let mut b = h(RFC2865_7_1_REQUEST);
    b[21] = 0x40; // User-Name length past the end
    assert!(matches!(
        Packet::parse(&b),
        Err(ParseError::AttributeTruncated { offset: 20 })
    ));
    b[21] = 1;
    assert_eq!(
        Packet::parse(&b),
        Err(ParseError::AttributeLength {
            offset: 20,
            length: 1
        })
    );
    assert!(matches!(
        Packet::parse(&[0u8; 4097]),
        Err(ParseError::Oversized { len: 4097 })
    ));
    // Padding beyond Length is ignored.
    let mut b = h(RFC2865_7_1_REQUEST);
    b.extend_from_slice(&[0xaa; 7]);
    assert_eq!(
        Packet::parse(&b).unwrap().to_bytes().unwrap(),
        h(RFC2865_7_1_REQUEST)
    );
    // Emit refuses oversize values and small buffers, leaving the buffer untouched.
    let mut p = Packet::new(Code::AccessRequest, 0, [0; 16]);
    p.push(Attribute::new(attr::CLASS, vec![0u8; 254]));
    assert!(p.to_bytes().is_err());
    let p = Packet::parse(&h(RFC2865_7_1_REQUEST)).unwrap();
    let mut small = [0x55u8; 10];
    assert!(p.emit(&mut small).is_err());
    assert_eq!(small, [0x55; 10]);
}

#[test]
fn vendor_specific_attributes_kept_raw_and_split() {
    let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
    p.push(Attribute::vendor(14988, 8, b"10M/10M")); // MikroTik-Rate-Limit
    p.push(Attribute::new(attr::VENDOR_SPECIFIC, vec![0, 0, 0, 9, 1])); // not sub-TLV shaped
    let b = p.to_bytes().unwrap();
    let q = Packet::parse(&b).unwrap();
    assert_eq!(q, p);
    assert_eq!(
        q.vendor_attributes(),
        vec![VendorAttribute {
            vendor_id: 14988,
            vendor_type: 8,
            value: b"10M/10M".to_vec()
        }]
    );
    assert_eq!(q.attributes.len(), 2);
}

// ---------------------------------------------------------------------------------------
// The client against a fake server, in virtual time
// ---------------------------------------------------------------------------------------

fn t0() -> Instant {
    netsim_base()
}

fn netsim_base() -> Instant {
    use std::sync::OnceLock;
    static T: OnceLock<Instant> = OnceLock::new();
    *T.get_or_init(Instant::now)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn server_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8))
}

fn secret(i: usize) -> Vec<u8> {
    format!("secret-{i}").into_bytes()
}

fn config(n: usize) -> RadiusConfig {
    let mut c = RadiusConfig::default();
    for i in 0..n {
        c.servers.push(RadiusServer::new(server_ip(i), secret(i)));
    }
    c
}

/// The in-test RADIUS server: decodes a request, checks it, and builds signed replies.
struct FakeServer {
    secret: Vec<u8>,
}

impl FakeServer {
    fn new(i: usize) -> Self {
        FakeServer { secret: secret(i) }
    }

    fn reply(&self, request: &[u8], code: Code, attrs: Vec<Attribute>) -> Vec<u8> {
        let req = Packet::parse(request).unwrap();
        let mut p = Packet::new(code, req.id, [0; 16]);
        p.attributes = attrs;
        let mut b = p.to_bytes().unwrap();
        crypto::sign(&mut b, Signing::Response(&req.authenticator), &self.secret);
        b
    }

    fn check_access(&self, request: &[u8]) -> Packet {
        let p = Packet::parse(request).unwrap();
        assert_eq!(p.code, Code::AccessRequest);
        assert!(crypto::verify(request, Signing::AccessRequest, &self.secret, true).is_ok());
        p
    }
}

fn drain(c: &mut RadiusClient, now: Instant) -> Vec<Transmit> {
    std::iter::from_fn(|| c.poll_transmit(now)).collect()
}

fn events(c: &mut RadiusClient) -> Vec<RadiusEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn pap(user: &str, pw: &str) -> AccessRequest {
    AccessRequest::new(
        user,
        Credentials::Pap {
            password: pw.as_bytes().to_vec().into(),
        },
    )
}

#[test]
fn pap_accept_maps_the_reply() {
    let now = t0();
    let mut c = RadiusClient::new(config(1), now, TestRng(3)).unwrap();
    let hd = c
        .send_access_request(now, pap("nemo", "arctangent"))
        .unwrap();
    let tx = drain(&mut c, now);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].destination, SocketAddr::new(server_ip(0), 1812));
    let srv = FakeServer::new(0);
    let req = srv.check_access(&tx[0].payload);
    let hidden = &req.get(attr::USER_PASSWORD).unwrap().value;
    assert_eq!(
        crypto::unhide_password(&srv.secret, &req.authenticator, hidden).unwrap(),
        b"arctangent"
    );
    let send_key = [0x11u8; 16];
    let recv_key = [0x22u8; 16];
    let ar = [0xabu8; 20];
    let success = format!(
        "S={} M=ok",
        ar.iter().map(|b| format!("{b:02X}")).collect::<String>()
    );
    let mut s = vec![1u8];
    s.extend_from_slice(success.as_bytes());
    let attrs = vec![
        Attribute::ipv4(attr::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 0, 0, 9)),
        Attribute::new(attr::FRAMED_POOL, "vpn-pool"),
        Attribute::u32(attr::SESSION_TIMEOUT, 3600),
        Attribute::u32(attr::IDLE_TIMEOUT, 600),
        Attribute::u32(attr::ACCT_INTERIM_INTERVAL, 300),
        Attribute::new(attr::CLASS, "c1"),
        Attribute::new(attr::CLASS, "c2"),
        Attribute::vendor(
            ms::VENDOR_ID,
            ms::MPPE_SEND_KEY,
            &crypto::mppe_key_encrypt(&srv.secret, &req.authenticator, 1, &send_key).unwrap(),
        ),
        Attribute::vendor(
            ms::VENDOR_ID,
            ms::MPPE_RECV_KEY,
            &crypto::mppe_key_encrypt(&srv.secret, &req.authenticator, 2, &recv_key).unwrap(),
        ),
        Attribute::vendor(ms::VENDOR_ID, ms::CHAP2_SUCCESS, &s),
        Attribute::vendor(14988, 8, b"10M/10M"),
    ];
    let wire_reply = srv.reply(&tx[0].payload, Code::AccessAccept, attrs);
    let from = SocketAddr::new(server_ip(0), 1812);
    assert_eq!(
        c.handle_datagram(now + ms(5), from, &wire_reply),
        Input::Delivered
    );
    let ev = events(&mut c);
    let [RadiusEvent::Accept { handle, reply }] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(*handle, hd);
    assert_eq!(reply.framed_ip_address, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(reply.framed_pool.as_deref(), Some("vpn-pool"));
    assert_eq!(reply.session_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(reply.idle_timeout, Some(Duration::from_secs(600)));
    assert_eq!(reply.acct_interim_interval, Some(Duration::from_secs(300)));
    assert_eq!(reply.class, vec![b"c1".to_vec(), b"c2".to_vec()]);
    assert_eq!(
        reply.mppe_send_key.as_deref().map(|v| v.as_slice()),
        Some(&send_key[..])
    );
    assert_eq!(
        reply.mppe_recv_key.as_deref().map(|v| v.as_slice()),
        Some(&recv_key[..])
    );
    assert_eq!(reply.ms_chap2_success, Some(ar));
    assert_eq!(reply.vendor.len(), 1);
    assert_eq!(reply.vendor[0].vendor_id, 14988);
    // The bridge to the PPP host.
    let ppp::Verdict::Accept {
        attributes,
        authenticator_response,
        keys,
    } = reply.to_verdict(ppp::AuthMethod::MsChap2)
    else {
        panic!()
    };
    assert_eq!(attributes.remote_address, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(attributes.interim_interval, Some(Duration::from_secs(300)));
    assert_eq!(authenticator_response, Some(ar));
    let keys = keys.unwrap();
    assert_eq!((keys.send_key, keys.recv_key), (send_key, recv_key));
    // The same reply again: the request is gone.
    assert_eq!(
        c.handle_datagram(now + ms(6), from, &wire_reply),
        Input::Dropped(DropReason::UnknownId)
    );
    assert_eq!(c.outstanding(), 0);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn reject_and_challenge() {
    let now = t0();
    let mut c = RadiusClient::new(config(1), now, TestRng(4)).unwrap();
    let srv = FakeServer::new(0);
    let from = SocketAddr::new(server_ip(0), 1812);
    c.send_access_request(now, pap("a", "b")).unwrap();
    let tx = drain(&mut c, now);
    let r = srv.reply(
        &tx[0].payload,
        Code::AccessReject,
        vec![
            Attribute::new(attr::REPLY_MESSAGE, "bad "),
            Attribute::new(attr::REPLY_MESSAGE, "password"),
        ],
    );
    assert_eq!(c.handle_datagram(now, from, &r), Input::Delivered);
    let ev = events(&mut c);
    let [RadiusEvent::Reject { reply, .. }] = ev.as_slice() else {
        panic!()
    };
    assert_eq!(reply.reply_message.as_deref(), Some("bad password"));

    let eap = Credentials::Eap {
        message: h("02 00 00 08 01 62 6f 62"),
    };
    c.send_access_request(now, AccessRequest::new("bob", eap))
        .unwrap();
    let tx = drain(&mut c, now);
    let req = srv.check_access(&tx[0].payload);
    assert_eq!(req.eap_message().unwrap(), h("02 00 00 08 01 62 6f 62"));
    let r = srv.reply(
        &tx[0].payload,
        Code::AccessChallenge,
        vec![
            Attribute::new(attr::EAP_MESSAGE, h("01 01 00 06 04 10")),
            Attribute::new(attr::STATE, "st"),
            Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]),
        ],
    );
    assert_eq!(c.handle_datagram(now, from, &r), Input::Delivered);
    let ev = events(&mut c);
    let [RadiusEvent::Challenge { reply, .. }] = ev.as_slice() else {
        panic!()
    };
    assert_eq!(reply.state.as_deref(), Some(&b"st"[..]));
    assert_eq!(
        reply.eap_message.as_deref(),
        Some(&h("01 01 00 06 04 10")[..])
    );
}

#[test]
fn retransmit_failover_and_timeout_timings_are_exact() {
    let now = t0();
    let mut c = RadiusClient::new(config(2), now, TestRng(5)).unwrap();
    let hd = c.send_access_request(now, pap("u", "p")).unwrap();
    let first = drain(&mut c, now);
    let mut log: Vec<(Duration, SocketAddr, Vec<u8>)> = vec![(
        Duration::ZERO,
        first[0].destination,
        first[0].payload.clone(),
    )];
    let mut evs = Vec::new();
    while let Some(t) = c.poll_timeout() {
        c.handle_timeout(t);
        for tx in drain(&mut c, t) {
            log.push((t - now, tx.destination, tx.payload));
        }
        evs.extend(events(&mut c));
    }
    let a = SocketAddr::new(server_ip(0), 1812);
    let b = SocketAddr::new(server_ip(1), 1812);
    let times: Vec<(u128, SocketAddr)> = log.iter().map(|(t, d, _)| (t.as_millis(), *d)).collect();
    assert_eq!(
        times,
        vec![(0, a), (300, a), (600, a), (900, b), (1200, b), (1500, b)]
    );
    // Retransmissions are the same octets; the failover is a new packet (new authenticator,
    // hidden with the other secret).
    assert_eq!(log[0].2, log[1].2);
    assert_eq!(log[0].2, log[2].2);
    assert_ne!(log[2].2[4..20], log[3].2[4..20]);
    assert_eq!(log[3].2, log[5].2);
    FakeServer::new(1).check_access(&log[3].2);
    assert_eq!(
        evs,
        vec![
            RadiusEvent::ServerDead {
                server: 0,
                until: now + ms(900) + Duration::from_secs(30)
            },
            RadiusEvent::ServerDead {
                server: 1,
                until: now + ms(1800) + Duration::from_secs(30)
            },
            RadiusEvent::Timeout { handle: hd },
        ]
    );
    let st = c.stats();
    assert_eq!(
        (st.sent, st.retransmitted, st.failovers, st.timeouts),
        (2, 4, 1, 1)
    );
}

#[test]
fn timeout_and_retransmits_settings_are_observed() {
    let now = t0();
    let mut cfg = config(1);
    cfg.servers[0].timeout = ms(1000);
    cfg.retransmits = 0;
    let mut c = RadiusClient::new(cfg, now, TestRng(5)).unwrap();
    let hd = c.send_access_request(now, pap("u", "p")).unwrap();
    drain(&mut c, now);
    assert_eq!(c.poll_timeout(), Some(now + ms(1000)));
    c.handle_timeout(now + ms(999));
    assert!(drain(&mut c, now).is_empty());
    c.handle_timeout(now + ms(1000));
    assert!(drain(&mut c, now).is_empty());
    assert!(events(&mut c).contains(&RadiusEvent::Timeout { handle: hd }));
}

#[test]
fn dead_time_skips_a_failed_server_until_it_expires() {
    let now = t0();
    let mut cfg = config(2);
    cfg.dead_time = Duration::from_secs(10);
    let mut c = RadiusClient::new(cfg, now, TestRng(6)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    drain(&mut c, now);
    for t in [300, 600, 900] {
        c.handle_timeout(now + ms(t));
    }
    let tx = drain(&mut c, now + ms(900));
    assert_eq!(tx.last().unwrap().destination.ip(), server_ip(1));
    assert!(c.is_dead(0, now + ms(900)));
    // Server B answers: the next request, within A's dead-time, goes straight to B.
    let r = FakeServer::new(1).reply(&tx.last().unwrap().payload, Code::AccessAccept, vec![]);
    assert_eq!(
        c.handle_datagram(now + ms(950), SocketAddr::new(server_ip(1), 1812), &r),
        Input::Delivered
    );
    let t1 = now + Duration::from_secs(5);
    c.send_access_request(t1, pap("u", "p")).unwrap();
    assert_eq!(drain(&mut c, t1)[0].destination.ip(), server_ip(1));
    // After the dead-time (900 ms + 10 s) A is first again.
    let t2 = now + ms(900) + Duration::from_secs(10);
    assert!(!c.is_dead(0, t2));
    c.send_access_request(t2, pap("u", "p")).unwrap();
    assert_eq!(drain(&mut c, t2)[0].destination.ip(), server_ip(0));
}

#[test]
fn bad_replies_get_typed_drops_and_the_request_keeps_waiting() {
    let now = t0();
    let mut c = RadiusClient::new(config(2), now, TestRng(7)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let tx = drain(&mut c, now);
    let a = SocketAddr::new(server_ip(0), 1812);
    let b = SocketAddr::new(server_ip(1), 1812);
    let good = FakeServer::new(0).reply(&tx[0].payload, Code::AccessAccept, vec![]);
    // Signed with the wrong secret.
    let forged = FakeServer::new(1).reply(&tx[0].payload, Code::AccessAccept, vec![]);
    assert_eq!(
        c.handle_datagram(now, a, &forged),
        Input::Dropped(DropReason::WrongAuthenticator)
    );
    // The right reply, but from the other server.
    assert_eq!(
        c.handle_datagram(now, b, &good),
        Input::Dropped(DropReason::WrongServer)
    );
    // From nowhere known.
    let x = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 1812);
    assert_eq!(
        c.handle_datagram(now, x, &good),
        Input::Dropped(DropReason::UnknownSource)
    );
    // Another identifier.
    let mut other = good.clone();
    other[1] ^= 0x80;
    assert_eq!(
        c.handle_datagram(now, a, &other),
        Input::Dropped(DropReason::UnknownId)
    );
    // A truncated attribute.
    let mut trunc = good.clone();
    trunc.extend_from_slice(&[attr::CLASS, 9, 1]);
    let n = trunc.len() as u16;
    trunc[2..4].copy_from_slice(&n.to_be_bytes());
    assert_eq!(
        c.handle_datagram(now, a, &trunc),
        Input::Dropped(DropReason::TruncatedAttribute)
    );
    // Oversized.
    let mut big = good.clone();
    big.resize(5000, 0);
    assert_eq!(
        c.handle_datagram(now, a, &big),
        Input::Dropped(DropReason::Oversized)
    );
    // An Accounting-Response to an Access-Request.
    let wrong_code = FakeServer::new(0).reply(&tx[0].payload, Code::AccountingResponse, vec![]);
    assert_eq!(
        c.handle_datagram(now, a, &wrong_code),
        Input::Dropped(DropReason::UnexpectedCode)
    );
    // A Message-Authenticator that does not verify.
    let mut p = Packet::parse(&good).unwrap();
    p.push(Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]));
    let mut bad_ma = p.to_bytes().unwrap();
    let ra: [u8; 16] = tx[0].payload[4..20].try_into().unwrap();
    let ra2 = crypto::response_authenticator(&bad_ma, &ra, &secret(0));
    bad_ma[4..20].copy_from_slice(&ra2);
    assert_eq!(
        c.handle_datagram(now, a, &bad_ma),
        Input::Dropped(DropReason::BadMessageAuthenticator)
    );
    assert_eq!(c.stats().dropped, 8);
    assert!(events(&mut c).is_empty());
    assert_eq!(c.handle_datagram(now, a, &good), Input::Delivered);
    assert!(matches!(
        events(&mut c).as_slice(),
        [RadiusEvent::Accept { .. }]
    ));
}

#[test]
fn outstanding_identifiers_are_bounded_per_server() {
    let now = t0();
    let mut c = RadiusClient::new(config(2), now, TestRng(8)).unwrap();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..256 {
        c.send_access_request(now, pap("u", "p")).unwrap();
        let tx = drain(&mut c, now);
        assert_eq!(tx[0].destination.ip(), server_ip(0));
        ids.insert(tx[0].payload[1]);
    }
    assert_eq!(ids.len(), 256);
    // Server A is full: the next one goes to B; when B is full too, no id is free.
    for _ in 0..256 {
        c.send_access_request(now, pap("u", "p")).unwrap();
        assert_eq!(drain(&mut c, now)[0].destination.ip(), server_ip(1));
    }
    assert_eq!(
        c.send_access_request(now, pap("u", "p")),
        Err(RadiusError::NoIdAvailable)
    );
    // max_outstanding is a setting.
    let mut cfg = config(1);
    cfg.max_outstanding = 2;
    let mut c = RadiusClient::new(cfg, now, TestRng(8)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let h2 = c.send_access_request(now, pap("u", "p")).unwrap();
    assert!(c.send_access_request(now, pap("u", "p")).is_err());
    c.cancel(h2);
    assert!(c.send_access_request(now, pap("u", "p")).is_ok());
}

#[test]
fn config_is_validated_naming_the_field() {
    let now = t0();
    assert_eq!(
        RadiusClient::new(RadiusConfig::default(), now, TestRng(1)).err(),
        Some(RadiusConfigError::NoServers)
    );
    let mut c = config(2);
    c.servers[1].secret = SharedSecret::new("");
    assert_eq!(c.validate(), Err(RadiusConfigError::EmptySecret(1)));
    let mut c = config(1);
    c.servers[0].timeout = Duration::ZERO;
    assert_eq!(c.validate(), Err(RadiusConfigError::ZeroTimeout(0)));
    let mut c = config(1);
    c.max_outstanding = 257;
    assert!(c.validate().is_err());
    let s = RadiusServer::new(server_ip(0), "x");
    assert_eq!(s.authentication_port, 1812);
    assert_eq!(s.accounting_port, 1813);
    assert_eq!(s.timeout, ms(300));
    assert!(!format!("{:?}", s).contains("\"x\""));
    assert_eq!(RadiusConfig::default().retransmits, 2);
    assert_eq!(RadiusConfig::default().dead_time, Duration::from_secs(30));
}

#[test]
fn nas_identity_and_src_address_are_sent() {
    let now = t0();
    let mut cfg = config(1);
    cfg.nas_identifier = Some("MikroTik".into());
    cfg.servers[0].src_address = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    cfg.servers[0].authentication_port = 11812;
    let mut c = RadiusClient::new(cfg, now, TestRng(9)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let tx = drain(&mut c, now);
    assert_eq!(tx[0].destination.port(), 11812);
    assert_eq!(tx[0].source, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
    let p = Packet::parse(&tx[0].payload).unwrap();
    assert_eq!(
        p.get_ipv4(attr::NAS_IP_ADDRESS),
        Some(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(
        p.get_text(attr::NAS_IDENTIFIER).as_deref(),
        Some("MikroTik")
    );
}

#[test]
fn accounting_port_and_message_authenticator_requirement_are_observed() {
    let now = t0();
    let mut cfg = config(1);
    cfg.servers[0].accounting_port = 11813;
    cfg.servers[0].require_message_authenticator = true;
    let mut c = RadiusClient::new(cfg, now, TestRng(12)).unwrap();
    c.send_accounting(
        now,
        AccountingRequest::new(AcctStatus::Start, "1", "u").attributes(),
    )
    .unwrap();
    assert_eq!(drain(&mut c, now)[0].destination.port(), 11813);
    c.send_access_request(now, pap("u", "p")).unwrap();
    let tx = drain(&mut c, now);
    let srv = FakeServer::new(0);
    let from = SocketAddr::new(server_ip(0), 1812);
    // Without a Message-Authenticator: dropped; with one: delivered.
    let plain = srv.reply(&tx[0].payload, Code::AccessAccept, vec![]);
    assert_eq!(
        c.handle_datagram(now, from, &plain),
        Input::Dropped(DropReason::BadMessageAuthenticator)
    );
    let ma = Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]);
    let signed = srv.reply(&tx[0].payload, Code::AccessAccept, vec![ma]);
    assert_eq!(c.handle_datagram(now, from, &signed), Input::Delivered);
    // An EAP reply always needs one, whatever the setting.
    let mut c = RadiusClient::new(config(1), now, TestRng(13)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let tx = drain(&mut c, now);
    let eap = Attribute::new(attr::EAP_MESSAGE, h("03 01 00 04"));
    let r = srv.reply(&tx[0].payload, Code::AccessAccept, vec![eap]);
    assert_eq!(
        c.handle_datagram(now, from, &r),
        Input::Dropped(DropReason::BadMessageAuthenticator)
    );
}

#[test]
fn mschap2_request_layout() {
    let now = t0();
    let mut c = RadiusClient::new(config(1), now, TestRng(10)).unwrap();
    let req = ppp::AuthRequest {
        id: 1,
        user: "alice".into(),
        method: ppp::AuthMethod::MsChap2,
        proof: ppp::AuthProof::MsChap2 {
            auth_challenge: [1; 16],
            peer_challenge: [2; 16],
            nt_response: [3; 24],
        },
    };
    c.send_access_request(
        now,
        AccessRequest::from_ppp(&req, Some("02:00:00:00:00:01")),
    )
    .unwrap();
    let p = Packet::parse(&drain(&mut c, now)[0].payload).unwrap();
    assert_eq!(
        p.vendor(ms::VENDOR_ID, ms::CHAP_CHALLENGE).unwrap().value,
        [1; 16]
    );
    let r = p.vendor(ms::VENDOR_ID, ms::CHAP2_RESPONSE).unwrap().value;
    assert_eq!(r.len(), 50);
    assert_eq!(&r[2..18], &[2; 16]);
    assert_eq!(&r[18..26], &[0; 8]);
    assert_eq!(&r[26..50], &[3; 24]);
    assert_eq!(
        p.get_text(attr::CALLING_STATION_ID).as_deref(),
        Some("02:00:00:00:00:01")
    );
    assert_eq!(p.get_u32(attr::SERVICE_TYPE), Some(2));
}

// ---------------------------------------------------------------------------------------
// Accounting
// ---------------------------------------------------------------------------------------

#[test]
fn accounting_start_interim_stop_with_gigawords() {
    let now = t0();
    let mut c = RadiusClient::new(config(1), now, TestRng(11)).unwrap();
    let acct = SocketAddr::new(server_ip(0), 1813);
    let mut start = AccountingRequest::new(AcctStatus::Start, "0000002A", "nemo");
    start.class = vec![b"c1".to_vec()];
    let hd = c.send_accounting(now, start.attributes()).unwrap();
    let tx = drain(&mut c, now);
    assert_eq!(tx[0].destination, acct);
    // The server checks the Accounting-Request authenticator (RFC 2866 s3).
    assert!(crypto::verify(&tx[0].payload, Signing::ComputedRequest, &secret(0), false).is_ok());
    let p = Packet::parse(&tx[0].payload).unwrap();
    assert_eq!(p.code, Code::AccountingRequest);
    assert_eq!(p.get_u32(attr::ACCT_STATUS_TYPE), Some(1));
    assert_eq!(p.get(attr::CLASS).unwrap().value, b"c1");
    assert!(p.get(attr::ACCT_INPUT_OCTETS).is_none());
    let r = FakeServer::new(0).reply(&tx[0].payload, Code::AccountingResponse, vec![]);
    // An accounting reply on the authentication port is not the accounting request's.
    assert_eq!(
        c.handle_datagram(now, SocketAddr::new(server_ip(0), 1812), &r),
        Input::Dropped(DropReason::WrongServer)
    );
    assert_eq!(c.handle_datagram(now, acct, &r), Input::Delivered);
    assert_eq!(
        events(&mut c),
        vec![RadiusEvent::AccountingDone { handle: hd }]
    );

    let mut stop = AccountingRequest::new(AcctStatus::Stop, "0000002A", "nemo");
    stop.input_octets = (5 << 32) + 7;
    stop.output_octets = 1234;
    stop.input_packets = 10;
    stop.output_packets = 20;
    stop.session_time = Some(Duration::from_millis(65_900));
    stop.terminate_cause = Some(TerminateCause::from_ppp(&ppp::TerminateReason::IdleTimeout));
    c.send_accounting(now, stop.attributes()).unwrap();
    let p = Packet::parse(&drain(&mut c, now)[0].payload).unwrap();
    assert_eq!(p.get_u32(attr::ACCT_STATUS_TYPE), Some(2));
    assert_eq!(p.get_u32(attr::ACCT_INPUT_OCTETS), Some(7));
    assert_eq!(p.get_u32(attr::ACCT_INPUT_GIGAWORDS), Some(5));
    assert_eq!(p.get_u32(attr::ACCT_OUTPUT_OCTETS), Some(1234));
    assert_eq!(p.get_u32(attr::ACCT_OUTPUT_GIGAWORDS), Some(0));
    assert_eq!(p.get_u32(attr::ACCT_INPUT_PACKETS), Some(10));
    assert_eq!(p.get_u32(attr::ACCT_OUTPUT_PACKETS), Some(20));
    assert_eq!(p.get_u32(attr::ACCT_SESSION_TIME), Some(65));
    assert_eq!(p.get_u32(attr::ACCT_TERMINATE_CAUSE), Some(4));
}

#[test]
fn accounting_from_a_host_record() {
    let rec = ppp::host::AccountingRecord {
        session_id: 42,
        user: "nemo".into(),
        caller_id: "10.1.1.1".into(),
        service: ppp::Service::L2tp,
        framed_address: Some(Ipv4Addr::new(10, 0, 0, 9)),
        uptime: Duration::from_secs(100),
        counters: ppp::Counters {
            rx_bytes: 1000,
            tx_bytes: 2000,
            rx_packets: 3,
            tx_packets: 4,
            ..Default::default()
        },
        reason: Some(ppp::TerminateReason::PeerRequest("bye".into())),
    };
    let a = AccountingRequest::from_record(ppp::host::AccountingKind::Stop, &rec, &[]);
    assert_eq!(a.status, AcctStatus::Stop);
    assert_eq!(a.session_id, "0000002A");
    assert_eq!((a.input_octets, a.output_octets), (1000, 2000));
    assert_eq!(a.terminate_cause, Some(TerminateCause::UserRequest));
    assert_eq!(a.session_time, Some(Duration::from_secs(100)));
}

#[test]
fn interim_schedule_in_virtual_time() {
    let now = t0();
    // From the reply (Acct-Interim-Interval 300 s): due at 300, 600, 900 s; a late wake-up
    // at 905 s does not shift the next (1200 s); a long sleep collapses missed updates.
    let mut s = InterimSchedule::new(now, Some(Duration::from_secs(300)), Duration::ZERO);
    let mut due = Vec::new();
    for sec in [100u64, 300, 301, 600, 905, 1199, 1200, 5000] {
        if s.handle_timeout(now + Duration::from_secs(sec)) {
            due.push(sec);
        }
    }
    assert_eq!(due, vec![300, 600, 905, 1200, 5000]);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(5100)));
    // Below the RFC 2869 floor: raised to 60 s. None in the reply: the host default.
    let s = InterimSchedule::new(now, Some(Duration::from_secs(10)), Duration::ZERO);
    assert_eq!(s.interval(), Some(Duration::from_secs(60)));
    let s = InterimSchedule::new(now, None, Duration::from_secs(120));
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(120)));
    let mut s = InterimSchedule::new(now, None, Duration::ZERO);
    assert_eq!(s.poll_timeout(), None);
    assert!(!s.handle_timeout(now + Duration::from_secs(1_000_000)));
}

// ---------------------------------------------------------------------------------------
// Dynamic Authorization (RFC 5176)
// ---------------------------------------------------------------------------------------

fn dae_request(code: Code, id: u8, secret: &[u8], attrs: Vec<Attribute>) -> Vec<u8> {
    let mut p = Packet::new(code, id, [0; 16]);
    p.attributes = attrs;
    let mut b = p.to_bytes().unwrap();
    crypto::sign(&mut b, Signing::ComputedRequest, secret);
    b
}

#[test]
fn disconnect_request_ack_nak_and_duplicates() {
    let now = t0();
    let dac = SocketAddr::new(server_ip(0), 40000);
    let cfg = DaeConfig {
        accept: true,
        clients: vec![(server_ip(0), SharedSecret::new(secret(0)))],
        ..DaeConfig::default()
    };
    assert_eq!(cfg.port, 3799);
    let mut d = DaeServer::new(cfg, now);
    let req = dae_request(
        Code::DisconnectRequest,
        7,
        &secret(0),
        vec![
            Attribute::new(attr::USER_NAME, "nemo"),
            Attribute::new(attr::ACCT_SESSION_ID, "0000002A"),
        ],
    );
    // The wrong secret, an unknown client.
    let forged = dae_request(Code::DisconnectRequest, 7, b"nope", vec![]);
    assert_eq!(
        d.handle_datagram(now, dac, &forged),
        DaeInput::Dropped(DaeDrop::WrongAuthenticator)
    );
    let stranger = SocketAddr::new(server_ip(5), 40000);
    assert_eq!(
        d.handle_datagram(now, stranger, &req),
        DaeInput::Dropped(DaeDrop::UnknownClient)
    );
    assert_eq!(d.handle_datagram(now, dac, &req), DaeInput::Delivered);
    let Some(DaeEvent::Disconnect {
        token, identity, ..
    }) = d.poll_event()
    else {
        panic!()
    };
    assert_eq!(identity.user_name.as_deref(), Some("nemo"));
    assert_eq!(identity.acct_session_id.as_deref(), Some("0000002A"));
    // A retransmission while undecided.
    assert_eq!(
        d.handle_datagram(now, dac, &req),
        DaeInput::Dropped(DaeDrop::InProgress)
    );
    assert!(d.respond(
        now,
        token,
        DaeOutcome::Nak(ErrorCause::SessionContextNotFound)
    ));
    let tx = d.poll_transmit(now).unwrap();
    assert_eq!(tx.destination, dac);
    let ra: [u8; 16] = req[4..20].try_into().unwrap();
    assert!(crypto::verify(&tx.payload, Signing::Response(&ra), &secret(0), false).is_ok());
    let nak = Packet::parse(&tx.payload).unwrap();
    assert_eq!((nak.code, nak.id), (Code::DisconnectNak, 7));
    assert_eq!(nak.get_u32(attr::ERROR_CAUSE), Some(503));
    // The same request again gets the same answer, no new event.
    assert_eq!(
        d.handle_datagram(now + ms(500), dac, &req),
        DaeInput::Answered
    );
    assert_eq!(d.poll_transmit(now).unwrap().payload, tx.payload);
    assert!(d.poll_event().is_none());
    // After the window it is a new request.
    d.handle_timeout(now + DUPLICATE_WINDOW_TEST);
    assert_eq!(d.poll_timeout(), None);
    assert_eq!(
        d.handle_datagram(now + DUPLICATE_WINDOW_TEST, dac, &req),
        DaeInput::Delivered
    );
}

const DUPLICATE_WINDOW_TEST: Duration = ppp::radius::dae::DUPLICATE_WINDOW;

#[test]
fn coa_request_carries_changes_and_accept_no_drops() {
    let now = t0();
    let dac = SocketAddr::new(server_ip(0), 40000);
    let mut d = DaeServer::new(
        DaeConfig {
            accept: true,
            clients: vec![(server_ip(0), SharedSecret::new(secret(0)))],
            require_message_authenticator: true,
            ..DaeConfig::default()
        },
        now,
    );
    let no_ma = dae_request(
        Code::CoaRequest,
        1,
        &secret(0),
        vec![Attribute::u32(attr::SESSION_TIMEOUT, 60)],
    );
    assert_eq!(
        d.handle_datagram(now, dac, &no_ma),
        DaeInput::Dropped(DaeDrop::BadMessageAuthenticator)
    );
    let req = dae_request(
        Code::CoaRequest,
        2,
        &secret(0),
        vec![
            Attribute::ipv4(attr::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 0, 0, 9)),
            Attribute::u32(attr::SESSION_TIMEOUT, 60),
            Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]),
        ],
    );
    assert_eq!(d.handle_datagram(now, dac, &req), DaeInput::Delivered);
    let Some(DaeEvent::Coa {
        token,
        identity,
        changes,
    }) = d.poll_event()
    else {
        panic!()
    };
    assert_eq!(identity.framed_ip_address, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(changes.session_timeout, Some(Duration::from_secs(60)));
    assert!(d.respond(now, token, DaeOutcome::Ack));
    let ack = Packet::parse(&d.poll_transmit(now).unwrap().payload).unwrap();
    assert_eq!(ack.code, Code::CoaAck);
    assert!(!d.respond(now, token, DaeOutcome::Ack));

    let mut off = DaeServer::new(DaeConfig::default(), now);
    assert_eq!(
        off.handle_datagram(now, dac, &req),
        DaeInput::Dropped(DaeDrop::NotAccepting)
    );
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_attr() -> impl Strategy<Value = Attribute> {
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..=253))
            .prop_map(|(t, v)| Attribute::new(t, v))
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        (
            any::<u8>(),
            any::<u8>(),
            any::<[u8; 16]>(),
            proptest::collection::vec(arb_attr(), 0..12),
        )
            .prop_map(|(c, id, a, attrs)| {
                let mut p = Packet::new(Code::from_u8(c), id, a);
                p.attributes = attrs;
                p
            })
    }

    proptest! {
        #[test]
        fn packet_round_trips(p in arb_packet()) {
            let b = p.to_bytes().unwrap();
            prop_assert_eq!(b.len(), p.buffer_len());
            let q = Packet::parse(&b).unwrap();
            prop_assert_eq!(&q, &p);
            prop_assert_eq!(q.to_bytes().unwrap(), b);
        }

        #[test]
        fn decoder_never_panics_and_reemits_exactly(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(p) = Packet::parse(&b) {
                let len = u16::from_be_bytes([b[2], b[3]]) as usize;
                prop_assert_eq!(p.to_bytes().unwrap(), b[..len].to_vec());
                let _ = p.vendor_attributes();
                let _ = Reply::from_packet(&p, b"s", &[0; 16]);
            }
        }

        #[test]
        fn password_hiding_round_trips(pw in proptest::collection::vec(1u8..=255, 0..=128),
                                       ra in any::<[u8; 16]>(),
                                       secret in proptest::collection::vec(any::<u8>(), 1..40)) {
            let hidden = crypto::hide_password(&secret, &ra, &pw).unwrap();
            prop_assert!(hidden.len().is_multiple_of(16) && hidden.len() <= 128);
            prop_assert_eq!(crypto::unhide_password(&secret, &ra, &hidden).unwrap(), pw);
        }

        #[test]
        fn eap_messages_are_split_and_reassembled(eap in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let mut p = Packet::new(Code::AccessRequest, 0, [0; 16]);
            p.push_eap_message(&eap);
            prop_assert!(p.attributes.iter().all(|a| a.value.len() <= 253));
            prop_assert_eq!(p.attributes.len(), eap.len().div_ceil(253).max(1));
            let q = Packet::parse(&p.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(q.eap_message().unwrap(), eap);
        }

        #[test]
        fn mppe_keys_round_trip(key in proptest::collection::vec(any::<u8>(), 0..=64),
                                ra in any::<[u8; 16]>(), salt in any::<u16>()) {
            let v = crypto::mppe_key_encrypt(b"secret", &ra, salt, &key).unwrap();
            prop_assert_eq!(crypto::mppe_key_decrypt(b"secret", &ra, &v).unwrap(), key);
        }

        #[test]
        fn client_input_never_panics(
            datagrams in proptest::collection::vec(
                (0usize..3, proptest::collection::vec(any::<u8>(), 0..300)), 0..8)) {
            let now = t0();
            let mut c = RadiusClient::new(config(2), now, TestRng(1)).unwrap();
            c.send_access_request(now, pap("u", "p")).unwrap();
            let tx = drain(&mut c, now);
            for (src, mut b) in datagrams {
                // Give some datagrams a matching identifier so the checks past it run.
                if b.len() > 1 { b[1] = tx[0].payload[1]; }
                let from = SocketAddr::new(server_ip(src), 1812);
                let _ = c.handle_datagram(now, from, &b);
            }
            prop_assert!(c.outstanding() <= 1);
        }

        #[test]
        fn dae_input_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let now = t0();
            let mut d = DaeServer::new(DaeConfig {
                accept: true,
                clients: vec![(server_ip(0), SharedSecret::new("s"))],
                ..DaeConfig::default()
            }, now);
            let _ = d.handle_datagram(now, SocketAddr::new(server_ip(0), 1), &b);
        }
    }
}

#[test]
fn lost_requests_are_recovered_by_retransmission_and_late_replies_after_failover_are_dropped() {
    let now = t0();
    let a = SocketAddr::new(server_ip(0), 1812);
    let b = SocketAddr::new(server_ip(1), 1812);
    // The first two transmissions are lost; the third is answered: Accept at exactly 600 ms.
    let mut c = RadiusClient::new(config(2), now, TestRng(14)).unwrap();
    let hd = c.send_access_request(now, pap("u", "p")).unwrap();
    let mut sent = drain(&mut c, now);
    let mut at = now;
    while sent.len() < 3 {
        at = c.poll_timeout().unwrap();
        c.handle_timeout(at);
        sent.extend(drain(&mut c, at));
    }
    assert_eq!(at - now, ms(600));
    let r = FakeServer::new(0).reply(&sent[2].payload, Code::AccessAccept, vec![]);
    assert_eq!(c.handle_datagram(at + ms(20), a, &r), Input::Delivered);
    assert_eq!(
        events(&mut c),
        vec![RadiusEvent::Accept {
            handle: hd,
            reply: Box::new(Reply {
                attributes: vec![],
                ..Reply::default()
            })
        }]
    );
    let st = c.stats();
    assert_eq!((st.retransmitted, st.failovers), (2, 0));

    // A reply from A that arrives after the request failed over to B is not taken.
    let mut c = RadiusClient::new(config(2), now, TestRng(15)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let first = drain(&mut c, now);
    for t in [300, 600, 900] {
        c.handle_timeout(now + ms(t));
    }
    let to_b = drain(&mut c, now + ms(900));
    assert_eq!(to_b.last().unwrap().destination, b);
    let late = FakeServer::new(0).reply(&first[0].payload, Code::AccessAccept, vec![]);
    assert!(matches!(
        c.handle_datagram(now + ms(950), a, &late),
        Input::Dropped(DropReason::UnknownId | DropReason::WrongServer)
    ));
    let r = FakeServer::new(1).reply(&to_b.last().unwrap().payload, Code::AccessReject, vec![]);
    assert_eq!(c.handle_datagram(now + ms(960), b, &r), Input::Delivered);
    assert!(events(&mut c)
        .iter()
        .any(|e| matches!(e, RadiusEvent::Reject { .. })));
    assert_eq!(c.outstanding(), 0);
}

#[test]
fn dae_checks_nas_identification_and_echoes_proxy_state() {
    let now = t0();
    let dac = SocketAddr::new(server_ip(0), 40000);
    let mut d = DaeServer::new(
        DaeConfig {
            accept: true,
            clients: vec![(server_ip(0), SharedSecret::new(secret(0)))],
            nas_ip_address: Some(Ipv4Addr::new(192, 0, 2, 1)),
            nas_identifier: Some("MikroTik".into()),
            ..DaeConfig::default()
        },
        now,
    );
    // Another NAS's address: answered at once, NAK 403, no event.
    let other = dae_request(
        Code::DisconnectRequest,
        1,
        &secret(0),
        vec![
            Attribute::ipv4(attr::NAS_IP_ADDRESS, Ipv4Addr::new(192, 0, 2, 2)),
            Attribute::new(attr::PROXY_STATE, "p1"),
        ],
    );
    assert_eq!(d.handle_datagram(now, dac, &other), DaeInput::Answered);
    assert!(d.poll_event().is_none());
    let nak = Packet::parse(&d.poll_transmit(now).unwrap().payload).unwrap();
    assert_eq!(nak.code, Code::DisconnectNak);
    assert_eq!(nak.get_u32(attr::ERROR_CAUSE), Some(403));
    assert_eq!(nak.get(attr::PROXY_STATE).unwrap().value, b"p1");
    // Another NAS-Identifier: the same.
    let other = dae_request(
        Code::CoaRequest,
        2,
        &secret(0),
        vec![Attribute::new(attr::NAS_IDENTIFIER, "other")],
    );
    assert_eq!(d.handle_datagram(now, dac, &other), DaeInput::Answered);
    let nak = Packet::parse(&d.poll_transmit(now).unwrap().payload).unwrap();
    assert_eq!(
        (nak.code, nak.get_u32(attr::ERROR_CAUSE)),
        (Code::CoaNak, Some(403))
    );
    // Ours: an event; Proxy-State (two, in order) copied into the ACK.
    let ours = dae_request(
        Code::DisconnectRequest,
        3,
        &secret(0),
        vec![
            Attribute::ipv4(attr::NAS_IP_ADDRESS, Ipv4Addr::new(192, 0, 2, 1)),
            Attribute::new(attr::NAS_IDENTIFIER, "MikroTik"),
            Attribute::new(attr::PROXY_STATE, "a"),
            Attribute::new(attr::PROXY_STATE, "b"),
        ],
    );
    assert_eq!(d.handle_datagram(now, dac, &ours), DaeInput::Delivered);
    let Some(DaeEvent::Disconnect { token, .. }) = d.poll_event() else {
        panic!()
    };
    assert!(d.respond(now, token, DaeOutcome::Ack));
    let ack = Packet::parse(&d.poll_transmit(now).unwrap().payload).unwrap();
    let ps: Vec<_> = ack
        .all(attr::PROXY_STATE)
        .map(|a| a.value.clone())
        .collect();
    assert_eq!(ps, vec![b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn framed_ip_in_loopback_or_multicast_ranges_means_the_profile_pool() {
    for (a, want) in [
        (Ipv4Addr::new(10, 0, 0, 9), Some(Ipv4Addr::new(10, 0, 0, 9))),
        (
            Ipv4Addr::new(223, 255, 255, 255),
            Some(Ipv4Addr::new(223, 255, 255, 255)),
        ),
        (Ipv4Addr::new(127, 0, 0, 1), None),
        (Ipv4Addr::new(224, 0, 0, 1), None),
        (Ipv4Addr::new(255, 255, 255, 254), None),
        (Ipv4Addr::new(255, 255, 255, 255), None),
    ] {
        let r = Reply {
            framed_ip_address: Some(a),
            ..Reply::default()
        };
        assert_eq!(r.framed_address(), want, "{a}");
        assert_eq!(r.user_attributes().remote_address, want);
    }
}

#[test]
fn disabled_accounting_backup_and_called_id_are_observed() {
    let now = t0();
    let acct = || AccountingRequest::new(AcctStatus::Start, "1", "u").attributes();
    // disabled: skipped; all disabled: NoServer.
    let mut cfg = config(2);
    cfg.servers[0].disabled = true;
    cfg.servers[1].called_id = Some("pppoe-svc".into());
    let mut c = RadiusClient::new(cfg.clone(), now, TestRng(16)).unwrap();
    c.send_access_request(now, pap("u", "p")).unwrap();
    let tx = drain(&mut c, now);
    assert_eq!(tx[0].destination.ip(), server_ip(1));
    let p = Packet::parse(&tx[0].payload).unwrap();
    assert_eq!(
        p.get_text(attr::CALLED_STATION_ID).as_deref(),
        Some("pppoe-svc")
    );
    cfg.servers[1].disabled = true;
    let mut c = RadiusClient::new(cfg, now, TestRng(16)).unwrap();
    assert_eq!(
        c.send_access_request(now, pap("u", "p")),
        Err(RadiusError::NoServer)
    );
    // accounting-backup: the backup entry (listed first) gets accounting only after the
    // primary failed; authentication goes to it in list order.
    let mut cfg = config(2);
    cfg.servers[0].accounting_backup = true;
    cfg.retransmits = 0;
    let mut c = RadiusClient::new(cfg, now, TestRng(17)).unwrap();
    c.send_accounting(now, acct()).unwrap();
    assert_eq!(
        drain(&mut c, now)[0].destination,
        SocketAddr::new(server_ip(1), 1813)
    );
    c.handle_timeout(now + ms(300));
    assert_eq!(
        drain(&mut c, now + ms(300))[0].destination,
        SocketAddr::new(server_ip(0), 1813)
    );
    c.send_access_request(now + ms(300), pap("u", "p")).unwrap();
    // Server 1 is dead now, so authentication goes to 0 (it would anyway: list order).
    assert_eq!(drain(&mut c, now)[0].destination.ip(), server_ip(0));
}

#[test]
fn refusal_message_prefers_reply_message_then_ms_chap_error_text() {
    let mut p = Packet::new(Code::AccessReject, 1, [0; 16]);
    let mut e = vec![1u8];
    e.extend_from_slice(b"E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=bad password");
    p.push(Attribute::vendor(ms::VENDOR_ID, ms::CHAP_ERROR, &e));
    let r = Reply::from_packet(&p, b"s", &[0; 16]);
    assert_eq!(r.refusal_message(), "bad password");
    p.push(Attribute::new(attr::REPLY_MESSAGE, "expired"));
    assert_eq!(
        Reply::from_packet(&p, b"s", &[0; 16]).refusal_message(),
        "expired"
    );
    let empty = Packet::new(Code::AccessReject, 1, [0; 16]);
    assert_eq!(
        Reply::from_packet(&empty, b"s", &[0; 16]).refusal_message(),
        ""
    );
}

// ---------------------------------------------------------------- /radius properties

#[test]
fn radius_entry_from_props_with_defaults_and_back() {
    let (s, unknown) = RadiusServer::from_props(&[
        ("address", "192.0.2.10"),
        ("secret", "xyzzy5461"),
        ("timeout", "1s500ms"),
        ("authentication-port", "11812"),
        ("accounting-port", "11813"),
        ("src-address", "192.0.2.1"),
        ("accounting-backup", "yes"),
        ("called-id", "lns-1"),
        ("comment", "main"),
        ("realm", "x"),
    ])
    .unwrap();
    assert_eq!(unknown, ["realm"]);
    assert_eq!(s.address.to_string(), "192.0.2.10");
    assert_eq!(s.secret.as_bytes(), b"xyzzy5461");
    assert_eq!(s.timeout, Duration::from_millis(1500));
    assert_eq!((s.authentication_port, s.accounting_port), (11812, 11813));
    assert_eq!(s.src_address.to_string(), "192.0.2.1");
    assert!(s.accounting_backup && !s.disabled);
    assert_eq!(s.called_id.as_deref(), Some("lns-1"));
    let props = s.to_props();
    let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(RadiusServer::from_props(&refs).unwrap().0, s);
    // Defaults: only address (and secret) are written.
    let (d, _) = RadiusServer::from_props(&[("address", "192.0.2.10")]).unwrap();
    assert_eq!(d, RadiusServer::new("192.0.2.10".parse().unwrap(), b""));
    assert_eq!(d.to_props(), [("address", "192.0.2.10".to_string())]);
}

#[test]
fn radius_entry_bad_values_name_the_property() {
    for (props, field) in [
        (&[("secret", "x")][..], "address"),
        (&[("address", "x")][..], "address"),
        (
            &[("address", "192.0.2.1"), ("timeout", "soon")][..],
            "timeout",
        ),
        (
            &[("address", "192.0.2.1"), ("authentication-port", "70000")][..],
            "authentication-port",
        ),
        (
            &[("address", "192.0.2.1"), ("disabled", "maybe")][..],
            "disabled",
        ),
    ] {
        assert_eq!(
            RadiusServer::from_props(props).unwrap_err().field,
            field,
            "{props:?}"
        );
    }
    assert_eq!(
        ppp::radius::config::parse_timeout("300ms").unwrap(),
        Duration::from_millis(300)
    );
    assert_eq!(
        ppp::radius::config::parse_timeout("2m").unwrap(),
        Duration::from_secs(120)
    );
    assert!(ppp::radius::config::parse_timeout("").is_err());
    assert_eq!(
        ppp::radius::config::parse_timeout("5").unwrap(),
        Duration::from_secs(5)
    );
    assert!(ppp::radius::config::parse_timeout("1x").is_err());
}

#[test]
fn radius_incoming_props() {
    let mut d = DaeConfig::default();
    assert!(d.to_props().is_empty());
    let unknown = d
        .apply_props(&[("accept", "yes"), ("port", "13799"), ("vrf", "main")])
        .unwrap();
    assert_eq!(unknown, ["vrf"]);
    assert!(d.accept);
    assert_eq!(d.port, 13799);
    let props = d.to_props();
    let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut back = DaeConfig::default();
    back.apply_props(&refs).unwrap();
    assert_eq!(back, d);
    assert_eq!(
        DaeConfig::default()
            .apply_props(&[("port", "x")])
            .unwrap_err()
            .field,
        "port"
    );
}

// ---------------------------------------------------------------- RFC 2868 tunnels

#[test]
fn tunnel_attributes_grouped_by_tag_with_the_password_decrypted() {
    let secret = b"xyzzy5461";
    let ra = [0x42u8; 16];
    let tagged_int = |typ: u8, tag: u8, v: u32| {
        let b = v.to_be_bytes();
        Attribute::new(typ, vec![tag, b[1], b[2], b[3]])
    };
    let mut pw = vec![1u8];
    pw.extend(crypto::mppe_key_encrypt(secret, &ra, 0x8123, b"tunnel-secret").unwrap());
    let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
    p.attributes = vec![
        tagged_int(attr::TUNNEL_TYPE, 2, 3),
        tagged_int(attr::TUNNEL_MEDIUM_TYPE, 2, 1),
        Attribute::new(attr::TUNNEL_SERVER_ENDPOINT, b"\x02192.0.2.78".to_vec()),
        tagged_int(attr::TUNNEL_PREFERENCE, 2, 2),
        tagged_int(attr::TUNNEL_TYPE, 1, 3),
        tagged_int(attr::TUNNEL_MEDIUM_TYPE, 1, 1),
        Attribute::new(attr::TUNNEL_SERVER_ENDPOINT, b"\x01192.0.2.77".to_vec()),
        Attribute::new(attr::TUNNEL_PASSWORD, pw),
        tagged_int(attr::TUNNEL_PREFERENCE, 1, 1),
        // untagged string (first octet above 0x1F), and a PPTP tunnel
        Attribute::new(attr::TUNNEL_CLIENT_AUTH_ID, b"lac-1".to_vec()),
        tagged_int(attr::TUNNEL_TYPE, 3, 1),
        // malformed: ignored, no panic
        Attribute::new(attr::TUNNEL_TYPE, vec![1, 2]),
        Attribute::new(attr::TUNNEL_PASSWORD, vec![]),
        Attribute::new(attr::TUNNEL_PASSWORD, vec![1, 0x80, 0, 1, 2]),
    ];
    let r = Reply::from_packet(&p, secret, &ra);
    assert_eq!(
        r.tunnels.iter().map(|t| t.tag).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(r.tunnels[0].client_auth_id.as_deref(), Some("lac-1"));
    let l2tp = r.l2tp_tunnels();
    assert_eq!(l2tp.len(), 2);
    assert_eq!(l2tp[0].tag, 1, "preference 1 first");
    assert_eq!(l2tp[0].server_endpoint.as_deref(), Some("192.0.2.77"));
    assert_eq!(l2tp[0].medium_type, Some(1));
    assert_eq!(
        l2tp[0].password.as_ref().map(|p| p.as_slice()),
        Some(&b"tunnel-secret"[..])
    );
    assert_eq!(l2tp[1].server_endpoint.as_deref(), Some("192.0.2.78"));
    assert!(l2tp[1].password.is_none());
    // The secret never shows in Debug output.
    assert!(!format!("{r:?}").contains("tunnel-secret"));
    // The wrong secret: no password (the salted decryption's length check fails or yields
    // other octets), everything else still there.
    let other = Reply::from_packet(&p, b"other", &ra);
    assert_ne!(
        other.l2tp_tunnels()[0]
            .password
            .as_ref()
            .map(|p| p.to_vec()),
        Some(b"tunnel-secret".to_vec())
    );
}
