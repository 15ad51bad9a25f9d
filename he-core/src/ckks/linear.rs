//! Plaintext matrix × encrypted vector: the diagonal method with baby-step
//! giant-step and hoisted baby rotations (Halevi–Shoup).

use std::collections::BTreeMap;
use std::sync::Arc;

use num_complex::Complex64;

use crate::ckks::{Ciphertext, Encoder, Evaluator, GaloisKeys, Parameters};
use crate::{Error, Ntt, RnsPoly};

/// A linear map on the `N/2` slots, `y = M·x`, prepared for one level.
///
/// With `diag_k[t] = M[t][(t+k) mod s]`, `M·x = Σ_k diag_k ⊙ rot_k(x)`.
/// Writing `k = g·j + i`, that is `Σ_j rot_{gj}(Σ_i rot_{-gj}(diag_k) ⊙ rot_i(x))`:
/// the baby rotations `rot_i(x)` share one decomposition (hoisting), and only
/// one giant rotation per `j` remains, about `2·√d` rotations for `d`
/// diagonals. The diagonals are encoded at the scale of the prime(s) the
/// final rescale drops, so the output has the input's scale exactly and is
/// one level lower.
#[derive(Debug)]
pub struct LinearTransform {
    params: Arc<Parameters>,
    level: usize,
    baby: usize,
    /// Diagonal `k` pairs with the rotation by `k·stride` (1: the plain
    /// diagonal method; `m`: `m` vectors interleaved slot by slot).
    stride: usize,
    /// `(j, i)` → `rot_{-gj}(diag_{gj+i})` in NTT form at `level`.
    diags: BTreeMap<(usize, usize), RnsPoly<Ntt>>,
}

impl LinearTransform {
    /// From a dense `s × s` matrix (`s = N/2`), skipping all-zero diagonals.
    pub fn from_dense(encoder: &Encoder, matrix: &[Vec<f64>], level: usize) -> Result<Self, Error> {
        let s = encoder.slots();
        if matrix.len() != s || matrix.iter().any(|row| row.len() != s) {
            return Err(Error::InvalidParameters(format!(
                "the matrix must be {s} × {s} (the slot count); pad it with zeros"
            )));
        }
        let mut diags = BTreeMap::new();
        for k in 0..s {
            let d: Vec<Complex64> = (0..s)
                .map(|t| Complex64::new(matrix[t][(t + k) % s], 0.0))
                .collect();
            if d.iter().any(|z| z.re != 0.0) {
                diags.insert(k, d);
            }
        }
        Self::from_diagonals(encoder, &diags, level)
    }

    /// From its non-zero diagonals `k → diag_k` (each of `N/2` values).
    pub fn from_diagonals(
        encoder: &Encoder,
        diagonals: &BTreeMap<usize, Vec<Complex64>>,
        level: usize,
    ) -> Result<Self, Error> {
        Self::from_strided_diagonals(encoder, diagonals, 1, level)
    }

    /// `y = Σ_k diag_k ⊙ rot_{k·stride}(x)`: the diagonal method on `stride`
    /// vectors interleaved slot by slot (slot `t` belongs to vector
    /// `t mod stride`), with the baby-step giant-step split made on `k`, so
    /// interleaving costs no extra rotation.
    pub fn from_strided_diagonals(
        encoder: &Encoder,
        diagonals: &BTreeMap<usize, Vec<Complex64>>,
        stride: usize,
        level: usize,
    ) -> Result<Self, Error> {
        let params = encoder.params();
        let s = encoder.slots();
        let ppl = params.primes_per_level();
        if level < params.min_level() + ppl || level > params.max_level() {
            return Err(Error::OutOfLevels {
                level,
                min: params.min_level(),
            });
        }
        if stride == 0 || !s.is_multiple_of(stride) {
            return Err(Error::InvalidParameters(format!(
                "a stride of {stride} does not divide the {s} slots"
            )));
        }
        if let Some((&k, _)) = diagonals
            .iter()
            .find(|(k, d)| **k >= s / stride || d.len() != s)
        {
            return Err(Error::InvalidParameters(format!(
                "diagonal {k} must have an index below {} and {s} values",
                s / stride
            )));
        }
        let span = diagonals.keys().next_back().map_or(1, |&k| k + 1);
        let baby = baby_steps(span);
        let scale = params.rescale_divisor(level);
        let mut diags = BTreeMap::new();
        for (&k, d) in diagonals {
            let (j, i) = (k / baby, k % baby);
            let shift = baby * j * stride;
            // rot_{-gj}(d)[t] = d[(t - gj) mod s].
            let rotated: Vec<Complex64> = (0..s).map(|t| d[(t + s - shift % s) % s]).collect();
            let pt = encoder.encode_at_scale(&rotated, level, scale)?;
            diags.insert((j, i), pt);
        }
        Ok(Self {
            params: Arc::clone(params),
            level,
            baby,
            stride,
            diags,
        })
    }

