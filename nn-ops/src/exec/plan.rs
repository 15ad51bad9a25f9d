//! A model compiled to what every executor runs: linear steps (each output a
//! bias plus a weighted sum of inputs, zero weights dropped) and
//! element-wise polynomials.
//!
//! Convolution, pooling, dense layers and batch norm are all linear steps,
//! so an executor implements two kernels, not six, and a pruned weight is a
//! term that does not exist. The f64 reference, the fixed-point path and
//! the encrypted executors walk the same plan ([`super::walk`]).

use crate::Error;
use crate::model::{ActivationSpec, Granularity, Layer, Model, Shape};

/// A number a plan can hold: f64 for the reference and CKKS, 256-bit
/// integers for the exact paths.
pub trait Weight: Clone + Send + Sync + std::fmt::Debug + PartialEq {
    /// Whether the weight is exactly zero (its term is dropped).
    fn is_zero(&self) -> bool;
}

impl Weight for f64 {
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

impl Weight for ethnum::I256 {
    fn is_zero(&self) -> bool {
        *self == ethnum::I256::ZERO
    }
}

/// One output of a linear step: `bias + Σ weight · input[index]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<W> {
    /// `(input index, weight)`, non-zero weights only.
    pub terms: Vec<(u32, W)>,
    /// The constant term.
    pub bias: W,
}

/// What a step computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op<W> {
    /// Every output a [`Row`] of the inputs.
    Linear(Vec<Row<W>>),
    /// Element `e` becomes `Σ_i coeffs[e·(degree+1) + i] · x_e^i`.
    Poly {
        /// The degree (at least 1).
        degree: usize,
        /// `degree + 1` coefficients per element, lowest degree first.
        coeffs: Vec<W>,
    },
    /// `max(0, x)`: plaintext teachers only, no encrypted evaluation.
    Relu,
    /// The same values under a new shape (flatten).
    Reshape,
}

/// One step of a plan: what it computes and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<W> {
    /// The model layers it computes, for tables (`conv1`, `conv1+bn1`, `pool#3`).
    pub label: String,
    /// The layer kind (`conv2d`, `dense`, `avg_pool`, `batch_norm`,
    /// `activation`, `flatten`), the first layer's when several were fused
    /// — `dense` when a run of linear layers was composed into one map.
    pub kind: &'static str,
    /// The computation.
    pub op: Op<W>,
    /// The shape of the output.
    pub out: Shape,
}

/// A model as steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<W> {
    /// The input's shape.
    pub input: Shape,
    /// The steps, in order.
    pub steps: Vec<Step<W>>,
}

impl<W: Weight> Plan<W> {
    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.steps.last().map_or(self.input.len(), |s| s.out.len())
    }

    /// The same plan with every weight mapped by `f` (e.g. reduced modulo a
    /// plaintext modulus).
    pub fn map<V: Weight>(&self, f: impl Fn(&W) -> V) -> Plan<V> {
        Plan {
            input: self.input,
            steps: self
                .steps
                .iter()
                .map(|s| Step {
                    label: s.label.clone(),
                    kind: s.kind,
                    out: s.out,
                    op: match &s.op {
                        Op::Linear(rows) => Op::Linear(
                            rows.iter()
                                .map(|r| Row {
                                    terms: r.terms.iter().map(|(i, w)| (*i, f(w))).collect(),
                                    bias: f(&r.bias),
                                })
                                .collect(),
                        ),
                        Op::Poly { degree, coeffs } => Op::Poly {
                            degree: *degree,
                            coeffs: coeffs.iter().map(&f).collect(),
                        },
                        Op::Relu => Op::Relu,
                        Op::Reshape => Op::Reshape,
                    },
                })
                .collect(),
        }
    }
}

/// `second ∘ first` as rows over `first`'s inputs (`inputs` of them).
pub(crate) fn compose(first: &[Row<f64>], second: &[Row<f64>], inputs: usize) -> Vec<Row<f64>> {
    let mut dense = vec![0.0f64; inputs];
    second
        .iter()
        .map(|row| {
            dense.iter_mut().for_each(|v| *v = 0.0);
            let mut bias = row.bias;
            for &(j, w) in &row.terms {
                let inner = &first[j as usize];
                bias += w * inner.bias;
                for &(i, v) in &inner.terms {
                    dense[i as usize] += w * v;
                }
            }
            Row {
                terms: dense
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(i, &v)| (i as u32, v))
                    .collect(),
                bias,
            }
        })
        .collect()
}

