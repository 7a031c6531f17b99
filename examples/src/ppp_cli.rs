//! Command-line value parsers the PPP examples share (`sstp-server`, `pptp-server`,
//! `pppoe-server`, `ppp-stdio`; `sstp-client`, `pptp-client`, `pppoe-client`).

/// `--user NAME:PASSWORD`.
pub fn parse_user(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .ok_or_else(|| "expected NAME:PASSWORD".to_string())
}

/// `--authentication LIST` (RouterOS `authentication`), checked by [`ppp::AuthSet::parse`].
pub fn parse_auth(s: &str) -> Result<String, String> {
    ppp::AuthSet::parse(s).map_err(|e| format!("{e} (allowed: pap, chap, mschap1, mschap2)"))?;
    Ok(s.to_string())
}

/// `--allow LIST` of the clients (RouterOS `allow`, `authentication` on sstp-client): the
/// methods the client accepts, checked by [`ppp::AuthSet::parse`] (EAP included).
pub fn parse_allow(s: &str) -> Result<ppp::AuthSet, String> {
    ppp::AuthSet::parse(s).map_err(|e| format!("{e} (allowed: pap, chap, mschap1, mschap2, eap)"))
}

/// The RADIUS options every PPP server example takes (`#[command(flatten)]`), mapped to
/// RouterOS:
///
/// | option | RouterOS | default |
/// | --- | --- | --- |
/// | `--radius ADDR[:PORT]` | `/radius add service=ppp address=ADDR authentication-port=PORT` (accounting port = PORT+1) and `/ppp aaa set use-radius=yes` | none (1812, 1813) |
/// | `--radius-secret S` | `/radius ... secret=S` | none (required with `--radius`) |
/// | `--radius-accounting` | `/ppp aaa set accounting=yes` (records go to RADIUS) | no (yes when `--config` has `/ppp aaa use-radius=yes` and leaves `accounting` at its default) |
/// | `--radius-interim SECS` | `/ppp aaa set interim-update=SECS` (Acct-Interim-Interval of the Access-Accept wins) | 0 (none) |
/// | `--radius-incoming PORT` | `/radius incoming set accept=yes port=PORT` (Disconnect-Request / CoA-Request from the `/radius` servers) | off |
///
/// Users in the local `/ppp secret`s (`--user`) are authenticated locally; every other user
/// is asked of RADIUS (RouterOS order).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct RadiusArgs {
    /// RADIUS server for PPP logins (RouterOS `/radius add service=ppp address=ADDR
    /// authentication-port=PORT` with `/ppp aaa set use-radius=yes`); accounting goes to PORT+1.
    /// Default: none (port 1812).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_radius_addr)]
    pub radius: Option<std::net::SocketAddr>,
    /// RADIUS shared secret (RouterOS `/radius secret`). Required with --radius.
    #[arg(long, value_name = "SECRET")]
    pub radius_secret: Option<String>,
    /// Send accounting Start/Interim-Update/Stop to RADIUS (RouterOS `/ppp aaa
    /// accounting=yes`). Default: off on the command line.
    #[arg(long)]
    pub radius_accounting: bool,
    /// Interim-Update interval in seconds (RouterOS `/ppp aaa interim-update`; the
    /// Access-Accept's Acct-Interim-Interval wins). Default: 0 (none).
    #[arg(long, value_name = "SECS")]
    pub radius_interim: Option<u64>,
    /// Listen for Disconnect-Request/CoA-Request (RFC 5176) on this UDP port (RouterOS
    /// `/radius incoming set accept=yes port=PORT`, usually 3799). Default: off.
    #[arg(long, value_name = "PORT")]
    pub radius_incoming: Option<u16>,
}

/// `ADDR` or `ADDR:PORT` (port 1812 when left out).
pub fn parse_radius_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 1812))
        .map_err(|_| format!("expected ADDR or ADDR:PORT, got {s:?}"))
}

impl RadiusArgs {
    /// The options over the `--config` file's RADIUS part: a `--radius` server replaces the
    /// file's entries, `--radius-accounting`, `--radius-interim` and `--radius-incoming`
    /// override `/ppp aaa` and `/radius incoming`. `Ok(None)`: no RADIUS.
    pub fn resolve(
        &self,
        from_file: Option<&crate::rsc_config::RadiusRsc>,
    ) -> Result<Option<crate::rsc_config::RadiusRsc>, String> {
        let mut r = from_file.cloned().unwrap_or_else(|| {
            let mut r = crate::rsc_config::RadiusRsc::default();
            r.aaa.accounting = false;
            r
        });
        if let Some(addr) = self.radius {
            let secret = self
                .radius_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or("--radius needs --radius-secret")?;
            let mut s = ppp::radius::RadiusServer::new(addr.ip(), secret);
            s.authentication_port = addr.port();
            s.accounting_port = addr.port().wrapping_add(1);
            r.servers = vec![s];
            r.aaa.use_radius = true;
        } else if self.radius_secret.is_some() {
            return Err("--radius-secret needs --radius".into());
        }
        if self.radius_accounting {
            r.aaa.accounting = true;
        }
        if let Some(i) = self.radius_interim {
            r.aaa.interim_update = std::time::Duration::from_secs(i);
        }
        if let Some(p) = self.radius_incoming {
            r.incoming.accept = true;
            r.incoming.port = p;
        }
        if !r.aaa.use_radius || r.servers.is_empty() {
            return Ok(None);
        }
        Ok(Some(r))
    }
}
