//! Worlds: the signed list of roots (a planet, type 1, or a moon, type 127).
//!
//! ```text
//!  type (1) | world ID (8) | timestamp (8) | updatesMustBeSignedBy (64, C25519 public)
//!  | signature (96) | root count (1, <= 4)
//!  | per root: identity (binary, no secret) | endpoint count (1, <= 32) | InetAddr each
//!  | moons only: u16 length + dictionary (empty today)
//!
//!  signed message = 7f7f7f7f7f7f7f7f | the above without the signature | f7f7f7f7f7f7f7f7
//! ```
//!
//! Update rule (`World::shouldBeReplacedBy`): a world is replaced by another with the same ID
//! and type, a strictly newer timestamp, and a signature by the current world's
//! `updatesMustBeSignedBy` key. Anything else is refused ([`WorldUpdate`]).

use crate::crypto::SIGNATURE_LEN;
use crate::error::WireError;
use crate::identity::{Identity, SigningKeyPair, PUBLIC_LEN};
use crate::wire::{InetAddr, Reader};

/// World type byte: planet.
pub const TYPE_PLANET: u8 = 1;
/// World type byte: moon.
pub const TYPE_MOON: u8 = 127;
/// Most roots per world (`ZT_WORLD_MAX_ROOTS`).
pub const MAX_ROOTS: usize = 4;
/// Most stable endpoints per root (`ZT_WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT`).
pub const MAX_STABLE_ENDPOINTS: usize = 32;
/// Largest serialized world (`ZT_WORLD_MAX_SERIALIZED_LENGTH`).
pub const MAX_SERIALIZED_LEN: usize =
    8 + 8 + 8 + 1 + 64 + 96 + 1 + MAX_ROOTS * (143 + 1 + MAX_STABLE_ENDPOINTS * 19) + 2 + 8 + 8;
/// World ID of ZeroTier's public planet ("Earth").
pub const WORLD_ID_EARTH: u64 = 149_604_618;

/// Planet or moon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorldType {
    /// Type 1.
    Planet,
    /// Type 127.
    Moon,
}

/// A root: its identity and the addresses where it can always be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// Root identity (public).
    pub identity: Identity,
    /// Stable endpoints.
    pub endpoints: Vec<InetAddr>,
}

/// A decoded world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct World {
    /// Planet or moon.
    pub kind: WorldType,
    /// World ID.
    pub id: u64,
    /// Timestamp / revision (ms).
    pub timestamp: u64,
    /// Key that must sign the next update.
    pub updates_must_be_signed_by: [u8; PUBLIC_LEN],
    /// Signature of this world.
    pub signature: [u8; SIGNATURE_LEN],
    /// Roots.
    pub roots: Vec<Root>,
}

/// Outcome of offering a world update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorldUpdate {
    /// Accepted: newer and properly signed.
    Accepted,
    /// Another world (ID or type differs): not an update of this one.
    Unrelated,
    /// Same world, not newer.
    NotNewer,
    /// Newer but the signature does not verify with `updatesMustBeSignedBy`.
    BadSignature,
}

impl World {
    /// Parse a serialized world (trailing bytes are an error; use [`World::parse_prefix`] for a
    /// world inside a larger buffer).
    pub fn parse(b: &[u8]) -> Result<World, WireError> {
        let (w, n) = Self::parse_prefix(b)?;
        if n != b.len() {
            return Err(WireError::TooLong {
                what: "world",
                max: n,
                got: b.len(),
            });
        }
        Ok(w)
    }

