#![no_main]
//! RADIUS packet decoder: parse, re-emit (byte-exact up to the Length field), map as a reply,
//! check the authenticator helpers on the bytes, and feed the bytes to a Dynamic
//! Authorization server (RFC 5176) whose shared secret is known; nothing may panic.
use ppp::radius::{
    crypto, DaeConfig, DaeEvent, DaeOutcome, DaeServer, Packet, Reply, SharedSecret,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let len = u16::from_be_bytes([data[2], data[3]]) as usize;
        let out = p.to_bytes().expect("a parsed packet re-emits");
        assert_eq!(&out[..], &data[..len]);
        let _ = p.vendor_attributes();
        let _ = p.eap_message();
        let _ = p.reply_message();
        let _ = Reply::from_packet(&p, b"secret", &[7; 16]);
        let _ = crypto::verify(&out, crypto::Signing::Response(&[7; 16]), b"secret", false);
        let _ = crypto::verify(&out, crypto::Signing::ComputedRequest, b"secret", true);
    }
    let _ = crypto::unhide_password(b"secret", &[1; 16], data);
    let _ = crypto::mppe_key_decrypt(b"secret", &[1; 16], data);
    let now = fuzz::base_instant();
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut dae = DaeServer::new(
        DaeConfig {
            accept: true,
            clients: vec![(peer, SharedSecret::new("secret"))],
            nas_identifier: Some("nas".into()),
            ..DaeConfig::default()
        },
        now,
    );
    // A correctly signed Disconnect/CoA request from the bytes, so verification passes.
    let mut signed = data.to_vec();
    if signed.len() >= 20 {
        signed[0] = if signed[0] & 1 == 0 { 40 } else { 43 };
        let len = signed.len().min(4096) as u16;
        signed[2..4].copy_from_slice(&len.to_be_bytes());
        crypto::sign(&mut signed, crypto::Signing::ComputedRequest, b"secret");
    }
    for b in [data, &signed[..]] {
        let _ = dae.handle_datagram(now, SocketAddr::new(peer, 3799), b);
        while let Some(ev) = dae.poll_event() {
            let token = match ev {
                DaeEvent::Disconnect { token, .. } | DaeEvent::Coa { token, .. } => token,
                _ => continue,
            };
            assert!(dae.respond(now, token, DaeOutcome::Ack));
        }
        while dae.poll_transmit(now).is_some() {}
    }
});
