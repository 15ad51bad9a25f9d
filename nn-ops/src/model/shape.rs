//! Shapes through a graph, and the validation of a graph against its tensors.

use std::collections::{BTreeMap, BTreeSet};

use crate::Error;
use crate::model::{ActivationSpec, Granularity, Graph, Layer, Quantization, Tensor};

/// The shape of the values between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Channel-major images.
    Image {
        /// Channels.
        channels: usize,
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
    },
    /// A vector of features.
    Features(usize),
}

impl Shape {
    /// The number of values.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
            Shape::Features(n) => n,
        }
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Channels (features for a vector).
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Image { channels, .. } => channels,
            Shape::Features(n) => n,
        }
    }
}

/// The largest dimension a model may have — channels, sides, features,
/// kernels, strides, paddings (keeps hostile files from asking for huge
/// buffers before any tensor is read).
pub const MAX_DIM: usize = 1 << 16;

/// The largest tensor between layers, in elements.
pub const MAX_ELEMENTS: usize = MAX_DIM * 64;

/// The most multiply-adds one layer may cost per image (a conv's or
/// pool's window times its outputs, a dense layer's weights): a 300-byte
/// model cannot ask for days of work per image.
pub const MAX_LAYER_WORK: u64 = 1 << 30;

/// Output side of a window of `kernel` with `stride` and `padding`, in
/// checked arithmetic (hostile sizes near `usize::MAX` give `None`).
pub(crate) fn window_out(
    side: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || padding >= kernel {
        return None;
    }
    let padded = side.checked_add(padding.checked_mul(2)?)?;
    Some(padded.checked_sub(kernel)? / stride + 1)
}

/// Fails unless a window's kernel, stride and padding are within [`MAX_DIM`].
fn check_window(k: usize, kernel: usize, stride: usize, padding: usize) -> Result<(), Error> {
    if [kernel, stride, padding].iter().any(|&d| d > MAX_DIM) {
        return Err(Error::Model(format!(
            "layer {k}: kernel {kernel}, stride {stride} and padding {padding} must each be at most {MAX_DIM}"
        )));
    }
    Ok(())
}

/// The most multiply-adds a whole model may cost per image.
pub const MAX_MODEL_WORK: u64 = 1 << 32;

/// The most layers a model may have.
pub const MAX_LAYERS: usize = 4096;

/// Fails when a layer would cost more than [`MAX_LAYER_WORK`] per image;
/// adds its cost to `total`.
fn check_work(k: usize, outputs: usize, per_output: usize, total: &mut u64) -> Result<(), Error> {
    let work = (outputs as u64).saturating_mul(per_output as u64);
    if work > MAX_LAYER_WORK {
        return Err(Error::Model(format!(
            "layer {k}: {outputs} outputs of {per_output} multiply-adds each exceed the bound of {MAX_LAYER_WORK} per image; use a smaller window or input"
        )));
    }
    *total = total.saturating_add(work);
    if *total > MAX_MODEL_WORK {
        return Err(Error::Model(format!(
            "layers 0..={k} cost {total} multiply-adds per image together, beyond the bound of {MAX_MODEL_WORK}; use fewer or smaller layers"
        )));
    }
    Ok(())
}