/// Inputs a set of rows reads: one past the largest index.
pub(crate) fn input_span(rows: &[Row<f64>]) -> usize {
    rows.iter()
        .flat_map(|r| r.terms.iter().map(|t| t.0 as usize + 1))
        .max()
        .unwrap_or(0)
}

/// A window's geometry (convolution, pooling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// The input coordinate of output coordinate `o` at kernel offset `k`,
    /// or `None` in the zero padding.
    fn source(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        (o * self.stride + k)
            .checked_sub(self.padding)
            .filter(|&v| v < size)
    }
}

fn dims(shape: Shape) -> (usize, usize, usize) {
    match shape {
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
        Shape::Features(n) => (n, 1, 1),
    }
}

/// The rows of `out[o][y][x] = bias[o] + Σ w[o][i][ky][kx] · in[i][y·s+ky−p][x·s+kx−p]`.
pub(crate) fn conv_rows<W: Weight>(
    input: Shape,
    out: Shape,
    weight: &[W],
    bias: &[W],
    w: Window,
) -> Vec<Row<W>> {
    let ((ci, hi, wi), (co, ho, wo), k) = (dims(input), dims(out), w.kernel);
    let mut rows = Vec::with_capacity(co * ho * wo);
    for o in 0..co {
        for y in 0..ho {
            for x in 0..wo {
                let mut terms = Vec::new();
                for i in 0..ci {
                    for ky in 0..k {
                        let Some(iy) = w.source(y, ky, hi) else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ix) = w.source(x, kx, wi) else {
                                continue;
                            };
                            let wv = &weight[((o * ci + i) * k + ky) * k + kx];
                            if !wv.is_zero() {
                                terms.push((((i * hi + iy) * wi + ix) as u32, wv.clone()));
                            }
                        }
                    }
                }
                rows.push(Row {
                    terms,
                    bias: bias[o].clone(),
                });
            }
        }
    }
    rows
}

/// The rows of window sums times `weight` (zero padding counted as values).
pub(crate) fn pool_rows<W: Weight>(
    input: Shape,
    out: Shape,
    weight: W,
    zero: W,
    w: Window,
) -> Vec<Row<W>> {
    let ((_, hi, wi), (c, ho, wo)) = (dims(input), dims(out));
    let mut rows = Vec::with_capacity(c * ho * wo);
    for ch in 0..c {
        for y in 0..ho {
            for x in 0..wo {
                let mut terms = Vec::new();
                for ky in 0..w.kernel {
                    let Some(iy) = w.source(y, ky, hi) else {
                        continue;
                    };
                    for kx in 0..w.kernel {
                        if let Some(ix) = w.source(x, kx, wi) {
                            terms.push((((ch * hi + iy) * wi + ix) as u32, weight.clone()));
                        }
                    }
                }
                rows.push(Row {
                    terms,
                    bias: zero.clone(),
                });
            }
        }
    }
    rows
}

/// The rows of `out[o] = bias[o] + Σ w[o][i] · in[i]`.
pub(crate) fn dense_rows<W: Weight>(inputs: usize, weight: &[W], bias: &[W]) -> Vec<Row<W>> {
    bias.iter()
        .enumerate()
        .map(|(o, b)| Row {
            terms: weight[o * inputs..(o + 1) * inputs]
                .iter()
                .enumerate()
                .filter(|(_, w)| !w.is_zero())
                .map(|(i, w)| (i as u32, w.clone()))
                .collect(),
            bias: b.clone(),
        })
        .collect()
}

/// The rows of a per-channel affine `a_c · x + b_c`.
pub(crate) fn affine_rows<W: Weight>(shape: Shape, a: &[W], b: &[W]) -> Vec<Row<W>> {
    let per = shape.len() / shape.channels().max(1);
    (0..shape.len())
        .map(|e| Row {
            terms: if a[e / per].is_zero() {
                Vec::new()
            } else {
                vec![(e as u32, a[e / per].clone())]
            },
            bias: b[e / per].clone(),
        })
        .collect()
}

