//! Test support: a throw-away PKI made with the openssl CLI, a seeded RNG, and a netsim
//! endpoint adapter around `ovpn::session::Session`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    dead_code
)]

use std::path::{Path, PathBuf};
use std::process::Command;
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

fn run(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI");
    assert!(
        st.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn leaf(dir: &Path, ca: &str, name: &str, cn: &str, eku: &str, san: Option<&str>) {
    let mut ext = String::from("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n");
    ext.push_str(&format!("extendedKeyUsage={eku}\n"));
    if let Some(s) = san {
        ext.push_str(&format!("subjectAltName={s}\n"));
    }
    leaf_ext(dir, ca, name, &format!("/CN={cn}"), &ext);
}

fn leaf_ext(dir: &Path, ca: &str, name: &str, subj: &str, ext: &str) {
    run(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subj,
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    run(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "3650",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

fn ca(dir: &Path, name: &str) {
    run(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

pub fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("ovpn-test-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ca(&dir, "ca");
        ca(&dir, "rogue-ca");
        leaf(&dir, "ca", "server", "vpn.example.net", "serverAuth", None);
        leaf(&dir, "ca", "client", "client1", "clientAuth", None);
        leaf(
            &dir,
            "rogue-ca",
            "rogue",
            "vpn.example.net",
            "serverAuth,clientAuth",
            None,
        );
        // Self-signed CA-flagged "server certificate" (used as its own `ca`).
        run(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "selfca.key",
                "-out",
                "selfca.crt",
                "-subj",
                "/CN=vpn.example.net",
                "-days",
                "3650",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
            ],
        );
        leaf_ext(&dir, "ca", "bare", "/CN=vpn.example.net", "basicConstraints=CA:FALSE\n");
        leaf_ext(
            &dir,
            "ca",
            "ns",
            "/CN=vpn.example.net",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nnsCertType=server\n",
        );
        leaf_ext(
            &dir,
            "ca",
            "clientonly",
            "/O=Example Org/OU=VPN/CN=vpn.example.net",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        );
        let r = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let p = Pki {
            ca: r("ca.crt"),
            server_cert: r("server.crt"),
            server_key: r("server.key"),
            client_cert: r("client.crt"),
            client_key: r("client.key"),
            rogue_cert: r("rogue.crt"),
            rogue_key: r("rogue.key"),
            rogue_ca: r("rogue-ca.crt"),
            self_ca_cert: r("selfca.crt"),
            self_ca_key: r("selfca.key"),
            bare_cert: r("bare.crt"),
            bare_key: r("bare.key"),
            ns_cert: r("ns.crt"),
            ns_key: r("ns.key"),
            clientonly_cert: r("clientonly.crt"),
            clientonly_key: r("clientonly.key"),
        };
        let _ = std::fs::remove_dir_all(&dir);
        p
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
