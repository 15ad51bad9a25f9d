//! The plaintext f64 reference executor.

use crate::Error;
use crate::exec::{Executor, Row};

/// f64 arithmetic: the reference every other executor is held against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Float;

fn finite(label: &str, v: Vec<f64>) -> Result<Vec<f64>, Error> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::Model(format!(
            "layer {label} produced a non-finite value in the f64 reference: the model's weights or coefficients are too large for this input"
        )));
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
