//! L2TPv3 Ethernet pseudowires (RFC 4719) and the RouterOS unmanaged "L2TP Ether" mode.
//!
//! In unmanaged mode (`/interface l2tp-ether unmanaged-mode=yes`) there is no control
//! connection at all: both ends are configured with each other's session ids and cookies and
//! simply exchange data packets. [`StaticEther`] is that whole data plane: whole Ethernet frames
//! in, L2TPv3 datagrams (IP protocol 115 or UDP payload) out, with cookie check and the optional
//! default L2-Specific Sublayer.

use md5::{Digest, Md5};

use crate::config::EtherConfig;
use crate::error::{Error, Result};
use crate::wire::v3::{Cookie, DataPathV3};

/// Pseudowire type: Ethernet VLAN (RFC 4719).
pub const PW_TYPE_ETHERNET_VLAN: u16 = 0x0004;
/// Pseudowire type: Ethernet port (RFC 4719).
pub const PW_TYPE_ETHERNET: u16 = 0x0005;
/// Pseudowire type: PPP (RFC 3931 / IANA).
pub const PW_TYPE_PPP: u16 = 0x0007;

/// A locally administered unicast MAC derived from `seed` (e.g. the interface name), for
/// `mac-address=auto`.
pub fn auto_mac(seed: &[u8]) -> [u8; 6] {
    let h = Md5::digest(seed);
    let mut m = [0u8; 6];
    m.copy_from_slice(&h[..6]);
    m[0] = (m[0] | 0x02) & 0xfe;
    m
}

/// The data plane of an unmanaged L2TP Ether interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticEther {
    path: DataPathV3,
    mtu: u16,
    mac: [u8; 6],
}

/// Smallest Ethernet frame carried (destination, source, EtherType).
pub const MIN_FRAME: usize = 14;

impl StaticEther {
    /// Build from an `l2tp-ether` config with `unmanaged-mode=yes`. `name` seeds `mac-address=auto`.
    pub fn from_config(cfg: &EtherConfig, name: &str) -> Result<Self> {
        cfg.validate()?;
        if !cfg.unmanaged_mode {
            return Err(Error::Config {
                field: "unmanaged-mode",
                reason: "StaticEther needs unmanaged-mode=yes".into(),
            });
        }
        let encap = cfg.l2tp_proto_version.v3_encap().ok_or(Error::Config {
            field: "l2tp-proto-version",
            reason: "l2tpv3-ip or l2tpv3-udp".into(),
        })?;
        let cookie = |s: &Option<String>, field| match s {
            Some(h) => Cookie::from_hex(h, field),
            None => Ok(Cookie::NONE),
        };
        Ok(StaticEther {
            path: DataPathV3 {
                encap,
                remote_session_id: cfg.remote_session_id.unwrap_or(0),
                local_session_id: cfg.local_session_id.unwrap_or(0),
                send_cookie: cookie(&cfg.send_cookie, "send-cookie")?,
                peer_cookie: cookie(&cfg.peer_cookie, "peer-cookie")?,
                l2_sublayer: cfg.use_l2_specific_sublayer,
                rx_l2_sublayer: cfg.use_l2_specific_sublayer,
                tx_seq: 0,
            },
            mtu: cfg.mtu,
            mac: cfg.mac_address.unwrap_or_else(|| auto_mac(name.as_bytes())),
        })
    }

    /// The interface MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The interface MTU (payload of the Ethernet frames, `mtu=1420` by default).
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Bytes of L2TPv3 header added per frame.
    pub fn overhead(&self) -> usize {
        self.path.overhead()
    }

    /// Encapsulate an Ethernet frame (without FCS) into `out`.
    pub fn encapsulate(&mut self, frame: &[u8], out: &mut [u8]) -> Result<usize> {
        if frame.len() < MIN_FRAME {
            return Err(Error::Length {
                field: "ethernet frame",
                offset: 0,
                value: frame.len(),
            });
        }
        if frame.len() > self.mtu as usize + MIN_FRAME + 4 {
            return Err(Error::Length {
                field: "ethernet frame above mtu",
                offset: 0,
                value: frame.len(),
            });
        }
        self.path.encapsulate(frame, out)
    }

