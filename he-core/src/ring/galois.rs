//! Galois automorphisms `σ_g: a(x) ↦ a(x^g)` of `Z_Q[x]/(x^n + 1)`.
//!
//! For odd `g` these are ring automorphisms; with the batch encoder they
//! rotate slots (`g = 5^r`) or swap the two rows (`g = 2n - 1`). In
//! coefficient form `σ_g` moves coefficient `i` to `i·g mod 2n` with a sign
//! flip past `n`; in NTT form it is a pure permutation of the evaluations.

use crate::{Coeff, Error, Ntt, RnsPoly};

/// Fails unless `g` is odd and below `2n`.
pub fn check_galois_element(n: usize, g: usize) -> Result<(), Error> {
    if g % 2 == 1 && g < 2 * n {
        Ok(())
    } else {
        Err(Error::BadGaloisElement { g, n, two_n: 2 * n })
    }
}

/// The Galois element `5^steps mod 2n` that rotates batched slots by `steps`
/// (negative steps rotate the other way, through `5^-1`).
///
/// ```
/// assert_eq!(hefty_core::rotation_galois_element(8, 1), 5);
/// assert_eq!(hefty_core::rotation_galois_element(8, 2), 25 % 16);
/// assert_eq!(hefty_core::rotation_galois_element(8, -1) * 5 % 16, 1);
/// ```
pub fn rotation_galois_element(n: usize, steps: i64) -> usize {
    // 5 has order n/2 modulo 2n, so a negative step is a positive one mod n/2.
    let order = (n / 2).max(1) as i64;
    let two_n = hefty_ntt::Modulus::new(2 * n as u64).expect("2n is a valid modulus");
    two_n.pow(5, steps.rem_euclid(order) as u64) as usize
}

fn bit_reverse(k: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// The index permutation of `σ_g` on NTT-form (bit-reversed) evaluations:
/// output `k` is input `perm[k]`.
pub fn ntt_galois_permutation(n: usize, g: usize) -> Result<Vec<usize>, Error> {
    check_galois_element(n, g)?;
    let bits = n.trailing_zeros();
    Ok((0..n)
        .map(|k| {
            // Output k evaluates at ψ^(2·bitrev(k)+1); σ_g(a) there is a at ψ^((2·bitrev(k)+1)·g).
            // 2n is a power of two: a mask, not a division per element.
            let e = ((2 * bit_reverse(k, bits) + 1) * g) & (2 * n - 1);
            bit_reverse((e - 1) / 2, bits)
        })
        .collect())
}

impl RnsPoly<Coeff> {
    /// `σ_g(self)`: coefficient `i` moves to `i·g mod 2n`, negated past `n`.
    pub fn automorphism(&self, g: usize) -> Result<Self, Error> {
        check_galois_element(self.degree(), g)?;
        let buf = self
            .backend()
            .automorphism(self.basis(), self.level(), self.buffer(), g);
        Ok(Self::from_buffer(self.basis(), self.level(), buf))
    }
}

impl RnsPoly<Ntt> {
    /// `σ_g(self)` as a permutation of the evaluations.
    pub fn automorphism(&self, g: usize) -> Result<Self, Error> {
        let perm = ntt_galois_permutation(self.degree(), g)?;
        self.permute(&perm)
    }

    /// Applies a precomputed [`ntt_galois_permutation`] to every limb.
    pub fn permute(&self, perm: &[usize]) -> Result<Self, Error> {
        let n = self.degree();
        if perm.len() != n {
            return Err(Error::WrongLength {
                expected: n,
                got: perm.len(),
            });
        }
        if perm.iter().any(|&k| k >= n) {
            return Err(Error::InvalidParameters(format!(
                "a permutation of {n} evaluations has an index of {n} or more"
            )));
        }
        let buf = self
            .backend()
            .permute(self.basis(), self.level(), self.buffer(), perm);
        Ok(Self::from_buffer(self.basis(), self.level(), buf))
    }
}
