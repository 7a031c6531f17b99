//! TLS behind an adapter: the [`Tls`] trait the state machines drive, the RouterOS
//! certificate error strings, adapter [`Capabilities`], and [`RustlsTls`], the rustls
//! implementation.
//!
//! ```text
//!   socket bytes --> Tls::read_tls --> records --> Tls::recv_plaintext --> SSTP (Link)
//!   socket bytes <-- Tls::write_tls <-- records <-- Tls::send_plaintext <-- SSTP (Link)
//!                    Tls::server_certificate --> crypto binding (cert hash)
//! ```
//!
//! The SSTP machines never touch a socket: they move ciphertext and plaintext through this
//! trait. Any TLS library fits. RouterOS has modes rustls cannot do; an adapter says what it
//! supports in [`Capabilities`] and configurations are checked against it before a machine
//! is built:
//!
//! | RouterOS setting | needs | rustls |
//! |---|---|---|
//! | `tls-version=any` / `only-1.2` | TLS 1.2, 1.3 | yes |
//! | `ciphers=aes256-gcm-sha384` | AES-256-GCM-SHA384 suites | yes |
//! | `ciphers=aes256-sha` | AES-256-CBC-SHA suites | **no** (OpenSSL) |
//! | `pfs=required` | ECDHE only | yes |
//! | `pfs=yes` | ECDHE-RSA and DHE-RSA | ECDHE only (no DHE) |
//! | `pfs=no` | also RSA key exchange | ECDHE only: a peer that offers nothing but RSA key exchange fails (OpenSSL) |
//! | `certificate=none` on the server | anonymous DH (RouterOS to RouterOS only) | **no** (OpenSSL `aNULL` suites) |
//! | `add-sni` | server_name extension | yes |
//! | `verify-server-certificate`, `verify-server-address-from-certificate`, `verify-client-certificate`, client `certificate` | chain, dates, SAN/CN | yes |
//! | RSA keys of at least 472 bits (S0 L994) | | stricter: ring verifies RSA from 2048 bits |
//!
//! Certificate failures map to the seed's error strings ([`CertificateError`], S0
//! L1011-1016).
//!
//! Note: rustls draws its handshake randomness from its crypto provider (ring's system
//! RNG); that is the TLS library's business, not the SSTP state machines'. Certificate validity
//! is checked against the wall clock the machines pass in ([`Tls::set_unix_time`]), never the
//! system clock.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{Ciphers, ClientConfig, ServerConfig, TlsVersion};
use crate::error::ConfigError;

/// A certificate failure, with RouterOS's message (S0 L1011-1016; the seed's stray "c"
/// prefixes removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// notBefore is after the current time.
    #[error("certificate is not yet valid")]
    NotYetValid,
    /// notAfter is before the current time.
    #[error("certificate has expired")]
    Expired,
    /// The certificate may not be used for this purpose (extended key usage).
    #[error("invalid certificate purpose")]
    InvalidPurpose,
    /// The chain ends in a self-signed certificate that is not trusted locally.
    #[error("self signed certificate in a chain")]
    SelfSignedInChain,
    /// The issuing CA is not imported (trusted) locally.
    #[error("unable to get issuer certificate locally")]
    UnknownIssuer,
    /// verify-server-address-from-certificate: the certificate does not name the server.
    #[error("server's IP address does not match certificate")]
    AddressMismatch,
    /// Anything else wrong with the certificate (bad signature, encoding, revoked, ...).
    #[error("certificate verification failed")]
    Other,
}

/// What failed in the TLS layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate was refused.
    #[error("{0}")]
    Certificate(CertificateError),
    /// Anything else (handshake failure, alert, bad record), as the library reports it.
    #[error("{0}")]
    Other(String),
}

/// What an adapter can do (see the table in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// TLS 1.2.
    pub tls12: bool,
    /// TLS 1.3.
    pub tls13: bool,
    /// AES-256-CBC-SHA suites (`ciphers=aes256-sha`).
    pub aes256_sha: bool,
    /// RSA key exchange (`pfs=no` peers offering nothing else).
    pub rsa_key_exchange: bool,
    /// Finite-field DHE (`pfs=yes` DHE-RSA).
    pub dhe: bool,
    /// Anonymous DH (`certificate=none` on the server).
    pub anonymous_dh: bool,
    /// SNI (`add-sni`).
    pub sni: bool,
    /// Client certificates (client `certificate`, server `verify-client-certificate`).
    pub client_certificates: bool,
    /// NSS key log export for Wireshark/tshark.
    pub key_log: bool,
}

