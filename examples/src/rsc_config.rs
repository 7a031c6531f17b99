//! `.rsc` files onto the crates' configs: the example programs' `--config FILE.rsc`.
//!
//! [`crate::rsc::parse`] turns the export into commands; here each command of a menu a
//! program uses goes to its crate's constructor (`from_props` / `apply_props`), which names a
//! bad property in its error and returns the properties it does not implement. Those become
//! [`UnknownProperty`] warnings naming the line; commands of menus the program does not use
//! (`/ip firewall filter`, ...) are listed in `ignored` with their line.
//!
//! | loader | menus | program |
//! | --- | --- | --- |
//! | [`wireguard()`] | `/interface wireguard`, `peers`, `/ip address` | `wg --config` |
//! | [`l2tp_server`] | `/interface l2tp-server server`, `/ppp profile`, `secret`, `/ip pool`, `/ppp aaa`, `/radius`, `/radius incoming` | `l2tp-server --config` |
//! | [`sstp_server`] | `/interface sstp-server server`, `/ppp profile`, `secret`, `/ip pool`, `/ppp aaa`, `/radius`, `/radius incoming` | `sstp-server --config` |
//! | [`pptp_server`] | `/interface pptp-server server`, `/ppp profile`, `secret`, `/ip pool`, `/ppp aaa`, `/radius`, `/radius incoming` | `pptp-server --config` |
//! | [`pppoe_server`] | `/interface pppoe-server server`, `/ppp profile`, `secret`, `/ip pool`, `/ppp aaa`, `/radius`, `/radius incoming` | `pppoe-server --config` |
//! | [`l2tp_client`] | `/interface l2tp-client` | `l2tp-client --config` |
//! | [`l2tp_ether`] | `/interface l2tp-ether` | `l2tp-ether --config` |
//! | [`sstp_client`] | `/interface sstp-client`, `/ppp profile`, `/ip pool` | `sstp-client --config` |
//! | [`pptp_client`] | `/interface pptp-client`, `/ppp profile`, `/ip pool` | `pptp-client --config` |
//! | [`pppoe_client`] | `/interface pppoe-client`, `/ppp profile`, `/ip pool` | `pppoe-client --config` |
//! | [`gre_family()`] | `/interface gre`, `eoip`, `eoipv6`, `ipip`, `6to4`, `gre6`, `ipipv6`, `/ip address`, `/ipv6 address` | `gre-tunnel --config` |
//! | [`ptp()`] | `/system ptp`, `/system ptp port` | `ptp --config` |
//! | [`ovpn_client`] | `/interface ovpn-client` | `ovpn-client --config` |
//! | [`ovpn_server`] | `/interface ovpn-server server`, `/ppp secret` | `ovpn-server --config` |
//! | [`ipsec`] | `/ip ipsec profile`, `proposal`, `peer`, `identity`, `policy`, `policy group`, `mode-config` | `ike --config` |
//!
//! Each loader's result has an `export()` that it reads back to the same configuration.

use crate::rsc::{parse, Command, Target, UnknownProperty};
use ppp::aaa::{Aaa, AddressSpec, IpPool, Profile, Secret};
use std::net::Ipv4Addr;

/// What a loader set aside: unknown properties and commands of other menus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    /// Properties the crate does not implement, with their line.
    pub unknown: Vec<UnknownProperty>,
    /// Commands of menus (or verbs) this program does not use: line and `/menu verb`.
    pub ignored: Vec<(usize, String)>,
}

impl Notes {
    fn unknown(&mut self, c: &Command, keys: Vec<String>) {
        for key in keys {
            self.unknown.push(UnknownProperty {
                line: c.line,
                menu: c.menu_path(),
                key,
            });
        }
    }

    fn ignore(&mut self, c: &Command) {
        self.ignored
            .push((c.line, format!("{} {}", c.menu_path(), c.verb)));
    }

    /// Log the notes: unknown properties as warnings, ignored commands at info.
    pub fn log(&self, file: &str) {
        for u in &self.unknown {
            tracing::warn!("{file}: {u}");
        }
        for (line, what) in &self.ignored {
            tracing::info!("{file}: line {line}: {what} is not used by this program; ignored");
        }
    }
}

fn at(c: &Command, e: impl std::fmt::Display) -> String {
    format!("line {}: {}: {e}", c.line, c.menu_path())
}

fn menu_is(c: &Command, path: &[&str]) -> bool {
    c.menu.len() == path.len() && c.menu.iter().zip(path).all(|(a, b)| a == b)
}

/// The item name a `set` names: `set default ...`, `set [find name=default] ...`.
fn target_name(c: &Command) -> Option<&str> {
    match &c.target {
        Some(Target::Name(n)) => Some(n),
        Some(Target::Find(conds)) => conds
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.as_str()),
        _ => None,
    }
}

/// The `/interface wireguard` part of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgRsc {
    /// The interface (the first `/interface wireguard add`, then any `set` naming it).
    pub interface: wireguard::InterfaceConfig,
    /// Its peers (`/interface wireguard peers add` whose `interface` is this one's name or
    /// empty).
    pub peers: Vec<wireguard::PeerConfig>,
    /// `/ip address add address=... interface=<the interface>`: addresses for the device.
    pub addresses: Vec<wireguard::InterfaceAddress>,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the WireGuard menus of an export (`/interface wireguard`, `/interface wireguard
/// peers`, and `/ip address` entries on that interface).
pub fn wireguard(text: &str) -> Result<WgRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut iface: Option<wireguard::InterfaceConfig> = None;
    let mut peers = Vec::new();
    let mut addrs: Vec<(usize, String, String)> = Vec::new();
    for c in &cmds {
        let props = c.prop_refs();
        if menu_is(c, &["interface", "wireguard"]) && c.verb == "add" {
            let (i, unknown) =
                wireguard::InterfaceConfig::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            if iface.is_none() {
                iface = Some(i);
            } else {
                notes
                    .ignored
                    .push((c.line, format!("second interface {:?}", i.name)));
            }
        } else if menu_is(c, &["interface", "wireguard"]) && c.verb == "set" {
            let cur = iface
                .as_mut()
                .filter(|i| target_name(c).is_none_or(|n| n == i.name))
                .ok_or_else(|| at(c, "set names no interface added before it"))?;
            // Re-read with the current values first, so a `set` changes only what it names.
            let mut merged: Vec<(&'static str, String)> = cur.to_props();
            merged.extend(c.props.iter().filter_map(|(k, v)| {
                [
                    "name",
                    "comment",
                    "disabled",
                    "listen-port",
                    "mtu",
                    "private-key",
                    "public-key",
                ]
                .iter()
                .find(|x| **x == k)
                .map(|x| (*x, v.clone()))
            }));
            let refs: Vec<(&str, &str)> = merged.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (i, _) = wireguard::InterfaceConfig::from_props(&refs).map_err(|e| at(c, e))?;
            let (_, unknown) =
                wireguard::InterfaceConfig::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            *cur = i;
        } else if menu_is(c, &["interface", "wireguard", "peers"]) && c.verb == "add" {
            let (p, unknown) = wireguard::PeerConfig::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            peers.push((c.line, p));
        } else if menu_is(c, &["ip", "address"]) && c.verb == "add" {
            if let (Some(a), Some(i)) = (c.get("address"), c.get("interface")) {
                addrs.push((c.line, a.to_string(), i.to_string()));
            } else {
                notes.ignore(c);
            }
        } else {
            notes.ignore(c);
        }
    }
    let interface = iface.ok_or("no `/interface wireguard add` in the file")?;
    let mut out_peers = Vec::new();
    for (line, p) in peers {
        if p.interface.is_empty() || p.interface == interface.name {
            out_peers.push(p);
        } else {
            notes
                .ignored
                .push((line, format!("peer of interface {:?}", p.interface)));
        }
    }
    let mut addresses = Vec::new();
    for (line, a, i) in addrs {
        if i == interface.name {
            addresses.push(
                a.parse()
                    .map_err(|e| format!("line {line}: /ip address: address: {e}"))?,
            );
        } else {
            notes.ignored.push((line, format!("/ip address of {i:?}")));
        }
    }
    Ok(WgRsc {
        interface,
        peers: out_peers,
        addresses,
        notes,
    })
}

/// The `/interface wireguard` export of an interface and its peers (what [`wireguard()`]
/// reads back to the same configs).
pub fn wireguard_export(
    iface: &wireguard::InterfaceConfig,
    peers: &[wireguard::PeerConfig],
) -> String {
    let mut s = String::from("/interface wireguard\n");
    s.push_str(&add_line(&iface.to_props()));
    s.push_str("/interface wireguard peers\n");
    for p in peers {
        s.push_str(&add_line(&p.to_props()));
    }
    s
}

/// `add key=value ...` with export quoting, and a newline.
pub fn add_line(props: &[(&str, String)]) -> String {
    let mut s = String::from("add");
    for (k, v) in props {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(&crate::rsc::quote(v));
    }
    s.push('\n');
    s
}

