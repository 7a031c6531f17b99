//! The Encrypted and Authenticated payload (SK, RFC 7296 3.14; AEAD per RFC 5282) and its
//! fragments (SKF, RFC 7383).
//!
//! ```text
//!  SK payload:  | generic header (next = first inner payload) | IV | encrypted ... | ICV |
//!  encrypted:   inner payload chain | padding (any bytes) | pad length (1 byte)
//!  integrity (CBC+HMAC): ICV = MAC(SK_a, IKE header .. last ciphertext byte)
//!  AEAD (GCM):  nonce = salt(4, from SK_e) | IV(8); AAD = IKE header .. end of the SK header
//!               (for SKF also the Fragment Number and Total Fragments fields)
//! ```
//!
//! [`SkCodec::open`] checks the ICV before decrypting anything; [`SkCodec::seal`] rebuilds a
//! message byte-exact from its plaintext and IV, which is how the capture tests re-encrypt.
//! [`Reassembly`] collects SKF fragments with a bound on count and bytes.

use crate::crypto::{Cipher, Encr, Integ};
use crate::error::{CryptoError, WireError};
use crate::wire::{Body, Header, Message, Payload, PayloadType, HEADER_LEN, PAYLOAD_HEADER_LEN};

/// One direction's SK protection: cipher and integrity key.
#[derive(Clone, Debug)]
pub struct SkCodec {
    cipher: Cipher,
    integ: Option<(Integ, Vec<u8>)>,
}

/// What [`SkCodec::open`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The first inner payload type (from the SK/SKF header).
    pub first: PayloadType,
    /// The decrypted inner payload bytes (padding removed).
    pub inner: Vec<u8>,
    /// The padding bytes followed by the pad length byte.
    pub padding: Vec<u8>,
    /// The explicit IV.
    pub iv: Vec<u8>,
}

/// Where the encrypted payload sits in a message.
struct Located {
    /// Offset of the SK/SKF generic header.
    off: usize,
    /// 4 for SK, 8 for SKF (generic header + fragment fields).
    hdr: usize,
    first: PayloadType,
}

fn locate(msg: &Message) -> Option<Located> {
    let mut off = HEADER_LEN;
    for p in &msg.payloads {
        match &p.body {
            Body::Sk { next, .. } => {
                return Some(Located {
                    off,
                    hdr: PAYLOAD_HEADER_LEN,
                    first: *next,
                })
            }
            Body::Skf { next, .. } => {
                return Some(Located {
                    off,
                    hdr: PAYLOAD_HEADER_LEN + 4,
                    first: *next,
                })
            }
            _ => off += p.buffer_len(),
        }
    }
    None
}

impl SkCodec {
    /// A codec from the encryption key (SK_e with salt) and, for non-AEAD, the integrity key.
    pub fn new(
        encr: Encr,
        enc_key: &[u8],
        integ: Option<(Integ, &[u8])>,
    ) -> Result<SkCodec, CryptoError> {
        if encr.is_aead() != integ.is_none() {
            return Err(CryptoError::Unsupported {
                what: "AEAD with integrity / non-AEAD without",
                id: 0,
            });
        }
        Ok(SkCodec {
            cipher: Cipher::new(encr, enc_key)?,
            integ: integ.map(|(i, k)| (i, k.to_vec())),
        })
    }

    /// The encryption algorithm.
    pub fn encr(&self) -> Encr {
        self.cipher.alg()
    }

    fn icv_len(&self) -> usize {
        match &self.integ {
            Some((i, _)) => i.icv_len(),
            None => self.cipher.alg().tag_len(),
        }
    }

    /// Bytes the encryption adds to `n` inner bytes with minimal padding (IV, padding,
    /// pad length, ICV).
    pub fn overhead(&self, n: usize) -> usize {
        let bs = self.cipher.alg().block_len().max(1);
        let padded = (n + 1).div_ceil(bs) * bs;
        self.cipher.alg().iv_len() + padded - n + self.icv_len()
    }

