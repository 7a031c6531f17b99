#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! OpenVPN's certificate rules (one test per rule), the TLS cases a deployment meets (a TLS
//! 1.2-only peer, a missing required client certificate, a wrong CA, a rogue certificate),
//! the RouterOS config layer end to end (a test per setting, observed on the wire or in
//! the events), renegotiation before packet-id exhaustion, the tls-crypt-v2 verify hook,
//! the AEAD provider's explicit fall-back, and the server's half-open limits.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use netsim::{LinkConfig, Pair};
use ovpn::{
    AuthRequest, Cipher, ClientConfig, Digest, DownReason, DropReason, Event, PeerVerify, Role,
    Server, ServerConfig, ServerInput, ServerLimits, SessionConfig, TlsEngine, TlsFactory,
    TlsMaterial, TlsVersion, X509Name,
};

fn server_factory_with(cert: &str, key: &str, version: TlsVersion, require: bool) -> TlsFactory {
    let m = TlsMaterial {
        ca_pem: Some(pki().ca.clone()),
        cert_pem: Some(cert.into()),
        key_pem: Some(key.into()),
        version,
        verify: Default::default(),
    };
    Box::new(move || Ok(Box::new(ovpn::RustlsEngine::server(&m, require)?) as Box<dyn TlsEngine>))
}

fn client_factory_with(
    ca: &str,
    cert: Option<(&str, &str)>,
    verify: PeerVerify,
    host: Option<&'static str>,
) -> TlsFactory {
    let m = TlsMaterial {
        ca_pem: Some(ca.into()),
        cert_pem: cert.map(|c| c.0.to_string()),
        key_pem: cert.map(|c| c.1.to_string()),
        version: TlsVersion::Any,
        verify,
    };
    Box::new(move || Ok(Box::new(ovpn::RustlsEngine::client(&m, host)?) as Box<dyn TlsEngine>))
}

/// Client and server sessions from configs and TLS factories, run for 5 s of virtual time.
fn run_pair(
    cc: SessionConfig,
    sc: SessionConfig,
    ctls: TlsFactory,
    stls: TlsFactory,
    hook: Option<ovpn::AuthHook>,
) -> Pair<Peer, Peer> {
    let start = Instant::now();
    let mut c = session(cc, start, 1, ctls, None);
    c.connect(start).unwrap();
    let s = session(sc, start, 2, stls, hook);
    let mut pair = Pair::with_start(
        Peer::new(c, false),
        Peer::new(s, false),
        LinkConfig::perfect(),
        LinkConfig::perfect(),
        1,
        start,
    );
    pair.run_for(Duration::from_secs(5));
    pair
}

fn cfgs() -> (SessionConfig, SessionConfig) {
    let mut c = config(Role::Client);
    c.credentials = Some(("alice".into(), "secret".into()));
    let mut s = config(Role::Server);
    s.peer_id = Some(3);
    (c, s)
}

fn tls_down(p: &Peer, needle: &str) -> bool {
    p.has_event(|e| matches!(e, Event::Down(DownReason::Tls(m)) if m.contains(needle)))
}

/// The server's certificate as `(cert, key)` with a client `PeerVerify`: up or the client's
/// TLS error.
fn client_verdict(
    cert: &str,
    key: &str,
    ca: &str,
    v: PeerVerify,
    host: Option<&'static str>,
) -> Result<(), String> {
    let (c, s) = cfgs();
    let pair = run_pair(
        c,
        s,
        client_factory_with(ca, None, v, host),
        server_factory_with(cert, key, TlsVersion::Any, false),
        None,
    );
    if pair.a.s.is_up() && pair.b.s.is_up() {
        return Ok(());
    }
    Err(format!("{:?}", pair.a.events))
}

// --- OpenVPN's certificate rules -------------------------------------------------------

/// Rule 1: the chain leads to `ca`, and the end entity may be the CA itself (a self-signed,
/// CA-flagged server certificate used as the client's `ca`: OpenVPN says VERIFY OK).
#[test]
fn rule_ca_itself_as_end_entity_is_accepted() {
    let p = pki();
    client_verdict(
        &p.self_ca_cert,
        &p.self_ca_key,
        &p.self_ca_cert,
        PeerVerify::default(),
        None,
    )
    .unwrap();
    // The same certificate is not trusted when `ca` is another CA.
    let e = client_verdict(
        &p.self_ca_cert,
        &p.self_ca_key,
        &p.ca,
        PeerVerify::default(),
        None,
    )
    .unwrap_err();
    assert!(
        e.contains("CaUsedAsEndEntity") || e.contains("UnknownIssuer"),
        "{e}"
    );
}

