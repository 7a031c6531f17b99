#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Decoders never panic; messages round-trip; the deframer frames any split of a stream.

use pptp::wire::control::{
    CallDisconnectNotify, FixedStr, IncomingCallConnected, IncomingCallReply, IncomingCallRequest,
    OutgoingCallReply, OutgoingCallRequest, SetLinkInfo, StartControl, WanErrorNotify,
};
use pptp::wire::{Deframer, Message, MessageType, HEADER_LEN, MAGIC_COOKIE};
use proptest::prelude::*;

/// A message of every type with field values taken from `w` (reserved fields zero).
fn message(t: MessageType, w: &[u8; 32], s: &str) -> Message {
    let u16_ = |i: usize| u16::from_be_bytes([w[i], w[i + 1]]);
    let u32_ = |i: usize| u32::from_be_bytes([w[i], w[i + 1], w[i + 2], w[i + 3]]);
    let f = FixedStr::new(s);
    match t {
        MessageType::StartControlConnectionRequest | MessageType::StartControlConnectionReply => {
            let sc = StartControl {
                protocol_version: u16_(0),
                result_code: w[2],
                error_code: w[3],
                framing_capabilities: u32_(4),
                bearer_capabilities: u32_(8),
                maximum_channels: u16_(12),
                firmware_revision: u16_(14),
                host_name: f,
                vendor: FixedStr::new(&s.chars().rev().collect::<String>()),
            };
            if t == MessageType::StartControlConnectionRequest {
                Message::StartControlConnectionRequest(sc)
            } else {
                Message::StartControlConnectionReply(sc)
            }
        }
        MessageType::StopControlConnectionRequest => {
            Message::StopControlConnectionRequest { reason: w[0] }
        }
        MessageType::StopControlConnectionReply => Message::StopControlConnectionReply {
            result_code: w[0],
            error_code: w[1],
        },
        MessageType::EchoRequest => Message::EchoRequest {
            identifier: u32_(0),
        },
        MessageType::EchoReply => Message::EchoReply {
            identifier: u32_(0),
            result_code: w[4],
            error_code: w[5],
        },
        MessageType::OutgoingCallRequest => Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id: u16_(0),
            call_serial: u16_(2),
            minimum_bps: u32_(4),
            maximum_bps: u32_(8),
            bearer_type: u32_(12),
            framing_type: u32_(16),
            recv_window: u16_(20),
            processing_delay: u16_(22),
            phone_number_len: u16_(24),
            phone_number: f,
            subaddress: f,
        }),
        MessageType::OutgoingCallReply => Message::OutgoingCallReply(OutgoingCallReply {
            call_id: u16_(0),
            peer_call_id: u16_(2),
            result_code: w[4],
            error_code: w[5],
            cause_code: u16_(6),
            connect_speed: u32_(8),
            recv_window: u16_(12),
            processing_delay: u16_(14),
            physical_channel_id: u32_(16),
        }),
        MessageType::IncomingCallRequest => Message::IncomingCallRequest(IncomingCallRequest {
            call_id: u16_(0),
            call_serial: u16_(2),
            bearer_type: u32_(4),
            physical_channel_id: u32_(8),
            dialed_number_len: u16_(12),
            dialing_number_len: u16_(14),
            dialed_number: f,
            dialing_number: f,
            subaddress: f,
        }),
        MessageType::IncomingCallReply => Message::IncomingCallReply(IncomingCallReply {
            call_id: u16_(0),
            peer_call_id: u16_(2),
            result_code: w[4],
            error_code: w[5],
            recv_window: u16_(6),
            transmit_delay: u16_(8),
        }),
        MessageType::IncomingCallConnected => {
            Message::IncomingCallConnected(IncomingCallConnected {
                peer_call_id: u16_(0),
                connect_speed: u32_(2),
                recv_window: u16_(6),
                transmit_delay: u16_(8),
                framing_type: u32_(10),
            })
        }
        MessageType::CallClearRequest => Message::CallClearRequest { call_id: u16_(0) },
        MessageType::CallDisconnectNotify => Message::CallDisconnectNotify(CallDisconnectNotify {
            call_id: u16_(0),
            result_code: w[2],
            error_code: w[3],
            cause_code: u16_(4),
            call_statistics: FixedStr::new(s),
        }),
        MessageType::WanErrorNotify => Message::WanErrorNotify(WanErrorNotify {
            peer_call_id: u16_(0),
            crc_errors: u32_(2),
            framing_errors: u32_(6),
            hardware_overruns: u32_(10),
            buffer_overruns: u32_(14),
            timeout_errors: u32_(18),
            alignment_errors: u32_(22),
        }),
        MessageType::SetLinkInfo => Message::SetLinkInfo(SetLinkInfo {
            peer_call_id: u16_(0),
            send_accm: u32_(2),
            recv_accm: u32_(6),
        }),
    }
}

