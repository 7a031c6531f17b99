//! Known-answer tests. Sources:
//! - Salsa20/20 and Salsa20/12 keystreams, Poly1305 tags, SHA-512, the C25519 vectors (the first
//!   four of 32: X25519 agreement hashed with SHA-512, and ZeroTier's Ed25519-over-SHA-512
//!   signatures) and the known good/bad identities: ZeroTierOne 1.14.1 `selftest.cpp`
//!   (values, not code; also quoted in ../shared/spec/zerotier.md section 5).
//! - The three lab identities, the planet and its signing key: ../shared/captures/zerotier
//!   (made by ZeroTierOne 1.14.1's idtool and mkworld).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use salsa20::cipher::{KeyIvInit, StreamCipher};
use zerotier::crypto::{self, sha512};
use zerotier::wire::InetAddr;
use zerotier::{Identity, SigningKeyPair, World, WorldType, WorldUpdate};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures/zerotier")
}
fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

const KNOWN_GOOD_IDENTITY: &str = "8e4df28b72:0:ac3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7:bd8dd6e4ce7022d2f812797a80c6ee8ad180dc4ebf301dec8b06d1be08832bddd63a2f1cfa7b2c504474c75bdc8898ba476ef92e8e2d0509f8441985171ff16e";
const KNOWN_BAD_IDENTITY: &str = "9e4df28b72:0:ac3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7:bd8dd6e4ce7022d2f812797a80c6ee8ad180dc4ebf301dec8b06d1be08832bddd63a2f1cfa7b2c504474c75bdc8898ba476ef92e8e2d0509f8441985171ff16e";

