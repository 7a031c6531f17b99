//! RouterOS property lists onto the interface configs and back: `from_props`, `apply_props`
//! and `to_props` of [`GreConfig`], [`EoipConfig`], [`IpipConfig`], [`SixToFourConfig`],
//! [`Gre6Config`] and [`Ipipv6Config`].
//!
//! A RouterOS export holds an interface as one line of `key=value` properties:
//!
//! ```text
//! /interface gre add name=myGre remote-address=192.168.90.1 local-address=192.168.80.1
//! ```
//!
//! A `.rsc` reader (this crate has none; the `examples` package has one) turns that into the
//! list `[("name", "myGre"), ("remote-address", "192.168.90.1"), ...]`, and
//! [`GreConfig::from_props`] turns the list into a config with every other property at its
//! RouterOS default:
//!
//! ```
//! use gre_family::{GreConfig, Keepalive, Mtu};
//!
//! let (gre, unknown) = GreConfig::from_props(&[
//!     ("name", "myGre"),
//!     ("remote-address", "192.168.90.1"),
//!     ("local-address", "192.168.80.1"),
//!     ("keepalive", "5s,3"),
//! ])
//! .unwrap();
//! assert!(unknown.is_empty());
//! assert_eq!(gre.mtu, Mtu::Auto);
//! assert_eq!(gre.keepalive.unwrap().retries, 3);
//! assert_eq!(gre.to_tunnel().unwrap().actual_mtu(), 1476);
//! // and back: the properties that differ from the defaults
//! assert_eq!(GreConfig::from_props(&[]).unwrap_err().to_string(),
//!            "invalid remote-address: must be set");
//! let props = gre.to_props();
//! assert_eq!(props[0], ("name", "myGre".to_string()));
//! ```
//!
//! Values are read as RouterOS writes them: `yes`/`no`, times as `10s`, `1m30s`, `500ms` or
//! bare seconds, `mtu=auto`, `dscp=inherit` or 0..63, `keepalive=interval,retries` (`0,0`
//! disables), `mac-address=FE:A5:6C:3F:26:C5`, `arp-timeout=auto`, an empty address for the
//! default. A value that does not parse is an [`Error::Config`] naming the property; a
//! property the config does not carry (read-only ones such as `actual-mtu` from `print`,
//! `loop-protect`) is returned, in order, so the caller can warn about it.
//!
//! `key`, `checksum`, `sequence` (GRE, gre6) and `ttl` (all) are this crate's extensions with
//! no RouterOS property (Linux `ip tunnel` names them `key`, `csum`, `seq`, `ttl`); they are
//! read and written under these names so that a round trip keeps every field.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::config::{
    parse_time, Arp, DontFragment, Dscp, EoipConfig, Gre6Config, GreConfig, IpipConfig,
    Ipipv6Config, Keepalive, Mtu, SixToFourConfig,
};
use crate::error::Error;

/// A property value type: read from and written as RouterOS text.
trait PropValue: Sized {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error>;
    fn write(&self) -> String;
}

fn number<T: FromStr>(v: &str, field: &'static str) -> Result<T, Error> {
    v.trim()
        .parse()
        .map_err(|_| Error::config(field, format!("bad number {v:?}")))
}

/// A time as RouterOS prints it: `10s`, `1m30s`, `5m`, `1h`, `500ms` (`0s` for zero).
/// Sub-millisecond parts are not written.
pub(crate) fn fmt_time(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut s = String::new();
    let (h, m, sec, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    for (n, unit) in [(h, "h"), (m, "m"), (sec, "s"), (milli, "ms")] {
        if n > 0 {
            s.push_str(&format!("{n}{unit}"));
        }
    }
    s
}

fn time(v: &str, field: &'static str) -> Result<Duration, Error> {
    parse_time(v.trim()).ok_or_else(|| Error::config(field, format!("bad time {v:?}")))
}

impl PropValue for String {
    fn parse(v: &str, _: &'static str) -> Result<Self, Error> {
        Ok(v.to_string())
    }
    fn write(&self) -> String {
        self.clone()
    }
}

impl PropValue for Option<String> {
    /// Empty = unset (`ipsec-secret=""`).
    fn parse(v: &str, _: &'static str) -> Result<Self, Error> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }
    fn write(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl PropValue for bool {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err(Error::config(
                field,
                format!("expected yes or no, got {v:?}"),
            )),
        }
    }
    fn write(&self) -> String {
        if *self { "yes" } else { "no" }.into()
    }
}

impl PropValue for u8 {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        number(v, field)
    }
    fn write(&self) -> String {
        self.to_string()
    }
}

impl PropValue for u16 {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        number(v, field)
    }
    fn write(&self) -> String {
        self.to_string()
    }
}