    /// The rotation steps whose Galois keys [`Self::apply`] needs.
    pub fn rotations(&self) -> Vec<i64> {
        let indices = self.diags.keys().map(|&(j, i)| self.baby * j + i);
        Self::rotations_for(indices, self.stride)
    }

    /// The rotation steps a transform with non-zero diagonals `indices`
    /// needs — what [`Self::rotations`] will say once it is built — so keys
    /// can be made before the diagonals are encoded (a client making keys
    /// for a server's plan). `stride` as in [`Self::from_strided_diagonals`].
    pub fn rotations_for(indices: impl IntoIterator<Item = usize>, stride: usize) -> Vec<i64> {
        let indices: Vec<usize> = indices.into_iter().collect();
        let baby = baby_steps(indices.iter().max().map_or(1, |&k| k + 1));
        let mut steps: Vec<i64> = indices
            .iter()
            .flat_map(|&k| {
                [
                    ((k % baby) * stride) as i64,
                    (baby * (k / baby) * stride) as i64,
                ]
            })
            .filter(|&r| r != 0)
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// The level the diagonals were prepared for (inputs above it are dropped to it).
    pub fn level(&self) -> usize {
        self.level
    }

    /// `M·x` for an encrypted `x`: one level lower, same scale.
    pub fn apply(
        &self,
        ev: &Evaluator,
        x: &Ciphertext,
        gk: &GaloisKeys,
    ) -> Result<Ciphertext, Error> {
        crate::rlwe::check_same_params(&self.params, x.params())?;
        if x.level() < self.level {
            return Err(Error::LevelMismatch {
                left: x.level(),
                right: self.level,
            });
        }
        let x = ev.drop_to_level(x, self.level)?;
        if self.diags.is_empty() {
            // M = 0 (a pruned layer): zero at the level and scale every
            // other M·x has, so the computation after it lines up. The
            // matrix is the server's, so a zero result reveals nothing.
            let zero = |p: &RnsPoly<Ntt>| {
                let mut z = p.clone();
                z.mul_scalar_assign(0);
                z
            };
            let polys = x.polys.iter().take(2).map(zero).collect();
            let z = ev.build(polys, x.scale() * self.params.rescale_divisor(self.level));
            return ev.rescale_owned(z);
        }
        let mut babies: Vec<usize> = self.diags.keys().map(|&(_, i)| i).collect();
        babies.sort_unstable();
        babies.dedup();
        let steps: Vec<i64> = babies.iter().map(|&i| (i * self.stride) as i64).collect();
        let rotated = ev.rotate_hoisted(&x, &steps, gk)?;
        let rotated_ntt: BTreeMap<usize, [RnsPoly<Ntt>; 2]> = babies
            .iter()
            .zip(rotated)
            .map(|(&i, ct)| {
                let [c0, c1] = <[_; 2]>::try_from(ct.polys).expect("relinearized");
                (i, [c0, c1])
            })
            .collect();
        let mut giants: Vec<usize> = self.diags.keys().map(|&(j, _)| j).collect();
        giants.dedup();
        let mut acc: Option<Ciphertext> = None;
        for j in giants {
            let mut inner: Option<[RnsPoly<Ntt>; 2]> = None;
            for ((_, i), d) in self.diags.range((j, 0)..(j + 1, 0)) {
                let [c0, c1] = &rotated_ntt[i];
                match &mut inner {
                    None => {
                        let (mut p0, mut p1) = (c0.clone(), c1.clone());
                        p0.mul_assign(d)?;
                        p1.mul_assign(d)?;
                        inner = Some([p0, p1]);
                    }
                    Some([p0, p1]) => {
                        p0.mul_add_assign(c0, d)?;
                        p1.mul_add_assign(c1, d)?;
                    }
                }
            }
            let [p0, p1] = inner.expect("every giant step has a diagonal");
            let products = self.diags.range((j, 0)..(j + 1, 0)).count();
            ev.ctx.count_n(crate::Hop::PtCtMulDense, products);
            ev.ctx.count_n(crate::Hop::CtCtAdd, products - 1);
            let block = ev.build(
                vec![p0, p1],
                x.scale() * self.params.rescale_divisor(self.level),
            );
            let block = if j == 0 {
                block
            } else {
                ev.rotate(&block, (self.baby * j * self.stride) as i64, gk)?
            };
            acc = Some(match acc {
                None => block,
                Some(a) => ev.add(&a, &block)?,
            });
        }
        ev.rescale_owned(acc.expect("a transform with diagonals has a giant step"))
    }
}

/// Baby steps for diagonals `0..span`: `⌈√span⌉`, balancing baby and giant rotations.
fn baby_steps(span: usize) -> usize {
    (span as f64).sqrt().ceil().max(1.0) as usize
}

impl Encoder {
    /// `values` encoded at `level` and `scale` as a raw polynomial.
    pub(crate) fn encode_at_scale(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<RnsPoly<Ntt>, Error> {
        Ok(self.encode(values, level, scale)?.into_poly())
    }
}
