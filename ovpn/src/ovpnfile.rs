//! `.ovpn` client configuration files: import (directives and inline blocks) and export.
//!
//! Unknown directives are reported in [`OvpnFile::unknown`], not fatal; malformed known
//! directives and broken inline blocks are errors carrying the 1-based line number.

use crate::config::{ClientConfig, Mode, Protocol, ServerConfig};
use crate::crypto::{Digest, StaticKey};
use crate::data::Cipher;
use crate::error::{ConfigError, OvpnFileError};
use crate::protect::TlsCryptV2ClientKey;
use crate::session::WrapConfig;

/// Inline blocks the parser accepts.
pub const INLINE_BLOCKS: [&str; 8] = [
    "ca",
    "cert",
    "key",
    "tls-auth",
    "tls-crypt",
    "tls-crypt-v2",
    "auth-user-pass",
    "extra-certs",
];

/// A parsed .ovpn file.
#[derive(Clone, Debug, Default)]
pub struct OvpnFile {
    /// `remote host [port] [proto]` entries.
    pub remotes: Vec<(String, Option<u16>, Option<Protocol>)>,
    /// `proto`.
    pub proto: Option<Protocol>,
    /// `port` / `rport`.
    pub port: Option<u16>,
    /// `dev tun|tap`.
    pub mode: Option<Mode>,
    /// `cipher` / `data-ciphers-fallback`.
    pub cipher: Option<Cipher>,
    /// `data-ciphers` / `ncp-ciphers`.
    pub data_ciphers: Vec<Cipher>,
    /// `auth`.
    pub auth: Option<Digest>,
    /// `key-direction`.
    pub key_direction: Option<u8>,
    /// `route-nopull`.
    pub route_nopull: bool,
    /// `auth-user-pass` present.
    pub auth_user_pass: bool,
    /// `verify-x509-name` argument.
    pub verify_x509_name: Option<String>,
    /// `tls-version-max 1.2` seen.
    pub tls_max_1_2: bool,
    /// `client` / `pull` seen.
    pub pull: bool,
    /// Inline or referenced PEM/key blocks: (name, content). File references are kept as
    /// `(name, "@path")` since the library does no file I/O.
    pub blocks: Vec<(String, String)>,
    /// Directives this parser does not know: (line, name). Not fatal.
    pub unknown: Vec<(usize, String)>,
    /// Recognised but ignored directives (line, name), e.g. `comp-lzo`, `verb`.
    pub ignored: Vec<(usize, String)>,
}

fn err(line: usize, reason: impl Into<String>) -> OvpnFileError {
    OvpnFileError {
        line,
        reason: reason.into(),
    }
}

fn proto(s: &str) -> Option<Protocol> {
    match s.to_ascii_lowercase().as_str() {
        "udp" | "udp4" | "udp6" => Some(Protocol::Udp),
        "tcp" | "tcp4" | "tcp6" | "tcp-client" | "tcp4-client" | "tcp6-client" => {
            Some(Protocol::Tcp)
        }
        _ => None,
    }
}