    /// Decapsulate a received datagram: checks session id and cookie, returns the frame.
    pub fn decapsulate<'a>(&self, buf: &'a [u8]) -> Result<&'a [u8]> {
        let d = self.path.decapsulate(buf)?;
        if d.payload.len() < MIN_FRAME {
            return Err(Error::Length {
                field: "ethernet frame",
                offset: 0,
                value: d.payload.len(),
            });
        }
        Ok(d.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProtoVersion;

    fn ends(proto: ProtoVersion, sub: bool) -> (StaticEther, StaticEther) {
        let a = EtherConfig {
            unmanaged_mode: true,
            local_session_id: Some(100),
            remote_session_id: Some(200),
            local_tunnel_id: Some(1),
            remote_tunnel_id: Some(2),
            send_cookie: Some("0a0b0c0d".into()),
            peer_cookie: Some("0102030405060708".into()),
            l2tp_proto_version: proto,
            use_l2_specific_sublayer: sub,
            ..Default::default()
        };
        let b = EtherConfig {
            local_session_id: Some(200),
            remote_session_id: Some(100),
            send_cookie: a.peer_cookie.clone(),
            peer_cookie: a.send_cookie.clone(),
            ..a.clone()
        };
        (
            StaticEther::from_config(&a, "l2tp-ether1").unwrap(),
            StaticEther::from_config(&b, "l2tp-ether1").unwrap(),
        )
    }

    #[test]
    fn unmanaged_both_encaps_exact_bytes() {
        let frame: Vec<u8> = (0..60u8).collect();
        let (mut a, b) = ends(ProtoVersion::L2tpv3Udp, false);
        let mut buf = [0u8; 128];
        let n = a.encapsulate(&frame, &mut buf).unwrap();
        // UDP: flags/ver 0x0003, reserved, session 200, cookie 0a0b0c0d, frame.
        assert_eq!(&buf[..12], &[0, 3, 0, 0, 0, 0, 0, 200, 10, 11, 12, 13]);
        assert_eq!(n, 12 + 60);
        assert_eq!(b.decapsulate(&buf[..n]).unwrap(), &frame[..]);
        let (mut a, b) = ends(ProtoVersion::L2tpv3Ip, true);
        let n = a.encapsulate(&frame, &mut buf).unwrap();
        // IP: session 200, cookie, sublayer S bit + seq 0.
        assert_eq!(&buf[..12], &[0, 0, 0, 200, 10, 11, 12, 13, 0x40, 0, 0, 0]);
        assert_eq!(b.decapsulate(&buf[..n]).unwrap(), &frame[..]);
        let n = a.encapsulate(&frame, &mut buf).unwrap();
        assert_eq!(&buf[8..12], &[0x40, 0, 0, 1]);
        // Wrong cookie dropped.
        buf[5] ^= 1;
        assert_eq!(b.decapsulate(&buf[..n]), Err(Error::Cookie));
        assert_eq!(a.mtu(), 1420);
        assert!(a.encapsulate(&[0; 10], &mut buf).is_err());
    }

    #[test]
    fn auto_mac_is_local_unicast() {
        let m = auto_mac(b"l2tp-ether1");
        assert_eq!(m[0] & 0x03, 0x02);
        assert_eq!(m, auto_mac(b"l2tp-ether1"));
        assert_ne!(m, auto_mac(b"l2tp-ether2"));
    }

    #[test]
    fn managed_mode_refused() {
        assert!(matches!(
            StaticEther::from_config(&EtherConfig::default(), "x"),
            Err(Error::Config {
                field: "unmanaged-mode",
                ..
            })
        ));
    }
}
