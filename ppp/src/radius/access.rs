//! Access-Request contents ([`AccessRequest`], [`Credentials`]) and the mapped reply
//! ([`Reply`]), with the bridge to the PPP host's external verdicts.

use super::crypto;
use super::wire::{attr, ms, Attribute, Packet, VendorAttribute};
use crate::aaa::{UserAttributes, Verdict};
use crate::config::AuthMethod;
use crate::event::{AuthProof, AuthRequest};
use crate::mschap::MsChapKeys;
use std::net::Ipv4Addr;
use std::time::Duration;
use zeroize::Zeroizing;

/// What proves the user's identity, as RADIUS carries it.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// PAP: User-Password, hidden with the secret (RFC 2865 s5.2).
    Pap {
        /// The clear-text password (at most 128 octets).
        password: Zeroizing<Vec<u8>>,
    },
    /// CHAP-MD5: CHAP-Password = ident | response, CHAP-Challenge (RFC 2865 s5.3, s5.40).
    Chap {
        /// CHAP identifier.
        ident: u8,
        /// The challenge sent to the peer.
        challenge: Vec<u8>,
        /// The peer's 16-octet response.
        response: [u8; 16],
    },
    /// MS-CHAPv1: MS-CHAP-Challenge (8) and MS-CHAP-Response (RFC 2548 s2.1.3, flags 1 = use
    /// the NT-Response).
    MsChap1 {
        /// CHAP identifier.
        ident: u8,
        /// The challenge sent to the peer.
        challenge: [u8; 8],
        /// The NT-Response.
        nt_response: [u8; 24],
    },
    /// MS-CHAPv2: MS-CHAP-Challenge (16) and MS-CHAP2-Response (RFC 2548 s2.3.2).
    MsChap2 {
        /// CHAP identifier.
        ident: u8,
        /// The authenticator challenge sent to the peer.
        auth_challenge: [u8; 16],
        /// The peer challenge.
        peer_challenge: [u8; 16],
        /// The NT-Response.
        nt_response: [u8; 24],
    },
    /// EAP pass-through: the peer's EAP packet in EAP-Message attributes, with a
    /// Message-Authenticator (RFC 3579 s3.1, s3.2), plus State from a previous Challenge.
    Eap {
        /// The EAP packet.
        message: Vec<u8>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Pap { .. } => "Pap{..}",
            Credentials::Chap { .. } => "Chap{..}",
            Credentials::MsChap1 { .. } => "MsChap1{..}",
            Credentials::MsChap2 { .. } => "MsChap2{..}",
            Credentials::Eap { .. } => "Eap{..}",
        })
    }
}

/// An Access-Request to send: who, with what proof, and the NAS context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// User-Name.
    pub user: String,
    /// The proof.
    pub credentials: Credentials,
    /// Calling-Station-Id (the caller id of the transport: MAC, IP).
    pub calling_station_id: Option<String>,
    /// Called-Station-Id.
    pub called_station_id: Option<String>,
    /// NAS-Port-Id.
    pub nas_port_id: Option<String>,
    /// NAS-Port-Type (RFC 2865 s5.41: 5 Virtual, 15 Ethernet, ...).
    pub nas_port_type: Option<u32>,
    /// State from an Access-Challenge, echoed back (RFC 2865 s5.24).
    pub state: Option<Vec<u8>>,
    /// Further attributes, appended as given.
    pub extra: Vec<Attribute>,
}

impl AccessRequest {
    /// A request with only a user and credentials.
    pub fn new(user: impl Into<String>, credentials: Credentials) -> Self {
        AccessRequest {
            user: user.into(),
            credentials,
            calling_station_id: None,
            called_station_id: None,
            nas_port_id: None,
            nas_port_type: None,
            state: None,
            extra: Vec::new(),
        }
    }

