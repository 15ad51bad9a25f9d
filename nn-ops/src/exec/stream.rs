//! [`walk`](super::walk) for values that are expensive to hold: every step
//! in chunks, each value dropped as soon as the last chunk that reads it is
//! done, so a step's outputs reuse the memory of its inputs.
//!
//! Why: on the machines hefty is measured on, a page the process touches
//! for the first time costs more than the arithmetic done on it (the kernel
//! zeroes it under a fault; a CKKS batch spent as much system time as user
//! time). Walked step by step, an encrypted network holds every input of a
//! step and every output at once — for CryptoNets 784 inputs and 845
//! convolution outputs of 0.6–1.6 MB each. Streamed, a linear step's
//! outputs are taken in the order of the last input they read (a
//! convolution then walks the image row by row), so only a window of
//! inputs is alive; a polynomial step right after a linear one runs on each
//! chunk as soon as it exists, so the linear step's outputs are never all
//! alive either. Results are the same values in the same order as
//! [`walk`](super::walk)'s.

use std::time::Instant;

use rayon::prelude::*;

use super::{Event, Executor, Op, Row, Step, run_step};
use crate::Error;

/// Outputs per chunk: enough independent work for the threads, few
/// enough values alive at once.
pub(crate) const CHUNK: usize = 64;

/// Reads input `i` the first time a chunk needs it.
pub(crate) type Reader<'r, V, Err> = &'r (dyn Fn(usize) -> Result<V, Err> + Sync);

/// The inputs of a streamed step: values held until their last use, the
/// others read on first use.
pub(crate) struct Inputs<'r, V, Err> {
    values: Vec<Option<V>>,
    read: Option<Reader<'r, V, Err>>,
}

impl<'r, V: Send, Err: Send + From<Error>> Inputs<'r, V, Err> {
    /// Values already computed.
    pub(crate) fn held(values: Vec<V>) -> Self {
        Self {
            values: values.into_iter().map(Some).collect(),
            read: None,
        }
    }

    /// `len` inputs, each read by `read` when first needed.
    pub(crate) fn lazy(len: usize, read: Reader<'r, V, Err>) -> Self {
        Self {
            values: (0..len).map(|_| None).collect(),
            read: Some(read),
        }
    }

    /// The number of inputs.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Every input, read where not held.
    pub(crate) fn into_values(self) -> Result<Vec<V>, Err> {
        let read = self.read;
        self.values
            .into_par_iter()
            .enumerate()
            .map(|(i, v)| match (v, read) {
                (Some(v), _) => Ok(v),
                (None, Some(read)) => read(i),
                (None, None) => Err(gone(i).into()),
            })
            .collect()
    }

    /// Reads the inputs of `needed` not held yet, in parallel.
    fn fetch(&mut self, needed: &[usize]) -> Result<(), Err> {
        let missing: Vec<usize> = needed
            .iter()
            .copied()
            .filter(|&i| self.values[i].is_none())
            .collect();
        let read = self.read;
        let got = missing
            .par_iter()
            .map(|&i| match read {
                Some(read) => read(i),
                None => Err(gone(i).into()),
            })
            .collect::<Result<Vec<_>, Err>>()?;
        for (i, v) in missing.into_iter().zip(got) {
            self.values[i] = Some(v);
        }
        Ok(())
    }
}

fn gone(i: usize) -> Error {
    Error::Setting(format!(
        "input {i} of a streamed step was read after its last use"
    ))
}

/// What runs on each chunk of a linear step's outputs: `outputs` (the
/// chunk's output indices) and one result per input set, in; the chunk's
/// final values (or what stands for them once consumed), out.
pub(crate) type Finish<'f, V, U, Err> =
    &'f mut dyn FnMut(&[usize], Vec<Vec<V>>, &mut dyn FnMut(Event)) -> Result<Vec<U>, Err>;

