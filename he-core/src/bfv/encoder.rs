//! The batch encoder: `n` plaintext slots via the NTT modulo t.

use std::sync::Arc;

use hefty_ntt::NttPlan;

use crate::bfv::{Parameters, Plaintext};
use crate::{Error, rotation_galois_element};

/// Packs `n` values mod t into one plaintext, one per slot (SIMD), when `t`
/// is a prime with `t = 1 (mod 2n)`.
///
/// The slots form a `2 × n/2` matrix. Slot `(row 0, j)` is the plaintext
/// polynomial evaluated at `ψ^(5^j)`, slot `(row 1, j)` at `ψ^(-5^j)`, so the
/// Galois element `5^r` rotates both rows left by `r` and `2n - 1` swaps
/// the rows. Additions and multiplications act slot by slot.
///
/// ```
/// use hefty_core::bfv::{Encoder, Parameters};
/// let params = Parameters::preset_128(4096)?;
/// let encoder = Encoder::new(&params)?;
/// let values: Vec<u64> = (0..4096).collect();
/// let pt = encoder.encode(&values)?;
/// assert_eq!(encoder.decode(&pt)?, values);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Encoder {
    params: Arc<Parameters>,
    /// NTT index (bit-reversed evaluation order) of each slot.
    slot_index: Vec<usize>,
}

impl Encoder {
    /// The encoder of `params`; fails when `t` does not allow batching.
    pub fn new(params: &Arc<Parameters>) -> Result<Self, Error> {
        let n = params.degree();
        if params.batching_plan().is_none() {
            return Err(Error::InvalidParameters(format!(
                "batching needs a prime t = 1 mod 2n = {}; t = {} is not: choose e.g. 65537 (n <= 32768)",
                2 * n,
                params.plaintext_modulus()
            )));
        }
        let bits = n.trailing_zeros();
        let index_of = |e: usize| ((e - 1) / 2).reverse_bits() >> (usize::BITS - bits);
        let mut slot_index = vec![0; n];
        for j in 0..n / 2 {
            let e = rotation_galois_element(n, j as i64);
            slot_index[j] = index_of(e);
            slot_index[n / 2 + j] = index_of(2 * n - e);
        }
        Ok(Self {
            params: Arc::clone(params),
            slot_index,
        })
    }

    fn plan(&self) -> &NttPlan {
        self.params.batching_plan().expect("checked in new")
    }

    /// The number of slots, `n`.
    pub fn slots(&self) -> usize {
        self.slot_index.len()
    }

    /// Encodes up to `n` values in `[0, t)` (missing slots are zero).
    pub fn encode(&self, values: &[u64]) -> Result<Plaintext, Error> {
        let (n, t) = (self.slots(), self.params.plaintext_modulus());
        if values.len() > n {
            return Err(Error::WrongLength {
                expected: n,
                got: values.len(),
            });
        }
        if let Some(&bad) = values.iter().find(|&&v| v >= t) {
            return Err(Error::InvalidParameters(format!(
                "slot value {bad} is not below t = {t}"
            )));
        }
        let mut evals = vec![0u64; n];
        for (&v, &k) in values.iter().zip(&self.slot_index) {
            evals[k] = v;
        }
        self.plan().inverse(&mut evals)?;
        Ok(Plaintext::from_reduced(&self.params, evals))
    }

    /// Encodes signed values (each in `(-t/2, t/2]`, stored mod t).
    pub fn encode_i64(&self, values: &[i64]) -> Result<Plaintext, Error> {
        let t = self.params.plaintext_modulus() as i64;
        if let Some(&bad) = values.iter().find(|&&v| v <= -(t + 1) / 2 || v > t / 2) {
            return Err(Error::InvalidParameters(format!(
                "slot value {bad} is outside (-t/2, t/2] for t = {t}"
            )));
        }
        let reduced: Vec<u64> = values.iter().map(|&v| v.rem_euclid(t) as u64).collect();
        self.encode(&reduced)
    }

    /// The `n` slot values of a plaintext, in `[0, t)`; fails with
    /// [`Error::ParameterMismatch`] for a plaintext of other parameters.
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<u64>, Error> {
        crate::rlwe::check_same_params(&self.params, pt.params())?;
        let mut evals = pt.coeffs().to_vec();
        self.plan().forward(&mut evals)?;
        Ok(self.slot_index.iter().map(|&k| evals[k]).collect())
    }

    /// The slot values as signed integers in `(-t/2, t/2]`.
    pub fn decode_i64(&self, pt: &Plaintext) -> Result<Vec<i64>, Error> {
        let t = self.params.plaintext_modulus();
        Ok(self
            .decode(pt)?
            .into_iter()
            .map(|v| {
                if v > t / 2 {
                    v as i64 - t as i64
                } else {
                    v as i64
                }
            })
            .collect())
    }
}
