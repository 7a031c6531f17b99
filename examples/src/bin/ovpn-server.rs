//! OpenVPN server example over the sans-IO `ovpn` crate (UDP: many clients on one socket;
//! TCP: one connection per client), moving packets between the clients and a TUN or TAP
//! device.
//!
//! ```text
//! ovpn-server --listen IP:PORT --proto udp|tcp --ca F --cert F --key F
//!             [--tls-auth F --key-direction 0 | --tls-crypt F | --tls-crypt-v2 SERVERKEY]
//!             [--cipher C] [--data-ciphers A:B] [--auth D] [--p2p] [--ping N]
//!             [--ping-restart N] [--require-client-cert] [--user U --pass P]
//!             [--pool-base 10.8.0.] [--seconds N] [--pcap F] [--no-stateless]
//!             [--explicit-exit-notify 1|2] [--crypto builtin|openssl]
//!             [--dev tun|tap --ifconfig A/len [--dev-name ovpn0] [--tun-mtu 1400]]
//! ```
//! Without `--p2p` the server answers PUSH_REQUEST with an address from the pool
//! `<pool-base>2-<pool-base>254` (`ifconfig A 255.255.255.0`, `topology subnet`), cipher,
//! peer-id and keepalive, and prints an accounting record when a client leaves; with
//! `--p2p` it runs OpenVPN's point-to-point TLS mode (peer `tls-client`). `--user/--pass`
//! enable the credential hook.
//! With `--dev tun` the device gets `--ifconfig` (e.g. `<pool-base>1/24`); packets the
//! kernel routes into it go to the client whose pool address (or seen source address) is
//! the destination. Over UDP the server answers resets statelessly (HMAC cookies, like
//! OpenVPN 2.6) unless `--no-stateless`; with `--explicit-exit-notify` (not `--p2p`) it
//! sends `RESTART`
//! (2: `RESTART,[N]`, next server) to every client when its `--seconds` are over. With `--dev tap` frames go to the client whose MAC was seen as a
//! source, and broadcast/unknown destinations to every client.

use std::net::SocketAddr;

use examples::ovpn_util::{
    common, exit_with, parse_args, run_server, tls_factory, DevOpts, OsRng, Pcap, ServeOpts, Tally,
};
use ovpn::pool::Ipv4Pool;
use ovpn::server::{Server, StatelessConfig};
use ovpn::session::{Role, Session};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = parse_args(&args);
    let r = (|| -> Result<Tally, String> {
        let c = common(Role::Server, &o)?;
        let listen: SocketAddr = o
            .get("listen")
            .ok_or("--listen IP:PORT is required")?
            .parse()
            .map_err(|e| format!("--listen: {e}"))?;
        let require = o.contains_key("require-client-cert");
        let pool = o
            .get("pool-base")
            .cloned()
            .unwrap_or_else(|| "10.8.0.".into());
        let creds = match (o.get("user"), o.get("pass")) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ => None,
        };
        let dev = DevOpts::from_args(&o)?;
        if dev.as_ref().is_some_and(|d| d.ifconfig.is_none()) {
            return Err("--dev needs --ifconfig A/len on the server".into());
        }
        let cfg = c.cfg.clone();
        let tls = c.tls.clone();
        let stateless = (!c.tcp && !o.contains_key("no-stateless")).then(|| StatelessConfig {
            wrap: c.cfg.wrap.clone(),
            hand_window: c.cfg.hand_window,
            unix_time: examples::ovpn_util::unix_now(),
            rate_limit: Some((100, std::time::Duration::from_secs(10))),
        });
        let mut srv: Server<SocketAddr> = Server::new(
            Box::new(move |peer_id, now| {
                let mut cfg = cfg.clone();
                cfg.peer_id = Some(peer_id);
                // The address comes from the server's pool (pushed after these).
                cfg.push_options = vec!["topology subnet".into()];
                let hook: Option<ovpn::session::AuthHook> = creds.clone().map(|(u, p)| {
                    Box::new(move |uu: &str, pp: &str| {
                        let ok = uu == u && pp == p;
                        println!("server auth hook: user {uu} ok={ok}");
                        ok
                    }) as ovpn::session::AuthHook
                });
                let rng = OsRng::new().map_err(|e| ovpn::error::Error::Tls(e.to_string()))?;
                Session::new(
                    cfg,
                    now,
                    Box::new(rng),
                    tls_factory(Role::Server, tls.clone(), None, require),
                    hook,
                )
            }),
            64,
        );
        let range = format!("{pool}2-{pool}254");
        let mask = std::net::Ipv4Addr::new(255, 255, 255, 0);
        srv.set_pool(Ipv4Pool::from_range(&range, mask).map_err(|e| e.to_string())?);
        if let Some(st) = stateless {
            let mut rng = OsRng::new().map_err(|e| e.to_string())?;
            srv.enable_stateless(std::time::Instant::now(), st, &mut rng)
                .map_err(|e| e.to_string())?;
            println!("server stateless handshake (HMAC cookies) on");
        }
        let mut pcap = c.pcap.as_ref().map(|_| Pcap::default());
        let so = ServeOpts {
            listen,
            tcp: c.tcp,
            seconds: c.seconds,
            // Server mode only (OpenVPN's p2p TLS mode has no RESTART).
            exit_notify: o
                .get("explicit-exit-notify")
                .filter(|_| !o.contains_key("p2p"))
                .map(|v| v == "2"),
        };
        let t = run_server(srv, so, pcap.as_mut(), dev)?;
        if let (Some(p), Some(path)) = (pcap, c.pcap) {
            p.write(&path);
        }
        Ok(t)
    })();
    exit_with("ovpn-server", r);
}