impl OvpnFile {
    /// Parse the text.
    pub fn parse(text: &str) -> Result<Self, OvpnFileError> {
        let mut f = OvpnFile::default();
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        while let Some((ln, raw)) = lines.next() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(tag) = line.strip_prefix('<').and_then(|l| l.strip_suffix('>')) {
                if let Some(closing) = tag.strip_prefix('/') {
                    return Err(err(ln, format!("closing </{closing}> without opening tag")));
                }
                if !INLINE_BLOCKS.contains(&tag) {
                    return Err(err(ln, format!("unknown inline block <{tag}>")));
                }
                let close = format!("</{tag}>");
                let mut body = String::new();
                let mut closed = false;
                for (_, l) in lines.by_ref() {
                    if l.trim() == close {
                        closed = true;
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                if !closed {
                    return Err(err(ln, format!("<{tag}> is not closed")));
                }
                f.blocks.push((tag.to_string(), body));
                continue;
            }
            let line = line.trim_start_matches("--");
            let mut w = line.split_whitespace();
            let name = w.next().unwrap_or("").to_ascii_lowercase();
            let args: Vec<&str> = w.collect();
            let arg = |i: usize| -> Result<&str, OvpnFileError> {
                args.get(i)
                    .copied()
                    .ok_or_else(|| err(ln, format!("{name}: missing argument")))
            };
            match name.as_str() {
                "remote" => {
                    let host = arg(0)?.to_string();
                    let port = match args.get(1) {
                        Some(p) => Some(
                            p.parse()
                                .map_err(|_| err(ln, format!("remote: bad port {p:?}")))?,
                        ),
                        None => None,
                    };
                    let pr = match args.get(2) {
                        Some(p) => Some(
                            proto(p)
                                .ok_or_else(|| err(ln, format!("remote: bad protocol {p:?}")))?,
                        ),
                        None => None,
                    };
                    f.remotes.push((host, port, pr));
                }
                "proto" => {
                    f.proto = Some(
                        proto(arg(0)?)
                            .ok_or_else(|| err(ln, format!("proto: bad value {:?}", args[0])))?,
                    )
                }
                "port" | "rport" => {
                    f.port = Some(
                        arg(0)?
                            .parse()
                            .map_err(|_| err(ln, format!("{name}: bad port")))?,
                    )
                }
                "dev" => {
                    let d = arg(0)?;
                    f.mode = Some(if d.starts_with("tap") {
                        Mode::Ethernet
                    } else if d.starts_with("tun") {
                        Mode::Ip
                    } else {
                        return Err(err(ln, format!("dev: unsupported {d:?}")));
                    })
                }
                "dev-type" => {
                    f.mode = Some(if arg(0)? == "tap" {
                        Mode::Ethernet
                    } else {
                        Mode::Ip
                    })
                }
                "cipher" | "data-ciphers-fallback" => {
                    let c = arg(0)?;
                    f.cipher = Some(
                        Cipher::from_name(c)
                            .ok_or_else(|| err(ln, format!("{name}: unsupported cipher {c:?}")))?,
                    )
                }
                "data-ciphers" | "ncp-ciphers" => {
                    for c in arg(0)?.split(':').filter(|c| !c.is_empty()) {
                        // Unsupported entries are skipped like OpenVPN does.
                        if let Some(c) = Cipher::from_name(c) {
                            f.data_ciphers.push(c);
                        }
                    }
                }
                "auth" => {
                    let d = arg(0)?;
                    f.auth = Some(
                        Digest::from_name(d)
                            .ok_or_else(|| err(ln, format!("auth: unsupported digest {d:?}")))?,
                    )
                }
                "key-direction" => {
                    f.key_direction = Some(match arg(0)? {
                        "0" => 0,
                        "1" => 1,
                        other => {
                            return Err(err(ln, format!("key-direction: {other:?} is not 0 or 1")))
                        }
                    })
                }
                "tls-auth" | "tls-crypt" | "tls-crypt-v2" | "ca" | "cert" | "key" => {
                    let path = arg(0)?;
                    if path != "[inline]" {
                        f.blocks.push((name.clone(), format!("@{path}")));
                    }
                    if name == "tls-auth" {
                        if let Some(d) = args.get(1) {
                            f.key_direction = Some(if *d == "0" { 0 } else { 1 });
                        }
                    }
                }
                "route-nopull" => f.route_nopull = true,
                "auth-user-pass" => f.auth_user_pass = true,
                "client" | "pull" => f.pull = true,
                "verify-x509-name" => f.verify_x509_name = Some(arg(0)?.to_string()),
                "tls-version-max" => f.tls_max_1_2 = arg(0)? == "1.2",
                "nobind"
                | "persist-key"
                | "persist-tun"
                | "verb"
                | "mute"
                | "resolv-retry"
                | "remote-cert-tls"
                | "comp-lzo"
                | "compress"
                | "tls-client"
                | "float"
                | "explicit-exit-notify"
                | "keepalive"
                | "ping"
                | "ping-restart"
                | "reneg-sec"
                | "tun-mtu"
                | "mssfix"
                | "auth-nocache"
                | "setenv"
                | "redirect-gateway"
                | "connect-retry"
                | "topology"
                | "tls-version-min"
                | "remote-random"
                | "mute-replay-warnings"
                | "sndbuf"
                | "rcvbuf"
                | "block-outside-dns" => f.ignored.push((ln, name)),
                _ => f.unknown.push((ln, name)),
            }
        }
        Ok(f)
    }

    /// Content of a block (inline text, or `@path` for a file reference).
    pub fn block(&self, name: &str) -> Option<&str> {
        self.blocks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_str())
    }

