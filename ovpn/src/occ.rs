//! OCC (options consistency check) messages on the data channel, and the options-string
//! comparison OpenVPN logs warnings from.
//!
//! An OCC message is a data-channel payload (encrypted like a tunnel packet, after the
//! compression framing) that starts with a 16-byte magic:
//!
//! ```text
//! 28 7f 34 6b d4 ef 7a 81 2d 56 b8 d3 af c5 45 9c | type (1) | body
//!   type 0 OCC_REQUEST            ask for the peer's options string
//!   type 1 OCC_REPLY              body = options string, NUL-terminated
//!   type 2 OCC_MTU_REQUEST        (MTU probing, `--mtu-test`)
//!   type 3 OCC_MTU_REPLY          body = u16 largest received, u16 largest sent
//!   type 4 OCC_MTU_LOAD_REQUEST   body = u16 size, u16 count
//!   type 5 OCC_MTU_LOAD           padding
//!   type 6 OCC_EXIT               the peer is going away (`explicit-exit-notify`)
//! ```
//!
//! In TLS mode the options strings are already exchanged in key method 2, so OpenVPN only
//! answers OCC_REQUEST (static-key peers ask) and sends OCC_EXIT; MTU probing is not done
//! here (requests are ignored).

use crate::config::{Mode, Protocol};
use crate::crypto::{Digest, KeyDirection};
use crate::data::{Cipher, Compression};
use crate::error::WireError;
use crate::session::Role;

/// The OCC magic (OpenVPN `occ_magic`).
pub const OCC_MAGIC: [u8; 16] = [
    0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81, 0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
];

/// One OCC message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OccMessage<'a> {
    /// `OCC_REQUEST` (0).
    Request,
    /// `OCC_REPLY` (1) with the options string (without the NUL).
    Reply(&'a str),
    /// `OCC_MTU_REQUEST` (2).
    MtuRequest,
    /// `OCC_MTU_REPLY` (3).
    MtuReply {
        /// Largest packet received.
        max_received: u16,
        /// Largest packet sent.
        max_sent: u16,
    },
    /// `OCC_MTU_LOAD_REQUEST` (4) or `OCC_MTU_LOAD` (5), body kept raw.
    MtuLoad {
        /// 4 or 5.
        kind: u8,
        /// The body.
        body: &'a [u8],
    },
    /// `OCC_EXIT` (6).
    Exit,
}

impl<'a> OccMessage<'a> {
    /// Parse a decrypted data-channel payload: `None` if it is not an OCC message (no
    /// magic), `Some(Err)` if it is one but malformed.
    pub fn parse(payload: &'a [u8]) -> Option<Result<Self, WireError>> {
        let rest = payload.strip_prefix(&OCC_MAGIC[..])?;
        let bad = |reason| WireError::Invalid {
            field: "OCC message",
            reason,
        };
        let Some((&kind, body)) = rest.split_first() else {
            return Some(Err(bad("no type byte")));
        };
        Some(match kind {
            0 => Ok(OccMessage::Request),
            1 => {
                let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
                core::str::from_utf8(&body[..end])
                    .map(OccMessage::Reply)
                    .map_err(|_| bad("options string is not UTF-8"))
            }
            2 => Ok(OccMessage::MtuRequest),
            3 => match body {
                [a, b, c, d, ..] => Ok(OccMessage::MtuReply {
                    max_received: u16::from_be_bytes([*a, *b]),
                    max_sent: u16::from_be_bytes([*c, *d]),
                }),
                _ => Err(bad("OCC_MTU_REPLY shorter than 4 bytes")),
            },
            4 | 5 => Ok(OccMessage::MtuLoad { kind, body }),
            6 => Ok(OccMessage::Exit),
            _ => Err(bad("unknown OCC type")),
        })
    }

    /// Encoded length.
    pub fn buffer_len(&self) -> usize {
        OCC_MAGIC.len()
            + 1
            + match self {
                OccMessage::Reply(s) => s.len() + 1,
                OccMessage::MtuReply { .. } => 4,
                OccMessage::MtuLoad { body, .. } => body.len(),
                _ => 0,
            }
    }

