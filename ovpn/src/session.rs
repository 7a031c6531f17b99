//! One OpenVPN session (client or server side of one peer): control channel, TLS, key
//! method 2, cipher negotiation, data channel, keepalive and renegotiation.
//!
//! # Driving contract (quinn-proto style)
//!
//! * Inputs: [`Session::connect`] (client), [`Session::handle_input`] for every packet from
//!   the peer (one UDP datagram, or one de-framed TCP packet), [`Session::handle_timeout`]
//!   when the deadline of [`Session::poll_timeout`] passes, [`Session::send_data`] to
//!   encrypt a tunnel packet, [`Session::close`].
//! * Outputs, polled after every input until `None`: [`Session::poll_transmit`] (packets to
//!   send; over TCP frame each with [`crate::wire::tcp::frame`]), [`Session::poll_event`],
//!   then [`Session::poll_timeout`].
//! * `now` must never go backwards. The session never reads a clock or the OS RNG: both
//!   are injected.
//!
//! ```text
//!  Client                                      Server
//!  Start --HARD_RESET_CLIENT_V2(kid0,mid0)-->  (session created; with the stateless
//!        <--HARD_RESET_SERVER_V2(ack0,mid0)--   handshake only at the next packet,
//!                                               see crate::cookie)
//!  Tls   --CONTROL_V1(ack0, ClientHello)---->  Tls
//!        <--CONTROL_V1(ServerHello..Finished)  (split to tls-mtu, acked, retransmitted)
//!        --CONTROL_V1(Finished) ------------>
//!  Km2   --[TLS] key method 2 (pre_master, randoms, options, user, pass, peer-info)-->
//!        <--[TLS] key method 2 (randoms, options, peer-info)--
//!  Push  --[TLS] PUSH_REQUEST -------------->  auth hook, cipher choice
//!        <--[TLS] PUSH_REPLY,cipher X,peer-id N,key-derivation tls-ekm,...
//!  Up    <==== P_DATA_V2(peer-id N, kid0) ====> (keys: TLS-EKM or OpenVPN PRF)
//!  ... reneg-sec later: SOFT_RESET(kid1) both ways, new TLS handshake on kid1, new keys;
//!  kid0 still decrypts for the transition window.
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use crate::crypto::{Digest, KeyDirection, StaticKey};
use crate::data::{Cipher, Compression, DataKey};
use crate::error::{CryptoError, Error};
use crate::event::{DownReason, DropReason, Event};
use crate::fragment::{self, FragHeader, FragKind, Reassembler, FRAG_HEADER_LEN};
use crate::keymethod::{self, KeyMethod2, KeySource, PeerInfo};
use crate::occ::{self, OccMessage};
use crate::protect::{
    split_wkc, ControlCrypto, ControlWrap, TlsAuth, TlsCrypt, TlsCryptV2ClientKey,
    TlsCryptV2ServerKey,
};
use crate::push::ControlMessage;
use crate::reliable::{Reliable, ReliableConfig};
use crate::tls::{TlsEngine, TlsError};
use crate::wire::{
    self, parse_early_neg, split_first_byte, write_data_header, AckList, ControlPacket, DataPacket,
    Opcode, SessionId, EARLY_NEG_FLAG_RESEND_WKC, EARLY_NEG_START,
};

/// RFC 5705 exporter label of the dyn-tls-crypt key.
const DYN_TLS_CRYPT_LABEL: &[u8] = b"EXPORTER-OpenVPN-dynamic-tls-crypt";

/// The 16-byte keepalive payload (OpenVPN `ping_string`).
pub const PING_MAGIC: [u8; 16] = [
    0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
];
/// Send packet id at which a renegotiation starts (OpenVPN's `PACKET_ID_WRAP_TRIGGER`).
pub const PACKET_ID_RENEG: u32 = 0xFF00_0000;
/// Label for the p2p peer id exporter (OpenVPN 2.6 p2p NCP).
pub const EKM_P2P_PEERID_LABEL: &[u8] = b"EXPORTER-OpenVPN-p2p-peerid";

/// Which end of the TLS/OpenVPN session this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// TLS client; sends the hard reset and the pre-master secret.
    Client,
    /// TLS server.
    Server,
}

/// Control-channel protection configuration.
#[derive(Clone, Debug, Default)]
pub enum WrapConfig {
    /// No protection.
    #[default]
    None,
    /// tls-auth with a static key, its direction and digest.
    TlsAuth {
        /// The static key.
        key: StaticKey,
        /// Key direction of this side (client usually 1 = Inverse, server 0 = Normal).
        direction: KeyDirection,
        /// HMAC digest (`auth`).
        digest: Digest,
    },
    /// tls-crypt (direction follows the role; `key-direction` is ignored).
    TlsCrypt {
        /// The static key.
        key: StaticKey,
    },
    /// tls-crypt-v2, client side.
    TlsCryptV2Client {
        /// Client key with its WKc.
        key: TlsCryptV2ClientKey,
    },
    /// tls-crypt-v2, server side.
    TlsCryptV2Server {
        /// Server key used to unwrap client keys.
        key: TlsCryptV2ServerKey,
    },
}

/// Session parameters (one OpenVPN peer). Build from [`crate::config`] or directly.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Client or server.
    pub role: Role,
    /// Control-channel protection.
    pub wrap: WrapConfig,
    /// NCP cipher list (`data-ciphers`); empty disables negotiation (RouterOS style).
    pub data_ciphers: Vec<Cipher>,
    /// Fixed cipher when nothing is negotiated (RouterOS `cipher`, OpenVPN
    /// `data-ciphers-fallback`).
    pub cipher: Cipher,
    /// Server: ciphers accepted from non-NCP clients (RouterOS server `cipher` set).
    pub accepted_ciphers: Vec<Cipher>,
    /// Data-channel HMAC for CBC ciphers (`auth`).
    pub auth: Digest,
    /// Client: ask for and apply a PUSH_REPLY. Server: answer PUSH_REQUEST. When false, both
    /// sides run OpenVPN's p2p negotiation (tls-client/tls-server without pull).
    pub pull: bool,
    /// Client credentials (username, password); RouterOS always sends them.
    pub credentials: Option<(String, String)>,
    /// Renegotiation interval (`reneg-sec`), `None` = never initiate.
    pub reneg: Option<Duration>,
    /// Keepalive send interval (`ping`).
    pub ping: Option<Duration>,
    /// Restart when nothing arrives for this long (`ping-restart`; RouterOS
    /// `keepalive-timeout`).
    pub ping_restart: Option<Duration>,
    /// Key exchange must finish within this (`hand-window`, 60 s).
    pub hand_window: Duration,
    /// Old key kept for this long after a rekey (`transition-window`, 60 s).
    pub transition_window: Duration,
    /// Largest TLS payload per control packet (`tls-mtu`, 1250).
    pub tls_mtu: usize,
    /// Reliability layer parameters.
    pub reliable: ReliableConfig,
    /// Data-channel replay window (`replay-window`, 64).
    pub replay_window: u32,
    /// Wall-clock Unix time (seconds) at the `now` passed to the constructor; used for the
    /// control channel's net time field and, advanced by the monotonic time since, as the
    /// time certificates must be valid at ([`crate::tls::TlsEngine::set_unix_time`]).
    /// 0 (the default) = unknown: the rustls engine then refuses every handshake.
    pub unix_time: u64,
    /// Allow TLS-EKM key derivation when the peer supports it.
    pub allow_ekm: bool,
    /// Server: options added to PUSH_REPLY (ifconfig, route, dhcp-option, ...).
    pub push_options: Vec<String>,
    /// Server: peer id assigned to this client (pushed; enables P_DATA_V2).
    pub peer_id: Option<u32>,
    /// OCC options string sent in key method 2.
    pub options_string: String,
    /// Client: ignore pushed routes (`route-nopull`).
    pub route_nopull: bool,
    /// Compression framing on data packets (`comp-lzo no` / `compress stub` /
    /// `compress stub-v2`), for peers configured with it; compression itself is never done.
    /// A client also follows a pushed `comp-lzo`/`compress`; a server pushes its setting.
    pub compression: Compression,
    /// `explicit-exit-notify n`: on [`Session::close`] tell the peer, so it drops the session
    /// at once instead of waiting for `ping-restart`: `EXIT` on the control channel when the
    /// peer supports it (IV_PROTO cc-exit bit, or pushed `protocol-flags cc-exit`), else an
    /// OCC EXIT on the data channel, sent `n` times one second apart (OpenVPN's retries).
    /// 0 = off (OpenVPN's default; the control-channel `EXIT` is still sent when supported).
    pub explicit_exit_notify: u32,
    /// Server: `auth-gen-token`: after a successful authentication push an `auth-token`
    /// (HMAC-signed: first-authentication time, issue time) and accept it instead of the
    /// password on renegotiations and reconnects; every renegotiation pushes a renewed one.
    pub auth_gen_token: bool,
    /// `auth-gen-token` *lifetime*: a token is refused (`AUTH_FAILED`; the password is
    /// needed again) this long after the password authentication it descends from.
    /// `None` = never expires (OpenVPN's 0).
    pub auth_token_lifetime: Option<Duration>,
    /// `auth-gen-token` *renewal-time* (default `reneg-sec`): a fresh token is pushed this
    /// often (besides at every renegotiation), and a token not renewed for twice this long
    /// is refused.
    pub auth_token_renewal: Option<Duration>,
    /// Server: do not answer the first `PUSH_REQUEST` at once but report
    /// [`Event::PushRequested`] and wait for [`Session::push_reply`] with the options
    /// decided then (address from a pool, per-user routes, a RADIUS answer: OpenVPN's
    /// deferred client-connect). Set by [`crate::server::Server::set_pool`].
    pub defer_push: bool,
    /// Key signing the tokens; give every session of a server the same one (random per
    /// server instance) so tokens also work across reconnects. `None` = a random key per
    /// session.
    pub auth_token_key: Option<AuthTokenKey>,
    /// Announce (IV_PROTO bit 7) and use `EXIT` on the control channel (OpenVPN 2.6
    /// "cc-exit", default on). Off behaves like an older peer: exit notification then goes
    /// through OCC EXIT on the data channel.
    pub cc_exit: bool,
    /// tls-crypt-v2 client: announce early negotiation (first control replay id
    /// `0x0f000000`, OpenVPN 2.6) so a server can answer statelessly (HMAC cookie) and ask
    /// for the WKc again (`EARLY_NEG_FLAG_RESEND_WKC`); the first `P_CONTROL_V1` then goes
    /// as `P_CONTROL_WKC_V1` with the WKc appended. Default on.
    pub early_negotiation: bool,
    /// dyn-tls-crypt (OpenVPN 2.6): announce it (IV_PROTO bit 9); when both ends support it
    /// (pushed `protocol-flags dyn-tls-crypt`, or both peer infos in p2p mode), the control
    /// channel of every renegotiation (key ids > 0) is tls-crypt-protected with a key
    /// exported from the first TLS session. Default on.
    pub dyn_tls_crypt: bool,
    /// `fragment max`: OpenVPN's own fragmentation of data-channel packets into datagrams
    /// of at most `max` bytes (every payload then carries a 4-byte fragment header; both
    /// ends must agree). `None` (default) = off; RouterOS has no such setting.
    pub fragment: Option<u16>,
    /// Data-channel AEAD backend ([`crate::data::AeadProvider`]) for AES-GCM and
    /// ChaCha20-Poly1305; `None` (default) = the built-in ring/RustCrypto code. Not a RouterOS
    /// property: an embedding choice, like rustls's `CryptoProvider`.
    pub aead_provider: Option<std::sync::Arc<dyn crate::data::AeadProvider>>,
    /// When the [`SessionConfig::aead_provider`] declines the negotiated cipher: `true` =
    /// use the built-in code and report it ([`Event::AeadFallback`]); `false` (default) =
    /// the data channel does not come up (`Down(Crypto)`), so a provider the embedder
    /// relies on (FIPS module, offload) is never bypassed silently.
    pub aead_fallback: bool,
    /// Device type (RouterOS `mode`: ip = tun, ethernet = tap): the OCC options string's
    /// `dev-type` and the frame allowance of [`Session::send_data`].
    pub mode: crate::config::Mode,
    /// Transport (RouterOS `protocol`): the OCC options string's `proto` and `link-mtu`.
    pub transport: crate::config::Protocol,
    /// Tunnel MTU (RouterOS `max-mtu`, OpenVPN `tun-mtu`, 1500): the OCC options string's
    /// `tun-mtu`/`link-mtu`, and the largest payload [`Session::send_data`] takes (plus the
    /// 14-byte Ethernet header in tap mode).
    pub tun_mtu: u16,
    /// Renegotiate when the data channel's send packet id reaches this (OpenVPN:
    /// `0xFF000000`, well before the 32-bit wrap), whatever `reneg-sec` says. Lower it
    /// only to test.
    pub packet_id_reneg: u32,
    /// Client: keep pushed `dhcp-option DNS` servers in [`Event::Pushed`] (RouterOS
    /// `use-peer-dns`; `SessionConfig::new` keeps them like OpenVPN, the RouterOS client
    /// config does not).
    pub use_peer_dns: bool,
    /// Server: data-channel HMACs accepted from clients with a fixed CBC cipher (RouterOS
    /// server `auth` set); the client's choice (its options string's `auth`) is used. Empty
    /// = only [`SessionConfig::auth`].
    pub accepted_auths: Vec<crate::crypto::Digest>,
    /// Server: the PPP profile name handed to the credential hook and in
    /// [`Event::PushRequested`] (RouterOS server `default-profile`, client `profile`).
    pub profile: String,
    /// Server: how the credential backend should check passwords (RouterOS
    /// `user-auth-method`), handed to the credential hook in [`AuthRequest`].
    pub user_auth_method: crate::config::UserAuthMethod,
    /// Server with tls-crypt-v2: the check of each client key's metadata (OpenVPN
    /// `--tls-crypt-v2-verify`); a refused key gets no answer
    /// ([`crate::event::DropReason::TlsCryptV2Rejected`]).
    pub tls_crypt_v2_verify: Option<crate::protect::TlsCryptV2Verify>,
}

