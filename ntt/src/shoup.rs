//! A multiplier with its Shoup quotient precomputed.

/// A constant `w < p` together with `floor(w * 2^64 / p)`.
///
/// Multiplying by it ([`crate::Modulus::mul_shoup`]) costs two
/// multiplications and no division: the quotient estimate comes from the
/// precomputed value. Used for NTT twiddles and any constant reused many times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShoupConst {
    /// The constant itself, in `[0, p)`.
    pub value: u64,
    /// `floor(value * 2^64 / p)`.
    pub quotient: u64,
}
