//! Crypto binding (MS-SSTP 3.2.5.2): tying the PPP authentication inside the tunnel to the
//! TLS connection around it, so a man in the middle cannot relay PPP authentication it
//! obtained elsewhere.
//!
//! ```text
//!  server (Call Connect Ack)            client (Call Connected)
//!  Crypto Binding Request:              Crypto Binding:
//!    Hash Protocol Bitmask (1|2)  --->    Hash Protocol    (SHA-256 if offered, else SHA-1)
//!    Nonce (32 random bytes)      --->    Nonce            (echoed)
//!                                         Cert Hash        H(server certificate DER)
//!                                         Compound MAC     HMAC-H(CMK, Call Connected with
//!                                                                   the MAC field zeroed)
//!
//!  HLAK (32 bytes): MS-CHAPv2 keys of RFC 3079 s3 (16 + 16):
//!      client HLAK = MasterSendKey | MasterReceiveKey      (client's point of view)
//!      server HLAK = MasterReceiveKey | MasterSendKey      (server's point of view)
//!    so both sides hold the same 32 bytes: the client-to-server key, then the other one.
//!    PAP, CHAP (and any method without MPPE key material): 32 zero bytes.
//!  CMK = T1 = HMAC-H(HLAK, "SSTP inner method derived CMK" | LEN | 0x01)
//!    LEN: the output length as 16 bits little-endian (SHA-1: 20, SHA-256: 32); one HMAC
//!    block is enough for both lengths, so T2.. are never needed.
//!  SHA-1 values (cert hash, MAC) are 20 bytes, zero padded to the 32-byte fields.
//! ```
//!
//! The server checks, in this order: the hash protocol was offered, the nonce is its own,
//! the certificate hash is the hash of its certificate, the Compound MAC. Any failure is an
//! invalid Call Connected: Call Abort (MS-SSTP 3.1.5.1) with status
//! `ATTRIB_STATUS_INVALID_FRAME_RECEIVED`.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::wire::{CryptoBinding, HashProtocol};

/// Seed of the CMK derivation (MS-SSTP 3.2.5.2.2).
pub const CMK_SEED: &[u8; 29] = b"SSTP inner method derived CMK";

/// Offset of the Compound MAC in a Call Connected packet (header 4, message 4, attribute
/// header 4, reserved 3, hash 1, nonce 32, cert hash 32).
pub const COMPOUND_MAC_OFFSET: usize = 80;
/// Length of a Call Connected packet.
pub const CALL_CONNECTED_LEN: usize = 112;

/// Higher-Layer Authentication Key: 32 bytes, zeroised on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Hlak([u8; 32]);

impl std::fmt::Debug for Hlak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            f.write_str("Hlak(zero)")
        } else {
            f.write_str("Hlak(..)")
        }
    }
}

impl Hlak {
    /// The all-zero HLAK of PAP/CHAP, or of a client that cannot export keys.
    pub const fn zero() -> Self {
        Hlak([0; 32])
    }

    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Hlak(b)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// True for the all-zero key.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// From the MS-CHAP key material of one side (`ppp::mschap::MsChapKeys`, whose send/receive
    /// keys are from that side's point of view): client `send | recv`, server `recv | send`.
    pub fn from_mschap(keys: &ppp::mschap::MsChapKeys, is_server: bool) -> Self {
        let (first, second) = if is_server {
            (&keys.recv_key, &keys.send_key)
        } else {
            (&keys.send_key, &keys.recv_key)
        };
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(first);
        b[16..].copy_from_slice(second);
        Hlak(b)
    }
}

/// The Compound MAC Key for `hash` (SHA-1: 20 bytes, zero padded to 32).
pub fn cmk(hlak: &Hlak, hash: HashProtocol) -> [u8; 32] {
    let len = (hash.len() as u16).to_le_bytes();
    let mut out = [0u8; 32];
    match hash {
        HashProtocol::Sha1 => {
            let Ok(mut m) = Hmac::<Sha1>::new_from_slice(hlak.as_bytes()) else {
                return out;
            };
            m.update(CMK_SEED);
            m.update(&len);
            m.update(&[1]);
            out[..20].copy_from_slice(&m.finalize().into_bytes());
        }
        HashProtocol::Sha256 => {
            let Ok(mut m) = Hmac::<Sha256>::new_from_slice(hlak.as_bytes()) else {
                return out;
            };
            m.update(CMK_SEED);
            m.update(&len);
            m.update(&[1]);
            out.copy_from_slice(&m.finalize().into_bytes());
        }
    }
    out
}

