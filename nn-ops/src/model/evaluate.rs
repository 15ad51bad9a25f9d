//! Accuracy of a model over a data split.

use rayon::prelude::*;
use serde::Serialize;

use crate::Error;
use crate::exec::argmax;
use crate::mnist::Split;
use crate::model::{FixedPoint, Model};

/// Which executor evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalMode {
    /// The f64 reference.
    Float,
    /// The exact integer path of encrypted inference.
    Fixed(FixedPoint),
}

/// What `hefty eval --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// `correct / total`.
    pub accuracy: f64,
    /// Images classified correctly.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
    /// The model's name.
    pub model: String,
    /// `"f64"` or `"fixed-point"`.
    pub mode: String,
    /// Fixed point: the largest magnitude met, in bits (the plaintext
    /// modulus it needs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bits: Option<u32>,
    /// Fixed point: fractional bits used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision_bits: Option<u32>,
}

/// Classifies every image of `split`, in parallel; `progress` is called
/// with the number of images finished so far after each chunk.
pub fn evaluate(
    model: &Model,
    split: &Split,
    mode: EvalMode,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<EvalReport, Error> {
    let fixed = match mode {
        EvalMode::Fixed(fp) => Some(fp.prepare(model)?),
        EvalMode::Float => None,
    };
    let plan = crate::exec::float_plan(model);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let chunk = 250;
    let per_chunk: Vec<(usize, u32)> = (0..split.len().div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut correct = 0;
            let mut max_bits = 0;
            let range = c * chunk..((c + 1) * chunk).min(split.len());
            let classes: Vec<usize> = match &fixed {
                Some(fm) => range
                    .clone()
                    .map(|i| {
                        let out = fm.forward(split.image(i))?;
                        max_bits = max_bits.max(out.max_bits);
                        Ok(out.class())
                    })
                    .collect::<Result<_, Error>>()?,
                None => {
                    let images: Vec<&[u8]> = range.clone().map(|i| split.image(i)).collect();
                    let mut classes = Vec::with_capacity(images.len());
                    for block in images.chunks(super::F64_BLOCK) {
                        let logits = model.forward_f64_block(&plan, block)?;
                        classes.extend(logits.iter().map(|l| argmax(l)));
                    }
                    classes
                }
            };
            for (i, class) in range.zip(classes) {
                correct += usize::from(class == split.labels[i] as usize);
            }
            let n = done.fetch_add(chunk, std::sync::atomic::Ordering::Relaxed) + chunk;
            progress(n.min(split.len()));
            Ok((correct, max_bits))
        })
        .collect::<Result<_, Error>>()?;
    let correct = per_chunk.iter().map(|c| c.0).sum();
    let total = split.len();
    Ok(EvalReport {
        accuracy: correct as f64 / total.max(1) as f64,
        correct,
        total,
        model: model.graph().name.clone(),
        mode: match mode {
            EvalMode::Float => "f64".into(),
            EvalMode::Fixed(_) => "fixed-point".into(),
        },
        max_bits: fixed
            .as_ref()
            .map(|_| per_chunk.iter().map(|c| c.1).max().unwrap_or(0)),
        precision_bits: match mode {
            EvalMode::Fixed(fp) => Some(fp.precision_bits),
            EvalMode::Float => None,
        },
    })
}
