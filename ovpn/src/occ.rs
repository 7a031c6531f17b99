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

use crate::error::WireError;

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

/// Compare our options string with the peer's (`V4,dev-type tun,link-mtu 1550,...`) the way
/// OpenVPN's options warning does: one line per option whose value differs or that only
/// one side has. The role options (`tls-client`/`tls-server`) are expected to differ and
/// are skipped. Informational only: OpenVPN 2.6 negotiates cipher/auth and tolerates
/// differences, and so does this crate.
pub fn options_warnings(local: &str, remote: &str) -> Vec<String> {
    fn split(s: &str) -> Vec<(&str, &str)> {
        s.split(',')
            .skip(1)
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| o.split_once(' ').unwrap_or((o, "")))
            .filter(|(k, _)| *k != "tls-client" && *k != "tls-server")
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
        let l =
            "V4,dev-type tun,link-mtu 1550,tun-mtu 1500,proto UDPv4,cipher AES-256-GCM,tls-client";
        let r = "V4,dev-type tap,link-mtu 1550,tun-mtu 1500,proto UDPv4,tls-server,comp-lzo";
        let w = options_warnings(l, r);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("'dev-type' is used inconsistently"));
        assert!(w[1].contains("'cipher' is present in local"));
        assert!(w[2].contains("'comp-lzo' is present in remote"));
        assert!(options_warnings(l, &l.replace("tls-client", "tls-server")).is_empty());
    }
}
