//! RNS polynomials: one limb-major buffer, form and level tracked.

use std::marker::PhantomData;
use std::sync::Arc;

use hefty_ntt::slice_ops;
use num_bigint::{BigInt, BigUint, Sign};

use crate::{Coeff, Error, Form, Ntt, RnsBasis, buffer_pool};

/// An element of `Z_Q[x]/(x^n + 1)` in RNS form: limb `i` (modulo prime `i`
/// of the basis) holds coefficients or evaluations `i*n .. (i+1)*n` of one
/// contiguous buffer. `level` limbs are active (the first `level` primes).
///
/// The form `F` ([`Coeff`] or [`Ntt`]) is part of the type: pointwise
/// multiplication exists only for [`Ntt`], and conversions consume the value.
///
/// ```
/// use std::sync::Arc;
/// use hefty_core::{RnsBasis, RnsPoly};
/// let basis = Arc::new(RnsBasis::new(8, &hefty_ntt::ntt_primes(30, 8, 2)?)?);
/// // x · x^7 = x^8 = -1 in Z_Q[x]/(x^8 + 1).
/// let mut x = vec![0i64; 8];
/// x[1] = 1;
/// let mut x7 = vec![0i64; 8];
/// x7[7] = 1;
/// let mut a = RnsPoly::from_i64(&basis, 2, &x)?.into_ntt();
/// a.mul_assign(&RnsPoly::from_i64(&basis, 2, &x7)?.into_ntt())?;
/// assert_eq!(a.into_coeff().to_centered()[0], (-1).into());
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug)]
pub struct RnsPoly<F: Form> {
    basis: Arc<RnsBasis>,
    level: usize,
    data: Vec<u64>,
    form: PhantomData<F>,
}

impl<F: Form> Clone for RnsPoly<F> {
    fn clone(&self) -> Self {
        let mut data = buffer_pool::take_empty(self.data.len());
        data.extend_from_slice(&self.data);
        Self {
            basis: Arc::clone(&self.basis),
            level: self.level,
            data,
            form: PhantomData,
        }
    }
}

impl<F: Form> Drop for RnsPoly<F> {
    fn drop(&mut self) {
        buffer_pool::give(std::mem::take(&mut self.data));
    }
}

impl<F: Form> PartialEq for RnsPoly<F> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.basis, &other.basis)
            && self.level == other.level
            && self.data == other.data
    }
}

impl<F: Form> Eq for RnsPoly<F> {}

impl<F: Form> RnsPoly<F> {
    /// The zero polynomial at `level`.
    pub fn zero(basis: &Arc<RnsBasis>, level: usize) -> Result<Self, Error> {
        basis.check_level(level)?;
        Ok(Self::from_raw(
            basis,
            level,
            buffer_pool::take_zeroed(level * basis.degree()),
        ))
    }

    /// Wraps a buffer whose limbs are already reduced modulo their primes.
    pub(crate) fn from_raw(basis: &Arc<RnsBasis>, level: usize, data: Vec<u64>) -> Self {
        debug_assert_eq!(data.len(), level * basis.degree());
        Self {
            basis: Arc::clone(basis),
            level,
            data,
            form: PhantomData,
        }
    }

    /// The basis this polynomial belongs to.
    pub fn basis(&self) -> &Arc<RnsBasis> {
        &self.basis
    }

    /// The number of active limbs.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The ring degree.
    pub fn degree(&self) -> usize {
        self.basis.degree()
    }

    /// Limb `i`: residues modulo prime `i`.
    pub fn limb(&self, i: usize) -> &[u64] {
        let n = self.degree();
        &self.data[i * n..(i + 1) * n]
    }

    /// The whole limb-major buffer.
    pub fn as_slice(&self) -> &[u64] {
        &self.data
    }

