//! `.rsc` files onto the crates' configs: the example programs' `--config FILE.rsc`.
//!
//! [`crate::rsc::parse`] turns the export into commands; here each command of a menu a
//! program uses goes to its crate's constructor (`from_props` / `apply_props`), which names a
//! bad property in its error and returns the properties it does not implement. Those become
//! [`UnknownProperty`] warnings naming the line; commands of menus the program does not use
//! (`/ip firewall filter`, ...) are listed in `ignored` with their line.

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
    /// Unknown properties and ignored commands.
    pub notes: Notes,
}

/// Read the L2TP server menus of an export: `/interface l2tp-server server`, `/ppp profile`,
/// `/ppp secret`, `/ip pool`.
pub fn l2tp_server(text: &str) -> Result<L2tpServerRsc, String> {
    let cmds = parse(text).map_err(|e| e.to_string())?;
    let mut notes = Notes::default();
    let mut server = l2tp::config::ServerConfig::default();
    let mut aaa = Aaa::new();
    for c in &cmds {
        let props = c.prop_refs();
        let verb = c.verb.as_str();
        if menu_is(c, &["interface", "l2tp-server", "server"]) && verb == "set" {
            let unknown = server.apply_props(&props).map_err(|e| at(c, e))?;
            notes.unknown(c, unknown);
        } else if menu_is(c, &["ppp", "profile"]) && verb == "add" {
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
            notes.ignore(c);
        }
    }
    server.validate().map_err(|e| e.to_string())?;
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
    Ok(L2tpServerRsc { server, aaa, notes })
}

impl L2tpServerRsc {
    /// The server's own PPP address: `local-address` of its `default-profile`, else of the
    /// `default` profile, when that is a fixed address.
    pub fn local_address(&self) -> Option<Ipv4Addr> {
        [self.server.ppp.default_profile.as_str(), "default"]
            .iter()
            .filter_map(|n| self.aaa.profile(n))
            .find_map(|p| match p.local_address {
                Some(AddressSpec::Address(a)) => Some(a),
                _ => None,
            })
    }

    /// The export [`l2tp_server`] reads back to the same configuration.
    pub fn export(&self) -> String {
        let mut s = String::new();
        let server = self.server.to_props();
        if !server.is_empty() {
            s.push_str("/interface l2tp-server server\nset");
            for (k, v) in &server {
                s.push_str(&format!(" {k}={}", crate::rsc::quote(v)));
            }
            s.push('\n');
        }
        if !self.aaa.pools.is_empty() {
            s.push_str("/ip pool\n");
            for p in &self.aaa.pools {
                s.push_str(&add_line(&p.to_props()));
            }
        }
        s.push_str("/ppp profile\n");
        for p in &self.aaa.profiles {
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
        if !self.aaa.secrets.is_empty() {
            s.push_str("/ppp secret\n");
            for x in &self.aaa.secrets {
                s.push_str(&add_line(&x.to_props()));
            }
        }
        s
    }
}