    /// Write into `out`; returns the length. `out` is untouched when shorter than
    /// [`OccMessage::buffer_len`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let n = self.buffer_len();
        let Some(o) = out.get_mut(..n) else {
            return Err(WireError::BufferTooSmall {
                need: n,
                have: out.len(),
            });
        };
        o[..16].copy_from_slice(&OCC_MAGIC);
        let (kind, body) = o[16..].split_at_mut(1);
        kind[0] = match self {
            OccMessage::Request => 0,
            OccMessage::Reply(s) => {
                body[..s.len()].copy_from_slice(s.as_bytes());
                body[s.len()] = 0;
                1
            }
            OccMessage::MtuRequest => 2,
            OccMessage::MtuReply {
                max_received,
                max_sent,
            } => {
                body[..2].copy_from_slice(&max_received.to_be_bytes());
                body[2..4].copy_from_slice(&max_sent.to_be_bytes());
                3
            }
            OccMessage::MtuLoad { kind, body: b } => {
                body.copy_from_slice(b);
                *kind
            }
            OccMessage::Exit => 6,
        };
        Ok(n)
    }
}

/// What the options string of key method 2 is built from ([`local_options_string`]).
#[derive(Clone, Copy, Debug)]
pub struct OccParams {
    /// `tls-client` or `tls-server`.
    pub role: Role,
    /// `dev-type tun` (ip) or `tap` (ethernet).
    pub mode: Mode,
    /// `proto UDPv4`, `TCPv4_CLIENT` or `TCPv4_SERVER`.
    pub transport: Protocol,
    /// `tun-mtu`.
    pub tun_mtu: u16,
    /// The configured (fallback) cipher: OpenVPN's `cipher` / `data-ciphers-fallback`,
    /// BF-CBC when neither is set.
    pub cipher: Cipher,
    /// `auth` (SHA1 by default).
    pub auth: Digest,
    /// Compression framing configured (`comp-lzo` in the string).
    pub compression: Compression,
    /// `fragment` configured (`mtu-dynamic` in the string).
    pub fragment: bool,
    /// tls-auth and its key direction (`tls-auth`, `keydir N`).
    pub tls_auth: Option<KeyDirection>,
}

/// OpenVPN 2.6's `link-mtu` for the options string: the tunnel MTU plus every byte the
/// data channel can add, computed the way OpenVPN's `calc_options_string_link_mtu` does it
/// (so the number matches an OpenVPN peer with the same settings, quirks included: AEAD
/// ciphers count their IV and a block, as OpenVPN 2.3 framed them; BF-CBC is counted as
/// an unnamed cipher with 16 bytes of IV and block).
///
/// ```text
/// link-mtu = tun-mtu + [tap 32] + [comp v1 1] + [fragment 4] + [CBC: packet id 4]
///          + [BF-CBC 16] + [TCP 2] + opcode 1
///          + AEAD: packet id 4 + tag 16 + IV 12 + block (AES 16, ChaCha20 1)
///            CBC:  block + IV + HMAC       none/BF: packet id 4 + HMAC
/// ```
pub fn link_mtu(p: &OccParams) -> u32 {
    let bf = p.cipher == Cipher::BfCbc;
    let c = if bf { Cipher::None } else { p.cipher };
    let cbc = c.block_len() > 0;
    let mut payload = u32::from(p.tun_mtu);
    if p.mode == Mode::Ethernet {
        payload += 32; // tun-mtu-extra
    }
    if matches!(p.compression, Compression::LzoNo | Compression::Stub) {
        payload += 1;
    }
    if p.fragment {
        payload += 4;
    }
    if cbc {
        payload += 4; // the packet id is encrypted with the payload
    }
    let mut overhead = if bf { 16 } else { 0 };
    if p.transport == Protocol::Tcp {
        overhead += 2;
    }
    overhead += 1; // opcode/key id (peer id is not counted: not known yet)
    if !cbc {
        overhead += 4;
    }
    if c.is_aead() {
        let block = if c == Cipher::ChaCha20Poly1305 { 1 } else { 16 };
        overhead += 16 + 12 + block;
    } else {
        if cbc {
            overhead += 2 * c.block_len() as u32;
        }
        overhead += p.auth.len() as u32;
    }
    payload + overhead
}