/// The L2TP server part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct L2tpServerRsc {
    /// `/interface l2tp-server server set ...` over the RouterOS defaults.
    pub server: l2tp::config::ServerConfig,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (with RouterOS's `default` and
    /// `default-encryption` profiles present from the start).
    pub aaa: Aaa,
    /// `/ppp aaa`, the `/radius` entries for service `ppp`, `/radius incoming`.
    pub radius: RadiusRsc,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the L2TP server menus of an export: `/interface l2tp-server server`, `/ppp profile`,
/// `/ppp secret`, `/ip pool`, and the RADIUS ones ([`RadiusRsc`]).
pub fn l2tp_server(text: &str) -> Result<L2tpServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut server = l2tp::config::ServerConfig::default();
    let mut aaa = Aaa::new();
    let mut radius = RadiusRsc::default();
    for c in &cmds {
        if menu_is(c, &["interface", "l2tp-server", "server"]) && c.verb == "set" {
            let unknown = server.apply_props(&c.prop_refs()).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
        } else if !aaa_command(c, &mut aaa, &mut notes)?
            && !radius_command(c, &mut radius, &mut notes)?
        {
            notes.ignore(c);
        }
    }
    server.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    Ok(L2tpServerRsc {
        server,
        aaa,
        radius,
        notes,
    })
}

impl L2tpServerRsc {
    /// The server's own PPP address: `local-address` of its `default-profile`, else of the
    /// `default` profile, when that is a fixed address.
    pub fn local_address(&self) -> Option<Ipv4Addr> {
        profile_local_address(&self.aaa, &self.server.ppp.default_profile)
    }

    /// The export [`l2tp_server`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut s = ppp_server_export("l2tp-server", &self.server.to_props(), &self.aaa);
        s.push_str(&self.radius.export());
        s
    }
}

// ---------------------------------------------------------------- radius

/// The RADIUS part of a PPP server's export (RouterOS `/ppp aaa`, `/radius`, `/radius
/// incoming`).
///
/// | RouterOS | here | default |
/// | --- | --- | --- |
/// | `/ppp aaa set use-radius=` | `aaa.use_radius` | `no` |
/// | `/ppp aaa set accounting=` | `aaa.accounting` | `yes` |
/// | `/ppp aaa set interim-update=` | `aaa.interim_update` | `0s` (none) |
/// | `/radius add service=ppp address= secret= ...` | `servers` (entries without `ppp` in `service` are ignored, with a note) | none |
/// | `/radius incoming set accept= port=` | `incoming` | `accept=no port=3799` |
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RadiusRsc {
    /// `/ppp aaa`.
    pub aaa: ppp::host::AaaSettings,
    /// `/radius` entries with `ppp` among their `service`s, in order.
    pub servers: Vec<ppp::radius::RadiusServer>,
    /// `/radius incoming` (its clients are the `servers`' addresses and secrets).
    pub incoming: ppp::radius::DaeConfig,
}

impl RadiusRsc {
    /// The export [`radius_command`] reads back (empty when everything is default).
    pub fn export(&self) -> String {
        let mut s = String::new();
        let d = ppp::host::AaaSettings::default();
        let mut aaa = Vec::new();
        if self.aaa.use_radius != d.use_radius {
            aaa.push((
                "use-radius",
                ppp::props::yes_no(self.aaa.use_radius).to_string(),
            ));
        }
        if self.aaa.accounting != d.accounting {
            aaa.push((
                "accounting",
                ppp::props::yes_no(self.aaa.accounting).to_string(),
            ));
        }
        if self.aaa.interim_update != d.interim_update {
            aaa.push((
                "interim-update",
                ppp::props::format_time(self.aaa.interim_update),
            ));
        }
        if !aaa.is_empty() {
            s.push_str("/ppp aaa\nset");
            for (k, v) in aaa {
                s.push_str(&format!(" {k}={}", crate::rsc::quote(&v)));
            }
            s.push('\n');
        }
        if !self.servers.is_empty() {
            s.push_str("/radius\n");
            for r in &self.servers {
                let mut p = vec![("service", "ppp".to_string())];
                p.extend(r.to_props());
                s.push_str(&add_line(&p));
            }
        }
        let inc = self.incoming.to_props();
        if !inc.is_empty() {
            s.push_str("/radius incoming\nset");
            for (k, v) in inc {
                s.push_str(&format!(" {k}={}", crate::rsc::quote(&v)));
            }
            s.push('\n');
        }
        s
    }

    /// The client configuration (`None` without `use-radius=yes` or without entries), with
    /// NAS-Identifier `MikroTik` (RouterOS sends `/system identity`, whose default that is;
    /// RFC 2865 s4.1 wants NAS-Identifier or NAS-IP-Address in every Access-Request).
    pub fn client_config(&self) -> Option<ppp::radius::RadiusConfig> {
        if !self.aaa.use_radius || self.servers.is_empty() {
            return None;
        }
        Some(ppp::radius::RadiusConfig {
            servers: self.servers.clone(),
            nas_identifier: Some("MikroTik".into()),
            ..Default::default()
        })
    }

    /// `/radius incoming` with the entries as its clients (`None` with `accept=no`).
    pub fn dae_config(&self) -> Option<ppp::radius::DaeConfig> {
        if !self.incoming.accept {
            return None;
        }
        let mut d = self.incoming.clone();
        d.clients = self
            .servers
            .iter()
            .map(|s| (s.address, s.secret.clone()))
            .collect();
        Some(d)
    }
}

/// One `/ppp aaa set`, `/radius add` or `/radius incoming set` onto `r`; `Ok(false)`:
/// another menu or verb.
pub fn radius_command(c: &Command, r: &mut RadiusRsc, notes: &mut Notes) -> Result<bool, String> {
    let props = c.prop_refs();
    let verb = c.verb.as_str();
    if menu_is(c, &["ppp", "aaa"]) && verb == "set" {
        for &(k, v) in &props {
            match k {
                "use-radius" => {
                    r.aaa.use_radius =
                        ppp::props::parse_yes_no(v, "use-radius").map_err(|e| at(c, e))?
                }
                "accounting" => {
                    r.aaa.accounting =
                        ppp::props::parse_yes_no(v, "accounting").map_err(|e| at(c, e))?
                }
                "interim-update" => {
                    r.aaa.interim_update =
                        ppp::props::parse_time(v, "interim-update").map_err(|e| at(c, e))?
                }
                other => notes.unknown(c, vec![other.to_string()]),
            }
        }
    } else if menu_is(c, &["radius"]) && verb == "add" {
        let service = props
            .iter()
            .find(|(k, _)| *k == "service")
            .map(|(_, v)| *v)
            .unwrap_or("");
        if !service.split(',').any(|s| s.trim() == "ppp") {
            notes
                .ignored
                .push((c.line, format!("/radius add service={service} (not ppp)")));
            return Ok(true);
        }
        let rest: Vec<(&str, &str)> = props.into_iter().filter(|(k, _)| *k != "service").collect();
        let (s, unknown) = ppp::radius::RadiusServer::from_props(&rest).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
        r.servers.push(s);
    } else if menu_is(c, &["radius", "incoming"]) && verb == "set" {
        let unknown = r.incoming.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    } else {
        return Ok(false);
    }
    Ok(true)
}

// ---------------------------------------------------------------- ppp servers

