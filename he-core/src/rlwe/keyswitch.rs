//! Hybrid key switching (RNS digit decomposition with special primes P),
//! shared by relinearization and rotations of BFV and CKKS.
//!
//! To turn `d·s'` into an encryption under `s`, `d` (modulo `Q_ℓ`) is cut
//! into `dnum` digits, each the residues modulo a group `D_j` of consecutive
//! ciphertext primes. Each digit is extended to `Q_ℓ ∪ P` by fast base
//! conversion (ModUp) and multiplied by the key's digit
//! `(b_j, a_j) = (-a_j·s + e_j + P·g_j·s', a_j)` with the gadget
//! `g_j = (Q/D_j)·[(Q/D_j)^-1]_{D_j}`, which is 1 modulo the primes of `D_j` and
//! 0 modulo the others. The sum is divided by `P` with rounding (ModDown).
//! Keys are made once for the full `Q`; at level `ℓ` the same keys serve,
//! restricted to the primes of `Q_ℓ`.

use std::ops::Range;
use std::sync::Arc;

use hefty_ntt::Modulus;
use num_bigint::BigUint;

use crate::backend::independent as parallel;
use crate::ring::{GaloisPermutation, RoundingDivider};
use crate::{BaseConverter, Coeff, Error, Ntt, RnsBasis, RnsPoly, Sampler};

/// One digit of a switching key: its parts modulo Q (full) and modulo P.
/// `a` (both parts) is expanded from `seed`, so serialization stores the
/// seed instead of half the key.
#[derive(Debug, Clone)]
pub(crate) struct KeyDigit {
    pub(crate) b_q: RnsPoly<Ntt>,
    pub(crate) a_q: RnsPoly<Ntt>,
    pub(crate) b_p: RnsPoly<Ntt>,
    pub(crate) a_p: RnsPoly<Ntt>,
    pub(crate) seed: [u8; 32],
}

/// A key that switches `d·s'` to an encryption under `s` (a relinearization
/// key has `s' = s²`, a Galois key `s' = σ_g(s)`).
#[derive(Debug, Clone)]
pub struct SwitchingKey {
    pub(crate) digits: Vec<KeyDigit>,
}

impl SwitchingKey {
    /// The number of digits.
    pub fn dnum(&self) -> usize {
        self.digits.len()
    }

    /// Digit `j` as `[b mod Q, a mod Q, b mod P, a mod P]` (NTT form, full
    /// level): what a backend that fuses key switching reads.
    pub fn digit(&self, j: usize) -> Option<[&RnsPoly<Ntt>; 4]> {
        self.digits.get(j).map(|d| [&d.b_q, &d.a_q, &d.b_p, &d.a_p])
    }
}

/// The inner product of a decomposition with a key: `([u_0, u_1] mod Q_ℓ,
/// [u_0, u_1] mod P)`, NTT form.
pub(crate) type KeyProduct = ([RnsPoly<Ntt>; 2], [RnsPoly<Ntt>; 2]);

/// The backend buffers of some polynomials.
fn buffers<'a>(polys: impl Iterator<Item = &'a RnsPoly<Ntt>>) -> Vec<&'a crate::Buffer> {
    polys.map(RnsPoly::buffer).collect()
}

/// The parts below `level` of the top-level digit ranges.
fn digits_at(digits: &[Range<usize>], level: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    digits
        .iter()
        .filter(move |r| r.start < level)
        .map(move |r| r.start..r.end.min(level))
}

/// The digits of one polynomial extended for key switching (see
/// [`KeySwitcher::decompose`]).
#[derive(Debug)]
pub struct Decomposition {
    level: usize,
    digits: Vec<(RnsPoly<Ntt>, RnsPoly<Ntt>)>,
}

impl Decomposition {
    /// The level of the decomposed polynomial.
    pub fn level(&self) -> usize {
        self.level
    }
}

