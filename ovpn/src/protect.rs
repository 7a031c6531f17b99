//! Control-channel protection: none, tls-auth, tls-crypt and tls-crypt-v2.
//!
//! ```text
//! plain:     op | sid(8) | body (ack array, remote sid, message id, payload)
//! tls-auth:  op | sid(8) | HMAC(n) | replay id(4) | net time(4) | body
//!            HMAC = auth digest over replay id | net time | op | sid | body
//! tls-crypt: op | sid(8) | replay id(4) | net time(4) | tag(32) | AES-256-CTR(body)
//!            tag = HMAC-SHA256 over op | sid | replay id | net time | body;
//!            the CTR IV is the first 16 bytes of the tag (SIV construction)
//! tls-crypt-v2 (P_CONTROL_HARD_RESET_CLIENT_V3, P_CONTROL_WKC_V1):
//!            the tls-crypt packet (with the per-client key Kc) followed by WKc, where
//!            WKc = tag(32) | AES-256-CTR_Ke(Kc | metadata) | len(2),
//!            tag = HMAC-SHA256_Ka(len | Kc | metadata), len = total WKc length
//! ```
//!
//! The replay id + net time form the "long form" packet id; the receiver keeps a
//! [`ReplayWindow`] per session. The wrappers here are stateless; [`ControlCrypto`] adds the
//! send counter and the receive window.

use aes::cipher::{KeyIvInit, StreamCipher};
use zeroize::Zeroize;

use crate::crypto::{Digest, KeyDirection, KeySlot, ReplayWindow, StaticKey, MAX_DIGEST_LEN};
use crate::error::{CryptoError, WireError};
use crate::wire::{split_first_byte, Opcode, SESSION_ID_LEN};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Size of the tls-crypt tag.
pub const TLS_CRYPT_TAG_LEN: usize = 32;
/// Size of replay id + net time.
pub const REPLAY_LEN: usize = 8;
/// Largest WKc OpenVPN accepts.
pub const MAX_WKC_LEN: usize = 1024;
/// tls-crypt-v2 metadata type: user data.
pub const METADATA_TYPE_USER: u8 = 0;
/// tls-crypt-v2 metadata type: 64-bit creation timestamp (network order).
pub const METADATA_TYPE_TIMESTAMP: u8 = 1;

const HDR: usize = 1 + SESSION_ID_LEN;

fn too_small(need: usize, have: usize) -> CryptoError {
    CryptoError::BufferTooSmall { need, have }
}

fn short(field: &'static str, need: usize, have: usize) -> CryptoError {
    CryptoError::Wire(WireError::Truncated {
        field,
        offset: 0,
        need,
        have,
    })
}

/// tls-auth: HMAC over the packet with a directional static key.
#[derive(Clone, Debug)]
pub struct TlsAuth {
    digest: Digest,
    send: KeySlot,
    recv: KeySlot,
}

impl TlsAuth {
    /// tls-auth from a static key, its direction and the `auth` digest.
    pub fn new(key: &StaticKey, dir: KeyDirection, digest: Digest) -> Result<Self, CryptoError> {
        if digest.is_none() {
            return Err(CryptoError::BadKey {
                reason: "tls-auth needs a digest",
            });
        }
        let (s, r) = key.directional(dir);
        Ok(TlsAuth {
            digest,
            send: s.clone(),
            recv: r.clone(),
        })
    }

    /// HMAC length.
    pub fn hmac_len(&self) -> usize {
        self.digest.len()
    }
}

/// tls-crypt: AES-256-CTR + HMAC-SHA256 with a directional key (server: direction 0,
/// client: direction 1).
#[derive(Clone, Debug)]
pub struct TlsCrypt {
    send: KeySlot,
    recv: KeySlot,
}

impl TlsCrypt {
    /// tls-crypt from a static key; `server` selects the direction as OpenVPN does.
    pub fn new(key: &StaticKey, server: bool) -> Self {
        let dir = if server {
            KeyDirection::Normal
        } else {
            KeyDirection::Inverse
        };
        let (s, r) = key.directional(dir);
        TlsCrypt {
            send: s.clone(),
            recv: r.clone(),
        }
    }