    /// Fails unless `other` has the same basis and level.
    pub fn check_compatible(&self, other: &Self) -> Result<(), Error> {
        if !Arc::ptr_eq(&self.basis, &other.basis) {
            return Err(Error::BasisMismatch);
        }
        if self.level != other.level {
            return Err(Error::LevelMismatch {
                left: self.level,
                right: other.level,
            });
        }
        Ok(())
    }

    /// Applies `f(modulus, self_limb, other_limb)` limb by limb.
    fn zip_limbs(
        &mut self,
        other: &Self,
        f: impl Fn(&hefty_ntt::Modulus, &mut [u64], &[u64]),
    ) -> Result<(), Error> {
        self.check_compatible(other)?;
        let n = self.degree();
        for ((m, a), b) in self
            .basis
            .moduli()
            .iter()
            .zip(self.data.chunks_exact_mut(n))
            .zip(other.data.chunks_exact(n))
        {
            f(m, a, b);
        }
        Ok(())
    }

    /// `self += other`.
    pub fn add_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.zip_limbs(other, |m, a, b| {
            a.iter_mut().zip(b).for_each(|(x, &y)| *x = m.add(*x, y))
        })
    }

    /// `self -= other`.
    pub fn sub_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.zip_limbs(other, |m, a, b| {
            a.iter_mut().zip(b).for_each(|(x, &y)| *x = m.sub(*x, y))
        })
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self) {
        let n = self.degree();
        for (m, a) in self
            .basis
            .moduli()
            .iter()
            .zip(self.data.chunks_exact_mut(n))
        {
            a.iter_mut().for_each(|x| *x = m.neg(*x));
        }
    }

    /// `self *= c` for an integer constant `c` (reduced modulo each prime).
    pub fn mul_scalar_assign(&mut self, c: u64) {
        let n = self.degree();
        for (m, a) in self
            .basis
            .moduli()
            .iter()
            .zip(self.data.chunks_exact_mut(n))
        {
            slice_ops::mul_scalar_in_place(m, a, m.shoup(c));
        }
    }

    /// Rewrites every limb with `f(limb index, modulus, limb)`.
    pub(crate) fn set_limbs(&mut self, f: impl Fn(usize, &hefty_ntt::Modulus, &mut [u64])) {
        let n = self.degree();
        for (i, (m, limb)) in self
            .basis
            .moduli()
            .iter()
            .zip(self.data.chunks_exact_mut(n))
            .enumerate()
        {
            f(i, m, limb);
        }
    }

    /// The same buffer as a polynomial of form `G` (after the caller transformed it).
    fn reinterpret<G: Form>(mut self) -> RnsPoly<G> {
        // `Self` implements Drop (buffer recycling), so move the buffer out by `take`.
        let data = std::mem::take(&mut self.data);
        RnsPoly {
            basis: Arc::clone(&self.basis),
            level: self.level,
            data,
            form: PhantomData,
        }
    }

    /// Overwrites the buffer with zeros (for secret material being dropped).
    pub(crate) fn zeroize_data(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }

    /// Keeps only the first `level` limbs (the residues modulo a divisor of Q).
    pub fn truncate_level(&mut self, level: usize) -> Result<(), Error> {
        if level == 0 || level > self.level {
            return Err(Error::BadLevel {
                level,
                max: self.level,
            });
        }
        self.data.truncate(level * self.degree());
        self.level = level;
        Ok(())
    }
}

/// `-c mod p` for `c < p` as a mask (`p - c`, or 0 for 0), which vectorises:
/// `Modulus::neg`'s unsigned `min` has no AVX2 instruction.
#[inline(always)]
fn neg_mod(c: u64, p: u64) -> u64 {
    (p - c) & ((c != 0) as u64).wrapping_neg()
}

