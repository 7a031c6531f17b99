//! Other controller-signed credentials: **certificates of ownership** (COO: "this member owns
//! these IP/MAC addresses on this network", so peers can refuse spoofed source addresses) and
//! **tags** (a numbered value the rules engine can match on).
//!
//! ```text
//! COO  nwid (8) | timestamp (8) | flags (8) | id (4) | thing count (2)
//!      | count x (type (1): 1 MAC, 2 IPv4, 3 IPv6 | value (16, zero padded))
//!      | issued to (5) | signed by (5) | signature type 1 (1) | length 96 (2) | signature (96)
//!      | extra fields length (2) = 0
//! Tag  nwid (8) | timestamp (8) | id (4) | value (4) | issued to (5) | signed by (5)
//!      | signature type (1) | length (2) | signature | extra fields length (2) = 0
//! ```
//! Both are signed over the same bytes without the signature triplet and framed by eight
//! `0x7f` bytes before and after. The COO layout and signature are checked against the
//! ZeroTierOne 1.14.1 capture (`COO` of the saved config); the tag uses the same framing (no
//! captured sample: the lab network has no tags). The certificate's length bound is
//! [`MAX_THINGS`] things.

use std::net::IpAddr;

use thiserror::Error;

use crate::crypto::SIGNATURE_LEN;
use crate::{Address, Identity, NetworkId};

/// Most things in one certificate of ownership.
pub const MAX_THINGS: usize = 16;
const FRAME: [u8; 8] = [0x7f; 8];

/// Why a credential does not parse or verify.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Input ended early.
    #[error("credential truncated")]
    Truncated,
    /// A count, type or length the format does not allow.
    #[error("credential has a bad {0}")]
    BadField(&'static str),
    /// Not signed by the expected controller, or the signature does not verify.
    #[error("credential signature does not verify")]
    BadSignature,
    /// Signing needs the secret key.
    #[error("signing identity has no secret")]
    NoSecret,
}

struct R<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CredentialError> {
        let s = self
            .b
            .get(self.p..self.p + n)
            .ok_or(CredentialError::Truncated)?;
        self.p += n;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, CredentialError> {
        Ok(u64::from_be_bytes(crate::crypto::first_n::<8>(
            self.take(8)?,
        )))
    }
    fn u32(&mut self) -> Result<u32, CredentialError> {
        Ok(u32::from_be_bytes(crate::crypto::first_n::<4>(
            self.take(4)?,
        )))
    }
    fn u16(&mut self) -> Result<u16, CredentialError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn address(&mut self) -> Result<Address, CredentialError> {
        Address::from_slice(self.take(5)?).ok_or(CredentialError::Truncated)
    }
    /// Signature triplet (type 1, length 96) then the empty extra-fields block.
    fn signature(&mut self) -> Result<[u8; SIGNATURE_LEN], CredentialError> {
        if self.take(1)?[0] != 1 {
            return Err(CredentialError::BadField("signature type"));
        }
        if usize::from(self.u16()?) != SIGNATURE_LEN {
            return Err(CredentialError::BadField("signature length"));
        }
        let s = crate::crypto::first_n::<SIGNATURE_LEN>(self.take(SIGNATURE_LEN)?);
        if self.u16()? != 0 {
            return Err(CredentialError::BadField("extra fields length"));
        }
        Ok(s)
    }
}

fn push_sig(out: &mut Vec<u8>, sig: &[u8; SIGNATURE_LEN]) {
    out.push(1);
    out.extend_from_slice(&(SIGNATURE_LEN as u16).to_be_bytes());
    out.extend_from_slice(sig);
}

/// A thing a member owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thing {
    /// Type 1: an Ethernet MAC.
    Mac([u8; 6]),
    /// Type 2 / 3: an IP address.
    Ip(IpAddr),
    /// Another type with its 16-byte value.
    Other(u8, [u8; 16]),
}

impl Thing {
    fn parse(t: u8, v: &[u8; 16]) -> Thing {
        let zero_after = |n: usize| v[n..].iter().all(|&b| b == 0);
        match t {
            1 if zero_after(6) => Thing::Mac([v[0], v[1], v[2], v[3], v[4], v[5]]),
            2 if zero_after(4) => Thing::Ip(IpAddr::from([v[0], v[1], v[2], v[3]])),
            3 => Thing::Ip(IpAddr::from(*v)),
            _ => Thing::Other(t, *v),
        }
    }
    fn emit(&self, out: &mut Vec<u8>) {
        let mut v = [0u8; 16];
        let t = match self {
            Thing::Mac(m) => {
                v[..6].copy_from_slice(m);
                1
            }
            Thing::Ip(IpAddr::V4(a)) => {
                v[..4].copy_from_slice(&a.octets());
                2
            }
            Thing::Ip(IpAddr::V6(a)) => {
                v.copy_from_slice(&a.octets());
                3
            }
            Thing::Other(t, d) => {
                v = *d;
                *t
            }
        };
        out.push(t);
        out.extend_from_slice(&v);
    }
}

