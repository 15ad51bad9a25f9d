//! One measured result, as written to `hefty bench --json`.

use serde::{Deserialize, Serialize};

/// Which family of operations a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// A single-prime negacyclic NTT (hefty-ntt).
    Ntt,
    /// A BFV homomorphic operation.
    Bfv,
    /// A CKKS homomorphic operation.
    Ckks,
}

/// One row of `hefty bench`: the median time of one operation at one
/// parameter set on one backend. Field names are a stable interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `ntt`, `bfv` or `ckks`.
    pub scheme: Schema,
    /// The operation, e.g. `ntt_forward`, `ntt_inverse`, `mul_relin`.
    pub op: String,
    /// Parameters of the case (for the NTT: `n`, `p`, `log_p`, `path`).
    pub params: serde_json::Value,
    /// `cpu`, `cuda` or `wgpu`.
    pub backend: String,
    /// Threads the operation may use.
    pub threads: usize,
    /// Median wall time of one call, in nanoseconds.
    pub median_ns: f64,
    /// Number of timed calls behind the median.
    pub samples: usize,
    /// Device backends with their own clock (wgpu: timestamp queries): the
    /// mean kernel time of one call, in nanoseconds (compute passes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_ns: Option<f64>,
    /// NTT rows only: butterflies (`n/2 · log2 n`) per nanosecond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub butterflies_per_ns: Option<f64>,
}