impl Capabilities {
    /// Check a client configuration against this adapter; the error names the property.
    pub fn check_client(&self, c: &ClientConfig) -> Result<(), ConfigError> {
        self.common(c.tls.tls_version, c.tls.ciphers)?;
        if c.tls.add_sni && !self.sni {
            return Err(ConfigError::new("add-sni", "adapter has no SNI"));
        }
        if c.tls.certificate_pem.is_some() && !self.client_certificates {
            return Err(ConfigError::new(
                "certificate",
                "adapter has no client certificates",
            ));
        }
        Ok(())
    }

    /// Check a server configuration against this adapter; the error names the property.
    pub fn check_server(&self, c: &ServerConfig) -> Result<(), ConfigError> {
        self.common(c.tls.tls_version, c.tls.ciphers)?;
        if c.tls.certificate_pem.is_none() && !self.anonymous_dh {
            return Err(ConfigError::new(
                "certificate",
                "certificate=none (anonymous DH) needs an adapter with anonymous_dh (OpenSSL)",
            ));
        }
        if c.tls.verify_client_certificate && !self.client_certificates {
            return Err(ConfigError::new(
                "verify-client-certificate",
                "adapter has no client certificates",
            ));
        }
        Ok(())
    }

    fn common(&self, v: TlsVersion, ciphers: Ciphers) -> Result<(), ConfigError> {
        if !self.tls12 && v == TlsVersion::Only12 {
            return Err(ConfigError::new("tls-version", "adapter has no TLS 1.2"));
        }
        if ciphers == Ciphers::Aes256Sha && !self.aes256_sha {
            return Err(ConfigError::new(
                "ciphers",
                "aes256-sha (AES-256-CBC) needs an adapter with CBC suites (OpenSSL)",
            ));
        }
        Ok(())
    }
}

/// The interface the SSTP machines need from a TLS implementation (one connection).
pub trait Tls {
    /// Feed ciphertext from the socket; returns how much was taken (the rest must be offered
    /// again later) and processes complete records.
    fn read_tls(&mut self, data: &[u8]) -> Result<usize, TlsError>;
    /// Append pending ciphertext for the socket to `out`.
    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError>;
    /// Still handshaking.
    fn is_handshaking(&self) -> bool;
    /// Queue plaintext for the peer.
    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError>;
    /// Append received plaintext to `out`; returns the bytes appended.
    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<usize, TlsError>;
    /// The peer sent close_notify.
    fn peer_closed(&self) -> bool;
    /// Queue close_notify.
    fn send_close_notify(&mut self);
    /// The server's end-entity certificate (DER): the peer's on a client, our own on a
    /// server. Crypto binding hashes it.
    fn server_certificate(&self) -> Option<&[u8]>;
    /// "TLSv1.2" / "TLSv1.3", once negotiated.
    fn protocol_version(&self) -> Option<&'static str>;
    /// The negotiated suite's name, once negotiated.
    fn cipher_suite(&self) -> Option<String>;
    /// Wall-clock time (Unix seconds) for certificate validity; called before `read_tls`.
    fn set_unix_time(&mut self, _unix_secs: u64) {}
    /// What this adapter supports.
    fn capabilities(&self) -> Capabilities;
}

/// A wall clock the caller sets (0 = unknown: rustls then fails verification instead of
/// guessing). Shared by a rustls config and the adapter.
#[derive(Clone, Debug, Default)]
pub struct UnixClock(Arc<AtomicU64>);

impl UnixClock {
    /// Set the time.
    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::Relaxed);
    }
    /// Read it.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl rustls::time_provider::TimeProvider for UnixClock {
    fn current_time(&self) -> Option<UnixTime> {
        match self.get() {
            0 => None,
            s => Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                s,
            ))),
        }
    }
}

/// rustls wants a time even when nothing is verified (it then only ages session tickets):
/// an unknown time (0) reads as 1 s after the epoch unless certificates are checked.
fn known_time(secs: u64, needs_time: bool) -> u64 {
    if secs == 0 && !needs_time {
        1
    } else {
        secs
    }
}

/// The capabilities of [`RustlsTls`].
pub const RUSTLS_CAPABILITIES: Capabilities = Capabilities {
    tls12: true,
    tls13: true,
    aes256_sha: false,
    rsa_key_exchange: false,
    dhe: false,
    anonymous_dh: false,
    sni: true,
    client_certificates: true,
    key_log: true,
};