/// Index of the polynomial that element `e` (of a tensor of `shape`) uses.
pub(crate) fn poly_group(granularity: Granularity, shape: Shape, e: usize) -> usize {
    match granularity {
        Granularity::Layer => 0,
        Granularity::Element => e,
        Granularity::Channel => match shape {
            Shape::Image { height, width, .. } => e / (height * width),
            Shape::Features(_) => e,
        },
    }
}

/// Per-group coefficients expanded to one polynomial per element.
pub(crate) fn expand_poly<W: Weight>(
    coeffs: &[W],
    degree: usize,
    granularity: Granularity,
    shape: Shape,
) -> Vec<W> {
    (0..shape.len())
        .flat_map(|e| {
            let g = poly_group(granularity, shape, e);
            coeffs[g * (degree + 1)..(g + 1) * (degree + 1)]
                .iter()
                .cloned()
        })
        .collect()
}

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

/// A label for layer `k`: its tensor prefix, or its kind and index.
pub(crate) fn layer_label(layer: &Layer, k: usize) -> String {
    layer
        .name()
        .map_or_else(|| format!("{}#{k}", layer_kind(layer)), str::to_string)
}

/// The layer's kind, as in the model file.
pub(crate) fn layer_kind(layer: &Layer) -> &'static str {
    match layer {
        Layer::Conv2d { .. } => "conv2d",
        Layer::BatchNorm { .. } => "batch_norm",
        Layer::Activation { .. } => "activation",
        Layer::AvgPool { .. } => "avg_pool",
        Layer::Flatten => "flatten",
        Layer::Dense { .. } => "dense",
    }
}

/// The f64 plan of a model, layer for layer (nothing folded): the
/// reference semantics.
pub fn float_plan(model: &Model) -> Plan<f64> {
    let mut shape = model.input_shape();
    let mut steps = Vec::with_capacity(model.graph().layers.len());
    for (k, (layer, &out)) in model.graph().layers.iter().zip(model.shapes()).enumerate() {
        let op = match layer {
            Layer::Conv2d {
                name,
                kernel,
                stride,
                padding,
                ..
            } => Op::Linear(conv_rows(
                shape,
                out,
                &tensor_f64(model, name, "weight"),
                &tensor_f64(model, name, "bias"),
                Window {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                },
            )),
            Layer::BatchNorm { name, eps, .. } => {
                let (a, b) = batch_norm_affine(model, name, *eps);
                Op::Linear(affine_rows(shape, &a, &b))
            }
            Layer::Activation { name, function } => match function {
                ActivationSpec::Relu => Op::Relu,
                ActivationSpec::Poly {
                    degree,
                    granularity,
                } => Op::Poly {
                    degree: *degree,
                    coeffs: expand_poly(
                        &tensor_f64(model, name, "coeffs"),
                        *degree,
                        *granularity,
                        shape,
                    ),
                },
            },
            Layer::AvgPool {
                kernel,
                stride,
                padding,
                scaled,
            } => {
                let weight = if *scaled {
                    1.0
                } else {
                    1.0 / (kernel * kernel) as f64
                };
                Op::Linear(pool_rows(
                    shape,
                    out,
                    weight,
                    0.0,
                    Window {
                        kernel: *kernel,
                        stride: *stride,
                        padding: *padding,
                    },
                ))
            }
            Layer::Flatten => Op::Reshape,
            Layer::Dense { name, .. } => Op::Linear(dense_rows(
                shape.len(),
                &tensor_f64(model, name, "weight"),
                &tensor_f64(model, name, "bias"),
            )),
        };
        steps.push(Step {
            label: layer_label(layer, k),
            kind: layer_kind(layer),
            op,
            out,
        });
        shape = out;
    }
    Plan {
        input: model.input_shape(),
        steps,
    }
}

/// Fails unless every step of `plan` has an encrypted evaluation (no ReLU).
pub fn check_encryptable<W>(plan: &Plan<W>) -> Result<(), Error> {
    if let Some(step) = plan.steps.iter().find(|s| matches!(s.op, Op::Relu)) {
        return Err(Error::Model(format!(
            "layer {}: ReLU has no encrypted evaluation; use a model with polynomial activations (hefty train --recipe quad-layer, or a committed cryptonets-mnist-quad-* or -pruned-* model)",
            step.label
        )));
    }
    Ok(())
}
