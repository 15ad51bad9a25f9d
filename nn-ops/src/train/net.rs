//! A trainable network on candle, built from [`LayerDef`]s, exported to and
//! imported from the model format.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};

use crate::Error;
use crate::model::{
    self, ActivationSpec, Granularity, Graph, InputSpec, Layer, Model, Quantization, Shape,
};
use crate::train::{ActChoice, LayerDef};

/// Converts a candle error.
pub(crate) fn te(e: candle_core::Error) -> Error {
    Error::Train(e.to_string())
}

/// A network: its layers, trainable parameters and batch-norm statistics.
pub struct Net {
    pub(crate) layers: Vec<LayerDef>,
    pub(crate) input: InputSpec,
    /// Trainable parameters by tensor name (`conv1.weight`, `act1.coeffs`, …).
    pub(crate) params: BTreeMap<String, Var>,
    /// Batch-norm running statistics (`bn1.mean`, `bn1.var`).
    pub(crate) stats: BTreeMap<String, Tensor>,
    /// The shape after each layer.
    pub(crate) shapes: Vec<Shape>,
    /// Per-layer power-of-two ranges, once quantized.
    pub(crate) quantized: BTreeMap<String, (i32, i32)>,
    pub(crate) device: Device,
}

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

/// Output side of a window, by the model format's rule (so a network
/// that builds also exports).
fn side(s: usize, k: usize, stride: usize, p: usize) -> Result<usize, Error> {
    crate::model::window_out(s, k, stride, p).ok_or_else(|| {
        Error::Train(format!(
            "a {k}-window with stride {stride} and padding {p} does not fit side {s}"
        ))
    })
}

