//! CKKS with batch packing: slot `i` of ciphertext `e` holds element `e` of
//! image `i`. Weights and activation coefficients are real scalars, so no
//! rotation is ever needed.
//!
//! The plan is folded so the network spends as few levels as it can:
//! batch norm is composed into the linear layer before it, and each
//! quadratic `a·y² + b·y + c` after a linear layer becomes
//! `sign(a)·u² + c′` with `u = √|a|·(y + b/2a)` computed by that layer —
//! one ciphertext product and one level — with the sign and `c′` passed on
//! into the next linear layer's weights and bias.

use std::sync::Arc;

use hefty_core::Sampler;
use hefty_core::ckks::{
    Ciphertext, Complex64, Encoder, Evaluator, PRESETS, Parameters, RelinearizationKey, SecretKey,
};
use hefty_core::ring::Word;
use hefty_core::{Backend, HopCounter, SecurityLevel};
use rayon::prelude::*;

use super::report::{CkksRun, Recorder};
use super::wire::{pack, unpack};
use super::{InferReport, Progress, Seconds};
use crate::Error;
use crate::exec::{Event, Executor, Op, Plan, Row, Step, check_encryptable, float_plan, walk};
use crate::model::Model;

/// Largest integer weight taken as an integer (no level spent).
const MAX_INTEGER_WEIGHT: f64 = (1u64 << 31) as f64;

/// Bits of the base prime (64-bit words), the modulus the logits are
/// decrypted under: below 50, so every prime of the chain takes the CPU's
/// vector kernels (AVX2 + FMA, AVX-512 IFMA) instead of the portable 64-bit
/// path — measured 1.36× faster end to end on a batch than the presets' 60
/// bits, which a second 30-bit base prime instead (one more limb) did not give.
const BASE_BITS: u32 = 49;

/// Bits of precision the last linear layer trades for headroom: its outputs
/// come out at the scale `Δ / 2^HEADROOM_BITS`, so logits up to
/// `2^(BASE_BITS - 1 - 40 + HEADROOM_BITS)` = 2^14 in magnitude decrypt
/// correctly under the 49-bit base (the presets' 60-bit base held 2^19). The
/// price is the last rescale's rounding noise, 2^HEADROOM_BITS times larger
/// relative to the logits: measured largest logit error 1.9e-5 with 10
/// bits, against 4e-7 from everything else.
const HEADROOM_BITS: i32 = 6;

/// The CKKS plan of a model: the f64 plan with batch norm and the
/// quadratics' affine parts folded into the neighbouring linear layers.
pub fn ckks_plan(model: &Model) -> Result<Plan<f64>, Error> {
    let mut plan = float_plan(model);
    check_encryptable(&plan)?;
    fold_diagonals(&mut plan.steps);
    fold_squares(&mut plan.steps);
    Ok(plan)
}

/// Whether every row is `a_e · x_e + b_e` (a batch norm).
fn is_diagonal(rows: &[Row<f64>]) -> bool {
    rows.iter().enumerate().all(|(e, r)| match r.terms[..] {
        [] => true,
        [(i, _)] => i as usize == e,
        _ => false,
    })
}

/// Composes every diagonal linear step into the linear step before it.
fn fold_diagonals(steps: &mut Vec<Step<f64>>) {
    let mut i = 1;
    while i < steps.len() {
        let fold = matches!((&steps[i - 1].op, &steps[i].op),
            (Op::Linear(prev), Op::Linear(rows)) if is_diagonal(rows) && prev.len() == rows.len());
        if !fold {
            i += 1;
            continue;
        }
        let step = steps.remove(i);
        let Op::Linear(diag) = step.op else {
            unreachable!("checked above")
        };
        let prev = &mut steps[i - 1];
        if let Op::Linear(rows) = &mut prev.op {
            for (row, d) in rows.iter_mut().zip(&diag) {
                let a = d.terms.first().map_or(0.0, |t| t.1);
                row.terms.iter_mut().for_each(|t| t.1 *= a);
                row.terms.retain(|t| t.1 != 0.0);
                row.bias = a * row.bias + d.bias;
            }
        }
        prev.label = format!("{}+{}", prev.label, step.label);
        prev.out = step.out;
    }
}

