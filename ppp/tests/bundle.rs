//! Multilink bundles (RFC 1990): two member links of one user, one of them lossy and then
//! removed; 1500-octet packets come out whole and in order, and state stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use netsim::{Link, LinkConfig};
use ppp::mp::{
    Bundle, BundleError, BundleKey, Limits, MemberId, SeqFormat, SESSION_REORDER_WINDOW,
};
use std::time::{Duration, Instant};

fn key(user: &str) -> BundleKey {
    BundleKey {
        user: user.into(),
        endpoint: Some((1, vec![10, 0, 0, 9])),
    }
}

fn bundle() -> Bundle {
    let mut l = Limits::new(1602);
    l.reorder_window = SESSION_REORDER_WINDOW;
    Bundle::new(key("alice"), SeqFormat::Long, SeqFormat::Long, 1600, l, 4)
}

/// A 1500-octet IPv4 packet with its protocol field (what MP reconstructs).
fn packet(i: u32) -> Vec<u8> {
    let mut p = vec![0x00, 0x21, 0x45, 0];
    p.extend_from_slice(&i.to_be_bytes());
    p.extend((8..1502).map(|j| (j as u32 ^ i.wrapping_mul(31)) as u8));
    p
}

struct Net {
    now: Instant,
    links: Vec<Option<Link>>,
}

impl Net {
    /// Move time on by `dt`, delivering what is due to the receiving bundle.
    fn run(&mut self, rx: &mut Bundle, ids: &[MemberId], got: &mut Vec<Vec<u8>>, dt: Duration) {
        let end = self.now + dt;
        while self.now < end {
            self.now += Duration::from_millis(1);
            for (i, l) in self.links.iter_mut().enumerate() {
                let Some(l) = l else { continue };
                while let Some(d) = l.pop_due(self.now) {
                    rx.receive(self.now, ids[i], &d).unwrap();
                }
            }
            if rx.poll_timeout().is_some_and(|t| t <= self.now) {
                rx.handle_timeout(self.now);
            }
            while let Some(p) = rx.poll() {
                got.push(p.to_vec());
            }
        }
    }
}

#[test]
fn two_link_bundle_with_a_lossy_member_that_then_leaves() {
    let start = Instant::now();
    let (mut tx, mut rx) = (bundle(), bundle());
    let t: Vec<MemberId> = (0..2)
        .map(|_| tx.join(&key("alice"), 1450).unwrap())
        .collect();
    let r: Vec<MemberId> = (0..2)
        .map(|_| rx.join(&key("alice"), 1450).unwrap())
        .collect();
    assert_eq!((tx.active_links(), rx.active_links()), (2, 2));
    // Another user, or the same user from another endpoint, does not join.
    assert_eq!(tx.join(&key("bob"), 1450), Err(BundleError::KeyMismatch));
    let other = BundleKey {
        endpoint: Some((1, vec![10, 0, 0, 8])),
        ..key("alice")
    };
    assert_eq!(tx.join(&other, 1450), Err(BundleError::KeyMismatch));
    let lossy = LinkConfig {
        loss: 0.2,
        ..LinkConfig::perfect()
    };
    let mut net = Net {
        now: start,
        links: vec![
            Some(Link::new(LinkConfig::perfect(), 1)),
            Some(Link::new(lossy, 2)),
        ],
    };
    let mut got = Vec::new();
    let sent: Vec<Vec<u8>> = (0..200).map(packet).collect();
    for p in &sent[..100] {
        let mut per_member = [0usize; 2];
        let n = tx
            .send(p, |m, info| {
                let i = t.iter().position(|x| *x == m).unwrap();
                per_member[i] += 1;
                assert!(info.len() <= 1450);
                net.links[i].as_mut().unwrap().send(net.now, info.to_vec());
            })
            .unwrap();
        // 1500 octets over two 1450-MTU members: one fragment on each.
        assert_eq!((n, per_member), (2, [1, 1]));
        net.run(&mut rx, &r, &mut got, Duration::from_millis(5));
        assert!(rx.buffered_fragments() <= 128 && rx.buffered_bytes() <= 64 * 1024);
    }
    net.run(&mut rx, &r, &mut got, Duration::from_secs(3));
    // Every packet that came out is whole, and they are in order; the lossy member lost
    // some, and nothing waits for it any more.
    let mut it = sent.iter();
    for g in &got {
        assert!(
            it.any(|s| s == g),
            "a packet came out damaged or out of order"
        );
    }
    assert!(
        got.len() >= 60 && got.len() < 100,
        "{} delivered",
        got.len()
    );
    assert_eq!(rx.buffered_fragments(), 0);
    let c = rx.counters();
    assert!(c.dropped_fragments > 0);
    // The lossy member leaves on both ends: the bundle stays up on the other one.
    assert_eq!(tx.leave(t[1]), Ok(1));
    assert_eq!(rx.leave(r[1]), Ok(1));
    net.links[1] = None;
    assert_eq!(tx.active_links(), 1);
    let before = got.len();
    for p in &sent[100..] {
        let n = tx
            .send(p, |m, info| {
                assert_eq!(m, t[0]);
                net.links[0].as_mut().unwrap().send(net.now, info.to_vec());
            })
            .unwrap();
        assert_eq!(n, 2);
        net.run(&mut rx, &r, &mut got, Duration::from_millis(5));
    }
    net.run(&mut rx, &r, &mut got, Duration::from_millis(100));
    assert_eq!(
        &got[before..],
        &sent[100..],
        "all 100 after the leave, in order"
    );
    assert_eq!(tx.leave(t[1]), Err(BundleError::NoSuchMember(t[1])));
    // The last member leaving leaves nothing to send on.
    assert_eq!(tx.leave(t[0]), Ok(0));
    assert_eq!(tx.send(&sent[0], |_, _| {}), Err(BundleError::NoMembers));
}

