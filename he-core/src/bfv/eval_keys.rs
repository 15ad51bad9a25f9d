//! Evaluation keys: relinearization and Galois (rotation) keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bfv::{BfvParameters, SecretKey};
use crate::ring::small_poly::{automorphism_i64, square_i64};
use crate::{Error, Sampler, SwitchingKey, check_galois_element, rotation_galois_element};

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
    pub(crate) keys: BTreeMap<usize, SwitchingKey>,
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