/// Whether a polynomial step is `c0 + s·x²` with `s = ±1` for every
/// element: one ciphertext product (the folded form).
fn is_square(degree: usize, coeffs: &[f64]) -> bool {
    degree == 2
        && coeffs
            .chunks(3)
            .all(|c| c[1] == 0.0 && (c[2] == 1.0 || c[2] == -1.0))
}

/// Folds each quadratic's affine part into the linear step before it, and
/// its sign and constant into the linear step after it.
fn fold_squares(steps: &mut [Step<f64>]) {
    for i in 1..steps.len() {
        let Op::Poly { degree: 2, coeffs } = &steps[i].op else {
            continue;
        };
        if !matches!(steps[i - 1].op, Op::Linear(_)) || coeffs.chunks(3).any(|c| c[2] == 0.0) {
            continue;
        }
        let coeffs = coeffs.clone();
        let mut post = Vec::with_capacity(coeffs.len() / 3);
        if let Op::Linear(rows) = &mut steps[i - 1].op {
            for (row, c) in rows.iter_mut().zip(coeffs.chunks(3)) {
                let (a, b, c0) = (c[2], c[1], c[0]);
                let s = a.abs().sqrt();
                row.terms.iter_mut().for_each(|t| t.1 *= s);
                row.bias = (row.bias + b / (2.0 * a)) * s;
                post.push((a.signum(), c0 - b * b / (4.0 * a)));
            }
        }
        // The next linear step (flatten keeps the order) absorbs sign and constant.
        let next = (i + 1..steps.len())
            .find(|&j| !matches!(steps[j].op, Op::Reshape))
            .filter(|&j| matches!(steps[j].op, Op::Linear(_)));
        let poly: Vec<f64> = match next {
            Some(j) => {
                if let Op::Linear(rows) = &mut steps[j].op {
                    for row in rows {
                        for t in &mut row.terms {
                            let (sign, constant) = post[t.0 as usize];
                            row.bias += t.1 * constant;
                            t.1 *= sign;
                        }
                    }
                }
                post.iter().flat_map(|_| [0.0, 0.0, 1.0]).collect()
            }
            None => post.iter().flat_map(|&(s, c)| [c, 0.0, s]).collect(),
        };
        steps[i].op = Op::Poly {
            degree: 2,
            coeffs: poly,
        };
    }
}

/// The most a dyadic linear step may grow the scale, in bits (its
/// outputs' scale is the inputs' times `2^-exponent`): the CryptoNets
/// power-of-two layers need 10, and every later level must still hold the
/// values at the grown scale.
const MAX_DYADIC_BITS: i32 = 16;

/// The common exponent `e ≤ 0` with every weight of a linear step a small
/// integer times `2^e`, if there is one (integer weights: 0). Such a step
/// is summed exactly without spending a level
/// ([`Evaluator::linear_layer_dyadic`]).
fn dyadic_exponent(rows: &[Row<f64>]) -> Option<i32> {
    let mut exponent = 0;
    for &(_, w) in rows.iter().flat_map(|r| &r.terms) {
        if !w.is_finite() {
            return None;
        }
        if w == 0.0 {
            continue;
        }
        // w = m · 2^(e − 1075) with m the 53-bit significand (normal
        // numbers); its trailing zeros move into the exponent.
        let bits = w.abs().to_bits();
        let (e, m) = ((bits >> 52) as i32, bits & ((1 << 52) - 1));
        if e == 0 {
            return None;
        }
        let m = m | 1 << 52;
        exponent = exponent.min(e - 1075 + m.trailing_zeros() as i32);
    }
    let fits = exponent >= -MAX_DYADIC_BITS
        && rows
            .iter()
            .flat_map(|r| &r.terms)
            .all(|&(_, w)| (w * 2f64.powi(-exponent)).abs() < MAX_INTEGER_WEIGHT);
    fits.then_some(exponent)
}

/// The exponent a linear step is summed with exactly ([`dyadic_exponent`]),
/// or `None` when it spends a level. The output step only when its weights
/// are integers: its logits must come out at the scale the base prime
/// holds (`Δ / 2^HEADROOM_BITS`), not grown.
fn dyadic_step(rows: &[Row<f64>], output: bool) -> Option<i32> {
    dyadic_exponent(rows).filter(|&e| e == 0 || !output)
}

