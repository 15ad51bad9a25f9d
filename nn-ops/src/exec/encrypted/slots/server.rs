//! The slot-packing server: evaluation keys, the program's plaintexts, the
//! stages run on one image's ciphertexts.

use std::sync::Arc;

use hefty_core::ckks::{
    Ciphertext, Complex64, Encoder, Evaluator, GaloisKeys, LinearTransform, Parameters, Plaintext,
    RelinearizationKey,
};
use hefty_core::{HopCounter, SecurityLevel};

use super::super::wire::{pack, unpack};
use super::SlotProgram;
use super::program::{Stage, diagonal_of, fold_steps};
use crate::Error;

/// A stage with its plaintexts encoded at the level it runs at.
enum Prepared {
    Taps {
        weights: Vec<Plaintext>,
        bias: Plaintext,
        folds: Vec<i64>,
    },
    Matrix {
        transform: LinearTransform,
        bias: Plaintext,
        folds: Vec<i64>,
    },
    Square {
        signs: Option<Plaintext>,
        constants: Option<Plaintext>,
    },
    /// `(a·x + b)·x + c`.
    Quadratic {
        a: Plaintext,
        b: Plaintext,
        c: Plaintext,
    },
}

/// The server: parameters, relinearization and Galois keys, the program's
/// plaintexts — no secret key.
pub struct SlotServer {
    params: Arc<Parameters>,
    rk: RelinearizationKey,
    gk: GaloisKeys,
    evaluator: Evaluator,
    program: SlotProgram,
    prepared: Vec<Prepared>,
    counter: Arc<HopCounter>,
}

/// A stage's input: the previous stage's output, else (first stage) the
/// client's one replicated ciphertext.
fn stage_input(
    x: &mut Option<Ciphertext>,
    inputs: &mut Option<Vec<Ciphertext>>,
) -> Result<Ciphertext, Error> {
    x.take()
        .or_else(|| inputs.take().and_then(|v| v.into_iter().next()))
        .ok_or_else(|| Error::Model("a stage has no input ciphertext".into()))
}

/// `v` (one image's slots) spread over `lanes` interleaved images: slot `t`
/// takes `v[t / lanes]`.
fn spread<T: Copy>(v: &[T], lanes: usize) -> Vec<T> {
    v.iter()
        .flat_map(|&x| std::iter::repeat_n(x, lanes))
        .collect()
}

/// `values` (one period) repeated over every slot.
fn periodic(values: &[f64], period: usize, slots: usize) -> Vec<f64> {
    (0..slots)
        .map(|t| values.get(t % period).copied().unwrap_or(0.0))
        .collect()
}

impl SlotServer {
    /// A server from the client's [`super::SlotClient::evaluation_keys`] bytes and
    /// the program; fails unless the parameters are 128-bit secure and hold
    /// the program's levels and slots, or a rotation key is missing.
    /// Evaluates on the CPU.
    pub fn new(keys: &[u8], program: SlotProgram) -> Result<Self, Error> {
        Self::on(keys, program, hefty_core::Cpu::shared())
    }

    /// [`Self::new`] evaluating on `backend`.
    pub fn on(
        keys: &[u8],
        program: SlotProgram,
        backend: std::sync::Arc<dyn hefty_core::Backend>,
    ) -> Result<Self, Error> {
        let [params, rk, gk] = unpack(keys)?[..] else {
            return Err(Error::Setting(
                "evaluation keys: expected the parameters, a relinearization key and Galois keys"
                    .into(),
            ));
        };
        let params = Parameters::from_bytes_on(params, backend)?;
        if params.security() != Some(SecurityLevel::Bits128) {
            return Err(Error::Setting(
                "the client's parameters are not 128-bit secure".into(),
            ));
        }
        if params.depth() < program.levels() {
            return Err(Error::Setting(format!(
                "the parameters hold {} levels but the network spends {}: build them with depth ≥ {}",
                params.depth(),
                program.levels(),
                program.levels()
            )));
        }
        let slots = params.slots();
        if program.slots_needed() > slots {
            return Err(Error::Setting(format!(
                "the network needs {} slots but the parameters have {slots}: use a larger ring degree",
                program.slots_needed()
            )));
        }
        let rk = RelinearizationKey::from_bytes(&params, rk)?;
        let gk = GaloisKeys::from_bytes(&params, gk)?;
        let counter = Arc::new(HopCounter::default());
        let prepared = Self::prepare(&params, &program)?;
        Ok(Self {
            evaluator: Evaluator::with_hop_counter(&params, &counter),
            params,
            rk,
            gk,
            program,
            prepared,
            counter,
        })
    }