    /// The request for a PPP server's [`AuthRequest`] (what the host reports in
    /// [`crate::host::ServerEvent::AuthRequest`]).
    pub fn from_ppp(req: &AuthRequest, calling_station_id: Option<&str>) -> Self {
        let credentials = match &req.proof {
            AuthProof::Pap { password } => Credentials::Pap {
                password: Zeroizing::new(password.clone()),
            },
            AuthProof::Chap {
                id,
                challenge,
                response,
            } => {
                let mut r = [0u8; 16];
                let n = response.len().min(16);
                r[..n].copy_from_slice(&response[..n]);
                Credentials::Chap {
                    ident: *id,
                    challenge: challenge.clone(),
                    response: r,
                }
            }
            AuthProof::MsChap1 {
                challenge,
                nt_response,
            } => Credentials::MsChap1 {
                ident: 0,
                challenge: *challenge,
                nt_response: *nt_response,
            },
            AuthProof::MsChap2 {
                auth_challenge,
                peer_challenge,
                nt_response,
            } => Credentials::MsChap2 {
                ident: 0,
                auth_challenge: *auth_challenge,
                peer_challenge: *peer_challenge,
                nt_response: *nt_response,
            },
        };
        let mut r = AccessRequest::new(req.user.clone(), credentials);
        r.calling_station_id = calling_station_id.map(str::to_string);
        // Framed / PPP (RFC 2865 s5.6, s5.7).
        r.extra.push(Attribute::u32(attr::SERVICE_TYPE, 2));
        r.extra.push(Attribute::u32(attr::FRAMED_PROTOCOL, 1));
        r
    }

    /// The attributes for a server with `secret` and the request's `authenticator`
    /// (User-Password is hidden with both). A Message-Authenticator placeholder is included
    /// for EAP, and when `message_authenticator` asks for it.
    pub(crate) fn attributes(
        &self,
        secret: &[u8],
        authenticator: &[u8; 16],
        message_authenticator: bool,
    ) -> Result<Vec<Attribute>, super::wire::BuildError> {
        let mut a = vec![Attribute::new(attr::USER_NAME, self.user.as_bytes())];
        let mut ma = message_authenticator;
        match &self.credentials {
            Credentials::Pap { password } => {
                let hidden = crypto::hide_password(secret, authenticator, password)?;
                a.push(Attribute::new(attr::USER_PASSWORD, hidden));
            }
            Credentials::Chap {
                ident,
                challenge,
                response,
            } => {
                let mut v = vec![*ident];
                v.extend_from_slice(response);
                a.push(Attribute::new(attr::CHAP_PASSWORD, v));
                a.push(Attribute::new(attr::CHAP_CHALLENGE, challenge.clone()));
            }
            Credentials::MsChap1 {
                ident,
                challenge,
                nt_response,
            } => {
                a.push(Attribute::vendor(
                    ms::VENDOR_ID,
                    ms::CHAP_CHALLENGE,
                    challenge,
                ));
                let mut v = vec![*ident, 1];
                v.extend_from_slice(&[0u8; 24]);
                v.extend_from_slice(nt_response);
                a.push(Attribute::vendor(ms::VENDOR_ID, ms::CHAP_RESPONSE, &v));
            }
            Credentials::MsChap2 {
                ident,
                auth_challenge,
                peer_challenge,
                nt_response,
            } => {
                a.push(Attribute::vendor(
                    ms::VENDOR_ID,
                    ms::CHAP_CHALLENGE,
                    auth_challenge,
                ));
                let mut v = vec![*ident, 0];
                v.extend_from_slice(peer_challenge);
                v.extend_from_slice(&[0u8; 8]);
                v.extend_from_slice(nt_response);
                a.push(Attribute::vendor(ms::VENDOR_ID, ms::CHAP2_RESPONSE, &v));
            }
            Credentials::Eap { message } => {
                let mut p = Packet::new(super::wire::Code::AccessRequest, 0, [0; 16]);
                p.push_eap_message(message);
                a.extend(p.attributes);
                ma = true;
            }
        }
        if let Some(s) = &self.calling_station_id {
            a.push(Attribute::new(attr::CALLING_STATION_ID, s.as_bytes()));
        }
        if let Some(s) = &self.called_station_id {
            a.push(Attribute::new(attr::CALLED_STATION_ID, s.as_bytes()));
        }
        if let Some(s) = &self.nas_port_id {
            a.push(Attribute::new(attr::NAS_PORT_ID, s.as_bytes()));
        }
        if let Some(t) = self.nas_port_type {
            a.push(Attribute::u32(attr::NAS_PORT_TYPE, t));
        }
        if let Some(s) = &self.state {
            a.push(Attribute::new(attr::STATE, s.clone()));
        }
        a.extend(self.extra.iter().cloned());
        if ma {
            a.push(Attribute::new(attr::MESSAGE_AUTHENTICATOR, [0u8; 16]));
        }
        Ok(a)
    }
}

