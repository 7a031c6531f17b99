//! Interop: the `ppp` crate against real pppd 2.4.9 on an async-HDLC serial line in the lab VM
//! (`examples::lab_vm`: guest pppd on /dev/ttyS2, host end a unix socket).
//!
//! * our client vs pppd as authenticator with PAP, CHAP-MD5 and MS-CHAPv2: LCP, auth, IPCP up
//!   with the addresses pppd assigns (10.97.47.2 for us, 10.97.47.1 for pppd), then an ICMP echo
//!   to 10.97.47.1 answered by the guest kernel through ppp0;
//! * pppd as the client authenticating to our server role (CHAP-MD5 and MS-CHAPv2), checked in
//!   pppd's own log and by an ICMP echo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use examples::interop::peer_available;
use examples::lab_vm::{lab_available, LabOptions, LabVm, PPP_PASSWORD, PPP_USER};
use ppp::wire::hdlc::Deframer;
use ppp::{AuthMethod, AuthSet, Config, Event, Input, Role, Session};
use rand_chacha::rand_core::SeedableRng;
use std::io::{ErrorKind, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// An IPv4 ICMP echo request from `src` to `dst`.
fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, id: u16, seq: u16) -> Vec<u8> {
    netsim::pcap::icmp4_echo(
        src.octets(),
        dst.octets(),
        false,
        id,
        seq,
        b"rust-ppp interop ping",
    )
}

struct Link {
    sock: UnixStream,
    de: Deframer,
    s: Session,
    events: Vec<Event>,
    datagrams: Vec<Vec<u8>>,
    /// Server: the password to verify AuthRequested against.
    verify_with: Option<String>,
}

impl Link {
    fn new(lab: &LabVm, cfg: Config, role: Role, seed: u64) -> Link {
        let sock = UnixStream::connect(lab.serial_socket()).expect("serial socket");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let s = Session::new(
            cfg,
            role,
            Instant::now(),
            rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        )
        .unwrap();
        Link {
            sock,
            de: Deframer::new(4000),
            s,
            events: Vec::new(),
            datagrams: Vec::new(),
            verify_with: None,
        }
    }

    fn flush(&mut self) {
        let now = Instant::now();
        while let Some(bytes) = self.s.poll_transmit_hdlc(now) {
            self.sock.write_all(&bytes).unwrap();
        }
        while let Some(e) = self.s.poll_event() {
            eprintln!("  event: {e:?}");
            if let (Event::AuthRequested(r), Some(pw)) = (&e, &self.verify_with) {
                let v = ppp::Verdict::Password {
                    password: pw.clone(),
                    attributes: Default::default(),
                };
                self.s.auth_verdict(now, r.id, v).unwrap();
                while let Some(bytes) = self.s.poll_transmit_hdlc(now) {
                    self.sock.write_all(&bytes).unwrap();
                }
            }
            self.events.push(e);
        }
    }

    /// Run the session in real time until `done` or `max` elapses.
    fn run_until(&mut self, max: Duration, mut done: impl FnMut(&Link) -> bool) -> bool {
        let end = Instant::now() + max;
        let mut buf = [0u8; 4096];
        loop {
            self.flush();
            if done(self) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            match self.sock.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.de.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("serial socket: {e}"),
            }
            while let Some(f) = self.de.next_frame() {
                let Ok(mut f) = f else { continue };
                let now = Instant::now();
                // In place: an MPPE packet (pppd agrees to MPPE after MS-CHAPv2) comes back
                // decrypted as a datagram.
                if let Ok(Input::Datagram { payload, .. }) = self.s.handle_frame_mut(now, &mut f) {
                    self.datagrams.push(payload.to_vec());
                }
            }
            let now = Instant::now();
            if self.s.poll_timeout().is_some_and(|d| d <= now) {
                self.s.handle_timeout(now);
            }
        }
    }

    /// Send up to five echo requests one second apart (pppd brings ppp0 up in the guest a
    /// moment after IPCP opens) until a reply from `dst` arrives.
    fn ping(&mut self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        for seq in 1..=5 {
            let pkt = icmp_echo(src, dst, 0x5050, seq);
            if let Err(e) = self.s.send_datagram(Instant::now(), 0x0021, &pkt) {
                // Held while CCP settles (MS-CHAPv2 keys make MPPE possible): nothing leaves
                // in clear until it does.
                eprintln!("  echo {seq} held: {e}");
                self.run_until(Duration::from_millis(500), |l| {
                    l.events
                        .iter()
                        .any(|e| matches!(e, Event::EncryptionUp { .. }))
                });
                continue;
            }
            let got = self.run_until(Duration::from_secs(1), |l| {
                l.datagrams
                    .iter()
                    .any(|d| d.len() >= 28 && d[9] == 1 && d[12..16] == dst.octets() && d[20] == 0)
            });
            if got {
                return true;
            }
        }
        false
    }

    fn close(&mut self) {
        self.s.close(Instant::now(), "interop done");
        self.run_until(Duration::from_secs(10), |l| l.s.is_ended());
    }
}

