//! The first activation and the linear step before it, streamed: outputs
//! in chunks, each reading only the inputs it needs and dropping each input
//! after its last use, each chunk squared as soon as it exists.
//!
//! Why: on the machines hefty is measured on, a page the process touches
//! for the first time costs more than the arithmetic done on it (the kernel
//! zeroes it under a fault; a CKKS batch spent as much system time as user
//! time). Walked step by step, a batch holds every input ciphertext and
//! every output of the first linear step at once — the largest values of
//! the network (for CryptoNets, 784 inputs and 845 convolution outputs of
//! 1.2–1.6 MB each, per half of a paired batch). Streamed, it holds the
//! first activation's outputs and a window of inputs: a convolution's
//! outputs, taken in the order of their last input, need only a few rows of
//! the image at a time.

use rayon::prelude::*;

use super::{CkksExec, CkksServer};
use crate::Error;
use crate::exec::{Event, Executor, Op, Row, run_step};
use hefty_core::ckks::Ciphertext;

/// Outputs per chunk: one output row of a small convolution's maps, enough
/// work for the threads of one chunk, few enough inputs live at once.
const CHUNK: usize = 64;

/// One image set's inputs to the streamed step: read from bytes on first
/// use (or given as values), dropped after their last use.
pub(super) struct Inputs<'b> {
    bytes: &'b [&'b [u8]],
    values: Vec<Option<Ciphertext>>,
}

impl<'b> Inputs<'b> {
    /// Inputs to read from `bytes` when needed.
    pub(super) fn bytes(bytes: &'b [&'b [u8]]) -> Self {
        Self {
            bytes,
            values: (0..bytes.len()).map(|_| None).collect(),
        }
    }

    /// Inputs already evaluated (by the steps before the streamed one).
    fn values(values: Vec<Ciphertext>) -> Self {
        Self {
            bytes: &[],
            values: values.into_iter().map(Some).collect(),
        }
    }
}

impl CkksServer {
    /// The plan from `inputs` (one set per image half: two for a paired
    /// request, merged at the first square) to the logits, with the first
    /// square and the linear step before it streamed; the steps before that
    /// linear step run whole, on each set.
    pub(super) fn walk_streamed(
        &self,
        single: &CkksExec<'_>,
        paired: &CkksExec<'_>,
        mut sets: Vec<Inputs<'_>>,
        observe: &mut dyn FnMut(Event),
    ) -> Result<Vec<Ciphertext>, Error> {
        let steps = &self.plan.steps;
        let elements = self.plan.input.len();
        if elements == 0 {
            return Err(Error::Model("the network takes no inputs".into()));
        }
        for set in &sets {
            if set.values.len() != elements {
                return Err(Error::Model(format!(
                    "the request holds {} input ciphertexts per image set; the network takes {elements}",
                    set.values.len()
                )));
            }
        }
        let first = super::first_poly(steps).filter(|&i| i > 0);
        let Some((first, linear)) =
            first.and_then(|i| matches!(steps[i - 1].op, Op::Linear(_)).then_some((i, i - 1)))
        else {
            // Nothing to stream (no activation after a linear step): the
            // plain walk, one set (a paired plan always has one).
            let set = sets.pop().filter(|_| sets.is_empty()).ok_or_else(|| {
                Error::Setting("a paired request needs a square after a linear step".into())
            })?;
            let x = self.read_all(set)?;
            return crate::exec::walk(&self.plan, single, x, observe);
        };
        // The steps before the streamed linear step, whole, on each set.
        for set in &mut sets {
            if linear > 0 {
                let mut x = self.read_all(std::mem::replace(set, Inputs::values(Vec::new())))?;
                for (index, step) in steps[..linear].iter().enumerate() {
                    timed(single, index, observe, &mut || {
                        x = run_step(single, step, std::mem::take(&mut x))?;
                        Ok(())
                    })?;
                }
                *set = Inputs::values(x);
            }
        }
        let exec = if sets.len() == 2 { paired } else { single };
        let mut x = self.stream_step(single, linear, sets, Some((first, paired)), observe)?;
        // Every later step streamed as well: each frees its inputs as it
        // goes, so its outputs reuse their memory.
        for (index, step) in steps.iter().enumerate().skip(first + 1) {
            x = match &step.op {
                Op::Linear(_) => {
                    self.stream_step(exec, index, vec![Inputs::values(x)], None, observe)?
                }
                Op::Poly { degree, coeffs } => {
                    stream_poly(exec, index, &step.label, *degree, coeffs, x, observe)?
                }
                _ => {
                    let mut x = x;
                    timed(exec, index, observe, &mut || {
                        x = run_step(exec, step, std::mem::take(&mut x))?;
                        Ok(())
                    })?;
                    x
                }
            };
        }
        Ok(x)
    }