impl PropValue for Option<u16> {
    /// Empty = unset (`tunnel-id`).
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        number(v, field).map(Some)
    }
    fn write(&self) -> String {
        self.map(|n| n.to_string()).unwrap_or_default()
    }
}

impl PropValue for Option<u32> {
    /// Empty or `none` = no GRE key.
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "" | "none" => Ok(None),
            n => number(n, field).map(Some),
        }
    }
    fn write(&self) -> String {
        self.map_or_else(|| "none".into(), |n| n.to_string())
    }
}

fn addr<T: FromStr>(v: &str, field: &'static str, family: &str) -> Result<T, Error> {
    v.trim()
        .parse()
        .map_err(|_| Error::config(field, format!("bad {family} address {v:?}")))
}

impl PropValue for Ipv4Addr {
    /// Empty = 0.0.0.0 (the outgoing interface's address).
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(Ipv4Addr::UNSPECIFIED);
        }
        addr(v, field, "IPv4")
    }
    fn write(&self) -> String {
        self.to_string()
    }
}

impl PropValue for Option<Ipv4Addr> {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        addr(v, field, "IPv4").map(Some)
    }
    fn write(&self) -> String {
        self.map(|a| a.to_string()).unwrap_or_default()
    }
}

impl PropValue for Ipv6Addr {
    /// Empty = `::` (the outgoing interface's address).
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(Ipv6Addr::UNSPECIFIED);
        }
        addr(v, field, "IPv6")
    }
    fn write(&self) -> String {
        self.to_string()
    }
}

impl PropValue for Option<Ipv6Addr> {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        addr(v, field, "IPv6").map(Some)
    }
    fn write(&self) -> String {
        self.map(|a| a.to_string()).unwrap_or_default()
    }
}

impl PropValue for IpAddr {
    /// Empty = 0.0.0.0.
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        }
        addr(v, field, "IP")
    }
    fn write(&self) -> String {
        self.to_string()
    }
}

impl PropValue for Option<IpAddr> {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        addr(v, field, "IP").map(Some)
    }
    fn write(&self) -> String {
        self.map(|a| a.to_string()).unwrap_or_default()
    }
}

impl PropValue for Mtu {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "auto" => Ok(Mtu::Auto),
            n => n
                .parse()
                .map(Mtu::Fixed)
                .map_err(|_| Error::config(field, format!("expected auto or 0..65535, got {v:?}"))),
        }
    }
    fn write(&self) -> String {
        match self {
            Mtu::Auto => "auto".into(),
            Mtu::Fixed(m) => m.to_string(),
        }
    }
}

impl PropValue for Option<Keepalive> {
    /// `interval,retries`; `0,0` (or empty) = disabled.
    fn parse(v: &str, _: &'static str) -> Result<Self, Error> {
        Keepalive::parse_routeros(v)
    }
    fn write(&self) -> String {
        match self {
            None => "0,0".into(),
            Some(k) => format!("{},{}", fmt_time(k.interval), k.retries),
        }
    }
}

impl PropValue for Dscp {
    /// `inherit` (also `inherited` and empty, as the manual writes the default) or 0..63.
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "" | "inherit" | "inherited" => Ok(Dscp::Inherit),
            n => match n.parse::<u8>() {
                Ok(d) if d <= 63 => Ok(Dscp::Fixed(d)),
                _ => Err(Error::config(
                    field,
                    format!("expected inherit or 0..63, got {v:?}"),
                )),
            },
        }
    }
    fn write(&self) -> String {
        match self {
            Dscp::Inherit => "inherit".into(),
            Dscp::Fixed(d) => d.to_string(),
        }
    }
}

impl PropValue for DontFragment {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "inherit" => Ok(DontFragment::Inherit),
            "no" => Ok(DontFragment::No),
            _ => Err(Error::config(
                field,
                format!("expected inherit or no, got {v:?}"),
            )),
        }
    }
    fn write(&self) -> String {
        match self {
            DontFragment::Inherit => "inherit".into(),
            DontFragment::No => "no".into(),
        }
    }
}

