//! `l2tp-client`: the RouterOS-style L2TP client (`/interface l2tp-client`): the `l2tp` crate's
//! LAC and a `ppp` client session on a real UDP socket.
//!
//! ```text
//! l2tp-client <server-ip> [--user U] [--password P] [--secret S] [--hold SECS]
//!             [--ping ADDR [--count N]] [--pcap FILE]
//!             [--add-default-route] [--use-peer-dns]
//! ```
//! * Brings up tunnel, session, LCP, authentication and IPCP; prints one line per event
//!   (`TUNNEL UP`, `SESSION UP`, `LCP UP`, `IPCP UP local=.. peer=.. dns=..`).
//! * `--ping ADDR`: sends ICMP echo requests (every 0.5 s) through the tunnel from the PPP
//!   address (built in user space, no TUN device needed) until `--count` replies arrived (at
//!   most 4 x count requests; the peer's interface may come up a moment after IPCP) and prints
//!   `PING REPLY from ADDR seq=N` per reply.
//! * `--add-default-route` / `--use-peer-dns`: print what RouterOS would apply (`WOULD ROUTE
//!   default via ppp`, `WOULD USE DNS ...`); this example never touches the host's routes or
//!   resolver (no TUN mode yet).
//! * `--pcap FILE`: every datagram sent and received, wrapped in synthetic IPv4/UDP headers.
//!
//! Exits after `--hold` seconds (default 20) or after the pings are answered, closing cleanly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use l2tp::ppp_link::{ClientEvent, ClientInput, L2tpClient};
use l2tp::{CallInfo, TunnelConfig};
use netsim::pcap;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn os_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut s);
    }
    s
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        s += u32::from(w);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 ICMP echo request `src -> dst` with identifier 0x4c32 and sequence `seq`.
fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, seq: u16) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x4c, 0x32];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"rust-l2tp-ping-payload..");
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(server) = args.get(1).and_then(|a| a.parse::<IpAddr>().ok()) else {
        eprintln!("usage: l2tp-client <server-ip> [--user U] [--password P] [--secret S] [--hold SECS] [--ping ADDR [--count N]] [--pcap FILE] [--add-default-route] [--use-peer-dns]");
        std::process::exit(2);
    };
    if let Err(e) = run(server, &args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(server: IpAddr, args: &[String]) -> Result<(), String> {
    let hold = Duration::from_secs(
        arg(args, "--hold")
            .and_then(|s| s.parse().ok())
            .unwrap_or(20),
    );
    let ping: Option<Ipv4Addr> = arg(args, "--ping").and_then(|s| s.parse().ok());
    let count: u16 = arg(args, "--count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let default_route = args.iter().any(|a| a == "--add-default-route");
    let peer_dns = args.iter().any(|a| a == "--use-peer-dns");
    let pcap_path = arg(args, "--pcap");
    let mut frames: Vec<(Duration, Vec<u8>)> = Vec::new();

    let bind: SocketAddr = match server {
        IpAddr::V4(_) => "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?,
        IpAddr::V6(_) => "[::]:0".parse().map_err(|e| format!("{e}"))?,
    };
    let sock = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let mut dest = SocketAddr::new(server, 1701);
    let mut rng = ChaCha20Rng::from_seed(os_seed());
    let start = Instant::now();
    let mut pcfg = ppp::Config::l2tp_client();
    if let Some(u) = arg(args, "--user") {
        pcfg.user = u;
    }
    if let Some(p) = arg(args, "--password") {
        pcfg.password = p;
    }
    let mut c = L2tpClient::new(
        TunnelConfig {
            host_name: b"rust-l2tp-client".to_vec(),
            secret: arg(args, "--secret").map(String::into_bytes),
            ..Default::default()
        },
        pcfg,
        CallInfo::default(),
        start,
        &mut rng,
    )
    .map_err(|e| e.to_string())?;

    let ip4 = |a: IpAddr| match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => [0, 0, 0, 0],
    };
    let mut record = |at: Duration, from: SocketAddr, to: SocketAddr, d: &[u8]| {
        if pcap_path.is_some() {
            frames.push((
                at,
                pcap::udp4_wrap(ip4(from.ip()), from.port(), ip4(to.ip()), to.port(), d),
            ));
        }
    };

    let mut buf = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    let mut my_ip: Option<Ipv4Addr> = None;
    let mut sent = 0u16;
    let mut replies = 0u16;
    let mut next_ping = start;
    let mut closing: Option<Instant> = None;
    loop {
        let now = Instant::now();
        while let Some(d) = c.poll_transmit(now) {
            record(now - start, local, dest, &d);
            let _ = sock.send_to(&d, dest);
        }
        while let Some(e) = c.poll_event() {
            match e {
                ClientEvent::L2tp(l2tp::Event::TunnelUp { peer_tunnel_id, .. }) => {
                    println!("TUNNEL UP peer_tunnel_id={peer_tunnel_id}")
                }
                ClientEvent::L2tp(l2tp::Event::SessionUp { session_id, .. }) => {
                    println!("SESSION UP session_id={session_id}")
                }
                ClientEvent::L2tp(l2tp::Event::TunnelDown { reason }) => {
                    println!("TUNNEL DOWN {reason:?}");
                    closing.get_or_insert(now);
                }
                ClientEvent::Ppp(ppp::Event::LinkUp { mtu, .. }) => println!("LCP UP mtu={mtu}"),
                ClientEvent::Ppp(ppp::Event::NetworkUp(i)) => {
                    println!(
                        "IPCP UP local={} peer={} dns={:?}",
                        i.local, i.remote, i.dns
                    );
                    if default_route {
                        println!("WOULD ROUTE default via ppp (peer {})", i.remote);
                    }
                    if peer_dns {
                        println!("WOULD USE DNS {:?}", i.dns);
                    }
                    my_ip = Some(i.local);
                }
                ClientEvent::Ppp(ppp::Event::Terminated { reason, .. }) => {
                    println!("PPP TERMINATED {reason:?}")
                }
                other => println!("EVENT {other:?}"),
            }
        }
        if let (Some(src), Some(dst)) = (my_ip, ping) {
            if replies < count
                && sent < count.saturating_mul(4)
                && now >= next_ping
                && closing.is_none()
            {
                let pkt = echo_request(src, dst, sent);
                if let Ok(n) = c.send_datagram(now, 0x0021, &pkt, &mut out) {
                    record(now - start, local, dest, &out[..n]);
                    let _ = sock.send_to(&out[..n], dest);
                    println!("PING SENT to {dst} seq={sent}");
                    sent += 1;
                    next_ping = now + Duration::from_millis(500);
                }
            }
        }
        let done_pinging = ping.is_some() && replies >= count;
        if closing.is_none() && (now - start >= hold || done_pinging) {
            println!("CLOSING");
            c.close(now);
            closing = Some(now);
        }
        if let Some(t) = closing {
            if now - t > Duration::from_secs(3) {
                break;
            }
        }
        let deadline = c
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(200))
            .min(now + Duration::from_millis(100));
        let wait = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let now = Instant::now();
                if from.ip() != server {
                    continue;
                }
                // the LNS may answer from another port (xl2tpd does not, some LNSes do)
                dest = from;
                record(now - start, from, local, &buf[..n]);
                if let Ok(ClientInput::Datagram { protocol, payload }) =
                    c.handle_input(now, &buf[..n])
                {
                    if protocol == 0x0021
                        && payload.len() >= 28
                        && payload[9] == 1
                        && payload[20] == 0
                    {
                        let from_ip =
                            Ipv4Addr::new(payload[12], payload[13], payload[14], payload[15]);
                        let seq = u16::from_be_bytes([payload[26], payload[27]]);
                        println!("PING REPLY from {from_ip} seq={seq}");
                        replies += 1;
                    }
                }
            }
            Err(_) => {
                let now = Instant::now();
                if c.poll_timeout().is_some_and(|d| d <= now) {
                    c.handle_timeout(now);
                }
            }
        }
    }
    if let Some(p) = pcap_path {
        let bytes = pcap::to_bytes(pcap::LINKTYPE_RAW, &frames);
        std::fs::write(&p, bytes).map_err(|e| format!("{p}: {e}"))?;
        println!("PCAP {p} ({} frames)", frames.len());
    }
    Ok(())
}
