//! The plaintext f64 reference executor.

use crate::Error;
use crate::model::kernels::{Window, conv2d, dense, poly_group, sum_pool};
use crate::model::{ActivationSpec, Layer, Model};

/// The tensor `<name>.<part>` as f64 (validated to exist on load).
pub(crate) fn tensor_f64(model: &Model, name: &str, part: &str) -> Vec<f64> {
    model
        .tensor(&format!("{name}.{part}"))
        .map(|t| t.data.iter().map(|&x| x as f64).collect())
        .unwrap_or_default()
}

/// The per-channel affine `a·x + b` of a batch norm layer.
pub(crate) fn batch_norm_affine(model: &Model, name: &str, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let (gamma, beta) = (
        tensor_f64(model, name, "gamma"),
        tensor_f64(model, name, "beta"),
    );
    let (mean, var) = (
        tensor_f64(model, name, "mean"),
        tensor_f64(model, name, "var"),
    );
    let a: Vec<f64> = gamma
        .iter()
        .zip(&var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let b = beta
        .iter()
        .zip(&mean)
        .zip(&a)
        .map(|((b, m), a)| b - a * m)
        .collect();
    (a, b)
}

/// Logits of one image.
pub(crate) fn forward(model: &Model, pixels: &[u8]) -> Result<Vec<f64>, Error> {
    let input = model.input_shape();
    if pixels.len() != input.len() {
        return Err(Error::Model(format!(
            "the model takes {} pixels, got {}",
            input.len(),
            pixels.len()
        )));
    }
    let scale = (model.graph().input.scale_bits as f64).exp2();
    let mut x: Vec<f64> = pixels.iter().map(|&p| p as f64 / scale).collect();
    let mut shape = input;
    let overflow = || Error::Model("non-finite value in the f64 reference".into());
    for (layer, &out) in model.graph().layers.iter().zip(model.shapes()) {
        x = match layer {
            Layer::Conv2d {
                name,
                kernel,
                stride,
                padding,
                ..
            } => {
                let w = Window {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                };
                conv2d(
                    &x,
                    shape,
                    out,
                    &tensor_f64(model, name, "weight"),
                    &tensor_f64(model, name, "bias"),
                    &w,
                )
                .ok_or_else(overflow)?
            }
            Layer::BatchNorm { name, eps, .. } => {
                let (a, b) = batch_norm_affine(model, name, *eps);
                let per = shape.len() / shape.channels();
                x.iter()
                    .enumerate()
                    .map(|(e, v)| a[e / per] * v + b[e / per])
                    .collect()
            }
            Layer::Activation { name, function } => match function {
                ActivationSpec::Relu => x.iter().map(|v| v.max(0.0)).collect(),
                ActivationSpec::Poly {
                    degree,
                    granularity,
                } => {
                    let c = tensor_f64(model, name, "coeffs");
                    x.iter()
                        .enumerate()
                        .map(|(e, &v)| {
                            let g = poly_group(*granularity, shape, e);
                            crate::approx::eval_poly(
                                &c[g * (degree + 1)..(g + 1) * (degree + 1)],
                                v,
                            )
                        })
                        .collect()
                }
            },
            Layer::AvgPool {
                kernel,
                stride,
                padding,
                scaled,
            } => {
                let w = Window {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                };
                let sums = sum_pool(&x, shape, out, &w).ok_or_else(overflow)?;
                if *scaled {
                    sums
                } else {
                    let area = (kernel * kernel) as f64;
                    sums.into_iter().map(|s| s / area).collect()
                }
            }
            Layer::Flatten => x,
            Layer::Dense { name, .. } => dense(
                &x,
                &tensor_f64(model, name, "weight"),
                &tensor_f64(model, name, "bias"),
            )
            .ok_or_else(overflow)?,
        };
        // Every layer's output is checked, not only the kernels that
        // detect overflow themselves (batch norm, activations).
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Model(format!(
                "layer {layer:?} produced a non-finite value in the f64 reference: the model's weights or coefficients are too large for this input"
            )));
        }
        shape = out;
    }
    Ok(x)
}
