//! TLS carried sans-IO: the adapter trait the session drives, and a rustls implementation.
//!
//! OpenVPN runs an ordinary TLS handshake whose records travel inside `P_CONTROL_V1`
//! payloads (reliability layer: `reliable.rs`). The session only moves bytes:
//! ciphertext from the peer into [`TlsEngine::read_tls`], ciphertext out of
//! [`TlsEngine::write_tls`], plaintext (key method 2, PUSH_REQUEST/PUSH_REPLY, ...) through
//! [`TlsEngine::send_plaintext`] / [`TlsEngine::recv_plaintext`], and data keys through
//! [`TlsEngine::export_keying_material`] (RFC 5705, `tls-ekm`).
//!
//! [`RustlsEngine`] adapts rustls 0.23 (`ring` provider): TLS 1.2 and 1.3, `tls-version`
//! any / only-1.2, CA chain verification, the RouterOS `verify-server-certificate` CN/SAN
//! check, and client certificates (`require-client-certificate`). Certificate validity is
//! checked against the wall-clock time the session passes in ([`TlsEngine::set_unix_time`],
//! from `SessionConfig::unix_time`), never the system clock.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Errors from a TLS engine (text, as the engine reports it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

impl TlsError {
    fn from<E: core::fmt::Display>(e: E) -> Self {
        TlsError(e.to_string())
    }
}

/// The interface the OpenVPN session needs from a TLS implementation.
pub trait TlsEngine: Send {
    /// Feed ciphertext received from the peer and process it.
    fn read_tls(&mut self, data: &[u8]) -> Result<(), TlsError>;
    /// Append pending ciphertext to `out`.
    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError>;
    /// Whether the handshake is still running.
    fn is_handshaking(&self) -> bool;
    /// Queue plaintext for the peer.
    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError>;
    /// Append received plaintext to `out`.
    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError>;
    /// RFC 5705 keying-material exporter (no context).
    fn export_keying_material(&self, out: &mut [u8], label: &[u8]) -> Result<(), TlsError>;
    /// Negotiated protocol version ("TLSv1.3", ...), once known.
    fn protocol_version(&self) -> Option<&'static str>;
    /// Negotiated cipher suite name, once known.
    fn cipher_suite(&self) -> Option<String>;
    /// The peer's end-entity certificate (DER), if it sent one.
    fn peer_certificate(&self) -> Option<Vec<u8>>;
    /// The current wall-clock time (Unix seconds) for certificate validity checks. The
    /// session calls this before every `read_tls` with `SessionConfig::unix_time` advanced
    /// by the monotonic time elapsed since the session started; engines that do not check
    /// validity periods ignore it.
    fn set_unix_time(&mut self, _unix_secs: u64) {}
}

/// The wall clock a [`RustlsEngine`] checks certificate validity against: a value the
/// caller (through the session) sets, never the system clock. Zero means "not known", and
/// rustls then fails the handshake ("failed to get the current time") instead of guessing.
#[derive(Clone, Debug, Default)]
pub struct WallClock(Arc<AtomicU64>);

impl WallClock {
    /// A clock reading `unix_secs`.
    pub fn new(unix_secs: u64) -> Self {
        WallClock(Arc::new(AtomicU64::new(unix_secs)))
    }

    /// Set the time (Unix seconds).
    pub fn set(&self, unix_secs: u64) {
        self.0.store(unix_secs, Ordering::Relaxed);
    }

    /// The time (Unix seconds; 0 = unknown).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl rustls::time_provider::TimeProvider for WallClock {
    fn current_time(&self) -> Option<UnixTime> {
        match self.get() {
            0 => None,
            t => Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
                t,
            ))),
        }
    }
}

/// `tls-version` (RouterOS): any, or only TLS 1.2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 or 1.3 (RouterOS `any`, the default).
    #[default]
    Any,
    /// TLS 1.2 only (RouterOS `only-1.2`).
    Only12,
}