fn other<E: std::fmt::Display>(e: E) -> TlsError {
    TlsError::Other(e.to_string())
}

fn pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let v = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    if v.is_empty() {
        return Err(TlsError::Other("no certificate in PEM".into()));
    }
    Ok(v)
}

fn pem_key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(other)?
        .ok_or_else(|| TlsError::Other("no private key in PEM".into()))
}

fn root_store(pem: &str) -> Result<RootCertStore, TlsError> {
    let mut r = RootCertStore::empty();
    for c in pem_certs(pem)? {
        r.add(c).map_err(other)?;
    }
    Ok(r)
}

/// The provider: ring, with the suites `ciphers` allows.
fn provider(ciphers: Ciphers) -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    if ciphers == Ciphers::Aes256GcmSha384 {
        use rustls::crypto::ring::cipher_suite as cs;
        p.cipher_suites = vec![
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ];
    }
    Arc::new(p)
}

static ONLY_TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];

fn versions(v: TlsVersion) -> &'static [&'static rustls::SupportedProtocolVersion] {
    match v {
        TlsVersion::Any => rustls::ALL_VERSIONS,
        TlsVersion::Only12 => &ONLY_TLS12,
    }
}

/// Marker carried in `CertificateError::Other` when the unknown issuer is a self-signed
/// certificate the peer sent along.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self signed certificate in a chain")
    }
}

impl std::error::Error for SelfSigned {}

