//! Key method 2: the first plaintext message each side sends inside TLS, and data-key
//! derivation (OpenVPN PRF or TLS keying-material export).
//!
//! ```text
//! u32 0 | u8 key method (2) | key source | options string | username | password | peer info
//! key source (client) = pre_master (48) | random1 (32) | random2 (32)
//! key source (server) = random1 (32) | random2 (32)
//! strings: u16 length (including the trailing NUL) | bytes | NUL; an empty string is u16 0
//! ```
//!
//! Data keys (256 bytes = two 128-byte slots, see [`StaticKey`]):
//! * PRF: `master = PRF(pre_master, "OpenVPN master secret", c.random1 | s.random1)` (48),
//!   `keys = PRF(master, "OpenVPN key expansion", c.random2 | s.random2 | c.sid | s.sid)`;
//!   the PRF is the TLS 1.0 PRF ([`openvpn_prf`]).
//! * EKM (`key-derivation tls-ekm`, OpenVPN 2.6): RFC 5705 exporter with label
//!   `EXPORTER-OpenVPN-datakeys`, no context, 256 bytes.

use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use crate::crypto::{openvpn_prf, StaticKey};
use crate::error::{CryptoError, WireError};
use crate::wire::SessionId;

/// RFC 5705 exporter label OpenVPN 2.6 uses for data keys.
pub const EKM_LABEL: &[u8] = b"EXPORTER-OpenVPN-datakeys";
/// Size of the data-key material.
pub const KEY_MATERIAL_LEN: usize = 256;
/// Longest options string OpenVPN reads (`TLS_OPTIONS_LEN`).
pub const MAX_OPTIONS_LEN: usize = 2048;
/// Longest string field accepted when parsing (peer info can be long).
pub const MAX_STRING_LEN: usize = 8192;

/// `IV_PROTO` bit: peer supports P_DATA_V2.
pub const IV_PROTO_DATA_V2: u32 = 1 << 1;
/// `IV_PROTO` bit: client sends PUSH_REQUEST itself.
pub const IV_PROTO_REQUEST_PUSH: u32 = 1 << 2;
/// `IV_PROTO` bit: TLS keying-material export for data keys.
pub const IV_PROTO_TLS_KEY_EXPORT: u32 = 1 << 3;
/// `IV_PROTO` bit: auth-pending keywords.
pub const IV_PROTO_AUTH_PENDING_KW: u32 = 1 << 4;
/// `IV_PROTO` bit: NCP in p2p mode.
pub const IV_PROTO_NCP_P2P: u32 = 1 << 5;
/// `IV_PROTO` bit: exit notification over the control channel.
pub const IV_PROTO_CC_EXIT_NOTIFY: u32 = 1 << 7;
/// `IV_PROTO` bit: dynamic tls-crypt for renegotiations (`dyn-tls-crypt`).
pub const IV_PROTO_DYN_TLS_CRYPT: u32 = 1 << 9;

/// Key source material of one side.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySource {
    /// Pre-master secret (client only).
    pub pre_master: Option<[u8; 48]>,
    /// First random (master secret seed).
    pub random1: [u8; 32],
    /// Second random (key expansion seed).
    pub random2: [u8; 32],
}

impl core::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeySource(..)")
    }
}

impl Drop for KeySource {
    fn drop(&mut self) {
        if let Some(p) = self.pre_master.as_mut() {
            p.zeroize();
        }
        self.random1.zeroize();
        self.random2.zeroize();
    }
}

impl KeySource {
    /// Fresh random key source; `client` adds a pre-master secret.
    pub fn random(client: bool, rng: &mut dyn CryptoRngCore) -> Self {
        let mut k = KeySource {
            pre_master: client.then_some([0u8; 48]),
            random1: [0; 32],
            random2: [0; 32],
        };
        if let Some(p) = k.pre_master.as_mut() {
            rng.fill_bytes(p);
        }
        rng.fill_bytes(&mut k.random1);
        rng.fill_bytes(&mut k.random2);
        k
    }
}

/// A key-method-2 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMethod2 {
    /// Key source (with pre-master when sent by the client).
    pub key_source: KeySource,
    /// OCC options string (`V4,dev-type tun,...`), informational in OpenVPN 2.4+.
    pub options: String,
    /// Username (`None` = empty string on the wire).
    pub username: Option<String>,
    /// Password (`None` = empty string on the wire).
    pub password: Option<String>,
    /// Peer info (`IV_VER=...\nIV_PROTO=...\n`), `None` when absent.
    pub peer_info: Option<String>,
}