/// Rule 2: no EKU is required by default (a server certificate with only clientAuth, or
/// with no usage extensions at all, is accepted); `remote-cert-tls server` requires the
/// server-auth EKU with a key usage, or, without any EKU, nsCertType server.
#[test]
fn rule_remote_cert_tls_server() {
    let p = pki();
    let rct = PeerVerify {
        remote_cert_tls: true,
        ..Default::default()
    };
    for (cert, key) in [
        (&p.clientonly_cert, &p.clientonly_key),
        (&p.bare_cert, &p.bare_key),
        (&p.ns_cert, &p.ns_key),
        (&p.server_cert, &p.server_key),
    ] {
        client_verdict(cert, key, &p.ca, PeerVerify::default(), None).unwrap();
    }
    client_verdict(&p.server_cert, &p.server_key, &p.ca, rct.clone(), None).unwrap();
    client_verdict(&p.ns_cert, &p.ns_key, &p.ca, rct.clone(), None).unwrap();
    for (cert, key) in [
        (&p.clientonly_cert, &p.clientonly_key),
        (&p.bare_cert, &p.bare_key),
    ] {
        let e = client_verdict(cert, key, &p.ca, rct.clone(), None).unwrap_err();
        assert!(e.contains("remote-cert-tls server"), "{e}");
    }
}

/// Rule 3: verify-x509-name, each type.
#[test]
fn rule_verify_x509_name_types() {
    let p = pki();
    let v = |n: X509Name| PeerVerify {
        x509_name: Some(n),
        ..Default::default()
    };
    let (c, k) = (&p.clientonly_cert, &p.clientonly_key);
    for ok in [
        X509Name::Name("vpn.example.net".into()),
        X509Name::NamePrefix("vpn.".into()),
        X509Name::Subject("O=Example Org, OU=VPN, CN=vpn.example.net".into()),
    ] {
        client_verdict(c, k, &p.ca, v(ok), None).unwrap();
    }
    for bad in [
        X509Name::Name("vpn.example".into()),
        X509Name::NamePrefix("example".into()),
        X509Name::Subject("CN=vpn.example.net".into()),
    ] {
        let e = client_verdict(c, k, &p.ca, v(bad), None).unwrap_err();
        assert!(e.contains("NotValidForName"), "{e}");
    }
}

/// Rule 4: no host name check unless asked (the certificate names vpn.example.net, the
/// client connects "to" nothing in particular); asked (RouterOS verify-server-certificate
/// with connect-to), the CN or SAN must match.
#[test]
fn rule_no_hostname_check_unless_asked() {
    let p = pki();
    let (c, k) = (&p.server_cert, &p.server_key);
    client_verdict(c, k, &p.ca, PeerVerify::default(), None).unwrap();
    client_verdict(c, k, &p.ca, PeerVerify::default(), Some("vpn.example.net")).unwrap();
    let e = client_verdict(
        c,
        k,
        &p.ca,
        PeerVerify::default(),
        Some("other.example.net"),
    )
    .unwrap_err();
    assert!(e.contains("NotValidForName"), "{e}");
}

// --- TLS cases --------------------------------------------------------------------------

#[test]
fn tls12_only_peer_negotiates_tls12() {
    let p = pki();
    let (c, s) = cfgs();
    let pair = run_pair(
        c,
        s,
        client_tls(None, false),
        server_factory_with(&p.server_cert, &p.server_key, TlsVersion::Only12, false),
        None,
    );
    assert!(pair.a.s.is_up());
    assert!(pair
        .a
        .has_event(|e| matches!(e, Event::TlsEstablished { version, .. } if version == "TLSv1.2")));
}

#[test]
fn required_client_certificate_absent_is_refused() {
    let (c, s) = cfgs();
    let pair = run_pair(c, s, client_tls(None, false), server_tls(true), None);
    assert!(!pair.a.s.is_up() && !pair.b.s.is_up());
    assert!(tls_down(&pair.b, "certificate"), "{:?}", pair.b.events);
}

#[test]
fn wrong_ca_is_refused() {
    let p = pki();
    let (c, s) = cfgs();
    let pair = run_pair(
        c,
        s,
        client_factory_with(&p.rogue_ca, None, PeerVerify::default(), None),
        server_tls(false),
        None,
    );
    assert!(!pair.a.s.is_up());
    assert!(tls_down(&pair.a, "UnknownIssuer"), "{:?}", pair.a.events);
}

