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
