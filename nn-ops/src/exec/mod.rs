//! Execution: one layer walk for every executor.
//!
//! A model compiles to a [`Plan`] (linear steps and element-wise
//! polynomials); an [`Executor`] says how to compute those two on its own
//! values — f64 numbers (the reference), exact 256-bit integers (the
//! fixed-point path), or ciphertexts (the encrypted executors in
//! [`encrypted`]) — and [`walk`] runs the plan. The three cannot drift
//! apart: they share the plan and the walk, and differ only in arithmetic.

pub mod encrypted;
mod fixed;
mod float;
mod plan;
pub(crate) mod stream;

pub use fixed::{FixedModel, FixedOutput, FixedPoint};
pub use float::{Float, FloatBlock};
pub use plan::{Op, Plan, Row, Step, Weight, check_encryptable, float_plan};
pub(crate) use plan::{Window, batch_norm_affine, compose, input_span, tensor_f64};

use std::time::{Duration, Instant};

use crate::Error;

/// The arithmetic of one kind of value; [`walk`] does the rest.
pub trait Executor: Sync {
    /// The weights its plans hold.
    type Weight: Weight;
    /// One tensor element (a number, or a ciphertext).
    type Value: Send + Sync;

    /// Every row of a linear step over `x`.
    fn linear(
        &self,
        label: &str,
        rows: &[Row<Self::Weight>],
        x: &[Self::Value],
    ) -> Result<Vec<Self::Value>, Self::Error>;

    /// Some `rows` of a linear step over `x` (a chunk of a streamed step:
    /// the `stream` module); `layer` is the whole step's rows, for executors whose
    /// arithmetic depends on the step as a whole (CKKS takes a dyadic
    /// step's exponent from all its weights, so every chunk lands at one
    /// scale).
    fn linear_part(
        &self,
        label: &str,
        layer: &[Row<Self::Weight>],
        rows: &[Row<Self::Weight>],
        x: &[Self::Value],
    ) -> Result<Vec<Self::Value>, Self::Error> {
        let _ = layer;
        self.linear(label, rows, x)
    }

    /// Element `e` of `x` through its polynomial `coeffs[e·(degree+1)..]`.
    fn poly(
        &self,
        label: &str,
        degree: usize,
        coeffs: &[Self::Weight],
        x: &[Self::Value],
    ) -> Result<Vec<Self::Value>, Self::Error>;

    /// `max(0, x)`; only plaintext executors have one.
    fn relu(&self, label: &str, x: &[Self::Value]) -> Result<Vec<Self::Value>, Self::Error>;

    /// What its kernels fail with.
    type Error: From<Error>;

    /// Waits until the work of the step just run has finished, so that the
    /// step's time is its own: a device backend runs asynchronously, and
    /// without this a step's time would land on whichever step synchronises
    /// next. Host executors finish as they go.
    fn settle(&self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What [`walk`] tells an observer.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Step `index` starts.
    Begin {
        /// The step's index in the plan.
        index: usize,
    },
    /// Step `index` ended after `elapsed`.
    End {
        /// The step's index in the plan.
        index: usize,
        /// Its wall time.
        elapsed: Duration,
    },
}

/// Runs `plan` on `input` (one value per input element) with `exec`;
/// `observe` hears when each step begins and ends (for timing and HOP
/// tables).
pub fn walk<E: Executor>(
    plan: &Plan<E::Weight>,
    exec: &E,
    input: Vec<E::Value>,
    observe: &mut dyn FnMut(Event),
) -> Result<Vec<E::Value>, E::Error> {
    if input.len() != plan.input.len() {
        return Err(Error::Model(format!(
            "the model takes {} input values (shape {:?}), got {}",
            plan.input.len(),
            plan.input,
            input.len()
        ))
        .into());
    }
    let mut x = input;
    for (index, step) in plan.steps.iter().enumerate() {
        observe(Event::Begin { index });
        let start = Instant::now();
        x = run_step(exec, step, x)?;
        exec.settle()?;
        observe(Event::End {
            index,
            elapsed: start.elapsed(),
        });
    }
    Ok(x)
}

/// One step of [`walk`] on `x`, unobserved (for executors that walk a plan
/// in their own order, e.g. two halves of a batch up to where they merge).
pub(crate) fn run_step<E: Executor>(
    exec: &E,
    step: &Step<E::Weight>,
    x: Vec<E::Value>,
) -> Result<Vec<E::Value>, E::Error> {
    Ok(match &step.op {
        Op::Linear(rows) => exec.linear(&step.label, rows, &x)?,
        Op::Poly { degree, coeffs } => exec.poly(&step.label, *degree, coeffs, &x)?,
        Op::Relu => exec.relu(&step.label, &x)?,
        Op::Reshape => x,
    })
}

/// The index of the largest value (the first, on ties).
pub(crate) fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}
