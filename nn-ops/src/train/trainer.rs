//! The training loop: cross-entropy, optional knowledge distillation,
//! gradual magnitude pruning and incremental power-of-two quantization.

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::Optimizer;
use candle_nn::optim::{AdamW, ParamsAdamW};
use rand::seq::SliceRandom;

use crate::Error;
use crate::mnist::Split;
use crate::quantize::{gradual_sparsity, inq_frozen, magnitude_mask, pow2_range, quantize_pow2};
use crate::train::Net;
use crate::train::augment::shifted_batch;
use crate::train::net::te;

/// Knowledge distillation from a teacher network.
pub struct Distill<'a> {
    /// The teacher (evaluated in inference mode).
    pub teacher: &'a mut Net,
    /// Softmax temperature `T`.
    pub temperature: f64,
    /// Weight of the soft-target loss (`1 − alpha` goes to the labels).
    pub alpha: f64,
}

/// Pruning towards a sparsity per layer (tensor prefix → fraction pruned).
#[derive(Debug, Clone, PartialEq)]
pub struct Pruning {
    /// Target sparsity of each layer's weights.
    pub targets: BTreeMap<String, f64>,
    /// Epochs over which sparsity grows (the rest fine-tune with fixed masks).
    pub ramp_epochs: usize,
}

/// Incremental power-of-two quantization of the given layers' weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Inq {
    /// Layers to quantize.
    pub layers: Vec<String>,
    /// Cumulative fractions frozen at each stage (ends with 1.0).
    pub stages: Vec<f64>,
    /// Bits per weight (one for zero): 5 gives 8 exponents.
    pub bits: u32,
    /// Epochs of retraining after each stage but the last.
    pub epochs_per_stage: usize,
    /// Epochs after the last stage, with every weight frozen: biases,
    /// batch norm and activation coefficients adapt to the quantized weights
    /// (the last stage quantizes the smallest weights, and without this its
    /// error goes uncorrected).
    pub final_epochs: usize,
}

/// Training settings.
pub struct TrainConfig<'a> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// AdamW learning rate (cosine decay to 5 % over the epochs).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Shuffling seed.
    pub seed: u64,
    /// Distillation, if any.
    pub distill: Option<Distill<'a>>,
    /// Pruning, if any (masks persist into quantization).
    pub pruning: Option<Pruning>,
    /// Power-of-two quantization after the epochs, if any.
    pub inq: Option<Inq>,
    /// Augmentation: each training image moves by up to this many pixels
    /// in each direction, drawn afresh at every step (0: none).
    pub max_shift: usize,
}

/// What happened during training.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// A step finished: `(epoch, step, steps per epoch, loss)`.
    Step(usize, usize, usize, f64),
    /// An epoch finished, with accuracy on the evaluation images.
    Epoch(usize, f64),
    /// A quantization stage finished (fraction frozen).
    Stage(f64),
}

/// Images as a `[N, 1, 28, 28]` tensor of `p / 2^scale_bits`, labels as u32.
pub fn tensors(split: &Split, scale_bits: u32) -> Result<(Tensor, Tensor), Error> {
    let scale = (scale_bits as f32).exp2();
    let x: Vec<f32> = split.images.iter().map(|&p| p as f32 / scale).collect();
    let x = Tensor::from_vec(x, (split.len(), 1, 28, 28), &Device::Cpu).map_err(te)?;
    let y = Tensor::from_vec(
        split.labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
        split.len(),
        &Device::Cpu,
    )
    .map_err(te)?;
    Ok((x, y))
}

/// Accuracy of `net` in inference mode on `(x, y)`.
pub fn accuracy(net: &mut Net, x: &Tensor, y: &Tensor) -> Result<f64, Error> {
    let n = x.dim(0).map_err(te)?;
    let mut correct = 0u32;
    for start in (0..n).step_by(1000) {
        let len = 1000.min(n - start);
        let logits = net.forward(&x.narrow(0, start, len).map_err(te)?, false)?;
        let pred = logits.argmax(D::Minus1).map_err(te)?;
        let ok = pred
            .eq(&y.narrow(0, start, len).map_err(te)?)
            .and_then(|t| t.to_dtype(DType::U32))
            .and_then(|t| t.sum_all())
            .and_then(|t| t.to_scalar::<u32>())
            .map_err(te)?;
        correct += ok;
    }
    Ok(correct as f64 / n as f64)
}

