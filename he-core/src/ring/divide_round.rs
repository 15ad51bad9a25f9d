//! Division with rounding by dropped primes: CKKS rescaling, the ModDown of
//! key switching, and both at once, for polynomials in NTT or coefficient
//! form.
//!
//! `u` is given modulo `Q_ℓ` (and, optionally, the special primes `P`); `D`
//! is the product of the last `r` primes of `Q_ℓ` (times `P`). The result is
//! `round(u / D)` modulo `Q_{ℓ-r}`, computed as `(u - [u]_D)·D^-1` where
//! `[u]_D` is the *centred* remainder lifted exactly ([`ExactLift`]): no
//! `α·D` overflow of fast base conversion, no bias of a floor. Only the
//! dropped limbs change form (an NTT-form input pays `r + |P|` inverse and
//! `ℓ - r` forward NTTs), which is why dividing by `P·q_ℓ` in one step after
//! a relinearization saves the `ℓ` forward NTTs of a separate ModDown.

use std::sync::Arc;

use hefty_ntt::{Modulus, ShoupConst};

use crate::ring::exact_lift::{product, small};
use crate::{Coeff, Error, ExactLift, Ntt, RnsBasis, RnsPoly};

/// The constants of one input level.
#[derive(Debug)]
struct LevelConsts {
    lift: ExactLift,
    /// `D^-1 mod q_i` for the kept primes.
    d_inv: Vec<ShoupConst>,
}

/// Divides by the last `r` primes of the level (and by `P`) with rounding.
#[derive(Debug)]
pub struct RoundingDivider {
    q: Arc<RnsBasis>,
    p: Option<Arc<RnsBasis>>,
    r: usize,
    /// Indexed by input level; `None` where nothing would be kept.
    levels: Vec<Option<LevelConsts>>,
}

impl RoundingDivider {
    /// A divider by the last `r` primes of `Q_ℓ` (at every level `ℓ > r`)
    /// times the primes of `p`.
    pub(crate) fn new(q: &Arc<RnsBasis>, p: Option<&Arc<RnsBasis>>, r: usize) -> Self {
        let special: &[Modulus] = p.map_or(&[], |p| p.moduli());
        assert!(
            r > 0 || !special.is_empty(),
            "a divider drops at least one prime"
        );
        let levels = (0..=q.len())
            .map(|level| {
                if level <= r {
                    return None;
                }
                let keep = &q.moduli()[..level - r];
                let dropped: Vec<Modulus> = q.moduli()[level - r..level]
                    .iter()
                    .chain(special)
                    .copied()
                    .collect();
                let d = product(&dropped);
                let d_inv = keep
                    .iter()
                    .map(|m| {
                        m.shoup(
                            m.inv(small(&(&d % m.value())))
                                .expect("dropped and kept primes are distinct"),
                        )
                    })
                    .collect();
                Some(LevelConsts {
                    lift: ExactLift::new(&dropped, keep),
                    d_inv,
                })
            })
            .collect();
        Self {
            q: Arc::clone(q),
            p: p.map(Arc::clone),
            r,
            levels,
        }
    }

    fn consts(&self, u_q: &RnsPoly<impl crate::Form>, has_p: bool) -> Result<&LevelConsts, Error> {
        if !u_q.basis().same_ring(&self.q) || has_p != self.p.is_some() {
            return Err(Error::BasisMismatch);
        }
        self.levels
            .get(u_q.level())
            .and_then(Option::as_ref)
            .ok_or(Error::OutOfLevels {
                level: u_q.level(),
                min: self.r + 1,
            })
    }

