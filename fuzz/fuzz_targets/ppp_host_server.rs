#![no_main]
//! Host input path (server): records of the fuzz input drive a `ppp::host::Server` with four
//! keys: open / open with a fuzzed proxy LCP / a PPP frame / a verdict for the pending request
//! / close / lower-down / time steps; every output is drained and timers fired, and the
//! host's invariants are checked (the deadline never lies in the past after handle_timeout,
//! the table size matches the keys).
use fuzz::{step_from, TestRng};
use ppp::aaa::{Aaa, Secret};
use ppp::host::{Server, ServerConfig, ServerEvent};
use ppp::settings::ServerSettings;
use ppp::{ProxyLcp, Verdict};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = fuzz::base_instant();
    let mut settings = ServerSettings::pppoe();
    settings.max_sessions = Some(3);
    settings.one_session_per_host = true;
    let mut cfg = ServerConfig::new(settings);
    cfg.aaa.use_radius = true;
    cfg.aaa.interim_update = std::time::Duration::from_secs(5);
    cfg.forward_realms = vec!["r".into()];
    let Ok(mut h) = Server::<u8>::new(cfg, now, TestRng(7)) else {
        return;
    };
    let mut aaa = Aaa::new();
    aaa.secrets.push(Secret::new("a", "pw"));
    h.set_store(Box::new(aaa));
    let mut pending: Vec<(u8, u64)> = Vec::new();
    let mut t = now;
    let mut rest = data;
    while let [op, arg, tail @ ..] = rest {
        let key = arg % 4;
        rest = tail;
        match op % 8 {
            0 => {
                let _ = h.open(t, key, if arg & 0x80 != 0 { "same" } else { "other" });
            }
            1 => {
                let n = usize::from(*arg).min(rest.len());
                let (frame, next) = rest.split_at(n);
                rest = next;
                let _ = h.handle_frame(t, &key, frame);
            }
            2 => {
                let n = usize::from(*arg).min(rest.len());
                let (opts, next) = rest.split_at(n);
                rest = next;
                let half = opts.len() / 2;
                let proxy = ProxyLcp {
                    initial_received: None,
                    last_sent: opts[..half].to_vec(),
                    last_received: opts[half..].to_vec(),
                    auth: None,
                };
                let _ = h.open_proxy(t, key, "lac", proxy);
            }
            3 => {
                if let Some((k, id)) = pending.pop() {
                    let v = match arg % 3 {
                        0 => Verdict::Password {
                            password: "pw".into(),
                            attributes: Default::default(),
                        },
                        1 => Verdict::Reject {
                            message: "no".into(),
                        },
                        _ => Verdict::Accept {
                            attributes: Default::default(),
                            authenticator_response: None,
                            keys: None,
                        },
                    };
                    let _ = h.auth_verdict(t, &k, id, v);
                }
            }
            4 => {
                let _ = h.close(t, &key, "fuzz");
            }
            5 => {
                let _ = h.lower_down(t, &key);
            }
            _ => t += step_from([*arg, op >> 3]),
        }
        while h.poll_transmit(t).is_some() {}
        while let Some(e) = h.poll_event() {
            if let ServerEvent::AuthRequest { key, request, .. } = e {
                pending.push((key, request.id));
            }
        }
        if h.poll_timeout().is_some_and(|d| d <= t) {
            h.handle_timeout(t);
            while h.poll_transmit(t).is_some() {}
            while h.poll_event().is_some() {}
        }
        assert!(h.len() <= 4);
        assert_eq!(h.keys().count(), h.len());
    }
});