/// PEM material for a TLS endpoint.
#[derive(Clone, Debug, Default)]
pub struct TlsMaterial {
    /// CA certificate(s) (PEM) used to verify the peer.
    pub ca_pem: Option<String>,
    /// Own certificate chain (PEM).
    pub cert_pem: Option<String>,
    /// Own private key (PEM, PKCS#8 / SEC1 / PKCS#1, unencrypted).
    pub key_pem: Option<String>,
    /// Allowed versions.
    pub version: TlsVersion,
    /// How the peer's certificate is checked against `ca_pem` ([`PeerVerify`]).
    pub verify: PeerVerify,
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let v: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_bytes()).collect();
    let v = v.map_err(TlsError::from)?;
    if v.is_empty() {
        return Err(TlsError("no certificate in PEM".into()));
    }
    Ok(v)
}

fn key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(TlsError::from)?
        .ok_or_else(|| TlsError("no private key in PEM".into()))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

static ONLY_12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];

fn versions(v: TlsVersion) -> &'static [&'static rustls::SupportedProtocolVersion] {
    match v {
        TlsVersion::Any => rustls::ALL_VERSIONS,
        TlsVersion::Only12 => &ONLY_12,
    }
}

/// `verify-x509-name` (OpenVPN): what of the peer certificate's subject must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum X509Name {
    /// `verify-x509-name "C=US, O=Org, CN=name" subject`: the whole subject DN, in
    /// OpenVPN's format (short attribute names, `, ` between them, in certificate order).
    Subject(String),
    /// `verify-x509-name name name`: the common name equals it.
    Name(String),
    /// `verify-x509-name prefix name-prefix`: the common name starts with it.
    NamePrefix(String),
}

/// How the peer's certificate is checked, following OpenVPN's rules rather than the web's
/// (each rule has a test in `tests/tls.rs`):
///
/// * The chain must lead to one of the `ca` certificates. The end entity may itself be one
///   of them: a self-signed certificate marked as a CA, used both as `ca` and as the
///   server's certificate, is accepted (OpenVPN, through OpenSSL, says "VERIFY OK"; webpki
///   alone refuses it as `CaUsedAsEndEntity`). Validity dates are checked in every case,
///   against the session's wall clock.
/// * No extended key usage is required unless `remote_cert_tls` (OpenVPN's
///   `remote-cert-tls server|client`): then the certificate needs a key usage extension
///   and the TLS Web Server (or Client) Authentication EKU; a certificate without any EKU
///   extension may instead carry the legacy Netscape `nsCertType` server (client) bit.
/// * No name is checked unless asked: `x509_name` (OpenVPN `verify-x509-name`), or `host`
///   (RouterOS `verify-server-certificate=yes`: the SAN, or else the CN, equals the
///   `connect-to` address). OpenVPN itself never checks a host name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerVerify {
    /// `remote-cert-tls server` (on a client) / `client` (on a server).
    pub remote_cert_tls: bool,
    /// `verify-x509-name`.
    pub x509_name: Option<X509Name>,
    /// RouterOS `verify-server-certificate=yes` with `connect-to`: SAN (DNS name or IP
    /// address) or CN equal to this.
    pub host: Option<String>,
}

mod oids {
    use x509_cert::der::oid::ObjectIdentifier as O;
    pub const KEY_USAGE: O = O::new_unwrap("2.5.29.15");
    pub const EXT_KEY_USAGE: O = O::new_unwrap("2.5.29.37");
    pub const SUBJECT_ALT_NAME: O = O::new_unwrap("2.5.29.17");
    pub const NS_CERT_TYPE: O = O::new_unwrap("2.16.840.1.113730.1.1");
    pub const SERVER_AUTH: O = O::new_unwrap("1.3.6.1.5.5.7.3.1");
    pub const CLIENT_AUTH: O = O::new_unwrap("1.3.6.1.5.5.7.3.2");
}

