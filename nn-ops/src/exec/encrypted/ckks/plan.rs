//! The CKKS plan of a model: the f64 plan folded so the network spends as
//! few levels, and sums as few terms, as it can.
//!
//! - Batch norm is composed into the linear step before it.
//! - Each quadratic `a·y² + b·y + c` after a linear step becomes
//!   `sign(a)·u² + c′` with `u = √|a|·(y + b/2a)` computed by that step —
//!   one ciphertext product and one level — with the sign and `c′` passed
//!   on into the next linear step's weights and bias.
//! - Consecutive linear steps (pooling, convolution, pooling, dense, with a
//!   flatten between) become one step where the estimated cost says so
//!   ([`fold_linear_runs`]): CryptoNets' dense model sums 84,500 terms on
//!   one level fewer instead of 295,000 on two, and its pruned power-of-two
//!   model writes 100 outputs instead of about 3,200.
//! - Linear steps whose weights are dyadic are summed exactly without a
//!   level ([`dyadic_step`]).

use crate::Error;
use crate::exec::{Op, Plan, Row, Step, check_encryptable, compose, float_plan, input_span};
use crate::model::Model;

/// Largest integer weight taken as an integer (no level spent).
const MAX_INTEGER_WEIGHT: f64 = (1u64 << 31) as f64;

