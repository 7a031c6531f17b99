//! Certificates of membership (COM): the controller's signed statement "this node is a member
//! of this network as of this time".
//!
//! ```text
//!   01 | count (u16) | count x (id u64, value u64, max_delta u64) | signed_by (5) | signature (96)
//!   qualifier 0  timestamp (ms)          max delta = the network's credential time max delta
//!   qualifier 1  network ID              max delta 0 (must be equal)
//!   qualifier 2  issued-to address       max delta 2^64-1 (informational)
//!   qualifier 3..6  SHA-384(address || public key)[0..32] of the member, 8 bytes each (informational)
//! ```
//! The signature is the signer's C25519/Ed25519 signature (96 bytes, as for every ZeroTier
//! signature) over the qualifiers exactly as serialized (`count x 24` bytes, big-endian).
//! A signer address of zero means "unsigned" and then no signature follows.
//!
//! Two members may exchange frames when their COMs **agree**: for every qualifier of one COM,
//! the other carries the same qualifier id and the two values differ by at most that
//! qualifier's max delta. So timestamps within the max delta of each other (both members got a
//! config recently), the same network ID, and the informational ones always pass. In addition
//! the other COM's identity-hash qualifiers must match the other member's actual identity, so
//! a COM cannot be replayed by another node.

use sha2::{Digest, Sha384};
use thiserror::Error;

use crate::crypto::SIGNATURE_LEN;
use crate::{Address, Identity, NetworkId};

/// Maximum qualifiers accepted when parsing (ZeroTierOne 1.x issues 7).
pub const MAX_QUALIFIERS: usize = 16;

/// Qualifier id: timestamp.
pub const Q_TIMESTAMP: u64 = 0;
/// Qualifier id: network ID.
pub const Q_NETWORK_ID: u64 = 1;
/// Qualifier id: issued-to address.
pub const Q_ISSUED_TO: u64 = 2;
/// First of the four identity-hash qualifier ids (3..=6).
pub const Q_IDENTITY_HASH: u64 = 3;

/// Why a COM does not parse, verify or agree.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ComError {
    /// Input ended early.
    #[error("COM truncated: need {need} bytes, got {got}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        got: usize,
    },
    /// Version byte other than 1.
    #[error("COM version {0} not supported")]
    Version(u8),
    /// More than [`MAX_QUALIFIERS`].
    #[error("COM has {0} qualifiers, more than allowed")]
    TooManyQualifiers(usize),
    /// Bytes after a COM parsed with [`CertificateOfMembership::parse`].
    #[error("{0} bytes after the COM")]
    Trailing(usize),
    /// A required qualifier is absent.
    #[error("COM lacks qualifier {0}")]
    MissingQualifier(u64),
    /// Not signed (signer address zero).
    #[error("COM is not signed")]
    Unsigned,
    /// Signed by someone other than the expected controller.
    #[error("COM signed by {got}, expected {expected}")]
    WrongSigner {
        /// Controller.
        expected: Address,
        /// Signer field.
        got: Address,
    },
    /// The signature does not verify.
    #[error("COM signature does not verify")]
    BadSignature,
    /// Signing needs the controller's secret key.
    #[error("signing identity has no secret")]
    NoSecret,
    /// A qualifier of one COM is absent from the other or differs by more than its max delta.
    #[error("COMs disagree on qualifier {0}")]
    Disagree(u64),
    /// The COM was not issued to this identity (address or identity hash differs).
    #[error("COM not issued to this identity")]
    NotIssuedTo,
}

/// One (id, value, max delta) qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qualifier {
    /// Qualifier id ([`Q_TIMESTAMP`], ...).
    pub id: u64,
    /// Value.
    pub value: u64,
    /// Largest difference to the other COM's value that still agrees.
    pub max_delta: u64,
}

/// A certificate of membership (version 1 form, as ZeroTierOne 1.x sends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateOfMembership {
    /// Qualifiers, in wire order.
    pub qualifiers: Vec<Qualifier>,
    /// Signer (the network controller); zero when unsigned.
    pub signed_by: Address,
    /// Signature, present when `signed_by` is not zero.
    pub signature: Option<[u8; SIGNATURE_LEN]>,
}

