#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Known-answer tests of the codecs, written from the field layouts of RFC 2516 s4/App. A
//! and RFC 4638 s4.

use pppoe::wire::{
    self, tag, Code, Discovery, Frame, TypedTag, VlanStack, VlanTag, WireError, BROADCAST,
};

const HOST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const AC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

#[test]
fn padi_bytes() {
    let padi = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, b"")
        .with(tag::HOST_UNIQ, [0xde, 0xad, 0xbe, 0xef]);
    let f = padi.emit(BROADCAST, HOST, &VlanStack::NONE).unwrap();
    let want = hex::decode(concat!(
        "ffffffffffff",
        "020000000001",
        "8863", // Ethernet
        "11",
        "09",
        "0000",
        "000c", // VER/TYPE, PADI, session 0, LENGTH 12
        "0101",
        "0000", // Service-Name, empty
        "0103",
        "0004",
        "deadbeef", // Host-Uniq
    ))
    .unwrap();
    assert_eq!(f, want);
    let p = Frame::parse(&f).unwrap();
    assert_eq!(p.code, Code::PADI);
    assert_eq!(Discovery::from_frame(&p).unwrap(), padi);
}

#[test]
fn pads_and_padt_bytes_with_qinq() {
    let pads = Discovery::new(Code::PADS, 0x1234).with(tag::SERVICE_NAME, b"isp");
    let v = VlanStack::qinq(10, 100);
    let f = pads.emit(HOST, AC, &v).unwrap();
    let want = hex::decode(concat!(
        "020000000001",
        "020000000002",
        "88a8000a",
        "81000064",
        "8863",
        "1165",
        "1234",
        "0007",
        "0101",
        "0003",
        "697370",
    ))
    .unwrap();
    assert_eq!(f, want);
    let p = Frame::parse(&f).unwrap();
    assert_eq!(p.vlans, v);
    assert_eq!(p.vlans.inner_vid(), Some(100));
    assert_eq!(p.vlans.tags()[0], VlanTag::dot1ad(10));
    let padt = Discovery::new(Code::PADT, 0x1234).with(tag::GENERIC_ERROR, b"bye");
    let f = padt.emit(AC, HOST, &VlanStack::NONE).unwrap();
    assert_eq!(&f[14..20], &[0x11, 0xa7, 0x12, 0x34, 0x00, 0x07]);
}

#[test]
fn session_header_bytes() {
    let mut out = [0u8; 64];
    let n = wire::emit_header(
        &mut out,
        AC,
        HOST,
        &VlanStack::dot1q(7),
        wire::ETHERTYPE_SESSION,
        Code::SESSION,
        0x0001,
        4,
    )
    .unwrap();
    assert_eq!(n, 24);
    assert_eq!(
        hex::encode(&out[..n]),
        "02000000000202000000000181000007886411000001 0004".replace(' ', "")
    );
    out[n..n + 4].copy_from_slice(&[0xc0, 0x21, 0x09, 0x01]);
    let f = Frame::parse(&out[..n + 4]).unwrap();
    assert_eq!(f.payload, &[0xc0, 0x21, 0x09, 0x01]);
    // Too small: an error naming the size, nothing written.
    let mut small = [0xaau8; 10];
    assert_eq!(
        wire::emit_header(
            &mut small,
            AC,
            HOST,
            &VlanStack::NONE,
            wire::ETHERTYPE_SESSION,
            Code::SESSION,
            1,
            0
        ),
        Err(WireError::BufferTooSmall { need: 20, have: 10 })
    );
    assert_eq!(small, [0xaa; 10]);
}

