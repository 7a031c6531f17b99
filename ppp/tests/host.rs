#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The PPP host over the simulated link: a [`host::Client`] against a [`host::Server`] (one
//! transport session, key 1, opened when the first frame arrives, as a PPPoE server would after
//! discovery), one test per RouterOS setting observing its effect on the wire or in an event,
//! AAA with external verdicts, accounting, and LAC forwarding to a second host.

use netsim::{Endpoint, LinkConfig, Pair, TestRng};
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret, UseEncryption};
use ppp::host::{AccountingKind, Client, ClientEvent, Server, ServerConfig, ServerEvent, Transmit};
use ppp::settings::{ClientSettings, ServerSettings};
use ppp::{AuthMethod, AuthSet, Event, Status, UsePeerDns, UserAttributes, Verdict};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const KEY: u8 = 1;

struct Cli {
    c: Client,
    events: Vec<(Instant, ClientEvent)>,
    /// The simulated transport connects at once on Dial.
    auto_connect: bool,
}

impl Cli {
    fn new(s: ClientSettings, start: Instant, seed: u64) -> Self {
        let mut c = Cli {
            c: Client::new(s, start, TestRng::new(seed)).unwrap(),
            events: Vec::new(),
            auto_connect: true,
        };
        c.drain(start);
        c
    }
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.c.poll_event() {
            if matches!(e, ClientEvent::Dial) && self.auto_connect {
                self.events.push((now, e));
                self.c.lower_up(now).unwrap();
                continue;
            }
            self.events.push((now, e));
        }
    }
    fn up(&self) -> Option<ppp::host::ClientUp> {
        self.events.iter().find_map(|(_, e)| match e {
            ClientEvent::Up(u) => Some(u.clone()),
            _ => None,
        })
    }
    fn count(&self, f: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

impl Endpoint for Cli {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let _ = self.c.handle_frame(now, data);
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let f = self.c.poll_transmit(now);
        self.drain(now);
        f
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.c.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.c.handle_timeout(now);
        self.drain(now);
    }
}

struct Srv {
    h: Server<u8>,
    events: Vec<(Instant, ServerEvent<u8>)>,
    /// Frames the server sent (for wire-level assertions).
    sent: Vec<Vec<u8>>,
    /// External verdicts: answer AuthRequest with this (None: leave pending).
    radius: Option<Verdict>,
    caller: String,
}

impl Srv {
    fn new(cfg: ServerConfig, aaa: Aaa, start: Instant, seed: u64) -> Self {
        let mut h = Server::new(cfg, start, TestRng::new(seed)).unwrap();
        h.set_store(Box::new(aaa));
        Srv {
            h,
            events: Vec::new(),
            sent: Vec::new(),
            radius: None,
            caller: "02:00:00:00:00:01".into(),
        }
    }
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.h.poll_event() {
            if let (ServerEvent::AuthRequest { key, request, .. }, Some(v)) = (&e, &self.radius) {
                let (k, id, v) = (*key, request.id, v.clone());
                self.events.push((now, e));
                self.h.auth_verdict(now, &k, id, v).unwrap();
                continue;
            }
            self.events.push((now, e));
        }
    }
    fn ppp(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, ServerEvent::Ppp { event, .. } if f(event)))
    }
}

impl Endpoint for Srv {
    fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.h.session(&KEY).is_none() {
            let caller = self.caller.clone();
            if self.h.open(now, KEY, &caller).is_err() {
                return;
            }
        }
        let _ = self.h.handle_frame(now, &KEY, data);
        self.drain(now);
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.h.poll_transmit(now);
        self.drain(now);
        let Transmit { frame, .. } = t?;
        self.sent.push(frame.clone());
        Some(frame)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.h.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.h.handle_timeout(now);
        self.drain(now);
    }
}

fn aaa() -> Aaa {
    let mut a = Aaa::new();
    a.pools
        .push(IpPool::new("pool", "10.9.0.10-10.9.0.11").unwrap());
    let mut p = Profile::named("vpn");
    p.local_address = Some(AddressSpec::Address(Ipv4Addr::new(10, 9, 0, 1)));
    p.remote_address = Some(AddressSpec::Pool("pool".into()));
    p.dns = vec![Ipv4Addr::new(10, 9, 0, 53)];
    a.profiles.push(p);
    let mut s = Secret::new("alice", "pw");
    s.profile = "vpn".into();
    a.secrets.push(s);
    a
}