/// One `/ppp profile`, `/ppp secret` or `/ip pool` command onto `aaa`; `Ok(false)`: another
/// menu or verb.
fn aaa_command(c: &Command, aaa: &mut Aaa, notes: &mut Notes) -> Result<bool, String> {
    let props = c.prop_refs();
    let verb = c.verb.as_str();
    if menu_is(c, &["ppp", "profile"]) && verb == "add" {
        let (p, unknown) = Profile::from_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
        aaa.profiles.retain(|x| x.name != p.name);
        aaa.profiles.push(p);
    } else if menu_is(c, &["ppp", "profile"]) && verb == "set" {
        let name = target_name(c).ok_or_else(|| at(c, "set needs a profile name"))?;
        let p = aaa
            .profiles
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| at(c, format!("no profile {name:?}")))?;
        let unknown = p.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    } else if menu_is(c, &["ppp", "secret"]) && verb == "add" {
        let (s, unknown) = Secret::from_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
        aaa.secrets.push(s);
    } else if menu_is(c, &["ppp", "secret"]) && verb == "set" {
        let name = target_name(c).ok_or_else(|| at(c, "set needs a secret name"))?;
        let s = aaa
            .secrets
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| at(c, format!("no secret {name:?}")))?;
        let unknown = s.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    } else if menu_is(c, &["ip", "pool"]) && verb == "add" {
        let (p, unknown) = IpPool::from_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
        aaa.pools.retain(|x| x.name != p.name);
        aaa.pools.push(p);
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// Every profile's pool names an `/ip pool`.
fn check_pools(aaa: &Aaa) -> Result<(), String> {
    for p in &aaa.profiles {
        for spec in [&p.local_address, &p.remote_address].into_iter().flatten() {
            if let AddressSpec::Pool(n) = spec {
                if !aaa.pools.iter().any(|x| &x.name == n) {
                    return Err(format!(
                        "/ppp profile {:?}: no /ip pool named {n:?}",
                        p.name
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The server's own PPP address: `local-address` of `default_profile`, else of the
/// `default` profile, when that is a fixed address.
fn profile_local_address(aaa: &Aaa, default_profile: &str) -> Option<Ipv4Addr> {
    [default_profile, "default"]
        .iter()
        .filter_map(|n| aaa.profile(n))
        .find_map(|p| match p.local_address {
            Some(AddressSpec::Address(a)) => Some(a),
            _ => None,
        })
}

/// `/interface <menu> server` (a `set` with `props`), then the AAA tables, as export text.
fn ppp_server_export(menu: &str, props: &[(&'static str, String)], aaa: &Aaa) -> String {
    let mut s = String::new();
    if !props.is_empty() {
        s.push_str(&format!("/interface {menu} server\nset"));
        for (k, v) in props {
            s.push_str(&format!(" {k}={}", crate::rsc::quote(v)));
        }
        s.push('\n');
    }
    if !aaa.pools.is_empty() {
        s.push_str("/ip pool\n");
        for p in &aaa.pools {
            s.push_str(&add_line(&p.to_props()));
        }
    }
    s.push_str("/ppp profile\n");
    for p in &aaa.profiles {
        let props = p.to_props();
        if matches!(p.name.as_str(), "default" | "default-encryption") {
            if props.len() > 1 {
                s.push_str(&format!("set {}", crate::rsc::quote(&p.name)));
                for (k, v) in &props[1..] {
                    s.push_str(&format!(" {k}={}", crate::rsc::quote(v)));
                }
                s.push('\n');
            }
        } else {
            s.push_str(&add_line(&props));
        }
    }
    if !aaa.secrets.is_empty() {
        s.push_str("/ppp secret\n");
        for x in &aaa.secrets {
            s.push_str(&add_line(&x.to_props()));
        }
    }
    s
}

/// The SSTP server part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct SstpServerRsc {
    /// `/interface sstp-server server set ...` over the RouterOS defaults (not validated
    /// for the TLS material: the program supplies the PEM files).
    pub server: sstp::ServerConfig,
    /// `certificate=NAME` (a name in RouterOS's certificate store; the program needs its PEM
    /// files with `--cert`/`--key`). `None`: not set or `none`.
    pub certificate: Option<String>,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (with RouterOS's `default` and
    /// `default-encryption` profiles present from the start).
    pub aaa: Aaa,
    /// `/ppp aaa`, the `/radius` entries for service `ppp`, `/radius incoming`.
    pub radius: RadiusRsc,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the SSTP server menus of an export: `/interface sstp-server server`, `/ppp profile`,
/// `/ppp secret`, `/ip pool`.
pub fn sstp_server(text: &str) -> Result<SstpServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut server = sstp::ServerConfig::default();
    let mut certificate = None;
    let mut aaa = Aaa::new();
    let mut radius = RadiusRsc::default();
    for c in &cmds {
        if menu_is(c, &["interface", "sstp-server", "server"]) && c.verb == "set" {
            let mut props = c.prop_refs();
            if let Some(&(_, v)) = props.iter().rev().find(|(k, _)| *k == "certificate") {
                certificate = (v != "none").then(|| v.to_string());
            }
            props.retain(|(k, _)| *k != "certificate");
            let unknown = server.apply_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
        } else if !aaa_command(c, &mut aaa, &mut notes)?
            && !radius_command(c, &mut radius, &mut notes)?
        {
            notes.ignore(c);
        }
    }
    // The TLS material comes from the program's options: check the rest.
    let mut check = server.clone();
    check.tls.verify_client_certificate = false;
    check.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    Ok(SstpServerRsc {
        server,
        certificate,
        aaa,
        radius,
        notes,
    })
}

impl SstpServerRsc {
    /// The server's own PPP address: `local-address` of its `default-profile`, else of the
    /// `default` profile, when that is a fixed address.
    pub fn local_address(&self) -> Option<Ipv4Addr> {
        profile_local_address(&self.aaa, &self.server.ppp.default_profile)
    }

    /// The export [`sstp_server`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = self.server.to_props();
        if let Some(c) = &self.certificate {
            props.push(("certificate", c.clone()));
        }
        let mut s = ppp_server_export("sstp-server", &props, &self.aaa);
        s.push_str(&self.radius.export());
        s
    }
}

/// The PPTP server part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct PptpServerRsc {
    /// `/interface pptp-server server set ...` over the RouterOS defaults.
    pub server: pptp::ServerConfig,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (starting from [`pptp::default_aaa`]:
    /// `default`, and `default-encryption` with `use-encryption=yes`).
    pub aaa: Aaa,
    /// `/ppp aaa`, the `/radius` entries for service `ppp`, `/radius incoming`.
    pub radius: RadiusRsc,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the PPTP server menus of an export: `/interface pptp-server server`, `/ppp profile`,
/// `/ppp secret`, `/ip pool`.
pub fn pptp_server(text: &str) -> Result<PptpServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut server = pptp::ServerConfig::default();
    let mut aaa = pptp::default_aaa();
    let mut radius = RadiusRsc::default();
    for c in &cmds {
        if menu_is(c, &["interface", "pptp-server", "server"]) && c.verb == "set" {
            let unknown = server.apply_props(&c.prop_refs()).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
        } else if !aaa_command(c, &mut aaa, &mut notes)?
            && !radius_command(c, &mut radius, &mut notes)?
        {
            notes.ignore(c);
        }
    }
    server.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    Ok(PptpServerRsc {
        server,
        aaa,
        radius,
        notes,
    })
}

impl PptpServerRsc {
    /// The server's own PPP address: `local-address` of its `default-profile`, else of the
    /// `default` profile, when that is a fixed address.
    pub fn local_address(&self) -> Option<Ipv4Addr> {
        profile_local_address(&self.aaa, &self.server.ppp.default_profile)
    }

    /// The export [`pptp_server`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut s = ppp_server_export("pptp-server", &self.server.to_props(), &self.aaa);
        s.push_str(&self.radius.export());
        s
    }
}

/// The MAC of the configs [`pppoe_server`] returns, until the program puts its port's in.
pub const PLACEHOLDER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

/// One `/interface pppoe-server server add ...` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct PppoeServerEntry {
    /// `interface` (the port's name; "" when not given).
    pub interface: String,
    /// `disabled` (RouterOS default for `add`: no).
    pub disabled: bool,
    /// The entry's settings (with [`PLACEHOLDER_MAC`]).
    pub config: pppoe::ServerConfig,
}

/// The PPPoE server part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct PppoeServerRsc {
    /// The `/interface pppoe-server server` entries in order.
    pub servers: Vec<PppoeServerEntry>,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (with RouterOS's `default` and
    /// `default-encryption` profiles present from the start).
    pub aaa: Aaa,
    /// `/ppp aaa`, the `/radius` entries for service `ppp`, `/radius incoming`.
    pub radius: RadiusRsc,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the PPPoE server menus of an export: `/interface pppoe-server server add` (each
/// entry: `interface`, `disabled` and [`pppoe::ServerConfig::apply_props`]), `/ppp profile`,
/// `/ppp secret`, `/ip pool`.
pub fn pppoe_server(text: &str) -> Result<PppoeServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut servers = Vec::new();
    let mut aaa = Aaa::new();
    let mut radius = RadiusRsc::default();
    for c in &cmds {
        if menu_is(c, &["interface", "pppoe-server", "server"]) && c.verb == "add" {
            let mut entry = PppoeServerEntry {
                interface: String::new(),
                disabled: false,
                config: pppoe::ServerConfig::new(PLACEHOLDER_MAC),
            };
            let mut props = c.prop_refs();
            for &(k, v) in &props {
                match k {
                    "interface" => entry.interface = v.to_string(),
                    "disabled" => {
                        entry.disabled =
                            ppp::props::parse_yes_no(v, "disabled").map_err(|e| at(c, e))?
                    }
                    _ => {}
                }
            }
            props.retain(|(k, _)| !matches!(*k, "interface" | "disabled"));
            let unknown = entry.config.apply_props(&props).map_err(|e| at(c, e))?;
            entry.config.validate().map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            servers.push(entry);
        } else if !aaa_command(c, &mut aaa, &mut notes)?
            && !radius_command(c, &mut radius, &mut notes)?
        {
            notes.ignore(c);
        }
    }
    check_pools(&aaa)?;
    Ok(PppoeServerRsc {
        servers,
        aaa,
        radius,
        notes,
    })
}

impl PppoeServerRsc {
    /// The enabled entries on `interface` (or, when `None`, on the first enabled entry's
    /// interface) as one access concentrator: the first entry's settings with every entry's
    /// `service-name`. `None` when there is no such entry.
    pub fn server_on(&self, interface: Option<&str>) -> Option<(String, pppoe::ServerConfig)> {
        let on: Vec<&PppoeServerEntry> = self
            .servers
            .iter()
            .filter(|e| !e.disabled)
            .filter(|e| interface.is_none_or(|i| e.interface == i))
            .collect();
        let first = *on.first()?;
        let ifname = first.interface.clone();
        let on: Vec<_> = on.into_iter().filter(|e| e.interface == ifname).collect();
        let mut cfg = first.config.clone();
        cfg.service_names.clear();
        for e in &on {
            for n in &e.config.service_names {
                if !cfg.service_names.contains(n) {
                    cfg.service_names.push(n.clone());
                }
            }
        }
        Some((ifname, cfg))
    }

    /// The server's own PPP address for `default_profile`: its `local-address`, else the
    /// `default` profile's, when that is a fixed address.
    pub fn local_address(&self, default_profile: &str) -> Option<Ipv4Addr> {
        profile_local_address(&self.aaa, default_profile)
    }

    /// The export [`pppoe_server`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut s = ppp_server_export("pppoe-server", &[], &self.aaa);
        if !self.servers.is_empty() {
            s.push_str("/interface pppoe-server server\n");
            for e in &self.servers {
                let mut props = e.config.to_props();
                if !e.interface.is_empty() {
                    props.insert(0, ("interface", e.interface.clone()));
                }
                if e.disabled {
                    props.push(("disabled", "yes".into()));
                }
                s.push_str(&add_line(&props));
            }
        }
        s.push_str(&self.radius.export());
        s
    }
}

/// One `/interface l2tp-client` interface of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct L2tpClientRsc {
    /// `name` ("" when not given).
    pub name: String,
    /// The interface's settings (`add`, then any `set` naming it).
    pub client: l2tp::config::ClientConfig,
    /// `ipsec-secret` (for the IPsec layer, which the program does not run).
    pub ipsec_secret: Option<String>,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Split `name` and `ipsec-secret` off an `l2tp-client` command's properties.
fn l2tp_client_own<'a>(props: &mut Vec<(&'a str, &'a str)>) -> (Option<&'a str>, Option<&'a str>) {
    let find = |props: &[(&'a str, &'a str)], key: &str| {
        props.iter().rev().find(|(k, _)| *k == key).map(|&(_, v)| v)
    };
    let own = (find(props, "name"), find(props, "ipsec-secret"));
    props.retain(|(k, _)| !matches!(*k, "name" | "ipsec-secret"));
    own
}

/// Read the `/interface l2tp-client` menu of an export: the interface named `name` (the first
/// `add` when `None`), then any `set` naming it. Without `disabled=no` the interface is
/// disabled, as in RouterOS.
pub fn l2tp_client(text: &str, name: Option<&str>) -> Result<L2tpClientRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut found: Option<(String, l2tp::config::ClientConfig, Option<String>)> = None;
    for c in &cmds {
        let mut props = c.prop_refs();
        let verb = c.verb.as_str();
        if menu_is(c, &["interface", "l2tp-client"]) && verb == "add" {
            let (n, secret) = l2tp_client_own(&mut props);
            let n = n.unwrap_or_default().to_string();
            if found.is_none() && name.is_none_or(|x| x == n) {
                let (cfg, unknown) =
                    l2tp::config::ClientConfig::from_props(&props).map_err(|e| at(c, e))?;
                notes.unknown(c, unknown);
                found = Some((n, cfg, secret.map(str::to_string)));
            } else {
                notes.ignored.push((c.line, format!("l2tp-client {n:?}")));
            }
        } else if menu_is(c, &["interface", "l2tp-client"]) && verb == "set" {
            match found.as_mut() {
                Some((n, cfg, s)) if target_name(c).is_none_or(|x| x == n) => {
                    let (_, secret) = l2tp_client_own(&mut props);
                    if let Some(v) = secret {
                        *s = Some(v.to_string());
                    }
                    let unknown = cfg.apply_props(&props).map_err(|e| at(c, e))?;
                    cfg.validate().map_err(|e| at(c, e))?;
                    notes.unknown(c, unknown);
                }
                _ => notes.ignore(c),
            }
        } else {
            notes.ignore(c);
        }
    }
    let (name, client, ipsec_secret) = match (found, name) {
        (Some(f), _) => f,
        (None, Some(n)) => {
            return Err(format!(
                "no `/interface l2tp-client add name={n}` in the file"
            ))
        }
        (None, None) => return Err("no `/interface l2tp-client add` in the file".into()),
    };
    Ok(L2tpClientRsc {
        name,
        client,
        ipsec_secret: ipsec_secret.filter(|s| !s.is_empty()),
        notes,
    })
}

impl L2tpClientRsc {
    /// The export [`l2tp_client`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = Vec::new();
        if !self.name.is_empty() {
            props.push(("name", self.name.clone()));
        }
        props.extend(self.client.to_props());
        if let Some(s) = &self.ipsec_secret {
            props.push(("ipsec-secret", s.clone()));
        }
        format!("/interface l2tp-client\n{}", add_line(&props))
    }
}

// ---------------------------------------------------------------- gre-family

/// One tunnel interface of an export: the menu it was added in and its config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelIface {
    /// `/interface gre`.
    Gre(gre_family::GreConfig),
    /// `/interface eoip`.
    Eoip(gre_family::EoipConfig),
    /// `/interface eoipv6` (the same config with IPv6 addresses).
    Eoipv6(gre_family::EoipConfig),
    /// `/interface ipip`.
    Ipip(gre_family::IpipConfig),
    /// `/interface 6to4`.
    SixToFour(gre_family::SixToFourConfig),
    /// `/interface gre6`.
    Gre6(gre_family::Gre6Config),
    /// `/interface ipipv6`.
    Ipipv6(gre_family::Ipipv6Config),
}

/// The `/interface` sub-menus [`gre_family()`] reads.
pub const TUNNEL_MENUS: &[&str] = &["gre", "eoip", "eoipv6", "ipip", "6to4", "gre6", "ipipv6"];

impl TunnelIface {
    /// Build from an `add` property list of `/interface <menu>`; `None` for another menu.
    pub fn from_props(
        menu: &str,
        props: &[(&str, &str)],
    ) -> Option<Result<(Self, Vec<String>), gre_family::Error>> {
        use gre_family as g;
        Some(match menu {
            "gre" => g::GreConfig::from_props(props).map(|(c, u)| (TunnelIface::Gre(c), u)),
            "eoip" => g::EoipConfig::from_props(props).map(|(c, u)| (TunnelIface::Eoip(c), u)),
            "eoipv6" => {
                g::EoipConfig::from_props_v6(props).map(|(c, u)| (TunnelIface::Eoipv6(c), u))
            }
            "ipip" => g::IpipConfig::from_props(props).map(|(c, u)| (TunnelIface::Ipip(c), u)),
            "6to4" => {
                g::SixToFourConfig::from_props(props).map(|(c, u)| (TunnelIface::SixToFour(c), u))
            }
            "gre6" => g::Gre6Config::from_props(props).map(|(c, u)| (TunnelIface::Gre6(c), u)),
            "ipipv6" => {
                g::Ipipv6Config::from_props(props).map(|(c, u)| (TunnelIface::Ipipv6(c), u))
            }
            _ => return None,
        })
    }

    /// The `/interface` sub-menu: `gre`, `eoip`, ...
    pub fn menu(&self) -> &'static str {
        match self {
            TunnelIface::Gre(_) => "gre",
            TunnelIface::Eoip(_) => "eoip",
            TunnelIface::Eoipv6(_) => "eoipv6",
            TunnelIface::Ipip(_) => "ipip",
            TunnelIface::SixToFour(_) => "6to4",
            TunnelIface::Gre6(_) => "gre6",
            TunnelIface::Ipipv6(_) => "ipipv6",
        }
    }

    /// `name`.
    pub fn name(&self) -> &str {
        match self {
            TunnelIface::Gre(c) => &c.name,
            TunnelIface::Eoip(c) | TunnelIface::Eoipv6(c) => &c.name,
            TunnelIface::Ipip(c) => &c.name,
            TunnelIface::SixToFour(c) => &c.name,
            TunnelIface::Gre6(c) => &c.name,
            TunnelIface::Ipipv6(c) => &c.name,
        }
    }

    /// `disabled`.
    pub fn disabled(&self) -> bool {
        match self {
            TunnelIface::Gre(c) => c.disabled,
            TunnelIface::Eoip(c) | TunnelIface::Eoipv6(c) => c.disabled,
            TunnelIface::Ipip(c) => c.disabled,
            TunnelIface::SixToFour(c) => c.disabled,
            TunnelIface::Gre6(c) => c.disabled,
            TunnelIface::Ipipv6(c) => c.disabled,
        }
    }

    /// The validated [`gre_family::TunnelConfig`] the interface runs.
    pub fn to_tunnel(&self) -> Result<gre_family::TunnelConfig, gre_family::Error> {
        match self {
            TunnelIface::Gre(c) => c.to_tunnel(),
            TunnelIface::Eoip(c) | TunnelIface::Eoipv6(c) => c.to_tunnel(),
            TunnelIface::Ipip(c) => c.to_tunnel(),
            TunnelIface::SixToFour(c) => c.to_tunnel(),
            TunnelIface::Gre6(c) => c.to_tunnel(),
            TunnelIface::Ipipv6(c) => c.to_tunnel(),
        }
    }

    /// Apply a `set` property list (only what it names changes), then validate.
    pub fn apply_props(
        &mut self,
        props: &[(&str, &str)],
    ) -> Result<Vec<String>, gre_family::Error> {
        let unknown = match self {
            TunnelIface::Gre(c) => c.apply_props(props),
            TunnelIface::Eoip(c) | TunnelIface::Eoipv6(c) => c.apply_props(props),
            TunnelIface::Ipip(c) => c.apply_props(props),
            TunnelIface::SixToFour(c) => c.apply_props(props),
            TunnelIface::Gre6(c) => c.apply_props(props),
            TunnelIface::Ipipv6(c) => c.apply_props(props),
        }?;
        self.to_tunnel()?;
        Ok(unknown)
    }

    /// The `add` properties that read back to this interface.
    pub fn to_props(&self) -> Vec<(&'static str, String)> {
        match self {
            TunnelIface::Gre(c) => c.to_props(),
            TunnelIface::Eoip(c) | TunnelIface::Eoipv6(c) => c.to_props(),
            TunnelIface::Ipip(c) => c.to_props(),
            TunnelIface::SixToFour(c) => c.to_props(),
            TunnelIface::Gre6(c) => c.to_props(),
            TunnelIface::Ipipv6(c) => c.to_props(),
        }
    }
}

/// An interface address `addr/len` (a bare address is a host address, `/32` or `/128`),
/// written back in canonical form (`172.16.1.1/30`, `2002:a00:101::/128`).
pub fn interface_address(s: &str) -> Result<String, String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: std::net::IpAddr = a
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{s:?}: prefix length must be 0..{max}"))?,
    };
    Ok(format!("{addr}/{len}"))
}