    /// Parse a world at the start of `b`; returns it and the bytes used.
    pub fn parse_prefix(b: &[u8]) -> Result<(World, usize), WireError> {
        let mut r = Reader::new(b, "world");
        let t = r.u8()?;
        let kind = match t {
            TYPE_PLANET => WorldType::Planet,
            TYPE_MOON => WorldType::Moon,
            o => {
                return Err(WireError::BadValue {
                    what: "world",
                    field: "type",
                    value: u64::from(o),
                })
            }
        };
        let id = r.u64()?;
        let timestamp = r.u64()?;
        let updates_must_be_signed_by = crate::crypto::first_n(r.bytes(PUBLIC_LEN)?);
        let signature = crate::crypto::first_n(r.bytes(SIGNATURE_LEN)?);
        let nroots = usize::from(r.u8()?);
        if nroots > MAX_ROOTS {
            return Err(WireError::BadValue {
                what: "world",
                field: "root count",
                value: nroots as u64,
            });
        }
        let mut roots = Vec::with_capacity(nroots);
        for _ in 0..nroots {
            let (identity, n) = Identity::parse(&b[r.pos..]).map_err(|e| match e {
                WireError::Truncated {
                    offset, need, got, ..
                } => WireError::truncated("world", r.pos + offset, need, got),
                o => o,
            })?;
            r.pos += n;
            // A root is a public identity; a private key in a world is refused, not dropped.
            if identity.has_secret() {
                return Err(WireError::BadValue {
                    what: "world",
                    field: "root identity secret length",
                    value: 64,
                });
            }
            let ne = usize::from(r.u8()?);
            if ne > MAX_STABLE_ENDPOINTS {
                return Err(WireError::BadValue {
                    what: "world",
                    field: "endpoint count",
                    value: ne as u64,
                });
            }
            let mut endpoints = Vec::with_capacity(ne);
            for _ in 0..ne {
                endpoints.push(r.inet()?);
            }
            roots.push(Root {
                identity: identity.public_only(),
                endpoints,
            });
        }
        if kind == WorldType::Moon {
            // ZeroTierOne reserves a length-prefixed dictionary here and always writes it empty;
            // content is refused rather than dropped, so a decoded world re-encodes byte-exact.
            let l = r.u16()?;
            if l != 0 {
                return Err(WireError::BadValue {
                    what: "world",
                    field: "moon dictionary length",
                    value: u64::from(l),
                });
            }
        }
        Ok((
            World {
                kind,
                id,
                timestamp,
                updates_must_be_signed_by,
                signature,
                roots,
            },
            r.pos,
        ))
    }

    fn emit_inner(&self, out: &mut Vec<u8>, for_sign: bool) {
        if for_sign {
            out.extend_from_slice(&0x7f7f_7f7f_7f7f_7f7fu64.to_be_bytes());
        }
        out.push(match self.kind {
            WorldType::Planet => TYPE_PLANET,
            WorldType::Moon => TYPE_MOON,
        });
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.updates_must_be_signed_by);
        if !for_sign {
            out.extend_from_slice(&self.signature);
        }
        out.push(self.roots.len() as u8);
        for r in &self.roots {
            r.identity.emit(out, false);
            out.push(r.endpoints.len() as u8);
            for e in &r.endpoints {
                e.emit(out);
            }
        }
        if self.kind == WorldType::Moon {
            out.extend_from_slice(&[0, 0]);
        }
        if for_sign {
            out.extend_from_slice(&0xf7f7_f7f7_f7f7_f7f7u64.to_be_bytes());
        }
    }

    /// The serialized world.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit_inner(&mut v, false);
        v
    }

    /// The message the signature covers.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit_inner(&mut v, true);
        v
    }

    /// Build and sign a world (mkworld's job).
    pub fn make(
        kind: WorldType,
        id: u64,
        timestamp: u64,
        updates_must_be_signed_by: [u8; PUBLIC_LEN],
        roots: Vec<Root>,
        sign_with: &SigningKeyPair,
    ) -> World {
        let mut w = World {
            kind,
            id,
            timestamp,
            updates_must_be_signed_by,
            signature: [0; SIGNATURE_LEN],
            roots,
        };
        w.signature = sign_with.sign(&w.signed_message());
        w
    }

    /// Whether the signature verifies with the given C25519 public key.
    pub fn verify_with(&self, public: &[u8; PUBLIC_LEN]) -> bool {
        crate::crypto::verify(
            &crate::crypto::first_n(&public[32..]),
            &self.signed_message(),
            &self.signature,
        )
    }

    /// Whether the world is signed by its own `updatesMustBeSignedBy` key (true for worlds
    /// made by one key, like mkworld's and the captures' planet).
    pub fn self_signed(&self) -> bool {
        self.verify_with(&self.updates_must_be_signed_by)
    }

    /// Offer `update` as a replacement for this world (the update rule).
    pub fn check_update(&self, update: &World) -> WorldUpdate {
        if update.id != self.id || update.kind != self.kind {
            return WorldUpdate::Unrelated;
        }
        if update.timestamp <= self.timestamp {
            return WorldUpdate::NotNewer;
        }
        if update.verify_with(&self.updates_must_be_signed_by) {
            WorldUpdate::Accepted
        } else {
            WorldUpdate::BadSignature
        }
    }
}
