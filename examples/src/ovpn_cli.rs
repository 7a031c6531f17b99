//! Command-line options shared by `ovpn-client` and `ovpn-server` (clap derive). They mirror
//! OpenVPN's own option names (`--proto`, `--ca`, `--tls-crypt`, ...); [`OvpnOpts::to_map`]
//! hands them to the option map that [`crate::ovpn_util::common`] and
//! [`crate::ovpn_util::DevOpts::from_args`] read.

use std::collections::HashMap;

use clap::{Args, ValueEnum};

/// Transport (OpenVPN `proto`; RouterOS `protocol`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// UDP.
    #[value(alias = "udp4", alias = "udp6")]
    Udp,
    /// TCP.
    #[value(
        alias = "tcp4",
        alias = "tcp6",
        alias = "tcp-client",
        alias = "tcp-server"
    )]
    Tcp,
}

/// Device type (OpenVPN `dev`; RouterOS `mode` ip = tun, ethernet = tap).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    /// A TUN device carries IP packets.
    Tun,
    /// A TAP device carries Ethernet frames.
    Tap,
    /// No device: the tunnel carries keepalives only.
    Null,
}

/// OpenVPN `key-direction` of `--tls-auth`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDir {
    /// Normal (the server's side).
    #[value(name = "0")]
    Normal,
    /// Inverse (the client's side).
    #[value(name = "1")]
    Inverse,
}

/// OpenVPN `compress` framing (no compression is done).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compress {
    /// `comp-lzo no`: the LZO framing byte, never compressed.
    #[value(alias = "comp-lzo")]
    LzoNo,
    /// `compress stub`.
    Stub,
    /// `compress stub-v2`.
    StubV2,
}

/// AEAD data-channel provider.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crypto {
    /// The built-in ring/RustCrypto code.
    Builtin,
    /// OpenSSL's libcrypto (the `openssl-aead` provider).
    Openssl,
}

