//! Events, drop reasons and what became of an input.

use std::net::SocketAddr;
use std::time::Duration;

use crate::address::Address;
use crate::node::LocalSocket;
use crate::wire::Verb;

/// Why an input (or a piece of it) was dropped. Every drop is counted in
/// [`Stats::drops`](crate::Stats); none leaves state behind beyond the documented bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[non_exhaustive]
pub enum DropReason {
    /// Shorter than a packet or fragment header, or a bad header.
    Truncated,
    /// Larger than the largest packet (7 x 1432 bytes).
    Oversized,
    /// A packet with our own address as source.
    FromSelf,
    /// Fragment numbering out of range (total > 7, number 0 or >= total).
    BadFragment,
    /// A fragment or head already received for that packet.
    DuplicateFragment,
    /// Reassembled packet longer than the limit.
    ReassemblyTooLong,
    /// A partial packet evicted because the reassembly table was full.
    ReassemblyEvicted,
    /// A partial packet timed out (5 s) before all fragments arrived.
    ReassemblyTimeout,
    /// MAC / GMAC-SIV tag did not verify.
    BadMac,
    /// Cipher suite 2 (trusted path) or unassigned.
    UnsupportedCipher,
    /// Packet ID already received from that peer recently.
    Replay,
    /// OK or ERROR that answers nothing we sent.
    UnexpectedReply,
    /// LZ4 payload did not decompress.
    BadCompression,
    /// Verb payload did not decode.
    BadPayload,
    /// HELLO with a protocol version below 4.
    BadProtocolVersion,
    /// An identity failed the memory-hard-hash check (or its address is not its source).
    InvalidIdentity,
    /// HELLO for a known address with a different identity.
    IdentityCollision,
    /// Too many new identities to validate this second.
    ValidationRateLimited,
    /// Source unknown and its WHOIS table or queue is full.
    WhoisQueueFull,
    /// Source unknown and no root answered the WHOIS within 5 s.
    WhoisTimeout,
    /// Addressed to another node and we do not relay (leaf).
    NotForUs,
    /// Relay refused: hop count reached 3.
    HopLimit,
    /// Relay or send impossible: destination unknown or without a path, no upstream.
    NoRoute,
    /// RENDEZVOUS or world update not from a root.
    NotFromRoot,
    /// A world update whose signature does not verify (forged world).
    BadWorldSignature,
    /// A network config chunk or config ERROR not from the network's controller, for a
    /// network not joined, or failing the member's checks (signature, network, issued-to).
    BadNetworkConfig,
    /// A frame for a network we have not joined or whose status is not OK.
    NotMember,
    /// A frame on a private network from a member without a COM that agrees with ours
    /// (never pushed, or expired: issued longer than the credential time max delta apart).
    NoCredential,
    /// A frame whose source MAC is not the sender's derived MAC (bridging is not supported).
    BadSourceMac,
    /// NETWORK_CREDENTIALS without a COM signed by the controller of a joined network for
    /// the sender.
    BadCredential,
    /// A verb VL1 does not handle and nothing above consumes (counted only).
    UnhandledVerb,
}

/// Number of [`DropReason`] variants.
pub const DROP_REASONS: usize = DropReason::UnhandledVerb as usize + 1;

/// What became of a datagram given to [`Node::handle_datagram`](crate::Node::handle_datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// Authenticated and processed (replies, events may follow).
    Delivered,
    /// A fragment or head stored until the packet is complete.
    Buffered,
    /// Held until the source's identity arrives by WHOIS.
    Queued,
    /// Forwarded to another node (root role), hop count incremented.
    Relayed,
    /// Dropped.
    Dropped(DropReason),
}

/// How a peer entered the peer table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerSource {
    /// A root listed in the planet.
    Planet,
    /// Its HELLO (identity validated).
    Hello,
    /// OK(WHOIS) from a root.
    Whois,
}