impl RnsPoly<Coeff> {
    /// `self · x^k` in `Z_Q[x]/(x^n + 1)`: a negacyclic shift, coefficient `i`
    /// moving to `i + k` and changing sign each time it wraps past `x^n = -1`.
    /// O(n) per limb, no NTT (Algorithm 1 of Faster CryptoNets). Any `k`
    /// works (`x^(2n) = 1`).
    pub fn mul_monomial(&self, k: usize) -> Self {
        let n = self.degree();
        let k = k % (2 * n);
        let (shift, flip_all) = if k >= n { (k - n, true) } else { (k, false) };
        // Written in order with `extend` (no zero-filled buffer first): the
        // operation is memory-bound, so one pass less is a third faster.
        let mut data = buffer_pool::take_empty(self.data.len());
        for (i, m) in self.basis.moduli()[..self.level].iter().enumerate() {
            let p = m.value();
            // Output [0, shift) comes from the wrapped tail, [shift, n) from the head.
            let (stay, wrap) = self.limb(i).split_at(n - shift);
            if flip_all {
                data.extend_from_slice(wrap);
                data.extend(stay.iter().map(|&c| neg_mod(c, p)));
            } else {
                data.extend(wrap.iter().map(|&c| neg_mod(c, p)));
                data.extend_from_slice(stay);
            }
        }
        Self::from_raw(&self.basis, self.level, data)
    }

    /// `round(self / q_last)` modulo the remaining primes: drops the last limb
    /// (`(x - [x]_{q_last}) · q_last^-1` with the centred residue).
    pub fn divide_round_by_last(&self) -> Result<Self, Error> {
        let level = self.level;
        if level < 2 {
            return Err(Error::BadLevel {
                level: level.saturating_sub(1),
                max: self.basis.len(),
            });
        }
        let n = self.degree();
        let last = &self.basis.moduli()[level - 1];
        let (q_last, half) = (last.value(), last.value() / 2);
        let top = self.limb(level - 1);
        let mut data = self.data[..(level - 1) * n].to_vec();
        for (i, m) in self.basis.moduli()[..level - 1].iter().enumerate() {
            let inv = m.shoup(m.inv(m.reduce(q_last)).expect("distinct primes"));
            let q_last_mod = m.reduce(q_last);
            for (x, &r) in data[i * n..(i + 1) * n].iter_mut().zip(top) {
                // Centred residue r - q_last when r > q_last/2, reduced mod q_i.
                let above = ((half.wrapping_sub(r)) >> 63).wrapping_neg(); // all ones when r > half
                let r_mod = m.sub(m.reduce(r), q_last_mod & above);
                *x = m.mul_shoup(m.sub(*x, r_mod), inv);
            }
        }
        Ok(Self::from_raw(&self.basis, level - 1, data))
    }

    /// The polynomial with small signed coefficients `coeffs` (length n).
    pub fn from_i64(basis: &Arc<RnsBasis>, level: usize, coeffs: &[i64]) -> Result<Self, Error> {
        basis.check_level(level)?;
        let n = basis.degree();
        if coeffs.len() != n {
            return Err(Error::WrongLength {
                expected: n,
                got: coeffs.len(),
            });
        }
        let mut data = buffer_pool::take_empty(level * n);
        for m in &basis.moduli()[..level] {
            // Secret keys come through here. The sign is selected by mask; the
            // magnitude branch is never taken for keys and errors (|c| <= 21,
            // far below p), so its outcome is the same for every secret.
            let p = m.value();
            data.extend(coeffs.iter().map(|&c| {
                let a = c.unsigned_abs();
                let r = if a < p { a } else { m.reduce(a) };
                let negative = (c >> 63) as u64; // all ones when c < 0
                (m.neg(r) & negative) | (r & !negative)
            }));
        }
        Ok(Self::from_raw(basis, level, data))
    }