impl Net {
    /// A freshly initialised network (Kaiming-normal weights, zero biases,
    /// identity batch norm, trainable quadratics starting at the
    /// quantized-minimax ReLU `x²/8 + x/2 + 1/4`).
    pub fn new(layers: &[LayerDef], input: InputSpec, seed: u64) -> Result<Self, Error> {
        let device = Device::Cpu;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let mut params = BTreeMap::new();
        let mut stats = BTreeMap::new();
        let mut shapes = Vec::new();
        let mut shape = Shape::Image {
            channels: input.channels,
            height: input.height,
            width: input.width,
        };
        let var = |data: Vec<f32>, dims: &[usize]| -> Result<Var, Error> {
            Var::from_tensor(&Tensor::from_vec(data, dims, &device).map_err(te)?).map_err(te)
        };
        for layer in layers {
            shape = match (layer, shape) {
                (
                    LayerDef::Conv {
                        name,
                        out,
                        kernel,
                        stride,
                        padding,
                        centre_only,
                    },
                    Shape::Image {
                        channels,
                        height,
                        width,
                    },
                ) => {
                    let fan_in = channels * kernel * kernel;
                    let mut w = normal(&mut rng, out * fan_in, (2.0 / fan_in as f64).sqrt());
                    apply_centre_mask(&mut w, *out, channels, *kernel, *centre_only);
                    params.insert(
                        format!("{name}.weight"),
                        var(w, &[*out, channels, *kernel, *kernel])?,
                    );
                    params.insert(format!("{name}.bias"), var(vec![0.0; *out], &[*out])?);
                    Shape::Image {
                        channels: *out,
                        height: side(height, *kernel, *stride, *padding)?,
                        width: side(width, *kernel, *stride, *padding)?,
                    }
                }
                (LayerDef::BatchNorm { name }, s) => {
                    let c = s.channels();
                    params.insert(format!("{name}.gamma"), var(vec![1.0; c], &[c])?);
                    params.insert(format!("{name}.beta"), var(vec![0.0; c], &[c])?);
                    stats.insert(
                        format!("{name}.mean"),
                        Tensor::zeros(c, DType::F32, &device).map_err(te)?,
                    );
                    stats.insert(
                        format!("{name}.var"),
                        Tensor::ones(c, DType::F32, &device).map_err(te)?,
                    );
                    s
                }
                (
                    LayerDef::Act {
                        name,
                        act: ActChoice::Trainable(g),
                    },
                    s,
                ) => {
                    let groups = groups(*g, s);
                    let init: Vec<f32> = (0..groups).flat_map(|_| [0.25, 0.5, 0.125]).collect();
                    params.insert(format!("{name}.coeffs"), var(init, &[groups, 3])?);
                    s
                }
                (LayerDef::Act { .. }, s) => s,
                (
                    LayerDef::Pool {
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
                ) => Shape::Image {
                    channels,
                    height: side(height, *kernel, *stride, *padding)?,
                    width: side(width, *kernel, *stride, *padding)?,
                },
                (LayerDef::Flatten, s) => Shape::Features(s.len()),
                (LayerDef::Dense { name, out }, Shape::Features(n)) => {
                    let w = normal(&mut rng, out * n, (2.0 / n as f64).sqrt());
                    params.insert(format!("{name}.weight"), var(w, &[*out, n])?);
                    params.insert(format!("{name}.bias"), var(vec![0.0; *out], &[*out])?);
                    Shape::Features(*out)
                }
                (l, s) => return Err(Error::Train(format!("{l:?} cannot take shape {s:?}"))),
            };
            shapes.push(shape);
        }
        Ok(Self {
            layers: layers.to_vec(),
            input,
            params,
            stats,
            shapes,
            quantized: BTreeMap::new(),
            device,
        })
    }

    /// The convolution and dense layers with their weight counts, in order
    /// (the layers pruning and power-of-two quantization act on).
    pub fn weight_layers(&self) -> Vec<(String, usize)> {
        self.layers
            .iter()
            .filter_map(|l| match l {
                LayerDef::Conv { name, .. } | LayerDef::Dense { name, .. } => {
                    let w = &self.params[&format!("{name}.weight")];
                    Some((name.clone(), w.as_tensor().elem_count()))
                }
                _ => None,
            })
            .collect()
    }

    /// The parameters that training updates.
    pub fn trainable(&self) -> Vec<Var> {
        self.params.values().cloned().collect()
    }

    /// Logits for a batch `[B, C, H, W]`; `train` uses batch statistics and
    /// updates the running ones.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, Error> {
        let mut x = x.clone();
        let mut shape = Shape::Image {
            channels: self.input.channels,
            height: self.input.height,
            width: self.input.width,
        };
        let (layers, shapes) = (self.layers.clone(), self.shapes.clone());
        for (layer, &out) in layers.iter().zip(&shapes) {
            x = match layer {
                LayerDef::Conv {
                    name,
                    stride,
                    padding,
                    ..
                } => {
                    let w = self.params[&format!("{name}.weight")].as_tensor();
                    let b = self.params[&format!("{name}.bias")].as_tensor();
                    let y = x.conv2d(w, *padding, *stride, 1, 1).map_err(te)?;
                    y.broadcast_add(&b.reshape((1, b.dim(0).map_err(te)?, 1, 1)).map_err(te)?)
                        .map_err(te)?
                }
                LayerDef::BatchNorm { name } => self.batch_norm(name, &x, train)?,
                LayerDef::Act { name, act } => match act {
                    ActChoice::Relu => x.relu().map_err(te)?,
                    ActChoice::Fixed(c) => {
                        // Horner with constants.
                        let mut acc = (x.ones_like().map_err(te)? * c[c.len() - 1]).map_err(te)?;
                        for &ci in c.iter().rev().skip(1) {
                            acc = ((acc * &x).map_err(te)? + ci).map_err(te)?;
                        }
                        acc
                    }
                    ActChoice::Trainable(g) => crate::train::activation::quadratic(
                        &x,
                        self.params[&format!("{name}.coeffs")].as_tensor(),
                        *g,
                        shape,
                    )?,
                },
                LayerDef::Pool {
                    kernel,
                    stride,
                    padding,
                    scaled,
                } => {
                    let p = *padding;
                    let padded = if p > 0 {
                        x.pad_with_zeros(2, p, p)
                            .and_then(|t| t.pad_with_zeros(3, p, p))
                            .map_err(te)?
                    } else {
                        x.clone()
                    };
                    let sums = window_sums(&padded, *kernel, *stride)?;
                    if *scaled {
                        sums
                    } else {
                        (sums / (kernel * kernel) as f64).map_err(te)?
                    }
                }
                LayerDef::Flatten => x.flatten_from(1).map_err(te)?,
                LayerDef::Dense { name, .. } => {
                    let w = self.params[&format!("{name}.weight")].as_tensor();
                    let b = self.params[&format!("{name}.bias")].as_tensor();
                    x.matmul(&w.t().map_err(te)?)
                        .and_then(|y| y.broadcast_add(b))
                        .map_err(te)?
                }
            };
            shape = out;
        }
        Ok(x)
    }

