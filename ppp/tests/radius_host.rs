#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! RADIUS bridged to the PPP host, in virtual time: a `host::Client` dials a `host::Server`
//! with `use-radius=yes`; the server's external verdicts come from a `RadiusClient` talking
//! to an in-test RADIUS server that verifies MS-CHAPv2 from the wire attributes and returns
//! MS-CHAP2-Success, MPPE keys and a Framed-IP-Address. Accounting records go out as
//! Accounting-Requests, and a Disconnect-Request (RFC 5176) ends the hosted session.

use netsim::TestRng;
use ppp::host::{Client, ClientEvent, Server, ServerConfig, ServerEvent};
use ppp::radius::crypto::{self, Signing};
use ppp::radius::wire::{attr, ms};
use ppp::radius::*;
use ppp::settings::{ClientSettings, ServerSettings};
use ppp::{AuthProof, Event};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const KEY: u8 = 1;
const SECRET: &[u8] = b"radius-secret";

fn server_addr() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))
}

/// The RADIUS server of the test: users "alice"/"pw"; MS-CHAPv2 verified from the attributes.
#[derive(Default)]
struct FakeRadius {
    accounting: Vec<Packet>,
    sent_keys: Option<([u8; 16], [u8; 16])>,
}

impl FakeRadius {
    fn answer(&mut self, request: &[u8]) -> Vec<u8> {
        let req = Packet::parse(request).unwrap();
        let mut attrs = Vec::new();
        let code = if req.code == Code::AccountingRequest {
            assert!(crypto::verify(request, Signing::ComputedRequest, SECRET, false).is_ok());
            self.accounting.push(req.clone());
            Code::AccountingResponse
        } else {
            assert!(crypto::verify(request, Signing::AccessRequest, SECRET, true).is_ok());
            let user = req.user_name().unwrap();
            let challenge = req.vendor(ms::VENDOR_ID, ms::CHAP_CHALLENGE).unwrap().value;
            let resp = req.vendor(ms::VENDOR_ID, ms::CHAP2_RESPONSE).unwrap().value;
            let proof = AuthProof::MsChap2 {
                auth_challenge: challenge.try_into().unwrap(),
                peer_challenge: resp[2..18].try_into().unwrap(),
                nt_response: resp[26..50].try_into().unwrap(),
            };
            match (user == "alice")
                .then(|| ppp::verify_with_password(&user, &proof, "pw"))
                .flatten()
            {
                Some((Some(ar), Some(keys))) => {
                    let mut s = vec![resp[0]];
                    s.extend_from_slice(ppp::mschap::format_authenticator_response(&ar).as_bytes());
                    attrs.push(Attribute::vendor(ms::VENDOR_ID, ms::CHAP2_SUCCESS, &s));
                    self.sent_keys = Some((keys.send_key, keys.recv_key));
                    for (t, k, salt) in [
                        (ms::MPPE_SEND_KEY, keys.send_key, 0x8001),
                        (ms::MPPE_RECV_KEY, keys.recv_key, 0x8002),
                    ] {
                        let v =
                            crypto::mppe_key_encrypt(SECRET, &req.authenticator, salt, &k).unwrap();
                        attrs.push(Attribute::vendor(ms::VENDOR_ID, t, &v));
                    }
                    attrs.push(Attribute::ipv4(
                        attr::FRAMED_IP_ADDRESS,
                        Ipv4Addr::new(10, 77, 0, 5),
                    ));
                    attrs.push(Attribute::u32(attr::ACCT_INTERIM_INTERVAL, 60));
                    attrs.push(Attribute::new(attr::CLASS, "cls"));
                    Code::AccessAccept
                }
                _ => {
                    attrs.push(Attribute::new(attr::REPLY_MESSAGE, "denied"));
                    Code::AccessReject
                }
            }
        };
        let mut p = Packet::new(code, req.id, [0; 16]);
        p.attributes = attrs;
        let mut b = p.to_bytes().unwrap();
        crypto::sign(&mut b, Signing::Response(&req.authenticator), SECRET);
        b
    }
}

struct World {
    t: Instant,
    cli: Client,
    host: Server<u8>,
    radius: RadiusClient,
    fake: FakeRadius,
    bridge: HostBridge<u8>,
    host_events: Vec<ServerEvent<u8>>,
    cli_events: Vec<ClientEvent>,
    radius_answers: bool,
}

