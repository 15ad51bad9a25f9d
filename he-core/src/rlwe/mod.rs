//! What BFV and CKKS share above the ring: the secret polynomial, the key
//! types and their generation, hybrid key switching (ModUp → key inner
//! product → ModDown, written once) and the evaluator plumbing (operand
//! checks, HOP counting).
//!
//! Nothing here names a scheme: a scheme plugs in through
//! [`RlweParameters`], and its module gives the generic types its names
//! (`bfv::SecretKey` is `rlwe::SecretKey<bfv::Parameters>`, and so on), as
//! Lattigo's scheme packages do over its `rlwe` package.

pub(crate) mod eval;
pub(crate) mod hops;
pub(crate) mod keys;
pub(crate) mod keyswitch;
pub(crate) mod params;
pub(crate) mod secret;

pub use hops::{Hop, HopCounter, HopCounts, HopScope, HopTable};
pub use keys::{GaloisKeys, PublicKey, RelinearizationKey, SecretKey};
pub use keyswitch::{Decomposition, KeySwitcher, SwitchForm, SwitchingKey};
pub use params::RlweParameters;
pub(crate) use params::{check_same_params, same_params};