/// The RouterOS client checks: chain and dates only with verify-server-certificate, the
/// address only with verify-server-address-from-certificate.
#[derive(Debug)]
struct RouterOsVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    address: Option<ServerName<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for RouterOsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as C;
        if let Some(v) = &self.chain {
            match v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(_) => {}
                // The name is checked below, and only when asked for.
                Err(rustls::Error::InvalidCertificate(
                    C::NotValidForName | C::NotValidForNameContext { .. },
                )) => {}
                Err(rustls::Error::InvalidCertificate(C::UnknownIssuer))
                    if std::iter::once(end_entity)
                        .chain(intermediates)
                        .any(|c| der::is_self_signed(c.as_ref())) =>
                {
                    return Err(rustls::Error::InvalidCertificate(C::Other(
                        rustls::OtherError(Arc::new(SelfSigned)),
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(name) = &self.address {
            let by_san = ParsedCertificate::try_from(end_entity)
                .and_then(|p| rustls::client::verify_server_name(&p, name))
                .is_ok();
            let by_cn = || {
                let cn = der::subject_cn(end_entity.as_ref());
                match name {
                    ServerName::DnsName(d) => {
                        cn.is_some_and(|c| c.eq_ignore_ascii_case(d.as_ref()))
                    }
                    ServerName::IpAddress(ip) => cn
                        .and_then(|c| c.parse::<IpAddr>().ok())
                        .is_some_and(|c| IpAddr::from(*ip) == c),
                    _ => false,
                }
            };
            if !by_san && !by_cn() {
                return Err(rustls::Error::InvalidCertificate(C::NotValidForName));
            }
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Map a rustls error to ours (certificate failures get the RouterOS strings).
pub fn map_rustls_error(e: &rustls::Error) -> TlsError {
    use rustls::CertificateError as C;
    let cert = |c: &C| match c {
        C::Expired | C::ExpiredContext { .. } => CertificateError::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => CertificateError::NotYetValid,
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => CertificateError::InvalidPurpose,
        C::UnknownIssuer => CertificateError::UnknownIssuer,
        C::NotValidForName | C::NotValidForNameContext { .. } => CertificateError::AddressMismatch,
        C::Other(o) if o.0.downcast_ref::<SelfSigned>().is_some() => {
            CertificateError::SelfSignedInChain
        }
        _ => CertificateError::Other,
    };
    match e {
        rustls::Error::InvalidCertificate(c) => TlsError::Certificate(cert(c)),
        e => other(e),
    }
}

/// Options of a [`RustlsTls`] that are not RouterOS properties.
#[derive(Clone, Default)]
pub struct RustlsOptions {
    /// Export the session secrets (NSS key log format) so Wireshark/tshark can decrypt a
    /// capture; the caller's `KeyLog` writes them where it wants (the crate opens no file).
    pub key_log: Option<Arc<dyn rustls::KeyLog>>,
}

impl std::fmt::Debug for RustlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsOptions")
            .field("key_log", &self.key_log.is_some())
            .finish()
    }
}

/// A rustls connection behind [`Tls`].
pub struct RustlsTls {
    conn: rustls::Connection,
    clock: UnixClock,
    own_cert: Option<Vec<u8>>,
    closed: bool,
    /// Certificates are verified, so the wall clock matters (else an unknown time reads as 1).
    needs_time: bool,
}

impl std::fmt::Debug for RustlsTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsTls")
            .field("handshaking", &self.conn.is_handshaking())
            .finish_non_exhaustive()
    }
}

impl RustlsTls {
    /// A client connection for `config` (its `connect-to`, TLS properties).
    pub fn client(config: &ClientConfig, opts: &RustlsOptions) -> Result<Self, TlsError> {
        let t = &config.tls;
        let clock = UnixClock::default();
        let needs_time = t.verify_server_certificate;
        clock.set(known_time(config.unix_time, needs_time));
        let p = provider(t.ciphers);
        let builder =
            rustls::ClientConfig::builder_with_details(p.clone(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(t.tls_version))
                .map_err(other)?;
        let chain = match (&t.ca_pem, t.verify_server_certificate) {
            (Some(ca), true) => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(ca)?), p.clone())
                    .build()
                    .map_err(other)?,
            ),
            (None, true) => {
                return Err(TlsError::Other(
                    "verify-server-certificate needs a CA certificate".into(),
                ))
            }
            _ => None,
        };
        let host = config
            .connect_to
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = match host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(host.to_string()).map_err(other)?,
        };
        let verifier = RouterOsVerifier {
            chain,
            address: t
                .verify_server_address_from_certificate
                .then(|| name.clone()),
            provider: p,
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut cc = match (&t.certificate_pem, &t.key_pem) {
            (Some(c), Some(k)) => builder
                .with_client_auth_cert(pem_certs(c)?, pem_key(k)?)
                .map_err(other)?,
            _ => builder.with_no_client_auth(),
        };
        cc.enable_sni = t.add_sni;
        if let Some(k) = &opts.key_log {
            cc.key_log = k.clone();
        }
        let conn = rustls::ClientConnection::new(Arc::new(cc), name).map_err(other)?;
        Ok(RustlsTls {
            conn: conn.into(),
            clock,
            own_cert: None,
            closed: false,
            needs_time,
        })
    }

    /// A server connection for `config` (certificate, verify-client-certificate, ...). Build
    /// one per accepted TCP connection (or share the `rustls::ServerConfig` through
    /// [`RustlsTls::server_config`] and [`RustlsTls::from_server_config`]).
    pub fn server(config: &ServerConfig, opts: &RustlsOptions) -> Result<Self, TlsError> {
        let (sc, clock, cert) = Self::server_config(config, opts)?;
        Self::from_server_config(sc, clock, cert)
    }

    /// The shared server configuration: rustls config, its clock and the certificate (DER).
    pub fn server_config(
        config: &ServerConfig,
        opts: &RustlsOptions,
    ) -> Result<(Arc<rustls::ServerConfig>, UnixClock, Vec<u8>), TlsError> {
        let t = &config.tls;
        let clock = UnixClock::default();
        clock.set(known_time(config.unix_time, t.verify_client_certificate));
        let p = provider(t.ciphers);
        let builder =
            rustls::ServerConfig::builder_with_details(p.clone(), Arc::new(clock.clone()))
                .with_protocol_versions(versions(t.tls_version))
                .map_err(other)?;
        let builder = match (&t.ca_pem, t.verify_client_certificate) {
            (Some(ca), true) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(ca)?), p)
                    .build()
                    .map_err(other)?,
            ),
            (None, true) => {
                return Err(TlsError::Other(
                    "verify-client-certificate needs a CA certificate".into(),
                ))
            }
            _ => builder.with_no_client_auth(),
        };
        let (Some(c), Some(k)) = (&t.certificate_pem, &t.key_pem) else {
            return Err(TlsError::Other(
                "rustls cannot do certificate=none (anonymous DH)".into(),
            ));
        };
        let chain = pem_certs(c)?;
        let cert = chain
            .first()
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default();
        let mut sc = builder
            .with_single_cert(chain, pem_key(k)?)
            .map_err(other)?;
        if let Some(k) = &opts.key_log {
            sc.key_log = k.clone();
        }
        Ok((Arc::new(sc), clock, cert))
    }

    /// A server connection from a shared configuration.
    pub fn from_server_config(
        sc: Arc<rustls::ServerConfig>,
        clock: UnixClock,
        cert_der: Vec<u8>,
    ) -> Result<Self, TlsError> {
        let needs_time = clock.get() != 1;
        let conn = rustls::ServerConnection::new(sc).map_err(other)?;
        Ok(RustlsTls {
            conn: conn.into(),
            clock,
            own_cert: Some(cert_der),
            closed: false,
            needs_time,
        })
    }

    /// The SNI the client sent (server side).
    pub fn sni(&self) -> Option<&str> {
        match &self.conn {
            rustls::Connection::Server(s) => s.server_name(),
            rustls::Connection::Client(_) => None,
        }
    }
}

