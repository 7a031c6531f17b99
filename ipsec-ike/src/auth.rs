//! IKEv2 authentication (RFC 7296 2.15): the signed octets, shared-key AUTH, RSA/ECDSA
//! signatures (methods 1, 9-11 and RFC 7427 digital signatures), and X.509 certificates
//! (RouterOS `digital-signature`, seed L1079, L1373).
//!
//! ```text
//!  InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
//!  ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
//!  PSK:       AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets> )
//!  EAP (2.16): the same with the MSK (or SK_pi/SK_pr when the method makes no MSK) as secret
//!  RFC 7427:  AUTH data = len(AlgorithmIdentifier) | AlgorithmIdentifier | signature
//! ```
//!
//! Certificates: RSA and ECDSA (P-256/P-384) end-entity certificates signed by a configured
//! CA (one level, or via intermediates carried in CERT payloads); the SubjectKeyIdentifier
//! extension is required (L1079); the remote ID must equal the certificate's subject DN or
//! one of its subjectAltNames (L1373). Validity dates are checked only when the caller gives
//! a wall-clock time ([`CertStore::set_time`]): the crate reads no clock.

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use sha2::Digest;
use x509_cert::der::{self, Decode, Encode};
use x509_cert::spki;
use x509_cert::Certificate;

use crate::crypto::Prf;
use crate::error::CryptoError;
use crate::wire::{AuthMethod, Id, IdType};

/// RFC 7427 hash algorithm: SHA-1.
pub const HASH_SHA1: u16 = 1;
/// RFC 7427 hash algorithm: SHA2-256.
pub const HASH_SHA256: u16 = 2;
/// RFC 7427 hash algorithm: SHA2-384.
pub const HASH_SHA384: u16 = 3;
/// RFC 7427 hash algorithm: SHA2-512.
pub const HASH_SHA512: u16 = 4;

/// The octets an AUTH payload covers.
pub fn signed_octets(
    real_message: &[u8],
    peer_nonce: &[u8],
    prf: Prf,
    sk_p: &[u8],
    id: &Id,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(real_message.len() + peer_nonce.len() + prf.output_len());
    v.extend_from_slice(real_message);
    v.extend_from_slice(peer_nonce);
    v.extend_from_slice(&prf.compute(sk_p, &[&id.body_bytes()]));
    v
}

/// Shared-key AUTH (also EAP's MSK-based AUTH).
pub fn psk_auth(prf: Prf, secret: &[u8], octets: &[u8]) -> Vec<u8> {
    let k = prf.compute(secret, &[b"Key Pad for IKEv2"]);
    prf.compute(&k, &[octets])
}

/// A private key we sign with.
#[derive(Clone)]
pub enum PrivateKey {
    /// RSA.
    Rsa(Box<rsa::RsaPrivateKey>),
    /// ECDSA P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::SigningKey),
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey(RSA)",
            PrivateKey::P256(_) => "PrivateKey(P-256)",
            PrivateKey::P384(_) => "PrivateKey(P-384)",
        })
    }
}

impl PrivateKey {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) or PKCS#1 RSA PEM.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, CryptoError> {
        let e = |m: &str| CryptoError::Signature(m.to_string());
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            return Ok(PrivateKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = <rsa::RsaPrivateKey as rsa::pkcs1::DecodeRsaPrivateKey>::from_pkcs1_pem(pem)
        {
            return Ok(PrivateKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            return Ok(PrivateKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            return Ok(PrivateKey::P384(k));
        }
        Err(e(
            "unsupported private key (RSA, P-256, P-384 in PKCS#8 PEM)",
        ))
    }
}

/// A public key we verify with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA.
    Rsa(rsa::RsaPublicKey),
    /// ECDSA P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// From a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, CryptoError> {
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
            return Ok(PublicKey::Rsa(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        Err(CryptoError::Signature("unsupported public key".into()))
    }
}

const OID_SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";

/// DER AlgorithmIdentifier for RFC 7427 (RSA ones carry a NULL parameter).
fn alg_id_der(oid: &str) -> Vec<u8> {
    let o = match der::asn1::ObjectIdentifier::new(oid) {
        Ok(o) => o,
        Err(_) => return Vec::new(),
    };
    let params = if oid.starts_with("1.2.840.113549") {
        Some(der::Any::null())
    } else {
        None
    };
    spki::AlgorithmIdentifierOwned {
        oid: o,
        parameters: params,
    }
    .to_der()
    .unwrap_or_default()
}

fn rsa_sign(k: &rsa::RsaPrivateKey, hash: u16, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let err = |e: rsa::signature::Error| CryptoError::Signature(e.to_string());
    Ok(match hash {
        HASH_SHA1 => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(k.clone())
            .try_sign(msg)
            .map_err(err)?
            .to_vec(),
        HASH_SHA384 => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(k.clone())
            .try_sign(msg)
            .map_err(err)?
            .to_vec(),
        HASH_SHA512 => rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(k.clone())
            .try_sign(msg)
            .map_err(err)?
            .to_vec(),
        _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone())
            .try_sign(msg)
            .map_err(err)?
            .to_vec(),
    })
}