/// Short names of the subject attributes OpenVPN prints (others are printed by OID).
fn attr_name(oid: &x509_cert::der::oid::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "2.5.4.3" => "CN".into(),
        "2.5.4.6" => "C".into(),
        "2.5.4.7" => "L".into(),
        "2.5.4.8" => "ST".into(),
        "2.5.4.10" => "O".into(),
        "2.5.4.11" => "OU".into(),
        "2.5.4.5" => "serialNumber".into(),
        "2.5.4.42" => "GN".into(),
        "2.5.4.4" => "SN".into(),
        "1.2.840.113549.1.9.1" => "emailAddress".into(),
        "0.9.2342.19200300.100.1.25" => "DC".into(),
        "0.9.2342.19200300.100.1.1" => "UID".into(),
        other => other.into(),
    }
}

/// The parts of a certificate OpenVPN's rules look at.
struct CertView {
    /// (attribute short name, value) in certificate order.
    subject: Vec<(String, String)>,
    not_before: u64,
    not_after: u64,
    key_usage: bool,
    eku: Option<Vec<x509_cert::der::oid::ObjectIdentifier>>,
    /// nsCertType bits (first byte: 0x80 SSL client, 0x40 SSL server).
    ns_cert_type: Option<u8>,
    dns_names: Vec<String>,
    ips: Vec<Vec<u8>>,
}

fn bad_cert() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
}