/// The tunnel interfaces of an export (`/interface gre`, `eoip`, `eoipv6`, `ipip`, `6to4`,
/// `gre6`, `ipipv6`) and their addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelsRsc {
    /// Every tunnel interface, in file order (`add`, then any `set` naming it).
    pub interfaces: Vec<TunnelIface>,
    /// `/ip address add` and `/ipv6 address add` entries on those interfaces: (interface
    /// name, `addr/len`), in file order.
    pub addresses: Vec<(String, String)>,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

impl TunnelsRsc {
    /// The interface named `name`, or the first one when `name` is `None`.
    pub fn select(&self, name: Option<&str>) -> Result<&TunnelIface, String> {
        match name {
            None => self.interfaces.first().ok_or_else(|| {
                format!(
                    "no tunnel interface (`/interface {{{}}} add`)",
                    TUNNEL_MENUS.join(",")
                )
            }),
            Some(n) => self
                .interfaces
                .iter()
                .find(|i| i.name() == n)
                .ok_or_else(|| {
                    let names: Vec<&str> = self.interfaces.iter().map(|i| i.name()).collect();
                    format!("no tunnel interface named {n:?} (the file has {names:?})")
                }),
        }
    }

    /// The addresses of interface `name` (`addr/len`).
    pub fn addresses_of(&self, name: &str) -> Vec<String> {
        self.addresses
            .iter()
            .filter(|(i, _)| i == name)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// The export [`gre_family()`] reads back to the same interfaces and addresses.
    pub fn export(&self) -> String {
        let mut s = String::new();
        for i in &self.interfaces {
            s.push_str(&format!("/interface {}\n", i.menu()));
            s.push_str(&add_line(&i.to_props()));
        }
        for (iface, a) in &self.addresses {
            let menu = if a.contains(':') {
                "/ipv6 address"
            } else {
                "/ip address"
            };
            s.push_str(menu);
            s.push('\n');
            s.push_str(&add_line(&[
                ("address", a.clone()),
                ("interface", iface.clone()),
            ]));
        }
        s
    }
}

/// Read the tunnel menus of an export: `/interface gre`, `eoip`, `eoipv6`, `ipip`, `6to4`,
/// `gre6`, `ipipv6` (`add`, and `set` naming an interface added before), and the `/ip
/// address` / `/ipv6 address` entries on those interfaces. Errors name the line and the
/// property.
pub fn gre_family(text: &str) -> Result<TunnelsRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut interfaces: Vec<TunnelIface> = Vec::new();
    let mut addrs: Vec<(usize, String, String)> = Vec::new();
    for c in &cmds {
        let props = c.prop_refs();
        let verb = c.verb.as_str();
        let tunnel_menu = match c.menu.as_slice() {
            [i, m] if i == "interface" && TUNNEL_MENUS.contains(&m.as_str()) => Some(m.as_str()),
            _ => None,
        };
        if let (Some(m), "add") = (tunnel_menu, verb) {
            let (i, unknown) = TunnelIface::from_props(m, &props)
                .ok_or_else(|| at(c, "not a tunnel menu"))?
                .map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            if !i.name().is_empty() && interfaces.iter().any(|x| x.name() == i.name()) {
                return Err(at(c, format!("a second interface named {:?}", i.name())));
            }
            interfaces.push(i);
        } else if let (Some(m), "set") = (tunnel_menu, verb) {
            let of_menu = interfaces.iter_mut().filter(|i| i.menu() == m);
            let cur = match &c.target {
                Some(Target::Index(n)) => of_menu.into_iter().nth(*n as usize),
                _ => {
                    let name =
                        target_name(c).ok_or_else(|| at(c, "set needs an interface name"))?;
                    of_menu.into_iter().find(|i| i.name() == name)
                }
            }
            .ok_or_else(|| at(c, "set names no interface added before it"))?;
            let unknown = cur.apply_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
        } else if (menu_is(c, &["ip", "address"]) || menu_is(c, &["ipv6", "address"]))
            && verb == "add"
        {
            match (c.get("address"), c.get("interface")) {
                (Some(a), Some(i)) => addrs.push((c.line, a.to_string(), i.to_string())),
                _ => notes.ignore(c),
            }
        } else {
            notes.ignore(c);
        }
    }
    let mut addresses = Vec::new();
    for (line, a, i) in addrs {
        if interfaces.iter().any(|x| x.name() == i) {
            let a = interface_address(&a).map_err(|e| format!("line {line}: address: {e}"))?;
            addresses.push((i, a));
        } else {
            notes.ignored.push((line, format!("address of {i:?}")));
        }
    }
    Ok(TunnelsRsc {
        interfaces,
        addresses,
        notes,
    })
}