    fn tag(slot: &KeySlot, head: &[u8], body: &[u8]) -> [u8; MAX_DIGEST_LEN] {
        let mut t = [0u8; MAX_DIGEST_LEN];
        Digest::Sha256.hmac(&slot.hmac[..32], &[head, body], &mut t);
        t
    }

    fn ctr(slot: &KeySlot, tag: &[u8], data: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&tag[..16]);
        let mut c = Aes256Ctr::new((&slot.cipher[..32]).into(), (&iv).into());
        c.apply_keystream(data);
    }
}

/// The server's tls-crypt-v2 key (`OpenVPN tls-crypt-v2 server key`): Ke (AES-256-CTR)
/// and Ka (HMAC-SHA256) used to wrap and unwrap client keys.
#[derive(Clone, Debug)]
pub struct TlsCryptV2ServerKey {
    slot: KeySlot,
}

/// A tls-crypt-v2 client key (`OpenVPN tls-crypt-v2 client key`): Kc and its wrapped form.
#[derive(Clone, Debug)]
pub struct TlsCryptV2ClientKey {
    /// The client key Kc (same layout as a static key).
    pub key: StaticKey,
    /// WKc as produced by the server key.
    pub wkc: Vec<u8>,
}

fn pem_body(text: &str, label: &str) -> Result<Vec<u8>, CryptoError> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = text.find(&begin).ok_or(CryptoError::BadKey {
        reason: "missing PEM BEGIN line",
    })? + begin.len();
    let e = text[s..].find(&end).ok_or(CryptoError::BadKey {
        reason: "missing PEM END line",
    })? + s;
    let b64: String = text[s..e].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| CryptoError::BadKey {
            reason: "bad base64",
        })
}

fn pem_wrap(label: &str, data: &[u8]) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(data);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

impl TlsCryptV2ServerKey {
    /// Key from 128 raw bytes (cipher 64 || hmac 64).
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        Ok(TlsCryptV2ServerKey {
            slot: KeySlot::from_bytes(b)?,
        })
    }

    /// Parse the PEM file.
    pub fn from_pem(text: &str) -> Result<Self, CryptoError> {
        let mut b = pem_body(text, "OpenVPN tls-crypt-v2 server key")?;
        let r = Self::from_bytes(&b);
        b.zeroize();
        r
    }

    /// Write the PEM file.
    pub fn to_pem(&self) -> String {
        let mut b = [0u8; 128];
        b[..64].copy_from_slice(&self.slot.cipher);
        b[64..].copy_from_slice(&self.slot.hmac);
        let s = pem_wrap("OpenVPN tls-crypt-v2 server key", &b);
        b.zeroize();
        s
    }

    /// Wrap a client key with metadata into WKc.
    pub fn wrap(&self, client: &StaticKey, metadata: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let total = TLS_CRYPT_TAG_LEN + 256 + metadata.len() + 2;
        if total > MAX_WKC_LEN {
            return Err(CryptoError::BadKey {
                reason: "metadata too long for WKc",
            });
        }
        let len = (total as u16).to_be_bytes();
        let mut kc = client.to_bytes();
        let mut tag = [0u8; MAX_DIGEST_LEN];
        Digest::Sha256.hmac(&self.slot.hmac[..32], &[&len, &kc, metadata], &mut tag);
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&tag[..TLS_CRYPT_TAG_LEN]);
        out.extend_from_slice(&kc);
        out.extend_from_slice(metadata);
        TlsCrypt::ctr(&self.slot, &tag, &mut out[TLS_CRYPT_TAG_LEN..]);
        out.extend_from_slice(&len);
        kc.zeroize();
        Ok(out)
    }

    /// Unwrap WKc: returns Kc and the metadata.
    pub fn unwrap(&self, wkc: &[u8]) -> Result<(StaticKey, Vec<u8>), CryptoError> {
        if wkc.len() > MAX_WKC_LEN {
            return Err(CryptoError::BadKey {
                reason: "WKc too long",
            });
        }
        if wkc.len() < TLS_CRYPT_TAG_LEN + 256 + 2 {
            return Err(short("wkc", TLS_CRYPT_TAG_LEN + 258, wkc.len()));
        }
        let (rest, len) = wkc.split_at(wkc.len() - 2);
        if usize::from(u16::from_be_bytes([len[0], len[1]])) != wkc.len() {
            return Err(CryptoError::BadKey {
                reason: "WKc length field mismatch",
            });
        }
        let (tag, ct) = rest.split_at(TLS_CRYPT_TAG_LEN);
        let mut pt = ct.to_vec();
        TlsCrypt::ctr(&self.slot, tag, &mut pt);
        if !Digest::Sha256.verify(&self.slot.hmac[..32], &[len, &pt], tag) {
            pt.zeroize();
            return Err(CryptoError::BadAuth { what: "WKc tag" });
        }
        let key = StaticKey::from_bytes(&pt[..256]);
        let meta = pt[256..].to_vec();
        pt.zeroize();
        Ok((key?, meta))
    }
}