impl CertView {
    fn parse(der: &[u8]) -> Result<Self, rustls::Error> {
        use x509_cert::der::Decode;
        let c = x509_cert::Certificate::from_der(der).map_err(|_| bad_cert())?;
        let tbs = c.tbs_certificate;
        let mut subject = Vec::new();
        for rdn in tbs.subject.0.iter() {
            for atv in rdn.0.iter() {
                let v = String::from_utf8_lossy(atv.value.value()).into_owned();
                subject.push((attr_name(&atv.oid), v));
            }
        }
        let mut v = CertView {
            subject,
            not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
            not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
            key_usage: false,
            eku: None,
            ns_cert_type: None,
            dns_names: Vec::new(),
            ips: Vec::new(),
        };
        for e in tbs.extensions.iter().flatten() {
            let body = e.extn_value.as_bytes();
            if e.extn_id == oids::KEY_USAGE {
                v.key_usage = true;
            } else if e.extn_id == oids::EXT_KEY_USAGE {
                let eku = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(body)
                    .map_err(|_| bad_cert())?;
                v.eku = Some(eku.0);
            } else if e.extn_id == oids::NS_CERT_TYPE {
                let b = x509_cert::der::asn1::BitString::from_der(body).map_err(|_| bad_cert())?;
                v.ns_cert_type = Some(b.raw_bytes().first().copied().unwrap_or(0));
            } else if e.extn_id == oids::SUBJECT_ALT_NAME {
                let san =
                    x509_cert::ext::pkix::SubjectAltName::from_der(body).map_err(|_| bad_cert())?;
                for n in san.0 {
                    match n {
                        x509_cert::ext::pkix::name::GeneralName::DnsName(d) => {
                            v.dns_names.push(d.to_string())
                        }
                        x509_cert::ext::pkix::name::GeneralName::IpAddress(ip) => {
                            v.ips.push(ip.as_bytes().to_vec())
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(v)
    }

    fn common_name(&self) -> Option<&str> {
        self.subject
            .iter()
            .rev()
            .find(|(k, _)| k == "CN")
            .map(|(_, v)| v.as_str())
    }

    /// The subject as OpenVPN prints it: `C=US, O=Org, CN=name`.
    fn subject_string(&self) -> String {
        self.subject
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The subject DN of a DER certificate in OpenVPN's `verify-x509-name ... subject` format.
pub fn subject_dn(cert: &[u8]) -> Option<String> {
    CertView::parse(cert).ok().map(|v| v.subject_string())
}

/// Any EKU (or none) passes webpki's path check: OpenVPN requires none by default, and
/// `remote-cert-tls` is checked on the end entity afterwards.
struct AnyEku;

impl webpki::ExtendedKeyUsageValidator for AnyEku {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn webpki_err(e: webpki::Error) -> rustls::Error {
    let ce = match e {
        webpki::Error::CertExpired { .. } => CertificateError::Expired,
        webpki::Error::CertNotValidYet { .. } => CertificateError::NotValidYet,
        webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
        webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        webpki::Error::BadDer | webpki::Error::BadDerTime => CertificateError::BadEncoding,
        other => CertificateError::Other(rustls::OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(ce)
}

/// The OpenVPN verification rules ([`PeerVerify`]) over a set of CA certificates.
#[derive(Debug)]
struct OpenVpnVerifier {
    cas: Vec<CertificateDer<'static>>,
    roots: RootCertStore,
    rules: PeerVerify,
    /// The peer is a server (EKU TLS Web Server Authentication) or a client.
    peer_is_server: bool,
    sigs: Sigs,
}

impl OpenVpnVerifier {
    fn new(ca_pem: &str, rules: PeerVerify, peer_is_server: bool) -> Result<Self, TlsError> {
        let cas = certs(ca_pem)?;
        let mut roots = RootCertStore::empty();
        for c in &cas {
            roots.add(c.clone()).map_err(TlsError::from)?;
        }
        Ok(OpenVpnVerifier {
            cas,
            roots,
            rules,
            peer_is_server,
            sigs: Sigs(provider()),
        })
    }

    fn verify(
        &self,
        ee: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let view = CertView::parse(ee.as_ref())?;
        let t = now.as_secs();
        let at = |secs: u64| UnixTime::since_unix_epoch(core::time::Duration::from_secs(secs));
        if t < view.not_before {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYetContext {
                    time: now,
                    not_before: at(view.not_before),
                },
            ));
        }
        if t > view.not_after {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ExpiredContext {
                    time: now,
                    not_after: at(view.not_after),
                },
            ));
        }
        // Rule 1: the chain leads to `ca`; the end entity may be one of the CAs itself.
        if !self.cas.iter().any(|c| c.as_ref() == ee.as_ref()) {
            let cert = webpki::EndEntityCert::try_from(ee).map_err(webpki_err)?;
            cert.verify_for_usage(
                self.sigs.0.signature_verification_algorithms.all,
                &self.roots.roots,
                intermediates,
                now,
                AnyEku,
                None,
                None,
            )
            .map_err(webpki_err)?;
        }
        let refuse = |why: &str| {
            rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(TlsError(why.to_string())),
            )))
        };
        // Rule 2: remote-cert-tls.
        if self.rules.remote_cert_tls {
            let (eku, ns_bit) = if self.peer_is_server {
                (oids::SERVER_AUTH, 0x40)
            } else {
                (oids::CLIENT_AUTH, 0x80)
            };
            let ok = match &view.eku {
                Some(list) => view.key_usage && list.contains(&eku),
                None => view.ns_cert_type.is_some_and(|b| b & ns_bit != 0),
            };
            if !ok {
                return Err(refuse(if self.peer_is_server {
                    "remote-cert-tls server: no TLS Web Server Authentication usage"
                } else {
                    "remote-cert-tls client: no TLS Web Client Authentication usage"
                }));
            }
        }
        // Rule 3: verify-x509-name.
        if let Some(n) = &self.rules.x509_name {
            let cn = view.common_name().unwrap_or("");
            let ok = match n {
                X509Name::Subject(s) => view.subject_string() == *s,
                X509Name::Name(s) => cn == s,
                X509Name::NamePrefix(s) => cn.starts_with(s.as_str()),
            };
            if !ok {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName,
                ));
            }
        }
        // Rule 4: a host name only when asked (RouterOS verify-server-certificate).
        if let Some(h) = &self.rules.host {
            let ip = h.parse::<std::net::IpAddr>().ok().map(|a| match a {
                std::net::IpAddr::V4(v) => v.octets().to_vec(),
                std::net::IpAddr::V6(v) => v.octets().to_vec(),
            });
            let san = view.dns_names.iter().any(|d| d.eq_ignore_ascii_case(h))
                || ip.is_some_and(|ip| view.ips.contains(&ip));
            let cn = view
                .common_name()
                .is_some_and(|c| c.eq_ignore_ascii_case(h));
            if !san && !cn {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName,
                ));
            }
        }
        Ok(())
    }
}

