//! A linear layer whose inputs arrive in parts, summed as they come.
//!
//! [`Evaluator::linear_layer_to_scale`] needs every input at once. A layer
//! after an activation that is computed a chunk at a time — CryptoNets'
//! 100 × 845 map after its first square — would then hold all 845 squares
//! (0.9 GB at n = 2^14) although each is read once by a sum that only
//! grows. [`PartialLayer`] keeps the unrescaled sums instead: each part's
//! inputs are added into them in one backend pass (the previous sums enter
//! that pass as one more input with weight 1) and can be freed right after;
//! [`Evaluator::finish_layer`] rescales. The outputs are the same
//! ciphertexts, bit for bit, as the whole layer's in one call.
//!
//! The inputs may be products not yet relinearized (three polynomials;
//! every part alike): the sums are linear in each polynomial, so a layer
//! that reads many products into few outputs relinearizes only its outputs.

use crate::ckks::evaluator::{check_finite, integer_weights, same_scale};
use crate::ckks::{Ciphertext, Evaluator, RelinearizationKey};
use crate::{Error, Hop};

/// The unrescaled sums of a linear layer whose inputs arrive in parts
/// ([`Evaluator::partial_layer`]).
#[derive(Debug)]
pub struct PartialLayer {
    /// The weights by row, `(input, weight)`.
    rows: Vec<Vec<(usize, f64)>>,
    /// The number of inputs.
    inputs: usize,
    /// The outputs' scale.
    scale: f64,
    /// Rescales at the end.
    levels: usize,
    /// Fixed by the first part: its level, its scale, the weights as
    /// integers.
    start: Option<Start>,
    /// The sums so far (one per row), once a part has arrived.
    sums: Vec<Ciphertext>,
    /// Which inputs have arrived.
    arrived: Vec<bool>,
}

#[derive(Debug)]
struct Start {
    /// Polynomials per input (three for products not yet relinearized):
    /// every part's, and the sums'.
    polys: usize,
    level: usize,
    input_scale: f64,
    /// What the weights were multiplied by: the sums' scale is
    /// `input_scale · dropped`, and the rescale takes them to the layer's.
    dropped: f64,
    /// Row `r`'s terms as `(input, integer weight)`.
    weights: Vec<Vec<(usize, i64)>>,
}

impl PartialLayer {
    /// How many inputs have arrived.
    pub fn arrived(&self) -> usize {
        self.arrived.iter().filter(|&&a| a).count()
    }
}