fn client(user: &str, pass: &str) -> ClientSettings {
    ClientSettings {
        user: user.into(),
        password: pass.into(),
        ..ClientSettings::l2tp()
    }
}

fn pair(c: ClientSettings, s: ServerConfig, a: Aaa, seed: u64) -> Pair<Cli, Srv> {
    pair_on(c, s, a, seed, LinkConfig::perfect())
}

fn pair_on(
    c: ClientSettings,
    s: ServerConfig,
    a: Aaa,
    seed: u64,
    link: LinkConfig,
) -> Pair<Cli, Srv> {
    let start = Instant::now();
    Pair::with_start(
        Cli::new(c, start, seed),
        Srv::new(s, a, start, seed + 100),
        link.clone(),
        link,
        seed,
        start,
    )
}

fn up(p: &mut Pair<Cli, Srv>) {
    p.run_until(Duration::from_secs(60), |a, _| a.c.is_up())
        .unwrap_or_else(|| panic!("not up: {:?}", p.a.events));
}

/// LCP Configure-Request options sent by the server (first one).
fn server_lcp_request(s: &Srv) -> Vec<u8> {
    let f = s
        .sent
        .iter()
        .find(|f| f[2..4] == [0xc0, 0x21] && f[4] == 1)
        .unwrap();
    f[8..].to_vec()
}

fn has_option(opts: &[u8], kind: u8, data: &[u8]) -> bool {
    ppp::wire::cp::options(opts)
        .flatten()
        .any(|o| o.kind == kind && o.value == data)
}

#[test]
fn client_reaches_network_up_with_profile_pool_and_status_walk() {
    let mut p = pair(
        ClientSettings {
            use_peer_dns: UsePeerDns::Yes,
            ..client("alice", "pw")
        },
        ServerConfig::new(ServerSettings::l2tp()),
        aaa(),
        1,
    );
    up(&mut p);
    let u = p.a.up().unwrap();
    assert_eq!(u.local, Ipv4Addr::new(10, 9, 0, 10));
    assert_eq!(u.remote, Ipv4Addr::new(10, 9, 0, 1));
    assert_eq!(u.dns, vec![Ipv4Addr::new(10, 9, 0, 53)]);
    assert!(!u.dns_exclusive);
    let walk: Vec<Status> =
        p.a.events
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::Status(s) => Some(*s),
                _ => None,
            })
            .collect();
    assert_eq!(
        walk,
        [
            Status::Dialing,
            Status::VerifyingPassword,
            Status::Connected
        ]
    );
    assert_eq!(Status::VerifyingPassword.as_str(), "verifying password...");
    // hang up: disconnected, HangUp to the transport, no redial
    let now = p.now();
    p.a.c.hang_up(now);
    p.a.drain(now);
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.a.c.status(), Status::Disconnected);
    assert_eq!(p.a.count(|e| matches!(e, ClientEvent::HangUp)), 1);
    assert_eq!(p.a.c.dials(), 1);
    // the server released the pool address and forgot the key
    assert!(p.b.h.is_empty());
    assert!(p
        .b
        .events
        .iter()
        .any(|(_, e)| matches!(e, ServerEvent::Ended { key: KEY, .. })));
}

#[test]
fn server_authentication_setting_is_the_proposed_method() {
    let mut s = ServerSettings::pppoe();
    s.authentication = AuthSet::of(&[AuthMethod::Pap]);
    let mut p = pair(
        ClientSettings {
            service: ppp::Service::Pppoe,
            ..client("alice", "pw")
        },
        ServerConfig::new(s),
        aaa(),
        2,
    );
    up(&mut p);
    // LCP option 3 = PAP (c023), and PPPoE framing: no FF 03
    let f = p.b.sent.first().unwrap().clone();
    assert_eq!(&f[..2], &[0xc0, 0x21]);
    let opts = f[6..].to_vec();
    assert!(has_option(&opts, 3, &[0xc0, 0x23]), "{opts:x?}");
    assert!(p.b.ppp(|e| matches!(
        e,
        Event::AuthSucceeded {
            method: AuthMethod::Pap,
            ..
        }
    )));
}