/// Handshake signature checks with the provider's algorithms (every verifier here).
#[derive(Debug)]
struct Sigs(Arc<rustls::crypto::CryptoProvider>);

impl Sigs {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for OpenVpnVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verify(end_entity, intermediates, now)
            .map(|()| ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.sigs.tls12(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.sigs.tls13(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.sigs.schemes()
    }
}

/// A server's check of client certificates: OpenVPN's rules, mandatory or optional.
#[derive(Debug)]
struct ClientVerifier {
    inner: OpenVpnVerifier,
    mandatory: bool,
    hints: Vec<rustls::DistinguishedName>,
}

impl rustls::server::danger::ClientCertVerifier for ClientVerifier {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        self.inner
            .verify(end_entity, intermediates, now)
            .map(|()| rustls::server::danger::ClientCertVerified::assertion())
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.sigs.tls12(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.sigs.tls13(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.sigs.schemes()
    }
}

/// A rustls connection behind [`TlsEngine`].
pub struct RustlsEngine {
    conn: rustls::Connection,
    clock: WallClock,
}

impl core::fmt::Debug for RustlsEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RustlsEngine")
            .field("handshaking", &self.conn.is_handshaking())
            .field("unix_time", &self.clock.get())
            .finish()
    }
}

impl RustlsEngine {
    /// Client side. The server certificate is checked with OpenVPN's rules
    /// ([`PeerVerify`], `m.verify`) against `m.ca_pem`; `verify_name`, when `Some`, adds the
    /// RouterOS `verify-server-certificate=yes` check (the certificate's SAN or CN equals
    /// `connect-to`) as [`PeerVerify::host`]. Without a CA the server certificate is not
    /// verified at all (RouterOS `verify-server-certificate=no` without a trusted CA); say
    /// so in your configuration.
    pub fn client(m: &TlsMaterial, verify_name: Option<&str>) -> Result<Self, TlsError> {
        let clock = WallClock::default();
        let builder =
            rustls::ClientConfig::builder_with_details(provider(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(m.version))
                .map_err(TlsError::from)?;
        let builder = match &m.ca_pem {
            Some(ca) => {
                let mut rules = m.verify.clone();
                if let Some(n) = verify_name {
                    rules.host = Some(n.to_string());
                }
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(OpenVpnVerifier::new(
                        ca, rules, true,
                    )?))
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(Sigs(provider())))),
        };
        let config = match (&m.cert_pem, &m.key_pem) {
            (Some(c), Some(k)) => builder
                .with_client_auth_cert(certs(c)?, key(k)?)
                .map_err(TlsError::from)?,
            _ => builder.with_no_client_auth(),
        };
        // The name only goes into SNI; our verifier decides what is checked.
        let name = verify_name
            .and_then(|n| ServerName::try_from(n.to_string()).ok())
            .unwrap_or_else(|| {
                ServerName::try_from("openvpn-server.invalid").unwrap_or(ServerName::IpAddress(
                    rustls::pki_types::IpAddr::V4(rustls::pki_types::Ipv4Addr::from([0, 0, 0, 0])),
                ))
            });
        let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(TlsError::from)?;
        Ok(RustlsEngine {
            conn: conn.into(),
            clock,
        })
    }

