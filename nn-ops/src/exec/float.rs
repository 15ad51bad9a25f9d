//! The plaintext f64 reference executor, on one image or on a block of
//! images at once.

use crate::Error;
use crate::exec::{Executor, Row};

/// f64 arithmetic: the reference every other executor is held against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Float;

fn non_finite(label: &str) -> Error {
    Error::Model(format!(
        "layer {label} produced a non-finite value in the f64 reference: the model's weights or coefficients are too large for this input"
    ))
}

fn finite(label: &str, v: Vec<f64>) -> Result<Vec<f64>, Error> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(non_finite(label));
    }
    Ok(v)
}

impl Executor for Float {
    type Weight = f64;
    type Value = f64;
    type Error = Error;

    fn linear(&self, label: &str, rows: &[Row<f64>], x: &[f64]) -> Result<Vec<f64>, Error> {
        finite(
            label,
            rows.iter()
                .map(|r| {
                    r.terms
                        .iter()
                        .fold(r.bias, |acc, &(i, w)| acc + w * x[i as usize])
                })
                .collect(),
        )
    }

    fn poly(
        &self,
        label: &str,
        degree: usize,
        coeffs: &[f64],
        x: &[f64],
    ) -> Result<Vec<f64>, Error> {
        finite(
            label,
            x.iter()
                .enumerate()
                .map(|(e, &v)| {
                    crate::approx::eval_poly(&coeffs[e * (degree + 1)..(e + 1) * (degree + 1)], v)
                })
                .collect(),
        )
    }

    fn relu(&self, _label: &str, x: &[f64]) -> Result<Vec<f64>, Error> {
        Ok(x.iter().map(|v| v.max(0.0)).collect())
    }
}

/// [`Float`] on a block of images at once: each value is one tensor element
/// of every image in the block. Every image goes through the same f64
/// operations in the same order as under [`Float`], so the results are
/// bit for bit [`Float`]'s; the sums run along the block (contiguous,
/// vectorized) instead of gathering one image's scattered inputs per term,
/// which is what makes a reference over thousands of images cheap.
#[derive(Debug, Clone, Copy)]
pub struct FloatBlock {
    /// Images in the block: every value's length.
    pub images: usize,
}

fn finite_block(label: &str, v: Vec<Vec<f64>>) -> Result<Vec<Vec<f64>>, Error> {
    if v.iter().flatten().any(|x| !x.is_finite()) {
        return Err(non_finite(label));
    }
    Ok(v)
}

impl Executor for FloatBlock {
    type Weight = f64;
    type Value = Vec<f64>;
    type Error = Error;

    fn linear(
        &self,
        label: &str,
        rows: &[Row<f64>],
        x: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>, Error> {
        if let Some(v) = x.iter().find(|v| v.len() != self.images) {
            return Err(Error::Setting(format!(
                "layer {label}: a block of {} images was given a value of {} images: every value holds one element of each image in the block",
                self.images,
                v.len()
            )));
        }
        let out = rows
            .iter()
            .map(|r| {
                let mut acc = vec![r.bias; self.images];
                for &(i, w) in &r.terms {
                    // `acc + w * x` as two roundings, as Float does.
                    for (a, &v) in acc.iter_mut().zip(&x[i as usize]) {
                        *a += w * v;
                    }
                }
                acc
            })
            .collect();
        finite_block(label, out)
    }

    fn poly(
        &self,
        label: &str,
        degree: usize,
        coeffs: &[f64],
        x: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>, Error> {
        let out = x
            .iter()
            .enumerate()
            .map(|(e, v)| {
                let c = &coeffs[e * (degree + 1)..(e + 1) * (degree + 1)];
                v.iter().map(|&v| crate::approx::eval_poly(c, v)).collect()
            })
            .collect();
        finite_block(label, out)
    }

    fn relu(&self, _label: &str, x: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, Error> {
        Ok(x.iter()
            .map(|v| v.iter().map(|v| v.max(0.0)).collect())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each image of a block gets Float's numbers; a value of another
    /// length than the block is an error, not a silently shorter sum.
    #[test]
    fn a_block_is_float_per_image_and_refuses_ragged_values() {
        let rows = [Row {
            terms: vec![(0, 0.5), (1, -2.0)],
            bias: 0.25,
        }];
        let x = [vec![1.0, 3.0], vec![0.1, -1.0]];
        let block = FloatBlock { images: 2 }.linear("d", &rows, &x).unwrap();
        for k in 0..2 {
            let one = Float.linear("d", &rows, &[x[0][k], x[1][k]]).unwrap();
            assert_eq!(block[0][k].to_bits(), one[0].to_bits());
        }
        let ragged = [vec![1.0, 3.0], vec![0.1]];
        let err = FloatBlock { images: 2 }
            .linear("d", &rows, &ragged)
            .unwrap_err();
        assert!(err.to_string().contains("a value of 1 images"), "{err}");
    }
}
