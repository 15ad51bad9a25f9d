//! Typed errors of hefty-ntt.

use thiserror::Error;

/// Everything that can go wrong when building moduli, primes or NTT plans.
///
/// Each message says what was wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The modulus is outside the supported word range.
    #[error(
        "modulus {0} is out of range: hefty-ntt needs 2 <= p < 2^62 (lazy butterflies keep values below 4p)"
    )]
    ModulusOutOfRange(u64),
    /// The ring degree is not a supported power of two.
    #[error("ring degree {0} is not supported: use a power of two from 2 to 2^17")]
    BadDegree(usize),
    /// The modulus is not prime.
    #[error("modulus {0} is not prime: an NTT needs a prime modulus (see ntt_primes)")]
    NotPrime(u64),
    /// The prime has no primitive 2n-th root of unity.
    #[error(
        "prime {p} is not NTT-friendly for n = {n}: it needs p = 1 (mod 2n = {two_n}); generate one with ntt_primes(bits, n, count)"
    )]
    NotNttFriendly {
        /// The prime.
        p: u64,
        /// The ring degree.
        n: usize,
        /// 2n, the order of the root the negacyclic NTT needs.
        two_n: u64,
    },
    /// A slice handed to a transform has the wrong length.
    #[error(
        "slice has {got} coefficients but the plan transforms {expected}: pass exactly n (or n times the limb count for RNS buffers)"
    )]
    WrongLength {
        /// Expected length.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// Not enough primes of the requested shape exist.
    #[error(
        "only {found} primes below 2^{bits} are congruent to 1 mod {two_n}, {wanted} were asked for: use more bits or a smaller n"
    )]
    NotEnoughPrimes {
        /// Requested bit size.
        bits: u32,
        /// 2n.
        two_n: u64,
        /// How many were asked for.
        wanted: usize,
        /// How many exist.
        found: usize,
    },
    /// More primes asked for than one call searches for.
    #[error(
        "{wanted} primes were asked for; at most {max} are found per call (parameters use at most 64)"
    )]
    TooManyPrimes {
        /// How many were asked for.
        wanted: usize,
        /// The bound ([`MAX_PRIME_COUNT`](crate::MAX_PRIME_COUNT)).
        max: usize,
    },
    /// The requested bit size cannot be served.
    #[error("prime size of {0} bits is not supported: ask for 10 to 62 bits")]
    BadPrimeBits(u32),
    /// A forced kernel path cannot run here or for this prime.
    #[error("NTT path {path} cannot run: {reason}")]
    PathUnavailable {
        /// The path asked for.
        path: &'static str,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A row of a layer names an input that was not given.
    #[error(
        "a layer row reads input {index}, but only {inputs} inputs were given: index the inputs slice"
    )]
    NoSuchInput {
        /// The index named.
        index: usize,
        /// How many inputs there are.
        inputs: usize,
    },
    /// An RNS plan was given no limbs, or limbs of different degrees.
    #[error("RNS NTT needs at least one prime and one common degree: {0}")]
    BadRnsBasis(&'static str),
}