/// The levels (rescales) a CKKS plan spends.
pub fn levels_needed(plan: &Plan<f64>) -> usize {
    let last = plan.steps.len().saturating_sub(1);
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.op {
            Op::Linear(rows) => usize::from(dyadic_step(rows, i == last).is_none()),
            Op::Poly { degree, coeffs } if is_square(*degree, coeffs) => 1,
            Op::Poly { degree, .. } => *degree,
            Op::Relu | Op::Reshape => 0,
        })
        .sum()
}

/// 128-bit secure parameters with `levels` levels: the smallest preset
/// degree that holds them, with only as many primes as needed, and (64-bit
/// words) a base prime below 2^50 ([`BASE_BITS`]).
pub(crate) fn parameters(levels: usize, word: Word) -> Result<Arc<Parameters>, Error> {
    let presets = presets_for(word);
    let preset = presets.iter().find(|p| p.depth >= levels).ok_or_else(|| {
        Error::Model(format!(
            "the network spends {levels} levels but the deepest 128-bit CKKS preset{} holds {}: use fewer activations or linear layers between them",
            if word == Word::W32 { " with 32-bit words" } else { "" },
            presets.last().map_or(0, |p| p.depth)
        ))
    })?;
    let builder = preset.builder().depth(levels.max(1));
    // W32 primes are all below 2^31 already; their base keeps the preset's
    // 20 bits above the scale.
    let builder = match word {
        Word::W64 => builder.base_bits(BASE_BITS),
        Word::W32 => builder,
    };
    let params = builder.clone().build()?;
    let digits = relinearization_digits(&params);
    if digits == params.key_switcher().digit_sizes().len() {
        return Ok(params);
    }
    Ok(builder.key_switching_digits(digits).build()?)
}

/// The fewest key-switching digits whose error the next rescale hides.
///
/// Batch packing switches keys only to relinearize a product, and rescales
/// right after: the key-switching error, about `√n·D·σ/P` for digits of
/// `D`, is divided by the scale `Δ` there, against the rescale's own
/// rounding of about `√n`. Digits up to `D ≤ P·Δ/8` keep it below that
/// (the default keeps every digit below `P`, for rotations at scale `Δ`).
/// Measured at n = 2^14 (seven primes, two 50-bit special primes): 3 digits
/// instead of 4 leave the logit error at 1.2e-6 and the first activation
/// 8 % faster; 2 digits break the network (error 4e7).
fn relinearization_digits(params: &Parameters) -> usize {
    let bits = |m: &hefty_core::ntt::Modulus| (m.value() as f64).log2();
    let q: Vec<f64> = params
        .ciphertext_basis()
        .moduli()
        .iter()
        .map(bits)
        .collect();
    let p: f64 = params
        .special_primes()
        .iter()
        .map(|&v| (v as f64).log2())
        .sum();
    hefty_core::rlwe::KeySwitcher::fewest_digits(&q, p + f64::from(params.scale_bits()) - 3.0)
}

/// The CKKS presets of a word profile.
pub(crate) fn presets_for(word: Word) -> &'static [hefty_core::ckks::Preset] {
    match word {
        Word::W64 => PRESETS,
        Word::W32 => hefty_core::ckks::PRESETS_W32,
    }
}

/// The client: owns the secret key; encrypts images and decrypts logits.
pub struct CkksClient {
    params: Arc<Parameters>,
    sk: SecretKey,
    encoder: Encoder,
    sampler: Sampler,
}

impl CkksClient {
    /// A fresh secret key for `params` (from the OS's CSPRNG).
    pub fn new(params: &Arc<Parameters>) -> Self {
        let mut sampler = Sampler::from_os();
        Self {
            params: Arc::clone(params),
            sk: SecretKey::generate(params, &mut sampler),
            encoder: Encoder::new(params),
            sampler,
        }
    }

    /// The images one ciphertext holds.
    pub fn slots(&self) -> usize {
        self.params.slots()
    }

    /// What the server needs, as bytes: the parameters and a
    /// relinearization key (no rotation keys: batch packing never rotates).
    pub fn evaluation_keys(&mut self) -> Result<Vec<u8>, Error> {
        let rk = RelinearizationKey::new(&self.sk, &mut self.sampler)?;
        Ok(pack(&[self.params.to_bytes(), rk.to_bytes()?]))
    }

