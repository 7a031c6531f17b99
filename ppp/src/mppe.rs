//! MPPE, Microsoft Point-to-Point Encryption (RFC 3078), with its keys (RFC 3079).
//!
//! MPPE encrypts PPP packets with RC4 once CCP (RFC 1962, protocol 0x80FD) has agreed on it
//! through option 18. It needs key material that only MS-CHAP (v1 or v2, also inside EAP)
//! produces, so a session authenticated with PAP or CHAP-MD5 cannot encrypt.
//!
//! # Keys (RFC 3079)
//!
//! ```text
//!  MS-CHAPv2:  MasterKey = SHA1(PasswordHashHash | NT-Response | magic)[0..16]     (s3.4)
//!              StartKey  = SHA1(MasterKey | pad1 | Magic2 or Magic3 | pad2)[0..len]
//!                          Magic2/Magic3 swap between client and server, so the client's
//!                          send key is the server's receive key.
//!  MS-CHAPv1:  StartKey  = SHA1(PasswordHashHash | PasswordHashHash | Challenge)[0..16]
//!              (s2.4; the same key in both directions)
//!  40/56-bit:  the first 8 octets of the start key (RFC 3079 s2.1/2.2 also describe an
//!              LM-hash variant for MS-CHAPv1, provided here as [`mschap1_lm_start_key`]).
//!
//!  initial session key  = reduce(GetNewKeyFromSHA(StartKey, StartKey))
//!  key change           = reduce(RC4[interim](interim)),
//!                         interim = GetNewKeyFromSHA(StartKey, SessionKey)            (3078 s7.3)
//!  reduce: 40-bit keys start D1 26 9E, 56-bit keys start D1, 128-bit keys are unchanged.
//! ```
//!
//! Every key change re-initialises the RC4 state with the new session key; between key
//! changes the RC4 keystream runs on across packets. A packet whose A bit is set is the first
//! after a key change.
//!
//! # The packet (RFC 3078 s3)
//!
//! ```text
//!  PPP protocol 0x00FD
//!  +-+-+-+-+-------------------------+----------------------------------------+
//!  |A|B|C|D| coherency count (12 bits)| RC4( original protocol (2) | payload ) |
//!  +-+-+-+-+-------------------------+----------------------------------------+
//!  A "flushed": the sender changed its key (and restarted RC4) before this packet
//!  B, C: MPPC compression bits (never set here), D: encrypted (always set)
//! ```
//!
//! The overhead is 4 octets (2 of header, 2 of the inner protocol field), which is why the
//! session's MTU shrinks by [`OVERHEAD`] while MPPE is up (RouterOS: "MTU will be reduced by
//! 4 bytes").
//!
//! # Stateless and stateful
//!
//! * **Stateless** (the H bit of option 18, RouterOS's "MPPE128 stateless"): the sender
//!   changes the key before *every* packet and sets A. A receiver that sees the coherency
//!   count jump by `n` changes its key `n` times: lost packets cost nothing but the key
//!   changes, no CCP messages are needed.
//! * **Stateful**: the key changes only on "flag" packets, whose coherency count ends in
//!   `0xFF` (every 256 packets), and these carry A; in between, the RC4 stream continues, so
//!   the receiver must see every packet. When the count jumps, the receiver drops packets and
//!   sends a CCP Reset-Request; the sender answers with a Reset-Ack and flushes: it changes
//!   the key once more and sets A on the next packet. The receiver catches up with the key
//!   changes of the flag packets it missed (one per 256-block of the count it moved into),
//!   then makes the flushed packet's own key change, and decryption resumes (RFC 3078 s8.2;
//!   the same rule as Linux's `ppp_mppe`, which interoperates with Windows).
//!
//! Decryption takes the packet in place and never allocates. A malformed header, an
//! unencrypted or compressed packet, a packet from the past and (stateful) every packet
//! between a loss and the next flushed one are dropped with a typed [`DropReason`].

use crate::mschap;
use rc4::consts::{U16, U8};
use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};
use zeroize::Zeroize;

/// Octets MPPE adds to a packet: the 2-octet header and the 2-octet inner protocol field.
pub const OVERHEAD: usize = 4;

/// CCP option type of MPPE (RFC 3078 s2).
pub const CCP_OPTION: u8 = 18;

/// Bits of the 32-bit "Supported Bits" word of CCP option 18 (RFC 3078 s2.1).
pub mod bits {
    /// H: stateless mode.
    pub const H: u32 = 0x0100_0000;
    /// M: 56-bit keys.
    pub const M: u32 = 0x0000_0080;
    /// S: 128-bit keys.
    pub const S: u32 = 0x0000_0040;
    /// L: 40-bit keys.
    pub const L: u32 = 0x0000_0020;
    /// D: obsolete (never offered).
    pub const D: u32 = 0x0000_0010;
    /// C: MPPC compression (not implemented; never offered).
    pub const C: u32 = 0x0000_0001;
    /// The key-length bits.
    pub const STRENGTHS: u32 = M | S | L;
}

