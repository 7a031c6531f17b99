//! TLS carried sans-IO: the adapter trait the session drives, and a rustls implementation.
//!
//! OpenVPN runs an ordinary TLS handshake whose records travel inside `P_CONTROL_V1`
//! payloads (reliability layer: [`crate::reliable`]). The session only moves bytes:
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
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
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

fn roots(pem: &str) -> Result<RootCertStore, TlsError> {
    let mut r = RootCertStore::empty();
    for c in certs(pem)? {
        r.add(c).map_err(TlsError::from)?;
    }
    Ok(r)
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

/// Server-certificate verification as OpenVPN/RouterOS do it: the chain must verify
/// against the CA; the name is checked only when `expected_name` is set, against the SAN
/// (webpki) or else the subject CN.
#[derive(Debug)]
struct OpenVpnServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected_name: Option<String>,
}

impl ServerCertVerifier for OpenVpnServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => {
                // Chain, validity dates and EKU passed (webpki checks the name last).
                match &self.expected_name {
                    None => Ok(ServerCertVerified::assertion()),
                    Some(name) => {
                        if subject_common_name(end_entity.as_ref()).as_deref() == Some(name) {
                            Ok(ServerCertVerified::assertion())
                        } else {
                            Err(rustls::Error::InvalidCertificate(
                                CertificateError::NotValidForName,
                            ))
                        }
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Read one DER TLV at `b`: (tag, content, total length).
fn der(b: &[u8]) -> Option<(u8, &[u8], usize)> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, hl) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let content = b.get(hl..hl.checked_add(len)?)?;
    Some((tag, content, hl + len))
}

/// The subject common name (OID 2.5.4.3) of a DER certificate.
pub fn subject_common_name(cert: &[u8]) -> Option<String> {
    let (_, c, _) = der(cert)?;
    let (_, tbs, _) = der(c)?;
    let mut off = 0;
    let mut idx = 0;
    // version [0] (optional), serial, signature, issuer, validity, subject
    loop {
        let (tag, content, total) = der(tbs.get(off..)?)?;
        off += total;
        if tag == 0xA0 {
            continue;
        }
        if idx == 4 {
            // subject: SEQUENCE OF SET OF SEQUENCE { OID, value }
            let mut cn = None;
            let mut o = 0;
            while o < content.len() {
                let (_, set, t) = der(content.get(o..)?)?;
                o += t;
                let (_, atv, _) = der(set)?;
                let (_, oid, ot) = der(atv)?;
                if oid == [0x55, 0x04, 0x03] {
                    let (_, v, _) = der(atv.get(ot..)?)?;
                    cn = Some(String::from_utf8_lossy(v).into_owned());
                }
            }
            return cn;
        }
        idx += 1;
        let _ = content;
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
    /// Client side. `verify_name`: when `Some`, the server certificate's SAN or CN must
    /// equal it (RouterOS `verify-server-certificate=yes` with `connect-to`). Without a CA
    /// the server certificate is not verified at all (RouterOS `certificate=none` style);
    /// say so in your configuration.
    pub fn client(m: &TlsMaterial, verify_name: Option<&str>) -> Result<Self, TlsError> {
        let clock = WallClock::default();
        let builder =
            rustls::ClientConfig::builder_with_details(provider(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(m.version))
                .map_err(TlsError::from)?;
        let builder = match &m.ca_pem {
            Some(ca) => {
                let inner =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                        .build()
                        .map_err(TlsError::from)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(OpenVpnServerVerifier {
                        inner,
                        expected_name: verify_name.map(str::to_string),
                    }))
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider()))),
        };
        let config = match (&m.cert_pem, &m.key_pem) {
            (Some(c), Some(k)) => builder
                .with_client_auth_cert(certs(c)?, key(k)?)
                .map_err(TlsError::from)?,
            _ => builder.with_no_client_auth(),
        };
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

    /// Server side. `require_client_cert`: RouterOS `require-client-certificate`.
    pub fn server(m: &TlsMaterial, require_client_cert: bool) -> Result<Self, TlsError> {
        let clock = WallClock::default();
        let builder =
            rustls::ServerConfig::builder_with_details(provider(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(m.version))
                .map_err(TlsError::from)?;
        let builder = match (&m.ca_pem, require_client_cert) {
            (Some(ca), true) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                    .build()
                    .map_err(TlsError::from)?,
            ),
            (Some(ca), false) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                    .allow_unauthenticated()
                    .build()
                    .map_err(TlsError::from)?,
            ),
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

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
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
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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
