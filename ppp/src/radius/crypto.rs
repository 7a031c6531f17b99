//! RADIUS's uses of MD5 and HMAC-MD5: authenticators, User-Password hiding, the salted key
//! encryption of RFC 2548 and the Message-Authenticator of RFC 3579.
//!
//! Every one of them mixes in the *shared secret*, which never travels: a packet proves it
//! came from someone who knows the secret, and the few hidden values (a PAP password, MPPE
//! keys) are XORed with an MD5 key stream seeded by secret and authenticator.
//!
//! * **Request Authenticator** of an Access-Request: 16 random octets (RFC 2865 s3). They are
//!   the salt of the password hiding and of every reply's check, so they must not repeat.
//! * **Response Authenticator** of every reply: `MD5(Code | Identifier | Length | Request
//!   Authenticator | Attributes | Secret)` (RFC 2865 s3). A client that checks it knows the
//!   reply answers *its* request and was made by a holder of the secret.
//! * **Accounting-Request / Disconnect-Request / CoA-Request authenticator**: the same MD5
//!   with sixteen zero octets in place of the Request Authenticator (RFC 2866 s3, RFC 5176
//!   s2.3): these requests carry nothing secret and need no randomness.
//! * **User-Password** (RFC 2865 s5.2): the password padded with zeros to a multiple of 16,
//!   `c1 = p1 XOR MD5(S | RA)`, `ci = pi XOR MD5(S | c(i-1))`.
//! * **MS-MPPE-Send/Recv-Key** (RFC 2548 s2.4.2/2.4.3): a 2-octet Salt (high bit set, unique
//!   per packet), then `length | key | padding` encrypted as above with `MD5(S | RA | Salt)`
//!   as the first block key.
//! * **Message-Authenticator** (RFC 3579 s3.2): `HMAC-MD5(Secret, packet)` computed with the
//!   attribute's value zeroed; in a reply the header holds the *request's* authenticator while
//!   it is computed, and the Response Authenticator is computed afterwards over the final
//!   Message-Authenticator.

use super::wire::{message_authenticator_offset, BuildError, HEADER_LEN};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};

/// The MD5 key stream of RFC 2865 s5.2 / RFC 2548 s2.4.2 XORed over `data` (a multiple of
/// 16): `first` seeds block 1, the previous *ciphertext* block seeds the next.
fn md5_stream(secret: &[u8], first: &[&[u8]], data: &mut [u8], encrypt: bool) {
    let mut prev: Vec<u8> = Vec::new();
    for (i, block) in data.chunks_mut(16).enumerate() {
        let mut h = Md5::new();
        h.update(secret);
        if i == 0 {
            for p in first {
                h.update(p);
            }
        } else {
            h.update(&prev);
        }
        let b = h.finalize();
        let cipher_in: Vec<u8> = block.to_vec();
        for (x, k) in block.iter_mut().zip(b.iter()) {
            *x ^= k;
        }
        prev = if encrypt { block.to_vec() } else { cipher_in };
    }
}

/// Hide a User-Password (RFC 2865 s5.2). Passwords longer than 128 octets are refused.
pub fn hide_password(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    password: &[u8],
) -> Result<Vec<u8>, BuildError> {
    if password.len() > 128 {
        return Err(BuildError::PasswordTooLong {
            len: password.len(),
        });
    }
    let padded = password.len().div_ceil(16).max(1) * 16;
    let mut p = password.to_vec();
    p.resize(padded, 0);
    md5_stream(secret, &[request_authenticator], &mut p, true);
    Ok(p)
}

/// Recover a hidden User-Password (a server's or a test's view), trailing zero padding
/// removed. `None` if the value is not a non-empty multiple of 16 up to 128 octets.
pub fn unhide_password(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    hidden: &[u8],
) -> Option<Vec<u8>> {
    if hidden.is_empty() || hidden.len() > 128 || !hidden.len().is_multiple_of(16) {
        return None;
    }
    let mut p = hidden.to_vec();
    md5_stream(secret, &[request_authenticator], &mut p, false);
    while p.last() == Some(&0) {
        p.pop();
    }
    Some(p)
}

/// `MD5(packet with `authenticator` in the header | secret)`; `packet` is the whole encoded
/// packet (its own authenticator field is ignored).
pub fn packet_md5(packet: &[u8], authenticator: &[u8; 16], secret: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(&packet[..4.min(packet.len())]);
    h.update(authenticator);
    if packet.len() > HEADER_LEN {
        h.update(&packet[HEADER_LEN..]);
    }
    h.update(secret);
    h.finalize().into()
}

/// The Response Authenticator a reply to a request with `request_authenticator` must carry
/// (RFC 2865 s3); `reply` is the encoded reply.
pub fn response_authenticator(
    reply: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> [u8; 16] {
    packet_md5(reply, request_authenticator, secret)
}

/// The authenticator of an Accounting-Request, Disconnect-Request or CoA-Request (RFC 2866
/// s3, RFC 5176 s2.3): MD5 over the packet with a zero authenticator, then the secret.
pub fn accounting_request_authenticator(request: &[u8], secret: &[u8]) -> [u8; 16] {
    packet_md5(request, &[0u8; 16], secret)
}

/// HMAC-MD5 over `packet` with `authenticator` in the header and the Message-Authenticator
/// value zeroed (RFC 3579 s3.2). `None` if the packet has no Message-Authenticator.
pub fn message_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    secret: &[u8],
) -> Option<[u8; 16]> {
    let off = message_authenticator_offset(packet)?;
    let mut copy = packet.to_vec();
    copy[4..20].copy_from_slice(authenticator);
    copy[off..off + 16].fill(0);
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(secret).ok()?;
    mac.update(&copy);
    Some(mac.finalize().into_bytes().into())
}

