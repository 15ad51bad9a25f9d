//! CKKS parameter presets, as data: the one table the builder, the CLI and
//! error messages read.

use std::sync::Arc;

use crate::ckks::{Parameters, ParametersBuilder};
use crate::ring::Word;
use crate::{Backend, Error, SecurityLevel};

/// A named CKKS parameter set (automatic digits).
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
    /// The word profile: [`Word::W64`] (one prime per level), or
    /// [`Word::W32`] (two primes below 2^31 per level, for 32-bit-word
    /// devices such as the wgpu backend).
    pub word: Word,
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
        word: Word::W64,
    }
}

const fn preset_w32(degree: usize, depth: usize, scale_bits: u32, special_count: usize) -> Preset {
    Preset {
        degree,
        depth,
        scale_bits,
        // 20 bits above the scale for the result's integer part, as W64's 60 over 40.
        base_bits: scale_bits + 20,
        special_count,
        special_bits: 31,
        security: SecurityLevel::Bits128,
        word: Word::W32,
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

/// The 128-bit W32 presets: each level's scale split over two primes below
/// 2^31, a base 20 bits above the scale, 31-bit special primes. The scale is as
/// large as the ring has NTT-friendly primes of half its size for (primes
/// `= 1 mod 2n` thin out below 2^25 at large n):
///
/// | n | depth | scale | base | special primes | log QP |
/// |---|---|---|---|---|---|
/// | 2^13 | 2 | 2^44 (2 × 22 bits) | 64 bits | 2 × 31 | 216 |
/// | 2^14 | 6 | 2^46 (2 × 23 bits) | 66 bits | 3 × 31 | 434 |
/// | 2^16 | 20 | 2^60 (2 × 30 bits) | 80 bits | 6 × 31 | 1467 |
pub const PRESETS_W32: &[Preset] = &[
    preset_w32(8192, 2, 44, 2),
    preset_w32(16384, 6, 46, 3),
    preset_w32(65536, 20, 60, 6),
];

impl Preset {
    /// The preset of degree `n`, or an error listing the degrees there are.
    pub fn for_degree(n: usize) -> Result<&'static Preset, Error> {
        Self::for_degree_word(n, Word::W64)
    }

    /// The preset of degree `n` and word profile `word` ([`PRESETS`] or
    /// [`PRESETS_W32`]), or an error listing the degrees there are.
    pub fn for_degree_word(n: usize, word: Word) -> Result<&'static Preset, Error> {
        let table = match word {
            Word::W64 => PRESETS,
            Word::W32 => PRESETS_W32,
        };
        table.iter().find(|p| p.degree == n).ok_or_else(|| {
            Error::InvalidParameters(format!(
                "no CKKS preset for n = {n}{}: use one of {}",
                match word {
                    Word::W64 => "",
                    Word::W32 => " with w32 words",
                },
                crate::bfv::presets::list(table.iter().map(|p| p.degree))
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
            .word(self.word)
    }
}

/// The preset degrees, for messages: `"8192, 16384, 32768 or 65536"`.
pub fn degrees() -> String {
    crate::bfv::presets::list(PRESETS.iter().map(|p| p.degree))
}