/// The rogue certificate (right name, other CA) used by a server and by a client.
#[test]
fn rogue_certificate_is_refused_both_ways() {
    let p = pki();
    let e = client_verdict(
        &p.rogue_cert,
        &p.rogue_key,
        &p.ca,
        PeerVerify::default(),
        None,
    )
    .unwrap_err();
    assert!(e.contains("UnknownIssuer"), "{e}");
    let (c, s) = cfgs();
    let pair = run_pair(
        c,
        s,
        client_factory_with(
            &p.ca,
            Some((&p.rogue_cert, &p.rogue_key)),
            PeerVerify::default(),
            None,
        ),
        server_tls(true),
        None,
    );
    assert!(!pair.b.s.is_up());
    assert!(tls_down(&pair.b, "UnknownIssuer"), "{:?}", pair.b.events);
}

// --- RouterOS config layer, a test per setting ------------------------------------------

fn ros_pair() -> (ClientConfig, ServerConfig) {
    let p = pki();
    let cert = |c: &str, k: &str| ovpn::Certificate {
        cert_pem: c.into(),
        key_pem: k.into(),
    };
    let client = ClientConfig {
        connect_to: "vpn.example.net".into(),
        protocol: ovpn::Protocol::Udp,
        user: "alice".into(),
        password: "secret".into(),
        certificate: Some(cert(&p.client_cert, &p.client_key)),
        trusted_ca_pem: Some(p.ca.clone()),
        verify_server_certificate: true,
        ..Default::default()
    };
    let server = ServerConfig {
        protocol: ovpn::Protocol::Udp,
        certificate: Some(cert(&p.server_cert, &p.server_key)),
        trusted_ca_pem: Some(p.ca.clone()),
        require_client_certificate: true,
        ..Default::default()
    };
    (client, server)
}

/// Run a RouterOS client config against a RouterOS server config (through
/// `session_config` and `tls_factory`), with a credential hook that records its requests.
fn ros_run(c: &ClientConfig, s: &ServerConfig) -> (Pair<Peer, Peer>, Seen) {
    let mut cc = c.session_config().unwrap();
    cc.unix_time = wall_now();
    let push = s.push_options("192.168.77.5".parse().unwrap(), None);
    let mut sc = s.session_config(5, push).unwrap();
    sc.unix_time = wall_now();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let hook: ovpn::AuthHook = Box::new(move |r: &AuthRequest<'_>| {
        seen2
            .lock()
            .unwrap()
            .push((r.profile.to_string(), r.method));
        r.username == "alice" && r.password == "secret"
    });
    let mut pair = run_pair(cc, sc, c.tls_factory(), s.tls_factory(), Some(hook));
    if pair.a.s.is_up() {
        pair.a.send(pair.now(), &[0x45; 60]).unwrap();
        pair.b.send(pair.now(), &[0x45; 60]).unwrap();
        pair.run_for(Duration::from_secs(1));
    }
    (pair, seen)
}

/// What the credential hook was asked: (profile, method).
type Seen = Arc<Mutex<Vec<(String, ovpn::UserAuthMethod)>>>;

fn up_and_passing(p: &Pair<Peer, Peer>) -> bool {
    p.a.s.is_up() && p.b.s.is_up() && !p.a.received.is_empty() && !p.b.received.is_empty()
}

/// The default RouterOS pair (client blowfish128/sha1, server set aes128-cbc,blowfish128
/// and sha1,md5,sha256,sha512) meets on BF-CBC; and a client with each digest of the
/// server's `auth` set and a CBC cipher passes data (the set is not collapsed to its first
/// entry: the server uses the client's choice).
#[test]
fn routeros_server_auth_set_and_cipher_set() {
    let (mut c, s) = ros_pair();
    let (pair, _) = ros_run(&c, &s);
    assert!(up_and_passing(&pair), "{:?}", pair.a.events);
    assert_eq!(pair.a.s.cipher(), Some(Cipher::BfCbc));
    for auth in [Digest::Md5, Digest::Sha256, Digest::Sha512] {
        c.cipher = Cipher::Aes128Cbc;
        c.auth = auth;
        let (pair, _) = ros_run(&c, &s);
        assert!(
            up_and_passing(&pair),
            "{auth:?}: {:?} {:?}",
            pair.a.events,
            pair.b.events
        );
    }
    // A digest outside the set is refused.
    let mut s2 = s.clone();
    s2.auth = vec![Digest::Sha1];
    c.auth = Digest::Md5;
    let (pair, _) = ros_run(&c, &s2);
    assert!(!pair.b.s.is_up());
    assert!(pair.b.has_event(
        |e| matches!(e, Event::Down(DownReason::NoCommonCipher(m)) if m.contains("MD5"))
    ));
}

