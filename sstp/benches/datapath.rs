//! SSTP data path through the TLS adapter in memory: one 1400-byte IP packet per operation,
//! PPP framing + SSTP data packet + TLS record (rustls, TLS 1.3 AES-256-GCM, the suite rustls
//! and a default server negotiate), on both ends of an established connection:
//! * `sstp_datapath/encap/1400`: `Client::send_datagram` (PPP, SSTP, TLS seal into a buffer);
//! * `sstp_datapath/decap/1400`: `Server::handle_stream` of those records + `poll_datagram`;
//! * `sstp_datapath/framing_only/1400`: the SSTP header alone (`wire::emit_data`).
//!
//! Compare with `openssl speed -evp aes-256-gcm` in the same run: sstp/benches/compare_openssl.sh.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sstp::test_pki;
use sstp::tls::{RustlsOptions, RustlsTls};
use sstp::{Client, ClientConfig, ClientEvent, ConnId, Server, ServerConfig};

fn established() -> (Client<RustlsTls>, Server<RustlsTls>, ConnId, Instant) {
    let t0 = Instant::now();
    let mut rng = netsim::TestRng::new(9);
    let mut scfg = ServerConfig::enabled();
    scfg.tls.certificate_pem = Some(test_pki::SERVER_CERT_PEM.into());
    scfg.tls.key_pem = Some(test_pki::SERVER_KEY_PEM.into());
    let mut server = Server::<RustlsTls>::new(scfg.clone(), t0, &mut rng).unwrap();
    let mut aaa = ppp::aaa::Aaa::new();
    let mut s = ppp::aaa::Secret::new("alice", "pw");
    s.local_address = Some([10, 0, 0, 1].into());
    s.remote_address = Some([10, 0, 0, 2].into());
    aaa.secrets.push(s);
    server.host_mut().set_store(Box::new(aaa));
    let mut client =
        Client::<RustlsTls>::new(ClientConfig::new("10.9.9.9", "alice", "pw"), t0, &mut rng)
            .unwrap();
    client
        .connected(
            t0,
            RustlsTls::client(client.config(), &RustlsOptions::default()).unwrap(),
        )
        .unwrap();
    let conn = server
        .accept(
            t0,
            "192.0.2.7:1".parse().unwrap(),
            RustlsTls::server(&scfg, &RustlsOptions::default()).unwrap(),
        )
        .unwrap();
    let mut now = t0;
    for _ in 0..500 {
        while let Some(b) = client.poll_transmit(now) {
            let mut o = 0;
            while o < b.len() {
                o += server.handle_stream(now, conn, &b[o..]).unwrap();
            }
        }
        while let Some(t) = server.poll_transmit(now) {
            let mut o = 0;
            while o < t.bytes.len() {
                o += client.handle_stream(now, &t.bytes[o..]).unwrap();
            }
        }
        while server.poll_event().is_some() {}
        let mut up = false;
        while let Some(e) = client.poll_event() {
            up |= matches!(e, ClientEvent::Ppp(ppp::host::ClientEvent::Up(_)));
        }
        if up || client.ppp().is_up() {
            return (client, server, conn, now);
        }
        now += Duration::from_millis(10);
        client.handle_timeout(now);
        server.handle_timeout(now);
    }
    panic!("did not come up");
}

fn bench(c: &mut Criterion) {
    let (mut client, _, _, now) = established();
    println!(
        "negotiated: {:?} {:?}",
        client.tls().and_then(sstp::tls::Tls::protocol_version),
        client.tls().and_then(sstp::tls::Tls::cipher_suite)
    );
    let pkt = netsim::pcap::icmp4_echo([10, 0, 0, 2], [10, 0, 0, 1], false, 1, 1, &[0x5a; 1372]);
    assert_eq!(pkt.len(), 1400);
    let mut g = c.benchmark_group("sstp_datapath");
    g.throughput(Throughput::Bytes(1400));
    let mut out = Vec::with_capacity(4096);
    g.bench_function("encap/1400", |b| {
        b.iter(|| {
            out.clear();
            client.send_datagram(now, 0x0021, &pkt, &mut out).unwrap();
        })
    });
    // A fresh connection for decap (the encap records above were never delivered, so the
    // first pair's record sequence numbers no longer line up). TLS forbids replay: records are
    // produced in batches outside the timed region, then decrypted in it.
    let (mut client, mut server, conn, now) = established();
    g.bench_function("decap/1400", |b| {
        b.iter_custom(|iters| {
            let mut recs = Vec::with_capacity(iters as usize);
            for _ in 0..iters {
                let mut o = Vec::with_capacity(1500);
                client.send_datagram(now, 0x0021, &pkt, &mut o).unwrap();
                recs.push(o);
            }
            let t = Instant::now();
            for r in &recs {
                let mut o = 0;
                while o < r.len() {
                    o += server.handle_stream(now, conn, &r[o..]).unwrap();
                }
                assert!(server.poll_datagram().is_some(), "record not delivered");
            }
            t.elapsed()
        })
    });
    let frame = [0u8; 1404];
    let mut buf = [0u8; 1500];
    g.bench_function("framing_only/1400", |b| {
        b.iter(|| sstp::wire::emit_data(&frame, &mut buf).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