/// SHA-384(address || public key)[0..32] as four big-endian words (the identity qualifiers).
pub fn identity_hash_words(id: &Identity) -> [u64; 4] {
    let mut h = Sha384::new();
    h.update(id.address().to_bytes());
    h.update(id.public_key());
    let d = h.finalize();
    let mut w = [0u64; 4];
    for (i, c) in d[..32].chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        w[i] = u64::from_be_bytes(b);
    }
    w
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

impl CertificateOfMembership {
    /// An unsigned COM for `issued_to` on `network`, as a controller issues it: timestamp
    /// `timestamp_ms` with `max_delta_ms` (the network's credential time max delta), the
    /// network ID, the issued-to address and the identity hash.
    pub fn new(
        timestamp_ms: u64,
        max_delta_ms: u64,
        network: NetworkId,
        issued_to: &Identity,
    ) -> Self {
        let mut q = vec![
            Qualifier {
                id: Q_TIMESTAMP,
                value: timestamp_ms,
                max_delta: max_delta_ms,
            },
            Qualifier {
                id: Q_NETWORK_ID,
                value: network.0,
                max_delta: 0,
            },
            Qualifier {
                id: Q_ISSUED_TO,
                value: issued_to.address().to_u64(),
                max_delta: u64::MAX,
            },
        ];
        for (i, w) in identity_hash_words(issued_to).into_iter().enumerate() {
            q.push(Qualifier {
                id: Q_IDENTITY_HASH + i as u64,
                value: w,
                max_delta: u64::MAX,
            });
        }
        CertificateOfMembership {
            qualifiers: q,
            signed_by: Address::new(0),
            signature: None,
        }
    }

    /// Parse a COM at the start of `b`; returns it and the bytes used.
    pub fn parse_prefix(b: &[u8]) -> Result<(Self, usize), ComError> {
        let need = |n: usize| {
            if b.len() < n {
                Err(ComError::Truncated {
                    need: n,
                    got: b.len(),
                })
            } else {
                Ok(())
            }
        };
        need(3)?;
        if b[0] != 1 {
            return Err(ComError::Version(b[0]));
        }
        let n = usize::from(u16::from_be_bytes([b[1], b[2]]));
        if n > MAX_QUALIFIERS {
            return Err(ComError::TooManyQualifiers(n));
        }
        let mut p = 3;
        need(p + n * 24 + 5)?;
        let mut qualifiers = Vec::with_capacity(n);
        for _ in 0..n {
            qualifiers.push(Qualifier {
                id: be_u64(b, p),
                value: be_u64(b, p + 8),
                max_delta: be_u64(b, p + 16),
            });
            p += 24;
        }
        let signed_by = Address::from_slice(&b[p..]).unwrap_or_default();
        p += 5;
        let signature = if signed_by.to_u64() != 0 {
            need(p + SIGNATURE_LEN)?;
            let mut s = [0u8; SIGNATURE_LEN];
            s.copy_from_slice(&b[p..p + SIGNATURE_LEN]);
            p += SIGNATURE_LEN;
            Some(s)
        } else {
            None
        };
        Ok((
            CertificateOfMembership {
                qualifiers,
                signed_by,
                signature,
            },
            p,
        ))
    }

    /// Parse exactly one COM (the `C` value of a network config).
    pub fn parse(b: &[u8]) -> Result<Self, ComError> {
        let (c, n) = Self::parse_prefix(b)?;
        if n != b.len() {
            return Err(ComError::Trailing(b.len() - n));
        }
        Ok(c)
    }

    /// Append the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(1);
        out.extend_from_slice(&(self.qualifiers.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.signing_message());
        out.extend_from_slice(&self.signed_by.to_bytes());
        if let Some(s) = &self.signature {
            out.extend_from_slice(s);
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }

    /// The signed bytes: every qualifier as three big-endian u64.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.qualifiers.len() * 24);
        for q in &self.qualifiers {
            m.extend_from_slice(&q.id.to_be_bytes());
            m.extend_from_slice(&q.value.to_be_bytes());
            m.extend_from_slice(&q.max_delta.to_be_bytes());
        }
        m
    }

    /// The qualifier with this id.
    pub fn qualifier(&self, id: u64) -> Option<&Qualifier> {
        self.qualifiers.iter().find(|q| q.id == id)
    }

    /// Timestamp (ms) and its max delta.
    pub fn timestamp(&self) -> Option<(u64, u64)> {
        self.qualifier(Q_TIMESTAMP).map(|q| (q.value, q.max_delta))
    }

