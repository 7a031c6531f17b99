//! Network control protocols: IPCP (RFC 1332, RFC 1877) and IPv6CP (RFC 5072).

use crate::config::{Config, Role, UsePeerDns};
use crate::cp::{Ctx, Judgement, Negotiator, Replies};
use crate::wire::cp::{code, options, IpcpOption, Ipv6cpOption};
use std::net::Ipv4Addr;

pub(crate) struct Ipcp {
    role: Role,
    request_dns: bool,
    request_nbns: bool,
    cfg_requested: Ipv4Addr,
    /// Server: our address and the peer's assigned address; DNS and NBNS to offer.
    pub local_cfg: Option<Ipv4Addr>,
    pub remote_cfg: Option<Ipv4Addr>,
    pub dns_offer: Vec<Ipv4Addr>,
    pub nbns_offer: Vec<Ipv4Addr>,
    want_addr: Option<Ipv4Addr>,
    want_dns: [Option<Ipv4Addr>; 2],
    want_nbns: [Option<Ipv4Addr>; 2],
    /// Results.
    pub local: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub dns: Vec<Ipv4Addr>,
    pub nbns: Vec<Ipv4Addr>,
}

/// The client's result for a pair of RFC 1877 options: the non-zero values it ended with.
fn learned(want: &[Option<Ipv4Addr>; 2]) -> Vec<Ipv4Addr> {
    want.iter()
        .flatten()
        .copied()
        .filter(|a| !a.is_unspecified())
        .collect()
}

impl Ipcp {
    pub fn new(cfg: &Config, role: Role) -> Self {
        Ipcp {
            role,
            request_dns: role == Role::Client && cfg.use_peer_dns != UsePeerDns::No,
            request_nbns: role == Role::Client && cfg.request_nbns,
            cfg_requested: cfg.requested_address,
            local_cfg: cfg.local_address,
            remote_cfg: cfg.remote_address,
            dns_offer: cfg.dns_servers.clone(),
            nbns_offer: cfg.nbns_servers.clone(),
            want_addr: None,
            want_dns: [None, None],
            want_nbns: [None, None],
            local: Ipv4Addr::UNSPECIFIED,
            remote: Ipv4Addr::UNSPECIFIED,
            dns: Vec::new(),
            nbns: Vec::new(),
        }
    }
}

impl Negotiator for Ipcp {
    fn reset(&mut self, _ctx: &mut Ctx<'_>) {
        match self.role {
            Role::Client => {
                self.want_addr = Some(self.cfg_requested);
                let z = Ipv4Addr::UNSPECIFIED;
                self.want_dns = if self.request_dns {
                    [Some(z), Some(z)]
                } else {
                    [None, None]
                };
                self.want_nbns = if self.request_nbns {
                    [Some(z), Some(z)]
                } else {
                    [None, None]
                };
            }
            Role::Server => {
                self.want_addr = self.local_cfg;
                self.want_dns = [None, None];
                self.want_nbns = [None, None];
            }
        }
        self.local = Ipv4Addr::UNSPECIFIED;
        self.remote = Ipv4Addr::UNSPECIFIED;
        self.dns.clear();
        self.nbns.clear();
    }

