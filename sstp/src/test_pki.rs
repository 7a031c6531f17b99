//! A fixed test PKI (ECDSA P-256, made once with `openssl`; valid from 2026-12-07 for 100
//! years) for the doc example, tests, benches, the tour and interop harnesses. Never use these
//! keys for anything real: they are public.
//!
//! | item | subject | notes |
//! |---|---|---|
//! | CA | CN=rosproto test CA | self-signed, CA:TRUE |
//! | server | CN=vpn.example | SAN DNS:vpn.example, IP 10.9.9.9, 127.0.0.1, 10.231.0.1; EKU serverAuth |
//! | client | CN=alice | EKU clientAuth |
//! | wrong purpose | CN=vpn.example | EKU clientAuth only (refused as a server certificate) |
//! | self-signed | CN=vpn.example | the server key, self-signed |

/// A Unix time at which every certificate here is valid (2033-05-18).
pub const VALID_AT: u64 = 2_000_000_000;
/// Before the certificates' notBefore (2023-11-14).
pub const BEFORE: u64 = 1_700_000_000;
/// After their notAfter (2128).
pub const AFTER: u64 = 5_000_000_000;

/// The CA certificate.
pub const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBnTCCAUOgAwIBAgIUb+F3kxiTQzsXEqa04CyRruT07WAwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcm9zcHJvdG8gdGVzdCBDQTAgFw0yNjEyMDcwNTA4MTFaGA8y
MTI2MTExMzA1MDgxMVowGzEZMBcGA1UEAwwQcm9zcHJvdG8gdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABEd3wke++wLVTRBRcmJkHPZ6w/GkjoG+mFdv
k9/QGcY9eAwBL4ELL7iy6elXY3ba1Krh8K7dxGnHr12Yh+VxPIWjYzBhMB0GA1Ud
DgQWBBQTyh/yCMWclPpaKWyvO7N+LegYgjAfBgNVHSMEGDAWgBQTyh/yCMWclPpa
KWyvO7N+LegYgjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggq
hkjOPQQDAgNIADBFAiBHT2706ArttGuMb4Y8ODk6Zp+AEuqZelwMTPD7WF3H3AIh
AMKM/06cMst6aPgJ+dVU6NwWqDYMQdhIb7rpb337O76u
-----END CERTIFICATE-----\n";
/// The server certificate (signed by the CA).
pub const SERVER_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIB0jCCAXmgAwIBAgIUH7lDeT+FtsAZzpjBdwG4rVHA3rIwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcm9zcHJvdG8gdGVzdCBDQTAgFw0yNjEyMDcwNTA4MTFaGA8y
MTI2MTExMzA1MDgxMVowFjEUMBIGA1UEAwwLdnBuLmV4YW1wbGUwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAASSE0xmUcEKIXjOw3FZjiEFV/CNDFJgR6hrf/eK43nP
q3bAWO1/DbMs6LlEGgNDhBfcKdT1oZEvf2PKSn+H4JsTo4GdMIGaMAkGA1UdEwQC
MAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMCgGA1UdEQQh
MB+CC3Zwbi5leGFtcGxlhwQKCQkJhwR/AAABhwQK5wABMB0GA1UdDgQWBBQS67Y5
yNDSsc3uN3E285RPjlweETAfBgNVHSMEGDAWgBQTyh/yCMWclPpaKWyvO7N+LegY
gjAKBggqhkjOPQQDAgNHADBEAiAkhdxibVF7e09UZ2bhxs3OksyiwJb0SLxPJ89/
rjuRPAIgCHsagCGfZJMteQmK06PA43ESFE5w6TyPq9WWnQ6wPgw=
-----END CERTIFICATE-----\n";
/// The server key (PKCS#8).
pub const SERVER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTEdwjP/8vHQNi09E
iSyRRQox+Pl7H0jPsh/H1VJqr3KhRANCAASSE0xmUcEKIXjOw3FZjiEFV/CNDFJg
R6hrf/eK43nPq3bAWO1/DbMs6LlEGgNDhBfcKdT1oZEvf2PKSn+H4JsT
-----END PRIVATE KEY-----\n";
/// The client certificate (signed by the CA).
pub const CLIENT_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIUH7lDeT+FtsAZzpjBdwG4rVHA3rMwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcm9zcHJvdG8gdGVzdCBDQTAgFw0yNjEyMDcwNTA4MTJaGA8y
MTI2MTExMzA1MDgxMlowEDEOMAwGA1UEAwwFYWxpY2UwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAQnUGhg11tAG8Bh3zpE/s2qO6gdqreXGqY0oItwGwIWPZsi7u/z
smxgVuKSoWBL/XkorbmN/kJRT2TMhpHROYIwo3IwcDAJBgNVHRMEAjAAMA4GA1Ud
DwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAjAdBgNVHQ4EFgQUGNQpLwhb
QB6eUaXExV9SvwwrtGwwHwYDVR0jBBgwFoAUE8of8gjFnJT6Wilsrzuzfi3oGIIw
CgYIKoZIzj0EAwIDSAAwRQIhAPAZvZWQochXlZvorts+HxWlO9QMAy+pUZJPFYhl
TshCAiAV2Ms9S63fqs19jIkEXC4M/oZ+VLoDoUlPteQeE+4fEA==
-----END CERTIFICATE-----\n";
/// The client key (PKCS#8).
pub const CLIENT_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVFnYId55zU/DDJTS
VPwqVI7eOV4z6zPGLF6qM2tir9KhRANCAAQnUGhg11tAG8Bh3zpE/s2qO6gdqreX
GqY0oItwGwIWPZsi7u/zsmxgVuKSoWBL/XkorbmN/kJRT2TMhpHROYIw
-----END PRIVATE KEY-----\n";
/// A server certificate with the wrong extended key usage (uses the server key).
pub const WRONG_PURPOSE_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBxzCCAW2gAwIBAgIUH7lDeT+FtsAZzpjBdwG4rVHA3rQwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQcm9zcHJvdG8gdGVzdCBDQTAgFw0yNjEyMDcwNTA4MTJaGA8y
MTI2MTExMzA1MDgxMlowFjEUMBIGA1UEAwwLdnBuLmV4YW1wbGUwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAASSE0xmUcEKIXjOw3FZjiEFV/CNDFJgR6hrf/eK43nP
q3bAWO1/DbMs6LlEGgNDhBfcKdT1oZEvf2PKSn+H4JsTo4GRMIGOMAkGA1UdEwQC
MAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMBwGA1UdEQQV
MBOCC3Zwbi5leGFtcGxlhwQKCQkJMB0GA1UdDgQWBBQS67Y5yNDSsc3uN3E285RP
jlweETAfBgNVHSMEGDAWgBQTyh/yCMWclPpaKWyvO7N+LegYgjAKBggqhkjOPQQD
AgNIADBFAiEA3v2kY+FmRz8bbRKgxBjqs06sF1FDNyiV8gNLFI4elJkCIGU9DMD6
dTefS1kNMM2mRMa09gTDqyINR5b3rJV7EbMP
-----END CERTIFICATE-----\n";
/// A self-signed server certificate (uses the server key).
pub const SELF_SIGNED_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBuDCCAV6gAwIBAgIUR9YkAsF1Qnq5JiudQNSCCTD39owwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLdnBuLmV4YW1wbGUwIBcNMjYxMjA3MDUwODEyWhgPMjEyNjEx
MTMwNTA4MTJaMBYxFDASBgNVBAMMC3Zwbi5leGFtcGxlMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEkhNMZlHBCiF4zsNxWY4hBVfwjQxSYEeoa3/3iuN5z6t2wFjt
fw2zLOi5RBoDQ4QX3CnU9aGRL39jykp/h+CbE6OBhzCBhDAdBgNVHQ4EFgQUEuu2
OcjQ0rHN7jdxNvOUT45cHhEwHwYDVR0jBBgwFoAUEuu2OcjQ0rHN7jdxNvOUT45c
HhEwDwYDVR0TAQH/BAUwAwEB/zAcBgNVHREEFTATggt2cG4uZXhhbXBsZYcECgkJ
CTATBgNVHSUEDDAKBggrBgEFBQcDATAKBggqhkjOPQQDAgNIADBFAiALpR6JMoMc
iK3IT+PDR4Au131vrpJ4X4N6ykKMIYsodwIhAPPI4OLouompBVwkCWaaz5tD+2sh
U0b+cGRD8TZOrvAz
-----END CERTIFICATE-----\n";

/// (server certificate, server key) as owned strings.
pub fn server_pem() -> (String, String) {
    (SERVER_CERT_PEM.to_string(), SERVER_KEY_PEM.to_string())
}
