#![no_main]
//! The HTTP handshake parsers: the server's request parser, the client's response parser and
//! the proxy CONNECT reply parser, on arbitrary bytes; a parsed request re-parses after a
//! split at every position (incremental parsing).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let r = sstp::http::parse_request(data);
    let _ = sstp::http::parse_response(data);
    let _ = sstp::http::parse_connect_response(data);
    if let Ok(Some((req, n))) = r {
        assert!(n <= data.len());
        for cut in 0..n {
            assert_eq!(sstp::http::parse_request(&data[..cut]).ok().flatten(), None);
        }
        let _ = req;
    }
});
