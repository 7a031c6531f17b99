//! Interop: the sans-IO RADIUS client `ppp::radius`, driven over real UDP by
//! `examples::radius_udp`, against FreeRADIUS 3.2.1 (Debian `freeradius`) and its `radclient`
//! (`freeradius-utils`), on 127.0.0.1.
//!
//! Each test writes a minimal raddb into its scratch directory (`radiusd.conf` with the
//! client 127.0.0.1 and its secret, the `pap`, `chap`, `mschap` (MPPE keys on), `eap`
//! (EAP-MSCHAPv2), `files` and `detail` modules, listening on free high ports of 127.0.0.1;
//! a `users` file with the users below), starts `freeradius -X -f -d DIR` and kills it by PID
//! at the end. Cases:
//! * PAP accept (Framed-IP-Address, Session-Timeout, Acct-Interim-Interval, Class mapped) and
//!   reject;
//! * CHAP-MD5 and MS-CHAPv1;
//! * MS-CHAPv2: MS-CHAP2-Success equal to our RFC 2759 authenticator response, and
//!   MS-MPPE-Send/Recv-Key decrypted (RFC 2548) and equal to our RFC 3079 derivation;
//! * EAP-MSCHAPv2 pass-through (RFC 3579): identity, challenge, response, success, with State,
//!   and the MPPE keys of the Accept;
//! * a PPP session (`ppp::host` client and server in memory) authenticated by FreeRADIUS
//!   through `HostBridge`: Framed-IP-Address becomes the client's address, accounting
//!   Start/Interim-Update/Stop land in FreeRADIUS's detail file with our counters, and a
//!   Disconnect-Request from `radclient` to our `/radius incoming` listener ends the session
//!   (Disconnect-ACK, Acct-Terminate-Cause Admin-Reset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use examples::interop::{peer_available, require_tools, scratch_dir, veth, Netns};
use examples::radius_udp::{DaeUdp, RadiusAaa, RadiusUdp};
use ppp::host::{Client, ClientEvent, Server, ServerConfig, ServerEvent};
use ppp::mschap;
use ppp::radius::{
    AccessRequest, Credentials, DaeConfig, DaeEvent, DaeOutcome, RadiusConfig, RadiusEvent,
    RadiusServer, Reply, SharedSecret,
};
use ppp::settings::{ClientSettings, ServerSettings};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cr3t-radius";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const USERS: &str = r#"alice	Cleartext-Password := "wonderland"
	Framed-IP-Address = 10.77.0.9,
	Session-Timeout = 3600,
	Acct-Interim-Interval = 600,
	Class = "class-alice"

lac@isp.example	Cleartext-Password := "far"
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IP,
	Tunnel-Server-Endpoint:1 = "192.0.2.77",
	Tunnel-Password:1 = "tunnel-secret",
	Tunnel-Preference:1 = 1,
	Tunnel-Type:2 = L2TP,
	Tunnel-Medium-Type:2 = IP,
	Tunnel-Server-Endpoint:2 = "192.0.2.78",
	Tunnel-Preference:2 = 2

bob	Cleartext-Password := "builder"
	Framed-IP-Address = 10.77.0.10,
	Acct-Interim-Interval = 1,
	Class = "class-bob"
"#;

fn raddb(dir: &str, auth: u16, acct: u16) -> String {
    format!(
        r#"prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {dir}
sbindir = /usr/sbin
logdir = {dir}
raddbdir = {dir}
radacctdir = {dir}
name = freeradius
confdir = {dir}
modconfdir = {dir}
run_dir = {dir}
db_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
log {{
	destination = stderr
	auth = yes
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
	allow_vulnerable_openssl = yes
}}
proxy_requests = no
client local {{
	ipaddr = 127.0.0.1
	secret = {SECRET}
}}
thread pool {{
	start_servers = 1
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}
modules {{
	pap {{
	}}
	chap {{
	}}
	mschap {{
		use_mppe = yes
		require_encryption = no
		require_strong = no
	}}
	files {{
		filename = {dir}/users
	}}
	eap {{
		default_eap_type = mschapv2
		timer_expire = 60
		ignore_unknown_eap_types = no
		max_sessions = 64
		mschapv2 {{
		}}
	}}
	detail {{
		filename = {dir}/detail
		header = "%t"
		permissions = 0600
	}}
}}
server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = {auth}
	}}
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {acct}
	}}
	authorize {{
		chap
		mschap
		eap {{
			ok = return
		}}
		files
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
		Auth-Type CHAP {{
			chap
		}}
		Auth-Type MS-CHAP {{
			mschap
		}}
		eap
	}}
	preacct {{
	}}
	accounting {{
		detail
	}}
	post-auth {{
	}}
}}
"#
    )
}

