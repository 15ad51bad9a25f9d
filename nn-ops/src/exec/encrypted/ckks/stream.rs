//! The CKKS batch server's walk: [`crate::exec::stream`] from the
//! request's bytes (each input ciphertext read when its first chunk needs
//! it), with a paired request's two image sets merged chunk by chunk at
//! the first square.

use hefty_core::ckks::{Ciphertext, PartialLayer};

use super::{CkksExec, CkksServer, first_poly};
use crate::Error;
use crate::exec::stream::{Inputs, Reader, linear, poly_chunk, timed, walk_from};
use crate::exec::{Event, Op, Row, Step, run_step};

impl CkksServer {
    /// The plan on `sets` of input ciphertexts as bytes — one set, or two
    /// image halves (a paired request), which the steps before the first
    /// square run on separately and the square merges — up to and including
    /// the first square, and the linear step after it when that step is
    /// summed in parts as the squares come: the last of these steps'
    /// outputs and the index of the step after it (the plan's length when
    /// it has no square). The rest needs no input bytes (the caller may
    /// free them first).
    pub(super) fn walk_streamed(
        &self,
        single: &CkksExec<'_>,
        paired: &CkksExec<'_>,
        sets: &[&[&[u8]]],
        observe: &mut dyn FnMut(Event),
    ) -> Result<(Vec<Ciphertext>, usize), Error> {
        let steps = &self.plan.steps;
        let elements = self.plan.input.len();
        if let Some(set) = sets.iter().find(|s| s.len() != elements) {
            return Err(Error::Model(format!(
                "the request holds {} input ciphertexts per image set; the network takes {elements}",
                set.len()
            )));
        }
        let readers: Vec<_> = sets
            .iter()
            .map(|set| {
                move |i: usize| {
                    let ct = Ciphertext::from_bytes(&self.params, set[i])?;
                    self.check_input_scale(&ct)?;
                    Ok(ct)
                }
            })
            .collect();
        let mut inputs: Vec<Inputs<'_, Ciphertext, Error>> = readers
            .iter()
            .map(|read| Inputs::lazy(elements, read as Reader<'_, Ciphertext, Error>))
            .collect();
        let first = first_poly(steps);
        let paired_request = inputs.len() == 2;
        if !paired_request && let Some(set) = inputs.pop() {
            // A plan whose first polynomial is not right after a linear
            // step: the generic walk up to it.
            if !first.is_some_and(|i| i > 0 && matches!(steps[i - 1].op, Op::Linear(_))) {
                let end = first.map_or(steps.len(), |i| i + 1);
                return Ok((walk_from(&steps[..end], 0, single, set, observe)?, end));
            }
            inputs.push(set);
        }
        if inputs.len() > 2 {
            return Err(Error::Setting(
                "a request holds one or two image sets".into(),
            ));
        }
        // The steps before the first square on each set (the linear step
        // right before it streamed by chunks, a paired request's halves
        // merged by the square).
        let Some(first) = first.filter(|&i| i > 0) else {
            return Err(Error::Setting(
                "a paired request needs a square after a linear step".into(),
            ));
        };
        let linear_step = first - 1;
        for set in &mut inputs {
            if linear_step > 0 {
                let taken = std::mem::replace(set, Inputs::held(Vec::new()));
                let mut x = taken.into_values()?;
                for (index, step) in steps[..linear_step].iter().enumerate() {
                    timed(single, index, observe, &mut || {
                        x = run_step(single, step, std::mem::take(&mut x))?;
                        Ok(())
                    })?;
                }
                *set = Inputs::held(x);
            }
        }
        let Op::Poly { degree, coeffs } = &steps[first].op else {
            return Err(Error::Setting("the first square is no polynomial".into()));
        };
        let d = degree + 1;
        let rest = if paired_request { paired } else { single };
        // The step after the square, summed as the square's chunks come
        // when it reads them into far fewer outputs (CryptoNets' 100 × 845
        // map): the squares are freed a part at a time instead of all
        // being held.
        let squares = steps[first].out.len();
        // A flatten between them changes nothing in the values' order.
        let sum_at = (first + 1..steps.len())
            .find(|&i| !matches!(steps[i].op, Op::Reshape))
            .unwrap_or(steps.len());
        let mut parts = match steps.get(sum_at) {
            Some(Step {
                label,
                op: Op::Linear(rows),
                ..
            }) if 2 * rows.len() <= squares => {
                rest.layer_in_parts(label, rows, squares)?
                    .map(|layer| Summed {
                        layer,
                        rows,
                        size: PART.max(2 * rows.len()),
                        indices: Vec::new(),
                        cts: Vec::new(),
                    })
            }
            _ => None,
        };
        let flush = |summed: &mut Summed<'_>, observe: &mut dyn FnMut(Event)| {
            if summed.cts.is_empty() {
                return Ok(());
            }
            let mut part = Some((
                std::mem::take(&mut summed.indices),
                std::mem::take(&mut summed.cts),
            ));
            timed(rest, sum_at, observe, &mut || {
                if let Some((indices, cts)) = part.take() {
                    rest.ev.add_to_layer(&mut summed.layer, &indices, cts)?;
                }
                Ok(())
            })
        };
        let x = linear(
            single,
            linear_step,
            &steps[linear_step],
            &mut inputs,
            observe,
            &mut |outputs, mut sets, observe| {
                let y = if paired_request {
                    let (Some(v), Some(u)) = (sets.pop(), sets.pop()) else {
                        return Err(Error::Setting("a paired chunk without two halves".into()));
                    };
                    let chunk: Vec<f64> = outputs
                        .iter()
                        .flat_map(|&o| coeffs[o * d..(o + 1) * d].iter().copied())
                        .collect();
                    let (mut halves, mut y) = (Some((u, v)), Vec::new());
                    timed(single, first, observe, &mut || {
                        if let Some((u, v)) = halves.take() {
                            y = paired.merge_square(&chunk, u, v)?;
                        }
                        Ok(())
                    })?;
                    y
                } else {
                    let x = sets.pop().unwrap_or_default();
                    poly_chunk(single, first, &steps[first], outputs, &x, observe)?
                };
                let Some(summed) = parts.as_mut() else {
                    return Ok(y.into_iter().map(Some).collect());
                };
                summed.indices.extend_from_slice(outputs);
                summed.cts.extend(y);
                if summed.cts.len() >= summed.size {
                    flush(summed, observe)?;
                }
                Ok(outputs.iter().map(|_| None).collect())
            },
        )?;
        let Some(mut summed) = parts else {
            return Ok((x.into_iter().flatten().collect(), first + 1));
        };
        flush(&mut summed, observe)?;
        for index in first + 1..sum_at {
            timed(rest, index, observe, &mut || Ok(()))?;
        }
        let (mut layer, mut out) = (Some(summed.layer), Vec::new());
        timed(rest, sum_at, observe, &mut || {
            if let Some(layer) = layer.take() {
                out = rest.finish_parts(summed.rows, layer)?;
            }
            Ok(())
        })?;
        Ok((out, sum_at + 1))
    }
}

/// A linear step summed in parts as the first square's chunks come.
struct Summed<'a> {
    layer: PartialLayer,
    rows: &'a [Row<f64>],
    /// Squares per part.
    size: usize,
    /// The squares waiting for the next part, by output index.
    indices: Vec<usize>,
    cts: Vec<Ciphertext>,
}

/// Squares added per part to a step summed in parts. Each part rewrites
/// the step's sums once, so parts are large, but a part's squares are alive
/// until it is added (a quarter of a gigabyte at CryptoNets' size). A step
/// with more outputs takes parts of twice its outputs.
const PART: usize = 256;