fn pppd_options(extra: &str) -> String {
    format!("local\npassive\nnocrtscts\nnodefaultroute\nnoipdefault\ndebug\nlcp-echo-interval 0\nname rplab-serial\n{extra}10.97.47.1:10.97.47.2\n")
}

#[test]
fn ppp_against_pppd_on_serial_line() {
    if !peer_available("lab-vm (pppd on a serial line)", lab_available()) {
        return;
    }
    let lab = LabVm::start(&LabOptions::default()).expect("lab VM");
    let guest = Ipv4Addr::new(10, 97, 47, 1);
    let ours = Ipv4Addr::new(10, 97, 47, 2);

    // 1. Our client, pppd authenticates us.
    for (i, (method, opt, log_word)) in [
        (AuthMethod::Pap, "require-pap", "PAP"),
        (AuthMethod::Chap, "require-chap", "CHAP"),
        (AuthMethod::MsChap2, "require-mschap-v2", "CHAP"),
    ]
    .into_iter()
    .enumerate()
    {
        eprintln!("== client vs pppd, {method:?}");
        lab.set_serial_ppp_options(&pppd_options(&format!("auth\n{opt}\n")))
            .unwrap();
        let mut cfg = Config::serial();
        cfg.user = PPP_USER.into();
        cfg.password = PPP_PASSWORD.into();
        cfg.keepalive_timeout = Duration::ZERO;
        let mut l = Link::new(&lab, cfg, Role::Client, 100 + i as u64);
        l.s.open(Instant::now());
        let up = l.run_until(Duration::from_secs(40), |l| {
            l.events.iter().any(|e| matches!(e, Event::NetworkUp(_)))
        });
        assert!(
            up,
            "{method:?}: no IPCP up; pppd log:\n{}",
            lab.serial_ppp_log()
        );
        assert!(l
            .events
            .iter()
            .any(|e| matches!(e, Event::AuthSucceeded { method: m, .. } if *m == method)));
        let info = l.s.ipv4().unwrap();
        assert_eq!((info.local, info.remote), (ours, guest));
        assert!(
            l.ping(ours, guest),
            "{method:?}: no ICMP echo reply from {guest}"
        );
        let log = lab.serial_ppp_log();
        assert!(
            log.contains(&format!("rcvd [{log_word}")),
            "{method:?}: pppd log lacks our auth packets:\n{log}"
        );
        if method == AuthMethod::MsChap2 {
            assert!(l.s.mschap_keys().is_some());
            // What CCP settled on with pppd (MPPE when its kernel and options allow it).
            eprintln!(
                "  MS-CHAPv2 link encoding with pppd: {:?}, MPPE counters {:?}",
                l.s.encoding(),
                l.s.mppe_counters()
            );
        }
        l.close();
        assert!(l.s.is_ended());
    }

    // 2. pppd as the client, our server authenticates it.
    for (i, method) in [AuthMethod::Chap, AuthMethod::MsChap2]
        .into_iter()
        .enumerate()
    {
        eprintln!("== pppd client vs our server, {method:?}");
        lab.set_serial_ppp_options(&pppd_options(&format!("noauth\nuser {PPP_USER}\n")))
            .unwrap();
        let mut cfg = Config::serial();
        cfg.authentication = AuthSet::of(&[method]);
        cfg.keepalive_timeout = Duration::ZERO;
        cfg.local_address = Some(ours);
        cfg.remote_address = Some(guest);
        cfg.local_name = "rust-ppp".into();
        let mut l = Link::new(&lab, cfg, Role::Server, 200 + i as u64);
        l.verify_with = Some(PPP_PASSWORD.into());
        l.s.open(Instant::now());
        let up = l.run_until(Duration::from_secs(40), |l| {
            l.events.iter().any(|e| matches!(e, Event::NetworkUp(_)))
        });
        assert!(up, "{method:?}: pppd log:\n{}", lab.serial_ppp_log());
        assert!(l.events.iter().any(
            |e| matches!(e, Event::AuthRequested(r) if r.user == PPP_USER && r.method == method)
        ));
        assert!(l
            .events
            .iter()
            .any(|e| matches!(e, Event::AuthSucceeded { .. })));
        assert!(l.ping(ours, guest), "{method:?}: no ICMP echo reply");
        let log = lab.serial_ppp_log();
        assert!(
            log.contains("authentication succeeded"),
            "{method:?}: pppd did not report success:\n{log}"
        );
        l.close();
    }
}
