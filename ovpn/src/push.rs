//! Text control messages: PUSH_REQUEST, PUSH_REPLY, AUTH_FAILED, RESTART, EXIT.
//!
//! After key method 2, control-channel plaintext carries NUL-terminated text messages. The
//! client asks `PUSH_REQUEST`; the server answers `PUSH_REPLY,opt1,opt2,...` where each option
//! is an OpenVPN directive with space-separated arguments.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::data::Cipher;
use crate::error::WireError;

/// Most bytes of one PUSH_REPLY message (OpenVPN's `PUSH_BUNDLE_SIZE` is 1024; 2.6 accepts
/// longer replies; we bound parsing at 64 KiB).
pub const MAX_PUSH_LEN: usize = 65535;

/// A text control message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlMessage {
    /// `PUSH_REQUEST`.
    PushRequest,
    /// `PUSH_REPLY,...`.
    PushReply(PushReply),
    /// `AUTH_FAILED[,reason]`.
    AuthFailed(Option<String>),
    /// `RESTART[,reason]`.
    Restart(Option<String>),
    /// `EXIT`.
    Exit,
    /// Anything else (kept verbatim).
    Other(String),
}

impl ControlMessage {
    /// Parse one message (without the NUL).
    pub fn parse(s: &str) -> Result<Self, WireError> {
        if s.len() > MAX_PUSH_LEN {
            return Err(WireError::TooLong {
                field: "control message",
                len: s.len(),
                max: MAX_PUSH_LEN,
            });
        }
        let reason = |rest: &str| rest.strip_prefix(',').map(str::to_string);
        Ok(if s == "PUSH_REQUEST" {
            ControlMessage::PushRequest
        } else if let Some(rest) = s.strip_prefix("PUSH_REPLY") {
            ControlMessage::PushReply(PushReply::parse_options(rest.trim_start_matches(','))?)
        } else if let Some(rest) = s.strip_prefix("AUTH_FAILED") {
            ControlMessage::AuthFailed(reason(rest))
        } else if let Some(rest) = s.strip_prefix("RESTART") {
            ControlMessage::Restart(reason(rest))
        } else if s == "EXIT" {
            ControlMessage::Exit
        } else {
            ControlMessage::Other(s.to_string())
        })
    }

    /// Encode (without the NUL).
    pub fn to_text(&self) -> String {
        match self {
            ControlMessage::PushRequest => "PUSH_REQUEST".into(),
            ControlMessage::PushReply(r) => format!("PUSH_REPLY,{}", r.options_text()),
            ControlMessage::AuthFailed(None) => "AUTH_FAILED".into(),
            ControlMessage::AuthFailed(Some(r)) => format!("AUTH_FAILED,{r}"),
            ControlMessage::Restart(None) => "RESTART".into(),
            ControlMessage::Restart(Some(r)) => format!("RESTART,{r}"),
            ControlMessage::Exit => "EXIT".into(),
            ControlMessage::Other(s) => s.clone(),
        }
    }
}

/// A pushed route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Network.
    pub network: String,
    /// Netmask (OpenVPN form), if given.
    pub netmask: Option<String>,
    /// Gateway, if given.
    pub gateway: Option<String>,
    /// Metric, if given.
    pub metric: Option<u32>,
}

/// The options of a PUSH_REPLY, typed where the library acts on them; every option is also
/// kept verbatim in [`PushReply::options`] (unknown ones are preserved).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReply {
    /// All options in order, verbatim.
    pub options: Vec<String>,
    /// `ifconfig local netmask-or-remote`.
    pub ifconfig: Option<(Ipv4Addr, Ipv4Addr)>,
    /// `ifconfig-ipv6 addr/len remote`.
    pub ifconfig_ipv6: Option<(Ipv6Addr, u8)>,
    /// `route` entries.
    pub routes: Vec<Route>,
    /// `route-ipv6` entries (text).
    pub routes_ipv6: Vec<String>,
    /// `dhcp-option DNS` servers.
    pub dns: Vec<String>,
    /// `redirect-gateway` flags, if pushed.
    pub redirect_gateway: Option<Vec<String>>,
    /// `peer-id`.
    pub peer_id: Option<u32>,
    /// `cipher`.
    pub cipher: Option<Cipher>,
    /// `key-derivation tls-ekm`.
    pub tls_ekm: bool,
    /// `ping`.
    pub ping: Option<u32>,
    /// `ping-restart`.
    pub ping_restart: Option<u32>,
    /// `protocol-flags cc-exit`: the server takes `EXIT` on the control channel.
    pub cc_exit: bool,
    /// `protocol-flags dyn-tls-crypt`: renegotiations use dynamic tls-crypt.
    pub dyn_tls_crypt: bool,
    /// `auth-token`: the client sends it instead of its password from now on.
    pub auth_token: Option<String>,
    /// `comp-lzo` / `compress ...`: the compression framing to use.
    pub compression: Option<crate::data::Compression>,
}

