//! The exact fixed-point integer path: what encrypted inference computes.
//!
//! Every value is an integer `v` standing for `v / 2^s`, with the scale
//! `s` known per layer (data-independent). Weights, batch-norm factors and
//! activation coefficients are rounded to `precision_bits` significant bits
//! of each tensor (power-of-two layers keep their exponents exactly), so each product adds
//! their bits to the scale; sums align terms by exact shifts. Nothing is
//! ever divided or rounded after the input is encoded: an integer plaintext
//! scheme (BFV with the integer encoder, Faster CryptoNets) computes exactly
//! these integers, and [`FixedOutput::max_bits`] says how large its
//! plaintext modulus must be.

use std::sync::atomic::{AtomicU32, Ordering};

use ethnum::I256;

use crate::Error;
use crate::exec::plan::{
    Op, Plan, Row, Step, affine_rows, conv_rows, dense_rows, expand_poly, layer_kind, layer_label,
    poly_group, pool_rows,
};
use crate::exec::{Executor, Window, argmax, batch_norm_affine, tensor_f64, walk};
use crate::model::{ActivationSpec, Granularity, Layer, Model, Quantization, Shape};

/// Fixed-point settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    /// Significant bits kept of every weight tensor, batch-norm factor and
    /// activation coefficient (relative to the largest value of each
    /// tensor; power-of-two weights are exact whatever this is).
    pub precision_bits: u32,
}

impl Default for FixedPoint {
    /// 8 significant bits.
    fn default() -> Self {
        Self { precision_bits: 8 }
    }
}

/// The result of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedOutput {
    /// The logits as integers.
    pub logits: Vec<I256>,
    /// Their scale: logit `i` is `logits[i] / 2^scale_bits`.
    pub scale_bits: u32,
    /// Bits of the largest magnitude met anywhere (plus sign).
    pub max_bits: u32,
}

impl FixedOutput {
    /// The logits as f64 (divided by `2^scale_bits`), for comparisons.
    pub fn values(&self) -> Vec<f64> {
        let scale = (self.scale_bits as f64).exp2();
        self.logits.iter().map(|v| v.as_f64() / scale).collect()
    }

    /// The predicted class.
    pub fn class(&self) -> usize {
        argmax(&self.logits)
    }
}

/// A model quantized for the fixed-point path: a plan of 256-bit integers.
#[derive(Debug, Clone)]
pub struct FixedModel {
    plan: Plan<I256>,
    scale: u32,
}

/// `round(x · 2^bits)` as I256 (exactly: an f64 is an integer mantissa
/// times a power of two), or an overflow error.
fn quantize(x: f64, bits: u32, layer: &str) -> Result<I256, Error> {
    let v = (x * (bits as f64).exp2()).round();
    if !v.is_finite() || v.abs() >= 2f64.powi(250) {
        return Err(Error::FixedPointOverflow {
            layer: layer.to_string(),
            reason: format!("{x} · 2^{bits} does not fit 250 bits"),
        });
    }
    if v.abs() < 2f64.powi(100) {
        return Ok(I256::from(v as i128));
    }
    // v = m · 2^e with |m| < 2^53: both factors exact.
    let e = v.abs().log2().floor() as u32 - 52;
    let m = (v / (e as f64).exp2()) as i128;
    Ok(I256::from(m) << e)
}

fn quantize_all(xs: &[f64], bits: u32, layer: &str) -> Result<Vec<I256>, Error> {
    xs.iter().map(|&x| quantize(x, bits, layer)).collect()
}

/// Fractional bits that give the largest of `xs` `precision` significant
/// bits (at least 0): small tensors get more fractional bits, so every
/// tensor keeps the same relative precision.
fn precision_bits_for(xs: impl Iterator<Item = f64>, precision: u32) -> u32 {
    let m = xs.fold(0.0f64, |m, x| m.max(x.abs()));
    if m == 0.0 {
        return 0;
    }
    (precision as i32 - 1 - m.log2().floor() as i32).clamp(0, 120) as u32
}