impl Tls for RustlsTls {
    fn read_tls(&mut self, data: &[u8]) -> Result<usize, TlsError> {
        let mut rd = data;
        let mut taken = 0;
        while !rd.is_empty() {
            let n = match self.conn.read_tls(&mut rd) {
                Ok(n) => n,
                // rustls's buffer is full: the caller drains plaintext and offers the rest.
                Err(e) if e.kind() == std::io::ErrorKind::Other && taken > 0 => break,
                Err(e) => return Err(other(e)),
            };
            taken += n;
            if let Err(e) = self.conn.process_new_packets() {
                return Err(map_rustls_error(&e));
            }
            if n == 0 {
                break;
            }
        }
        Ok(taken)
    }

    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        while self.conn.wants_write() {
            self.conn.write_tls(out).map_err(other)?;
        }
        Ok(())
    }

    fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError> {
        self.conn.writer().write_all(data).map_err(other)
    }

    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<usize, TlsError> {
        let start = out.len();
        let mut chunk = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut chunk) {
                Ok(0) => {
                    // close_notify received (rustls reports a clean end of stream)
                    self.closed = true;
                    break;
                }
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(other(e)),
            }
        }
        Ok(out.len() - start)
    }

    fn peer_closed(&self) -> bool {
        self.closed
    }

    fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    fn server_certificate(&self) -> Option<&[u8]> {
        match &self.conn {
            rustls::Connection::Client(c) => c
                .peer_certificates()
                .and_then(|v| v.first())
                .map(|c| c.as_ref()),
            rustls::Connection::Server(_) => self.own_cert.as_deref(),
        }
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

    fn set_unix_time(&mut self, unix_secs: u64) {
        self.clock.set(known_time(unix_secs, self.needs_time));
    }

    fn capabilities(&self) -> Capabilities {
        RUSTLS_CAPABILITIES
    }
}

/// No TLS: the SSTP stream as is. For a server behind a TLS-terminating device (MS-SSTP
/// allows plain HTTP there, "SSL/TLS terminating edge devices"), where the certificate crypto
/// binding hashes is the device's and is given here; and for tests and fuzzing of the
/// plaintext input path.
#[derive(Debug, Clone, Default)]
pub struct Passthrough {
    rx: Vec<u8>,
    tx: Vec<u8>,
    cert: Option<Vec<u8>>,
    closed: bool,
}

impl Passthrough {
    /// A passthrough whose crypto binding uses `cert` (DER) as the server certificate.
    pub fn new(cert: Option<Vec<u8>>) -> Self {
        Passthrough {
            cert,
            ..Default::default()
        }
    }
}

/// Largest amount of unread input a [`Passthrough`] buffers.
const PASSTHROUGH_BUFFER: usize = 64 * 1024;

impl Tls for Passthrough {
    fn read_tls(&mut self, data: &[u8]) -> Result<usize, TlsError> {
        let n = data
            .len()
            .min(PASSTHROUGH_BUFFER.saturating_sub(self.rx.len()));
        self.rx.extend_from_slice(&data[..n]);
        Ok(n)
    }
    fn write_tls(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        out.append(&mut self.tx);
        Ok(())
    }
    fn is_handshaking(&self) -> bool {
        false
    }
    fn send_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if !self.closed {
            self.tx.extend_from_slice(data);
        }
        Ok(())
    }
    fn recv_plaintext(&mut self, out: &mut Vec<u8>) -> Result<usize, TlsError> {
        let n = self.rx.len();
        out.append(&mut self.rx);
        Ok(n)
    }
    fn peer_closed(&self) -> bool {
        false
    }
    fn send_close_notify(&mut self) {
        self.closed = true;
    }
    fn server_certificate(&self) -> Option<&[u8]> {
        self.cert.as_deref()
    }
    fn protocol_version(&self) -> Option<&'static str> {
        None
    }
    fn cipher_suite(&self) -> Option<String> {
        None
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            tls12: true,
            tls13: true,
            aes256_sha: true,
            rsa_key_exchange: true,
            dhe: true,
            anonymous_dh: true,
            sni: true,
            client_certificates: true,
            key_log: false,
        }
    }
}

