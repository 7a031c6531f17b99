//! `ike`: an IKEv2 initiator/responder on UDP 500/4500 with a userspace ESP data path on a TUN
//! device, built on the sans-IO `ipsec-ike` crate.
//!
//! ```text
//! ike --help
//! ike --local 10.99.3.2 --remote 10.99.3.1 (--psk SECRET | --cert C.pem --key K.pem --ca CA.pem)
//!     --local-ts 10.99.32.1/32 --remote-ts 10.99.31.1/32 [--responder] [--tun ike0]
//!     [--peer-address PREFIX]
//!     [--ike-enc aes-256-cbc,...] [--hash sha256,...] [--dh modp2048,curve25519,...]
//!     [--esp-enc aes-128-gcm,...] [--esp-auth sha256,...] [--pfs none|GROUP]
//!     [--my-id SPEC] [--remote-id SPEC] [--lifetime SECS] [--rekey-child-after SECS]
//!     [--pcap FILE] [--wireshark-dir DIR] [--duration SECS]
//! ike --config examples/rsc/ike.rsc [--peer NAME] [options over the file]
//! ```
//!
//! * `--config FILE.rsc`: a RouterOS export of `/ip ipsec profile`, `proposal`, `peer`,
//!   `identity`, `policy`, `mode-config` (see `examples::rsc_config::ipsec`). The peer named
//!   `--peer` (default: the first with `exchange-mode=ike2`) runs: its `local-address` and
//!   one-host `address` (or its policy's `sa-src-address`/`sa-dst-address`) are the
//!   addresses, its first policy's `src-address`/`dst-address` the traffic selectors,
//!   `passive=yes` makes it the responder. Options given on the command line override the
//!   file (addresses, selectors, `--psk`, the algorithm options on the peer's profile and the
//!   policy's proposal, `--my-id`/`--remote-id`); an identity's `certificate=NAME` needs its
//!   PEM files (`--cert`, `--key`).
//!
//! * ESP always rides in UDP 4500 (`force_encap`, like strongSwan's `encap = yes`): sending raw
//!   IP protocol 50 would need a raw socket, and peers such as strongSwan's kernel-libipsec
//!   encapsulate anyway.
//! * Inner packets: the TUN device gets the first address of `--local-ts` and a route to
//!   `--remote-ts`; what the kernel sends there goes through the SPD and ESP.
//! * `--pcap` records every UDP datagram in and out (synthesised IPv4/UDP headers);
//!   `--wireshark-dir` keeps `ikev2_decryption_table` and `esp_sa` up to date (Wireshark UAT
//!   files), so `tshark -o uat:...` or a config dir holding them decrypts every IKE and ESP
//!   packet of the pcap.
//! * Log lines on stdout (`IKE_SA up ...`, `CHILD_SA up ...`, `CHILD_SA down ...`,
//!   `stats ...`) are what the interop tests read.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::sys::ip;
use ipsec_ike::auth::{CertInfo, CertStore, Credential, PrivateKey};
use ipsec_ike::config::*;
use ipsec_ike::crypto::{Encr, Integ};
use ipsec_ike::{ConfigError, Event, Ike, Input, Outbound};
use tracing::{debug, error, warn};

