#![no_main]
//! RADIUS client input path: records of the fuzz input start requests, deliver datagrams
//! from either server (some built as correctly signed replies to an outstanding request so
//! the mapping code runs), and step time; outputs are drained and invariants checked (the
//! deadline is never in the past after handle_timeout, outstanding requests are bounded).
use fuzz::{step_from, TestRng};
use ppp::radius::crypto::{self, Signing};
use ppp::radius::{
    AccessRequest, AccountingRequest, AcctStatus, Code, Credentials, Packet, RadiusClient,
    RadiusConfig, RadiusServer,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = fuzz::base_instant();
    let mut cfg = RadiusConfig::default();
    for i in 0..2u8 {
        cfg.servers.push(RadiusServer::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i)),
            [b's', i],
        ));
    }
    cfg.max_outstanding = 4;
    let servers = cfg.servers.clone();
    let Ok(mut c) = RadiusClient::new(cfg, now, TestRng(7)) else {
        return;
    };
    let mut t = now;
    let mut sent: Vec<(usize, bool, Vec<u8>)> = Vec::new();
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op % 6 {
            0 => {
                let cred = Credentials::Pap {
                    password: b"pw".to_vec().into(),
                };
                let _ = c.send_access_request(t, AccessRequest::new("u", cred));
            }
            1 => {
                let a = AccountingRequest::new(AcctStatus::Start, "1", "u");
                let _ = c.send_accounting(t, a.attributes());
            }
            2 | 3 => {
                let n = rest.first().copied().unwrap_or(0) as usize;
                let take = n.min(rest.len().saturating_sub(1));
                let body = rest.get(1..1 + take).unwrap_or(&[]);
                rest = rest.get(1 + take..).unwrap_or(&[]);
                let s = (op as usize / 6) % 2;
                let acct = op & 0x40 != 0;
                let port = if acct { 1813 } else { 1812 };
                let from = SocketAddr::new(servers[s].address, port);
                if op % 6 == 3 {
                    // A signed reply to the newest request sent to this server, with the
                    // fuzz bytes as attributes.
                    if let Some((_, _, req)) =
                        sent.iter().rev().find(|(i, a, _)| *i == s && *a == acct)
                    {
                        if let Ok(q) = Packet::parse(req) {
                            let code = if acct {
                                Code::AccountingResponse
                            } else {
                                Code::from_u8(2 + (op >> 7))
                            };
                            let mut b = vec![code.to_u8(), q.id, 0, 0];
                            b.extend_from_slice(&[0; 16]);
                            b.extend_from_slice(body);
                            let len = b.len().min(4096) as u16;
                            b[2..4].copy_from_slice(&len.to_be_bytes());
                            crypto::sign(
                                &mut b,
                                Signing::Response(&q.authenticator),
                                servers[s].secret.as_bytes(),
                            );
                            let _ = c.handle_datagram(t, from, &b);
                        }
                    }
                } else {
                    let _ = c.handle_datagram(t, from, body);
                }
            }
            4 => {
                let b = [
                    rest.first().copied().unwrap_or(0),
                    rest.get(1).copied().unwrap_or(0),
                ];
                rest = rest.get(2..).unwrap_or(&[]);
                t += step_from(b);
            }
            _ => {
                if let Some(d) = c.poll_timeout() {
                    t = t.max(d);
                    c.handle_timeout(t);
                    if let Some(n) = c.poll_timeout() {
                        assert!(n > t, "deadline in the past after handle_timeout");
                    }
                }
            }
        }
        while let Some(tx) = c.poll_transmit(t) {
            let s = servers
                .iter()
                .position(|v| v.address == tx.destination.ip())
                .expect("a configured server");
            sent.push((s, tx.destination.port() == 1813, tx.payload));
            if sent.len() > 64 {
                sent.remove(0);
            }
        }
        while c.poll_event().is_some() {}
        assert!(c.outstanding() <= 8);
    }
});