/// Just enough DER to read a certificate's issuer, subject and subject CN.
mod der {
    /// (tag, content, bytes used) of the TLV at the front of `b`.
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], usize)> {
        let (&tag, rest) = b.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, hdr) = match first {
            l if l < 0x80 => (usize::from(l), 2),
            0x81..=0x83 => {
                let k = usize::from(first & 0x7f);
                let v = rest
                    .get(..k)?
                    .iter()
                    .fold(0usize, |a, &x| (a << 8) | usize::from(x));
                (v, 2 + k)
            }
            _ => return None,
        };
        let body = b.get(hdr..hdr.checked_add(len)?)?;
        Some((tag, body, hdr + len))
    }

    /// TBSCertificate fields in order: [0] version (optional), serial, signature algorithm,
    /// issuer, validity, subject, ...
    fn tbs_fields(cert: &[u8]) -> Option<Vec<&[u8]>> {
        let (_, certificate, _) = tlv(cert)?;
        let (_, tbs, _) = tlv(certificate)?;
        let mut out = Vec::with_capacity(6);
        let mut rest = tbs;
        while out.len() < 6 {
            let (tag, _, used) = tlv(rest)?;
            if !(out.is_empty() && tag == 0xa0) {
                out.push(&rest[..used]);
            }
            rest = &rest[used..];
        }
        Some(out)
    }

    /// Issuer equals subject.
    pub(super) fn is_self_signed(cert: &[u8]) -> bool {
        tbs_fields(cert).is_some_and(|f| f[2] == f[4])
    }

    /// The subject's commonName (2.5.4.3), if any.
    pub(super) fn subject_cn(cert: &[u8]) -> Option<String> {
        let fields = tbs_fields(cert)?;
        let (_, mut rdns, _) = tlv(fields[4])?;
        while !rdns.is_empty() {
            let (_, set, used) = tlv(rdns)?;
            rdns = &rdns[used..];
            let (_, atv, _) = tlv(set)?;
            let (_, oid, oid_len) = tlv(atv)?;
            if oid == [0x55, 0x04, 0x03] {
                let (_, value, _) = tlv(&atv[oid_len..])?;
                return std::str::from_utf8(value).ok().map(str::to_string);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routeros_strings() {
        let s: Vec<String> = [
            CertificateError::NotYetValid,
            CertificateError::Expired,
            CertificateError::InvalidPurpose,
            CertificateError::SelfSignedInChain,
            CertificateError::UnknownIssuer,
            CertificateError::AddressMismatch,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            s,
            [
                "certificate is not yet valid",
                "certificate has expired",
                "invalid certificate purpose",
                "self signed certificate in a chain",
                "unable to get issuer certificate locally",
                "server's IP address does not match certificate",
            ]
        );
    }

    #[test]
    fn capabilities_refuse_openssl_only_modes() {
        let mut s = ServerConfig::enabled();
        assert_eq!(
            RUSTLS_CAPABILITIES.check_server(&s).unwrap_err().field,
            "certificate"
        );
        s.tls.certificate_pem = Some("x".into());
        s.tls.key_pem = Some("y".into());
        RUSTLS_CAPABILITIES.check_server(&s).unwrap();
        s.tls.ciphers = Ciphers::Aes256Sha;
        assert_eq!(
            RUSTLS_CAPABILITIES.check_server(&s).unwrap_err().field,
            "ciphers"
        );
        let mut c = ClientConfig::new("vpn", "u", "p");
        RUSTLS_CAPABILITIES.check_client(&c).unwrap();
        c.tls.ciphers = Ciphers::Aes256Sha;
        assert_eq!(
            RUSTLS_CAPABILITIES.check_client(&c).unwrap_err().field,
            "ciphers"
        );
        assert_eq!(crate::config::Pfs::default(), crate::config::Pfs::No);
    }

    #[test]
    fn der_reader_survives_garbage() {
        assert!(!der::is_self_signed(&[]));
        assert!(!der::is_self_signed(&[0x30, 0x84, 0, 0, 0, 0]));
        assert_eq!(der::subject_cn(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
    }
}
