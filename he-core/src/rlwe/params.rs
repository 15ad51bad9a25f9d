//! How a scheme's parameters plug into the shared RLWE layer.

use std::fmt;
use std::sync::Arc;

use crate::Error;
use crate::ring::RnsBasis;
use crate::rlwe::KeySwitcher;
use crate::serial::{FINGERPRINT_LEN, ObjectKind};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::bfv::Parameters {}
    impl Sealed for crate::ckks::Parameters {}
}

/// What the generic key types, key generation and the evaluator plumbing of
/// [`crate::rlwe`] need from a scheme's parameters. Implemented by
/// [`bfv::Parameters`](crate::bfv::Parameters) and
/// [`ckks::Parameters`](crate::ckks::Parameters) only (sealed).
pub trait RlweParameters: fmt::Debug + Send + Sync + Sized + 'static + sealed::Sealed {
    /// `"bfv"` or `"ckks"`: the module that names this scheme's types.
    const SCHEME: &'static str;
    /// Whether public keys extend to the special primes `P`, so that
    /// public-key encryption runs modulo `Q·P` and divides its noise by `P`
    /// (CKKS, as SEAL does); BFV's are modulo `Q` only.
    const PUBLIC_KEY_MOD_P: bool;
    /// The serialized kinds of this scheme's secret, public,
    /// relinearization and Galois keys (in that order).
    #[doc(hidden)]
    const KEY_KINDS: [ObjectKind; 4];

    /// The ring degree `n`.
    fn degree(&self) -> usize;
    /// The ciphertext basis `Q` (its full chain).
    fn ciphertext_basis(&self) -> &Arc<RnsBasis>;
    /// The hybrid key switcher; fails when the parameters have no special
    /// primes (and so no relinearization or Galois keys).
    fn key_switching(&self) -> Result<&KeySwitcher, Error>;
    /// The 16-byte identity of the mathematics every serialized object carries.
    fn fingerprint(&self) -> &[u8; FINGERPRINT_LEN];
}

/// Whether `a` and `b` describe the same mathematics on the same backend:
/// the same object, or equal fingerprints (built from one preset, decoded
/// from one set of bytes) and one backend instance.
pub(crate) fn same_params<P: RlweParameters>(a: &P, b: &P) -> bool {
    std::ptr::eq(a, b)
        || (a.fingerprint() == b.fingerprint()
            && crate::backend::same_backend(a.ciphertext_basis(), b.ciphertext_basis()))
}

/// Fails with [`Error::ParameterMismatch`] unless `a` and `b` are the same
/// parameters by value ([`same_params`]): operands are refused only when
/// the mathematics differs.
pub(crate) fn check_same_params<P: RlweParameters>(a: &Arc<P>, b: &Arc<P>) -> Result<(), Error> {
    if same_params(a.as_ref(), b.as_ref()) {
        Ok(())
    } else {
        Err(Error::ParameterMismatch)
    }
}
