//! The RouterOS `.rsc` parser of the examples (`examples/src/rsc.rs`, compiled in directly so
//! the fuzz build does not pull the whole examples package): never panics, and every command it
//! reads writes back (`to_rsc`) to text that parses to the same command.
#![no_main]

#[allow(dead_code, missing_docs)]
#[path = "../../examples/src/rsc.rs"]
mod rsc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cmds) = rsc::parse(text) {
        for c in cmds {
            let again = rsc::parse(&c.to_rsc()).unwrap_or_default();
            assert_eq!(again.len(), 1, "{}", c.to_rsc());
            let mut a = again[0].clone();
            a.line = c.line;
            assert_eq!(a, c);
        }
    }
});