/// The CKKS plan of a model: the f64 plan with batch norm and the
/// quadratics' affine parts folded into the neighbouring linear layers, and
/// runs of linear layers composed where that costs less.
pub fn ckks_plan(model: &Model) -> Result<Plan<f64>, Error> {
    let mut plan = float_plan(model);
    check_encryptable(&plan)?;
    fold_diagonals(&mut plan.steps);
    fold_squares(&mut plan.steps);
    fold_linear_runs(&mut plan.steps);
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
pub(super) fn is_square(degree: usize, coeffs: &[f64]) -> bool {
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

/// The index of the first polynomial step.
pub(super) fn first_poly(steps: &[Step<f64>]) -> Option<usize> {
    steps.iter().position(|s| matches!(s.op, Op::Poly { .. }))
}

/// Whether the plan can pair two images per slot: every polynomial step is
/// a square, and each after the first comes right after a linear step,
/// whose outputs the pairing halves.
fn pairable(steps: &[Step<f64>]) -> bool {
    let Some(first) = first_poly(steps) else {
        return false;
    };
    steps.iter().enumerate().all(|(i, s)| match &s.op {
        Op::Poly { degree, coeffs } => {
            is_square(*degree, coeffs) && (i == first || matches!(steps[i - 1].op, Op::Linear(_)))
        }
        _ => true,
    })
}

/// Halves the linear step before every square after the first (its
/// weights and bias): those squares start from `z = (u + i·v)/2`. Only for
/// [`pairable`] plans; single-slot batches then square `z + z = u`.
fn halve_before_squares(steps: &mut [Step<f64>]) {
    let first = first_poly(steps).unwrap_or(steps.len());
    for i in first + 1..steps.len() {
        if !matches!(steps[i].op, Op::Poly { .. }) {
            continue;
        }
        if let Op::Linear(rows) = &mut steps[i - 1].op {
            for row in rows {
                row.terms.iter_mut().for_each(|t| t.1 *= 0.5);
                row.bias *= 0.5;
            }
        }
    }
}

/// The plan for paired slots: [`pairable`] and halved, if halving costs
/// no level (a dyadic step stays dyadic unless it runs out of exponent).
pub(super) fn halved_plan(plan: &Plan<f64>) -> Option<Plan<f64>> {
    if !pairable(&plan.steps) {
        return None;
    }
    let mut halved = plan.clone();
    halve_before_squares(&mut halved.steps);
    (levels_needed(&halved) == levels_needed(plan)).then_some(halved)
}

/// Whether paired slots conjugate: a square after the first.
pub(super) fn conjugates(plan: &Plan<f64>) -> bool {
    plan.steps
        .iter()
        .filter(|s| matches!(s.op, Op::Poly { .. }))
        .count()
        > 1
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
pub(super) fn dyadic_step(rows: &[Row<f64>], output: bool) -> Option<i32> {
    dyadic_exponent(rows).filter(|&e| e == 0 || !output)
}

/// Bits after the point the first linear step's weights keep when the
/// inputs' scale takes over its rescale ([`input_step`]): each weight is
/// rounded to a multiple of `2^-20`.
pub(super) const INPUT_STEP_BITS: i32 = 20;

/// How far above `Δ` the first step's outputs land, in bits, when the
/// inputs' scale takes over its rescale: the client encrypts at
/// `Δ·2^(8 − 20)` (2^28 for `Δ = 2^40`), the step's integer weights bring
/// the outputs to `Δ·2^8`, its square to `Δ·2^16` after one rescale, and
/// the next level-spending step back to `Δ` with weights at `Δ/2^16`. The
/// growth splits the loss between the inputs' encryption noise (fewer
/// bits of scale) and those next weights. Simulated in f64 on the 10,000
/// MNIST test images (inputs perturbed by one draw of the encryption
/// noise, `3.2·√(n/2)` at n = 2^14, every weight rounded as encoded), the
/// largest logit error for growths of 6, 8, 9, 10 and 12 bits: 3.4e-4,
/// 1.4e-4, 1.1e-4, 1.7e-4 and 2.0e-3 on the dense quad-layer model
/// (smallest margin between its two top logits: 1.4e-2), 2.3e-4, 9.0e-5
/// and 1.7e-4 (6, 8, 10) on the pruned power-of-two one (margin 1.2e-3);
/// no prediction changed.
pub(super) const INPUT_STEP_GROWTH: i32 = 8;

/// Whether a plan's first step is summed without a level, the inputs'
/// scale taking over its rescale: a linear step that is not dyadic already,
/// is not the output, is followed (through reshapes) by a square and then
/// by a linear step that spends a level, and whose weights, rounded to
/// [`INPUT_STEP_BITS`] bits after the point, are integers the dyadic sums
/// take. The client then encrypts at
/// [`input_scale`] instead of `Δ`, and the network spends one level fewer
/// — on CryptoNets a limb off every input ciphertext and every product of
/// the first convolution, and its 1,690 rescales gone. What it costs is
/// precision: the first weights keep 20 bits after the point and the
/// inputs 28 bits of scale instead of 40 (see [`INPUT_STEP_GROWTH`]).
pub(super) fn input_step(steps: &[Step<f64>]) -> bool {
    let Some(Step {
        op: Op::Linear(rows),
        ..
    }) = steps.first()
    else {
        return false;
    };
    // The square's grown scale must meet a linear step that spends a
    // level (and so picks its weights' scale to land back on Δ): another
    // square or a dyadic step would grow it further, past what the lower
    // levels hold.
    let mut next = steps
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, s)| !matches!(s.op, Op::Reshape));
    let last = steps.len() - 1;
    let squares_then_rescales = matches!(
        (next.next(), next.next()),
        (
            Some((_, Step { op: Op::Poly { degree, coeffs }, .. })),
            Some((i, Step { op: Op::Linear(after), .. })),
        ) if is_square(*degree, coeffs) && dyadic_step(after, i == last).is_none()
    );
    let unit = 2f64.powi(INPUT_STEP_BITS);
    squares_then_rescales
        && dyadic_step(rows, false).is_none()
        && rows
            .iter()
            .flat_map(|r| &r.terms)
            .all(|&(_, w)| w.is_finite() && (w * unit).abs() < MAX_INTEGER_WEIGHT)
}

/// The scale a CKKS batch client encrypts the inputs of `plan` at, for
/// parameters of scale `2^scale_bits` (`Δ`): `Δ`, or `Δ·2^(8 − 20)` when
/// the first step spends no level (it reads the inputs right before a
/// square and a level-spending step: [`levels_needed`] counts one level
/// fewer). The server refuses inputs at any other scale.
pub fn input_scale(plan: &Plan<f64>, scale_bits: u32) -> f64 {
    let bits = scale_bits as i32
        + if input_step(&plan.steps) {
            INPUT_STEP_GROWTH - INPUT_STEP_BITS
        } else {
            0
        };
    2f64.powi(bits)
}

/// The levels (rescales) a CKKS batch plan spends (its first step none
/// when the inputs' scale takes over its rescale: [`input_scale`]).
pub fn levels_needed(plan: &Plan<f64>) -> usize {
    steps_levels(&plan.steps) - usize::from(input_step(&plan.steps))
}

/// The levels the steps spend one by one, the first step's included.
fn steps_levels(steps: &[Step<f64>]) -> usize {
    let last = steps.len().saturating_sub(1);
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| step_levels(&s.op, i == last))
        .sum()
}