#[test]
fn client_allow_setting_naks_towards_an_allowed_method() {
    let mut s = ServerSettings::sstp(); // offers all four, MS-CHAPv2 first
    s.authentication = AuthSet::ALL;
    let mut p = pair(
        ClientSettings {
            allow: AuthSet::of(&[AuthMethod::Chap]),
            ..client("alice", "pw")
        },
        ServerConfig::new(s),
        aaa(),
        3,
    );
    up(&mut p);
    assert!(p.b.ppp(|e| matches!(
        e,
        Event::AuthSucceeded {
            method: AuthMethod::Chap,
            ..
        }
    )));
    // the first request proposed MS-CHAPv2 (c223 81); the client's Nak moved it to CHAP-MD5
    assert!(has_option(
        &server_lcp_request(&p.b),
        3,
        &[0xc2, 0x23, 0x81]
    ));
}

#[test]
fn max_mru_is_the_requested_mru_and_max_mtu_caps_the_data_path() {
    let mut s = ServerSettings::l2tp();
    s.max_mru = 1400;
    s.max_mtu = 1300;
    let mut p = pair(client("alice", "pw"), ServerConfig::new(s), aaa(), 4);
    up(&mut p);
    assert!(has_option(
        &server_lcp_request(&p.b),
        1,
        &1400u16.to_be_bytes()
    ));
    let sess = p.b.h.session(&KEY).unwrap();
    assert_eq!(sess.mru(), 1400);
    assert_eq!(sess.mtu(), 1300);
    let now = p.now();
    let mut buf = [0u8; 2000];
    assert!(p
        .b
        .h
        .encapsulate(now, &KEY, 0x0021, &[0x45; 1300], &mut buf)
        .is_ok());
    assert!(matches!(
        p.b.h
            .encapsulate(now, &KEY, 0x0021, &[0x45; 1301], &mut buf),
        Err(ppp::Error::TooBig { mtu: 1300, .. })
    ));
    // the client sends at most the server's MRU (its own max-mtu 1450 is larger)
    assert_eq!(p.a.c.session().unwrap().mtu(), 1400);
    assert_eq!(p.a.c.session().unwrap().mru(), 1450);
}

#[test]
fn keepalive_timeout_setting_ends_a_silent_client_exactly() {
    let mut s = ServerSettings::l2tp();
    s.keepalive_timeout = Duration::from_secs(20);
    let mut p = pair(client("alice", "pw"), ServerConfig::new(s), aaa(), 5);
    up(&mut p);
    p.run_for(Duration::from_millis(100));
    let silent_from = p.now();
    p.ab.set_cut(true);
    p.ba.set_cut(true);
    p.run_until(Duration::from_secs(120), |_, b| {
        b.ppp(|e| matches!(e, Event::Terminated { .. }))
    })
    .unwrap();
    let (t, _) =
        p.b.events
            .iter()
            .find(|(_, e)| {
                matches!(
                    e,
                    ServerEvent::Ppp {
                        event: Event::Terminated {
                            reason: ppp::TerminateReason::KeepaliveTimeout,
                            ..
                        },
                        ..
                    }
                )
            })
            .unwrap();
    // five probes: idle 20 s (from the last frame received, just before the cut), then 5 s
    let d = *t - silent_from;
    assert!(
        d >= Duration::from_secs(24) && d <= Duration::from_secs(25),
        "{d:?}"
    );
}