/// The precomputation of key switching for one pair of bases `Q`, `P`.
#[derive(Debug)]
pub struct KeySwitcher {
    q: Arc<RnsBasis>,
    p: Arc<RnsBasis>,
    /// The digits at the top level: consecutive ranges of ciphertext primes
    /// (at level `ℓ`, their parts below `ℓ`).
    digits: Vec<Range<usize>>,
    /// `P mod q_i`.
    p_mod_q: Vec<u64>,
    /// `[level - 1][digit]`: digit primes → the other primes of `Q_ℓ`, then `P`.
    mod_up: Vec<Vec<BaseConverter>>,
    /// Exact, rounding division by `P` (ModDown).
    divide_by_p: RoundingDivider,
}

/// The sizes of [`KeySwitcher::new`]'s `dnum` digits over `k` primes:
/// `⌈k/dnum⌉` consecutive primes each, the last one shorter.
fn uniform_digits(k: usize, dnum: usize) -> Vec<usize> {
    let alpha = k.div_ceil(dnum);
    (0..k.div_ceil(alpha))
        .map(|j| alpha.min(k - j * alpha))
        .collect()
}

impl KeySwitcher {
    /// Key switching between ciphertext basis `q` and special basis `p`, with
    /// `dnum` digits of `ceil(len(q) / dnum)` primes each.
    ///
    /// Noise stays small when `P` exceeds every digit's product; with special
    /// primes as large as the ciphertext primes that means `dnum >= len(q) / len(p)`.
    pub fn new(q: &Arc<RnsBasis>, p: &Arc<RnsBasis>, dnum: usize) -> Result<Self, Error> {
        let k = q.len();
        if dnum == 0 || dnum > k {
            return Err(Error::InvalidParameters(format!(
                "dnum = {dnum} must be between 1 and the number of ciphertext primes ({k})"
            )));
        }
        Self::with_digit_sizes(q, p, &uniform_digits(k, dnum))
    }

    /// The fewest digits `dnum` for [`Self::new`] whose every digit — the
    /// product of its primes, `prime_bits` giving each prime's `log2` in
    /// basis order — stays within `max_digit_bits`; one prime per digit if
    /// none does. Fewer digits mean fewer base extensions per key switch;
    /// the noise a switch adds grows with the digit over `P`, so the caller
    /// sets the limit from what its circuit tolerates.
    ///
    /// ```
    /// use hefty_core::rlwe::KeySwitcher;
    /// // Four primes of 43–44 bits, digits up to 89 bits: two of two primes.
    /// assert_eq!(KeySwitcher::fewest_digits(&[43.0, 43.0, 44.0, 44.0], 89.0), 2);
    /// assert_eq!(KeySwitcher::fewest_digits(&[43.0, 43.0, 44.0, 44.0], 50.0), 4);
    /// ```
    pub fn fewest_digits(prime_bits: &[f64], max_digit_bits: f64) -> usize {
        let k = prime_bits.len();
        (1..=k)
            .find(|&dnum| {
                let mut start = 0;
                uniform_digits(k, dnum).iter().all(|&size| {
                    let bits: f64 = prime_bits[start..start + size].iter().sum();
                    start += size;
                    bits <= max_digit_bits
                })
            })
            .unwrap_or(k)
    }