impl TlsCryptV2ClientKey {
    /// Parse the client key PEM file (Kc || WKc).
    pub fn from_pem(text: &str) -> Result<Self, CryptoError> {
        let mut b = pem_body(text, "OpenVPN tls-crypt-v2 client key")?;
        if b.len() < 256 + TLS_CRYPT_TAG_LEN + 2 {
            b.zeroize();
            return Err(CryptoError::BadKey {
                reason: "client key too short",
            });
        }
        let key = StaticKey::from_bytes(&b[..256]);
        let wkc = b[256..].to_vec();
        b.zeroize();
        Ok(TlsCryptV2ClientKey { key: key?, wkc })
    }

    /// Write the client key PEM file.
    pub fn to_pem(&self) -> String {
        let mut b = self.key.to_bytes().to_vec();
        b.extend_from_slice(&self.wkc);
        let s = pem_wrap("OpenVPN tls-crypt-v2 client key", &b);
        b.zeroize();
        s
    }
}

/// The metadata a tls-crypt-v2 client key was wrapped with (first byte: type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsCryptV2Metadata<'a> {
    /// No metadata at all.
    Empty,
    /// [`METADATA_TYPE_USER`]: free-form bytes chosen by whoever made the key.
    User(&'a [u8]),
    /// [`METADATA_TYPE_TIMESTAMP`]: the key's creation time (Unix seconds).
    Timestamp(u64),
    /// Another type byte, or a timestamp that is not 8 bytes.
    Other {
        /// The type byte.
        kind: u8,
        /// The rest.
        data: &'a [u8],
    },
}

impl<'a> TlsCryptV2Metadata<'a> {
    /// Interpret the metadata bytes of an unwrapped WKc.
    pub fn parse(meta: &'a [u8]) -> Self {
        match meta.split_first() {
            None => TlsCryptV2Metadata::Empty,
            Some((&METADATA_TYPE_USER, d)) => TlsCryptV2Metadata::User(d),
            Some((&METADATA_TYPE_TIMESTAMP, d)) => match <[u8; 8]>::try_from(d) {
                Ok(b) => TlsCryptV2Metadata::Timestamp(u64::from_be_bytes(b)),
                Err(_) => TlsCryptV2Metadata::Other {
                    kind: METADATA_TYPE_TIMESTAMP,
                    data: d,
                },
            },
            Some((&kind, data)) => TlsCryptV2Metadata::Other { kind, data },
        }
    }
}

