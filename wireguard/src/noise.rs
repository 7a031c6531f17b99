//! The Noise_IKpsk2 handshake as WireGuard runs it (whitepaper 5.4.2-5.4.5), as pure functions over
//! explicit state. The [`Device`](crate::Device) drives them; they are public so conformance tools
//! can build and inspect messages one step at a time.
//!
//! Symbols: `C` chaining key, `H` transcript hash, `Ei` / `Er` ephemeral keys, `Si` / `Sr` static
//! keys, `Q` preshared key (32 zero bytes when unset).
//!
//! ```text
//! initiator                                              responder
//! C = HASH(CONSTRUCTION); H = HASH(C || IDENTIFIER); H = HASH(H || Sr.pub)
//! C = KDF1(C, Ei.pub); H = HASH(H || Ei.pub)
//! (C, k) = KDF2(C, DH(Ei, Sr))     static    = AEAD(k, 0, Si.pub, H); H = HASH(H || static)
//! (C, k) = KDF2(C, DH(Si, Sr))     timestamp = AEAD(k, 0, TAI64N, H); H = HASH(H || timestamp)
//!      ---- Initiation(sender, Ei.pub, static, timestamp, mac1, mac2) ---->
//!                                   C = KDF1(C, Er.pub); H = HASH(H || Er.pub)
//!                                   C = KDF1(C, DH(Er, Ei)); C = KDF1(C, DH(Er, Si))
//!                                   (C, t, k) = KDF3(C, Q); H = HASH(H || t)
//!                                   empty = AEAD(k, 0, "", H); H = HASH(H || empty)
//!      <--- Response(sender, receiver, Er.pub, empty, mac1, mac2) --------
//! (T_i->r, T_r->i) = KDF2(C, "")   (the responder derives the same, swapped)
//! ```

use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

use crate::crypto::{
    aead_open, aead_seal, dh, hash, hash2, kdf1, kdf2, kdf3, PointTable, CONSTRUCTION, IDENTIFIER,
};
use crate::event::DropReason;
use crate::wire::{Initiation, Response};

/// `(C0, H0)` before the responder's static key is mixed in (constants, computed once).
fn initial() -> ([u8; 32], [u8; 32]) {
    static INITIAL: std::sync::OnceLock<([u8; 32], [u8; 32])> = std::sync::OnceLock::new();
    *INITIAL.get_or_init(|| {
        let c = hash(CONSTRUCTION);
        let h = hash2(&c, IDENTIFIER);
        (c, h)
    })
}

/// `H = HASH(H0 || S_r.pub)`: the transcript hash both sides start from, fixed per responder
/// key (the device keeps its own; [`PeerStatic`] keeps the peer's).
pub fn initial_hash(responder_public: &[u8; 32]) -> [u8; 32] {
    hash2(&initial().1, responder_public)
}

/// Initiator state kept between sending the initiation and receiving the response.
pub struct InitiatorState {
    /// Our index in the initiation's `sender` field.
    pub local_index: u32,
    pub(crate) chaining_key: [u8; 32],
    pub(crate) hash: [u8; 32],
    pub(crate) ephemeral: StaticSecret,
}

impl core::fmt::Debug for InitiatorState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InitiatorState")
            .field("local_index", &self.local_index)
            .finish_non_exhaustive()
    }
}

impl Drop for InitiatorState {
    fn drop(&mut self) {
        self.chaining_key.zeroize();
        self.hash.zeroize();
    }
}

/// Symmetric session keys of one handshake.
pub struct SessionKeys {
    /// Key for packets we send.
    pub send: [u8; 32],
    /// Key for packets we receive.
    pub recv: [u8; 32],
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.send.zeroize();
        self.recv.zeroize();
    }
}

/// Static key material about one remote peer, precomputed.
pub struct PeerStatic {
    /// Remote static public key.
    pub remote: [u8; 32],
    /// `DH(S_local, S_remote)`; `None` when it is all zeros (such a peer can never handshake).
    pub(crate) ss: Option<[u8; 32]>,
    /// Preshared key (zeros when unset).
    pub(crate) psk: [u8; 32],
    /// [`initial_hash`] of the remote key (the initiator's starting `H`).
    pub(crate) h_remote: [u8; 32],
    /// Precomputed multiples of the remote key ([`PeerStatic::precompute`]).
    pub(crate) table: Option<Box<PointTable>>,
}

impl Drop for PeerStatic {
    fn drop(&mut self) {
        if let Some(s) = self.ss.as_mut() {
            s.zeroize();
        }
        self.psk.zeroize();
    }
}