// ---------------------------------------------------------------- /system ptp

/// The `/system ptp` part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct PtpRsc {
    /// The instance (`/system ptp add`, then any `set` naming it) with its ports (`/system
    /// ptp port add ptp=<its name>`, or without `ptp`), in file order. The fields that are not
    /// RouterOS properties keep their defaults.
    pub config: ptp::Config,
    /// Unknown properties and ignored commands (other instances and their ports among them).
    pub notes: Notes,
}

/// Read the `/system ptp` menus of an export: the instance named `name` (the first `/system
/// ptp add` when `None`) and its `/system ptp port` entries.
pub fn ptp(text: &str, name: Option<&str>) -> Result<PtpRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut instance: Option<ptp::Config> = None;
    let mut ports: Vec<(usize, String, ptp::PortConfig)> = Vec::new();
    for c in &cmds {
        let props = c.prop_refs();
        let verb = c.verb.as_str();
        if menu_is(c, &["system", "ptp"]) && verb == "add" {
            let (i, unknown) = ptp::Config::from_props(&props).map_err(|e| at(c, e))?;
            let wanted = instance.is_none() && name.is_none_or(|n| n == i.name);
            if wanted {
                notes.unknown(c, unknown);
                instance = Some(i);
            } else {
                notes
                    .ignored
                    .push((c.line, format!("ptp instance {:?}", i.name)));
            }
        } else if menu_is(c, &["system", "ptp"]) && verb == "set" {
            match instance.as_mut() {
                Some(i) if target_name(c).is_none_or(|n| n == i.name) => {
                    let unknown = i.apply_props(&props).map_err(|e| at(c, e))?;
                    notes.unknown(c, unknown);
                }
                _ => notes.ignore(c),
            }
        } else if menu_is(c, &["system", "ptp", "port"]) && verb == "add" {
            let (p, unknown) = ptp::PortConfig::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            ports.push((c.line, c.get("ptp").unwrap_or("").to_string(), p));
        } else {
            notes.ignore(c);
        }
    }
    let mut config = match (instance, name) {
        (Some(i), _) => i,
        (None, Some(n)) => return Err(format!("no `/system ptp add name={n}` in the file")),
        (None, None) => return Err("no `/system ptp add` in the file".into()),
    };
    for (line, of, p) in ports {
        if of.is_empty() || of == config.name {
            config.ports.push(p);
        } else {
            notes
                .ignored
                .push((line, format!("port of ptp instance {of:?}")));
        }
    }
    Ok(PtpRsc { config, notes })
}

impl PtpRsc {
    /// The export [`ptp()`] reads back to the same instance and ports.
    pub fn export(&self) -> String {
        let mut s = String::from("/system ptp\n");
        s.push_str(&add_line(&self.config.to_props()));
        if !self.config.ports.is_empty() {
            s.push_str("/system ptp port\n");
            for p in &self.config.ports {
                let mut props = p.to_props();
                if !self.config.name.is_empty() {
                    props.push(("ptp", self.config.name.clone()));
                }
                s.push_str(&add_line(&props));
            }
        }
        s
    }
}

// ---------------------------------------------------------------- /interface ovpn-client, ovpn-server