/// A free UDP port of 127.0.0.1 (bound and released: the race with other programs is
/// accepted).
fn free_port() -> u16 {
    UdpSocket::bind((LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two consecutive free UDP ports of 127.0.0.1.
fn free_pair() -> (u16, u16) {
    for _ in 0..100 {
        let a = free_port();
        if a < u16::MAX && UdpSocket::bind((LOCALHOST, a + 1)).is_ok() {
            return (a, a + 1);
        }
    }
    panic!("no two consecutive free ports")
}

/// FreeRADIUS in the foreground, killed by PID on drop.
struct FreeRadius {
    child: Child,
    dir: PathBuf,
    auth: u16,
    acct: u16,
}

impl FreeRadius {
    fn start(test: &str) -> Result<FreeRadius, String> {
        Self::start_in(test, None)
    }

    /// In network namespace `netns` (its 127.0.0.1) when given.
    fn start_in(test: &str, netns: Option<&str>) -> Result<FreeRadius, String> {
        let dir = scratch_dir(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let d = dir.to_str().ok_or("scratch path is not UTF-8")?;
        // Accounting on the next port, as `--radius ADDR:PORT` assumes.
        let (auth, acct) = free_pair();
        let w = |name: &str, text: &str| std::fs::write(dir.join(name), text);
        w("radiusd.conf", &raddb(d, auth, acct)).map_err(|e| e.to_string())?;
        w("users", USERS).map_err(|e| e.to_string())?;
        w("dictionary", "$INCLUDE /usr/share/freeradius/dictionary\n")
            .map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("radiusd.log")).map_err(|e| e.to_string())?;
        // `ip netns exec` execs the program: the child's PID is FreeRADIUS's.
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "freeradius"]);
                c
            }
            None => Command::new("freeradius"),
        };
        let child = cmd
            .args(["-X", "-f", "-d", d])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("freeradius: {e}"))?;
        let mut fr = FreeRadius {
            child,
            dir,
            auth,
            acct,
        };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if fr.log().contains("Ready to process requests") {
                return Ok(fr);
            }
            if let Ok(Some(st)) = fr.child.try_wait() {
                return Err(format!("freeradius exited ({st}):\n{}", fr.log()));
            }
            if Instant::now() > end {
                return Err(format!("freeradius not ready:\n{}", fr.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("radiusd.log")).unwrap_or_default()
    }

    fn detail(&self) -> String {
        std::fs::read_to_string(self.dir.join("detail")).unwrap_or_default()
    }

    /// The detail file's records, each as attribute name -> value (quotes removed).
    fn detail_records(&self) -> Vec<HashMap<String, String>> {
        self.detail()
            .split("\n\n")
            .filter(|r| !r.trim().is_empty())
            .map(|r| {
                r.lines()
                    .filter_map(|l| l.trim().split_once(" = "))
                    .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                    .collect()
            })
            .collect()
    }

    fn config(&self) -> RadiusConfig {
        let mut s = RadiusServer::new(LOCALHOST, SECRET);
        s.authentication_port = self.auth;
        s.accounting_port = self.acct;
        s.timeout = Duration::from_millis(1000);
        let mut c = RadiusConfig::default();
        c.servers.push(s);
        c.nas_identifier = Some("rosproto-test".into());
        c
    }

    fn client(&self) -> RadiusUdp {
        RadiusUdp::new(self.config()).unwrap()
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        // By PID: this child only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup(test: &str) -> Option<FreeRadius> {
    if !peer_available("freeradius", require_tools(&["freeradius", "radclient"])) {
        return None;
    }
    Some(FreeRadius::start(test).unwrap_or_else(|e| panic!("{e}")))
}

/// Send one Access-Request and wait for its answer.
fn ask(udp: &mut RadiusUdp, req: AccessRequest, fr: &FreeRadius) -> RadiusEvent {
    let h = udp
        .client()
        .send_access_request(Instant::now(), req)
        .unwrap();
    udp.wait_for(h, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", fr.log()))
}

fn accepted(ev: RadiusEvent, fr: &FreeRadius) -> Box<Reply> {
    match ev {
        RadiusEvent::Accept { reply, .. } => reply,
        other => panic!("expected Access-Accept, got {other:?}\n{}", fr.log()),
    }
}

fn random16() -> [u8; 16] {
    use rand_core::RngCore;
    let mut b = [0u8; 16];
    examples::sys::OsRng::new().unwrap().fill_bytes(&mut b);
    b
}

#[test]
fn pap_accept_maps_reply_and_wrong_password_is_rejected() {
    let Some(fr) = setup("radius-pap") else {
        return;
    };
    let mut udp = fr.client();
    let pap = |pw: &str| Credentials::Pap {
        password: pw.as_bytes().to_vec().into(),
    };
    let r = accepted(
        ask(
            &mut udp,
            AccessRequest::new("alice", pap("wonderland")),
            &fr,
        ),
        &fr,
    );
    assert_eq!(r.framed_ip_address, Some(Ipv4Addr::new(10, 77, 0, 9)));
    assert_eq!(r.session_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(r.acct_interim_interval, Some(Duration::from_secs(600)));
    assert_eq!(r.class, vec![b"class-alice".to_vec()]);
    let v = r.to_verdict(ppp::AuthMethod::Pap);
    let ppp::Verdict::Accept { attributes, .. } = v else {
        panic!("{v:?}")
    };
    assert_eq!(attributes.remote_address, Some(Ipv4Addr::new(10, 77, 0, 9)));

    match ask(&mut udp, AccessRequest::new("alice", pap("wrong")), &fr) {
        RadiusEvent::Reject { .. } => {}
        other => panic!("expected Access-Reject, got {other:?}"),
    }
    match ask(&mut udp, AccessRequest::new("nobody", pap("x")), &fr) {
        RadiusEvent::Reject { .. } => {}
        other => panic!("expected Access-Reject, got {other:?}"),
    }
    assert_eq!(udp.client().stats().dropped, 0);
}

#[test]
fn chap_and_mschapv1_are_accepted() {
    let Some(fr) = setup("radius-chap") else {
        return;
    };
    let mut udp = fr.client();
    let challenge = random16().to_vec();
    let response = mschap::chap_md5_response(7, b"wonderland", &challenge);
    let chap = Credentials::Chap {
        ident: 7,
        challenge: challenge.clone(),
        response,
    };
    let r = accepted(ask(&mut udp, AccessRequest::new("alice", chap), &fr), &fr);
    assert_eq!(r.framed_ip_address, Some(Ipv4Addr::new(10, 77, 0, 9)));
    // A wrong response is refused.
    let mut bad = response;
    bad[0] ^= 1;
    let chap = Credentials::Chap {
        ident: 7,
        challenge,
        response: bad,
    };
    assert!(matches!(
        ask(&mut udp, AccessRequest::new("alice", chap), &fr),
        RadiusEvent::Reject { .. }
    ));

    let c8: [u8; 8] = random16()[..8].try_into().unwrap();
    let v1 = Credentials::MsChap1 {
        ident: 3,
        challenge: c8,
        nt_response: mschap::mschap1_nt_response(&c8, "wonderland"),
    };
    accepted(ask(&mut udp, AccessRequest::new("alice", v1), &fr), &fr);
}

#[test]
fn mschapv2_success_and_mppe_keys_match_rfc3079() {
    let Some(fr) = setup("radius-mschapv2") else {
        return;
    };
    let mut udp = fr.client();
    let (ac, pc) = (random16(), random16());
    let nt = mschap::generate_nt_response(&ac, &pc, b"alice", "wonderland");
    let cred = Credentials::MsChap2 {
        ident: 9,
        auth_challenge: ac,
        peer_challenge: pc,
        nt_response: nt,
    };
    let r = accepted(ask(&mut udp, AccessRequest::new("alice", cred), &fr), &fr);
    let expect_s = mschap::authenticator_response(
        &mschap::nt_password_hash("wonderland"),
        &nt,
        &pc,
        &ac,
        b"alice",
    );
    assert_eq!(r.ms_chap2_success, Some(expect_s), "MS-CHAP2-Success S=");
    let keys = mschap::mschap2_keys("wonderland", &nt, true);
    let send = r
        .mppe_send_key
        .as_ref()
        .expect("MS-MPPE-Send-Key decrypted");
    let recv = r
        .mppe_recv_key
        .as_ref()
        .expect("MS-MPPE-Recv-Key decrypted");
    assert_eq!(
        &send[..16],
        &keys.send_key,
        "Send-Key = the NAS's send key (RFC 3079)"
    );
    assert_eq!(
        &recv[..16],
        &keys.recv_key,
        "Recv-Key = the NAS's receive key"
    );
    // The verdict hands both to the PPP session, with the authenticator response.
    let ppp::Verdict::Accept {
        keys: Some(k),
        authenticator_response,
        ..
    } = r.to_verdict(ppp::AuthMethod::MsChap2)
    else {
        panic!("no keys in the verdict")
    };
    assert_eq!((k.send_key, k.recv_key), (keys.send_key, keys.recv_key));
    assert_eq!(authenticator_response, Some(expect_s));

    // A wrong NT-Response: Reject with MS-CHAP-Error E=691.
    let mut bad = nt;
    bad[0] ^= 1;
    let cred = Credentials::MsChap2 {
        ident: 9,
        auth_challenge: ac,
        peer_challenge: pc,
        nt_response: bad,
    };
    match ask(&mut udp, AccessRequest::new("alice", cred), &fr) {
        RadiusEvent::Reject { reply, .. } => {
            assert!(
                reply
                    .ms_chap_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("E=691"),
                "{reply:?}"
            )
        }
        other => panic!("expected Access-Reject, got {other:?}"),
    }
}

/// An EAP packet: code, identifier, length, then type and data (RFC 3748 s4).
fn eap(code: u8, id: u8, kind: u8, data: &[u8]) -> Vec<u8> {
    let len = (5 + data.len()) as u16;
    let mut v = vec![code, id];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v.extend_from_slice(data);
    v
}

#[test]
fn eap_mschapv2_passthrough() {
    let Some(fr) = setup("radius-eap") else {
        return;
    };
    let mut udp = fr.client();
    let step = |udp: &mut RadiusUdp, msg: Vec<u8>, state: Option<Vec<u8>>| {
        let mut req = AccessRequest::new("alice", Credentials::Eap { message: msg });
        req.state = state;
        ask(udp, req, &fr)
    };
    // 1. EAP-Response/Identity.
    let ev = step(&mut udp, eap(2, 0, 1, b"alice"), None);
    let RadiusEvent::Challenge { reply, .. } = ev else {
        panic!("expected Access-Challenge, got {ev:?}\n{}", fr.log())
    };
    let req = reply
        .eap_message
        .clone()
        .expect("EAP-Message in the Challenge");
    // EAP-Request, type 26, OpCode 1 (Challenge), MS-CHAPv2-ID, MS-Length, Value-Size 16.
    assert_eq!(
        (req[0], req[4], req[5], req[9]),
        (1, 26, 1, 16),
        "{req:02x?}"
    );
    let eap_id = req[1];
    let ms_id = req[6];
    let ac: [u8; 16] = req[10..26].try_into().unwrap();
    // 2. EAP-Response/MSCHAPv2 Response.
    let pc = random16();
    let nt = mschap::generate_nt_response(&ac, &pc, b"alice", "wonderland");
    let mut value = Vec::new();
    value.extend_from_slice(&pc);
    value.extend_from_slice(&[0u8; 8]);
    value.extend_from_slice(&nt);
    value.push(0); // flags
    let ms_len = (4 + 1 + value.len() + b"alice".len()) as u16;
    let mut data = vec![2, ms_id];
    data.extend_from_slice(&ms_len.to_be_bytes());
    data.push(49);
    data.extend_from_slice(&value);
    data.extend_from_slice(b"alice");
    let ev = step(&mut udp, eap(2, eap_id, 26, &data), reply.state.clone());
    let RadiusEvent::Challenge { reply, .. } = ev else {
        panic!(
            "expected Access-Challenge (Success request), got {ev:?}\n{}",
            fr.log()
        )
    };
    let req = reply.eap_message.clone().unwrap();
    assert_eq!(
        (req[0], req[4], req[5]),
        (1, 26, 3),
        "EAP-MSCHAPv2 Success request"
    );
    let text = String::from_utf8_lossy(&req[9..]).into_owned();
    let expect_s = mschap::authenticator_response(
        &mschap::nt_password_hash("wonderland"),
        &nt,
        &pc,
        &ac,
        b"alice",
    );
    assert!(
        text.starts_with(&mschap::format_authenticator_response(&expect_s)),
        "{text}"
    );
    // 3. EAP-Response/MSCHAPv2 Success: Access-Accept with EAP-Success and the MPPE keys.
    let ev = step(&mut udp, eap(2, req[1], 26, &[3]), reply.state.clone());
    let r = accepted(ev, &fr);
    let success = r.eap_message.clone().unwrap();
    assert_eq!(success[0], 3, "EAP-Success");
    let keys = mschap::mschap2_keys("wonderland", &nt, true);
    assert_eq!(&r.mppe_send_key.as_ref().unwrap()[..16], &keys.send_key);
    assert_eq!(&r.mppe_recv_key.as_ref().unwrap()[..16], &keys.recv_key);
    assert_eq!(r.framed_ip_address, Some(Ipv4Addr::new(10, 77, 0, 9)));
}

/// A PPP client and a PPP server host in memory (real time), the server asking FreeRADIUS.
struct World {
    cli: Client,
    host: Server<u8>,
    aaa: RadiusAaa<u8>,
    host_events: Vec<ServerEvent<u8>>,
    cli_events: Vec<ClientEvent>,
    dae_events: Vec<DaeEvent>,
}

impl World {
    fn step(&mut self) {
        let now = Instant::now();
        while let Some(e) = self.cli.poll_event() {
            if matches!(e, ClientEvent::Dial) {
                self.cli.lower_up(now).unwrap();
            }
            self.cli_events.push(e);
        }
        while let Some(f) = self.cli.poll_transmit(now) {
            if self.host.session(&1).is_none() && self.host.is_empty() {
                self.host.open(now, 1, "02:00:00:00:00:01").unwrap();
            }
            let _ = self.host.handle_frame(now, &1, &f);
        }
        while let Some(t) = self.host.poll_transmit(now) {
            let _ = self.cli.handle_frame(now, &t.frame);
        }
        while let Some(e) = self.host.poll_event() {
            self.aaa.handle_server_event(now, &e);
            self.host_events.push(e);
        }
        let (verdicts, dae) = self.aaa.poll(now);
        for (k, id, v) in verdicts {
            let _ = self.host.auth_verdict(now, &k, id, v);
        }
        self.dae_events.extend(dae);
        if self.cli.poll_timeout().is_some_and(|t| t <= now) {
            self.cli.handle_timeout(now);
        }
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
    }

    fn run_until(&mut self, max: Duration, mut f: impl FnMut(&World) -> bool) -> bool {
        let end = Instant::now() + max;
        while Instant::now() < end {
            self.step();
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    fn up(&self) -> Option<ppp::host::ClientUp> {
        self.cli_events.iter().find_map(|e| match e {
            ClientEvent::Up(u) => Some(u.clone()),
            _ => None,
        })
    }

    fn records(&self, kind: ppp::host::AccountingKind) -> Vec<ppp::host::AccountingRecord> {
        self.host_events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Accounting {
                    kind: k, record, ..
                } if *k == kind => Some(record.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A minimal IPv4/ICMP echo request (the host only counts it).
fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, n: usize) -> Vec<u8> {
    netsim::pcap::icmp4_echo(src.octets(), dst.octets(), false, 1, 1, &vec![0x5a; n])
}

#[test]
fn ppp_session_gets_framed_ip_accounts_and_radclient_disconnects_it() {
    let Some(fr) = setup("radius-session") else {
        return;
    };
    let mut cfg = ServerConfig::new(ServerSettings::l2tp());
    cfg.aaa.use_radius = true;
    cfg.aaa.accounting = true;
    let host = Server::new(cfg, Instant::now(), examples::sys::OsRng::new().unwrap()).unwrap();
    let cli = Client::new(
        ClientSettings {
            user: "bob".into(),
            password: "builder".into(),
            ..ClientSettings::l2tp()
        },
        Instant::now(),
        examples::sys::OsRng::new().unwrap(),
    )
    .unwrap();
    let dae_port = free_port();
    let dae = DaeUdp::new(
        DaeConfig {
            accept: true,
            port: dae_port,
            clients: vec![(LOCALHOST, SharedSecret::new(SECRET))],
            ..DaeConfig::default()
        },
        SocketAddr::new(LOCALHOST, dae_port),
    )
    .unwrap();
    let aaa = RadiusAaa::new(fr.config(), true, Some(dae)).unwrap();
    let mut w = World {
        cli,
        host,
        aaa,
        host_events: Vec::new(),
        cli_events: Vec::new(),
        dae_events: Vec::new(),
    };
    w.cli.dial(Instant::now());
    assert!(
        w.run_until(Duration::from_secs(20), |w| w.up().is_some()),
        "no PPP session: {:?}\n{:?}\n{}",
        w.cli_events,
        w.host_events,
        fr.log()
    );
    let up = w.up().unwrap();
    assert_eq!(
        up.local,
        Ipv4Addr::new(10, 77, 0, 10),
        "Framed-IP-Address of bob"
    );

    // Traffic both ways so the counters are not zero.
    let mut out = vec![0u8; 2048];
    for i in 0..5 {
        let now = Instant::now();
        let p = ipv4_packet(up.local, up.remote, 100 + i);
        let n = w.cli.encapsulate(now, 0x0021, &p, &mut out).unwrap();
        let f = out[..n].to_vec();
        let _ = w.host.handle_frame(now, &1, &f);
        let p = ipv4_packet(up.remote, up.local, 300);
        let n = w.host.encapsulate(now, &1, 0x0021, &p, &mut out).unwrap();
        let f = out[..n].to_vec();
        let _ = w.cli.handle_frame(now, &f);
    }
    // Acct-Interim-Interval = 1 from the users file drives Interim-Updates.
    assert!(
        w.run_until(Duration::from_secs(10), |w| {
            !w.records(ppp::host::AccountingKind::Interim).is_empty()
        }),
        "no interim record"
    );
    let session_id = format!(
        "{:08X}",
        w.records(ppp::host::AccountingKind::Start)[0].session_id
    );
    let has = |fr: &FreeRadius, status: &str| {
        fr.detail_records().iter().any(|r| {
            r.get("Acct-Status-Type").map(String::as_str) == Some(status)
                && r.get("Acct-Session-Id") == Some(&session_id)
        })
    };
    let end = Instant::now() + Duration::from_secs(10);
    while !(has(&fr, "Start") && has(&fr, "Interim-Update")) && Instant::now() < end {
        w.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        has(&fr, "Start"),
        "no Start in the detail file:\n{}",
        fr.detail()
    );
    assert!(
        has(&fr, "Interim-Update"),
        "no Interim-Update:\n{}",
        fr.detail()
    );
    let start = fr
        .detail_records()
        .into_iter()
        .find(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Start"))
        .unwrap();
    assert_eq!(start.get("User-Name").map(String::as_str), Some("bob"));
    assert_eq!(
        start.get("Framed-IP-Address").map(String::as_str),
        Some("10.77.0.10")
    );
    assert_eq!(
        start.get("Class").map(String::as_str),
        Some("0x636c6173732d626f62")
    );

    // radclient sends a Disconnect-Request for the session to our /radius incoming port.
    let radclient = Command::new("sh")
        .args([
            "-c",
            &format!(
                "echo 'Acct-Session-Id = \"{session_id}\", User-Name = \"bob\"' | \
                 radclient -x -r 1 -t 10 127.0.0.1:{dae_port} disconnect {SECRET}"
            ),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        w.run_until(Duration::from_secs(10), |w| !w.dae_events.is_empty()),
        "no Disconnect-Request reached the listener"
    );
    let DaeEvent::Disconnect {
        token, identity, ..
    } = w.dae_events.remove(0)
    else {
        panic!("expected a Disconnect-Request")
    };
    assert_eq!(
        identity.acct_session_id.as_deref(),
        Some(session_id.as_str())
    );
    assert_eq!(identity.user_name.as_deref(), Some("bob"));
    // The session named by Acct-Session-Id is ours: end it, and ACK.
    let now = Instant::now();
    assert_eq!(
        w.host.accounting_id(&1).map(|id| format!("{id:08X}")),
        Some(session_id.clone())
    );
    w.host.close(now, &1, "radius disconnect").unwrap();
    w.aaa
        .dae
        .as_mut()
        .unwrap()
        .respond(now, token, DaeOutcome::Ack);
    assert!(
        w.run_until(Duration::from_secs(10), |w| w
            .host_events
            .iter()
            .any(|e| matches!(e, ServerEvent::Ended { .. }))),
        "the session did not end"
    );
    let out = radclient.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Received Disconnect-ACK"),
        "radclient: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Accounting-Stop in the detail file with our counters and Admin-Reset.
    let stop = w.records(ppp::host::AccountingKind::Stop);
    assert_eq!(stop.len(), 1);
    let c = stop[0].counters;
    assert!(c.rx_bytes > 0 && c.tx_bytes > 0, "{c:?}");
    let end = Instant::now() + Duration::from_secs(10);
    while !has(&fr, "Stop") && Instant::now() < end {
        w.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let recs = fr.detail_records();
    let rec = recs
        .iter()
        .find(|r| {
            r.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
                && r.get("Acct-Session-Id") == Some(&session_id)
        })
        .unwrap_or_else(|| panic!("no Stop in the detail file:\n{}", fr.detail()));
    let num = |k: &str| rec.get(k).and_then(|v| v.parse::<u64>().ok());
    assert_eq!(num("Acct-Input-Octets"), Some(c.rx_bytes & 0xffff_ffff));
    assert_eq!(num("Acct-Output-Octets"), Some(c.tx_bytes & 0xffff_ffff));
    assert_eq!(num("Acct-Input-Packets"), Some(c.rx_packets));
    assert_eq!(num("Acct-Output-Packets"), Some(c.tx_packets));
    assert_eq!(
        rec.get("Acct-Terminate-Cause").map(String::as_str),
        Some("Admin-Reset")
    );
}

/// Our `l2tp-client` against our `l2tp-server` (namespaces `rp-rad-c` 10.97.60.2 and
/// `rp-rad-s` 10.97.60.1), the server authenticating through FreeRADIUS (in `rp-rad-s`, on its
/// 127.0.0.1): the client gets bob's Framed-IP-Address from the users file and pings the
/// server's PPP address; FreeRADIUS's detail file gets the session's Start and Stop.
#[test]
fn l2tp_client_gets_framed_ip_from_freeradius_through_our_l2tp_server() {
    if !peer_available(
        "freeradius",
        require_tools(&["freeradius", "radclient", "ip"]),
    ) {
        return;
    }
    let s = Netns::new("rp-rad-s").unwrap();
    let c = Netns::new("rp-rad-c").unwrap();
    veth(&s, "rads0", "10.97.60.1/24", &c, "radc0", "10.97.60.2/24").unwrap();
    let fr = FreeRadius::start_in("radius-l2tp", Some(&s.name)).unwrap_or_else(|e| panic!("{e}"));
    let dir = fr.dir.clone();
    let srv = s
        .spawn_args(
            env!("CARGO_BIN_EXE_l2tp-server"),
            &[
                "10.97.60.1".to_string(),
                "--radius".into(),
                format!("127.0.0.1:{}", fr.auth),
                "--radius-secret".into(),
                SECRET.into(),
                "--radius-accounting".into(),
                "--authentication".into(),
                "mschap2,chap,pap".into(),
                "--hold".into(),
                "60".into(),
            ],
            &dir.join("l2tp-server.log"),
        )
        .unwrap();
    srv.wait_log("LISTENING", Duration::from_secs(10)).unwrap();
    let out = c
        .exec(
            env!("CARGO_BIN_EXE_l2tp-client"),
            &[
                "10.97.60.1",
                "--user",
                "bob",
                "--password",
                "builder",
                "--ping",
                "10.97.41.1",
                "--count",
                "2",
                "--hold",
                "30",
            ],
        )
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| e);
    // Accounting-Stop follows the client's clean close.
    let end = Instant::now() + Duration::from_secs(15);
    let stopped = |fr: &FreeRadius| {
        fr.detail_records().iter().any(|r| {
            r.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
                && r.get("User-Name").map(String::as_str) == Some("bob")
        })
    };
    while !stopped(&fr) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let slog = srv.stop(Duration::from_secs(5));
    let all = format!(
        "client:\n{out}\nserver:\n{slog}\nfreeradius:\n{}\ndetail:\n{}",
        examples::interop::tail_lines(&fr.log(), 60),
        fr.detail()
    );
    // bob's Framed-IP-Address; the server's own address from the server's default profile.
    assert!(
        out.contains("IPCP UP local=10.77.0.10 peer=10.97.41.1"),
        "{all}"
    );
    assert!(out.contains("PING REPLY from 10.97.41.1"), "{all}");
    assert!(slog.contains("RADIUS ACCEPT framed-ip=10.77.0.10"), "{all}");
    let recs = fr.detail_records();
    let start = recs.iter().find(|r| {
        r.get("Acct-Status-Type").map(String::as_str) == Some("Start")
            && r.get("User-Name").map(String::as_str) == Some("bob")
    });
    let start = start.unwrap_or_else(|| panic!("no Start: {all}"));
    // NAS-Identifier in the server's requests (RFC 2865 s4.1).
    assert_eq!(
        start.get("NAS-Identifier").map(String::as_str),
        Some("MikroTik"),
        "{all}"
    );
    assert_eq!(
        start.get("Framed-IP-Address").map(String::as_str),
        Some("10.77.0.10"),
        "{all}"
    );
    assert!(stopped(&fr), "no Stop: {all}");
    let stop = recs
        .iter()
        .find(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
        .unwrap();
    assert_eq!(stop.get("Acct-Session-Id"), start.get("Acct-Session-Id"));
    // The pings went through the session: octets both ways.
    let n = |k: &str| stop.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    assert!(
        n("Acct-Input-Octets") > 0 && n("Acct-Output-Octets") > 0,
        "{all}"
    );
}

/// A program of this package in the foreground, output to a log file, killed by PID on drop.
struct Bin {
    child: Child,
    log: PathBuf,
}

impl Bin {
    fn start(bin: &str, args: &[String], log: PathBuf) -> Bin {
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        Bin { child, log }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, needle: &str, max: Duration) -> bool {
        let end = Instant::now() + max;
        while Instant::now() < end {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Bin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same options on another PPP server (shared `ppp_cli::RadiusArgs`): our `sstp-client`
/// against our `sstp-server --radius ... --radius-incoming PORT` on 127.0.0.1; FreeRADIUS
/// authenticates alice (Framed-IP-Address 10.77.0.9), then `radclient` sends a
/// Disconnect-Request naming her User-Name to the server's `/radius incoming` port: the
/// server ends the session, answers Disconnect-ACK, and FreeRADIUS records the Stop with
/// Acct-Terminate-Cause Admin-Reset.
#[test]
fn sstp_server_radius_login_and_radclient_disconnect() {
    let Some(fr) = setup("radius-sstp") else {
        return;
    };
    let tcp = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = tcp.local_addr().unwrap().port();
    drop(tcp);
    let dae_port = free_port();
    let srv = Bin::start(
        env!("CARGO_BIN_EXE_sstp-server"),
        &[
            "127.0.0.1".to_string(),
            "--port".into(),
            port.to_string(),
            "--authentication".into(),
            "mschap2".into(),
            "--radius".into(),
            format!("127.0.0.1:{}", fr.auth),
            "--radius-secret".into(),
            SECRET.into(),
            "--radius-accounting".into(),
            "--radius-incoming".into(),
            dae_port.to_string(),
            "--hold".into(),
            "60".into(),
        ],
        fr.dir.join("sstp-server.log"),
    );
    assert!(
        srv.wait_for("LISTENING", Duration::from_secs(10)),
        "{}",
        srv.text()
    );
    let cli = Bin::start(
        env!("CARGO_BIN_EXE_sstp-client"),
        &[
            "127.0.0.1".to_string(),
            "--port".into(),
            port.to_string(),
            "--user".into(),
            "alice".into(),
            "--password".into(),
            "wonderland".into(),
            "--hold".into(),
            "30".into(),
        ],
        fr.dir.join("sstp-client.log"),
    );
    let up = srv.wait_for("IPCP UP", Duration::from_secs(20));
    let all = |fr: &FreeRadius| {
        format!(
            "server:\n{}\nclient:\n{}\nfreeradius:\n{}",
            srv.text(),
            cli.text(),
            examples::interop::tail_lines(&fr.log(), 40)
        )
    };
    assert!(up, "{}", all(&fr));
    assert!(
        srv.text().contains("RADIUS ACCEPT framed-ip=10.77.0.9"),
        "{}",
        all(&fr)
    );
    assert!(srv.text().contains("peer=10.77.0.9"), "{}", all(&fr));
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                "echo 'User-Name = \"alice\"' | \
                 radclient -x -r 2 -t 5 127.0.0.1:{dae_port} disconnect {SECRET}"
            ),
        ])
        .output()
        .unwrap();
    let rc = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        rc.contains("Received Disconnect-ACK"),
        "radclient: {rc}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        all(&fr)
    );
    assert!(
        srv.wait_for("RADIUS DISCONNECT", Duration::from_secs(5)),
        "{}",
        all(&fr)
    );
    // The Stop reaches FreeRADIUS's detail file.
    let end = Instant::now() + Duration::from_secs(15);
    let stop = |fr: &FreeRadius| {
        fr.detail_records().into_iter().find(|r| {
            r.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
                && r.get("User-Name").map(String::as_str) == Some("alice")
        })
    };
    while stop(&fr).is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let rec = stop(&fr).unwrap_or_else(|| panic!("no Stop:\n{}\n{}", fr.detail(), all(&fr)));
    assert_eq!(
        rec.get("Acct-Terminate-Cause").map(String::as_str),
        Some("Admin-Reset"),
        "{}",
        fr.detail()
    );
    // A request naming nobody: Disconnect-NAK (Session-Context-Not-Found).
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                "echo 'User-Name = \"nobody\"' | \
                 radclient -x -r 1 -t 5 127.0.0.1:{dae_port} disconnect {SECRET}"
            ),
        ])
        .output()
        .unwrap();
    let rc = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        rc.contains("Received Disconnect-NAK") && rc.contains("Session-Context-Not-Found"),
        "radclient: {rc}"
    );
}

/// ipsec-ike's `eap-radius` hook: `RadiusEapBackend` carries the conversation of ipsec-ike's
/// own EAP-MSCHAPv2 peer (`MschapV2Client`, what an IKEv2 road warrior runs) to FreeRADIUS;
/// both ends get the same MSK (the IKEv2 AUTH key), and a wrong password fails.
#[test]
fn ipsec_eap_radius_backend_against_freeradius() {
    use ipsec_ike::eap::{EapBackend, EapStep, MschapV2Client};
    let Some(fr) = setup("radius-ike-eap") else {
        return;
    };
    let run = |pw: &str| -> (EapStep, EapStep) {
        let mut be =
            examples::radius_udp::RadiusEapBackend::new(fr.config(), Duration::from_secs(10))
                .unwrap();
        let mut peer = MschapV2Client::new("alice", pw, random16());
        let mut to_peer = be.start(7, b"alice");
        for _ in 0..6 {
            let EapStep::Continue(m) = to_peer else {
                return (to_peer, EapStep::Failure(Vec::new()));
            };
            match peer.step(&m) {
                EapStep::Continue(r) => to_peer = be.step(7, &r),
                other => return (EapStep::Continue(m), other),
            }
        }
        panic!("no end")
    };
    let (server_end, _) = run("wonderland");
    let EapStep::Success { message, msk } = server_end.clone() else {
        panic!("{server_end:?}\n{}", fr.log())
    };
    assert_eq!(message[0], ipsec_ike::eap::SUCCESS);
    assert_eq!(msk.len(), 32, "MS-MPPE-Recv-Key | MS-MPPE-Send-Key");
    // Same MSK on the peer: run the conversation again keeping the peer to read its MSK.
    let mut be =
        examples::radius_udp::RadiusEapBackend::new(fr.config(), Duration::from_secs(10)).unwrap();
    let mut peer = MschapV2Client::new("alice", "wonderland", random16());
    let mut to_peer = be.start(8, b"alice");
    let peer_msk = loop {
        match to_peer {
            EapStep::Continue(m) => match peer.step(&m) {
                EapStep::Continue(r) => to_peer = be.step(8, &r),
                other => panic!("peer: {other:?}"),
            },
            EapStep::Success { message, msk } => {
                let EapStep::Success { msk: pm, .. } = peer.step(&message) else {
                    panic!("peer refused the EAP-Success")
                };
                assert_eq!(pm, msk, "the same MSK on both ends");
                break pm;
            }
            EapStep::Failure(_) => panic!("failure\n{}", fr.log()),
        }
    };
    assert_eq!(peer_msk.len(), 32);
    // A wrong password: FreeRADIUS rejects (the server end fails).
    let (server_end, _) = run("wrong");
    assert!(
        !matches!(server_end, EapStep::Success { .. }),
        "{server_end:?}"
    );
}

/// Retransmission, failover and dead-time on real sockets: the first `/radius` entry is a
/// port where nothing answers; after `timeout` x (1 + `retransmits`) the request moves to
/// FreeRADIUS and is accepted; the next request skips the dead entry.
#[test]
fn failover_from_a_silent_server_to_freeradius() {
    let Some(fr) = setup("radius-failover") else {
        return;
    };
    let mut cfg = fr.config();
    let mut dead = RadiusServer::new(LOCALHOST, "other-secret");
    dead.authentication_port = free_port();
    dead.timeout = Duration::from_millis(200);
    cfg.servers.insert(0, dead);
    cfg.retransmits = 1;
    let mut udp = RadiusUdp::new(cfg).unwrap();
    let pap = || Credentials::Pap {
        password: b"wonderland".to_vec().into(),
    };
    let t = Instant::now();
    let r = accepted(ask(&mut udp, AccessRequest::new("alice", pap()), &fr), &fr);
    let took = t.elapsed();
    assert_eq!(r.framed_ip_address, Some(Ipv4Addr::new(10, 77, 0, 9)));
    assert!(took >= Duration::from_millis(400), "{took:?}");
    let st = udp.client().stats();
    assert_eq!((st.retransmitted, st.failovers), (1, 1), "{st:?}");
    assert!(matches!(
        udp.poll_event(),
        Some(RadiusEvent::ServerDead { server: 0, .. })
    ));
    assert!(udp.client().is_dead(0, Instant::now()));
    // Within the dead-time the next request goes to FreeRADIUS at once.
    let t = Instant::now();
    accepted(ask(&mut udp, AccessRequest::new("alice", pap()), &fr), &fr);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(udp.client().stats().failovers, 1);
}

/// The first half of a LAC's realm decision through RADIUS: FreeRADIUS answers a user of a
/// realm with RFC 2868 tunnel attributes (two L2TP tunnels, tags 1 and 2, with preference and
/// a Tunnel-Password), and the reply maps them: LNS addresses in preference order and the
/// decrypted tunnel secret.
#[test]
fn tunnel_attributes_for_a_lac_user() {
    let Some(fr) = setup("radius-tunnel") else {
        return;
    };
    let mut udp = fr.client();
    let pap = Credentials::Pap {
        password: b"far".to_vec().into(),
    };
    let r = accepted(
        ask(&mut udp, AccessRequest::new("lac@isp.example", pap), &fr),
        &fr,
    );
    let t = r.l2tp_tunnels();
    assert_eq!(t.len(), 2, "{r:?}");
    assert_eq!(t[0].server_endpoint.as_deref(), Some("192.0.2.77"));
    assert_eq!(t[0].medium_type, Some(1));
    assert_eq!(t[0].preference, Some(1));
    assert_eq!(
        t[0].password.as_ref().map(|p| p.to_vec()),
        Some(b"tunnel-secret".to_vec())
    );
    assert_eq!(t[1].server_endpoint.as_deref(), Some("192.0.2.78"));
    assert!(t[1].password.is_none());
}