#[test]
fn every_tag_typed() {
    let cases: Vec<(u16, Vec<u8>, TypedTag<'static>)> = vec![
        (tag::END_OF_LIST, vec![], TypedTag::EndOfList),
        (
            tag::SERVICE_NAME,
            b"s".to_vec(),
            TypedTag::ServiceName(b"s"),
        ),
        (tag::AC_NAME, b"ac".to_vec(), TypedTag::AcName(b"ac")),
        (tag::HOST_UNIQ, vec![1], TypedTag::HostUniq(&[1])),
        (tag::AC_COOKIE, vec![2], TypedTag::AcCookie(&[2])),
        (
            tag::VENDOR_SPECIFIC,
            vec![0, 0, 0x0d, 0xe9, 9],
            TypedTag::VendorSpecific {
                vendor_id: 3561,
                data: &[9],
            },
        ),
        (
            tag::RELAY_SESSION_ID,
            vec![3],
            TypedTag::RelaySessionId(&[3]),
        ),
        (
            tag::PPP_MAX_PAYLOAD,
            vec![0x05, 0xdc],
            TypedTag::PppMaxPayload(1500),
        ),
        (
            tag::SERVICE_NAME_ERROR,
            b"x".to_vec(),
            TypedTag::ServiceNameError(b"x"),
        ),
        (
            tag::AC_SYSTEM_ERROR,
            b"y".to_vec(),
            TypedTag::AcSystemError(b"y"),
        ),
        (
            tag::GENERIC_ERROR,
            b"z".to_vec(),
            TypedTag::GenericError(b"z"),
        ),
        (
            0x7777,
            vec![4],
            TypedTag::Unknown {
                tag_type: 0x7777,
                value: &[4],
            },
        ),
    ];
    let mut d = Discovery::new(Code::PADO, 0);
    for (t, v, want) in &cases {
        let typed = TypedTag::parse(*t, v).unwrap();
        assert_eq!(typed, *want);
        assert_eq!(typed.to_tag().value, *v);
        if *t != tag::END_OF_LIST {
            d.tags.push(typed.to_tag());
        }
    }
    let f = d.emit(HOST, AC, &VlanStack::NONE).unwrap();
    let back = Discovery::from_frame(&Frame::parse(&f).unwrap()).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.ppp_max_payload(), Some(1500));
    assert_eq!(back.error(), Some((tag::SERVICE_NAME_ERROR, &b"x"[..])));
    // Bad values are typed errors.
    assert!(matches!(
        TypedTag::parse(tag::PPP_MAX_PAYLOAD, &[1]),
        Err(WireError::TagValue { .. })
    ));
    assert!(matches!(
        TypedTag::parse(tag::VENDOR_SPECIFIC, &[1, 2]),
        Err(WireError::TagValue { .. })
    ));
}

#[test]
fn end_of_list_keeps_the_trailer() {
    let payload = [0x01, 0x01, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb];
    let d = Discovery::parse(Code::PADI, 0, &payload).unwrap();
    assert_eq!(d.tags.len(), 2);
    assert_eq!(d.trailer, [0xaa, 0xbb]);
    let mut out = Vec::new();
    d.emit_payload(&mut out).unwrap();
    assert_eq!(out, payload);
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert!(matches!(
        Frame::parse(&[0; 10]),
        Err(WireError::Truncated { .. })
    ));
    let mut f = Discovery::new(Code::PADI, 0)
        .with(tag::SERVICE_NAME, b"")
        .emit(BROADCAST, HOST, &VlanStack::NONE)
        .unwrap();
    f[14] = 0x21;
    assert_eq!(Frame::parse(&f), Err(WireError::VerType(0x21)));
    f[14] = 0x11;
    f[19] = 0x40; // LENGTH 64 > 4
    assert!(matches!(
        Frame::parse(&f),
        Err(WireError::Length {
            length: 64,
            have: 4
        })
    ));
    f[19] = 4;
    f[23] = 9; // tag length 9 > 0 left
    let p = Frame::parse(&f).unwrap();
    assert!(matches!(
        Discovery::from_frame(&p),
        Err(WireError::TagOverrun {
            tag_type: 0x0101,
            offset: 0,
            length: 9,
            have: 0
        })
    ));
    f[12] = 0x08;
    f[13] = 0x00;
    assert_eq!(Frame::parse(&f), Err(WireError::EtherType(0x0800)));
    // A session CODE on the discovery EtherType.
    let mut g = Discovery::new(Code::SESSION, 1)
        .emit(AC, HOST, &VlanStack::NONE)
        .unwrap();
    assert!(matches!(
        Frame::parse(&g),
        Err(WireError::CodeMismatch { .. })
    ));
    g[13] = 0x64;
    assert!(Frame::parse(&g).is_ok());
    // Three VLAN tags.
    let mut h = vec![0u8; 12];
    for _ in 0..3 {
        h.extend_from_slice(&[0x81, 0, 0, 1]);
    }
    h.extend_from_slice(&[0x88, 0x63, 0x11, 0x09, 0, 0, 0, 0]);
    assert_eq!(Frame::parse(&h), Err(WireError::TooManyVlanTags));
}
