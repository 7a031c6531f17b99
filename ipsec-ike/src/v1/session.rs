//! A sans-IO IKEv1 session: main or aggressive mode with a pre-shared key, then one quick
//! mode creating an ESP SA pair (tunnel or transport mode, optional PFS), both roles; with NAT traversal,
//! dead peer detection, deletes, XAuth and mode config (sections below).
//!
//! The caller feeds datagrams ([`Session::handle_datagram`]) and timer expiries
//! ([`Session::handle_timeout`]) with the current `now`, sends what
//! [`Session::poll_transmit`] returns, arms a timer for [`Session::poll_timeout`] and reads
//! [`Session::poll_event`]. The RNG (cookies, nonces, DH secrets, the quick mode M-ID) is the
//! caller's.
//!
//! Retransmission (RFC 2408 leaves it to the implementation): the side that sent the latest
//! message of an exchange and waits for an answer resends the same bytes after
//! `retransmit_timeout`, then after twice that, four times, ... (doubling), and gives up after
//! `retransmit_tries` resends. The initiator waits on main mode 1, 3, 5 (aggressive mode 1)
//! and quick mode 1; the responder waits on aggressive mode 2 and quick mode 2, whose answers
//! (HASH_I, HASH(3)) end their exchanges. A message received twice is answered with the same
//! bytes as the first time (the responder replays main mode 2, 4, 6; the initiator replays
//! aggressive mode 3 and quick mode 3 when message 2 comes again), so a lost final message is
//! repaired by the peer's retransmission.
//!
//! ```text
//!  initiator                                           responder
//!  MainSent1 --M1 SA-->                      (M1) -->  --M2 SA--> MainSent2
//!  (M2) --M3 KE,Ni,--> MainSent3             (M3) -->  --M4 KE,Nr--> MainSent4
//!  (M4) keys, --M5* IDii,HASH_I--> MainSent5 (M5) -->  check HASH_I --M6* IDir,HASH_R-->
//!  (M6) check HASH_R: Phase1Up                          Phase1Up, QuickWait
//!  --Q1* HASH(1),SA,Ni,IDci,IDcr--> QuickSent1 (Q1) --> --Q2* HASH(2),SA,Nr,IDci,IDcr-->
//!  (Q2) --Q3* HASH(3)--> ChildUp                (Q3) --> ChildUp
//!
//!  aggressive (both configured with `aggressive`):
//!  Aggr1 --A1 SA,KE,Ni,IDii-->               (A1) -->  keys --A2 SA,KE,Nr,IDir,HASH_R--> Aggr1
//!  (A2) keys, check HASH_R: Phase1Up --A3* HASH_I-->    (A3) check HASH_I: Phase1Up
//!  then quick mode 1 at once, as above
//! ```
//!
//! With `pfs_group` set, quick mode 1 and 2 also carry KE and KEYMAT mixes in the new
//! g^xy.
//!
//! # NAT traversal (RFC 3947 / RFC 3948)
//!
//! A NAT rewrites the source address and port of the IKE datagrams, and it cannot rewrite
//! ESP (no ports). NAT-T finds out whether a NAT is in the path and, if so, moves IKE and
//! ESP into UDP port 4500, where the two share one NAT mapping:
//!
//! 1. **Vendor ID.** With `nat_traversal` (RouterOS `nat-traversal=yes`) the first message
//!    of each side carries the RFC 3947 vendor ID ([`VID_RFC3947`], MD5 of "RFC 3947"); the
//!    responder echoes it only if the initiator sent it. Without both, nothing below happens.
//! 2. **NAT-D.** Main mode messages 3 and 4 (aggressive mode 2 and 3) carry two NAT-D
//!    payloads: first `HASH(CKY-I | CKY-R | IP | port)` ([`nat_d`], the negotiated hash) of
//!    the *destination* as the sender addressed it, then of the sender's own address. The
//!    receiver compares the first with its own address (`local_addr`): a mismatch means *we*
//!    are behind a NAT; and the others with the sender's address as seen (`remote_addr`):
//!    no match means the *peer* is behind a NAT ([`NatState`]).
//! 3. **Float.** If either is true (or `force_encap`, which sends a decoy hash of our own
//!    address, like strongSwan's `encap=yes`: the capture's libipsec peers do exactly this),
//!    the initiator sends main mode 5 (aggressive 3) and everything after it from 4500 to
//!    4500, each IKE message behind four zero bytes, the *non-ESP marker*, which tells it
//!    apart from ESP-in-UDP (whose SPI is never 0). The responder follows when a message
//!    arrives on 4500. [`Transmit`] carries the ports; [`Session::handle_datagram`] takes
//!    the port it arrived on and strips the marker.
//! 4. **Quick mode** then proposes encapsulation mode UDP-Encapsulated-Tunnel (3), or with
//!    `transport` UDP-Encapsulated-Transport (4); the draft values 61443 / 61444 some peers
//!    send are accepted as 3 / 4. [`ChildKeys::udp_encap`] tells the ESP layer to wrap
//!    packets in UDP 4500 (RFC 3948). In transport mode both quick mode messages also carry
//!    NAT-OAi and NAT-OAr, the original addresses of initiator and responder: the receiver
//!    needs the peer's ([`ChildKeys::peer_original`]) to fix TCP/UDP checksums the NAT
//!    invalidated.
//! 5. **Keepalive.** The side behind the NAT (or forcing encapsulation) sends a single 0xFF
//!    byte to 4500 every `keepalive_interval` (20 s) so the NAT keeps the mapping.
//!
//! # Dead peer detection (RFC 3706) and deletes
//!
//! IKEv1 has no request/response liveness of its own. With `dpd_interval` set (RouterOS
//! `dpd-interval`, 8 s) both first messages carry the DPD vendor ID ([`VID_DPD`]); if the
//! peer sent it too, then after phase 1, whenever `dpd_interval` passes without any
//! authenticated message from the peer, we send an informational exchange
//! `HDR*, HASH(1), N(R-U-THERE, SPI = CKY-I|CKY-R, data = sequence number)` with a fresh
//! sequence number; the peer answers `N(R-U-THERE-ACK)` with the same number. Every
//! authenticated message resets the count; the next probe follows an interval after an
//! unanswered one, and one interval after the `dpd_maximum_failures`-th unanswered probe
//! (RouterOS `dpd-maximum-failures`, 4) the session closes with [`SessionEvent::PeerDead`]:
//! with the defaults, probes at +8, +16, +24, +32 s and death at +40 s.
//!
//! Informational messages have their own random M-ID, their own IV
//! (`hash(last phase-1 block | M-ID)`) and `HASH(1) = prf(SKEYID_a, M-ID | payloads)`; one
//! that fails the hash is dropped. [`Session::close_and_delete`] sends a Delete for the ESP SA
//! (our inbound SPI) and one for the ISAKMP SA (the cookies); a received Delete yields
//! [`SessionEvent::ChildDeleted`] or [`SessionEvent::Deleted`] (which closes the session).
//!
//! # XAuth and mode config (transaction exchange 6)
//!
//! Remote-access clients authenticate the *user* after phase 1 (XAuth,
//! draft-ietf-ipsec-isakmp-xauth) and receive an inner address (mode config,
//! draft-dukes-ike-mode-cfg), both in transaction exchanges `HDR*, HASH, ATTR` whose
//! `HASH = prf(SKEYID_a, M-ID | ATTR)`, each with its own M-ID and IV chain (like quick
//! mode), and an ATTR payload of type REQUEST/REPLY or SET/ACK with an identifier:
//!
//! ```text
//!  server (responder, xauth_server)              client (initiator, xauth_client)
//!  --REQUEST(XAUTH_TYPE, USER_NAME, PASSWORD)-->
//!                                                <--REPLY(USER_NAME=u, PASSWORD=p)--
//!  event XAuthRequest; caller: xauth_verdict(ok)
//!  --SET(XAUTH_STATUS=1|0)-->                     event XAuthStatus
//!                                                <--ACK(XAUTH_STATUS)--
//!  FAIL: Delete(ISAKMP SA), Failed               (client: Deleted)
//!  OK, pull:                                     <--REQUEST(IP4_ADDRESS, NETMASK, DNS,
//!                                                            UNITY_SPLIT_INCLUDE)--
//!  --REPLY(10.9.0.2, 255.255.255.0, DNS, split)--> event ModeConfig
//!  OK, push (mode_config_push):
//!  --SET(attributes)-->                          <--ACK--, event ModeConfig
//!                                                then quick mode with the address as IDci
//! ```
//!
//! The side that starts a transaction retransmits it like any other message until the
//! answer comes; the answering side replays its answer when the same request comes again.
//! The server accepts no quick mode before all of this is done. A rejected client waits
//! for the Delete (if that is lost it waits for ever: the caller's own timeout applies).
//!
//! Not covered here: signatures, XAuth types other than generic user/password (no
//! CHAP/OTP/next PIN), NAT-T draft vendor IDs (only the RFC 3947 one is sent and recognised),
//! rekeying of the ISAKMP SA itself (phase 1 lives as long as the session), and
//! notifications other than DPD, Delete and RESPONDER-LIFETIME
//! (INITIAL-CONTACT, errors): an
//! unacceptable proposal or a wrong hash fails the session with [`SessionEvent::Failed`] and
//! sends nothing. Both sides must be configured
//! alike: each offers exactly one proposal and accepts only its own, lifetime attributes
//! aside.
//!
//! ## Phase-2 rekeying
//!
//! Each ESP pair lives for the negotiated lifetime ([`ChildKeys::lifetime`]). The initiator
//! runs quick mode again at 9/10 of it (RFC 2409 leaves the margin to the implementation;
//! strongSwan's default is similar), on the same ISAKMP SA with a fresh message ID, new SPIs
//! and nonces (and a new DH exchange with PFS). The successor comes as another
//! [`SessionEvent::ChildUp`]; the initiator then retires the old pair
//! ([`SessionEvent::ChildExpired`]) and sends a Delete for it after its quick mode 3, so the
//! responder has the successor first. The responder keeps the old pair for what is still in
//! flight until that Delete ([`SessionEvent::ChildDeleted`]) or 1/10 of the lifetime. A pair
//! that reaches its hard lifetime with no successor is retired with a Delete
//! ([`SessionEvent::ChildExpired`]). A late duplicate of a finished quick mode is not taken
//! for a new one (the last 8 message IDs are remembered).
//!
//! ```text
//!  initiator                                       responder
//!  t = up + 0.9 lifetime: --Q1* (new M-ID)-->
//!                                                <--Q2*--
//!  --Q3*--> ChildUp(new), ChildExpired(old)       ChildUp(new)
//!  --INFO* Delete(old spi_in)-->                  ChildDeleted(old)
//! ```
//!
//! ## Phase-2 lifetimes and `proposal-check`
//!
//! The quick mode ESP transform may carry SA Life Type (1 = seconds) and SA Life Duration
//! attributes ([`SessionConfig::esp_lifetime`]; an SA without them lasts 28800 s, RFC 2407
//! section 4.5). The responder judges the offer with RouterOS's `proposal-check`
//! ([`ProposalCheck`]) and echoes the transform as offered; with `claim` and a shorter
//! lifetime of its own it adds a RESPONDER-LIFETIME notification (RFC 2407 section
//! 4.6.3.1) to quick mode message 2, which the initiator obeys:
//!
//! ```text
//!  I -> R  HDR*, HASH(1), SA[.. LifeType=seconds LifeDuration=3600 ..], Ni, IDci, IDcr
//!          responder: ours 1800 s, claim -> take 1800
//!  R -> I  HDR*, HASH(2), SA[as offered], Nr, IDci, IDcr, N(RESPONDER-LIFETIME: 1800 s)
//!          both ChildKeys::lifetime = 1800 s
//!  obey: take the offer; exact: refuse unless equal; strict: refuse a longer offer
//!  (refusal = SessionEvent::Failed("phase-2 lifetime refused by proposal-check"))
//! ```

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::crypto as v1c;
use super::wire::*;
use crate::crypto::{Cipher, Encr, Group, KeyPair, Prf};
use crate::error::{ConfigError, Error};