/// Something the caller may want to know. The event stream is the log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A peer was added.
    PeerAdded {
        /// Peer.
        peer: Address,
        /// How.
        source: PeerSource,
    },
    /// A peer was forgotten (expired or replaced when the table was full).
    PeerRemoved {
        /// Peer.
        peer: Address,
    },
    /// A HELLO from the peer was accepted (first one, or a version change).
    PeerHello {
        /// Peer.
        peer: Address,
        /// Its protocol version.
        protocol_version: u8,
        /// Its software version.
        version: (u8, u8, u16),
    },
    /// OK(HELLO) arrived: round trip measured.
    HelloAcknowledged {
        /// Peer.
        peer: Address,
        /// Round trip.
        latency: Duration,
        /// Our address as the peer saw it.
        external: Option<SocketAddr>,
    },
    /// A direct path to a peer was confirmed (an OK arrived on it).
    PathConfirmed {
        /// Peer.
        peer: Address,
        /// Our socket.
        local: LocalSocket,
        /// Their address.
        remote: SocketAddr,
    },
    /// A path expired (nothing received on it for 243 s).
    PathExpired {
        /// Peer.
        peer: Address,
        /// Their address.
        remote: SocketAddr,
    },
    /// A root answered: the node is online.
    Online,
    /// No root answered for a whole path lifetime: offline.
    Offline,
    /// WHOIS answered.
    WhoisResolved {
        /// The address looked up.
        peer: Address,
    },
    /// WHOIS gave up after 5 s.
    WhoisFailed {
        /// The address looked up.
        peer: Address,
    },
    /// A root told us where a peer is; we sent it a HELLO (or ECHO) there.
    Rendezvous {
        /// Peer.
        peer: Address,
        /// Where.
        at: SocketAddr,
    },
    /// We (as root) introduced two peers to each other.
    Introduced {
        /// One side.
        a: Address,
        /// The other.
        b: Address,
    },
    /// Reply to [`Node::send_echo`](crate::Node::send_echo).
    EchoReply {
        /// Peer.
        peer: Address,
        /// Packet ID of our ECHO.
        packet_id: u64,
        /// Round trip.
        rtt: Duration,
        /// Hops the reply travelled (0 = direct path, 1 = relayed by a root).
        hops: u8,
        /// Echoed payload.
        payload: Vec<u8>,
    },
    /// An ECHO from a peer was answered.
    EchoAnswered {
        /// Peer.
        peer: Address,
        /// Our socket it arrived on (the reply leaves from it).
        local: LocalSocket,
        /// Where it came from.
        from: SocketAddr,
    },
    /// A verb the node does not consume itself, for the embedder: OK and ERROR replies to
    /// packets sent with [`Node::send`](crate::Node::send), NETWORK_CONFIG_REQUEST when no
    /// controller is hosted, NETWORK_CONFIG / config ERRORs for networks not joined, unknown
    /// verbs. Authenticated, decrypted, decompressed. (FRAME, EXT_FRAME, MULTICAST_* and
    /// NETWORK_CREDENTIALS are handled by the node's VL2 and surface as [`Event::Frame`] or
    /// drops.)
    Received {
        /// Sender.
        peer: Address,
        /// Verb.
        verb: Verb,
        /// Packet ID.
        packet_id: u64,
        /// Hops it travelled.
        hops: u8,
        /// Payload after the verb byte.
        payload: Vec<u8>,
    },
    /// A joined network's status changed (config arrived, or the controller refused).
    NetworkStatus {
        /// Network.
        network: crate::address::NetworkId,
        /// New status.
        status: crate::vl2::NetworkStatus,
    },
    /// A new config for a joined network is in force: what the port (TAP) should apply.
    NetworkConfigured {
        /// Network.
        network: crate::address::NetworkId,
        /// Our MAC on it (derived from our address and the network ID).
        mac: [u8; 6],
        /// MTU of the virtual Ethernet.
        mtu: u64,
        /// Managed addresses (IPv4 from the controller's range, computed IPv6).
        addresses: Vec<crate::vl2::IpPrefix>,
        /// Routes to install.
        routes: Vec<crate::vl2::Route>,
        /// Config revision.
        revision: u64,
    },
    /// An Ethernet frame from a member of a joined network (FRAME, EXT_FRAME or
    /// MULTICAST_FRAME), accepted: network OK, sender's COM agrees (private network).
    Frame {
        /// Network.
        network: crate::address::NetworkId,
        /// Sending member.
        peer: Address,
        /// Source MAC.
        src_mac: [u8; 6],
        /// Destination MAC (ours, or a multicast/broadcast group).
        dst_mac: [u8; 6],
        /// Ethertype.
        ethertype: u16,
        /// Ethernet payload.
        payload: Vec<u8>,
    },
    /// Our hosted controller sent a config to a member.
    ConfigIssued {
        /// Network.
        network: crate::address::NetworkId,
        /// Member.
        member: Address,
    },
    /// Our hosted controller refused a member (ERROR sent).
    ConfigRefused {
        /// Network.
        network: crate::address::NetworkId,
        /// Member.
        member: Address,
        /// Error code sent.
        code: crate::wire::verbs::ErrorCode,
    },
    /// The planet was replaced by a newer, properly signed one.
    PlanetUpdated {
        /// New timestamp.
        timestamp: u64,
    },
}