    /// The polynomial with coefficients `coeffs mod Q_level` (big integers).
    pub fn from_biguints(
        basis: &Arc<RnsBasis>,
        level: usize,
        coeffs: &[BigUint],
    ) -> Result<Self, Error> {
        basis.check_level(level)?;
        let n = basis.degree();
        if coeffs.len() != n {
            return Err(Error::WrongLength {
                expected: n,
                got: coeffs.len(),
            });
        }
        let mut data = vec![0u64; level * n];
        for (j, c) in coeffs.iter().enumerate() {
            for (i, r) in basis.decompose(c, level).into_iter().enumerate() {
                data[i * n + j] = r;
            }
        }
        Ok(Self::from_raw(basis, level, data))
    }

    /// The coefficients as integers in `[0, Q_level)` (exact CRT).
    pub fn to_biguints(&self) -> Vec<BigUint> {
        let n = self.degree();
        (0..n)
            .map(|j| {
                let residues: Vec<u64> = (0..self.level).map(|i| self.data[i * n + j]).collect();
                self.basis.compose(&residues, self.level)
            })
            .collect()
    }

    /// The coefficients as integers in `(-Q/2, Q/2]` (exact CRT).
    pub fn to_centered(&self) -> Vec<BigInt> {
        let q = self.basis.product(self.level);
        let half = &q >> 1u32;
        self.to_biguints()
            .into_iter()
            .map(|c| {
                if c > half {
                    BigInt::from_biguint(Sign::Minus, &q - c)
                } else {
                    BigInt::from_biguint(Sign::Plus, c)
                }
            })
            .collect()
    }

    /// Forward NTT of every limb (in parallel).
    pub fn into_ntt(mut self) -> RnsPoly<Ntt> {
        self.basis
            .ntt()
            .forward(&mut self.data)
            .expect("buffer holds `level` whole limbs");
        self.reinterpret()
    }
}

impl RnsPoly<Ntt> {
    /// Inverse NTT of every limb (in parallel).
    pub fn into_coeff(mut self) -> RnsPoly<Coeff> {
        self.basis
            .ntt()
            .inverse(&mut self.data)
            .expect("buffer holds `level` whole limbs");
        self.reinterpret()
    }

    /// `self *= other` pointwise: the negacyclic product.
    pub fn mul_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.zip_limbs(other, |m, a, b| {
            slice_ops::mul_in_place(m, a, b).expect("limbs of one ring have equal lengths")
        })
    }

    /// `self *= b` pointwise over `self`'s limbs, where `b` (same basis) may
    /// hold more limbs: multiplies by a full-level key without copying it.
    pub(crate) fn mul_prefix(&mut self, b: &Self) {
        debug_assert!(Arc::ptr_eq(&self.basis, &b.basis) && b.level >= self.level);
        let n = self.degree();
        for (i, m) in self.basis.moduli()[..self.level].iter().enumerate() {
            let range = i * n..(i + 1) * n;
            slice_ops::mul_in_place(m, &mut self.data[range.clone()], &b.data[range])
                .expect("limbs of one ring have equal lengths");
        }
    }

    /// `self += a · b` pointwise over `self`'s limbs, where `b` (same basis)
    /// may hold more limbs: a key made for the full `Q` used at a lower level.
    pub(crate) fn mul_add_prefix(&mut self, a: &Self, b: &Self) {
        debug_assert!(Arc::ptr_eq(&self.basis, &a.basis) && Arc::ptr_eq(&self.basis, &b.basis));
        debug_assert!(a.level == self.level && b.level >= self.level);
        let n = self.degree();
        for (i, m) in self.basis.moduli()[..self.level].iter().enumerate() {
            let range = i * n..(i + 1) * n;
            slice_ops::mul_add(
                m,
                &mut self.data[range.clone()],
                &a.data[range.clone()],
                &b.data[range],
            )
            .expect("limbs of one ring have equal lengths");
        }
    }

    /// `self += a · b` pointwise (the inner products of tensoring and key switching).
    pub fn mul_add_assign(&mut self, a: &Self, b: &Self) -> Result<(), Error> {
        a.check_compatible(b)?;
        self.check_compatible(a)?;
        self.mul_add_prefix(a, b);
        Ok(())
    }
}