    /// Key switching with digits of the given sizes (consecutive ciphertext
    /// primes, in order; the sizes add up to `len(q)`). Uneven digits let a
    /// large first prime sit alone while the scale primes pair up below `P`.
    pub fn with_digit_sizes(
        q: &Arc<RnsBasis>,
        p: &Arc<RnsBasis>,
        sizes: &[usize],
    ) -> Result<Self, Error> {
        let k = q.len();
        if sizes.contains(&0) || sizes.iter().sum::<usize>() != k {
            return Err(Error::InvalidParameters(format!(
                "digit sizes {sizes:?} must be positive and add up to the number of ciphertext primes ({k})"
            )));
        }
        if p.degree() != q.degree() {
            return Err(Error::InvalidParameters(
                "special and ciphertext bases have different degrees".into(),
            ));
        }
        if !crate::backend::same_backend(q, p) {
            return Err(Error::InvalidParameters(
                "special and ciphertext bases use different backends".into(),
            ));
        }
        let mut digits = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &size in sizes {
            digits.push(start..start + size);
            start += size;
        }
        let p_big: BigUint = p
            .moduli()
            .iter()
            .map(|m| BigUint::from(m.value()))
            .product();
        let first = |x: BigUint| x.to_u64_digits().first().copied().unwrap_or(0);
        let p_mod_q: Vec<u64> = q
            .moduli()
            .iter()
            .map(|m| first(&p_big % m.value()))
            .collect();
        if let Some(m) = q.moduli().iter().zip(&p_mod_q).find(|(_, r)| **r == 0) {
            return Err(Error::InvalidParameters(format!(
                "special prime equals ciphertext prime {}",
                m.0.value()
            )));
        }
        let mut mod_up = Vec::with_capacity(k);
        for level in 1..=k {
            let q_l = &q.moduli()[..level];
            let convs = digits_at(&digits, level)
                .map(|range| {
                    let targets: Vec<Modulus> = q_l
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !range.contains(i))
                        .map(|(_, m)| *m)
                        .chain(p.moduli().iter().copied())
                        .collect();
                    BaseConverter::between(&q_l[range], &targets)
                })
                .collect();
            mod_up.push(convs);
        }
        Ok(Self {
            q: Arc::clone(q),
            p: Arc::clone(p),
            digits,
            p_mod_q,
            mod_up,
            divide_by_p: RoundingDivider::new(q, Some(p), 0),
        })
    }

    /// The special basis `P`.
    pub fn special_basis(&self) -> &Arc<RnsBasis> {
        &self.p
    }

    /// `P mod q_i` for every ciphertext prime.
    pub fn p_mod_q(&self) -> &[u64] {
        &self.p_mod_q
    }

    /// Exact, rounding division by `P` (ModDown).
    pub fn divide_by_p(&self) -> &RoundingDivider {
        &self.divide_by_p
    }

    /// The digits at `level`: consecutive ranges of ciphertext primes (for
    /// a backend that fuses ModUp).
    pub fn digits_at(&self, level: usize) -> Vec<Range<usize>> {
        digits_at(&self.digits, level).collect()
    }

    /// The ModUp table of digit `j` at `level`: its primes → the other
    /// primes of `Q_ℓ`, then `P` (`None` outside the chain).
    pub fn mod_up_table(&self, level: usize, j: usize) -> Option<&BaseConverter> {
        self.mod_up.get(level.checked_sub(1)?)?.get(j)
    }

    /// The sizes of the digits at the top level.
    pub fn digit_sizes(&self) -> Vec<usize> {
        self.digits.iter().map(Range::len).collect()
    }

    /// The number of digits at the top level.
    pub fn dnum(&self) -> usize {
        self.digits.len()
    }

    /// A key switching from `s_from` to `s` (both given by their small signed
    /// coefficients).
    pub fn generate(
        &self,
        s: &[i64],
        s_from: &[i64],
        sampler: &mut Sampler,
    ) -> Result<SwitchingKey, Error> {
        let (k, kp, n) = (self.q.len(), self.p.len(), self.q.degree());
        let s_q = RnsPoly::from_i64(&self.q, k, s)?.into_ntt();
        let s_p = RnsPoly::from_i64(&self.p, kp, s)?.into_ntt();
        let from_q = RnsPoly::from_i64(&self.q, k, s_from)?.into_ntt();
        let digits = self
            .digits
            .iter()
            .map(|range| {
                let seed = sampler.seed();
                let (a_q, a_p) = self.expand_a(seed)?;
                let e = sampler.error(n)?;
                let mut b_q = a_q.clone();
                b_q.mul_assign(&s_q)?;
                b_q.neg_assign();
                b_q.add_assign(&RnsPoly::from_i64(&self.q, k, &e)?.into_ntt())?;
                // + P·g_j·s': (P mod q_i)·s' on the digit's primes, 0 elsewhere.
                let mut gadget = from_q.clone();
                let factors: Vec<u64> = (0..k)
                    .map(|i| {
                        if range.contains(&i) {
                            self.p_mod_q[i]
                        } else {
                            0
                        }
                    })
                    .collect();
                gadget.mul_limb_constants(&factors);
                b_q.add_assign(&gadget)?;
                let mut b_p = a_p.clone();
                b_p.mul_assign(&s_p)?;
                b_p.neg_assign();
                b_p.add_assign(&RnsPoly::from_i64(&self.p, kp, &e)?.into_ntt())?;
                Ok(KeyDigit {
                    b_q,
                    a_q,
                    b_p,
                    a_p,
                    seed,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(SwitchingKey { digits })
    }

    /// The uniform half `(a mod Q, a mod P)` of a key digit, from its seed.
    pub(crate) fn expand_a(&self, seed: [u8; 32]) -> Result<(RnsPoly<Ntt>, RnsPoly<Ntt>), Error> {
        let mut rng = Sampler::from_seed(seed);
        let a_q = rng.uniform::<Ntt>(&self.q, self.q.len())?;
        let a_p = rng.uniform::<Ntt>(&self.p, self.p.len())?;
        Ok((a_q, a_p))
    }

    /// The ciphertext basis `Q`.
    pub(crate) fn ciphertext_basis(&self) -> &Arc<RnsBasis> {
        &self.q
    }

    /// Switches `d` (at level `ℓ`, either form): returns `(u_0, u_1)` at
    /// level `ℓ`, in `d`'s form, with `u_0 + u_1·s ≈ d·s'`.
    pub fn switch<F: SwitchForm>(
        &self,
        d: &RnsPoly<F>,
        key: &SwitchingKey,
    ) -> Result<(RnsPoly<F>, RnsPoly<F>), Error> {
        let [u0, u1] = compose::key_switch(self, d, key)?;
        Ok((u0, u1))
    }

    /// The digits of `d` extended to `Q_ℓ ∪ P` in NTT form (ModUp): the part
    /// of key switching that depends only on `d`, shared by every rotation of
    /// one ciphertext (hoisting). For `d` in NTT form each digit's own limbs
    /// are taken as they are, so only the limbs it is extended to are
    /// transformed.
    pub fn decompose<F: SwitchForm>(&self, d: &RnsPoly<F>) -> Result<Decomposition, Error> {
        if !d.basis().same_ring(&self.q) {
            return Err(Error::BasisMismatch);
        }
        F::decompose(self, d)
    }

    fn decompose_with(
        &self,
        d: &RnsPoly<Coeff>,
        d_ntt: Option<&RnsPoly<Ntt>>,
    ) -> Result<Decomposition, Error> {
        let (level, kp, n) = (d.level(), self.p.len(), self.q.degree());
        let ranges: Vec<Range<usize>> = digits_at(&self.digits, level).collect();
        let indices: Vec<usize> = (0..ranges.len()).collect();
        let backend = self.q.backend().as_ref();
        // ModUp of each digit is independent work.
        let digits = parallel::map(backend, &indices, |&j| {
            let (conv, range) = (&self.mod_up[level - 1][j], ranges[j].clone());
            let mut ext_q = backend.scratch(level * n)?;
            let mut ext_p = backend.scratch(kp * n)?;
            backend.mod_up(
                &self.q,
                level,
                d.buffer(),
                range.clone(),
                conv,
                &mut ext_q,
                &mut ext_p,
            );
            match d_ntt {
                Some(d_ntt) => {
                    // The digit's own limbs are d's, already in NTT form.
                    backend.copy_limbs(n, &mut ext_q, range.start, d_ntt.buffer(), range.clone());
                    backend.ntt_forward(&self.q, 0..range.start, &mut ext_q);
                    backend.ntt_forward(&self.q, range.end..level, &mut ext_q);
                }
                None => backend.ntt_forward(&self.q, 0..level, &mut ext_q),
            }
            Ok((
                RnsPoly::<Ntt>::from_buffer(&self.q, level, ext_q),
                RnsPoly::<Coeff>::from_buffer(&self.p, kp, ext_p).into_ntt(),
            ))
        })
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?;
        Ok(Decomposition { level, digits })
    }

    /// Finishes a switch from a [`Decomposition`] of `d`: the key inner
    /// product and ModDown, results in the form `F` asked for. With `perm`
    /// the digits are first permuted, which switches `σ_g(d)` instead: a
    /// hoisted rotation. (`σ_g` commutes with base extension up to the `α·Q`
    /// overflow key switching already tolerates.)
    pub fn switch_decomposed<F: SwitchForm>(
        &self,
        dec: &Decomposition,
        key: &SwitchingKey,
        perm: Option<&GaloisPermutation>,
    ) -> Result<(RnsPoly<F>, RnsPoly<F>), Error> {
        let [u0, u1] = self.mod_down(self.inner_product(dec, key, perm)?, None)?;
        Ok((u0, u1))
    }

    /// ModDown of a key product, for both polynomials: `round(u / P)` — or,
    /// with `fold = (d, divider)`, `round((u + P·d) / (P·D))` where the
    /// divider drops `D` as well (relinearize and rescale in one division).
    /// The one place key switching divides by `P`; the output form is `F`'s.
    pub(crate) fn mod_down<F: SwitchForm>(
        &self,
        product: KeyProduct,
        fold: Option<([RnsPoly<Ntt>; 2], &RoundingDivider)>,
    ) -> Result<[RnsPoly<F>; 2], Error> {
        let ([q0, q1], [p0, p1]) = product;
        let (d, divider) = match fold {
            Some(([d0, d1], divider)) => ([Some(d0), Some(d1)], divider),
            None => ([None, None], &self.divide_by_p),
        };
        let [d0, d1] = d;
        let finish = |mut u_q: RnsPoly<Ntt>, u_p: RnsPoly<Ntt>, d: Option<RnsPoly<Ntt>>| {
            if let Some(mut d) = d {
                d.mul_limb_constants(&self.p_mod_q);
                u_q.add_assign(&d)?;
            }
            F::divide(divider, u_q, u_p)
        };
        let (u0, u1) = parallel::join(
            self.q.backend().as_ref(),
            || finish(q0, p0, d0),
            || finish(q1, p1, d1),
        );
        Ok([u0?, u1?])
    }

    /// The key inner product `Σ_j ext_j · key_j` over `Q_ℓ` and `P` (NTT
    /// form), before any division by `P`: the two polynomials' `Q_ℓ` parts,
    /// then their `P` parts.
    pub(crate) fn inner_product(
        &self,
        dec: &Decomposition,
        key: &SwitchingKey,
        perm: Option<&GaloisPermutation>,
    ) -> Result<KeyProduct, Error> {
        let (level, kp) = (dec.level, self.p.len());
        if key.digits.len() < dec.digits.len() {
            return Err(Error::InvalidParameters(
                "the switching key has fewer digits than the decomposition: it belongs to other parameters".into(),
            ));
        }
        let permuted: Vec<(RnsPoly<Ntt>, RnsPoly<Ntt>)>;
        let digits = match perm {
            Some(perm) => {
                permuted = dec
                    .digits
                    .iter()
                    .map(|(q, p)| Ok((q.permute(perm)?, p.permute(perm)?)))
                    .collect::<Result<_, Error>>()?;
                &permuted
            }
            None => &dec.digits,
        };
        let keys = &key.digits[..digits.len()];
        let product = |basis: &Arc<RnsBasis>,
                       level: usize,
                       ext: Vec<&crate::Buffer>,
                       key_b: Vec<&crate::Buffer>,
                       key_a: Vec<&crate::Buffer>| {
            let backend = basis.backend();
            let words = level * basis.degree();
            let (mut b, mut a) = (backend.scratch(words)?, backend.scratch(words)?);
            backend.key_inner_product(basis, level, &ext, &key_b, &key_a, &mut b, &mut a);
            Ok::<_, Error>([
                RnsPoly::<Ntt>::from_buffer(basis, level, b),
                RnsPoly::<Ntt>::from_buffer(basis, level, a),
            ])
        };
        let acc_q = product(
            &self.q,
            level,
            buffers(digits.iter().map(|d| &d.0)),
            buffers(keys.iter().map(|k| &k.b_q)),
            buffers(keys.iter().map(|k| &k.a_q)),
        )?;
        let acc_p = product(
            &self.p,
            kp,
            buffers(digits.iter().map(|d| &d.1)),
            buffers(keys.iter().map(|k| &k.b_p)),
            buffers(keys.iter().map(|k| &k.a_p)),
        )?;
        Ok((acc_q, acc_p))
    }
}

/// A form key switching takes its input in and hands its results back in
/// (both of them: [`Coeff`] for BFV, [`Ntt`] for CKKS). ModUp starts from
/// it and ModDown divides in it ([`RoundingDivider`]), so neither pays NTTs
/// it would undo. Implemented for the two forms only ([`crate::Form`] is
/// sealed).
pub trait SwitchForm: crate::Form + Sized {
    /// ModUp of `d`, whose basis the caller has checked.
    #[doc(hidden)]
    fn decompose(switcher: &KeySwitcher, d: &RnsPoly<Self>) -> Result<Decomposition, Error>;

    /// `round(u / D)` (`u` given modulo `Q_ℓ` and `P`, NTT form).
    #[doc(hidden)]
    fn divide(
        divider: &RoundingDivider,
        u_q: RnsPoly<Ntt>,
        u_p: RnsPoly<Ntt>,
    ) -> Result<RnsPoly<Self>, Error>;
}

impl SwitchForm for Ntt {
    fn decompose(switcher: &KeySwitcher, d: &RnsPoly<Ntt>) -> Result<Decomposition, Error> {
        switcher.decompose_with(&d.try_clone()?.into_coeff(), Some(d))
    }

    fn divide(
        divider: &RoundingDivider,
        u_q: RnsPoly<Ntt>,
        u_p: RnsPoly<Ntt>,
    ) -> Result<RnsPoly<Ntt>, Error> {
        divider.divide_ntt(u_q, Some(u_p))
    }
}

impl SwitchForm for Coeff {
    fn decompose(switcher: &KeySwitcher, d: &RnsPoly<Coeff>) -> Result<Decomposition, Error> {
        switcher.decompose_with(d, None)
    }

    fn divide(
        divider: &RoundingDivider,
        u_q: RnsPoly<Ntt>,
        u_p: RnsPoly<Ntt>,
    ) -> Result<RnsPoly<Coeff>, Error> {
        divider.divide_coeff(u_q.into_coeff(), Some(u_p.into_coeff()))
    }
}

/// The default implementations of the Backend's coarse entry points,
/// composed from its fine primitives (through [`RnsPoly`] and the tables).
pub(crate) mod compose {
    use super::*;
    use crate::{Backend, Buffer};

    /// See [`Backend::key_switch`](crate::Backend::key_switch) and
    /// [`Backend::key_switch_coeff`](crate::Backend::key_switch_coeff).
    pub(crate) fn key_switch<F: SwitchForm>(
        switcher: &KeySwitcher,
        d: &RnsPoly<F>,
        key: &SwitchingKey,
    ) -> Result<[RnsPoly<F>; 2], Error> {
        let dec = switcher.decompose(d)?;
        switcher.mod_down(switcher.inner_product(&dec, key, None)?, None)
    }

    /// The tensor `(a_0·b_0, a_0·b_1 + a_1·b_0, a_1·b_1)` of two
    /// two-polynomial NTT-form ciphertexts (pointwise).
    pub(crate) fn tensor(
        [a0, a1]: [&RnsPoly<Ntt>; 2],
        [b0, b1]: [&RnsPoly<Ntt>; 2],
    ) -> Result<[RnsPoly<Ntt>; 3], Error> {
        three_outputs(a0, [a1, b0, b1], |backend, basis, level, d| {
            backend.tensor(
                basis,
                level,
                [a0.buffer(), a1.buffer()],
                [b0.buffer(), b1.buffer()],
                d,
            );
            Ok(())
        })
    }

    /// The tensor of `u + m·v` and `u − m·v` (pointwise, NTT form): see
    /// [`Backend::tensor_pair`](crate::Backend::tensor_pair).
    pub(crate) fn tensor_pair(
        [u0, u1]: [&RnsPoly<Ntt>; 2],
        [v0, v1]: [&RnsPoly<Ntt>; 2],
        m: &RnsPoly<Ntt>,
    ) -> Result<[RnsPoly<Ntt>; 3], Error> {
        three_outputs(u0, [u1, v0, v1, m], |backend, basis, level, d| {
            backend.tensor_pair(
                basis,
                level,
                [u0.buffer(), u1.buffer()],
                [v0.buffer(), v1.buffer()],
                m.buffer(),
                d,
            )
        })
    }

    /// Three polynomials of `first`'s basis and level written by `fill`,
    /// once `first` and every one of `others` are checked compatible.
    fn three_outputs<const K: usize>(
        first: &RnsPoly<Ntt>,
        others: [&RnsPoly<Ntt>; K],
        fill: impl FnOnce(&dyn Backend, &RnsBasis, usize, [&mut Buffer; 3]) -> Result<(), Error>,
    ) -> Result<[RnsPoly<Ntt>; 3], Error> {
        for x in others {
            first.check_compatible(x)?;
        }
        let (basis, level) = (first.basis(), first.level());
        let backend = basis.backend();
        let words = level * basis.degree();
        let mut d = [
            backend.scratch(words)?,
            backend.scratch(words)?,
            backend.scratch(words)?,
        ];
        let [d0, d1, d2] = &mut d;
        fill(backend.as_ref(), basis, level, [d0, d1, d2])?;
        Ok(d.map(|buf| RnsPoly::<Ntt>::from_buffer(basis, level, buf)))
    }

    /// See [`Backend::rotate`](crate::Backend::rotate).
    pub(crate) fn rotate(
        switcher: &KeySwitcher,
        [c0, c1]: [&RnsPoly<Ntt>; 2],
        key: &SwitchingKey,
        perm: &GaloisPermutation,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        let mut c0 = c0.permute(perm)?;
        let c1 = c1.permute(perm)?;
        let [u0, u1] = key_switch(switcher, &c1, key)?;
        drop(c1);
        c0.add_assign(&u0)?;
        Ok([c0, u1])
    }

    /// See [`Backend::rotate_hoisted`](crate::Backend::rotate_hoisted).
    pub(crate) fn rotate_hoisted(
        switcher: &KeySwitcher,
        [c0, c1]: [&RnsPoly<Ntt>; 2],
        keys: &[(&SwitchingKey, &GaloisPermutation)],
    ) -> Result<Vec<[RnsPoly<Ntt>; 2]>, Error> {
        let dec = switcher.decompose(c1)?;
        parallel::map(switcher.q.backend().as_ref(), keys, |&(key, perm)| {
            let [u0, u1] =
                switcher.mod_down(switcher.inner_product(&dec, key, Some(perm))?, None)?;
            let mut c0 = c0.permute(perm)?;
            c0.add_assign(&u0)?;
            Ok([c0, u1])
        })
        .into_iter()
        .collect()
    }

    /// See [`Backend::mul_relin`](crate::Backend::mul_relin).
    pub(crate) fn mul_relin(
        switcher: &KeySwitcher,
        a: [&RnsPoly<Ntt>; 2],
        b: [&RnsPoly<Ntt>; 2],
        key: &SwitchingKey,
        rescale: Option<&RoundingDivider>,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        relinearize(switcher, tensor(a, b)?, key, rescale)
    }

    /// See [`Backend::relinearize`](crate::Backend::relinearize).
    pub(crate) fn relinearize(
        switcher: &KeySwitcher,
        [mut d0, mut d1, d2]: [RnsPoly<Ntt>; 3],
        key: &SwitchingKey,
        rescale: Option<&RoundingDivider>,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        let dec = switcher.decompose(&d2)?;
        drop(d2);
        let product = switcher.inner_product(&dec, key, None)?;
        drop(dec);
        match rescale {
            // round((P·d_i + u_i) / (P·q_ℓ)): ModDown and rescale in one division.
            Some(divider) => switcher.mod_down(product, Some(([d0, d1], divider))),
            None => {
                let [u0, u1] = switcher.mod_down::<Ntt>(product, None)?;
                d0.add_assign(&u0)?;
                d1.add_assign(&u1)?;
                Ok([d0, d1])
            }
        }
    }
}
