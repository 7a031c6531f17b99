//! Test support: a throw-away PKI built in Rust (no openssl CLI), a seeded RNG, and a netsim
//! endpoint adapter around `ovpn::session::Session`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use std::sync::OnceLock;
use std::time::Instant;

use ovpn::crypto::{Digest, KeyDirection, StaticKey};
use ovpn::protect::TlsCryptV2ServerKey;
use ovpn::session::{Session, SessionConfig, TlsFactory, WrapConfig};
use ovpn::tls::{RustlsEngine, TlsEngine, TlsMaterial};

pub struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
    /// Signed by another CA.
    pub rogue_cert: String,
    pub rogue_key: String,
    /// The other CA's certificate.
    pub rogue_ca: String,
    /// Self-signed and marked as a CA (some servers make such a certificate by default;
    /// the client's `ca` is the same certificate).
    pub self_ca_cert: String,
    pub self_ca_key: String,
    /// Signed by `ca`: no key usage and no extended key usage at all.
    pub bare_cert: String,
    pub bare_key: String,
    /// Signed by `ca`: key usage and Netscape nsCertType server, no EKU.
    pub ns_cert: String,
    pub ns_key: String,
    /// Signed by `ca`: EKU clientAuth only, subject with O and OU.
    pub clientonly_cert: String,
    pub clientonly_key: String,
}

/// The test PKI is built in Rust (x509-cert's builder, P-256 ECDSA keys from the seeded
/// [`TestRng`]), not with the `openssl` CLI: `cargo test` must work on a machine with nothing
/// but a Rust toolchain (issue 21). Every certificate is valid from now for ten years.
mod gen {
    use std::str::FromStr;
    use std::time::Duration;

    use p256::ecdsa::{DerSignature, SigningKey};
    use p256::pkcs8::EncodePrivateKey;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::asn1::BitString;
    use x509_cert::der::flagset::FlagSet;
    use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
    use x509_cert::der::pem::LineEnding;
    use x509_cert::der::EncodePem;
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
    use x509_cert::ext::{AsExtension, Extension};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    pub const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
    pub const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

    /// Netscape `nsCertType` (2.16.840.1.113730.1.1), a BIT STRING; `server` is bit 1.
    struct NsCertType(BitString);
    impl AssociatedOid for NsCertType {
        const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.113730.1.1");
    }
    impl x509_cert::der::Encode for NsCertType {
        fn encoded_len(&self) -> x509_cert::der::Result<x509_cert::der::Length> {
            self.0.encoded_len()
        }
        fn encode(&self, w: &mut impl x509_cert::der::Writer) -> x509_cert::der::Result<()> {
            self.0.encode(w)
        }
    }
    impl AsExtension for NsCertType {
        fn critical(&self, _: &Name, _: &[Extension]) -> bool {
            false
        }
    }

    /// What to put in a certificate besides its names and key.
    pub enum Ext {
        /// basicConstraints CA:TRUE (critical) and these key usages.
        Ca(FlagSet<KeyUsages>),
        /// basicConstraints CA:FALSE.
        NotCa,
        /// keyUsage (critical).
        Ku(FlagSet<KeyUsages>),
        /// extendedKeyUsage with these OIDs.
        Eku(&'static [&'static str]),
        /// nsCertType server.
        NsServer,
    }

    pub struct Issued {
        pub key: SigningKey,
        pub name: Name,
        pub cert_pem: String,
        pub key_pem: String,
    }

    /// A certificate for `subject` (RFC 4514 order, e.g. `CN=a,OU=b,O=c`), signed by
    /// `issuer` or self-signed.
    pub fn issue(
        rng: &mut super::TestRng,
        serial: u8,
        subject: &str,
        issuer: Option<&Issued>,
        exts: &[Ext],
    ) -> Issued {
        let key = SigningKey::random(rng);
        let name = Name::from_str(subject).unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        let signer = issuer.map_or(&key, |i| &i.key);
        let mut b = CertificateBuilder::new(
            Profile::Manual {
                issuer: issuer.map(|i| i.name.clone()),
            },
            SerialNumber::new(&[serial]).unwrap(),
            Validity::from_now(Duration::from_secs(3650 * 86_400)).unwrap(),
            name.clone(),
            spki,
            signer,
        )
        .unwrap();
        for e in exts {
            match e {
                Ext::Ca(ku) => {
                    b.add_extension(&BasicConstraints {
                        ca: true,
                        path_len_constraint: None,
                    })
                    .unwrap();
                    b.add_extension(&KeyUsage(*ku)).unwrap();
                }
                Ext::NotCa => b
                    .add_extension(&BasicConstraints {
                        ca: false,
                        path_len_constraint: None,
                    })
                    .unwrap(),
                Ext::Ku(ku) => b.add_extension(&KeyUsage(*ku)).unwrap(),
                Ext::Eku(oids) => b
                    .add_extension(&ExtendedKeyUsage(
                        oids.iter()
                            .map(|o| ObjectIdentifier::new_unwrap(o))
                            .collect(),
                    ))
                    .unwrap(),
                Ext::NsServer => b
                    .add_extension(&NsCertType(BitString::new(6, vec![0x40]).unwrap()))
                    .unwrap(),
            }
        }
        let cert = b.build::<DerSignature>().unwrap();
        Issued {
            cert_pem: cert.to_pem(LineEnding::LF).unwrap(),
            key_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            key,
            name,
        }
    }
}