    /// `round(u / D)` for `u` in NTT form (its `Q_ℓ` part and, when the
    /// divider has special primes, its `P` part); the result is in NTT form.
    pub fn divide_ntt(
        &self,
        mut u_q: RnsPoly<Ntt>,
        mut u_p: Option<RnsPoly<Ntt>>,
    ) -> Result<RnsPoly<Ntt>, Error> {
        let consts = self.consts(&u_q, u_p.is_some())?;
        let (level, backend) = (u_q.level(), self.q.backend());
        backend.ntt_inverse(&self.q, level - self.r..level, u_q.buffer_mut());
        if let (Some(u_p), Some(p)) = (&mut u_p, &self.p) {
            backend.ntt_inverse(p, 0..p.len(), u_p.buffer_mut());
        }
        let mut corr = self.lift_remainder(&u_q, u_p.as_ref(), consts)?;
        backend.ntt_forward(&self.q, 0..level - self.r, &mut corr);
        Ok(self.finish(u_q, corr, consts))
    }

    /// `round(u / D)` for `u` in coefficient form.
    pub fn divide_coeff(
        &self,
        u_q: RnsPoly<Coeff>,
        u_p: Option<RnsPoly<Coeff>>,
    ) -> Result<RnsPoly<Coeff>, Error> {
        let consts = self.consts(&u_q, u_p.is_some())?;
        let corr = self.lift_remainder(&u_q, u_p.as_ref(), consts)?;
        Ok(self.finish(u_q, corr, consts))
    }

    /// The centred remainder `[u]_D` (dropped limbs already in coefficient
    /// form) lifted to the kept primes, coefficient form.
    fn lift_remainder<F: crate::Form, G: crate::Form>(
        &self,
        u_q: &RnsPoly<F>,
        u_p: Option<&RnsPoly<G>>,
        consts: &LevelConsts,
    ) -> Result<crate::Buffer, Error> {
        let (level, n, backend) = (u_q.level(), self.q.degree(), self.q.backend());
        let mut corr = backend.scratch((level - self.r) * n)?;
        match u_p {
            // The dropped limbs are exactly the special part.
            Some(u_p) if self.r == 0 => {
                backend.exact_lift(n, &consts.lift, u_p.buffer(), &mut corr)
            }
            _ => {
                let kp = u_p.map_or(0, RnsPoly::level);
                let mut dropped = backend.scratch((self.r + kp) * n)?;
                backend.copy_limbs(n, &mut dropped, 0, u_q.buffer(), level - self.r..level);
                if let Some(u_p) = u_p {
                    backend.copy_limbs(n, &mut dropped, self.r, u_p.buffer(), 0..kp);
                }
                backend.exact_lift(n, &consts.lift, &dropped, &mut corr);
                backend.release(dropped);
            }
        }
        Ok(corr)
    }

