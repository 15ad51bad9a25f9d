//! Galois automorphisms `σ_g: a(x) ↦ a(x^g)` of `Z_Q[x]/(x^n + 1)`.
//!
//! For odd `g` these are ring automorphisms; with the batch encoder they
//! rotate slots (`g = 5^r`) or swap the two rows (`g = 2n - 1`). In
//! coefficient form `σ_g` moves coefficient `i` to `i·g mod 2n` with a sign
//! flip past `n`; in NTT form it is a pure permutation of the evaluations.

use crate::backend::TableId;
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

/// `σ_g` on NTT-form evaluations as an index table (output `k` is input
/// `indices()[k]`), with the [`TableId`] a device backend caches it by.
/// Built once per Galois key, with the keys ([`crate::rlwe::GaloisKeys`]).
#[derive(Debug, Clone)]
pub struct GaloisPermutation {
    id: TableId,
    g: usize,
    indices: Vec<u32>,
}

impl GaloisPermutation {
    /// The permutation of `σ_g` at degree `n` (`g` odd, below `2n`).
    pub fn new(n: usize, g: usize) -> Result<Self, Error> {
        let indices = ntt_galois_permutation(n, g)?
            .into_iter()
            .map(|k| k as u32)
            .collect();
        Ok(Self {
            id: TableId::fresh(),
            g,
            indices,
        })
    }

    /// The table's identity.
    pub fn id(&self) -> TableId {
        self.id
    }

    /// The Galois element `g`.
    pub fn element(&self) -> usize {
        self.g
    }

    /// Output `k` is input `indices()[k]` (`n ≤ 2^17`, so `u32` indices).
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }
}

impl RnsPoly<Coeff> {
    /// `σ_g(self)`: coefficient `i` moves to `i·g mod 2n`, negated past `n`.
    pub fn automorphism(&self, g: usize) -> Result<Self, Error> {
        check_galois_element(self.degree(), g)?;
        Self::from_output(self.basis(), self.level(), |out| {
            self.backend()
                .automorphism(self.basis(), self.level(), self.buffer(), g, out)
        })
    }
}

impl RnsPoly<Ntt> {
    /// `σ_g(self)` as a permutation of the evaluations (builds the table;
    /// rotations use the one cached with their Galois key).
    pub fn automorphism(&self, g: usize) -> Result<Self, Error> {
        self.permute(&GaloisPermutation::new(self.degree(), g)?)
    }

    /// Applies a Galois permutation of this degree to every limb.
    pub fn permute(&self, perm: &GaloisPermutation) -> Result<Self, Error> {
        let n = self.degree();
        if perm.indices().len() != n {
            return Err(Error::WrongLength {
                expected: n,
                got: perm.indices().len(),
            });
        }
        Self::from_output(self.basis(), self.level(), |out| {
            self.backend()
                .permute(self.basis(), self.level(), self.buffer(), perm, out)
        })
    }
}