fn rsa_verify(k: &rsa::RsaPublicKey, hash: u16, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let bad = |_| CryptoError::Signature("RSA signature did not verify".into());
    let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(bad)?;
    match hash {
        HASH_SHA1 => rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(k.clone()).verify(msg, &s),
        HASH_SHA384 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(k.clone()).verify(msg, &s),
        HASH_SHA512 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(k.clone()).verify(msg, &s),
        _ => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.clone()).verify(msg, &s),
    }
    .map_err(bad)
}

/// Sign `octets` for an AUTH payload. With `rfc7427` (the peer sent
/// SIGNATURE_HASH_ALGORITHMS including SHA2-256) the result is method 14 with SHA2-256 (P-384
/// keys: SHA2-384); otherwise method 1 (RSA, SHA-1) or 9/10 (ECDSA).
pub fn sign(
    key: &PrivateKey,
    rfc7427: bool,
    octets: &[u8],
) -> Result<(AuthMethod, Vec<u8>), CryptoError> {
    let err = |e: rsa::signature::Error| CryptoError::Signature(e.to_string());
    match key {
        PrivateKey::Rsa(k) if rfc7427 => {
            let mut v = alg_id_der(OID_SHA256_RSA);
            let sig = rsa_sign(k, HASH_SHA256, octets)?;
            v.insert(0, v.len() as u8);
            v.extend_from_slice(&sig);
            Ok((AuthMethod::DIGITAL_SIGNATURE, v))
        }
        PrivateKey::Rsa(k) => Ok((AuthMethod::RSA_SIG, rsa_sign(k, HASH_SHA1, octets)?)),
        PrivateKey::P256(k) => {
            let s: p256::ecdsa::Signature = k.try_sign(octets).map_err(err)?;
            if rfc7427 {
                let mut v = alg_id_der(OID_ECDSA_SHA256);
                v.insert(0, v.len() as u8);
                v.extend_from_slice(s.to_der().as_bytes());
                Ok((AuthMethod::DIGITAL_SIGNATURE, v))
            } else {
                Ok((AuthMethod::ECDSA_256, s.to_bytes().to_vec()))
            }
        }
        PrivateKey::P384(k) => {
            let s: p384::ecdsa::Signature = k.try_sign(octets).map_err(err)?;
            if rfc7427 {
                let mut v = alg_id_der(OID_ECDSA_SHA384);
                v.insert(0, v.len() as u8);
                v.extend_from_slice(s.to_der().as_bytes());
                Ok((AuthMethod::DIGITAL_SIGNATURE, v))
            } else {
                Ok((AuthMethod::ECDSA_384, s.to_bytes().to_vec()))
            }
        }
    }
}