#[test]
fn bundle_state_is_bounded_under_a_fragment_flood() {
    let mut rx = bundle();
    let k = key("alice");
    let ids: Vec<MemberId> = (0..4).map(|_| rx.join(&k, 1450).unwrap()).collect();
    assert_eq!(rx.join(&k, 1450), Err(BundleError::Full));
    let now = Instant::now();
    // Middle fragments (no B, no E) that never complete, on every member.
    for i in 0..20_000u32 {
        let mut f = vec![0x00];
        f.extend_from_slice(&(i * 2).to_be_bytes()[1..]);
        f.extend_from_slice(&[0xaa; 1000]);
        rx.receive(now, ids[(i % 4) as usize], &f).unwrap();
        assert!(rx.buffered_fragments() <= 128);
        assert!(rx.buffered_bytes() <= 64 * 1024 + 1000);
    }
    assert!(rx.poll().is_none());
    rx.handle_timeout(now + Duration::from_secs(3));
    assert_eq!(rx.buffered_fragments(), 0);
    // Oversized packets are refused on send.
    let mut tx = bundle();
    tx.join(&k, 1450).unwrap();
    assert!(matches!(
        tx.send(&vec![0; 1603], |_, _| {}),
        Err(BundleError::TooBig { .. })
    ));
}

mod sessions {
    //! The same with real member sessions: two L2TP-style links of user alice, both with
    //! `mrru` and the same Endpoint-Discriminator, joined into one bundle on each side by
    //! `BundleKey::of`; the application routes protocol 0x003d frames to the bundle.
    use super::*;
    use netsim::{Endpoint, Pair};
    use ppp::{Config, Role};
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use crate::common::{client_cfg, server_cfg, Node};

    #[derive(Default)]
    struct Side {
        bundle: Option<Bundle>,
        got: Vec<Vec<u8>>,
    }

    struct Member {
        n: Node,
        side: Rc<RefCell<Side>>,
        id: Option<MemberId>,
        tx: VecDeque<Vec<u8>>,
    }