impl PropValue for Arp {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "disabled" => Ok(Arp::Disabled),
            "enabled" => Ok(Arp::Enabled),
            "proxy-arp" => Ok(Arp::ProxyArp),
            "reply-only" => Ok(Arp::ReplyOnly),
            _ => Err(Error::config(
                field,
                format!("expected disabled, enabled, proxy-arp or reply-only, got {v:?}"),
            )),
        }
    }
    fn write(&self) -> String {
        match self {
            Arp::Disabled => "disabled",
            Arp::Enabled => "enabled",
            Arp::ProxyArp => "proxy-arp",
            Arp::ReplyOnly => "reply-only",
        }
        .into()
    }
}

impl PropValue for Duration {
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        time(v, field)
    }
    fn write(&self) -> String {
        fmt_time(*self)
    }
}

impl PropValue for Option<Duration> {
    /// `auto` (or empty) = `None`.
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        match v.trim() {
            "" | "auto" => Ok(None),
            t => time(t, field).map(Some),
        }
    }
    fn write(&self) -> String {
        self.map_or_else(|| "auto".into(), fmt_time)
    }
}

impl PropValue for Option<[u8; 6]> {
    /// `FE:A5:6C:3F:26:C5` (`-` separators accepted); empty = assigned by the host.
    fn parse(v: &str, field: &'static str) -> Result<Self, Error> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let bad = || Error::config(field, format!("expected a MAC address, got {v:?}"));
        let mut mac = [0u8; 6];
        let mut parts = v.split([':', '-']);
        for b in &mut mac {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Some(mac))
    }
    fn write(&self) -> String {
        self.map(|m| {
            m.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default()
    }
}

/// `from_props` / `apply_props` / `to_props` / `PROPERTIES` for one config type, from its
/// property table (RouterOS name => field).
macro_rules! rsc_props {
    ($ty:ident, $menu:literal, [$($prop:literal => $field:ident),* $(,)?]) => {
        impl $ty {
            #[doc = concat!("The properties of `", $menu, "` this config reads and writes, in export order.")]
            pub const PROPERTIES: &'static [&'static str] = &[$($prop),*];

            #[doc = concat!("Set the `", $menu, "` properties of an `add` or `set` property list on `self` (a `set` changes only what it names).")]
            ///
            /// A value that does not parse is an [`Error::Config`] naming the property; nothing
            /// is checked across properties here ([`from_props`](Self::from_props) does that).
            /// Returns the properties this config does not carry, in order.
            pub fn apply_props(&mut self, props: &[(&str, &str)]) -> Result<Vec<String>, Error> {
                let mut unknown = Vec::new();
                for &(k, v) in props {
                    match k {
                        $($prop => self.$field = PropValue::parse(v, $prop)?,)*
                        other => unknown.push(other.to_string()),
                    }
                }
                Ok(unknown)
            }

            #[doc = concat!("Build a `", $menu, "` entry from an `add` property list as a `.rsc` export writes it (`[(\"name\", \"x\"), ...]`), starting from the RouterOS defaults, and validate it as [`to_tunnel`](Self::to_tunnel) does.")]
            ///
            /// A bad or missing value is an [`Error::Config`] naming the property; properties
            /// this config does not carry are returned (in order) so the caller can warn about
            /// them. See [`PROPERTIES`](Self::PROPERTIES) for the list.
            pub fn from_props(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
                let mut c = Self::default();
                let unknown = c.apply_props(props)?;
                c.to_tunnel()?;
                Ok((c, unknown))
            }

            /// The property list [`from_props`](Self::from_props) reads back to `self`: every
            /// property whose value differs from the RouterOS default, in
            /// [`PROPERTIES`](Self::PROPERTIES) order.
            pub fn to_props(&self) -> Vec<(&'static str, String)> {
                let d = Self::default();
                let mut v = Vec::new();
                $(
                    if self.$field != d.$field {
                        v.push(($prop, PropValue::write(&self.$field)));
                    }
                )*
                v
            }
        }
    };
}

rsc_props!(GreConfig, "/interface gre", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "mtu" => mtu,
    "l2mtu" => l2mtu,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "dont-fragment" => dont_fragment,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "allow-fast-path" => allow_fast_path,
    "ipsec-secret" => ipsec_secret,
    "key" => key,
    "checksum" => checksum,
    "sequence" => sequence,
    "ttl" => ttl,
]);