    /// `(u - corr)·D^-1` on the kept limbs.
    fn finish<F: crate::Form>(
        &self,
        mut u_q: RnsPoly<F>,
        corr: crate::Buffer,
        consts: &LevelConsts,
    ) -> RnsPoly<F> {
        let keep = u_q.level() - self.r;
        u_q.truncate_level(keep)
            .expect("the constants exist only for levels above r");
        self.q
            .backend()
            .sub_scale(&self.q, keep, u_q.buffer_mut(), &corr, &consts.d_inv);
        self.q.backend().release(corr);
        u_q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::{BigInt, BigUint};
    use proptest::prelude::*;

    fn basis(n: usize, bits: &[u32], skip: usize) -> Arc<RnsBasis> {
        let mut primes = Vec::new();
        for &b in bits {
            let candidates = hefty_ntt::ntt_primes(b, n, skip + primes.len() + 1).unwrap();
            let p = *candidates
                .iter()
                .rev()
                .find(|p| !primes.contains(*p))
                .unwrap();
            primes.push(p);
        }
        Arc::new(RnsBasis::new(n, &primes).unwrap())
    }

    /// `round(U / D) mod q_i` from the integer `U` of the residues.
    fn reference(
        residues: &[Vec<u64>],
        moduli: &[u64],
        dropped: &[usize],
        keep: usize,
        n: usize,
    ) -> Vec<u64> {
        let all: BigUint = moduli.iter().map(|&m| BigUint::from(m)).product();
        let d: BigUint = dropped.iter().map(|&i| BigUint::from(moduli[i])).product();
        let mut out = vec![0; keep * n];
        for c in 0..n {
            let mut u = BigUint::from(0u32);
            for (i, &m) in moduli.iter().enumerate() {
                let (mi, m) = (&all / m, BigUint::from(m));
                // Fermat: the moduli are prime.
                let y = (BigUint::from(residues[i][c]) * mi.modpow(&(&m - 2u32), &m)) % &m;
                u += y * mi;
            }
            u %= &all;
            let rem = &u % &d;
            let centred = if &rem * 2u32 > d {
                BigInt::from(rem) - BigInt::from(d.clone())
            } else {
                BigInt::from(rem)
            };
            let quotient = (BigInt::from(u) - centred) / BigInt::from(d.clone());
            for i in 0..keep {
                let m = BigInt::from(moduli[i]);
                let r = ((&quotient % &m) + &m) % &m;
                out[i * n + c] = r.try_into().unwrap();
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Against big-integer `round(U / D)`: rescale only, ModDown only,
        /// and both at once; NTT and coefficient form agree.
        #[test]
        fn divides_with_rounding(
            seed in any::<u64>(),
            q_bits in proptest::collection::vec(30u32..61, 2..5),
            p_count in 0usize..3,
            r in 0usize..3,
        ) {
            let n = 16;
            prop_assume!(r < q_bits.len() && (r > 0 || p_count > 0));
            let q = basis(n, &q_bits, 0);
            let p = basis(n, &vec![50; p_count.max(1)], q_bits.len() + 2);
            let p = (p_count > 0).then_some(p);
            let divider = RoundingDivider::new(&q, p.as_ref(), r);
            let level = q.len();
            let mut rng = crate::Sampler::from_seed([seed as u8; 32]);
            let u_q = rng.uniform::<Coeff>(&q, level).unwrap();
            let u_p = p.as_ref().map(|p| rng.uniform::<Coeff>(p, p.len()).unwrap());
            let mut moduli: Vec<u64> = q.moduli().iter().map(Modulus::value).collect();
            let mut residues: Vec<Vec<u64>> =
                u_q.to_host().unwrap().chunks(n).map(<[u64]>::to_vec).collect();
            if let Some(u_p) = &u_p {
                moduli.extend(p.as_ref().unwrap().moduli().iter().map(Modulus::value));
                residues.extend(u_p.to_host().unwrap().chunks(n).map(<[u64]>::to_vec));
            }
            let dropped: Vec<usize> = (level - r..level).chain(level..moduli.len()).collect();
            let want = reference(&residues, &moduli, &dropped, level - r, n);

            let coeff = divider.divide_coeff(u_q.clone(), u_p.clone()).unwrap();
            prop_assert_eq!(coeff.to_host().unwrap(), want.clone());
            let ntt = divider
                .divide_ntt(u_q.into_ntt(), u_p.map(RnsPoly::into_ntt))
                .unwrap()
                .into_coeff();
            prop_assert_eq!(ntt.to_host().unwrap(), want);
        }
    }

    #[test]
    fn rejects_foreign_inputs_and_exhausted_levels() {
        let q = basis(16, &[40, 40], 0);
        let other = basis(16, &[40, 40], 3);
        let divider = RoundingDivider::new(&q, None, 1);
        let foreign = RnsPoly::<Coeff>::zero(&other, 2).unwrap();
        assert!(matches!(
            divider.divide_coeff(foreign, None),
            Err(Error::BasisMismatch)
        ));
        let low = RnsPoly::<Coeff>::zero(&q, 1).unwrap();
        assert!(matches!(
            divider.divide_coeff(low, None),
            Err(Error::OutOfLevels { .. })
        ));
    }
}