#[test]
fn max_sessions_refuses_the_next_open() {
    let mut s = ServerSettings::pppoe();
    s.max_sessions = Some(2);
    let now = Instant::now();
    let mut h: Server<u32> = Server::new(ServerConfig::new(s), now, TestRng::new(1)).unwrap();
    h.open(now, 1, "a").unwrap();
    h.open(now, 2, "b").unwrap();
    assert_eq!(h.open(now, 3, "c"), Err(ppp::Error::MaxSessions(2)));
    assert_eq!(h.open(now, 2, "d"), Err(ppp::Error::SessionExists));
    assert_eq!(h.stats().refused_max_sessions, 1);
    // a session going away frees its place
    h.lower_down(now, &1).unwrap();
    assert!(h.open(now, 3, "c").is_ok());
    let ended: Vec<u32> = std::iter::from_fn(|| h.poll_event())
        .filter_map(|e| match e {
            ServerEvent::Ended { key, .. } => Some(key),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![1]);
}

#[test]
fn one_session_per_host_closes_the_old_session() {
    for on in [false, true] {
        let mut s = ServerSettings::pppoe();
        s.one_session_per_host = on;
        let now = Instant::now();
        let mut h: Server<u32> = Server::new(ServerConfig::new(s), now, TestRng::new(1)).unwrap();
        h.open(now, 1, "02:00:00:00:00:01").unwrap();
        h.open(now, 2, "02:00:00:00:00:01").unwrap();
        let mut t = now;
        for _ in 0..20 {
            while h.poll_transmit(t).is_some() {}
            t += Duration::from_secs(1);
            if h.poll_timeout().is_some_and(|d| d <= t) {
                h.handle_timeout(t);
            }
        }
        let ended: Vec<u32> = std::iter::from_fn(|| h.poll_event())
            .filter_map(|e| match e {
                ServerEvent::Ended { key, .. } => Some(key),
                _ => None,
            })
            .collect();
        if on {
            assert_eq!(ended, vec![1]);
            assert_eq!(h.stats().replaced_same_host, 1);
            assert!(h.session(&2).is_some());
        } else {
            assert!(ended.is_empty());
            assert_eq!(h.len(), 2);
        }
    }
}

#[test]
fn default_profile_applies_to_a_radius_accept_without_profile() {
    let mut a = Aaa::new();
    a.pools
        .push(IpPool::new("rpool", "10.7.0.20-10.7.0.20").unwrap());
    let mut prof = Profile::named("radius-default");
    prof.local_address = Some(AddressSpec::Address(Ipv4Addr::new(10, 7, 0, 1)));
    prof.remote_address = Some(AddressSpec::Pool("rpool".into()));
    a.profiles.push(prof);
    let mut s = ServerSettings::l2tp();
    s.default_profile = "radius-default".into();
    let mut cfg = ServerConfig::new(s);
    cfg.aaa.use_radius = true;
    let mut p = pair(client("bob", "radius-pw"), cfg, a, 6);
    // RADIUS knows bob's password (answers with Verdict::Password: checked by the host)
    p.b.radius = Some(Verdict::Password {
        password: "radius-pw".into(),
        attributes: UserAttributes::default(),
    });
    up(&mut p);
    let u = p.a.up().unwrap();
    assert_eq!(
        (u.local, u.remote),
        (Ipv4Addr::new(10, 7, 0, 20), Ipv4Addr::new(10, 7, 0, 1))
    );
    assert_eq!(
        p.b.h.session(&KEY).unwrap().attributes().profile.as_deref(),
        Some("radius-default")
    );
    assert!(p.b.events.iter().any(
        |(_, e)| matches!(e, ServerEvent::AuthRequest { request, .. } if request.user == "bob")
    ));
}

#[test]
fn use_radius_no_rejects_unknown_users_and_yes_asks_later() {
    // no: rejected at once
    let mut p = pair(
        client("carol", "x"),
        ServerConfig::new(ServerSettings::l2tp()),
        aaa(),
        7,
    );
    p.run_until(Duration::from_secs(30), |_, b| {
        b.ppp(|e| matches!(e, Event::AuthFailed { .. }))
    })
    .unwrap();
    assert!(!p
        .b
        .events
        .iter()
        .any(|(_, e)| matches!(e, ServerEvent::AuthRequest { .. })));
    // yes: an AuthRequest; the verdict comes 2 s later, an Accept with a framed address and a
    // session timeout (RADIUS Access-Accept): both take effect
    let mut cfg = ServerConfig::new(ServerSettings::l2tp());
    cfg.aaa.use_radius = true;
    let mut p = pair(client("carol", "x"), cfg, aaa(), 8);
    p.run_until(Duration::from_secs(30), |_, b| {
        b.events
            .iter()
            .any(|(_, e)| matches!(e, ServerEvent::AuthRequest { .. }))
    })
    .unwrap();
    p.run_for(Duration::from_secs(2));
    assert!(!p.a.c.is_up());
    let req =
        p.b.events
            .iter()
            .find_map(|(_, e)| match e {
                ServerEvent::AuthRequest {
                    request, caller_id, ..
                } => {
                    assert_eq!(caller_id, "02:00:00:00:00:01");
                    Some(request.clone())
                }
                _ => None,
            })
            .unwrap();
    // MS-CHAPv2: RADIUS would return MS-CHAP2-Success; compute what it would send.
    let (ar, keys) = ppp::verify_with_password(&req.user, &req.proof, "x").unwrap();
    let now = p.now();
    p.b.h
        .auth_verdict(
            now,
            &KEY,
            req.id,
            Verdict::Accept {
                attributes: UserAttributes {
                    local_address: Some(Ipv4Addr::new(10, 8, 0, 1)),
                    remote_address: Some(Ipv4Addr::new(10, 8, 0, 99)),
                    session_timeout: Some(Duration::from_secs(40)),
                    ..Default::default()
                },
                authenticator_response: ar,
                keys: keys.map(Box::new),
            },
        )
        .unwrap();
    assert_eq!(
        p.b.h.auth_verdict(
            now,
            &KEY,
            req.id,
            Verdict::Reject {
                message: String::new()
            }
        ),
        Err(ppp::Error::NoSuchRequest(req.id))
    );
    p.b.drain(now);
    up(&mut p);
    assert_eq!(p.a.up().unwrap().local, Ipv4Addr::new(10, 8, 0, 99));
    let up_at = p.now();
    p.run_until(Duration::from_secs(120), |_, b| {
        b.ppp(|e| {
            matches!(
                e,
                Event::Terminated {
                    reason: ppp::TerminateReason::SessionTimeout,
                    ..
                }
            )
        })
    })
    .unwrap();
    let d = p.now() - up_at;
    assert!(
        d >= Duration::from_secs(39) && d <= Duration::from_secs(41),
        "{d:?}"
    );
}

#[test]
fn accounting_start_interim_stop_with_counters() {
    let mut cfg = ServerConfig::new(ServerSettings::l2tp());
    cfg.aaa.interim_update = Duration::from_secs(60);
    let mut p = pair(client("alice", "pw"), cfg, aaa(), 9);
    up(&mut p);
    p.run_for(Duration::from_millis(50));
    // some data from the client
    for _ in 0..3 {
        let now = p.now();
        let mut buf = [0u8; 100];
        let n =
            p.a.c
                .encapsulate(now, 0x0021, &[0x45; 40], &mut buf)
                .unwrap();
        p.ab.send(now, buf[..n].to_vec());
    }
    p.run_for(Duration::from_secs(130));
    let acct_id = p.b.h.accounting_id(&KEY);
    assert!(acct_id.is_some());
    let now = p.now();
    p.b.h.close(now, &KEY, "admin").unwrap();
    p.b.drain(now);
    p.run_for(Duration::from_secs(10));
    let recs: Vec<(Instant, AccountingKind, ppp::host::AccountingRecord)> =
        p.b.events
            .iter()
            .filter_map(|(t, e)| match e {
                ServerEvent::Accounting { kind, record, .. } => Some((*t, *kind, record.clone())),
                _ => None,
            })
            .collect();
    let kinds: Vec<AccountingKind> = recs.iter().map(|r| r.1).collect();
    assert_eq!(
        kinds,
        [
            AccountingKind::Start,
            AccountingKind::Interim,
            AccountingKind::Interim,
            AccountingKind::Stop
        ]
    );
    assert_eq!(recs[1].0 - recs[0].0, Duration::from_secs(60));
    assert_eq!(recs[2].0 - recs[1].0, Duration::from_secs(60));
    let stop = &recs[3].2;
    assert_eq!(stop.user, "alice");
    assert_eq!(stop.framed_address, Some(Ipv4Addr::new(10, 9, 0, 10)));
    assert_eq!(stop.counters.rx_packets, 3);
    assert_eq!(stop.counters.rx_bytes, 120);
    assert!(matches!(
        stop.reason,
        Some(ppp::TerminateReason::AdminClose(_))
    ));
    assert_eq!(recs[0].2.session_id, stop.session_id);
    assert_eq!(
        p.b.h.session(&KEY).map(|_| ()),
        None,
        "forgotten after Ended"
    );
    assert_eq!(acct_id, Some(stop.session_id));
    assert_eq!(
        p.b.h.accounting_id(&KEY),
        None,
        "the slot is gone once Ended was reported"
    );
    assert!(stop.uptime >= Duration::from_secs(130));
    // `/ppp aaa accounting=no`: no records at all
    let mut cfg = ServerConfig::new(ServerSettings::l2tp());
    cfg.aaa.accounting = false;
    cfg.aaa.interim_update = Duration::from_secs(60);
    let mut p = pair(client("alice", "pw"), cfg, aaa(), 19);
    up(&mut p);
    p.run_for(Duration::from_secs(130));
    assert!(!p
        .b
        .events
        .iter()
        .any(|(_, e)| matches!(e, ServerEvent::Accounting { .. })));
}

#[test]
fn only_one_refuses_logins_and_use_encryption_of_the_profile_reaches_the_session() {
    let mut a = aaa();
    a.profiles
        .iter_mut()
        .find(|p| p.name == "vpn")
        .unwrap()
        .only_one = true;
    let now = Instant::now();
    let mut h: Server<u32> = Server::new(
        ServerConfig::new(ServerSettings::l2tp()),
        now,
        TestRng::new(3),
    )
    .unwrap();
    let store = std::sync::Arc::new(std::sync::Mutex::new(a));
    h.set_store(Box::new(store.clone()));
    // two clients with the same user, in memory
    let mut clients: Vec<Client> = (0..2)
        .map(|i| Client::new(client("alice", "pw"), now, TestRng::new(50 + i)).unwrap())
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.lower_up(now).unwrap();
        h.open(now, i as u32, &format!("host{i}")).unwrap();
    }
    let mut t = now;
    for _ in 0..200 {
        for (i, c) in clients.iter_mut().enumerate() {
            while let Some(f) = c.poll_transmit(t) {
                let _ = h.handle_frame(t, &(i as u32), &f);
            }
        }
        while let Some(tx) = h.poll_transmit(t) {
            let _ = clients[tx.key as usize].handle_frame(t, &tx.frame);
        }
        t += Duration::from_millis(10);
    }
    let evs: Vec<ServerEvent<u32>> = std::iter::from_fn(|| h.poll_event()).collect();
    let failed: Vec<String> = evs
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Ppp {
                event: Event::AuthFailed { message, .. },
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(clients.iter().filter(|c| c.is_up()).count(), 1);
    assert!(failed.iter().any(|m| m.contains("only-one")), "{failed:?}");
    assert_eq!(store.lock().unwrap().active_sessions("alice"), 1);
    // use-encryption=required on the profile: accepted now that MPPE exists, and handed to
    // the session through the attributes
    store
        .lock()
        .unwrap()
        .profiles
        .iter_mut()
        .find(|p| p.name == "vpn")
        .unwrap()
        .use_encryption = UseEncryption::Required;
    let mut attrs = UserAttributes {
        profile: Some("vpn".into()),
        ..Default::default()
    };
    use ppp::CredentialStore;
    store
        .lock()
        .unwrap()
        .session_started("dave", &mut attrs)
        .unwrap();
    assert_eq!(attrs.use_encryption, Some(UseEncryption::Required));
}

#[test]
fn dial_on_demand_waits_for_traffic_and_redial_follows_a_disconnect() {
    let mut p = pair(
        ClientSettings {
            dial_on_demand: true,
            ..client("alice", "pw")
        },
        ServerConfig::new(ServerSettings::l2tp()),
        aaa(),
        10,
    );
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.a.c.dials(), 0);
    assert_eq!(p.a.c.status(), Status::Disconnected);
    let now = p.now();
    p.a.c.demand(now);
    p.a.drain(now);
    up(&mut p);
    assert_eq!(p.a.c.dials(), 1);
    // without dial-on-demand: the server ends the session, the client redials after 10 s
    let mut p = pair(
        client("alice", "pw"),
        ServerConfig::new(ServerSettings::l2tp()),
        aaa(),
        11,
    );
    up(&mut p);
    let now = p.now();
    p.b.h.close(now, &KEY, "kick").unwrap();
    p.b.drain(now);
    p.run_until(Duration::from_secs(60), |a, _| a.c.dials() == 2)
        .unwrap();
    let hang =
        p.a.events
            .iter()
            .find(|(_, e)| matches!(e, ClientEvent::HangUp))
            .unwrap()
            .0;
    let dials: Vec<Instant> =
        p.a.events
            .iter()
            .filter(|(_, e)| matches!(e, ClientEvent::Dial))
            .map(|(t, _)| *t)
            .collect();
    assert_eq!(dials[1] - hang, Duration::from_secs(10));
    up(&mut p);
}