impl SessionConfig {
    /// Defaults for a role (OpenVPN 2.6 timers, no protection, AES-256-GCM NCP list).
    pub fn new(role: Role) -> Self {
        SessionConfig {
            role,
            wrap: WrapConfig::None,
            data_ciphers: vec![
                Cipher::Aes256Gcm,
                Cipher::Aes128Gcm,
                Cipher::ChaCha20Poly1305,
            ],
            cipher: Cipher::Aes256Gcm,
            accepted_ciphers: Vec::new(),
            auth: Digest::Sha1,
            pull: true,
            credentials: None,
            reneg: None,
            ping: Some(Duration::from_secs(10)),
            ping_restart: Some(Duration::from_secs(60)),
            hand_window: Duration::from_secs(60),
            transition_window: Duration::from_secs(60),
            tls_mtu: 1250,
            reliable: ReliableConfig::default(),
            replay_window: 64,
            unix_time: 0,
            allow_ekm: true,
            push_options: Vec::new(),
            peer_id: None,
            options_string: String::new(),
            route_nopull: false,
            compression: Compression::None,
            explicit_exit_notify: 0,
            auth_gen_token: false,
            auth_token_lifetime: None,
            auth_token_renewal: None,
            auth_token_key: None,
            defer_push: false,
            cc_exit: true,
            early_negotiation: true,
            dyn_tls_crypt: true,
            fragment: None,
            aead_provider: None,
            aead_fallback: false,
            mode: crate::config::Mode::Ip,
            transport: crate::config::Protocol::Udp,
            tun_mtu: 1500,
            packet_id_reneg: PACKET_ID_RENEG,
            use_peer_dns: true,
            accepted_auths: Vec::new(),
            profile: "default".into(),
            user_auth_method: crate::config::UserAuthMethod::Pap,
            tls_crypt_v2_verify: None,
        }
    }
}

/// The server's `auth-gen-token` signing key (32 bytes; not printed by `Debug`).
#[derive(Clone)]
pub struct AuthTokenKey(pub [u8; 32]);

impl core::fmt::Debug for AuthTokenKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AuthTokenKey(..)")
    }
}

impl Drop for AuthTokenKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl AuthTokenKey {
    /// A random key from the caller's RNG.
    pub fn random(rng: &mut dyn CryptoRngCore) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        AuthTokenKey(k)
    }
}

/// What a password field holds, for a server with `auth-gen-token`.
enum TokenCheck {
    /// One of our tokens, valid; the time of the password authentication it descends from.
    Valid { initial: u64 },
    /// One of our tokens, past its lifetime or not renewed in time.
    Expired,
    /// Not one of our tokens: a password.
    Password,
}

/// Creates a fresh TLS engine for each key id (renegotiation runs a new handshake).
pub type TlsFactory = Box<dyn FnMut() -> Result<Box<dyn TlsEngine>, TlsError> + Send>;
/// Server-side credential check (RouterOS: /ppp secret, RADIUS): `true` accepts.
pub type AuthHook = Box<dyn FnMut(&AuthRequest<'_>) -> bool + Send>;

/// What the credential hook is asked (server side, once per authentication).
#[derive(Clone, Copy, Debug)]
pub struct AuthRequest<'a> {
    /// The username the client sent (empty if none).
    pub username: &'a str,
    /// The password (or a token that is not one of ours).
    pub password: &'a str,
    /// The PPP profile of this server (RouterOS `default-profile`).
    pub profile: &'a str,
    /// How the backend should check the password (RouterOS `user-auth-method`).
    pub method: crate::config::UserAuthMethod,
    /// The key id being authenticated (0 = the first; others are renegotiations).
    pub key_id: u8,
}

/// What [`Session::handle_input`] did with a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A control packet was processed.
    Control,
    /// A tunnel packet of this many bytes was decrypted into the caller's buffer.
    Data(usize),
    /// A keepalive ping arrived (not for the tunnel).
    Ping,
    /// The packet was dropped (counted); the session is unaffected.
    Dropped(DropReason),
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Control packets sent.
    pub control_tx: u64,
    /// Control packets accepted.
    pub control_rx: u64,
    /// Data packets sent (including pings).
    pub data_tx: u64,
    /// Data packets accepted (including pings).
    pub data_rx: u64,
    /// Packets dropped (bad HMAC/tag, replay, malformed, unknown session/key).
    pub dropped: u64,
    /// Control retransmissions.
    pub retransmits: u64,
    /// Completed renegotiations.
    pub rekeys: u64,
    /// Tunnel payload bytes sent (IP packets / Ethernet frames given to `send_data`;
    /// not keepalives or OCC): the accounting counter.
    pub tunnel_tx_bytes: u64,
    /// Tunnel payload bytes received (delivered as `Input::Data`).
    pub tunnel_rx_bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Negotiated {
    cipher: Cipher,
    /// Data-channel HMAC (CBC ciphers).
    auth: Digest,
    ekm: bool,
    /// Peer id for P_DATA_V2, `None` = P_DATA_V1.
    peer_id: Option<u32>,
}

struct KeyState {
    key_id: u8,
    rel: Reliable,
    tls: Box<dyn TlsEngine>,
    reset_received: bool,
    reset_reply_queued: bool,
    plain_in: Vec<u8>,
    local_src: Option<KeySource>,
    remote: Option<KeyMethod2>,
    km2_sent: bool,
    tls_reported: bool,
    data: Option<DataKey>,
    started: Instant,
    expires: Option<Instant>,
}

/// One OpenVPN session. See the module docs for the driving contract.
pub struct Session {
    cfg: SessionConfig,
    rng: Box<dyn CryptoRngCore + Send>,
    tls_factory: TlsFactory,
    auth_hook: Option<AuthHook>,
    crypto: ControlCrypto,
    v2_server_key: Option<TlsCryptV2ServerKey>,
    local_sid: SessionId,
    remote_sid: Option<SessionId>,
    keys: Vec<KeyState>,
    /// Index of the key used for sending data.
    primary: Option<u8>,
    neg: Option<Negotiated>,
    peer_info: Option<PeerInfo>,
    pushed: bool,
    push_request_at: Option<Instant>,
    start: Instant,
    last_rx: Instant,
    last_tx: Instant,
    next_reneg: Option<Instant>,
    events: VecDeque<Event>,
    down: bool,
    auth_failed: bool,
    stats: Stats,
    scratch: Vec<u8>,
    username: Option<String>,
    /// Compression framing in use (config, or pushed).
    comp: Compression,
    /// The peer takes `EXIT` on the control channel (pushed `protocol-flags cc-exit`).
    cc_exit_pushed: bool,
    /// Client: token received to send instead of the password; server: token issued.
    auth_token: Option<String>,
    /// Server: the token signing key, the wall time of the password authentication the
    /// current token descends from, and when the next periodic renewal is due.
    token_key: AuthTokenKey,
    token_initial: u64,
    token_renew_at: Option<Instant>,
    /// Closing with explicit-exit-notify: OCC EXITs left to send, and when the next goes.
    exiting: Option<(u32, Instant)>,
    /// Sealed data-channel packets waiting for `poll_transmit` (OCC replies, OCC EXIT).
    pending_data: VecDeque<Vec<u8>>,
    /// tls-crypt-v2 client: the server's reset asked for the WKc again.
    resend_wkc: bool,
    /// The tls-crypt key in use for key id 0 (tls-crypt, or the tls-crypt-v2 client key):
    /// dyn-tls-crypt XORs it into the exported key.
    tls_crypt_key: Option<StaticKey>,
    /// dyn-tls-crypt agreed (pushed, or both peer infos).
    dyn_agreed: bool,
    /// Server after `send_restart`: down when acked or at this time.
    closing: Option<Instant>,
    /// Server with `defer_push`: the key index the pending PUSH_REQUEST came on.
    push_pending: Option<usize>,
    /// `fragment`: next sequence id, reassembly state, piece buffer.
    frag_seq: u8,
    reasm: Option<Reassembler>,
    frag_buf: Vec<u8>,
    /// The key id whose packet ids ran close to the wrap (a renegotiation was started).
    packet_id_reneg_due: Option<u8>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.cfg.role)
            .field(
                "keys",
                &self.keys.iter().map(|k| k.key_id).collect::<Vec<_>>(),
            )
            .field("primary", &self.primary)
            .field("stats", &self.stats)
            .finish()
    }
}

