//! 40-bit ZeroTier node addresses (printed as 10 hex digits).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

/// Length of an address on the wire.
pub const ADDRESS_LEN: usize = 5;

/// A ZeroTier node address: the low 40 bits of a `u64`, derived from the identity's public key
/// (see [`Identity`](crate::Identity)). `0` and addresses whose first byte is `0xff`
/// (`ZT_ADDRESS_RESERVED_PREFIX`, also the fragment indicator) are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(u64);

impl Address {
    /// From an integer (bits above 40 are dropped).
    pub const fn new(v: u64) -> Self {
        Address(v & 0xff_ffff_ffff)
    }
    /// The integer value.
    pub const fn to_u64(self) -> u64 {
        self.0
    }
    /// From 5 big-endian bytes.
    pub fn from_bytes(b: &[u8; ADDRESS_LEN]) -> Self {
        Address(
            (u64::from(b[0]) << 32)
                | (u64::from(b[1]) << 24)
                | (u64::from(b[2]) << 16)
                | (u64::from(b[3]) << 8)
                | u64::from(b[4]),
        )
    }
    /// From the first 5 bytes of a slice (`None` when shorter).
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let a: &[u8; ADDRESS_LEN] = b.get(..ADDRESS_LEN)?.try_into().ok()?;
        Some(Self::from_bytes(a))
    }
    /// 5 big-endian bytes.
    pub fn to_bytes(self) -> [u8; ADDRESS_LEN] {
        let v = self.0.to_be_bytes();
        [v[3], v[4], v[5], v[6], v[7]]
    }
    /// Reserved: zero, or first byte 0xff.
    pub fn is_reserved(self) -> bool {
        self.0 == 0 || (self.0 >> 32) == 0xff
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:010x}", self.0)
    }
}

impl FromStr for Address {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s.len() != 10 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(ParseError::new("address", "expected 10 hex digits"));
        }
        u64::from_str_radix(s, 16)
            .map(Address::new)
            .map_err(|_| ParseError::new("address", "expected 10 hex digits"))
    }
}

/// A 64-bit VL2 network ID (16 hex digits); its top 40 bits are the controller's address.
/// VL1 only carries it inside verbs (FRAME, NETWORK_CONFIG_REQUEST, ...); networks are issue #20.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NetworkId(pub u64);

impl NetworkId {
    /// The controller of this network (`nwid >> 24`).
    pub fn controller(self) -> Address {
        Address::new(self.0 >> 24)
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for NetworkId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s.len() != 16 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(ParseError::new("network", "expected 16 hex digits"));
        }
        u64::from_str_radix(s, 16)
            .map(NetworkId)
            .map_err(|_| ParseError::new("network", "expected 16 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a: Address = "74beb2463d".parse().unwrap();
        assert_eq!(a.to_bytes(), [0x74, 0xbe, 0xb2, 0x46, 0x3d]);
        assert_eq!(Address::from_bytes(&a.to_bytes()), a);
        assert_eq!(a.to_string(), "74beb2463d");
        assert!(!a.is_reserved());
        assert!(Address::new(0).is_reserved());
        assert!(Address::new(0xff_0000_0001).is_reserved());
        assert!("74beb2463".parse::<Address>().is_err());
        let n: NetworkId = "74beb2463d000097".parse().unwrap();
        assert_eq!(n.controller(), a);
        assert_eq!(n.to_string(), "74beb2463d000097");
    }
}