rsc_props!(EoipConfig, "/interface eoip", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "tunnel-id" => tunnel_id,
    "mtu" => mtu,
    "l2mtu" => l2mtu,
    "mac-address" => mac_address,
    "arp" => arp,
    "arp-timeout" => arp_timeout,
    "loop-protect-send-interval" => loop_protect_send_interval,
    "loop-protect-disable-time" => loop_protect_disable_time,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "dont-fragment" => dont_fragment,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "allow-fast-path" => allow_fast_path,
    "ipsec-secret" => ipsec_secret,
    "ttl" => ttl,
]);

rsc_props!(IpipConfig, "/interface ipip", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "mtu" => mtu,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "dont-fragment" => dont_fragment,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "ipsec-secret" => ipsec_secret,
    "ttl" => ttl,
]);

rsc_props!(SixToFourConfig, "/interface 6to4", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "mtu" => mtu,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "dont-fragment" => dont_fragment,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "ipsec-secret" => ipsec_secret,
    "ttl" => ttl,
]);

rsc_props!(Gre6Config, "/interface gre6", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "mtu" => mtu,
    "l2mtu" => l2mtu,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "allow-fast-path" => allow_fast_path,
    "ipsec-secret" => ipsec_secret,
    "key" => key,
    "checksum" => checksum,
    "sequence" => sequence,
    "ttl" => ttl,
]);

rsc_props!(Ipipv6Config, "/interface ipipv6", [
    "name" => name,
    "comment" => comment,
    "disabled" => disabled,
    "local-address" => local_address,
    "remote-address" => remote_address,
    "mtu" => mtu,
    "keepalive" => keepalive,
    "dscp" => dscp,
    "clamp-tcp-mss" => clamp_tcp_mss,
    "ipsec-secret" => ipsec_secret,
    "ttl" => ttl,
]);

