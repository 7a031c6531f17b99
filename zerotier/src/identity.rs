//! Node identities (type 0, "C25519"): an X25519 key pair for key agreement and an Ed25519 key
//! pair for signatures, bound to a 40-bit address by a memory-hard hash.
//!
//! ```text
//!  public key (64 bytes) = X25519 public (32) || Ed25519 public (32)
//!  secret key (64 bytes) = X25519 secret (32) || Ed25519 seed (32)
//!  digest = memory_hard_hash(public key)            (crypto::memory_hard_hash, 2 MiB)
//!  valid  <=> digest[0] < 17  &&  address == digest[59..64]  &&  address not reserved
//!  text:    "<address>:0:<public hex>[:<secret hex>]"  (identity.public / identity.secret)
//!  binary:  address(5) | type 0 (1) | public (64) | secret length (1: 0 or 64) | [secret]
//! ```
//!
//! Generation searches key pairs until the hashcash condition holds (about 16 tries of the
//! memory-hard hash on average): [`Identity::generate`] is CPU-heavy and blocking; call it
//! outside any event loop.

use std::fmt;
use std::str::FromStr;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::address::{Address, ADDRESS_LEN};
use crate::crypto::{self, IDENTITY_HASHCASH_LESS_THAN, SIGNATURE_LEN, SYMMETRIC_KEY_LEN};
use crate::error::{ParseError, WireError};

/// Public key length (X25519 + Ed25519).
pub const PUBLIC_LEN: usize = 64;
/// Secret key length.
pub const SECRET_LEN: usize = 64;
/// Identity type 0 (C25519).
pub const IDENTITY_TYPE_C25519: u8 = 0;

/// A node identity: address, public key, and optionally the secret key.
#[derive(Clone)]
pub struct Identity {
    address: Address,
    public: [u8; PUBLIC_LEN],
    secret: Option<Zeroizing<[u8; SECRET_LEN]>>,
}

impl PartialEq for Identity {
    /// Identities are equal when address and public key are (secrets are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address && self.public == other.public
    }
}
impl Eq for Identity {}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Identity({}{})",
            self.address,
            if self.secret.is_some() {
                ", secret"
            } else {
                ""
            }
        )
    }
}

impl Identity {
    /// Generate a new identity (blocking; ~16 memory-hard hashes on average).
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Identity {
        loop {
            let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
            rng.fill_bytes(&mut secret[32..]);
            let ed_pub = crypto::ed25519_public(&crypto::first_n(&secret[32..]));
            loop {
                rng.fill_bytes(&mut secret[..32]);
                let x_pub = crypto::x25519_public(&crypto::first_n(&secret[..32]));
                let mut public = [0u8; PUBLIC_LEN];
                public[..32].copy_from_slice(&x_pub);
                public[32..].copy_from_slice(&ed_pub);
                let d = crypto::memory_hard_hash(&public);
                if d[0] < IDENTITY_HASHCASH_LESS_THAN {
                    let address = Address::from_slice(&d[59..]).unwrap_or_default();
                    if address.is_reserved() {
                        break; // new Ed25519 key too, as ZeroTierOne restarts the search
                    }
                    return Identity {
                        address,
                        public,
                        secret: Some(secret),
                    };
                }
            }
        }
    }

    /// Build from parts (no validation: see [`locally_validate`](Self::locally_validate)).
    pub fn from_parts(
        address: Address,
        public: [u8; PUBLIC_LEN],
        secret: Option<[u8; SECRET_LEN]>,
    ) -> Identity {
        Identity {
            address,
            public,
            secret: secret.map(Zeroizing::new),
        }
    }

