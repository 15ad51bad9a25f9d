//! How a plaintext × ciphertext product is computed: a scalar, a monomial
//! shift, a sum of shifted terms (sparse), or an NTT product (dense) — chosen
//! from costs measured once per parameter set on its backend.
//!
//! All four give bit-identical ciphertexts (each computes the exact
//! negacyclic product with the plaintext's centred lift), so the choice is
//! purely a matter of speed.

use std::time::Instant;

use crate::{Coeff, Error, RnsBasis, RnsPoly};

/// The way [`Evaluator::mul_plain`](crate::bfv::Evaluator::mul_plain) will
/// multiply by a given plaintext ([`Evaluator::plain_product`](crate::bfv::Evaluator::plain_product)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainProduct {
    /// The constant `c` (a multiple of `x^0`): a scalar product.
    Scalar {
        /// The centred constant.
        c: i64,
    },
    /// The monomial `c·x^k`: a signed shift, then the scalar `c`.
    Monomial {
        /// The centred coefficient.
        c: i64,
        /// The exponent.
        k: usize,
    },
    /// A few non-zero coefficients: one shift-and-accumulate pass each,
    /// O(n·nonzero), no NTT.
    Sparse {
        /// The number of non-zero coefficients.
        nonzero: usize,
    },
    /// An NTT product.
    Dense,
}

/// Measured cost of a dense product and of one sparse term (both for a
/// two-polynomial ciphertext at the top level), on the parameters' backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlainProductCosts {
    /// Nanoseconds of a dense product, the plaintext's NTT included.
    pub dense_ns: f64,
    /// Nanoseconds of one sparse term.
    pub sparse_term_ns: f64,
}

impl PlainProductCosts {
    /// Times both kinds on zero polynomials of `basis` at `level` (best of
    /// three; about three dense products of work).
    pub(crate) fn measure(basis: &std::sync::Arc<RnsBasis>, level: usize) -> Result<Self, Error> {
        let zero = RnsPoly::<Coeff>::zero(basis, level)?;
        let best = |f: &mut dyn FnMut() -> Result<(), Error>| -> Result<f64, Error> {
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                let start = Instant::now();
                f()?;
                best = best.min(start.elapsed().as_nanos() as f64);
            }
            Ok(best)
        };
        let dense_ns = best(&mut || {
            let pt = zero.clone().into_ntt();
            for _ in 0..2 {
                let mut c = zero.clone().into_ntt();
                c.mul_assign(&pt)?;
                drop(c.into_coeff());
            }
            Ok(())
        })?;
        let sparse_term_ns = best(&mut || {
            for _ in 0..2 {
                let mut acc = zero.clone();
                acc.monomial_mul_add(&zero, 3, 1)?;
            }
            Ok(())
        })?;
        Ok(Self {
            dense_ns,
            sparse_term_ns,
        })
    }

    /// The cheapest way to multiply by a plaintext with these centred
    /// coefficients.
    pub fn choose(&self, centred: &[i64]) -> PlainProduct {
        let mut terms = centred.iter().enumerate().filter(|(_, c)| **c != 0);
        let first = terms.next();
        let nonzero = first.map_or(0, |_| 1 + terms.count());
        match (nonzero, first) {
            (0, _) => PlainProduct::Scalar { c: 0 },
            (1, Some((0, &c))) => PlainProduct::Scalar { c },
            (1, Some((k, &c))) => PlainProduct::Monomial { c, k },
            _ if nonzero as f64 * self.sparse_term_ns < self.dense_ns => {
                PlainProduct::Sparse { nonzero }
            }
            _ => PlainProduct::Dense,
        }
    }
}