/// The certificate hash field: `hash` of the server certificate (DER), zero padded.
pub fn cert_hash(hash: HashProtocol, cert_der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    match hash {
        HashProtocol::Sha1 => out[..20].copy_from_slice(&Sha1::digest(cert_der)),
        HashProtocol::Sha256 => out.copy_from_slice(&Sha256::digest(cert_der)),
    }
    out
}

/// HMAC-`hash`(CMK, `message`), zero padded to 32 bytes. `message` is the whole Call
/// Connected packet with the Compound MAC field zeroed.
pub fn compound_mac(cmk: &[u8; 32], hash: HashProtocol, message: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    match hash {
        HashProtocol::Sha1 => {
            if let Ok(mut m) = Hmac::<Sha1>::new_from_slice(&cmk[..20]) {
                m.update(message);
                out[..20].copy_from_slice(&m.finalize().into_bytes());
            }
        }
        HashProtocol::Sha256 => {
            if let Ok(mut m) = Hmac::<Sha256>::new_from_slice(cmk) {
                m.update(message);
                out.copy_from_slice(&m.finalize().into_bytes());
            }
        }
    }
    out
}

/// The hash protocol a client uses for a server's bitmask: SHA-256 when offered (the
/// stronger one; Windows and sstpc do the same), else SHA-1. `None` when neither bit is set.
pub fn choose(bitmask: u8) -> Option<HashProtocol> {
    if bitmask & HashProtocol::Sha256.bit() != 0 {
        Some(HashProtocol::Sha256)
    } else if bitmask & HashProtocol::Sha1.bit() != 0 {
        Some(HashProtocol::Sha1)
    } else {
        None
    }
}

/// Client side: the complete Call Connected packet (112 bytes) for a server's nonce,
/// certificate and the HLAK.
pub fn call_connected(
    hash: HashProtocol,
    nonce: [u8; 32],
    server_cert_der: &[u8],
    hlak: &Hlak,
) -> Vec<u8> {
    let mut binding = CryptoBinding {
        reserved: [0; 3],
        hash_protocol: hash.bit(),
        nonce,
        cert_hash: cert_hash(hash, server_cert_der),
        compound_mac: [0; 32],
    };
    let mut k = cmk(hlak, hash);
    let unsigned = crate::wire::ControlMessage::connected(binding.clone())
        .to_vec()
        .unwrap_or_default();
    binding.compound_mac = compound_mac(&k, hash, &unsigned);
    k.zeroize();
    crate::wire::ControlMessage::connected(binding)
        .to_vec()
        .unwrap_or_default()
}

/// Why a Call Connected failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// The message is not a 112-byte Call Connected with one Crypto Binding attribute.
    #[error("not a well-formed Call Connected with a Crypto Binding attribute")]
    Malformed,
    /// Hash Protocol is neither SHA-1 nor SHA-256, or was not offered.
    #[error("hash protocol {0:#04x} was not offered")]
    HashNotOffered(u8),
    /// The nonce is not the one sent in Call Connect Ack.
    #[error("nonce does not match the Crypto Binding Request")]
    Nonce,
    /// The certificate hash is not the hash of this server's certificate.
    #[error("certificate hash does not match the server certificate")]
    CertHash,
    /// The Compound MAC does not verify with the HLAK (nor with a zero HLAK when allowed).
    #[error("compound MAC does not verify")]
    CompoundMac,
}

/// Which key the server accepted the binding with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingKey {
    /// The HLAK of the PPP authentication (MS-CHAPv2 keys).
    Hlak,
    /// The all-zero HLAK: PAP/CHAP, or a client without key export when the server allows it.
    Zero,
}

