//! The slot program: a model's plan regrouped into stages over
//! power-of-two periods, with the input layout and the rotations it needs.

use std::collections::BTreeSet;
use std::sync::Arc;

use hefty_core::ckks::{LinearTransform, Parameters};

use super::super::ckks::ckks_plan;
use crate::Error;
use crate::exec::{Op, Row, compose, input_span};
use crate::model::Model;

/// One rotation costs about this many plaintext × ciphertext products
/// (`hefty bench` at n = 2^14, one thread: rotate 6.3 ms, mul_plain 0.23 ms).
pub const ROTATE_COST: f64 = 27.0;

/// The most ciphertexts a client sends per image in tap form (a set of
/// images interleaved in one ciphertext shares its ciphertexts).
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
pub(super) struct MatrixStage {
    pub(super) label: String,
    pub(super) rows: Vec<Row<f64>>,
    pub(super) in_period: usize,
    /// `d'`: the output period.
    pub(super) out_period: usize,
    /// The non-zero diagonals `k < d'`.
    pub(super) diagonals: BTreeSet<usize>,
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
    pub(super) fn period(&self) -> usize {
        self.in_period.max(self.out_period)
    }

    /// Rotations in one image's slots (the caller scales them by the
    /// images per ciphertext): the BSGS steps, then the fold of `P/d'`
    /// partial sums.
    fn rotations(&self) -> Vec<i64> {
        let mut steps = LinearTransform::rotations_for(self.diagonals.iter().copied(), 1);
        steps.extend(fold_steps(self.out_period, self.period()));
        steps
    }
}

/// `(k, t0)` with `t0 = r + j·d'` (`j < P/d'`) and `k = (c - t0) mod P < d'`:
/// the one diagonal and slot (within a period) where `M[r][c]` lands.
pub(super) fn diagonal_of(r: usize, c: usize, d: usize, period: usize) -> (usize, usize) {
    // (c - r) mod P = j·d' + k with k < d': j and k are its quotient and remainder.
    let off = (c + period - r % period) % period;
    let (j, k) = (off / d, off % d);
    (k, r + j * d)
}

/// Rotation steps `d, 2d, …, P/2` that fold `P/d` blocks of length `d`.
pub(super) fn fold_steps(d: usize, period: usize) -> Vec<i64> {
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
pub(super) struct TapStage {
    pub(super) label: String,
    /// `weights[k][o]`: output `o`'s `k`-th weight.
    pub(super) weights: Vec<Vec<f64>>,
    pub(super) bias: Vec<f64>,
    pub(super) period: usize,
}

/// A slot-wise quadratic `a·x² + b·x + c` (per-element coefficients).
#[derive(Debug, Clone)]
pub(super) struct SquareStage {
    pub(super) label: String,
    pub(super) a: Vec<f64>,
    pub(super) b: Vec<f64>,
    pub(super) c: Vec<f64>,
    pub(super) period: usize,
}

impl SquareStage {
    /// Whether it is `c ± x²` (the folded form): one ciphertext product.
    pub(super) fn is_square(&self) -> bool {
        self.b.iter().all(|&v| v == 0.0) && self.a.iter().all(|&v| v.abs() == 1.0)
    }
}

#[derive(Debug, Clone)]
pub(super) enum Stage {
    Taps(TapStage),
    Matrix(MatrixStage),
    Square(SquareStage),
}

impl Stage {
    pub(super) fn label(&self) -> &str {
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
            // ±x²: one product, a sign vector one more; otherwise
            // (a·x + b)·x: a plaintext product, then a ciphertext product.
            Stage::Square(s) if s.is_square() => 1 + usize::from(s.a.iter().any(|&v| v < 0.0)),
            Stage::Square(_) => 2,
        }
    }
}

/// A linear run of the plan before it is placed: composed rows.
struct Pending {
    label: String,
    rows: Vec<Row<f64>>,
}

/// A model regrouped for slot packing: the input layout, the stages, the
/// levels and slots they need. Built from the model (the server's side: it
/// holds the weights); the client needs only [`Self::layout`] and
/// [`Self::rotations`].
#[derive(Debug, Clone)]
pub struct SlotProgram {
    pub(super) layout: InputLayout,
    pub(super) stages: Vec<Stage>,
    outputs: usize,
    input_len: usize,
    lanes: usize,
}