/// IPsec DOI numbers used here (RFC 2407).
const PROTO_ISAKMP: u8 = ProtocolId::ISAKMP.0;
const PROTO_ESP: u8 = ProtocolId::ESP.0;
const KEY_IKE: u8 = 1;
const ESP_AES: u8 = EspTransform::AES.0;
const AUTH_HMAC_SHA1: u16 = 2;
const ENCAP_TUNNEL: u16 = 1;
/// UDP-Encapsulated-Tunnel (RFC 3947 section 5.1).
const ENCAP_UDP_TUNNEL: u16 = 3;
/// The value draft-ietf-ipsec-nat-t-ike-00..03 used for UDP-Encapsulated-Tunnel (strongSwan
/// sends it when the peer announced only a draft vendor ID); accepted as 3.
const ENCAP_UDP_TUNNEL_DRAFT: u16 = 61443;
/// Transport mode (RFC 2407).
const ENCAP_TRANSPORT: u16 = 2;
/// UDP-Encapsulated-Transport (RFC 3947 section 5.1).
const ENCAP_UDP_TRANSPORT: u16 = 4;
/// The draft value for UDP-Encapsulated-Transport; accepted as 4.
const ENCAP_UDP_TRANSPORT_DRAFT: u16 = 61444;
/// The RFC 3947 vendor ID: MD5("RFC 3947").
pub const VID_RFC3947: [u8; 16] = [
    0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
];
/// The DPD vendor ID (RFC 3706 section 5.1): `AFCAD71368A1F1C96B8696FC7757` then major 1,
/// minor 0.
pub const VID_DPD: [u8; 16] = [
    0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00,
];
/// The IKE port.
pub const PORT_IKE: u16 = 500;
/// The NAT-T port (RFC 3948): IKE with the 4-byte non-ESP marker, ESP in UDP, keepalives.
pub const PORT_NATT: u16 = 4500;
/// The NAT-keepalive datagram (RFC 3948 section 2.3).
pub const NAT_KEEPALIVE: [u8; 1] = [0xff];
const ATTR_ENCAPSULATION_MODE: u16 = IpsecAttr::ENCAPSULATION_MODE.0;
const ATTR_AUTH_ALGORITHM: u16 = IpsecAttr::AUTH_ALGORITHM.0;
const ATTR_KEY_LENGTH: u16 = IpsecAttr::KEY_LENGTH.0;
const ATTR_GROUP_DESCRIPTION: u16 = IpsecAttr::GROUP_DESCRIPTION.0;

/// The session's configuration.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The pre-shared key (RouterOS `/ip ipsec identity secret`).
    pub psk: Vec<u8>,
    /// Our phase-1 identity (RouterOS `my-id`, default: our address).
    pub local_id: Identity,
    /// Phase-1 encryption (RouterOS profile `enc-algorithm`, default aes-128; AES-CBC and
    /// 3DES here).
    pub encr: Encr,
    /// Phase-1 hash / PRF (profile `hash-algorithm`, default sha1; HMAC-SHA1/-SHA2).
    pub prf: Prf,
    /// DH group (profile `dh-group`, default modp2048,modp1024; one group here).
    pub group: Group,
    /// Phase-2 traffic: our side (policy `src-address`).
    pub local_ts: Identity,
    /// Phase-2 traffic: the peer's side (policy `dst-address`).
    pub remote_ts: Identity,
    /// Phase-2 AES-CBC key length in bytes (proposal `enc-algorithms`, default aes-256-cbc;
    /// the integrity is HMAC-SHA1-96, proposal `auth-algorithms` default sha1).
    pub esp_key_len: usize,
    /// Aggressive mode instead of main mode (peer `exchange-mode`: RouterOS default `main`;
    /// `aggressive` sends the identities in the clear in three messages).
    pub aggressive: bool,
    /// Quick mode PFS group (proposal `pfs-group`; RouterOS default modp1024, here `None`:
    /// no KE in quick mode, KEYMAT from SKEYID_d and the nonces only).
    pub pfs_group: Option<Group>,
    /// First retransmission timeout (not a RouterOS property; default 2 s, doubling).
    pub retransmit_timeout: Duration,
    /// Resends before giving up (not a RouterOS property; default 4).
    pub retransmit_tries: u32,
    /// NAT traversal, RFC 3947/3948 (RouterOS profile `nat-traversal`, default yes): send
    /// the RFC 3947 vendor ID, NAT-D payloads, move to UDP 4500 when a NAT is found.
    pub nat_traversal: bool,
    /// Our address and IKE port as the peer should see them (RouterOS peer `local-address`;
    /// default 0.0.0.0:500). Hashed into our NAT-D payloads.
    pub local_addr: SocketAddr,
    /// The peer's address and port as we see them (RouterOS peer `address`; default
    /// 0.0.0.0:500). Hashed into our NAT-D payloads and checked against the peer's.
    pub remote_addr: SocketAddr,
    /// Forced UDP encapsulation (not a RouterOS property; like strongSwan `encap = yes`;
    /// default false): our own NAT-D is deliberately wrong, so the peer believes we are
    /// behind a NAT and both sides move to 4500.
    pub force_encap: bool,
    /// NAT keepalive interval when we are behind a NAT (or force encapsulation): one 0xFF
    /// byte on 4500 (not a RouterOS property; RouterOS and strongSwan send every 20 s).
    pub keepalive_interval: Duration,
    /// Dead peer detection interval (RouterOS profile `dpd-interval`, default 8 s;
    /// `disable-dpd` is `None`). After this long without any valid message from the peer we
    /// send an R-U-THERE; each unanswered probe is followed by the next one an interval
    /// later.
    pub dpd_interval: Option<Duration>,
    /// Unanswered R-U-THEREs before the peer is declared dead (RouterOS profile
    /// `dpd-maximum-failures`, default 4): the SA dies one interval after the last probe.
    pub dpd_maximum_failures: u32,
    /// XAuth client credentials (RouterOS identity `auth-method=pre-shared-key-xauth` with
    /// `username` / `password`; default `None`): answered when the server asks.
    pub xauth_client: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
    /// XAuth server (RouterOS responder identity `auth-method=pre-shared-key-xauth`, users in
    /// `/ip ipsec user`; default false): after phase 1 ask the user name and password and let
    /// the caller judge them ([`SessionEvent::XAuthRequest`], [`Session::xauth_verdict`]).
    pub xauth_server: bool,
    /// Mode config client (RouterOS identity `mode-config=request-only`; default false):
    /// take an address (and DNS, split networks) from the server before quick mode, and use
    /// it as our quick mode traffic selector.
    pub mode_config_client: bool,
    /// Mode config server (RouterOS identity `mode-config=<name>` of a `/ip ipsec
    /// mode-config` with `responder=yes`; default `None`): what we hand out.
    pub mode_config_server: Option<ModeConfig>,
    /// Push mode config (server SET, client ACK) instead of pull (client REQUEST, server
    /// REPLY). Not a RouterOS property (RouterOS picks by peer); default false: pull, which
    /// is what RouterOS and Unity clients do. Both sides must agree.
    pub mode_config_push: bool,
    /// Transport mode instead of tunnel mode (RouterOS policy `tunnel=no`, the default for
    /// policies; here default false = tunnel, as the original session). With NAT-T floated,
    /// UDP-Encapsulated-Transport (4) and NAT-OA payloads carrying the original addresses.
    pub transport: bool,
    /// Phase-2 lifetime in seconds we propose (initiator) and check offers against
    /// (responder) (RouterOS proposal `lifetime`, default 30m there). Default here `None`: no
    /// SA Life Type/Duration attributes are sent, which RFC 2407 section 4.5 reads as 28800 s
    /// (8 h), and the responder checks offers against those 28800 s.
    pub esp_lifetime: Option<Duration>,
    /// How the responder judges the initiator's phase-2 lifetime (RouterOS peer/profile
    /// `proposal-check`, default obey); see [`ProposalCheck`].
    pub proposal_check: ProposalCheck,
}

/// The responder's phase-2 lifetime check (RouterOS `proposal-check`, seed 003 L1314-1319).
/// "Ours" is [`SessionConfig::esp_lifetime`] (28800 s when `None`), "offered" the
/// initiator's SA Life Duration in seconds (28800 s when it sends none, RFC 2407 4.5).
/// Kilobyte lifetimes are not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProposalCheck {
    /// Take the shorter of offered and ours; when ours is shorter, tell the initiator with a
    /// RESPONDER-LIFETIME notification (RFC 2407 section 4.6.3.1) in quick mode message 2.
    Claim,
    /// Refuse unless offered == ours.
    Exact,
    /// Accept whatever the initiator offers (the default).
    #[default]
    Obey,
    /// Refuse when offered > ours, otherwise accept the offer.
    Strict,
}

/// RFC 2407 section 4.5: the lifetime when an SA carries none.
const DEFAULT_LIFETIME_SECS: u64 = 28800;
/// SA Life Type seconds.
const LIFE_SECONDS: u16 = 1;
const ATTR_SA_LIFE_TYPE: u16 = IpsecAttr::SA_LIFE_TYPE.0;
const ATTR_SA_LIFE_DURATION: u16 = IpsecAttr::SA_LIFE_DURATION.0;

/// A lifetime as SA Life Type + Duration attributes (basic form up to 65535 s, else 4 bytes).
fn life_attrs(secs: u64) -> [Attribute; 2] {
    let d = match u16::try_from(secs) {
        Ok(v) => Attribute::basic(ATTR_SA_LIFE_DURATION, v),
        Err(_) => Attribute {
            ty: ATTR_SA_LIFE_DURATION,
            value: AttrValue::Variable(
                (secs.min(u64::from(u32::MAX)) as u32)
                    .to_be_bytes()
                    .to_vec(),
            ),
        },
    };
    [Attribute::basic(ATTR_SA_LIFE_TYPE, LIFE_SECONDS), d]
}

/// Split the lifetime attributes off a transform: the rest, and the lifetime in seconds (a
/// kilobyte lifetime is dropped unread).
fn split_life(t: &Transform) -> (Transform, Option<u64>) {
    let mut rest = t.clone();
    rest.attributes.clear();
    let (mut ty, mut secs) = (0u64, None);
    for a in &t.attributes {
        match a.ty {
            ATTR_SA_LIFE_TYPE => ty = a.as_u64().unwrap_or(0),
            ATTR_SA_LIFE_DURATION => {
                if ty == u64::from(LIFE_SECONDS) {
                    secs = a.as_u64();
                }
            }
            _ => rest.attributes.push(a.clone()),
        }
    }
    (rest, secs)
}

/// Attributes compared as a set, without the lifetime attributes (phase 1: Life Type 11 /
/// Life Duration 12; phase 2: SA Life Type 1 / Duration 2 are split off before): peers such
/// as strongSwan send the same attributes in another order and always name a lifetime.
fn canon(attrs: &[Attribute]) -> Vec<(u16, Vec<u8>)> {
    let mut v: Vec<(u16, Vec<u8>)> = attrs
        .iter()
        .filter(|a| a.ty != AttrType::LIFE_TYPE.0 && a.ty != AttrType::LIFE_DURATION.0)
        .map(|a| {
            let val = match a.as_u64() {
                Some(n) => n.to_be_bytes().to_vec(),
                None => match &a.value {
                    AttrValue::Variable(b) => b.clone(),
                    AttrValue::Basic(b) => b.to_be_bytes().to_vec(),
                },
            };
            (a.ty, val)
        })
        .collect();
    v.sort();
    v
}

/// The lifetime in seconds a RESPONDER-LIFETIME notification carries.
fn responder_lifetime(ps: &[Payload]) -> Option<u64> {
    ps.iter().find_map(|p| match p {
        Payload::Notify(n) if n.notify_type == NotifyType::RESPONDER_LIFETIME => {
            let attrs = parse_attributes(&n.data, 0).ok()?;
            let t = Transform {
                number: 0,
                id: 0,
                attributes: attrs,
            };
            split_life(&t).1
        }
        _ => None,
    })
}

impl ProposalCheck {
    /// The lifetime the responder takes for an offer, whether it must notify the initiator,
    /// or `None` to refuse the proposal.
    pub fn decide(self, offered: Option<u64>, ours: Option<u64>) -> Option<(u64, bool)> {
        let off = offered.unwrap_or(DEFAULT_LIFETIME_SECS);
        let ours = ours.unwrap_or(DEFAULT_LIFETIME_SECS);
        match self {
            ProposalCheck::Obey => Some((off, false)),
            ProposalCheck::Exact => (off == ours).then_some((off, false)),
            ProposalCheck::Strict => (off <= ours).then_some((off, false)),
            ProposalCheck::Claim => Some(if ours < off {
                (ours, true)
            } else {
                (off, false)
            }),
        }
    }
}

