//! Which kernel implementation a plan runs, chosen at run time.

use std::fmt;

use crate::Error;

/// A kernel implementation of the NTT.
///
/// [`NttPath::best_for`] picks the fastest one this CPU can run for a prime;
/// [`crate::NttPlan::with_path`] forces one (for tests and comparisons), and the
/// environment variable `HEFTY_NTT_PATH=scalar` forces the portable path for
/// every plan built afterwards in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NttPath {
    /// Portable 64-bit code: Harvey lazy butterflies with Shoup twiddles.
    Scalar,
    /// AVX2 + FMA on four `f64` lanes, for primes below 2^50. Products are
    /// exact: `fma` recovers the rounding error of each 100-bit product.
    Avx2Fma,
    /// AVX2 on four `u64` lanes for any prime below 2^62: Shoup products built
    /// from 32×32-bit multiplies, bit-identical to the scalar path.
    Avx2,
}

impl NttPath {
    /// Every path, portable first.
    pub const ALL: [NttPath; 3] = [NttPath::Scalar, NttPath::Avx2Fma, NttPath::Avx2];

    /// A short stable name (`scalar`, `avx2-fma`, `avx2`), as printed in benchmark tables.
    pub fn name(self) -> &'static str {
        match self {
            NttPath::Scalar => "scalar",
            NttPath::Avx2Fma => "avx2-fma",
            NttPath::Avx2 => "avx2",
        }
    }

    /// Parses a [`Self::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this CPU has the instructions the path needs.
    pub fn cpu_supports(self) -> bool {
        match self {
            NttPath::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            NttPath::Avx2Fma | NttPath::Avx2 => false,
        }
    }

    /// Checks that the path can transform `n` points mod `p` on this CPU.
    pub fn check(self, n: usize, p: u64) -> Result<(), Error> {
        let name = self.name();
        match self {
            NttPath::Scalar => Ok(()),
            NttPath::Avx2Fma if !self.cpu_supports() => Err(Error::PathUnavailable {
                path: name,
                reason: "this CPU lacks AVX2 or FMA",
            }),
            NttPath::Avx2Fma if p >= 1 << 50 => Err(Error::PathUnavailable {
                path: name,
                reason: "the f64 kernel needs a prime below 2^50",
            }),
            NttPath::Avx2 if !self.cpu_supports() => Err(Error::PathUnavailable {
                path: name,
                reason: "this CPU lacks AVX2",
            }),
            NttPath::Avx2Fma | NttPath::Avx2 if n < 16 => Err(Error::PathUnavailable {
                path: name,
                reason: "vector kernels need n >= 16",
            }),
            NttPath::Avx2Fma | NttPath::Avx2 => Ok(()),
        }
    }

    /// The fastest path for `n` points mod `p` on this CPU, unless
    /// `HEFTY_NTT_PATH=scalar` asks for the portable one.
    pub fn best_for(n: usize, p: u64) -> NttPath {
        if std::env::var("HEFTY_NTT_PATH").is_ok_and(|v| v == "scalar") {
            return NttPath::Scalar;
        }
        [NttPath::Avx2Fma, NttPath::Avx2]
            .into_iter()
            .find(|path| path.check(n, p).is_ok())
            .unwrap_or(NttPath::Scalar)
    }
}

impl fmt::Display for NttPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
