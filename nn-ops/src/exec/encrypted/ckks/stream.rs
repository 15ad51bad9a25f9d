//! The CKKS batch server's walk: [`crate::exec::stream`] from the
//! request's bytes (each input ciphertext read when its first chunk needs
//! it), with a paired request's two image sets merged chunk by chunk at
//! the first square.

use hefty_core::ckks::Ciphertext;

use super::{CkksExec, CkksServer, first_poly};
use crate::Error;
use crate::exec::stream::{Inputs, Reader, linear, timed, walk_from};
use crate::exec::{Event, Op, run_step};

impl CkksServer {
    /// The plan on `sets` of input ciphertexts as bytes — one set, or two
    /// image halves (a paired request), which the steps before the first
    /// square run on separately and the square merges — up to and including
    /// the first square: its outputs and the index of the step after it
    /// (the plan's length when it has no square). The rest needs no input
    /// bytes (the caller may free them first).
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
            .map(|set| move |i: usize| Ok(Ciphertext::from_bytes(&self.params, set[i])?))
            .collect();
        let mut inputs: Vec<Inputs<'_, Ciphertext, Error>> = readers
            .iter()
            .map(|read| Inputs::lazy(elements, read as Reader<'_, Ciphertext, Error>))
            .collect();
        if inputs.len() == 1
            && let Some(set) = inputs.pop()
        {
            let end = first_poly(steps).map_or(steps.len(), |i| i + 1);
            return Ok((walk_from(&steps[..end], 0, single, set, observe)?, end));
        }
        if inputs.len() != 2 {
            return Err(Error::Setting(
                "a request holds one or two image sets".into(),
            ));
        }
        // Paired: the steps before the first square on each half (the
        // linear step right before it streamed and merged by chunks).
        let Some(first) = first_poly(steps).filter(|&i| i > 0) else {
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
        let x = linear(
            single,
            linear_step,
            &steps[linear_step],
            &mut inputs,
            observe,
            &mut |outputs, mut halves, observe| {
                let (Some(v), Some(u)) = (halves.pop(), halves.pop()) else {
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
                Ok(y)
            },
        )?;
        Ok((x, first + 1))
    }
}
