//! Evaluation keys: relinearization and Galois (rotation) keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bfv::{BfvParameters, SecretKey};
use crate::{Error, Sampler, SwitchingKey, check_galois_element, rotation_galois_element};

/// `σ_g` on small signed coefficients: `x^i ↦ ±x^(i·g mod n)`.
fn automorphism_i64(s: &[i64], g: usize) -> Vec<i64> {
    let n = s.len();
    let mut out = vec![0i64; n];
    for (i, &c) in s.iter().enumerate() {
        let e = i * g % (2 * n);
        if e < n { out[e] = c } else { out[e - n] = -c }
    }
    out
}

/// The negacyclic square `s²` in `Z[x]/(x^n + 1)`: its coefficients lie in
/// `[-n, n]`, so one NTT modulo a 30-bit prime (> 2n) computes them exactly.
fn square_i64(s: &[i64]) -> Result<Vec<i64>, Error> {
    let n = s.len();
    let p = hefty_ntt::ntt_primes(30, n, 1)?[0];
    let plan = hefty_ntt::NttPlan::new(n, p)?;
    let m = *plan.modulus();
    let mut a: Vec<u64> = s
        .iter()
        .map(|&c| {
            if c < 0 {
                p - c.unsigned_abs()
            } else {
                c as u64
            }
        })
        .collect();
    plan.forward(&mut a)?;
    a.iter_mut().for_each(|x| *x = m.mul(*x, *x));
    plan.inverse(&mut a)?;
    let centred = a
        .iter()
        .map(|&x| {
            if x > p / 2 {
                x as i64 - p as i64
            } else {
                x as i64
            }
        })
        .collect();
    zeroize::Zeroize::zeroize(&mut a);
    Ok(centred)
}

/// The key that relinearizes `(c_0, c_1, c_2)` back to two polynomials:
/// it switches `c_2·s²` to a key under `s`.
#[derive(Debug, Clone)]
pub struct RelinearizationKey {
    pub(crate) params: Arc<BfvParameters>,
    pub(crate) key: SwitchingKey,
}

impl RelinearizationKey {
    /// The relinearization key of `sk`.
    pub fn new(sk: &SecretKey, sampler: &mut Sampler) -> Result<Self, Error> {
        let params = sk.params();
        let s = sk.coeffs();
        // s² is as secret as s: wipe the temporary whatever happens.
        let mut s2 = square_i64(s)?;
        let key = params.key_switcher()?.generate(s, &s2, sampler);
        zeroize::Zeroize::zeroize(&mut s2);
        let key = key?;
        Ok(Self {
            params: Arc::clone(params),
            key,
        })
    }
}

/// Galois keys for the rotations a computation needs, and only those.
#[derive(Debug, Clone)]
pub struct GaloisKeys {
    pub(crate) params: Arc<BfvParameters>,
    keys: BTreeMap<usize, SwitchingKey>,
}

impl GaloisKeys {
    /// Keys for rotating rows by each of `steps` (negative: rightwards) and,
    /// if `column_swap`, for swapping the two rows.
    pub fn new(
        sk: &SecretKey,
        steps: &[i64],
        column_swap: bool,
        sampler: &mut Sampler,
    ) -> Result<Self, Error> {
        let n = sk.params().degree();
        let mut elements: Vec<usize> = steps
            .iter()
            .map(|&s| rotation_galois_element(n, s))
            .collect();
        if column_swap {
            elements.push(2 * n - 1);
        }
        Self::for_elements(sk, &elements, sampler)
    }

    /// Keys for arbitrary Galois elements (odd, below 2n).
    pub fn for_elements(
        sk: &SecretKey,
        elements: &[usize],
        sampler: &mut Sampler,
    ) -> Result<Self, Error> {
        let params = sk.params();
        let switcher = params.key_switcher()?;
        let mut keys = BTreeMap::new();
        for &g in elements {
            check_galois_element(params.degree(), g)?;
            if g != 1 && !keys.contains_key(&g) {
                let mut rotated = automorphism_i64(sk.coeffs(), g);
                let key = switcher.generate(sk.coeffs(), &rotated, sampler);
                zeroize::Zeroize::zeroize(&mut rotated);
                keys.insert(g, key?);
            }
        }
        Ok(Self {
            params: Arc::clone(params),
            keys,
        })
    }

    /// The key for Galois element `g`, if it was generated.
    pub(crate) fn get(&self, g: usize) -> Option<&SwitchingKey> {
        self.keys.get(&g)
    }

    /// The Galois elements these keys cover.
    pub fn elements(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_matches_schoolbook() {
        let mut rng = Sampler::from_seed([4; 32]);
        for n in [16usize, 256, 4096] {
            let s = rng.ternary(n);
            let mut want = vec![0i64; n];
            for (i, &a) in s.iter().enumerate() {
                for (j, &b) in s.iter().enumerate() {
                    if i + j < n {
                        want[i + j] += a * b
                    } else {
                        want[i + j - n] -= a * b
                    }
                }
            }
            assert_eq!(square_i64(&s).unwrap(), want);
        }
    }
}
