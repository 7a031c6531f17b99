//! CCP, the Compression Control Protocol (RFC 1962, protocol 0x80FD), carrying the MPPE
//! option (RFC 3078 s2). CCP is one more control protocol on the shared automaton
//! ([`crate::fsm`]); this negotiator knows one option, type 18 (MPPE), and rejects every
//! other (compression algorithms are not implemented).
//!
//! ```text
//!   option 18:  | 18 | 6 | Supported Bits (32) |
//!   Supported Bits: H (0x01000000, stateless)  M (0x80, 56-bit)  S (0x40, 128-bit)
//!                   L (0x20, 40-bit)  D (0x10, obsolete)  C (0x01, MPPC compression)
//! ```
//!
//! Each side's Configure-Request names what it wants to *receive*. We request exactly one key
//! length (the strongest allowed) and the mode of [`crate::config::MppeSettings::stateless`].
//! A peer's request naming several lengths, or a length or mode we do not want, is Nak'd with
//! the single choice we make; a Nak from the peer is followed when its choice is allowed.
//! Reset-Request (14) and Reset-Ack (15) resynchronise a stateful receiver (RFC 1962 s2.1,
//! RFC 3078 s8).

use crate::config::MppeSettings;
use crate::cp::{Ctx, Extra, Judgement, Negotiator, Note, Replies};
use crate::fsm::State;
use crate::mppe::{bits, KeyStrength, MppeParams, CCP_OPTION};
use crate::wire::cp::{code, options, RawOption};

/// Parse the value of an MPPE option (4 octets).
pub fn parse_mppe_option(raw: &RawOption<'_>) -> Option<u32> {
    let v: [u8; 4] = raw.value.try_into().ok()?;
    Some(u32::from_be_bytes(v))
}

/// Emit an MPPE option carrying `word`.
pub fn emit_mppe_option(word: u32, out: &mut Vec<u8>) {
    out.push(CCP_OPTION);
    out.push(6);
    out.extend_from_slice(&word.to_be_bytes());
}

pub(crate) struct Ccp {
    settings: MppeSettings,
    /// Our request (`None` once the peer rejected the option).
    want: Option<u32>,
    /// What the peer acked of our request: the parameters we receive with.
    pub rx: Option<MppeParams>,
    /// What we acked of the peer's request: the parameters we send with.
    pub tx: Option<MppeParams>,
}

impl Ccp {
    pub fn new(settings: MppeSettings) -> Self {
        Ccp {
            settings,
            want: None,
            rx: None,
            tx: None,
        }
    }

    fn allowed(&self) -> u32 {
        let s = &self.settings;
        let mut w = 0;
        if s.allow_128 {
            w |= bits::S;
        }
        if s.allow_56 {
            w |= bits::M;
        }
        if s.allow_40 {
            w |= bits::L;
        }
        w
    }

    /// Our single choice among `offered` key lengths (all allowed ones when the intersection
    /// is empty), in our mode.
    fn choose(&self, offered: u32) -> Option<u32> {
        let common = offered & self.allowed();
        let s = KeyStrength::strongest_in(if common != 0 { common } else { self.allowed() })?;
        Some(
            MppeParams {
                strength: s,
                stateless: self.settings.stateless,
            }
            .to_bits(),
        )
    }
}

impl Negotiator for Ccp {
    fn reset(&mut self, _ctx: &mut Ctx<'_>) {
        self.want = self.choose(self.allowed());
        self.rx = None;
        self.tx = None;
    }

    fn build_request(&mut self, _ctx: &mut Ctx<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(w) = self.want {
            emit_mppe_option(w, &mut v);
        }
        v
    }

    fn judge(&mut self, opts: &[u8], reject_instead_of_nak: bool, _ctx: &mut Ctx<'_>) -> Judgement {
        let mut r = Replies::new(reject_instead_of_nak);
        let mut tx = None;
        for raw in options(opts).flatten() {
            match (raw.kind, parse_mppe_option(&raw)) {
                (CCP_OPTION, Some(word)) => match self.choose(word) {
                    Some(c) if c == word => tx = MppeParams::from_bits(word),
                    Some(c) => r.nak(&raw, |n| emit_mppe_option(c, n)),
                    None => r.reject(&raw),
                },
                // Compression algorithms, and a malformed MPPE option.
                _ => r.reject(&raw),
            }
        }
        let j = r.judgement(opts);
        if j.code == code::CONFIGURE_ACK {
            self.tx = tx;
        }
        j
    }

    fn acked(&mut self, _opts: &[u8], _ctx: &mut Ctx<'_>) {
        self.rx = self.want.and_then(MppeParams::from_bits);
    }

