//! Access concentrator throughput on one core:
//! * `pppoe_ac/padi_to_pads`: one session set up per iteration (PADI -> PADO with an HMAC
//!   cookie -> PADR with the cookie checked -> PADS, the PPP host session opened and its first
//!   LCP Configure-Request drained), with the table growing to 100,000 sessions (a fresh AC
//!   after that);
//! * `pppoe_datapath/encap/1400`: `Client::send_datagram` of a 1400-byte IP packet into a
//!   caller buffer (Ethernet + PPPoE + PPP headers, no allocation);
//! * `pppoe_datapath/decap/1400`: `Server::handle_frame` of that frame (lookup of
//!   (MAC, session id), PPP demultiplexing, the datagram borrowed from the frame).
//!
//! `cargo bench -p rosproto-pppoe --bench ac`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pppoe::wire::{tag, Code, Discovery, Frame, VlanStack, BROADCAST};
use pppoe::{Client, ClientConfig, Input, Server, ServerConfig};
use std::time::{Duration, Instant};

const AC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const HOST: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn server(now: Instant) -> Server {
    Server::new(ServerConfig::new(AC), now, netsim::TestRng::new(1)).unwrap()
}

fn setup_one(s: &mut Server, now: Instant, i: u32) {
    let mac = [0x02, 0x40, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let mut padi = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .with(tag::HOST_UNIQ, i.to_be_bytes())
        .emit(BROADCAST, mac, &VlanStack::NONE)
        .unwrap();
    s.handle_frame(now, &mut padi);
    let mut cookie = Vec::new();
    while let Some(t) = s.poll_transmit(now) {
        let f = Frame::parse(&t.frame).unwrap();
        cookie = Discovery::from_frame(&f)
            .unwrap()
            .ac_cookie()
            .unwrap()
            .to_vec();
    }
    let mut padr = Discovery::new(Code::PADR, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .with(tag::HOST_UNIQ, i.to_be_bytes())
        .with(tag::AC_COOKIE, cookie)
        .emit(AC, mac, &VlanStack::NONE)
        .unwrap();
    s.handle_frame(now, &mut padr);
    let mut pads = false;
    while let Some(t) = s.poll_transmit(now) {
        pads |= t.frame[15] == Code::PADS.0;
    }
    assert!(pads);
    while s.poll_event().is_some() {}
}

fn established() -> (Client, Server, Instant) {
    let mut now = Instant::now();
    let mut cc = ClientConfig::new(HOST);
    cc.ppp.user = "alice".into();
    cc.ppp.password = "pw".into();
    let mut c = Client::new(cc, now, netsim::TestRng::new(2)).unwrap();
    let mut s = server(now);
    let mut aaa = ppp::aaa::Aaa::new();
    let mut sec = ppp::aaa::Secret::new("alice", "pw");
    sec.local_address = Some([10, 0, 0, 1].into());
    sec.remote_address = Some([10, 0, 0, 2].into());
    aaa.secrets.push(sec);
    s.host_mut().set_store(Box::new(aaa));
    for _ in 0..500 {
        while let Some(t) = c.poll_transmit(now) {
            let mut f = t.frame;
            s.handle_frame(now, &mut f);
        }
        if c.ppp().is_up() {
            break; // its last IPCP frames have just reached the AC
        }
        while let Some(t) = s.poll_transmit(now) {
            let mut f = t.frame;
            c.handle_frame(now, &mut f);
        }
        while c.poll_event().is_some() {}
        while s.poll_event().is_some() {}
        now += Duration::from_millis(10);
        c.handle_timeout(now);
        s.handle_timeout(now);
    }
    assert!(c.ppp().is_up());
    (c, s, now)
}

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("pppoe_ac");
    g.throughput(Throughput::Elements(1));
    g.bench_function("padi_to_pads", |b| {
        b.iter_custom(|iters| {
            let now = Instant::now();
            let mut s = server(now);
            let mut n = 0u32;
            let t0 = Instant::now();
            for _ in 0..iters {
                if n == 100_000 {
                    s = server(now);
                    n = 0;
                }
                setup_one(&mut s, now, n);
                n += 1;
            }
            t0.elapsed()
        })
    });
    g.finish();

    let (mut c, mut s, now) = established();
    let pkt = vec![0x45u8; 1400];
    let mut buf = vec![0u8; 1600];
    let mut g = cr.benchmark_group("pppoe_datapath");
    g.throughput(Throughput::Bytes(1400));
    g.bench_function("encap/1400", |b| {
        b.iter(|| c.send_datagram(now, 0x0021, &pkt, &mut buf).unwrap())
    });
    let n = c.send_datagram(now, 0x0021, &pkt, &mut buf).unwrap();
    let frame = buf[..n].to_vec();
    let mut work = frame.clone();
    g.bench_function("decap/1400", |b| {
        b.iter(|| {
            work.copy_from_slice(&frame);
            match s.handle_frame(now, &mut work) {
                Input::Datagram { payload, .. } => payload.len(),
                other => panic!("{other:?}"),
            }
        })
    });
    g.finish();
}

/// 100,000 sessions in one AC: the time to set them up (printed once).
fn scale(_: &mut Criterion) {
    let now = Instant::now();
    let mut s = server(now);
    let t0 = Instant::now();
    for i in 0..100_000 {
        setup_one(&mut s, now, i);
    }
    let dt = t0.elapsed();
    assert_eq!(s.len(), 100_000);
    println!(
        "pppoe_ac/scale: 100000 sessions set up in {:.2} s ({:.0} setups/s)",
        dt.as_secs_f64(),
        100_000.0 / dt.as_secs_f64()
    );
}

criterion_group!(benches, bench, scale);
criterion_main!(benches);
