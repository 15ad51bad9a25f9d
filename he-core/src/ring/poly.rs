//! RNS polynomials: one limb-major buffer, form and level tracked.

use std::marker::PhantomData;
use std::sync::Arc;

use num_bigint::{BigInt, BigUint, Sign};

use crate::backend::cpu::pool as buffer_pool;
use crate::ring::ScaleRound;
use crate::{Backend, Buffer, Coeff, Error, ExactLift, Form, Ntt, RnsBasis};

/// An element of `Z_Q[x]/(x^n + 1)` in RNS form: limb `i` (modulo prime `i`
/// of the basis) holds coefficients or evaluations `i*n .. (i+1)*n` of one
/// contiguous buffer. `level` limbs are active (the first `level` primes).
///
/// The form `F` ([`Coeff`] or [`Ntt`]) is part of the type: pointwise
/// multiplication exists only for [`Ntt`], and conversions consume the value.
/// The buffer lives wherever the basis's [`Backend`] keeps it (host memory
/// for the CPU backend, device memory for a GPU backend); every operation is
/// one call of that backend, and only [`RnsPoly::to_host`] and the big-integer
/// conversions copy residues back.
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
/// assert_eq!(a.into_coeff().to_centered()?[0], (-1).into());
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug)]
pub struct RnsPoly<F: Form> {
    basis: Arc<RnsBasis>,
    level: usize,
    buf: Buffer,
    form: PhantomData<F>,
}

impl<F: Form> Clone for RnsPoly<F> {
    /// A copy in the same backend's memory.
    ///
    /// # Panics
    /// When the backend is out of memory, as `Vec::clone` does on the host;
    /// [`RnsPoly::try_clone`] returns the error instead.
    fn clone(&self) -> Self {
        self.try_clone()
            .expect("out of backend memory while cloning a polynomial (try_clone reports it)")
    }
}

impl<F: Form> Drop for RnsPoly<F> {
    fn drop(&mut self) {
        let buf = std::mem::replace(&mut self.buf, Buffer::host(Vec::new()));
        self.basis.backend().release(buf);
    }
}

impl<F: Form> PartialEq for RnsPoly<F> {
    /// Same basis, level and residues (a device backend downloads both).
    fn eq(&self, other: &Self) -> bool {
        self.basis.same_ring(&other.basis)
            && self.level == other.level
            && matches!((self.to_host(), other.to_host()), (Ok(a), Ok(b)) if a == b)
    }
}

impl<F: Form> Eq for RnsPoly<F> {}

impl<F: Form> RnsPoly<F> {
    /// The zero polynomial at `level`.
    pub fn zero(basis: &Arc<RnsBasis>, level: usize) -> Result<Self, Error> {
        basis.check_level(level)?;
        let buf = basis.backend().alloc(level * basis.degree())?;
        Ok(Self::from_buffer(basis, level, buf))
    }

    /// A copy in the same backend's memory; fails with
    /// [`Error::OutOfMemory`] instead of panicking.
    pub fn try_clone(&self) -> Result<Self, Error> {
        Ok(Self::from_buffer(
            &self.basis,
            self.level,
            self.backend().duplicate(&self.buf)?,
        ))
    }

    /// [`Self::from_output`] for a primitive that can fail (its error is returned).
    pub(crate) fn from_output_fallible(
        basis: &Arc<RnsBasis>,
        level: usize,
        write: impl FnOnce(&mut Buffer) -> Result<(), Error>,
    ) -> Result<Self, Error> {
        let mut buf = basis.backend().scratch(level * basis.degree())?;
        write(&mut buf)?;
        Ok(Self::from_buffer(basis, level, buf))
    }

    /// `count` polynomials written by one backend call over their buffers
    /// (a whole layer's outputs).
    pub(crate) fn layer_outputs(
        basis: &Arc<RnsBasis>,
        level: usize,
        count: usize,
        write: impl FnOnce(&mut [Buffer]) -> Result<(), Error>,
    ) -> Result<Vec<Self>, Error> {
        let backend = basis.backend();
        let mut outs = (0..count)
            .map(|_| backend.scratch(level * basis.degree()))
            .collect::<Result<Vec<_>, _>>()?;
        write(&mut outs)?;
        Ok(outs
            .into_iter()
            .map(|buf| Self::from_buffer(basis, level, buf))
            .collect())
    }