impl SlotProgram {
    /// The program of `model` for `slots` slots per ciphertext (`N/2`)
    /// shared by `lanes` images interleaved slot by slot (slot `t` belongs
    /// to image `t mod lanes`; a power of two): each image sees
    /// `slots / lanes` slots, and every rotation is `lanes` times longer.
    /// The first linear layer is in tap form when that costs less.
    pub fn new(model: &Model, slots: usize, lanes: usize) -> Result<Self, Error> {
        if !lanes.is_power_of_two() || lanes > slots {
            return Err(Error::Setting(format!(
                "{lanes} images per ciphertext: give a power of two up to the {slots} slots"
            )));
        }
        let lane_slots = slots / lanes;
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
                    if *degree != 2 {
                        return Err(Error::Model(format!(
                            "layer {}: slot packing evaluates quadratic activations; this one has degree {degree}: use --packing batch",
                            step.label
                        )));
                    }
                    if let Some(p) = pending.take() {
                        runs.push(Ok(p));
                    }
                    runs.push(Err(SquareStage {
                        label: step.label.clone(),
                        a: coeffs.chunks(3).map(|c| c[2]).collect(),
                        b: coeffs.chunks(3).map(|c| c[1]).collect(),
                        c: coeffs.chunks(3).map(|c| c[0]).collect(),
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
        Self::place(runs, input_len, lane_slots, lanes)
    }

    /// Assigns periods and the first layer's form.
    fn place(
        runs: Vec<Result<Pending, SquareStage>>,
        input_len: usize,
        slots: usize,
        lanes: usize,
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
                    let taps = (i == 0).then(|| tap_form(&p, slots, lanes)).flatten();
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
            lanes,
        };
        if program.slots_needed() > slots * lanes {
            return Err(Error::Setting(format!(
                "the network needs {} slots per ciphertext (a period of {} for each of {lanes} images) but the parameters have {}: use a larger ring degree or fewer images per ciphertext",
                program.slots_needed(),
                program.slots_needed() / lanes,
                slots * lanes
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

    /// Images sharing one ciphertext (interleaved slot by slot).
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// The slots a ciphertext needs: the largest period any vector uses,
    /// times the images sharing it.
    pub fn slots_needed(&self) -> usize {
        self.period_needed() * self.lanes
    }

    /// The largest period any vector uses.
    fn period_needed(&self) -> usize {
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
        let lanes = self.lanes;
        let mut steps: Vec<i64> = self
            .stages
            .iter()
            .flat_map(|s| match s {
                Stage::Taps(t) => fold_steps(t.period, slots / lanes),
                Stage::Matrix(m) => m.rotations(),
                Stage::Square(_) => vec![],
            })
            .map(|r| r * lanes as i64)
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

/// The tap form of a first linear run for `slots` slots of each of `lanes`
/// images, if its outputs fit and the client sends few enough ciphertexts.
fn tap_form(p: &Pending, slots: usize, lanes: usize) -> Option<(InputLayout, TapStage)> {
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
    if k_max.div_ceil(copies) > MAX_TAP_CIPHERTEXTS * lanes {
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

/// 128-bit secure parameters for a program with `lanes` images per
/// ciphertext: the smallest preset with the levels and the slots it needs,
/// trimmed to those levels.
pub fn slot_parameters(
    model: &Model,
    lanes: usize,
) -> Result<(Arc<Parameters>, SlotProgram), Error> {
    slot_parameters_for(model, lanes, hefty_core::ring::Word::W64)
}

/// [`slot_parameters`] among the presets of word profile `word`.
pub fn slot_parameters_for(
    model: &Model,
    lanes: usize,
    word: hefty_core::ring::Word,
) -> Result<(Arc<Parameters>, SlotProgram), Error> {
    let presets = crate::exec::encrypted::ckks::presets_for(word);
    for preset in presets {
        let slots = preset.degree / 2;
        let Ok(program) = SlotProgram::new(model, slots, lanes) else {
            continue;
        };
        if preset.depth >= program.levels() {
            let params = preset.builder().depth(program.levels().max(1)).build()?;
            return Ok((params, program));
        }
    }
    // Report why the largest preset does not do.
    let last = presets.last().expect("presets exist");
    let program = SlotProgram::new(model, last.degree / 2, lanes)?;
    Err(Error::Model(format!(
        "the network spends {} levels but the deepest 128-bit CKKS preset holds {}: use fewer activations or linear layers between them",
        program.levels(),
        last.depth
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Row;

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
