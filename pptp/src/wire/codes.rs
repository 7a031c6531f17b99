//! Result, error, reason and framing/bearer code points of RFC 2637 section 2.
//!
//! The tables are per message: a Result Code of 2 means "general error" in a
//! Start-Control-Connection-Reply but "no carrier" in an Outgoing-Call-Reply.

/// PPTP protocol version 1.0 (RFC 2637 s2.1): `0x0100`.
pub const PROTOCOL_VERSION: u16 = 0x0100;
/// The TCP port of the control connection (RFC 2637 s1.1; RouterOS S0 L845).
pub const TCP_PORT: u16 = 1723;
/// The IP protocol of the data channel (GRE, RFC 2637 s4).
pub const IP_PROTOCOL_GRE: u8 = 47;

/// Framing Capabilities / Framing Type bits (RFC 2637 s2.1, s2.7).
pub mod framing {
    /// Asynchronous framing.
    pub const ASYNC: u32 = 1;
    /// Synchronous framing.
    pub const SYNC: u32 = 2;
}

/// Bearer Capabilities / Bearer Type bits (RFC 2637 s2.1, s2.7).
pub mod bearer {
    /// Analog access.
    pub const ANALOG: u32 = 1;
    /// Digital access.
    pub const DIGITAL: u32 = 2;
}

/// Start-Control-Connection-Reply Result Code (RFC 2637 s2.2).
pub mod sccrp {
    /// Successful channel establishment.
    pub const OK: u8 = 1;
    /// General error; the Error Code says which.
    pub const GENERAL_ERROR: u8 = 2;
    /// Command channel already exists.
    pub const CHANNEL_EXISTS: u8 = 3;
    /// Requester is not authorized to establish a command channel.
    pub const NOT_AUTHORIZED: u8 = 4;
    /// The protocol version of the requester is not supported.
    pub const BAD_VERSION: u8 = 5;
}

/// Stop-Control-Connection-Request Reason (RFC 2637 s2.3).
pub mod stop_reason {
    /// General request to clear the control connection.
    pub const NONE: u8 = 1;
    /// Can't support the peer's version of the protocol.
    pub const STOP_PROTOCOL: u8 = 2;
    /// Requester is being shut down.
    pub const STOP_LOCAL_SHUTDOWN: u8 = 3;
}

/// Stop-Control-Connection-Reply Result Code (RFC 2637 s2.4).
pub mod stopccrp {
    /// Control connection closed.
    pub const OK: u8 = 1;
    /// Control connection not closed; see the Error Code.
    pub const GENERAL_ERROR: u8 = 2;
}

/// Echo-Reply Result Code (RFC 2637 s2.6).
pub mod echo {
    /// The Echo-Reply is valid.
    pub const OK: u8 = 1;
    /// Echo-Request not accepted; see the Error Code.
    pub const GENERAL_ERROR: u8 = 2;
}

/// Outgoing-Call-Reply Result Code (RFC 2637 s2.8).
pub mod ocrp {
    /// Call established with no errors.
    pub const CONNECTED: u8 = 1;
    /// Outgoing call not established; see the Error Code.
    pub const GENERAL_ERROR: u8 = 2;
    /// Outgoing call failed due to no carrier.
    pub const NO_CARRIER: u8 = 3;
    /// Outgoing call failed due to detection of a busy signal.
    pub const BUSY: u8 = 4;
    /// Outgoing call failed due to lack of a dial tone.
    pub const NO_DIAL_TONE: u8 = 5;
    /// Outgoing call was not established within the time allotted by the PAC.
    pub const TIME_OUT: u8 = 6;
    /// Outgoing call administratively prohibited.
    pub const DO_NOT_ACCEPT: u8 = 7;
}

/// Incoming-Call-Reply Result Code (RFC 2637 s2.10).
pub mod icrp {
    /// The PAC should answer the incoming call.
    pub const CONNECT: u8 = 1;
    /// The incoming call should not be established; see the Error Code.
    pub const GENERAL_ERROR: u8 = 2;
    /// Do not accept the incoming call.
    pub const DO_NOT_ACCEPT: u8 = 3;
}

/// Call-Disconnect-Notify Result Code (RFC 2637 s2.13).
pub mod cdn {
    /// Call disconnected due to loss of carrier.
    pub const LOST_CARRIER: u8 = 1;
    /// Call disconnected for the reason in the Error Code.
    pub const GENERAL_ERROR: u8 = 2;
    /// Call disconnected for administrative reasons.
    pub const ADMIN_SHUTDOWN: u8 = 3;
    /// Call disconnected due to a received Call-Clear-Request.
    pub const REQUEST: u8 = 4;
}

/// General Error Codes (RFC 2637 s2.16), used with a Result Code of "general error".
pub mod error {
    /// No general error.
    pub const NONE: u8 = 0;
    /// No control connection exists yet for this PAC-PNS pair.
    pub const NOT_CONNECTED: u8 = 1;
    /// Length is wrong or Magic Cookie value is incorrect.
    pub const BAD_FORMAT: u8 = 2;
    /// One of the field values was out of range or a reserved field was non-zero.
    pub const BAD_VALUE: u8 = 3;
    /// Insufficient resources to handle this command now.
    pub const NO_RESOURCE: u8 = 4;
    /// The Call ID is invalid in this context.
    pub const BAD_CALL_ID: u8 = 5;
    /// A generic vendor-specific error occurred in the PAC.
    pub const PAC_ERROR: u8 = 6;
}