/// The server's check of a tls-crypt-v2 client key (OpenVPN `--tls-crypt-v2-verify`): given
/// the metadata of a client key that unwrapped correctly, `true` accepts the client. It runs
/// before any state is kept or any answer is sent (in the stateless front end too), so a
/// refused (revoked, expired) key costs the server nothing but the unwrap.
#[derive(Clone)]
pub struct TlsCryptV2Verify(
    #[allow(clippy::type_complexity)]
    pub  std::sync::Arc<dyn Fn(&TlsCryptV2Metadata<'_>) -> bool + Send + Sync>,
);

impl TlsCryptV2Verify {
    /// Wrap a check.
    pub fn new(f: impl Fn(&TlsCryptV2Metadata<'_>) -> bool + Send + Sync + 'static) -> Self {
        TlsCryptV2Verify(std::sync::Arc::new(f))
    }

    /// Run the check on raw metadata bytes.
    pub fn check(&self, meta: &[u8]) -> bool {
        (self.0)(&TlsCryptV2Metadata::parse(meta))
    }
}

impl core::fmt::Debug for TlsCryptV2Verify {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TlsCryptV2Verify(..)")
    }
}

/// Control-channel protection mode (stateless part).
#[derive(Clone, Debug, Default)]
pub enum ControlWrap {
    /// No protection (OpenVPN without tls-auth/tls-crypt; RouterOS default).
    #[default]
    None,
    /// tls-auth HMAC.
    Auth(TlsAuth),
    /// tls-crypt (also used with a tls-crypt-v2 client key).
    Crypt(TlsCrypt),
}

impl ControlWrap {
    /// Bytes the wrapping adds to a plain control packet.
    pub fn overhead(&self) -> usize {
        match self {
            ControlWrap::None => 0,
            ControlWrap::Auth(a) => a.hmac_len() + REPLAY_LEN,
            ControlWrap::Crypt(_) => REPLAY_LEN + TLS_CRYPT_TAG_LEN,
        }
    }

    /// Wrap a plain control packet (`op | sid | body`) with replay id `(id, time)`.
    pub fn wrap(
        &self,
        plain: &[u8],
        replay: (u32, u32),
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if plain.len() < HDR {
            return Err(short("control header", HDR, plain.len()));
        }
        let need = plain.len() + self.overhead();
        if out.len() < need {
            return Err(too_small(need, out.len()));
        }
        let (head, body) = plain.split_at(HDR);
        let mut rp = [0u8; REPLAY_LEN];
        rp[..4].copy_from_slice(&replay.0.to_be_bytes());
        rp[4..].copy_from_slice(&replay.1.to_be_bytes());
        match self {
            ControlWrap::None => out[..need].copy_from_slice(plain),
            ControlWrap::Auth(a) => {
                let n = a.hmac_len();
                let mut mac = [0u8; MAX_DIGEST_LEN];
                a.digest
                    .hmac(&a.send.hmac[..n], &[&rp, head, body], &mut mac);
                out[..HDR].copy_from_slice(head);
                out[HDR..HDR + n].copy_from_slice(&mac[..n]);
                out[HDR + n..HDR + n + REPLAY_LEN].copy_from_slice(&rp);
                out[HDR + n + REPLAY_LEN..need].copy_from_slice(body);
            }
            ControlWrap::Crypt(c) => {
                out[..HDR].copy_from_slice(head);
                out[HDR..HDR + REPLAY_LEN].copy_from_slice(&rp);
                let tag = TlsCrypt::tag(&c.send, &out[..HDR + REPLAY_LEN], body);
                let ct = HDR + REPLAY_LEN + TLS_CRYPT_TAG_LEN;
                out[HDR + REPLAY_LEN..ct].copy_from_slice(&tag[..TLS_CRYPT_TAG_LEN]);
                out[ct..need].copy_from_slice(body);
                TlsCrypt::ctr(&c.send, &tag, &mut out[ct..need]);
            }
        }
        Ok(need)
    }

    /// Verify/decrypt a wrapped control packet into `out` (plain layout). Returns the plain
    /// length and the replay id `(id, time)` (`None` without protection). Replay checking is
    /// the caller's job ([`ControlCrypto`] does it).
    pub fn unwrap(
        &self,
        wire: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, Option<(u32, u32)>), CryptoError> {
        let (op, _) = split_first_byte(wire)?;
        if op.is_data() {
            return Err(CryptoError::Wire(WireError::UnexpectedOpcode {
                opcode: op.value(),
                expected: "control opcode",
            }));
        }
        let ov = self.overhead();
        if wire.len() < HDR + ov {
            return Err(short("control protection header", HDR + ov, wire.len()));
        }
        let need = wire.len() - ov;
        if out.len() < need {
            return Err(too_small(need, out.len()));
        }
        let head = &wire[..HDR];
        let rd = |b: &[u8]| {
            (
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            )
        };
        match self {
            ControlWrap::None => {
                out[..need].copy_from_slice(wire);
                Ok((need, None))
            }
            ControlWrap::Auth(a) => {
                let n = a.hmac_len();
                let mac = &wire[HDR..HDR + n];
                let rp = &wire[HDR + n..HDR + n + REPLAY_LEN];
                let body = &wire[HDR + n + REPLAY_LEN..];
                if !a.digest.verify(&a.recv.hmac[..n], &[rp, head, body], mac) {
                    return Err(CryptoError::BadAuth {
                        what: "tls-auth HMAC",
                    });
                }
                out[..HDR].copy_from_slice(head);
                out[HDR..need].copy_from_slice(body);
                Ok((need, Some(rd(rp))))
            }
            ControlWrap::Crypt(c) => {
                let rp = &wire[HDR..HDR + REPLAY_LEN];
                let tag = &wire[HDR + REPLAY_LEN..HDR + REPLAY_LEN + TLS_CRYPT_TAG_LEN];
                let ct = &wire[HDR + REPLAY_LEN + TLS_CRYPT_TAG_LEN..];
                let body = &mut out[HDR..need];
                body.copy_from_slice(ct);
                TlsCrypt::ctr(&c.recv, tag, body);
                let mut full = [0u8; MAX_DIGEST_LEN];
                Digest::Sha256.hmac(
                    &c.recv.hmac[..32],
                    &[&wire[..HDR + REPLAY_LEN], &out[HDR..need]],
                    &mut full,
                );
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    &full[..TLS_CRYPT_TAG_LEN],
                    tag,
                )) {
                    out[HDR..need].zeroize();
                    return Err(CryptoError::BadAuth {
                        what: "tls-crypt tag",
                    });
                }
                out[..HDR].copy_from_slice(head);
                Ok((need, Some(rd(rp))))
            }
        }
    }
}

