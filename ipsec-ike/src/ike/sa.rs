//! Per-IKE-SA state: keys, the request/response windows, retransmission, fragments and the
//! Child SAs it owns.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::crypto::{Group, IkeKeys, IkeSuite, KeyPair};
use crate::event::{ChildId, IkeSaId};
use crate::ike::proposal::ChildSuite;
use crate::sk::{Reassembly, SkCodec};
use crate::wire::{Id, TrafficSelector};

/// Where an IKE SA is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaState {
    /// Initiator: IKE_SA_INIT request sent.
    InitSent,
    /// Initiator: IKE_AUTH request sent.
    AuthSent,
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH (half-open).
    HalfOpen,
    /// Established.
    Established,
    /// Being deleted (our Delete sent).
    Deleting,
    /// Gone (removed at the next opportunity).
    Dead,
}

/// What a Child SA negotiation offered (kept until the answer arrives).
#[derive(Clone, Debug)]
pub struct ChildOffer {
    /// Our inbound SPI.
    pub spi_in: u32,
    /// RouterOS proposal name.
    pub proposal: String,
    /// PFS group.
    pub pfs: Option<Group>,
    /// Our nonce (CREATE_CHILD_SA).
    pub nonce: Vec<u8>,
    /// Our TSi / TSr as offered (initiator view: TSi = ours).
    pub ts_i: Vec<TrafficSelector>,
    /// TSr.
    pub ts_r: Vec<TrafficSelector>,
    /// Tunnel mode.
    pub tunnel: bool,
    /// Ask for mode config (IKE_AUTH only).
    pub mode_config: bool,
}

/// A request we initiate (window size 1: one outstanding at a time, the rest queued).
#[derive(Debug)]
pub enum Req {
    /// IKE_AUTH (built right after IKE_SA_INIT).
    Auth,
    /// CREATE_CHILD_SA rekeying a Child SA.
    RekeyChild(ChildId),
    /// CREATE_CHILD_SA rekeying this IKE SA.
    RekeyIke,
    /// Empty INFORMATIONAL (liveness / DPD).
    Dpd,
    /// INFORMATIONAL Delete of Child SAs (our inbound SPIs).
    DeleteChildren(Vec<u32>),
    /// INFORMATIONAL Delete of this IKE SA.
    DeleteIke,
}

/// Per-request state kept while it is outstanding.
#[derive(Debug)]
pub enum PendingKind {
    /// IKE_SA_INIT.
    Init,
    /// IKE_AUTH with the child we offered.
    Auth(ChildOffer),
    /// A Child SA rekey.
    RekeyChild {
        /// The child being rekeyed.
        old: ChildId,
        /// What we offered.
        offer: ChildOffer,
        /// Our PFS key pair.
        dh: Option<KeyPair>,
    },
    /// An IKE SA rekey.
    RekeyIke {
        /// Our SPI of the new IKE SA.
        spi: [u8; 8],
        /// Our nonce.
        nonce: Vec<u8>,
        /// Our key pair.
        dh: KeyPair,
    },
    /// DPD.
    Dpd,
    /// Delete of children.
    DeleteChildren(Vec<u32>),
    /// Delete of the IKE SA.
    DeleteIke,
}

/// The outstanding request.
#[derive(Debug)]
pub struct Pending {
    /// Its message ID.
    pub id: u32,
    /// The datagrams (several when fragmented), without the non-ESP marker.
    pub packets: Vec<Vec<u8>>,
    /// Retransmissions done.
    pub tries: u32,
    /// When to retransmit next.
    pub next: Instant,
    /// What it is.
    pub kind: PendingKind,
}

/// A Child SA.
#[derive(Clone, Debug)]
pub struct Child {
    /// Handle.
    pub id: ChildId,
    /// Our inbound SPI.
    pub spi_in: u32,
    /// The peer's inbound SPI (our outbound).
    pub spi_out: u32,
    /// Algorithms.
    pub suite: ChildSuite,
    /// Tunnel mode.
    pub tunnel: bool,
    /// Our selectors.
    pub ts_local: Vec<TrafficSelector>,
    /// The peer's selectors.
    pub ts_remote: Vec<TrafficSelector>,
    /// RouterOS proposal name (for rekeys).
    pub proposal: String,
    /// When installed.
    pub created: Instant,
    /// Soft lifetime: start a rekey.
    pub soft_at: Instant,
    /// Hard lifetime: delete.
    pub hard_at: Instant,
    /// The lowest nonce of the exchange that created it (2.8.1 collision rule).
    pub min_nonce: Vec<u8>,
    /// Replaced by this child (rekey done; waiting for the delete).
    pub rekeyed_by: Option<ChildId>,
    /// Our rekey of it is in flight.
    pub rekeying: bool,
    /// A rekey by the peer that we answered while ours was in flight: (new child, its
    /// exchange's lowest nonce).
    pub peer_rekey: Option<(ChildId, Vec<u8>)>,
    /// We created it (initiator of its exchange).
    pub initiated: bool,
}