/// Server side: verify a received Call Connected `packet` (raw bytes). `offered` is the
/// bitmask sent, `nonce` the nonce sent, `cert_der` the server's certificate, `hlak` the
/// key from PPP authentication, `accept_zero`: also accept a binding made with the zero HLAK.
pub fn verify(
    packet: &[u8],
    offered: u8,
    nonce: &[u8; 32],
    cert_der: &[u8],
    hlak: &Hlak,
    accept_zero: bool,
) -> Result<(HashProtocol, BindingKey), BindingError> {
    if packet.len() != CALL_CONNECTED_LEN {
        return Err(BindingError::Malformed);
    }
    let msg = crate::wire::ControlMessage::parse(packet).map_err(|_| BindingError::Malformed)?;
    let [crate::wire::Attribute::CryptoBinding(b)] = msg.attributes.as_slice() else {
        return Err(BindingError::Malformed);
    };
    let hash = HashProtocol::from_u8(b.hash_protocol)
        .filter(|h| offered & h.bit() != 0)
        .ok_or(BindingError::HashNotOffered(b.hash_protocol))?;
    if !bool::from(b.nonce.ct_eq(nonce)) {
        return Err(BindingError::Nonce);
    }
    if !bool::from(b.cert_hash.ct_eq(&cert_hash(hash, cert_der))) {
        return Err(BindingError::CertHash);
    }
    let mut unsigned = [0u8; CALL_CONNECTED_LEN];
    unsigned.copy_from_slice(packet);
    unsigned[COMPOUND_MAC_OFFSET..].fill(0);
    let check = |key: &Hlak| {
        let mut k = cmk(key, hash);
        let mac = compound_mac(&k, hash, &unsigned);
        k.zeroize();
        bool::from(mac.ct_eq(&b.compound_mac))
    };
    if check(hlak) {
        return Ok((
            hash,
            if hlak.is_zero() {
                BindingKey::Zero
            } else {
                BindingKey::Hlak
            },
        ));
    }
    if accept_zero && !hlak.is_zero() && check(&Hlak::zero()) {
        return Ok((hash, BindingKey::Zero));
    }
    Err(BindingError::CompoundMac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_prefers_sha256() {
        assert_eq!(choose(3), Some(HashProtocol::Sha256));
        assert_eq!(choose(2), Some(HashProtocol::Sha256));
        assert_eq!(choose(1), Some(HashProtocol::Sha1));
        assert_eq!(choose(0), None);
        assert_eq!(choose(0xfc), None);
    }

    #[test]
    fn round_trip_and_every_failure() {
        let cert = b"not really a certificate, but bytes to hash";
        let hlak = Hlak::from_bytes([9; 32]);
        let nonce = [5; 32];
        for hash in [HashProtocol::Sha1, HashProtocol::Sha256] {
            let p = call_connected(hash, nonce, cert, &hlak);
            assert_eq!(p.len(), CALL_CONNECTED_LEN);
            assert_eq!(
                verify(&p, 3, &nonce, cert, &hlak, false),
                Ok((hash, BindingKey::Hlak))
            );
            assert_eq!(
                verify(&p, 3 & !hash.bit(), &nonce, cert, &hlak, false),
                Err(BindingError::HashNotOffered(hash.bit()))
            );
            assert_eq!(
                verify(&p, 3, &[6; 32], cert, &hlak, false),
                Err(BindingError::Nonce)
            );
            assert_eq!(
                verify(&p, 3, &nonce, b"other", &hlak, false),
                Err(BindingError::CertHash)
            );
            assert_eq!(
                verify(&p, 3, &nonce, cert, &Hlak::from_bytes([8; 32]), false),
                Err(BindingError::CompoundMac)
            );
            let z = call_connected(hash, nonce, cert, &Hlak::zero());
            assert_eq!(
                verify(&z, 3, &nonce, cert, &hlak, false),
                Err(BindingError::CompoundMac)
            );
            assert_eq!(
                verify(&z, 3, &nonce, cert, &hlak, true),
                Ok((hash, BindingKey::Zero))
            );
            assert_eq!(
                verify(&z, 3, &nonce, cert, &Hlak::zero(), false),
                Ok((hash, BindingKey::Zero))
            );
            assert_eq!(
                verify(&p[..100], 3, &nonce, cert, &hlak, false),
                Err(BindingError::Malformed)
            );
        }
    }
}