impl FixedPoint {
    /// Quantizes `model` for this path; fails for layers no integer scheme
    /// computes (ReLU, mean pooling over a window that is not a power of two).
    pub fn prepare(&self, model: &Model) -> Result<FixedModel, Error> {
        let f = self.precision_bits;
        if !(1..=40).contains(&f) {
            return Err(Error::Setting(format!(
                "{f} significant bits of precision: use 1 to 40 (--precision-bits)"
            )));
        }
        let mut s = model.graph().input.scale_bits;
        let mut shape = model.input_shape();
        let mut steps = Vec::new();
        // Coefficients of the next activation with a batch norm folded in,
        // and the batch norm's label.
        let mut folded: Option<(Vec<f64>, Granularity, String)> = None;
        for (k, (layer, &out)) in model.graph().layers.iter().zip(model.shapes()).enumerate() {
            let mut label = layer_label(layer, k);
            // Power-of-two weights are exact at their smallest exponent.
            let weight_bits = |q: &Option<Quantization>, w: &[f64]| match q {
                Some(Quantization::PowerOfTwo { min_exp, .. }) => (-min_exp).max(0) as u32,
                None => precision_bits_for(w.iter().copied(), f),
            };
            let op = match layer {
                Layer::Conv2d {
                    name,
                    kernel,
                    stride,
                    padding,
                    quantization,
                    ..
                } => {
                    let w = tensor_f64(model, name, "weight");
                    let wb = weight_bits(quantization, &w);
                    let rows = conv_rows(
                        shape,
                        out,
                        &quantize_all(&w, wb, name)?,
                        &quantize_all(&tensor_f64(model, name, "bias"), s + wb, name)?,
                        Window {
                            kernel: *kernel,
                            stride: *stride,
                            padding: *padding,
                        },
                    );
                    s += wb;
                    Op::Linear(rows)
                }
                Layer::Dense {
                    name, quantization, ..
                } => {
                    let w = tensor_f64(model, name, "weight");
                    let wb = weight_bits(quantization, &w);
                    let rows = dense_rows(
                        shape.len(),
                        &quantize_all(&w, wb, name)?,
                        &quantize_all(&tensor_f64(model, name, "bias"), s + wb, name)?,
                    );
                    s += wb;
                    Op::Linear(rows)
                }
                Layer::BatchNorm { name, eps, .. } => {
                    let (a, b) = batch_norm_affine(model, name, *eps);
                    if let Some(Layer::Activation {
                        name: act,
                        function:
                            ActivationSpec::Poly {
                                degree,
                                granularity,
                            },
                    }) = model.graph().layers.get(k + 1)
                    {
                        // Fold the affine into the next polynomial:
                        // p(a·x + b) is a polynomial of the same degree, one
                        // per channel (or element): no extra scale bits.
                        let (c, g) =
                            fold_into_poly(model, act, *degree, *granularity, shape, &a, &b);
                        folded = Some((c, g, label));
                        // Batch norm keeps the shape: nothing else to update.
                        continue;
                    }
                    let ab = precision_bits_for(a.iter().copied(), f);
                    let rows = affine_rows(
                        shape,
                        &quantize_all(&a, ab, name)?,
                        &quantize_all(&b, s + ab, name)?,
                    );
                    s += ab;
                    Op::Linear(rows)
                }
                Layer::Activation { name, function } => match function {
                    ActivationSpec::Relu => {
                        return Err(Error::Model(format!(
                            "layer {name}: ReLU has no integer (encrypted) evaluation; train a polynomial activation"
                        )));
                    }
                    ActivationSpec::Poly {
                        degree,
                        granularity,
                    } => {
                        let (coeffs, granularity) = match folded.take() {
                            Some((c, g, bn)) => {
                                label = format!("{bn}+{label}");
                                (c, g)
                            }
                            None => (tensor_f64(model, name, "coeffs"), *granularity),
                        };
                        // Each degree gets its own fractional bits (batch norm
                        // folded in makes x² coefficients tiny); the terms
                        // meet at the largest scale by exact shifts, folded
                        // into the coefficients.
                        let d = *degree;
                        let per_degree: Vec<u32> = (0..=d)
                            .map(|i| {
                                precision_bits_for(coeffs.iter().skip(i).step_by(d + 1).copied(), f)
                            })
                            .collect();
                        let out_scale = (0..=d)
                            .map(|i| per_degree[i] + i as u32 * s)
                            .max()
                            .unwrap_or(0);
                        if out_scale > 250 {
                            return Err(Error::FixedPointOverflow {
                                layer: label,
                                reason: format!("the scale reaches 2^{out_scale}"),
                            });
                        }
                        let quantized = coeffs
                            .iter()
                            .enumerate()
                            .map(|(j, &c)| {
                                let i = j % (d + 1);
                                let shift = out_scale - per_degree[i] - i as u32 * s;
                                // Quantized at the degree's own bits, then
                                // shifted exactly to the output scale.
                                quantize(c, per_degree[i], name)?
                                    .checked_mul(I256::ONE << shift)
                                    .ok_or_else(|| overflow(name))
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        s = out_scale;
                        Op::Poly {
                            degree: d,
                            coeffs: expand_poly(&quantized, d, granularity, shape),
                        }
                    }
                },
                Layer::AvgPool {
                    kernel,
                    stride,
                    padding,
                    scaled,
                } => {
                    let area = kernel * kernel;
                    if !scaled && !area.is_power_of_two() {
                        return Err(Error::Model(format!(
                            "layer {k}: a mean over {area} values is a division no integer scheme computes; use scaled (sum) pooling"
                        )));
                    }
                    if !scaled {
                        // A mean over 2^m values: the same integers, m more scale bits.
                        s += area.trailing_zeros();
                    }
                    Op::Linear(pool_rows(
                        shape,
                        out,
                        I256::ONE,
                        I256::ZERO,
                        Window {
                            kernel: *kernel,
                            stride: *stride,
                            padding: *padding,
                        },
                    ))
                }
                Layer::Flatten => Op::Reshape,
            };
            if s > 250 {
                return Err(Error::FixedPointOverflow {
                    layer: label,
                    reason: format!("the scale reaches 2^{s}"),
                });
            }
            steps.push(Step {
                label,
                kind: layer_kind(layer),
                op,
                out,
            });
            shape = out;
        }
        Ok(FixedModel {
            plan: Plan {
                input: model.input_shape(),
                steps,
            },
            scale: s,
        })
    }
}

fn bits(v: &[I256]) -> u32 {
    v.iter()
        .map(|x| 257 - x.unsigned_abs().leading_zeros())
        .max()
        .unwrap_or(0)
}

/// Exact checked 256-bit arithmetic; remembers the largest magnitude met.
#[derive(Debug, Default)]
struct Exact {
    max_bits: AtomicU32,
}

impl Exact {
    fn seen(&self, v: Vec<I256>) -> Vec<I256> {
        self.max_bits.fetch_max(bits(&v), Ordering::Relaxed);
        v
    }
}

fn overflow(label: &str) -> Error {
    Error::FixedPointOverflow {
        layer: label.to_string(),
        reason: "a value exceeds 255 bits".into(),
    }
}

/// `Σ_i c_i · x^i` with checked arithmetic.
fn eval_poly_exact(c: &[I256], x: I256) -> Option<I256> {
    let (mut power, mut acc) = (I256::ONE, I256::ZERO);
    for (i, &ci) in c.iter().enumerate() {
        if i > 0 {
            power = power.checked_mul(x)?;
        }
        acc = acc.checked_add(ci.checked_mul(power)?)?;
    }
    Some(acc)
}

impl Executor for Exact {
    type Weight = I256;
    type Value = I256;
    type Error = Error;

    fn linear(&self, label: &str, rows: &[Row<I256>], x: &[I256]) -> Result<Vec<I256>, Error> {
        rows.iter()
            .map(|r| {
                r.terms.iter().try_fold(r.bias, |acc, &(i, w)| {
                    acc.checked_add(w.checked_mul(x[i as usize])?)
                })
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| self.seen(v))
            .ok_or_else(|| overflow(label))
    }

    fn poly(
        &self,
        label: &str,
        degree: usize,
        coeffs: &[I256],
        x: &[I256],
    ) -> Result<Vec<I256>, Error> {
        x.iter()
            .enumerate()
            .map(|(e, &v)| eval_poly_exact(&coeffs[e * (degree + 1)..(e + 1) * (degree + 1)], v))
            .collect::<Option<Vec<_>>>()
            .map(|v| self.seen(v))
            .ok_or_else(|| overflow(label))
    }

    fn relu(&self, label: &str, _x: &[I256]) -> Result<Vec<I256>, Error> {
        Err(Error::Model(format!(
            "layer {label}: ReLU has no integer (encrypted) evaluation"
        )))
    }
}

impl FixedModel {
    /// The scale of the logits.
    pub fn scale_bits(&self) -> u32 {
        self.scale
    }

    /// The quantized plan (what the exact encrypted executors compute).
    pub fn plan(&self) -> &Plan<I256> {
        &self.plan
    }

    /// The integer logits of one image.
    pub fn forward(&self, pixels: &[u8]) -> Result<FixedOutput, Error> {
        let exact = Exact::default();
        let x: Vec<I256> = pixels.iter().map(|&p| I256::from(p)).collect();
        exact.max_bits.store(bits(&x), Ordering::Relaxed);
        let logits = walk(&self.plan, &exact, x, &mut |_| {})?;
        Ok(FixedOutput {
            logits,
            scale_bits: self.scale,
            max_bits: exact.max_bits.load(Ordering::Relaxed),
        })
    }

    /// Bits (plus sign) of the largest logit magnitude any image can give:
    /// a plaintext modulus `T > 2^(bound_bits + 1)` recovers every logit
    /// exactly, in slots or as the coefficients of base-2 encodings.
    pub fn logit_bound_bits(&self) -> Result<u32, Error> {
        // Every weight, coefficient and input at its largest magnitude: a
        // bound on the integers of the fixed-point path and on every
        // coefficient of their base-2 encodings (a coefficient of `|p|` is
        // at most `|p|(2)`), whatever the image.
        let x = vec![I256::from(u8::MAX); self.plan.input.len()];
        let abs = self.plan.map(|w| w.abs());
        Ok(bits(&walk(&abs, &Exact::default(), x, &mut |_| {})?))
    }
}

/// The coefficients of `p_g(a_c·x + b_c)` for every channel `c` (or
/// element, if the activation is element-wise): batch norm folded into the
/// activation that follows it.
fn fold_into_poly(
    model: &Model,
    act: &str,
    degree: usize,
    granularity: Granularity,
    shape: Shape,
    a: &[f64],
    b: &[f64],
) -> (Vec<f64>, Granularity) {
    let coeffs = tensor_f64(model, act, "coeffs");
    let target = if granularity == Granularity::Element {
        Granularity::Element
    } else {
        Granularity::Channel
    };
    let groups = match target {
        Granularity::Element => shape.len(),
        _ => shape.channels(),
    };
    let per = shape.len() / shape.channels();
    let mut out = Vec::with_capacity(groups * (degree + 1));
    for g in 0..groups {
        // The element index of this group's first element.
        let e = if target == Granularity::Element {
            g
        } else {
            g * per
        };
        let c = e / per;
        let src = poly_group(granularity, shape, e);
        let p = &coeffs[src * (degree + 1)..(src + 1) * (degree + 1)];
        out.extend(compose_affine(p, a[c], b[c]));
    }
    (out, target)
}

/// `p(a·x + b)` expanded: `Σ_i p_i Σ_j C(i, j) a^j b^(i−j) x^j`.
pub(crate) fn compose_affine(p: &[f64], a: f64, b: f64) -> Vec<f64> {
    let mut out = vec![0.0; p.len()];
    for (i, &pi) in p.iter().enumerate() {
        let mut binom = 1.0;
        for (j, o) in out.iter_mut().enumerate().take(i + 1) {
            *o += pi * binom * a.powi(j as i32) * b.powi((i - j) as i32);
            binom = binom * (i - j) as f64 / (j + 1) as f64;
        }
    }
    out
}