/// A reply mapped onto what a session needs. Every attribute also stays in `attributes`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Framed-IP-Address (8): the peer's address.
    pub framed_ip_address: Option<Ipv4Addr>,
    /// Framed-Pool (88): the `/ip pool` to take the peer's address from.
    pub framed_pool: Option<String>,
    /// Session-Timeout (27).
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout (28).
    pub idle_timeout: Option<Duration>,
    /// Acct-Interim-Interval (85).
    pub acct_interim_interval: Option<Duration>,
    /// Class (25), every instance: echo them in accounting (RFC 2865 s5.25).
    pub class: Vec<Vec<u8>>,
    /// Reply-Message (18), concatenated.
    pub reply_message: Option<String>,
    /// State (24), to echo in the next Access-Request after a Challenge.
    pub state: Option<Vec<u8>>,
    /// EAP-Message (79), reassembled.
    pub eap_message: Option<Vec<u8>>,
    /// MS-CHAP2-Success (RFC 2548 s2.3.3): the 20-octet authenticator response from
    /// `S=<40 hex>`.
    pub ms_chap2_success: Option<[u8; 20]>,
    /// MS-CHAP-Error (RFC 2548 s2.1.5) text.
    pub ms_chap_error: Option<String>,
    /// MS-MPPE-Send-Key, decrypted: the key for NAS-to-peer traffic.
    pub mppe_send_key: Option<Zeroizing<Vec<u8>>>,
    /// MS-MPPE-Recv-Key, decrypted: the key for peer-to-NAS traffic.
    pub mppe_recv_key: Option<Zeroizing<Vec<u8>>>,
    /// Vendor sub-attributes not mapped above (every vendor but Microsoft's mapped ones).
    pub vendor: Vec<VendorAttribute>,
    /// The tunnels of RFC 2868 (Tunnel-Type, Tunnel-Server-Endpoint, Tunnel-Password, ...)
    /// grouped by tag, in tag order: where a LAC should send this user (see
    /// [`Reply::l2tp_tunnels`]).
    pub tunnels: Vec<TunnelAssignment>,
    /// Every attribute of the reply, raw, in order.
    pub attributes: Vec<Attribute>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("framed_ip_address", &self.framed_ip_address)
            .field("framed_pool", &self.framed_pool)
            .field("session_timeout", &self.session_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("acct_interim_interval", &self.acct_interim_interval)
            .field("reply_message", &self.reply_message)
            .field("mppe_keys", &self.mppe_send_key.is_some())
            .field("vendor", &self.vendor)
            .field("tunnels", &self.tunnels)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// Map a verified reply. MPPE keys are decrypted with `secret` and the request's
    /// authenticator; a key that does not decrypt is left out (and stays raw in
    /// `attributes`).
    pub fn from_packet(p: &Packet, secret: &[u8], request_authenticator: &[u8; 16]) -> Reply {
        let mut r = Reply {
            framed_ip_address: p.framed_ip_address(),
            framed_pool: p.get_text(attr::FRAMED_POOL),
            session_timeout: p.get_seconds(attr::SESSION_TIMEOUT),
            idle_timeout: p.get_seconds(attr::IDLE_TIMEOUT),
            acct_interim_interval: p.get_seconds(attr::ACCT_INTERIM_INTERVAL),
            class: p.all(attr::CLASS).map(|a| a.value.clone()).collect(),
            reply_message: p.reply_message(),
            state: p.get(attr::STATE).map(|a| a.value.clone()),
            eap_message: p.eap_message(),
            attributes: p.attributes.clone(),
            ..Reply::default()
        };
        r.tunnels = TunnelAssignment::from_packet(p, secret, request_authenticator);
        for v in p.vendor_attributes() {
            if v.vendor_id != ms::VENDOR_ID {
                r.vendor.push(v);
                continue;
            }
            match v.vendor_type {
                ms::CHAP2_SUCCESS if v.value.len() > 1 => {
                    r.ms_chap2_success = crate::mschap::parse_success(&v.value[1..]);
                }
                ms::CHAP_ERROR if !v.value.is_empty() => {
                    r.ms_chap_error = Some(String::from_utf8_lossy(&v.value[1..]).into_owned());
                }
                ms::MPPE_SEND_KEY => {
                    r.mppe_send_key =
                        crypto::mppe_key_decrypt(secret, request_authenticator, &v.value)
                            .map(Zeroizing::new);
                }
                ms::MPPE_RECV_KEY => {
                    r.mppe_recv_key =
                        crypto::mppe_key_decrypt(secret, request_authenticator, &v.value)
                            .map(Zeroizing::new);
                }
                _ => r.vendor.push(v),
            }
        }
        r
    }

    /// The L2TP tunnels of the reply (Tunnel-Type L2TP, 3), most preferred first
    /// (Tunnel-Preference, lower first; untagged preference last), for a LAC's realm decision
    /// (RouterOS: the LAC "decides by realm locally or using RADIUS").
    pub fn l2tp_tunnels(&self) -> Vec<&TunnelAssignment> {
        let mut v: Vec<&TunnelAssignment> = self
            .tunnels
            .iter()
            .filter(|t| t.tunnel_type == Some(TunnelAssignment::TYPE_L2TP))
            .collect();
        v.sort_by_key(|t| t.preference.unwrap_or(u32::MAX));
        v
    }

    /// The peer's address to use: Framed-IP-Address, unless it lies in 127.0.0.0/8 or
    /// 224.0.0.0/3. RouterOS then allocates from the default profile's pool (which also
    /// covers RFC 2865 s5.8's 255.255.255.254 "NAS selects" and 255.255.255.255 "user
    /// selects").
    pub fn framed_address(&self) -> Option<Ipv4Addr> {
        self.framed_ip_address
            .filter(|a| a.octets()[0] != 127 && a.octets()[0] < 224)
    }

    /// The text to show a refused peer: Reply-Message, else the `M=` part of MS-CHAP-Error
    /// (the PPP session writes its own `E=691 R= C= V=3` around it), else empty.
    pub fn refusal_message(&self) -> String {
        if let Some(m) = &self.reply_message {
            return m.clone();
        }
        self.ms_chap_error
            .as_deref()
            .and_then(|e| e.split_once("M=").map(|(_, m)| m.to_string()))
            .unwrap_or_default()
    }

    /// The session attributes of this reply (Framed-Pool has no slot in
    /// [`UserAttributes`]: allocate from it before answering, see the module docs).
    pub fn user_attributes(&self) -> UserAttributes {
        UserAttributes {
            remote_address: self.framed_address(),
            session_timeout: self.session_timeout,
            idle_timeout: self.idle_timeout,
            interim_interval: self.acct_interim_interval,
            ..UserAttributes::default()
        }
    }

    /// The PPP host's verdict for an Access-Accept: attributes, the MS-CHAPv2 authenticator
    /// response and the MPPE keys (16-octet send/recv keys; `master_key` and
    /// `password_hash_hash` are unknown to a NAS and left zero).
    pub fn to_verdict(&self, method: AuthMethod) -> Verdict {
        let keys = match (&self.mppe_send_key, &self.mppe_recv_key) {
            (Some(s), Some(r)) if s.len() >= 16 && r.len() >= 16 => {
                let mut k = MsChapKeys {
                    master_key: [0; 16],
                    send_key: [0; 16],
                    recv_key: [0; 16],
                    password_hash_hash: [0; 16],
                };
                k.send_key.copy_from_slice(&s[..16]);
                k.recv_key.copy_from_slice(&r[..16]);
                Some(Box::new(k))
            }
            _ => None,
        };
        Verdict::Accept {
            attributes: self.user_attributes(),
            authenticator_response: if method == AuthMethod::MsChap2 {
                self.ms_chap2_success
            } else {
                None
            },
            keys,
        }
    }
}