/// Split a `P_CONTROL_HARD_RESET_CLIENT_V3` / `P_CONTROL_WKC_V1` packet into the
/// tls-crypt part and the trailing WKc (whose last two bytes give its length).
pub fn split_wkc(wire: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    if wire.len() < 3 {
        return Err(short("wkc length", 3, wire.len()));
    }
    let l = usize::from(u16::from_be_bytes([
        wire[wire.len() - 2],
        wire[wire.len() - 1],
    ]));
    if l < 2 || l + 1 > wire.len() {
        return Err(CryptoError::Wire(WireError::Invalid {
            field: "wkc_len",
            reason: "longer than the packet",
        }));
    }
    Ok(wire.split_at(wire.len() - l))
}

/// Stateful control-channel protection: the wrap mode, the send replay counter and the
/// receive replay window (one per session).
#[derive(Clone, Debug)]
pub struct ControlCrypto {
    /// The wrap mode.
    pub wrap: ControlWrap,
    /// tls-crypt-v2 WKc to append to `HARD_RESET_CLIENT_V3` / `WKC_V1` (client side).
    pub wkc: Option<Vec<u8>>,
    next_replay_id: u32,
    window: ReplayWindow,
    /// dyn-tls-crypt: the wrap for packets of key ids > 0, with its own replay state.
    reneg: Option<Box<RenegWrap>>,
}

/// The dynamic tls-crypt wrap of renegotiation packets.
#[derive(Clone, Debug)]
struct RenegWrap {
    wrap: ControlWrap,
    next_replay_id: u32,
    window: ReplayWindow,
}

impl ControlCrypto {
    /// New state; the first replay id sent is `first_id` (1, or [`crate::wire::EARLY_NEG_START`]
    /// for a client announcing early negotiation).
    pub fn new(wrap: ControlWrap, first_id: u32) -> Self {
        ControlCrypto {
            wrap,
            wkc: None,
            next_replay_id: first_id.max(1),
            window: ReplayWindow::new(64),
            reneg: None,
        }
    }