    /// Build a RouterOS-style client config (like `import-ovpn-configuration`).
    /// `user`/`password` correspond to `ovpn-user` / `ovpn-password`.
    pub fn to_client_config(
        &self,
        user: &str,
        password: &str,
    ) -> Result<ClientConfig, ConfigError> {
        let bad = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_string(),
        };
        let (host, rport, rproto) = self
            .remotes
            .first()
            .cloned()
            .ok_or(bad("connect-to", "no remote in .ovpn"))?;
        let auth = self.auth.unwrap_or(Digest::Sha1);
        let inline = |name| self.block(name).filter(|b| !b.starts_with('@'));
        let wrap = if let Some(k) = inline("tls-crypt-v2") {
            WrapConfig::TlsCryptV2Client {
                key: TlsCryptV2ClientKey::from_pem(k)
                    .map_err(|e| bad("tls-crypt-v2", &e.to_string()))?,
            }
        } else if let Some(k) = inline("tls-crypt") {
            WrapConfig::TlsCrypt {
                key: StaticKey::from_pem(k).map_err(|e| bad("tls-crypt", &e.to_string()))?,
            }
        } else if let Some(k) = inline("tls-auth") {
            crate::config::tls_auth(
                StaticKey::from_pem(k).map_err(|e| bad("tls-auth", &e.to_string()))?,
                self.key_direction,
                auth,
            )
        } else {
            WrapConfig::None
        };
        let c = ClientConfig {
            connect_to: host,
            port: rport.or(self.port).unwrap_or(1194),
            protocol: rproto.or(self.proto).unwrap_or(Protocol::Udp),
            mode: self.mode.unwrap_or(Mode::Ip),
            user: user.to_string(),
            password: password.to_string(),
            cipher: self.cipher.unwrap_or(Cipher::BfCbc),
            auth,
            route_nopull: self.route_nopull,
            data_ciphers: self.data_ciphers.clone(),
            tls_version: if self.tls_max_1_2 {
                crate::tls::TlsVersion::Only12
            } else {
                crate::tls::TlsVersion::Any
            },
            wrap,
            ..Default::default()
        };
        c.validate()?;
        Ok(c)
    }
}