/// tls-version only-1.2 on either config gives a TLS 1.2 handshake; any gives 1.3.
#[test]
fn routeros_tls_version() {
    let (mut c, mut s) = ros_pair();
    let v = |p: &Pair<Peer, Peer>| {
        p.a.events.iter().find_map(|(_, e)| match e {
            Event::TlsEstablished { version, .. } => Some(version.clone()),
            _ => None,
        })
    };
    assert_eq!(v(&ros_run(&c, &s).0).as_deref(), Some("TLSv1.3"));
    c.tls_version = TlsVersion::Only12;
    assert_eq!(v(&ros_run(&c, &s).0).as_deref(), Some("TLSv1.2"));
    c.tls_version = TlsVersion::Any;
    s.tls_version = TlsVersion::Only12;
    assert_eq!(v(&ros_run(&c, &s).0).as_deref(), Some("TLSv1.2"));
}

/// max-mtu: the tunnel MTU in the options string each side sends, and the largest payload
/// send_data takes; mode ethernet: dev-type tap (and the Ethernet header allowance);
/// protocol: the options string's proto.
#[test]
fn routeros_max_mtu_mode_and_protocol_reach_the_wire() {
    let (mut c, mut s) = ros_pair();
    // The same fixed cipher on both ends (the RouterOS defaults differ: blowfish128 against
    // the set aes128-cbc,blowfish128, and the options strings say so).
    c.cipher = Cipher::Aes128Cbc;
    c.max_mtu = 1400;
    s.max_mtu = 1400;
    c.mode = ovpn::Mode::Ethernet;
    s.mode = ovpn::Mode::Ethernet;
    let (mut pair, _) = ros_run(&c, &s);
    assert!(up_and_passing(&pair));
    let peer_opts = pair.b.events.iter().find_map(|(_, e)| match e {
        Event::PeerHello { options, .. } => Some(options.clone()),
        _ => None,
    });
    let o = peer_opts.unwrap();
    assert!(
        o.contains("dev-type tap") && o.contains("tun-mtu 1400") && o.contains("proto UDPv4"),
        "{o}"
    );
    // Nothing to warn about between two peers with the same settings.
    assert!(!pair
        .a
        .has_event(|e| matches!(e, Event::OptionsWarning { .. })));
    let now = pair.now();
    assert_eq!(pair.a.s.max_payload(), 1414);
    pair.a.send(now, &[0u8; 1414]).unwrap();
    assert!(matches!(
        pair.a.send(now, &[0u8; 1415]),
        Err(ovpn::Error::PacketTooBig {
            len: 1415,
            mtu: 1414
        })
    ));
    c.protocol = ovpn::Protocol::Tcp;
    assert!(c.session_config().unwrap().transport == ovpn::Protocol::Tcp);
}

/// use-peer-dns: pushed DNS servers reach the client's event only with yes.
#[test]
fn routeros_use_peer_dns() {
    for use_dns in [false, true] {
        let (mut c, s) = ros_pair();
        c.use_peer_dns = use_dns;
        let mut cc = c.session_config().unwrap();
        cc.unix_time = wall_now();
        let mut sc = s
            .session_config(1, vec!["dhcp-option DNS 192.0.2.53".into()])
            .unwrap();
        sc.unix_time = wall_now();
        let pair = run_pair(cc, sc, c.tls_factory(), s.tls_factory(), None);
        let dns = pair.a.events.iter().find_map(|(_, e)| match e {
            Event::Pushed(r) => Some(r.dns.clone()),
            _ => None,
        });
        assert_eq!(dns.unwrap().is_empty(), !use_dns);
    }
}

/// default-profile and user-auth-method reach the credential hook; certificate and
/// require-client-certificate: without the client certificate the server refuses.
#[test]
fn routeros_profile_auth_method_and_certificates() {
    let (mut c, mut s) = ros_pair();
    s.default_profile = "ovpn-users".into();
    s.user_auth_method = ovpn::UserAuthMethod::Mschap2;
    let (pair, seen) = ros_run(&c, &s);
    assert!(up_and_passing(&pair));
    assert_eq!(
        seen.lock().unwrap().first(),
        Some(&("ovpn-users".to_string(), ovpn::UserAuthMethod::Mschap2))
    );
    c.certificate = None;
    let (pair, _) = ros_run(&c, &s);
    assert!(!pair.b.s.is_up());
    // verify-server-certificate=yes checks the name against connect-to.
    let (mut c, s) = ros_pair();
    c.connect_to = "other.example.net".into();
    let (pair, _) = ros_run(&c, &s);
    assert!(tls_down(&pair.a, "NotValidForName"), "{:?}", pair.a.events);
}