#[test]
fn client_route_and_dns_settings_reach_the_up_event() {
    let mut a = aaa();
    a.profiles.iter_mut().find(|p| p.name == "vpn").unwrap().dns =
        vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(8, 8, 8, 8)];
    let mut p = pair(
        ClientSettings {
            add_default_route: true,
            default_route_distance: Some(5),
            use_peer_dns: UsePeerDns::Exclusively,
            profile: "my-profile".into(),
            ..client("alice", "pw")
        },
        ServerConfig::new(ServerSettings::l2tp()),
        a.clone(),
        12,
    );
    up(&mut p);
    let u = p.a.up().unwrap();
    assert_eq!(u.default_route, Some(Some(5)));
    assert_eq!(u.dns.len(), 2);
    assert!(u.dns_exclusive);
    assert_eq!(u.profile, "my-profile");
    // defaults: no default route, no DNS requested (so none reported)
    let mut p = pair(
        client("alice", "pw"),
        ServerConfig::new(ServerSettings::l2tp()),
        a,
        13,
    );
    up(&mut p);
    let u = p.a.up().unwrap();
    assert_eq!(u.default_route, None);
    assert!(u.dns.is_empty() && !u.dns_exclusive);
    assert_eq!(u.profile, "default-encryption");
}

#[test]
fn many_sessions_at_30_percent_loss_all_reach_network_up() {
    // One host, one client per key, each over its own lossy link pair.
    let start = Instant::now();
    let mut a = aaa();
    a.pools[0] = IpPool::new("pool", "10.9.1.1-10.9.1.50").unwrap();
    for s in 0..3 {
        let mut p = pair_on(
            client("alice", "pw"),
            ServerConfig::new(ServerSettings::l2tp()),
            a.clone(),
            20 + s,
            LinkConfig::lossy(0.3),
        );
        p.run_until(Duration::from_secs(120), |a, _| a.c.is_up())
            .unwrap_or_else(|| panic!("seed {s}: {:?}", p.a.events));
    }
    let _ = start;
}