    fn naked(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            if let (CCP_OPTION, Some(word)) = (raw.kind, parse_mppe_option(&raw)) {
                // Follow the peer's key length when we allow it, and its mode.
                let common = word & self.allowed();
                if let Some(s) = KeyStrength::strongest_in(common) {
                    self.want = Some(
                        MppeParams {
                            strength: s,
                            stateless: word & bits::H != 0,
                        }
                        .to_bits(),
                    );
                }
            }
        }
    }

    fn rejected(&mut self, opts: &[u8], _ctx: &mut Ctx<'_>) {
        for raw in options(opts).flatten() {
            if raw.kind == CCP_OPTION {
                self.want = None;
            }
        }
    }

    fn extra_code(
        &mut self,
        c: u8,
        id: u8,
        _data: &[u8],
        state: State,
        ctx: &mut Ctx<'_>,
    ) -> Extra {
        match c {
            code::RESET_REQUEST => {
                if state == State::Opened {
                    ctx.notes.push(Note::CcpResetRequest);
                }
                // RXR: in Opened the automaton sends the reply (a Reset-Ack, same identifier).
                Extra::Rxr(Some((code::RESET_ACK, id, Vec::new())))
            }
            code::RESET_ACK => {
                ctx.notes.push(Note::CcpResetAck);
                Extra::Ignore
            }
            _ => Extra::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cp::Ctx;
    use rand_core::RngCore;
    use std::time::Instant;

    struct ZeroRng;
    impl RngCore for ZeroRng {
        fn next_u32(&mut self) -> u32 {
            0
        }
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn fill_bytes(&mut self, d: &mut [u8]) {
            d.fill(0)
        }
        fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
            d.fill(0);
            Ok(())
        }
    }

    fn opt(word: u32) -> Vec<u8> {
        let mut v = Vec::new();
        emit_mppe_option(word, &mut v);
        v
    }

    #[test]
    fn judge_acks_naks_and_rejects() {
        let mut rng = ZeroRng;
        let mut ctx = Ctx::new(Instant::now(), &mut rng);
        let mut c = Ccp::new(MppeSettings::default());
        c.reset(&mut ctx);
        // Our request: exactly 128-bit stateless.
        assert_eq!(c.build_request(&mut ctx), opt(0x0100_0040));
        // The exact choice is acked and becomes our send parameters.
        let j = c.judge(&opt(0x0100_0040), false, &mut ctx);
        assert_eq!((j.code, j.options), (code::CONFIGURE_ACK, opt(0x0100_0040)));
        assert_eq!(c.tx.unwrap().encoding(), "MPPE128 stateless");
        // Several lengths (and MPPC's C bit) are Nak'd with our single choice.
        let j = c.judge(&opt(0x0000_00e1), false, &mut ctx);
        assert_eq!((j.code, j.options), (code::CONFIGURE_NAK, opt(0x0100_0040)));
        // After Max-Failure the Nak becomes a Reject.
        let j = c.judge(&opt(0x20), true, &mut ctx);
        assert_eq!(j.code, code::CONFIGURE_REJECT);
        // Unknown options (Deflate 26, BSD-Compress 21) are rejected, MPPE alone then acked.
        let mut req = vec![26, 4, 0x78, 0x00, 21, 3, 0x2f];
        req.extend_from_slice(&opt(0x0100_0040));
        let j = c.judge(&req, false, &mut ctx);
        assert_eq!(
            (j.code, j.options),
            (code::CONFIGURE_REJECT, vec![26, 4, 0x78, 0x00, 21, 3, 0x2f])
        );
        // A malformed MPPE option (wrong length) is rejected as received.
        let j = c.judge(&[18, 4, 0, 0], false, &mut ctx);
        assert_eq!(
            (j.code, j.options),
            (code::CONFIGURE_REJECT, vec![18, 4, 0, 0])
        );
    }

    #[test]
    fn nak_and_reject_of_our_request() {
        let mut rng = ZeroRng;
        let mut ctx = Ctx::new(Instant::now(), &mut rng);
        let mut c = Ccp::new(MppeSettings::default());
        c.reset(&mut ctx);
        // The peer wants 40-bit stateful: we follow.
        c.naked(&opt(bits::L), &mut ctx);
        assert_eq!(c.build_request(&mut ctx), opt(bits::L));
        c.acked(&opt(bits::L), &mut ctx);
        assert_eq!(c.rx.unwrap().encoding(), "MPPE40 stateful");
        // A Nak naming only lengths we do not allow is ignored.
        let mut only128 = Ccp::new(MppeSettings {
            allow_56: false,
            allow_40: false,
            ..MppeSettings::default()
        });
        only128.reset(&mut ctx);
        only128.naked(&opt(bits::L), &mut ctx);
        assert_eq!(only128.build_request(&mut ctx), opt(0x0100_0040));
        // Rejected: the request becomes empty.
        c.rejected(&opt(bits::L), &mut ctx);
        assert!(c.build_request(&mut ctx).is_empty());
    }

    #[test]
    fn reset_request_is_answered_with_reset_ack_in_opened() {
        let mut rng = ZeroRng;
        let mut ctx = Ctx::new(Instant::now(), &mut rng);
        let mut c = Ccp::new(MppeSettings::default());
        match c.extra_code(code::RESET_REQUEST, 9, &[], State::Opened, &mut ctx) {
            Extra::Rxr(Some((code::RESET_ACK, 9, d))) => assert!(d.is_empty()),
            _ => panic!("no Reset-Ack"),
        }
        assert_eq!(ctx.notes, vec![Note::CcpResetRequest]);
        assert!(matches!(
            c.extra_code(code::RESET_ACK, 9, &[], State::Opened, &mut ctx),
            Extra::Ignore
        ));
        assert!(matches!(
            c.extra_code(42, 1, &[], State::Opened, &mut ctx),
            Extra::Unknown
        ));
    }
}