/// The levels one step spends (`output`: it is the plan's last).
fn step_levels(op: &Op<f64>, output: bool) -> usize {
    match op {
        Op::Linear(rows) => usize::from(dyadic_step(rows, output).is_none()),
        Op::Poly { degree, coeffs } if is_square(*degree, coeffs) => 1,
        Op::Poly { degree, .. } => *degree,
        Op::Relu | Op::Reshape => 0,
    }
}

/// What one element's square (product, relinearization, rescale) costs on
/// each limb, in *limb terms* — one ciphertext limb times a scalar, added.
/// Measured on CryptoNets' batch (2026-12-02, AVX-512 IFMA host, 2
/// threads): 845 squares on 6 limbs took 2.30 s, 156,250 terms on 5 limbs
/// 2.38 s.
const SQUARE_COST: f64 = 150.0;

/// What rescaling one output costs on each limb, in limb terms: about two
/// NTTs of one limb (`2 · log2(n)/2` products per coefficient against one
/// per term on two polynomials) — an estimate, small beside a row's terms.
const RESCALE_COST: f64 = 10.0;

/// What a step costs on each limb it runs on, in limb terms
/// (`output`: it is the plan's last).
fn limb_cost(op: &Op<f64>, output: bool) -> f64 {
    match op {
        Op::Linear(rows) => rows_cost(rows, output),
        Op::Poly { degree, coeffs } => {
            let elements = coeffs.len() / (degree + 1);
            let products = degree.saturating_sub(1).max(1);
            SQUARE_COST * (elements * products) as f64
        }
        Op::Relu | Op::Reshape => 0.0,
    }
}

/// What writing one output of a linear step costs on each limb, in limb
/// terms: the ciphertext is new memory (on the virtual machines hefty is
/// measured on, the kernel zeroes each page under a fault), and a step's
/// outputs are held until the next step has read them. Measured on the
/// pruned power-of-two CryptoNets model (2026-12-02, AVX-512 IFMA host, 2
/// threads): pooling, conv2, pooling and fc1 as four steps (41,000 terms,
/// ~3,200 outputs) took 1.47 s, composed (84,222 terms, 100 outputs)
/// 0.69 s — about 40 terms per output.
const OUTPUT_COST: f64 = 40.0;

/// [`limb_cost`] of a linear step's rows.
fn rows_cost(rows: &[Row<f64>], output: bool) -> f64 {
    let terms: usize = rows.iter().map(|r| r.terms.len()).sum();
    let rescaled = dyadic_step(rows, output).is_none();
    let per_output = OUTPUT_COST + if rescaled { RESCALE_COST } else { 0.0 };
    terms as f64 + per_output * rows.len() as f64
}

/// The runs of the plan where linear steps follow each other (flatten
/// between them allowed): `(start, end)` with at least two linear steps,
/// the first and the last of them at `start` and `end − 1`.
fn linear_runs(steps: &[Step<f64>]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        if !matches!(steps[i].op, Op::Linear(_)) {
            i += 1;
            continue;
        }
        let (start, mut end, mut linear) = (i, i + 1, 1);
        let mut j = i + 1;
        while j < steps.len() && matches!(steps[j].op, Op::Linear(_) | Op::Reshape) {
            if matches!(steps[j].op, Op::Linear(_)) {
                end = j + 1;
                linear += 1;
            }
            j += 1;
        }
        if linear > 1 {
            runs.push((start, end));
        }
        i = end;
    }
    runs
}

