#![no_main]
//! The access concentrator's input path. Chunks of the input (1-byte length, 1-byte control)
//! become frames: raw, or (control bit 7) with the source MAC and SESSION_ID of a live
//! session patched in so that session-stage and PADT paths are reached. The harness answers
//! every PADO with a genuine PADR (echoing the cookie) so sessions exist; time advances by the
//! control's low bits in 100 ms steps and timers fire.
use pppoe::wire::{tag, Code, Discovery, Frame, VlanStack, BROADCAST};
use std::time::Duration;

const AC: [u8; 6] = [2, 0, 0, 0, 0, 0xac];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = fuzz::base_instant();
    let mut cfg = pppoe::ServerConfig::new(AC);
    let flags = data.first().copied().unwrap_or(0);
    cfg.ppp.one_session_per_host = flags & 1 == 1;
    if flags & 2 == 2 {
        cfg.ppp.max_sessions = Some(2);
    }
    if flags & 4 == 4 {
        cfg.pado_delay = Duration::from_millis(200);
    }
    if flags & 8 == 8 {
        cfg.vlan_range = pppoe::VlanRange::parse("1-10").expect("range");
    }
    cfg.service_names = vec!["a".into(), "".into()];
    let Ok(mut s) = pppoe::Server::new(cfg, now, fuzz::TestRng::new(1)) else {
        return;
    };
    let mut aaa = ppp::aaa::Aaa::new();
    aaa.secrets.push(ppp::aaa::Secret::new("u", "p"));
    s.host_mut().set_store(Box::new(aaa));
    let mut at = now;
    let mut live: Vec<([u8; 6], u16)> = Vec::new();
    let mut rest = data.get(1..).unwrap_or_default();
    // A genuine PADI to start with.
    let padi = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, Vec::new())
        .emit(BROADCAST, [2, 0, 0, 0, 0, 1], &VlanStack::NONE)
        .expect("emit");
    let mut queue = vec![padi];
    loop {
        for mut f in queue.drain(..) {
            let _ = s.handle_frame(at, &mut f);
        }
        while let Some(t) = s.poll_transmit(at) {
            let Ok(f) = Frame::parse(&t.frame) else {
                panic!("the AC emitted an unparsable frame");
            };
            if f.code == Code::PADO {
                let d = Discovery::from_frame(&f).expect("PADO parses");
                let mut r = Discovery::new(Code::PADR, 0).with(tag::SERVICE_NAME, Vec::new());
                if let Some(c) = d.ac_cookie() {
                    r = r.with(tag::AC_COOKIE, c);
                }
                if let Ok(b) = r.emit(AC, f.dst, &f.vlans) {
                    queue.push(b);
                }
            }
            if f.code == Code::PADS && f.session_id != 0 {
                live.push((f.dst, f.session_id));
            }
        }
        while let Some(e) = s.poll_event() {
            if let pppoe::ServerEvent::SessionEnded { session, .. } = e {
                live.retain(|k| *k != session);
            }
        }
        if !queue.is_empty() {
            continue;
        }
        if rest.len() < 2 {
            break;
        }
        let n = (rest[0] as usize).min(rest.len() - 2);
        let ctl = rest[1];
        let mut f = rest[2..2 + n].to_vec();
        rest = &rest[2 + n..];
        at += Duration::from_millis(100 * u64::from(ctl & 0x0f));
        if ctl & 0x80 != 0 && !live.is_empty() && f.len() >= 20 {
            let (mac, id) = live[usize::from(ctl >> 4 & 7) % live.len()];
            f[0..6].copy_from_slice(&AC);
            f[6..12].copy_from_slice(&mac);
            f[16..18].copy_from_slice(&id.to_be_bytes());
        }
        queue.push(f);
        if s.poll_timeout().is_some_and(|d| d <= at) {
            s.handle_timeout(at);
        }
    }
    assert!(s.len() <= 65534);
});
