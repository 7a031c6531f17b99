//! ZeroTier VL2 request paths: a NETWORK_CONFIG_REQUEST (and its metadata dictionary) reaching
//! the controller, and a NETWORK_CONFIG chunk reaching a member's assembler. Never panic; the
//! controller answers NotFound for networks it does not run; a member never accepts a chunk
//! that the controller did not sign.
#![no_main]

use std::sync::OnceLock;

use zerotier::vl2::{ConfigAnswer, ConfigAssembler, Controller, Dictionary, NetworkSettings};
use zerotier::wire::verbs::{NetworkConfigChunk, NetworkConfigRequest};
use zerotier::{Identity, NetworkId};

const KNOWN_GOOD: &str = "8e4df28b72:0:ac3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7:bd8dd6e4ce7022d2f812797a80c6ee8ad180dc4ebf301dec8b06d1be08832bddd63a2f1cfa7b2c504474c75bdc8898ba476ef92e8e2d0509f8441985171ff16e";

fn id() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| Identity::from_file_contents(KNOWN_GOOD).expect("valid identity"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(req) = NetworkConfigRequest::parse(data) {
        let _ = Dictionary::parse(&req.metadata);
        let mut ctl = Controller::new(id().clone());
        let ours = ctl.set_network(1, NetworkSettings::default());
        let ans = ctl.handle_config_request(0, 1, &id().public_only(), req.network_id);
        if req.network_id != ours {
            assert_eq!(ans, ConfigAnswer::NotFound);
        }
        assert!(ctl.networks[&ours].members.len() <= 1);
    }
    if let Ok(chunk) = NetworkConfigChunk::parse(data) {
        let nwid = NetworkId((id().address().to_u64() << 24) | 1);
        let mut asm = ConfigAssembler::new(id().public_only(), id().clone(), nwid);
        assert!(asm.handle_chunk(&chunk).is_err());
    }
});