pub fn pki() -> &'static Pki {
    use gen::{issue, Ext, CLIENT_AUTH, SERVER_AUTH};
    use x509_cert::ext::pkix::KeyUsages;
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        let mut rng = TestRng::new(0x0b_5e_ed);
        let ca_ku = KeyUsages::KeyCertSign | KeyUsages::CRLSign;
        let ds = || Ext::Ku(KeyUsages::DigitalSignature.into());
        let ca = issue(&mut rng, 1, "CN=ca", None, &[Ext::Ca(ca_ku)]);
        let rogue_ca = issue(&mut rng, 2, "CN=rogue-ca", None, &[Ext::Ca(ca_ku)]);
        let leaf = |rng: &mut TestRng, serial, issuer, cn: &str, eku| {
            issue(
                rng,
                serial,
                &format!("CN={cn}"),
                Some(issuer),
                &[Ext::NotCa, ds(), Ext::Eku(eku)],
            )
        };
        let server = leaf(&mut rng, 3, &ca, "vpn.example.net", &[SERVER_AUTH]);
        let client = leaf(&mut rng, 4, &ca, "client1", &[CLIENT_AUTH]);
        let rogue = leaf(
            &mut rng,
            5,
            &rogue_ca,
            "vpn.example.net",
            &[SERVER_AUTH, CLIENT_AUTH],
        );
        // Self-signed CA-flagged "server certificate" (used as its own `ca`).
        let selfca = issue(
            &mut rng,
            6,
            "CN=vpn.example.net",
            None,
            &[Ext::Ca(
                KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            )],
        );
        let bare = issue(&mut rng, 7, "CN=vpn.example.net", Some(&ca), &[Ext::NotCa]);
        let ns = issue(
            &mut rng,
            8,
            "CN=vpn.example.net",
            Some(&ca),
            &[Ext::NotCa, ds(), Ext::NsServer],
        );
        let clientonly = issue(
            &mut rng,
            9,
            "CN=vpn.example.net,OU=VPN,O=Example Org",
            Some(&ca),
            &[Ext::NotCa, ds(), Ext::Eku(&[CLIENT_AUTH])],
        );
        Pki {
            ca: ca.cert_pem,
            server_cert: server.cert_pem,
            server_key: server.key_pem,
            client_cert: client.cert_pem,
            client_key: client.key_pem,
            rogue_cert: rogue.cert_pem,
            rogue_key: rogue.key_pem,
            rogue_ca: rogue_ca.cert_pem,
            self_ca_cert: selfca.cert_pem,
            self_ca_key: selfca.key_pem,
            bare_cert: bare.cert_pem,
            bare_key: bare.key_pem,
            ns_cert: ns.cert_pem,
            ns_key: ns.key_pem,
            clientonly_cert: clientonly.cert_pem,
            clientonly_key: clientonly.key_pem,
        }
    })
}

/// A session config with the wall clock set (the test PKI is made with the real date, so
/// certificate validity is checked against the real date too).
pub fn config(role: ovpn::session::Role) -> SessionConfig {
    // The PKI first: its certificates become valid the second they are made.
    let _ = pki();
    let mut c = SessionConfig::new(role);
    c.unix_time = wall_now();
    c
}

/// Wall-clock Unix seconds (tests may read the clock; the library may not).
pub fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub use netsim::TestRng;

pub fn rng(seed: u64) -> Box<TestRng> {
    TestRng::boxed(seed)
}

