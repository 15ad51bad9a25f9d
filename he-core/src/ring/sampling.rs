//! Sampling from a cryptographically secure generator.

use std::sync::Arc;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::{Error, Form, RnsBasis, RnsPoly};

/// Centred-binomial parameter for errors: `η = 21` gives standard deviation
/// `sqrt(η/2) ≈ 3.24`, the σ ≈ 3.2 of the HE Standard's tables.
pub const ERROR_ETA: u32 = 21;

/// Randomness for keys, encryption and errors: ChaCha20, seeded by the OS
/// unless a seed is given (tests, and the seeded `a` halves of symmetric
/// ciphertexts, which are public).
///
/// Samplers are constant-time in the values they produce: ternary and
/// binomial sampling use no value-dependent branches, and rejection sampling
/// of uniform residues only reveals how many draws were discarded.
#[derive(Debug, Clone)]
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl Sampler {
    /// A sampler seeded from the operating system's entropy.
    pub fn from_os() -> Self {
        Self {
            rng: ChaCha20Rng::from_os_rng(),
        }
    }

    /// A deterministic sampler (for tests and for expanding public seeds).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// 32 fresh random bytes (e.g. a seed to store instead of a uniform polynomial).
    pub fn seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        s
    }

    /// A uniformly random element of `R_Q` at `level`, in either form (the NTT
    /// of a uniform polynomial is uniform, so it can be drawn in NTT form directly).
    pub fn uniform<F: Form>(
        &mut self,
        basis: &Arc<RnsBasis>,
        level: usize,
    ) -> Result<RnsPoly<F>, Error> {
        basis.check_level(level)?;
        let n = basis.degree();
        let mut data = crate::backend::cpu::pool::take_empty(level * n);
        for m in &basis.moduli()[..level] {
            let p = m.value();
            data.extend((0..n).map(|_| self.rng.random_range(0..p)));
        }
        RnsPoly::from_raw(basis, level, data)
    }

    /// `n` coefficients uniform in `{-1, 0, 1}` (secret keys); `n` at most
    /// [`MAX_DEGREE`](hefty_ntt::MAX_DEGREE).
    pub fn ternary(&mut self, n: usize) -> Result<Vec<i64>, Error> {
        check_count(n)?;
        Ok((0..n)
            .map(|_| {
                // Uniform over {0, 1, 2} by rejecting 3 from two random bits:
                // the loop count is independent of the accepted value.
                loop {
                    let r = (self.rng.next_u32() & 3) as i64;
                    if r != 3 {
                        break r - 1;
                    }
                }
            })
            .collect())
    }

    /// `n` coefficients from the centred binomial distribution with parameter
    /// `eta`: `popcount(a) - popcount(b)` for two `eta`-bit random words.
    pub fn centered_binomial(&mut self, n: usize, eta: u32) -> Result<Vec<i64>, Error> {
        check_count(n)?;
        if !(1..=32).contains(&eta) {
            return Err(Error::InvalidParameters(format!(
                "centred binomial parameter eta = {eta} must be 1..=32"
            )));
        }
        let mask = if eta == 32 {
            u32::MAX
        } else {
            (1u32 << eta) - 1
        };
        Ok((0..n)
            .map(|_| {
                let a = self.rng.next_u32() & mask;
                let b = self.rng.next_u32() & mask;
                a.count_ones() as i64 - b.count_ones() as i64
            })
            .collect())
    }

    /// `n` error coefficients (centred binomial, η = 21, σ ≈ 3.24).
    pub fn error(&mut self, n: usize) -> Result<Vec<i64>, Error> {
        self.centered_binomial(n, ERROR_ETA)
    }
}

/// Fails unless `n` coefficients is a ring's worth (no larger ring exists).
fn check_count(n: usize) -> Result<(), Error> {
    let max = hefty_ntt::MAX_DEGREE;
    if n > max {
        return Err(Error::InvalidParameters(format!(
            "{n} coefficients asked of the sampler: rings have at most {max}"
        )));
    }
    Ok(())
}
