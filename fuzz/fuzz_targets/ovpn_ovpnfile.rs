#![no_main]
//! .ovpn parser (and conversion to a client config) on arbitrary text.
use libfuzzer_sys::fuzz_target;
use ovpn::ovpnfile::OvpnFile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = OvpnFile::parse(&text) {
        let _ = f.to_client_config("user", "password");
    }
});