impl EoipConfig {
    /// The `/interface eoipv6` entry of a property list: as
    /// [`from_props`](Self::from_props), but with `local-address` defaulting to `::` (the
    /// EoIPv6 menu's addresses are IPv6).
    pub fn from_props_v6(props: &[(&str, &str)]) -> Result<(Self, Vec<String>), Error> {
        let mut c = EoipConfig {
            local_address: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ..EoipConfig::default()
        };
        let unknown = c.apply_props(props)?;
        c.to_tunnel()?;
        Ok((c, unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TunnelConfig;
    use proptest::prelude::*;

    fn field<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
        match r {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn time_format() {
        for (d, s) in [
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(fmt_time(d), s);
            assert_eq!(parse_time(s), Some(d));
        }
    }

    #[test]
    fn seed_gre_example_l795() {
        // 003_4cdeb930f9fee41a.txt L795: `/interface gre add name=myGre
        // remote-address=192.168.90.1 local-address=192.168.80.1`
        let (g, unknown) = GreConfig::from_props(&[
            ("name", "myGre"),
            ("remote-address", "192.168.90.1"),
            ("local-address", "192.168.80.1"),
        ])
        .unwrap();
        assert!(unknown.is_empty());
        let want = GreConfig {
            name: "myGre".into(),
            remote_address: Some("192.168.90.1".parse().unwrap()),
            local_address: "192.168.80.1".parse().unwrap(),
            ..Default::default()
        };
        assert_eq!(g, want);
        // RouterOS defaults (L782, L785): keepalive 10s,10, mtu 1476 on a 1500 link
        let t = g.to_tunnel().unwrap();
        assert_eq!(t.keepalive, Some(Keepalive::DEFAULT));
        assert_eq!(t.actual_mtu(), 1476);
        assert_eq!(
            g.to_props(),
            vec![
                ("name", "myGre".to_string()),
                ("local-address", "192.168.80.1".to_string()),
                ("remote-address", "192.168.90.1".to_string()),
            ]
        );
    }

    #[test]
    fn seed_eoip_example_l701_and_print_l706() {
        // L701: `/interface eoip add name="eoip-remote" tunnel-id=0 remote-address=10.0.0.2
        // disabled=no`
        let (e, unknown) = EoipConfig::from_props(&[
            ("name", "eoip-remote"),
            ("tunnel-id", "0"),
            ("remote-address", "10.0.0.2"),
            ("disabled", "no"),
        ])
        .unwrap();
        assert!(unknown.is_empty());
        assert_eq!(e.tunnel_id, Some(0));
        assert_eq!(e.to_tunnel().unwrap().actual_mtu(), 1458);
        // L706-709: the `print` line as properties: the read-only ones come back as unknown
        let print = [
            ("name", "eoip-remote"),
            ("mtu", "auto"),
            ("actual-mtu", "1458"),
            ("l2mtu", "65535"),
            ("mac-address", "FE:A5:6C:3F:26:C5"),
            ("arp", "enabled"),
            ("arp-timeout", "auto"),
            ("loop-protect", "default"),
            ("loop-protect-status", "off"),
            ("loop-protect-send-interval", "5s"),
            ("loop-protect-disable-time", "5m"),
            ("local-address", "0.0.0.0"),
            ("remote-address", "10.0.0.2"),
            ("tunnel-id", "0"),
            ("keepalive", "10s,10"),
            ("dscp", "inherit"),
            ("clamp-tcp-mss", "yes"),
            ("dont-fragment", "no"),
            ("allow-fast-path", "yes"),
        ];
        let (p, unknown) = EoipConfig::from_props(&print).unwrap();
        assert_eq!(
            unknown,
            ["actual-mtu", "loop-protect", "loop-protect-status"]
        );
        assert_eq!(
            p,
            EoipConfig {
                mac_address: Some([0xFE, 0xA5, 0x6C, 0x3F, 0x26, 0xC5]),
                ..e
            }
        );
    }

    #[test]
    fn seed_6to4_examples() {
        // L564-565: automatic 6to4 (no remote-address)
        let (s, _) = SixToFourConfig::from_props(&[("name", "6to4-tunnel1")]).unwrap();
        assert_eq!(s.remote_address, None);
        assert_eq!(s.keepalive, None);
        // L607: the Hurricane Electric tunnel
        let (he, unknown) = SixToFourConfig::from_props(&[
            ("comment", "Hurricane Electric IPv6 Tunnel Broker"),
            ("disabled", "no"),
            ("local-address", "194.105.56.170"),
            ("mtu", "1280"),
            ("name", "sit1"),
            ("remote-address", "216.66.80.90"),
        ])
        .unwrap();
        assert!(unknown.is_empty());
        assert_eq!(he.comment, "Hurricane Electric IPv6 Tunnel Broker");
        assert_eq!(he.to_tunnel().unwrap().actual_mtu(), 1280);
        // automatic 6to4 with a keepalive has no peer to keep alive: the error names it
        assert_eq!(
            field(SixToFourConfig::from_props(&[("keepalive", "10s,10")])),
            "keepalive"
        );
    }

    #[test]
    fn seed_ipip_example_l872() {
        // L872-873: `add local-address=22.63.11.6 remote-address=10.0.0.1` (mtu prints 1480)
        let (i, _) = IpipConfig::from_props(&[
            ("local-address", "22.63.11.6"),
            ("remote-address", "10.0.0.1"),
        ])
        .unwrap();
        assert_eq!(i.to_tunnel().unwrap().actual_mtu(), 1480);
    }

    /// A valid base list per menu, the properties to try, and the parser.
    type FromFn = fn(&[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error>;

    fn gre(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        GreConfig::from_props(p).map(|(c, _)| c.to_props())
    }
    fn eoip(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        EoipConfig::from_props(p).map(|(c, _)| c.to_props())
    }
    fn ipip(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        IpipConfig::from_props(p).map(|(c, _)| c.to_props())
    }
    fn sit(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        SixToFourConfig::from_props(p).map(|(c, _)| c.to_props())
    }
    fn gre6(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        Gre6Config::from_props(p).map(|(c, _)| c.to_props())
    }
    fn ipipv6(p: &[(&str, &str)]) -> Result<Vec<(&'static str, String)>, Error> {
        Ipipv6Config::from_props(p).map(|(c, _)| c.to_props())
    }

    /// A non-default value for every property of the six menus.
    fn sample(prop: &str, v6: bool) -> &'static str {
        match prop {
            "name" => "t1",
            "comment" => "a comment",
            "disabled" => "yes",
            "local-address" if v6 => "fd00::1",
            "local-address" => "10.0.0.1",
            "remote-address" if v6 => "fd00::9",
            "remote-address" => "10.0.0.9",
            "tunnel-id" => "100",
            "mtu" => "1400",
            "l2mtu" => "1600",
            "mac-address" => "02:00:5E:80:00:01",
            "arp" => "proxy-arp",
            "arp-timeout" => "30s",
            "loop-protect-send-interval" => "10s",
            "loop-protect-disable-time" => "1m",
            "keepalive" => "1m30s,3",
            "dscp" => "46",
            "dont-fragment" => "inherit",
            "clamp-tcp-mss" => "no",
            "allow-fast-path" => "no",
            "ipsec-secret" => "s3cret",
            "key" => "42",
            "checksum" => "yes",
            "sequence" => "yes",
            "ttl" => "64",
            other => panic!("no sample for {other}"),
        }
    }

    /// A value of the right shape but invalid, per property (`None`: any text is valid).
    fn bad(prop: &str) -> Option<&'static str> {
        Some(match prop {
            "name" | "comment" | "ipsec-secret" => return None,
            "disabled" | "clamp-tcp-mss" | "allow-fast-path" | "checksum" | "sequence" => "maybe",
            "local-address" | "remote-address" => "10.0.0.300",
            "tunnel-id" => "65536",
            "mtu" => "big",
            "l2mtu" => "-1",
            "mac-address" => "FE:A5:6C:3F:26",
            "arp" => "sometimes",
            "arp-timeout" | "loop-protect-send-interval" | "loop-protect-disable-time" => "5x",
            "keepalive" => "10s",
            "dscp" => "64",
            "dont-fragment" => "yes",
            "key" => "4294967296",
            "ttl" => "256",
            other => panic!("no bad value for {other}"),
        })
    }

    fn menus() -> Vec<(&'static str, &'static [&'static str], FromFn, bool)> {
        vec![
            ("gre", GreConfig::PROPERTIES, gre as FromFn, false),
            ("eoip", EoipConfig::PROPERTIES, eoip, false),
            ("ipip", IpipConfig::PROPERTIES, ipip, false),
            ("6to4", SixToFourConfig::PROPERTIES, sit, false),
            ("gre6", Gre6Config::PROPERTIES, gre6, true),
            ("ipipv6", Ipipv6Config::PROPERTIES, ipipv6, true),
        ]
    }

    #[test]
    fn every_property_is_read_written_and_checked() {
        for (menu, props, from, v6) in menus() {
            let remote = if v6 { "fd00::2" } else { "10.0.0.2" };
            let base: Vec<(&str, &str)> = if menu == "eoip" {
                vec![("remote-address", remote), ("tunnel-id", "7")]
            } else {
                vec![("remote-address", remote)]
            };
            let base_props = from(&base).unwrap();
            for &p in props {
                let v = sample(p, v6);
                let mut list = base.clone();
                list.push((p, v));
                let out = from(&list).unwrap_or_else(|e| panic!("{menu} {p}={v}: {e}"));
                assert_ne!(out, base_props, "{menu} {p}={v} changed nothing");
                assert!(
                    out.contains(&(p, v.to_string())),
                    "{menu} {p}={v}: written back as {out:?}"
                );
                if let Some(b) = bad(p) {
                    let mut list = base.clone();
                    list.push((p, b));
                    assert_eq!(field(from(&list)), p, "{menu} {p}={b}");
                }
            }
            // a property of another menu is returned, not an error
            let mut list = base.clone();
            list.push(("actual-mtu", "1476"));
            assert!(from(&list).is_ok());
        }
    }

    #[test]
    fn properties_reach_the_tunnel() {
        let (g, _) = GreConfig::from_props(&[
            ("remote-address", "10.0.0.2"),
            ("local-address", "10.0.0.1"),
            ("mtu", "1400"),
            ("keepalive", "5s,2"),
            ("dscp", "46"),
            ("dont-fragment", "inherit"),
            ("clamp-tcp-mss", "no"),
            ("key", "42"),
            ("checksum", "yes"),
            ("sequence", "yes"),
            ("ttl", "64"),
        ])
        .unwrap();
        let t: TunnelConfig = g.to_tunnel().unwrap();
        assert_eq!(t.local, IpAddr::V4("10.0.0.1".parse().unwrap()));
        assert_eq!(t.actual_mtu(), 1400);
        assert_eq!(
            t.keepalive,
            Some(Keepalive {
                interval: Duration::from_secs(5),
                retries: 2
            })
        );
        assert_eq!(t.dscp, Dscp::Fixed(46));
        assert_eq!(t.dont_fragment, DontFragment::Inherit);
        assert!(!t.clamp_tcp_mss);
        assert_eq!(t.key, Some(42));
        assert!(t.checksum && t.sequence);
        assert_eq!(t.ttl, 64);
        assert_eq!(t.tunnel_header_len(), 16);
        // keepalive=0,0 disables it
        let (g, _) =
            GreConfig::from_props(&[("remote-address", "10.0.0.2"), ("keepalive", "0,0")]).unwrap();
        assert_eq!(g.to_tunnel().unwrap().keepalive, None);
        assert_eq!(g.to_props()[1], ("keepalive", "0,0".to_string()));
        // ipsec-secret yields the IPsec hint for protocol 47
        let (g, _) =
            GreConfig::from_props(&[("remote-address", "10.0.0.2"), ("ipsec-secret", "s")])
                .unwrap();
        assert_eq!(g.ipsec_hint().unwrap().protocol, 47);
        // EoIP tunnel-id reaches the tunnel; eoipv6 defaults local-address to ::
        let (e, _) =
            EoipConfig::from_props(&[("remote-address", "10.0.0.2"), ("tunnel-id", "100")])
                .unwrap();
        assert_eq!(e.to_tunnel().unwrap().tunnel_id, 100);
        let (e6, _) =
            EoipConfig::from_props_v6(&[("remote-address", "fd00::2"), ("tunnel-id", "100")])
                .unwrap();
        assert!(e6.to_tunnel().unwrap().kind.outer_is_ipv6());
        // ... and an EoIPv6 tunnel id above 4095 is refused, naming tunnel-id
        assert_eq!(
            field(EoipConfig::from_props_v6(&[
                ("remote-address", "fd00::2"),
                ("tunnel-id", "5000")
            ])),
            "tunnel-id"
        );
        // a missing tunnel-id / remote-address is named
        assert_eq!(
            field(EoipConfig::from_props(&[("remote-address", "10.0.0.2")])),
            "tunnel-id"
        );
        assert_eq!(field(Gre6Config::from_props(&[])), "remote-address");
        // an IPv6 address on an IPv4 menu
        assert_eq!(
            field(GreConfig::from_props(&[("remote-address", "fd00::2")])),
            "remote-address"
        );
        // a `set` changes only what it names
        let mut g = g;
        assert!(g.apply_props(&[("mtu", "1300")]).unwrap().is_empty());
        assert_eq!(g.mtu, Mtu::Fixed(1300));
        assert_eq!(g.ipsec_secret.as_deref(), Some("s"));
    }

    fn arb_keepalive() -> impl Strategy<Value = Option<Keepalive>> {
        prop_oneof![
            Just(None),
            (1u64..100_000, any::<u32>()).prop_map(|(ms, retries)| Some(Keepalive {
                interval: Duration::from_millis(ms),
                retries
            })),
        ]
    }

    fn arb_common() -> impl Strategy<
        Value = (
            String,
            String,
            bool,
            Mtu,
            Option<Keepalive>,
            Dscp,
            bool,
            Option<String>,
            u8,
        ),
    > {
        (
            "[a-z0-9-]{0,12}",
            "[ -~]{0,20}",
            any::<bool>(),
            prop_oneof![Just(Mtu::Auto), (1280u16..9000).prop_map(Mtu::Fixed)],
            arb_keepalive(),
            prop_oneof![Just(Dscp::Inherit), (0u8..64).prop_map(Dscp::Fixed)],
            any::<bool>(),
            proptest::option::of("[ -~]{1,20}"),
            1u8..=255,
        )
    }

    proptest! {
        #[test]
        fn gre_round_trip(
            (name, comment, disabled, mtu, keepalive, dscp, clamp, secret, ttl) in arb_common(),
            local in any::<[u8; 4]>(), remote in 1u8..224, df in any::<bool>(),
            fast in any::<bool>(), l2mtu in any::<u16>(), key in proptest::option::of(any::<u32>()),
            csum in any::<bool>(), seq in any::<bool>(),
        ) {
            let c = GreConfig {
                name, comment, disabled, mtu, keepalive, dscp, clamp_tcp_mss: clamp,
                ipsec_secret: secret, ttl, l2mtu, key, checksum: csum, sequence: seq,
                allow_fast_path: fast,
                local_address: Ipv4Addr::from(local),
                remote_address: Some(Ipv4Addr::new(remote, 0, 0, 1)),
                dont_fragment: if df { DontFragment::Inherit } else { DontFragment::No },
            };
            let props = c.to_props();
            let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (back, unknown) = GreConfig::from_props(&refs).unwrap();
            prop_assert!(unknown.is_empty());
            prop_assert_eq!(back, c);
        }

        #[test]
        fn eoip_round_trip(
            (name, comment, disabled, mtu, keepalive, dscp, clamp, secret, ttl) in arb_common(),
            v6 in any::<bool>(), tid in 0u16..4096, mac in proptest::option::of(any::<[u8; 6]>()),
            arp in 0u8..4, arp_timeout in proptest::option::of(1u64..10_000),
            lpsi in 0u64..10_000, lpdt in 0u64..10_000, fast in any::<bool>(),
        ) {
            let (local, remote): (IpAddr, IpAddr) = if v6 {
                ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap())
            } else {
                ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
            };
            let c = EoipConfig {
                name, comment, disabled, mtu, keepalive, dscp, clamp_tcp_mss: clamp,
                ipsec_secret: secret, ttl,
                local_address: local, remote_address: Some(remote), tunnel_id: Some(tid),
                l2mtu: 65535, mac_address: mac.map(|mut m| { m[0] &= 0xFE; m }),
                arp: [Arp::Disabled, Arp::Enabled, Arp::ProxyArp, Arp::ReplyOnly][usize::from(arp)],
                arp_timeout: arp_timeout.map(Duration::from_secs),
                loop_protect_send_interval: Duration::from_secs(lpsi),
                loop_protect_disable_time: Duration::from_secs(lpdt),
                dont_fragment: DontFragment::Inherit, allow_fast_path: fast,
            };
            let props = c.to_props();
            let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (back, unknown) = EoipConfig::from_props(&refs).unwrap();
            prop_assert!(unknown.is_empty());
            prop_assert_eq!(back, c);
        }

        #[test]
        fn ip_tunnels_round_trip(
            (name, comment, disabled, mtu, keepalive, dscp, clamp, secret, ttl) in arb_common(),
            df in any::<bool>(),
        ) {
            let df = if df { DontFragment::Inherit } else { DontFragment::No };
            let ipip = IpipConfig {
                name: name.clone(), comment: comment.clone(), disabled, mtu, keepalive, dscp,
                clamp_tcp_mss: clamp, ipsec_secret: secret.clone(), ttl, dont_fragment: df,
                local_address: Ipv4Addr::new(10, 0, 0, 1),
                remote_address: Some(Ipv4Addr::new(10, 0, 0, 2)),
            };
            let round = |props: Vec<(&'static str, String)>| -> Vec<(String, String)> {
                props.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            };
            let p = round(ipip.to_props());
            let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(IpipConfig::from_props(&refs).unwrap().0, ipip);
            let sit = SixToFourConfig {
                name: name.clone(), comment: comment.clone(), disabled, mtu, keepalive, dscp,
                clamp_tcp_mss: clamp, ipsec_secret: secret.clone(), ttl, dont_fragment: df,
                local_address: Ipv4Addr::new(10, 0, 0, 1),
                remote_address: Some(Ipv4Addr::new(10, 0, 0, 2)),
            };
            let p = round(sit.to_props());
            let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(SixToFourConfig::from_props(&refs).unwrap().0, sit);
            let gre6 = Gre6Config {
                name: name.clone(), comment: comment.clone(), disabled, mtu, keepalive, dscp,
                clamp_tcp_mss: clamp, ipsec_secret: secret.clone(), ttl,
                local_address: "fd00::1".parse().unwrap(),
                remote_address: Some("fd00::2".parse().unwrap()),
                ..Default::default()
            };
            let p = round(gre6.to_props());
            let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(Gre6Config::from_props(&refs).unwrap().0, gre6);
            let ipipv6 = Ipipv6Config {
                name, comment, disabled, mtu, keepalive, dscp,
                clamp_tcp_mss: clamp, ipsec_secret: secret, ttl,
                local_address: "fd00::1".parse().unwrap(),
                remote_address: Some("fd00::2".parse().unwrap()),
            };
            let p = round(ipipv6.to_props());
            let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(Ipipv6Config::from_props(&refs).unwrap().0, ipipv6);
        }

        #[test]
        fn apply_props_never_panics(k in "[a-z-]{1,30}", v in "\\PC{0,40}") {
            let mut g = GreConfig::default();
            let _ = g.apply_props(&[(k.as_str(), v.as_str())]);
            let mut e = EoipConfig::default();
            let _ = e.apply_props(&[(k.as_str(), v.as_str())]);
        }
    }
}