/// Options both OpenVPN examples take.
#[derive(Args, Debug, Clone, Default)]
pub struct OvpnOpts {
    /// Transport (OpenVPN `proto`, RouterOS `protocol`; default udp).
    #[arg(long, value_enum)]
    pub proto: Option<Proto>,
    /// CA certificate, PEM (OpenVPN `ca`, RouterOS `ca-certificate`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<String>,
    /// Our certificate, PEM (OpenVPN `cert`, RouterOS `certificate`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,
    /// Our private key, PEM (OpenVPN `key`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// tls-auth static key file (OpenVPN `tls-auth`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub tls_auth: Option<String>,
    /// Direction of the --tls-auth key (OpenVPN `key-direction`; default bidirectional).
    #[arg(long, value_enum)]
    pub key_direction: Option<KeyDir>,
    /// tls-crypt static key file (OpenVPN `tls-crypt`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub tls_crypt: Option<String>,
    /// tls-crypt-v2 key file: the client key on a client, the server key on a server (OpenVPN
    /// `tls-crypt-v2`). Default: none.
    #[arg(long, value_name = "FILE")]
    pub tls_crypt_v2: Option<String>,
    /// Fixed/fall-back data cipher, OpenVPN name (OpenVPN `cipher`, default BF-CBC; RouterOS
    /// `cipher`).
    #[arg(long, value_name = "CIPHER")]
    pub cipher: Option<String>,
    /// Negotiable data ciphers, colon-separated (OpenVPN `data-ciphers`, default
    /// AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305).
    #[arg(long, value_name = "A:B")]
    pub data_ciphers: Option<String>,
    /// HMAC digest (OpenVPN `auth`, default SHA1; RouterOS `auth`).
    #[arg(long, value_name = "DIGEST")]
    pub auth: Option<String>,
    /// OpenVPN's point-to-point TLS mode (default off: client/server mode, pull/push).
    #[arg(long)]
    pub p2p: bool,
    /// Keepalive ping interval in seconds (OpenVPN `ping`; default 10).
    #[arg(long, value_name = "SECS")]
    pub ping: Option<u64>,
    /// Restart after this many seconds without traffic (OpenVPN `ping-restart`; default 60,
    /// RouterOS `keepalive-timeout`).
    #[arg(long, value_name = "SECS")]
    pub ping_restart: Option<u64>,
    /// Renegotiate the data channel keys every N seconds (OpenVPN `reneg-sec`; default: never
    /// initiated here).
    #[arg(long, value_name = "SECS")]
    pub reneg_sec: Option<u64>,
    /// TLS handshake window in seconds (OpenVPN `hand-window`, default 60).
    #[arg(long, value_name = "SECS")]
    pub hand_window: Option<u64>,
    /// Seconds to run before printing the counters and exiting.
    #[arg(
        long = "duration",
        visible_alias = "seconds",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub seconds: u64,
    /// User name (client: sent with auth-user-pass; server: the one accepted). Default: none.
    #[arg(long, value_name = "U")]
    pub user: Option<String>,
    /// Password (with --user). Default: none.
    #[arg(long, value_name = "P")]
    pub pass: Option<String>,
    /// Write the tunnel's packets to this pcap. Default: none.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<String>,
    /// Compression framing (OpenVPN `compress`/`comp-lzo`; default none).
    #[arg(long, value_enum)]
    pub compress: Option<Compress>,
    /// OpenVPN `explicit-exit-notify` (default off; bare flag = 1; server: 1 sends RESTART, 2
    /// `RESTART,[N]` at the end).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "N")]
    pub explicit_exit_notify: Option<String>,
    /// Do not send or accept the control-channel EXIT message (OpenVPN 2.6 `cc-exit`; default:
    /// sent and accepted).
    #[arg(long)]
    pub no_cc_exit: bool,
    /// OpenVPN `auth-gen-token [LIFETIME[:RENEWAL]]` (seconds; 0 = no lifetime; default off).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "LIFETIME[:RENEWAL]")]
    pub auth_gen_token: Option<String>,
    /// Fragment data packets above this size (OpenVPN `fragment`; default off).
    #[arg(long, value_name = "N")]
    pub fragment: Option<u16>,
    /// Ignore pushed routes (OpenVPN `route-nopull`; RouterOS `route-nopull`, default no).
    #[arg(long)]
    pub route_nopull: bool,
    /// AEAD data-channel provider (default builtin).
    #[arg(long, value_enum)]
    pub crypto: Option<Crypto>,
    /// Require TLS 1.2 (RouterOS `tls-version=only-1.2`; default any).
    #[arg(long = "tls-1.2")]
    pub tls_12: bool,
    /// Require the peer certificate's TLS Web Server/Client usage (OpenVPN `remote-cert-tls`;
    /// default off).
    #[arg(long)]
    pub remote_cert_tls: bool,
    /// OpenVPN `verify-x509-name NAME[:subject|name|name-prefix]`. Default: none.
    #[arg(long, value_name = "NAME[:TYPE]")]
    pub verify_x509_name: Option<String>,
    /// Device type: creates the device, brings it up and gives it the address (OpenVPN `dev`;
    /// default none, the tunnel carries keepalives only).
    #[arg(long, value_enum)]
    pub dev: Option<Dev>,
    /// Device name (OpenVPN `dev` name).
    #[arg(long, default_value = "ovpn0", value_name = "NAME")]
    pub dev_name: String,
    /// Device address A/len (OpenVPN `ifconfig`; client default: the pushed one).
    #[arg(long, value_name = "A/LEN")]
    pub ifconfig: Option<String>,
    /// Device MTU (OpenVPN `tun-mtu`, default 1500; RouterOS `max-mtu`).
    #[arg(long, value_name = "N")]
    pub tun_mtu: Option<u16>,
}