    /// dyn-tls-crypt (OpenVPN 2.6 `protocol-flags dyn-tls-crypt`): from now on, packets of
    /// key ids > 0 (renegotiations) are protected with tls-crypt under `ekm` (256 bytes from
    /// the TLS exporter, label `EXPORTER-OpenVPN-dynamic-tls-crypt`), XORed with
    /// `tls_crypt_key`, the configured tls-crypt / tls-crypt-v2 client key when there is
    /// one; key id 0 keeps the configured wrap. `server` selects the key direction as for
    /// tls-crypt.
    pub fn enable_dynamic_tls_crypt(
        &mut self,
        ekm: &[u8; 256],
        tls_crypt_key: Option<&StaticKey>,
        server: bool,
    ) {
        let mut k = *ekm;
        if let Some(base) = tls_crypt_key {
            let mut b = base.to_bytes();
            for (a, x) in k.iter_mut().zip(b.iter()) {
                *a ^= x;
            }
            b.zeroize();
        }
        if let Ok(key) = StaticKey::from_bytes(&k) {
            self.reneg = Some(Box::new(RenegWrap {
                wrap: ControlWrap::Crypt(TlsCrypt::new(&key, server)),
                next_replay_id: 1,
                window: ReplayWindow::new(64),
            }));
        }
        k.zeroize();
    }

    /// Continue sending at replay id `id` (at least the current one): the stateless server
    /// handshake already used replay id 1 for its reset (`cookie.rs`).
    pub fn skip_replay_ids_to(&mut self, id: u32) {
        self.next_replay_id = self.next_replay_id.max(id);
    }

    /// Whether dyn-tls-crypt is active.
    pub fn dynamic_tls_crypt(&self) -> bool {
        self.reneg.is_some()
    }

    /// Bytes added to a plain packet, whichever wrap its key id uses (including a WKc when
    /// `with_wkc`).
    pub fn overhead(&self, with_wkc: bool) -> usize {
        let reneg = self.reneg.as_ref().map_or(0, |r| r.wrap.overhead());
        self.wrap.overhead().max(reneg)
            + if with_wkc {
                self.wkc.as_ref().map_or(0, Vec::len)
            } else {
                0
            }
    }

    /// Wrap and advance the replay counter; appends WKc for V3/WKC opcodes.
    pub fn seal(
        &mut self,
        plain: &[u8],
        net_time: u32,
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        let (op, kid) = split_first_byte(plain)?;
        if let (Some(r), true) = (self.reneg.as_mut(), kid > 0) {
            if r.next_replay_id == u32::MAX {
                return Err(CryptoError::PacketIdExhausted);
            }
            let n = r.wrap.wrap(plain, (r.next_replay_id, net_time), out)?;
            r.next_replay_id += 1;
            return Ok(n);
        }
        if self.next_replay_id == u32::MAX {
            return Err(CryptoError::PacketIdExhausted);
        }
        let n = self
            .wrap
            .wrap(plain, (self.next_replay_id, net_time), out)?;
        let mut total = n;
        if matches!(op, Opcode::ControlHardResetClientV3 | Opcode::ControlWkcV1) {
            if let Some(w) = &self.wkc {
                let need = n + w.len();
                if out.len() < need {
                    return Err(too_small(need, out.len()));
                }
                out[n..need].copy_from_slice(w);
                total = need;
            }
        }
        self.next_replay_id += 1;
        Ok(total)
    }

    /// Unwrap, check and record the replay id. For V3/WKC packets the WKc must already be
    /// split off (see [`split_wkc`]).
    pub fn open(&mut self, wire: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        let (_, kid) = split_first_byte(wire)?;
        if let (Some(r), true) = (self.reneg.as_mut(), kid > 0) {
            let (n, rp) = r.wrap.unwrap(wire, out)?;
            if let Some((id, t)) = rp {
                if !r.window.check_long(id, t) {
                    return Err(CryptoError::Replay { packet_id: id });
                }
                r.window.update_long(id, t);
            }
            return Ok(n);
        }
        let (n, rp) = self.wrap.unwrap(wire, out)?;
        if let Some((id, t)) = rp {
            if !self.window.check_long(id, t) {
                return Err(CryptoError::Replay { packet_id: id });
            }
            self.window.update_long(id, t);
        }
        Ok(n)
    }
}