/// Which authenticator a packet carries, for [`sign`] and [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing<'a> {
    /// Access-Request / Status-Server: the header's random authenticator stays; a
    /// Message-Authenticator is computed over it.
    AccessRequest,
    /// Accounting-Request, Disconnect-Request, CoA-Request: the Message-Authenticator is
    /// computed with a zero authenticator, then the authenticator is the packet MD5.
    ComputedRequest,
    /// A reply to a request with this authenticator.
    Response(&'a [u8; 16]),
}

/// Fill the Message-Authenticator (if the packet has one) and the authenticator field of an
/// encoded packet.
pub fn sign(packet: &mut [u8], signing: Signing<'_>, secret: &[u8]) {
    if packet.len() < HEADER_LEN {
        return;
    }
    let header_auth: [u8; 16] = match signing {
        Signing::AccessRequest => packet[4..20].try_into().unwrap_or([0; 16]),
        Signing::ComputedRequest => [0; 16],
        Signing::Response(ra) => *ra,
    };
    if let (Some(off), Some(ma)) = (
        message_authenticator_offset(packet),
        message_authenticator(packet, &header_auth, secret),
    ) {
        packet[off..off + 16].copy_from_slice(&ma);
    }
    match signing {
        Signing::AccessRequest => {}
        Signing::ComputedRequest => {
            let a = accounting_request_authenticator(packet, secret);
            packet[4..20].copy_from_slice(&a);
        }
        Signing::Response(ra) => {
            let a = response_authenticator(packet, ra, secret);
            packet[4..20].copy_from_slice(&a);
        }
    }
}

/// What failed in [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The (Response or Accounting) authenticator does not match.
    Authenticator,
    /// The Message-Authenticator does not match.
    MessageAuthenticator,
    /// A Message-Authenticator was required and is absent.
    MissingMessageAuthenticator,
}

/// Check an encoded packet's authenticator and Message-Authenticator (when present, or
/// when `require_ma`). Comparisons are constant-time.
pub fn verify(
    packet: &[u8],
    signing: Signing<'_>,
    secret: &[u8],
    require_ma: bool,
) -> Result<(), VerifyError> {
    if packet.len() < HEADER_LEN {
        return Err(VerifyError::Authenticator);
    }
    let got: [u8; 16] = packet[4..20].try_into().unwrap_or([0; 16]);
    let want = match signing {
        Signing::AccessRequest => None,
        Signing::ComputedRequest => Some(accounting_request_authenticator(packet, secret)),
        Signing::Response(ra) => Some(response_authenticator(packet, ra, secret)),
    };
    if let Some(w) = want {
        if !ct_eq(&w, &got) {
            return Err(VerifyError::Authenticator);
        }
    }
    let header_auth = match signing {
        Signing::AccessRequest => got,
        Signing::ComputedRequest => [0; 16],
        Signing::Response(ra) => *ra,
    };
    match message_authenticator_offset(packet) {
        Some(off) => {
            let ma = message_authenticator(packet, &header_auth, secret)
                .ok_or(VerifyError::MessageAuthenticator)?;
            if !ct_eq(&ma, &packet[off..off + 16]) {
                return Err(VerifyError::MessageAuthenticator);
            }
        }
        None if require_ma => return Err(VerifyError::MissingMessageAuthenticator),
        None => {}
    }
    Ok(())
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Encrypt an MS-MPPE-Send/Recv-Key value (RFC 2548 s2.4.2): returns `Salt | ciphertext`.
/// `salt`'s high bit is set as the RFC requires. The key is at most 239 octets.
pub fn mppe_key_encrypt(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: u16,
    key: &[u8],
) -> Result<Vec<u8>, BuildError> {
    if key.len() > 239 {
        return Err(BuildError::AttributeTooLong {
            typ: super::wire::attr::VENDOR_SPECIFIC,
            len: key.len(),
        });
    }
    let salt = (salt | 0x8000).to_be_bytes();
    let mut p = Vec::with_capacity(key.len() + 17);
    p.push(key.len() as u8);
    p.extend_from_slice(key);
    let padded = p.len().div_ceil(16) * 16;
    p.resize(padded, 0);
    md5_stream(secret, &[request_authenticator, &salt], &mut p, true);
    let mut out = salt.to_vec();
    out.extend_from_slice(&p);
    Ok(out)
}

/// Decrypt an MS-MPPE-Send/Recv-Key value (`Salt | ciphertext`) of a reply to the request
/// with `request_authenticator`. `None` if the layout or the embedded length is wrong.
pub fn mppe_key_decrypt(
    secret: &[u8],
    request_authenticator: &[u8; 16],
    value: &[u8],
) -> Option<Vec<u8>> {
    if value.len() < 2 + 16 || !(value.len() - 2).is_multiple_of(16) || value[0] & 0x80 == 0 {
        return None;
    }
    let salt = &value[..2];
    let mut p = value[2..].to_vec();
    md5_stream(secret, &[request_authenticator, salt], &mut p, false);
    let len = p[0] as usize;
    if len + 1 > p.len() {
        return None;
    }
    Some(p[1..1 + len].to_vec())
}