/// What mode config hands out (draft-dukes-ike-mode-cfg; RouterOS `/ip ipsec mode-config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModeConfig {
    /// INTERNAL_IP4_ADDRESS (RouterOS `address` / `address-pool`).
    pub address: Ipv4Addr,
    /// INTERNAL_IP4_NETMASK (RouterOS `address-prefix-length`).
    pub netmask: Ipv4Addr,
    /// INTERNAL_IP4_DNS (RouterOS `static-dns` / `system-dns`).
    pub dns: Vec<Ipv4Addr>,
    /// Cisco Unity UNITY_SPLIT_INCLUDE networks (RouterOS `split-include`): address, mask.
    pub split_include: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// XAuth credentials the server received (the password is not printed by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct XAuthCredentials {
    /// XAUTH_USER_NAME.
    pub user: Vec<u8>,
    /// XAUTH_USER_PASSWORD.
    pub password: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for XAuthCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "XAuthCredentials({:?}, ***)",
            String::from_utf8_lossy(&self.user)
        )
    }
}

impl SessionConfig {
    /// A PSK configuration with the defaults above, AES-256 / SHA-256 / the given group.
    pub fn psk(psk: &[u8], local_id: Identity, local_ts: Identity, remote_ts: Identity) -> Self {
        SessionConfig {
            psk: psk.to_vec(),
            local_id,
            encr: Encr::AesCbc(32),
            prf: Prf::HmacSha256,
            group: Group::Modp(2048),
            local_ts,
            remote_ts,
            esp_key_len: 32,
            pfs_group: None,
            aggressive: false,
            retransmit_timeout: Duration::from_secs(2),
            retransmit_tries: 4,
            nat_traversal: true,
            local_addr: SocketAddr::from(([0, 0, 0, 0], PORT_IKE)),
            remote_addr: SocketAddr::from(([0, 0, 0, 0], PORT_IKE)),
            force_encap: false,
            keepalive_interval: Duration::from_secs(20),
            dpd_interval: Some(Duration::from_secs(8)),
            dpd_maximum_failures: 4,
            xauth_client: None,
            xauth_server: false,
            mode_config_client: false,
            mode_config_server: None,
            mode_config_push: false,
            transport: false,
            esp_lifetime: None,
            proposal_check: ProposalCheck::Obey,
        }
    }
}

/// A transform with the draft UDP-Encapsulated-Tunnel value read as the RFC 3947 one.
fn normalize(t: &Transform) -> Transform {
    let mut t = t.clone();
    for a in &mut t.attributes {
        if a.ty == ATTR_ENCAPSULATION_MODE && a.as_u64() == Some(ENCAP_UDP_TUNNEL_DRAFT.into()) {
            *a = Attribute::basic(ATTR_ENCAPSULATION_MODE, ENCAP_UDP_TUNNEL);
        }
        if a.ty == ATTR_ENCAPSULATION_MODE && a.as_u64() == Some(ENCAP_UDP_TRANSPORT_DRAFT.into()) {
            *a = Attribute::basic(ATTR_ENCAPSULATION_MODE, ENCAP_UDP_TRANSPORT);
        }
    }
    t
}

fn hash_id(p: Prf) -> Option<u16> {
    Some(match p {
        Prf::HmacMd5 => 1,
        Prf::HmacSha1 => 2,
        Prf::HmacSha256 => 4,
        Prf::HmacSha384 => 5,
        Prf::HmacSha512 => 6,
        Prf::Aes128Xcbc => return None,
    })
}

fn encr_attrs(e: Encr) -> Option<Vec<Attribute>> {
    Some(match e {
        Encr::TripleDes => vec![Attribute::basic(AttrType::ENCRYPTION_ALGORITHM.0, 5)],
        Encr::AesCbc(k) => vec![
            Attribute::basic(AttrType::ENCRYPTION_ALGORITHM.0, 7),
            Attribute::basic(AttrType::KEY_LENGTH.0, (k * 8) as u16),
        ],
        _ => return None,
    })
}

/// The NAT-D hash of RFC 3947 section 3.2: `HASH(CKY-I | CKY-R | IP | Port)` with the
/// negotiated (plain) hash; the address is 4 bytes for IPv4, 16 for IPv6.
pub fn nat_d(prf: Prf, cky_i: &[u8; 8], cky_r: &[u8; 8], addr: SocketAddr) -> Vec<u8> {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    v1c::hash(prf, &[cky_i, cky_r, &ip, &addr.port().to_be_bytes()]).unwrap_or_default()
}

/// A datagram to send, with its ports: 500 -> 500 until NAT traversal moves the session to
/// 4500 -> 4500. On 4500 the payload already starts with the 4-byte non-ESP marker (or is
/// the one-byte NAT keepalive); send it as is. `remote_port` is the peer's nominal port: when
/// the peer is behind a NAT, its datagrams arrive from a mapped port, and the caller sends to
/// the address and port the peer's latest authenticated datagram came from (RFC 3947 section
/// 4); the session does not see source addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our UDP port.
    pub local_port: u16,
    /// The peer's UDP port.
    pub remote_port: u16,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// What the NAT-D exchange found (RFC 3947 section 3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatState {
    /// The peer sent the RFC 3947 vendor ID (and so did we).
    pub negotiated: bool,
    /// We are behind a NAT: the peer's first NAT-D (our address as it sent to) does not match.
    pub local_behind_nat: bool,
    /// The peer is behind a NAT: none of its other NAT-Ds matches its address as we see it.
    pub remote_behind_nat: bool,
    /// IKE moved to UDP 4500 and ESP is UDP-encapsulated.
    pub floated: bool,
}

fn nat_oa(a: IpAddr) -> Payload {
    match a {
        IpAddr::V4(v) => Payload::NatOa {
            id_type: IdType::IPV4_ADDR,
            address: v.octets().to_vec(),
        },
        IpAddr::V6(v) => Payload::NatOa {
            id_type: IdType::IPV6_ADDR,
            address: v.octets().to_vec(),
        },
    }
}

fn nat_oa_addr(p: &Payload) -> Option<IpAddr> {
    match p {
        Payload::NatOa { address, .. } => match address.len() {
            4 => <[u8; 4]>::try_from(&address[..]).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(&address[..]).ok().map(IpAddr::from),
            _ => None,
        },
        _ => None,
    }
}

fn var(t: CfgAttr, v: Vec<u8>) -> Attribute {
    Attribute {
        ty: t.0,
        value: AttrValue::Variable(v),
    }
}

fn config_attrs(mc: &ModeConfig) -> Vec<Attribute> {
    let mut a = vec![
        var(CfgAttr::INTERNAL_IP4_ADDRESS, mc.address.octets().to_vec()),
        var(CfgAttr::INTERNAL_IP4_NETMASK, mc.netmask.octets().to_vec()),
    ];
    a.extend(
        mc.dns
            .iter()
            .map(|d| var(CfgAttr::INTERNAL_IP4_DNS, d.octets().to_vec())),
    );
    if !mc.split_include.is_empty() {
        // Unity: each network is address(4) mask(4) protocol(1) src port(2) dst port(2)
        // padding(1): 14 bytes.
        let mut v = Vec::new();
        for (n, m) in &mc.split_include {
            v.extend(n.octets());
            v.extend(m.octets());
            v.extend([0; 6]);
        }
        a.push(var(CfgAttr::UNITY_SPLIT_INCLUDE, v));
    }
    a
}

fn parse_config(attrs: &[Attribute]) -> Option<ModeConfig> {
    let v4 = |a: &Attribute| match &a.value {
        AttrValue::Variable(v) => <[u8; 4]>::try_from(&v[..]).ok().map(Ipv4Addr::from),
        AttrValue::Basic(_) => None,
    };
    let mut mc = ModeConfig {
        address: Ipv4Addr::UNSPECIFIED,
        netmask: Ipv4Addr::UNSPECIFIED,
        dns: Vec::new(),
        split_include: Vec::new(),
    };
    let mut have = false;
    for a in attrs {
        match CfgAttr(a.ty) {
            CfgAttr::INTERNAL_IP4_ADDRESS => {
                mc.address = v4(a)?;
                have = true;
            }
            CfgAttr::INTERNAL_IP4_NETMASK => mc.netmask = v4(a)?,
            CfgAttr::INTERNAL_IP4_DNS => mc.dns.push(v4(a)?),
            CfgAttr::UNITY_SPLIT_INCLUDE => {
                if let AttrValue::Variable(v) = &a.value {
                    for e in v.chunks_exact(14) {
                        let n: [u8; 4] = e[..4].try_into().ok()?;
                        let m: [u8; 4] = e[4..8].try_into().ok()?;
                        mc.split_include.push((n.into(), m.into()));
                    }
                }
            }
            _ => {}
        }
    }
    have.then_some(mc)
}

fn has_vid(ps: &[Payload], vid: &[u8]) -> bool {
    ps.iter()
        .any(|p| matches!(p, Payload::VendorId(v) if v.as_slice() == vid))
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// Main mode completed: the ISAKMP SA is authenticated.
    Phase1Up,
    /// Quick mode completed: an ESP SA pair (AES-CBC + HMAC-SHA1-96, tunnel mode).
    ChildUp(ChildKeys),
    /// The session failed (nothing more is sent).
    Failed(&'static str),
    /// Dead peer detection: `dpd_maximum_failures` R-U-THEREs went unanswered. The session
    /// is closed (nothing more is sent; the caller removes the SAs).
    PeerDead,
    /// The peer deleted the ESP SA pair whose SPIs these are (Delete payload, RFC 2408
    /// 3.15): `(spi_in, spi_out)` of the [`ChildKeys`].
    ChildDeleted([u8; 4], [u8; 4]),
    /// The peer deleted the ISAKMP SA: the session is closed.
    Deleted,
    /// We retired the ESP SA pair whose SPIs these are, `(spi_in, spi_out)`: it was replaced
    /// by a rekey (its successor came with a [`SessionEvent::ChildUp`] first), or it reached
    /// its hard lifetime with no successor. As initiator a Delete for it goes to the peer.
    /// The caller removes the pair.
    ChildExpired([u8; 4], [u8; 4]),
    /// XAuth server: the client answered; judge with [`Session::xauth_verdict`].
    XAuthRequest(XAuthCredentials),
    /// XAuth client: the server accepted (`true`) or rejected us. After a rejection the
    /// server deletes the ISAKMP SA ([`SessionEvent::Deleted`]).
    XAuthStatus(bool),
    /// Mode config client: what the server gave us (quick mode then uses the address).
    ModeConfig(ModeConfig),
}

/// The keys of an ESP SA pair.
#[derive(Clone, PartialEq, Eq)]
pub struct ChildKeys {
    /// SPI we chose: the peer sends to it.
    pub spi_in: [u8; 4],
    /// SPI the peer chose: we send to it.
    pub spi_out: [u8; 4],
    /// Inbound encryption key then HMAC-SHA1 key.
    pub keymat_in: Zeroizing<Vec<u8>>,
    /// Outbound encryption key then HMAC-SHA1 key.
    pub keymat_out: Zeroizing<Vec<u8>>,
    /// ESP in UDP 4500 (encapsulation mode UDP-Encapsulated-Tunnel/-Transport, RFC 3948).
    pub udp_encap: bool,
    /// Transport mode: the peer's original address from its NAT-OA (RFC 3947 section 5.2),
    /// for the TCP/UDP checksum fix-up after decapsulation; `None` in tunnel mode or without
    /// a NAT.
    pub peer_original: Option<IpAddr>,
    /// The negotiated lifetime (seconds lifetime of the SA pair; see [`ProposalCheck`]):
    /// 28800 s when neither side named one.
    pub lifetime: Duration,
}

impl core::fmt::Debug for ChildKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "ChildKeys(in {:02x?}, out {:02x?}, udp {})",
            self.spi_in, self.spi_out, self.udp_encap
        )
    }
}

/// Transaction exchange progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tx {
    /// No transaction configured, or all done: quick mode may run.
    None,
    /// Server: asked for user/password.
    SrvAsked,
    /// Server: waiting for the caller's verdict.
    SrvVerdict,
    /// Server: sent the status, waiting for the ACK.
    SrvStatus(bool),
    /// Server: waiting for the mode config REQUEST (pull) or ACK (push).
    SrvCfg,
    /// Client: waiting for the server's XAuth request, status, or pushed config.
    CliWait,
    /// Client: requested mode config, waiting for the REPLY.
    CliCfgReq,
    /// Client: rejected, waiting for the server's Delete.
    CliRejected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    Main1,
    Main3,
    Main5,
    Aggr1,
    Quick1,
    Quick2,
    Done,
    Failed,
    /// Closed by DPD or a Delete (ours or the peer's): nothing more is sent or accepted.
    Closed,
}