    /// Every input of `set`, read.
    fn read_all(&self, set: Inputs<'_>) -> Result<Vec<Ciphertext>, Error> {
        let Inputs { bytes, values } = set;
        values
            .into_par_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) => Ok(v),
                None => Ok(Ciphertext::from_bytes(&self.params, bytes[i])?),
            })
            .collect()
    }

    /// Linear step `linear`, chunk by chunk on every set of inputs, and
    /// with `square = Some((first, paired))` the polynomial step `first`
    /// right after it on each chunk (merging two sets into the slots' two
    /// parts with `paired`'s arithmetic).
    fn stream_step(
        &self,
        single: &CkksExec<'_>,
        linear: usize,
        mut sets: Vec<Inputs<'_>>,
        square: Option<(usize, &CkksExec<'_>)>,
        observe: &mut dyn FnMut(Event),
    ) -> Result<Vec<Ciphertext>, Error> {
        let steps = &self.plan.steps;
        let Op::Linear(rows) = &steps[linear].op else {
            unreachable!("the caller streams linear steps")
        };
        let label = steps[linear].label.as_str();
        let exponent = single.layer_exponent(label, rows);
        // Outputs in the order of the last input they read: a convolution's
        // then walk the image row by row.
        let last_input = |r: &Row<f64>| r.terms.iter().map(|t| t.0).max().unwrap_or(0);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&o| (last_input(&rows[o]), o));
        let chunks: Vec<&[usize]> = order.chunks(CHUNK).collect();
        // Each chunk's inputs (a chunk of fully pruned rows still reads
        // one, for the level and scale of its zero outputs).
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
        let elements = sets.first().map_or(0, |s| s.values.len());
        let mut last_use = vec![usize::MAX; elements];
        for (k, needed) in inputs.iter().enumerate() {
            for &i in needed {
                last_use[i] = k;
            }
        }
        let mut out: Vec<Option<Ciphertext>> = (0..rows.len()).map(|_| None).collect();
        for (k, (chunk, needed)) in chunks.iter().zip(&inputs).enumerate() {
            let local: Vec<Row<f64>> = chunk
                .iter()
                .map(|&o| Row {
                    terms: rows[o]
                        .terms
                        .iter()
                        .filter_map(|&(i, w)| {
                            let local = needed.binary_search(&(i as usize)).ok()?;
                            Some((local as u32, w))
                        })
                        .collect(),
                    bias: rows[o].bias,
                })
                .collect();
            let mut sums = Vec::with_capacity(sets.len());
            for set in &mut sets {
                self.read(set, needed)?;
                let x: Vec<Ciphertext> = needed
                    .iter()
                    .map(|&i| set.values[i].take().expect("read just now"))
                    .collect();
                let mut y = Vec::new();
                timed(single, linear, observe, &mut || {
                    y = single.linear_rows(label, exponent, &local, &x)?;
                    Ok(())
                })?;
                for (&i, v) in needed.iter().zip(x) {
                    if last_use[i] != k {
                        set.values[i] = Some(v);
                    }
                }
                sums.push(y);
            }
            let y = match square {
                None => sums.pop().unwrap_or_default(),
                Some((first, paired)) => {
                    let Op::Poly { degree, coeffs } = &steps[first].op else {
                        unreachable!("the caller found a polynomial step after the linear one")
                    };
                    let d = *degree + 1;
                    let chunk_coeffs: Vec<f64> = chunk
                        .iter()
                        .flat_map(|&o| coeffs[o * d..(o + 1) * d].iter().copied())
                        .collect();
                    let label = steps[first].label.as_str();
                    let mut y = Vec::new();
                    timed(single, first, observe, &mut || {
                        y = match sums.len() {
                            2 => {
                                let v = sums.pop().unwrap_or_default();
                                let u = sums.pop().unwrap_or_default();
                                paired.merge_square(&chunk_coeffs, u, v)?
                            }
                            _ => {
                                let u = sums.pop().unwrap_or_default();
                                single.poly(label, *degree, &chunk_coeffs, &u)?
                            }
                        };
                        Ok(())
                    })?;
                    y
                }
            };
            for (&o, v) in chunk.iter().zip(y) {
                out[o] = Some(v);
            }
        }
        Ok(out
            .into_iter()
            .map(|v| v.expect("every output in one chunk"))
            .collect())
    }

    /// Reads the inputs of `needed` that `set` does not hold yet.
    fn read(&self, set: &mut Inputs<'_>, needed: &[usize]) -> Result<(), Error> {
        let missing: Vec<usize> = needed
            .iter()
            .copied()
            .filter(|&i| set.values[i].is_none())
            .collect();
        let bytes = set.bytes;
        let read = missing
            .par_iter()
            .map(|&i| {
                let b = bytes.get(i).ok_or_else(|| {
                    Error::Setting(format!("input {i} was used after its last use"))
                })?;
                Ok(Ciphertext::from_bytes(&self.params, b)?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for (i, v) in missing.into_iter().zip(read) {
            set.values[i] = Some(v);
        }
        Ok(())
    }
}

/// Polynomial step `index` on `x`, chunk by chunk, each chunk's inputs
/// freed before the next is evaluated.
fn stream_poly(
    exec: &CkksExec<'_>,
    index: usize,
    label: &str,
    degree: usize,
    coeffs: &[f64],
    x: Vec<Ciphertext>,
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<Ciphertext>, Error> {
    let d = degree + 1;
    let mut out = Vec::with_capacity(x.len());
    let mut x = x.into_iter();
    loop {
        let start = out.len();
        let chunk: Vec<Ciphertext> = x.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            return Ok(out);
        }
        let c = &coeffs[start * d..(start + chunk.len()) * d];
        timed(exec, index, observe, &mut || {
            out.extend(exec.poly(label, degree, c, &chunk)?);
            Ok(())
        })?;
    }
}

/// Runs `run` as (part of) step `index`: its events, its time, the
/// backend's queue drained before the clock stops.
fn timed(
    exec: &CkksExec<'_>,
    index: usize,
    observe: &mut dyn FnMut(Event),
    run: &mut dyn FnMut() -> Result<(), Error>,
) -> Result<(), Error> {
    observe(Event::Begin { index });
    let start = std::time::Instant::now();
    run()?;
    crate::exec::Executor::settle(exec)?;
    observe(Event::End {
        index,
        elapsed: start.elapsed(),
    });
    Ok(())
}