/// The `/interface ovpn-client` part of an export.
#[derive(Clone, Debug)]
pub struct OvpnClientRsc {
    /// The interface (`add`, then any `set` naming it). RouterOS `certificate` names an entry
    /// of the router's certificate store: it is reported in `notes`, and the certificate
    /// material is left for the program to set.
    pub config: ovpn::ClientConfig,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the `/interface ovpn-client` menu of an export: the interface named `name` (the
/// first `add` when `None`), then any `set` naming it.
pub fn ovpn_client(text: &str, name: Option<&str>) -> Result<OvpnClientRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut config: Option<ovpn::ClientConfig> = None;
    for c in &cmds {
        let props = c.prop_refs();
        let verb = c.verb.as_str();
        if menu_is(c, &["interface", "ovpn-client"]) && verb == "add" {
            let (i, unknown) = ovpn::ClientConfig::from_props(&props).map_err(|e| at(c, e))?;
            if config.is_none() && name.is_none_or(|n| n == i.name) {
                notes.unknown(c, unknown);
                config = Some(i);
            } else {
                notes
                    .ignored
                    .push((c.line, format!("ovpn-client {:?}", i.name)));
            }
        } else if menu_is(c, &["interface", "ovpn-client"]) && verb == "set" {
            match config.as_mut() {
                Some(i) if target_name(c).is_none_or(|n| n == i.name) => {
                    let unknown = i.apply_props(&props).map_err(|e| at(c, e))?;
                    i.validate_props().map_err(|e| at(c, e))?;
                    notes.unknown(c, unknown);
                }
                _ => notes.ignore(c),
            }
        } else {
            notes.ignore(c);
        }
    }
    let config = match (config, name) {
        (Some(c), _) => c,
        (None, Some(n)) => {
            return Err(format!(
                "no `/interface ovpn-client add name={n}` in the file"
            ))
        }
        (None, None) => return Err("no `/interface ovpn-client add` in the file".into()),
    };
    Ok(OvpnClientRsc { config, notes })
}

impl OvpnClientRsc {
    /// The export [`ovpn_client`] reads back to the same RouterOS properties.
    pub fn export(&self) -> String {
        format!(
            "/interface ovpn-client\n{}",
            add_line(&self.config.to_props())
        )
    }
}

/// The OpenVPN server part of an export.
#[derive(Clone, Debug)]
pub struct OvpnServerRsc {
    /// `/interface ovpn-server server`: before RouterOS 7.17 one server, `set ...` over the
    /// defaults; since 7.17 `add name=...` (the one named, or the first), then any `set`
    /// naming it. `certificate` is reported in `notes` (a store name).
    pub config: ovpn::ServerConfig,
    /// `/ppp secret` entries whose `service` is `any` or `ovpn`: the users.
    pub secrets: Vec<ppp::aaa::Secret>,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the OpenVPN server menus of an export: `/interface ovpn-server server` (`set` and
/// `add`) and `/ppp secret`.
pub fn ovpn_server(text: &str, name: Option<&str>) -> Result<OvpnServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut config = ovpn::ServerConfig::default();
    // Whether an `add` chose the server (later `add`s are other servers).
    let mut added = false;
    let mut secrets = Vec::new();
    for c in &cmds {
        let props = c.prop_refs();
        let verb = c.verb.as_str();
        if menu_is(c, &["interface", "ovpn-server", "server"]) && verb == "add" {
            let (s, unknown) = ovpn::ServerConfig::from_props(&props).map_err(|e| at(c, e))?;
            if !added && name.is_none_or(|n| n == s.name) {
                notes.unknown(c, unknown);
                config = s;
                added = true;
            } else {
                notes
                    .ignored
                    .push((c.line, format!("ovpn-server {:?}", s.name)));
            }
        } else if menu_is(c, &["interface", "ovpn-server", "server"]) && verb == "set" {
            if target_name(c).is_none_or(|n| n == config.name) {
                let unknown = config.apply_props(&props).map_err(|e| at(c, e))?;
                config.validate_props().map_err(|e| at(c, e))?;
                notes.unknown(c, unknown);
            } else {
                notes.ignore(c);
            }
        } else if menu_is(c, &["ppp", "secret"]) && verb == "add" {
            let (s, unknown) = ppp::aaa::Secret::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            if matches!(s.service, ppp::Service::Any | ppp::Service::Ovpn) {
                secrets.push(s);
            } else {
                notes
                    .ignored
                    .push((c.line, format!("secret of service {}", s.service.as_str())));
            }
        } else {
            notes.ignore(c);
        }
    }
    if let (Some(n), false) = (name, added) {
        return Err(format!(
            "no `/interface ovpn-server server add name={n}` in the file"
        ));
    }
    Ok(OvpnServerRsc {
        config,
        secrets,
        notes,
    })
}

impl OvpnServerRsc {
    /// The export [`ovpn_server`] reads back to the same RouterOS properties and secrets
    /// (`add` when the server has a name, `set` otherwise).
    pub fn export(&self) -> String {
        let props = self.config.to_props();
        let mut s = String::from("/interface ovpn-server server\n");
        if self.config.name.is_empty() {
            s.push_str("set");
            for (k, v) in &props {
                s.push_str(&format!(" {k}={}", crate::rsc::quote(v)));
            }
            s.push('\n');
        } else {
            s.push_str(&add_line(&props));
        }
        if !self.secrets.is_empty() {
            s.push_str("/ppp secret\n");
            for x in &self.secrets {
                s.push_str(&add_line(&x.to_props()));
            }
        }
        s
    }
}

// ---------------------------------------------------------------- ppp clients

/// The commands of one client interface (`/interface <menu> add`, then each `set` naming
/// it); the `/ppp profile`, `/ppp secret` and `/ip pool` commands go onto `aaa`.
fn pick_client<'a>(
    cmds: &'a [Command],
    menu: &str,
    name: Option<&str>,
    aaa: &mut Aaa,
    notes: &mut Notes,
) -> Result<(String, Vec<&'a Command>), String> {
    let path = ["interface", menu];
    let mut picked: Option<(String, Vec<&Command>)> = None;
    for c in cmds {
        if menu_is(c, &path) && c.verb == "add" {
            let n = c.get("name").unwrap_or_default();
            if picked.is_none() && name.is_none_or(|x| x == n) {
                picked = Some((n.to_string(), vec![c]));
            } else {
                notes.ignored.push((c.line, format!("{menu} {n:?}")));
            }
        } else if menu_is(c, &path) && c.verb == "set" {
            match picked.as_mut() {
                Some((n, list)) if target_name(c).is_none_or(|x| x == n) => list.push(c),
                _ => notes.ignore(c),
            }
        } else if !aaa_command(c, aaa, notes)? {
            notes.ignore(c);
        }
    }
    match (picked, name) {
        (Some(p), _) => Ok(p),
        (None, Some(n)) => Err(format!("no `/interface {menu} add name={n}` in the file")),
        (None, None) => Err(format!("no `/interface {menu} add` in the file")),
    }
}

/// A property list as the crates' constructors take it.
type Props<'a> = Vec<(&'a str, &'a str)>;

/// A command's properties without `own` (the program's: `name`, `comment`, ...), and those
/// of `own` that it has, in order.
fn split_own<'a>(c: &'a Command, own: &[&str]) -> (Props<'a>, Props<'a>) {
    c.prop_refs()
        .into_iter()
        .partition(|(k, _)| !own.contains(k))
}

/// The `use-encryption` of the client's `profile`, which must be in `aaa`.
fn client_profile(aaa: &Aaa, ppp: &mut ppp::ClientSettings) -> Result<(), String> {
    let p = aaa
        .profile(&ppp.profile)
        .ok_or_else(|| format!("profile={}: no /ppp profile of that name", ppp.profile))?;
    ppp.use_encryption = p.use_encryption;
    Ok(())
}