    fn batch_norm(&mut self, name: &str, x: &Tensor, train: bool) -> Result<Tensor, Error> {
        let rank = x.rank();
        let c = x.dim(1).map_err(te)?;
        let bshape: Vec<usize> = (0..rank).map(|i| if i == 1 { c } else { 1 }).collect();
        let (mean, var) = if train {
            // Statistics over every axis but the channel one.
            let axes: Vec<usize> = (0..rank).filter(|&i| i != 1).collect();
            let mean = x.mean_keepdim(axes.as_slice()).map_err(te)?;
            let centred = x.broadcast_sub(&mean).map_err(te)?;
            let var = centred
                .sqr()
                .and_then(|s| s.mean_keepdim(axes.as_slice()))
                .map_err(te)?;
            let count = (x.elem_count() / c) as f64;
            let (m_key, v_key) = (format!("{name}.mean"), format!("{name}.var"));
            let update = |old: &Tensor, new: &Tensor, unbias: f64| -> Result<Tensor, Error> {
                let new = (new.detach().flatten_all().map_err(te)? * (BN_MOMENTUM * unbias))
                    .map_err(te)?;
                ((old * (1.0 - BN_MOMENTUM)).map_err(te)? + new).map_err(te)
            };
            let m_new = update(&self.stats[&m_key], &mean, 1.0)?;
            let v_new = update(&self.stats[&v_key], &var, count / (count - 1.0).max(1.0))?;
            self.stats.insert(m_key, m_new);
            self.stats.insert(v_key, v_new);
            (mean, var)
        } else {
            (
                self.stats[&format!("{name}.mean")]
                    .reshape(bshape.as_slice())
                    .map_err(te)?,
                self.stats[&format!("{name}.var")]
                    .reshape(bshape.as_slice())
                    .map_err(te)?,
            )
        };
        let gamma = self.params[&format!("{name}.gamma")]
            .as_tensor()
            .reshape(bshape.as_slice())
            .map_err(te)?;
        let beta = self.params[&format!("{name}.beta")]
            .as_tensor()
            .reshape(bshape.as_slice())
            .map_err(te)?;
        let norm = x
            .broadcast_sub(&mean)
            .and_then(|t| t.broadcast_div(&(var + BN_EPS)?.sqrt()?))
            .map_err(te)?;
        norm.broadcast_mul(&gamma)
            .and_then(|t| t.broadcast_add(&beta))
            .map_err(te)
    }

    /// The trainable tensor `<layer>.<part>`.
    fn param(&self, layer: &str, part: &str) -> &Tensor {
        self.params[&format!("{layer}.{part}")].as_tensor()
    }