const C25519_VECTORS: [[&str; 7]; 4] = [
    [
        "a1fc7ab46ddf7dcfe7ec75e5fadd11cbcc37f8845d1c924e098965fcd8e95a30dae486a335b4190cbc7bcb3eb94cbd16e83d132bc9c339eaf142e76f69789ab7",
        "e5f37bd40ec9dc775086dcf42ebcdb27f073d45873c44b718b3cc54fa87ca484d9962373b40316bf1ea12dd8c48ae78210dac9e5459b01dc73a6c917a815316d",
        "3e49a40e3aafa3073df72aec43b1d4091acb8e92f96595046d2d9b34a3bf5100e2ee23f5280aa9b1570b965662ba1294afc65fb561430fde0babfa4ffec5e718",
        "004d418de46923ae98c43e770f1d945d293e945a3839200fd36f76a2290203cb0b7f4f1a295113337c99b3818239440597fb0df293a24094f4ff5d0961e45f76",
        "abced224e893b0e77214dcbb7d0fd894169eb57fd7195f3e2d45d5f7900b3e05182e2bf4fad4ec624a4f4850af1ce89f1ae13d704900a7e35b1ea19b681ea173",
        "edb6d0f0066e339c86fbe8c36c8ddedda6a02db90729a313bba4baec48c8f4568279e2b1d33d839f10e852e68b1c339e2bd2db621c56fd50407781ab21673e094ff251ac7de7d15d4be208c63f6a4dc85d74f63bec8ec60c32272f9c09485910",
        "230fa3e269ceb9b9d11c4eab63c92e1e7ea2a2a0492e78e48a023ba7ab1fd4ce05e28009093c61c7103a9cf495ac896f23b309e2243ff6960236411632e166054ff251ac7de7d15d4be208c63f6a4dc85d74f63bec8ec60c32272f9c09485910",
    ],
    [
        "fd8114f1670744bb9384a2dc36dcccb39e82d48b4256fbf26e833b162c29fb39294885e3e3f7e78049d301305a2c3f4cea13ebdaf456758d501e192d292bfbdb",
        "85344df739bf98798c98eb8d6127ec8756cdd0a65577eef020d0593995ab29828e61f8adedb627c3d816ce6778e2044b0c2d2fc32472bc53bdfe3923d4af2784",
        "11be5f5a73e742efff3c476a0e6b9e9621a3df49e93f40fcabb366d33dfa0229f343453c70a35d39f7c06acdfa1dbe3b9141e4b060c022f72c112b1c5f24ef53",
        "fd3f0906c9398d48fa6bc980bff6d676b36270884fdedeb9b4f0cef3740dea009e9c29e1a21bbdb583cc12d848085be5d6f9115ce0d9c33c26bd699f5c6f0c6f",
        "cad476328bbe0c65754373c2f2fd7febe462c50d0ff901c8b9facab4121cb4ac0e5f18fc0c7f2a55c5fd4d83b202316a3f14ee9d11a806adeb931979b1f27805",
        "85e6e2f296e7a28b7e36bd7bf4286ad7bc2a6a59fdc0c83d500f0c2b123a75c756bb7f7d4ed403b87bdede99659ec4a66efe0088eb9da4a99d37c94acf69c401baa8ceeb72cb648b9fc11f9a9e99cc39ecd9bbd9cec2746fd02ab9c6e3f5e7f4",
        "b13950b11a08422bdd6d209f0f37ba699721307a712fce980904a2986aed021d5d308f03476b89fdf71aca466f51699a2b1877e4ad0d7a66d22c28a0d30a990dbaa8ceeb72cb648b9fc11f9a9e99cc39ecd9bbd9cec2746fd02ab9c6e3f5e7f4",
    ],
    [
        "023a7e0c6d963c5d44565dc1499435129dff8a5d9174a815ee5d1e72be861568e736a24ab8a2a44cd895e3c7bb322190645232eb26d34ff08e2740eaeddbf5c4",
        "76996470f450c8cc4a5aa50feb2dc70e73d0657dc3ce7303202fad65fd12e47ffd453a6ec59a06670ea67b21492d011b8e036e10080c68d96047a4e252fd3cf4",
        "a3e25f16397896f7476f935d277b58e0c5db717da96ff88b69dd50ea910d6677af8fd59f8a26694c643762816f059a080de16924773f50b2494d93ef2e87ffde",
        "b332e26779325f6447491cd38f9544fd4c7ebf6bb7af2cdd8fa5d82fbfa08a6b5825c912236fe605a8d0686e0cee70e4a38651046dcad5edcf741d609e862d05",
        "91f45f4acbd8fd5fb93d04b8ec35854f5820d11f47c4f4cb214e9af16ebfe3d362e382f6baa8df92e23ce5f0168aeba4bbc781af1519875fb7e04c12ff2ca9c8",
        "af85e03643df4117dade5eb633d0ce62705f85246c3e1be152c19b1ccd61809ca0e818ee40919382db3344ffd4f66f5df00e929281554606ac58813b04c7f70dd20c086d46db432831d8cd8750bbd307f5720b157c16ab03d94b073897e8d6b5",
        "93ff6dc362f7cc2095c22f7d1d9bd163fc6147b3220fcab016cf29534697b13646ac481392e44668cf094efa59452408dbb46f205512d9759d8e0bf863e0f901d20c086d46db432831d8cd8750bbd307f5720b157c16ab03d94b073897e8d6b5",
    ],
    [
        "1435a67dc1b571ca425090a77285be787a5f831ebeef6abe48c568140cf7445c2efd1bccee09238231adaf4b739cf2883cf3b5438b53f9ac17861cc25343ec03",
        "7b366cccb5b2233d7ce5e7cf06e2320bc53b7f8640fcafba94e088585bace8c3e8c3dfc44529e8f01c100d50812930a827b53eb825f11730c605e33e4538a83c",
        "ced94528b0cea547a829327699738d74f9ed0ad0f1d87e44639e9acf7c358a29bb71668da7fc053dd44b6520f5a464d89d16809cb23c3ed49d09888ebb58f877",
        "e129b316e6a0db640836dc33ad8b30261756d73417d1dd2338582501425a9d183eac31fa4328c465fb302f8c1652321b19b731f667a7d8ed9aa39501d7b9e7cc",
        "812d11a911f122e26770c4ba34a1758cf60c63e7013c646ce8d0f88e88df5c61685d1feb831f40b8a8565726812ca30e484c454d0d3d6e9952bd0bd805c5f961",
        "9245bee6b47afa28d45b6b17c613615d5fd790bb89357a025057565f19b5b6c5771e1bc0d77a29bde724012d37c0386fc835a11be0ea16adbcdcd48d4e71db059eb5536b5cf17d158bd7c78b899dfd287ca131e2f02c3a8d0e23854ef0d1c083",
        "7b88eb451c7ffdbebaac532859e8ad28f1972d6c31a6ae4710696855a69c0362b72f31462a2b98dde9f9fe77714154f859027ae34567b6f794313e62622af90a9eb5536b5cf17d158bd7c78b899dfd287ca131e2f02c3a8d0e23854ef0d1c083",
    ],
];