/// Puts one attribute's value into its tunnel.
type SetTunnelField = Box<dyn FnOnce(&mut TunnelAssignment)>;

/// One tunnel of a reply (RFC 2868): the attributes sharing a tag.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TunnelAssignment {
    /// The tag (0 = untagged; 1..=0x1F group the attributes of one tunnel).
    pub tag: u8,
    /// Tunnel-Type (64): 3 = L2TP, 1 = PPTP, ... (RFC 2868 s3.1).
    pub tunnel_type: Option<u32>,
    /// Tunnel-Medium-Type (65): 1 = IPv4, 2 = IPv6.
    pub medium_type: Option<u32>,
    /// Tunnel-Client-Endpoint (66): the LAC's address.
    pub client_endpoint: Option<String>,
    /// Tunnel-Server-Endpoint (67): the LNS's address (a dotted address or a name).
    pub server_endpoint: Option<String>,
    /// Tunnel-Password (69), decrypted: the L2TP tunnel secret.
    pub password: Option<Zeroizing<Vec<u8>>>,
    /// Tunnel-Assignment-Id (82).
    pub assignment_id: Option<String>,
    /// Tunnel-Preference (83): lower is preferred.
    pub preference: Option<u32>,
    /// Tunnel-Client-Auth-ID (90): the host name the LAC gives in SCCRQ.
    pub client_auth_id: Option<String>,
    /// Tunnel-Server-Auth-ID (91): the LNS's expected host name.
    pub server_auth_id: Option<String>,
}