#[test]
fn lac_forwards_a_realm_user_to_a_second_host_that_continues_without_renegotiating() {
    // The LAC host authenticates nobody of realm mt.lv; the LNS host starts from the proxy.
    let start = Instant::now();
    // (The LAC asks the client for MRU 1450: an LNS with max-mru 1450 cannot accept a
    // proxied MRU above its own and would renegotiate LCP.)
    let mut lac_cfg = ServerConfig::new(ServerSettings {
        authentication: AuthSet::of(&[AuthMethod::Chap]),
        max_mru: 1450,
        max_mtu: 1450,
        ..ServerSettings::pppoe()
    });
    lac_cfg.forward_realms = vec!["mt.lv".into()];
    let mut lac: Server<u8> = Server::new(lac_cfg, start, TestRng::new(1)).unwrap();
    let mut lns: Server<u8> = Server::new(
        ServerConfig::new(ServerSettings {
            authentication: AuthSet::ALL,
            ..ServerSettings::l2tp()
        }),
        start,
        TestRng::new(2),
    )
    .unwrap();
    let mut users = Aaa::new();
    let mut s = Secret::new("good_worker@mt.lv", "pass123");
    s.local_address = Some(Ipv4Addr::new(10, 98, 41, 1));
    s.remote_address = Some(Ipv4Addr::new(10, 98, 41, 10));
    users.secrets.push(s);
    lns.set_store(Box::new(users));
    let mut c = Client::new(
        ClientSettings {
            service: ppp::Service::Pppoe,
            ..client("good_worker@mt.lv", "pass123")
        },
        start,
        TestRng::new(3),
    )
    .unwrap();
    c.lower_up(start).unwrap();
    lac.open(start, 7, "02:00:00:00:00:07").unwrap();
    let mut forwarded = false;
    let mut lns_frames = Vec::new();
    let mut t = start;
    for _ in 0..100 {
        while let Some(f) = c.poll_transmit(t) {
            if forwarded {
                let _ = lns.handle_frame(t, &7, &f);
            } else {
                let _ = lac.handle_frame(t, &7, &f);
            }
        }
        while let Some(tx) = lac.poll_transmit(t) {
            let _ = c.handle_frame(t, &tx.frame);
        }
        while let Some(e) = lac.poll_event() {
            if let ServerEvent::Forward { key, realm, proxy } = e {
                assert_eq!((key, realm.as_str()), (7, "mt.lv"));
                let auth = proxy.auth.clone().unwrap();
                assert_eq!(auth.kind, ppp::ProxyAuthType::Chap);
                assert_eq!(auth.name, "good_worker@mt.lv");
                lns.open_proxy(t, 7, "lac", proxy).unwrap();
                forwarded = true;
            }
        }
        while let Some(tx) = lns.poll_transmit(t) {
            lns_frames.push(tx.frame.clone());
            let _ = c.handle_frame(t, &tx.frame);
        }
        while lns.poll_event().is_some() {}
        while c.poll_event().is_some() {}
        t += Duration::from_millis(10);
    }
    assert!(forwarded);
    assert!(c.is_up());
    assert_eq!(
        c.session().unwrap().ipv4().unwrap().local,
        Ipv4Addr::new(10, 98, 41, 10)
    );
    assert!(lac.is_empty() && lac.stats().forwarded == 1);
    // the LNS sent no LCP Configure-Request and no CHAP Challenge
    assert!(!lns_frames
        .iter()
        .any(|f| f[2..4] == [0xc0, 0x21] && f[4] == 1));
    assert!(!lns_frames
        .iter()
        .any(|f| f[2..4] == [0xc2, 0x23] && f[4] == 1));
}