impl PeerStatic {
    /// Precompute for `local` talking to `remote`.
    pub fn new(local: &StaticSecret, remote: [u8; 32], psk: Option<[u8; 32]>) -> Self {
        PeerStatic {
            remote,
            ss: dh(local, &remote),
            psk: psk.unwrap_or([0u8; 32]),
            h_remote: initial_hash(&remote),
            table: None,
        }
    }

    /// Build the fixed-point table of the remote key (about 30 KiB): `DH(E, S_remote)`, paid
    /// once per handshake on both sides, becomes a fixed-base multiplication. No-op for a key
    /// that is not on the curve.
    pub fn precompute(&mut self) {
        if self.table.is_none() {
            self.table = PointTable::new(&self.remote);
        }
    }

    /// Whether [`precompute`](Self::precompute) built a table.
    pub fn is_precomputed(&self) -> bool {
        self.table.is_some()
    }

    /// `DH(private, S_remote)`, through the table when there is one.
    fn dh_remote(&self, private: &StaticSecret) -> Option<[u8; 32]> {
        match &self.table {
            Some(t) => t.dh(private),
            None => dh(private, &self.remote),
        }
    }
}

/// Build an initiation (mac1/mac2 left zero: the cookie layer fills them).
pub fn create_initiation(
    rng: &mut dyn CryptoRngCore,
    local_public: &[u8; 32],
    peer: &PeerStatic,
    local_index: u32,
    tai64n: [u8; 12],
) -> Result<(Initiation, InitiatorState), DropReason> {
    let ss = peer.ss.ok_or(DropReason::ZeroDh)?;
    let c = initial().0;
    let mut h = peer.h_remote;
    let eph = StaticSecret::random_from_rng(&mut *rng);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let mut c = kdf1(&c, &eph_pub);
    h = hash2(&h, &eph_pub);
    let es = peer.dh_remote(&eph).ok_or(DropReason::ZeroDh)?;
    let (c2, k) = kdf2(&c, &es);
    c = c2;
    let mut encrypted_static = [0u8; 48];
    aead_seal(&k, 0, local_public, &h, &mut encrypted_static);
    h = hash2(&h, &encrypted_static);
    let (c3, k) = kdf2(&c, &ss);
    c = c3;
    let mut encrypted_timestamp = [0u8; 28];
    aead_seal(&k, 0, &tai64n, &h, &mut encrypted_timestamp);
    h = hash2(&h, &encrypted_timestamp);
    Ok((
        Initiation {
            sender: local_index,
            ephemeral: eph_pub,
            encrypted_static,
            encrypted_timestamp,
            mac1: [0; 16],
            mac2: [0; 16],
        },
        InitiatorState {
            local_index,
            chaining_key: c,
            hash: h,
            ephemeral: eph,
        },
    ))
}

/// Responder state after decrypting the initiator's static key (first half of consumption).
pub struct InitiationStatic {
    /// The initiator's static public key (identifies the peer).
    pub remote_static: [u8; 32],
    chaining_key: [u8; 32],
    hash: [u8; 32],
    remote_ephemeral: [u8; 32],
    remote_index: u32,
    encrypted_timestamp: [u8; 28],
}

/// Decrypt the initiation's static key with our static private key.
pub fn consume_initiation_static(
    local: &StaticSecret,
    local_public: &[u8; 32],
    msg: &Initiation,
) -> Result<InitiationStatic, DropReason> {
    consume_initiation_static_with(local, &initial_hash(local_public), msg)
}

/// [`consume_initiation_static`] with the responder's [`initial_hash`] precomputed.
pub fn consume_initiation_static_with(
    local: &StaticSecret,
    local_initial_hash: &[u8; 32],
    msg: &Initiation,
) -> Result<InitiationStatic, DropReason> {
    let c = initial().0;
    let mut h = *local_initial_hash;
    let c = kdf1(&c, &msg.ephemeral);
    h = hash2(&h, &msg.ephemeral);
    let es = dh(local, &msg.ephemeral).ok_or(DropReason::ZeroDh)?;
    let (c, k) = kdf2(&c, &es);
    let mut remote_static = [0u8; 32];
    if !aead_open(&k, 0, &msg.encrypted_static, &h, &mut remote_static) {
        return Err(DropReason::BadHandshakeAuth);
    }
    h = hash2(&h, &msg.encrypted_static);
    Ok(InitiationStatic {
        remote_static,
        chaining_key: c,
        hash: h,
        remote_ephemeral: msg.ephemeral,
        remote_index: msg.sender,
        encrypted_timestamp: msg.encrypted_timestamp,
    })
}