impl OvpnOpts {
    /// The options as the `--name value` map [`crate::ovpn_util::common`] reads (flags map to
    /// an empty value; options not given are absent).
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        let flag = |b: bool| b.then(String::new);
        put(
            "proto",
            self.proto.map(|p| match p {
                Proto::Udp => "udp".into(),
                Proto::Tcp => "tcp".into(),
            }),
        );
        put("ca", self.ca.clone());
        put("cert", self.cert.clone());
        put("key", self.key.clone());
        put("tls-auth", self.tls_auth.clone());
        put(
            "key-direction",
            self.key_direction.map(|d| match d {
                KeyDir::Normal => "0".into(),
                KeyDir::Inverse => "1".into(),
            }),
        );
        put("tls-crypt", self.tls_crypt.clone());
        put("tls-crypt-v2", self.tls_crypt_v2.clone());
        put("cipher", self.cipher.clone());
        put("data-ciphers", self.data_ciphers.clone());
        put("auth", self.auth.clone());
        put("p2p", flag(self.p2p));
        put("ping", self.ping.map(|v| v.to_string()));
        put("ping-restart", self.ping_restart.map(|v| v.to_string()));
        put("reneg-sec", self.reneg_sec.map(|v| v.to_string()));
        put("hand-window", self.hand_window.map(|v| v.to_string()));
        put("seconds", Some(self.seconds.to_string()));
        put("user", self.user.clone());
        put("pass", self.pass.clone());
        put("pcap", self.pcap.clone());
        put(
            "compress",
            self.compress.map(|c| match c {
                Compress::LzoNo => "lzo-no".into(),
                Compress::Stub => "stub".into(),
                Compress::StubV2 => "stub-v2".into(),
            }),
        );
        put("explicit-exit-notify", self.explicit_exit_notify.clone());
        put("no-cc-exit", flag(self.no_cc_exit));
        put("auth-gen-token", self.auth_gen_token.clone());
        put("fragment", self.fragment.map(|v| v.to_string()));
        put("route-nopull", flag(self.route_nopull));
        put(
            "crypto",
            self.crypto.map(|c| match c {
                Crypto::Builtin => "builtin".into(),
                Crypto::Openssl => "openssl".into(),
            }),
        );
        put("tls-1.2", flag(self.tls_12));
        put("remote-cert-tls", flag(self.remote_cert_tls));
        put("verify-x509-name", self.verify_x509_name.clone());
        put(
            "dev",
            self.dev.map(|d| match d {
                Dev::Tun => "tun".into(),
                Dev::Tap => "tap".into(),
                Dev::Null => "null".into(),
            }),
        );
        put("dev-name", Some(self.dev_name.clone()));
        put("ifconfig", self.ifconfig.clone());
        put("tun-mtu", self.tun_mtu.map(|v| v.to_string()));
        m
    }
}

/// A RouterOS `name=value` word (the positional arguments of the OpenVPN examples).
pub fn parse_word(s: &str) -> Result<String, String> {
    if s.contains('=') && !s.starts_with('=') {
        Ok(s.to_string())
    } else {
        Err("expected a RouterOS property as name=value (e.g. connect-to=10.0.0.1)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[arg(value_parser = parse_word)]
        words: Vec<String>,
        #[command(flatten)]
        o: OvpnOpts,
    }

    fn map(args: &[&str]) -> HashMap<String, String> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        t.o.to_map()
    }

    #[test]
    fn the_map_is_what_the_hand_parser_made() {
        // the interop and flood tests' spellings, including the old `--seconds`
        let m = map(&[
            "--proto",
            "tcp",
            "--ca",
            "ca.crt",
            "--p2p",
            "--seconds",
            "7",
            "--explicit-exit-notify",
            "--compress",
            "stub-v2",
            "--key-direction",
            "1",
            "--dev",
            "tun",
            "--tls-1.2",
        ]);
        assert_eq!(m["proto"], "tcp");
        assert_eq!(m["ca"], "ca.crt");
        assert_eq!(m["p2p"], "");
        assert_eq!(m["seconds"], "7");
        assert_eq!(m["explicit-exit-notify"], "");
        assert_eq!(m["compress"], "stub-v2");
        assert_eq!(m["key-direction"], "1");
        assert_eq!(m["dev"], "tun");
        assert_eq!(m["tls-1.2"], "");
        assert!(!m.contains_key("route-nopull"));
        assert!(!m.contains_key("cipher"));
        let m = map(&[
            "--explicit-exit-notify",
            "2",
            "--duration",
            "3",
            "--auth-gen-token",
            "0:2",
        ]);
        assert_eq!(m["explicit-exit-notify"], "2");
        assert_eq!(m["seconds"], "3");
        assert_eq!(m["auth-gen-token"], "0:2");
        // defaults
        let m = map(&[]);
        assert_eq!(m["seconds"], "10");
        assert_eq!(m["dev-name"], "ovpn0");
        assert!(!m.contains_key("dev"));
    }

    #[test]
    fn routeros_words_are_name_value() {
        let t = T::try_parse_from(["t", "connect-to=10.0.0.1", "--p2p", "port=1194"]).unwrap();
        assert_eq!(t.words, ["connect-to=10.0.0.1", "port=1194"]);
        assert!(T::try_parse_from(["t", "connect-to"]).is_err());
        assert!(T::try_parse_from(["t", "--proto", "sctp"]).is_err());
    }
}