impl World {
    fn new(user: &str, pass: &str) -> Self {
        let t = Instant::now();
        let mut cfg = ServerConfig::new(ServerSettings::l2tp());
        cfg.aaa.use_radius = true;
        let host = Server::new(cfg, t, TestRng::new(1)).unwrap();
        let cs = ClientSettings {
            user: user.into(),
            password: pass.into(),
            ..ClientSettings::l2tp()
        };
        let cli = Client::new(cs, t, TestRng::new(2)).unwrap();
        let mut rc = RadiusConfig::default();
        rc.servers.push(RadiusServer::new(server_addr(), SECRET));
        let radius = RadiusClient::new(rc, t, TestRng::new(3)).unwrap();
        World {
            t,
            cli,
            host,
            radius,
            fake: FakeRadius::default(),
            bridge: HostBridge::new(),
            host_events: Vec::new(),
            cli_events: Vec::new(),
            radius_answers: true,
        }
    }

    /// Move everything that can move at the current time.
    fn settle(&mut self) {
        let now = self.t;
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(e) = self.cli.poll_event() {
                if matches!(e, ClientEvent::Dial) {
                    self.cli.lower_up(now).unwrap();
                }
                self.cli_events.push(e);
                moved = true;
            }
            while let Some(f) = self.cli.poll_transmit(now) {
                if self.host.session(&KEY).is_none() {
                    self.host.open(now, KEY, "02:00:00:00:00:01").unwrap();
                }
                let _ = self.host.handle_frame(now, &KEY, &f);
                moved = true;
            }
            while let Some(t) = self.host.poll_transmit(now) {
                let _ = self.cli.handle_frame(now, &t.frame);
                moved = true;
            }
            while let Some(e) = self.host.poll_event() {
                self.bridge
                    .handle_server_event(now, &e, &mut self.radius)
                    .unwrap();
                self.host_events.push(e);
                moved = true;
            }
            while let Some(tx) = self.radius.poll_transmit(now) {
                if self.radius_answers {
                    let reply = self.fake.answer(&tx.payload);
                    let from = tx.destination;
                    assert_eq!(
                        self.radius.handle_datagram(now, from, &reply),
                        Input::Delivered
                    );
                }
                moved = true;
            }
            while let Some(ev) = self.radius.poll_event() {
                if let Some(other) = self.bridge.handle_radius_event(now, ev, &mut self.host) {
                    assert!(
                        matches!(
                            other,
                            RadiusEvent::ServerDead { .. } | RadiusEvent::AccountingDone { .. }
                        ),
                        "{other:?}"
                    );
                }
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn run_until(&mut self, limit: Duration, mut f: impl FnMut(&World) -> bool) -> bool {
        let end = self.t + limit;
        loop {
            self.settle();
            if f(self) {
                return true;
            }
            let next = [
                self.cli.poll_timeout(),
                self.host.poll_timeout(),
                self.radius.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { return false };
            if next > end {
                return false;
            }
            self.t = self.t.max(next);
            let t = self.t;
            self.cli.handle_timeout(t);
            self.host.handle_timeout(t);
            self.radius.handle_timeout(t);
        }
    }

    fn client_up(&self) -> Option<ppp::host::ClientUp> {
        self.cli_events.iter().find_map(|e| match e {
            ClientEvent::Up(u) => Some(u.clone()),
            _ => None,
        })
    }
}

#[test]
fn mschapv2_login_via_radius_gets_framed_ip_and_mppe_keys_then_disconnect_request_ends_it() {
    let mut w = World::new("alice", "pw");
    assert!(w.run_until(Duration::from_secs(30), |w| w.client_up().is_some()));
    // The address came from Framed-IP-Address; the client checked MS-CHAP2-Success's S=.
    assert_eq!(w.client_up().unwrap().local, Ipv4Addr::new(10, 77, 0, 5));
    let keys = w
        .host_events
        .iter()
        .find_map(|e| match e {
            ServerEvent::Ppp {
                event: Event::AuthSucceeded { keys, .. },
                ..
            } => keys.clone(),
            _ => None,
        })
        .expect("MPPE keys from RADIUS reach the session");
    // Exactly the keys the RADIUS server encrypted, decrypted by the client.
    assert_eq!(Some((keys.send_key, keys.recv_key)), w.fake.sent_keys);
    assert_ne!(keys.send_key, keys.recv_key);

    // Accounting-Start went out with the framed address and the Class of the Accept.
    assert!(w.run_until(Duration::from_secs(1), |w| !w.fake.accounting.is_empty()));
    let start = &w.fake.accounting[0];
    assert_eq!(start.get_u32(attr::ACCT_STATUS_TYPE), Some(1));
    assert_eq!(start.framed_ip_address(), Some(Ipv4Addr::new(10, 77, 0, 5)));
    assert_eq!(start.get(attr::CLASS).unwrap().value, b"cls");
    let session_id = start.get_text(attr::ACCT_SESSION_ID).unwrap();

    // Acct-Interim-Interval 60 s drives the host's interim records.
    let up_at = w.t;
    assert!(w.run_until(Duration::from_secs(61), |w| w.fake.accounting.len() >= 2));
    assert_eq!(
        w.fake.accounting[1].get_u32(attr::ACCT_STATUS_TYPE),
        Some(3)
    );
    assert_eq!(w.t - up_at, Duration::from_secs(60));

    // A Disconnect-Request for the session's Acct-Session-Id: the embedder closes it.
    let dac = SocketAddr::new(server_addr(), 50000);
    let mut dae = DaeServer::new(
        DaeConfig {
            accept: true,
            clients: vec![(server_addr(), SharedSecret::new(SECRET))],
            ..DaeConfig::default()
        },
        w.t,
    );
    let mut p = Packet::new(Code::DisconnectRequest, 3, [0; 16]);
    p.push(Attribute::new(attr::ACCT_SESSION_ID, session_id.clone()));
    let mut b = p.to_bytes().unwrap();
    crypto::sign(&mut b, Signing::ComputedRequest, SECRET);
    let now = w.t;
    assert_eq!(dae.handle_datagram(now, dac, &b), DaeInput::Delivered);
    let Some(DaeEvent::Disconnect {
        token, identity, ..
    }) = dae.poll_event()
    else {
        panic!()
    };
    assert_eq!(
        identity.acct_session_id.as_deref(),
        Some(session_id.as_str())
    );
    w.host.close(now, &KEY, "radius disconnect").unwrap();
    assert!(dae.respond(now, token, DaeOutcome::Ack));
    let ack = Packet::parse(&dae.poll_transmit(now).unwrap().payload).unwrap();
    assert_eq!(ack.code, Code::DisconnectAck);
    assert!(w.run_until(Duration::from_secs(10), |w| w
        .host_events
        .iter()
        .any(|e| matches!(e, ServerEvent::Ended { .. }))));
    // Accounting-Stop with an Admin-Reset terminate cause.
    assert!(w.run_until(Duration::from_secs(1), |w| w
        .fake
        .accounting
        .iter()
        .any(|p| p.get_u32(attr::ACCT_STATUS_TYPE) == Some(2))));
    let stop = w
        .fake
        .accounting
        .iter()
        .find(|p| p.get_u32(attr::ACCT_STATUS_TYPE) == Some(2))
        .unwrap();
    assert_eq!(stop.get_u32(attr::ACCT_TERMINATE_CAUSE), Some(6));
    assert_eq!(stop.get_text(attr::ACCT_SESSION_ID), Some(session_id));
}

#[test]
fn radius_reject_and_timeout_fail_the_login() {
    let mut w = World::new("alice", "wrong");
    assert!(
        w.run_until(Duration::from_secs(30), |w| w.host_events.iter().any(
            |e| matches!(
                e,
                ServerEvent::Ppp {
                    event: Event::AuthFailed { .. },
                    ..
                }
            )
        ))
    );
    assert!(w.client_up().is_none());

    let mut w = World::new("alice", "pw");
    w.radius_answers = false;
    assert!(
        w.run_until(Duration::from_secs(30), |w| w.host_events.iter().any(
            |e| matches!(
                e,
                ServerEvent::Ppp {
                    event: Event::AuthFailed { .. },
                    ..
                }
            )
        ))
    );
    let msg = w
        .host_events
        .iter()
        .find_map(|e| match e {
            ServerEvent::Ppp {
                event: Event::AuthFailed { message, .. },
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(msg.contains("not responding"), "{msg}");
    assert_eq!(w.radius.stats().timeouts, 1);
    assert_eq!(w.radius.stats().retransmitted, 2);
}

#[test]
fn bridge_accounting_off_sends_no_accounting_requests() {
    let mut w = World::new("alice", "pw");
    w.bridge.set_accounting(false);
    assert!(w.run_until(Duration::from_secs(30), |w| w.client_up().is_some()));
    w.run_until(Duration::from_secs(70), |_| false);
    assert!(w
        .host_events
        .iter()
        .any(|e| matches!(e, ServerEvent::Accounting { .. })));
    assert!(w.fake.accounting.is_empty());
    assert_eq!(w.bridge.pending(), 0);
}
