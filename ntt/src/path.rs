//! Which kernel implementation a plan runs, chosen at run time.

use std::fmt;

use crate::Error;

/// A kernel implementation of the NTT.
///
/// [`NttPath::best_for`] picks the fastest verified one this CPU can run for a
/// prime; [`crate::NttPlan::with_path`] forces one (for tests and comparisons),
/// and the environment variable `HEFTY_NTT_PATH=<name>` (e.g. `scalar`) makes
/// [`NttPath::best_for`] choose that path wherever it can run.
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
    /// AVX-512 IFMA on eight 52-bit lanes, for primes below 2^50: Shoup
    /// products in three `vpmadd52` instructions, every stage (the last
    /// three by in-register permutes); fully reduced results are
    /// bit-identical to the scalar path (lazy ones congruent). The fastest
    /// path where the CPU has it (2.4× AVX2-FMA forward at n = 8192 on a
    /// Zen 4 EPYC, docs/BENCHMARKS.md).
    Avx512Ifma,
}

impl NttPath {
    /// Every path, portable first.
    pub const ALL: [NttPath; 4] = [
        NttPath::Scalar,
        NttPath::Avx2Fma,
        NttPath::Avx2,
        NttPath::Avx512Ifma,
    ];

    /// A short stable name (`scalar`, `avx2-fma`, `avx2`, `avx512-ifma`), as printed in benchmark tables.
    pub fn name(self) -> &'static str {
        match self {
            NttPath::Scalar => "scalar",
            NttPath::Avx2Fma => "avx2-fma",
            NttPath::Avx2 => "avx2",
            NttPath::Avx512Ifma => "avx512-ifma",
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
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx512Ifma => {
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            NttPath::Avx2Fma | NttPath::Avx2 | NttPath::Avx512Ifma => false,
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
            NttPath::Avx512Ifma if !self.cpu_supports() => Err(Error::PathUnavailable {
                path: name,
                reason: "this CPU lacks AVX-512F or AVX-512 IFMA",
            }),
            NttPath::Avx512Ifma if p >= 1 << 50 => Err(Error::PathUnavailable {
                path: name,
                reason: "52-bit lanes need a prime below 2^50",
            }),
            NttPath::Avx2Fma | NttPath::Avx2 | NttPath::Avx512Ifma if n < 16 => {
                Err(Error::PathUnavailable {
                    path: name,
                    reason: "vector kernels need n >= 16",
                })
            }
            NttPath::Avx2Fma | NttPath::Avx2 | NttPath::Avx512Ifma => Ok(()),
        }
    }

    /// Whether the path has run, and passed the test suite against the scalar
    /// path, on hardware with the instructions it needs. [`Self::best_for`]
    /// never picks an unverified path on its own; `HEFTY_NTT_PATH` or
    /// [`crate::NttPlan::with_path`] can still select it, and the tests
    /// exercise it wherever the CPU supports it. Every path has now run
    /// there (AVX-512 IFMA since 2026-12-02, on a Zen 4 EPYC).
    pub fn is_verified(self) -> bool {
        true
    }

    /// The fastest verified path for `n` points mod `p` on this CPU, unless
    /// `HEFTY_NTT_PATH=<name>` names a path that can run them.
    pub fn best_for(n: usize, p: u64) -> NttPath {
        let forced = std::env::var("HEFTY_NTT_PATH")
            .ok()
            .and_then(|name| Self::from_name(&name));
        if let Some(path) = forced.filter(|path| path.check(n, p).is_ok()) {
            return path;
        }
        // Fastest first, as measured (docs/BENCHMARKS.md).
        [NttPath::Avx512Ifma, NttPath::Avx2Fma, NttPath::Avx2]
            .into_iter()
            .find(|path| path.is_verified() && path.check(n, p).is_ok())
            .unwrap_or(NttPath::Scalar)
    }
}

/// Whether `HEFTY_NTT_PATH=scalar` forces portable code (read once per process).
pub(crate) fn scalar_forced() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var("HEFTY_NTT_PATH").is_ok_and(|v| v == "scalar"))
}

impl fmt::Display for NttPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