    /// The network as a model file (graph + tensors).
    pub fn export(
        &self,
        name: &str,
        training: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Model, Error> {
        let mut tensors = BTreeMap::new();
        let mut graph_layers = Vec::new();
        let mut shape = Shape::Image {
            channels: self.input.channels,
            height: self.input.height,
            width: self.input.width,
        };
        let grab = |t: &Tensor| -> Result<model::Tensor, Error> {
            let data = t
                .flatten_all()
                .and_then(|f| f.to_vec1::<f32>())
                .map_err(te)?;
            model::Tensor::new(t.dims().to_vec(), data)
        };
        for (layer, &out) in self.layers.iter().zip(&self.shapes) {
            let mut copy = |key: &str, part: &str, t: &Tensor| -> Result<(), Error> {
                tensors.insert(format!("{key}.{part}"), grab(t)?);
                Ok(())
            };
            let q = |name: &str| {
                self.quantized
                    .get(name)
                    .map(|&(min_exp, max_exp)| Quantization::PowerOfTwo { min_exp, max_exp })
            };
            graph_layers.push(match layer {
                LayerDef::Conv {
                    name,
                    out: o,
                    kernel,
                    stride,
                    padding,
                    ..
                } => {
                    copy(name, "weight", self.param(name, "weight"))?;
                    copy(name, "bias", self.param(name, "bias"))?;
                    Layer::Conv2d {
                        name: name.clone(),
                        in_channels: shape.channels(),
                        out_channels: *o,
                        kernel: *kernel,
                        stride: *stride,
                        padding: *padding,
                        quantization: q(name),
                    }
                }
                LayerDef::BatchNorm { name } => {
                    copy(name, "gamma", self.param(name, "gamma"))?;
                    copy(name, "beta", self.param(name, "beta"))?;
                    copy(name, "mean", &self.stats[&format!("{name}.mean")])?;
                    copy(name, "var", &self.stats[&format!("{name}.var")])?;
                    Layer::BatchNorm {
                        name: name.clone(),
                        channels: shape.channels(),
                        eps: BN_EPS,
                    }
                }
                LayerDef::Act { name, act } => {
                    let function = match act {
                        ActChoice::Relu => ActivationSpec::Relu,
                        ActChoice::Fixed(c) => {
                            let t = Tensor::from_vec(
                                c.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                                (1, c.len()),
                                &self.device,
                            )
                            .map_err(te)?;
                            copy(name, "coeffs", &t)?;
                            ActivationSpec::Poly {
                                degree: c.len() - 1,
                                granularity: Granularity::Layer,
                            }
                        }
                        ActChoice::Trainable(g) => {
                            copy(name, "coeffs", self.param(name, "coeffs"))?;
                            ActivationSpec::Poly {
                                degree: 2,
                                granularity: *g,
                            }
                        }
                    };
                    Layer::Activation {
                        name: name.clone(),
                        function,
                    }
                }
                LayerDef::Pool {
                    kernel,
                    stride,
                    padding,
                    scaled,
                } => Layer::AvgPool {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    scaled: *scaled,
                },
                LayerDef::Flatten => Layer::Flatten,
                LayerDef::Dense { name, out: o } => {
                    copy(name, "weight", self.param(name, "weight"))?;
                    copy(name, "bias", self.param(name, "bias"))?;
                    Layer::Dense {
                        name: name.clone(),
                        in_features: shape.len(),
                        out_features: *o,
                        quantization: q(name),
                    }
                }
            });
            shape = out;
        }
        let graph = Graph {
            format: model::FORMAT.into(),
            version: model::GRAPH_VERSION,
            name: name.into(),
            input: self.input,
            weights: format!("{name}.safetensors"),
            layers: graph_layers,
            training,
        };
        Model::new(graph, tensors)
    }

    /// A network holding a model's weights (to distil from it or to start
    /// from it): activations as the model has them, unless `act` replaces
    /// every activation (a ReLU teacher's weights under a polynomial student).
    pub fn from_model(model: &Model, act: Option<&ActChoice>) -> Result<Self, Error> {
        let mut layers = Vec::new();
        for l in &model.graph().layers {
            layers.push(match l {
                Layer::Conv2d { name, out_channels, kernel, stride, padding, .. } => LayerDef::Conv {
                    name: name.clone(),
                    out: *out_channels,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    centre_only: 0,
                },
                Layer::BatchNorm { name, .. } => LayerDef::BatchNorm { name: name.clone() },
                Layer::Activation { name, function } => LayerDef::Act {
                    name: name.clone(),
                    act: match (act, function) {
                        (Some(a), _) => a.clone(),
                        (None, ActivationSpec::Relu) => ActChoice::Relu,
                        (None, ActivationSpec::Poly { granularity, degree }) => {
                            let t = model.tensor(&format!("{name}.coeffs")).expect("validated");
                            if *granularity == Granularity::Layer {
                                ActChoice::Fixed(t.data.iter().map(|&x| x as f64).collect())
                            } else if *degree == 2 {
                                ActChoice::Trainable(*granularity)
                            } else {
                                return Err(Error::Train(format!("layer {name}: only quadratic trainable activations are supported")));
                            }
                        }
                    },
                },
                Layer::AvgPool { kernel, stride, padding, scaled } => LayerDef::Pool {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    scaled: *scaled,
                },
                Layer::Flatten => LayerDef::Flatten,
                Layer::Dense { name, out_features, .. } => LayerDef::Dense { name: name.clone(), out: *out_features },
            });
        }
        let mut net = Net::new(&layers, model.graph().input, 0)?;
        for (key, var) in &net.params {
            let (layer, part) = key.rsplit_once('.').expect("named parts");
            let source = match part {
                "coeffs" => model.tensor(key),
                _ => model.tensor(&format!("{layer}.{part}")),
            };
            if let Some(t) = source
                && t.shape == var.as_tensor().dims()
            {
                var.set(
                    &Tensor::from_vec(t.data.clone(), t.shape.as_slice(), &net.device)
                        .map_err(te)?,
                )
                .map_err(te)?;
            }
        }
        for (key, stat) in net.stats.iter_mut() {
            if let Some(t) = model.tensor(key) {
                *stat = Tensor::from_vec(t.data.clone(), t.shape.as_slice(), &Device::Cpu)
                    .map_err(te)?;
            }
        }
        Ok(net)
    }
}

/// Groups of a trainable activation over `shape`.
pub(crate) fn groups(g: Granularity, s: Shape) -> usize {
    match g {
        Granularity::Layer => 1,
        Granularity::Channel => s.channels(),
        Granularity::Element => s.len(),
    }
}

/// Zeroes every tap but the centre of the first `centre_only` output maps.
pub(crate) fn apply_centre_mask(
    w: &mut [f32],
    out: usize,
    cin: usize,
    k: usize,
    centre_only: usize,
) {
    let c = k / 2;
    for o in 0..centre_only.min(out) {
        for i in 0..cin {
            for y in 0..k {
                for x in 0..k {
                    if (y, x) != (c, c) {
                        w[((o * cin + i) * k + y) * k + x] = 0.0;
                    }
                }
            }
        }
    }
}

/// `n` normal samples of standard deviation `std` (Box–Muller).
fn normal(rng: &mut impl rand::Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u1: f64 = rng.random::<f64>().max(1e-12);
            let u2: f64 = rng.random();
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
        })
        .collect()
}