/// An IKEv2 initiator/responder on UDP 500/4500 with a userspace ESP-in-UDP data path on a TUN
/// device, built on the sans-IO `ipsec-ike` crate (RouterOS `/ip ipsec` peer, identity,
/// profile, proposal and policy in one command line).
///
/// Run as root. The TUN device gets the first address of --local-ts and a route to
/// --remote-ts; what the kernel sends there goes through the SPD and ESP (always in UDP 4500).
/// Events are printed on stdout (`IKE_SA up ...`, `CHILD_SA up ...`, `stats ...`).
/// Authentication: --secret (--psk), or --cert/--key/--ca, or --eap-user/--eap-password.
#[derive(Parser, Debug)]
#[command(name = "ike", version)]
struct Cli {
    /// Local address (IKE from UDP 500/4500; RouterOS peer `local-address`). Required unless
    /// --config gives it.
    #[arg(long, required_unless_present = "config")]
    local: Option<IpAddr>,
    /// Peer address (RouterOS peer `address`; the initiator's destination, the responder's
    /// expected peer). Required unless --config gives it (a one-address peer `address`, or
    /// the policy's `sa-dst-address`).
    #[arg(long, required_unless_present = "config")]
    remote: Option<IpAddr>,
    /// RouterOS export (`.rsc`) with `/ip ipsec profile`, `proposal`, `peer`, `identity`,
    /// `policy`, `mode-config`: the peer (`exchange-mode=ike2`) with its identity and policy
    /// run; the options given on the command line override it. Default: none.
    #[arg(long, value_name = "FILE.rsc")]
    config: Option<String>,
    /// With --config: the `/ip ipsec peer` to run, by `name` (default: the first with
    /// exchange-mode=ike2).
    #[arg(long, value_name = "NAME", requires = "config")]
    peer: Option<String>,
    /// The peer's `address` as a prefix: a responder then answers initiators from the whole
    /// network (RouterOS peer `address=0.0.0.0/0`, say), as a road-warrior server does. Must
    /// contain --remote. Default: --remote alone.
    #[arg(long, value_name = "PREFIX")]
    peer_address: Option<IpPrefix>,
    /// Passive: only respond (RouterOS peer `passive=yes`; default: initiate).
    #[arg(long)]
    responder: bool,
    /// Pre-shared key, `0x...` for hex (RouterOS identity `secret`, auth-method=pre-shared-key).
    /// Default: none.
    #[arg(long = "secret", visible_alias = "psk")]
    psk: Option<String>,
    /// Our certificate, PEM (RouterOS identity `certificate`, auth-method=digital-signature).
    /// Default: none.
    #[arg(long, value_name = "PEM")]
    cert: Option<String>,
    /// Our private key, PEM (PKCS#8). Default: none.
    #[arg(long, value_name = "PEM")]
    key: Option<String>,
    /// Trusted CA certificate, PEM (RouterOS identity `remote-certificate`). Default: none.
    #[arg(long, value_name = "PEM")]
    ca: Option<String>,
    /// EAP-MSCHAPv2 user (initiator: auth-method=eap; responder with --cert: eap-radius, built-in
    /// server). RouterOS identity `username`. Default: none.
    #[arg(long)]
    eap_user: Option<String>,
    /// EAP-MSCHAPv2 password (RouterOS identity `password`). Default: empty.
    #[arg(long)]
    eap_password: Option<String>,
    /// Local traffic selector prefix (RouterOS policy `src-address`). Required unless
    /// --config has a policy for the peer.
    #[arg(long, value_name = "PREFIX", required_unless_present = "config")]
    local_ts: Option<String>,
    /// Remote traffic selector prefix (RouterOS policy `dst-address`). Required unless
    /// --config has a policy for the peer.
    #[arg(long, value_name = "PREFIX", required_unless_present = "config")]
    remote_ts: Option<String>,
    /// TUN device name.
    #[arg(long, default_value = "ike0")]
    tun: String,
    /// IKE encryption, RouterOS names, comma-separated (profile `enc-algorithm`; RouterOS
    /// default aes-128,3des).
    #[arg(long, default_value = "aes-256-cbc,aes-128-cbc", value_parser = check_list(parse_encr))]
    ike_enc: String,
    /// IKE hash, prf and integrity (profile `hash-algorithm`; RouterOS default sha1):
    /// md5, sha1, sha256, sha512.
    #[arg(long, default_value = "sha256,sha1", value_parser = check_list(parse_hash))]
    hash: String,
    /// IKE DH groups (profile `dh-group`; RouterOS default modp2048,modp1024): modp768..modp8192,
    /// ecp256, ecp384, ecp521, curve25519.
    #[arg(long, default_value = "modp2048,curve25519,ecp256", value_parser = check_list(parse_group))]
    dh: String,
    /// ESP encryption (proposal `enc-algorithms`; RouterOS default aes-256-cbc,aes-192-cbc,aes-128-cbc).
    #[arg(long, default_value = "aes-128-gcm,aes-256-cbc,aes-128-cbc", value_parser = check_list(parse_encr))]
    esp_enc: String,
    /// ESP integrity (proposal `auth-algorithms`; RouterOS default sha1): null, md5, sha1,
    /// sha256, sha512.
    #[arg(long, default_value = "sha256,sha1", value_parser = check_list(parse_integ))]
    esp_auth: String,
    /// PFS group for rekeys, `none` or a DH group (proposal `pfs-group`; RouterOS default modp1024).
    #[arg(long, default_value = "none", value_parser = check_pfs)]
    pfs: String,
    /// Our ID (identity `my-id`): auto, address:IP, fqdn:NAME, user-fqdn:..., key-id:...
    #[arg(long, default_value = "auto")]
    my_id: String,
    /// Expected peer ID (identity `remote-id`), same syntax as --my-id.
    #[arg(long, default_value = "auto")]
    remote_id: String,
    /// Child SA lifetime in seconds (proposal `lifetime`; RouterOS default 30m = 1800).
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    lifetime: u64,
    /// Rekey the first Child SA this many seconds after it came up (default: only on lifetime).
    #[arg(long, value_name = "SECS")]
    rekey_child_after: Option<u64>,
    /// Record every UDP datagram in and out to this pcap (synthesised IPv4/UDP headers).
    /// Default: none.
    #[arg(long, value_name = "FILE")]
    pcap: Option<String>,
    /// Keep Wireshark's `ikev2_decryption_table` and `esp_sa` UAT files up to date in this
    /// folder (default: none).
    #[arg(long, value_name = "DIR")]
    wireshark_dir: Option<String>,
    /// Exit after this many seconds (default: run until killed).
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
}