/// Verify an AUTH payload's signature over `octets` with the peer's public key.
pub fn verify(
    key: &PublicKey,
    method: AuthMethod,
    data: &[u8],
    octets: &[u8],
) -> Result<(), CryptoError> {
    let bad = || CryptoError::Signature("signature did not verify".into());
    match method {
        AuthMethod::RSA_SIG => match key {
            PublicKey::Rsa(k) => rsa_verify(k, HASH_SHA1, octets, data),
            _ => Err(bad()),
        },
        AuthMethod::ECDSA_256 => match key {
            PublicKey::P256(k) => {
                let s = p256::ecdsa::Signature::from_slice(data).map_err(|_| bad())?;
                k.verify(octets, &s).map_err(|_| bad())
            }
            _ => Err(bad()),
        },
        AuthMethod::ECDSA_384 => match key {
            PublicKey::P384(k) => {
                let s = p384::ecdsa::Signature::from_slice(data).map_err(|_| bad())?;
                k.verify(octets, &s).map_err(|_| bad())
            }
            _ => Err(bad()),
        },
        AuthMethod::DIGITAL_SIGNATURE => {
            let l = usize::from(*data.first().ok_or_else(bad)?);
            let alg = data.get(1..1 + l).ok_or_else(bad)?;
            let sig = &data[1 + l..];
            let ai = spki::AlgorithmIdentifierOwned::from_der(alg).map_err(|_| bad())?;
            let oid = ai.oid.to_string();
            match (key, oid.as_str()) {
                (PublicKey::Rsa(k), OID_SHA1_RSA) => rsa_verify(k, HASH_SHA1, octets, sig),
                (PublicKey::Rsa(k), OID_SHA256_RSA) => rsa_verify(k, HASH_SHA256, octets, sig),
                (PublicKey::Rsa(k), OID_SHA384_RSA) => rsa_verify(k, HASH_SHA384, octets, sig),
                (PublicKey::Rsa(k), OID_SHA512_RSA) => rsa_verify(k, HASH_SHA512, octets, sig),
                (PublicKey::P256(k), OID_ECDSA_SHA256) => {
                    let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                    k.verify(octets, &s).map_err(|_| bad())
                }
                (PublicKey::P384(k), OID_ECDSA_SHA384) => {
                    let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
                    k.verify(octets, &s).map_err(|_| bad())
                }
                (_, OID_ECDSA_SHA512) => {
                    Err(CryptoError::Signature("ECDSA-SHA512 not supported".into()))
                }
                _ => Err(bad()),
            }
        }
        other => Err(CryptoError::Unsupported {
            what: "AUTH method",
            id: u16::from(other.0),
        }),
    }
}

/// A parsed certificate with what IKE needs from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The DER certificate.
    pub der: Vec<u8>,
    /// DER of the subject Name (an ID_DER_ASN1_DN identity).
    pub subject_der: Vec<u8>,
    /// DER of the issuer Name.
    pub issuer_der: Vec<u8>,
    /// The subject as text (`CN=interop-responder`).
    pub subject: String,
    /// subjectAltName IP addresses.
    pub san_ips: Vec<std::net::IpAddr>,
    /// subjectAltName DNS names.
    pub san_dns: Vec<String>,
    /// subjectAltName e-mail addresses.
    pub san_email: Vec<String>,
    /// Whether a SubjectKeyIdentifier extension is present (required, L1079).
    pub has_ski: bool,
    /// The public key.
    pub public: PublicKey,
    /// SHA-1 of the DER SubjectPublicKeyInfo (what CERTREQ carries for a CA).
    pub spki_sha1: [u8; 20],
    /// Validity (seconds since the Unix epoch).
    pub not_before: u64,
    /// Validity end.
    pub not_after: u64,
    tbs_der: Vec<u8>,
    sig_oid: String,
    signature: Vec<u8>,
}