    /// Server side. `require_client_cert`: RouterOS `require-client-certificate` (a client
    /// without a certificate is refused); with a CA, a certificate a client does present is
    /// always checked, with OpenVPN's rules ([`PeerVerify`], `m.verify`; its
    /// `remote_cert_tls` means `remote-cert-tls client`).
    pub fn server(m: &TlsMaterial, require_client_cert: bool) -> Result<Self, TlsError> {
        let clock = WallClock::default();
        let builder =
            rustls::ServerConfig::builder_with_details(provider(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(m.version))
                .map_err(TlsError::from)?;
        let builder = match (&m.ca_pem, require_client_cert) {
            (Some(ca), mandatory) => {
                let inner = OpenVpnVerifier::new(ca, m.verify.clone(), false)?;
                let hints = inner
                    .roots
                    .roots
                    .iter()
                    // webpki keeps the subject without its SEQUENCE header; the
                    // CertificateRequest carries whole DER Names (RFC 8446 s4.2.4), and
                    // OpenSSL clients refuse the bare contents ("wrong tag").
                    .map(|t| rustls::DistinguishedName::in_sequence(t.subject.as_ref()))
                    .collect();
                builder.with_client_cert_verifier(Arc::new(ClientVerifier {
                    inner,
                    mandatory,
                    hints,
                }))
            }
            (None, true) => {
                return Err(TlsError(
                    "require-client-certificate needs a CA certificate".into(),
                ))
            }
            (None, false) => builder.with_no_client_auth(),
        };
        let (Some(c), Some(k)) = (&m.cert_pem, &m.key_pem) else {
            return Err(TlsError("server needs a certificate and key".into()));
        };
        let config = builder
            .with_single_cert(certs(c)?, key(k)?)
            .map_err(TlsError::from)?;
        let conn = rustls::ServerConnection::new(Arc::new(config)).map_err(TlsError::from)?;
        Ok(RustlsEngine {
            conn: conn.into(),
            clock,
        })
    }
}

/// The subject common name of a DER certificate.
pub fn subject_common_name(cert: &[u8]) -> Option<String> {
    CertView::parse(cert)
        .ok()
        .and_then(|v| v.common_name().map(str::to_string))
}

#[derive(Debug)]
struct NoVerify(Sigs);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.schemes()
    }
}

impl TlsEngine for RustlsEngine {
    fn set_unix_time(&mut self, unix_secs: u64) {
        self.clock.set(unix_secs);
    }

    fn read_tls(&mut self, data: &[u8]) -> Result<(), TlsError> {
        let mut rd = data;
        while !rd.is_empty() {
            let n = self.conn.read_tls(&mut rd).map_err(TlsError::from)?;
            self.conn.process_new_packets().map_err(TlsError::from)?;
            if n == 0 {
                break;
            }
        }
        Ok(())
    }

    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        while self.conn.wants_write() {
            self.conn.write_tls(out).map_err(TlsError::from)?;
        }
        Ok(())
    }

    fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError> {
        self.conn.writer().write_all(data).map_err(TlsError::from)
    }

    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        let mut buf = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(TlsError::from(e)),
            }
        }
    }

    fn export_keying_material(&self, out: &mut [u8], label: &[u8]) -> Result<(), TlsError> {
        match &self.conn {
            rustls::Connection::Client(c) => c.export_keying_material(out, label, None),
            rustls::Connection::Server(s) => s.export_keying_material(out, label, None),
        }
        .map(|_| ())
        .map_err(TlsError::from)
    }

    fn protocol_version(&self) -> Option<&'static str> {
        self.conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            _ => "TLS",
        })
    }

    fn cipher_suite(&self) -> Option<String> {
        self.conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
    }

    fn peer_certificate(&self) -> Option<Vec<u8>> {
        self.conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec())
    }
}
