//! The RNS ring `Z_Q[x]/(x^n + 1)`: bases of NTT primes, polynomials and
//! their form, Galois maps, base conversion, exact lifts, rounding division,
//! BFV's scale-and-round constants and sampling.
//!
//! Nothing here names a scheme: BFV and CKKS (and the key switching they
//! share, in [`crate::rlwe`]) are written on top of these types. Every
//! constant table here (base conversion, exact lift, rounding division,
//! scale-and-round) is built once by its parameters, so a
//! device backend can cache its copy.

pub(crate) mod base_conv;
pub(crate) mod basis;
pub(crate) mod divide_round;
pub(crate) mod exact_lift;
pub(crate) mod fixed_point;
pub(crate) mod form;
pub(crate) mod galois;
pub(crate) mod poly;
pub(crate) mod sampling;
pub(crate) mod scale_round;
pub(crate) mod small_poly;
pub(crate) mod word;

pub use base_conv::BaseConverter;
pub use basis::RnsBasis;
pub use divide_round::RoundingDivider;
pub use exact_lift::ExactLift;
pub use form::{Coeff, Form, Ntt};
pub use galois::{
    GaloisPermutation, check_galois_element, ntt_galois_permutation, rotation_galois_element,
};
pub use poly::RnsPoly;
pub use sampling::Sampler;
pub use scale_round::ScaleRound;
pub use word::Word;
