//! VL2: virtual Ethernet networks on top of VL1 (see the crate docs for the overview).

pub mod com;
pub mod derive;
pub mod dictionary;
pub mod netconf;

pub use com::{CertificateOfMembership, ComError, Qualifier};
pub use dictionary::{DictError, DictLimits, Dictionary};
pub use netconf::{Dns, IpPrefix, NetworkConfig, NetworkType, Route, Rule, RuleKind};