/// A value parser that checks every comma-separated item with `f` (so the error names the
/// option and the bad item) and keeps the text.
fn check_list<T: 'static>(
    f: fn(&str) -> Result<T, ConfigError>,
) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        list(s, f)?;
        Ok(s.to_string())
    }
}

fn check_pfs(s: &str) -> Result<String, String> {
    if s != "none" {
        parse_group(s).map_err(|e| e.to_string())?;
    }
    Ok(s.to_string())
}

fn list<T>(s: &str, f: impl Fn(&str) -> Result<T, ConfigError>) -> Result<Vec<T>, String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| f(x.trim()).map_err(|e| e.to_string()))
        .collect()
}

struct Pcap {
    file: File,
    start: Instant,
}

impl Pcap {
    fn new(path: &str) -> Result<Pcap, String> {
        let mut file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
        file.write_all(&netsim::pcap::to_bytes(netsim::pcap::LINKTYPE_RAW, &[]))
            .map_err(|e| e.to_string())?;
        Ok(Pcap {
            file,
            start: Instant::now(),
        })
    }
    fn add(&mut self, now: Instant, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
            return;
        };
        let frame =
            netsim::pcap::udp4_wrap(s.octets(), src.port(), d.octets(), dst.port(), payload);
        let rec = netsim::pcap::to_bytes(
            netsim::pcap::LINKTYPE_RAW,
            &[(now.saturating_duration_since(self.start), frame)],
        );
        let _ = self.file.write_all(&rec[24..]);
        let _ = self.file.flush();
    }
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Wireshark's names for the IKEv2 UAT.
fn ws_ike_encr(e: Encr) -> &'static str {
    match e {
        Encr::AesCbc(16) => "AES-CBC-128 [RFC3602]",
        Encr::AesCbc(24) => "AES-CBC-192 [RFC3602]",
        Encr::AesCbc(32) => "AES-CBC-256 [RFC3602]",
        Encr::TripleDes => "3DES [RFC2451]",
        Encr::AesCtr(16) => "AES-CTR-128 [RFC5930]",
        Encr::AesCtr(32) => "AES-CTR-256 [RFC5930]",
        Encr::AesGcm(16, 16) => "AES-GCM-128 with 16 octet ICV [RFC5282]",
        Encr::AesGcm(32, 16) => "AES-GCM-256 with 16 octet ICV [RFC5282]",
        _ => "NULL [RFC2410]",
    }
}
fn ws_ike_integ(i: Option<Integ>) -> &'static str {
    match i {
        None => "NONE [RFC4306]",
        Some(Integ::HmacSha1_96) => "HMAC_SHA1_96 [RFC2404]",
        Some(Integ::HmacSha256_128) => "HMAC_SHA2_256_128 [RFC4868]",
        Some(Integ::HmacSha384_192) => "HMAC_SHA2_384_192 [RFC4868]",
        Some(Integ::HmacSha512_256) => "HMAC_SHA2_512_256 [RFC4868]",
        Some(Integ::HmacMd5_96) => "HMAC_MD5_96 [RFC2403]",
        Some(Integ::AesXcbc96) => "AES_XCBC_96 [RFC3566]",
    }
}
fn ws_esp_encr(e: Encr) -> &'static str {
    match e {
        Encr::Null => "NULL",
        Encr::TripleDes => "TripleDES-CBC [RFC2451]",
        Encr::AesCbc(_) => "AES-CBC [RFC3602]",
        Encr::AesCtr(_) => "AES-CTR [RFC3686]",
        Encr::AesGcm(_, 16) => "AES-GCM with 16 octet ICV [RFC4106]",
        Encr::AesGcm(..) => "AES-GCM with 12 octet ICV [RFC4106]",
        Encr::Des => "DES-CBC [RFC2405]",
    }
}
fn ws_esp_auth(i: Option<Integ>) -> &'static str {
    match i {
        None => "NULL",
        Some(Integ::HmacSha1_96) => "HMAC-SHA-1-96 [RFC2404]",
        Some(Integ::HmacSha256_128) => "HMAC-SHA-256-128 [RFC4868]",
        Some(Integ::HmacSha384_192) => "HMAC-SHA-384-192 [RFC4868]",
        Some(Integ::HmacSha512_256) => "HMAC-SHA-512-256 [RFC4868]",
        Some(Integ::HmacMd5_96) => "HMAC-MD5-96 [RFC2403]",
        Some(Integ::AesXcbc96) => "NULL",
    }
}

