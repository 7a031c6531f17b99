//! Events a [`crate::Session`] reports, and the RouterOS monitor status strings.

use crate::config::AuthMethod;
use crate::mschap::MsChapKeys;
use std::net::Ipv4Addr;
use std::time::Duration;

/// RFC 1661 s3 link phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No link.
    Dead,
    /// LCP negotiating.
    Establish,
    /// Authentication running.
    Authenticate,
    /// NCPs negotiating or open.
    Network,
    /// LCP terminating.
    Terminate,
}

/// RouterOS `monitor` status values (S0 L599-604, S4 L103-106).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `disconnected`.
    Disconnected,
    /// `dialing`: LCP is negotiating.
    Dialing,
    /// `verifying password...`: authentication phase.
    VerifyingPassword,
    /// `connected`: at least one network protocol is up.
    Connected,
    /// `terminated`: the session ended.
    Terminated,
}

impl Status {
    /// The exact RouterOS string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Disconnected => "disconnected",
            Status::Dialing => "dialing",
            Status::VerifyingPassword => "verifying password...",
            Status::Connected => "connected",
            Status::Terminated => "terminated",
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminateReason {
    /// [`crate::Session::close`] was called.
    AdminClose(String),
    /// The peer sent an LCP Terminate-Request (its data as text).
    PeerRequest(String),
    /// Keepalive: the peer went silent.
    KeepaliveTimeout,
    /// Authentication failed (message).
    AuthFailed(String),
    /// The authentication methods of the two sides do not overlap.
    NoCommonAuth,
    /// The peer did not authenticate in time.
    AuthTimeout,
    /// A control protocol gave up (Max-Configure reached, or rejected): its protocol number.
    NegotiationFailed(u16),
    /// No network protocol could be opened.
    NoNetworkProtocol,
    /// The lower layer (transport) went down.
    LowerLayerDown,
    /// LCP Magic-Numbers show the link is looped back.
    LoopbackDetected,
    /// The session-timeout of the user's profile elapsed.
    SessionTimeout,
    /// The idle-timeout elapsed with no data traffic.
    IdleTimeout,
    /// The MS-CHAPv2 authenticator response was missing or wrong (RFC 2759 s5).
    BadAuthenticatorResponse,
    /// `use-encryption=required` and MPPE could not be had; the text says why (the login
    /// gave no MS-CHAP keys, the peer rejected CCP or MPPE, or CCP failed). Nothing was sent
    /// in clear.
    EncryptionRequired(String),
}

/// What the peer presented as proof of identity, for an external verifier (RADIUS etc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthProof {
    /// PAP: the clear-text password.
    Pap {
        /// Password octets.
        password: Vec<u8>,
    },
    /// CHAP-MD5 (also EAP-MD5): identifier, challenge and 16-octet response.
    Chap {
        /// CHAP identifier.
        id: u8,
        /// Challenge we sent.
        challenge: Vec<u8>,
        /// Peer's response.
        response: Vec<u8>,
    },
    /// MS-CHAPv1: 8-octet challenge and 24-octet NT response.
    MsChap1 {
        /// Challenge we sent.
        challenge: [u8; 8],
        /// NT-Response.
        nt_response: [u8; 24],
    },
    /// MS-CHAPv2: authenticator and peer challenges and the NT response.
    MsChap2 {
        /// Authenticator challenge we sent (16).
        auth_challenge: [u8; 16],
        /// Peer challenge (16).
        peer_challenge: [u8; 16],
        /// NT-Response (24).
        nt_response: [u8; 24],
    },
}

/// A pending verification the application must answer with [`crate::Session::auth_verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Identifies the request in the verdict.
    pub id: u64,
    /// The user name the peer gave.
    pub user: String,
    /// The method in use.
    pub method: AuthMethod,
    /// The proof to verify.
    pub proof: AuthProof,
}

/// Addresses negotiated by IPCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Info {
    /// This side's address.
    pub local: Ipv4Addr,
    /// The peer's address.
    pub remote: Ipv4Addr,
    /// DNS servers (RFC 1877; client: what the server gave; server: what it offered).
    pub dns: Vec<Ipv4Addr>,
    /// NBNS (WINS) servers (RFC 1877 options 130/132; client: what the server gave when
    /// [`Config::request_nbns`](crate::Config::request_nbns) is set; server: what it offered
    /// from `wins-server`).
    pub nbns: Vec<Ipv4Addr>,
}

/// Something the application should know or act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The link phase changed.
    Phase(Phase),
    /// The monitor status changed.
    Status(Status),
    /// LCP is open.
    LinkUp {
        /// Our MRU as the peer acknowledged it.
        mru: u16,
        /// Our MTU: min(peer MRU, max-mtu).
        mtu: u16,
        /// The authentication method negotiated (`None`: no authentication).
        auth: Option<AuthMethod>,
    },
    /// A server needs a verdict for these credentials (no store, or the store deferred).
    AuthRequested(AuthRequest),
    /// Authentication succeeded (server: the peer proved itself; client: we were accepted).
    AuthSucceeded {
        /// The user name.
        user: String,
        /// The method.
        method: AuthMethod,
        /// MS-CHAP key material for MPPE / SSTP crypto binding, when available.
        keys: Option<Box<MsChapKeys>>,
    },
    /// An authentication attempt failed.
    AuthFailed {
        /// The user name.
        user: String,
        /// The method.
        method: AuthMethod,
        /// Message (the peer's, or the verdict's).
        message: String,
        /// Another attempt will follow (MS-CHAP `R=1`).
        retrying: bool,
    },
    /// IPCP is open.
    NetworkUp(Ipv4Info),
    /// IPv6CP is open: start DHCPv6 / DHCPv6-PD now.
    Ipv6Up {
        /// Our interface identifier.
        local_interface_id: [u8; 8],
        /// The peer's interface identifier.
        remote_interface_id: [u8; 8],
    },
    /// A network protocol went down (protocol number of its NCP).
    NetworkDown {
        /// 0x8021 IPCP, 0x8057 IPv6CP.
        protocol: u16,
    },
    /// An LCP Echo-Request went unanswered ("LCP missed echo reply"); `missed` counts them.
    KeepaliveMissed {
        /// Consecutive unanswered echoes.
        missed: u32,
    },
    /// CCP opened with MPPE in both directions: datagrams are encrypted from now on.
    EncryptionUp {
        /// The RouterOS `encoding` string, e.g. `MPPE128 stateless` (if the directions differ,
        /// `<send>/<receive>`).
        encoding: String,
        /// The MTU for datagrams, reduced by the MPPE overhead (4 octets).
        mtu: u16,
    },
    /// BCP (RFC 3518) is open: Ethernet frames can be bridged over the link.
    BridgeUp {
        /// The bridge the link belongs to ([`Config::bridge`](crate::Config::bridge)).
        bridge: String,
        /// What was negotiated.
        negotiated: crate::bcp::BcpNegotiated,
    },
    /// The peer Protocol-Rejected one of our protocols.
    ProtocolRejected {
        /// The rejected protocol.
        protocol: u16,
    },
    /// The session is over. The transport should be closed (unless it restarts PPP).
    Terminated {
        /// Why.
        reason: TerminateReason,
        /// The peer ended it.
        by_peer: bool,
        /// How long the network phase lasted (for accounting).
        uptime: Duration,
    },
}