/// Export a client .ovpn for a server (`export-client-configuration`). RouterOS refuses
/// unless `require-client-certificate=yes`.
pub fn export_client(
    server: &ServerConfig,
    server_address: &str,
    ca_pem: &str,
    client_cert_pem: &str,
    client_key_pem: &str,
) -> Result<String, ConfigError> {
    if !server.require_client_certificate {
        return Err(ConfigError::Invalid {
            field: "require-client-certificate",
            reason: "export-client-configuration needs require-client-certificate=yes".into(),
        });
    }
    server.validate()?;
    let proto = match server.protocol {
        Protocol::Tcp => "tcp-client",
        Protocol::Udp => "udp",
    };
    let dev = match server.mode {
        Mode::Ip => "tun",
        Mode::Ethernet => "tap",
    };
    let cipher = server.cipher.first().copied().unwrap_or(Cipher::Aes128Cbc);
    let auth = server.auth.first().copied().unwrap_or(Digest::Sha1);
    let mut s = format!(
        "client\ndev {dev}\nproto {proto}\nremote {server_address} {}\nnobind\npersist-key\npersist-tun\ncipher {}\ndata-ciphers {}\nauth {}\nauth-user-pass\nremote-cert-tls server\nverb 3\n",
        server.port,
        cipher.openvpn_name(),
        server.cipher.iter().map(|c| c.openvpn_name()).collect::<Vec<_>>().join(":"),
        auth.openvpn_name(),
    );
    for (tag, body) in [
        ("ca", ca_pem),
        ("cert", client_cert_pem),
        ("key", client_key_pem),
    ] {
        s.push_str(&format!("<{tag}>\n{}\n</{tag}>\n", body.trim_end()));
    }
    if let WrapConfig::TlsAuth { key, .. } = &server.wrap {
        s.push_str(&format!(
            "key-direction 1\n<tls-auth>\n{}</tls-auth>\n",
            key.to_pem()
        ));
    }
    if let WrapConfig::TlsCrypt { key } = &server.wrap {
        s.push_str(&format!("<tls-crypt>\n{}</tls-crypt>\n", key.to_pem()));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN OpenVPN Static key V1-----\n";

    fn static_pem() -> String {
        let b: Vec<u8> = (0..=255u8).collect();
        StaticKey::from_bytes(&b).unwrap().to_pem()
    }

    #[test]
    fn import_routeros_style_file() {
        let text = format!(
            "client\ndev tun\nproto udp\nremote vpn.example.net 1194\ncipher AES-256-GCM\nauth SHA256\nfrobnicate yes\nkey-direction 1\n<tls-auth>\n{}</tls-auth>\n<ca>\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n</ca>\n",
            static_pem()
        );
        let f = OvpnFile::parse(&text).unwrap();
        assert_eq!(f.unknown, vec![(7, "frobnicate".to_string())]);
        assert!(f.block("ca").unwrap().contains("BEGIN CERTIFICATE"));
        let c = f.to_client_config("user", "pw").unwrap();
        assert_eq!(c.connect_to, "vpn.example.net");
        assert_eq!(c.protocol, Protocol::Udp);
        assert_eq!(c.cipher, Cipher::Aes256Gcm);
        assert!(matches!(
            c.wrap,
            WrapConfig::TlsAuth {
                direction: crate::crypto::KeyDirection::Inverse,
                digest: Digest::Sha256,
                ..
            }
        ));
        let _ = KEY;
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(OvpnFile::parse("dev tun\n<ca>\nxx\n").unwrap_err().line, 2);
        assert_eq!(
            OvpnFile::parse("\n\nremote h notaport\n").unwrap_err().line,
            3
        );
        assert_eq!(OvpnFile::parse("cipher ROT13\n").unwrap_err().line, 1);
        assert_eq!(OvpnFile::parse("key-direction 2\n").unwrap_err().line, 1);
        assert_eq!(OvpnFile::parse("</ca>\n").unwrap_err().line, 1);
    }

    #[test]
    fn export_requires_client_certificates_and_round_trips() {
        let mut s = ServerConfig::default();
        assert!(export_client(&s, "192.0.2.1", "CA", "CERT", "KEY").is_err());
        s.require_client_certificate = true;
        s.trusted_ca_pem = Some("CA".into());
        let text = export_client(&s, "192.0.2.1", "CA", "CERT", "KEY").unwrap();
        let f = OvpnFile::parse(&text).unwrap();
        assert!(f.unknown.is_empty(), "{:?}", f.unknown);
        assert_eq!(f.remotes[0], ("192.0.2.1".to_string(), Some(1194), None));
        assert_eq!(f.proto, Some(Protocol::Tcp));
        assert_eq!(f.cipher, Some(Cipher::Aes128Cbc));
        assert_eq!(f.block("cert").unwrap().trim(), "CERT");
    }
}
