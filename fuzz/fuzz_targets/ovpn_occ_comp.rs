#![no_main]
//! OCC message parser and the compression-framing decoder on decrypted data-channel
//! payloads: never panic; whatever parses re-emits to the same bytes' message, and every
//! framing round-trips.
use libfuzzer_sys::fuzz_target;
use ovpn::data::Compression;
use ovpn::occ::OccMessage;

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(m)) = OccMessage::parse(data) {
        let mut out = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut out).expect("buffer_len is enough");
        assert_eq!(OccMessage::parse(&out[..n]).map(|r| r.ok()), Some(Some(m)));
    }
    for c in [
        Compression::None,
        Compression::LzoNo,
        Compression::Stub,
        Compression::StubV2,
    ] {
        let mut b = data.to_vec();
        let _ = c.unframe(&mut b, data.len());
        let mut framed = vec![0u8; data.len() + c.overhead()];
        let n = c.frame(data, &mut framed).expect("overhead is enough");
        let m = c.unframe(&mut framed, n).expect("own framing");
        assert_eq!(&framed[..m], data);
    }
});
