//! The crate's error types.
//!
//! [`WireError`] is what a decoder or encoder reports (it is `Copy`, so a drop reason can carry
//! it); [`enum@Error`] is what the public API returns (wire errors, caller-buffer problems, invalid
//! configuration with the RouterOS property named).

use thiserror::Error;

/// A codec error: what was wrong, where, expected versus found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the header (or a length field) requires.
    #[error("{what}: truncated, need {need} bytes, got {got}")]
    Truncated {
        /// Which header.
        what: &'static str,
        /// Bytes required.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// A version field holds an unsupported value.
    #[error("{what}: version {found}, expected {expected}")]
    BadVersion {
        /// Which header.
        what: &'static str,
        /// Expected version.
        expected: u8,
        /// Version found.
        found: u8,
    },
    /// RFC 1701 legacy bits (Routing present, strict source route, recursion control) are set.
    /// RFC 2784 receivers discard such packets; this crate parses and rejects them.
    #[error(
        "GRE: RFC 1701 legacy field set (R={routing}, s={strict_source_route}, recur={recursion}); \
         source routing and recursion control are not supported (RFC 2784 section 2.3)"
    )]
    Rfc1701 {
        /// The R (routing present) bit.
        routing: bool,
        /// The s (strict source route) bit.
        strict_source_route: bool,
        /// The 3-bit recursion control.
        recursion: u8,
    },
    /// Flag bits that must be zero (or must be one) for this header type have another value.
    #[error("{what}: unexpected flag bits at offset {offset}: 0x{found:02x} (expected 0x{expected:02x} under mask 0x{mask:02x})")]
    BadFlags {
        /// Which header.
        what: &'static str,
        /// Byte offset of the flags.
        offset: usize,
        /// The byte found.
        found: u8,
        /// Mask of the checked bits.
        mask: u8,
        /// Expected value under the mask.
        expected: u8,
    },
    /// The protocol type / next-header field has a value this header cannot carry.
    #[error("{what}: protocol 0x{found:04x}, expected 0x{expected:04x}")]
    BadProtocol {
        /// Which header.
        what: &'static str,
        /// Expected value.
        expected: u16,
        /// Value found.
        found: u16,
    },
    /// A checksum did not verify.
    #[error("{what}: checksum mismatch (field 0x{found:04x}, computed 0x{computed:04x})")]
    Checksum {
        /// Which header.
        what: &'static str,
        /// The value in the packet.
        found: u16,
        /// The value computed over the packet.
        computed: u16,
    },
    /// A length field disagrees with the bytes present or with the header.
    #[error("{what}: {field} = {value} is invalid for a {available}-byte packet")]
    BadLength {
        /// Which header.
        what: &'static str,
        /// Which field.
        field: &'static str,
        /// The field's value.
        value: usize,
        /// Bytes available.
        available: usize,
    },
    /// A value cannot be represented in this header (e.g. an EoIPv6 tunnel id above 4095).
    #[error("{what}: {field} = {value} does not fit (maximum {max})")]
    OutOfRange {
        /// Which header.
        what: &'static str,
        /// Which field.
        field: &'static str,
        /// The value.
        value: u32,
        /// Largest allowed value.
        max: u32,
    },
}

/// The crate's error type.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A codec error.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The caller's buffer is too small; nothing was written.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The packet handed to `encapsulate` is larger than the tunnel MTU.
    #[error("packet of {len} bytes exceeds the tunnel mtu {mtu}")]
    TooBig {
        /// Inner packet length.
        len: usize,
        /// Tunnel MTU (for Ethernet tunnels: the largest frame without FCS).
        mtu: usize,
    },
    /// The packet handed to `encapsulate` is not something this tunnel type carries.
    #[error("{tunnel} cannot carry this packet: {why}")]
    Unsupported {
        /// Tunnel type.
        tunnel: &'static str,
        /// Why.
        why: &'static str,
    },
    /// 6to4 without remote-address: the IPv6 destination is outside 2002::/16, so there is no
    /// IPv4 address to send to (RFC 3056 section 5).
    #[error("6to4: destination {0} is outside 2002::/16 and no remote-address is configured")]
    No6to4Route(std::net::Ipv6Addr),
    /// local-address is 0.0.0.0 / :: and the caller has not resolved it yet
    /// (see `Tunnel::set_local_address`).
    #[error("local-address is unspecified: set it to the outgoing interface address first")]
    LocalAddressUnset,
    /// An invalid configuration value; `field` is the RouterOS property name.
    #[error("invalid {field}: {reason}")]
    Config {
        /// RouterOS property name, e.g. `tunnel-id`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            field,
            reason: reason.into(),
        }
    }
}