    /// Uploads host words whose limbs are already reduced modulo their primes.
    pub(crate) fn from_raw(
        basis: &Arc<RnsBasis>,
        level: usize,
        data: Vec<u64>,
    ) -> Result<Self, Error> {
        debug_assert_eq!(data.len(), level * basis.degree());
        let buf = basis.backend().upload(data)?;
        Ok(Self::from_buffer(basis, level, buf))
    }

    /// A polynomial of `level` limbs over `basis` whose residues `write`
    /// puts into an output buffer (a primitive's `out`).
    pub(crate) fn from_output(
        basis: &Arc<RnsBasis>,
        level: usize,
        write: impl FnOnce(&mut Buffer),
    ) -> Result<Self, Error> {
        let mut buf = basis.backend().scratch(level * basis.degree())?;
        write(&mut buf);
        Ok(Self::from_buffer(basis, level, buf))
    }

    /// Wraps a backend buffer of `level` limbs.
    pub(crate) fn from_buffer(basis: &Arc<RnsBasis>, level: usize, buf: Buffer) -> Self {
        Self {
            basis: Arc::clone(basis),
            level,
            buf,
            form: PhantomData,
        }
    }

    /// The backend buffer holding the limbs (read-only: for calling
    /// [`Backend`](crate::Backend) primitives directly, e.g. to time them).
    pub fn buffer(&self) -> &Buffer {
        &self.buf
    }

    /// The backend buffer, mutably.
    pub(crate) fn buffer_mut(&mut self) -> &mut Buffer {
        &mut self.buf
    }

