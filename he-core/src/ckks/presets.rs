//! CKKS parameter presets, as data: the one table the builder, the CLI and
//! error messages read.

use std::sync::Arc;

use crate::ckks::{Parameters, ParametersBuilder};
use crate::{Backend, Error, SecurityLevel};

/// A named CKKS parameter set (64-bit words, automatic digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The ring degree `N` (`N/2` slots).
    pub degree: usize,
    /// Rescales available: levels of scale-sized primes above the base.
    pub depth: usize,
    /// `log2` of the default scale (the size of each level's prime).
    pub scale_bits: u32,
    /// Bits of the base prime that holds the final result.
    pub base_bits: u32,
    /// Number of special (key-switching) primes.
    pub special_count: usize,
    /// Bits of each special prime.
    pub special_bits: u32,
    /// The security level the parameters meet (checked when built).
    pub security: SecurityLevel,
}

const fn preset(degree: usize, depth: usize, special_count: usize, special_bits: u32) -> Preset {
    Preset {
        degree,
        depth,
        scale_bits: 40,
        base_bits: 60,
        special_count,
        special_bits,
        security: SecurityLevel::Bits128,
    }
}

/// The 128-bit presets, scale 2^40, base prime 60 bits:
///
/// | n | depth | special primes | digits | log QP |
/// |---|---|---|---|---|
/// | 2^13 | 2 | 1 × 60 | 3 | 200 |
/// | 2^14 | 6 | 2 × 50 | 4 | 400 (SEAL's Q `[60, 40×6]`) |
/// | 2^15 | 16 | 3 × 60 | 5 | 880 |
/// | 2^16 | 20 | 6 × 60 | 3 | 1220 |
///
/// At 2^14 two 50-bit special primes (instead of SEAL's one 60-bit prime)
/// let the scale primes pair up into digits and keep every special-prime
/// NTT on the fast f64 path: 29 instead of 49 ModUp NTTs per key switch.
pub const PRESETS: &[Preset] = &[
    preset(8192, 2, 1, 60),
    preset(16384, 6, 2, 50),
    preset(32768, 16, 3, 60),
    preset(65536, 20, 6, 60),
];

impl Preset {
    /// The preset of degree `n`, or an error listing the degrees there are.
    pub fn for_degree(n: usize) -> Result<&'static Preset, Error> {
        PRESETS.iter().find(|p| p.degree == n).ok_or_else(|| {
            Error::InvalidParameters(format!(
                "no CKKS preset for n = {n}: use one of {}",
                degrees()
            ))
        })
    }

    /// The parameters, on the CPU backend.
    pub fn build(&self) -> Result<Arc<Parameters>, Error> {
        self.builder().build()
    }

    /// The parameters, on `backend`.
    pub fn build_on(&self, backend: Arc<dyn Backend>) -> Result<Arc<Parameters>, Error> {
        self.builder().backend(backend).build()
    }

    /// A builder holding the preset's settings (change any before building).
    pub fn builder(&self) -> ParametersBuilder {
        Parameters::builder()
            .degree(self.degree)
            .depth(self.depth)
            .scale_bits(self.scale_bits)
            .base_bits(self.base_bits)
            .special_primes(self.special_count, self.special_bits)
            .security(self.security)
    }
}

/// The preset degrees, for messages: `"8192, 16384, 32768 or 65536"`.
pub fn degrees() -> String {
    crate::bfv::presets::list(PRESETS.iter().map(|p| p.degree))
}