    /// Ciphertext `e` holds element `e` of every image (`pixel / 2^scale_bits`),
    /// image `i` in slot `i`; at most [`Self::slots`] images.
    pub fn encrypt(&mut self, images: &[&[u8]], scale_bits: u32) -> Result<Vec<u8>, Error> {
        if images.is_empty() || images.len() > self.slots() {
            return Err(Error::Setting(format!(
                "{} images in one batch: give 1 to {} (the slots of n = {})",
                images.len(),
                self.slots(),
                self.params.degree()
            )));
        }
        let scale = (scale_bits as f64).exp2();
        let elements = images[0].len();
        let seeds: Vec<[u8; 32]> = (0..elements).map(|_| self.sampler.seed()).collect();
        let (level, delta) = (self.params.max_level(), self.params.default_scale());
        let cts = seeds
            .into_par_iter()
            .enumerate()
            .map(|(e, seed)| {
                let values: Vec<f64> = images.iter().map(|im| im[e] as f64 / scale).collect();
                let pt = self.encoder.encode_real(&values, level, delta)?;
                Ok(self
                    .sk
                    .encrypt(&pt, &mut Sampler::from_seed(seed))?
                    .to_bytes()?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(pack(&cts))
    }

    /// The logits of the first `images` slots: `result[i][k]` is logit `k`
    /// of image `i`.
    pub fn decrypt(&self, bytes: &[u8], images: usize) -> Result<Vec<Vec<f64>>, Error> {
        let outputs = unpack(bytes)?
            .into_par_iter()
            .map(|b| {
                let ct = Ciphertext::from_bytes(&self.params, b)?;
                Ok(self.encoder.decode_real(&self.sk.decrypt(&ct)?)?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((0..images.min(self.slots()))
            .map(|i| outputs.iter().map(|o| o[i]).collect())
            .collect())
    }
}

/// The server: parameters, a relinearization key, the plan — no secret key.
pub struct CkksServer {
    params: Arc<Parameters>,
    rk: RelinearizationKey,
    evaluator: Evaluator,
    plan: Plan<f64>,
    counter: Arc<HopCounter>,
}

impl CkksServer {
    /// A server from the client's [`CkksClient::evaluation_keys`] bytes and
    /// the model's [`ckks_plan`]; fails unless the parameters are 128-bit
    /// secure and hold the plan's levels. Evaluates on the CPU.
    pub fn new(keys: &[u8], plan: Plan<f64>) -> Result<Self, Error> {
        Self::on(keys, plan, hefty_core::Cpu::shared())
    }

    /// [`Self::new`] evaluating on `backend`.
    pub fn on(keys: &[u8], plan: Plan<f64>, backend: Arc<dyn Backend>) -> Result<Self, Error> {
        let [params, rk] = unpack(keys)?[..] else {
            return Err(Error::Setting(
                "evaluation keys: expected the parameters and a relinearization key".into(),
            ));
        };
        let params = Parameters::from_bytes_on(params, backend)?;
        if params.security() != Some(SecurityLevel::Bits128) {
            return Err(Error::Setting(
                "the client's parameters are not 128-bit secure".into(),
            ));
        }
        let levels = levels_needed(&plan);
        if params.depth() < levels {
            return Err(Error::Setting(format!(
                "the parameters hold {} levels but the network spends {levels}: build them with depth ≥ {levels}",
                params.depth()
            )));
        }
        let rk = RelinearizationKey::from_bytes(&params, rk)?;
        let counter = Arc::new(HopCounter::default());
        Ok(Self {
            evaluator: Evaluator::with_hop_counter(&params, &counter),
            params,
            rk,
            plan,
            counter,
        })
    }

    /// The operations counted so far.
    pub fn counter(&self) -> &HopCounter {
        &self.counter
    }

    /// The plan it runs.
    pub fn plan(&self) -> &Plan<f64> {
        &self.plan
    }

    /// Encrypted inputs in, encrypted logits out; `observe` hears each step.
    pub fn infer(&self, inputs: &[u8], observe: &mut dyn FnMut(Event)) -> Result<Vec<u8>, Error> {
        let cts = unpack(inputs)?
            .into_par_iter()
            .map(|b| Ciphertext::from_bytes(&self.params, b))
            .collect::<Result<Vec<_>, _>>()?;
        let exec = CkksExec {
            ev: &self.evaluator,
            rk: &self.rk,
            params: &self.params,
            output: self
                .plan
                .steps
                .last()
                .filter(|s| matches!(s.op, Op::Linear(_)))
                .map(|s| s.label.as_str()),
        };
        let out = walk(&self.plan, &exec, cts, observe)?;
        Ok(pack(
            &out.par_iter()
                .map(Ciphertext::to_bytes)
                .collect::<Result<Vec<_>, _>>()?,
        ))
    }
}

/// The arithmetic of the CKKS batch executor.
struct CkksExec<'a> {
    ev: &'a Evaluator,
    rk: &'a RelinearizationKey,
    params: &'a Arc<Parameters>,
    /// The label of the last step when it is linear: its outputs trade
    /// [`HEADROOM_BITS`] of scale for room under the base prime.
    output: Option<&'a str>,
}

impl CkksExec<'_> {
    fn plus(&self, ct: Ciphertext, c: f64) -> Result<Ciphertext, Error> {
        if c == 0.0 {
            return Ok(ct);
        }
        Ok(self.ev.add_const(&ct, Complex64::new(c, 0.0))?)
    }
}

impl Executor for CkksExec<'_> {
    type Weight = f64;
    type Value = Ciphertext;
    type Error = Error;

    fn settle(&self) -> Result<(), Error> {
        Ok(self.params.ciphertext_basis().backend().synchronize()?)
    }

    fn linear(
        &self,
        label: &str,
        rows: &[Row<f64>],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        // One pass for the whole layer (inputs stay cached across rows),
        // then each row's bias.
        let output = self.output == Some(label);
        let sums = if let Some(exponent) = dyadic_step(rows, output) {
            let unit = 2f64.powi(-exponent);
            let weights: Vec<Vec<(usize, i64)>> = rows
                .iter()
                .map(|r| {
                    r.terms
                        .iter()
                        .map(|&(i, w)| (i as usize, (w * unit) as i64))
                        .collect()
                })
                .collect();
            let refs: Vec<&[(usize, i64)]> = weights.iter().map(Vec::as_slice).collect();
            self.ev.linear_layer_dyadic(x, &refs, exponent)?
        } else {
            let weights: Vec<Vec<(usize, f64)>> = rows
                .iter()
                .map(|r| r.terms.iter().map(|&(i, w)| (i as usize, w)).collect())
                .collect();
            let refs: Vec<&[(usize, f64)]> = weights.iter().map(Vec::as_slice).collect();
            // Back to Δ whatever dyadic steps grew the scale to (the
            // output step to Δ/2^HEADROOM_BITS).
            let delta = self.params.default_scale();
            let scale = if output {
                delta * 2f64.powi(-HEADROOM_BITS)
            } else {
                delta
            };
            self.ev.linear_layer_to_scale(x, &refs, scale)?
        };
        sums.into_par_iter()
            .zip(rows)
            .map(|(ct, r)| self.plus(ct, r.bias))
            .collect()
    }

    fn poly(
        &self,
        _label: &str,
        degree: usize,
        coeffs: &[f64],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        let square = is_square(degree, coeffs);
        x.par_iter()
            .enumerate()
            .map(|(e, ct)| {
                let c = &coeffs[e * (degree + 1)..(e + 1) * (degree + 1)];
                if square {
                    let mut y = self.ev.multiply_relin_rescale(ct, ct, self.rk)?;
                    if c[2] < 0.0 {
                        y = self.ev.negate(&y)?;
                    }
                    return self.plus(y, c[0]);
                }
                // Horner: degree levels, one product per degree above one.
                let mut y = self.ev.linear_combination(&[(ct, c[degree])])?;
                y = self.plus(y, c[degree - 1])?;
                for i in (0..degree - 1).rev() {
                    y = self.ev.multiply_relin_rescale(&y, ct, self.rk)?;
                    y = self.plus(y, c[i])?;
                }
                Ok(y)
            })
            .collect()
    }

    fn relu(&self, label: &str, _x: &[Ciphertext]) -> Result<Vec<Ciphertext>, Error> {
        Err(Error::Model(format!(
            "layer {label}: ReLU has no encrypted evaluation"
        )))
    }
}

/// The CKKS batch round trip of [`super::infer`].
pub(super) fn infer(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    device: &super::ServerDevice,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    let plan = ckks_plan(model)?;
    let levels = levels_needed(&plan);
    let params = parameters(levels, device.word)?;
    let mut client = CkksClient::new(&params);
    let keys = client.evaluation_keys()?;
    let server = CkksServer::on(&keys, plan, Arc::clone(&device.backend))?;
    let mut recorder = Recorder::new(server.plan(), server.counter());
    let mut seconds = Seconds::default();
    let mut bytes = super::Bytes {
        to_server: keys.len() as u64,
        to_client: 0,
    };
    let batches: Vec<&[&[u8]]> = images.chunks(client.slots()).collect();
    let steps = server.plan().steps.len();
    let mut logits = Vec::with_capacity(images.len());
    for (b, batch) in batches.iter().enumerate() {
        let what = format!("batch {}/{}", b + 1, batches.len());
        let t = std::time::Instant::now();
        let inputs = client.encrypt(batch, model.graph().input.scale_bits)?;
        seconds.encrypt += t.elapsed().as_secs_f64();
        bytes.to_server += inputs.len() as u64;
        let t = std::time::Instant::now();
        let outputs = server.infer(&inputs, &mut |event| {
            recorder.observe(event);
            if let Event::End { index, .. } = event {
                progress(&what, b * steps + index + 1, batches.len() * steps);
            }
        })?;
        seconds.infer += t.elapsed().as_secs_f64();
        drop(inputs);
        bytes.to_client += outputs.len() as u64;
        let t = std::time::Instant::now();
        logits.extend(client.decrypt(&outputs, batch.len())?);
        seconds.decrypt += t.elapsed().as_secs_f64();
    }
    CkksRun {
        packing: "batch",
        logits,
        seconds,
        bytes,
        layers: recorder.layers,
        params: serde_json::json!({
            "degree": params.degree(),
            "slots": params.slots(),
            "scale_bits": params.scale_bits(),
            "levels": params.depth(),
            "levels_needed": levels,
            "log_qp": params.log_qp(),
            "security_bits": 128,
            "batches": batches.len(),
        }),
    }
    .report(model, images, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(weights: &[f64]) -> Vec<Row<f64>> {
        vec![Row {
            terms: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| (i as u32, w))
                .collect(),
            bias: 0.3,
        }]
    }

    /// Known answers: the common exponent of dyadic weights, `None` for
    /// anything else; the output step only with integers.
    #[test]
    fn dyadic_exponents() {
        assert_eq!(dyadic_exponent(&rows(&[3.0, -7.0, 0.0])), Some(0));
        assert_eq!(dyadic_exponent(&rows(&[0.5, -0.25, 3.0])), Some(-2));
        assert_eq!(dyadic_exponent(&rows(&[0.75, 2f64.powi(-16)])), Some(-16));
        assert_eq!(dyadic_exponent(&rows(&[2f64.powi(-17)])), None);
        assert_eq!(dyadic_exponent(&rows(&[0.3])), None);
        assert_eq!(dyadic_exponent(&rows(&[f64::NAN])), None);
        assert_eq!(dyadic_exponent(&rows(&[f64::MIN_POSITIVE / 2.0])), None);
        assert_eq!(dyadic_exponent(&rows(&[2f64.powi(31)])), None);
        assert_eq!(dyadic_exponent(&rows(&[2f64.powi(30), 0.5])), None);
        assert_eq!(dyadic_step(&rows(&[0.5]), false), Some(-1));
        assert_eq!(dyadic_step(&rows(&[0.5]), true), None);
        assert_eq!(dyadic_step(&rows(&[2.0]), true), Some(0));
    }

    /// At 64-bit words every ciphertext prime is below 2^50 (the CPU's
    /// vector kernels); at 32-bit words the preset's base is kept.
    #[test]
    fn batch_parameters_keep_their_primes_where_the_kernels_want_them() {
        let w64 = parameters(6, Word::W64).unwrap();
        let q = w64.ciphertext_basis().moduli();
        assert!(q.iter().all(|m| m.value() < 1 << 50));
        assert!(q[0].value() > 1 << 48, "a 49-bit base prime");
        let w32 = parameters(6, Word::W32).unwrap();
        let preset = hefty_core::ckks::Preset::for_degree_word(1 << 14, Word::W32)
            .unwrap()
            .builder()
            .depth(6)
            .build()
            .unwrap();
        assert_eq!(
            w32.ciphertext_basis().moduli(),
            preset.ciphertext_basis().moduli()
        );
        // Fewer relinearization digits than the preset's default, each
        // within P·Δ/8.
        assert_eq!(w64.key_switcher().digit_sizes().len(), 3);
        assert!(
            w32.key_switcher().digit_sizes().len() <= preset.key_switcher().digit_sizes().len()
        );
    }
}
