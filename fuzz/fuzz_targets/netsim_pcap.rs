//! The pcap reader the tests use to load real-peer captures: never panics, and what it reads
//! re-serialises to a file it reads back identically.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((linktype, frames)) = netsim::pcap::parse(data) {
        let img = netsim::pcap::to_bytes(linktype, &frames);
        let again = netsim::pcap::parse(&img).map(|(l, f)| {
            (
                l,
                f.into_iter()
                    .map(|(t, d)| (t.as_micros(), d))
                    .collect::<Vec<_>>(),
            )
        });
        let trunc = frames
            .into_iter()
            .map(|(t, d)| {
                (
                    (t.as_secs() as u32 as u128) * 1_000_000 + t.subsec_micros() as u128,
                    d,
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(again, Some((linktype, trunc)));
    }
});