/// Rewrite the Wireshark UAT files from every SA the engine holds (old lines are kept, so
/// a pcap spanning rekeys decrypts completely).
fn export(dir: &str, ike: &Ike, ike_lines: &mut Vec<String>, esp_lines: &mut Vec<String>) {
    for sa in ike.ike_sas() {
        let (Some(k), Some(s)) = (sa.keys.as_ref(), sa.suite) else {
            continue;
        };
        let l = format!(
            "{},{},{},{},\"{}\",{},{},\"{}\"",
            hexs(&sa.spi_i),
            hexs(&sa.spi_r),
            hexs(&k.sk_ei),
            hexs(&k.sk_er),
            ws_ike_encr(s.encr),
            hexs(&k.sk_ai),
            hexs(&k.sk_ar),
            ws_ike_integ(s.integ)
        );
        if !ike_lines.contains(&l) {
            ike_lines.push(l);
        }
        for c in &sa.children {
            let (Some(i), Some(o)) = (ike.esp_in(c.spi_in), ike.esp_out(c.id)) else {
                continue;
            };
            for (src, dst, e) in [
                (sa.remote.ip(), sa.local.ip(), i),
                (sa.local.ip(), sa.remote.ip(), o),
            ] {
                let l = format!(
                    "\"IPv4\",\"{src}\",\"{dst}\",\"0x{:08x}\",\"{}\",\"0x{}\",\"{}\",\"{}\"",
                    e.spi(),
                    ws_esp_encr(e.encr()),
                    hexs(e.enc_key()),
                    ws_esp_auth(e.integ()),
                    if e.integ_key().is_empty() {
                        String::new()
                    } else {
                        format!("0x{}", hexs(e.integ_key()))
                    }
                );
                if !esp_lines.contains(&l) {
                    esp_lines.push(l);
                }
            }
        }
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(
        format!("{dir}/ikev2_decryption_table"),
        ike_lines.join("\n") + "\n",
    );
    let _ = std::fs::write(format!("{dir}/esp_sa"), esp_lines.join("\n") + "\n");
}

fn main() {
    if let Err(e) = run() {
        error!("ike: {e}");
        std::process::exit(1);
    }
}

/// What the program runs: the configuration, the certificates, the peer to run (by name),
/// the addresses and traffic selectors of the TUN side, and the role.
struct Setup {
    cfg: IpsecConfig,
    certs: CertStore,
    peer: String,
    local: IpAddr,
    remote: IpAddr,
    local_ts: IpPrefix,
    remote_ts: IpPrefix,
    responder: bool,
}

/// The options onto the profile and proposal (all of them without --config; with it only
/// those `given` on the command line).
fn algorithms(
    c: &Cli,
    given: Option<&[&str]>,
    profile: &mut Profile,
    proposal: &mut Proposal,
) -> Result<(), String> {
    let over = |id: &str| given.is_none_or(|g| g.contains(&id));
    if over("dh") {
        profile.dh_group = list(&c.dh, parse_group)?;
    }
    if over("ike_enc") {
        profile.enc_algorithm = list(&c.ike_enc, parse_encr)?;
    }
    if over("hash") {
        profile.hash_algorithm = list(&c.hash, parse_hash)?;
    }
    if over("esp_enc") {
        proposal.enc_algorithms = list(&c.esp_enc, parse_encr)?;
    }
    if over("esp_auth") {
        proposal.auth_algorithms = list(&c.esp_auth, parse_integ)?;
    }
    if over("lifetime") {
        proposal.lifetime = Duration::from_secs(c.lifetime);
    }
    if over("pfs") {
        proposal.pfs_group = match c.pfs.as_str() {
            "none" => None,
            g => Some(parse_group(g).map_err(|e| e.to_string())?),
        };
    }
    Ok(())
}

/// Our credential from --cert/--key (named `name`) and the CA of --ca into `certs`.
fn load_certs(c: &Cli, name: &str, certs: &mut CertStore) -> Result<bool, String> {
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    if let Some(ca) = &c.ca {
        certs
            .cas
            .push(CertInfo::from_pem(&read(ca)?).map_err(|e| e.to_string())?);
    }
    if let (Some(cf), Some(k)) = (&c.cert, &c.key) {
        certs.credentials.push(Credential {
            name: name.into(),
            cert: CertInfo::from_pem(&read(cf)?).map_err(|e| e.to_string())?,
            key: PrivateKey::from_pem(&read(k)?).map_err(|e| e.to_string())?,
        });
        return Ok(true);
    }
    Ok(false)
}

/// `--config FILE.rsc`: the file's `/ip ipsec` objects; the peer (`--peer`, else the first
/// with exchange-mode=ike2), its identity and its first non-template policy give the
/// addresses and traffic selectors, unless the options name them.
fn from_rsc(c: &Cli, path: &str, given: &[&str]) -> Result<Setup, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let r = examples::rsc_config::ipsec(&text).map_err(|e| format!("{path}: {e}"))?;
    r.notes.log(path);
    let mut cfg = r.config;
    cfg.settings.force_encap = true;
    let peer = match &c.peer {
        Some(n) => cfg
            .peers
            .iter()
            .find(|p| &p.name == n)
            .ok_or_else(|| format!("{path}: no /ip ipsec peer named {n:?}"))?,
        None => cfg
            .peers
            .iter()
            .find(|p| p.exchange_mode == ExchangeMode::Ike2)
            .ok_or_else(|| format!("{path}: no /ip ipsec peer with exchange-mode=ike2"))?,
    }
    .clone();
    if peer.exchange_mode != ExchangeMode::Ike2 {
        return Err(format!(
            "{path}: peer {:?}: exchange-mode must be ike2 (this program runs IKEv2)",
            peer.name
        ));
    }
    let pol = cfg
        .policies
        .iter()
        .position(|p| !p.template && p.peer == peer.name);
    let local = c
        .local
        .or(peer.local_address)
        .or(pol.and_then(|i| cfg.policies[i].sa_src_address))
        .ok_or_else(|| {
            format!(
                "{path}: peer {:?} has no local-address: give --local",
                peer.name
            )
        })?;
    let host = |p: &IpPrefix| (p.len == if p.addr.is_ipv4() { 32 } else { 128 }).then_some(p.addr);
    let remote = c
        .remote
        .or(pol.and_then(|i| cfg.policies[i].sa_dst_address))
        .or(host(&peer.address))
        .ok_or_else(|| {
            format!(
                "{path}: peer {:?}: address={} is not one host: give --remote",
                peer.name, peer.address
            )
        })?;
    let ts =
        |opt: &Option<String>, from: Option<IpPrefix>, what: &str| -> Result<IpPrefix, String> {
            match opt {
                Some(s) => s.parse().map_err(|e: ConfigError| format!("--{what}: {e}")),
                None => from.ok_or_else(|| {
                    format!(
                        "{path}: no /ip ipsec policy with peer={}: give --{what}",
                        peer.name
                    )
                }),
            }
        };
    let local_ts = ts(
        &c.local_ts,
        pol.map(|i| cfg.policies[i].src_address),
        "local-ts",
    )?;
    let remote_ts = ts(
        &c.remote_ts,
        pol.map(|i| cfg.policies[i].dst_address),
        "remote-ts",
    )?;
    if let Some(i) = pol {
        let p = &mut cfg.policies[i];
        p.sa_src_address = Some(local);
        p.sa_dst_address = Some(remote);
        p.src_address = local_ts;
        p.dst_address = remote_ts;
    }
    if let Some(pi) = cfg.peers.iter_mut().find(|p| p.name == peer.name) {
        pi.local_address = Some(local);
        if !pi.address.contains(remote) {
            pi.address = IpPrefix::host(remote);
        }
    }
    // The options given on the command line over the peer's profile and its policy's proposal.
    let proposal_name = pol.map_or("default".to_string(), |i| cfg.policies[i].proposal.clone());
    let mut profile = cfg
        .profiles
        .iter()
        .find(|p| p.name == peer.profile)
        .cloned()
        .ok_or_else(|| format!("{path}: no /ip ipsec profile named {:?}", peer.profile))?;
    let mut proposal = cfg
        .proposals
        .iter()
        .find(|p| p.name == proposal_name)
        .cloned()
        .ok_or_else(|| format!("{path}: no /ip ipsec proposal named {proposal_name:?}"))?;
    algorithms(c, Some(given), &mut profile, &mut proposal)?;
    for p in cfg.profiles.iter_mut().filter(|p| p.name == profile.name) {
        *p = profile.clone();
    }
    for p in cfg.proposals.iter_mut().filter(|p| p.name == proposal.name) {
        *p = proposal.clone();
    }
    let mut certs = CertStore::default();
    let identity = cfg
        .identities
        .iter_mut()
        .find(|i| i.peer == peer.name)
        .ok_or_else(|| format!("{path}: no /ip ipsec identity with peer={}", peer.name))?;
    if let Some(s) = &c.psk {
        identity.secret = s.clone();
    }
    if given.contains(&"my_id") {
        identity.my_id = c
            .my_id
            .parse()
            .map_err(|e: ConfigError| format!("--my-id: {e}"))?;
    }
    if given.contains(&"remote_id") {
        identity.remote_id = c
            .remote_id
            .parse()
            .map_err(|e: ConfigError| format!("--remote-id: {e}"))?;
    }
    if let Some(u) = &c.eap_user {
        identity.username = u.clone();
        identity.password = c.eap_password.clone().unwrap_or_default();
    }
    let name = if identity.certificate.is_empty() {
        "ours".to_string()
    } else {
        identity.certificate.clone()
    };
    if load_certs(c, &name, &mut certs)? {
        identity.certificate = name;
    } else if matches!(
        identity.auth_method,
        IdentityAuth::DigitalSignature | IdentityAuth::EapRadius
    ) {
        return Err(format!(
            "{path}: identity of {}: certificate={}: give its PEM files with --cert and --key",
            peer.name, identity.certificate
        ));
    }
    Ok(Setup {
        cfg,
        certs,
        responder: peer.passive || c.responder,
        peer: peer.name,
        local,
        remote,
        local_ts,
        remote_ts,
    })
}

