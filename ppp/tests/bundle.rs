//! Multilink bundles (RFC 1990): two member links of one user, one of them lossy and then
//! removed; 1500-octet packets come out whole and in order, and state stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

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
