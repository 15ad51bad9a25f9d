//! BFV parameter presets, as data: the one table the builder, the CLI and
//! error messages read.

use std::sync::Arc;

use crate::bfv::{CrtBfv, Parameters};
use crate::ring::Word;
use crate::{Backend, Error, SecurityLevel};

/// A named BFV parameter set: degree, plaintext modulus, prime sizes and
/// the security level the builder checks them against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The ring degree `n`.
    pub degree: usize,
    /// The plaintext modulus `t` (65537 allows batching at every degree).
    pub plaintext_modulus: u64,
    /// Bit sizes of the ciphertext primes.
    pub ciphertext_bits: &'static [u32],
    /// Bit sizes of the special (key-switching) primes.
    pub special_bits: &'static [u32],
    /// The security level the parameters meet (checked when built).
    pub security: SecurityLevel,
    /// Multiplicative depth: how many sequential `multiply_relin` squarings
    /// of a fresh public-key ciphertext still decrypt correctly (measured
    /// with t = 65537; `tests/bfv.rs` checks it at 4096 and 8192). A larger
    /// `t` spends more of the budget per product.
    pub depth: usize,
    /// The word profile: [`Word::W64`], or [`Word::W32`] (every prime below
    /// 2^31, for 32-bit-word devices such as the wgpu backend).
    pub word: Word,
}

/// The 128-bit presets, `log2(QP)` at the HE Standard's bound for each degree.
pub const PRESETS: &[Preset] = &[
    Preset {
        degree: 4096,
        plaintext_modulus: 65537,
        ciphertext_bits: &[36, 36],
        special_bits: &[37],
        security: SecurityLevel::Bits128,
        depth: 1,
        word: Word::W64,
    },
    Preset {
        degree: 8192,
        plaintext_modulus: 65537,
        ciphertext_bits: &[43, 43, 44, 44],
        special_bits: &[44],
        security: SecurityLevel::Bits128,
        depth: 4,
        word: Word::W64,
    },
    Preset {
        degree: 16384,
        plaintext_modulus: 65537,
        ciphertext_bits: &[48, 48, 48, 49, 49, 49, 49, 49],
        special_bits: &[49],
        security: SecurityLevel::Bits128,
        depth: 11,
        word: Word::W64,
    },
    Preset {
        degree: 32768,
        plaintext_modulus: 65537,
        ciphertext_bits: &[55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55, 55],
        special_bits: &[56],
        security: SecurityLevel::Bits128,
        depth: 25,
        word: Word::W64,
    },
];

/// Ciphertext primes for `n = 8192` of the 128-bit preset's sizes (43, 43,
/// 44 and 44 bits, each `≡ 1 (mod 2n)`, none of them the largest 44-bit
/// such prime, which the builder takes as the special prime), chosen so
/// that `Q − 1` has many small odd factors: its odd part below 2^16 is
/// `3·5·59·79·227·811·1699·4019·10867·19597`, 84 bits. Plaintext moduli
/// dividing `Q − 1` ([`crate::bfv::moduli_dividing_q_minus_one`]) then
/// reach products above 2^63 with two moduli below 2^32, and products at
/// the top level skip the auxiliary basis
/// ([`crate::bfv::Parameters::multiplies_in_q`]). Found by trying pairs of
/// the sixteen largest primes of each size.
pub const SMOOTH_8192: &[u64] = &[8796092858369, 8796088877057, 17592183324673, 17592181997569];

/// The 128-bit W32 presets: the same `log2(QP)` budgets in primes below
/// 2^31 (more, smaller primes: one key-switching digit per prime), for
/// backends with 32-bit words.
pub const PRESETS_W32: &[Preset] = &[
    Preset {
        degree: 4096,
        plaintext_modulus: 65537,
        ciphertext_bits: &[27, 27, 27],
        special_bits: &[28],
        security: SecurityLevel::Bits128,
        depth: 1,
        word: Word::W32,
    },
    Preset {
        degree: 8192,
        plaintext_modulus: 65537,
        ciphertext_bits: &[31, 31, 31, 31, 31, 31],
        special_bits: &[31],
        security: SecurityLevel::Bits128,
        depth: 4,
        word: Word::W32,
    },
    Preset {
        degree: 16384,
        plaintext_modulus: 65537,
        ciphertext_bits: &[31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31],
        special_bits: &[31],
        security: SecurityLevel::Bits128,
        depth: 11,
        word: Word::W32,
    },
];

/// A CRT preset: one parameter set per plaintext modulus ([`CrtBfv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrtPreset {
    /// The shared ring degree, prime sizes and security.
    pub base: Preset,
    /// The pairwise coprime plaintext moduli `t_i`.
    pub plaintext_moduli: &'static [u64],
}

/// Faster CryptoNets' MNIST setting: n = 8192, two ~40-bit plaintext moduli.
pub const FASTER_CRYPTONETS: CrtPreset = CrtPreset {
    base: Preset {
        degree: 8192,
        plaintext_modulus: 1_099_511_922_689,
        ciphertext_bits: &[55, 55, 55],
        special_bits: &[53],
        security: SecurityLevel::Bits128,
        // Measured with a constant plaintext: CryptoNets' two squarings fit.
        depth: 2,
        word: Word::W64,
    },
    plaintext_moduli: &[1_099_511_922_689, 1_099_512_004_609],
};

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
                "no BFV preset for n = {n}{}: use one of {}",
                match word {
                    Word::W64 => "",
                    Word::W32 => " with w32 words",
                },
                list(table.iter().map(|p| p.degree))
            ))
        })
    }

    /// The parameters, on the CPU backend.
    pub fn build(&self) -> Result<Arc<Parameters>, Error> {
        self.build_on(crate::Cpu::shared())
    }

    /// The parameters, on `backend`.
    pub fn build_on(&self, backend: Arc<dyn Backend>) -> Result<Arc<Parameters>, Error> {
        self.builder().backend(backend).build()
    }

    /// A builder holding the preset's settings (change any before building).
    pub fn builder(&self) -> crate::bfv::ParametersBuilder {
        Parameters::builder()
            .degree(self.degree)
            .plaintext_modulus(self.plaintext_modulus)
            .ciphertext_moduli_bits(self.ciphertext_bits)
            .special_moduli_bits(self.special_bits)
            .security(self.security)
            .word(self.word)
    }
}

impl CrtPreset {
    /// The CRT parameter sets, on the CPU backend.
    pub fn build(&self) -> Result<CrtBfv, Error> {
        CrtBfv::new(self.base.builder(), self.plaintext_moduli)
    }
}

/// The preset degrees, for messages: `"4096, 8192, 16384 or 32768"`.
pub fn degrees() -> String {
    list(PRESETS.iter().map(|p| p.degree))
}

/// `"a, b, c or d"`.
pub(crate) fn list(items: impl Iterator<Item = usize>) -> String {
    let items: Vec<String> = items.map(|d| d.to_string()).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.concat(),
    }
}
