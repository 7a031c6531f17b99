//! Traffic selector arithmetic (RFC 7296 2.9): intersection for narrowing, subset checks, and
//! conversion from RouterOS policy prefixes.

use std::net::IpAddr;

use crate::config::IpPrefix;
use crate::wire::{TrafficSelector, TsType};

/// A selector for a prefix, protocol and optional port.
pub fn from_prefix(p: &IpPrefix, protocol: u8, port: Option<u16>) -> TrafficSelector {
    let mut t = TrafficSelector::range(p.first(), p.last());
    if p.len == 0 && p.addr.is_ipv6() {
        // `::/0` in a RouterOS template stands for every address; IKE selectors are per
        // family, so the IPv4 "all" range is what is offered/narrowed on an IPv4 SA.
        t = TrafficSelector::range(IpAddr::from([0u8; 4]), IpAddr::from([255u8; 4]));
    }
    t.ip_proto = protocol;
    if let Some(port) = port {
        t.start_port = port;
        t.end_port = port;
    }
    t
}

fn known(t: &TrafficSelector) -> bool {
    matches!(t.ts_type, TsType::IPV4_ADDR_RANGE | TsType::IPV6_ADDR_RANGE)
}

/// Intersection of two selectors, if not empty.
pub fn intersect(a: &TrafficSelector, b: &TrafficSelector) -> Option<TrafficSelector> {
    if !known(a) || !known(b) || a.ts_type != b.ts_type {
        return None;
    }
    let proto = match (a.ip_proto, b.ip_proto) {
        (0, p) | (p, 0) => p,
        (x, y) if x == y => x,
        _ => return None,
    };
    let sp = a.start_port.max(b.start_port);
    let ep = a.end_port.min(b.end_port);
    let s = a.start.max(b.start);
    let e = a.end.min(b.end);
    if sp > ep || s > e {
        return None;
    }
    Some(TrafficSelector {
        ts_type: a.ts_type,
        ip_proto: proto,
        start_port: sp,
        end_port: ep,
        start: s,
        end: e,
        raw: Vec::new(),
    })
}

/// Narrow the peer's selectors `req` to what `allowed` permits (every non-empty pairwise
/// intersection, in the peer's order). Empty result = TS_UNACCEPTABLE.
pub fn narrow(req: &[TrafficSelector], allowed: &[TrafficSelector]) -> Vec<TrafficSelector> {
    let mut out = Vec::new();
    for r in req {
        for a in allowed {
            if let Some(x) = intersect(r, a) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
    }
    out
}

/// Whether `inner` lies within one of `outer`.
pub fn is_subset(inner: &TrafficSelector, outer: &[TrafficSelector]) -> bool {
    outer
        .iter()
        .any(|o| intersect(inner, o).as_ref() == Some(inner))
}

/// Whether an address (and protocol/port) is covered by a selector list.
pub fn covers(ts: &[TrafficSelector], addr: IpAddr, proto: u8, port: u16) -> bool {
    ts.iter().any(|t| {
        known(t)
            && t.start.is_ipv4() == addr.is_ipv4()
            && t.start <= addr
            && addr <= t.end
            && (t.ip_proto == 0 || t.ip_proto == proto)
            && (port == 0 || (t.start_port <= port && port <= t.end_port))
    })
}

/// Text form: `10.0.0.0/24` when the range is a prefix, else `a-b`; `[proto/port]` when set.
pub fn display(t: &TrafficSelector) -> String {
    let base = match IpPrefix::from_range(t.start, t.end) {
        Some(p) => p.to_string(),
        None => format!("{}-{}", t.start, t.end),
    };
    if t.ip_proto == 0 && t.start_port == 0 && t.end_port == 0xffff {
        base
    } else if t.start_port == t.end_port {
        format!("{base}[{}/{}]", t.ip_proto, t.start_port)
    } else {
        format!("{base}[{}]", t.ip_proto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(p: &str) -> TrafficSelector {
        from_prefix(&p.parse().unwrap(), 0, None)
    }

    #[test]
    fn narrowing() {
        let req = vec![ts("0.0.0.0/0")];
        let allowed = vec![ts("10.1.0.0/16"), ts("10.9.0.0/24")];
        let n = narrow(&req, &allowed);
        assert_eq!(n, allowed);
        assert!(narrow(&[ts("192.168.0.0/16")], &allowed).is_empty());
        let mut tcp = ts("10.1.2.0/24");
        tcp.ip_proto = 6;
        tcp.start_port = 80;
        tcp.end_port = 80;
        let n = narrow(&[tcp.clone()], &allowed);
        assert_eq!(n, vec![tcp.clone()]);
        assert!(is_subset(&tcp, &allowed));
        assert!(!is_subset(&ts("10.0.0.0/8"), &allowed));
        assert!(covers(&allowed, "10.9.0.7".parse().unwrap(), 1, 0));
        assert_eq!(display(&tcp), "10.1.2.0/24[6/80]");
        assert_eq!(display(&ts("::/0")), "0.0.0.0/0");
    }
}
