//! CKKS with slot packing: one image in the slots of a few ciphertexts, data
//! moved by rotations (LoLa, Gazelle's hybrid diagonal method).
//!
//! The folded CKKS plan ([`ckks_plan`]) is regrouped into stages: every run
//! of linear steps between two activations is composed into one matrix
//! (pooling, convolution, pooling and dense become one `d_out × d_in` map,
//! one level), and every activation is a slot-wise square. A vector of `d`
//! elements lives in the slots **replicated with a power-of-two period**
//! `P ≥ d` (slot `t` holds element `t mod P`, zero past `d`), which makes
//! cyclic rotations of the whole slot vector act as rotations within each
//! period — so no masking and no repacking between layers:
//! - a **matrix stage** (`d_out × d_in`, input period `P_in`) with
//!   `d' = 2^⌈log d_out⌉`, `P = max(P_in, d')` multiplies `d'` diagonals
//!   `diag_k[t] = M[t mod d'][(t + k) mod P]` by the rotations `rot_k(x)`
//!   (baby-step giant-step, hoisted baby steps, all-zero diagonals skipped)
//!   and folds the `P/d'` partial sums with `log2(P/d')` rotations; the
//!   output has period `d'`;
//! - the **first linear layer** may instead take its input from the client
//!   in *tap form* (LoLa's convolution representation): tap `k` of output
//!   `o` is the input that output's `k`-th weight multiplies; the client
//!   packs `N/2 / P` taps per ciphertext (one per period block), the server
//!   multiplies each by its weights and sums the blocks with `log2(N/2/P)`
//!   rotations — a convolution with no other rotation, chosen when it costs
//!   less than the diagonal form (rotations weighted by [`ROTATE_COST`]);
//! - a **square stage** is one ciphertext product (per-element signs and
//!   constants, when the plan has them, as plaintext vectors).
//!
//! Only the rotation keys the stages use are generated. The input layout
//! (which pixel goes to which slot) is public: it names the first layer's
//! non-zero weights' positions, not their values.

use std::collections::BTreeSet;
use std::sync::Arc;

use hefty_core::Sampler;
use hefty_core::ckks::{
    Ciphertext, Complex64, Encoder, Evaluator, GaloisKeys, LinearTransform, PRESETS, Parameters,
    Plaintext, RelinearizationKey, SecretKey,
};
use hefty_core::{HopCounter, SecurityLevel};
use rayon::prelude::*;

use super::ckks::ckks_plan;
use super::report::{Hops, LayerReport, compare};
use super::wire::{pack, unpack};
use super::{InferReport, Progress, Seconds};
use crate::Error;
use crate::exec::{Op, Row};
use crate::model::Model;

/// One rotation costs about this many plaintext × ciphertext products
/// (`hefty bench` at n = 2^14, one thread: rotate 6.3 ms, mul_plain 0.23 ms).
pub const ROTATE_COST: f64 = 27.0;

/// The most ciphertexts a client sends per image in tap form.
pub const MAX_TAP_CIPHERTEXTS: usize = 16;

/// How the client lays one image out in the slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputLayout {
    /// One ciphertext: the input vector (`len` elements) replicated with
    /// period `period`.
    Replicated {
        /// Elements of the input.
        len: usize,
        /// The period (a power of two ≥ `len`).
        period: usize,
    },
    /// Tap form: ciphertext `g`, block `c` (slots `c·period ..`) holds tap
    /// `k = g·copies + c`: slot `c·period + o` is input `taps[k][o]` (zero
    /// where `None`).
    Taps {
        /// The block length (a power of two ≥ the first layer's outputs).
        period: usize,
        /// Blocks per ciphertext (`N/2 / period`).
        copies: usize,
        /// `taps[k][o]`: the input that output `o`'s `k`-th weight multiplies.
        taps: Vec<Vec<Option<u32>>>,
    },
}

impl InputLayout {
    /// Ciphertexts the client sends per image.
    pub fn ciphertexts(&self) -> usize {
        match self {
            InputLayout::Replicated { .. } => 1,
            InputLayout::Taps { copies, taps, .. } => taps.len().div_ceil(*copies),
        }
    }
}

/// A linear stage: a composed matrix (sparse rows over inputs of period
/// `in_period`), applied by diagonals.
#[derive(Debug, Clone)]
struct MatrixStage {
    label: String,
    rows: Vec<Row<f64>>,
    in_period: usize,
    /// `d'`: the output period.
    out_period: usize,
    /// The non-zero diagonals `k < d'`.
    diagonals: BTreeSet<usize>,
}