/// Sums over `k × k` windows with `stride` (no padding): shifted slices
/// added up, then every `stride`-th row and column (candle's pooling has no
/// gradient when the stride differs from the window).
fn window_sums(x: &Tensor, k: usize, stride: usize) -> Result<Tensor, Error> {
    let (h, w) = (x.dim(2).map_err(te)?, x.dim(3).map_err(te)?);
    if k == stride && h % k == 0 && w % k == 0 {
        return (x.avg_pool2d((k, k)).map_err(te)? * (k * k) as f64).map_err(te);
    }
    let (hs, ws) = (h + 1 - k, w + 1 - k);
    let mut acc: Option<Tensor> = None;
    for ky in 0..k {
        for kx in 0..k {
            let part = x
                .narrow(2, ky, hs)
                .and_then(|t| t.narrow(3, kx, ws))
                .map_err(te)?;
            acc = Some(match acc {
                None => part,
                Some(a) => (a + part).map_err(te)?,
            });
        }
    }
    let acc = acc.ok_or_else(|| Error::Train("empty pooling window".into()))?;
    if stride == 1 {
        return Ok(acc);
    }
    let pick = |len: usize| {
        let idx: Vec<u32> = (0..len).step_by(stride).map(|i| i as u32).collect();
        Tensor::from_vec(idx.clone(), idx.len(), &Device::Cpu).map_err(te)
    };
    let (rows, cols) = (pick(hs)?, pick(ws)?);
    acc.index_select(&rows, 2)
        .and_then(|t| t.index_select(&cols, 3))
        .map_err(te)
}
