//! The evaluator plumbing both schemes share: the parameters an evaluator
//! serves, the operand check, and HOP counting.

use std::sync::Arc;

use crate::Error;
use crate::rlwe::{Hop, HopCounter, RlweParameters, check_same_params};

/// What every scheme's `Evaluator` holds: its parameters and, optionally, a
/// counter every operation is recorded in.
#[derive(Debug)]
pub(crate) struct EvalContext<P: RlweParameters> {
    params: Arc<P>,
    hops: Option<Arc<HopCounter>>,
}

impl<P: RlweParameters> EvalContext<P> {
    /// An evaluator's state for `params`, counting into `hops` if given.
    pub(crate) fn new(params: &Arc<P>, hops: Option<&Arc<HopCounter>>) -> Self {
        Self {
            params: Arc::clone(params),
            hops: hops.map(Arc::clone),
        }
    }

    /// The parameters.
    pub(crate) fn params(&self) -> &Arc<P> {
        &self.params
    }

    /// Records one operation (free when no counter is attached).
    #[inline]
    pub(crate) fn count(&self, hop: Hop) {
        if let Some(c) = &self.hops {
            c.record(hop);
        }
    }

    /// Records `times` operations of one kind.
    pub(crate) fn count_n(&self, hop: Hop, times: usize) {
        for _ in 0..times {
            self.count(hop);
        }
    }

    /// Fails unless an operand belongs to these parameters.
    pub(crate) fn check(&self, operand: &Arc<P>) -> Result<(), Error> {
        check_same_params(&self.params, operand)
    }
}

// Not derived: a derive would require `P: Clone`, and parameters are shared by `Arc`.
impl<P: RlweParameters> Clone for EvalContext<P> {
    fn clone(&self) -> Self {
        Self {
            params: Arc::clone(&self.params),
            hops: self.hops.clone(),
        }
    }
}
