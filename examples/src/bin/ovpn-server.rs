//! OpenVPN server example over the sans-IO `ovpn` crate (UDP: many clients on one socket;
//! TCP: one connection at a time; no TUN: keepalives and tunnel packets are counted).
//!
//! ```text
//! ovpn-server --listen IP:PORT --proto udp|tcp --ca F --cert F --key F
//!             [--tls-auth F --key-direction 0 | --tls-crypt F | --tls-crypt-v2 SERVERKEY]
//!             [--cipher C] [--data-ciphers A:B] [--auth D] [--p2p] [--ping N]
//!             [--ping-restart N] [--require-client-cert] [--user U --pass P]
//!             [--pool-base 10.8.0.] [--seconds N] [--pcap F]
//! ```
//! Without `--p2p` the server answers PUSH_REQUEST with `ifconfig <pool-base><peer-id+2>`,
//! `topology subnet`, cipher, peer-id and keepalive; with `--p2p` it runs OpenVPN's
//! point-to-point TLS mode (peer `tls-client`). `--user/--pass` enable the credential hook.
//! Having no TUN, the server answers ICMP echo requests arriving through the tunnel itself,
//! so `ping` from a client's tun shows the data channel working both ways.

use std::net::SocketAddr;

use examples::ovpn_util::{common, parse_args, run_server, tls_factory, OsRng, Pcap};
use ovpn::server::Server;
use ovpn::session::{Role, Session};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = parse_args(&args);
    let r = (|| -> Result<bool, String> {
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
        let cfg = c.cfg.clone();
        let tls = c.tls.clone();
        let srv: Server<SocketAddr> = Server::new(
            Box::new(move |peer_id, now| {
                let mut cfg = cfg.clone();
                cfg.peer_id = Some(peer_id);
                cfg.push_options = vec![
                    "topology subnet".into(),
                    format!("ifconfig {pool}{} 255.255.255.0", peer_id + 2),
                ];
                let hook: Option<ovpn::session::AuthHook> = creds.clone().map(|(u, p)| {
                    Box::new(move |uu: &str, pp: &str| uu == u && pp == p)
                        as ovpn::session::AuthHook
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
        let mut pcap = c.pcap.as_ref().map(|_| Pcap::default());
        let t = run_server(srv, listen, c.tcp, c.seconds, pcap.as_mut())?;
        if let (Some(p), Some(path)) = (pcap, c.pcap) {
            p.write(&path);
        }
        println!(
            "RESULT up={} pings_rx={} data_rx={} dropped={} echo_answered={}",
            t.up, t.pings_rx, t.data_rx, t.dropped, t.echo_rx
        );
        Ok(t.up)
    })();
    match r {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("ovpn-server: {e}");
            std::process::exit(2);
        }
    }
}