/// The send packet id of key `kid`'s data key.
fn ks_next_pid(keys: &[KeyState], kid: u8) -> Option<u32> {
    keys.iter()
        .find(|k| k.key_id == kid)
        .and_then(|k| k.data.as_ref())
        .map(DataKey::next_packet_id)
}

fn next_key_id(k: u8) -> u8 {
    if k >= 7 {
        1
    } else {
        k + 1
    }
}

impl Session {
    /// New session. Clients then call [`Session::connect`]; servers feed the client's first
    /// packet to [`Session::handle_input`] (see [`crate::server::Server`] for many clients).
    pub fn new(
        cfg: SessionConfig,
        now: Instant,
        mut rng: Box<dyn CryptoRngCore + Send>,
        tls_factory: TlsFactory,
        auth_hook: Option<AuthHook>,
    ) -> Result<Self, Error> {
        let server = cfg.role == Role::Server;
        let mut v2_server_key = None;
        let mut wkc = None;
        let wrap = match &cfg.wrap {
            WrapConfig::None => ControlWrap::None,
            WrapConfig::TlsAuth {
                key,
                direction,
                digest,
            } => ControlWrap::Auth(TlsAuth::new(key, *direction, *digest)?),
            WrapConfig::TlsCrypt { key } => ControlWrap::Crypt(TlsCrypt::new(key, server)),
            WrapConfig::TlsCryptV2Client { key } => {
                wkc = Some(key.wkc.clone());
                ControlWrap::Crypt(TlsCrypt::new(&key.key, false))
            }
            WrapConfig::TlsCryptV2Server { key } => {
                v2_server_key = Some(key.clone());
                ControlWrap::None
            }
        };
        let tls_crypt_key = match &cfg.wrap {
            WrapConfig::TlsCrypt { key } => Some(key.clone()),
            WrapConfig::TlsCryptV2Client { key } => Some(key.key.clone()),
            _ => None,
        };
        let early_neg = cfg.early_negotiation && wkc.is_some();
        let mut crypto = ControlCrypto::new(wrap, if early_neg { EARLY_NEG_START } else { 1 });
        crypto.wkc = wkc;
        let comp = cfg.compression;
        let token_key = match &cfg.auth_token_key {
            Some(k) => k.clone(),
            None => AuthTokenKey::random(&mut *rng),
        };
        let mut local_sid = [0u8; 8];
        rng.fill_bytes(&mut local_sid);
        let mut s = Session {
            cfg,
            rng,
            tls_factory,
            auth_hook,
            crypto,
            v2_server_key,
            local_sid,
            remote_sid: None,
            keys: Vec::new(),
            primary: None,
            neg: None,
            peer_info: None,
            pushed: false,
            push_request_at: None,
            start: now,
            last_rx: now,
            last_tx: now,
            next_reneg: None,
            events: VecDeque::new(),
            down: false,
            auth_failed: false,
            stats: Stats::default(),
            scratch: vec![0u8; 4096],
            comp,
            cc_exit_pushed: false,
            auth_token: None,
            token_key,
            token_initial: 0,
            token_renew_at: None,
            exiting: None,
            pending_data: VecDeque::new(),
            resend_wkc: false,
            tls_crypt_key,
            dyn_agreed: false,
            closing: None,
            push_pending: None,
            frag_seq: 0,
            reasm: None,
            frag_buf: Vec::new(),
            packet_id_reneg_due: None,
            username: None,
        };
        if server {
            s.new_key(0, now)?;
        }
        Ok(s)
    }

    fn new_key(&mut self, key_id: u8, now: Instant) -> Result<(), Error> {
        let tls = (self.tls_factory)().map_err(|e| Error::Tls(e.0))?;
        self.keys.push(KeyState {
            key_id,
            rel: Reliable::new(self.cfg.reliable),
            tls,
            reset_received: false,
            reset_reply_queued: false,
            plain_in: Vec::new(),
            local_src: None,
            remote: None,
            km2_sent: false,
            tls_reported: false,
            data: None,
            started: now,
            expires: None,
        });
        Ok(())
    }