    /// Network the COM is for.
    pub fn network_id(&self) -> Option<NetworkId> {
        self.qualifier(Q_NETWORK_ID).map(|q| NetworkId(q.value))
    }

    /// Member it was issued to.
    pub fn issued_to(&self) -> Option<Address> {
        self.qualifier(Q_ISSUED_TO).map(|q| Address::new(q.value))
    }

    /// Sign with the controller's identity (sets `signed_by`).
    pub fn sign(&mut self, controller: &Identity) -> Result<(), ComError> {
        let sig = controller
            .sign(&self.signing_message())
            .ok_or(ComError::NoSecret)?;
        self.signed_by = controller.address();
        self.signature = Some(sig);
        Ok(())
    }

    /// Check that `controller` signed this COM and that it names the network the controller
    /// runs (the top 40 bits of the network ID are the controller's address).
    pub fn verify(&self, controller: &Identity) -> Result<(), ComError> {
        let sig = self.signature.as_ref().ok_or(ComError::Unsigned)?;
        if self.signed_by != controller.address() {
            return Err(ComError::WrongSigner {
                expected: controller.address(),
                got: self.signed_by,
            });
        }
        let nwid = self
            .network_id()
            .ok_or(ComError::MissingQualifier(Q_NETWORK_ID))?;
        if nwid.controller() != controller.address() {
            return Err(ComError::WrongSigner {
                expected: nwid.controller(),
                got: self.signed_by,
            });
        }
        if controller.verify(&self.signing_message(), sig) {
            Ok(())
        } else {
            Err(ComError::BadSignature)
        }
    }

    /// Whether this COM was issued to `id`: the issued-to address matches and, when the COM
    /// carries identity-hash qualifiers, they match SHA-384 of `id`'s address and keys.
    pub fn issued_to_identity(&self, id: &Identity) -> Result<(), ComError> {
        if self.issued_to() != Some(id.address()) {
            return Err(ComError::NotIssuedTo);
        }
        let w = identity_hash_words(id);
        let mut any = false;
        for (i, w) in w.iter().enumerate() {
            if let Some(q) = self.qualifier(Q_IDENTITY_HASH + i as u64) {
                any = true;
                if q.value != *w {
                    return Err(ComError::NotIssuedTo);
                }
            }
        }
        if any && (0..4).any(|i| self.qualifier(Q_IDENTITY_HASH + i).is_none()) {
            return Err(ComError::NotIssuedTo);
        }
        Ok(())
    }

    /// ZeroTierOne's agreement rule, from our side: every qualifier of `self` must be present
    /// in `other` with a value within `self`'s max delta; and if `self` carries the identity
    /// hash, `other` must carry the hash of `other_identity` (the peer that presented it).
    /// Signatures are checked separately ([`verify`](Self::verify)).
    pub fn agrees_with(&self, other: &Self, other_identity: &Identity) -> Result<(), ComError> {
        if self.qualifiers.is_empty() || other.qualifiers.is_empty() {
            return Err(ComError::MissingQualifier(Q_TIMESTAMP));
        }
        let mut full = false;
        for q in &self.qualifiers {
            if (Q_IDENTITY_HASH..Q_IDENTITY_HASH + 4).contains(&q.id) {
                full = true;
            }
            let o = other.qualifier(q.id).ok_or(ComError::Disagree(q.id))?;
            if q.value.abs_diff(o.value) > q.max_delta {
                return Err(ComError::Disagree(q.id));
            }
        }
        if full {
            let w = identity_hash_words(other_identity);
            for (i, w) in w.iter().enumerate() {
                match other.qualifier(Q_IDENTITY_HASH + i as u64) {
                    Some(q) if q.value == *w => {}
                    _ => return Err(ComError::NotIssuedTo),
                }
            }
        }
        Ok(())
    }
}

impl From<&crate::wire::verbs::Com> for CertificateOfMembership {
    fn from(c: &crate::wire::verbs::Com) -> Self {
        CertificateOfMembership {
            qualifiers: c
                .qualifiers
                .iter()
                .map(|&(id, value, max_delta)| Qualifier {
                    id,
                    value,
                    max_delta,
                })
                .collect(),
            signed_by: c.signed_by,
            signature: c
                .signature
                .as_ref()
                .and_then(|s| s.as_slice().try_into().ok()),
        }
    }
}