/// MPPE header flag bits (first octet of the packet, RFC 3078 s3).
pub mod flags {
    /// A: flushed (a key change, RC4 restarted, before this packet).
    pub const FLUSHED: u8 = 0x80;
    /// B: MPPC "history reset".
    pub const B: u8 = 0x40;
    /// C: MPPC compressed.
    pub const COMPRESSED: u8 = 0x20;
    /// D: encrypted.
    pub const ENCRYPTED: u8 = 0x10;
}

/// Coherency counts are 12 bits.
const CCOUNT_MASK: u16 = 0x0fff;

/// The length of the MPPE session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyStrength {
    /// 40-bit (an 8-octet RC4 key whose first 3 octets are fixed).
    Bits40,
    /// 56-bit (an 8-octet RC4 key whose first octet is fixed).
    Bits56,
    /// 128-bit (a 16-octet RC4 key).
    Bits128,
}

impl KeyStrength {
    /// RC4 key length in octets.
    pub fn key_len(self) -> usize {
        match self {
            KeyStrength::Bits128 => 16,
            _ => 8,
        }
    }
    /// The option-18 bit.
    pub fn bit(self) -> u32 {
        match self {
            KeyStrength::Bits40 => bits::L,
            KeyStrength::Bits56 => bits::M,
            KeyStrength::Bits128 => bits::S,
        }
    }
    /// Key length in bits (40, 56, 128).
    pub fn bits(self) -> u32 {
        match self {
            KeyStrength::Bits40 => 40,
            KeyStrength::Bits56 => 56,
            KeyStrength::Bits128 => 128,
        }
    }
    /// The strongest strength whose bit is in `word`.
    pub fn strongest_in(word: u32) -> Option<Self> {
        [
            KeyStrength::Bits128,
            KeyStrength::Bits56,
            KeyStrength::Bits40,
        ]
        .into_iter()
        .find(|s| word & s.bit() != 0)
    }
}

/// What one direction of MPPE runs with: the key strength and the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MppeParams {
    /// Key length.
    pub strength: KeyStrength,
    /// Stateless (H bit): a key change before every packet.
    pub stateless: bool,
}

impl MppeParams {
    /// The option-18 supported-bits word naming exactly these parameters.
    pub fn to_bits(self) -> u32 {
        self.strength.bit() | if self.stateless { bits::H } else { 0 }
    }
    /// Parameters from a word naming exactly one strength (`None` otherwise).
    pub fn from_bits(word: u32) -> Option<Self> {
        let s = word & bits::STRENGTHS;
        if s.count_ones() != 1 {
            return None;
        }
        Some(MppeParams {
            strength: KeyStrength::strongest_in(s)?,
            stateless: word & bits::H != 0,
        })
    }
    /// The RouterOS encoding string: `MPPE128 stateless`, `MPPE40 stateful`.
    pub fn encoding(self) -> String {
        format!(
            "MPPE{} {}",
            self.strength.bits(),
            if self.stateless {
                "stateless"
            } else {
                "stateful"
            }
        )
    }
}

// ----- key derivation (RFC 3079) -----

const SHS_PAD1: [u8; 40] = [0u8; 40];
const SHS_PAD2: [u8; 40] = [0xf2u8; 40];

/// GetNewKeyFromSHA (RFC 3079 s3.3 / RFC 3078 s7.3): SHA1(start | pad1 | session | pad2),
/// truncated to the length of `session` (8 or 16 octets), written into `out`.
pub fn get_new_key_from_sha(start: &[u8], session: &[u8], out: &mut [u8]) {
    let mut h = Sha1::new();
    h.update(start);
    h.update(SHS_PAD1);
    h.update(session);
    h.update(SHS_PAD2);
    let d = h.finalize();
    let n = out.len().min(20);
    out[..n].copy_from_slice(&d[..n]);
}

/// The fixed prefix of reduced keys (RFC 3078 s7.1, RFC 3079 s2.1/2.2).
fn reduce(strength: KeyStrength, key: &mut [u8]) {
    match strength {
        KeyStrength::Bits40 => key[..3].copy_from_slice(&[0xd1, 0x26, 0x9e]),
        KeyStrength::Bits56 => key[0] = 0xd1,
        KeyStrength::Bits128 => {}
    }
}

/// RC4 with either key length, from the `rc4` crate.
enum Cipher {
    K8(Rc4<U8>),
    K16(Rc4<U16>),
}