fn any_message() -> impl Strategy<Value = Message> {
    (0usize..15, any::<[u8; 32]>(), "[a-zA-Z0-9 .-]{0,70}")
        .prop_map(|(i, w, s)| message(MessageType::ALL[i], &w, &s))
}

proptest! {
    #[test]
    fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Message::parse(&b);
        let mut d = Deframer::new();
        d.push(&b);
        for _ in 0..40 {
            match d.next_message() {
                Ok(Some(_)) | Err(pptp::wire::WireError::UnknownType(_)) => {}
                _ => break,
            }
        }
    }

    /// A valid header followed by arbitrary bytes: parse never panics, and a message that
    /// parses re-encodes to exactly its bytes (every field but the zero reserved ones).
    #[test]
    fn framed_garbage_parses_or_errors(t in 0u16..18, body in proptest::collection::vec(any::<u8>(), 0..220)) {
        let mut b = Vec::new();
        b.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&body);
        if let Ok(m) = Message::parse(&b) {
            let again = Message::parse(&m.to_vec()).unwrap();
            prop_assert_eq!(again, m);
        }
    }

    #[test]
    fn round_trip(m in any_message()) {
        let b = m.to_vec();
        prop_assert_eq!(b.len(), m.message_type().length());
        prop_assert_eq!(Message::parse(&b).unwrap(), m);
    }

    /// Several messages, split at arbitrary points, come out whole and in order.
    #[test]
    fn deframer_any_split(ms in proptest::collection::vec(any_message(), 1..6), cuts in proptest::collection::vec(1usize..50, 1..40)) {
        let mut stream = Vec::new();
        for m in &ms { m.emit(&mut stream); }
        let mut d = Deframer::new();
        let mut out = Vec::new();
        let mut at = 0;
        let mut ci = 0;
        while at < stream.len() {
            let n = cuts[ci % cuts.len()].min(stream.len() - at);
            ci += 1;
            d.push(&stream[at..at + n]);
            at += n;
            while let Some(m) = d.next_message().unwrap() { out.push(m); }
        }
        prop_assert_eq!(out, ms);
    }
}

/// Known answer: an Echo-Reply for identifier 0x01020304, result OK, built by hand from
/// RFC 2637 s2.6.
#[test]
fn echo_reply_known_answer() {
    let m = Message::EchoReply {
        identifier: 0x0102_0304,
        result_code: 1,
        error_code: 0,
    };
    assert_eq!(
        hex::encode(m.to_vec()),
        "001400011a2b3c4d000600000102030401000000"
    );
    // Stop-Control-Connection-Request, reason 1 (general request), s2.3
    assert_eq!(
        hex::encode(Message::StopControlConnectionRequest { reason: 1 }.to_vec()),
        "001000011a2b3c4d0003000001000000"
    );
}

mod gre {
    use pptp::data::{GreChannel, RxVerdict};
    use pptp::wire::EnhancedGreRepr;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    proptest! {
        /// Any mix of sends and received headers: nothing panics, the accepted sequence
        /// numbers strictly increase (serial arithmetic), at most `window` packets are ever
        /// unacknowledged, and every acknowledgment taken is for something sent.
        #[test]
        fn gre_channel_invariants(
            window in 1u16..8,
            start in any::<u32>(),
            ops in proptest::collection::vec((any::<bool>(), any::<u32>(), proptest::option::of(any::<u32>()), 0u64..300), 0..200)
        ) {
            let t0 = Instant::now();
            let mut c = GreChannel::new(t0, 1, window, Duration::from_millis(100), Duration::from_secs(1));
            let mut now = t0;
            let mut last: Option<u32> = None;
            for (send, seq, ack, dt) in ops {
                now += Duration::from_millis(dt);
                if send {
                    let _ = c.next_header(now, 10);
                    prop_assert!(c.outstanding() <= u32::from(window));
                } else {
                    // sequence numbers near `start`, so that some are in order
                    let h = EnhancedGreRepr {
                        payload_len: 0,
                        call_id: 1,
                        sequence: Some(start.wrapping_add(seq % 64)),
                        ack: ack.map(|a| a % 16),
                    };
                    if let RxVerdict::Accept = c.handle_header(now, &h) {
                        let s = h.sequence.unwrap();
                        if let Some(l) = last {
                            prop_assert!((s.wrapping_sub(l) as i32) > 0);
                        }
                        last = Some(s);
                        if let Some(a) = h.ack {
                            prop_assert!(a < c.next_seq());
                        }
                    }
                }
                let _ = c.poll_ack(now);
            }
        }
    }
}