    /// Encodes every stage's plaintexts at the level the stage runs at.
    fn prepare(params: &Arc<Parameters>, program: &SlotProgram) -> Result<Vec<Prepared>, Error> {
        let encoder = Encoder::new(params);
        // Vectors are built for one image's slots, then spread over the
        // images sharing the ciphertext (slot t is image t mod lanes).
        let lanes = program.lanes();
        let slots = params.slots() / lanes;
        let scaled =
            |steps: Vec<i64>| -> Vec<i64> { steps.into_iter().map(|r| r * lanes as i64).collect() };
        // One period of per-element values, over every slot of every image.
        let lay = |values: &[f64], period: usize| spread(&periodic(values, period, slots), lanes);
        let ppl = params.primes_per_level();
        let mut level = params.max_level();
        let mut scale = params.default_scale();
        let mut out = Vec::with_capacity(program.stages.len());
        for stage in &program.stages {
            let divisor = params.rescale_divisor(level);
            out.push(match stage {
                Stage::Taps(t) => {
                    let copies = slots / t.period;
                    let groups = t.weights.len().div_ceil(copies);
                    let weights = (0..groups)
                        .map(|g| {
                            let v: Vec<f64> = (0..slots)
                                .map(|s| {
                                    let (c, o) = (s / t.period, s % t.period);
                                    t.weights
                                        .get(g * copies + c)
                                        .and_then(|w| w.get(o).copied())
                                        .unwrap_or(0.0)
                                })
                                .collect();
                            encoder.encode_real(&spread(&v, lanes), level, divisor)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    level -= ppl;
                    let bias = encoder.encode_real(&lay(&t.bias, t.period), level, scale)?;
                    Prepared::Taps {
                        weights,
                        bias,
                        folds: scaled(fold_steps(t.period, slots)),
                    }
                }
                Stage::Matrix(m) => {
                    let period = m.period();
                    let d = m.out_period;
                    let mut diags: std::collections::BTreeMap<usize, Vec<Complex64>> = m
                        .diagonals
                        .iter()
                        .map(|&k| (k, vec![Complex64::new(0.0, 0.0); slots]))
                        .collect();
                    for (r, row) in m.rows.iter().enumerate() {
                        for &(c, w) in &row.terms {
                            let (k, t0) = diagonal_of(r, c as usize, d, period);
                            let diag = diags.get_mut(&k).expect("diagonal recorded");
                            for t in (t0..slots).step_by(period) {
                                diag[t] = Complex64::new(w, 0.0);
                            }
                        }
                    }
                    let diags = diags
                        .into_iter()
                        .map(|(k, d)| (k, spread(&d, lanes)))
                        .collect();
                    let transform =
                        LinearTransform::from_strided_diagonals(&encoder, &diags, lanes, level)?;
                    level -= ppl;
                    let bias: Vec<f64> = m.rows.iter().map(|r| r.bias).collect();
                    let bias = encoder.encode_real(&lay(&bias, d), level, scale)?;
                    Prepared::Matrix {
                        transform,
                        bias,
                        folds: scaled(fold_steps(d, period)),
                    }
                }
                Stage::Square(s) if !s.is_square() => {
                    let a = encoder.encode_real(&lay(&s.a, s.period), level, divisor)?;
                    level -= ppl;
                    let b = encoder.encode_real(&lay(&s.b, s.period), level, scale)?;
                    // (a·x + b)·x at the lower of the two levels.
                    scale = scale * scale / params.rescale_divisor(level);
                    level -= ppl;
                    let c = encoder.encode_real(&lay(&s.c, s.period), level, scale)?;
                    Prepared::Quadratic { a, b, c }
                }
                Stage::Square(s) => {
                    // The square's scale: Δ² / divisor.
                    scale = scale * scale / divisor;
                    level -= ppl;
                    let signs = if s.a.iter().any(|&v| v < 0.0) {
                        let pt = encoder.encode_real(
                            &lay(&s.a, s.period),
                            level,
                            params.rescale_divisor(level),
                        )?;
                        level -= ppl;
                        Some(pt)
                    } else {
                        None
                    };
                    let constants = if s.c.iter().any(|&v| v != 0.0) {
                        Some(encoder.encode_real(&lay(&s.c, s.period), level, scale)?)
                    } else {
                        None
                    };
                    Prepared::Square { signs, constants }
                }
            });
        }
        Ok(out)
    }

    /// The operations counted so far.
    pub fn counter(&self) -> &HopCounter {
        &self.counter
    }

    /// The program it runs.
    pub fn program(&self) -> &SlotProgram {
        &self.program
    }

    /// Sums the `period`-blocks of `ct` by rotations (`folds`).
    fn fold(&self, mut ct: Ciphertext, folds: &[i64]) -> Result<Ciphertext, Error> {
        for &step in folds {
            let r = self.evaluator.rotate(&ct, step, &self.gk)?;
            ct = self.evaluator.add(&ct, &r)?;
        }
        Ok(ct)
    }

    /// Adds a prepared plaintext (encoded at the scale the plan predicts;
    /// rescales leave the ciphertext's within rounding of it).
    fn add_aligned(&self, ct: Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        Ok(self.evaluator.add_plain(&ct, pt)?)
    }

    /// One image's ciphertexts in, its encrypted logits out; `observe`
    /// hears each stage's index and time.
    pub fn infer(
        &self,
        inputs: &[u8],
        observe: &mut dyn FnMut(usize, std::time::Duration),
    ) -> Result<Vec<u8>, Error> {
        let cts = unpack(inputs)?
            .into_iter()
            .map(|b| Ciphertext::from_bytes(&self.params, b))
            .collect::<Result<Vec<_>, _>>()?;
        if cts.len() != self.program.layout.ciphertexts() {
            return Err(Error::Setting(format!(
                "{} input ciphertexts, the layout has {}",
                cts.len(),
                self.program.layout.ciphertexts()
            )));
        }
        let ev = &self.evaluator;
        let mut x: Option<Ciphertext> = None;
        let mut inputs = Some(cts);
        for (i, stage) in self.prepared.iter().enumerate() {
            let t = std::time::Instant::now();
            x = Some(match stage {
                Prepared::Taps {
                    weights,
                    bias,
                    folds,
                } => {
                    let cts = inputs.take().expect("the tap stage comes first");
                    let mut acc: Option<Ciphertext> = None;
                    for (ct, w) in cts.iter().zip(weights) {
                        let p = ev.mul_plain(ct, w)?;
                        acc = Some(match acc {
                            None => p,
                            Some(a) => ev.add(&a, &p)?,
                        });
                    }
                    let acc = ev.rescale_owned(acc.expect("at least one tap"))?;
                    let acc = self.fold(acc, folds)?;
                    self.add_aligned(acc, bias)?
                }
                Prepared::Matrix {
                    transform,
                    bias,
                    folds,
                } => {
                    let input = stage_input(&mut x, &mut inputs)?;
                    let y = transform.apply(ev, &input, &self.gk)?;
                    let y = self.fold(y, folds)?;
                    self.add_aligned(y, bias)?
                }
                Prepared::Quadratic { a, b, c } => {
                    let input = stage_input(&mut x, &mut inputs)?;
                    let t = ev.rescale_owned(ev.mul_plain(&input, a)?)?;
                    let t = self.add_aligned(t, b)?;
                    let y = ev.multiply_relin_rescale(&t, &input, &self.rk)?;
                    self.add_aligned(y, c)?
                }
                Prepared::Square { signs, constants } => {
                    let input = stage_input(&mut x, &mut inputs)?;
                    let mut y = ev.multiply_relin_rescale(&input, &input, &self.rk)?;
                    if let Some(s) = signs {
                        y = ev.rescale_owned(ev.mul_plain(&y, s)?)?;
                    }
                    match constants {
                        Some(c) => self.add_aligned(y, c)?,
                        None => y,
                    }
                }
            });
            // A device backend runs asynchronously: wait, so the stage's
            // time is its own.
            self.params.ciphertext_basis().backend().synchronize()?;
            observe(i, t.elapsed());
        }
        let out = x.ok_or_else(|| Error::Model("the network has no layer".into()))?;
        Ok(pack(&[out.to_bytes()?]))
    }
}