impl MatrixStage {
    fn new(label: String, rows: Vec<Row<f64>>, in_period: usize) -> Self {
        let out_period = rows.len().next_power_of_two();
        let period = in_period.max(out_period);
        let mut diagonals = BTreeSet::new();
        for (r, row) in rows.iter().enumerate() {
            for &(c, _) in &row.terms {
                diagonals.insert(diagonal_of(r, c as usize, out_period, period).0);
            }
        }
        Self {
            label,
            rows,
            in_period,
            out_period,
            diagonals,
        }
    }

    /// `P = max(P_in, d')`: the period the diagonals are laid out over.
    fn period(&self) -> usize {
        self.in_period.max(self.out_period)
    }

    /// Rotations: the BSGS steps, then the fold of `P/d'` partial sums.
    fn rotations(&self) -> Vec<i64> {
        let mut steps = LinearTransform::rotations_for(self.diagonals.iter().copied());
        steps.extend(fold_steps(self.out_period, self.period()));
        steps
    }
}

/// `(k, t0)` with `t0 = r + j·d'` (`j < P/d'`) and `k = (c - t0) mod P < d'`:
/// the one diagonal and slot (within a period) where `M[r][c]` lands.
fn diagonal_of(r: usize, c: usize, d: usize, period: usize) -> (usize, usize) {
    // (c - r) mod P = j·d' + k with k < d': j and k are its quotient and remainder.
    let off = (c + period - r % period) % period;
    let (j, k) = (off / d, off % d);
    (k, r + j * d)
}

/// Rotation steps `d, 2d, …, P/2` that fold `P/d` blocks of length `d`.
fn fold_steps(d: usize, period: usize) -> Vec<i64> {
    let mut steps = Vec::new();
    let mut s = d;
    while s < period {
        steps.push(s as i64);
        s *= 2;
    }
    steps
}

/// The first linear layer in tap form.
#[derive(Debug, Clone)]
struct TapStage {
    label: String,
    /// `weights[k][o]`: output `o`'s `k`-th weight.
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
    period: usize,
}

/// A slot-wise `constant + sign·x²`.
#[derive(Debug, Clone)]
struct SquareStage {
    label: String,
    signs: Vec<f64>,
    constants: Vec<f64>,
    period: usize,
}

#[derive(Debug, Clone)]
enum Stage {
    Taps(TapStage),
    Matrix(MatrixStage),
    Square(SquareStage),
}

impl Stage {
    fn label(&self) -> &str {
        match self {
            Stage::Taps(t) => &t.label,
            Stage::Matrix(m) => &m.label,
            Stage::Square(s) => &s.label,
        }
    }

    fn op(&self) -> &'static str {
        match self {
            Stage::Taps(_) => "linear (tap form)",
            Stage::Matrix(_) => "linear (diagonals)",
            Stage::Square(_) => "activation",
        }
    }

    /// Levels the stage spends.
    fn levels(&self) -> usize {
        match self {
            Stage::Taps(_) | Stage::Matrix(_) => 1,
            Stage::Square(s) => 1 + usize::from(s.signs.iter().any(|&v| v < 0.0)),
        }
    }
}

/// A linear run of the plan before it is placed: composed rows.
struct Pending {
    label: String,
    rows: Vec<Row<f64>>,
}