#[test]
fn profile_use_encryption_drives_mppe_through_the_host() {
    // `/ppp profile vpn use-encryption=required` on the server, the client's profile `yes`
    // (RouterOS's default-encryption): MS-CHAPv2, then MPPE128 stateless both ways.
    let mut a = aaa();
    a.profiles
        .iter_mut()
        .find(|p| p.name == "vpn")
        .unwrap()
        .use_encryption = UseEncryption::Required;
    let mut p = pair(
        ClientSettings {
            use_encryption: UseEncryption::Yes,
            ..client("alice", "pw")
        },
        ServerConfig::new(ServerSettings::l2tp()),
        a.clone(),
        31,
    );
    p.run_until(Duration::from_secs(20), |c, s| {
        s.ppp(|e| matches!(e, Event::EncryptionUp { .. }))
            && c.count(|e| matches!(e, ClientEvent::Ppp(Event::EncryptionUp { .. }))) == 1
    })
    .unwrap_or_else(|| panic!("{:?}", p.a.events));
    assert!(p.b.ppp(|e| matches!(
        e,
        Event::EncryptionUp { encoding, mtu: 1446 } if encoding == "MPPE128 stateless"
    )));
    // The same profile with a PAP-only client (PPPoE server offering all methods): the
    // session ends with the encryption reason.
    let mut p = pair(
        ClientSettings {
            allow: AuthSet::of(&[AuthMethod::Pap]),
            ..client("alice", "pw")
        },
        ServerConfig::new(ServerSettings::pppoe()),
        a,
        32,
    );
    p.run_until(Duration::from_secs(20), |_, s| {
        s.ppp(|e| {
            matches!(
                e,
                Event::Terminated {
                    reason: ppp::TerminateReason::EncryptionRequired(_),
                    ..
                }
            )
        })
    })
    .unwrap_or_else(|| panic!("{:?}", p.b.events));
}

