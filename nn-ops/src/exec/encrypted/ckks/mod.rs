//! CKKS with batch packing: slot `i` of ciphertext `e` holds element `e` of
//! image `i`. Weights and activation coefficients are real scalars, so no
//! rotation is ever needed.
//!
//! A slot is a complex number, so a batch of more than `N/2` images puts
//! two in each slot (*paired slots*): image `i` in the real part of slot
//! `i`, image `N/2 + i` in its imaginary part. The client sends the two
//! halves as separate real-slot ciphertexts; the server runs the steps
//! before the first activation on each, and the first square merges them
//! for free: with `r = x^(3n/4)·v` (a monomial: `x^(n/4)` squares to `i`
//! in every slot), `(u + r)·(u − r) = u² + i·v²` — one product for two
//! images where separate slots need two. Every later step runs once for
//! both. Later squares separate the parts with a conjugation (a key
//! switch): with `z = (u + i·v)/2` (the layer before computes half its
//! value), `p = z + z̄ = u`, `m = z − z̄ = i·v` and
//! `(p + x^(n/4)·m)·(p − x^(n/4)·m) = p² − i·m² = u² + i·v²`. A batch of
//! 10,000 MNIST images runs the first convolution twice and everything
//! after it once, instead of the whole network twice.
//!
//! The plan is folded so the network spends as few levels and sums as few
//! terms as it can ([`plan`]). Its first linear step, when a square and a
//! level-spending step follow, spends none: the client encrypts at the
//! plan's [`input_scale`] (2^28, not `Δ`; [`CkksClient::for_plan`]) and
//! the step's weights are rounded to multiples of 2^-20 — the server
//! refuses inputs at any other scale.

mod plan;
mod stream;

use std::borrow::Cow;
use std::sync::Arc;

use hefty_core::Sampler;
use hefty_core::ckks::{
    Ciphertext, Complex64, Encoder, Evaluator, GaloisKeys, PRESETS, Parameters, PartialLayer,
    RelinearizationKey, SecretKey,
};
use hefty_core::ring::Word;
use hefty_core::{Backend, HopCounter, SecurityLevel};
use rayon::prelude::*;

use super::report::{CkksRun, Recorder};
use super::wire::{Packer, pack, unpack};
use super::{InferReport, Progress, Seconds};
use crate::Error;
use crate::exec::{Event, Executor, Op, Plan, Row};
use crate::model::Model;
use plan::{
    INPUT_STEP_BITS, conjugates, dyadic_step, first_poly, halved_plan, input_step, is_square,
};
pub use plan::{ckks_plan, input_scale, levels_needed};

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