    /// Client: start the session (queues the hard reset).
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        if self.cfg.role != Role::Client || !self.keys.is_empty() {
            return Err(Error::State("connect() is for a fresh client session"));
        }
        self.new_key(0, now)?;
        let op = if self.crypto.wkc.is_some() {
            Opcode::ControlHardResetClientV3
        } else {
            Opcode::ControlHardResetClientV2
        };
        if let Some(k) = self.keys.first_mut() {
            k.rel.queue(op, Vec::new());
            k.reset_reply_queued = true;
        }
        Ok(())
    }

    /// Whether renegotiations use dyn-tls-crypt (agreed with the peer and installed).
    pub fn dynamic_tls_crypt(&self) -> bool {
        self.crypto.dynamic_tls_crypt()
    }

    /// Our session id.
    pub fn local_session_id(&self) -> SessionId {
        self.local_sid
    }

    /// The peer's session id, once known.
    pub fn remote_session_id(&self) -> Option<SessionId> {
        self.remote_sid
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.retransmits = self.keys.iter().map(|k| k.rel.retransmits()).sum::<u64>();
        s
    }

    /// Whether the data channel can send.
    pub fn is_up(&self) -> bool {
        self.primary.is_some() && !self.down
    }

    /// Whether the session ended.
    pub fn is_down(&self) -> bool {
        self.down
    }

    /// Negotiated data cipher, once up.
    pub fn cipher(&self) -> Option<Cipher> {
        self.neg.map(|n| n.cipher)
    }

    /// Key id currently used for sending.
    pub fn primary_key_id(&self) -> Option<u8> {
        self.primary
    }

    /// Peer id used in P_DATA_V2.
    pub fn peer_id(&self) -> Option<u32> {
        self.neg.and_then(|n| n.peer_id)
    }

    /// The current auth-token: client, the last one pushed (sent instead of the password
    /// from then on); server, the last one issued.
    pub fn auth_token(&self) -> Option<&str> {
        self.auth_token.as_deref()
    }

    /// Username the client presented (server side).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.poll_event_untraced();
        trace_event!("ovpn::session", &e);
        e
    }

    fn poll_event_untraced(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the peer's IV_PROTO has `bit`.
    fn peer_has(&self, bit: u32) -> bool {
        self.peer_info
            .as_ref()
            .is_some_and(|p| p.iv_proto() & bit != 0)
    }

    /// Wall-clock Unix seconds at `now` (0 when the caller did not give `unix_time`).
    fn wall_time(&self, now: Instant) -> u64 {
        if self.cfg.unix_time == 0 {
            return 0;
        }
        self.cfg.unix_time + now.saturating_duration_since(self.start).as_secs()
    }

    fn net_time(&self, now: Instant) -> u32 {
        (self.cfg.unix_time + now.saturating_duration_since(self.start).as_secs()) as u32
    }

    fn go_down(&mut self, r: DownReason) {
        if !self.down {
            self.down = true;
            self.events.push_back(Event::Down(r));
        }
    }

    fn drop_pkt(&mut self, why: impl Into<DropReason>) -> Input {
        self.stats.dropped += 1;
        Input::Dropped(why.into())
    }

    /// Process one packet from the peer. Tunnel payloads are decrypted into `out`
    /// (`out` must hold the packet length; with `fragment`, the largest reassembled packet
    /// too, e.g. the tunnel MTU). Bad packets are dropped and counted.
    pub fn handle_input(&mut self, now: Instant, packet: &[u8], out: &mut [u8]) -> Input {
        if self.down {
            return self.drop_pkt(DropReason::SessionDown);
        }
        let (op, kid) = match split_first_byte(packet) {
            Ok(x) => x,
            Err(e) => return self.drop_pkt(e),
        };
        if op.is_data() {
            return self.handle_data(now, packet, kid, out);
        }
        match self.handle_control(now, packet) {
            Ok(()) => {
                self.stats.control_rx += 1;
                self.last_rx = now;
                self.pump(now);
                self.check_closing(now);
                Input::Control
            }
            Err(e) => self.drop_pkt(e),
        }
    }

    fn handle_data(&mut self, now: Instant, packet: &[u8], kid: u8, out: &mut [u8]) -> Input {
        let d = match DataPacket::parse(packet) {
            Ok(d) => d,
            Err(e) => return self.drop_pkt(e),
        };
        if let (Some(pid), Some(n)) = (d.peer_id, self.neg) {
            if n.peer_id.is_some_and(|p| p != pid) {
                return self.drop_pkt(DropReason::UnknownPeerId(pid));
            }
        }
        let h = d.header_len();
        let Some(ks) = self
            .keys
            .iter_mut()
            .find(|k| k.key_id == kid && k.data.is_some())
        else {
            return self.drop_pkt(DropReason::NoDataKey { key_id: kid });
        };
        let Some(dk) = ks.data.as_mut() else {
            return self.drop_pkt(DropReason::NoDataKey { key_id: kid });
        };
        match dk.decrypt(packet, h, out) {
            Ok(n) => {
                self.stats.data_rx += 1;
                self.last_rx = now;
                let n = match self.defragment(n, out) {
                    Ok(Some(n)) => n,
                    Ok(None) => return Input::Control,
                    Err(e) => return self.drop_pkt(e),
                };
                let n = match self.comp.unframe(out, n) {
                    Ok(n) => n,
                    Err(e) => return self.drop_pkt(e),
                };
                let payload = out.get(..n).unwrap_or_default();
                if payload == PING_MAGIC {
                    Input::Ping
                } else if let Some(m) = OccMessage::parse(payload) {
                    match m {
                        Ok(m) => {
                            let m = match m {
                                OccMessage::Request => Some(OccMessage::Request),
                                OccMessage::Exit => Some(OccMessage::Exit),
                                OccMessage::Reply(o) => {
                                    let warnings = occ::options_warnings(&self.options_string(), o);
                                    self.events.push_back(Event::OccReply {
                                        options: o.to_string(),
                                        warnings,
                                    });
                                    None
                                }
                                _ => None,
                            };
                            self.on_occ(now, m);
                            Input::Control
                        }
                        Err(e) => self.drop_pkt(e),
                    }
                } else {
                    self.stats.tunnel_rx_bytes += n as u64;
                    Input::Data(n)
                }
            }
            Err(e) => self.drop_pkt(e),
        }
    }

    fn handle_control(&mut self, now: Instant, packet: &[u8]) -> Result<(), DropReason> {
        let (op, kid) = split_first_byte(packet)?;
        let mut body = packet;
        if matches!(op, Opcode::ControlHardResetClientV3 | Opcode::ControlWkcV1) {
            let (p, wkc) = split_wkc(packet)?;
            body = p;
            if let Some(sk) = &self.v2_server_key {
                if matches!(self.crypto.wrap, ControlWrap::None) {
                    let (kc, meta) = sk.unwrap(wkc)?;
                    if let Some(v) = &self.cfg.tls_crypt_v2_verify {
                        if !v.check(&meta) {
                            return Err(DropReason::TlsCryptV2Rejected);
                        }
                    }
                    self.crypto.wrap = ControlWrap::Crypt(TlsCrypt::new(&kc, true));
                    self.tls_crypt_key = Some(kc);
                }
            }
        } else if self.v2_server_key.is_some() && matches!(self.crypto.wrap, ControlWrap::None) {
            return Err(DropReason::TlsCryptV2KeyMissing);
        }
        if self.scratch.len() < body.len() {
            self.scratch.resize(body.len(), 0);
        }
        let n = self.crypto.open(body, &mut self.scratch)?;
        let plain = self.scratch.get(..n).unwrap_or(&[]).to_vec();
        let p = ControlPacket::parse(&plain)?;
        match self.remote_sid {
            Some(r) if r != p.session_id => {
                return Err(DropReason::ForeignSessionId {
                    opcode: p.opcode,
                    key_id: p.key_id,
                })
            }
            Some(_) => {}
            None => {
                let ok = match self.cfg.role {
                    Role::Server => matches!(
                        op,
                        Opcode::ControlHardResetClientV2 | Opcode::ControlHardResetClientV3
                    ),
                    Role::Client => op == Opcode::ControlHardResetServerV2,
                };
                if !ok {
                    return Err(DropReason::BeforeHardReset(op));
                }
                self.remote_sid = Some(p.session_id);
            }
        }
        if let Some(r) = p.remote_session_id {
            if r != self.local_sid {
                return Err(DropReason::ForeignAcks);
            }
        }
        if !self.keys.iter().any(|k| k.key_id == kid) {
            if op == Opcode::ControlSoftResetV1 && kid != 0 && self.primary.is_some() {
                if let Err(e) = self.new_key(kid, now) {
                    // Our TLS factory failed: a local problem, not the peer's.
                    self.go_down(DownReason::Tls(e.to_string()));
                    return Ok(());
                }
            } else {
                return Err(DropReason::UnknownKeyId { key_id: kid });
            }
        }
        let wall = self.wall_time(now);
        let ks = self
            .keys
            .iter_mut()
            .find(|k| k.key_id == kid)
            .ok_or(DropReason::UnknownKeyId { key_id: kid })?;
        ks.rel.on_acks(p.acks.as_slice());
        if let Some(mid) = p.message_id {
            ks.rel.receive(mid, op, p.payload);
        }
        let mut tls_err = None;
        let mut early_flags = None;
        while let Some((mop, payload)) = ks.rel.pop_ready() {
            if mop == Opcode::ControlHardResetServerV2 && !payload.is_empty() {
                early_flags = Some(parse_early_neg(&payload));
            }
            match mop {
                Opcode::ControlHardResetClientV2
                | Opcode::ControlHardResetClientV3
                | Opcode::ControlHardResetServerV2
                | Opcode::ControlSoftResetV1 => {
                    ks.reset_received = true;
                    if !ks.reset_reply_queued {
                        let reply = if mop == Opcode::ControlSoftResetV1 {
                            Opcode::ControlSoftResetV1
                        } else {
                            Opcode::ControlHardResetServerV2
                        };
                        ks.rel.queue(reply, Vec::new());
                        ks.reset_reply_queued = true;
                    }
                }
                Opcode::ControlV1 | Opcode::ControlWkcV1 => {
                    ks.tls.set_unix_time(wall);
                    if let Err(e) = ks.tls.read_tls(&payload) {
                        tls_err = Some(e.0);
                        break;
                    }
                }
                _ => {}
            }
        }
        match early_flags {
            Some(Ok(flags)) => {
                self.resend_wkc = flags & EARLY_NEG_FLAG_RESEND_WKC != 0
                    && self.crypto.wkc.is_some()
                    && self.cfg.early_negotiation;
                self.events.push_back(Event::EarlyNegotiation { flags });
            }
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
        if let Some(e) = tls_err {
            // Flush the TLS alert, then give up.
            self.pump(now);
            self.go_down(DownReason::Tls(e));
        }
        Ok(())
    }

    /// Move bytes between TLS engines and the reliability layer, run key method 2 and the
    /// text messages.
    fn pump(&mut self, now: Instant) {
        for _ in 0..4 {
            let mut progressed = false;
            let idxs: Vec<usize> = (0..self.keys.len()).collect();
            for i in idxs {
                progressed |= self.pump_key(i, now);
            }
            if !progressed {
                break;
            }
        }
    }

    fn pump_key(&mut self, i: usize, now: Instant) -> bool {
        let role = self.cfg.role;
        let mut progressed = false;
        let mut msgs: Vec<Vec<u8>> = Vec::new();
        let mut km2: Option<KeyMethod2> = None;
        let mut err: Option<String> = None;
        let peer_info = self.peer_info_string();
        let options = self.options_string();
        {
            let Some(ks) = self.keys.get_mut(i) else {
                return false;
            };
            if !ks.reset_received {
                return false;
            }
            // TLS handshake state.
            if !ks.tls.is_handshaking() && !ks.tls_reported {
                ks.tls_reported = true;
                self.events.push_back(Event::TlsEstablished {
                    key_id: ks.key_id,
                    version: ks.tls.protocol_version().unwrap_or("?").to_string(),
                    suite: ks.tls.cipher_suite().unwrap_or_default(),
                });
            }
            if !ks.tls.is_handshaking() && !ks.km2_sent {
                let src = KeySource::random(role == Role::Client, &mut *self.rng);
                let mut pi = String::new();
                if ks.key_id == 0 || role == Role::Client {
                    pi = peer_info.clone();
                }
                let (user, pass) = match (&self.cfg.credentials, role) {
                    (Some((u, p)), Role::Client) => (
                        Some(u.clone()),
                        // A pushed auth-token replaces the password from then on.
                        Some(self.auth_token.clone().unwrap_or_else(|| p.clone())),
                    ),
                    _ => (None, None),
                };
                let m = KeyMethod2 {
                    key_source: src.clone(),
                    options: options.clone(),
                    username: user,
                    password: pass,
                    peer_info: (!pi.is_empty()).then_some(pi),
                };
                match m.emit() {
                    Ok(b) => {
                        if let Err(e) = ks.tls.send_plaintext(&b) {
                            err = Some(e.0);
                        }
                    }
                    Err(e) => err = Some(e.to_string()),
                }
                ks.local_src = Some(src);
                ks.km2_sent = true;
                progressed = true;
            }
            // TLS ciphertext -> reliability layer, split to tls-mtu.
            let mut out = Vec::new();
            if let Err(e) = ks.tls.write_tls(&mut out) {
                err = Some(e.0);
            }
            for chunk in out.chunks(self.cfg.tls_mtu.max(64)) {
                ks.rel.queue(Opcode::ControlV1, chunk.to_vec());
                progressed = true;
            }
            // Plaintext in.
            if let Err(e) = ks.tls.recv_plaintext(&mut ks.plain_in) {
                err = Some(e.0);
            }
            if ks.remote.is_none() && !ks.plain_in.is_empty() {
                match KeyMethod2::parse(&ks.plain_in, role == Role::Server) {
                    Ok((m, used)) => {
                        ks.plain_in.drain(..used);
                        km2 = Some(m);
                        progressed = true;
                    }
                    Err(crate::error::WireError::Truncated { .. }) => {}
                    Err(e) => err = Some(format!("key method 2: {e}")),
                }
            }
            if ks.remote.is_some() || km2.is_some() {
                while let Some(z) = ks.plain_in.iter().position(|b| *b == 0) {
                    let m: Vec<u8> = ks.plain_in.drain(..=z).collect();
                    if m.len() > 1 {
                        msgs.push(m[..m.len() - 1].to_vec());
                    }
                    progressed = true;
                }
            }
        }
        if let Some(e) = err {
            self.go_down(DownReason::Tls(e));
            return false;
        }
        if let Some(m) = km2 {
            self.on_km2(i, m, now);
        }
        for m in msgs {
            let text = String::from_utf8_lossy(&m).into_owned();
            match ControlMessage::parse(&text) {
                Ok(cm) => self.on_message(i, cm, now),
                Err(_) => self.stats.dropped += 1,
            }
        }
        progressed
    }

    fn peer_info_string(&self) -> String {
        let mut proto = keymethod::IV_PROTO_DATA_V2
            | keymethod::IV_PROTO_REQUEST_PUSH
            | keymethod::IV_PROTO_NCP_P2P;
        if self.cfg.cc_exit {
            proto |= keymethod::IV_PROTO_CC_EXIT_NOTIFY;
        }
        if self.cfg.dyn_tls_crypt {
            proto |= keymethod::IV_PROTO_DYN_TLS_CRYPT;
        }
        if self.cfg.allow_ekm {
            proto |= keymethod::IV_PROTO_TLS_KEY_EXPORT;
        }
        let mut s = String::from("IV_VER=2.6.14\nIV_PLAT=linux\n");
        s.push_str(&format!("IV_PROTO={proto}\nIV_NCP=2\n"));
        let mut ciphers: Vec<&str> = self
            .cfg
            .data_ciphers
            .iter()
            .map(|c| c.openvpn_name())
            .collect();
        if ciphers.is_empty() {
            ciphers.push(self.cfg.cipher.openvpn_name());
        }
        s.push_str(&format!("IV_CIPHERS={}\nIV_TCPNL=1\n", ciphers.join(":")));
        // Compression framing we handle (we never compress).
        s.push_str("IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n");
        s
    }

    fn options_string(&self) -> String {
        if !self.cfg.options_string.is_empty() {
            return self.cfg.options_string.clone();
        }
        occ::local_options_string(&occ::OccParams {
            role: self.cfg.role,
            mode: self.cfg.mode,
            transport: self.cfg.transport,
            tun_mtu: self.cfg.tun_mtu,
            cipher: self.cfg.cipher,
            auth: self.cfg.auth,
            compression: self.cfg.compression,
            fragment: self.cfg.fragment.is_some(),
            tls_auth: match &self.cfg.wrap {
                WrapConfig::TlsAuth { direction, .. } => Some(*direction),
                _ => None,
            },
        })
    }

    fn on_km2(&mut self, i: usize, m: KeyMethod2, now: Instant) {
        let role = self.cfg.role;
        let key_id = self.keys.get(i).map_or(0, |k| k.key_id);
        self.events.push_back(Event::PeerHello {
            key_id,
            options: m.options.clone(),
            username: m.username.clone(),
            peer_info: m.peer_info.clone(),
        });
        if key_id == 0 {
            if let Some(pi) = &m.peer_info {
                self.peer_info = Some(PeerInfo::parse(pi));
            }
            let warnings = occ::options_warnings(&self.options_string(), &m.options);
            if !warnings.is_empty() {
                self.events.push_back(Event::OptionsWarning { warnings });
            }
        }
        let mut renewed = None;
        if role == Role::Server
            && (key_id == 0 || self.auth_hook.is_some() || self.cfg.auth_gen_token)
        {
            let user = m.username.as_deref().unwrap_or("");
            let pass = m.password.as_deref().unwrap_or("");
            let wall = self.wall_time(now);
            let ok = if key_id != 0 && self.username.as_deref().unwrap_or("") != user {
                // Renegotiation: the username must not change (OpenVPN refuses too).
                false
            } else {
                match self.check_token(user, pass, wall) {
                    TokenCheck::Valid { initial } => {
                        self.token_initial = initial;
                        true
                    }
                    TokenCheck::Expired => false,
                    TokenCheck::Password => {
                        let req = AuthRequest {
                            username: user,
                            password: pass,
                            profile: &self.cfg.profile,
                            method: self.cfg.user_auth_method,
                            key_id,
                        };
                        let ok = self.auth_hook.as_mut().is_none_or(|hook| hook(&req));
                        self.token_initial = wall;
                        ok
                    }
                }
            };
            if key_id == 0 {
                self.username = m.username.clone();
            }
            if ok && self.cfg.auth_gen_token {
                let t = self.make_token(user, wall);
                self.auth_token = Some(t.clone());
                self.token_renew_at = self.cfg.auth_token_renewal.map(|r| now + r);
                // Key 0 carries it in PUSH_REPLY; renegotiations push it on their own.
                renewed = (key_id != 0).then_some(t);
            }
            if !ok {
                self.auth_failed = true;
                self.send_text(i, "AUTH_FAILED");
                self.events
                    .push_back(Event::Down(DownReason::AuthFailed(None)));
                self.down = true;
                return;
            }
        }
        if let Some(t) = renewed {
            self.send_text(i, &format!("PUSH_REPLY,auth-token {t}"));
        }
        let remote_opts = m.options.clone();
        if let Some(ks) = self.keys.get_mut(i) {
            ks.remote = Some(m);
        }
        if key_id != 0 {
            self.install_keys(i, now);
            return;
        }
        if self.cfg.pull {
            if role == Role::Client {
                self.send_text(i, "PUSH_REQUEST");
                self.push_request_at = Some(now + Duration::from_secs(5));
            }
            // Server waits for PUSH_REQUEST.
            let _ = remote_opts;
        } else {
            // p2p negotiation.
            match self.negotiate_p2p(&remote_opts, i) {
                Ok(n) => {
                    self.neg = Some(n);
                    self.dyn_agreed =
                        self.cfg.dyn_tls_crypt && self.peer_has(keymethod::IV_PROTO_DYN_TLS_CRYPT);
                    self.install_keys(i, now);
                }
                Err(e) => self.go_down(DownReason::NoCommonCipher(e)),
            }
        }
    }

    fn negotiate_p2p(&mut self, remote_opts: &str, i: usize) -> Result<Negotiated, String> {
        let pi = self.peer_info.clone().unwrap_or_default();
        let proto = pi.iv_proto();
        let ncp = proto & keymethod::IV_PROTO_NCP_P2P != 0 && !self.cfg.data_ciphers.is_empty();
        let cipher = if ncp {
            let peer = pi.ciphers();
            let (server_list, client_list): (Vec<&str>, Vec<&str>) =
                if self.cfg.role == Role::Server {
                    (
                        self.cfg
                            .data_ciphers
                            .iter()
                            .map(|c| c.openvpn_name())
                            .collect(),
                        peer,
                    )
                } else {
                    (
                        peer,
                        self.cfg
                            .data_ciphers
                            .iter()
                            .map(|c| c.openvpn_name())
                            .collect(),
                    )
                };
            server_list
                .iter()
                .find(|s| client_list.iter().any(|c| c.eq_ignore_ascii_case(s)))
                .and_then(|c| Cipher::from_name(c))
                .unwrap_or(self.cfg.cipher)
        } else {
            self.check_static_cipher(remote_opts)?
        };
        let ekm = ncp && self.cfg.allow_ekm && proto & keymethod::IV_PROTO_TLS_KEY_EXPORT != 0;
        let peer_id = if ncp && proto & keymethod::IV_PROTO_DATA_V2 != 0 {
            let mut b = [0u8; 3];
            let ok = ekm
                && self.keys.get(i).is_some_and(|k| {
                    k.tls
                        .export_keying_material(&mut b, EKM_P2P_PEERID_LABEL)
                        .is_ok()
                });
            Some(if ok {
                (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2])
            } else {
                0x76706e
            })
        } else {
            None
        };
        let auth = if ncp {
            self.cfg.auth
        } else {
            self.static_auth(remote_opts, cipher)?
        };
        Ok(Negotiated {
            cipher,
            auth,
            ekm,
            peer_id,
        })
    }

    /// Fixed-cipher mode, the data-channel HMAC: a server takes the client's `auth` when it
    /// is in its accepted set (RouterOS server `auth` set); otherwise both use their own.
    fn static_auth(&self, remote_opts: &str, cipher: Cipher) -> Result<Digest, String> {
        if cipher.is_aead() || self.cfg.role != Role::Server {
            return Ok(self.cfg.auth);
        }
        let theirs = remote_opts
            .split(',')
            .find_map(|o| o.strip_prefix("auth "))
            .map(|a| {
                if a == "[null-digest]" {
                    Some(Digest::None)
                } else {
                    Digest::from_name(a)
                }
            });
        match theirs {
            None => Ok(self.cfg.auth),
            Some(Some(t)) if t == self.cfg.auth || self.cfg.accepted_auths.contains(&t) => Ok(t),
            Some(t) => Err(format!(
                "client auth {} not accepted",
                t.map_or("(unknown)", Digest::openvpn_name)
            )),
        }
    }

    /// Fixed-cipher mode (RouterOS): the peer's options string names its cipher; it must be
    /// ours (client) or in the accepted set (server).
    fn check_static_cipher(&self, remote_opts: &str) -> Result<Cipher, String> {
        let theirs = remote_opts
            .split(',')
            .find_map(|o| o.strip_prefix("cipher "))
            .and_then(Cipher::from_name);
        let mine = self.cfg.cipher;
        match (self.cfg.role, theirs) {
            (Role::Server, Some(t)) => {
                if t == mine || self.cfg.accepted_ciphers.contains(&t) {
                    Ok(t)
                } else {
                    Err(format!("client cipher {} not accepted", t.openvpn_name()))
                }
            }
            (_, Some(t)) if t != mine => Err(format!(
                "peer uses {} but {} is configured",
                t.openvpn_name(),
                mine.openvpn_name()
            )),
            _ => Ok(mine),
        }
    }

    fn send_text(&mut self, i: usize, text: &str) {
        if let Some(ks) = self.keys.get_mut(i) {
            let mut b = text.as_bytes().to_vec();
            b.push(0);
            if let Err(e) = ks.tls.send_plaintext(&b) {
                let e = e.0;
                self.go_down(DownReason::Tls(e));
            }
        }
    }

    fn on_message(&mut self, i: usize, m: ControlMessage, now: Instant) {
        match (self.cfg.role, m) {
            (Role::Server, ControlMessage::PushRequest) => {
                if self.auth_failed || self.pushed {
                    if self.pushed {
                        // Repeat the reply (the first may still be in flight).
                        let reply = self.build_push_reply();
                        self.send_text(i, &reply);
                    }
                    return;
                }
                if self.cfg.defer_push {
                    if self.push_pending.is_none() {
                        self.push_pending = Some(i);
                        self.events.push_back(Event::PushRequested {
                            username: self.username.clone(),
                            profile: self.cfg.profile.clone(),
                        });
                    }
                    return;
                }
                self.answer_push(i, now);
            }
            (Role::Client, ControlMessage::PushReply(mut r)) => {
                if self.pushed {
                    // A later PUSH_REPLY only renews the auth-token (OpenVPN sends
                    // `PUSH_REPLY,auth-token ...` at renegotiations); the rest stays.
                    if let Some(t) = r.auth_token {
                        self.auth_token = Some(t);
                    }
                    return;
                }
                self.pushed = true;
                self.push_request_at = None;
                let cipher = r.cipher.unwrap_or(self.cfg.cipher);
                if !self.cfg.data_ciphers.is_empty()
                    && r.cipher.is_some()
                    && !self.cfg.data_ciphers.contains(&cipher)
                    && cipher != self.cfg.cipher
                {
                    self.go_down(DownReason::NoCommonCipher(format!(
                        "server pushed {} which is not in data-ciphers",
                        cipher.openvpn_name()
                    )));
                    return;
                }
                if let Some(p) = r.ping {
                    self.cfg.ping = Some(Duration::from_secs(u64::from(p)));
                }
                if let Some(p) = r.ping_restart {
                    self.cfg.ping_restart = Some(Duration::from_secs(u64::from(p)));
                }
                if !self.cfg.use_peer_dns {
                    r.strip_dns();
                }
                self.neg = Some(Negotiated {
                    cipher,
                    auth: self.cfg.auth,
                    ekm: r.tls_ekm && self.cfg.allow_ekm,
                    peer_id: r.peer_id,
                });
                if let Some(c) = r.compression {
                    self.comp = c;
                }
                self.cc_exit_pushed = r.cc_exit;
                self.dyn_agreed = r.dyn_tls_crypt && self.cfg.dyn_tls_crypt;
                if let Some(t) = &r.auth_token {
                    self.auth_token = Some(t.clone());
                }
                if self.cfg.route_nopull {
                    r.strip_routes();
                }
                self.events.push_back(Event::Pushed(r));
                self.install_keys(i, now);
            }
            (Role::Client, ControlMessage::AuthFailed(r)) => {
                self.go_down(DownReason::AuthFailed(r))
            }
            (_, ControlMessage::Restart(r)) => {
                // `RESTART,[N]`: flags in brackets; N = advance to the next server.
                let next_remote = r.as_deref().is_some_and(|m| {
                    m.strip_prefix('[')
                        .and_then(|f| f.split(']').next())
                        .is_some_and(|f| f.contains('N'))
                });
                self.events.push_back(Event::Restart {
                    next_remote,
                    message: r.clone(),
                });
                self.go_down(DownReason::Restart(r))
            }
            (_, ControlMessage::Exit) => self.go_down(DownReason::Exit),
            _ => self.stats.dropped += 1,
        }
    }

    /// Server: negotiate the cipher, send PUSH_REPLY and install the data keys.
    fn answer_push(&mut self, i: usize, now: Instant) {
        let remote_opts = self
            .keys
            .get(i)
            .and_then(|k| k.remote.as_ref())
            .map(|r| r.options.clone())
            .unwrap_or_default();
        match self.negotiate_server_push(&remote_opts) {
            Ok(n) => {
                self.neg = Some(n);
                self.dyn_agreed =
                    self.cfg.dyn_tls_crypt && self.peer_has(keymethod::IV_PROTO_DYN_TLS_CRYPT);
                let reply = self.build_push_reply();
                self.send_text(i, &reply);
                self.pushed = true;
                self.install_keys(i, now);
            }
            Err(e) => {
                self.send_text(i, &format!("AUTH_FAILED,{e}"));
                self.go_down(DownReason::NoCommonCipher(e));
            }
        }
    }

    /// Server with `defer_push`: answer the pending `PUSH_REQUEST` ([`Event::PushRequested`])
    /// with the configured push options plus `extra` (e.g. `ifconfig 192.168.77.5
    /// 255.255.255.0`); the data channel comes up with it.
    pub fn push_reply(&mut self, now: Instant, extra: &[String]) -> Result<(), Error> {
        let i = self
            .push_pending
            .take()
            .ok_or(Error::State("no PUSH_REQUEST is waiting"))?;
        if self.down {
            return Err(Error::State("session is down"));
        }
        self.cfg.push_options.extend(extra.iter().cloned());
        self.answer_push(i, now);
        self.pump(now);
        Ok(())
    }

    /// Server with `defer_push`: refuse the pending `PUSH_REQUEST` (no address left, the
    /// backend said no): `AUTH_FAILED,<reason>` goes to the client and the session is down
    /// (`AuthFailed`).
    pub fn refuse_push(&mut self, now: Instant, reason: &str) -> Result<(), Error> {
        let i = self
            .push_pending
            .take()
            .ok_or(Error::State("no PUSH_REQUEST is waiting"))?;
        self.auth_failed = true;
        self.send_text(i, &format!("AUTH_FAILED,{reason}"));
        self.pump(now);
        self.go_down(DownReason::AuthFailed(Some(reason.to_string())));
        Ok(())
    }

    /// Server: answer PUSH_REQUEST only through [`Session::push_reply`].
    pub(crate) fn set_defer_push(&mut self, on: bool) {
        self.cfg.defer_push = on;
    }

    /// Time since the last authenticated packet from the peer (RouterOS "idle time").
    pub fn idle(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_rx)
    }

    fn negotiate_server_push(&self, remote_opts: &str) -> Result<Negotiated, String> {
        let pi = self.peer_info.clone().unwrap_or_default();
        let proto = pi.iv_proto();
        let peer_ciphers = pi.ciphers();
        let ncp = !self.cfg.data_ciphers.is_empty() && !peer_ciphers.is_empty();
        let cipher = if ncp {
            self.cfg
                .data_ciphers
                .iter()
                .find(|c| {
                    peer_ciphers
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(c.openvpn_name()))
                })
                .copied()
                .ok_or_else(|| "no common cipher".to_string())?
        } else {
            self.check_static_cipher(remote_opts)?
        };
        // The client's options string says which HMAC it uses with a CBC cipher.
        let auth = self.static_auth(remote_opts, cipher)?;
        Ok(Negotiated {
            cipher,
            auth,
            ekm: self.cfg.allow_ekm && proto & keymethod::IV_PROTO_TLS_KEY_EXPORT != 0,
            peer_id: if proto & keymethod::IV_PROTO_DATA_V2 != 0 {
                self.cfg.peer_id
            } else {
                None
            },
        })
    }

    fn build_push_reply(&self) -> String {
        let mut opts = self.cfg.push_options.clone();
        if let Some(c) = self.comp.option() {
            opts.push(c.into());
        }
        if let (true, Some(t)) = (self.cfg.auth_gen_token, &self.auth_token) {
            opts.push(format!("auth-token {t}"));
        }
        if let Some(n) = self.neg {
            if let Some(p) = n.peer_id {
                opts.push(format!("peer-id {p}"));
            }
            opts.push(format!("cipher {}", n.cipher.openvpn_name()));
        }
        // OpenVPN 2.6: `protocol-flags cc-exit [tls-ekm] [dyn-tls-crypt]` to clients that
        // announce cc-exit; tls-ekm only through `key-derivation` to those that do not.
        let ekm = self.neg.is_some_and(|n| n.ekm);
        let mut flags = String::new();
        if self.peer_cc_exit() {
            flags.push_str(" cc-exit");
            if ekm {
                flags.push_str(" tls-ekm");
            }
        } else if ekm {
            opts.push("key-derivation tls-ekm".into());
        }
        if self.dyn_agreed {
            flags.push_str(" dyn-tls-crypt");
        }
        if !flags.is_empty() {
            opts.push(format!("protocol-flags{flags}"));
        }
        if let Some(p) = self.cfg.ping {
            opts.push(format!("ping {}", p.as_secs()));
        }
        if let Some(p) = self.cfg.ping_restart {
            opts.push(format!("ping-restart {}", p.as_secs()));
        }
        format!("PUSH_REPLY,{}", opts.join(","))
    }

    fn install_keys(&mut self, i: usize, now: Instant) {
        let Some(neg) = self.neg else {
            return;
        };
        let role = self.cfg.role;
        let (local_sid, remote_sid) = (self.local_sid, self.remote_sid.unwrap_or_default());
        let Some(ks) = self.keys.get_mut(i) else {
            return;
        };
        if ks.data.is_some() {
            return;
        }
        let material = if neg.ekm {
            let mut b = [0u8; keymethod::KEY_MATERIAL_LEN];
            match ks.tls.export_keying_material(&mut b, keymethod::EKM_LABEL) {
                Ok(()) => StaticKey::from_bytes(&b),
                Err(e) => {
                    let e = e.0;
                    self.go_down(DownReason::Tls(e));
                    return;
                }
            }
        } else {
            let (Some(local), Some(remote)) = (ks.local_src.as_ref(), ks.remote.as_ref()) else {
                return;
            };
            let (c, s, csid, ssid) = match role {
                Role::Client => (local, &remote.key_source, &local_sid, &remote_sid),
                Role::Server => (&remote.key_source, local, &remote_sid, &local_sid),
            };
            keymethod::derive_prf(c, s, csid, ssid)
        };
        // dyn-tls-crypt: the key for renegotiations comes from the first TLS session.
        let mut dyn_ekm = None;
        if ks.key_id == 0 && self.dyn_agreed && !self.crypto.dynamic_tls_crypt() {
            let mut b = [0u8; 256];
            if ks
                .tls
                .export_keying_material(&mut b, DYN_TLS_CRYPT_LABEL)
                .is_ok()
            {
                dyn_ekm = Some(b);
            }
        }
        if let Some(mut b) = dyn_ekm {
            self.crypto.enable_dynamic_tls_crypt(
                &b,
                self.tls_crypt_key.as_ref(),
                role == Role::Server,
            );
            b.zeroize();
        }
        let Some(ks) = self.keys.get_mut(i) else {
            return;
        };
        let dk = material.as_ref().map_err(Clone::clone).and_then(|m| {
            DataKey::with_provider(
                neg.cipher,
                neg.auth,
                m,
                role == Role::Server,
                self.cfg.replay_window,
                self.cfg.aead_provider.as_deref(),
            )
        });
        let dk = match dk {
            Err(CryptoError::ProviderDeclined { .. }) if self.cfg.aead_fallback => {
                self.events.push_back(Event::AeadFallback {
                    key_id: ks.key_id,
                    cipher: neg.cipher,
                });
                material.and_then(|m| {
                    DataKey::new(
                        neg.cipher,
                        neg.auth,
                        &m,
                        role == Role::Server,
                        self.cfg.replay_window,
                    )
                })
            }
            other => other,
        };
        match dk {
            Ok(dk) => {
                ks.data = Some(dk);
                let kid = ks.key_id;
                let first = self.primary.is_none();
                if let Some(old) = self.primary {
                    if let Some(o) = self.keys.iter_mut().find(|k| k.key_id == old) {
                        o.expires = Some(now + self.cfg.transition_window);
                    }
                    self.stats.rekeys += 1;
                    self.events.push_back(Event::Rekeyed { key_id: kid });
                }
                self.primary = Some(kid);
                self.packet_id_reneg_due = None;
                if first {
                    self.events.push_back(Event::Up {
                        cipher: neg.cipher,
                        tls_ekm: neg.ekm,
                        peer_id: neg.peer_id,
                    });
                }
                self.next_reneg = self.cfg.reneg.map(|r| now + r);
            }
            Err(e) => self.go_down(DownReason::Crypto(e)),
        }
    }

    /// Encrypt a tunnel packet (IP packet in tun mode, Ethernet frame in tap mode) into
    /// `out`; returns the datagram length. `out` is untouched if too small. Payloads over
    /// the tunnel MTU ([`SessionConfig::tun_mtu`], plus the Ethernet header in tap mode)
    /// are refused ([`Error::PacketTooBig`]).
    pub fn send_data(
        &mut self,
        now: Instant,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let mtu = self.max_payload();
        if payload.len() > mtu {
            return Err(Error::PacketTooBig {
                len: payload.len(),
                mtu,
            });
        }
        let n = self.seal_data(now, payload, out)?;
        self.stats.tunnel_tx_bytes += payload.len() as u64;
        Ok(n)
    }

    /// The largest payload [`Session::send_data`] takes: the tunnel MTU, plus the Ethernet
    /// header (14) in tap mode.
    pub fn max_payload(&self) -> usize {
        usize::from(self.cfg.tun_mtu)
            + if self.cfg.mode == crate::config::Mode::Ethernet {
                14
            } else {
                0
            }
    }

    /// Encrypt any data-channel payload (tunnel packet, keepalive, OCC).
    fn seal_data(&mut self, now: Instant, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if self.down {
            return Err(Error::State("session is down"));
        }
        let neg = self.neg.ok_or(Error::State("data channel not up"))?;
        let kid = self.primary.ok_or(Error::State("data channel not up"))?;
        let ks = self
            .keys
            .iter_mut()
            .find(|k| k.key_id == kid)
            .ok_or(Error::State("primary key missing"))?;
        let dk = ks
            .data
            .as_mut()
            .ok_or(Error::State("data channel not up"))?;
        let (op, peer) = match neg.peer_id {
            Some(p) => (Opcode::DataV2, Some(p)),
            None => (Opcode::DataV1, None),
        };
        let mut hdr = [0u8; 4];
        let h = write_data_header(op, kid, peer, &mut hdr)?;
        let framed: &[u8] = if self.comp == Compression::None {
            payload
        } else {
            // Framed in the session's scratch buffer (grown once, not per packet).
            let need = payload.len() + self.comp.overhead();
            if self.scratch.len() < need {
                self.scratch.resize(need, 0);
            }
            let l = self.comp.frame(payload, &mut self.scratch)?;
            &self.scratch[..l]
        };
        let n = match self.cfg.fragment {
            None => dk.encrypt(&hdr[..h], framed, &mut *self.rng, out)?,
            Some(max) => {
                // `fragment max`: datagrams of at most `max` bytes; each payload gets the
                // 4-byte fragment header, larger ones are split (pieces after the first
                // wait in poll_transmit).
                let room = usize::from(max)
                    .saturating_sub(h + neg.cipher.overhead(neg.auth) + FRAG_HEADER_LEN);
                let fb = &mut self.frag_buf;
                if framed.len() <= room {
                    fb.clear();
                    fb.extend_from_slice(&[0; FRAG_HEADER_LEN]);
                    fb.extend_from_slice(framed);
                    dk.encrypt(&hdr[..h], fb, &mut *self.rng, out)?
                } else {
                    let (size, count) = fragment::plan(framed.len(), room)
                        .ok_or(Error::State("packet needs more than 32 fragments"))?;
                    let seq_id = self.frag_seq;
                    self.frag_seq = seq_id.wrapping_add(1);
                    let mut first = 0;
                    for (i, piece) in framed.chunks(size).enumerate() {
                        let last = i + 1 == count;
                        let fh = FragHeader {
                            kind: if last {
                                FragKind::Last
                            } else {
                                FragKind::NotLast
                            },
                            seq_id,
                            frag_id: i as u8,
                            frag_size: if last { size } else { 0 },
                        };
                        fb.clear();
                        fb.extend_from_slice(&fh.to_bytes());
                        fb.extend_from_slice(piece);
                        if i == 0 {
                            first = dk.encrypt(&hdr[..h], fb, &mut *self.rng, out)?;
                        } else {
                            let mut v = vec![0u8; dk.sealed_len(h, fb.len())];
                            let m = dk.encrypt(&hdr[..h], fb, &mut *self.rng, &mut v)?;
                            v.truncate(m);
                            self.pending_data.push_back(v);
                        }
                    }
                    first
                }
            }
        };
        self.stats.data_tx += 1;
        self.last_tx = now;
        let hot = ks_next_pid(&self.keys, kid).is_some_and(|p| p >= self.cfg.packet_id_reneg);
        if hot && self.packet_id_reneg_due.is_none() {
            // Close to the packet-id wrap: renegotiate now, whatever reneg-sec says
            // (OpenVPN's PACKET_ID_WRAP_TRIGGER).
            self.packet_id_reneg_due = Some(kid);
            self.next_reneg = Some(now);
        }
        Ok(n)
    }

    /// Ask the peer for its options string (OCC_REQUEST on the data channel; the answer
    /// comes back as [`Event::OccReply`]). Needs the data channel up.
    pub fn send_occ_request(&mut self, now: Instant) -> Result<(), Error> {
        let p = self
            .seal_occ(now, &OccMessage::Request)
            .ok_or(Error::State("data channel not up"))?;
        self.pending_data.push_back(p);
        Ok(())
    }

    /// Largest encrypted size for a payload of `len` bytes (for sizing `out`).
    pub fn sealed_len(&self, len: usize) -> usize {
        let (c, auth) = self
            .neg
            .map_or((Cipher::Aes256Cbc, Digest::Sha512), |n| (n.cipher, n.auth));
        4 + len + 2 + FRAG_HEADER_LEN + c.overhead(auth)
    }

    /// Next packet to send (control packets, acks, keepalive pings).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.pump(now);
        let net_time = self.net_time(now);
        let local_sid = self.local_sid;
        let remote_sid = self.remote_sid;
        let resend_wkc = self.resend_wkc;
        for idx in 0..self.keys.len() {
            let ks = self.keys.get_mut(idx)?;
            let key_id = ks.key_id;
            let has_acks = ks.rel.has_pending_acks();
            let (op, mid, payload) = match ks.rel.poll_send(now) {
                Some(o) => (o.opcode, Some(o.message_id), o.payload.to_vec()),
                None if has_acks && remote_sid.is_some() => (Opcode::AckV1, None, Vec::new()),
                None => continue,
            };
            // Early negotiation: the first TLS message goes with the WKc again.
            let op = if resend_wkc && op == Opcode::ControlV1 && key_id == 0 && mid == Some(1) {
                Opcode::ControlWkcV1
            } else {
                op
            };
            let acks = if remote_sid.is_some() {
                ks.rel.take_acks()
            } else {
                AckList::new()
            };
            let pkt = ControlPacket {
                opcode: op,
                key_id,
                session_id: local_sid,
                remote_session_id: if acks.is_empty() { None } else { remote_sid },
                acks,
                message_id: mid,
                payload: &payload,
            };
            let mut plain = vec![0u8; pkt.buffer_len()];
            if pkt.emit(&mut plain).is_err() {
                continue;
            }
            let mut out = vec![0u8; plain.len() + self.crypto.overhead(true)];
            match self.crypto.seal(&plain, net_time, &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    self.stats.control_tx += 1;
                    self.last_tx = now;
                    return Some(out);
                }
                Err(_) => continue,
            }
        }
        if let Some(p) = self.pending_data.pop_front() {
            return Some(p);
        }
        if let Some((left, at)) = self.exiting {
            if now >= at {
                let pkt = self.seal_occ(now, &OccMessage::Exit);
                if left <= 1 {
                    self.exiting = None;
                    self.go_down(DownReason::Closed);
                } else {
                    self.exiting = Some((left - 1, at + Duration::from_secs(1)));
                }
                if pkt.is_some() {
                    return pkt;
                }
            }
            return None;
        }
        // Keepalive.
        if let Some(ping) = self.cfg.ping {
            if self.is_up() && now >= self.last_tx + ping {
                let mut out = vec![0u8; self.sealed_len(PING_MAGIC.len())];
                if let Ok(n) = self.seal_data(now, &PING_MAGIC, &mut out) {
                    out.truncate(n);
                    return Some(out);
                }
            }
        }
        None
    }

    /// Earliest time [`Session::handle_timeout`] must run (while closing with
    /// explicit-exit-notify: when [`Session::poll_transmit`] has the next OCC EXIT).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.down {
            return None;
        }
        if let Some((_, at)) = self.exiting {
            return Some(at);
        }
        let mut t: Option<Instant> = self.closing;
        let mut add = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |y| y.min(x)));
            }
        };
        for k in &self.keys {
            add(k.rel.poll_timeout());
            add(k.expires);
            if k.data.is_none() {
                add(Some(k.started + self.cfg.hand_window));
            }
        }
        if self.is_up() {
            add(self.cfg.ping.map(|p| self.last_tx + p));
            add(self.next_reneg);
        }
        if !self.keys.is_empty() {
            add(self.cfg.ping_restart.map(|p| self.last_rx + p));
        }
        add(self.push_request_at);
        if self.is_up() {
            add(self.token_renew_at);
        }
        t
    }

    /// Run timers: retransmissions are picked up by [`Session::poll_transmit`]; this handles
    /// ping-restart, handshake timeout, renegotiation start and key retirement.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.down {
            return;
        }
        self.check_closing(now);
        if self.down {
            return;
        }
        if let Some(p) = self.cfg.ping_restart {
            if !self.keys.is_empty() && now >= self.last_rx + p {
                self.go_down(DownReason::PingRestart);
                return;
            }
        }
        let hw = self.cfg.hand_window;
        let late = |k: &KeyState| k.data.is_none() && now >= k.started + hw;
        if self.keys.iter().any(late) {
            if self.primary.is_none() {
                self.go_down(DownReason::HandshakeTimeout);
                return;
            }
            // A renegotiation that did not finish: drop it and keep the current key (as
            // OpenVPN does); try again one renegotiation interval later.
            let mut failed = Vec::new();
            self.keys.retain(|k| {
                let keep = !late(k);
                if !keep {
                    failed.push(k.key_id);
                }
                keep
            });
            for key_id in failed {
                self.events.push_back(Event::RenegotiationFailed { key_id });
            }
            // A packet-id-triggered renegotiation is tried again at the next packet.
            self.packet_id_reneg_due = None;
            self.next_reneg = self.cfg.reneg.map(|r| now + r);
        }
        let mut retired = Vec::new();
        self.keys.retain(|k| {
            let keep = k.expires.is_none_or(|e| now < e);
            if !keep {
                retired.push(k.key_id);
            }
            keep
        });
        for key_id in retired {
            self.events.push_back(Event::KeyRetired { key_id });
        }
        if let Some(t) = self.push_request_at {
            if now >= t && !self.pushed {
                if let Some(i) = self.keys.iter().position(|k| k.key_id == 0) {
                    self.send_text(i, "PUSH_REQUEST");
                }
                self.push_request_at = Some(now + Duration::from_secs(5));
            }
        }
        if let (Some(t), Some(p)) = (self.token_renew_at, self.primary) {
            if now >= t && self.cfg.role == Role::Server {
                let user = self.username.clone().unwrap_or_default();
                let tok = self.make_token(&user, self.wall_time(now));
                self.auth_token = Some(tok.clone());
                self.token_renew_at = self.cfg.auth_token_renewal.map(|r| now + r);
                if let Some(i) = self.keys.iter().position(|k| k.key_id == p) {
                    self.send_text(i, &format!("PUSH_REPLY,auth-token {tok}"));
                }
            }
        }
        if let (Some(t), Some(p)) = (self.next_reneg, self.primary) {
            let renegotiating = self.keys.iter().any(|k| k.data.is_none());
            if now >= t && renegotiating {
                // The peer started one first; installing its key re-arms the timer.
                self.next_reneg = None;
            } else if now >= t {
                self.next_reneg = None;
                let kid = next_key_id(p);
                // A key id still in its transition window is retired early.
                self.keys.retain(|k| k.key_id != kid);
                if self.new_key(kid, now).is_ok() {
                    if let Some(k) = self.keys.last_mut() {
                        k.rel.queue(Opcode::ControlSoftResetV1, Vec::new());
                        k.reset_reply_queued = true;
                    }
                }
            }
        }
        self.pump(now);
    }

    /// Close. When the peer takes `EXIT` on the control channel (its IV_PROTO cc-exit bit,
    /// or a pushed `protocol-flags cc-exit`) that is sent (retransmitted if need be) and the
    /// session is down once the peer acknowledged it, or after two seconds.
    /// Otherwise, with `explicit_exit_notify` = n > 0 and the data channel up, OCC EXIT
    /// messages go out on the data channel through [`Session::poll_transmit`], n of them one
    /// second apart ([`Session::poll_timeout`] says when), and the session is down after the
    /// last one; keep driving it until [`Session::is_down`].
    pub fn close(&mut self, now: Instant) {
        if self.down || self.exiting.is_some() || self.closing.is_some() {
            return;
        }
        let cc_exit = (self.cfg.cc_exit && self.cc_exit_pushed) || self.peer_cc_exit();
        if !cc_exit && self.cfg.explicit_exit_notify > 0 && self.is_up() {
            self.exiting = Some((self.cfg.explicit_exit_notify, now));
            return;
        }
        if cc_exit {
            if let Some(i) = self
                .keys
                .iter()
                .position(|k| Some(k.key_id) == self.primary)
            {
                self.send_text(i, "EXIT");
                self.pump(now);
                self.closing = Some(now + Duration::from_secs(2));
                return;
            }
        }
        self.go_down(DownReason::Closed);
    }

    /// Renewal interval of server tokens: `auth_token_renewal`, else `reneg-sec`.
    fn token_renewal(&self) -> Option<Duration> {
        self.cfg.auth_token_renewal.or(self.cfg.reneg)
    }

    /// A token for `user`: base64(initial (8) | issued (8) | HMAC-SHA256(key, user | 0 |
    /// initial | issued)), times in wall-clock seconds. Opaque to clients.
    fn make_token(&self, user: &str, wall: u64) -> String {
        let mut b = [0u8; 48];
        b[..8].copy_from_slice(&self.token_initial.to_be_bytes());
        b[8..16].copy_from_slice(&wall.to_be_bytes());
        let mut mac = [0u8; crate::crypto::MAX_DIGEST_LEN];
        Digest::Sha256.hmac(
            &self.token_key.0,
            &[user.as_bytes(), &[0], &b[..16]],
            &mut mac,
        );
        b[16..].copy_from_slice(&mac[..32]);
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    /// Whether `pass` is one of our tokens for `user` and still valid at `wall`.
    fn check_token(&self, user: &str, pass: &str, wall: u64) -> TokenCheck {
        if !self.cfg.auth_gen_token {
            return TokenCheck::Password;
        }
        use base64::Engine as _;
        let Ok(b) = base64::engine::general_purpose::STANDARD.decode(pass) else {
            return TokenCheck::Password;
        };
        let (Some(times), Some(tag), 48) = (b.get(..16), b.get(16..), b.len()) else {
            return TokenCheck::Password;
        };
        if !Digest::Sha256.verify(&self.token_key.0, &[user.as_bytes(), &[0], times], tag) {
            return TokenCheck::Password;
        }
        let be = |x: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(x.get(..8).unwrap_or(&[0; 8]));
            u64::from_be_bytes(a)
        };
        let (initial, issued) = (be(&times[..8]), be(&times[8..]));
        let over_lifetime = self
            .cfg
            .auth_token_lifetime
            .is_some_and(|l| wall >= initial.saturating_add(l.as_secs()));
        let unrenewed = self
            .token_renewal()
            .is_some_and(|r| wall >= issued.saturating_add(2 * r.as_secs()));
        if over_lifetime || unrenewed {
            TokenCheck::Expired
        } else {
            TokenCheck::Valid { initial }
        }
    }

    /// Whether we use cc-exit and the peer announced it (IV_PROTO bit 7).
    fn peer_cc_exit(&self) -> bool {
        self.cfg.cc_exit && self.peer_has(keymethod::IV_PROTO_CC_EXIT_NOTIFY)
    }

    /// Server: tell the client to reconnect (OpenVPN's server-side explicit-exit-notify on
    /// shutdown): `RESTART` on the control channel, or `RESTART,[N]` when `next_remote`
    /// (the client should advance to its next `remote`). The session stays alive until the
    /// client acknowledged the message or two seconds passed (OpenVPN's shutdown delay),
    /// then is down (`Down(Closed)`). Needs the control channel established.
    pub fn send_restart(&mut self, now: Instant, next_remote: bool) -> Result<(), Error> {
        if self.cfg.role != Role::Server {
            return Err(Error::State("RESTART is sent by servers"));
        }
        if self.down || self.closing.is_some() {
            return Ok(());
        }
        let i = self
            .keys
            .iter()
            .position(|k| Some(k.key_id) == self.primary)
            .ok_or(Error::State("control channel not established"))?;
        self.send_text(
            i,
            if next_remote {
                "RESTART,[N]"
            } else {
                "RESTART"
            },
        );
        self.pump(now);
        self.closing = Some(now + Duration::from_secs(2));
        Ok(())
    }

    /// Closing after `send_restart`: down once everything we sent is acknowledged, or at the
    /// deadline.
    fn check_closing(&mut self, now: Instant) {
        if let Some(t) = self.closing {
            let acked = self.keys.iter().all(|k| k.rel.unacked() == 0);
            if acked || now >= t {
                self.closing = None;
                self.go_down(DownReason::Closed);
            }
        }
    }

    /// `fragment`: strip the fragment header of the decrypted `out[..n]`; a fragment is kept
    /// until its packet is complete (`Ok(None)` meanwhile), then the whole packet is put in
    /// `out`.
    fn defragment(&mut self, n: usize, out: &mut [u8]) -> Result<Option<usize>, DropReason> {
        let Some(max) = self.cfg.fragment else {
            return Ok(Some(n));
        };
        let (fh, rest) = FragHeader::parse(out.get(..n).unwrap_or_default())?;
        match fh.kind {
            FragKind::Whole => {
                let l = rest.len();
                out.copy_within(FRAG_HEADER_LEN..n, 0);
                Ok(Some(l))
            }
            FragKind::NotLast | FragKind::Last => {
                self.frag_buf.clear();
                self.frag_buf.extend_from_slice(rest);
                let r = self
                    .reasm
                    .get_or_insert_with(|| Reassembler::new(usize::from(max).max(1) * 32));
                r.push(&fh, &self.frag_buf, out)
                    .map_err(DropReason::Fragment)
            }
            FragKind::Test => Err(DropReason::Fragment("MTU test packets are not supported")),
        }
    }

    /// Seal an OCC message as a data-channel packet.
    fn seal_occ(&mut self, now: Instant, m: &OccMessage<'_>) -> Option<Vec<u8>> {
        let mut plain = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut plain).ok()?;
        let mut out = vec![0u8; self.sealed_len(n)];
        let len = self.seal_data(now, &plain[..n], &mut out).ok()?;
        out.truncate(len);
        Some(out)
    }

    /// An OCC message arrived: answer OCC_REQUEST with our options string, go down on
    /// OCC_EXIT; the rest (MTU probing, replies) is only counted.
    fn on_occ(&mut self, now: Instant, m: Option<OccMessage<'static>>) {
        match m {
            Some(OccMessage::Request) => {
                let opts = self.options_string();
                if let Some(p) = self.seal_occ(now, &OccMessage::Reply(&opts)) {
                    self.pending_data.push_back(p);
                }
            }
            Some(OccMessage::Exit) => self.go_down(DownReason::Exit),
            _ => {}
        }
    }

    /// Server: take over a handshake the stateless front end (`cookie.rs`) started:
    /// our session id is the cookie, the client's reset (message id 0) counts as received,
    /// our reset (message id 0, replay id 1) as sent and acknowledged.
    /// Set the session's wall clock: `unix_secs` is the Unix time (seconds) at `now`. It
    /// replaces [`SessionConfig::unix_time`] for everything from now on: the net time of
    /// control packets and the time certificates must be valid at. A [`crate::Server`]
    /// with a wall clock ([`crate::Server::set_unix_time`]) calls this for every session it
    /// creates, so its sessions' net time never goes back behind the server's stateless
    /// reply (OpenVPN drops such packets as replays). 0 = unknown (as in the config).
    pub fn set_unix_time(&mut self, now: Instant, unix_secs: u64) {
        let elapsed = now.saturating_duration_since(self.start).as_secs();
        self.cfg.unix_time = if unix_secs == 0 {
            0
        } else {
            unix_secs.saturating_sub(elapsed).max(1)
        };
    }

    pub(crate) fn resume_stateless(&mut self, client_sid: SessionId, cookie: SessionId) {
        self.local_sid = cookie;
        self.remote_sid = Some(client_sid);
        self.crypto.skip_replay_ids_to(2);
        if let Some(k) = self.keys.first_mut() {
            k.rel.skip_reset_exchange();
            k.reset_received = true;
            k.reset_reply_queued = true;
        }
    }

    /// Whether `packet` is the first packet of a new client session (for server demux).
    pub fn is_client_hello(packet: &[u8]) -> bool {
        matches!(
            split_first_byte(packet),
            Ok((
                Opcode::ControlHardResetClientV2 | Opcode::ControlHardResetClientV3,
                0
            ))
        )
    }
}

/// Re-export for docs.
pub use wire::PEER_ID_UNSET;