    fn build_request(&mut self, _ctx: &mut Ctx<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(a) = self.want_addr {
            IpcpOption::IpAddress(a).emit(&mut v);
        }
        if let Some(a) = self.want_dns[0] {
            IpcpOption::PrimaryDns(a).emit(&mut v);
        }
        if let Some(a) = self.want_dns[1] {
            IpcpOption::SecondaryDns(a).emit(&mut v);
        }
        if let Some(a) = self.want_nbns[0] {
            IpcpOption::PrimaryNbns(a).emit(&mut v);
        }
        if let Some(a) = self.want_nbns[1] {
            IpcpOption::SecondaryNbns(a).emit(&mut v);
        }
        v
    }

    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, _ctx: &mut Ctx<'_>) -> Judgement {
        let mut r = Replies::new(reject_instead_of_nak);
        let mut remote = None;
        for raw in options(opts).flatten() {
            match (self.role, IpcpOption::parse(&raw)) {
                (_, Err(_)) => r.reject(&raw),
                (Role::Client, Ok(IpcpOption::IpAddress(a))) => {
                    if a.is_unspecified() {
                        r.reject(&raw);
                    } else {
                        remote = Some(a);
                    }
                }
                (Role::Server, Ok(IpcpOption::IpAddress(a))) => match self.remote_cfg {
                    Some(want) if want == a => remote = Some(a),
                    Some(want) => r.nak(&raw, |n| IpcpOption::IpAddress(want).emit(n)),
                    None if !a.is_unspecified() => remote = Some(a),
                    None => r.reject(&raw),
                },
                (
                    Role::Server,
                    Ok(
                        ref o @ (IpcpOption::PrimaryDns(a)
                        | IpcpOption::SecondaryDns(a)
                        | IpcpOption::PrimaryNbns(a)
                        | IpcpOption::SecondaryNbns(a)),
                    ),
                ) => {
                    // RFC 1877: Ack the configured address, Nak anything else (0.0.0.0 =
                    // "tell me") with it, Reject when none is configured.
                    type Make = fn(Ipv4Addr) -> IpcpOption;
                    let (configured, make): (Option<&Ipv4Addr>, Make) = match o {
                        IpcpOption::PrimaryDns(_) => {
                            (self.dns_offer.first(), IpcpOption::PrimaryDns)
                        }
                        IpcpOption::SecondaryDns(_) => {
                            (self.dns_offer.get(1), IpcpOption::SecondaryDns)
                        }
                        IpcpOption::PrimaryNbns(_) => {
                            (self.nbns_offer.first(), IpcpOption::PrimaryNbns)
                        }
                        _ => (self.nbns_offer.get(1), IpcpOption::SecondaryNbns),
                    };
                    match configured {
                        Some(d) if *d == a => {}
                        Some(d) => r.nak(&raw, |n| make(*d).emit(n)),
                        None => r.reject(&raw),
                    }
                }
                // Van Jacobson compression, the old IP-Addresses option, unknown options.
                _ => r.reject(&raw),
            }
        }
        let j = r.judgement(opts);
        if j.code == code::CONFIGURE_ACK {
            self.remote = remote.unwrap_or(Ipv4Addr::UNSPECIFIED);
        }
        j
    }

    fn acked(&mut self, _opts: &[u8], _ctx: &mut Ctx<'_>) {
        self.local = self.want_addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        (self.dns, self.nbns) = match self.role {
            Role::Client => (learned(&self.want_dns), learned(&self.want_nbns)),
            Role::Server => (self.dns_offer.clone(), self.nbns_offer.clone()),
        };
    }

    fn naked(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            match IpcpOption::parse(&raw) {
                Ok(IpcpOption::IpAddress(a)) if self.role == Role::Client => {
                    self.want_addr = Some(a)
                }
                Ok(IpcpOption::PrimaryDns(a)) if self.want_dns[0].is_some() => {
                    self.want_dns[0] = Some(a)
                }
                Ok(IpcpOption::SecondaryDns(a)) if self.want_dns[1].is_some() => {
                    self.want_dns[1] = Some(a)
                }
                Ok(IpcpOption::PrimaryNbns(a)) if self.want_nbns[0].is_some() => {
                    self.want_nbns[0] = Some(a)
                }
                Ok(IpcpOption::SecondaryNbns(a)) if self.want_nbns[1].is_some() => {
                    self.want_nbns[1] = Some(a)
                }
                _ => {}
            }
        }
    }

    fn rejected(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            match raw.kind {
                3 => self.want_addr = None,
                129 => self.want_dns[0] = None,
                131 => self.want_dns[1] = None,
                130 => self.want_nbns[0] = None,
                132 => self.want_nbns[1] = None,
                _ => {}
            }
        }
    }
}

pub(crate) struct Ipv6cp {
    cfg_iid: Option<[u8; 8]>,
    want: Option<[u8; 8]>,
    pub local: [u8; 8],
    pub remote: [u8; 8],
}

fn random_iid(ctx: &mut Ctx<'_>, not: [u8; 8]) -> [u8; 8] {
    loop {
        let mut v = [0u8; 8];
        ctx.rng.fill_bytes(&mut v);
        if v != [0; 8] && v != not {
            return v;
        }
    }
}

impl Ipv6cp {
    pub fn new(cfg: &Config) -> Self {
        Ipv6cp {
            cfg_iid: cfg.interface_id,
            want: None,
            local: [0; 8],
            remote: [0; 8],
        }
    }
}

impl Negotiator for Ipv6cp {
    fn reset(&mut self, ctx: &mut Ctx<'_>) {
        self.want = Some(self.cfg_iid.unwrap_or_else(|| random_iid(ctx, [0; 8])));
        self.local = [0; 8];
        self.remote = [0; 8];
    }

    fn build_request(&mut self, _ctx: &mut Ctx<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(i) = self.want {
            Ipv6cpOption::InterfaceId(i).emit(&mut v);
        }
        v
    }

    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, ctx: &mut Ctx<'_>) -> Judgement {
        let mut r = Replies::new(reject_instead_of_nak);
        let mut remote = None;
        for raw in options(opts).flatten() {
            match Ipv6cpOption::parse(&raw) {
                Ok(Ipv6cpOption::InterfaceId(i)) => {
                    if i == [0; 8] || Some(i) == self.want {
                        let mine = self.want.unwrap_or([0; 8]);
                        r.nak(&raw, |n| {
                            Ipv6cpOption::InterfaceId(random_iid(ctx, mine)).emit(n)
                        });
                    } else {
                        remote = Some(i);
                    }
                }
                _ => r.reject(&raw),
            }
        }
        let j = r.judgement(opts);
        if j.code == code::CONFIGURE_ACK {
            self.remote = remote.unwrap_or([0; 8]);
        }
        j
    }

    fn acked(&mut self, _opts: &[u8], _ctx: &mut Ctx<'_>) {
        self.local = self.want.unwrap_or([0; 8]);
    }

    fn naked(&mut self, opts: &[u8], ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            if let Ok(Ipv6cpOption::InterfaceId(i)) = Ipv6cpOption::parse(&raw) {
                self.want = Some(if i == [0; 8] {
                    random_iid(ctx, self.remote)
                } else {
                    i
                });
            }
        }
    }

    fn rejected(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            if raw.kind == 1 {
                self.want = None;
            }
        }
    }
}
