//! Events a [`crate::Tunnel`] reports to the application.

use crate::wire::avp::ResultCode;

/// Why a tunnel went down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelDownReason {
    /// The peer sent StopCCN with this result.
    PeerStopCcn(ResultCode),
    /// We sent StopCCN (application `close`, or a protocol error) with this result.
    LocalStopCcn(ResultCode),
    /// A control message was not acknowledged after the retry limit.
    Timeout,
    /// Tunnel authentication failed (wrong Challenge Response, missing secret).
    AuthFailed,
    /// We lost a tie-breaker race; the peer's tunnel replaces ours.
    TieBreakerLost,
}

/// Why the [`crate::Lns`] dropped an SCCRQ without answering it (flood protection). Each is
/// counted in [`crate::LnsStats`] and returned as [`crate::Error::Dropped`]; no state is
/// created and nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The source's SCCRQ token bucket is empty (`sccrq_rate_per_source`).
    SccrqRateLimited,
    /// The global SCCRQ token bucket is empty (`sccrq_rate_global`).
    SccrqGlobalRateLimited,
    /// The source holds `max_half_open_per_source` half-open tunnels.
    HalfOpenPerSource,
    /// The server holds `max_half_open` half-open tunnels.
    HalfOpenFull,
}

/// Why a session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionDownReason {
    /// The peer sent CDN with this result.
    PeerCdn(ResultCode),
    /// We sent CDN with this result.
    LocalCdn(ResultCode),
    /// The tunnel went down.
    TunnelDown,
}

/// Proxy LCP and proxy authentication AVPs of an ICCN (RFC 2661 section 4.4.5): what the LAC
/// already negotiated with the PPP client, for the LNS to continue from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyInfo {
    /// Initial Received LCP CONFREQ (option bytes).
    pub initial_received_lcp_confreq: Option<Vec<u8>>,
    /// Last Sent LCP CONFREQ.
    pub last_sent_lcp_confreq: Option<Vec<u8>>,
    /// Last Received LCP CONFREQ.
    pub last_received_lcp_confreq: Option<Vec<u8>>,
    /// Proxy Authen Type (1 text, 2 CHAP, 3 PAP, 4 none, 5 MS-CHAPv1).
    pub authen_type: Option<u16>,
    /// Proxy Authen Name (e.g. `good_worker@mt.lv`).
    pub authen_name: Option<Vec<u8>>,
    /// Proxy Authen Challenge.
    pub authen_challenge: Option<Vec<u8>>,
    /// Proxy Authen ID.
    pub authen_id: Option<u16>,
    /// Proxy Authen Response.
    pub authen_response: Option<Vec<u8>>,
}

impl ProxyInfo {
    /// True when no proxy AVP is present.
    pub fn is_empty(&self) -> bool {
        *self == ProxyInfo::default()
    }
}

/// Direction of a call, as seen from the LAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallDirection {
    /// ICRQ/ICRP/ICCN: the LAC received a call (the usual L2TP client case).
    Incoming,
    /// OCRQ/OCRP/OCCN: the LNS asks the LAC to place a call.
    Outgoing,
}

/// Parameters and AVPs of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// Incoming or outgoing call.
    pub direction: CallDirection,
    /// Call Serial Number.
    pub serial: u32,
    /// Calling Number (caller-id with `caller-id-type=number`).
    pub calling_number: Option<Vec<u8>>,
    /// Called Number.
    pub called_number: Option<Vec<u8>>,
    /// Sub-Address.
    pub sub_address: Option<Vec<u8>>,
    /// Bearer Type.
    pub bearer_type: Option<u32>,
    /// Framing Type (default 1 = synchronous).
    pub framing_type: u32,
    /// (Tx) Connect Speed in bit/s.
    pub tx_connect_speed: u32,
    /// Rx Connect Speed.
    pub rx_connect_speed: Option<u32>,
    /// Minimum BPS (OCRQ).
    pub min_bps: u32,
    /// Maximum BPS (OCRQ).
    pub max_bps: u32,
    /// Physical Channel ID.
    pub physical_channel_id: Option<u32>,
    /// Private Group ID.
    pub private_group_id: Option<Vec<u8>>,
    /// Sequencing Required (data messages carry Ns/Nr).
    pub sequencing_required: bool,
    /// Proxy LCP/authentication AVPs.
    pub proxy: ProxyInfo,
}

impl Default for CallInfo {
    fn default() -> Self {
        CallInfo {
            direction: CallDirection::Incoming,
            serial: 0,
            calling_number: None,
            called_number: None,
            sub_address: None,
            bearer_type: None,
            framing_type: 1,
            tx_connect_speed: 10_000_000,
            rx_connect_speed: None,
            min_bps: 0,
            max_bps: 100_000_000,
            physical_channel_id: None,
            private_group_id: None,
            sequencing_required: false,
            proxy: ProxyInfo::default(),
        }
    }
}

/// Something the application must know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The control connection is established.
    TunnelUp {
        /// Peer's tunnel id (Assigned Tunnel ID).
        peer_tunnel_id: u16,
        /// Peer's Host Name AVP.
        peer_host_name: Vec<u8>,
    },
    /// The control connection is gone (all its sessions are reported down first).
    TunnelDown {
        /// Why.
        reason: TunnelDownReason,
    },
    /// The peer requests a call (ICRQ on the LNS, OCRQ on the LAC) and
    /// [`crate::TunnelConfig::auto_accept_calls`] is off: call `accept_call` or `reject_call`.
    IncomingCall {
        /// Our session id.
        session_id: u16,
        /// Call parameters from the request.
        call: CallInfo,
    },
    /// A session is established (ICCN/OCCN exchanged); data may flow.
    SessionUp {
        /// Our session id.
        session_id: u16,
        /// Peer's session id.
        peer_session_id: u16,
        /// Call parameters, including proxy LCP/auth AVPs from an ICCN.
        call: CallInfo,
    },
    /// A session is gone.
    SessionDown {
        /// Our session id.
        session_id: u16,
        /// Why.
        reason: SessionDownReason,
    },
    /// WAN-Error-Notify from the LAC.
    WanError {
        /// Our session id.
        session_id: u16,
        /// CRC, framing, hardware overruns, buffer overruns, time-out, alignment errors.
        errors: [u32; 6],
    },
    /// Set-Link-Info from the LNS.
    SetLinkInfo {
        /// Our session id.
        session_id: u16,
        /// Send ACCM.
        send_accm: u32,
        /// Receive ACCM.
        recv_accm: u32,
    },
}
