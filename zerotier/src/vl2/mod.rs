//! VL2: virtual Ethernet networks on top of VL1 (see the crate docs for the overview).

pub mod dictionary;

pub use dictionary::{DictError, DictLimits, Dictionary};