    /// The backend that holds this polynomial.
    pub fn backend(&self) -> &dyn Backend {
        self.basis.backend().as_ref()
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

    /// The residues, limb-major (`level` limbs of `n`), copied to the host.
    /// Fails only when a device backend reports a failure.
    pub fn to_host(&self) -> Result<Vec<u64>, Error> {
        let mut v = self.backend().download(&self.buf)?;
        v.truncate(self.level * self.degree());
        Ok(v)
    }

    /// Fails unless `other` has the same basis and level.
    pub fn check_compatible(&self, other: &Self) -> Result<(), Error> {
        if !self.basis.same_ring(&other.basis) {
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

    /// `self += other`.
    pub fn add_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.check_compatible(other)?;
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .add(&basis, self.level, &mut self.buf, &other.buf);
        Ok(())
    }

    /// `self -= other`.
    pub fn sub_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.check_compatible(other)?;
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .sub(&basis, self.level, &mut self.buf, &other.buf);
        Ok(())
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self) {
        let basis = Arc::clone(&self.basis);
        basis.backend().neg(&basis, self.level, &mut self.buf);
    }

    /// `self *= c` for an integer constant `c` (reduced modulo each prime).
    pub fn mul_scalar_assign(&mut self, c: u64) {
        let consts: Vec<u64> = self.basis.moduli()[..self.level]
            .iter()
            .map(|m| m.reduce(c))
            .collect();
        self.mul_limb_constants(&consts);
    }

    /// `self_i *= c_i`: one constant per limb (`c_i < q_i`), e.g. `P mod q_i`.
    pub(crate) fn mul_limb_constants(&mut self, c: &[u64]) {
        debug_assert!(c.len() >= self.level);
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .mul_limb_constants(&basis, self.level, &mut self.buf, c);
    }

    /// Adds the signed integer `c` to every word of every limb: in NTT form,
    /// adds the constant polynomial `c` (no transform needed).
    pub(crate) fn add_constant_words(&mut self, c: i64) {
        let consts = signed_residues(&self.basis.moduli()[..self.level], c);
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .add_limb_constants(&basis, self.level, &mut self.buf, &consts);
    }

    /// `Σ_j c_j · x_j` for signed integer weights (reduced modulo each
    /// prime), in one lazily reduced pass ([`Backend::linear_combination`]).
    /// Every term must share this basis and level; works in either form.
    pub fn linear_combination(terms: &[(&Self, i64)]) -> Result<Self, Error> {
        let residues: Vec<Vec<u64>> = terms
            .iter()
            .map(|&(x, c)| signed_residues(&x.basis.moduli()[..x.level], c))
            .collect();
        Self::combine(
            terms
                .iter()
                .zip(&residues)
                .map(|(&(x, _), w)| (x, crate::backend::Weight::Scalar(w))),
        )
    }

    /// A whole linear layer: output `r` is `Σ c · inputs[j]` over the terms
    /// `(j, c)` of `rows[r]` (signed integer weights, reduced modulo each
    /// prime), in one backend call ([`Backend::linear_layer`]) that can keep
    /// the inputs cached across rows. Every input shares one basis and
    /// level; an empty row gives zero; works in either form.
    pub fn linear_layer(inputs: &[&Self], rows: &[&[(usize, i64)]]) -> Result<Vec<Self>, Error> {
        let Some(first) = inputs.first() else {
            return Err(Error::InvalidParameters(
                "a linear layer needs at least one input".into(),
            ));
        };
        for x in inputs {
            first.check_compatible(x)?;
        }
        let (basis, level) = (&first.basis, first.level);
        let moduli = &basis.moduli()[..level];
        let residues: Vec<Vec<Vec<u64>>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&(_, c)| signed_residues(moduli, c))
                    .collect()
            })
            .collect();
        let terms: Vec<Vec<crate::backend::LayerTerm<'_>>> = rows
            .iter()
            .zip(&residues)
            .map(|(row, res)| {
                row.iter()
                    .zip(res)
                    .map(|(&(j, _), r)| (j, r.as_slice()))
                    .collect()
            })
            .collect();
        let term_refs: Vec<&[crate::backend::LayerTerm<'_>]> =
            terms.iter().map(Vec::as_slice).collect();
        let buffers: Vec<&Buffer> = inputs.iter().map(|x| &x.buf).collect();
        Self::layer_outputs(basis, level, rows.len(), |outs| {
            basis
                .backend()
                .linear_layer(basis, level, &buffers, &term_refs, outs)
        })
    }

    /// `Σ_j x_j` with each term weighted as it says, in one backend call;
    /// the terms (and plaintext weights) share the first term's basis and level.
    fn combine<'a>(
        terms: impl Iterator<Item = (&'a Self, crate::backend::Weight<'a>)>,
    ) -> Result<Self, Error>
    where
        F: 'a,
    {
        let terms: Vec<(&Self, crate::backend::Weight<'_>)> = terms.collect();
        let Some(&(first, _)) = terms.first() else {
            return Err(Error::InvalidParameters(
                "a linear combination needs at least one term".into(),
            ));
        };
        for (x, _) in &terms {
            first.check_compatible(x)?;
        }
        let (basis, level) = (&first.basis, first.level);
        let buffers: Vec<(&Buffer, crate::backend::Weight<'_>)> =
            terms.iter().map(|&(x, w)| (&x.buf, w)).collect();
        Self::from_output_fallible(basis, level, |out| {
            basis
                .backend()
                .linear_combination(basis, level, &buffers, out)
        })
    }

    /// The same buffer as a polynomial of form `G` (after the caller transformed it).
    fn reinterpret<G: Form>(mut self) -> RnsPoly<G> {
        // `Self` implements Drop (buffer recycling), so move the buffer out.
        let buf = std::mem::replace(&mut self.buf, Buffer::host(Vec::new()));
        RnsPoly::from_buffer(&self.basis, self.level, buf)
    }

    /// Overwrites the buffer with zeros (for secret material being dropped).
    pub(crate) fn zeroize_data(&mut self) {
        self.basis.backend().zeroize(&mut self.buf);
    }

    /// A copy of the first `level` limbs only (cheaper than cloning and
    /// truncating when few limbs are kept).
    pub fn prefix(&self, level: usize) -> Result<Self, Error> {
        if level == 0 || level > self.level {
            return Err(Error::BadLevel {
                level,
                max: self.level,
            });
        }
        let n = self.degree();
        let backend = self.basis.backend();
        let mut buf = backend.scratch(level * n)?;
        backend.copy_limbs(n, &mut buf, 0, &self.buf, 0..level);
        Ok(Self::from_buffer(&self.basis, level, buf))
    }

    /// Keeps only the first `level` limbs (the residues modulo a divisor of Q).
    pub fn truncate_level(&mut self, level: usize) -> Result<(), Error> {
        if level == 0 || level > self.level {
            return Err(Error::BadLevel {
                level,
                max: self.level,
            });
        }
        let words = level * self.degree();
        self.basis.backend().truncate(&mut self.buf, words);
        self.level = level;
        Ok(())
    }
}

/// `c mod q_i` for each modulus, for a signed `c`.
pub(crate) fn signed_residues(moduli: &[hefty_ntt::Modulus], c: i64) -> Vec<u64> {
    moduli
        .iter()
        .map(|m| {
            let r = m.reduce(c.unsigned_abs());
            if c < 0 { m.neg(r) } else { r }
        })
        .collect()
}

impl RnsPoly<Coeff> {
    /// `self · x^k` in `Z_Q[x]/(x^n + 1)`: a negacyclic shift, coefficient `i`
    /// moving to `i + k` and changing sign each time it wraps past `x^n = -1`.
    /// O(n) per limb, no NTT (Algorithm 1 of Faster CryptoNets). Any `k`
    /// works (`x^(2n) = 1`).
    pub fn mul_monomial(&self, k: usize) -> Result<Self, Error> {
        let k = k % (2 * self.degree());
        Self::from_output(&self.basis, self.level, |out| {
            self.backend()
                .monomial(&self.basis, self.level, &self.buf, k, out)
        })
    }

    /// `self += c·x^k·src` for a signed integer `c` (reduced modulo each
    /// prime): one term of a sparse product, O(n) per limb, no NTT.
    pub fn monomial_mul_add(&mut self, src: &Self, c: i64, k: usize) -> Result<(), Error> {
        self.check_compatible(src)?;
        let k = k % (2 * self.degree());
        let consts = signed_residues(&self.basis.moduli()[..self.level], c);
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .monomial_mul_add(&basis, self.level, &mut self.buf, &src.buf, k, &consts);
        Ok(())
    }

    /// `Σ c·x^k·src` over `terms` (signed integers `c`, reduced modulo each
    /// prime; powers taken modulo `2n`, `x^n = -1`): a whole sum of
    /// monomial products in one backend call
    /// ([`Backend::monomial_combination`](crate::Backend::monomial_combination)),
    /// equal to a zero polynomial followed by [`Self::monomial_mul_add`]
    /// per term. Every source must match the first's basis and level.
    pub fn monomial_combination(terms: &[(&Self, i64, usize)]) -> Result<Self, Error> {
        let Some(&(first, _, _)) = terms.first() else {
            return Err(Error::InvalidParameters(
                "a monomial combination needs at least one term".into(),
            ));
        };
        for &(src, _, _) in terms {
            first.check_compatible(src)?;
        }
        let (basis, level) = (&first.basis, first.level);
        let n2 = 2 * basis.degree();
        let residues: Vec<Vec<u64>> = terms
            .iter()
            .map(|&(_, c, _)| signed_residues(&basis.moduli()[..level], c))
            .collect();
        let backend_terms: Vec<crate::backend::MonomialTerm<'_>> = terms
            .iter()
            .zip(&residues)
            .map(|(&(src, _, k), c)| (&src.buf, k % n2, c.as_slice()))
            .collect();
        Self::from_output_fallible(basis, level, |out| {
            basis
                .backend()
                .monomial_combination(basis, level, &backend_terms, out)
        })
    }

    /// A whole integer-encoded layer: output `r` is `Σ c·x^k·inputs[j]`
    /// over the terms `(j, c, k)` of `rows[r]`, as
    /// [`Self::monomial_combination`] per row but in one backend pass that
    /// keeps the inputs' words cached across rows
    /// ([`Backend::monomial_layer`](crate::Backend::monomial_layer)). An
    /// empty row gives zero; inputs must share one basis and level.
    pub fn monomial_layer(
        inputs: &[&Self],
        rows: &[&[(usize, i64, usize)]],
    ) -> Result<Vec<Self>, Error> {
        let Some(first) = inputs.first() else {
            return Err(Error::InvalidParameters(
                "a monomial layer needs at least one input".into(),
            ));
        };
        for x in inputs {
            first.check_compatible(x)?;
        }
        let (basis, level) = (&first.basis, first.level);
        let n2 = 2 * basis.degree();
        let residues: Vec<Vec<Vec<u64>>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&(_, c, _)| signed_residues(&basis.moduli()[..level], c))
                    .collect()
            })
            .collect();
        let terms: Vec<Vec<crate::backend::MonomialLayerTerm<'_>>> = rows
            .iter()
            .zip(&residues)
            .map(|(row, res)| {
                row.iter()
                    .zip(res)
                    .map(|(&(j, _, k), c)| (j, k % n2, c.as_slice()))
                    .collect()
            })
            .collect();
        let term_refs: Vec<&[crate::backend::MonomialLayerTerm<'_>]> =
            terms.iter().map(Vec::as_slice).collect();
        let buffers: Vec<&Buffer> = inputs.iter().map(|x| &x.buf).collect();
        Self::layer_outputs(basis, level, rows.len(), |outs| {
            basis
                .backend()
                .monomial_layer(basis, level, &buffers, &term_refs, outs)
        })
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
        Self::from_output(&self.basis, level - 1, |out| {
            self.backend()
                .divide_round_by_last(&self.basis, level, &self.buf, out)
        })
    }

    /// The exact lift of the centred representative to `to` (whose first
    /// `to_level` primes must be `lift`'s targets).
    pub(crate) fn exact_lift(
        &self,
        lift: &ExactLift,
        to: &Arc<RnsBasis>,
        to_level: usize,
    ) -> Result<Self, Error> {
        debug_assert_eq!(lift.to_moduli().len(), to_level);
        Self::from_output(to, to_level, |out| {
            self.backend()
                .exact_lift(self.degree(), lift, &self.buf, out)
        })
    }

    /// BFV's `round(t·self/Q) mod R` with `er` the same value modulo `R`:
    /// returned modulo `R` (the basis of `er`).
    pub(crate) fn scale_round(&self, er: &Self, consts: &ScaleRound) -> Result<Self, Error> {
        Self::from_output(&er.basis, er.level, |out| {
            self.backend()
                .scale_round(self.degree(), self.level, consts, &self.buf, &er.buf, out)
        })
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
        Self::from_raw(basis, level, data)
    }

    /// The coefficients as integers in `[0, Q_level)` (exact CRT).
    pub fn to_biguints(&self) -> Result<Vec<BigUint>, Error> {
        let n = self.degree();
        let data = self.to_host()?;
        Ok((0..n)
            .map(|j| {
                let residues: Vec<u64> = (0..self.level).map(|i| data[i * n + j]).collect();
                self.basis.compose(&residues, self.level)
            })
            .collect())
    }

    /// The coefficients as integers in `(-Q/2, Q/2]` (exact CRT).
    pub fn to_centered(&self) -> Result<Vec<BigInt>, Error> {
        let q = self.basis.product(self.level);
        let half = &q >> 1u32;
        Ok(self
            .to_biguints()?
            .into_iter()
            .map(|c| {
                if c > half {
                    BigInt::from_biguint(Sign::Minus, &q - c)
                } else {
                    BigInt::from_biguint(Sign::Plus, c)
                }
            })
            .collect())
    }

    /// Forward NTT of every limb (in parallel).
    pub fn into_ntt(mut self) -> RnsPoly<Ntt> {
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .ntt_forward(&basis, 0..self.level, &mut self.buf);
        self.reinterpret()
    }
}