/// Checks the graph against its tensors; the shape after each layer.
pub(crate) fn validate(
    graph: &Graph,
    tensors: &BTreeMap<String, Tensor>,
) -> Result<Vec<Shape>, Error> {
    let bad = |layer: usize, msg: String| Error::Model(format!("layer {layer}: {msg}"));
    let i = graph.input;
    if [i.channels, i.height, i.width]
        .iter()
        .any(|&d| d == 0 || d > MAX_DIM)
        || i.channels * i.height * i.width > MAX_ELEMENTS
        || i.scale_bits > 16
    {
        return Err(Error::Model(format!(
            "input {i:?} is not a valid image shape"
        )));
    }
    let mut shape = Shape::Image {
        channels: i.channels,
        height: i.height,
        width: i.width,
    };
    let mut used = BTreeSet::new();
    let mut names = BTreeSet::new();
    if graph.layers.len() > MAX_LAYERS {
        return Err(Error::Model(format!(
            "{} layers: at most {MAX_LAYERS} are supported",
            graph.layers.len()
        )));
    }
    let mut shapes = Vec::with_capacity(graph.layers.len());
    let mut work = 0u64;
    for (k, layer) in graph.layers.iter().enumerate() {
        if let Some(name) = layer.name()
            && !names.insert(name.to_string())
        {
            return Err(bad(k, format!("the name {name:?} is used twice")));
        }
        let mut need = |suffix: &str, want: &[usize]| -> Result<&Tensor, Error> {
            let name = format!("{}.{suffix}", layer.name().unwrap_or(""));
            let t = tensors
                .get(&name)
                .ok_or_else(|| bad(k, format!("tensor {name} is missing from the weights")))?;
            if t.shape != want {
                return Err(bad(
                    k,
                    format!("tensor {name} has shape {:?}, expected {want:?}", t.shape),
                ));
            }
            if let Some(x) = t.data.iter().find(|x| !x.is_finite()) {
                return Err(bad(k, format!("tensor {name} holds {x}")));
            }
            used.insert(name);
            Ok(t)
        };
        shape = match (layer, shape) {
            (
                Layer::Conv2d {
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    quantization,
                    ..
                },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                if *in_channels != channels {
                    return Err(bad(
                        k,
                        format!("conv2d takes {in_channels} channels, gets {channels}"),
                    ));
                }
                if *out_channels == 0 || *out_channels > MAX_DIM {
                    return Err(bad(
                        k,
                        format!(
                            "conv2d has {out_channels} output channels; it needs 1..={MAX_DIM}"
                        ),
                    ));
                }
                check_window(k, *kernel, *stride, *padding)?;
                let (Some(h), Some(w)) = (
                    window_out(height, *kernel, *stride, *padding),
                    window_out(width, *kernel, *stride, *padding),
                ) else {
                    return Err(bad(
                        k,
                        format!(
                            "a {kernel}×{kernel} kernel, stride {stride}, padding {padding} does not fit {height}×{width}"
                        ),
                    ));
                };
                check_work(
                    k,
                    out_channels.saturating_mul(h).saturating_mul(w),
                    in_channels.saturating_mul(kernel * kernel),
                    &mut work,
                )?;
                let weight = need("weight", &[*out_channels, *in_channels, *kernel, *kernel])?;
                check_quantization(k, weight, quantization)?;
                need("bias", &[*out_channels])?;
                Shape::Image {
                    channels: *out_channels,
                    height: h,
                    width: w,
                }
            }
            (Layer::BatchNorm { channels, eps, .. }, s) => {
                if *channels != s.channels() {
                    return Err(bad(
                        k,
                        format!("batch norm over {channels} channels, gets {}", s.channels()),
                    ));
                }
                if !(eps.is_finite() && *eps > 0.0) {
                    return Err(bad(k, format!("eps {eps} must be positive")));
                }
                let gamma = need("gamma", &[*channels])?.data.clone();
                for part in ["beta", "mean"] {
                    need(part, &[*channels])?;
                }
                let var = &need("var", &[*channels])?.data;
                if var.iter().any(|&v| v < 0.0) {
                    return Err(bad(k, "a variance is negative".into()));
                }
                // The folded factor γ/√(σ² + ε) must be a finite number of
                // sane size, or the executors compute infinities.
                if let Some((g, v)) = gamma.iter().zip(var).find(|&(&g, &v)| {
                    let f = g as f64 / (v as f64 + eps).sqrt();
                    !(f.is_finite() && f.abs() <= 1e12)
                }) {
                    return Err(bad(
                        k,
                        format!(
                            "γ = {g} over √(σ² + ε) = √({v} + {eps}) is not a usable factor (beyond 1e12): raise eps"
                        ),
                    ));
                }
                s
            }
            (Layer::Activation { function, .. }, s) => {
                if let ActivationSpec::Poly {
                    degree,
                    granularity,
                } = function
                {
                    if !(1..=8).contains(degree) {
                        return Err(bad(
                            k,
                            format!("polynomial degree {degree} is outside 1..=8"),
                        ));
                    }
                    let groups = match granularity {
                        Granularity::Layer => 1,
                        Granularity::Channel => s.channels(),
                        Granularity::Element => s.len(),
                    };
                    need("coeffs", &[groups, degree + 1])?;
                }
                s
            }
            (
                Layer::AvgPool {
                    kernel,
                    stride,
                    padding,
                    ..
                },
                Shape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                check_window(k, *kernel, *stride, *padding)?;
                let (Some(h), Some(w)) = (
                    window_out(height, *kernel, *stride, *padding),
                    window_out(width, *kernel, *stride, *padding),
                ) else {
                    return Err(bad(
                        k,
                        format!("a {kernel}×{kernel} pool does not fit {height}×{width}"),
                    ));
                };
                check_work(
                    k,
                    channels.saturating_mul(h).saturating_mul(w),
                    kernel * kernel,
                    &mut work,
                )?;
                Shape::Image {
                    channels,
                    height: h,
                    width: w,
                }
            }
            (Layer::Flatten, s) => Shape::Features(s.len()),
            (
                Layer::Dense {
                    in_features,
                    out_features,
                    quantization,
                    ..
                },
                Shape::Features(n),
            ) => {
                if *in_features != n {
                    return Err(bad(
                        k,
                        format!("dense takes {in_features} features, gets {n}"),
                    ));
                }
                if *out_features == 0 || *out_features > MAX_DIM {
                    return Err(bad(
                        k,
                        format!("dense has {out_features} output features; it needs 1..={MAX_DIM}"),
                    ));
                }
                check_work(k, *out_features, *in_features, &mut work)?;
                let weight = need("weight", &[*out_features, *in_features])?;
                check_quantization(k, weight, quantization)?;
                need("bias", &[*out_features])?;
                Shape::Features(*out_features)
            }
            (layer, s) => {
                return Err(bad(
                    k,
                    format!("{layer:?} cannot take input of shape {s:?}"),
                ));
            }
        };
        if shape.len() > MAX_ELEMENTS {
            return Err(bad(k, format!("shape {shape:?} is too large")));
        }
        shapes.push(shape);
    }
    if !matches!(shape, Shape::Features(_)) {
        return Err(Error::Model(format!(
            "the model ends in {shape:?}: the output must be a vector of class scores (add flatten and dense)"
        )));
    }
    if let Some(extra) = tensors.keys().find(|n| !used.contains(*n)) {
        return Err(Error::Model(format!(
            "tensor {extra} is not used by any layer (wrong weights file?)"
        )));
    }
    Ok(shapes)
}

/// Power-of-two weights must be exactly 0 or ±2^k within the stated range.
fn check_quantization(k: usize, weight: &Tensor, q: &Option<Quantization>) -> Result<(), Error> {
    if let Some(Quantization::PowerOfTwo { min_exp, max_exp }) = q {
        if min_exp > max_exp || *min_exp < -60 || *max_exp > 60 {
            return Err(Error::Model(format!(
                "layer {k}: exponent range {min_exp}..={max_exp} is invalid"
            )));
        }
        if let Some(w) = weight
            .data
            .iter()
            .find(|&&w| w != 0.0 && pow2_exponent(w).is_none_or(|e| e < *min_exp || e > *max_exp))
        {
            return Err(Error::Model(format!(
                "layer {k}: weight {w} is not 0 or ±2^k with {min_exp} <= k <= {max_exp}"
            )));
        }
    }
    Ok(())
}

/// `k` when `|w| = 2^k` exactly.
pub(crate) fn pow2_exponent(w: f32) -> Option<i32> {
    let a = w.abs();
    let k = a.log2().round() as i32;
    ((k as f32).exp2() == a).then_some(k)
}