impl CertInfo {
    /// Parse a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertInfo, CryptoError> {
        let e = |m: String| CryptoError::Signature(m);
        let c = Certificate::from_der(der).map_err(|x| e(format!("certificate: {x}")))?;
        let tbs = &c.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|x| e(x.to_string()))?;
        let mut san_ips = Vec::new();
        let mut san_dns = Vec::new();
        let mut san_email = Vec::new();
        let mut has_ski = false;
        for ext in tbs.extensions.iter().flatten() {
            let oid = ext.extn_id.to_string();
            if oid == "2.5.29.14" {
                has_ski = true;
            } else if oid == "2.5.29.17" {
                if let Ok(san) =
                    x509_cert::ext::pkix::SubjectAltName::from_der(ext.extn_value.as_bytes())
                {
                    for n in san.0 {
                        use x509_cert::ext::pkix::name::GeneralName;
                        match n {
                            GeneralName::IpAddress(o) => match o.as_bytes().len() {
                                4 => {
                                    let b: [u8; 4] = o.as_bytes().try_into().unwrap_or([0; 4]);
                                    san_ips.push(std::net::IpAddr::from(b));
                                }
                                16 => {
                                    let b: [u8; 16] = o.as_bytes().try_into().unwrap_or([0; 16]);
                                    san_ips.push(std::net::IpAddr::from(b));
                                }
                                _ => {}
                            },
                            GeneralName::DnsName(s) => san_dns.push(s.to_string()),
                            GeneralName::Rfc822Name(s) => san_email.push(s.to_string()),
                            _ => {}
                        }
                    }
                }
            }
        }
        Ok(CertInfo {
            der: der.to_vec(),
            subject_der: tbs.subject.to_der().map_err(|x| e(x.to_string()))?,
            issuer_der: tbs.issuer.to_der().map_err(|x| e(x.to_string()))?,
            subject: tbs.subject.to_string(),
            san_ips,
            san_dns,
            san_email,
            has_ski,
            public: PublicKey::from_spki_der(&spki)?,
            spki_sha1: sha1::Sha1::digest(&spki).into(),
            not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
            not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
            tbs_der: tbs.to_der().map_err(|x| e(x.to_string()))?,
            sig_oid: c.signature_algorithm.oid.to_string(),
            signature: c.signature.raw_bytes().to_vec(),
        })
    }

    /// Parse one PEM certificate.
    pub fn from_pem(pem: &str) -> Result<CertInfo, CryptoError> {
        let c = <Certificate as der::DecodePem>::from_pem(pem.as_bytes())
            .map_err(|x| CryptoError::Signature(format!("certificate PEM: {x}")))?;
        CertInfo::from_der(
            &c.to_der()
                .map_err(|x| CryptoError::Signature(x.to_string()))?,
        )
    }

    /// Whether `issuer` signed this certificate.
    pub fn verify_signed_by(&self, issuer: &CertInfo) -> Result<(), CryptoError> {
        if self.issuer_der != issuer.subject_der {
            return Err(CryptoError::Signature("issuer name mismatch".into()));
        }
        let bad = || CryptoError::Signature("certificate signature did not verify".into());
        match (&issuer.public, self.sig_oid.as_str()) {
            (PublicKey::Rsa(k), OID_SHA1_RSA) => {
                rsa_verify(k, HASH_SHA1, &self.tbs_der, &self.signature)
            }
            (PublicKey::Rsa(k), OID_SHA256_RSA) => {
                rsa_verify(k, HASH_SHA256, &self.tbs_der, &self.signature)
            }
            (PublicKey::Rsa(k), OID_SHA384_RSA) => {
                rsa_verify(k, HASH_SHA384, &self.tbs_der, &self.signature)
            }
            (PublicKey::Rsa(k), OID_SHA512_RSA) => {
                rsa_verify(k, HASH_SHA512, &self.tbs_der, &self.signature)
            }
            (PublicKey::P256(k), OID_ECDSA_SHA256) => {
                let s = p256::ecdsa::Signature::from_der(&self.signature).map_err(|_| bad())?;
                k.verify(&self.tbs_der, &s).map_err(|_| bad())
            }
            (PublicKey::P384(k), OID_ECDSA_SHA384) => {
                let s = p384::ecdsa::Signature::from_der(&self.signature).map_err(|_| bad())?;
                k.verify(&self.tbs_der, &s).map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    }

    /// Whether an IKE identity names this certificate: DN equal to the subject, or an
    /// address / FQDN / e-mail among the subjectAltNames (L1373).
    pub fn matches_id(&self, id: &Id) -> bool {
        match id.id_type {
            // Compared as names, not bytes: peers re-encode DNs (strongSwan writes CN as a
            // PrintableString where OpenSSL's certificate has a UTF8String).
            IdType::DER_ASN1_DN => {
                id.data == self.subject_der
                    || x509_cert::name::Name::from_der(&id.data)
                        .is_ok_and(|n| n.to_string().eq_ignore_ascii_case(&self.subject))
            }
            IdType::IPV4_ADDR | IdType::IPV6_ADDR => {
                let s = id.display();
                self.san_ips.iter().any(|a| a.to_string() == s)
            }
            IdType::FQDN => {
                let s = id.display();
                self.san_dns.iter().any(|d| d.eq_ignore_ascii_case(&s))
            }
            IdType::RFC822_ADDR => {
                let s = id.display();
                self.san_email.iter().any(|d| d.eq_ignore_ascii_case(&s))
            }
            _ => false,
        }
    }
}

/// Our certificate with its private key.
#[derive(Clone, Debug)]
pub struct Credential {
    /// Name (what an identity's `certificate` refers to).
    pub name: String,
    /// The certificate.
    pub cert: CertInfo,
    /// The private key.
    pub key: PrivateKey,
}

/// Certificates: trusted CAs, our credentials, and named peer certificates
/// (`remote-certificate` pinning, match-by=certificate).
#[derive(Clone, Debug, Default)]
pub struct CertStore {
    /// Trusted CAs.
    pub cas: Vec<CertInfo>,
    /// Our certificates with keys.
    pub credentials: Vec<Credential>,
    /// Named peer certificates.
    pub peers: Vec<(String, CertInfo)>,
    /// Wall-clock time for validity checks (seconds since the epoch), if the caller gave one.
    pub time: Option<u64>,
}

impl CertStore {
    /// Set the wall-clock time used for validity checks.
    pub fn set_time(&mut self, unix_seconds: u64) {
        self.time = Some(unix_seconds);
    }

    /// Our credential by name.
    pub fn credential(&self, name: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.name == name)
    }

    /// Validate a peer's end-entity certificate (with optional intermediates) against the
    /// trusted CAs. Returns the parsed end-entity certificate.
    pub fn validate(&self, end: &[u8], intermediates: &[Vec<u8>]) -> Result<CertInfo, CryptoError> {
        let leaf = CertInfo::from_der(end)?;
        if !leaf.has_ski {
            return Err(CryptoError::Signature(
                "certificate lacks SubjectKeyIdentifier (required)".into(),
            ));
        }
        let chain: Vec<CertInfo> = intermediates
            .iter()
            .filter_map(|d| CertInfo::from_der(d).ok())
            .collect();
        let mut cur = leaf.clone();
        for _ in 0..=chain.len().min(8) {
            self.check_time(&cur)?;
            if let Some(ca) = self.cas.iter().find(|ca| cur.verify_signed_by(ca).is_ok()) {
                self.check_time(ca)?;
                return Ok(leaf);
            }
            match chain.iter().find(|i| cur.verify_signed_by(i).is_ok()) {
                Some(i) => cur = i.clone(),
                None => break,
            }
        }
        Err(CryptoError::Signature(format!(
            "no trusted CA signed {:?}",
            leaf.subject
        )))
    }

    fn check_time(&self, c: &CertInfo) -> Result<(), CryptoError> {
        match self.time {
            Some(t) if t < c.not_before || t > c.not_after => Err(CryptoError::Signature(format!(
                "{:?} is not valid at this time",
                c.subject
            ))),
            _ => Ok(()),
        }
    }

    /// CERTREQ data: concatenated SHA-1 hashes of the CAs' public keys (RFC 7296 3.7).
    pub fn certreq_data(&self) -> Vec<u8> {
        self.cas.iter().flat_map(|c| c.spki_sha1).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_auth_is_prf_of_prf() {
        let a = psk_auth(Prf::HmacSha256, b"secret", b"octets");
        let k = Prf::HmacSha256.compute(b"secret", &[b"Key Pad for IKEv2"]);
        assert_eq!(a, Prf::HmacSha256.compute(&k, &[b"octets"]));
    }

    #[test]
    fn ecdsa_sign_verify_both_methods() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let sk = p256::ecdsa::SigningKey::random(&mut rng);
        let pk = PublicKey::P256(*sk.verifying_key());
        let key = PrivateKey::P256(sk);
        for rfc7427 in [false, true] {
            let (m, d) = sign(&key, rfc7427, b"hello").unwrap();
            verify(&pk, m, &d, b"hello").unwrap();
            assert!(verify(&pk, m, &d, b"hellO").is_err());
        }
    }
}