/// `second ∘ first` as rows over `first`'s inputs (`inputs` of them).
fn compose(first: &[Row<f64>], second: &[Row<f64>], inputs: usize) -> Vec<Row<f64>> {
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

/// A model regrouped for slot packing: the input layout, the stages, the
/// levels and slots they need. Built from the model (the server's side: it
/// holds the weights); the client needs only [`Self::layout`] and
/// [`Self::rotations`].
#[derive(Debug, Clone)]
pub struct SlotProgram {
    layout: InputLayout,
    stages: Vec<Stage>,
    outputs: usize,
    input_len: usize,
}

impl SlotProgram {
    /// The program of `model` for `slots` slots per ciphertext (`N/2`):
    /// the first linear layer in tap form when that costs less.
    pub fn new(model: &Model, slots: usize) -> Result<Self, Error> {
        let plan = ckks_plan(model)?;
        let input_len = plan.input.len();
        let mut runs: Vec<Result<Pending, SquareStage>> = Vec::new();
        let mut pending: Option<Pending> = None;
        for step in &plan.steps {
            match &step.op {
                Op::Reshape => {}
                Op::Linear(rows) => {
                    pending = Some(match pending.take() {
                        None => Pending {
                            label: step.label.clone(),
                            rows: rows.clone(),
                        },
                        Some(p) => Pending {
                            label: format!("{}+{}", p.label, step.label),
                            rows: compose(&p.rows, rows, input_span(&p.rows)),
                        },
                    });
                }
                Op::Poly { degree, coeffs } => {
                    if *degree != 2 || coeffs.chunks(3).any(|c| c[1] != 0.0 || c[2].abs() != 1.0) {
                        return Err(Error::Model(format!(
                            "layer {}: slot packing evaluates quadratic activations (c + x², after folding); this one has degree {degree} or a linear term: use --packing batch",
                            step.label
                        )));
                    }
                    if let Some(p) = pending.take() {
                        runs.push(Ok(p));
                    }
                    runs.push(Err(SquareStage {
                        label: step.label.clone(),
                        signs: coeffs.chunks(3).map(|c| c[2]).collect(),
                        constants: coeffs.chunks(3).map(|c| c[0]).collect(),
                        period: 0,
                    }));
                }
                Op::Relu => {
                    return Err(Error::Model(format!(
                        "layer {}: ReLU has no encrypted evaluation",
                        step.label
                    )));
                }
            }
        }
        if let Some(p) = pending.take() {
            runs.push(Ok(p));
        }
        Self::place(runs, input_len, slots)
    }

    /// Assigns periods and the first layer's form.
    fn place(
        runs: Vec<Result<Pending, SquareStage>>,
        input_len: usize,
        slots: usize,
    ) -> Result<Self, Error> {
        let mut stages = Vec::new();
        let mut layout = InputLayout::Replicated {
            len: input_len,
            period: input_len.next_power_of_two(),
        };
        let mut period = input_len.next_power_of_two();
        let mut len = input_len;
        for (i, run) in runs.into_iter().enumerate() {
            match run {
                Err(mut sq) => {
                    sq.period = period;
                    stages.push(Stage::Square(sq));
                }
                Ok(p) => {
                    let matrix = MatrixStage::new(p.label.clone(), p.rows.clone(), period);
                    let taps = (i == 0).then(|| tap_form(&p, slots)).flatten();
                    len = p.rows.len();
                    match taps {
                        Some((tap_layout, tap)) if tap_cost(&tap_layout) < matrix_cost(&matrix) => {
                            period = tap.period;
                            layout = tap_layout;
                            stages.push(Stage::Taps(tap));
                        }
                        _ => {
                            period = matrix.out_period;
                            stages.push(Stage::Matrix(matrix));
                        }
                    }
                }
            }
        }
        let program = Self {
            layout,
            stages,
            outputs: len,
            input_len,
        };
        if program.slots_needed() > slots {
            return Err(Error::Setting(format!(
                "the network needs {} slots per ciphertext (a period of that many) but the parameters have {slots}: use a larger ring degree",
                program.slots_needed()
            )));
        }
        Ok(program)
    }

    /// How the client packs an image.
    pub fn layout(&self) -> &InputLayout {
        &self.layout
    }

    /// Elements of the input image.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Values the network outputs (logits).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Levels the stages spend.
    pub fn levels(&self) -> usize {
        self.stages.iter().map(Stage::levels).sum()
    }

    /// The largest period any vector uses: the slots a ciphertext needs.
    pub fn slots_needed(&self) -> usize {
        let input = match &self.layout {
            InputLayout::Replicated { period, .. } | InputLayout::Taps { period, .. } => *period,
        };
        self.stages
            .iter()
            .map(|s| match s {
                Stage::Taps(t) => t.period,
                Stage::Matrix(m) => m.period(),
                Stage::Square(q) => q.period,
            })
            .fold(input, usize::max)
    }

    /// The rotation steps the server uses with `slots` slots per
    /// ciphertext: the only Galois keys the client makes.
    pub fn rotations(&self, slots: usize) -> Vec<i64> {
        let mut steps: Vec<i64> = self
            .stages
            .iter()
            .flat_map(|s| match s {
                Stage::Taps(t) => fold_steps(t.period, slots),
                Stage::Matrix(m) => m.rotations(),
                Stage::Square(_) => vec![],
            })
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// Each stage's label and kind, in order (the per-layer table's rows).
    pub fn stage_names(&self) -> Vec<(String, String)> {
        self.stages
            .iter()
            .map(|s| (s.label().to_string(), s.op().to_string()))
            .collect()
    }
}

/// Inputs a set of rows reads: one past the largest index.
fn input_span(rows: &[Row<f64>]) -> usize {
    rows.iter()
        .flat_map(|r| r.terms.iter().map(|t| t.0 as usize + 1))
        .max()
        .unwrap_or(0)
}

/// The tap form of a first linear run for `slots` slots, if its outputs fit.
fn tap_form(p: &Pending, slots: usize) -> Option<(InputLayout, TapStage)> {
    let period = p.rows.len().next_power_of_two();
    if period > slots {
        return None;
    }
    let copies = slots / period;
    let k_max = p
        .rows
        .iter()
        .map(|r| r.terms.len())
        .max()
        .unwrap_or(0)
        .max(1);
    if k_max.div_ceil(copies) > MAX_TAP_CIPHERTEXTS {
        return None;
    }
    let taps: Vec<Vec<Option<u32>>> = (0..k_max)
        .map(|k| p.rows.iter().map(|r| r.terms.get(k).map(|t| t.0)).collect())
        .collect();
    let weights = (0..k_max)
        .map(|k| {
            p.rows
                .iter()
                .map(|r| r.terms.get(k).map_or(0.0, |t| t.1))
                .collect()
        })
        .collect();
    Some((
        InputLayout::Taps {
            period,
            copies,
            taps,
        },
        TapStage {
            label: p.label.clone(),
            weights,
            bias: p.rows.iter().map(|r| r.bias).collect(),
            period,
        },
    ))
}

fn tap_cost(layout: &InputLayout) -> f64 {
    match layout {
        InputLayout::Taps { copies, .. } => {
            layout.ciphertexts() as f64 + ROTATE_COST * copies.trailing_zeros() as f64
        }
        InputLayout::Replicated { .. } => f64::INFINITY,
    }
}

fn matrix_cost(m: &MatrixStage) -> f64 {
    m.diagonals.len() as f64 + ROTATE_COST * m.rotations().len() as f64
}

/// 128-bit secure parameters for a program: the smallest preset with the
/// levels and the slots it needs, trimmed to those levels.
pub fn slot_parameters(model: &Model) -> Result<(Arc<Parameters>, SlotProgram), Error> {
    for preset in PRESETS {
        let slots = preset.degree / 2;
        let Ok(program) = SlotProgram::new(model, slots) else {
            continue;
        };
        if preset.depth >= program.levels() {
            let params = preset.builder().depth(program.levels().max(1)).build()?;
            return Ok((params, program));
        }
    }
    // Report why the largest preset does not do.
    let last = PRESETS.last().expect("presets exist");
    let program = SlotProgram::new(model, last.degree / 2)?;
    Err(Error::Model(format!(
        "the network spends {} levels but the deepest 128-bit CKKS preset holds {}: use fewer activations or linear layers between them",
        program.levels(),
        last.depth
    )))
}

/// The client: owns the secret key; packs, encrypts, decrypts.
pub struct SlotClient {
    params: Arc<Parameters>,
    sk: SecretKey,
    encoder: Encoder,
    sampler: Sampler,
    layout: InputLayout,
}

impl SlotClient {
    /// A fresh secret key for `params`; images are packed as `layout` says.
    pub fn new(params: &Arc<Parameters>, layout: InputLayout) -> Self {
        let mut sampler = Sampler::from_os();
        Self {
            params: Arc::clone(params),
            sk: SecretKey::generate(params, &mut sampler),
            encoder: Encoder::new(params),
            sampler,
            layout,
        }
    }

    /// What the server needs, as bytes: the parameters, a relinearization
    /// key and Galois keys for exactly `rotations`.
    pub fn evaluation_keys(&mut self, rotations: &[i64]) -> Result<Vec<u8>, Error> {
        let rk = RelinearizationKey::new(&self.sk, &mut self.sampler)?;
        let gk = GaloisKeys::new(&self.sk, rotations, false, &mut self.sampler)?;
        Ok(pack(&[
            self.params.to_bytes(),
            rk.to_bytes()?,
            gk.to_bytes()?,
        ]))
    }

    /// The slot vectors of one image (`pixel / 2^scale_bits`), as laid out.
    fn pack_image(&self, image: &[u8], scale_bits: u32) -> Vec<Vec<f64>> {
        let slots = self.params.slots();
        let scale = (scale_bits as f64).exp2();
        let x = |i: usize| image[i] as f64 / scale;
        match &self.layout {
            InputLayout::Replicated { len, period } => {
                vec![
                    (0..slots)
                        .map(|t| {
                            if t % period < *len {
                                x(t % period)
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                ]
            }
            InputLayout::Taps {
                period,
                copies,
                taps,
            } => (0..self.layout.ciphertexts())
                .map(|g| {
                    (0..slots)
                        .map(|t| {
                            let (c, o) = (t / period, t % period);
                            taps.get(g * copies + c)
                                .and_then(|tap| tap.get(o).copied().flatten())
                                .map_or(0.0, |i| x(i as usize))
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// One image's ciphertexts as bytes.
    pub fn encrypt(&mut self, image: &[u8], scale_bits: u32) -> Result<Vec<u8>, Error> {
        let vectors = self.pack_image(image, scale_bits);
        let (level, delta) = (self.params.max_level(), self.params.default_scale());
        let seeds: Vec<[u8; 32]> = vectors.iter().map(|_| self.sampler.seed()).collect();
        let cts = vectors
            .into_par_iter()
            .zip(seeds)
            .map(|(v, seed)| {
                let pt = self.encoder.encode_real(&v, level, delta)?;
                Ok(self
                    .sk
                    .encrypt(&pt, &mut Sampler::from_seed(seed))?
                    .to_bytes()?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(pack(&cts))
    }

    /// The first `outputs` slots of the server's answer.
    pub fn decrypt(&self, bytes: &[u8], outputs: usize) -> Result<Vec<f64>, Error> {
        let [ct] = unpack(bytes)?[..] else {
            return Err(Error::Setting(
                "the server's answer is not one ciphertext".into(),
            ));
        };
        let ct = Ciphertext::from_bytes(&self.params, ct)?;
        let values = self.encoder.decode_real(&self.sk.decrypt(&ct)?)?;
        Ok(values[..outputs.min(values.len())].to_vec())
    }
}

/// A stage with its plaintexts encoded at the level it runs at.
enum Prepared {
    Taps {
        weights: Vec<Plaintext>,
        bias: Plaintext,
        folds: Vec<i64>,
    },
    Matrix {
        transform: LinearTransform,
        bias: Plaintext,
        folds: Vec<i64>,
    },
    Square {
        signs: Option<Plaintext>,
        constants: Option<Plaintext>,
    },
}

/// The server: parameters, relinearization and Galois keys, the program's
/// plaintexts — no secret key.
pub struct SlotServer {
    params: Arc<Parameters>,
    rk: RelinearizationKey,
    gk: GaloisKeys,
    evaluator: Evaluator,
    program: SlotProgram,
    prepared: Vec<Prepared>,
    counter: Arc<HopCounter>,
}

/// `values` (one period) repeated over every slot.
fn periodic(values: &[f64], period: usize, slots: usize) -> Vec<Complex64> {
    (0..slots)
        .map(|t| Complex64::new(values.get(t % period).copied().unwrap_or(0.0), 0.0))
        .collect()
}

impl SlotServer {
    /// A server from the client's [`SlotClient::evaluation_keys`] bytes and
    /// the program; fails unless the parameters are 128-bit secure and hold
    /// the program's levels and slots, or a rotation key is missing.
    pub fn new(keys: &[u8], program: SlotProgram) -> Result<Self, Error> {
        let [params, rk, gk] = unpack(keys)?[..] else {
            return Err(Error::Setting(
                "evaluation keys: expected the parameters, a relinearization key and Galois keys"
                    .into(),
            ));
        };
        let params = Parameters::from_bytes(params)?;
        if params.security() != Some(SecurityLevel::Bits128) {
            return Err(Error::Setting(
                "the client's parameters are not 128-bit secure".into(),
            ));
        }
        if params.depth() < program.levels() {
            return Err(Error::Setting(format!(
                "the parameters hold {} levels but the network spends {}: build them with depth ≥ {}",
                params.depth(),
                program.levels(),
                program.levels()
            )));
        }
        let slots = params.slots();
        if program.slots_needed() > slots {
            return Err(Error::Setting(format!(
                "the network needs {} slots but the parameters have {slots}: use a larger ring degree",
                program.slots_needed()
            )));
        }
        let rk = RelinearizationKey::from_bytes(&params, rk)?;
        let gk = GaloisKeys::from_bytes(&params, gk)?;
        let counter = Arc::new(HopCounter::default());
        let prepared = Self::prepare(&params, &program)?;
        Ok(Self {
            evaluator: Evaluator::with_hop_counter(&params, &counter),
            params,
            rk,
            gk,
            program,
            prepared,
            counter,
        })
    }

    /// Encodes every stage's plaintexts at the level the stage runs at.
    fn prepare(params: &Arc<Parameters>, program: &SlotProgram) -> Result<Vec<Prepared>, Error> {
        let encoder = Encoder::new(params);
        let slots = params.slots();
        let ppl = params.primes_per_level();
        let mut level = params.max_level();
        let mut scale = params.default_scale();
        let mut out = Vec::with_capacity(program.stages.len());
        for stage in &program.stages {
            let divisor = params.rescale_divisor(level);
            out.push(match stage {
                Stage::Taps(t) => {
                    let copies = slots / t.period;
                    let groups = t.weights.len().div_ceil(copies);
                    let weights = (0..groups)
                        .map(|g| {
                            let v: Vec<f64> = (0..slots)
                                .map(|s| {
                                    let (c, o) = (s / t.period, s % t.period);
                                    t.weights
                                        .get(g * copies + c)
                                        .and_then(|w| w.get(o).copied())
                                        .unwrap_or(0.0)
                                })
                                .collect();
                            encoder.encode_real(&v, level, divisor)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    level -= ppl;
                    let bias = encoder.encode(&periodic(&t.bias, t.period, slots), level, scale)?;
                    Prepared::Taps {
                        weights,
                        bias,
                        folds: fold_steps(t.period, slots),
                    }
                }
                Stage::Matrix(m) => {
                    let period = m.period();
                    let d = m.out_period;
                    let mut diags: std::collections::BTreeMap<usize, Vec<Complex64>> = m
                        .diagonals
                        .iter()
                        .map(|&k| (k, vec![Complex64::new(0.0, 0.0); slots]))
                        .collect();
                    for (r, row) in m.rows.iter().enumerate() {
                        for &(c, w) in &row.terms {
                            let (k, t0) = diagonal_of(r, c as usize, d, period);
                            let diag = diags.get_mut(&k).expect("diagonal recorded");
                            for t in (t0..slots).step_by(period) {
                                diag[t] = Complex64::new(w, 0.0);
                            }
                        }
                    }
                    let transform = LinearTransform::from_diagonals(&encoder, &diags, level)?;
                    level -= ppl;
                    let bias: Vec<f64> = m.rows.iter().map(|r| r.bias).collect();
                    let bias = encoder.encode(&periodic(&bias, d, slots), level, scale)?;
                    Prepared::Matrix {
                        transform,
                        bias,
                        folds: fold_steps(d, period),
                    }
                }
                Stage::Square(s) => {
                    // The square's scale: Δ² / divisor.
                    scale = scale * scale / divisor;
                    level -= ppl;
                    let signs = if s.signs.iter().any(|&v| v < 0.0) {
                        let pt = encoder.encode_real(
                            &periodic(&s.signs, s.period, slots)
                                .iter()
                                .map(|z| z.re)
                                .collect::<Vec<_>>(),
                            level,
                            params.rescale_divisor(level),
                        )?;
                        level -= ppl;
                        Some(pt)
                    } else {
                        None
                    };
                    let constants = if s.constants.iter().any(|&v| v != 0.0) {
                        Some(encoder.encode(
                            &periodic(&s.constants, s.period, slots),
                            level,
                            scale,
                        )?)
                    } else {
                        None
                    };
                    Prepared::Square { signs, constants }
                }
            });
        }
        Ok(out)
    }

    /// The operations counted so far.
    pub fn counter(&self) -> &HopCounter {
        &self.counter
    }

    /// The program it runs.
    pub fn program(&self) -> &SlotProgram {
        &self.program
    }

    /// Sums the `period`-blocks of `ct` by rotations (`folds`).
    fn fold(&self, mut ct: Ciphertext, folds: &[i64]) -> Result<Ciphertext, Error> {
        for &step in folds {
            let r = self.evaluator.rotate(&ct, step, &self.gk)?;
            ct = self.evaluator.add(&ct, &r)?;
        }
        Ok(ct)
    }

    /// Adds a prepared plaintext (encoded at the scale the plan predicts;
    /// rescales leave the ciphertext's within rounding of it).
    fn add_aligned(&self, ct: Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        Ok(self.evaluator.add_plain(&ct, pt)?)
    }

    /// One image's ciphertexts in, its encrypted logits out; `observe`
    /// hears each stage's index and time.
    pub fn infer(
        &self,
        inputs: &[u8],
        observe: &mut dyn FnMut(usize, std::time::Duration),
    ) -> Result<Vec<u8>, Error> {
        let cts = unpack(inputs)?
            .into_iter()
            .map(|b| Ciphertext::from_bytes(&self.params, b))
            .collect::<Result<Vec<_>, _>>()?;
        if cts.len() != self.program.layout.ciphertexts() {
            return Err(Error::Setting(format!(
                "{} input ciphertexts, the layout has {}",
                cts.len(),
                self.program.layout.ciphertexts()
            )));
        }
        let ev = &self.evaluator;
        let mut x: Option<Ciphertext> = None;
        let mut inputs = Some(cts);
        for (i, stage) in self.prepared.iter().enumerate() {
            let t = std::time::Instant::now();
            x = Some(match stage {
                Prepared::Taps {
                    weights,
                    bias,
                    folds,
                } => {
                    let cts = inputs.take().expect("the tap stage comes first");
                    let mut acc: Option<Ciphertext> = None;
                    for (ct, w) in cts.iter().zip(weights) {
                        let p = ev.mul_plain(ct, w)?;
                        acc = Some(match acc {
                            None => p,
                            Some(a) => ev.add(&a, &p)?,
                        });
                    }
                    let acc = ev.rescale(&acc.expect("at least one tap"))?;
                    let acc = self.fold(acc, folds)?;
                    self.add_aligned(acc, bias)?
                }
                Prepared::Matrix {
                    transform,
                    bias,
                    folds,
                } => {
                    let input = match x.take() {
                        Some(ct) => ct,
                        None => inputs
                            .take()
                            .and_then(|v| v.into_iter().next())
                            .expect("one replicated input"),
                    };
                    let y = transform.apply(ev, &input, &self.gk)?;
                    let y = self.fold(y, folds)?;
                    self.add_aligned(y, bias)?
                }
                Prepared::Square { signs, constants } => {
                    let input = match x.take() {
                        Some(ct) => ct,
                        None => inputs
                            .take()
                            .and_then(|v| v.into_iter().next())
                            .expect("one replicated input"),
                    };
                    let mut y = ev.multiply_relin_rescale(&input, &input, &self.rk)?;
                    if let Some(s) = signs {
                        y = ev.rescale(&ev.mul_plain(&y, s)?)?;
                    }
                    match constants {
                        Some(c) => self.add_aligned(y, c)?,
                        None => y,
                    }
                }
            });
            observe(i, t.elapsed());
        }
        let out = x.ok_or_else(|| Error::Model("the network has no layer".into()))?;
        Ok(pack(&[out.to_bytes()?]))
    }
}

/// The slot-packing round trip of [`super::infer`]: one image at a time.
pub(super) fn infer(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    let (params, program) = slot_parameters(model)?;
    let rotations = program.rotations(params.slots());
    let mut client = SlotClient::new(&params, program.layout().clone());
    let t = std::time::Instant::now();
    let keys = client.evaluation_keys(&rotations)?;
    let keygen_seconds = t.elapsed().as_secs_f64();
    let layout = program.layout().clone();
    let outputs = program.outputs();
    let server = SlotServer::new(&keys, program)?;
    let names = server.program().stage_names();
    let mut layers: Vec<LayerReport> = names
        .iter()
        .map(|(name, op)| LayerReport {
            name: name.clone(),
            op: op.clone(),
            seconds: 0.0,
            hops: Hops::default(),
        })
        .collect();
    let mut seconds = Seconds::default();
    let mut bytes = super::Bytes {
        to_server: keys.len() as u64,
        to_client: 0,
    };
    let mut per_image_bytes = 0u64;
    let mut latencies = Vec::with_capacity(images.len());
    let mut logits = Vec::with_capacity(images.len());
    let scale_bits = model.graph().input.scale_bits;
    for (i, image) in images.iter().enumerate() {
        let t = std::time::Instant::now();
        let inputs = client.encrypt(image, scale_bits)?;
        seconds.encrypt += t.elapsed().as_secs_f64();
        bytes.to_server += inputs.len() as u64;
        per_image_bytes = inputs.len() as u64;
        let t = std::time::Instant::now();
        let mut start = server.counter().totals();
        let counter = server.counter();
        let out = server.infer(&inputs, &mut |s, elapsed| {
            let now = counter.totals();
            layers[s].seconds += elapsed.as_secs_f64();
            layers[s].hops.add(&Hops::between(&start, &now));
            start = now;
        })?;
        let latency = t.elapsed().as_secs_f64();
        seconds.infer += latency;
        latencies.push(latency);
        bytes.to_client += out.len() as u64;
        let t = std::time::Instant::now();
        logits.push(client.decrypt(&out, outputs)?);
        seconds.decrypt += t.elapsed().as_secs_f64();
        progress("image", i + 1, images.len());
    }
    let reference = images
        .par_iter()
        .map(|im| model.forward_f64(im))
        .collect::<Result<Vec<_>, _>>()?;
    let max_logit_error = logits
        .iter()
        .zip(&reference)
        .flat_map(|(e, r)| e.iter().zip(r).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max);
    let (accuracy, reference_accuracy, agreement, disagreements) =
        compare(&logits, &reference, labels);
    latencies.sort_by(f64::total_cmp);
    let median_latency = latencies[latencies.len() / 2];
    let gk_bytes = unpack(&keys)?.get(2).map_or(0, |b| b.len());
    Ok(InferReport {
        model: model.graph().name.clone(),
        packing: "slots".into(),
        scheme: "ckks".into(),
        images: images.len(),
        threads: rayon::current_num_threads(),
        accuracy,
        reference_accuracy,
        agreement,
        max_logit_error: Some(max_logit_error),
        mismatched_logits: None,
        noise_budget_bits: None,
        seconds,
        seconds_per_image: seconds.infer / images.len() as f64,
        bytes,
        params: serde_json::json!({
            "degree": params.degree(),
            "slots": params.slots(),
            "scale_bits": params.scale_bits(),
            "levels": params.depth(),
            "levels_needed": server.program().levels(),
            "log_qp": params.log_qp(),
            "security_bits": 128,
            "input_layout": match &layout {
                InputLayout::Taps { period, copies, taps } => serde_json::json!({
                    "form": "taps", "period": period, "taps_per_ciphertext": copies, "taps": taps.len(),
                }),
                InputLayout::Replicated { len, period } => serde_json::json!({
                    "form": "replicated", "period": period, "len": len,
                }),
            },
            "input_ciphertexts_per_image": layout.ciphertexts(),
            "bytes_per_image_to_server": per_image_bytes,
            "rotation_keys": rotations.len(),
            "rotation_steps": rotations,
            "evaluation_key_bytes": keys.len(),
            "galois_key_bytes": gk_bytes,
            "keygen_seconds": keygen_seconds,
            "median_latency_seconds": median_latency,
        }),
        layers,
        disagreements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_matrix_entry_lands_on_one_diagonal_below_the_output_period() {
        for (rows, cols, period) in [
            (10usize, 100usize, 128usize),
            (100, 845, 1024),
            (845, 784, 1024),
            (7, 7, 8),
        ] {
            let d = rows.next_power_of_two();
            let period = period.max(d);
            for r in 0..rows {
                for c in 0..cols {
                    let (k, t0) = diagonal_of(r, c, d, period);
                    assert!(k < d && t0 < period);
                    // Slot t0 of diagonal k pairs output t0 mod d with input (t0 + k) mod P.
                    assert_eq!(t0 % d, r % d);
                    assert_eq!((t0 + k) % period, c % period);
                }
            }
        }
    }

    #[test]
    fn composition_matches_applying_the_layers_one_after_another() {
        let first = vec![
            Row {
                terms: vec![(0, 2.0), (2, -1.0)],
                bias: 0.5,
            },
            Row {
                terms: vec![(1, 3.0)],
                bias: -1.0,
            },
        ];
        let second = vec![Row {
            terms: vec![(0, 1.5), (1, -2.0)],
            bias: 0.25,
        }];
        let composed = compose(&first, &second, 3);
        let x = [0.3, -0.7, 1.1];
        let apply = |rows: &[Row<f64>], x: &[f64]| -> Vec<f64> {
            rows.iter()
                .map(|r| r.bias + r.terms.iter().map(|&(i, w)| w * x[i as usize]).sum::<f64>())
                .collect()
        };
        let want = apply(&second, &apply(&first, &x));
        let got = apply(&composed, &x);
        assert!((want[0] - got[0]).abs() < 1e-12);
    }
}
