//! What a [`Tunnel`](crate::Tunnel) reports: running-flag events, drop reasons, counters.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::WireError;

/// Running-flag changes (RouterOS `R` flag of the interface).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A keepalive from the peer arrived while the tunnel was not running: running flag set.
    Up,
    /// The running flag was removed.
    Down {
        /// Why.
        reason: DownReason,
    },
    /// The interface MTU changed: an ICMP error from the underlay lowered the path MTU, or a
    /// learnt path MTU expired and the configured MTU is back ([`crate::Tunnel::handle_icmp`]).
    /// Apply it to the tunnel interface.
    MtuChanged {
        /// The new interface MTU (largest inner packet).
        mtu: usize,
    },
}

/// Why a tunnel went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// No keepalive from the peer for `interval * retries`.
    KeepaliveTimeout {
        /// `interval * retries`.
        silent_for: Duration,
    },
}

/// Why `decapsulate` dropped a packet (each is also counted in [`Stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// A header did not parse (truncated, bad version, RFC 1701 bits, bad checksum, ...).
    Malformed(WireError),
    /// The outer IP protocol is not this tunnel's.
    WrongProtocol {
        /// This tunnel's protocol.
        expected: u8,
        /// The packet's.
        found: u8,
    },
    /// Outer source is not the remote-address, or destination is not the local-address.
    NotForThisTunnel {
        /// Outer source.
        src: IpAddr,
        /// Outer destination.
        dst: IpAddr,
    },
    /// The outer packet is an IPv4 fragment (reassembly is the host's job).
    Fragment,
    /// GRE key differs from the configured one (RFC 2890 section 2.1).
    KeyMismatch {
        /// Configured key.
        expected: Option<u32>,
        /// Key in the packet.
        found: Option<u32>,
    },
    /// EoIP tunnel-id differs from the configured one (seed L683).
    TunnelIdMismatch {
        /// Configured tunnel-id.
        expected: u16,
        /// The packet's.
        found: u16,
    },
    /// GRE protocol type this tunnel does not forward (GRE: only 0x0800 and 0x86DD, seed L767).
    UnsupportedPayload {
        /// The protocol type.
        protocol: u16,
    },
    /// GRE sequence number not after the last one received (RFC 2890 section 2.2).
    OutOfSequence {
        /// Last sequence number accepted.
        last: u32,
        /// The packet's.
        found: u32,
    },
    /// The inner packet's IP version is not what this tunnel carries (IPIP: 4, 6to4: 6).
    InnerVersion {
        /// Version nibble found.
        found: u8,
    },
    /// 6to4: the inner 2002::/16 source does not embed the outer IPv4 source (RFC 3964).
    SpoofedSource,
}

/// Counters (RouterOS interface statistics plus per-reason drops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets encapsulated.
    pub tx_packets: u64,
    /// Inner bytes encapsulated.
    pub tx_bytes: u64,
    /// Packets decapsulated and delivered.
    pub rx_packets: u64,
    /// Inner bytes delivered.
    pub rx_bytes: u64,
    /// Keepalives sent.
    pub tx_keepalives: u64,
    /// Keepalives (replies) received.
    pub rx_keepalives: u64,
    /// Peer keepalives reflected back (Cisco-style GRE / IPIP trick).
    pub reflected: u64,
    /// SYNs whose MSS was clamped.
    pub mss_clamped: u64,
    /// Drops: malformed.
    pub drop_malformed: u64,
    /// Drops: wrong protocol, addresses, fragment.
    pub drop_not_for_us: u64,
    /// Drops: key or tunnel-id mismatch.
    pub drop_id_mismatch: u64,
    /// Drops: unsupported payload or inner version.
    pub drop_payload: u64,
    /// Drops: out of sequence.
    pub drop_sequence: u64,
    /// Drops: spoofed 6to4 source.
    pub drop_spoofed: u64,
    /// ICMP errors about this tunnel's packets received from the underlay.
    pub icmp_errors: u64,
    /// ICMP errors relayed to an inner sender.
    pub icmp_relayed: u64,
    /// "Fragmentation needed" / "packet too big" sent for inner packets above the MTU.
    pub icmp_too_big_sent: u64,
    /// Path MTU reductions learnt from ICMP.
    pub pmtu_updates: u64,
}

impl Stats {
    /// Total drops.
    pub fn drops(&self) -> u64 {
        self.drop_malformed
            + self.drop_not_for_us
            + self.drop_id_mismatch
            + self.drop_payload
            + self.drop_sequence
            + self.drop_spoofed
    }

    pub(crate) fn count_drop(&mut self, r: &DropReason) {
        let c = match r {
            DropReason::Malformed(_) => &mut self.drop_malformed,
            DropReason::WrongProtocol { .. }
            | DropReason::NotForThisTunnel { .. }
            | DropReason::Fragment => &mut self.drop_not_for_us,
            DropReason::KeyMismatch { .. } | DropReason::TunnelIdMismatch { .. } => {
                &mut self.drop_id_mismatch
            }
            DropReason::UnsupportedPayload { .. } | DropReason::InnerVersion { .. } => {
                &mut self.drop_payload
            }
            DropReason::OutOfSequence { .. } => &mut self.drop_sequence,
            DropReason::SpoofedSource => &mut self.drop_spoofed,
        };
        *c += 1;
    }
}