    /// The address.
    pub fn address(&self) -> Address {
        self.address
    }
    /// The 64-byte public key.
    pub fn public_key(&self) -> &[u8; PUBLIC_LEN] {
        &self.public
    }
    /// X25519 public half.
    pub fn x25519_public(&self) -> [u8; 32] {
        crypto::first_n(&self.public[..32])
    }
    /// Ed25519 public half.
    pub fn ed25519_public(&self) -> [u8; 32] {
        crypto::first_n(&self.public[32..])
    }
    /// Whether the secret key is present.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }
    /// The same identity without its secret.
    pub fn public_only(&self) -> Identity {
        Identity {
            address: self.address,
            public: self.public,
            secret: None,
        }
    }

    /// The full check of `Identity::locallyValidate`: address not reserved, hashcash condition,
    /// address derived from the key. Costs one memory-hard hash (2 MiB, a few ms optimised).
    pub fn locally_validate(&self) -> bool {
        if self.address.is_reserved() {
            return false;
        }
        let d = crypto::memory_hard_hash(&self.public);
        d[0] < IDENTITY_HASHCASH_LESS_THAN && d[59..64] == self.address.to_bytes()
    }

    /// Whether the secret (when present) matches the public key.
    pub fn secret_matches(&self) -> bool {
        match &self.secret {
            None => true,
            Some(s) => {
                crypto::x25519_public(&crypto::first_n(&s[..32]))[..] == self.public[..32]
                    && crypto::ed25519_public(&crypto::first_n(&s[32..]))[..] == self.public[32..]
            }
        }
    }

    /// Agree on the 48-byte key with `other` (needs our secret).
    pub fn agree(&self, other: &Identity) -> Option<[u8; SYMMETRIC_KEY_LEN]> {
        let s = self.secret.as_ref()?;
        Some(crypto::agree(
            &crypto::first_n(&s[..32]),
            &other.x25519_public(),
        ))
    }

    /// Sign `msg` (96-byte C25519 signature; needs our secret).
    pub fn sign(&self, msg: &[u8]) -> Option<[u8; SIGNATURE_LEN]> {
        let s = self.secret.as_ref()?;
        Some(crypto::sign(&crypto::first_n(&s[32..]), msg))
    }

    /// Verify a 96-byte signature by this identity.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        crypto::verify(&self.ed25519_public(), msg, sig)
    }

    /// Binary form length.
    pub fn buffer_len(&self, include_secret: bool) -> usize {
        ADDRESS_LEN
            + 1
            + PUBLIC_LEN
            + 1
            + if include_secret && self.secret.is_some() {
                SECRET_LEN
            } else {
                0
            }
    }

    /// Append the binary form.
    pub fn emit(&self, out: &mut Vec<u8>, include_secret: bool) {
        out.extend_from_slice(&self.address.to_bytes());
        out.push(IDENTITY_TYPE_C25519);
        out.extend_from_slice(&self.public);
        match (&self.secret, include_secret) {
            (Some(s), true) => {
                out.push(SECRET_LEN as u8);
                out.extend_from_slice(&s[..]);
            }
            _ => out.push(0),
        }
    }

    /// Parse the binary form at the start of `b`; returns the identity and bytes used.
    pub fn parse(b: &[u8]) -> Result<(Identity, usize), WireError> {
        let mut r = crate::wire::Reader::new(b, "identity");
        let address = r.address()?;
        let t = r.u8()?;
        if t != IDENTITY_TYPE_C25519 {
            return Err(WireError::BadValue {
                what: "identity",
                field: "type",
                value: u64::from(t),
            });
        }
        let public: [u8; PUBLIC_LEN] = crypto::first_n(r.bytes(PUBLIC_LEN)?);
        let sl = r.u8()?;
        let secret = match sl {
            0 => None,
            64 => Some(Zeroizing::new(crypto::first_n::<SECRET_LEN>(
                r.bytes(SECRET_LEN)?,
            ))),
            other => {
                return Err(WireError::BadValue {
                    what: "identity",
                    field: "secret length",
                    value: u64::from(other),
                })
            }
        };
        Ok((
            Identity {
                address,
                public,
                secret,
            },
            r.pos,
        ))
    }

    /// The text form with the secret: the contents of `identity.secret`.
    pub fn to_secret_string(&self) -> Option<String> {
        let s = self.secret.as_ref()?;
        Some(format!("{}:{}", self, hex::encode(&s[..])))
    }

    /// Parse an `identity.secret` / `identity.public` file's contents (surrounding whitespace
    /// allowed). Same as `FromStr`.
    pub fn from_file_contents(text: &str) -> Result<Identity, ParseError> {
        text.trim().parse()
    }
}