/// The most multiply-adds spent composing two steps while planning (a
/// fraction of a second); larger compositions are not considered.
const MAX_COMPOSE_WORK: usize = 1 << 28;

/// The multiply-adds of `compose(first, second, …)`.
fn compose_work(first: &[Row<f64>], second: &[Row<f64>]) -> usize {
    second
        .iter()
        .flat_map(|r| &r.terms)
        .map(|&(j, _)| first.get(j as usize).map_or(0, |r| r.terms.len()))
        .sum()
}

/// Composes runs of consecutive linear steps into fewer steps where that
/// is estimated to cost less.
///
/// Composing trades terms for levels and outputs: the composed map of
/// pooling, a convolution and a dense layer is dense (a pruned model's
/// zeros do not survive it) but writes only the last layer's outputs and
/// rescales once, and a level fewer takes a limb off every ciphertext
/// before it. A grouping of a run costs each group's terms, outputs and
/// rescales times the limbs it runs on ([`limb_cost`]) plus, for each level
/// the run spends, one limb more on every step before it. Runs are decided
/// from the last, whose choice fixes the limbs of those before it; every
/// grouping of a run is tried (a run is a handful of steps), and the
/// layers stay as they are unless a grouping costs strictly less.
fn fold_linear_runs(steps: &mut Vec<Step<f64>>) {
    for (start, end) in linear_runs(steps).into_iter().rev() {
        let last = steps.len() - 1;
        let after: usize = (end..steps.len())
            .map(|i| step_levels(&steps[i].op, i == last))
            .sum();
        let before: f64 = steps[..start].iter().map(|s| limb_cost(&s.op, false)).sum();
        let members: Vec<usize> = (start..end)
            .filter(|&i| matches!(steps[i].op, Op::Linear(_)))
            .collect();
        let rows_of = |m: usize| match &steps[members[m]].op {
            Op::Linear(rows) => rows.clone(),
            _ => unreachable!("members are linear steps"),
        };
        // composed[a][b - a]: members a..=b as one step, where composing
        // them is not too much work.
        let k = members.len();
        let mut composed: Vec<Vec<Option<Vec<Row<f64>>>>> = Vec::with_capacity(k);
        for a in 0..k {
            let mut from_a = vec![Some(rows_of(a))];
            for b in a + 1..k {
                let next = from_a[b - a - 1].as_ref().and_then(|prev| {
                    let second = rows_of(b);
                    (compose_work(prev, &second) <= MAX_COMPOSE_WORK)
                        .then(|| compose(prev, &second, input_span(prev)))
                });
                from_a.push(next);
            }
            composed.push(from_a);
        }
        // A grouping: bit m set = a boundary after member m.
        let groups = |mask: usize| -> Vec<(usize, usize)> {
            let mut out = Vec::new();
            let mut a = 0;
            for m in 0..k {
                if m + 1 == k || mask >> m & 1 == 1 {
                    out.push((a, m));
                    a = m + 1;
                }
            }
            out
        };
        let holds_output = end == steps.len();
        let cost = |mask: usize| -> f64 {
            let gs = groups(mask);
            let mut limbs = 1 + after;
            let mut total = 0.0;
            for (g, &(a, b)) in gs.iter().enumerate().rev() {
                let Some(rows) = &composed[a][b - a] else {
                    return f64::INFINITY;
                };
                let output = holds_output && g + 1 == gs.len();
                limbs += usize::from(dyadic_step(rows, output).is_none());
                total += rows_cost(rows, output) * limbs as f64;
            }
            total + before * (limbs - 1 - after) as f64
        };
        let separate = (1 << (k - 1)) - 1;
        let best = (0..separate)
            .map(|mask| (mask, cost(mask)))
            .fold((separate, cost(separate)), |best, c| {
                if c.1 < best.1 { c } else { best }
            })
            .0;
        if best == separate {
            continue;
        }
        let mut folded = Vec::new();
        let gs = groups(best);
        for (g, &(a, b)) in gs.iter().enumerate() {
            let (first, last) = (members[a], members[b]);
            if a == b {
                folded.push(steps[first].clone());
            } else {
                folded.push(Step {
                    label: steps[first..=last]
                        .iter()
                        .map(|s| s.label.as_str())
                        .collect::<Vec<_>>()
                        .join("+"),
                    kind: "dense",
                    op: Op::Linear(composed[a][b - a].take().unwrap_or_default()),
                    out: steps[last].out,
                });
            }
            // A flatten between two groups stays between them.
            if let Some(&next) = gs.get(g + 1).map(|(a, _)| &members[*a]) {
                folded.extend(steps[last + 1..next].iter().cloned());
            }
        }
        steps.splice(start..end, folded);
    }
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

    fn step(label: &str, op: Op<f64>) -> Step<f64> {
        Step {
            label: label.into(),
            kind: "test",
            op,
            out: crate::model::Shape::Features(1),
        }
    }

    fn linear(w: f64, bias: f64) -> Op<f64> {
        Op::Linear(vec![Row {
            terms: vec![(0, w)],
            bias,
        }])
    }

    fn square(sign: f64) -> Op<f64> {
        Op::Poly {
            degree: 2,
            coeffs: vec![0.25, 0.0, sign],
        }
    }

    fn plan(ops: Vec<Op<f64>>) -> Plan<f64> {
        Plan {
            input: crate::model::Shape::Features(1),
            steps: ops
                .into_iter()
                .enumerate()
                .map(|(i, op)| step(&format!("s{i}"), op))
                .collect(),
        }
    }

    /// Known answers: squares pair, anything else does not; the linear
    /// step before every square but the first is halved (weights and bias),
    /// and only those plans conjugate.
    #[test]
    fn pairing_known_answers() {
        let one = plan(vec![linear(3.0, 1.0), square(1.0), linear(0.5, 0.0)]);
        let halved = halved_plan(&one).unwrap();
        assert_eq!(halved, one, "one square: nothing to halve");
        assert!(!conjugates(&halved));
        let two = plan(vec![
            linear(3.0, 1.0),
            square(-1.0),
            Op::Reshape,
            linear(0.5, 0.25),
            square(1.0),
            linear(0.5, 0.0),
        ]);
        let halved = halved_plan(&two).unwrap();
        assert_eq!(halved.steps[0].op, linear(3.0, 1.0));
        assert_eq!(halved.steps[3].op, linear(0.25, 0.125));
        assert_eq!(halved.steps[5].op, linear(0.5, 0.0));
        assert!(conjugates(&halved));
        // Not a square (a linear term), no square at all, a square not
        // right after a linear step.
        let affine = Op::Poly {
            degree: 2,
            coeffs: vec![0.0, 0.5, 1.0],
        };
        assert!(halved_plan(&plan(vec![linear(1.0, 0.0), affine])).is_none());
        assert!(halved_plan(&plan(vec![linear(1.0, 0.0)])).is_none());
        assert!(halved_plan(&plan(vec![linear(1.0, 0.0), square(1.0), square(1.0)])).is_none());
    }

    /// Known answers: the first step spends no level only when it is
    /// linear, not dyadic already, not the output, followed (through
    /// reshapes) by a square and a linear step that spends a level, and its
    /// weights fit 20 bits after the point as the dyadic sums' integers;
    /// the inputs' scale follows.
    #[test]
    fn the_inputs_scale_takes_over_the_first_rescale_where_it_can() {
        let ok = plan(vec![
            linear(0.3, 1.0),
            Op::Reshape,
            square(1.0),
            linear(0.5, 0.0),
        ]);
        assert!(input_step(&ok.steps));
        assert_eq!((levels_needed(&ok), steps_levels(&ok.steps)), (2, 3));
        assert_eq!(input_scale(&ok, 40), 2f64.powi(28));
        let cases = [
            // Followed by a linear step, not a square.
            vec![linear(0.3, 1.0), linear(0.3, 0.0), square(1.0)],
            // Dyadic already: no level to save.
            vec![linear(0.75, 1.0), square(1.0), linear(0.5, 0.0)],
            // The output step.
            vec![linear(0.3, 1.0)],
            // A weight of 2^11 is 2^31 at 20 bits after the point.
            vec![linear(2048.3, 1.0), square(1.0), linear(0.5, 0.0)],
            // Not a square: a quadratic with a linear term.
            vec![
                linear(0.3, 1.0),
                Op::Poly {
                    degree: 2,
                    coeffs: vec![0.0, 0.5, 1.0],
                },
            ],
            // No linear step first.
            vec![square(1.0), linear(0.3, 0.0)],
            // The square's grown scale would meet another square, a
            // dyadic step, an integer output step (no level: the logits
            // would come out above what the base prime holds), or nothing.
            vec![linear(0.3, 1.0), square(1.0), square(1.0), linear(0.3, 0.0)],
            vec![
                linear(0.3, 1.0),
                square(1.0),
                linear(0.5, 0.0),
                square(1.0),
                linear(0.3, 0.0),
            ],
            vec![linear(0.3, 1.0), square(1.0), linear(2.0, 0.0)],
            vec![linear(0.3, 1.0), square(1.0)],
        ];
        for ops in cases {
            let p = plan(ops);
            assert!(!input_step(&p.steps), "{p:?}");
            assert_eq!(input_scale(&p, 40), 2f64.powi(40));
            assert_eq!(levels_needed(&p), steps_levels(&p.steps));
        }
    }

    /// A linear step of `outputs` rows over `inputs`, row `r` reading the
    /// inputs `reads(r)` with weights that are not dyadic (each spends a level).
    fn sparse(inputs: usize, outputs: usize, reads: impl Fn(usize) -> Vec<usize>) -> Op<f64> {
        Op::Linear(
            (0..outputs)
                .map(|r| Row {
                    terms: reads(r)
                        .into_iter()
                        .map(|i| {
                            assert!(i < inputs);
                            (i as u32, 0.1 + 0.013 * ((r * 7 + i * 3) % 11) as f64)
                        })
                        .collect(),
                    bias: 0.01 * r as f64,
                })
                .collect(),
        )
    }

    /// `x²` on `n` elements.
    fn squares(n: usize) -> Op<f64> {
        Op::Poly {
            degree: 2,
            coeffs: (0..n).flat_map(|_| [0.0, 0.0, 1.0]).collect(),
        }
    }

    fn outputs(plan: &Plan<f64>, x: &[f64]) -> Vec<f64> {
        crate::exec::walk(plan, &crate::exec::Float, x.to_vec(), &mut |_| {}).unwrap()
    }

    /// Known answers: where the runs of linear steps are (a flatten inside
    /// one belongs to it, a lone linear step is no run).
    #[test]
    fn linear_runs_known_answers() {
        let p = plan(vec![
            linear(1.0, 0.0),
            square(1.0),
            linear(0.3, 0.0),
            Op::Reshape,
            linear(0.3, 0.0),
            linear(0.3, 0.0),
            square(1.0),
            Op::Reshape,
            linear(0.3, 0.0),
            Op::Reshape,
        ]);
        assert_eq!(linear_runs(&p.steps), vec![(2, 6)]);
        assert!(linear_runs(&plan(vec![linear(1.0, 0.0), Op::Reshape]).steps).is_empty());
    }

    /// A run whose composition is small (6 → 12 → 2: 96 terms on two
    /// levels, 12 composed on one) becomes one `dense` step named for all
    /// it holds, a level cheaper, computing the same outputs; a run whose
    /// composition is dense (each of 256 rows reads 32 of 256 inputs twice
    /// over: 16,384 terms, 65,536 composed) stays as it is.
    #[test]
    fn runs_compose_where_that_costs_less() {
        let mut small = plan(vec![
            sparse(6, 12, |_| (0..6).collect()),
            Op::Reshape,
            sparse(12, 2, |_| (0..12).collect()),
            squares(2),
            sparse(2, 1, |_| vec![0, 1]),
        ]);
        small.input = crate::model::Shape::Features(6);
        let x = [0.3, -0.7, 0.2, 0.9, -0.1, 0.5];
        let (want, levels) = (outputs(&small, &x), levels_needed(&small));
        let mut folded = small.clone();
        fold_linear_runs(&mut folded.steps);
        assert_eq!(folded.steps.len(), 3);
        assert_eq!(folded.steps[0].label, "s0+s1+s2");
        assert_eq!(folded.steps[0].kind, "dense");
        let Op::Linear(rows) = &folded.steps[0].op else {
            panic!("a linear step")
        };
        assert_eq!(rows.iter().map(|r| r.terms.len()).sum::<usize>(), 12);
        // A level from composing, and one more: the composed step reads
        // the inputs right before a square, so the inputs' scale takes
        // over its rescale.
        assert!(!input_step(&small.steps) && input_step(&folded.steps));
        assert_eq!(levels_needed(&folded), levels - 2);
        let got = outputs(&folded, &x);
        assert!((got[0] - want[0]).abs() <= 1e-12 * want[0].abs().max(1.0));

        let mut dense = plan(vec![
            sparse(256, 256, |r| (0..32).map(|k| (r + 8 * k) % 256).collect()),
            sparse(256, 256, |r| (0..32).map(|k| (r + k) % 256).collect()),
            squares(256),
        ]);
        dense.input = crate::model::Shape::Features(256);
        let before = dense.clone();
        fold_linear_runs(&mut dense.steps);
        assert_eq!(dense, before);
    }

    /// A flatten between two groups stays between them: three steps where
    /// only the last two compose (16 × 16 twice: 512 terms, 256 composed);
    /// the first reads 256 inputs with 16 terms per row, and composed into
    /// the others every row would read all 256.
    #[test]
    fn a_flatten_between_groups_stays_between_them() {
        let mut p = plan(vec![
            sparse(256, 16, |r| (0..16).map(|k| 16 * r + k).collect()),
            Op::Reshape,
            sparse(16, 16, |_| (0..16).collect()),
            sparse(16, 16, |_| (0..16).collect()),
        ]);
        p.input = crate::model::Shape::Features(256);
        let x: Vec<f64> = (0..256)
            .map(|i| ((i * 37) % 17) as f64 / 17.0 - 0.5)
            .collect();
        let want = outputs(&p, &x);
        fold_linear_runs(&mut p.steps);
        let labels: Vec<&str> = p.steps.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["s0", "s1", "s2+s3"]);
        assert_eq!(p.steps[1].op, Op::Reshape);
        let got = outputs(&p, &x);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} against {w}");
        }
    }

    /// A composition that would cost too much to compute while planning
    /// (512 rows of 1,024 terms over rows of 1,024: 2^29 multiply-adds) is
    /// not tried, although its 524,288 terms would beat the 1.5 million of
    /// the steps apart; the plan is left as it is, at once.
    #[test]
    fn compositions_too_large_to_plan_are_not_tried() {
        let mut p = plan(vec![
            sparse(1024, 1024, |_| (0..1024).collect()),
            sparse(1024, 512, |_| (0..1024).collect()),
            squares(512),
        ]);
        p.input = crate::model::Shape::Features(1024);
        let (Op::Linear(a), Op::Linear(b)) = (&p.steps[0].op, &p.steps[1].op) else {
            panic!("linear steps")
        };
        assert!(compose_work(a, b) > MAX_COMPOSE_WORK);
        let before = p.clone();
        fold_linear_runs(&mut p.steps);
        assert_eq!(p, before);
    }

    /// The committed CryptoNets models' CKKS plans (middle layers
    /// composed, squares folded) compute the f64 reference's logits, run in
    /// f64 on a synthetic image.
    #[test]
    fn the_committed_plans_compute_the_reference() {
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        for name in [
            "cryptonets-mnist-quad-layer-aug.json",
            "cryptonets-mnist-pruned-pow2-aug.json",
        ] {
            let model = Model::load(&models.join(name)).unwrap();
            let pixels: Vec<u8> = (0..784).map(|i| ((i * 37) % 256) as u8).collect();
            let plan = ckks_plan(&model).unwrap();
            assert!(
                plan.steps
                    .iter()
                    .any(|s| s.kind == "dense" && s.label.contains("conv2"))
            );
            let got = model.forward_f64_with(&plan, &pixels).unwrap();
            let want = model.forward_f64(&pixels).unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{name}: {g} against {w}"
                );
            }
        }
    }
}