impl Cipher {
    fn new(key: &[u8]) -> Self {
        match key.len() {
            16 => Cipher::K16(Rc4::<U16>::new(key.into())),
            // Key lengths are 8 or 16 by construction ([`KeyStrength::key_len`]).
            _ => {
                let mut k = [0u8; 8];
                let n = key.len().min(8);
                k[..n].copy_from_slice(&key[..n]);
                let c = Cipher::K8(Rc4::<U8>::new((&k).into()));
                k.zeroize();
                c
            }
        }
    }
    fn apply(&mut self, data: &mut [u8]) {
        match self {
            Cipher::K8(c) => c.apply_keystream(data),
            Cipher::K16(c) => c.apply_keystream(data),
        }
    }
}

/// RC4-encrypt (or decrypt) `data` in place with a fresh RC4 state keyed by `key` (8 or 16
/// octets): the `rc4(key, "test message")` lines of RFC 3079 s3.5.
pub fn rc4_once(key: &[u8], data: &mut [u8]) {
    Cipher::new(key).apply(data);
}

/// One direction's key chain: the start key (fixed) and the current session key.
#[derive(Clone)]
pub struct KeyChain {
    strength: KeyStrength,
    start: [u8; 16],
    session: [u8; 16],
}

impl Drop for KeyChain {
    fn drop(&mut self) {
        self.start.zeroize();
        self.session.zeroize();
    }
}

impl std::fmt::Debug for KeyChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyChain({:?}, ..)", self.strength)
    }
}

impl KeyChain {
    /// A chain from a start key (at least [`KeyStrength::key_len`] octets; the first `len`
    /// are used), with the initial session key derived: `reduce(GetNewKeyFromSHA(start,
    /// start))` (RFC 3079 s2.5, s3.5 samples).
    pub fn new(strength: KeyStrength, start_key: &[u8]) -> Option<Self> {
        let len = strength.key_len();
        let sk = start_key.get(..len)?;
        let mut c = KeyChain {
            strength,
            start: [0; 16],
            session: [0; 16],
        };
        c.start[..len].copy_from_slice(sk);
        let mut s = [0u8; 16];
        get_new_key_from_sha(&c.start[..len], &c.start[..len], &mut s[..len]);
        reduce(strength, &mut s[..len]);
        c.session = s;
        s.zeroize();
        Some(c)
    }

    /// The strength.
    pub fn strength(&self) -> KeyStrength {
        self.strength
    }

    /// The start key (`key_len` octets).
    pub fn start_key(&self) -> &[u8] {
        &self.start[..self.strength.key_len()]
    }

    /// The current session key (`key_len` octets).
    pub fn session_key(&self) -> &[u8] {
        &self.session[..self.strength.key_len()]
    }

    /// Change the session key (RFC 3078 s7.3): interim = GetNewKeyFromSHA(start, session);
    /// session = RC4 keyed with `interim` applied to `interim`, reduced.
    pub fn change_key(&mut self) {
        let len = self.strength.key_len();
        let mut interim = [0u8; 16];
        get_new_key_from_sha(
            &self.start[..len],
            &self.session[..len],
            &mut interim[..len],
        );
        let mut next = interim;
        rc4_once(&interim[..len], &mut next[..len]);
        reduce(self.strength, &mut next[..len]);
        self.session = next;
        interim.zeroize();
        next.zeroize();
    }
}

/// LmPasswordHash (RFC 2433 A.2): DES("KGS!@#$%") under each half of the upper-cased,
/// zero-padded 14-octet OEM password.
pub fn lm_password_hash(password: &str) -> [u8; 16] {
    let mut p = [0u8; 14];
    for (d, s) in p.iter_mut().zip(password.bytes()) {
        *d = s.to_ascii_uppercase();
    }
    let mut out = [0u8; 16];
    for i in 0..2 {
        let mut k = [0u8; 7];
        k.copy_from_slice(&p[i * 7..i * 7 + 7]);
        out[i * 8..i * 8 + 8].copy_from_slice(&mschap::des_encrypt_block(&k, b"KGS!@#$%"));
        k.zeroize();
    }
    p.zeroize();
    out
}

/// MS-CHAPv1 40/56-bit start key of RFC 3079 s2.1/s2.2: the first 8 octets of the LM
/// password hash.
pub fn mschap1_lm_start_key(password: &str) -> [u8; 8] {
    let h = lm_password_hash(password);
    let mut k = [0u8; 8];
    k.copy_from_slice(&h[..8]);
    k
}

/// Which MS-CHAP version produced the key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// MS-CHAPv1 (RFC 3079 s2): one key for both directions.
    MsChap1,
    /// MS-CHAPv2, also inside EAP (RFC 3079 s3): a send and a receive key.
    MsChap2,
}