/// Linear step `index` on each set of `sets` (one set, or two image
/// halves), chunk by chunk, each chunk's results through `finish`.
pub(crate) fn linear<E: Executor, U>(
    exec: &E,
    index: usize,
    step: &Step<E::Weight>,
    sets: &mut [Inputs<'_, E::Value, E::Error>],
    observe: &mut dyn FnMut(Event),
    finish: Finish<'_, E::Value, U, E::Error>,
) -> Result<Vec<U>, E::Error>
where
    E::Error: Send,
{
    let Op::Linear(rows) = &step.op else {
        return Err(Error::Setting(format!("step {} is not linear", step.label)).into());
    };
    let elements = sets.first().map_or(0, Inputs::len);
    if elements == 0 || sets.iter().any(|s| s.len() != elements) {
        return Err(Error::Model(format!(
            "step {}: input sets of {:?} values",
            step.label,
            sets.iter().map(Inputs::len).collect::<Vec<_>>()
        ))
        .into());
    }
    let last_input = |r: &Row<E::Weight>| r.terms.iter().map(|t| t.0).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&o| (last_input(&rows[o]), o));
    let chunks: Vec<&[usize]> = order.chunks(CHUNK).collect();
    // Each chunk's inputs (a chunk of fully pruned rows still reads one:
    // an executor takes the level and scale of zero outputs from it).
    let inputs: Vec<Vec<usize>> = chunks
        .iter()
        .map(|chunk| {
            let mut needed: Vec<usize> = chunk
                .iter()
                .flat_map(|&o| rows[o].terms.iter().map(|t| t.0 as usize))
                .collect();
            needed.sort_unstable();
            needed.dedup();
            if needed.is_empty() {
                needed.push(0);
            }
            needed
        })
        .collect();
    if let Some(&i) = inputs.iter().flatten().find(|&&i| i >= elements) {
        return Err(
            Error::Model(format!("step {} reads input {i} of {elements}", step.label)).into(),
        );
    }
    let mut last_use = vec![usize::MAX; elements];
    for (k, needed) in inputs.iter().enumerate() {
        for &i in needed {
            last_use[i] = k;
        }
    }
    let mut out: Vec<Option<U>> = (0..rows.len()).map(|_| None).collect();
    for (k, (chunk, needed)) in chunks.iter().zip(&inputs).enumerate() {
        let local: Vec<Row<E::Weight>> = chunk
            .iter()
            .map(|&o| Row {
                terms: rows[o]
                    .terms
                    .iter()
                    .filter_map(|(i, w)| {
                        let at = needed.binary_search(&(*i as usize)).ok()?;
                        Some((at as u32, w.clone()))
                    })
                    .collect(),
                bias: rows[o].bias.clone(),
            })
            .collect();
        let mut results = Vec::with_capacity(sets.len());
        for set in sets.iter_mut() {
            set.fetch(needed)?;
            let x: Vec<E::Value> = needed
                .iter()
                .map(|&i| set.values[i].take().ok_or_else(|| gone(i)))
                .collect::<Result<_, _>>()?;
            let mut y = Vec::new();
            timed(exec, index, observe, &mut || {
                y = exec.linear_part(&step.label, rows, &local, &x)?;
                Ok(())
            })?;
            for (&i, v) in needed.iter().zip(x) {
                if last_use[i] != k {
                    set.values[i] = Some(v);
                }
            }
            results.push(y);
        }
        for (&o, v) in chunk.iter().zip(finish(chunk, results, observe)?) {
            out[o] = Some(v);
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(o, v)| v.ok_or_else(|| Error::Model(format!("output {o} never computed")).into()))
        .collect()
}

/// Polynomial step `index` on a chunk: `x[j]` is element `outputs[j]`.
pub(crate) fn poly_chunk<E: Executor>(
    exec: &E,
    index: usize,
    step: &Step<E::Weight>,
    outputs: &[usize],
    x: &[E::Value],
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<E::Value>, E::Error> {
    let Op::Poly { degree, coeffs } = &step.op else {
        return Err(Error::Setting(format!("step {} is not a polynomial", step.label)).into());
    };
    let d = degree + 1;
    let c: Vec<E::Weight> = outputs
        .iter()
        .flat_map(|&o| coeffs[o * d..(o + 1) * d].iter().cloned())
        .collect();
    let mut y = Vec::new();
    timed(exec, index, observe, &mut || {
        y = exec.poly(&step.label, *degree, &c, x)?;
        Ok(())
    })?;
    Ok(y)
}

/// Steps `from..` of `steps` on `inputs`, streamed: each linear step in
/// chunks (with the polynomial step right after it on each chunk),
/// polynomial steps chunk by chunk.
pub(crate) fn walk_from<E: Executor>(
    steps: &[Step<E::Weight>],
    from: usize,
    exec: &E,
    inputs: Inputs<'_, E::Value, E::Error>,
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<E::Value>, E::Error>
where
    E::Error: Send,
{
    let mut inputs = Some(inputs);
    let mut x: Vec<E::Value> = Vec::new();
    let mut index = from;
    while index < steps.len() {
        let step = &steps[index];
        // Lazy inputs are read by the first step if it is linear, else whole.
        if let Some(set) = inputs.take_if(|_| !matches!(step.op, Op::Linear(_))) {
            x = set.into_values()?;
        }
        match &step.op {
            Op::Linear(_) => {
                let mut set = inputs
                    .take()
                    .unwrap_or_else(|| Inputs::held(std::mem::take(&mut x)));
                let next = steps
                    .get(index + 1)
                    .filter(|s| matches!(s.op, Op::Poly { .. }));
                x = linear(
                    exec,
                    index,
                    step,
                    std::slice::from_mut(&mut set),
                    observe,
                    &mut |outputs, mut y, observe| {
                        let y = y.pop().unwrap_or_default();
                        match next {
                            Some(next) => poly_chunk(exec, index + 1, next, outputs, &y, observe),
                            None => Ok(y),
                        }
                    },
                )?;
                index += if next.is_some() { 2 } else { 1 };
            }
            Op::Poly { .. } => {
                let mut out = Vec::with_capacity(x.len());
                let mut rest = std::mem::take(&mut x).into_iter();
                loop {
                    let start = out.len();
                    let chunk: Vec<E::Value> = rest.by_ref().take(CHUNK).collect();
                    if chunk.is_empty() {
                        break;
                    }
                    let outputs: Vec<usize> = (start..start + chunk.len()).collect();
                    out.extend(poly_chunk(exec, index, step, &outputs, &chunk, observe)?);
                }
                x = out;
                index += 1;
            }
            _ => {
                timed(exec, index, observe, &mut || {
                    x = run_step(exec, step, std::mem::take(&mut x))?;
                    Ok(())
                })?;
                index += 1;
            }
        }
    }
    match inputs {
        // No step ran: the inputs are the outputs.
        Some(set) => set.into_values(),
        None => Ok(x),
    }
}

/// Runs `run` as (part of) step `index`: its events and its time, the
/// executor settled before the clock stops.
pub(crate) fn timed<E: Executor>(
    exec: &E,
    index: usize,
    observe: &mut dyn FnMut(Event),
    run: &mut dyn FnMut() -> Result<(), E::Error>,
) -> Result<(), E::Error> {
    observe(Event::Begin { index });
    let start = Instant::now();
    run()?;
    exec.settle()?;
    observe(Event::End {
        index,
        elapsed: start.elapsed(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;
    use crate::exec::{Float, Plan, walk};
    use crate::model::Shape;

    /// A linear step from `inputs` values to `outputs` rows; `keep` decides
    /// which weights survive pruning (some rows lose every weight).
    fn linear_step(inputs: usize, outputs: usize, seed: u64) -> Step<f64> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 33
        };
        let rows = (0..outputs)
            .map(|_| {
                let width = (next() % 4) as usize; // 0 = a fully pruned row
                let terms = (0..width)
                    .map(|_| {
                        let i = (next() % inputs as u64) as u32;
                        (i, (next() % 7) as f64 - 3.0)
                    })
                    .filter(|t| t.1 != 0.0)
                    .collect();
                Row {
                    terms,
                    bias: (next() % 5) as f64 - 2.0,
                }
            })
            .collect();
        Step {
            label: format!("lin{outputs}"),
            kind: "dense",
            op: Op::Linear(rows),
            out: Shape::Features(outputs),
        }
    }

    fn poly_step(len: usize, degree: usize) -> Step<f64> {
        Step {
            label: format!("poly{len}"),
            kind: "activation",
            op: Op::Poly {
                degree,
                coeffs: (0..len * (degree + 1))
                    .map(|k| ((k % 5) as f64 - 2.0) / 4.0)
                    .collect(),
            },
            out: Shape::Features(len),
        }
    }

    /// A plan of `widths` (linear steps between them), a polynomial after
    /// the linear steps `poly_after` marks, and a reshape somewhere.
    fn plan(widths: &[usize], poly_after: &[bool], seed: u64) -> Plan<f64> {
        let mut steps = Vec::new();
        for (k, pair) in widths.windows(2).enumerate() {
            steps.push(linear_step(pair[0], pair[1], seed + k as u64));
            if poly_after.get(k).copied().unwrap_or(false) {
                steps.push(poly_step(pair[1], 1 + k % 2));
            }
            if k == 1 {
                steps.push(Step {
                    label: "flatten".into(),
                    kind: "flatten",
                    op: Op::Reshape,
                    out: Shape::Features(pair[1]),
                });
            }
        }
        Plan {
            input: Shape::Features(widths[0]),
            steps,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Streamed, a plan gives `walk`'s values bit for bit, reads each
        /// input exactly once, and reports every step.
        #[test]
        fn streamed_walk_equals_walk(
            widths in prop::collection::vec(1usize..200, 2..6),
            poly_after in prop::collection::vec(any::<bool>(), 5),
            leading_poly in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let mut p = plan(&widths, &poly_after, seed);
            if leading_poly {
                p.steps.insert(0, poly_step(widths[0], 2));
            }
            let input: Vec<f64> = (0..widths[0]).map(|i| (i % 9) as f64 / 8.0 - 0.5).collect();
            let expected = walk(&p, &Float, input.clone(), &mut |_| {}).unwrap();

            let reads: Vec<AtomicUsize> = (0..input.len()).map(|_| AtomicUsize::new(0)).collect();
            let read = |i: usize| -> Result<f64, Error> {
                reads[i].fetch_add(1, Ordering::Relaxed);
                Ok(input[i])
            };
            let mut seen = vec![(0usize, 0usize); p.steps.len()];
            let got = walk_from(&p.steps, 0, &Float, Inputs::lazy(input.len(), &read), &mut |e| {
                match e {
                    Event::Begin { index } => seen[index].0 += 1,
                    Event::End { index, .. } => seen[index].1 += 1,
                }
            }).unwrap();
            prop_assert_eq!(&got, &expected);
            // Each input at most once; every input the first step uses, once.
            let used: Vec<bool> = match &p.steps[0].op {
                Op::Linear(rows) => {
                    let mut used = vec![false; input.len()];
                    rows.iter().flat_map(|r| &r.terms).for_each(|t| used[t.0 as usize] = true);
                    used
                }
                _ => vec![true; input.len()],
            };
            for (i, r) in reads.iter().enumerate() {
                let n = r.load(Ordering::Relaxed);
                prop_assert!(n <= 1 && (n == 1 || !used[i]), "input {} read {} times", i, n);
            }
            for (index, &(begins, ends)) in seen.iter().enumerate() {
                prop_assert!(begins >= 1 && begins == ends, "step {} seen {:?}", index, seen[index]);
            }

            // Starting part-way with held values gives the same.
            let first = walk(
                &Plan { input: p.input, steps: p.steps[..1].to_vec() },
                &Float,
                input.clone(),
                &mut |_| {},
            ).unwrap();
            let rest = walk_from(&p.steps, 1, &Float, Inputs::held(first), &mut |_| {}).unwrap();
            prop_assert_eq!(&rest, &expected);
        }
    }

    /// Linear step `step` on `sets`, each chunk's result as it is.
    fn run_linear(
        step: &Step<f64>,
        sets: &mut [Inputs<'_, f64, Error>],
    ) -> Result<Vec<f64>, Error> {
        linear(&Float, 0, step, sets, &mut |_| {}, &mut |_, mut y, _| {
            Ok(y.pop().unwrap_or_default())
        })
    }

    #[test]
    fn bad_steps_are_errors_not_panics() {
        let step = linear_step(3, 4, 1);
        let r = run_linear(&step, &mut [Inputs::held(vec![1.0])]);
        assert!(matches!(r, Err(Error::Model(_))), "{r:?}");

        let r = run_linear(
            &step,
            &mut [Inputs::held(vec![1.0; 3]), Inputs::held(vec![1.0; 2])],
        );
        assert!(matches!(r, Err(Error::Model(_))), "{r:?}");

        let r = run_linear(&poly_step(3, 1), &mut [Inputs::held(vec![1.0; 3])]);
        assert!(matches!(r, Err(Error::Setting(_))), "{r:?}");
    }
}