impl PushReply {
    /// Parse the comma-separated option list.
    pub fn parse_options(s: &str) -> Result<Self, WireError> {
        let mut r = PushReply::default();
        for opt in s.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            r.push_option(opt)?;
        }
        Ok(r)
    }

    /// Add one option (parsed into the typed fields when known).
    pub fn push_option(&mut self, opt: &str) -> Result<(), WireError> {
        let bad = |field| WireError::Invalid {
            field,
            reason: "bad argument",
        };
        let mut w = opt.split_whitespace();
        let name = w.next().unwrap_or("");
        let args: Vec<&str> = w.collect();
        match name {
            "ifconfig" => {
                let a = args
                    .first()
                    .and_then(|a| a.parse().ok())
                    .ok_or(bad("ifconfig"))?;
                let b = args
                    .get(1)
                    .and_then(|a| a.parse().ok())
                    .ok_or(bad("ifconfig"))?;
                self.ifconfig = Some((a, b));
            }
            "ifconfig-ipv6" => {
                let (a, l) = args
                    .first()
                    .and_then(|x| x.split_once('/'))
                    .ok_or(bad("ifconfig-ipv6"))?;
                self.ifconfig_ipv6 = Some((
                    a.parse().map_err(|_| bad("ifconfig-ipv6"))?,
                    l.parse().map_err(|_| bad("ifconfig-ipv6"))?,
                ));
            }
            "route" => {
                let network = args.first().ok_or(bad("route"))?.to_string();
                self.routes.push(Route {
                    network,
                    netmask: args.get(1).map(|s| s.to_string()),
                    gateway: args.get(2).map(|s| s.to_string()),
                    metric: args.get(3).and_then(|m| m.parse().ok()),
                });
            }
            "route-ipv6" => self.routes_ipv6.push(args.join(" ")),
            "dhcp-option"
                if args.first().is_some_and(|a| {
                    a.eq_ignore_ascii_case("DNS") || a.eq_ignore_ascii_case("DNS6")
                }) =>
            {
                if let Some(a) = args.get(1) {
                    self.dns.push(a.to_string());
                }
            }
            "redirect-gateway" => {
                self.redirect_gateway = Some(args.iter().map(|s| s.to_string()).collect())
            }
            "peer-id" => {
                self.peer_id = Some(
                    args.first()
                        .and_then(|a| a.parse().ok())
                        .filter(|p| *p <= crate::wire::PEER_ID_UNSET)
                        .ok_or(bad("peer-id"))?,
                )
            }
            "cipher" => {
                self.cipher = Some(
                    args.first()
                        .and_then(|c| Cipher::from_name(c))
                        .ok_or(bad("cipher"))?,
                )
            }
            "key-derivation" => self.tls_ekm = args.first() == Some(&"tls-ekm"),
            // OpenVPN 2.6 servers: `protocol-flags cc-exit tls-ekm dyn-tls-crypt`.
            "protocol-flags" => {
                self.tls_ekm |= args.contains(&"tls-ekm");
                self.cc_exit |= args.contains(&"cc-exit");
                self.dyn_tls_crypt |= args.contains(&"dyn-tls-crypt");
            }
            "auth-token" => {
                self.auth_token = Some(args.first().ok_or(bad("auth-token"))?.to_string())
            }
            "comp-lzo" | "compress" => {
                self.compression =
                    Some(crate::data::Compression::from_option(opt).ok_or(bad("compress"))?)
            }
            "ping" => self.ping = args.first().and_then(|a| a.parse().ok()),
            "ping-restart" => self.ping_restart = args.first().and_then(|a| a.parse().ok()),
            _ => {}
        }
        self.options.push(opt.to_string());
        Ok(())
    }

    /// The option list as sent.
    pub fn options_text(&self) -> String {
        self.options.join(",")
    }

    /// Drop pushed DNS servers (client `use-peer-dns=no`): the `dhcp-option DNS`/`DNS6`
    /// options and [`PushReply::dns`].
    pub fn strip_dns(&mut self) {
        self.dns.clear();
        self.options.retain(|o| {
            let mut w = o.split_whitespace();
            !(w.next() == Some("dhcp-option")
                && w.next().is_some_and(|a| {
                    a.eq_ignore_ascii_case("DNS") || a.eq_ignore_ascii_case("DNS6")
                }))
        });
    }

    /// Drop pushed routes (client `route-nopull`): ifconfig and the rest stay.
    pub fn strip_routes(&mut self) {
        self.routes.clear();
        self.routes_ipv6.clear();
        self.redirect_gateway = None;
        self.options.retain(|o| {
            let n = o.split_whitespace().next().unwrap_or("");
            !matches!(n, "route" | "route-ipv6" | "redirect-gateway")
        });
    }
}