/// An ESP SA pair by its SPIs: (inbound, outbound).
type SpiPair = ([u8; 4], [u8; 4]);

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Timer-driven resends.
    pub retransmits: u64,
    /// Answers replayed for a message received twice.
    pub replays: u64,
    /// Datagrams dropped (undecodable, unexpected or failing a check).
    pub dropped: u64,
}

/// One IKEv1 session (ISAKMP SA + one quick mode) in either role.
pub struct Session {
    cfg: SessionConfig,
    initiator: bool,
    rng: Box<dyn CryptoRngCore + Send>,
    state: State,
    cky_i: [u8; 8],
    cky_r: [u8; 8],
    dh: Option<KeyPair>,
    qdh: Option<KeyPair>,
    gqm: Option<Zeroizing<Vec<u8>>>,
    gxi: Vec<u8>,
    gxr: Vec<u8>,
    ni: Vec<u8>,
    nr: Vec<u8>,
    sai_b: Vec<u8>,
    keys: Option<v1c::Phase1Keys>,
    cipher: Option<Cipher>,
    iv: Vec<u8>,
    last_p1: Vec<u8>,
    mid: u32,
    qni: Vec<u8>,
    spi_in: [u8; 4],
    pending_out: [u8; 4],
    /// The message we retransmit on the timer.
    last_tx: Transmit,
    /// A message received and the answer we sent (replayed when it comes again).
    replay: Option<(Vec<u8>, Transmit)>,
    /// The answer `step` just sent, paired with its request by `handle_datagram`.
    answered: Option<Transmit>,
    nat: NatState,
    /// Next NAT keepalive.
    ka: Option<Instant>,
    /// Phase 1 is authenticated (informational exchanges are accepted).
    p1_up: bool,
    /// The peer announced DPD (RFC 3706 vendor ID).
    peer_dpd: bool,
    /// DPD: next probe (or the death verdict), unanswered probes so far, our last sequence.
    dpd: Option<Instant>,
    dpd_fails: u32,
    dpd_seq: u32,
    /// The child SA's SPIs (in, out) once up.
    child_spis: Option<([u8; 4], [u8; 4])>,
    /// When the current child SA reaches its hard lifetime.
    child_expire: Option<Instant>,
    /// Initiator: when quick mode runs again for a successor (9/10 of the lifetime).
    rekey_at: Option<Instant>,
    /// The pair a rekey replaced, and when it goes if the peer's Delete does not come first.
    old_child: Option<(SpiPair, Instant)>,
    /// Message IDs of completed quick modes (a late duplicate of one is not a new rekey).
    done_mids: VecDeque<u32>,
    /// Where the transaction exchanges (XAuth, mode config) stand, and the M-ID of the
    /// one we started (its reply continues our IV chain).
    tx: Tx,
    tx_mid: u32,
    tx_id: u16,
    /// The peer's original address from its NAT-OA (transport mode).
    peer_oa: Option<IpAddr>,
    /// Lifetime (seconds) our ESP SA payload names: our own as initiator, the offer echoed
    /// as responder.
    esp_life: Option<u64>,
    /// The negotiated phase-2 lifetime (seconds).
    child_life: u64,
    /// The peer's phase-1 ID body (aggressive mode responder: checked with HASH_I later).
    peer_id_b: Vec<u8>,
    /// Retransmission: next time, tries so far.
    rt: Option<(Instant, u32)>,
    out: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    stats: SessionStats,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("initiator", &self.initiator)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(cfg: SessionConfig, initiator: bool, rng: Box<dyn CryptoRngCore + Send>) -> Self {
        let cfg_life = cfg.esp_lifetime.map(|d| d.as_secs());
        Session {
            cfg,
            initiator,
            rng,
            state: State::Start,
            cky_i: [0; 8],
            cky_r: [0; 8],
            dh: None,
            qdh: None,
            gqm: None,
            gxi: Vec::new(),
            gxr: Vec::new(),
            ni: Vec::new(),
            nr: Vec::new(),
            sai_b: Vec::new(),
            keys: None,
            cipher: None,
            iv: Vec::new(),
            last_p1: Vec::new(),
            mid: 0,
            qni: Vec::new(),
            spi_in: [0; 4],
            pending_out: [0; 4],
            last_tx: Transmit {
                local_port: PORT_IKE,
                remote_port: PORT_IKE,
                payload: Vec::new(),
            },
            replay: None,
            answered: None,
            nat: NatState::default(),
            ka: None,
            p1_up: false,
            peer_dpd: false,
            dpd: None,
            dpd_fails: 0,
            dpd_seq: 0,
            child_spis: None,
            child_expire: None,
            rekey_at: None,
            old_child: None,
            done_mids: VecDeque::new(),
            tx: Tx::None,
            tx_mid: 0,
            tx_id: 0,
            peer_oa: None,
            esp_life: cfg_life,
            child_life: DEFAULT_LIFETIME_SECS,
            peer_id_b: Vec::new(),
            rt: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
        }
    }

    fn check(cfg: &SessionConfig) -> Result<(), Error> {
        if hash_id(cfg.prf).is_none() {
            return Err(ConfigError::invalid("hash-algorithm", "not an IKEv1 hash").into());
        }
        if encr_attrs(cfg.encr).is_none() {
            return Err(ConfigError::invalid("enc-algorithm", "AES-CBC or 3DES only").into());
        }
        if ![16, 24, 32].contains(&cfg.esp_key_len) {
            return Err(ConfigError::invalid("enc-algorithms", "AES key of 16, 24, 32").into());
        }
        Ok(())
    }

    /// Start as initiator: main mode message 1 is queued at once.
    pub fn initiator(
        cfg: SessionConfig,
        now: Instant,
        rng: Box<dyn CryptoRngCore + Send>,
    ) -> Result<Session, Error> {
        Self::check(&cfg)?;
        let mut s = Session::new(cfg, true, rng);
        s.rng.fill_bytes(&mut s.cky_i);
        let sa = Payload::Sa(s.phase1_sa());
        s.sai_b = sa.body_bytes();
        let m = if s.cfg.aggressive {
            // Aggressive mode 1: SA, KE, Ni, IDii all at once.
            let dh = KeyPair::generate(s.cfg.group, &mut *s.rng)?;
            s.gxi = dh.public().to_vec();
            s.dh = Some(dh);
            s.ni = s.nonce();
            s.state = State::Aggr1;
            let id = Payload::Id(Id::new(&s.cfg.local_id, 17, 500));
            let mut ps = vec![
                sa,
                Payload::Ke(s.gxi.clone()),
                Payload::Nonce(s.ni.clone()),
                id,
            ];
            ps.extend(s.vids());
            s.clear(ExchangeType::AGGRESSIVE, ps)
        } else {
            s.state = State::Main1;
            let mut ps = vec![sa];
            ps.extend(s.vids());
            s.clear(ExchangeType::MAIN, ps)
        };
        s.wait(now, m);
        Ok(s)
    }

    /// A responder waiting for main mode message 1.
    pub fn responder(
        cfg: SessionConfig,
        rng: Box<dyn CryptoRngCore + Send>,
    ) -> Result<Session, Error> {
        Self::check(&cfg)?;
        Ok(Session::new(cfg, false, rng))
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The next datagram to send, with its ports. `now` is the caller's clock, as on every
    /// `poll_transmit` of the workspace (style section 9); messages are queued when the input or
    /// timeout that caused them is handled, so it selects nothing here.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        let _ = now;
        self.out.pop_front()
    }

    /// What NAT traversal found so far.
    pub fn nat(&self) -> NatState {
        self.nat
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rt
            .map(|(t, _)| t)
            .into_iter()
            .chain(self.ka)
            .chain(self.dpd)
            .chain(self.child_expire)
            .chain(self.rekey_at)
            .chain(self.old_child.map(|(_, t)| t))
            .min()
    }

