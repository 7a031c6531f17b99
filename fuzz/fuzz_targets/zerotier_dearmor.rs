//! ZeroTier dearmor path: arbitrary datagrams into a leaf node that knows its root (so MAC
//! checks in every cipher suite, WHOIS queueing and the drop paths run), then the raw
//! `dearmor` with a fixed key. Never panics; state stays bounded.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use fuzz::TestRng;
use zerotier::crypto::{dearmor, PeerKey};
use zerotier::wire::InetAddr;
use zerotier::{Identity, LocalSocket, Node, NodeConfig, Root, SigningKeyPair, World, WorldType};

fn setup() -> &'static (Identity, World) {
    static S: OnceLock<(Identity, World)> = OnceLock::new();
    S.get_or_init(|| {
        let mut r = TestRng(1);
        let root = Identity::generate(&mut r);
        let me = Identity::generate(&mut r);
        let key = SigningKeyPair::generate(&mut r);
        let w = World::make(
            WorldType::Planet,
            1,
            1,
            key.public,
            vec![Root {
                identity: root.public_only(),
                endpoints: vec![InetAddr::Ip("10.0.0.1:9993".parse().unwrap())],
            }],
            &key,
        );
        (me, w)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (me, w) = setup();
    let now = fuzz::base_instant();
    let mut node = Node::new(
        NodeConfig::new(me.clone(), w.clone()),
        now,
        Box::new(TestRng(2)),
    )
    .unwrap();
    node.handle_timeout(now);
    // The input is a sequence of datagrams: [len_hi, len_lo, bytes...]*
    let mut rest = data;
    let mut t = now;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (d, r) = rest[2..].split_at(n);
        rest = r;
        let _ = node.handle_datagram(t, LocalSocket::Primary, "10.0.0.1:9993".parse().unwrap(), d);
        t += Duration::from_millis(700);
        if node.poll_timeout().is_some_and(|x| x <= t) {
            node.handle_timeout(t);
        }
        while node.poll_transmit(t).is_some() {}
        while node.poll_event().is_some() {}
        assert!(node.reassembly_pending() <= 32 && node.whois_pending() <= 64);
    }
    let mut d = data.to_vec();
    let _ = dearmor(&mut d, &PeerKey::new([5; 48]));
});
