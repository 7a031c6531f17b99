//! Data-path benchmarks: async-HDLC encode/deframe (table-driven against the old
//! byte-at-a-time codec kept here as a baseline, side by side), encapsulation into a caller buffer,
//! receive dispatch of an IPv4 datagram through an open session, and MPPE encrypt+decrypt of
//! 1400 B (128-bit, stateful and stateless: the stateless figure includes two key changes,
//! SHA-1 plus an RC4 key schedule on each side, per packet). Compare with
//! `openssl speed -provider legacy -provider default -evp rc4 -bytes 1400`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ppp::wire::hdlc::{encode, Deframer};
use ppp::{Config, Input, Role, Session};
use rand_chacha::rand_core::SeedableRng;
use std::time::Instant;

/// Two sessions brought up back to back in memory (no link), returned with IPCP open.
fn open_pair() -> (Session, Session, Instant) {
    let now = Instant::now();
    let mut cc = Config::l2tp_client();
    cc.user = "u".into();
    cc.password = "p".into();
    let mut sc = Config::l2tp_server();
    sc.authentication = ppp::AuthSet::NONE;
    sc.local_address = Some([10, 0, 0, 1].into());
    sc.remote_address = Some([10, 0, 0, 2].into());
    let mut a = Session::new(
        cc,
        Role::Client,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap();
    let mut b = Session::new(
        sc,
        Role::Server,
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(2),
    )
    .unwrap();
    a.open(now);
    b.open(now);
    for _ in 0..50 {
        while let Some(f) = a.poll_transmit(now) {
            let _ = b.handle_frame(now, &f);
        }
        while let Some(f) = b.poll_transmit(now) {
            let _ = a.handle_frame(now, &f);
        }
    }
    assert!(a.ipv4().is_some() && b.ipv4().is_some());
    (a, b, now)
}

/// The byte-at-a-time async-HDLC codec this crate had before the table-driven one, kept here
/// as the baseline the `hdlc` group measures against in the same run.
mod baseline {
    use ppp::wire::hdlc::{ESCAPE, FCS_GOOD, FCS_INIT, FLAG};

    const fn make_table() -> [u16; 256] {
        let mut t = [0u16; 256];
        let mut b = 0;
        while b < 256 {
            let mut v = b as u16;
            let mut i = 0;
            while i < 8 {
                v = if v & 1 != 0 {
                    (v >> 1) ^ 0x8408
                } else {
                    v >> 1
                };
                i += 1;
            }
            t[b] = v;
            b += 1;
        }
        t
    }

    static FCS_TABLE: [u16; 256] = make_table();

    pub fn fcs16(mut fcs: u16, data: &[u8]) -> u16 {
        for &b in data {
            fcs = (fcs >> 8) ^ FCS_TABLE[usize::from((fcs ^ u16::from(b)) as u8)];
        }
        fcs
    }

    fn push_escaped(b: u8, accm: u32, out: &mut Vec<u8>) {
        if b == FLAG || b == ESCAPE || (b < 0x20 && accm & (1 << b) != 0) {
            out.push(ESCAPE);
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }

    pub fn encode(frame: &[u8], accm: u32, out: &mut Vec<u8>) {
        out.reserve(frame.len() + frame.len() / 4 + 6);
        out.push(FLAG);
        for &b in frame {
            push_escaped(b, accm, out);
        }
        let fcs = !fcs16(FCS_INIT, frame);
        for b in fcs.to_le_bytes() {
            push_escaped(b, accm, out);
        }
        out.push(FLAG);
    }

    /// The old deframer's data path (good frames only: what the benchmark feeds it).
    pub struct Deframer {
        max: usize,
        cur: Vec<u8>,
        escaped: bool,
        ready: std::collections::VecDeque<Vec<u8>>,
    }

    impl Deframer {
        pub fn new(max: usize) -> Self {
            Deframer {
                max,
                cur: Vec::new(),
                escaped: false,
                ready: Default::default(),
            }
        }

        pub fn push(&mut self, data: &[u8]) {
            for &b in data {
                if b == FLAG {
                    let mut d = std::mem::take(&mut self.cur);
                    if d.len() >= 3 && fcs16(FCS_INIT, &d) == FCS_GOOD {
                        d.truncate(d.len() - 2);
                        self.ready.push_back(d);
                    }
                    continue;
                }
                let v = if self.escaped {
                    self.escaped = false;
                    b ^ 0x20
                } else if b == ESCAPE {
                    self.escaped = true;
                    continue;
                } else {
                    b
                };
                if self.cur.len() < self.max + 2 {
                    self.cur.push(v);
                }
            }
        }

        pub fn next_frame(&mut self) -> Option<Vec<u8>> {
            self.ready.pop_front()
        }
    }
}

/// Async HDLC, new against [`baseline`], on three 1404-octet frames (PPP header plus 1400 B):
/// an IPv4-like payload without control characters under ACCM 0, random octets (encrypted
/// traffic) under ACCM 0, and random octets under the default ACCM (about one octet in eight
/// escaped). Throughput is in frame octets.
fn hdlc_benches(c: &mut Criterion, ip_frame: &[u8]) {
    use rand_chacha::rand_core::RngCore;
    let mut random = vec![0xff, 0x03, 0x00, 0x21];
    let mut body = vec![0u8; 1400];
    rand_chacha::ChaCha8Rng::seed_from_u64(7).fill_bytes(&mut body);
    random.extend_from_slice(&body);
    let cases: [(&str, &[u8], u32); 3] = [
        ("ip_accm0", ip_frame, 0),
        ("random_accm0", &random, 0),
        (
            "random_accm_default",
            &random,
            ppp::wire::hdlc::DEFAULT_ACCM,
        ),
    ];
    let mut g = c.benchmark_group("hdlc");
    g.throughput(Throughput::Bytes(ip_frame.len() as u64));
    g.bench_function("fcs16_1400/new", |bch| {
        bch.iter(|| ppp::wire::hdlc::fcs16(ppp::wire::hdlc::FCS_INIT, &random))
    });
    g.bench_function("fcs16_1400/baseline", |bch| {
        bch.iter(|| baseline::fcs16(ppp::wire::hdlc::FCS_INIT, &random))
    });
    let mut line = Vec::with_capacity(4096);
    for (name, frame, accm) in cases {
        g.bench_function(format!("encode_1400_{name}/new"), |bch| {
            bch.iter(|| {
                line.clear();
                encode(frame, accm, &mut line);
                line.len()
            })
        });
        g.bench_function(format!("encode_1400_{name}/baseline"), |bch| {
            bch.iter(|| {
                line.clear();
                baseline::encode(frame, accm, &mut line);
                line.len()
            })
        });
        let mut enc = Vec::new();
        encode(frame, accm, &mut enc);
        let mut d = Deframer::new(2000);
        let mut out = Vec::with_capacity(2000);
        g.bench_function(format!("deframe_1400_{name}/new"), |bch| {
            bch.iter(|| {
                d.push(&enc);
                d.next_frame_into(&mut out).unwrap().unwrap();
                out.len()
            })
        });
        let mut d = baseline::Deframer::new(2000);
        g.bench_function(format!("deframe_1400_{name}/baseline"), |bch| {
            bch.iter(|| {
                d.push(&enc);
                d.next_frame().unwrap().len()
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let payload = vec![0x45u8; 1400];
    let mut frame = vec![0xff, 0x03, 0x00, 0x21];
    frame.extend_from_slice(&payload);

    hdlc_benches(c, &frame);

    let (mut a, mut b, now) = open_pair();
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    let mut buf = vec![0u8; 2000];
    g.bench_function("encapsulate_1400", |bch| {
        bch.iter(|| a.encapsulate(now, 0x0021, &payload, &mut buf).unwrap())
    });
    let n = a.encapsulate(now, 0x0021, &payload, &mut buf).unwrap();
    let wire = buf[..n].to_vec();
    g.bench_function("handle_frame_datagram_1400", |bch| {
        bch.iter(|| match b.handle_frame(now, &wire).unwrap() {
            Input::Datagram { payload, .. } => payload.len(),
            _ => 0,
        })
    });
    g.finish();

    use ppp::mppe::{Decryptor, Encryptor, KeyStrength, MppeParams};
    let mut g = c.benchmark_group("mppe");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    for stateless in [false, true] {
        let p = MppeParams {
            strength: KeyStrength::Bits128,
            stateless,
        };
        let mut e = Encryptor::new(p, &[7u8; 16]).unwrap();
        let mut d = Decryptor::new(p, &[7u8; 16]).unwrap();
        let mut buf = vec![0u8; 1500];
        let name = if stateless {
            "encrypt_decrypt_1400_stateless"
        } else {
            "encrypt_decrypt_1400_stateful"
        };
        g.bench_function(name, |bch| {
            bch.iter(|| {
                let n = e.encrypt(0x0021, &payload, &mut buf).unwrap();
                d.decrypt(&mut buf[..n]).unwrap().offset
            })
        });
        let mut e = Encryptor::new(p, &[7u8; 16]).unwrap();
        let name = if stateless {
            "encrypt_1400_stateless"
        } else {
            "encrypt_1400_stateful"
        };
        g.bench_function(name, |bch| {
            bch.iter(|| e.encrypt(0x0021, &payload, &mut buf).unwrap())
        });
    }
    g.finish();
}

criterion_group!(ppp_benches, benches);
criterion_main!(ppp_benches);