/// The (send, receive) start keys of one side, 16 octets each (40/56-bit use the first 8).
///
/// For MS-CHAPv2 `keys.send_key` / `keys.recv_key` are already this side's
/// (GetAsymmetricStartKey with the side's Magic); for MS-CHAPv1 both are the s2.4 key.
pub fn start_keys(keys: &mschap::MsChapKeys) -> ([u8; 16], [u8; 16]) {
    (keys.send_key, keys.recv_key)
}

// ----- the packet -----

/// Why a received MPPE packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Shorter than the 2-octet header plus one octet of protocol.
    Truncated,
    /// The D (encrypted) bit is clear, the B/C (MPPC compression) bits are set, or A is
    /// missing where a key change is due (stateless, or a stateful flag packet).
    BadHeader,
    /// Stateful: the coherency count is not the next one; a Reset-Request goes out.
    CoherencyJump,
    /// Stateful: discarding until the sender's next flushed packet.
    AwaitingFlush,
    /// The count is behind the last one accepted (a duplicate or a reordered packet).
    Stale,
    /// MPPE is not up in this direction.
    NotNegotiated,
}

/// The 2-octet MPPE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The flag bits (the high 4 bits of the first octet: [`flags`]).
    pub flags: u8,
    /// The 12-bit coherency count.
    pub coherency: u16,
}

impl Header {
    /// Parse the header at the start of an MPPE packet (the information field of a 0x00FD
    /// frame). Never panics.
    pub fn parse(b: &[u8]) -> Result<Self, DropReason> {
        let (&a, &c) = match b {
            [a, c, ..] => (a, c),
            _ => return Err(DropReason::Truncated),
        };
        Ok(Header {
            flags: a & 0xf0,
            coherency: (u16::from(a & 0x0f) << 8) | u16::from(c),
        })
    }
    /// The two header octets.
    pub fn to_bytes(self) -> [u8; 2] {
        let v = (u16::from(self.flags & 0xf0) << 8) | (self.coherency & CCOUNT_MASK);
        v.to_be_bytes()
    }
    /// A: flushed.
    pub fn flushed(self) -> bool {
        self.flags & flags::FLUSHED != 0
    }
}

/// The sending half of MPPE.
pub struct Encryptor {
    params: MppeParams,
    keys: KeyChain,
    rc4: Cipher,
    /// Count of the last packet sent (the first packet carries 0).
    ccount: u16,
    flush_pending: bool,
    /// Packets sent.
    pub packets: u64,
    /// Flushes done in answer to a Reset-Request.
    pub flushes: u64,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("params", &self.params)
            .field("ccount", &self.ccount)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// An encryptor from this side's send start key.
    pub fn new(params: MppeParams, start_key: &[u8]) -> Option<Self> {
        let keys = KeyChain::new(params.strength, start_key)?;
        let rc4 = Cipher::new(keys.session_key());
        Some(Encryptor {
            params,
            keys,
            rc4,
            ccount: CCOUNT_MASK,
            flush_pending: false,
            packets: 0,
            flushes: 0,
        })
    }

    /// The parameters.
    pub fn params(&self) -> MppeParams {
        self.params
    }

    /// The peer sent a Reset-Request: flush before the next packet (stateful mode).
    pub fn reset_requested(&mut self) {
        self.flush_pending = true;
    }

    /// Length of the MPPE information field for a payload of `payload_len` octets.
    pub fn output_len(payload_len: usize) -> usize {
        payload_len + OVERHEAD
    }

    /// Encrypt `payload` of PPP protocol `protocol` into `out` as an MPPE information field
    /// (header, then the encrypted protocol and payload). Returns the length written. No
    /// allocation; `out` is untouched when too small.
    pub fn encrypt(
        &mut self,
        protocol: u16,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, crate::BufferTooSmall> {
        let n = Self::output_len(payload.len());
        if out.len() < n {
            return Err(crate::BufferTooSmall {
                need: n,
                have: out.len(),
            });
        }
        self.ccount = (self.ccount + 1) & CCOUNT_MASK;
        let mut fl = flags::ENCRYPTED;
        // Stateless: every packet. Stateful: the flag packet (count ending in 0xFF) and the
        // first packet after a Reset-Request. One key change each, even when both apply.
        if self.params.stateless || self.ccount & 0xff == 0xff || self.flush_pending {
            if self.flush_pending && !self.params.stateless {
                self.flushes += 1;
            }
            self.flush_pending = false;
            self.keys.change_key();
            self.rc4 = Cipher::new(self.keys.session_key());
            fl |= flags::FLUSHED;
        }
        out[..2].copy_from_slice(
            &Header {
                flags: fl,
                coherency: self.ccount,
            }
            .to_bytes(),
        );
        out[2..4].copy_from_slice(&protocol.to_be_bytes());
        out[4..n].copy_from_slice(payload);
        self.rc4.apply(&mut out[2..n]);
        self.packets += 1;
        Ok(n)
    }
}

/// Stateful resynchronisation: how many lost flushed packets (each one an extra key change
/// at the sender) the receiver tries to make up for.
const MAX_LOST_FLUSHES: usize = 3;

/// Would `keys` decrypt the inner protocol field of `pkt` (header at 0..2) to a network
/// protocol in the range MPPE carries (0x0021..=0x00FA, RFC 1661 s2 numbering)? Works on a
/// copy of two octets; `pkt` is untouched.
fn plausible_protocol(keys: &KeyChain, pkt: &[u8]) -> bool {
    let mut p = match pkt.get(2..4) {
        Some(&[a, b]) => [a, b],
        _ => return false,
    };
    Cipher::new(keys.session_key()).apply(&mut p);
    p[0] == 0 && p[1] & 1 == 1 && (0x21..=0xfa).contains(&p[1])
}

/// What [`Decryptor::decrypt`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// The inner PPP protocol.
    pub protocol: u16,
    /// Offset of the payload in the buffer passed to `decrypt`.
    pub offset: usize,
}