/// The distillation loss: `α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE(student, labels)`.
pub fn distillation_loss(
    student: &Tensor,
    teacher: &Tensor,
    labels: &Tensor,
    temperature: f64,
    alpha: f64,
) -> Result<Tensor, Error> {
    let t = temperature;
    let log_ps = candle_nn::ops::log_softmax(&(student / t).map_err(te)?, D::Minus1).map_err(te)?;
    let log_pt = candle_nn::ops::log_softmax(&(teacher / t).map_err(te)?, D::Minus1).map_err(te)?;
    let kl = log_pt
        .exp()
        .and_then(|pt| pt * (&log_pt - &log_ps)?)
        .and_then(|v| v.sum(D::Minus1))
        .and_then(|v| v.mean_all())
        .map_err(te)?;
    let ce = candle_nn::loss::cross_entropy(student, labels).map_err(te)?;
    ((kl * (alpha * t * t)).map_err(te)? + (ce * (1.0 - alpha)).map_err(te)?).map_err(te)
}

/// Per-parameter constraints: keep-masks (pruning) and frozen quantized
/// values (INQ), re-imposed after every optimizer step.
#[derive(Default)]
struct Constraints {
    by_param: BTreeMap<String, Constraint>,
}

/// What one weight tensor must satisfy.
struct Constraint {
    /// False: pruned (held at zero).
    keep: Vec<bool>,
    /// True: frozen at `values` (quantized).
    frozen: Vec<bool>,
    values: Vec<f32>,
}

impl Constraint {
    /// Only a keep-mask: nothing frozen.
    fn mask(keep: Vec<bool>) -> Self {
        let len = keep.len();
        Self {
            keep,
            frozen: vec![false; len],
            values: vec![0.0; len],
        }
    }
}

impl Constraints {
    fn apply(&self, net: &Net) -> Result<(), Error> {
        for (
            name,
            Constraint {
                keep,
                frozen,
                values,
            },
        ) in &self.by_param
        {
            let var = &net.params[name];
            let t = var.as_tensor();
            let mut w = t
                .flatten_all()
                .and_then(|f| f.to_vec1::<f32>())
                .map_err(te)?;
            for i in 0..w.len() {
                if !keep[i] {
                    w[i] = 0.0;
                } else if frozen[i] {
                    w[i] = values[i];
                }
            }
            var.set(&Tensor::from_vec(w, t.dims(), &Device::Cpu).map_err(te)?)
                .map_err(te)?;
        }
        Ok(())
    }
}

fn weights(net: &Net, name: &str) -> Result<Vec<f32>, Error> {
    net.params[name]
        .as_tensor()
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .map_err(te)
}

/// Trains `net` on `train`, reporting test accuracy on `eval` after each
/// epoch through `on_event`.
pub fn train(
    net: &mut Net,
    train: &Split,
    eval: &Split,
    mut config: TrainConfig<'_>,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<f64, Error> {
    let scale_bits = net.input.scale_bits;
    let (x, y) = tensors(train, scale_bits)?;
    let (ex, ey) = tensors(eval, scale_bits)?;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(config.seed);
    let mut opt = AdamW::new(
        net.trainable(),
        ParamsAdamW {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..Default::default()
        },
    )
    .map_err(te)?;
    let mut constraints = Constraints::default();
    let mut structural: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    // Fire modules' 1×1 expand maps keep only their centre taps.
    for layer in &net.layers {
        if let crate::train::LayerDef::Conv {
            name, centre_only, ..
        } = layer
            && *centre_only > 0
        {
            let key = format!("{name}.weight");
            let dims = net.params[&key].as_tensor().dims().to_vec();
            let mut keep = vec![1.0f32; dims.iter().product()];
            crate::train::net::apply_centre_mask(
                &mut keep,
                dims[0],
                dims[1],
                dims[2],
                *centre_only,
            );
            let keep: Vec<bool> = keep.iter().map(|&k| k != 0.0).collect();
            structural.insert(key.clone(), keep.clone());
            constraints.by_param.insert(key, Constraint::mask(keep));
        }
    }
    let n = train.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let stages = config.inq.as_ref().map_or(0, |q| {
        q.stages.len().saturating_sub(1) * q.epochs_per_stage + q.final_epochs
    });
    let total_epochs = config.epochs + stages;
    let mut acc = 0.0;
    let pixels = x
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .map_err(te)?;
    let mut data = Data {
        opt: &mut opt,
        distill: config.distill.as_mut(),
        epoch: 0,
        base_lr: config.lr,
        total_epochs,
        x: &x,
        pixels: &pixels,
        max_shift: config.max_shift,
        y: &y,
        ex: &ex,
        ey: &ey,
        order: &mut order,
        rng: &mut rng,
        batch_size: config.batch_size,
    };
    for e in 0..config.epochs {
        if let Some(p) = &config.pruning {
            for (layer, &target) in &p.targets {
                let name = format!("{layer}.weight");
                let w = weights(net, &name)?;
                let mut keep = magnitude_mask(&w, gradual_sparsity(target, e, p.ramp_epochs));
                // Structural zeros (centre-only taps) stay zero whatever the schedule says.
                if let Some(fixed) = structural.get(&name) {
                    keep.iter_mut().zip(fixed).for_each(|(k, f)| *k &= *f);
                }
                constraints.by_param.insert(name, Constraint::mask(keep));
            }
            constraints.apply(net)?;
        }
        acc = run_epoch(net, &constraints, &mut data, on_event)?;
    }
    if let Some(q) = config.inq.clone() {
        for (s, &fraction) in q.stages.iter().enumerate() {
            for layer in &q.layers {
                let name = format!("{layer}.weight");
                let w = weights(net, &name)?;
                // Pruned weights (masked, or zero in a model loaded pruned) stay zero.
                let keep = constraints
                    .by_param
                    .get(&name)
                    .map_or_else(|| w.iter().map(|&v| v != 0.0).collect(), |c| c.keep.clone());
                let max_abs = w
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(x, _)| x.abs())
                    .fold(0.0, f32::max);
                let (n2, n1) = *net
                    .quantized
                    .entry(layer.clone())
                    .or_insert_with(|| pow2_range(max_abs, q.bits));
                let frozen = inq_frozen(&w, &keep, fraction);
                let values = w.iter().map(|&v| quantize_pow2(v, n2, n1)).collect();
                constraints.by_param.insert(
                    name,
                    Constraint {
                        keep,
                        frozen,
                        values,
                    },
                );
            }
            constraints.apply(net)?;
            on_event(TrainEvent::Stage(fraction));
            let retrain = if s + 1 < q.stages.len() {
                q.epochs_per_stage
            } else {
                q.final_epochs
            };
            for _ in 0..retrain {
                run_epoch(net, &constraints, &mut data, on_event)?;
            }
        }
        // Batch-norm statistics settle under the final weights.
        acc = accuracy(net, &ex, &ey)?;
    }
    Ok(acc)
}