pub fn client_tls(verify_name: Option<&'static str>, with_cert: bool) -> TlsFactory {
    let p = pki();
    let m = TlsMaterial {
        ca_pem: Some(p.ca.clone()),
        cert_pem: with_cert.then(|| p.client_cert.clone()),
        key_pem: with_cert.then(|| p.client_key.clone()),
        ..Default::default()
    };
    Box::new(move || Ok(Box::new(RustlsEngine::client(&m, verify_name)?) as Box<dyn TlsEngine>))
}

pub fn server_tls(require_client_cert: bool) -> TlsFactory {
    let p = pki();
    let m = TlsMaterial {
        ca_pem: Some(p.ca.clone()),
        cert_pem: Some(p.server_cert.clone()),
        key_pem: Some(p.server_key.clone()),
        ..Default::default()
    };
    Box::new(move || {
        Ok(Box::new(RustlsEngine::server(&m, require_client_cert)?) as Box<dyn TlsEngine>)
    })
}

/// A `Session` as a netsim endpoint (the adapter the tour uses too).
#[allow(unused_imports)]
pub use netsim::ovpn::SessionPeer as Peer;

pub fn session(
    cfg: SessionConfig,
    now: Instant,
    seed: u64,
    tls: TlsFactory,
    hook: Option<ovpn::session::AuthHook>,
) -> Session {
    Session::new(cfg, now, rng(seed), tls, hook).unwrap()
}

/// A deterministic 2048-bit OpenVPN static key.
pub fn static_key(seed: u8) -> StaticKey {
    let b: Vec<u8> = (0..256)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    StaticKey::from_bytes(&b).unwrap()
}

/// Control-channel protection profiles of the pair tests.
#[derive(Clone, Copy, Debug)]
pub enum Prot {
    None,
    TlsAuth,
    TlsCrypt,
    TlsCryptV2,
}

/// (client wrap, server wrap) for a profile, with fixed test keys.
pub fn wraps(p: Prot) -> (WrapConfig, WrapConfig) {
    match p {
        Prot::None => (WrapConfig::None, WrapConfig::None),
        Prot::TlsAuth => (
            WrapConfig::TlsAuth {
                key: static_key(1),
                direction: KeyDirection::Inverse,
                digest: Digest::Sha256,
            },
            WrapConfig::TlsAuth {
                key: static_key(1),
                direction: KeyDirection::Normal,
                digest: Digest::Sha256,
            },
        ),
        Prot::TlsCrypt => (
            WrapConfig::TlsCrypt { key: static_key(2) },
            WrapConfig::TlsCrypt { key: static_key(2) },
        ),
        Prot::TlsCryptV2 => {
            let mut sk = [0u8; 128];
            for (i, b) in sk.iter_mut().enumerate() {
                *b = i as u8 ^ 0x5a;
            }
            let server = TlsCryptV2ServerKey::from_bytes(&sk).unwrap();
            let kc = static_key(3);
            let wkc = server.wrap(&kc, &[0, b'c', b'1']).unwrap();
            (
                WrapConfig::TlsCryptV2Client {
                    key: ovpn::protect::TlsCryptV2ClientKey { key: kc, wkc },
                },
                WrapConfig::TlsCryptV2Server { key: server },
            )
        }
    }
}

/// A `Server` session factory: a server config with `wrap`, the assigned peer id, the
/// `push` options (`{ip}` replaced by peer id + 2), seeds `seed + peer id`, and with `hook`
/// the credential check "password is pw-<user>".
pub fn server_factory(
    wrap: WrapConfig,
    push: &[&str],
    seed: u64,
    hook: bool,
) -> ovpn::server::SessionFactory {
    let push: Vec<String> = push.iter().map(|p| p.to_string()).collect();
    Box::new(move |peer_id, now| {
        let mut c = config(ovpn::session::Role::Server);
        c.wrap = wrap.clone();
        c.peer_id = Some(peer_id);
        c.push_options = push
            .iter()
            .map(|p| p.replace("{ip}", &(peer_id + 2).to_string()))
            .collect();
        let h: Option<ovpn::session::AuthHook> = hook.then(|| {
            Box::new(|r: &ovpn::AuthRequest<'_>| r.password == format!("pw-{}", r.username)) as _
        });
        Session::new(c, now, rng(seed + u64::from(peer_id)), server_tls(false), h)
    })
}