/// Convert a RouterOS `push-routes` entry (`network/IP [netmask] [gateway] [metric]`) into
/// an OpenVPN `route` option.
pub fn route_option_from_routeros(entry: &str) -> Option<String> {
    let mut w = entry.split_whitespace();
    let first = w.next()?;
    let rest: Vec<&str> = w.collect();
    if let Some((net, len)) = first.split_once('/') {
        let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let mut s = format!("route {net} {}", Ipv4Addr::from(mask));
        for r in rest {
            s.push(' ');
            s.push_str(r);
        }
        Some(s)
    } else {
        let mut s = format!("route {first}");
        for r in rest {
            s.push(' ');
            s.push_str(r);
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_reply_round_trip() {
        let text = "PUSH_REPLY,route 192.168.102.0 255.255.255.0 192.168.109.1 9,redirect-gateway def1,dhcp-option DNS 10.0.0.1,ifconfig 192.168.77.2 255.255.255.0,peer-id 3,cipher AES-256-GCM,key-derivation tls-ekm,ping 10,ping-restart 60,topology subnet";
        let m = ControlMessage::parse(text).unwrap();
        let ControlMessage::PushReply(r) = &m else {
            panic!()
        };
        assert_eq!(r.peer_id, Some(3));
        assert_eq!(r.cipher, Some(Cipher::Aes256Gcm));
        assert!(r.tls_ekm);
        assert_eq!(r.routes[0].metric, Some(9));
        assert_eq!(r.dns, vec!["10.0.0.1"]);
        assert_eq!(r.ifconfig.unwrap().0, Ipv4Addr::new(192, 168, 77, 2));
        assert_eq!(m.to_text(), text);
        let mut r2 = r.clone();
        r2.strip_routes();
        assert!(r2.routes.is_empty() && r2.ifconfig.is_some());
        // OpenVPN 2.6 announces EKM through protocol-flags.
        let r3 =
            PushReply::parse_options("peer-id 0,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm")
                .unwrap();
        assert!(r3.tls_ekm);
        assert!(!r2.options_text().contains("route "));
    }

    #[test]
    fn routeros_push_routes() {
        assert_eq!(
            route_option_from_routeros("192.168.102.0 255.255.255.0 192.168.109.1 9").unwrap(),
            "route 192.168.102.0 255.255.255.0 192.168.109.1 9"
        );
        assert_eq!(
            route_option_from_routeros("10.1.0.0/16").unwrap(),
            "route 10.1.0.0 255.255.0.0"
        );
    }

    #[test]
    fn other_messages() {
        assert_eq!(
            ControlMessage::parse("AUTH_FAILED").unwrap(),
            ControlMessage::AuthFailed(None)
        );
        assert_eq!(
            ControlMessage::parse("RESTART,bye").unwrap(),
            ControlMessage::Restart(Some("bye".into()))
        );
        assert_eq!(ControlMessage::parse("EXIT").unwrap(), ControlMessage::Exit);
        assert!(ControlMessage::parse("PUSH_REPLY,peer-id x").is_err());
    }
}
