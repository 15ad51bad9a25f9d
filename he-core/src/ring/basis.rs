//! An RNS basis: pairwise distinct NTT-friendly primes, their NTT plans and
//! CRT constants.

use std::any::Any;
use std::sync::Arc;

use num_bigint::BigUint;

use hefty_ntt::{Modulus, ShoupConst, check_ntt_prime};

use crate::backend::{Prepared, TableId};
use crate::ring::Word;
use crate::{Backend, Cpu, Error};

/// The primes `q_0 … q_{k-1}` of an RNS representation of `Z_Q[x]/(x^n + 1)`,
/// `Q = ∏ q_i`, with one NTT plan per prime and the CRT constants.
///
/// A polynomial at level `ℓ` uses the first `ℓ` primes; dropping the last
/// prime is how modulus switching and rescaling shrink `Q`.
///
/// ```
/// use hefty_core::RnsBasis;
/// use hefty_ntt::ntt_primes;
/// let basis = RnsBasis::new(1024, &ntt_primes(40, 1024, 3)?)?;
/// let x = num_bigint::BigUint::from(123_456_789_012_345_678_901_234u128);
/// assert_eq!(basis.compose(&basis.decompose(&x, 3), 3), x);
/// # Ok::<(), hefty_core::Error>(())
/// ```
///
/// The basis also names the [`Backend`] that holds and computes on its
/// polynomials ([`Cpu`] unless [`RnsBasis::with_backend`] says otherwise).
pub struct RnsBasis {
    n: usize,
    moduli: Vec<Modulus>,
    word: Word,
    backend: Arc<dyn Backend>,
    /// What the backend built for this basis (the CPU's NTT plans, a
    /// device's twiddle tables): [`Backend::prepare_basis`].
    prepared: Prepared,
    id: TableId,
}

// Compact: the primes, not their Barrett constants or the backend's tables.
impl std::fmt::Debug for RnsBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let primes: Vec<u64> = self.moduli.iter().map(|m| m.value()).collect();
        f.debug_struct("RnsBasis")
            .field("n", &self.n)
            .field("primes", &primes)
            .field("word", &self.word)
            .field("backend", &self.backend.name())
            .field("id", &self.id.get())
            .finish()
    }
}

impl RnsBasis {
    /// A basis of degree `n` over `primes` (each NTT-friendly for `n`, all
    /// distinct), computed on by the CPU backend.
    pub fn new(n: usize, primes: &[u64]) -> Result<Self, Error> {
        Self::with_backend(n, primes, Cpu::shared())
    }