/// enable-tun-ipv6 with tun-server-ipv6: the pushed ifconfig-ipv6 names the server's
/// address as the remote end (not a hard-coded `::`), and the client's address is derived
/// from its prefix.
#[test]
fn routeros_tun_server_ipv6_is_the_ifconfig_ipv6_remote() {
    let (_, mut s) = ros_pair();
    s.enable_tun_ipv6 = true;
    s.tun_server_ipv6 = "fd00:77::1".parse().unwrap();
    let o = s.push_options("192.168.77.5".parse().unwrap(), None);
    assert!(
        o.contains(&"ifconfig-ipv6 fd00:77::5/64 fd00:77::1".to_string()),
        "{o:?}"
    );
    let (c, _) = ros_pair();
    let mut cc = c.session_config().unwrap();
    cc.unix_time = wall_now();
    let mut sc = s.session_config(5, o).unwrap();
    sc.unix_time = wall_now();
    let pair = run_pair(cc, sc, c.tls_factory(), s.tls_factory(), None);
    let v6 = pair.a.events.iter().find_map(|(_, e)| match e {
        Event::Pushed(r) => r.ifconfig_ipv6,
        _ => None,
    });
    assert_eq!(v6, Some(("fd00:77::5".parse().unwrap(), 64)));
}

// --- renegotiation before packet-id exhaustion --------------------------------------------

/// With no reneg-sec at all, a key whose send packet id reaches the trigger (injected: 50)
/// is renegotiated, and data keeps flowing on the new key.
#[test]
fn renegotiates_before_packet_id_exhaustion() {
    let (mut c, s) = cfgs();
    c.reneg = None;
    c.packet_id_reneg = 50;
    let mut pair = run_pair(c, s, client_tls(None, false), server_tls(false), None);
    assert!(pair.a.s.is_up());
    for i in 0..60u8 {
        let now = pair.now();
        pair.a.send(now, &[i; 40]).unwrap();
        pair.run_for(Duration::from_millis(20));
    }
    pair.run_for(Duration::from_secs(2));
    assert!(
        pair.a
            .has_event(|e| matches!(e, Event::Rekeyed { key_id: 1 })),
        "{:?}",
        pair.a.events
    );
    assert_eq!(pair.a.s.primary_key_id(), Some(1));
    let n = pair.b.received.len();
    let now = pair.now();
    pair.a.send(now, b"after the rekey").unwrap();
    pair.run_for(Duration::from_secs(1));
    assert_eq!(pair.b.received.len(), n + 1);
}

// --- tls-crypt-v2 verify hook ---------------------------------------------------------------