    impl Endpoint for Member {
        fn handle_input(&mut self, now: Instant, data: &[u8]) {
            let mp = ppp::wire::Frame::parse(data)
                .ok()
                .filter(|f| f.protocol == ppp::wire::protocol::MP)
                .map(|f| f.payload.to_vec());
            match (mp, self.id) {
                (Some(info), Some(id)) => {
                    let mut side = self.side.borrow_mut();
                    let Side { bundle, got } = &mut *side;
                    let b = bundle.as_mut().unwrap();
                    b.receive(now, id, &info).unwrap();
                    while let Some(p) = b.poll() {
                        got.push(p.to_vec());
                    }
                }
                _ => self.n.handle_input(now, data),
            }
        }
        fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
            self.tx.pop_front().or_else(|| self.n.poll_transmit(now))
        }
        fn poll_timeout(&mut self) -> Option<Instant> {
            self.n.poll_timeout()
        }
        fn handle_timeout(&mut self, now: Instant) {
            self.n.handle_timeout(now)
        }
    }

    fn cfgs() -> (Config, Config) {
        let mut cc = client_cfg("alice", "secret");
        cc.mrru = Some(1600);
        cc.mp_endpoint_discriminator = Some([9, 9, 9, 9]);
        let mut sc = server_cfg();
        sc.mrru = Some(1600);
        sc.mp_endpoint_discriminator = Some([7, 7, 7, 7]);
        (cc, sc)
    }

    fn member(
        i: u64,
        start: Instant,
        link: LinkConfig,
        c: &Rc<RefCell<Side>>,
        s: &Rc<RefCell<Side>>,
    ) -> Pair<Member, Member> {
        let (cc, sc) = cfgs();
        let mut a = Node::new(cc, Role::Client, start, 100 + i);
        let mut b = Node::new(sc, Role::Server, start, 200 + i);
        b.users.push(("alice".into(), "secret".into()));
        a.s.open(start);
        b.s.open(start);
        let m = |n, side: &Rc<RefCell<Side>>| Member {
            n,
            side: side.clone(),
            id: None,
            tx: VecDeque::new(),
        };
        let mut p = Pair::with_start(m(a, c), m(b, s), link.clone(), link, 50 + i, start);
        p.run_until(Duration::from_secs(30), |a, b| {
            a.n.network_up() && b.n.network_up()
        })
        .unwrap();
        p
    }

    #[test]
    fn two_member_sessions_bundle_by_user_and_discriminator() {
        let start = Instant::now();
        let (cs, ss) = (
            Rc::<RefCell<Side>>::default(),
            Rc::<RefCell<Side>>::default(),
        );
        let perfect = LinkConfig::perfect().with_mtu(1454);
        let lossy = LinkConfig {
            loss: 0.2,
            ..LinkConfig::perfect()
        }
        .with_mtu(1454);
        let mut p = [
            member(0, start, perfect, &cs, &ss),
            member(1, start, lossy, &cs, &ss),
        ];
        // Same user, same discriminator: the same bundle on each side.
        let skey = BundleKey::of(&p[0].b.n.s);
        assert_eq!(skey, BundleKey::of(&p[1].b.n.s));
        assert_eq!(skey.user, "alice");
        assert_eq!(skey.endpoint, Some((1, vec![9, 9, 9, 9])));
        let ckey = BundleKey::of(&p[0].a.n.s);
        assert_eq!(ckey, BundleKey::of(&p[1].a.n.s));
        assert_eq!(ckey.endpoint, Some((1, vec![7, 7, 7, 7])));
        let mk = |k: &BundleKey| {
            let mut l = Limits::new(1602);
            l.reorder_window = SESSION_REORDER_WINDOW;
            Bundle::new(k.clone(), SeqFormat::Long, SeqFormat::Long, 1600, l, 4)
        };
        cs.borrow_mut().bundle = Some(mk(&ckey));
        ss.borrow_mut().bundle = Some(mk(&skey));
        for m in p.iter_mut() {
            let mtu = m.a.n.s.link_mtu();
            m.a.id = Some(
                cs.borrow_mut()
                    .bundle
                    .as_mut()
                    .unwrap()
                    .join(&ckey, mtu)
                    .unwrap(),
            );
            m.b.id = Some(
                ss.borrow_mut()
                    .bundle
                    .as_mut()
                    .unwrap()
                    .join(&skey, mtu)
                    .unwrap(),
            );
        }
        assert_eq!(ss.borrow().bundle.as_ref().unwrap().active_links(), 2);
        // Align the two links' clocks.
        let t = p[0].now().max(p[1].now());
        for m in p.iter_mut() {
            let d = t - m.now();
            m.run_for(d);
        }
        let step = |p: &mut [Pair<Member, Member>; 2], d: Duration| {
            let end = p[0].now() + d;
            while p[0].now() < end {
                for m in p.iter_mut() {
                    m.run_for(Duration::from_millis(1));
                }
            }
        };
        let sent: Vec<Vec<u8>> = (0..200).map(packet).collect();
        let send = |p: &mut [Pair<Member, Member>; 2], pkt: &[u8]| {
            let ids: Vec<Option<MemberId>> = p.iter().map(|m| m.a.id).collect();
            cs.borrow_mut()
                .bundle
                .as_mut()
                .unwrap()
                .send(pkt, |id, info| {
                    let i = ids.iter().position(|x| *x == Some(id)).unwrap();
                    let mut f = vec![0xff, 0x03, 0x00, 0x3d];
                    f.extend_from_slice(info);
                    p[i].a.tx.push_back(f);
                })
                .unwrap();
        };
        for pkt in &sent[..100] {
            send(&mut p, pkt);
            step(&mut p, Duration::from_millis(5));
        }
        step(&mut p, Duration::from_secs(3));
        {
            let side = ss.borrow();
            let mut it = sent.iter();
            for g in &side.got {
                assert!(it.any(|s| s == g), "damaged or out of order");
            }
            assert!(
                side.got.len() >= 60 && side.got.len() < 100,
                "{}",
                side.got.len()
            );
        }
        // The lossy member hangs up; the bundle carries on over the other link.
        let now = p[1].now();
        p[1].a.n.s.close(now, "member leaves");
        let (ca, sb) = (p[1].a.id.take().unwrap(), p[1].b.id.take().unwrap());
        assert_eq!(cs.borrow_mut().bundle.as_mut().unwrap().leave(ca), Ok(1));
        assert_eq!(ss.borrow_mut().bundle.as_mut().unwrap().leave(sb), Ok(1));
        let before = ss.borrow().got.len();
        for pkt in &sent[100..] {
            send(&mut p, pkt);
            step(&mut p, Duration::from_millis(5));
        }
        step(&mut p, Duration::from_millis(200));
        assert_eq!(&ss.borrow().got[before..], &sent[100..]);
        assert!(p[1].a.n.terminated());
        assert!(!p[0].a.n.terminated() && !p[0].b.n.terminated());
    }
}