/// The `/ppp profile`, `/ip pool`, `/ppp secret` part of a client export (what differs from
/// the built-in profiles), then `/interface <menu>` with one `add`.
fn ppp_client_export(menu: &str, props: Vec<(&'static str, String)>, aaa: &Aaa) -> String {
    let mut s = ppp_server_export(menu, &[], aaa);
    s.push_str(&format!("/interface {menu}\n"));
    s.push_str(&add_line(&props));
    s
}

/// One `/interface sstp-client` interface of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct SstpClientRsc {
    /// `name` ("" when not given).
    pub name: String,
    /// `disabled` (RouterOS default yes; the program dials anyway, with a warning).
    pub disabled: bool,
    /// `certificate=NAME` (a name in RouterOS's certificate store; the program needs its PEM
    /// files). `None`: not set or `none`.
    pub certificate: Option<String>,
    /// The interface's settings ([`sstp::ClientConfig::apply_props`] of the `add`, then of
    /// each `set` naming it), with `use-encryption` from its `profile`.
    pub client: sstp::ClientConfig,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (RouterOS's `default` and
    /// `default-encryption` profiles present from the start).
    pub aaa: Aaa,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the `/interface sstp-client` menu of an export (the interface named `name`, the
/// first `add` when `None`, then any `set` naming it) with `/ppp profile` and `/ip pool`.
pub fn sstp_client(text: &str, name: Option<&str>) -> Result<SstpClientRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut aaa = Aaa::new();
    let (name, picked) = pick_client(&cmds, "sstp-client", name, &mut aaa, &mut notes)?;
    let mut client = sstp::ClientConfig::default();
    let (mut disabled, mut certificate) = (true, None);
    for c in picked {
        let (props, own) = split_own(c, &["name", "comment", "disabled", "certificate"]);
        for (k, v) in own {
            match k {
                "disabled" => {
                    disabled = ppp::props::parse_yes_no(v, "disabled").map_err(|e| at(c, e))?
                }
                "certificate" => certificate = (v != "none").then(|| v.to_string()),
                _ => {}
            }
        }
        let unknown = client.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    }
    // The CA for verify-server-certificate comes from the program: check the rest.
    let mut check = client.clone();
    check.tls.verify_server_certificate = false;
    check.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    client_profile(&aaa, &mut client.ppp)?;
    Ok(SstpClientRsc {
        name,
        disabled,
        certificate,
        client,
        aaa,
        notes,
    })
}

impl SstpClientRsc {
    /// The export [`sstp_client`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = Vec::new();
        if !self.name.is_empty() {
            props.push(("name", self.name.clone()));
        }
        props.extend(self.client.to_props());
        if let Some(c) = &self.certificate {
            props.push(("certificate", c.clone()));
        }
        if !self.disabled {
            props.push(("disabled", "no".into()));
        }
        ppp_client_export("sstp-client", props, &self.aaa)
    }
}

/// One `/interface pptp-client` interface of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct PptpClientRsc {
    /// `name` ("" when not given).
    pub name: String,
    /// The interface's settings ([`pptp::ClientConfig::apply_props`] of the `add`, then of
    /// each `set` naming it; `disabled` is [`pptp::ClientConfig::disabled`]), with
    /// `use-encryption` from its `profile`.
    pub client: pptp::ClientConfig,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (starting from [`pptp::default_aaa`]:
    /// `default`, and `default-encryption` with `use-encryption=yes`).
    pub aaa: Aaa,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the `/interface pptp-client` menu of an export (the interface named `name`, the
/// first `add` when `None`, then any `set` naming it) with `/ppp profile` and `/ip pool`.
pub fn pptp_client(text: &str, name: Option<&str>) -> Result<PptpClientRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut aaa = pptp::default_aaa();
    let (name, picked) = pick_client(&cmds, "pptp-client", name, &mut aaa, &mut notes)?;
    let mut client = pptp::ClientConfig::default();
    for c in picked {
        let (props, _) = split_own(c, &["name", "comment"]);
        let unknown = client.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    }
    client.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    client_profile(&aaa, &mut client.ppp)?;
    Ok(PptpClientRsc {
        name,
        client,
        aaa,
        notes,
    })
}

impl PptpClientRsc {
    /// The export [`pptp_client`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = Vec::new();
        if !self.name.is_empty() {
            props.push(("name", self.name.clone()));
        }
        props.extend(self.client.to_props());
        ppp_client_export("pptp-client", props, &self.aaa)
    }
}

/// One `/interface pppoe-client` interface of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct PppoeClientRsc {
    /// `name` ("" when not given).
    pub name: String,
    /// `interface`: the port(s) it runs on ("" when not given; `ether1,ether2` for MLPPP).
    pub interface: String,
    /// `disabled` (RouterOS default yes; the program dials anyway, with a warning).
    pub disabled: bool,
    /// The interface's settings ([`pppoe::ClientConfig::apply_props`] of the `add`, then of
    /// each `set` naming it; with [`PLACEHOLDER_MAC`] until the program puts its port's in),
    /// with `use-encryption` from its `profile`.
    pub client: pppoe::ClientConfig,
    /// `/ppp profile`, `/ppp secret`, `/ip pool` (RouterOS's `default` and
    /// `default-encryption` profiles present from the start).
    pub aaa: Aaa,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the `/interface pppoe-client` menu of an export (the interface named `name`, the
/// first `add` when `None`, then any `set` naming it) with `/ppp profile` and `/ip pool`.
pub fn pppoe_client(text: &str, name: Option<&str>) -> Result<PppoeClientRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut aaa = Aaa::new();
    let (name, picked) = pick_client(&cmds, "pppoe-client", name, &mut aaa, &mut notes)?;
    let mut client = pppoe::ClientConfig::new(PLACEHOLDER_MAC);
    let (mut disabled, mut interface) = (true, String::new());
    for c in picked {
        let (props, own) = split_own(c, &["name", "comment", "disabled", "interface"]);
        for (k, v) in own {
            match k {
                "disabled" => {
                    disabled = ppp::props::parse_yes_no(v, "disabled").map_err(|e| at(c, e))?
                }
                "interface" => interface = v.to_string(),
                _ => {}
            }
        }
        let unknown = client.apply_props(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    }
    client.validate().map_err(|e| e.to_string())?;
    check_pools(&aaa)?;
    client_profile(&aaa, &mut client.ppp)?;
    Ok(PppoeClientRsc {
        name,
        interface,
        disabled,
        client,
        aaa,
        notes,
    })
}

impl PppoeClientRsc {
    /// The export [`pppoe_client`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = Vec::new();
        if !self.name.is_empty() {
            props.push(("name", self.name.clone()));
        }
        if !self.interface.is_empty() {
            props.push(("interface", self.interface.clone()));
        }
        props.extend(self.client.to_props());
        if !self.disabled {
            props.push(("disabled", "no".into()));
        }
        ppp_client_export("pppoe-client", props, &self.aaa)
    }
}

// ---------------------------------------------------------------- /ip ipsec

/// The `/ip ipsec` part of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct IpsecRsc {
    /// The objects over RouterOS's built-in ones (profile and proposal `default`, policy
    /// group `default`, mode-config `request-only`, the default policy template).
    pub config: ipsec_ike::config::IpsecConfig,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// `add` (replacing an object of the same name) or `set NAME` on a named list.
fn named_command<T>(
    c: &Command,
    list: &mut Vec<T>,
    name: impl Fn(&T) -> &str,
    from: impl Fn(&[(&str, &str)]) -> Result<(T, Vec<String>), ipsec_ike::ConfigError>,
    apply: impl Fn(&mut T, &[(&str, &str)]) -> Result<Vec<String>, ipsec_ike::ConfigError>,
    notes: &mut Notes,
) -> Result<(), String> {
    let props = c.prop_refs();
    if c.verb == "add" {
        let (x, unknown) = from(&props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
        list.retain(|y| name(y) != name(&x));
        list.push(x);
    } else {
        let n = target_name(c).ok_or_else(|| at(c, "set needs a name"))?;
        let x = list
            .iter_mut()
            .find(|x| name(x) == n)
            .ok_or_else(|| at(c, format!("no entry named {n:?}")))?;
        let unknown = apply(x, &props).map_err(|e| at(c, e))?;
        notes.unknown(c, unknown);
    }
    Ok(())
}

/// Read the `/ip ipsec` menus of an export: `profile`, `proposal`, `peer`, `identity`,
/// `policy`, `policy group`, `mode-config` (also abbreviated `mode-conf`, as seed 003 L1886
/// writes it): `add`, and `set` naming an entry of profile, proposal, peer and mode-config.
pub fn ipsec(text: &str) -> Result<IpsecRsc, String> {
    use ipsec_ike::config::{Identity, IpsecConfig, ModeConfig, Peer, Policy, Profile, Proposal};
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut cfg = IpsecConfig::default();
    for c in &cmds {
        let verb = c.verb.as_str();
        let add_set = matches!(verb, "add" | "set");
        let props = c.prop_refs();
        if menu_is(c, &["ip", "ipsec", "profile"]) && add_set {
            named_command(
                c,
                &mut cfg.profiles,
                |p| &p.name,
                Profile::from_props,
                Profile::apply_props,
                &mut notes,
            )?;
        } else if menu_is(c, &["ip", "ipsec", "proposal"]) && add_set {
            named_command(
                c,
                &mut cfg.proposals,
                |p| &p.name,
                Proposal::from_props,
                Proposal::apply_props,
                &mut notes,
            )?;
        } else if menu_is(c, &["ip", "ipsec", "peer"]) && add_set {
            named_command(
                c,
                &mut cfg.peers,
                |p| &p.name,
                Peer::from_props,
                Peer::apply_props,
                &mut notes,
            )?;
        } else if (menu_is(c, &["ip", "ipsec", "mode-config"])
            || menu_is(c, &["ip", "ipsec", "mode-conf"]))
            && add_set
        {
            named_command(
                c,
                &mut cfg.mode_configs,
                |p| &p.name,
                ModeConfig::from_props,
                ModeConfig::apply_props,
                &mut notes,
            )?;
        } else if menu_is(c, &["ip", "ipsec", "identity"]) && verb == "add" {
            let (i, unknown) = Identity::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            cfg.identities.push(i);
        } else if menu_is(c, &["ip", "ipsec", "policy"]) && verb == "add" {
            let (p, unknown) = Policy::from_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
            cfg.policies.push(p);
        } else if menu_is(c, &["ip", "ipsec", "policy", "group"]) && verb == "add" {
            let name = c.get("name").ok_or_else(|| at(c, "name: required"))?;
            if !cfg.groups.iter().any(|g| g == name) {
                cfg.groups.push(name.to_string());
            }
            for (k, _) in props.iter().filter(|(k, _)| *k != "name") {
                notes.unknown(c, vec![k.to_string()]);
            }
        } else {
            notes.ignore(c);
        }
    }
    Ok(IpsecRsc { config: cfg, notes })
}

impl IpsecRsc {
    /// The export [`ipsec`] reads back to the same configuration.
    pub fn export(&self) -> String {
        use ipsec_ike::config::{Policy, Profile, Proposal};
        let c = &self.config;
        let mut s = String::new();
        // Built-in entries are `set` when changed; the others are `add`ed.
        let section =
            |s: &mut String, menu: &str, items: Vec<(bool, Vec<(&'static str, String)>)>| {
                if items.is_empty() {
                    return;
                }
                s.push_str(&format!("/ip ipsec {menu}\n"));
                for (builtin, props) in items {
                    if builtin {
                        if props.len() > 1 {
                            s.push_str(&format!("set {}", crate::rsc::quote(&props[0].1)));
                            for (k, v) in &props[1..] {
                                s.push_str(&format!(" {k}={}", crate::rsc::quote(v)));
                            }
                            s.push('\n');
                        }
                    } else {
                        s.push_str(&add_line(&props));
                    }
                }
            };
        section(
            &mut s,
            "profile",
            c.profiles
                .iter()
                .map(|p| (p.name == Profile::default().name, p.to_props()))
                .collect(),
        );
        section(
            &mut s,
            "proposal",
            c.proposals
                .iter()
                .map(|p| (p.name == Proposal::default().name, p.to_props()))
                .collect(),
        );
        section(
            &mut s,
            "mode-config",
            c.mode_configs
                .iter()
                .map(|m| (m.name == "request-only", m.to_props()))
                .filter(|(b, p)| !*b || p.len() > 1)
                .collect(),
        );
        let groups: Vec<_> = c
            .groups
            .iter()
            .filter(|g| *g != "default")
            .map(|g| (false, vec![("name", g.clone())]))
            .collect();
        section(&mut s, "policy group", groups);
        section(
            &mut s,
            "peer",
            c.peers.iter().map(|p| (false, p.to_props())).collect(),
        );
        section(
            &mut s,
            "identity",
            c.identities.iter().map(|i| (false, i.to_props())).collect(),
        );
        let template = Policy::default_template();
        section(
            &mut s,
            "policy",
            c.policies
                .iter()
                .enumerate()
                .filter(|(n, p)| !(*n == 0 && **p == template))
                .map(|(_, p)| (false, p.to_props()))
                .collect(),
        );
        s
    }
}

// ---------------------------------------------------------------- /interface l2tp-ether

/// One `/interface l2tp-ether` interface of an export.
#[derive(Clone, Debug, PartialEq)]
pub struct L2tpEtherRsc {
    /// `name` ("" when not given).
    pub name: String,
    /// `local-address` (unmanaged mode: the address the program sends from).
    pub local_address: Option<std::net::IpAddr>,
    /// The interface's settings ([`l2tp::config::EtherConfig::apply_props`] of the `add`,
    /// then of each `set` naming it), validated.
    pub config: l2tp::config::EtherConfig,
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the `/interface l2tp-ether` menu of an export: the interface named `name` (the first
/// `add` when `None`), then any `set` naming it.
pub fn l2tp_ether(text: &str, name: Option<&str>) -> Result<L2tpEtherRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let path = ["interface", "l2tp-ether"];
    let mut found: Option<(String, l2tp::config::EtherConfig)> = None;
    let mut local_address = None;
    for c in &cmds {
        let (props, own) = split_own(c, &["name", "comment", "local-address"]);
        let local = |local_address: &mut Option<std::net::IpAddr>| -> Result<(), String> {
            for (_, v) in own.iter().filter(|(k, _)| *k == "local-address") {
                *local_address = match *v {
                    "" => None,
                    _ => Some(v.parse().map_err(|_| {
                        at(c, format!("local-address: {v:?}: expected an IP address"))
                    })?),
                };
            }
            Ok(())
        };
        if menu_is(c, &path) && c.verb == "add" {
            let n = c.get("name").unwrap_or_default();
            if found.is_none() && name.is_none_or(|x| x == n) {
                let mut cfg = l2tp::config::EtherConfig::default();
                let unknown = cfg.apply_props(&props).map_err(|e| at(c, e))?;
                notes.unknown(c, unknown);
                local(&mut local_address)?;
                found = Some((n.to_string(), cfg));
            } else {
                notes.ignored.push((c.line, format!("l2tp-ether {n:?}")));
            }
        } else if menu_is(c, &path) && c.verb == "set" {
            match found.as_mut() {
                Some((n, cfg)) if target_name(c).is_none_or(|x| x == n) => {
                    let unknown = cfg.apply_props(&props).map_err(|e| at(c, e))?;
                    notes.unknown(c, unknown);
                    local(&mut local_address)?;
                }
                _ => notes.ignore(c),
            }
        } else {
            notes.ignore(c);
        }
    }
    let (name, config) = match (found, name) {
        (Some(f), _) => f,
        (None, Some(n)) => {
            return Err(format!(
                "no `/interface l2tp-ether add name={n}` in the file"
            ))
        }
        (None, None) => return Err("no `/interface l2tp-ether add` in the file".into()),
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(L2tpEtherRsc {
        name,
        local_address,
        config,
        notes,
    })
}

impl L2tpEtherRsc {
    /// The export [`l2tp_ether`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut props = Vec::new();
        if !self.name.is_empty() {
            props.push(("name", self.name.clone()));
        }
        props.extend(self.config.to_props());
        if let Some(a) = self.local_address {
            props.push(("local-address", a.to_string()));
        }
        format!("/interface l2tp-ether\n{}", add_line(&props))
    }
}

// ---------------------------------------------------------------- /zerotier

/// The `/zerotier` part of an export: the instance's port, the interface that joins a
/// network, the hosted controller network and its pre-authorized members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZerotierRsc {
    /// `/zerotier` `port` (RouterOS default 9993), when the file sets it.
    pub port: Option<u16>,
    /// `/zerotier interface add network=` (16 hex digits), `name` (default `zerotier1`),
    /// `allow-managed` (default yes): the first interface of the file.
    pub interface: Option<ZerotierInterface>,
    /// `/zerotier controller add ...`: the first controller of the file, and its `network`
    /// when the file gives one (RouterOS generates it: our address and a 24-bit number).
    pub controller: Option<(zerotier::vl2::NetworkSettings, Option<String>)>,
    /// `/zerotier controller member add|set zt-address=X authorized=yes`: members authorized
    /// before they ask.
    pub members: Vec<String>,
    /// Unknown properties and commands of other menus.
    pub notes: Notes,
}

/// One `/zerotier interface`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZerotierInterface {
    /// `network`.
    pub network: String,
    /// `name` (default `zerotier1`).
    pub name: String,
    /// `allow-managed` (default yes).
    pub allow_managed: bool,
}

/// Read `/zerotier` (`set`/`add` with `port`), `/zerotier interface add`, `/zerotier controller
/// add` and `/zerotier controller member add|set` from an export (seed 000 L1423-1612).
pub fn zerotier(text: &str) -> Result<ZerotierRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut r = ZerotierRsc::default();
    let yes = |c: &Command, k: &str, v: &str| match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(at(c, format!("{k}: {v:?}: expected yes or no"))),
    };
    for c in &cmds {
        let verb = c.verb.as_str();
        if menu_is(c, &["zerotier"]) && (verb == "set" || verb == "add") {
            let mut unknown = Vec::new();
            for (k, v) in &c.props {
                match k.as_str() {
                    "port" => {
                        r.port = Some(
                            v.parse()
                                .map_err(|_| at(c, format!("port: {v:?}: expected 1..65535")))?,
                        )
                    }
                    "name" | "comment" | "disabled" => {}
                    other => unknown.push(other.to_string()),
                }
            }
            r.notes.unknown(c, unknown);
        } else if menu_is(c, &["zerotier", "interface"]) && verb == "add" {
            let mut i = ZerotierInterface {
                network: String::new(),
                name: "zerotier1".into(),
                allow_managed: true,
            };
            let mut unknown = Vec::new();
            for (k, v) in &c.props {
                match k.as_str() {
                    "network" => {
                        v.parse::<zerotier::NetworkId>()
                            .map_err(|e| at(c, format!("network: {v:?}: {e}")))?;
                        i.network = v.clone();
                    }
                    "name" => i.name = v.clone(),
                    "allow-managed" => i.allow_managed = yes(c, k, v)?,
                    other => unknown.push(other.to_string()),
                }
            }
            if i.network.is_empty() {
                return Err(at(c, "network: missing (16 hex digits)"));
            }
            r.notes.unknown(c, unknown);
            if r.interface.is_none() {
                r.interface = Some(i);
            } else {
                r.notes.ignore(c);
            }
        } else if menu_is(c, &["zerotier", "controller"]) && verb == "add" {
            let props = c.prop_refs();
            let (s, unknown) =
                zerotier::vl2::NetworkSettings::from_props(&props).map_err(|e| at(c, e))?;
            let network = c.get("network").map(str::to_string);
            r.notes
                .unknown(c, unknown.into_iter().filter(|k| k != "network").collect());
            if r.controller.is_none() {
                r.controller = Some((s, network));
            } else {
                r.notes.ignore(c);
            }
        } else if menu_is(c, &["zerotier", "controller", "member"])
            && (verb == "add" || verb == "set")
        {
            // `set 0 authorized=yes` (by the print's index, seed 000 L1546) names no member
            // this program can know: ignored with a note.
            let Some(addr) = c.get("zt-address") else {
                r.notes.ignore(c);
                continue;
            };
            addr.parse::<zerotier::Address>()
                .map_err(|e| at(c, format!("zt-address: {addr:?}: {e}")))?;
            if yes(c, "authorized", c.get("authorized").unwrap_or("no"))? {
                r.members.push(addr.to_string());
            }
        } else {
            r.notes.ignore(c);
        }
    }
    Ok(r)
}

impl ZerotierRsc {
    /// The export [`zerotier()`] reads back to the same settings.
    pub fn export(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.port {
            s.push_str(&format!("/zerotier\nset zt1 port={p}\n"));
        }
        if let Some((c, network)) = &self.controller {
            s.push_str("/zerotier controller\n");
            let mut props = c.to_props();
            if let Some(n) = network {
                props.push(("network", n.clone()));
            }
            s.push_str(&add_line(&props));
        }
        if !self.members.is_empty() {
            s.push_str("/zerotier controller member\n");
            for m in &self.members {
                s.push_str(&add_line(&[
                    ("zt-address", m.clone()),
                    ("authorized", "yes".into()),
                ]));
            }
        }
        if let Some(i) = &self.interface {
            s.push_str("/zerotier interface\n");
            let mut props = vec![("network", i.network.clone()), ("name", i.name.clone())];
            if !i.allow_managed {
                props.push(("allow-managed", "no".into()));
            }
            s.push_str(&add_line(&props));
        }
        s
    }
}