    /// A basis whose polynomials live on and are computed by `backend`
    /// (fails when the backend cannot run these primes).
    pub fn with_backend(
        n: usize,
        primes: &[u64],
        backend: Arc<dyn Backend>,
    ) -> Result<Self, Error> {
        if primes.is_empty() {
            return Err(Error::EmptyBasis);
        }
        for (i, &p) in primes.iter().enumerate() {
            if primes[..i].contains(&p) {
                return Err(Error::DuplicatePrime(p));
            }
        }
        let moduli = primes
            .iter()
            .map(|&p| {
                check_ntt_prime(n, p)?;
                Ok(Modulus::new(p)?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let word = if primes.iter().all(|&p| p >> Word::W32.max_bits() == 0) {
            Word::W32
        } else {
            Word::W64
        };
        // The backend builds its per-basis state (and refuses what it cannot run).
        let prepared = backend.prepare_basis(n, &moduli, word)?;
        Ok(Self {
            n,
            moduli,
            word,
            backend,
            prepared,
            id: TableId::fresh(),
        })
    }

    /// Whether polynomials of `self` and `other` can meet: the same object,
    /// or the same degree and primes on the same backend instance (two
    /// parameter objects built from one preset, or decoded from one set of
    /// bytes, are interchangeable).
    pub fn same_ring(&self, other: &RnsBasis) -> bool {
        std::ptr::eq(self, other)
            || (self.n == other.n
                && self.moduli.len() == other.moduli.len()
                && self
                    .moduli
                    .iter()
                    .zip(&other.moduli)
                    .all(|(a, b)| a.value() == b.value())
                && crate::backend::same_backend(self, other))
    }

    /// The backend that holds this basis's polynomials.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// A process-unique identity (device backends key cached tables by it).
    pub fn id(&self) -> TableId {
        self.id
    }

    /// The narrowest word every residue fits ([`Word::W32`] when every prime
    /// is below 2^31): what a device may store the basis's limbs in.
    pub fn word(&self) -> Word {
        self.word
    }

    /// The state the backend built for this basis in
    /// [`Backend::prepare_basis`], if it is of type `T`.
    pub fn prepared<T: Any>(&self) -> Option<&T> {
        self.prepared.downcast_ref()
    }

    /// The ring degree `n`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The number of primes.
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Always false: a basis has at least one prime.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The moduli, in limb order.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// Checks `1 <= level <= len()`.
    pub fn check_level(&self, level: usize) -> Result<(), Error> {
        if (1..=self.len()).contains(&level) {
            Ok(())
        } else {
            Err(Error::BadLevel {
                level,
                max: self.len(),
            })
        }
    }

    /// `Q_ℓ = q_0 ⋯ q_{ℓ-1}`, the modulus at `level`.
    pub fn product(&self, level: usize) -> BigUint {
        self.moduli[..level]
            .iter()
            .map(|m| BigUint::from(m.value()))
            .product()
    }

    /// The residues of `x` modulo the first `level` primes.
    pub fn decompose(&self, x: &BigUint, level: usize) -> Vec<u64> {
        self.moduli[..level]
            .iter()
            .map(|m| {
                let r = x % m.value();
                r.to_u64_digits().first().copied().unwrap_or(0)
            })
            .collect()
    }

    /// The unique `x < Q_ℓ` with the given residues (exact CRT, big integers):
    /// `x = Σ r_i · (Q/q_i) · [(Q/q_i)^-1]_{q_i} mod Q`.
    pub fn compose(&self, residues: &[u64], level: usize) -> BigUint {
        let q = self.product(level);
        let mut acc = BigUint::ZERO;
        for (m, &r) in self.moduli[..level].iter().zip(residues) {
            let q_hat = &q / m.value();
            let q_hat_mod = (&q_hat % m.value())
                .to_u64_digits()
                .first()
                .copied()
                .unwrap_or(0);
            let inv = m.inv(q_hat_mod).expect("distinct primes are coprime");
            acc += q_hat * m.mul(r, inv);
        }
        acc % q
    }

    /// `[(Q_ℓ/q_i)^-1]_{q_i}` for each `i < level`, as Shoup constants: the
    /// first step of a fast base conversion.
    pub fn q_hat_inv(&self, level: usize) -> Vec<ShoupConst> {
        let q = self.product(level);
        self.moduli[..level]
            .iter()
            .map(|m| {
                let q_hat = (&q / m.value()) % m.value();
                let v = q_hat.to_u64_digits().first().copied().unwrap_or(0);
                m.shoup(m.inv(v).expect("distinct primes are coprime"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hefty_ntt::ntt_primes;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_bases() {
        let ps = ntt_primes(30, 64, 2).unwrap();
        assert_eq!(RnsBasis::new(64, &[]).unwrap_err(), Error::EmptyBasis);
        assert_eq!(
            RnsBasis::new(64, &[ps[0], ps[1], ps[0]]).unwrap_err(),
            Error::DuplicatePrime(ps[0])
        );
        assert!(matches!(RnsBasis::new(64, &[17]), Err(Error::Ntt(_))));
        let b = RnsBasis::new(64, &ps).unwrap();
        assert_eq!(b.check_level(0), Err(Error::BadLevel { level: 0, max: 2 }));
        assert_eq!(b.check_level(3), Err(Error::BadLevel { level: 3, max: 2 }));
        assert!(b.check_level(2).is_ok());
    }

    proptest! {
        #[test]
        fn crt_roundtrip(bits in 20u32..=61, k in 1usize..6, seed: [u64; 6], level_cut in 0usize..6) {
            let primes = ntt_primes(bits, 16, k).unwrap();
            let basis = RnsBasis::new(16, &primes).unwrap();
            let level = k - level_cut.min(k - 1);
            let q = basis.product(level);
            let x = seed.iter().fold(BigUint::ZERO, |acc, &s| (acc << 64u32) + s) % &q;
            let residues = basis.decompose(&x, level);
            prop_assert_eq!(residues.len(), level);
            for (r, m) in residues.iter().zip(basis.moduli()) {
                prop_assert!(*r < m.value());
            }
            prop_assert_eq!(basis.compose(&residues, level), x);
        }
    }
}
