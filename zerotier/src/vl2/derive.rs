//! Addresses a member derives from its ZeroTier address and the network ID.
//!
//! ```text
//! MAC      first octet  (nwid & 0xfe) | 0x02   (locally administered, unicast; 0x52 -> 0x32)
//!          octets 1..5  node address XOR (nwid>>8, nwid>>16, nwid>>24, nwid>>32, nwid>>40) bytes
//! rfc4193  fd | nwid (8 bytes) | 99 93 | node address (5)                   /88 network, /128 each
//! 6plane   fc | low 32 bits of (nwid ^ nwid>>32) | node address (5) | 0 0 0 0 0 1   /40 network,
//!          each member owns the /80 ending in its address
//! ```
//! The MAC is reversible with the network ID ([`mac_to_address`]), which is how a member maps an
//! Ethernet destination back to the ZeroTier node to send the frame to.

use std::net::Ipv6Addr;

use crate::{Address, NetworkId};

/// The first MAC octet of a network.
pub fn mac_first_octet(nwid: NetworkId) -> u8 {
    let a = ((nwid.0 as u8) & 0xfe) | 0x02;
    if a == 0x52 {
        0x32
    } else {
        a
    }
}

fn xor_mask(nwid: NetworkId) -> [u8; 5] {
    let n = nwid.0;
    [
        (n >> 8) as u8,
        (n >> 16) as u8,
        (n >> 24) as u8,
        (n >> 32) as u8,
        (n >> 40) as u8,
    ]
}

/// The Ethernet MAC of `addr` on `nwid`.
pub fn mac_for(addr: Address, nwid: NetworkId) -> [u8; 6] {
    let a = addr.to_bytes();
    let m = xor_mask(nwid);
    let mut mac = [mac_first_octet(nwid), 0, 0, 0, 0, 0];
    for i in 0..5 {
        mac[i + 1] = a[i] ^ m[i];
    }
    mac
}

/// The node address behind a MAC on `nwid` (`None` when the first octet is not this network's).
pub fn mac_to_address(mac: [u8; 6], nwid: NetworkId) -> Option<Address> {
    if mac[0] != mac_first_octet(nwid) {
        return None;
    }
    let m = xor_mask(nwid);
    let mut a = [0u8; 5];
    for i in 0..5 {
        a[i] = mac[i + 1] ^ m[i];
    }
    Some(Address::from_bytes(&a))
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_to_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The member's rfc4193 address (prefix length 88 for the network).
pub fn rfc4193(addr: Address, nwid: NetworkId) -> Ipv6Addr {
    let mut b = [0u8; 16];
    b[0] = 0xfd;
    b[1..9].copy_from_slice(&nwid.0.to_be_bytes());
    b[9] = 0x99;
    b[10] = 0x93;
    b[11..16].copy_from_slice(&addr.to_bytes());
    Ipv6Addr::from(b)
}

/// The member's 6plane address (the network is a /40, each member a /80).
pub fn sixplane(addr: Address, nwid: NetworkId) -> Ipv6Addr {
    let mut b = [0u8; 16];
    b[0] = 0xfc;
    let h = (nwid.0 ^ (nwid.0 >> 32)) as u32;
    b[1..5].copy_from_slice(&h.to_be_bytes());
    b[5..10].copy_from_slice(&addr.to_bytes());
    b[15] = 1;
    Ipv6Addr::from(b)
}