/// The program's own options (no --config): one peer named `peer`.
fn from_options(c: &Cli) -> Result<Setup, String> {
    let local = c.local.ok_or("--local is required")?;
    let remote = c.remote.ok_or("--remote is required")?;
    let local_ts: IpPrefix = c
        .local_ts
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: ConfigError| format!("--local-ts: {e}"))?;
    let remote_ts: IpPrefix = c
        .remote_ts
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e: ConfigError| format!("--remote-ts: {e}"))?;
    let responder = c.responder;
    let mut cfg = IpsecConfig::default();
    cfg.settings.force_encap = true;
    algorithms(c, None, &mut cfg.profiles[0], &mut cfg.proposals[0])?;
    let peer_address = c.peer_address.unwrap_or(IpPrefix::host(remote));
    if !peer_address.contains(remote) {
        return Err(format!(
            "--peer-address {peer_address} does not contain --remote {remote}"
        ));
    }
    cfg.peers.push(Peer {
        name: "peer".into(),
        address: peer_address,
        local_address: Some(local),
        exchange_mode: ExchangeMode::Ike2,
        passive: responder,
        ..Peer::default()
    });
    let mut certs = CertStore::default();
    let mut identity = Identity::psk("peer", c.psk.as_deref().unwrap_or_default());
    identity.my_id = c
        .my_id
        .parse()
        .map_err(|e: ConfigError| format!("--my-id: {e}"))?;
    identity.remote_id = c
        .remote_id
        .parse()
        .map_err(|e: ConfigError| format!("--remote-id: {e}"))?;
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    if let Some(user) = c.eap_user.clone() {
        identity.username = user;
        identity.password = c.eap_password.clone().unwrap_or_default();
        if let Some(ca) = &c.ca {
            certs
                .cas
                .push(CertInfo::from_pem(&read(ca)?).map_err(|e| e.to_string())?);
        }
        if let (Some(cf), Some(k)) = (&c.cert, &c.key) {
            certs.credentials.push(Credential {
                name: "ours".into(),
                cert: CertInfo::from_pem(&read(cf)?).map_err(|e| e.to_string())?,
                key: PrivateKey::from_pem(&read(k)?).map_err(|e| e.to_string())?,
            });
            identity.certificate = "ours".into();
            identity.auth_method = IdentityAuth::EapRadius;
        } else {
            identity.auth_method = IdentityAuth::Eap;
            identity.eap_methods = vec!["eap-mschapv2".into()];
        }
    } else if let (Some(cf), Some(k)) = (&c.cert, &c.key) {
        certs.credentials.push(Credential {
            name: "ours".into(),
            cert: CertInfo::from_pem(&read(cf)?).map_err(|e| e.to_string())?,
            key: PrivateKey::from_pem(&read(k)?).map_err(|e| e.to_string())?,
        });
        if let Some(ca) = &c.ca {
            certs
                .cas
                .push(CertInfo::from_pem(&read(ca)?).map_err(|e| e.to_string())?);
        }
        identity.auth_method = IdentityAuth::DigitalSignature;
        identity.certificate = "ours".into();
    } else if c.psk.is_none() {
        return Err(
            "give --secret (--psk), --cert/--key/--ca, or --eap-user/--eap-password".into(),
        );
    }
    cfg.identities.push(identity);
    cfg.policies.push(Policy {
        src_address: local_ts,
        dst_address: remote_ts,
        tunnel: true,
        peer: "peer".into(),
        sa_src_address: Some(local),
        sa_dst_address: Some(remote),
        ..Policy::default()
    });
    Ok(Setup {
        cfg,
        certs,
        peer: "peer".into(),
        local,
        remote,
        local_ts,
        remote_ts,
        responder,
    })
}