#[test]
fn salsa20_keystreams_match_zerotier_selftest() {
    let key: [u8; 32] = h("0f62b5085bae0154a7fa4da0f34699ec3f92e5388bde3184d72a7dd02376c91c")
        .try_into()
        .unwrap();
    let iv: [u8; 8] = h("288ff65dc42b92f9").try_into().unwrap();
    let mut ks = [0u8; 64];
    salsa20::Salsa20::new(&key.into(), &iv.into()).apply_keystream(&mut ks);
    assert_eq!(hex::encode(ks), "5e5e71f90199340304abb22a37b6625bf883fb89ce3b21f54a10b81066ef87da30b77699aa7379da595c77dd59542da208e5954f89e40eb7aa80a84a6176663f");
    let mut ks = [0u8; 64];
    salsa20::Salsa12::new(&key.into(), &iv.into()).apply_keystream(&mut ks);
    assert_eq!(hex::encode(ks), "99db33ad11ce0ccb3bfdbf8d0c18160452d014cde989b4c411a559ff7c20a169e6dc9909d816becedc4063ce07cea828f44bf9b6c9a0a0b200e1b52af41859c5");
}

#[test]
fn poly1305_and_sha512_match_zerotier_selftest() {
    use poly1305::universal_hash::KeyInit;
    let key = h("746869732069732033322d62797465206b657920666f7220506f6c7931333035");
    let p = poly1305::Poly1305::new_from_slice(&key).unwrap();
    assert_eq!(
        hex::encode(p.clone().compute_unpadded(&[0u8; 32])),
        "49ec78090e481ec6c26b33b91ccc0307"
    );
    assert_eq!(
        hex::encode(p.compute_unpadded(b"Hello world!")),
        "a6f745008f81c916a20dcc74eef2b2f0"
    );
    assert_eq!(
        hex::encode(sha512(b"supercalifragilisticexpealidocious")),
        "182a855969e5d3e6cbf60524adf288d1bbf25292812431f6d252f1dbc1cb44df21573de1b06b6875959f3b6f87b11381d0bc792c433a13553ce084c29255311c"
    );
}

#[test]
fn c25519_agreement_and_signatures_match_zerotier_selftest() {
    for (k, v) in C25519_VECTORS.iter().enumerate() {
        let (pub1, priv1, pub2, priv2) = (h(v[0]), h(v[1]), h(v[2]), h(v[3]));
        let (agreement, sig1, sig2) = (h(v[4]), h(v[5]), h(v[6]));
        let id1 = Identity::from_parts(
            zerotier::Address::new(1),
            pub1.clone().try_into().unwrap(),
            Some(priv1.clone().try_into().unwrap()),
        );
        let id2 = Identity::from_parts(
            zerotier::Address::new(2),
            pub2.clone().try_into().unwrap(),
            Some(priv2.clone().try_into().unwrap()),
        );
        assert!(
            id1.secret_matches() && id2.secret_matches(),
            "vector {k}: public keys derive from the secrets"
        );
        // Our per-peer key is the first 48 bytes of the 64-byte selftest agreement.
        assert_eq!(id1.agree(&id2).unwrap()[..], agreement[..48], "vector {k}");
        assert_eq!(id2.agree(&id1).unwrap()[..], agreement[..48], "vector {k}");
        // Signatures over the 64-byte agreement are deterministic: byte-exact.
        assert_eq!(
            id1.sign(&agreement).unwrap()[..],
            sig1[..],
            "vector {k} sig by 1"
        );
        assert_eq!(
            id2.sign(&agreement).unwrap()[..],
            sig2[..],
            "vector {k} sig by 2"
        );
        assert!(id1.verify(&agreement, &sig1));
        assert!(!id2.verify(&agreement, &sig1));
        let mut bad = sig1.clone();
        bad[10] ^= 1;
        assert!(!id1.verify(&agreement, &bad));
        let mut bad = sig1.clone();
        bad[70] ^= 1; // the digest copy is checked too
        assert!(!id1.verify(&agreement, &bad));
    }
}