/// Our options string for key method 2 (and OCC_REPLY), as OpenVPN 2.6 builds its own in
/// TLS mode: `V4,dev-type tun,link-mtu 1549,tun-mtu 1500,proto UDPv4,cipher AES-256-GCM,
/// auth [null-digest],keysize 256,key-method 2,tls-client`. A peer with the same settings
/// finds nothing to warn about.
pub fn local_options_string(p: &OccParams) -> String {
    let mut s = format!(
        "V4,dev-type {},link-mtu {},tun-mtu {},proto {}",
        if p.mode == Mode::Ethernet {
            "tap"
        } else {
            "tun"
        },
        link_mtu(p),
        p.tun_mtu,
        match (p.transport, p.role) {
            (Protocol::Udp, _) => "UDPv4",
            (Protocol::Tcp, Role::Client) => "TCPv4_CLIENT",
            (Protocol::Tcp, Role::Server) => "TCPv4_SERVER",
        }
    );
    if p.compression != Compression::None {
        s.push_str(",comp-lzo");
    }
    if p.fragment {
        s.push_str(",mtu-dynamic");
    }
    match p.tls_auth {
        Some(KeyDirection::Normal) => s.push_str(",keydir 0"),
        Some(KeyDirection::Inverse) => s.push_str(",keydir 1"),
        _ => {}
    }
    let (name, auth, keysize) = match p.cipher {
        Cipher::BfCbc => ("BF-CBC", p.auth, 128),
        Cipher::None => ("[null-cipher]", p.auth, 0),
        c if c.is_aead() => (c.openvpn_name(), Digest::None, c.key_len() * 8),
        c => (c.openvpn_name(), p.auth, c.key_len() * 8),
    };
    let auth = if auth.is_none() {
        "[null-digest]"
    } else {
        auth.openvpn_name()
    };
    s.push_str(&format!(",cipher {name},auth {auth},keysize {keysize}"));
    if p.tls_auth.is_some() {
        s.push_str(",tls-auth");
    }
    s.push_str(",key-method 2,");
    s.push_str(match p.role {
        Role::Client => "tls-client",
        Role::Server => "tls-server",
    });
    s
}