impl Evaluator {
    /// A linear layer `y_r = Σ w_rj · x_j` over `inputs` ciphertexts that
    /// will arrive in parts ([`Self::add_to_layer`]), rescaled at the end
    /// ([`Self::finish_layer`]) to `scale`: the same outputs as
    /// [`Self::linear_layer_to_scale`] on all inputs at once, while only one
    /// part of the inputs need be alive at a time.
    ///
    /// ```
    /// use hefty_core::{Sampler, ckks::{Encoder, Evaluator, Parameters, SecretKey}};
    /// let params = Parameters::preset_128(8192)?;
    /// let mut sampler = Sampler::from_seed([7; 32]);
    /// let sk = SecretKey::generate(&params, &mut sampler);
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let scale = params.default_scale();
    /// let x: Vec<_> = [1.5, -2.0, 0.25]
    ///     .iter()
    ///     .map(|&v| sk.encrypt(&enc.encode_real(&[v], params.max_level(), scale)?, &mut sampler))
    ///     .collect::<Result<_, _>>()?;
    /// // y = 3·x0 + 0.5·x1 − x2, the inputs arriving as {2} then {0, 1}.
    /// let mut layer = ev.partial_layer(&[&[(0, 3.0), (1, 0.5), (2, -1.0)]], 3, scale)?;
    /// let [x0, x1, x2] = <[_; 3]>::try_from(x).unwrap();
    /// ev.add_to_layer(&mut layer, &[2], vec![x2])?;
    /// ev.add_to_layer(&mut layer, &[0, 1], vec![x0, x1])?;
    /// let y = ev.finish_layer(layer)?;
    /// let v = enc.decode_real(&sk.decrypt(&y[0])?)?;
    /// assert!((v[0] - 3.25).abs() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn partial_layer(
        &self,
        rows: &[&[(usize, f64)]],
        inputs: usize,
        scale: f64,
    ) -> Result<PartialLayer, Error> {
        self.partial_layer_spending(rows, inputs, scale, 1)
    }

    /// [`Self::partial_layer`] that spends `levels` levels: the weights are
    /// encoded at the scale of `levels` rescales, and
    /// [`Self::finish_layer`] rescales that many times. Two levels suit
    /// inputs at the square of the scale — products neither rescaled nor
    /// relinearized ([`Self::multiply`]), whose sums
    /// [`Self::finish_layer_relinearized`] relinearizes: a layer that reads
    /// many products into few outputs then rescales and relinearizes only
    /// its outputs, and the third polynomial is rounded at a scale where
    /// its `s²`-sized rounding error vanishes.
    pub fn partial_layer_spending(
        &self,
        rows: &[&[(usize, f64)]],
        inputs: usize,
        scale: f64,
        levels: usize,
    ) -> Result<PartialLayer, Error> {
        if levels == 0 {
            return Err(Error::InvalidParameters(
                "a layer summed in parts spends at least one level (it rescales its sums)".into(),
            ));
        }
        check_finite(rows)?;
        if let Some(&(j, _)) = rows.iter().flat_map(|r| r.iter()).find(|t| t.0 >= inputs) {
            return Err(Error::InvalidParameters(format!(
                "a row reads input {j} of a layer of {inputs} inputs"
            )));
        }
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(Error::InvalidParameters(format!(
                "output scale {scale} of a linear layer: give a finite scale of at least 1"
            )));
        }
        Ok(PartialLayer {
            rows: rows.iter().map(|r| r.to_vec()).collect(),
            inputs,
            scale,
            levels,
            start: None,
            sums: Vec::new(),
            arrived: vec![false; inputs],
        })
    }

    /// Adds inputs `indices` (`cts[k]` is input `indices[k]`) into the
    /// layer's sums in one pass, consuming them. Every part must have the
    /// first part's level and scale; an input may arrive once.
    pub fn add_to_layer(
        &self,
        layer: &mut PartialLayer,
        indices: &[usize],
        cts: Vec<Ciphertext>,
    ) -> Result<(), Error> {
        if indices.len() != cts.len() || cts.is_empty() {
            return Err(Error::InvalidParameters(format!(
                "a part of a layer's inputs: {} indices for {} ciphertexts (give one per ciphertext, at least one)",
                indices.len(),
                cts.len()
            )));
        }
        let mut local = vec![usize::MAX; layer.inputs];
        for (k, &j) in indices.iter().enumerate() {
            if j >= layer.inputs || layer.arrived[j] || local[j] != usize::MAX {
                return Err(Error::InvalidParameters(format!(
                    "input {j} of a layer of {} inputs arrived twice or does not exist",
                    layer.inputs
                )));
            }
            local[j] = k;
        }
        let (level, input_scale) = self.combination_level(cts.iter().map(|ct| (ct, 1.0)))?;
        let start = match &layer.start {
            Some(start) => {
                let polys = cts[0].polys.len();
                if start.polys != polys {
                    return Err(Error::PolynomialCountMismatch {
                        left: start.polys,
                        right: polys,
                    });
                }
                if start.level != level {
                    return Err(Error::LevelMismatch {
                        left: level,
                        right: start.level,
                    });
                }
                if !same_scale(start.input_scale, input_scale) {
                    return Err(Error::ScaleMismatch {
                        left: input_scale.log2(),
                        right: start.input_scale.log2(),
                        hint: "every part of a layer's inputs must have the first part's scale",
                    });
                }
                start
            }
            None => {
                let params = self.ctx.params();
                let ppl = params.primes_per_level();
                // Room for every rescale, and what they divide by.
                let mut divisor = 1.0;
                for k in 0..layer.levels {
                    let at = level.checked_sub(k * ppl).ok_or(Error::OutOfLevels {
                        level,
                        min: params.min_level(),
                    })?;
                    self.check_room(at)?;
                    divisor *= params.rescale_divisor(at);
                }
                let dropped = divisor * (layer.scale / input_scale);
                let refs: Vec<&[(usize, f64)]> = layer.rows.iter().map(Vec::as_slice).collect();
                &*layer.start.insert(Start {
                    polys: cts[0].polys.len(),
                    level,
                    input_scale,
                    dropped,
                    weights: integer_weights(&refs, dropped)?,
                })
            }
        };
        // This part's terms of each row, and the row's sum so far as one
        // more input with weight 1.
        let parts = cts.len();
        let rows: Vec<Vec<(usize, i64)>> = start
            .weights
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let mut terms: Vec<(usize, i64)> = row
                    .iter()
                    .filter(|&&(j, _)| local[j] != usize::MAX)
                    .map(|&(j, w)| (local[j], w))
                    .collect();
                if !layer.sums.is_empty() {
                    terms.push((parts + r, 1));
                }
                terms
            })
            .collect();
        let refs: Vec<&[(usize, i64)]> = rows.iter().map(Vec::as_slice).collect();
        let inputs: Vec<&Ciphertext> = cts.iter().chain(&layer.sums).collect();
        layer.sums = self.layer_at(&inputs, level, &refs, input_scale * start.dropped)?;
        for &j in indices {
            layer.arrived[j] = true;
        }
        Ok(())
    }

    /// The layer's outputs, rescaled (as many times as the layer spends
    /// levels): once every input has arrived. Sums of three-polynomial
    /// inputs stay three polynomials ([`Self::finish_layer_relinearized`]
    /// relinearizes them).
    pub fn finish_layer(&self, layer: PartialLayer) -> Result<Vec<Ciphertext>, Error> {
        let levels = layer.levels;
        self.finish_with(layer, |ct| {
            (0..levels).try_fold(ct, |ct, _| self.rescale_owned(ct))
        })
    }

    /// [`Self::finish_layer`] with three-polynomial sums relinearized: the
    /// last rescale and the relinearization are one division
    /// ([`Self::relinearize_rescale`]), so a layer of products relinearizes
    /// each output once, on its last level but one.
    pub fn finish_layer_relinearized(
        &self,
        layer: PartialLayer,
        rk: &RelinearizationKey,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.ctx.check(&rk.params)?;
        let levels = layer.levels;
        self.finish_with(layer, |ct| {
            let ct = (1..levels).try_fold(ct, |ct, _| self.rescale_owned(ct))?;
            self.relinearize_rescale(ct, rk)
        })
    }

    /// The checks before finishing, `finish` on every sum, and the layer's
    /// operation counts.
    fn finish_with(
        &self,
        layer: PartialLayer,
        finish: impl Fn(Ciphertext) -> Result<Ciphertext, Error> + Sync,
    ) -> Result<Vec<Ciphertext>, Error> {
        if let Some(j) = layer.arrived.iter().position(|&a| !a) {
            return Err(Error::InvalidParameters(format!(
                "input {j} of the layer's {} never arrived: add every input before finishing",
                layer.inputs
            )));
        }
        if layer.start.is_none() {
            return Err(Error::InvalidParameters(
                "a layer without inputs: add its inputs before finishing".into(),
            ));
        }
        let out = crate::backend::independent::map_owned(self.backend(), layer.sums, finish)
            .into_iter()
            .collect::<Result<Vec<_>, Error>>()?;
        for row in &layer.rows {
            self.ctx.count_n(Hop::PtCtMulScalar, row.len());
            self.ctx.count_n(Hop::CtCtAdd, row.len().saturating_sub(1));
        }
        Ok(out)
    }
}