/// A certificate of ownership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateOfOwnership {
    /// Network.
    pub network_id: NetworkId,
    /// Issue time (ms).
    pub timestamp: u64,
    /// Flags (0).
    pub flags: u64,
    /// Credential id (ZeroTierOne's controller uses 1).
    pub id: u32,
    /// What is owned (at most [`MAX_THINGS`]).
    pub things: Vec<Thing>,
    /// Owner.
    pub issued_to: Address,
    /// Controller.
    pub signed_by: Address,
    /// Signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl CertificateOfOwnership {
    /// Unsigned certificate (sign with [`sign`](Self::sign)).
    pub fn new(
        network_id: NetworkId,
        timestamp: u64,
        issued_to: Address,
        id: u32,
        things: Vec<Thing>,
    ) -> Self {
        CertificateOfOwnership {
            network_id,
            timestamp,
            flags: 0,
            id,
            things,
            issued_to,
            signed_by: Address::new(0),
            signature: [0; SIGNATURE_LEN],
        }
    }

    fn body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&(self.things.len() as u16).to_be_bytes());
        for t in &self.things {
            t.emit(out);
        }
        out.extend_from_slice(&self.issued_to.to_bytes());
        out.extend_from_slice(&self.signed_by.to_bytes());
    }

    /// The signed bytes.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = FRAME.to_vec();
        self.body(&mut m);
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&FRAME);
        m
    }

    /// Parse one certificate at the start of `b`; returns it and the bytes used.
    pub fn parse_prefix(b: &[u8]) -> Result<(Self, usize), CredentialError> {
        let mut r = R { b, p: 0 };
        let network_id = NetworkId(r.u64()?);
        let timestamp = r.u64()?;
        let flags = r.u64()?;
        let id = r.u32()?;
        let n = usize::from(r.u16()?);
        if n > MAX_THINGS {
            return Err(CredentialError::BadField("thing count"));
        }
        let mut things = Vec::with_capacity(n);
        for _ in 0..n {
            let t = r.take(1)?[0];
            things.push(Thing::parse(t, &crate::crypto::first_n::<16>(r.take(16)?)));
        }
        let issued_to = r.address()?;
        let signed_by = r.address()?;
        let signature = r.signature()?;
        Ok((
            CertificateOfOwnership {
                network_id,
                timestamp,
                flags,
                id,
                things,
                issued_to,
                signed_by,
                signature,
            },
            r.p,
        ))
    }

    /// Parse the `COO` value of a config: certificates back to back.
    pub fn parse_list(b: &[u8]) -> Result<Vec<Self>, CredentialError> {
        let mut out = Vec::new();
        let mut p = 0;
        while p < b.len() {
            let (c, n) = Self::parse_prefix(&b[p..])?;
            out.push(c);
            p += n;
        }
        Ok(out)
    }

    /// Append the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.body(out);
        push_sig(out, &self.signature);
        out.extend_from_slice(&[0, 0]);
    }

    /// Sign with the controller's identity.
    pub fn sign(&mut self, controller: &Identity) -> Result<(), CredentialError> {
        self.signed_by = controller.address();
        self.signature = controller
            .sign(&self.signing_message())
            .ok_or(CredentialError::NoSecret)?;
        Ok(())
    }

    /// Check the controller signed it (and that it is this network's controller).
    pub fn verify(&self, controller: &Identity) -> Result<(), CredentialError> {
        if self.signed_by != controller.address()
            || self.network_id.controller() != controller.address()
            || !controller.verify(&self.signing_message(), &self.signature)
        {
            return Err(CredentialError::BadSignature);
        }
        Ok(())
    }

    /// Whether it lists `ip`.
    pub fn owns_ip(&self, ip: IpAddr) -> bool {
        self.things.contains(&Thing::Ip(ip))
    }
}

/// A tag: a (id, value) pair the controller assigned to a member, matched by rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// Network.
    pub network_id: NetworkId,
    /// Issue time (ms).
    pub timestamp: u64,
    /// Tag id.
    pub id: u32,
    /// Tag value.
    pub value: u32,
    /// Member.
    pub issued_to: Address,
    /// Controller.
    pub signed_by: Address,
    /// Signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl Tag {
    fn body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.network_id.0.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.value.to_be_bytes());
        out.extend_from_slice(&self.issued_to.to_bytes());
        out.extend_from_slice(&self.signed_by.to_bytes());
    }

    /// The signed bytes.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = FRAME.to_vec();
        self.body(&mut m);
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&FRAME);
        m
    }

    /// Parse one tag at the start of `b`; returns it and the bytes used.
    pub fn parse_prefix(b: &[u8]) -> Result<(Self, usize), CredentialError> {
        let mut r = R { b, p: 0 };
        let t = Tag {
            network_id: NetworkId(r.u64()?),
            timestamp: r.u64()?,
            id: r.u32()?,
            value: r.u32()?,
            issued_to: r.address()?,
            signed_by: r.address()?,
            signature: [0; SIGNATURE_LEN],
        };
        let signature = r.signature()?;
        Ok((Tag { signature, ..t }, r.p))
    }

    /// Append the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.body(out);
        push_sig(out, &self.signature);
        out.extend_from_slice(&[0, 0]);
    }

    /// Sign with the controller's identity.
    pub fn sign(&mut self, controller: &Identity) -> Result<(), CredentialError> {
        self.signed_by = controller.address();
        self.signature = controller
            .sign(&self.signing_message())
            .ok_or(CredentialError::NoSecret)?;
        Ok(())
    }

    /// Check the controller signed it.
    pub fn verify(&self, controller: &Identity) -> Result<(), CredentialError> {
        if self.signed_by != controller.address()
            || self.network_id.controller() != controller.address()
            || !controller.verify(&self.signing_message(), &self.signature)
        {
            return Err(CredentialError::BadSignature);
        }
        Ok(())
    }
}