impl fmt::Display for Identity {
    /// Public text form `address:0:public_hex`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:0:{}", self.address, hex::encode(self.public))
    }
}

impl FromStr for Identity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Identity, ParseError> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        if parts.len() != 3 && parts.len() != 4 {
            return Err(ParseError::new(
                "identity",
                "expected address:0:public[:secret]",
            ));
        }
        let address: Address = parts[0].parse()?;
        if parts[1] != "0" {
            return Err(ParseError::new(
                "identity",
                format!("unsupported type {:?}", parts[1]),
            ));
        }
        let pubv = hex::decode(parts[2])
            .map_err(|e| ParseError::new("identity public key", e.to_string()))?;
        if pubv.len() != PUBLIC_LEN {
            return Err(ParseError::new(
                "identity public key",
                format!("{} bytes, expected 64", pubv.len()),
            ));
        }
        let secret = match parts.get(3) {
            None => None,
            Some(h) => {
                let v = Zeroizing::new(
                    hex::decode(h)
                        .map_err(|e| ParseError::new("identity secret key", e.to_string()))?,
                );
                if v.len() != SECRET_LEN {
                    return Err(ParseError::new(
                        "identity secret key",
                        format!("{} bytes, expected 64", v.len()),
                    ));
                }
                Some(Zeroizing::new(crypto::first_n::<SECRET_LEN>(&v)))
            }
        };
        let id = Identity {
            address,
            public: crypto::first_n(&pubv),
            secret,
        };
        if !id.secret_matches() {
            return Err(ParseError::new(
                "identity secret key",
                "does not match the public key",
            ));
        }
        Ok(id)
    }
}

/// A C25519 key pair in mkworld's `.c25519` format (128 bytes: public 64 || secret 64), used to
/// sign worlds.
#[derive(Clone)]
pub struct SigningKeyPair {
    /// Public half (X25519 || Ed25519).
    pub public: [u8; PUBLIC_LEN],
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKeyPair({})", hex::encode(&self.public[32..40]))
    }
}

impl SigningKeyPair {
    /// A fresh key pair.
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        rng.fill_bytes(&mut secret[..]);
        let mut public = [0u8; PUBLIC_LEN];
        public[..32].copy_from_slice(&crypto::x25519_public(&crypto::first_n(&secret[..32])));
        public[32..].copy_from_slice(&crypto::ed25519_public(&crypto::first_n(&secret[32..])));
        SigningKeyPair { public, secret }
    }
    /// From the 128-byte `.c25519` form.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ParseError> {
        if b.len() != 128 {
            return Err(ParseError::new(
                "c25519 key pair",
                format!("{} bytes, expected 128", b.len()),
            ));
        }
        let kp = SigningKeyPair {
            public: crypto::first_n(b),
            secret: Zeroizing::new(crypto::first_n(&b[64..])),
        };
        if crypto::ed25519_public(&crypto::first_n(&kp.secret[32..]))[..] != kp.public[32..] {
            return Err(ParseError::new(
                "c25519 key pair",
                "secret does not match public",
            ));
        }
        Ok(kp)
    }
    /// The 128-byte `.c25519` form.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(128));
        v.extend_from_slice(&self.public);
        v.extend_from_slice(&self.secret[..]);
        v
    }
    /// Sign `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        crypto::sign(&crypto::first_n(&self.secret[32..]), msg)
    }
}