/// An EAP conversation inside IKE_AUTH (2.16).
#[derive(Debug)]
pub enum EapSession {
    /// We are the EAP peer (initiator, `auth-method=eap`).
    Client(crate::eap::MschapV2Client),
    /// The built-in EAP-MSCHAPv2 server (responder, no backend plugged in).
    Server(crate::eap::MschapV2Server),
    /// The caller's [`crate::eap::EapBackend`] runs the conversation.
    Backend,
}

/// One IKE SA.
pub struct IkeSa {
    /// Our SPI (the map key).
    pub id: IkeSaId,
    /// Initiator's SPI.
    pub spi_i: [u8; 8],
    /// Responder's SPI.
    pub spi_r: [u8; 8],
    /// We are the (original, or rekey) initiator of this IKE SA.
    pub initiator: bool,
    /// State.
    pub state: SaState,
    /// Peer name.
    pub peer: String,
    /// Identity index in the config (once known).
    pub identity: Option<usize>,
    /// Our endpoint.
    pub local: SocketAddr,
    /// The peer's endpoint.
    pub remote: SocketAddr,
    /// Using port 4500 (non-ESP marker, UDP-encapsulated ESP).
    pub natt: bool,
    /// We are behind a NAT.
    pub nat_local: bool,
    /// The peer is behind a NAT.
    pub nat_remote: bool,
    /// Algorithms.
    pub suite: Option<IkeSuite>,
    /// Keys.
    pub keys: Option<IkeKeys>,
    /// Outbound SK protection.
    pub tx: Option<SkCodec>,
    /// Inbound SK protection.
    pub rx: Option<SkCodec>,
    /// Our DH key pair (until the shared secret is computed).
    pub dh: Option<KeyPair>,
    /// Initiator nonce.
    pub ni: Vec<u8>,
    /// Responder nonce.
    pub nr: Vec<u8>,
    /// The IKE_SA_INIT request as sent (RealMessage1).
    pub msg1: Vec<u8>,
    /// The IKE_SA_INIT response as sent (RealMessage2).
    pub msg2: Vec<u8>,
    /// Cookie to echo (initiator).
    pub cookie: Option<Vec<u8>>,
    /// The peer supports RFC 7383 fragmentation.
    pub frag: bool,
    /// The peer accepts RFC 7427 signatures with SHA2-256.
    pub sig7427: bool,
    /// Next message ID of our requests.
    pub next_id: u32,
    /// The outstanding request.
    pub pending: Option<Pending>,
    /// Requests waiting for the window.
    pub queue: VecDeque<Req>,
    /// Next message ID expected from the peer.
    pub peer_next_id: u32,
    /// The last response sent (for replaying on a retransmitted request).
    pub last_resp: Option<(u32, Vec<Vec<u8>>)>,
    /// Fragments being collected.
    pub reasm: Reassembly,
    /// Child SAs.
    pub children: Vec<Child>,
    /// Created.
    pub created: Instant,
    /// Last authenticated message or ESP packet from the peer.
    pub last_rx: Instant,
    /// Last datagram we sent to the peer (NAT keepalive timing).
    pub last_tx: Instant,
    /// IKE SA rekey time.
    pub rekey_at: Option<Instant>,
    /// IKE SA hard expiry.
    pub expire_at: Option<Instant>,
    /// Half-open expiry (responder).
    pub half_open_until: Option<Instant>,
    /// Our ID.
    pub local_id: Option<Id>,
    /// The peer's ID.
    pub remote_id: Option<Id>,
    /// Counted in the half-open tables under this source key.
    pub half_open_key: Option<u128>,
    /// The peer's rekey of this IKE SA answered while ours was in flight: (new SA, lowest
    /// nonce).
    pub peer_ike_rekey: Option<(IkeSaId, Vec<u8>)>,
    /// This SA was replaced by a rekey; children moved.
    pub replaced_by: Option<IkeSaId>,
    /// The deadline last pushed to the timer heap.
    pub armed: Option<Instant>,
    /// Whether initial contact was already sent.
    pub initial_contact: bool,
    /// Address handed out by mode config (responder).
    pub assigned: Option<std::net::IpAddr>,
    /// EAP conversation in progress.
    pub eap: Option<EapSession>,
    /// The MSK once EAP succeeded.
    pub msk: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Responder: the first IKE_AUTH request's payloads (SA, TS, CP) kept for after EAP.
    pub eap_request: Vec<crate::wire::Payload>,
}

impl IkeSa {
    /// Whether `our` SPI role: our SPI is spi_i when we initiated.
    pub fn our_spi(&self) -> [u8; 8] {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }

    /// Child by handle.
    pub fn child(&self, id: ChildId) -> Option<&Child> {
        self.children.iter().find(|c| c.id == id)
    }

    /// Child by handle (mutable).
    pub fn child_mut(&mut self, id: ChildId) -> Option<&mut Child> {
        self.children.iter_mut().find(|c| c.id == id)
    }
}
