#![no_main]
//! OCC message parser, the compression-framing decoder and fragment reassembly on
//! decrypted data-channel payloads: never panic; whatever parses re-emits to the same
//! message, and every framing round-trips.
use libfuzzer_sys::fuzz_target;
use ovpn::data::Compression;
use ovpn::fragment::{FragHeader, Reassembler};
use ovpn::occ::OccMessage;

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(m)) = OccMessage::parse(data) {
        let mut out = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut out).expect("buffer_len is enough");
        assert_eq!(OccMessage::parse(&out[..n]).map(|r| r.ok()), Some(Some(m)));
    }
    // The input as a stream of fragments: [len u8 | header + data] records.
    let mut r = Reassembler::new(4096);
    let mut out = vec![0u8; 4096];
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let (rec, next) = tail.split_at(usize::from(n).min(tail.len()));
        if let Ok((h, body)) = FragHeader::parse(rec) {
            assert_eq!(FragHeader::parse(&h.to_bytes()).map(|x| x.0).ok(), Some(h));
            let _ = r.push(&h, body, &mut out);
        }
        rest = next;
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