#[test]
fn known_good_and_bad_identities() {
    let good: Identity = KNOWN_GOOD_IDENTITY.parse().unwrap();
    assert!(good.has_secret());
    assert!(good.locally_validate());
    assert_eq!(good.to_secret_string().unwrap(), KNOWN_GOOD_IDENTITY);
    assert_eq!(
        good.to_string(),
        KNOWN_GOOD_IDENTITY.rsplit_once(':').unwrap().0
    );
    let bad: Identity = KNOWN_BAD_IDENTITY.parse().unwrap();
    assert!(!bad.locally_validate(), "same keys, wrong address");
    // Binary round trip.
    let mut b = Vec::new();
    good.emit(&mut b, true);
    assert_eq!(b.len(), 5 + 1 + 64 + 1 + 64);
    let (back, n) = Identity::parse(&b).unwrap();
    assert_eq!(n, b.len());
    assert_eq!(back.to_secret_string(), good.to_secret_string());
    // Malformed text forms.
    for s in [
        "8e4df28b72:1:00",
        "8e4df28b7:0:ac3d",
        "8e4df28b72:0:xx3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7",
        "8e4df28b72:0:ac3d",
    ] {
        assert!(s.parse::<Identity>().is_err(), "{s}");
    }
    // A secret that does not match the public key.
    let mut wrong = KNOWN_GOOD_IDENTITY.to_string();
    wrong.replace_range(wrong.len() - 2.., "00");
    assert!(wrong.parse::<Identity>().is_err());
}

#[test]
fn lab_identities_validate_and_generation_is_valid() {
    for n in ["root", "a", "b"] {
        let s = Identity::from_file_contents(
            &std::fs::read_to_string(dir().join(n).join("identity.secret")).unwrap(),
        )
        .unwrap();
        let p = Identity::from_file_contents(
            &std::fs::read_to_string(dir().join(n).join("identity.public")).unwrap(),
        )
        .unwrap();
        assert_eq!(s, p);
        assert!(!p.has_secret());
        assert!(s.locally_validate(), "{n}");
    }
    use rand_chacha::rand_core::SeedableRng;
    let g = Identity::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5));
    assert!(g.locally_validate() && g.secret_matches());
    let reparsed: Identity = g.to_secret_string().unwrap().parse().unwrap();
    assert_eq!(reparsed, g);
}

#[test]
fn captured_planet_decodes_verifies_and_remakes_byte_exact() {
    let bytes = std::fs::read(dir().join("planet")).unwrap();
    assert_eq!(bytes.len(), 264);
    let w = World::parse(&bytes).unwrap();
    assert_eq!(w.kind, WorldType::Planet);
    assert_eq!(w.id, 680_343);
    assert_eq!(w.timestamp, 1_700_000_000_000);
    assert_eq!(w.roots.len(), 1);
    assert_eq!(w.roots[0].identity.address().to_string(), "74beb2463d");
    assert_eq!(
        w.roots[0].endpoints,
        vec![
            InetAddr::Ip("10.97.1.1:9993".parse().unwrap()),
            InetAddr::Ip("10.97.2.1:9993".parse().unwrap())
        ]
    );
    assert!(w.self_signed());
    assert_eq!(w.to_bytes(), bytes);
    let key =
        SigningKeyPair::from_bytes(&std::fs::read(dir().join("planet-signing.c25519")).unwrap())
            .unwrap();
    assert_eq!(key.public, w.updates_must_be_signed_by);
    // mkworld's signature is deterministic Ed25519: our World::make reproduces the file.
    let again = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp,
        key.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(again.to_bytes(), bytes);
}