fn run() -> Result<(), String> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let c = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    examples::logging::init();
    // With --config, an option overrides the file only when it was given on the command line.
    let given: Vec<&'static str> = [
        "ike_enc",
        "hash",
        "dh",
        "esp_enc",
        "esp_auth",
        "pfs",
        "my_id",
        "remote_id",
        "lifetime",
    ]
    .into_iter()
    .filter(|id| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine)
        )
    })
    .collect();
    let Setup {
        cfg,
        certs,
        peer,
        local,
        remote,
        local_ts,
        remote_ts,
        responder,
    } = match &c.config {
        Some(path) => from_rsc(&c, path, &given)?,
        None => from_options(&c)?,
    };
    let now = Instant::now();
    let rng = examples::sys::OsRng::new().map_err(|e| e.to_string())?;
    let mut ike = Ike::new(cfg, certs, local, now, Box::new(rng)).map_err(|e| e.to_string())?;
    let tun_name = c.tun.clone();
    let mut tun = examples::sys::open_tun(&tun_name, false, true)?;
    ip(&[
        "addr",
        "add",
        &format!("{}/32", local_ts.first()),
        "dev",
        &tun_name,
    ])?;
    ip(&["link", "set", &tun_name, "mtu", "1400", "up"])?;
    ip(&[
        "route",
        "replace",
        &remote_ts.to_string(),
        "dev",
        &tun_name,
        "src",
        &local_ts.first().to_string(),
    ])?;
    let s500 = UdpSocket::bind((local, 500)).map_err(|e| format!("bind {local}:500: {e}"))?;
    let s4500 = UdpSocket::bind((local, 4500)).map_err(|e| format!("bind {local}:4500: {e}"))?;
    s500.set_nonblocking(true).map_err(|e| e.to_string())?;
    s4500.set_nonblocking(true).map_err(|e| e.to_string())?;
    println!(
        "ike: {} {local} <-> {remote}, ts {local_ts} === {remote_ts}, tun {tun_name}",
        if responder { "responder" } else { "initiator" }
    );
    let mut pcap = match &c.pcap {
        Some(p) => Some(Pcap::new(p)?),
        None => None,
    };
    let wsdir = c.wireshark_dir.clone();
    let (mut ike_lines, mut esp_lines) = (Vec::new(), Vec::new());
    if !responder {
        ike.connect(now, &peer, None).map_err(|e| e.to_string())?;
    }
    let end = c.duration.map(|d| now + Duration::from_secs(d));
    let rekey_after = c.rekey_child_after.map(Duration::from_secs);
    let mut rekey_at: Option<(Instant, ipsec_ike::ChildId)> = None;
    let mut buf = vec![0u8; 65536];
    let mut out = vec![0u8; 65536];
    let mut last_stats = now;
    let mut drops = examples::logging::DropSummary::new("ike", Duration::from_secs(10));
    let mut event_log =
        examples::logging::LineBudget::new("ike event log", Duration::from_secs(10), 100);
    let (mut tx_pkts, mut rx_pkts) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            break;
        }
        if let Some((t, c)) = rekey_at {
            if now >= t {
                rekey_at = None;
                match ike.rekey_child(now, c) {
                    Ok(()) => println!("rekeying CHILD_SA {}", c.0),
                    Err(e) => warn!("rekey: {e}"),
                }
            }
        }
        while let Some(t) = ike.poll_transmit(now) {
            if let Some(p) = pcap.as_mut() {
                p.add(now, t.local, t.remote, &t.payload);
            }
            let sock = if t.local.port() == 500 { &s500 } else { &s4500 };
            let _ = sock.send_to(&t.payload, t.remote);
        }
        let mut changed = false;
        while let Some(e) = ike.poll_event() {
            changed = true;
            match &e {
                Event::IkeSaUp { sa, remote, initiator, local_id, remote_id, suite, .. } => println!(
                    "IKE_SA up sa={:016x} remote={remote} initiator={initiator} local_id={local_id} remote_id={remote_id} encr={} prf={:?} dh={}",
                    sa.0,
                    suite.encr.name(),
                    suite.prf,
                    suite.dh.name()
                ),
                Event::ChildSaUp { child, spi_in, spi_out, encr, rekey_of, .. } => {
                    println!("CHILD_SA up child={} spi_in={spi_in:08x} spi_out={spi_out:08x} encr={} rekey_of={:?}", child.0, encr.name(), rekey_of.map(|c| c.0));
                    if let (Some(d), None) = (rekey_after, rekey_of) {
                        rekey_at = Some((now + d, *child));
                    }
                }
                Event::ChildSaDown { child, spi_in, reason, .. } => println!("CHILD_SA down child={} spi_in={spi_in:08x} reason={reason:?}", child.0),
                // Strangers can cause these (half-open SAs timing out, NAT detection on every
                // IKE_SA_INIT): bounded lines.
                Event::IkeSaDown { sa, reason } => {
                    if event_log.allow() {
                        println!("IKE_SA down sa={:016x} reason={reason:?}", sa.0)
                    }
                }
                Event::NatDetected { .. } => debug!("event {e:?}"),
                other => {
                    if event_log.allow() {
                        println!("event {other:?}")
                    }
                }
            }
        }
        if changed {
            if let Some(d) = wsdir.as_deref() {
                export(d, &ike, &mut ike_lines, &mut esp_lines);
            }
        }
        drops.maybe_report();
        event_log.maybe_report();
        if now.duration_since(last_stats) >= Duration::from_secs(2) {
            last_stats = now;
            println!(
                "stats tx_packets={tx_pkts} rx_packets={rx_pkts} ike_sas={}",
                ike.ike_sa_count()
            );
        }
        let _ = std::io::stdout().flush();
        let deadline = [
            ike.poll_timeout(),
            end,
            Some(now + Duration::from_millis(500)),
            rekey_at.map(|r| r.0),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now);
        let ms = deadline.saturating_duration_since(now).as_millis().min(500) as i32;
        let mut fds = [
            libc::pollfd {
                fd: tun.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: s500.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: s4500.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of three pollfd structs for the duration of the call.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), 3, ms.max(1)) };
        let now = Instant::now();
        if ike.poll_timeout().is_some_and(|t| t <= now) {
            ike.handle_timeout(now);
        }
        for sock in [&s500, &s4500] {
            let lport = sock.local_addr().map(|a| a.port()).unwrap_or(500);
            while let Ok((n, src)) = sock.recv_from(&mut buf) {
                let l = SocketAddr::new(local, lport);
                if let Some(p) = pcap.as_mut() {
                    p.add(now, src, l, &buf[..n]);
                }
                if ike.handle_datagram(now, l, src, &buf[..n]) == Input::Esp {
                    match ike.decapsulate_in_place(now, &mut buf[..n]) {
                        Ok(d) => {
                            rx_pkts += 1;
                            let _ = tun.write(&buf[d.range]);
                        }
                        Err(e) => {
                            debug!("esp drop {e:?}");
                            drops.count_debug(&e);
                        }
                    }
                }
            }
        }
        loop {
            let n = match tun.read(&mut buf) {
                Ok(n) if n > 0 => n,
                _ => break,
            };
            match ike.encapsulate(now, &buf[..n], &mut out) {
                Ok(Outbound::Protected {
                    len,
                    local,
                    remote,
                    udp: true,
                }) => {
                    tx_pkts += 1;
                    if let Some(p) = pcap.as_mut() {
                        p.add(now, local, remote, &out[..len]);
                    }
                    let _ = s4500.send_to(&out[..len], remote);
                }
                Ok(Outbound::Protected { .. }) => {
                    debug!("drop: ESP without UDP encapsulation is not sent by this example");
                    drops.count("esp_without_udp");
                }
                Ok(_) => {}
                Err(e) => {
                    debug!("encapsulate: {e}");
                    drops.count("encapsulate");
                }
            }
        }
    }
    drops.report();
    println!("final tx_packets={tx_pkts} rx_packets={rx_pkts}");
    Ok(())
}