/// Responder state after a fully consumed initiation.
pub struct ResponderState {
    /// The initiator's index (goes into the response's receiver field).
    pub remote_index: u32,
    /// Decrypted TAI64N timestamp.
    pub timestamp: [u8; 12],
    chaining_key: [u8; 32],
    hash: [u8; 32],
    remote_ephemeral: [u8; 32],
}

impl Drop for ResponderState {
    fn drop(&mut self) {
        self.chaining_key.zeroize();
        self.hash.zeroize();
    }
}

/// Second half: decrypt the timestamp with the precomputed static-static DH of that peer.
pub fn consume_initiation_timestamp(
    st: InitiationStatic,
    peer: &PeerStatic,
) -> Result<ResponderState, DropReason> {
    let ss = peer.ss.ok_or(DropReason::ZeroDh)?;
    let (c, k) = kdf2(&st.chaining_key, &ss);
    let mut timestamp = [0u8; 12];
    if !aead_open(&k, 0, &st.encrypted_timestamp, &st.hash, &mut timestamp) {
        return Err(DropReason::BadHandshakeAuth);
    }
    let h = hash2(&st.hash, &st.encrypted_timestamp);
    Ok(ResponderState {
        remote_index: st.remote_index,
        timestamp,
        chaining_key: c,
        hash: h,
        remote_ephemeral: st.remote_ephemeral,
    })
}

/// Build the response and derive the session keys (responder side).
pub fn create_response(
    rng: &mut dyn CryptoRngCore,
    st: &ResponderState,
    peer: &PeerStatic,
    local_index: u32,
) -> Result<(Response, SessionKeys), DropReason> {
    let eph = StaticSecret::random_from_rng(&mut *rng);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let mut c = kdf1(&st.chaining_key, &eph_pub);
    let mut h = hash2(&st.hash, &eph_pub);
    let ee = dh(&eph, &st.remote_ephemeral).ok_or(DropReason::ZeroDh)?;
    c = kdf1(&c, &ee);
    let se = peer.dh_remote(&eph).ok_or(DropReason::ZeroDh)?;
    c = kdf1(&c, &se);
    let (c2, tau, k) = kdf3(&c, &peer.psk);
    c = c2;
    h = hash2(&h, &tau);
    let mut encrypted_nothing = [0u8; 16];
    aead_seal(&k, 0, &[], &h, &mut encrypted_nothing);
    let (t1, t2) = kdf2(&c, &[]);
    c.zeroize();
    Ok((
        Response {
            sender: local_index,
            receiver: st.remote_index,
            ephemeral: eph_pub,
            encrypted_nothing,
            mac1: [0; 16],
            mac2: [0; 16],
        },
        SessionKeys { send: t2, recv: t1 },
    ))
}

/// Consume a response (initiator side) and derive the session keys.
pub fn consume_response(
    local: &StaticSecret,
    st: &InitiatorState,
    peer: &PeerStatic,
    msg: &Response,
) -> Result<SessionKeys, DropReason> {
    let mut c = kdf1(&st.chaining_key, &msg.ephemeral);
    let mut h = hash2(&st.hash, &msg.ephemeral);
    let ee = dh(&st.ephemeral, &msg.ephemeral).ok_or(DropReason::ZeroDh)?;
    c = kdf1(&c, &ee);
    let se = dh(local, &msg.ephemeral).ok_or(DropReason::ZeroDh)?;
    c = kdf1(&c, &se);
    let (c2, tau, k) = kdf3(&c, &peer.psk);
    c = c2;
    h = hash2(&h, &tau);
    let mut nothing = [0u8; 0];
    if !aead_open(&k, 0, &msg.encrypted_nothing, &h, &mut nothing) {
        return Err(DropReason::BadHandshakeAuth);
    }
    let (t1, t2) = kdf2(&c, &[]);
    c.zeroize();
    Ok(SessionKeys { send: t1, recv: t2 })
}

/// TAI64N label of a wall-clock time given as a duration since the Unix epoch. The nanoseconds are
/// rounded down to a multiple of 2^24 ns (about 16.8 ms), as wireguard-go does, so the timestamp
/// does not leak fine-grained timing.
pub fn tai64n(since_unix_epoch: core::time::Duration) -> [u8; 12] {
    let secs = 0x4000_0000_0000_000a_u64.wrapping_add(since_unix_epoch.as_secs());
    let nanos = since_unix_epoch.subsec_nanos() & !0x00ff_ffff;
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&secs.to_be_bytes());
    out[8..].copy_from_slice(&nanos.to_be_bytes());
    out
}