fn put_string(out: &mut Vec<u8>, s: Option<&str>) -> Result<(), WireError> {
    match s {
        None | Some("") => out.extend_from_slice(&[0, 0]),
        Some(s) => {
            let l = u16::try_from(s.len() + 1).map_err(|_| WireError::TooLong {
                field: "key method 2 string",
                len: s.len(),
                max: usize::from(u16::MAX) - 1,
            })?;
            out.extend_from_slice(&l.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    off: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        let r = self
            .b
            .get(self.off..self.off.saturating_add(n))
            .ok_or(WireError::Truncated {
                field,
                offset: self.off,
                need: n,
                have: self.b.len().saturating_sub(self.off),
            })?;
        self.off += n;
        Ok(r)
    }

    fn string(&mut self, field: &'static str, max: usize) -> Result<Option<String>, WireError> {
        if self.off >= self.b.len() {
            return Ok(None);
        }
        let l = self.take(2, field)?;
        let l = usize::from(u16::from_be_bytes([l[0], l[1]]));
        if l == 0 {
            return Ok(None);
        }
        if l > max {
            return Err(WireError::TooLong { field, len: l, max });
        }
        let s = self.take(l, field)?;
        let s = match s.split_last() {
            Some((0, rest)) => rest,
            _ => return Err(WireError::InvalidString { field }),
        };
        // OpenVPN's strings are C strings: stop at an embedded NUL.
        let s = s.split(|c| *c == 0).next().unwrap_or(&[]);
        Ok(Some(
            std::str::from_utf8(s)
                .map_err(|_| WireError::InvalidString { field })?
                .to_string(),
        ))
    }
}

impl KeyMethod2 {
    /// Encode. The client's message must carry a pre-master secret.
    pub fn emit(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(256 + self.options.len());
        out.extend_from_slice(&[0, 0, 0, 0, 2]);
        if let Some(p) = &self.key_source.pre_master {
            out.extend_from_slice(p);
        }
        out.extend_from_slice(&self.key_source.random1);
        out.extend_from_slice(&self.key_source.random2);
        put_string(&mut out, Some(&self.options))?;
        put_string(&mut out, self.username.as_deref())?;
        put_string(&mut out, self.password.as_deref())?;
        if let Some(pi) = &self.peer_info {
            put_string(&mut out, Some(pi))?;
        }
        Ok(out)
    }

    /// Decode a message; `from_client` says whether a pre-master secret is present.
    /// Returns the message and the number of bytes consumed.
    pub fn parse(b: &[u8], from_client: bool) -> Result<(Self, usize), WireError> {
        let mut r = Reader { b, off: 0 };
        let z = r.take(4, "leading zero")?;
        if z != [0, 0, 0, 0] {
            return Err(WireError::Invalid {
                field: "leading zero",
                reason: "not zero",
            });
        }
        let km = r.take(1, "key_method")?[0];
        if km & 0x0F != 2 {
            return Err(WireError::Invalid {
                field: "key_method",
                reason: "only key method 2 is supported",
            });
        }
        let pre_master = if from_client {
            let mut p = [0u8; 48];
            p.copy_from_slice(r.take(48, "pre_master")?);
            Some(p)
        } else {
            None
        };
        let mut random1 = [0u8; 32];
        random1.copy_from_slice(r.take(32, "random1")?);
        let mut random2 = [0u8; 32];
        random2.copy_from_slice(r.take(32, "random2")?);
        let options = r
            .string("options", MAX_OPTIONS_LEN)?
            .ok_or(WireError::MissingField { field: "options" })?;
        let username = r.string("username", MAX_STRING_LEN)?;
        let password = r.string("password", MAX_STRING_LEN)?;
        let peer_info = r.string("peer_info", MAX_STRING_LEN)?;
        Ok((
            KeyMethod2 {
                key_source: KeySource {
                    pre_master,
                    random1,
                    random2,
                },
                options,
                username,
                password,
                peer_info,
            },
            r.off,
        ))
    }
}

/// Data-key material by the OpenVPN PRF.
pub fn derive_prf(
    client: &KeySource,
    server: &KeySource,
    client_sid: &SessionId,
    server_sid: &SessionId,
) -> Result<StaticKey, CryptoError> {
    let pre = client.pre_master.as_ref().ok_or(CryptoError::BadKey {
        reason: "client key source has no pre-master secret",
    })?;
    let mut master = [0u8; 48];
    openvpn_prf(
        pre,
        b"OpenVPN master secret",
        &[&client.random1, &server.random1],
        &mut master,
    );
    let mut km = [0u8; KEY_MATERIAL_LEN];
    openvpn_prf(
        &master,
        b"OpenVPN key expansion",
        &[&client.random2, &server.random2, client_sid, server_sid],
        &mut km,
    );
    let k = StaticKey::from_bytes(&km);
    master.zeroize();
    km.zeroize();
    k
}

/// Parsed peer info (`IV_*` variables).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// `(name, value)` pairs in order.
    pub vars: Vec<(String, String)>,
}

impl PeerInfo {
    /// Parse `NAME=value` lines.
    pub fn parse(s: &str) -> Self {
        PeerInfo {
            vars: s
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `IV_PROTO` bits (0 when absent).
    pub fn iv_proto(&self) -> u32 {
        self.get("IV_PROTO")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `IV_CIPHERS` list (colon-separated).
    pub fn ciphers(&self) -> Vec<&str> {
        self.get("IV_CIPHERS")
            .map(|v| v.split(':').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Vector computed with an independent Python implementation of the TLS 1.0 PRF
    /// (hmac/hashlib) over the same inputs.
    #[test]
    fn prf_key_expansion_vector() {
        let mut pm = [0u8; 48];
        for (i, b) in pm.iter_mut().enumerate() {
            *b = i as u8;
        }
        let c = KeySource {
            pre_master: Some(pm),
            random1: [0x11; 32],
            random2: [0x33; 32],
        };
        let s = KeySource {
            pre_master: None,
            random1: [0x22; 32],
            random2: [0x44; 32],
        };
        let mut master = [0u8; 48];
        openvpn_prf(
            &pm,
            b"OpenVPN master secret",
            &[&[0x11; 32], &[0x22; 32]],
            &mut master,
        );
        assert_eq!(hex(&master), "8d4d229a2b8a2af73a3e37ceca8c1a2db162292f18b5b070383cd081b68d82b431f11370733cc4b308ba7d5a0975f368");
        let k = derive_prf(
            &c,
            &s,
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8],
        )
        .unwrap();
        let b = k.to_bytes();
        assert_eq!(
            hex(&b[..32]),
            "d9a795d12e70d4394acdc4437f347c64bcbca5be8090331aea38825a454143d2"
        );
        assert_eq!(
            hex(&b[224..]),
            "041f09f28d4b50cd220917822b4bbd7ea32ecd625f6e3727f1de05c1a0126f6d"
        );
    }

    #[test]
    fn km2_round_trip() {
        let m = KeyMethod2 {
            key_source: KeySource {
                pre_master: Some([7; 48]),
                random1: [1; 32],
                random2: [2; 32],
            },
            options: "V4,dev-type tun,cipher AES-256-GCM,tls-client".into(),
            username: Some("user".into()),
            password: Some("pass".into()),
            peer_info: Some("IV_VER=2.6.14\nIV_PROTO=990\n".into()),
        };
        let b = m.emit().unwrap();
        let (p, n) = KeyMethod2::parse(&b, true).unwrap();
        assert_eq!(n, b.len());
        assert_eq!(p, m);
        assert_eq!(
            PeerInfo::parse(p.peer_info.as_deref().unwrap()).iv_proto(),
            990
        );
        // Server form without credentials: two empty strings.
        let s = KeyMethod2 {
            key_source: KeySource {
                pre_master: None,
                random1: [1; 32],
                random2: [2; 32],
            },
            options: "V4".into(),
            username: None,
            password: None,
            peer_info: None,
        };
        let b = s.emit().unwrap();
        assert_eq!(b.len(), 5 + 64 + 2 + 3 + 2 + 2);
        assert_eq!(KeyMethod2::parse(&b, false).unwrap().0, s);
        for cut in 0..b.len() - 4 {
            let _ = KeyMethod2::parse(&b[..cut], false);
        }
    }
}
