//! EAP in IKEv2 (RFC 7296 2.16): the hook for an external EAP server (RouterOS
//! `auth-method=eap-radius`; a RADIUS client plugs in here).

/// What an EAP backend answers to one EAP message from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EapStep {
    /// Send this EAP message (Request) to the peer and wait for its answer.
    Continue(Vec<u8>),
    /// Success: send EAP-Success; the MSK keys the final AUTH payloads (2.16).
    Success {
        /// The EAP-Success packet.
        message: Vec<u8>,
        /// The master session key (may be empty for methods without one).
        msk: Vec<u8>,
    },
    /// Failure: send EAP-Failure and AUTHENTICATION_FAILED.
    Failure(Vec<u8>),
}

/// An EAP server for identities with `auth-method=eap-radius` (responder side).
pub trait EapBackend {
    /// A new conversation for `identity` (the IDi data); returns the first request
    /// (usually an EAP-Request/Identity or a method request).
    fn start(&mut self, session: u64, identity: &[u8]) -> EapStep;
    /// The peer's EAP response of a conversation.
    fn step(&mut self, session: u64, message: &[u8]) -> EapStep;
}