/// The hook sees the client key's metadata (user data `c1`): accepted, the session comes
/// up; refused, the server drops the client's packets and keeps nothing; the same in the
/// stateless front end.
#[test]
fn tls_crypt_v2_verify_hook_accepts_and_rejects() {
    for accept in [true, false] {
        let (cw, sw) = wraps(Prot::TlsCryptV2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let verify = ovpn::TlsCryptV2Verify::new(move |m| {
            if let ovpn::TlsCryptV2Metadata::User(u) = m {
                seen2.lock().unwrap().push(u.to_vec());
            }
            accept
        });
        let (mut c, mut s) = cfgs();
        c.wrap = cw;
        s.wrap = sw.clone();
        s.tls_crypt_v2_verify = Some(verify.clone());
        let pair = run_pair(c, s, client_tls(None, false), server_tls(false), None);
        assert_eq!(pair.a.s.is_up(), accept);
        assert_eq!(
            seen.lock().unwrap().first().map(Vec::as_slice),
            Some(&b"c1"[..])
        );
        if !accept {
            assert!(pair.b.drops.contains(&DropReason::TlsCryptV2Rejected));
        }
        // Stateless front end: a refused key gets no reply.
        let t0 = Instant::now();
        let (cw, _) = wraps(Prot::TlsCryptV2);
        let mut srv: Server<u32> = Server::new(server_factory(sw.clone(), &[], 9, false), 8);
        srv.enable_stateless(
            t0,
            ovpn::StatelessConfig {
                wrap: sw,
                hand_window: Duration::from_secs(60),
                unix_time: wall_now(),
                rate_limit: None,
                tls_crypt_v2_verify: Some(verify),
            },
            &mut *rng(3),
        )
        .unwrap();
        let mut cc = config(Role::Client);
        cc.wrap = cw;
        let mut cl = session(cc, t0, 4, client_tls(None, false), None);
        cl.connect(t0).unwrap();
        let reset = cl.poll_transmit(t0).unwrap();
        let r = srv.handle_input(t0, 1, &reset, &mut [0u8; 2048]);
        if accept {
            assert_eq!(r, ServerInput::Handled);
            assert!(srv.poll_transmit(t0).is_some());
        } else {
            assert_eq!(r, ServerInput::Dropped(DropReason::TlsCryptV2Rejected));
            assert!(srv.poll_transmit(t0).is_none());
            assert_eq!(srv.stateless_stats().v2_rejected, 1);
        }
        assert_eq!(srv.len(), 0);
    }
}

// --- AEAD provider: the fall-back is explicit ----------------------------------------------

#[derive(Debug)]
struct Declines;
impl ovpn::AeadProvider for Declines {
    fn new_key(&self, _: Cipher, _: &[u8]) -> Option<Box<dyn ovpn::AeadKey>> {
        None
    }
}

#[test]
fn declined_provider_is_an_error_or_a_reported_fallback() {
    for fallback in [false, true] {
        let (mut c, s) = cfgs();
        c.aead_provider = Some(Arc::new(Declines));
        c.aead_fallback = fallback;
        let pair = run_pair(c, s, client_tls(None, false), server_tls(false), None);
        assert_eq!(pair.a.s.is_up(), fallback);
        if fallback {
            assert!(pair.a.has_event(|e| matches!(
                e,
                Event::AeadFallback {
                    key_id: 0,
                    cipher: Cipher::Aes256Gcm
                }
            )));
        } else {
            assert!(pair.a.has_event(|e| matches!(
                e,
                Event::Down(DownReason::Crypto(
                    ovpn::CryptoError::ProviderDeclined { .. }
                ))
            )));
        }
    }
}

// --- half-open limits ---------------------------------------------------------------------

/// A stateful server (no control-channel protection) with `limits`.
fn limited_server(limits: ServerLimits) -> Server<std::net::SocketAddr> {
    let f = server_factory(ovpn::WrapConfig::None, &[], 9, false);
    let mut srv = Server::new(f, limits.max_clients);
    srv.set_limits(limits);
    srv
}

/// 10.0.0.`ip`:`port`.
fn a(ip: u8, port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([10, 0, 0, ip], port))
}

/// A client's first packet (its hard reset), for a stateful server.
fn reset_from(seed: u64) -> Vec<u8> {
    let t0 = Instant::now();
    let mut c = session(
        config(Role::Client),
        t0,
        seed,
        client_tls(None, false),
        None,
    );
    c.connect(t0).unwrap();
    c.poll_transmit(t0).unwrap()
}

/// Unfinished handshakes are bounded in total and per source; at the limit the oldest one
/// that sent nothing after its reset makes room; a packet that fails in the session made
/// for it leaves nothing behind (and does not loop).
#[test]
fn half_open_sessions_are_bounded() {
    let t0 = Instant::now();
    let mut srv = limited_server(ServerLimits {
        max_clients: 16,
        max_half_open: 3,
        max_half_open_per_source: 2,
        half_open_grace: Duration::from_secs(10),
        stateful_rate: None,
    });
    let mut out = [0u8; 2048];
    // Two from one source: fine; a third from it: refused.
    assert_eq!(
        srv.handle_input(t0, a(1, 1), &reset_from(1), &mut out),
        ServerInput::Handled
    );
    let t = t0 + Duration::from_millis(1);
    assert_eq!(
        srv.handle_input(t, a(1, 2), &reset_from(2), &mut out),
        ServerInput::Handled
    );
    assert_eq!(
        srv.handle_input(t0, a(1, 3), &reset_from(3), &mut out),
        ServerInput::Dropped(DropReason::HalfOpenPerSource)
    );
    // A third source fills the total; a fourth evicts the oldest idle one.
    let t1 = t0 + Duration::from_millis(10);
    assert_eq!(
        srv.handle_input(t1, a(2, 1), &reset_from(4), &mut out),
        ServerInput::Handled
    );
    assert_eq!(srv.half_open(), 3);
    assert_eq!(
        srv.handle_input(t1, a(3, 1), &reset_from(5), &mut out),
        ServerInput::Handled
    );
    assert_eq!(srv.half_open(), 3);
    assert!(
        srv.peer_by_address(&a(1, 1)).is_none(),
        "the oldest was evicted"
    );
    // A packet that is no reset from a new address leaves no session.
    let n = srv.len();
    let _ = srv.handle_input(t1, a(4, 1), &[0x38, 1, 2, 3], &mut out);
    assert_eq!(srv.len(), n);
}

