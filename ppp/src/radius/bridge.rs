//! [`HostBridge`]: the glue between a PPP [`Server`] host and a [`RadiusClient`], so a
//! transport gets RADIUS authentication and accounting by forwarding two event streams.
//!
//! ```text
//!  host.poll_event()  --ServerEvent-->  bridge.handle_server_event(now, &ev, &mut radius)
//!                                         AuthRequest  -> Access-Request
//!                                         Accounting   -> Accounting-Request (+ Class)
//!  radius.poll_event() --RadiusEvent--> bridge.handle_radius_event(now, ev, &mut host)
//!                                         Accept       -> host.auth_verdict(Accept{..})
//!                                         Reject       -> host.auth_verdict(Reject{..})
//!                                         Timeout      -> host.auth_verdict(Reject{..})
//! ```

use super::access::AccessRequest;
use super::acct::AccountingRequest;
use super::client::{RadiusClient, RadiusError, RadiusEvent, RequestHandle};
use crate::aaa::Verdict;
use crate::config::AuthMethod;
use crate::host::{AccountingKind, Server, ServerEvent};
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// The message a login refused because no RADIUS server answered gets.
pub const TIMEOUT_MESSAGE: &str = "RADIUS server is not responding";

/// Pending logins and per-session Class attributes between a host and a RADIUS client.
#[derive(Debug)]
pub struct HostBridge<K> {
    waiting: HashMap<RequestHandle, (K, u64, AuthMethod)>,
    class: HashMap<K, Vec<Vec<u8>>>,
    accounting: bool,
}

impl<K: Clone + Eq + Hash> Default for HostBridge<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash> HostBridge<K> {
    /// A bridge that also forwards accounting records.
    pub fn new() -> Self {
        HostBridge {
            waiting: HashMap::new(),
            class: HashMap::new(),
            accounting: true,
        }
    }

    /// Whether accounting records go to RADIUS (RouterOS `/radius service=ppp` with
    /// `/ppp aaa accounting=yes`; default `true`). The host's own `accounting` setting
    /// decides whether records exist at all.
    pub fn set_accounting(&mut self, on: bool) {
        self.accounting = on;
    }

    /// Logins waiting for a RADIUS answer.
    pub fn pending(&self) -> usize {
        self.waiting.len()
    }

    /// Feed every host event here (the host's other events need the transport's attention
    /// as before). Returns `Ok(true)` if the event started a RADIUS request.
    pub fn handle_server_event(
        &mut self,
        now: Instant,
        ev: &ServerEvent<K>,
        radius: &mut RadiusClient,
    ) -> Result<bool, RadiusError> {
        match ev {
            ServerEvent::AuthRequest {
                key,
                caller_id,
                request,
            } => {
                let r = AccessRequest::from_ppp(request, Some(caller_id));
                let h = radius.send_access_request(now, r)?;
                self.waiting
                    .insert(h, (key.clone(), request.id, request.method));
                Ok(true)
            }
            ServerEvent::Accounting { key, kind, record } => {
                let class = self.class.get(key).cloned().unwrap_or_default();
                if *kind == AccountingKind::Stop {
                    self.class.remove(key);
                }
                if !self.accounting {
                    return Ok(false);
                }
                let a = AccountingRequest::from_record(*kind, record, &class);
                radius.send_accounting(now, a.attributes())?;
                Ok(true)
            }
            ServerEvent::Ended { key, .. } => {
                self.class.remove(key);
                self.waiting.retain(|_, (k, _, _)| k != key);
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Feed every RADIUS event here. Answers for logins become host verdicts (a verdict for a
    /// session that has gone meanwhile is ignored); other events are handed back.
    pub fn handle_radius_event(
        &mut self,
        now: Instant,
        ev: RadiusEvent,
        host: &mut Server<K>,
    ) -> Option<RadiusEvent> {
        match self.verdict_for(ev) {
            Ok((key, id, verdict)) => {
                let _ = host.auth_verdict(now, &key, id, verdict);
                None
            }
            Err(ev) => Some(ev),
        }
    }

    /// The verdict a RADIUS event carries for a waiting login, as (session key, request id,
    /// verdict), for transports that wrap the host and answer through their own
    /// `auth_verdict` (e.g. `l2tp::ppp_link::PppLns`). An event that answers no waiting
    /// login (accounting, a dead server, a login already gone) is handed back as `Err`.
    pub fn verdict_for(&mut self, ev: RadiusEvent) -> Result<(K, u64, Verdict), RadiusEvent> {
        let handle = match &ev {
            RadiusEvent::Accept { handle, .. }
            | RadiusEvent::Reject { handle, .. }
            | RadiusEvent::Challenge { handle, .. }
            | RadiusEvent::Timeout { handle } => *handle,
            _ => return Err(ev),
        };
        let Some((key, id, method)) = self.waiting.remove(&handle) else {
            return Err(ev);
        };
        let verdict = match ev {
            RadiusEvent::Accept { reply, .. } => {
                self.class.insert(key.clone(), reply.class.clone());
                reply.to_verdict(method)
            }
            RadiusEvent::Reject { reply, .. } | RadiusEvent::Challenge { reply, .. } => {
                // PPP's PAP/CHAP/MS-CHAP have no challenge round: a Challenge refuses.
                Verdict::Reject {
                    message: reply.refusal_message(),
                }
            }
            _ => Verdict::Reject {
                message: TIMEOUT_MESSAGE.to_string(),
            },
        };
        Ok((key, id, verdict))
    }
}