/// 128-bit secure parameters with `levels` levels: the smallest preset
/// degree that holds them, with only as many primes as needed, and (64-bit
/// words) a base prime below 2^50 ([`BASE_BITS`]).
pub(crate) fn parameters(
    levels: usize,
    word: Word,
    paired: bool,
) -> Result<Arc<Parameters>, Error> {
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
    let digits = relinearization_digits(&params, paired);
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
///
/// Paired slots also conjugate, at scale `Δ` with no rescale after: that
/// error reaches the slots multiplied by the other factor of the product
/// and divided by `Δ` only, so its digits must stay below `P/2^8`
/// (factors up to 2^5 with room): three digits at five levels and four at
/// six, where relinearization alone needs two and three.
fn relinearization_digits(params: &Parameters, paired: bool) -> usize {
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
    let limit = if paired {
        p - 8.0
    } else {
        p + f64::from(params.scale_bits()) - 3.0
    };
    hefty_core::rlwe::KeySwitcher::fewest_digits(&q, limit)
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
    /// Whether the server was given a conjugation key (paired slots).
    paired: bool,
    /// The scale the inputs are encrypted at ([`input_scale`]).
    input_scale: f64,
}

/// Ciphertexts encrypted at once before their bytes join the message.
const ENCRYPT_CHUNK: usize = 64;

/// The request header: how many images each slot holds.
const ONE_PER_SLOT: u8 = 1;
const TWO_PER_SLOT: u8 = 2;

impl CkksClient {
    /// A fresh secret key for `params` (from the OS's CSPRNG).
    pub fn new(params: &Arc<Parameters>) -> Self {
        let mut sampler = Sampler::from_os();
        Self {
            params: Arc::clone(params),
            sk: SecretKey::generate(params, &mut sampler),
            encoder: Encoder::new(params),
            sampler,
            paired: false,
            input_scale: params.default_scale(),
        }
    }

    /// The client for a server running `plan`: inputs encrypted at the
    /// scale the plan takes ([`input_scale`]; `Δ` unless its first step
    /// spends no level).
    pub fn for_plan(params: &Arc<Parameters>, plan: &Plan<f64>) -> Self {
        let mut client = Self::new(params);
        client.input_scale = input_scale(plan, params.scale_bits());
        client
    }

    /// The images one batch holds: one per slot, or two after
    /// [`Self::evaluation_keys_paired`].
    pub fn slots(&self) -> usize {
        self.params.slots() * if self.paired { 2 } else { 1 }
    }

    /// What the server needs, as bytes: the parameters and a
    /// relinearization key (no rotation keys: batch packing never rotates).
    pub fn evaluation_keys(&mut self) -> Result<Vec<u8>, Error> {
        let rk = RelinearizationKey::new(&self.sk, &mut self.sampler)?;
        self.paired = false;
        Ok(pack(&[self.params.to_bytes(), rk.to_bytes()?]))
    }

    /// [`Self::evaluation_keys`] for batches of up to `n` images, two per
    /// slot; with a conjugation key when `conjugation` (the plan squares
    /// more than once: [`CkksServer::needs_conjugation`]).
    pub fn evaluation_keys_paired(&mut self, conjugation: bool) -> Result<Vec<u8>, Error> {
        let mut keys = vec![self.params.to_bytes()];
        keys.push(RelinearizationKey::new(&self.sk, &mut self.sampler)?.to_bytes()?);
        if conjugation {
            keys.push(GaloisKeys::new(&self.sk, &[], true, &mut self.sampler)?.to_bytes()?);
        }
        self.paired = true;
        Ok(pack(&keys))
    }

    /// Ciphertext `e` holds element `e` of every image (`pixel / 2^scale_bits`),
    /// image `i` in slot `i`; at most [`Self::slots`] images. Past `n/2`
    /// images, the rest go into a second set of ciphertexts, which the
    /// server merges into the imaginary parts of the first.
    pub fn encrypt(&mut self, images: &[&[u8]], scale_bits: u32) -> Result<Vec<u8>, Error> {
        if images.is_empty() || images.len() > self.slots() {
            return Err(Error::Setting(format!(
                "{} images in one batch: give 1 to {} (the slots of n = {}{})",
                images.len(),
                self.slots(),
                self.params.degree(),
                if self.paired {
                    ", two images each"
                } else {
                    "; evaluation_keys_paired() doubles that"
                }
            )));
        }
        let half = self.params.slots();
        let scale = (scale_bits as f64).exp2();
        let elements = images[0].len();
        let (level, delta) = (self.params.max_level(), self.input_scale);
        let halves: Vec<&[&[u8]]> = images.chunks(half).collect();
        let seeds: Vec<[u8; 32]> = (0..elements * halves.len())
            .map(|_| self.sampler.seed())
            .collect();
        let per_slot = if halves.len() == 1 {
            ONE_PER_SLOT
        } else {
            TWO_PER_SLOT
        };
        // Chunk by chunk into the message: each chunk's ciphertexts and
        // bytes are freed before the next, which reuses their memory.
        let mut message: Option<Packer> = None;
        for (c, chunk) in seeds.chunks(ENCRYPT_CHUNK).enumerate() {
            let cts = chunk
                .par_iter()
                .enumerate()
                .map(|(j, &seed)| {
                    let k = c * ENCRYPT_CHUNK + j;
                    let (images, e) = (halves[k / elements], k % elements);
                    let values: Vec<f64> = images.iter().map(|im| im[e] as f64 / scale).collect();
                    let pt = self.encoder.encode_real(&values, level, delta)?;
                    Ok(self
                        .sk
                        .encrypt(&pt, &mut Sampler::from_seed(seed))?
                        .to_bytes()?)
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let message = match &mut message {
                Some(m) => m,
                None => {
                    // Every fresh ciphertext has the same size.
                    let size = cts.first().map_or(0, |b| b.len() + 8);
                    let mut m = Packer::new(seeds.len() + 1, 9 + seeds.len() * size);
                    m.push(&[per_slot])?;
                    message.insert(m)
                }
            };
            for ct in &cts {
                message.push(ct)?;
            }
        }
        message
            .map(Packer::finish)
            .unwrap_or_else(|| Ok(pack(&[vec![per_slot]])))
    }

    /// The logits of the first `images` images: `result[i][k]` is logit `k`
    /// of image `i` (past `n/2`, the imaginary parts).
    pub fn decrypt(&self, bytes: &[u8], images: usize) -> Result<Vec<Vec<f64>>, Error> {
        let outputs = unpack(bytes)?
            .into_par_iter()
            .map(|b| {
                let ct = Ciphertext::from_bytes(&self.params, b)?;
                Ok(self.encoder.decode(&self.sk.decrypt(&ct)?)?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let half = self.params.slots();
        Ok((0..images.min(self.slots()))
            .map(|i| {
                outputs
                    .iter()
                    .map(|o| if i < half { o[i].re } else { o[i - half].im })
                    .collect()
            })
            .collect())
    }
}

/// The server: parameters, a relinearization key (and a conjugation key
/// for paired slots), the plan — no secret key.
pub struct CkksServer {
    params: Arc<Parameters>,
    rk: RelinearizationKey,
    conjugation: Option<GaloisKeys>,
    evaluator: Evaluator,
    plan: Plan<f64>,
    /// The plan halves the linear step before each square (pairable plans).
    halved: bool,
    /// The plan's first step spends no level, the inputs' scale taking
    /// over its rescale: decided once, here.
    input_step: bool,
    /// The scale every input ciphertext must have ([`input_scale`]).
    input_scale: f64,
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
    pub fn on(keys: &[u8], mut plan: Plan<f64>, backend: Arc<dyn Backend>) -> Result<Self, Error> {
        let (params, rk, gk) = match unpack(keys)?[..] {
            [params, rk] => (params, rk, None),
            [params, rk, gk] => (params, rk, Some(gk)),
            _ => {
                return Err(Error::Setting(
                    "evaluation keys: expected the parameters, a relinearization key and optionally a conjugation key".into(),
                ));
            }
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
        let conjugation = gk
            .map(|gk| GaloisKeys::from_bytes(&params, gk))
            .transpose()?;
        let conjugate = 2 * params.degree() - 1;
        if let Some(gk) = &conjugation
            && !gk.elements().any(|g| g == conjugate)
        {
            return Err(Error::Setting(
                "evaluation keys: the Galois keys hold no conjugation key (make them with CkksClient::evaluation_keys_paired)".into(),
            ));
        }
        let input_step = input_step(&plan.steps);
        let input_scale = input_scale(&plan, params.scale_bits());
        let halved = match halved_plan(&plan) {
            Some(halved) => {
                plan = halved;
                true
            }
            None => false,
        };
        let counter = Arc::new(HopCounter::default());
        Ok(Self {
            evaluator: Evaluator::with_hop_counter(&params, &counter),
            params,
            rk,
            conjugation,
            plan,
            halved,
            input_step,
            input_scale,
            counter,
        })
    }

    /// Whether batches may hold two images per slot: the plan's
    /// activations are squares (each after the first right after a linear
    /// layer) and a conjugation key came with the keys if it needs one.
    pub fn pairs(&self) -> bool {
        self.halved && (self.conjugation.is_some() || !conjugates(&self.plan))
    }

    /// Whether paired batches of `plan` need a conjugation key
    /// ([`CkksClient::evaluation_keys_paired`]): it squares more than once.
    /// `None` when the plan cannot pair images at all.
    pub fn needs_conjugation(plan: &Plan<f64>) -> Option<bool> {
        halved_plan(plan).map(|p| conjugates(&p))
    }

    /// The operations counted so far.
    pub fn counter(&self) -> &HopCounter {
        &self.counter
    }

    /// The plan it runs.
    pub fn plan(&self) -> &Plan<f64> {
        &self.plan
    }

    /// The scale it takes the inputs at ([`input_scale`] of its plan;
    /// [`CkksClient::for_plan`] encrypts at it).
    pub fn input_scale(&self) -> f64 {
        self.input_scale
    }

    /// An input ciphertext at another scale than [`Self::input_scale`]
    /// would decrypt to garbage after the first step: refused.
    fn check_input_scale(&self, ct: &Ciphertext) -> Result<(), Error> {
        if (ct.scale() / self.input_scale - 1.0).abs() <= 1e-9 {
            return Ok(());
        }
        Err(Error::Setting(format!(
            "an input ciphertext is at scale 2^{:.1} but this plan takes its inputs at 2^{:.1}{}: encrypt them with CkksClient::for_plan(&params, &plan)",
            ct.scale().log2(),
            self.input_scale.log2(),
            if self.input_step {
                " (its first layer spends no level: the inputs' scale takes over its rescale)"
            } else {
                ""
            }
        )))
    }

    /// Encrypted inputs in, encrypted logits out; `observe` hears each step.
    pub fn infer(&self, inputs: &[u8], observe: &mut dyn FnMut(Event)) -> Result<Vec<u8>, Error> {
        self.infer_request(Cow::Borrowed(inputs), observe)
    }

    /// [`Self::infer`] on a request it owns: the request's bytes (0.8 GB
    /// at 10,000 images) are freed as soon as the first square has read the
    /// last input ciphertext, so the rest of the network reuses their
    /// memory instead of touching new pages.
    pub fn infer_owned(
        &self,
        inputs: Vec<u8>,
        observe: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Error> {
        self.infer_request(Cow::Owned(inputs), observe)
    }

    fn infer_request(
        &self,
        request: Cow<'_, [u8]>,
        observe: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Error> {
        let exec = |paired: bool| CkksExec {
            ev: &self.evaluator,
            rk: &self.rk,
            paired,
            conjugation: self.conjugation.as_ref().filter(|_| paired),
            first_square: first_poly(&self.plan.steps).map(|i| self.plan.steps[i].label.as_str()),
            input_step: self.input_step.then(|| self.plan.steps[0].label.as_str()),
            halved: self.halved,
            params: &self.params,
            output: self
                .plan
                .steps
                .last()
                .filter(|s| matches!(s.op, Op::Linear(_)))
                .map(|s| s.label.as_str()),
        };
        let (x, next, paired) = self.walk_head(&request, &exec(false), &exec(true), observe)?;
        drop(request);
        let out = crate::exec::stream::walk_from(
            &self.plan.steps,
            next,
            &exec(paired),
            crate::exec::stream::Inputs::held(x),
            observe,
        )?;
        Ok(pack(
            &out.par_iter()
                .map(Ciphertext::to_bytes)
                .collect::<Result<Vec<_>, _>>()?,
        ))
    }

    /// The steps that read the request, up to its first square: their
    /// outputs, the next step's index, and whether they hold two images
    /// per slot.
    fn walk_head(
        &self,
        request: &[u8],
        single: &CkksExec<'_>,
        paired_exec: &CkksExec<'_>,
        observe: &mut dyn FnMut(Event),
    ) -> Result<(Vec<Ciphertext>, usize, bool), Error> {
        let items = unpack(request)?;
        let (paired, cts) = match items.split_first() {
            Some((&[ONE_PER_SLOT], cts)) => (false, cts),
            Some((&[TWO_PER_SLOT], cts)) => (true, cts),
            _ => {
                return Err(Error::Setting(
                    "malformed message: the request does not start with its images per slot (1 or 2)".into(),
                ));
            }
        };
        if paired && !self.pairs() {
            return Err(Error::Setting(if self.halved {
                "the request holds two images per slot but the evaluation keys have no conjugation key: make them with CkksClient::evaluation_keys_paired(true)".into()
            } else {
                "the request holds two images per slot but this network's activations are not all squares after linear layers: send at most n/2 images per batch".into()
            }));
        }
        let (x, next) = if paired {
            let (a, b) = cts.split_at(cts.len() / 2);
            self.walk_streamed(single, paired_exec, &[a, b], observe)?
        } else {
            self.walk_streamed(single, paired_exec, &[cts], observe)?
        };
        Ok((x, next, paired))
    }
}

/// A step's rows as the evaluator's `(input, weight)` terms.
fn real_weights(rows: &[Row<f64>]) -> Vec<Vec<(usize, f64)>> {
    rows.iter()
        .map(|r| r.terms.iter().map(|&(i, w)| (i as usize, w)).collect())
        .collect()
}

/// The arithmetic of the CKKS batch executor.
struct CkksExec<'a> {
    ev: &'a Evaluator,
    rk: &'a RelinearizationKey,
    /// The values hold two images per slot (after the merging square).
    paired: bool,
    /// The conjugation key, on paired values.
    conjugation: Option<&'a GaloisKeys>,
    /// The label of the first square: the linear step before it is never
    /// halved.
    first_square: Option<&'a str>,
    /// The label of the first step when it spends no level, the inputs'
    /// scale taking over its rescale ([`input_step`]).
    input_step: Option<&'a str>,
    /// The plan halved the linear step before each later square.
    halved: bool,
    params: &'a Arc<Parameters>,
    /// The label of the last step when it is linear: its outputs trade
    /// [`HEADROOM_BITS`] of scale for room under the base prime.
    output: Option<&'a str>,
}

impl CkksExec<'_> {
    fn plus(&self, mut ct: Ciphertext, c: f64) -> Result<Ciphertext, Error> {
        if c == 0.0 {
            return Ok(ct);
        }
        // Paired slots: the constant goes to both images.
        let im = if self.paired { c } else { 0.0 };
        self.ev.add_const_assign(&mut ct, Complex64::new(c, im))?;
        Ok(ct)
    }

    /// The power-of-two exponent of linear step `label` when its weights
    /// are dyadic ([`dyadic_step`]), decided on the whole step: a streamed
    /// chunk of its rows must land at the same scale as the others.
    fn layer_exponent(&self, label: &str, rows: &[Row<f64>]) -> Option<i32> {
        if self.input_step == Some(label) {
            return Some(-INPUT_STEP_BITS);
        }
        dyadic_step(rows, self.output == Some(label))
    }

    /// Some rows of linear step `label` (all of them, or a streamed chunk),
    /// with the step's `exponent` ([`Self::layer_exponent`]).
    fn linear_rows(
        &self,
        label: &str,
        exponent: Option<i32>,
        rows: &[Row<f64>],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        // One pass for the whole layer (inputs stay cached across rows),
        // then each row's bias.
        let sums = if let Some(exponent) = exponent {
            let unit = 2f64.powi(-exponent);
            let weights: Vec<Vec<(usize, i64)>> = rows
                .iter()
                .map(|r| {
                    r.terms
                        .iter()
                        // Exact for dyadic weights; the first step's
                        // rounded to the nearest multiple of 2^exponent.
                        .map(|&(i, w)| (i as usize, (w * unit).round() as i64))
                        .collect()
                })
                .collect();
            let refs: Vec<&[(usize, i64)]> = weights.iter().map(Vec::as_slice).collect();
            self.ev.linear_layer_dyadic(x, &refs, exponent)?
        } else {
            let weights = real_weights(rows);
            let refs: Vec<&[(usize, f64)]> = weights.iter().map(Vec::as_slice).collect();
            self.ev
                .linear_layer_to_scale(x, &refs, self.layer_scale(label))?
        };
        sums.into_par_iter()
            .zip(rows)
            .map(|(ct, r)| self.plus(ct, r.bias))
            .collect()
    }

    /// The scale a linear step that spends a level brings its outputs to:
    /// `Δ` whatever dyadic steps grew the scale to, the output step
    /// `Δ/2^HEADROOM_BITS`.
    fn layer_scale(&self, label: &str) -> f64 {
        let delta = self.params.default_scale();
        if self.output == Some(label) {
            delta * 2f64.powi(-HEADROOM_BITS)
        } else {
            delta
        }
    }

    /// Linear step `label` over `inputs` values that arrive in parts, if
    /// it spends a level (a dyadic step is summed whole, exactly).
    fn layer_in_parts(
        &self,
        label: &str,
        rows: &[Row<f64>],
        inputs: usize,
    ) -> Result<Option<PartialLayer>, Error> {
        if self.layer_exponent(label, rows).is_some() {
            return Ok(None);
        }
        let weights = real_weights(rows);
        let refs: Vec<&[(usize, f64)]> = weights.iter().map(Vec::as_slice).collect();
        Ok(Some(self.ev.partial_layer(
            &refs,
            inputs,
            self.layer_scale(label),
        )?))
    }

    /// The outputs of a step summed in parts: rescaled, each row's bias added.
    fn finish_parts(
        &self,
        rows: &[Row<f64>],
        layer: PartialLayer,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.ev
            .finish_layer(layer)?
            .into_par_iter()
            .zip(rows)
            .map(|(ct, r)| self.plus(ct, r.bias))
            .collect()
    }

    /// The square step's value: `u²` (one image per slot) or `u² + i·v²`
    /// (paired, conjugating) from `z`, which a halved plan's linear step
    /// made `(u + i·v)/2`.
    fn square(&self, label: &str, z: &Ciphertext) -> Result<Ciphertext, Error> {
        let ev = self.ev;
        let halved = self.halved && self.first_square != Some(label);
        if self.paired {
            let gk = self.conjugation.ok_or_else(|| {
                Error::Setting(format!(
                    "layer {label}: squaring two images per slot needs the conjugation key"
                ))
            })?;
            let conj = ev.conjugate(z, gk)?;
            let (p, m) = (ev.add(z, &conj)?, ev.sub(z, &conj)?);
            // x^(n/4) squares to i in every slot: (p + r)(p − r) = p² − i·m².
            let product = ev.multiply_pair(&p, &m, self.params.degree() / 4)?;
            return Ok(ev.relinearize_rescale(product, self.rk)?);
        }
        if halved {
            let u = ev.add(z, z)?;
            return Ok(ev.multiply_relin_rescale(&u, &u, self.rk)?);
        }
        Ok(ev.multiply_relin_rescale(z, z, self.rk)?)
    }

    /// The first square of a paired batch: `u² + i·v²` from the halves'
    /// `u` and `v` (real slots) as `(u + r)·(u − r)` with `r = x^(3n/4)·v`
    /// — `x^(3n/2) = −i` in every slot — then each element's sign and
    /// constant (square coefficients `[c, 0, ±1]`).
    fn merge_square(
        &self,
        coeffs: &[f64],
        u: Vec<Ciphertext>,
        v: Vec<Ciphertext>,
    ) -> Result<Vec<Ciphertext>, Error> {
        let ev = self.ev;
        let shift = 3 * self.params.degree() / 4;
        // By value: each pair is freed as soon as its square exists, and
        // the next square reuses its memory.
        u.into_par_iter()
            .zip(v)
            .enumerate()
            .map(|(e, (u, v))| {
                let c = &coeffs[e * 3..(e + 1) * 3];
                // (u + r)·(u − r) in one pass over u and v.
                let product = ev.multiply_pair(&u, &v, shift)?;
                drop((u, v));
                let mut y = ev.relinearize_rescale(product, self.rk)?;
                if c[2] < 0.0 {
                    y = ev.negate(&y)?;
                }
                self.plus(y, c[0])
            })
            .collect()
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
        self.linear_rows(label, self.layer_exponent(label, rows), rows, x)
    }

    fn linear_part(
        &self,
        label: &str,
        layer: &[Row<f64>],
        rows: &[Row<f64>],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        self.linear_rows(label, self.layer_exponent(label, layer), rows, x)
    }

    fn poly(
        &self,
        label: &str,
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
                    let mut y = self.square(label, ct)?;
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
    // Two images per slot only where they save a batch: past n/2 images.
    let mut params = parameters(levels, device.word, false)?;
    let paired = images.len() > params.slots() && halved_plan(&plan).is_some();
    if paired {
        params = parameters(levels, device.word, true)?;
    }
    let mut client = CkksClient::for_plan(&params, &plan);
    let keys = if paired {
        client.evaluation_keys_paired(conjugates(&plan))?
    } else {
        client.evaluation_keys()?
    };
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
        let outputs = server.infer_owned(inputs, &mut |event| {
            recorder.observe(event);
            if let Event::End { index, .. } = event {
                progress(&what, b * steps + index + 1, batches.len() * steps);
            }
        })?;
        seconds.infer += t.elapsed().as_secs_f64();
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
            "input_scale_bits": client.input_scale.log2(),
            "levels": params.depth(),
            "levels_needed": levels,
            "log_qp": params.log_qp(),
            "security_bits": 128,
            "batches": batches.len(),
            "paired_batches": batches.iter().filter(|b| b.len() > params.slots()).count(),
        }),
    }
    .report(model, images, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paired slots conjugate with no rescale after, so their digits stay
    /// below `P/2^8`; at the CryptoNets depths that is as few digits as the
    /// relinearization rule gives alone, and each digit is within the limit.
    #[test]
    fn paired_parameters_keep_conjugation_digits_below_the_limit() {
        // (levels, digits alone, digits paired)
        for (levels, alone, both) in [(5, 2, 3), (6, 3, 4)] {
            let single = parameters(levels, Word::W64, false).unwrap();
            let paired = parameters(levels, Word::W64, true).unwrap();
            let digits = |p: &Parameters| p.key_switcher().digit_sizes().len();
            assert_eq!(digits(&single), alone, "{levels} levels");
            assert_eq!(digits(&paired), both, "{levels} levels");
            let p: f64 = paired
                .special_primes()
                .iter()
                .map(|&v| (v as f64).log2())
                .sum();
            let q: Vec<f64> = paired
                .ciphertext_basis()
                .moduli()
                .iter()
                .map(|m| (m.value() as f64).log2())
                .collect();
            let mut at = 0;
            for size in paired.key_switcher().digit_sizes() {
                let bits: f64 = q[at..(at + size).min(q.len())].iter().sum();
                assert!(bits <= p - 8.0, "a digit of {bits:.1} bits, P of {p:.1}");
                at += size;
            }
        }
    }

    /// At 64-bit words every ciphertext prime is below 2^50 (the CPU's
    /// vector kernels); at 32-bit words the preset's base is kept.
    #[test]
    fn batch_parameters_keep_their_primes_where_the_kernels_want_them() {
        let w64 = parameters(6, Word::W64, false).unwrap();
        let q = w64.ciphertext_basis().moduli();
        assert!(q.iter().all(|m| m.value() < 1 << 50));
        assert!(q[0].value() > 1 << 48, "a 49-bit base prime");
        let w32 = parameters(6, Word::W32, false).unwrap();
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