/// A client at `from` that got as far as its ClientHello (the server's session has
/// received two control packets: it is progressing, not idle), and then stalls.
fn stalled_handshake(
    srv: &mut Server<std::net::SocketAddr>,
    from: std::net::SocketAddr,
    seed: u64,
    now: Instant,
) {
    let mut c = session(
        config(Role::Client),
        now,
        seed,
        client_tls(None, false),
        None,
    );
    c.connect(now).unwrap();
    let mut out = [0u8; 4096];
    let reset = c.poll_transmit(now).unwrap();
    assert_eq!(
        srv.handle_input(now, from, &reset, &mut out),
        ServerInput::Handled
    );
    while let Some((to, p)) = srv.poll_transmit(now) {
        if to == from {
            let _ = c.handle_input(now, &p, &mut out);
        }
    }
    while let Some(p) = c.poll_transmit(now) {
        let _ = srv.handle_input(now, from, &p, &mut out);
    }
    let id = srv.peer_by_address(&from).unwrap();
    assert!(srv.session(id).unwrap().stats().control_rx >= 2);
    while srv.poll_transmit(now).is_some() {}
}

/// When every unfinished handshake is progressing, a newcomer still gets in: it replaces
/// the oldest handshake of the source holding the most (rule 2), or, with one handshake
/// per source, the oldest that has run for the grace period (rule 3); before that, it is
/// refused. Handshakes that are up are never touched.
#[test]
fn stalled_handshakes_make_room_by_source_share_then_age() {
    let t0 = Instant::now();
    let mut srv = limited_server(ServerLimits {
        max_clients: 16,
        max_half_open: 4,
        max_half_open_per_source: 3,
        half_open_grace: Duration::from_secs(10),
        stateful_rate: None,
    });
    let mut out = [0u8; 2048];
    // Source 1 holds three, source 2 one; all progressing.
    for (i, addr) in [a(1, 1), a(1, 2), a(1, 3), a(2, 1)].into_iter().enumerate() {
        stalled_handshake(
            &mut srv,
            addr,
            10 + i as u64,
            t0 + Duration::from_millis(i as u64),
        );
    }
    assert_eq!(srv.half_open(), 4);
    // A newcomer from source 3 replaces source 1's oldest.
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(
        srv.handle_input(t1, a(3, 1), &reset_from(20), &mut out),
        ServerInput::Handled
    );
    assert!(
        srv.peer_by_address(&a(1, 1)).is_none(),
        "source 1's oldest made room"
    );
    assert_eq!(srv.half_open(), 4);
    // Make the newcomer progress too; now 1.2, 1.3 (source 1), 2.1, 3.1 are left.
    srv.remove_address(t1, &a(3, 1));
    stalled_handshake(&mut srv, a(3, 1), 21, t1);
    // Source 1 still holds two: the next newcomer takes 1.2.
    assert_eq!(
        srv.handle_input(t1, a(4, 1), &reset_from(22), &mut out),
        ServerInput::Handled
    );
    assert!(srv.peer_by_address(&a(1, 2)).is_none());
    srv.remove_address(t1, &a(4, 1));
    stalled_handshake(&mut srv, a(4, 1), 23, t1);
    // One each now (1.3, 2.1, 3.1, 4.1), all within the grace period: refused.
    assert_eq!(
        srv.handle_input(t1, a(5, 1), &reset_from(24), &mut out),
        ServerInput::Dropped(DropReason::HalfOpenLimit)
    );
    // 10 s after the first ones started, the oldest (1.3) makes room.
    let t2 = t0 + Duration::from_millis(10_002);
    assert_eq!(
        srv.handle_input(t2, a(5, 1), &reset_from(25), &mut out),
        ServerInput::Handled
    );
    assert!(srv.peer_by_address(&a(1, 3)).is_none());
    assert!(srv.peer_by_address(&a(2, 1)).is_some());
    assert_eq!(srv.half_open(), 4);
}

