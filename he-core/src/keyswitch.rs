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

use std::sync::Arc;

use hefty_ntt::{Modulus, ShoupConst};
use num_bigint::BigUint;

use crate::{BaseConverter, Coeff, Error, Ntt, RnsBasis, RnsPoly, Sampler, parallel};

/// One digit of a switching key: its parts modulo Q (full) and modulo P.
#[derive(Debug, Clone)]
struct KeyDigit {
    b_q: RnsPoly<Ntt>,
    a_q: RnsPoly<Ntt>,
    b_p: RnsPoly<Ntt>,
    a_p: RnsPoly<Ntt>,
}

/// A key that switches `d·s'` to an encryption under `s` (a relinearization
/// key has `s' = s²`, a Galois key `s' = σ_g(s)`).
#[derive(Debug, Clone)]
pub struct SwitchingKey {
    digits: Vec<KeyDigit>,
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
    /// Primes per digit.
    alpha: usize,
    /// `P mod q_i`.
    p_mod_q: Vec<u64>,
    /// `P^-1 mod q_i`.
    p_inv_mod_q: Vec<ShoupConst>,
    /// `[level - 1][digit]`: digit primes → the other primes of `Q_ℓ`, then `P`.
    mod_up: Vec<Vec<BaseConverter>>,
    /// `[level - 1]`: `P` → `Q_ℓ`.
    mod_down: Vec<BaseConverter>,
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
        let alpha = k.div_ceil(dnum);
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
        let mut p_inv_mod_q = Vec::with_capacity(k);
        for (m, &r) in q.moduli().iter().zip(&p_mod_q) {
            let inv = m.inv(r).ok_or_else(|| {
                Error::InvalidParameters("a special prime equals a ciphertext prime".into())
            })?;
            p_inv_mod_q.push(m.shoup(inv));
        }
        let mut mod_up = Vec::with_capacity(k);
        let mut mod_down = Vec::with_capacity(k);
        for level in 1..=k {
            let q_l = &q.moduli()[..level];
            let digits = (0..level.div_ceil(alpha))
                .map(|j| {
                    let range = j * alpha..((j + 1) * alpha).min(level);
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
            mod_up.push(digits);
            mod_down.push(BaseConverter::between(p.moduli(), q_l));
        }
        Ok(Self {
            q: Arc::clone(q),
            p: Arc::clone(p),
            alpha,
            p_mod_q,
            p_inv_mod_q,
            mod_up,
            mod_down,
        })
    }

    /// The number of digits at the top level.
    pub fn dnum(&self) -> usize {
        self.q.len().div_ceil(self.alpha)
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
        let digits = (0..self.dnum())
            .map(|j| {
                let range = j * self.alpha..((j + 1) * self.alpha).min(k);
                let a_q = sampler.uniform::<Ntt>(&self.q, k)?;
                let a_p = sampler.uniform::<Ntt>(&self.p, kp)?;
                let e = sampler.error(n);
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
                Ok(KeyDigit { b_q, a_q, b_p, a_p })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(SwitchingKey { digits })
    }

    /// Switches `d` (coefficient form at level `ℓ`): returns `(u_0, u_1)` at
    /// level `ℓ` with `u_0 + u_1·s ≈ d·s'`.
    pub fn switch(
        &self,
        d: &RnsPoly<Coeff>,
        key: &SwitchingKey,
    ) -> Result<(RnsPoly<Coeff>, RnsPoly<Coeff>), Error> {
        let decomposed = self.decompose(d)?;
        self.switch_decomposed(&decomposed, key, None)
    }

    /// The digits of `d` extended to `Q_ℓ ∪ P` in NTT form (ModUp): the part
    /// of key switching that depends only on `d`, shared by every rotation of
    /// one ciphertext (hoisting).
    pub fn decompose(&self, d: &RnsPoly<Coeff>) -> Result<Decomposition, Error> {
        if !Arc::ptr_eq(d.basis(), &self.q) {
            return Err(Error::BasisMismatch);
        }
        let (level, kp) = (d.level(), self.p.len());
        // ModUp of each digit is independent work.
        let digits: Vec<usize> = (0..self.mod_up[level - 1].len()).collect();
        let backend = self.q.backend();
        let digits = parallel::map(&digits, |&j| {
            let conv = &self.mod_up[level - 1][j];
            let range = j * self.alpha..((j + 1) * self.alpha).min(level);
            let (ext_q, ext_p) = backend.mod_up(&self.q, level, d.buffer(), range, conv);
            (
                RnsPoly::<Coeff>::from_buffer(&self.q, level, ext_q).into_ntt(),
                RnsPoly::<Coeff>::from_buffer(&self.p, kp, ext_p).into_ntt(),
            )
        });
        Ok(Decomposition { level, digits })
    }

    /// Finishes a switch from a [`Decomposition`] of `d`: the key inner
    /// product and ModDown. With `perm` (an [`ntt_galois_permutation`]) the
    /// digits are first permuted, which switches `σ_g(d)` instead: a hoisted
    /// rotation. (`σ_g` commutes with base extension up to the `α·Q`
    /// overflow key switching already tolerates.)
    ///
    /// [`ntt_galois_permutation`]: crate::ntt_galois_permutation
    pub fn switch_decomposed(
        &self,
        dec: &Decomposition,
        key: &SwitchingKey,
        perm: Option<&[usize]>,
    ) -> Result<(RnsPoly<Coeff>, RnsPoly<Coeff>), Error> {
        let (level, kp) = (dec.level, self.p.len());
        if key.digits.len() < dec.digits.len() {
            return Err(Error::InvalidParameters(
                "the switching key has fewer digits than the decomposition: it belongs to other parameters".into(),
            ));
        }
        let mut acc_q = [
            RnsPoly::<Ntt>::zero(&self.q, level)?,
            RnsPoly::<Ntt>::zero(&self.q, level)?,
        ];
        let mut acc_p = [
            RnsPoly::<Ntt>::zero(&self.p, kp)?,
            RnsPoly::<Ntt>::zero(&self.p, kp)?,
        ];
        for ((ext_q, ext_p), digit_key) in dec.digits.iter().zip(&key.digits) {
            let permuted;
            let (ext_q, ext_p) = match perm {
                Some(perm) => {
                    permuted = (ext_q.permute(perm)?, ext_p.permute(perm)?);
                    (&permuted.0, &permuted.1)
                }
                None => (ext_q, ext_p),
            };
            acc_q[0].mul_add_prefix(ext_q, &digit_key.b_q);
            acc_q[1].mul_add_prefix(ext_q, &digit_key.a_q);
            acc_p[0].mul_add_prefix(ext_p, &digit_key.b_p);
            acc_p[1].mul_add_prefix(ext_p, &digit_key.a_p);
        }
        let [q0, q1] = acc_q;
        let [p0, p1] = acc_p;
        Ok(parallel::join(
            || self.mod_down(q0, p0, level),
            || self.mod_down(q1, p1, level),
        ))
    }

    /// `round(u / P)` at level `ℓ` from `u`'s parts modulo `Q_ℓ` and `P`.
    fn mod_down(&self, u_q: RnsPoly<Ntt>, u_p: RnsPoly<Ntt>, level: usize) -> RnsPoly<Coeff> {
        let u_p = u_p.into_coeff();
        let mut out = u_q.into_coeff();
        self.q.backend().mod_down(
            &self.q,
            level,
            out.buffer_mut(),
            u_p.buffer(),
            &self.mod_down[level - 1],
            &self.p_inv_mod_q,
        );
        out
    }
}
