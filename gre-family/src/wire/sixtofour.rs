//! The 6to4 address mapping (RFC 3056 section 2): the IPv4 address `V4ADDR` of a 6to4 site
//! owns the IPv6 prefix `2002:V4ADDR::/48`.
//!
//! ```text
//!  | 16 bits |   32 bits    |  16 bits  |  64 bits     |
//!  +---------+--------------+-----------+--------------+
//!  | 0x2002  |    V4ADDR    |  SLA ID   | interface ID |
//!  +---------+--------------+-----------+--------------+
//! ```
//!
//! RouterOS (seed L537): with no remote-address a 6to4 interface sends a packet whose IPv6
//! destination starts with 2002 to the IPv4 address in bits 16..47 of that destination.
//!
//! ```
//! use gre_family::wire::sixtofour::{ipv4_of, prefix_of};
//! use std::net::{Ipv4Addr, Ipv6Addr};
//! // RouterOS manual: 10.0.1.1 <-> 2002:a00:101::
//! assert_eq!(prefix_of(Ipv4Addr::new(10, 0, 1, 1)), "2002:a00:101::".parse::<Ipv6Addr>().unwrap());
//! assert_eq!(ipv4_of(&"2002:a00:201::1".parse().unwrap()), Some(Ipv4Addr::new(10, 0, 2, 1)));
//! assert_eq!(ipv4_of(&"2001:db8::1".parse().unwrap()), None);
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

/// The first 16 bits of every 6to4 address.
pub const PREFIX_6TO4: u16 = 0x2002;

/// Whether `a` lies in 2002::/16.
pub fn is_6to4(a: &Ipv6Addr) -> bool {
    a.segments()[0] == PREFIX_6TO4
}

/// The IPv4 address embedded in a 2002::/16 address (bits 16..47), or `None` outside 2002::/16.
pub fn ipv4_of(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    if !is_6to4(a) {
        return None;
    }
    let o = a.octets();
    Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
}

/// The 6to4 prefix `2002:V4ADDR::` (the /48 network address) of an IPv4 address.
pub fn prefix_of(v4: Ipv4Addr) -> Ipv6Addr {
    let o = v4.octets();
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x02;
    a[2..6].copy_from_slice(&o);
    Ipv6Addr::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_vectors() {
        for (v4, v6) in [
            (Ipv4Addr::new(10, 0, 1, 1), "2002:a00:101::"),
            (Ipv4Addr::new(10, 0, 2, 1), "2002:a00:201::"),
            (Ipv4Addr::new(194, 105, 56, 170), "2002:c269:38aa::"),
        ] {
            let v6: Ipv6Addr = v6.parse().unwrap();
            assert_eq!(prefix_of(v4), v6);
            assert_eq!(ipv4_of(&v6), Some(v4));
        }
    }
}