impl std::fmt::Debug for TunnelAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelAssignment")
            .field("tag", &self.tag)
            .field("tunnel_type", &self.tunnel_type)
            .field("medium_type", &self.medium_type)
            .field("server_endpoint", &self.server_endpoint)
            .field("password", &self.password.is_some())
            .field("preference", &self.preference)
            .finish_non_exhaustive()
    }
}

impl TunnelAssignment {
    /// Tunnel-Type L2TP.
    pub const TYPE_L2TP: u32 = 3;

    fn from_packet(p: &Packet, secret: &[u8], ra: &[u8; 16]) -> Vec<TunnelAssignment> {
        let mut out: Vec<TunnelAssignment> = Vec::new();
        for a in &p.attributes {
            let v = &a.value;
            // Integers: a tag octet, then 24 bits. Strings: an optional tag (0x01..=0x1F).
            let int = || (v.len() == 4).then(|| (v[0], u32::from_be_bytes([0, v[1], v[2], v[3]])));
            let text = || match v.first() {
                Some(&t) if t <= 0x1F => (t, String::from_utf8_lossy(&v[1..]).into_owned()),
                _ => (0, String::from_utf8_lossy(v).into_owned()),
            };
            let (tag, set): (u8, SetTunnelField) = match a.typ {
                attr::TUNNEL_TYPE => match int() {
                    Some((t, n)) => (t, Box::new(move |x| x.tunnel_type = Some(n))),
                    None => continue,
                },
                attr::TUNNEL_MEDIUM_TYPE => match int() {
                    Some((t, n)) => (t, Box::new(move |x| x.medium_type = Some(n))),
                    None => continue,
                },
                attr::TUNNEL_PREFERENCE => match int() {
                    Some((t, n)) => (t, Box::new(move |x| x.preference = Some(n))),
                    None => continue,
                },
                attr::TUNNEL_PASSWORD => {
                    // Tag, then Salt | ciphertext as in RFC 2548 s2.4.2 (RFC 2868 s3.5).
                    let Some((&t, rest)) = v.split_first() else {
                        continue;
                    };
                    match crypto::mppe_key_decrypt(secret, ra, rest) {
                        Some(pw) => (t, Box::new(move |x| x.password = Some(Zeroizing::new(pw)))),
                        None => continue,
                    }
                }
                attr::TUNNEL_CLIENT_ENDPOINT => {
                    let (t, s) = text();
                    (t, Box::new(move |x| x.client_endpoint = Some(s)))
                }
                attr::TUNNEL_SERVER_ENDPOINT => {
                    let (t, s) = text();
                    (t, Box::new(move |x| x.server_endpoint = Some(s)))
                }
                attr::TUNNEL_ASSIGNMENT_ID => {
                    let (t, s) = text();
                    (t, Box::new(move |x| x.assignment_id = Some(s)))
                }
                attr::TUNNEL_CLIENT_AUTH_ID => {
                    let (t, s) = text();
                    (t, Box::new(move |x| x.client_auth_id = Some(s)))
                }
                attr::TUNNEL_SERVER_AUTH_ID => {
                    let (t, s) = text();
                    (t, Box::new(move |x| x.server_auth_id = Some(s)))
                }
                _ => continue,
            };
            // A tag above 0x1F is not a tag (RFC 2868 s3): such an attribute is untagged.
            let tag = if tag > 0x1F { 0 } else { tag };
            let i = match out.iter().position(|x| x.tag == tag) {
                Some(i) => i,
                None => {
                    out.push(TunnelAssignment {
                        tag,
                        ..TunnelAssignment::default()
                    });
                    out.len() - 1
                }
            };
            set(&mut out[i]);
        }
        out.sort_by_key(|t| t.tag);
        out
    }
}