    /// Timer expiry: resend the waiting message, or fail after `retransmit_tries`; send the
    /// NAT keepalive when it is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(k) = self.ka {
            if now >= k && self.state != State::Failed {
                self.out.push_back(Transmit {
                    local_port: PORT_NATT,
                    remote_port: PORT_NATT,
                    payload: NAT_KEEPALIVE.to_vec(),
                });
                self.ka = Some(k + self.cfg.keepalive_interval);
            }
        }
        if let (Some(d), Some(i)) = (self.dpd, self.cfg.dpd_interval) {
            if now >= d {
                if self.dpd_fails >= self.cfg.dpd_maximum_failures {
                    self.close();
                    self.events.push_back(SessionEvent::PeerDead);
                    return;
                }
                // RFC 3706 section 5.5: a fresh sequence number for every probe.
                self.dpd_seq = self.dpd_seq.wrapping_add(1);
                let n = self.dpd_notify(NotifyType::R_U_THERE, self.dpd_seq);
                self.send_info(&[n]);
                self.dpd_fails += 1;
                self.dpd = Some(d + i);
            }
        }
        if matches!(self.state, State::Failed | State::Closed) {
            return;
        }
        self.child_timers(now);
        let Some((t, tries)) = self.rt else { return };
        if now < t {
            return;
        }
        if tries >= self.cfg.retransmit_tries {
            self.fail("retransmits exhausted");
            return;
        }
        self.stats.retransmits += 1;
        self.out.push_back(self.last_tx.clone());
        let next = t + self.cfg.retransmit_timeout * (1u32 << (tries + 1).min(16));
        self.rt = Some((next, tries + 1));
    }

    /// Phase-2 lifetimes: the initiator's rekey, the replaced pair's end, the hard expiry.
    fn child_timers(&mut self, now: Instant) {
        if self.rekey_at.is_some_and(|t| now >= t) {
            self.rekey_at = None;
            if self.initiator && self.state == State::Done && self.tx == Tx::None {
                let _ = self.start_quick(now);
            }
        }
        if let Some((old, t)) = self.old_child {
            if now >= t {
                self.old_child = None;
                self.events
                    .push_back(SessionEvent::ChildExpired(old.0, old.1));
            }
        }
        if self.child_expire.is_some_and(|t| now >= t) {
            self.child_expire = None;
            if let Some((i, o)) = self.child_spis.take() {
                self.delete_child(i);
                self.events.push_back(SessionEvent::ChildExpired(i, o));
            }
        }
    }

    /// A Delete for our inbound SPI of an ESP pair, in its own informational exchange.
    fn delete_child(&mut self, spi_in: [u8; 4]) {
        self.send_info(&[Payload::Delete(Delete {
            doi: DOI_IPSEC,
            protocol: PROTO_ESP,
            spi_size: 4,
            spis: vec![spi_in.to_vec()],
        })]);
    }

    fn fail(&mut self, why: &'static str) {
        self.state = State::Failed;
        self.stop_timers();
        self.events.push_back(SessionEvent::Failed(why));
    }

    /// Send `m` and retransmit it on the backoff timer until the next step.
    fn wait(&mut self, now: Instant, m: Vec<u8>) {
        let m = self.xmit(m);
        self.last_tx = m.clone();
        self.out.push_back(m);
        self.rt = Some((now + self.cfg.retransmit_timeout, 0));
    }

    /// An ISAKMP message on the current ports: 500, or 4500 with the non-ESP marker.
    fn xmit(&self, m: Vec<u8>) -> Transmit {
        if self.nat.floated {
            let mut payload = vec![0u8; 4];
            payload.extend(m);
            Transmit {
                local_port: PORT_NATT,
                remote_port: PORT_NATT,
                payload,
            }
        } else {
            Transmit {
                local_port: PORT_IKE,
                remote_port: PORT_IKE,
                payload: m,
            }
        }
    }

    /// Our two NAT-D payloads: the peer's address (the destination) first, then ours (or,
    /// forcing encapsulation, a hash of nothing that cannot match).
    fn nat_d_payloads(&mut self) -> Vec<Payload> {
        let (i, r) = (self.cky_i, self.cky_r);
        let remote = nat_d(self.cfg.prf, &i, &r, self.cfg.remote_addr);
        let local = if self.cfg.force_encap {
            let mut junk = [0u8; 8];
            self.rng.fill_bytes(&mut junk);
            v1c::hash(self.cfg.prf, &[&junk]).unwrap_or_default()
        } else {
            nat_d(self.cfg.prf, &i, &r, self.cfg.local_addr)
        };
        vec![Payload::NatD(remote), Payload::NatD(local)]
    }

    /// RFC 3947 section 3.2: the peer's first NAT-D is our address as it sent to; the others
    /// are its own addresses. A missing NAT-D (peer without NAT-T) finds nothing.
    fn detect_nat(&mut self, ps: &[Payload]) {
        if !self.nat.negotiated {
            return;
        }
        let ds: Vec<&[u8]> = ps
            .iter()
            .filter_map(|p| match p {
                Payload::NatD(d) => Some(&d[..]),
                _ => None,
            })
            .collect();
        let Some((first, rest)) = ds.split_first() else {
            self.nat.negotiated = false;
            return;
        };
        let (i, r) = (self.cky_i, self.cky_r);
        self.nat.local_behind_nat = *first != nat_d(self.cfg.prf, &i, &r, self.cfg.local_addr);
        let theirs = nat_d(self.cfg.prf, &i, &r, self.cfg.remote_addr);
        self.nat.remote_behind_nat = !rest.iter().any(|d| *d == theirs);
    }

    /// After the NAT-D exchange: move to 4500 when a NAT (real or forced) is in the path.
    fn maybe_float(&mut self, now: Instant) {
        let nat = self.nat.local_behind_nat || self.nat.remote_behind_nat || self.cfg.force_encap;
        if self.nat.negotiated && nat {
            self.nat.floated = true;
            if self.nat.local_behind_nat || self.cfg.force_encap {
                self.ka = Some(now + self.cfg.keepalive_interval);
            }
        }
    }

    fn vids(&self) -> Vec<Payload> {
        let mut v = Vec::new();
        if self.cfg.nat_traversal {
            v.push(Payload::VendorId(VID_RFC3947.to_vec()));
        }
        v.extend(self.dpd_vid());
        v
    }

    fn dpd_vid(&self) -> Option<Payload> {
        self.cfg
            .dpd_interval
            .map(|_| Payload::VendorId(VID_DPD.to_vec()))
    }

    /// Phase 1 done: report it and start dead peer detection if both announced it.
    fn phase1_up(&mut self, now: Instant) {
        self.p1_up = true;
        self.events.push_back(SessionEvent::Phase1Up);
        self.dpd_heard(now);
    }

    /// A valid message from the peer: it is alive; the next probe is an interval away.
    fn dpd_heard(&mut self, now: Instant) {
        self.dpd_fails = 0;
        self.dpd = match self.cfg.dpd_interval {
            Some(i) if self.peer_dpd && self.p1_up => Some(now + i),
            _ => None,
        };
    }

    /// An informational exchange (exchange 5) under the ISAKMP SA: `HDR*, HASH(1), N/D`
    /// with `HASH(1) = prf(SKEYID_a, M-ID | N/D)` (RFC 2409 section 5.7), its own IV from
    /// the last phase-1 block and its random M-ID. The quick mode chain is left alone.
    fn informational(&mut self, ps: &[Payload]) -> Option<Vec<u8>> {
        let mut m = [0u8; 4];
        self.rng.fill_bytes(&mut m);
        let mid = u32::from_be_bytes(m).max(1);
        let a = self.skeyid_a();
        let hash = v1c::hash1(self.cfg.prf, &a, mid, &chain_to_bytes(ps));
        let mut all = vec![Payload::Hash(hash)];
        all.extend_from_slice(ps);
        let keep = core::mem::take(&mut self.iv);
        self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, mid).ok()?;
        let out = self.sealed(ExchangeType::INFORMATIONAL, mid, &all);
        self.iv = keep;
        out
    }

    fn cookies(&self) -> Vec<u8> {
        [self.cky_i, self.cky_r].concat()
    }

    fn dpd_notify(&self, t: NotifyType, seq: u32) -> Payload {
        Payload::Notify(Notify {
            doi: DOI_IPSEC,
            protocol: PROTO_ISAKMP,
            notify_type: t,
            spi: self.cookies(),
            data: seq.to_be_bytes().to_vec(),
        })
    }

    fn send_info(&mut self, ps: &[Payload]) {
        if let Some(m) = self.informational(ps) {
            let t = self.xmit(m);
            self.out.push_back(t);
        }
    }

    /// A received informational message (already matched to our cookies).
    fn handle_informational(&mut self, now: Instant, m: &Message) -> Option<()> {
        let mid = m.header.message_id;
        let keep = core::mem::take(&mut self.iv);
        self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, mid).ok()?;
        let ps = self.open(m);
        self.iv = keep;
        let ps = ps?;
        let a = self.skeyid_a();
        let rest = chain_to_bytes(ps.get(1..)?);
        if ps.first()?.ptype() != PayloadType::HASH
            || ps[0].body_bytes() != v1c::hash1(self.cfg.prf, &a, mid, &rest)
        {
            return None;
        }
        self.dpd_heard(now);
        for p in &ps[1..] {
            match p {
                Payload::Notify(n) if n.notify_type == NotifyType::R_U_THERE => {
                    let seq = u32::from_be_bytes(n.data.get(..4)?.try_into().ok()?);
                    let ack = self.dpd_notify(NotifyType::R_U_THERE_ACK, seq);
                    self.send_info(&[ack]);
                }
                // Any authenticated message already proved liveness; an ACK for an older
                // probe is as good as one for the newest.
                Payload::Notify(n) if n.notify_type == NotifyType::R_U_THERE_ACK => {}
                Payload::Delete(d)
                    if d.protocol == PROTO_ISAKMP
                        && d.spis.iter().any(|s| *s == self.cookies()) =>
                {
                    self.close();
                    self.events.push_back(SessionEvent::Deleted);
                    return Some(());
                }
                Payload::Delete(d) if d.protocol == PROTO_ESP => {
                    let hit = |(i, o): SpiPair| d.spis.iter().any(|s| s[..] == o || s[..] == i);
                    if let Some(((i, o), _)) = self.old_child.filter(|(p, _)| hit(*p)) {
                        self.old_child = None;
                        self.events.push_back(SessionEvent::ChildDeleted(i, o));
                    } else if let Some((i, o)) = self.child_spis.filter(|p| hit(*p)) {
                        self.child_spis = None;
                        self.child_expire = None;
                        self.rekey_at = None;
                        self.events.push_back(SessionEvent::ChildDeleted(i, o));
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// Initiator after phase 1: XAuth / mode config first if configured, else quick mode.
    fn after_phase1_client(&mut self, now: Instant) -> Option<()> {
        if self.cfg.xauth_client.is_some()
            || self.cfg.mode_config_client && self.cfg.mode_config_push
        {
            self.tx = Tx::CliWait;
            self.rt = None;
            Some(())
        } else if self.cfg.mode_config_client {
            self.request_config(now)
        } else {
            self.start_quick(now)
        }
    }

    /// Responder after phase 1: ask XAuth, or push / await mode config, if configured.
    fn after_phase1_server(&mut self, now: Instant) {
        if self.cfg.xauth_server {
            let ask = vec![
                Attribute::basic(CfgAttr::XAUTH_TYPE.0, 0),
                var(CfgAttr::XAUTH_USER_NAME, Vec::new()),
                var(CfgAttr::XAUTH_USER_PASSWORD, Vec::new()),
            ];
            if self.start_tx(now, CfgType::REQUEST, ask).is_some() {
                self.tx = Tx::SrvAsked;
            }
        } else {
            self.serve_config(now);
        }
    }

    fn serve_config(&mut self, now: Instant) {
        let Some(mc) = self.cfg.mode_config_server.clone() else {
            self.tx = Tx::None;
            return;
        };
        self.cfg.remote_ts = Identity::Addr(IpAddr::V4(mc.address));
        if self.cfg.mode_config_push
            && self
                .start_tx(now, CfgType::SET, config_attrs(&mc))
                .is_none()
        {
            return;
        }
        self.tx = Tx::SrvCfg;
    }

    fn request_config(&mut self, now: Instant) -> Option<()> {
        let ask = [
            CfgAttr::INTERNAL_IP4_ADDRESS,
            CfgAttr::INTERNAL_IP4_NETMASK,
            CfgAttr::INTERNAL_IP4_DNS,
            CfgAttr::UNITY_SPLIT_INCLUDE,
        ]
        .into_iter()
        .map(|t| var(t, Vec::new()))
        .collect();
        self.start_tx(now, CfgType::REQUEST, ask)?;
        self.tx = Tx::CliCfgReq;
        Some(())
    }

    /// Our mode config address is now our quick mode selector.
    fn take_config(&mut self, now: Instant, attrs: &[Attribute]) -> Option<()> {
        let mc = parse_config(attrs)?;
        self.cfg.local_ts = Identity::Addr(IpAddr::V4(mc.address));
        self.events.push_back(SessionEvent::ModeConfig(mc));
        self.tx = Tx::None;
        self.start_quick(now)
    }

    /// A transaction exchange `HDR*, HASH, ATTR` we start: fresh M-ID and identifier,
    /// `HASH = prf(SKEYID_a, M-ID | ATTR)`, IV from the last phase-1 block and the M-ID;
    /// retransmitted until the peer's answer (same M-ID) arrives.
    fn start_tx(&mut self, now: Instant, t: CfgType, attributes: Vec<Attribute>) -> Option<()> {
        let mut m = [0u8; 6];
        self.rng.fill_bytes(&mut m);
        self.tx_mid = u32::from_be_bytes([m[0], m[1], m[2], m[3]]).max(1);
        self.tx_id = u16::from_be_bytes([m[4], m[5]]);
        self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, self.tx_mid).ok()?;
        let attr = Payload::Config(ConfigPayload {
            cfg_type: t.0,
            identifier: self.tx_id,
            attributes,
        });
        let msg = self.tx_message(self.tx_mid, attr)?;
        self.wait(now, msg);
        Some(())
    }

    fn tx_message(&mut self, mid: u32, attr: Payload) -> Option<Vec<u8>> {
        let a = self.skeyid_a();
        let hash = v1c::hash1(
            self.cfg.prf,
            &a,
            mid,
            &chain_to_bytes(std::slice::from_ref(&attr)),
        );
        self.sealed(ExchangeType::TRANSACTION, mid, &[Payload::Hash(hash), attr])
    }

    /// The answer (same M-ID and identifier) to the peer's transaction message.
    fn tx_answer(
        &mut self,
        mid: u32,
        t: CfgType,
        id: u16,
        attributes: Vec<Attribute>,
    ) -> Option<()> {
        let attr = Payload::Config(ConfigPayload {
            cfg_type: t.0,
            identifier: id,
            attributes,
        });
        let msg = self.tx_message(mid, attr)?;
        self.answer(msg);
        Some(())
    }

    fn handle_tx(&mut self, now: Instant, m: &Message) -> Option<()> {
        let mid = m.header.message_id;
        let ours = mid == self.tx_mid;
        if !ours {
            self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, mid).ok()?;
        }
        let ps = self.open(m)?;
        let a = self.skeyid_a();
        let rest = chain_to_bytes(ps.get(1..)?);
        if ps.first()?.ptype() != PayloadType::HASH
            || ps[0].body_bytes() != v1c::hash1(self.cfg.prf, &a, mid, &rest)
        {
            return None;
        }
        let Some(Payload::Config(c)) = find(&ps, PayloadType::ATTR) else {
            return None;
        };
        let ty = CfgType(c.cfg_type);
        let get = |t: CfgAttr| c.attributes.iter().find(|x| x.ty == t.0);
        match (self.tx, ty) {
            (Tx::CliWait, CfgType::REQUEST) if !ours && get(CfgAttr::XAUTH_USER_NAME).is_some() => {
                let (u, p) = self.cfg.xauth_client.clone()?;
                let attrs = vec![
                    var(CfgAttr::XAUTH_USER_NAME, u),
                    var(CfgAttr::XAUTH_USER_PASSWORD, p.to_vec()),
                ];
                self.tx_answer(mid, CfgType::REPLY, c.identifier, attrs)?;
            }
            (Tx::CliWait, CfgType::SET) if !ours && get(CfgAttr::XAUTH_STATUS).is_some() => {
                let ok = get(CfgAttr::XAUTH_STATUS)?.as_u64()? == 1;
                let ack = vec![Attribute::basic(CfgAttr::XAUTH_STATUS.0, u16::from(ok))];
                self.tx_answer(mid, CfgType::ACK, c.identifier, ack)?;
                self.events.push_back(SessionEvent::XAuthStatus(ok));
                if !ok {
                    self.tx = Tx::CliRejected;
                } else if !self.cfg.mode_config_client {
                    self.tx = Tx::None;
                    self.start_quick(now)?;
                } else if !self.cfg.mode_config_push {
                    self.request_config(now)?;
                }
            }
            (Tx::CliWait, CfgType::SET) if !ours && self.cfg.mode_config_client => {
                let ack = c
                    .attributes
                    .iter()
                    .map(|x| var(CfgAttr(x.ty), Vec::new()))
                    .collect();
                let attrs = c.attributes.clone();
                self.tx_answer(mid, CfgType::ACK, c.identifier, ack)?;
                self.take_config(now, &attrs)?;
            }
            (Tx::CliCfgReq, CfgType::REPLY) if ours && c.identifier == self.tx_id => {
                let attrs = c.attributes.clone();
                self.rt = None;
                self.take_config(now, &attrs)?;
            }
            (Tx::SrvAsked, CfgType::REPLY) if ours && c.identifier == self.tx_id => {
                let user = match &get(CfgAttr::XAUTH_USER_NAME)?.value {
                    AttrValue::Variable(v) => v.clone(),
                    AttrValue::Basic(_) => return None,
                };
                let password = match &get(CfgAttr::XAUTH_USER_PASSWORD)?.value {
                    AttrValue::Variable(v) => Zeroizing::new(v.clone()),
                    AttrValue::Basic(_) => return None,
                };
                self.rt = None;
                self.tx = Tx::SrvVerdict;
                self.events
                    .push_back(SessionEvent::XAuthRequest(XAuthCredentials {
                        user,
                        password,
                    }));
            }
            (Tx::SrvStatus(ok), CfgType::ACK) if ours && c.identifier == self.tx_id => {
                self.rt = None;
                if ok {
                    self.serve_config(now);
                } else {
                    self.close_and_delete();
                    self.events.push_back(SessionEvent::Failed("XAuth failed"));
                }
            }
            (Tx::SrvCfg, CfgType::ACK) if ours && self.cfg.mode_config_push => {
                self.rt = None;
                self.tx = Tx::None;
            }
            (Tx::SrvCfg, CfgType::REQUEST) if !ours && !self.cfg.mode_config_push => {
                let mc = self.cfg.mode_config_server.clone()?;
                self.tx_answer(mid, CfgType::REPLY, c.identifier, config_attrs(&mc))?;
                self.tx = Tx::None;
            }
            _ => return None,
        }
        Some(())
    }

    /// XAuth server: the caller's verdict on [`SessionEvent::XAuthRequest`]: sends
    /// XAUTH_STATUS (1 OK, 0 FAIL) in a SET; after the client's ACK a failure deletes the
    /// ISAKMP SA, a success goes on to mode config (if configured) and quick mode.
    pub fn xauth_verdict(&mut self, now: Instant, ok: bool) {
        if self.tx != Tx::SrvVerdict {
            return;
        }
        let st = vec![Attribute::basic(CfgAttr::XAUTH_STATUS.0, u16::from(ok))];
        if self.start_tx(now, CfgType::SET, st).is_some() {
            self.tx = Tx::SrvStatus(ok);
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.stop_timers();
    }

    /// Closed or failed: no timer of any kind is left.
    fn stop_timers(&mut self) {
        self.rt = None;
        self.ka = None;
        self.dpd = None;
        self.child_expire = None;
        self.rekey_at = None;
        self.old_child = None;
    }

    /// Close the session: send a Delete for the ESP SA pair (our inbound SPI) and one for the
    /// ISAKMP SA (the cookie pair), each in its own informational exchange, then accept
    /// nothing more. Before phase 1 is up there is nothing to protect a Delete with, and the
    /// session just stops.
    pub fn close_and_delete(&mut self) {
        if self.p1_up && !matches!(self.state, State::Closed | State::Failed) {
            if let Some((i, _)) = self.child_spis.take() {
                self.send_info(&[Payload::Delete(Delete {
                    doi: DOI_IPSEC,
                    protocol: PROTO_ESP,
                    spi_size: 4,
                    spis: vec![i.to_vec()],
                })]);
            }
            let c = self.cookies();
            self.send_info(&[Payload::Delete(Delete {
                doi: DOI_IPSEC,
                protocol: PROTO_ISAKMP,
                spi_size: 16,
                spis: vec![c],
            })]);
        }
        self.close();
    }

    /// Send `m` as the answer to the message being handled (replayed if that comes again).
    fn answer(&mut self, m: Vec<u8>) {
        let m = self.xmit(m);
        self.out.push_back(m.clone());
        self.answered = Some(m);
        self.rt = None;
    }

    fn phase1_sa(&self) -> Sa {
        let mut attributes = encr_attrs(self.cfg.encr).unwrap_or_default();
        attributes.push(Attribute::basic(
            AttrType::HASH_ALGORITHM.0,
            hash_id(self.cfg.prf).unwrap_or(0),
        ));
        attributes.push(Attribute::basic(AttrType::AUTHENTICATION_METHOD.0, 1));
        attributes.push(Attribute::basic(
            AttrType::GROUP_DESCRIPTION.0,
            self.cfg.group.id().0,
        ));
        Sa {
            doi: DOI_IPSEC,
            situation: SIT_IDENTITY_ONLY,
            proposals: vec![Proposal {
                number: 1,
                protocol: PROTO_ISAKMP,
                spi: Vec::new(),
                transforms: vec![Transform {
                    number: 1,
                    id: KEY_IKE,
                    attributes,
                }],
            }],
        }
    }

    fn esp_sa(&self) -> Sa {
        Sa {
            doi: DOI_IPSEC,
            situation: SIT_IDENTITY_ONLY,
            proposals: vec![Proposal {
                number: 1,
                protocol: PROTO_ESP,
                spi: self.spi_in.to_vec(),
                transforms: vec![Transform {
                    number: 1,
                    id: ESP_AES,
                    attributes: self
                        .esp_life
                        .map(life_attrs)
                        .into_iter()
                        .flatten()
                        .chain([
                            Attribute::basic(
                                ATTR_ENCAPSULATION_MODE,
                                match (self.cfg.transport, self.nat.floated) {
                                    (false, false) => ENCAP_TUNNEL,
                                    (false, true) => ENCAP_UDP_TUNNEL,
                                    (true, false) => ENCAP_TRANSPORT,
                                    (true, true) => ENCAP_UDP_TRANSPORT,
                                },
                            ),
                            Attribute::basic(ATTR_AUTH_ALGORITHM, AUTH_HMAC_SHA1),
                            Attribute::basic(ATTR_KEY_LENGTH, (self.cfg.esp_key_len * 8) as u16),
                        ])
                        .chain(
                            self.cfg
                                .pfs_group
                                .map(|g| Attribute::basic(ATTR_GROUP_DESCRIPTION, g.id().0)),
                        )
                        .collect(),
                }],
            }],
        }
    }

    fn header(&self, exchange: ExchangeType, flags: u8, mid: u32) -> Header {
        Header {
            spi_i: self.cky_i,
            spi_r: self.cky_r,
            next_payload: PayloadType::NONE,
            version: VERSION_1_0,
            exchange,
            flags,
            message_id: mid,
            length: 0,
        }
    }

    fn clear(&self, exchange: ExchangeType, ps: Vec<Payload>) -> Vec<u8> {
        Message {
            header: self.header(exchange, 0, 0),
            body: Body::Clear(ps),
        }
        .to_bytes()
    }

    /// Encrypt with the current IV of the chain; the IV moves to the last block.
    fn sealed(&mut self, exchange: ExchangeType, mid: u32, ps: &[Payload]) -> Option<Vec<u8>> {
        let c = self.cipher.as_ref()?;
        let pt = v1c::pad(chain_to_bytes(ps), self.cfg.encr);
        let (ct, next) = v1c::encrypt(c, &self.iv, &pt).ok()?;
        self.iv = next;
        let mut h = self.header(exchange, FLAG_ENCRYPTION, mid);
        h.next_payload = ps.first().map_or(PayloadType::NONE, Payload::ptype);
        Some(
            Message {
                header: h,
                body: Body::Encrypted(ct),
            }
            .to_bytes(),
        )
    }

    fn open(&mut self, m: &Message) -> Option<Vec<Payload>> {
        let Body::Encrypted(ct) = &m.body else {
            return None;
        };
        let c = self.cipher.as_ref()?;
        let (pt, next) = v1c::decrypt(c, &self.iv, ct).ok()?;
        let (ps, _) = parse_chain(m.header.next_payload, &pt, 0).ok()?;
        self.iv = next;
        Some(ps)
    }

    fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill_bytes(&mut n);
        n
    }

    fn derive(&mut self, peer_ke: &[u8]) -> Option<()> {
        let dh = self.dh.as_ref()?;
        let gxy = dh.shared(peer_ke).ok()?;
        let prf = self.cfg.prf;
        let skeyid = v1c::skeyid_psk(prf, &self.cfg.psk, &self.ni, &self.nr);
        let ks = v1c::phase1_keys(prf, skeyid, &gxy, &self.cky_i, &self.cky_r, self.cfg.encr);
        self.cipher = Some(Cipher::new(self.cfg.encr, &ks.enc_key).ok()?);
        self.iv = v1c::phase1_iv(prf, self.cfg.encr, &self.gxi, &self.gxr).ok()?;
        self.keys = Some(ks);
        Some(())
    }

    fn auth_hash(&self, initiator: bool, id_b: &[u8]) -> Vec<u8> {
        let skeyid = self.keys.as_ref().map_or(&[][..], |k| &k.skeyid[..]);
        v1c::phase1_hash(
            self.cfg.prf,
            skeyid,
            initiator,
            &self.gxi,
            &self.gxr,
            &self.cky_i,
            &self.cky_r,
            &self.sai_b,
            id_b,
        )
    }

    fn peer_id_b_of_self(&self) -> Vec<u8> {
        Payload::Id(Id::new(&self.cfg.local_id, 17, 500)).body_bytes()
    }

    fn skeyid_a(&self) -> Vec<u8> {
        self.keys
            .as_ref()
            .map_or(Vec::new(), |k| k.skeyid_a.to_vec())
    }

    fn child(&mut self, now: Instant, spi_out: &[u8], qni: &[u8], qnr: &[u8]) -> Option<()> {
        let d = self.keys.as_ref()?.skeyid_d.clone();
        let len = self.cfg.esp_key_len + 20;
        let g = self.gqm.clone();
        let km = |spi: &[u8]| {
            v1c::keymat(
                self.cfg.prf,
                &d,
                g.as_deref().map(|v| &v[..]),
                PROTO_ESP,
                spi,
                qni,
                qnr,
                len,
            )
        };
        let spi_out: [u8; 4] = spi_out.try_into().ok()?;
        let keys = ChildKeys {
            spi_in: self.spi_in,
            spi_out,
            keymat_in: km(&self.spi_in),
            keymat_out: km(&spi_out),
            udp_encap: self.nat.floated,
            peer_original: self.peer_oa.take(),
            lifetime: Duration::from_secs(self.child_life),
        };
        let life = Duration::from_secs(self.child_life);
        let old = self.child_spis.replace((self.spi_in, spi_out));
        self.events.push_back(SessionEvent::ChildUp(keys));
        self.child_expire = Some(now + life);
        // The initiator renews at 9/10 of the lifetime (the soft lifetime; RFC 2409 leaves
        // the margin to the implementation), so the successor is up before the hard end.
        self.rekey_at = self.initiator.then(|| now + life * 9 / 10);
        self.done_mids.push_back(self.mid);
        if self.done_mids.len() > 8 {
            self.done_mids.pop_front();
        }
        if let Some((oi, oo)) = old {
            if self.initiator {
                // The successor is up: the old pair goes now.
                self.delete_child(oi);
                self.events.push_back(SessionEvent::ChildExpired(oi, oo));
            } else {
                // Kept for the packets still in flight until the initiator's Delete, or
                // a margin after which it would have expired anyway.
                let until = now + (life / 10).max(Duration::from_secs(1));
                if let Some(((pi, po), _)) = self.old_child.replace(((oi, oo), until)) {
                    self.events.push_back(SessionEvent::ChildExpired(pi, po));
                }
            }
        }
        Some(())
    }

    /// The offered phase-1 transform that is ours (attribute order and the lifetime
    /// attributes aside), with its proposal number; the responder echoes it as offered.
    fn accept_phase1_sa(&self, sa: &Sa) -> Option<(u8, Transform)> {
        let want = canon(&self.phase1_sa().proposals[0].transforms[0].attributes);
        if sa.doi != DOI_IPSEC {
            return None;
        }
        sa.proposals.iter().find_map(|p| {
            p.transforms
                .iter()
                .find(|t| t.id == KEY_IKE && canon(&t.attributes) == want)
                .map(|t| (p.number, t.clone()))
        })
    }

    /// Main/aggressive mode message 2's SA: the chosen transform as the initiator offered it.
    fn phase1_answer(&self, chosen: (u8, Transform)) -> Sa {
        Sa {
            doi: DOI_IPSEC,
            situation: SIT_IDENTITY_ONLY,
            proposals: vec![Proposal {
                number: chosen.0,
                protocol: PROTO_ISAKMP,
                spi: Vec::new(),
                transforms: vec![chosen.1],
            }],
        }
    }

    /// Quick mode 1 (initiator), right after phase 1.
    fn start_quick(&mut self, now: Instant) -> Option<()> {
        let mut mid = [0u8; 4];
        self.rng.fill_bytes(&mut mid);
        self.mid = u32::from_be_bytes(mid).max(1);
        self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, self.mid).ok()?;
        self.rng.fill_bytes(&mut self.spi_in);
        self.qni = self.nonce();
        let mut payloads = vec![Payload::Sa(self.esp_sa()), Payload::Nonce(self.qni.clone())];
        if let Some(g) = self.cfg.pfs_group {
            let dh = KeyPair::generate(g, &mut *self.rng).ok()?;
            payloads.push(Payload::Ke(dh.public().to_vec()));
            self.qdh = Some(dh);
        }
        payloads.push(Payload::Id(Id::new(&self.cfg.local_ts, 0, 0)));
        payloads.push(Payload::Id(Id::new(&self.cfg.remote_ts, 0, 0)));
        if self.cfg.transport && self.nat.floated {
            // RFC 3947 section 5.2: NAT-OAi (our own address), NAT-OAr (the responder's).
            payloads.push(nat_oa(self.cfg.local_addr.ip()));
            payloads.push(nat_oa(self.cfg.remote_addr.ip()));
        }
        let a = self.skeyid_a();
        let hash = v1c::hash1(self.cfg.prf, &a, self.mid, &chain_to_bytes(&payloads));
        let mut all = vec![Payload::Hash(hash)];
        all.extend(payloads);
        let q1 = self.sealed(ExchangeType::QUICK, self.mid, &all)?;
        self.state = State::Quick1;
        self.wait(now, q1);
        Some(())
    }

    /// `Some(lifetime offered in seconds, if any)` when the SA is our one proposal (its
    /// lifetime attributes aside), `None` otherwise.
    fn accept_esp_sa(&self, sa: &Sa) -> Option<Option<u64>> {
        let want = self.esp_sa();
        let ok = sa.doi == DOI_IPSEC
            && sa.proposals.len() == 1
            && sa.proposals[0].protocol == PROTO_ESP
            && sa.proposals[0].spi.len() == 4
            && sa.proposals[0].transforms.len() == 1;
        if !ok {
            return None;
        }
        let (got, life) = split_life(&normalize(&sa.proposals[0].transforms[0]));
        let (mine, _) = split_life(&want.proposals[0].transforms[0]);
        (got.id == mine.id && canon(&got.attributes) == canon(&mine.attributes)).then_some(life)
    }

    /// A datagram from the peer: the UDP payload received on our port `local_port` (500, or
    /// 4500 where IKE follows the non-ESP marker; ESP and keepalives on 4500 are not ours and
    /// are dropped).
    pub fn handle_datagram(&mut self, now: Instant, local_port: u16, b: &[u8]) {
        if matches!(self.state, State::Failed | State::Closed) {
            return;
        }
        let b = if local_port == PORT_NATT {
            match b.split_first_chunk::<4>() {
                Some(([0, 0, 0, 0], rest)) if self.nat.negotiated => rest,
                _ => {
                    self.stats.dropped += 1;
                    return;
                }
            }
        } else {
            b
        };
        if let Some((rx, tx)) = &self.replay {
            if b == rx.as_slice() {
                // The peer did not get our answer: the same bytes again.
                self.stats.replays += 1;
                self.out.push_back(tx.clone());
                return;
            }
        }
        // A message that fails any check leaves the CBC chain where it was, so forged or
        // corrupted ciphertext cannot desynchronise the IV for the genuine retransmission.
        let iv = self.iv.clone();
        let floated = self.nat.floated;
        // The peer floated (RFC 3947 section 4): answer on 4500 from now on, if the message
        // passes.
        self.nat.floated |= local_port == PORT_NATT;
        self.answered = None;
        let ok = Message::parse(b).ok().and_then(|m| self.step(now, &m));
        match ok {
            Some(()) => {
                // Any authenticated message proves the peer alive (RFC 3706 section 5.3).
                if self.p1_up && self.state != State::Closed {
                    self.dpd_heard(now);
                }
                if let Some(tx) = self.answered.take() {
                    self.replay = Some((b.to_vec(), tx));
                }
            }
            None => {
                self.iv = iv;
                self.nat.floated = floated;
                self.stats.dropped += 1;
            }
        }
    }

    fn step(&mut self, now: Instant, m: &Message) -> Option<()> {
        let h = m.header;
        if self.state != State::Start && h.spi_i != self.cky_i {
            return None;
        }
        // The responder cookie is known from our M2 (responder) or the peer's M2 (initiator).
        let r_known = !(self.state == State::Start
            || self.initiator && matches!(self.state, State::Main1 | State::Aggr1));
        if r_known && h.spi_r != self.cky_r {
            return None;
        }
        let ps = m.payloads();
        let body = |t: PayloadType| find(ps, t).map(Payload::body_bytes);
        if h.exchange == ExchangeType::TRANSACTION {
            return if self.p1_up && h.is_encrypted() && self.tx != Tx::None {
                self.handle_tx(now, m)
            } else {
                None
            };
        }
        if h.exchange == ExchangeType::INFORMATIONAL {
            return if self.p1_up && h.is_encrypted() {
                self.handle_informational(now, m)
            } else {
                None
            };
        }
        match (self.initiator, self.state, h.exchange) {
            // ---------------- responder ----------------
            (false, State::Start, ExchangeType::MAIN) => {
                let Some(Payload::Sa(sa)) = find(ps, PayloadType::SA) else {
                    return None;
                };
                if h.spi_r != [0; 8] {
                    return None;
                }
                let Some(chosen) = self.accept_phase1_sa(sa) else {
                    self.fail("no acceptable phase-1 proposal");
                    return None;
                };
                self.cky_i = h.spi_i;
                self.rng.fill_bytes(&mut self.cky_r);
                self.sai_b = body(PayloadType::SA)?;
                self.nat.negotiated = self.cfg.nat_traversal && has_vid(ps, &VID_RFC3947);
                self.peer_dpd = self.cfg.dpd_interval.is_some() && has_vid(ps, &VID_DPD);
                let mut reply = vec![Payload::Sa(self.phase1_answer(chosen))];
                if self.nat.negotiated {
                    reply.push(Payload::VendorId(VID_RFC3947.to_vec()));
                }
                reply.extend(self.dpd_vid());
                let reply = self.clear(ExchangeType::MAIN, reply);
                self.state = State::Main1;
                self.answer(reply);
            }
            (false, State::Main1, ExchangeType::MAIN) if h.spi_r == self.cky_r => {
                self.gxi = body(PayloadType::KE)?;
                self.ni = body(PayloadType::NONCE)?;
                let dh = KeyPair::generate(self.cfg.group, &mut *self.rng).ok()?;
                self.gxr = dh.public().to_vec();
                self.dh = Some(dh);
                self.nr = self.nonce();
                let gxi = self.gxi.clone();
                self.derive(&gxi)?;
                self.detect_nat(ps);
                let mut reply = vec![
                    Payload::Ke(self.gxr.clone()),
                    Payload::Nonce(self.nr.clone()),
                ];
                if self.nat.negotiated {
                    reply.extend(self.nat_d_payloads());
                }
                let reply = self.clear(ExchangeType::MAIN, reply);
                self.state = State::Main3;
                self.answer(reply);
            }
            (false, State::Main3, ExchangeType::MAIN) if h.is_encrypted() => {
                let ps = self.open(m)?;
                let idii = find(&ps, PayloadType::ID)?.body_bytes();
                if find(&ps, PayloadType::HASH)?.body_bytes() != self.auth_hash(true, &idii) {
                    self.fail("HASH_I does not verify");
                    return None;
                }
                let id = Payload::Id(Id::new(&self.cfg.local_id, 17, 500));
                let hash = self.auth_hash(false, &id.body_bytes());
                let reply = self.sealed(ExchangeType::MAIN, 0, &[id, Payload::Hash(hash)])?;
                self.last_p1 = self.iv.clone();
                self.state = State::Main5;
                if self.nat.floated {
                    self.maybe_float(now);
                }
                self.answer(reply);
                self.after_phase1_server(now);
                self.phase1_up(now);
            }
            // Quick mode after phase 1, or later a rekey (a fresh message ID) by the initiator.
            (false, State::Main5 | State::Done, ExchangeType::QUICK)
                if h.is_encrypted()
                    && self.tx == Tx::None
                    && (self.state == State::Main5
                        || h.message_id != self.mid && !self.done_mids.contains(&h.message_id)) =>
            {
                self.iv = v1c::phase2_iv(self.cfg.prf, self.cfg.encr, &self.last_p1, h.message_id)
                    .ok()?;
                let ps = self.open(m)?;
                let a = self.skeyid_a();
                let rest = chain_to_bytes(ps.get(1..)?);
                if ps.first()?.ptype() != PayloadType::HASH
                    || ps[0].body_bytes() != v1c::hash1(self.cfg.prf, &a, h.message_id, &rest)
                {
                    self.iv = self.last_p1.clone();
                    return None;
                }
                let Some(Payload::Sa(sa)) = find(&ps, PayloadType::SA) else {
                    return None;
                };
                let spi_out = sa.proposals.first()?.spi.clone();
                let ke_i = find(&ps, PayloadType::KE).map(Payload::body_bytes);
                let offered = match self.accept_esp_sa(sa) {
                    Some(o) if ke_i.is_some() == self.cfg.pfs_group.is_some() => o,
                    _ => {
                        self.fail("no acceptable phase-2 proposal");
                        return None;
                    }
                };
                let ours = self.cfg.esp_lifetime.map(|d| d.as_secs());
                let Some((life, notify)) = self.cfg.proposal_check.decide(offered, ours) else {
                    self.fail("phase-2 lifetime refused by proposal-check");
                    return None;
                };
                // The reply echoes the chosen proposal as offered (RFC 2409 5.5).
                self.esp_life = offered;
                self.child_life = life;
                self.mid = h.message_id;
                self.qni = find(&ps, PayloadType::NONCE)?.body_bytes();
                self.rng.fill_bytes(&mut self.spi_in);
                let qnr = self.nonce();
                let mut payloads = vec![Payload::Sa(self.esp_sa()), Payload::Nonce(qnr.clone())];
                if let (Some(g), Some(ke)) = (self.cfg.pfs_group, ke_i) {
                    let dh = KeyPair::generate(g, &mut *self.rng).ok()?;
                    self.gqm = Some(dh.shared(&ke).ok()?);
                    payloads.push(Payload::Ke(dh.public().to_vec()));
                }
                payloads.push(Payload::Id(Id::new(&self.cfg.remote_ts, 0, 0)));
                payloads.push(Payload::Id(Id::new(&self.cfg.local_ts, 0, 0)));
                if self.cfg.transport && self.nat.floated {
                    // NAT-OAi: the initiator as we see it; NAT-OAr: ourselves.
                    payloads.push(nat_oa(self.cfg.remote_addr.ip()));
                    payloads.push(nat_oa(self.cfg.local_addr.ip()));
                    // The initiator's NAT-OAi is its original address.
                    self.peer_oa = ps
                        .iter()
                        .find(|p| p.ptype() == PayloadType::NAT_OA)
                        .and_then(nat_oa_addr);
                }
                if notify {
                    // proposal-check=claim with a shorter lifetime of ours.
                    let mut data = Vec::new();
                    emit_attributes(&life_attrs(life), &mut data);
                    payloads.push(Payload::Notify(Notify {
                        doi: DOI_IPSEC,
                        protocol: PROTO_ESP,
                        notify_type: NotifyType::RESPONDER_LIFETIME,
                        spi: spi_out.clone(),
                        data,
                    }));
                }
                let hash = v1c::hash2(
                    self.cfg.prf,
                    &a,
                    self.mid,
                    &self.qni,
                    &chain_to_bytes(&payloads),
                );
                let mut all = vec![Payload::Hash(hash)];
                all.extend(payloads);
                let reply = self.sealed(ExchangeType::QUICK, self.mid, &all)?;
                self.nr = qnr; // phase-1 Nr is no longer needed
                self.pending_out = spi_out.as_slice().try_into().ok()?;
                self.state = State::Quick2;
                self.wait(now, reply);
            }
            (false, State::Quick2, ExchangeType::QUICK) if h.message_id == self.mid => {
                let ps = self.open(m)?;
                let a = self.skeyid_a();
                let want = v1c::hash3(self.cfg.prf, &a, self.mid, &self.qni, &self.nr);
                if ps.first()?.body_bytes() != want {
                    return None;
                }
                let (spi_out, qni, qnr) =
                    (self.pending_out.to_vec(), self.qni.clone(), self.nr.clone());
                self.child(now, &spi_out, &qni, &qnr)?;
                self.state = State::Done;
                self.rt = None;
            }
            (false, State::Start, ExchangeType::AGGRESSIVE) if !h.is_encrypted() => {
                let Some(Payload::Sa(sa)) = find(ps, PayloadType::SA) else {
                    return None;
                };
                if h.spi_r != [0; 8] || !self.cfg.aggressive {
                    return None;
                }
                let Some(chosen) = self.accept_phase1_sa(sa) else {
                    self.fail("no acceptable phase-1 proposal");
                    return None;
                };
                self.gxi = body(PayloadType::KE)?;
                self.ni = body(PayloadType::NONCE)?;
                self.peer_id_b = body(PayloadType::ID)?;
                self.sai_b = body(PayloadType::SA)?;
                self.cky_i = h.spi_i;
                self.rng.fill_bytes(&mut self.cky_r);
                self.nat.negotiated = self.cfg.nat_traversal && has_vid(ps, &VID_RFC3947);
                self.peer_dpd = self.cfg.dpd_interval.is_some() && has_vid(ps, &VID_DPD);
                let dh = KeyPair::generate(self.cfg.group, &mut *self.rng).ok()?;
                self.gxr = dh.public().to_vec();
                self.dh = Some(dh);
                self.nr = self.nonce();
                let gxi = self.gxi.clone();
                self.derive(&gxi)?;
                let id = Payload::Id(Id::new(&self.cfg.local_id, 17, 500));
                let hash = self.auth_hash(false, &id.body_bytes());
                let mut reply = vec![
                    Payload::Sa(self.phase1_answer(chosen)),
                    Payload::Ke(self.gxr.clone()),
                    Payload::Nonce(self.nr.clone()),
                    id,
                    Payload::Hash(hash),
                ];
                if self.nat.negotiated {
                    reply.push(Payload::VendorId(VID_RFC3947.to_vec()));
                    reply.extend(self.nat_d_payloads());
                }
                reply.extend(self.dpd_vid());
                let reply = self.clear(ExchangeType::AGGRESSIVE, reply);
                self.state = State::Aggr1;
                // Retransmitted until HASH_I arrives (that is the exchange's last message).
                self.wait(now, reply);
            }
            (false, State::Aggr1, ExchangeType::AGGRESSIVE) if h.is_encrypted() => {
                let ps = self.open(m)?;
                let want = self.auth_hash(true, &self.peer_id_b);
                if find(&ps, PayloadType::HASH)?.body_bytes() != want {
                    self.fail("HASH_I does not verify");
                    return None;
                }
                self.detect_nat(&ps);
                self.maybe_float(now);
                self.last_p1 = self.iv.clone();
                self.state = State::Main5;
                self.rt = None;
                self.phase1_up(now);
                self.after_phase1_server(now);
            }
            // ---------------- initiator ----------------
            (true, State::Aggr1, ExchangeType::AGGRESSIVE) if !h.is_encrypted() => {
                let Some(Payload::Sa(sa)) = find(ps, PayloadType::SA) else {
                    return None;
                };
                if self.accept_phase1_sa(sa).is_none() {
                    self.fail("peer chose an unknown phase-1 proposal");
                    return None;
                }
                self.cky_r = h.spi_r;
                self.gxr = body(PayloadType::KE)?;
                self.nr = body(PayloadType::NONCE)?;
                let idir = body(PayloadType::ID)?;
                let gxr = self.gxr.clone();
                self.derive(&gxr)?;
                if body(PayloadType::HASH)? != self.auth_hash(false, &idir) {
                    self.fail("HASH_R does not verify");
                    return None;
                }
                let hash = self.auth_hash(true, &self.peer_id_b_of_self());
                self.nat.negotiated = self.cfg.nat_traversal && has_vid(ps, &VID_RFC3947);
                self.peer_dpd = self.cfg.dpd_interval.is_some() && has_vid(ps, &VID_DPD);
                self.detect_nat(ps);
                self.maybe_float(now);
                let mut a3 = vec![Payload::Hash(hash)];
                if self.nat.negotiated {
                    a3.extend(self.nat_d_payloads());
                }
                let m3 = self.sealed(ExchangeType::AGGRESSIVE, 0, &a3)?;
                self.last_p1 = self.iv.clone();
                self.phase1_up(now);
                // The last aggressive message is an answer (replayed when message 2 comes
                // again); quick mode starts at once.
                self.answer(m3);
                self.after_phase1_client(now)?;
            }
            (true, State::Main1, ExchangeType::MAIN) if !h.is_encrypted() => {
                let Some(Payload::Sa(sa)) = find(ps, PayloadType::SA) else {
                    return None;
                };
                if self.accept_phase1_sa(sa).is_none() {
                    self.fail("peer chose an unknown phase-1 proposal");
                    return None;
                }
                self.cky_r = h.spi_r;
                self.nat.negotiated = self.cfg.nat_traversal && has_vid(ps, &VID_RFC3947);
                self.peer_dpd = self.cfg.dpd_interval.is_some() && has_vid(ps, &VID_DPD);
                let dh = KeyPair::generate(self.cfg.group, &mut *self.rng).ok()?;
                self.gxi = dh.public().to_vec();
                self.dh = Some(dh);
                self.ni = self.nonce();
                let mut m3 = vec![
                    Payload::Ke(self.gxi.clone()),
                    Payload::Nonce(self.ni.clone()),
                ];
                if self.nat.negotiated {
                    m3.extend(self.nat_d_payloads());
                }
                let m3 = self.clear(ExchangeType::MAIN, m3);
                self.state = State::Main3;
                self.wait(now, m3);
            }
            (true, State::Main3, ExchangeType::MAIN) if h.spi_r == self.cky_r => {
                self.gxr = body(PayloadType::KE)?;
                self.nr = body(PayloadType::NONCE)?;
                let gxr = self.gxr.clone();
                self.derive(&gxr)?;
                self.detect_nat(ps);
                // RFC 3947 section 4: from main mode message 5 on, UDP 4500.
                self.maybe_float(now);
                let id = Payload::Id(Id::new(&self.cfg.local_id, 17, 500));
                let hash = self.auth_hash(true, &id.body_bytes());
                let m5 = self.sealed(ExchangeType::MAIN, 0, &[id, Payload::Hash(hash)])?;
                self.state = State::Main5;
                self.wait(now, m5);
            }
            (true, State::Main5, ExchangeType::MAIN) if h.is_encrypted() => {
                let ps = self.open(m)?;
                let idir = find(&ps, PayloadType::ID)?.body_bytes();
                if find(&ps, PayloadType::HASH)?.body_bytes() != self.auth_hash(false, &idir) {
                    self.fail("HASH_R does not verify");
                    return None;
                }
                self.last_p1 = self.iv.clone();
                self.phase1_up(now);
                self.after_phase1_client(now)?;
            }
            (true, State::Quick1, ExchangeType::QUICK) if h.message_id == self.mid => {
                let ps = self.open(m)?;
                let a = self.skeyid_a();
                let rest = chain_to_bytes(ps.get(1..)?);
                if ps[0].ptype() != PayloadType::HASH
                    || ps[0].body_bytes()
                        != v1c::hash2(self.cfg.prf, &a, self.mid, &self.qni, &rest)
                {
                    return None;
                }
                let Some(Payload::Sa(sa)) = find(&ps, PayloadType::SA) else {
                    return None;
                };
                let spi_out = sa.proposals.first()?.spi.clone();
                let Some(echoed) = self.accept_esp_sa(sa) else {
                    self.fail("peer chose an unknown phase-2 proposal");
                    return None;
                };
                // The responder's lifetime: what it echoed, shortened by a
                // RESPONDER-LIFETIME notification (proposal-check=claim).
                let echoed = echoed.unwrap_or(DEFAULT_LIFETIME_SECS);
                self.child_life = responder_lifetime(&ps).map_or(echoed, |r| r.min(echoed));
                if let Some(dh) = &self.qdh {
                    let ke = find(&ps, PayloadType::KE)?.body_bytes();
                    self.gqm = Some(dh.shared(&ke).ok()?);
                }
                let qnr = find(&ps, PayloadType::NONCE)?.body_bytes();
                if self.cfg.transport && self.nat.floated {
                    // The responder's NAT-OAr (the second) is its original address.
                    self.peer_oa = ps
                        .iter()
                        .filter(|p| p.ptype() == PayloadType::NAT_OA)
                        .nth(1)
                        .and_then(nat_oa_addr);
                }
                let hash = v1c::hash3(self.cfg.prf, &a, self.mid, &self.qni, &qnr);
                let q3 = self.sealed(ExchangeType::QUICK, self.mid, &[Payload::Hash(hash)])?;
                let qni = self.qni.clone();
                if spi_out.len() != 4 {
                    return None;
                }
                // The last message: replayed only when Q2 comes again. It goes before a
                // rekey's Delete of the old pair (queued by `child`), so the responder has
                // the successor before it loses the old pair.
                self.answer(q3);
                self.child(now, &spi_out, &qni, &qnr)?;
                self.state = State::Done;
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// strongSwan answers a peer that announced only a draft NAT-T vendor ID with the draft
    /// encapsulation value 61443: read as UDP-Encapsulated-Tunnel (3), anything else kept.
    #[test]
    fn draft_udp_tunnel_value_reads_as_rfc_value() {
        let t = |v| Transform {
            number: 1,
            id: ESP_AES,
            attributes: vec![
                Attribute::basic(ATTR_ENCAPSULATION_MODE, v),
                Attribute::basic(ATTR_AUTH_ALGORITHM, AUTH_HMAC_SHA1),
            ],
        };
        assert_eq!(normalize(&t(ENCAP_UDP_TUNNEL_DRAFT)), t(ENCAP_UDP_TUNNEL));
        assert_eq!(normalize(&t(ENCAP_TUNNEL)), t(ENCAP_TUNNEL));
        assert_eq!(
            normalize(&t(ENCAP_UDP_TRANSPORT_DRAFT)),
            t(ENCAP_UDP_TRANSPORT)
        );
        assert_eq!(normalize(&t(ENCAP_TRANSPORT)), t(ENCAP_TRANSPORT));
    }

    /// RFC 3947: NAT-D is the plain hash of CKY-I | CKY-R | IP | port (4 or 16 address
    /// bytes), so it changes with the port.
    #[test]
    fn nat_d_hashes_cookies_address_and_port() {
        let (i, r) = ([1u8; 8], [2u8; 8]);
        let a = nat_d(Prf::HmacSha1, &i, &r, "192.0.2.1:500".parse().unwrap());
        let mut input = vec![1u8; 8];
        input.extend([2u8; 8]);
        input.extend([192, 0, 2, 1, 0x01, 0xf4]);
        assert_eq!(a, v1c::hash(Prf::HmacSha1, &[&input]).unwrap());
        assert_eq!(a.len(), 20);
        assert_ne!(
            a,
            nat_d(Prf::HmacSha1, &i, &r, "192.0.2.1:4500".parse().unwrap())
        );
        let v6 = nat_d(
            Prf::HmacSha256,
            &i,
            &r,
            "[2001:db8::1]:500".parse().unwrap(),
        );
        assert_eq!(v6.len(), 32);
    }
}