/// Sessions created without a cookie (TCP, or UDP without the stateless handshake) are
/// token-bucketed per source prefix (`stateful_rate`): 5 at once, then 2/s, while another
/// source is not affected; the default limits have it on.
#[test]
fn stateful_creation_is_rate_limited_per_source() {
    assert!(ServerLimits::for_clients(64).stateful_rate.is_some());
    let t0 = Instant::now();
    let mut srv = limited_server(ServerLimits {
        max_half_open: 64,
        max_half_open_per_source: 64,
        ..ServerLimits::for_clients(64)
    });
    let mut out = [0u8; 2048];
    let results: Vec<ServerInput> = (0..10u16)
        .map(|p| srv.handle_input(t0, a(1, p), &reset_from(u64::from(p)), &mut out))
        .collect();
    let ok = results
        .iter()
        .filter(|r| **r == ServerInput::Handled)
        .count();
    assert_eq!(ok, 5, "{results:?}");
    assert_eq!(results[9], ServerInput::Dropped(DropReason::RateLimited));
    assert_eq!(
        srv.handle_input(t0, a(2, 1), &reset_from(50), &mut out),
        ServerInput::Handled
    );
    // One second later: two more from the first source.
    let t1 = t0 + Duration::from_secs(1);
    let later = (20..30u16)
        .filter(|p| {
            srv.handle_input(t1, a(1, *p), &reset_from(u64::from(*p)), &mut out)
                == ServerInput::Handled
        })
        .count();
    assert_eq!(later, 2);
    assert_eq!(srv.len(), 5 + 1 + 2);
}

/// A bad reset over the stateful path (tls-auth, wrong key) is dropped without a session;
/// before the fix it made the server re-create and re-try the session forever.
#[test]
fn bad_reset_does_not_loop_or_stay() {
    let (_, sw) = wraps(Prot::TlsAuth);
    let (cw, _) = wraps(Prot::TlsCrypt);
    let t0 = Instant::now();
    let mut srv: Server<u32> = Server::new(server_factory(sw, &[], 9, false), 8);
    let mut cc = config(Role::Client);
    cc.wrap = cw;
    let mut c = session(cc, t0, 1, client_tls(None, false), None);
    c.connect(t0).unwrap();
    let reset = c.poll_transmit(t0).unwrap();
    let r = srv.handle_input(t0, 1, &reset, &mut [0u8; 2048]);
    assert!(matches!(r, ServerInput::Dropped(_)), "{r:?}");
    assert_eq!(srv.len(), 0);
}

/// A client certificate resolver that records the CA names of the server's
/// CertificateRequest and offers no certificate.
#[derive(Debug, Default)]
struct HintRecorder(Mutex<Vec<Vec<u8>>>);

impl rustls::client::ResolvesClientCert for HintRecorder {
    fn resolve(
        &self,
        hints: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.0.lock().unwrap() = hints.iter().map(|h| h.to_vec()).collect();
        None
    }
    fn has_certs(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct AcceptAnyServer;

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The server's CertificateRequest names its CA as a whole DER `Name` (RFC 8446 s4.2.4,
/// RFC 5246 s7.4.4: `DistinguishedName` is the DER of the X.501 Name, SEQUENCE header
/// included). With the bare contents, OpenSSL clients abort the handshake ("wrong tag"):
/// every OpenVPN client failed against our server that way.
#[test]
fn certificate_request_names_the_ca_as_a_der_name() {
    use x509_cert::der::{Decode, Encode};
    let p = pki();
    let ca_der = rustls_pemfile::certs(&mut p.ca.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let ca_subject = x509_cert::Certificate::from_der(&ca_der)
        .unwrap()
        .tbs_certificate
        .subject
        .to_der()
        .unwrap();
    for version in [TlsVersion::Any, TlsVersion::Only12] {
        let mut server =
            server_factory_with(&p.server_cert, &p.server_key, version, true)().unwrap();
        server.set_unix_time(wall_now());
        let recorder = Arc::new(HintRecorder::default());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer))
        .with_client_cert_resolver(recorder.clone());
        let mut client = rustls::ClientConnection::new(
            Arc::new(config),
            rustls::pki_types::ServerName::try_from("server").unwrap(),
        )
        .unwrap();
        // Pump the flights until the client has seen the CertificateRequest.
        for _ in 0..4 {
            let mut c2s = Vec::new();
            client.write_tls(&mut c2s).unwrap();
            if !c2s.is_empty() {
                let _ = server.read_tls(&c2s);
            }
            let mut s2c = Vec::new();
            server.write_tls(&mut s2c).unwrap();
            if !s2c.is_empty() {
                let mut r = &s2c[..];
                while !r.is_empty() && client.read_tls(&mut r).unwrap() > 0 {}
                let _ = client.process_new_packets();
            }
        }
        let hints = recorder.0.lock().unwrap().clone();
        assert_eq!(hints, vec![ca_subject.clone()], "{version:?}");
        // And it parses as a Name.
        x509_cert::name::Name::from_der(&hints[0]).unwrap();
    }
}