/// The receiving half of MPPE.
pub struct Decryptor {
    params: MppeParams,
    keys: KeyChain,
    rc4: Cipher,
    /// Count of the last packet accepted.
    ccount: u16,
    discarding: bool,
    /// Packets decrypted.
    pub packets: u64,
    /// Packets dropped, by reason (`[Truncated, BadHeader, CoherencyJump, AwaitingFlush,
    /// Stale]`).
    pub drops: [u64; 5],
    /// Resynchronisations completed (stateful: a flushed packet after a loss).
    pub resyncs: u64,
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor")
            .field("params", &self.params)
            .field("ccount", &self.ccount)
            .field("discarding", &self.discarding)
            .finish_non_exhaustive()
    }
}

impl Decryptor {
    /// A decryptor from this side's receive start key.
    pub fn new(params: MppeParams, start_key: &[u8]) -> Option<Self> {
        let keys = KeyChain::new(params.strength, start_key)?;
        let rc4 = Cipher::new(keys.session_key());
        Some(Decryptor {
            params,
            keys,
            rc4,
            ccount: CCOUNT_MASK,
            discarding: false,
            packets: 0,
            drops: [0; 5],
            resyncs: 0,
        })
    }

    /// The parameters.
    pub fn params(&self) -> MppeParams {
        self.params
    }

