//! ZeroTier certificates of membership and ownership, and tags: the decoders never panic; what decodes re-encodes
//! byte-exact; verification and the agreement rule never panic and a random COM never verifies
//! against a fixed controller identity.
#![no_main]

use std::sync::OnceLock;

use zerotier::vl2::{CertificateOfMembership, CertificateOfOwnership, Tag};
use zerotier::Identity;

fn controller() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    // ZeroTierOne selftest's known-good identity (public part only is needed to verify).
    ID.get_or_init(|| {
        Identity::from_file_contents(
            "8e4df28b72:0:ac3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7",
        )
        .expect("valid identity")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((c, n)) = CertificateOfMembership::parse_prefix(data) {
        assert_eq!(c.to_bytes(), &data[..n]);
        assert!(c.verify(controller()).is_err());
        let _ = c.agrees_with(&c, controller());
        let _ = c.issued_to_identity(controller());
        if let Ok((d, _)) = CertificateOfMembership::parse_prefix(&data[n..]) {
            let _ = c.agrees_with(&d, controller());
        }
    }
    if let Ok(c) = CertificateOfMembership::parse(data) {
        assert_eq!(c.to_bytes(), data);
    }
    // The other credentials: certificates of ownership (a `COO` list) and tags.
    if let Ok((c, n)) = CertificateOfOwnership::parse_prefix(data) {
        let mut b = Vec::new();
        c.emit(&mut b);
        assert_eq!(b, &data[..n]);
        assert!(c.verify(controller()).is_err());
    }
    let _ = CertificateOfOwnership::parse_list(data);
    if let Ok((t, n)) = Tag::parse_prefix(data) {
        let mut b = Vec::new();
        t.emit(&mut b);
        assert_eq!(b, &data[..n]);
        assert!(t.verify(controller()).is_err());
    }
});