    /// Verify and decrypt the SK or SKF payload of `raw` (the whole datagram, parsed as `msg`).
    pub fn open(&self, raw: &[u8], msg: &Message) -> Result<Opened, CryptoError> {
        let loc = locate(msg).ok_or(CryptoError::BadLength(0))?;
        let alg = self.cipher.alg();
        let ivl = alg.iv_len();
        let icvl = self.icv_len();
        let data_start = loc.off + loc.hdr;
        if raw.len() < data_start + ivl + icvl + 1 {
            return Err(CryptoError::BadLength(raw.len()));
        }
        let ct_end = raw.len() - icvl;
        let iv = &raw[data_start..data_start + ivl];
        let mut buf = raw[data_start + ivl..ct_end].to_vec();
        if buf.is_empty() || !buf.len().is_multiple_of(alg.block_len().max(1)) {
            return Err(CryptoError::BadLength(buf.len()));
        }
        let icv = &raw[ct_end..];
        match &self.integ {
            Some((integ, key)) => {
                if !integ.verify(key, &[&raw[..ct_end]], icv) {
                    return Err(CryptoError::IntegrityCheckFailed);
                }
                self.cipher.decrypt(iv, &[], &mut buf, &[])?;
            }
            None => {
                self.cipher.decrypt(iv, &raw[..data_start], &mut buf, icv)?;
            }
        }
        let padlen = usize::from(*buf.last().ok_or(CryptoError::BadPadding)?);
        if padlen + 1 > buf.len() {
            return Err(CryptoError::BadPadding);
        }
        let inner_len = buf.len() - padlen - 1;
        let padding = buf[inner_len..].to_vec();
        buf.truncate(inner_len);
        Ok(Opened {
            first: loc.first,
            inner: buf,
            padding,
            iv: iv.to_vec(),
        })
    }

    /// Build a protected message: `header` (next payload and length are computed), the
    /// unprotected payloads `clear` (usually none), then an SK payload (or an SKF payload when
    /// `fragment = Some((number, total))`) holding `inner` (a payload chain whose first type is
    /// `first`), `padding` (ending with the pad-length byte; `None` = minimal zero padding)
    /// and the explicit IV `iv`.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        &self,
        header: &Header,
        clear: &[Payload],
        first: PayloadType,
        inner: &[u8],
        padding: Option<&[u8]>,
        iv: &[u8],
        fragment: Option<(u16, u16)>,
    ) -> Result<Vec<u8>, CryptoError> {
        let alg = self.cipher.alg();
        if iv.len() != alg.iv_len() {
            return Err(CryptoError::BadLength(iv.len()));
        }
        let bs = alg.block_len().max(1);
        let pad: Vec<u8> = match padding {
            Some(p) => p.to_vec(),
            None => {
                let padded = (inner.len() + 1).div_ceil(bs) * bs;
                let n = padded - inner.len() - 1;
                let mut v = vec![0u8; n + 1];
                v[n] = n as u8;
                v
            }
        };
        if pad.is_empty() || !(inner.len() + pad.len()).is_multiple_of(bs) {
            return Err(CryptoError::BadPadding);
        }
        let icvl = self.icv_len();
        let enc_hdr = if fragment.is_some() { 8 } else { 4 };
        let body_len = iv.len() + inner.len() + pad.len() + icvl;
        let mut out = Vec::with_capacity(HEADER_LEN + 64 + body_len);
        let mut h = *header;
        h.next_payload = clear.first().map_or(
            if fragment.is_some() {
                PayloadType::SKF
            } else {
                PayloadType::SK
            },
            |p| p.ptype,
        );
        let clear_len: usize = clear.iter().map(Payload::buffer_len).sum();
        h.length = (HEADER_LEN + clear_len + enc_hdr + body_len) as u32;
        out.extend_from_slice(&h.to_bytes());
        // Clear payloads: the last one points at the SK/SKF payload.
        let mut clear_v = clear.to_vec();
        clear_v.push(Payload::new(
            if fragment.is_some() {
                PayloadType::SKF
            } else {
                PayloadType::SK
            },
            Body::Unknown(Vec::new()),
        ));
        for (i, p) in clear.iter().enumerate() {
            let next = clear_v[i + 1].ptype;
            out.push(next.0);
            out.push(p.flags);
            out.extend_from_slice(&(p.buffer_len() as u16).to_be_bytes());
            p.body.emit(&mut out);
        }
        out.push(first.0);
        out.push(0);
        out.extend_from_slice(&((enc_hdr + body_len) as u16).to_be_bytes());
        if let Some((n, t)) = fragment {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&t.to_be_bytes());
        }
        let aad_end = out.len();
        out.extend_from_slice(iv);
        let ct_start = out.len();
        out.extend_from_slice(inner);
        out.extend_from_slice(&pad);
        let ct_end = out.len();
        out.resize(ct_end + icvl, 0);
        let (head, rest) = out.split_at_mut(ct_start);
        let (ct, icv) = rest.split_at_mut(ct_end - ct_start);
        match &self.integ {
            Some((integ, key)) => {
                self.cipher.encrypt(iv, &[], ct, &mut [])?;
                let (h, c) = (&head[..], &ct[..]);
                integ.compute_into(key, &[h, c], icv);
            }
            None => {
                self.cipher.encrypt(iv, &head[..aad_end], ct, icv)?;
            }
        }
        Ok(out)
    }
}