/// The state of one training run that every epoch advances.
struct Data<'a, 'b> {
    opt: &'a mut AdamW,
    distill: Option<&'a mut Distill<'b>>,
    /// Epochs run so far (all phases).
    epoch: usize,
    base_lr: f64,
    total_epochs: usize,
    x: &'a Tensor,
    /// `x` on the host, for augmented batches.
    pixels: &'a [f32],
    max_shift: usize,
    y: &'a Tensor,
    ex: &'a Tensor,
    ey: &'a Tensor,
    order: &'a mut Vec<u32>,
    rng: &'a mut rand_chacha::ChaCha8Rng,
    batch_size: usize,
}

impl Data<'_, '_> {
    /// The learning rate of an epoch: cosine decay from the base rate to
    /// 5 % of it over all epochs.
    fn lr_at(&self, epoch: usize) -> f64 {
        let t = epoch as f64 / self.total_epochs.max(1) as f64;
        self.base_lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
    }
}

/// One pass over the shuffled training data, then test accuracy.
fn run_epoch(
    net: &mut Net,
    constraints: &Constraints,
    data: &mut Data<'_, '_>,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<f64, Error> {
    let epoch = data.epoch;
    data.epoch += 1;
    data.opt.set_learning_rate(data.lr_at(epoch));
    data.order.shuffle(data.rng);
    let n = data.order.len();
    let steps = n.div_ceil(data.batch_size);
    for step in 0..steps {
        let idx = &data.order[step * data.batch_size..((step + 1) * data.batch_size).min(n)];
        let bx = if data.max_shift == 0 {
            let idx = Tensor::from_slice(idx, idx.len(), &Device::Cpu).map_err(te)?;
            data.x.index_select(&idx, 0).map_err(te)?
        } else {
            let dims = data.x.dims();
            let (c, h, w) = (dims[1], dims[2], dims[3]);
            let batch = shifted_batch(data.pixels, (c, h, w), idx, data.max_shift, data.rng);
            Tensor::from_vec(batch, (idx.len(), c, h, w), &Device::Cpu).map_err(te)?
        };
        let idx = Tensor::from_slice(idx, idx.len(), &Device::Cpu).map_err(te)?;
        let by = data.y.index_select(&idx, 0).map_err(te)?;
        let logits = net.forward(&bx, true)?;
        let loss = match data.distill.as_mut() {
            Some(d) => {
                let t = d.teacher.forward(&bx, false)?.detach();
                distillation_loss(&logits, &t, &by, d.temperature, d.alpha)?
            }
            None => candle_nn::loss::cross_entropy(&logits, &by).map_err(te)?,
        };
        data.opt.backward_step(&loss).map_err(te)?;
        constraints.apply(net)?;
        if step % 20 == 0 {
            on_event(TrainEvent::Step(
                epoch,
                step,
                steps,
                loss.to_scalar::<f32>().map_err(te)? as f64,
            ));
        }
    }
    let a = accuracy(net, data.ex, data.ey)?;
    on_event(TrainEvent::Epoch(epoch, a));
    Ok(a)
}
