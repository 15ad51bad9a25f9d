//! What BFV and CKKS share above the ring: the secret polynomial, the key
//! types and their generation, hybrid key switching (ModUp → key inner
//! product → ModDown, written once) and the evaluator plumbing (operand
//! checks, HOP counting).
//!
//! Nothing here names a scheme: a scheme plugs in through
//! [`RlweParameters`], and its modules give the generic types their
//! scheme's names (`bfv::SecretKey`, `ckks::SecretKey`, …).

pub(crate) mod hops;
pub(crate) mod keyswitch;
pub(crate) mod secret;

pub use hops::{Hop, HopCounter, HopCounts, HopScope, HopTable};
pub use keyswitch::{Decomposition, KeySwitcher, SwitchingKey};