/// Compare our options string with the peer's (`V4,dev-type tun,link-mtu 1550,...`) the way
/// OpenVPN's options warning does: one line per option whose value differs or that only
/// one side has. The role options (`tls-client`/`tls-server`) are expected to differ and
/// are skipped, and so are the options OpenVPN 2.6 no longer warns about (`key-method`,
/// `keydir`, `proto`, `tls-auth`, `tun-ipv6`, `cipher`). Informational only: OpenVPN 2.6 negotiates cipher/auth and tolerates
/// differences, and so does this crate.
pub fn options_warnings(local: &str, remote: &str) -> Vec<String> {
    fn split(s: &str) -> Vec<(&str, &str)> {
        s.split(',')
            .skip(1)
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| o.split_once(' ').unwrap_or((o, "")))
            .filter(|(k, _)| {
                !matches!(
                    *k,
                    "tls-client"
                        | "tls-server"
                        | "key-method"
                        | "keydir"
                        | "proto"
                        | "tls-auth"
                        | "tun-ipv6"
                        | "cipher"
                )
            })
            .collect()
    }
    let (l, r) = (split(local), split(remote));
    let mut out = Vec::new();
    for (k, v) in &l {
        match r.iter().find(|(rk, _)| rk == k) {
            Some((_, rv)) if rv == v => {}
            Some((_, rv)) => out.push(format!(
                "'{k}' is used inconsistently, local='{k} {v}', remote='{k} {rv}'"
            )),
            None => out.push(format!(
                "'{k}' is present in local config but missing in remote config, local='{k} {v}'"
            )),
        }
    }
    for (k, v) in &r {
        if !l.iter().any(|(lk, _)| lk == k) {
            out.push(format!(
                "'{k}' is present in remote config but missing in local config, remote='{k} {v}'"
            ));
        }
    }
    if local.split(',').next() != remote.split(',').next() {
        out.push(format!(
            "options string version differs: local '{}', remote '{}'",
            local.split(',').next().unwrap_or(""),
            remote.split(',').next().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        for m in [
            OccMessage::Request,
            OccMessage::Reply("V4,dev-type tun,link-mtu 1550"),
            OccMessage::MtuRequest,
            OccMessage::MtuReply {
                max_received: 1400,
                max_sent: 1500,
            },
            OccMessage::MtuLoad {
                kind: 5,
                body: &[1, 2, 3],
            },
            OccMessage::Exit,
        ] {
            let mut b = [0u8; 64];
            let n = m.emit(&mut b).unwrap();
            assert_eq!(n, m.buffer_len());
            assert_eq!(OccMessage::parse(&b[..n]).unwrap().unwrap(), m);
        }
    }

    #[test]
    fn exit_bytes_and_non_occ_payloads() {
        let mut b = [0u8; 17];
        OccMessage::Exit.emit(&mut b).unwrap();
        assert_eq!(b[..4], [0x28, 0x7f, 0x34, 0x6b]);
        assert_eq!(b[16], 6);
        assert!(OccMessage::parse(&[0x45, 0, 0, 20]).is_none());
        assert!(OccMessage::parse(&OCC_MAGIC).unwrap().is_err());
        let mut small = [9u8; 10];
        assert!(OccMessage::Exit.emit(&mut small).is_err());
        assert_eq!(small, [9; 10]);
    }

    #[test]
    fn warnings_name_the_differing_options() {
        let l = "V4,dev-type tun,link-mtu 1550,tun-mtu 1500,proto UDPv4,auth SHA1,tls-client";
        let r = "V4,dev-type tap,link-mtu 1550,tun-mtu 1500,proto TCPv4_SERVER,cipher BF-CBC,tls-server,comp-lzo";
        let w = options_warnings(l, r);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("'dev-type' is used inconsistently"));
        assert!(w[1].contains("'auth' is present in local"));
        assert!(w[2].contains("'comp-lzo' is present in remote"));
        assert!(options_warnings(l, &l.replace("tls-client", "tls-server")).is_empty());
    }

    /// `link-mtu` known answers: what OpenVPN 2.6.14 logs as its "Local Options String"
    /// for these settings (verb 4), and the whole string for one of them.
    #[test]
    fn link_mtu_matches_openvpn() {
        let base = OccParams {
            role: Role::Client,
            mode: Mode::Ip,
            transport: Protocol::Udp,
            tun_mtu: 1500,
            cipher: Cipher::Aes256Gcm,
            auth: Digest::Sha1,
            compression: Compression::None,
            fragment: false,
            tls_auth: None,
        };
        let with = |f: &dyn Fn(&mut OccParams)| {
            let mut p = base;
            f(&mut p);
            link_mtu(&p)
        };
        assert_eq!(link_mtu(&base), 1549);
        assert_eq!(with(&|p| p.cipher = Cipher::ChaCha20Poly1305), 1534);
        assert_eq!(with(&|p| p.cipher = Cipher::Aes128Cbc), 1557);
        assert_eq!(with(&|p| p.cipher = Cipher::BfCbc), 1541);
        assert_eq!(with(&|p| p.transport = Protocol::Tcp), 1551);
        assert_eq!(with(&|p| p.mode = Mode::Ethernet), 1581);
        assert_eq!(with(&|p| p.fragment = true), 1553);
        assert_eq!(with(&|p| p.compression = Compression::Stub), 1550);
        assert_eq!(with(&|p| p.compression = Compression::StubV2), 1549);
        assert_eq!(with(&|p| p.tun_mtu = 1400), 1449);
        let mut p = base;
        p.cipher = Cipher::BfCbc;
        p.tls_auth = Some(KeyDirection::Inverse);
        p.transport = Protocol::Tcp;
        assert_eq!(
            local_options_string(&p),
            "V4,dev-type tun,link-mtu 1543,tun-mtu 1500,proto TCPv4_CLIENT,keydir 1,cipher BF-CBC,auth SHA1,keysize 128,tls-auth,key-method 2,tls-client"
        );
    }
}