/// Bound on fragments per message.
pub const MAX_FRAGMENTS: u16 = 64;
/// Bound on the reassembled size of one message.
pub const MAX_REASSEMBLED: usize = 64 * 1024;

/// RFC 7383 reassembly of one message's decrypted fragments.
#[derive(Clone, Debug, Default)]
pub struct Reassembly {
    message_id: u32,
    total: u16,
    first: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

/// What adding a fragment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FragmentResult {
    /// Stored; more needed.
    Pending,
    /// Duplicate of one already held.
    Duplicate,
    /// All fragments here: the first inner payload type and the concatenated plaintext.
    Complete(PayloadType, Vec<u8>),
    /// Refused (bad numbering, over the bounds).
    Refused(WireError),
}

impl Reassembly {
    /// Whether fragments of `message_id` are being collected.
    pub fn is_collecting(&self, message_id: u32) -> bool {
        self.total != 0 && self.message_id == message_id
    }

    /// Drop what is held.
    pub fn clear(&mut self) {
        *self = Reassembly::default();
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Add an authenticated, decrypted fragment.
    pub fn add(
        &mut self,
        message_id: u32,
        number: u16,
        total: u16,
        first: PayloadType,
        plain: Vec<u8>,
    ) -> FragmentResult {
        if total == 0 || total > MAX_FRAGMENTS || number == 0 || number > total {
            return FragmentResult::Refused(WireError::BadValue {
                what: "fragment total",
                offset: 0,
                value: u64::from(total),
            });
        }
        if self.total == 0 || self.message_id != message_id || total > self.total {
            // RFC 7383 2.6.1: a higher total restarts collection (the sender re-fragmented).
            *self = Reassembly {
                message_id,
                total,
                first: PayloadType::NONE,
                parts: vec![None; usize::from(total)],
                bytes: 0,
            };
        } else if total < self.total {
            return FragmentResult::Refused(WireError::BadValue {
                what: "fragment total lower than before",
                offset: 0,
                value: u64::from(total),
            });
        }
        let idx = usize::from(number - 1);
        if self.parts[idx].is_some() {
            return FragmentResult::Duplicate;
        }
        if self.bytes + plain.len() > MAX_REASSEMBLED {
            self.clear();
            return FragmentResult::Refused(WireError::BadLength {
                what: "reassembled message",
                offset: 0,
                length: MAX_REASSEMBLED,
            });
        }
        if number == 1 {
            self.first = first;
        }
        self.bytes += plain.len();
        self.parts[idx] = Some(plain);
        if self.parts.iter().all(Option::is_some) {
            let mut v = Vec::with_capacity(self.bytes);
            for p in self.parts.iter().flatten() {
                v.extend_from_slice(p);
            }
            let first = self.first;
            self.clear();
            return FragmentResult::Complete(first, v);
        }
        FragmentResult::Pending
    }
}