impl RnsPoly<Ntt> {
    /// Inverse NTT of every limb (in parallel).
    pub fn into_coeff(mut self) -> RnsPoly<Coeff> {
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .ntt_inverse(&basis, 0..self.level, &mut self.buf);
        self.reinterpret()
    }

    /// `Σ_j w_j ⊙ x_j` with plaintext weights (pointwise), in one lazily
    /// reduced pass; every term and weight shares this basis and level.
    pub fn linear_combination_plain(terms: &[(&Self, &Self)]) -> Result<Self, Error> {
        for (x, w) in terms {
            x.check_compatible(w)?;
        }
        Self::combine(
            terms
                .iter()
                .map(|&(x, w)| (x, crate::backend::Weight::Plain(&w.buf))),
        )
    }

    /// `self *= other` pointwise: the negacyclic product.
    pub fn mul_assign(&mut self, other: &Self) -> Result<(), Error> {
        self.check_compatible(other)?;
        self.mul_prefix(other);
        Ok(())
    }

    /// `self *= b` pointwise over `self`'s limbs, where `b` (same basis) may
    /// hold more limbs: multiplies by a full-level key without copying it.
    pub(crate) fn mul_prefix(&mut self, b: &Self) {
        debug_assert!(self.basis.same_ring(&b.basis) && b.level >= self.level);
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .mul(&basis, self.level, &mut self.buf, &b.buf);
    }

    /// `self += a · b` pointwise over `self`'s limbs, where `b` (same basis)
    /// may hold more limbs: a key made for the full `Q` used at a lower level.
    pub(crate) fn mul_add_prefix(&mut self, a: &Self, b: &Self) {
        debug_assert!(self.basis.same_ring(&a.basis) && self.basis.same_ring(&b.basis));
        debug_assert!(a.level == self.level && b.level >= self.level);
        let basis = Arc::clone(&self.basis);
        basis
            .backend()
            .mul_add(&basis, self.level, &mut self.buf, &a.buf, &b.buf);
    }

    /// `self += a · b` pointwise (the inner products of tensoring and key switching).
    pub fn mul_add_assign(&mut self, a: &Self, b: &Self) -> Result<(), Error> {
        a.check_compatible(b)?;
        self.check_compatible(a)?;
        self.mul_add_prefix(a, b);
        Ok(())
    }
}