    /// True while (stateful) packets are discarded until a flushed one arrives.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    fn drop(&mut self, r: DropReason) -> Result<Decrypted, DropReason> {
        let i = match r {
            DropReason::Truncated => 0,
            DropReason::BadHeader => 1,
            DropReason::CoherencyJump => 2,
            DropReason::AwaitingFlush => 3,
            _ => 4,
        };
        self.drops[i] += 1;
        Err(r)
    }

    /// Decrypt an MPPE information field in place. On success the inner protocol and the
    /// payload offset are returned (`buf[offset..]` is the cleartext payload). On
    /// [`DropReason::CoherencyJump`] the caller sends a CCP Reset-Request (stateful).
    /// Never panics, never allocates.
    pub fn decrypt(&mut self, buf: &mut [u8]) -> Result<Decrypted, DropReason> {
        let h = match Header::parse(buf) {
            Ok(h) if buf.len() >= 3 => h,
            _ => return self.drop(DropReason::Truncated),
        };
        if h.flags & flags::ENCRYPTED == 0 || h.flags & (flags::B | flags::COMPRESSED) != 0 {
            return self.drop(DropReason::BadHeader);
        }
        // Every stateless packet and every stateful flag packet changes the key, so it must
        // say so with A.
        if !h.flushed() && (self.params.stateless || h.coherency & 0xff == 0xff) {
            return self.drop(DropReason::BadHeader);
        }
        let c = h.coherency;
        // Forward distance from the last accepted count, 1..=4095 (0 = a repeat).
        let dist = c.wrapping_sub(self.ccount) & CCOUNT_MASK;
        if dist == 0 || dist > CCOUNT_MASK / 2 {
            return self.drop(DropReason::Stale);
        }
        if self.params.stateless {
            // One key change per packet sent, including the ones lost.
            for _ in 0..dist {
                self.keys.change_key();
            }
            self.rc4 = Cipher::new(self.keys.session_key());
        } else {
            if !self.discarding && dist != 1 {
                self.discarding = true;
                return self.drop(DropReason::CoherencyJump);
            }
            if self.discarding {
                if !h.flushed() {
                    return self.drop(DropReason::AwaitingFlush);
                }
                // Catch up with the key changes of the flag packets we missed: one per
                // 256-block of the count moved into (RFC 3078 s8.2, as Linux ppp_mppe does),
                // plus the flushed packet's own. If an earlier flushed packet (answering an
                // earlier Reset-Request) was lost too, the sender changed its key once more
                // per such loss: try up to MAX_LOST_FLUSHES extra changes and keep the first
                // whose decrypted protocol field is a plausible network protocol.
                let blocks = ((c >> 8).wrapping_sub(self.ccount >> 8)) & 0x0f;
                let mut base = self.keys.clone();
                for _ in 0..blocks {
                    base.change_key();
                }
                let mut chosen = None;
                let mut k = base.clone();
                for _ in 0..=MAX_LOST_FLUSHES {
                    k.change_key();
                    if plausible_protocol(&k, buf) {
                        chosen = Some(k.clone());
                        break;
                    }
                }
                self.keys = match chosen {
                    Some(k) => k,
                    None => {
                        base.change_key();
                        base
                    }
                };
                self.rc4 = Cipher::new(self.keys.session_key());
                self.discarding = false;
                self.resyncs += 1;
            } else if h.flushed() {
                // A flag packet: one key change.
                self.keys.change_key();
                self.rc4 = Cipher::new(self.keys.session_key());
            }
        }
        self.ccount = c;
        self.rc4.apply(&mut buf[2..]);
        // The inner protocol field; a peer may compress it to one octet (odd first octet).
        let (protocol, offset) = match buf.get(2..) {
            Some([p, ..]) if p & 1 == 1 => (u16::from(*p), 3),
            Some([a, b, ..]) => (u16::from_be_bytes([*a, *b]), 4),
            _ => return self.drop(DropReason::Truncated),
        };
        self.packets += 1;
        Ok(Decrypted { protocol, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mschap::{
        generate_nt_response, get_asymmetric_start_key, mschap1_keys, mschap2_keys,
    };

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn rfc2759_nt_response() -> [u8; 24] {
        let auth: [u8; 16] = h("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
            .try_into()
            .unwrap();
        let peer: [u8; 16] = h("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
            .try_into()
            .unwrap();
        generate_nt_response(&auth, &peer, b"User", "clientPass")
    }

    /// RFC 3079 s3.5.1-3.5.3, all three key lengths; the sample is the server's send key
    /// (= the client's receive key), as `mschap::tests::rfc2759_9_2` establishes.
    #[test]
    fn rfc3079_3_5_mschap2_keys() {
        let nt = rfc2759_nt_response();
        let server = mschap2_keys("clientPass", &nt, true);
        let client = mschap2_keys("clientPass", &nt, false);
        assert_eq!(
            server.master_key.to_vec(),
            h("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
        );
        // Both directions: server send == client receive, and vice versa.
        assert_eq!(server.send_key, client.recv_key);
        assert_eq!(server.recv_key, client.send_key);
        assert_ne!(server.send_key, server.recv_key);
        let msg = b"test message";
        let cases = [
            (
                KeyStrength::Bits40,
                "8B 7C DC 14 9B 99 3A 1B",
                "D1 26 9E C4 9F A6 2E 3E",
                "92 91 37 91 7E 58 03 D6 68 D7 58 98",
            ),
            (
                KeyStrength::Bits56,
                "8B 7C DC 14 9B 99 3A 1B",
                "D1 5C 00 C4 9F A6 2E 3E",
                "3F 10 68 33 FA 44 8D A8 42 BC 57 58",
            ),
            (
                KeyStrength::Bits128,
                "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB",
                "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4",
                "81 84 83 17 DF 68 84 62 72 FB 5A BE",
            ),
        ];
        for (s, start, session, ct) in cases {
            let len = s.key_len();
            assert_eq!(
                get_asymmetric_start_key(&server.master_key, len, true, true),
                h(start)
            );
            // Server send and client receive give the same chain.
            let tx = KeyChain::new(s, &server.send_key).unwrap();
            let rx = KeyChain::new(s, &client.recv_key).unwrap();
            assert_eq!(tx.start_key(), h(start).as_slice(), "{s:?}");
            assert_eq!(tx.session_key(), h(session).as_slice(), "{s:?}");
            assert_eq!(rx.session_key(), tx.session_key());
            let mut m = *msg;
            rc4_once(tx.session_key(), &mut m);
            if s == KeyStrength::Bits56 {
                // The s3.5.2 sample prints the last octet as `58`; the key above (which
                // matches the RFC) gives `B8`, and the first 11 octets agree, so the RC4
                // keystream is right and the last printed octet is a typo (reported in the
                // spec notes, like the s2.5.3 one).
                assert_eq!(m[..11], h(ct)[..11], "{s:?}");
                assert_eq!(m[11], 0xb8);
            } else {
                assert_eq!(m.to_vec(), h(ct), "{s:?}");
            }
            // The other direction is a different key.
            let other = KeyChain::new(s, &server.recv_key).unwrap();
            assert_ne!(other.session_key(), tx.session_key());
        }
    }

    /// RFC 3079 s2.5.1 / s2.5.2: MS-CHAPv1 40- and 56-bit keys from the LM hash.
    #[test]
    fn rfc3079_2_5_1_and_2_lm_keys() {
        let lm = lm_password_hash("clientPass");
        assert_eq!(
            lm.to_vec(),
            h("76 a1 52 93 60 96 d7 83 0e 23 90 22 74 04 af d2")
        );
        let start = mschap1_lm_start_key("clientPass");
        let mut k = [0u8; 8];
        get_new_key_from_sha(&start, &start, &mut k);
        assert_eq!(k.to_vec(), h("d8 08 01 53 8c ec 4a 08"));
        let k40 = KeyChain::new(KeyStrength::Bits40, &start).unwrap();
        assert_eq!(k40.session_key(), h("d1 26 9e 53 8c ec 4a 08").as_slice());
        let k56 = KeyChain::new(KeyStrength::Bits56, &start).unwrap();
        assert_eq!(k56.session_key(), h("d1 08 01 53 8c ec 4a 08").as_slice());
    }

    /// RFC 3079 s2.5.3: MS-CHAPv1 128-bit keys (both directions use the same key).
    #[test]
    fn rfc3079_2_5_3_mschap1_128() {
        let c: [u8; 8] = h("10 2d b5 df 08 5d 30 41").try_into().unwrap();
        let k = mschap1_keys("clientPass", &c);
        assert_eq!(
            k.master_key.to_vec(),
            h("a8 94 78 50 cf c0 ac c1 d1 78 9f b6 2d dc dd b0")
        );
        let (tx, rx) = start_keys(&k);
        assert_eq!(tx, rx);
        let chain = KeyChain::new(KeyStrength::Bits128, &tx).unwrap();
        assert_eq!(
            chain.session_key(),
            h("59 d1 59 bc 09 f7 6f 1d a2 a8 6a 28 ff ec 0b 1e").as_slice()
        );
    }

    /// A key change is GetNewKeyFromSHA, then RC4 of the interim key under itself, then
    /// the reduction (RFC 3078 s7.3), computed here step by step against `change_key`.
    #[test]
    fn key_change_steps() {
        for s in [
            KeyStrength::Bits40,
            KeyStrength::Bits56,
            KeyStrength::Bits128,
        ] {
            let start = [7u8; 16];
            let mut c = KeyChain::new(s, &start).unwrap();
            let len = s.key_len();
            let before = c.session_key().to_vec();
            let mut interim = vec![0u8; len];
            get_new_key_from_sha(&start[..len], &before, &mut interim);
            let mut want = interim.clone();
            rc4_once(&interim, &mut want);
            reduce(s, &mut want);
            c.change_key();
            assert_eq!(c.session_key(), want.as_slice(), "{s:?}");
            assert_ne!(c.session_key(), before.as_slice());
        }
    }

    fn pair(p: MppeParams) -> (Encryptor, Decryptor) {
        let nt = rfc2759_nt_response();
        let server = mschap2_keys("clientPass", &nt, true);
        let client = mschap2_keys("clientPass", &nt, false);
        (
            Encryptor::new(p, &server.send_key).unwrap(),
            Decryptor::new(p, &client.recv_key).unwrap(),
        )
    }

    fn send(e: &mut Encryptor, n: u8) -> Vec<u8> {
        let payload = [n; 40];
        let mut out = [0u8; 64];
        let len = e.encrypt(0x0021, &payload, &mut out).unwrap();
        out[..len].to_vec()
    }

    fn recv(d: &mut Decryptor, mut pkt: Vec<u8>) -> Result<(u16, Vec<u8>), DropReason> {
        let r = d.decrypt(&mut pkt)?;
        Ok((r.protocol, pkt[r.offset..].to_vec()))
    }

    /// Stateless: every packet re-keys; losses cost nothing; 600 packets cross key changes
    /// and the 4096 wrap is not reached, then a wrap test.
    #[test]
    fn stateless_stream_with_loss() {
        for s in [
            KeyStrength::Bits40,
            KeyStrength::Bits56,
            KeyStrength::Bits128,
        ] {
            let (mut e, mut d) = pair(MppeParams {
                strength: s,
                stateless: true,
            });
            for i in 0..5000u32 {
                let pkt = send(&mut e, i as u8);
                assert_eq!(Header::parse(&pkt).unwrap().coherency, (i & 0xfff) as u16);
                assert!(Header::parse(&pkt).unwrap().flushed());
                if i % 7 == 3 {
                    continue; // lost
                }
                assert_eq!(recv(&mut d, pkt).unwrap(), (0x0021, vec![i as u8; 40]));
            }
        }
    }

    /// Stateful: the key changes on flag packets only; a loss drops packets until the sender
    /// flushes after a Reset-Request, across a key change.
    #[test]
    fn stateful_stream_resync_across_key_change() {
        let (mut e, mut d) = pair(MppeParams {
            strength: KeyStrength::Bits128,
            stateless: false,
        });
        let mut resets = 0;
        for i in 0..1000u32 {
            let pkt = send(&mut e, i as u8);
            if i & 0xff == 0xff {
                assert!(Header::parse(&pkt).unwrap().flushed());
            }
            // Lose packets 250..260 (crossing the flag packet 255) and 700.
            if (250..260).contains(&i) || i == 700 {
                continue;
            }
            match recv(&mut d, pkt) {
                Ok(v) => assert_eq!(v, (0x0021, vec![i as u8; 40])),
                Err(DropReason::CoherencyJump) => {
                    resets += 1;
                    e.reset_requested();
                }
                Err(DropReason::AwaitingFlush) => {}
                Err(r) => panic!("{r:?}"),
            }
        }
        assert_eq!(resets, 2);
        assert_eq!(d.resyncs, 2);
        assert_eq!(e.flushes, 2);
        assert!(!d.is_discarding());
    }

    /// Stateful: the flushed packet answering the first Reset-Request is lost, the receiver
    /// asks again, the sender changes its key a second time; the receiver still resyncs.
    #[test]
    fn stateful_resync_after_a_lost_flushed_packet() {
        let (mut e, mut d) = pair(MppeParams {
            strength: KeyStrength::Bits128,
            stateless: false,
        });
        for i in 0..10u8 {
            assert!(recv(&mut d, send(&mut e, i)).is_ok());
        }
        let _lost = send(&mut e, 10);
        assert_eq!(
            recv(&mut d, send(&mut e, 11)),
            Err(DropReason::CoherencyJump)
        );
        e.reset_requested();
        let _lost_flush = send(&mut e, 12);
        assert_eq!(
            recv(&mut d, send(&mut e, 13)),
            Err(DropReason::AwaitingFlush)
        );
        e.reset_requested();
        assert_eq!(recv(&mut d, send(&mut e, 14)).unwrap().1, vec![14; 40]);
        assert_eq!(recv(&mut d, send(&mut e, 15)).unwrap().1, vec![15; 40]);
        assert_eq!(e.flushes, 2);
        assert_eq!(d.resyncs, 1);
    }

    #[test]
    fn missing_flushed_bit_where_a_key_change_is_due() {
        // Stateless packets always carry A.
        let (mut e, mut d) = pair(MppeParams {
            strength: KeyStrength::Bits128,
            stateless: true,
        });
        let mut p = send(&mut e, 1);
        p[0] &= !flags::FLUSHED;
        assert_eq!(d.decrypt(&mut p), Err(DropReason::BadHeader));
        // A stateful flag packet (count 0x0FF) carries A.
        let (_, mut d) = pair(MppeParams {
            strength: KeyStrength::Bits128,
            stateless: false,
        });
        let mut p = vec![flags::ENCRYPTED, 0xff, 0, 0];
        assert_eq!(d.decrypt(&mut p), Err(DropReason::BadHeader));
    }

    #[test]
    fn bad_headers_and_stale_are_typed_drops() {
        let (mut e, mut d) = pair(MppeParams {
            strength: KeyStrength::Bits128,
            stateless: true,
        });
        assert_eq!(d.decrypt(&mut []), Err(DropReason::Truncated));
        assert_eq!(d.decrypt(&mut [0x90, 0]), Err(DropReason::Truncated));
        assert_eq!(d.decrypt(&mut [0x80, 0, 1, 2]), Err(DropReason::BadHeader));
        assert_eq!(d.decrypt(&mut [0x30, 0, 1, 2]), Err(DropReason::BadHeader));
        let p0 = send(&mut e, 0);
        assert!(recv(&mut d, p0.clone()).is_ok());
        assert_eq!(recv(&mut d, p0), Err(DropReason::Stale));
        assert_eq!(d.drops, [2, 2, 0, 0, 1]);
        let mut small = [0u8; 10];
        assert_eq!(e.encrypt(0x21, &[0; 20], &mut small).unwrap_err().need, 24);
        assert_eq!(small, [0; 10]);
    }

    #[test]
    fn params_bits_and_encoding() {
        let p = MppeParams {
            strength: KeyStrength::Bits128,
            stateless: true,
        };
        assert_eq!(p.to_bits(), 0x0100_0040);
        assert_eq!(MppeParams::from_bits(0x0100_0040), Some(p));
        assert_eq!(MppeParams::from_bits(0x0100_0060), None);
        assert_eq!(p.encoding(), "MPPE128 stateless");
        assert_eq!(
            MppeParams::from_bits(bits::L).unwrap().encoding(),
            "MPPE40 stateful"
        );
        assert_eq!(
            KeyStrength::strongest_in(bits::L | bits::M),
            Some(KeyStrength::Bits56)
        );
    }
}