/// The `mrru` setting of both settings blocks reaches the sessions: single-link MP with the
/// hosts' fragment and reassembly pass-throughs.
#[test]
fn mrru_setting_gives_single_link_multilink_through_the_hosts() {
    let mut s = ServerSettings::l2tp();
    s.mrru = Some(1600);
    let mut c = client("alice", "pw");
    c.mrru = Some(1614);
    let mut p = pair(c, ServerConfig::new(s), aaa(), 7);
    up(&mut p);
    let sess = p.b.h.session(&KEY).unwrap();
    assert!(sess.multilink());
    // The server may send up to the client's MRRU, the client up to the server's.
    assert_eq!((sess.mtu(), sess.link_mtu()), (1614, 1450));
    assert_eq!(p.a.c.session().unwrap().mtu(), 1600);
    let now = p.now();
    let pkt: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
    let mut frames = Vec::new();
    let n =
        p.b.h
            .encapsulate_fragments(now, &KEY, 0x0021, &pkt, |f| frames.push(f.to_vec()))
            .unwrap();
    assert_eq!(n, 2);
    assert!(frames
        .iter()
        .all(|f| f.len() <= 1454 && f[2..4] == [0x00, 0x3d]));
    assert!(matches!(
        p.a.c.handle_frame(now, &frames[0]),
        Ok(ppp::Input::Fragment)
    ));
    assert!(matches!(
        p.a.c.handle_frame(now, &frames[1]),
        Ok(ppp::Input::Reassembled { protocol: 0x0021 })
    ));
    assert_eq!(p.a.c.session().unwrap().reassembled(), &pkt[..]);
    assert_eq!(p.a.c.poll_reassembled(now), None);
    // And the other way, into the server host.
    let mut frames = Vec::new();
    p.a.c
        .encapsulate_fragments(now, 0x0021, &pkt, |f| frames.push(f.to_vec()))
        .unwrap();
    assert_eq!(frames.len(), 2);
    let _ = p.b.h.handle_frame(now, &KEY, &frames[0]);
    assert!(matches!(
        p.b.h.handle_frame(now, &KEY, &frames[1]),
        Ok(ppp::Input::Reassembled { protocol: 0x0021 })
    ));
    assert_eq!(p.b.h.session(&KEY).unwrap().reassembled(), &pkt[..]);
    assert_eq!(p.b.h.poll_reassembled(now, &KEY), None);
}