#[test]
fn world_update_rule() {
    let bytes = std::fs::read(dir().join("planet")).unwrap();
    let w = World::parse(&bytes).unwrap();
    let key =
        SigningKeyPair::from_bytes(&std::fs::read(dir().join("planet-signing.c25519")).unwrap())
            .unwrap();
    use rand_chacha::rand_core::SeedableRng;
    let other = SigningKeyPair::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(9));
    let newer = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp + 1,
        key.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(w.check_update(&newer), WorldUpdate::Accepted);
    // Forged: newer but signed by another key (claiming the right updatesMustBeSignedBy).
    let forged = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp + 1,
        key.public,
        vec![],
        &other,
    );
    assert_eq!(w.check_update(&forged), WorldUpdate::BadSignature);
    // A signature made for different contents.
    let mut tampered = newer.clone();
    tampered.roots.clear();
    assert_eq!(w.check_update(&tampered), WorldUpdate::BadSignature);
    let older = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp,
        key.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(w.check_update(&older), WorldUpdate::NotNewer);
    let unrelated = World::make(
        WorldType::Planet,
        w.id + 1,
        w.timestamp + 1,
        key.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(w.check_update(&unrelated), WorldUpdate::Unrelated);
    // A rotation: the update may name a new key for the next one.
    let rotated = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp + 2,
        other.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(w.check_update(&rotated), WorldUpdate::Accepted);
    let next = World::make(
        WorldType::Planet,
        w.id,
        w.timestamp + 3,
        other.public,
        w.roots.clone(),
        &other,
    );
    assert_eq!(rotated.check_update(&next), WorldUpdate::Accepted);
    assert_eq!(w.check_update(&next), WorldUpdate::BadSignature);
    // Moons carry the (empty) dictionary length and round-trip.
    let moon = World::make(
        WorldType::Moon,
        0x1234,
        5,
        key.public,
        w.roots.clone(),
        &key,
    );
    assert_eq!(World::parse(&moon.to_bytes()).unwrap(), moon);
    // Regression (zerotier_world fuzz target): a moon whose reserved dictionary is not empty
    // used to decode and re-encode without it; it is refused.
    let mut with_dict = moon.to_bytes();
    let n = with_dict.len();
    with_dict[n - 2..].copy_from_slice(&[0, 2]);
    with_dict.extend_from_slice(&[0xab, 0xcd]);
    assert!(World::parse(&with_dict).is_err());
    // ... and so is a root identity carrying its private key.
    let secret_id: Identity = KNOWN_GOOD_IDENTITY.parse().unwrap();
    let leaky = World::make(
        WorldType::Planet,
        0x99,
        5,
        key.public,
        vec![zerotier::Root {
            identity: secret_id.clone(),
            endpoints: Vec::new(),
        }],
        &key,
    );
    let mut leaky_bytes = Vec::new();
    leaky_bytes.push(1u8);
    leaky_bytes.extend_from_slice(&leaky.to_bytes()[1..1 + 8 + 8 + 64 + 96]);
    leaky_bytes.push(1);
    secret_id.emit(&mut leaky_bytes, true);
    leaky_bytes.push(0);
    assert!(World::parse(&leaky_bytes).is_err());
    // The same world with the public identity decodes.
    let mut public_bytes = leaky_bytes[..1 + 8 + 8 + 64 + 96 + 1].to_vec();
    secret_id.emit(&mut public_bytes, false);
    public_bytes.push(0);
    assert_eq!(
        World::parse(&public_bytes).unwrap().to_bytes(),
        public_bytes
    );
    // Decoder limits.
    let mut too_many = bytes.clone();
    too_many[1 + 8 + 8 + 64 + 96] = 5;
    assert!(World::parse(&too_many).is_err());
    assert!(World::parse(&bytes[..200]).is_err());
}

#[test]
fn kbkdf_labels_and_peer_key_are_deterministic() {
    let k = [7u8; 48];
    let a = crypto::kbkdf_hmac_sha384(&k, b'0', 0, 0);
    let b = crypto::kbkdf_hmac_sha384(&k, b'1', 0, 0);
    assert_ne!(a, b);
    assert_eq!(a, crypto::kbkdf_hmac_sha384(&k, b'0', 0, 0));
}

/// Regression (found by the `zerotier_packet` fuzz target in CI): an OK(WHOIS) whose identity
/// carries a private key used to decode and then re-encode without it. A private key on the wire
/// is refused, as in HELLO; the public form decodes and re-encodes byte-exact.
#[test]
fn ok_whois_with_a_private_key_is_refused() {
    use zerotier::wire::verbs::Message;
    use zerotier::wire::Verb;
    let id: Identity = KNOWN_GOOD_IDENTITY.parse().unwrap();
    assert!(id.has_secret());
    let mut with_secret = vec![0x04u8, 0, 0, 0, 0, 0, 0, 0, 1];
    id.emit(&mut with_secret, true);
    assert!(Message::parse(Verb::Ok, &with_secret).is_err());
    let mut public = vec![0x04u8, 0, 0, 0, 0, 0, 0, 0, 1];
    id.emit(&mut public, false);
    let m = Message::parse(Verb::Ok, &public).unwrap();
    let mut out = Vec::new();
    m.emit(&mut out);
    assert_eq!(out, public);
}
