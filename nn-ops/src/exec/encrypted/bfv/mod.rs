//! BFV, exact: the fixed-point path's integers computed on ciphertexts,
//! modulo `k` plaintext moduli recombined by CRT, so the decrypted logits
//! equal the fixed-point executor's bit for bit.
//!
//! Two encodings of a value share the executor: [`Encoding::Slots`] (batch
//! packing: slot `i` holds image `i`, weights are scalars) and
//! [`Encoding::Base2`] (Faster CryptoNets: one image, each value a base-2
//! digit polynomial, weights as monomials — a power of two is one — or
//! sparse sums of them; no NTT in any linear layer).

mod relin;

use std::borrow::Cow;
use std::sync::Arc;

use ethnum::I256;
use hefty_core::bfv::presets::SMOOTH_8192;
use hefty_core::bfv::{
    Ciphertext, CrtBfv, Encoder, Evaluator, Monomials, Parameters, Plaintext, Preset,
    RelinearizationKey, SecretKey, moduli_dividing_q_minus_one,
};
use hefty_core::rlwe::KeySwitcher;
use hefty_core::{HopCounter, Sampler, SecurityLevel};
use num_bigint::{BigInt, BigUint};
use rayon::prelude::*;

use super::base2;
use super::report::{Recorder, compare};
use super::wire::{pack, unpack};
use super::{InferReport, Progress, Seconds};
use crate::Error;
use crate::exec::{Event, Executor, FixedPoint, Plan, Row, check_encryptable, stream};
use crate::model::Model;

/// How a value sits in a BFV plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One value per slot (batching): image `i` in slot `i`.
    Slots,
    /// One value per plaintext, as the signed base-2 digits of the integer
    /// (coefficient `k` holds the digit of `2^k`).
    Base2,
}

/// The ring degree, the most bits a plaintext modulus may have, and the
/// ciphertext primes of an encoding, measured on the CryptoNets network
/// (smallest noise budget left in a logit):
/// - base-2 encodings: n = 8192 (log Q = 174, QP 218) with 30-bit moduli leaves
///   20.3 bits, 32-bit 12.5, 36-bit fails; n = 16384 with 40-bit moduli
///   took 101 s per image against 33 s for n = 8192 (single runs, not
///   alternated, 2026-11-30);
/// - slots: scalar weights multiply the noise (a power-of-two shift is a
///   monomial only in base 2), so n = 8192 with 30-bit moduli fails and
///   batching needs n = 16384 with 40-bit moduli.
///
/// The client refuses outputs whose noise budget falls below one bit, so a
/// model noisier than these never decrypts to wrong integers.
fn ring_for(encoding: Encoding) -> (usize, u32, &'static [u32]) {
    match encoding {
        Encoding::Slots => (16384, 40, &[48, 48, 48, 49, 49, 49]),
        Encoding::Base2 => (8192, 32, &[43, 43, 44, 44]),
    }
}

/// The ciphertext primes of an encoding, when they are fixed values rather
/// than sizes: base 2 takes [`SMOOTH_8192`] (the preset's sizes, with
/// `Q − 1` rich in small odd factors) so that its plaintext moduli can
/// divide `Q − 1` and the first activation's squares skip the auxiliary
/// basis ([`Parameters::multiplies_in_q`]).
fn fixed_primes(encoding: Encoding) -> Option<&'static [u64]> {
    match encoding {
        Encoding::Slots => None,
        Encoding::Base2 => Some(SMOOTH_8192),
    }
}

/// The parameter sets, one per plaintext modulus, for decrypted integers
/// of up to `bound_bits` bits — the logits themselves in slots, the
/// coefficients of their digit polynomials in base 2 ([`ring_for`]:
/// 128-bit presets).
///
/// As few moduli as the bound needs (`k = ⌈(bound + 2) / max⌉`). Where the
/// ciphertext primes are fixed ([`fixed_primes`]), `k` pairwise coprime
/// divisors of `Q − 1` whose largest is as small as it can be, if `Q − 1`
/// has them: products at the top level then run modulo `Q` alone, about
/// four times cheaper. Otherwise `k` primes of `⌈(bound + 2) / k⌉` bits,
/// one more bit while their product (primes sit just below the power of
/// two) still misses `2^(bound + 1)` — a smaller `t` leaves more noise
/// budget either way.
/// Key-switching digits no larger than the special primes when `fine_digits` (a
/// plan that defers relinearizations: `relin`), else the fewest the
/// noise allows.
pub(crate) fn parameters(
    encoding: Encoding,
    bound_bits: u32,
    fine_digits: bool,
) -> Result<CrtBfv, Error> {
    let (degree, max_bits, primes) = ring_for(encoding);
    let base = *Preset::for_degree(degree)?;
    let limit = BigUint::from(1u8) << (bound_bits + 1);
    let need = bound_bits + 2;
    let count = need.div_ceil(max_bits) as usize;
    if count > hefty_core::bfv::MAX_PARTS {
        return Err(Error::Setting(format!(
            "decrypted integers of {bound_bits} bits need {count} plaintext moduli of {max_bits} bits (at most {}): use fewer --precision-bits",
            hefty_core::bfv::MAX_PARTS
        )));
    }
    let dividing = fixed_primes(encoding)
        .and_then(|q| moduli_dividing_q_minus_one(q, count, bound_bits + 1, max_bits));
    let moduli = match dividing {
        Some(moduli) => moduli,
        None => {
            // Slots need primes ≡ 1 (mod 2n); below 20 bits the noise budget is
            // never the limit, so no smaller modulus is worth having.
            let mut bits = need.div_ceil(count as u32).max(20);
            loop {
                let moduli = hefty_core::ntt::ntt_primes(bits, base.degree, count)
                    .map_err(|e| Error::Setting(format!("plaintext moduli: {e}")))?;
                let product: BigUint = moduli.iter().map(|&t| BigUint::from(t)).product();
                if product > limit {
                    break moduli;
                }
                if bits >= max_bits {
                    // k primes just below 2^max hold 2^(bound + 2)·(1 − ε): unreachable.
                    return Err(Error::Setting(format!(
                        "{count} plaintext moduli of {bits} bits do not hold {bound_bits}-bit integers"
                    )));
                }
                bits += 1;
            }
        }
    };
    let t_bits = moduli
        .iter()
        .map(|&t| 64 - t.leading_zeros())
        .max()
        .unwrap_or(1);
    let digits =
        relinearization_digits(primes, base.special_bits, t_bits, base.degree, fine_digits);
    let builder = base.builder().key_switching_digits(digits);
    let builder = match fixed_primes(encoding) {
        Some(q) => builder.ciphertext_moduli(q),
        None => builder.ciphertext_moduli_bits(primes),
    };
    Ok(CrtBfv::new(builder, &moduli)?)
}

/// The fewest key-switching digits whose noise hides under the product's.
///
/// Hybrid key switching adds noise of about `D/P` times a fresh
/// encryption's, `D` the largest digit and `P` the special primes; a
/// multiplication's own noise grows by about `t·n`. These packings switch
/// keys only to relinearize a fresh product (no rotations), so digits with
/// `D/P ≤ t·n` cost next to nothing in noise while every digit fewer
/// saves a base extension and its NTTs. Measured on the CryptoNets network:
/// base 2 (n = 8192, 32-bit t, four primes of 43–44 bits over a 44-bit P)
/// keeps its 12.8 bits with 2 digits instead of 4 and fails with 1; slots
/// (n = 16384, 40-bit t, six primes over a 49-bit P) go from 53.0 to 52.7
/// bits with 3 digits, to 42.8 with 2.
///
/// `fine`: digits no larger than `P` instead (one prime each at these
/// sizes), for a plan that relinearizes after switching down (`relin`),
/// where no product's growth hides the switch's noise ([`fine_digits`]).
fn relinearization_digits(
    primes: &[u32],
    special: &[u32],
    t_bits: u32,
    n: usize,
    fine: bool,
) -> usize {
    let bits: Vec<f64> = primes.iter().map(|&b| f64::from(b)).collect();
    let p_bits: u32 = special.iter().sum();
    let hidden = if fine { 0 } else { t_bits + n.ilog2() };
    KeySwitcher::fewest_digits(&bits, f64::from(p_bits + hidden))
}

/// Whether every key-switching digit of `params` is at most twice its
/// special primes' product (one prime each when they are of a size), so
/// a relinearization adds little more than its rounding.
fn fine_digits(params: &Parameters) -> Result<bool, Error> {
    let switcher = params.key_switcher()?;
    let p_bits: f64 = params
        .special_primes()
        .iter()
        .map(|&p| (p as f64).log2())
        .sum();
    let moduli = params.ciphertext_basis().moduli();
    let mut start = 0;
    Ok(switcher.digit_sizes().iter().all(|&size| {
        let bits: f64 = moduli[start..start + size]
            .iter()
            .map(|m| (m.value() as f64).log2())
            .sum();
        start += size;
        bits <= p_bits + 1.0
    }))
}

/// How many of the last ciphertext primes a relinearized product at
/// `level` can drop for free.
///
/// Modulus switching keeps the plaintext and scales the noise down with the
/// modulus, adding a rounding term; right after a product, whose noise grew
/// by about `t·n`, that term stays below the product's noise while the
/// dropped primes hold at most `t·n` — so the budget is kept and every later
/// layer runs on fewer limbs (and the logits travel smaller). Measured on
/// the CryptoNets network: base 2 (one 44-bit prime against t·n = 2^45)
/// 12.8 → 12.6 bits, later layers 1.5–3.6× faster (one pair of runs).
fn primes_to_drop(params: &Parameters, level: usize) -> usize {
    let moduli = &params.ciphertext_basis().moduli()[..level];
    let room = (params.plaintext_modulus() as f64).log2() + (params.degree() as f64).log2();
    let mut dropped = 0.0;
    let mut count = 0;
    for m in moduli.iter().rev().take(level.saturating_sub(1)) {
        dropped += (m.value() as f64).log2();
        if dropped > room {
            break;
        }
        count += 1;
    }
    count
}

/// `w` modulo `t`, centred in `(-t/2, t/2]`.
fn centred(w: I256, t: u64) -> i64 {
    let r = w.rem_euclid(I256::from(t)).as_u64();
    if r > t / 2 {
        r as i64 - t as i64
    } else {
        r as i64
    }
}

fn to_i256(v: &BigInt) -> Result<I256, Error> {
    let bytes = v.to_signed_bytes_le();
    if bytes.len() > 32 {
        return Err(Error::Setting(format!(
            "a decrypted logit of {} bits does not fit 256",
            v.bits()
        )));
    }
    let fill = if v.sign() == num_bigint::Sign::Minus {
        0xff
    } else {
        0
    };
    let mut le = [fill; 32];
    le[..bytes.len()].copy_from_slice(&bytes);
    Ok(I256::from_le_bytes(le))
}

/// The client: one secret key per plaintext modulus; encrypts, decrypts,
/// recombines.
pub struct BfvClient {
    crt: CrtBfv,
    sks: Vec<SecretKey>,
    encoders: Vec<Encoder>,
    encoding: Encoding,
    sampler: Sampler,
}

impl BfvClient {
    /// Fresh secret keys (from the OS's CSPRNG) for every part of `crt`.
    pub fn new(crt: CrtBfv, encoding: Encoding) -> Result<Self, Error> {
        let mut sampler = Sampler::from_os();
        let sks = crt.secret_key(&mut sampler);
        let encoders = match encoding {
            Encoding::Slots => crt
                .parts()
                .iter()
                .map(Encoder::new)
                .collect::<Result<_, _>>()?,
            Encoding::Base2 => Vec::new(),
        };
        Ok(Self {
            crt,
            sks,
            encoders,
            encoding,
            sampler,
        })
    }

    /// The plaintext moduli.
    pub fn parts(&self) -> &[Arc<Parameters>] {
        self.crt.parts()
    }

    /// Images per batch: every slot (batch packing) or one (integer).
    pub fn batch(&self) -> usize {
        match self.encoding {
            Encoding::Slots => self.parts()[0].degree(),
            Encoding::Base2 => 1,
        }
    }

    /// Parameters and a relinearization key per plaintext modulus.
    pub fn evaluation_keys(&mut self) -> Result<Vec<u8>, Error> {
        let mut items = Vec::new();
        for (p, sk) in self.crt.parts().iter().zip(&self.sks) {
            items.push(p.to_bytes());
            items.push(RelinearizationKey::new(sk, &mut self.sampler)?.to_bytes()?);
        }
        Ok(pack(&items))
    }

    /// The inputs of part `part`: one ciphertext per pixel (as an integer).
    pub fn encrypt(&mut self, part: usize, images: &[&[u8]]) -> Result<Vec<u8>, Error> {
        if images.is_empty() || images.len() > self.batch() {
            return Err(Error::Setting(format!(
                "{} images in one batch: give 1 to {}",
                images.len(),
                self.batch()
            )));
        }
        let params = &self.crt.parts()[part];
        let seeds: Vec<[u8; 32]> = (0..images[0].len()).map(|_| self.sampler.seed()).collect();
        let cts = seeds
            .into_par_iter()
            .enumerate()
            .map(|(e, seed)| {
                let pt = match self.encoding {
                    Encoding::Slots => {
                        let v: Vec<u64> = images.iter().map(|im| u64::from(im[e])).collect();
                        self.encoders[part].encode(&v)?
                    }
                    Encoding::Base2 => base2::pixel_plaintext(params, images[0][e])?,
                };
                Ok(self.sks[part]
                    .encrypt(&pt, &mut Sampler::from_seed(seed))?
                    .to_bytes()?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(pack(&cts))
    }

    /// The decrypted outputs of part `part`, and the smallest noise budget
    /// (bits) left in them: decryption is exact while it is positive.
    pub fn decrypt(&self, part: usize, bytes: &[u8]) -> Result<(Vec<Plaintext>, f64), Error> {
        let params = &self.crt.parts()[part];
        let out = unpack(bytes)?
            .into_par_iter()
            .map(|b| {
                let ct = Ciphertext::from_bytes(params, b)?;
                let budget = self.sks[part].noise_budget(&ct)?;
                Ok((self.sks[part].decrypt(&ct)?, budget))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let budget = out.iter().map(|o| o.1).fold(f64::INFINITY, f64::min);
        // Below one bit the rounding of decryption is already in doubt.
        if budget < 1.0 {
            return Err(Error::Setting(format!(
                "the encrypted logits ran out of noise budget ({budget:.1} bits): decryption would be wrong; use fewer --precision-bits or a model with smaller weights"
            )));
        }
        Ok((out.into_iter().map(|o| o.0).collect(), budget))
    }

    /// The integer logits of `images` images from every part's outputs
    /// (`outputs[part][k]`: logit `k`): `result[i][k]`.
    pub fn recombine(
        &self,
        outputs: &[Vec<Plaintext>],
        images: usize,
    ) -> Result<Vec<Vec<I256>>, Error> {
        let logits = outputs.first().map_or(0, Vec::len);
        match self.encoding {
            Encoding::Base2 => {
                let row = (0..logits)
                    .map(|k| {
                        let pts: Vec<Plaintext> = outputs.iter().map(|o| o[k].clone()).collect();
                        let coeffs = self.crt.recombine(&pts)?;
                        // The integer is the digit polynomial at x = 2.
                        let v = coeffs
                            .iter()
                            .rev()
                            .fold(BigInt::from(0), |acc, c| (acc << 1u32) + c);
                        to_i256(&v)
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                Ok(vec![row])
            }
            Encoding::Slots => {
                let slots: Vec<Vec<Vec<u64>>> = outputs
                    .iter()
                    .enumerate()
                    .map(|(p, o)| {
                        o.iter()
                            .map(|pt| Ok(self.encoders[p].decode(pt)?))
                            .collect::<Result<Vec<_>, Error>>()
                    })
                    .collect::<Result<_, _>>()?;
                let crt = Crt::new(self.crt.parts());
                (0..images)
                    .map(|i| {
                        (0..logits)
                            .map(|k| crt.combine(slots.iter().map(|s| s[k][i])))
                            .collect()
                    })
                    .collect()
            }
        }
    }
}

/// Slot-wise CRT recombination modulo `T = ∏ t_i`, centred.
struct Crt {
    product: BigUint,
    weights: Vec<BigUint>,
}

impl Crt {
    fn new(parts: &[Arc<Parameters>]) -> Self {
        let moduli: Vec<BigUint> = parts
            .iter()
            .map(|p| BigUint::from(p.plaintext_modulus()))
            .collect();
        let product: BigUint = moduli.iter().product();
        let weights = moduli
            .iter()
            .map(|t| {
                let rest = &product / t;
                // t is prime: the inverse is rest^(t-2) mod t.
                let inv = (&rest % t).modpow(&(t - 2u32), t);
                rest * inv
            })
            .collect();
        Self { product, weights }
    }

    fn combine(&self, residues: impl Iterator<Item = u64>) -> Result<I256, Error> {
        let x = residues
            .zip(&self.weights)
            .map(|(r, w)| w * r)
            .sum::<BigUint>()
            % &self.product;
        let v = if x > (&self.product >> 1u32) {
            BigInt::from(x) - BigInt::from(self.product.clone())
        } else {
            BigInt::from(x)
        };
        to_i256(&v)
    }
}

/// One plaintext modulus on the server.
struct Part {
    params: Arc<Parameters>,
    rk: RelinearizationKey,
    evaluator: Evaluator,
}

/// The server: per plaintext modulus its parameters and relinearization
/// key, and the quantized plan — no secret key.
pub struct BfvServer {
    parts: Vec<Part>,
    plan: Plan<I256>,
    encoding: Encoding,
    counter: Arc<HopCounter>,
    /// The labels of the steps whose outputs are relinearized
    /// ([`relin::relinearize_after`]).
    relinearized: Vec<String>,
}

impl BfvServer {
    /// A server from [`BfvClient::evaluation_keys`] bytes and the model's
    /// fixed-point plan; fails unless every parameter set is 128-bit secure.
    /// Evaluates on the CPU.
    pub fn new(keys: &[u8], plan: Plan<I256>, encoding: Encoding) -> Result<Self, Error> {
        Self::on(keys, plan, encoding, hefty_core::Cpu::shared())
    }

    /// [`Self::new`] evaluating on `backend`.
    pub fn on(
        keys: &[u8],
        plan: Plan<I256>,
        encoding: Encoding,
        backend: Arc<dyn hefty_core::Backend>,
    ) -> Result<Self, Error> {
        check_encryptable(&plan)?;
        let items = unpack(keys)?;
        if items.is_empty() || items.len() % 2 != 0 {
            return Err(Error::Setting(
                "evaluation keys: expected parameters and a relinearization key per plaintext modulus"
                    .into(),
            ));
        }
        let counter = Arc::new(HopCounter::default());
        let parts = items
            .chunks(2)
            .map(|pair| {
                let params = Parameters::from_bytes_on(pair[0], Arc::clone(&backend))?;
                if params.security() != Some(SecurityLevel::Bits128) {
                    return Err(Error::Setting(
                        "the client's parameters are not 128-bit secure".into(),
                    ));
                }
                Ok(Part {
                    rk: RelinearizationKey::from_bytes(&params, pair[1])?,
                    evaluator: Evaluator::with_hop_counter(&params, &counter),
                    params,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // Deferred relinearizations only where every part's digits keep
        // their noise at the rounding's (the client chose the digits).
        let fine = parts
            .iter()
            .all(|p| fine_digits(&p.params).unwrap_or(false));
        let relinearized = relin::relinearize_after(&plan.steps, encoding, fine)
            .into_iter()
            .zip(&plan.steps)
            .filter(|&(after, _)| after)
            .map(|(_, step)| step.label.clone())
            .collect();
        Ok(Self {
            parts,
            plan,
            encoding,
            counter,
            relinearized,
        })
    }

    /// The operations counted so far (all parts).
    pub fn counter(&self) -> &HopCounter {
        &self.counter
    }

    /// The plan it runs.
    pub fn plan(&self) -> &Plan<I256> {
        &self.plan
    }

    /// Part `part`'s encrypted inputs in, its encrypted logits out.
    pub fn infer(
        &self,
        part: usize,
        inputs: &[u8],
        observe: &mut dyn FnMut(Event),
    ) -> Result<Vec<u8>, Error> {
        let p = self.parts.get(part).ok_or_else(|| {
            Error::Setting(format!(
                "part {part} of {} plaintext moduli",
                self.parts.len()
            ))
        })?;
        let items = unpack(inputs)?;
        let elements = self.plan.input.len();
        if items.len() != elements {
            return Err(Error::Model(format!(
                "the request holds {} input ciphertexts; the network takes {elements}",
                items.len()
            )));
        }
        // Each input read when the first step first needs it (streamed:
        // exec::stream).
        let read = |i: usize| Ok(Ciphertext::from_bytes(&p.params, items[i])?);
        let exec = BfvExec {
            ev: &p.evaluator,
            rk: &p.rk,
            params: &p.params,
            encoding: self.encoding,
            relinearized: &self.relinearized,
        };
        let out = stream::walk_from(
            &self.plan.steps,
            0,
            &exec,
            stream::Inputs::lazy(elements, &read),
            observe,
        )?;
        // The logits travel as two polynomials whatever the plan chose.
        Ok(pack(
            &out.par_iter()
                .map(|ct| Ok(exec.relinearized(ct)?.to_bytes()?))
                .collect::<Result<Vec<_>, Error>>()?,
        ))
    }
}

/// The arithmetic of one plaintext modulus.
struct BfvExec<'a> {
    ev: &'a Evaluator,
    rk: &'a RelinearizationKey,
    params: &'a Arc<Parameters>,
    encoding: Encoding,
    /// The steps whose outputs it relinearizes.
    relinearized: &'a [String],
}

impl BfvExec<'_> {
    /// `ct` with two polynomials (a product relinearized, others as they are).
    fn relinearized<'c>(&self, ct: &'c Ciphertext) -> Result<Cow<'c, Ciphertext>, Error> {
        Ok(if ct.len() > 2 {
            Cow::Owned(self.ev.relinearize(ct, self.rk)?)
        } else {
            Cow::Borrowed(ct)
        })
    }

    /// Whether the plan relinearizes the outputs of step `label`.
    fn relinearizes(&self, label: &str) -> bool {
        self.relinearized.iter().any(|l| l == label)
    }

    /// A step's output, relinearized if `relinearize` (the step's
    /// [`Self::relinearizes`]).
    fn finish_step(&self, relinearize: bool, y: Ciphertext) -> Result<Ciphertext, Error> {
        if relinearize {
            return Ok(self.relinearized(&y)?.into_owned());
        }
        Ok(y)
    }

    /// A product's output, switched down by [`primes_to_drop`] primes.
    /// Every output of a polynomial step goes through it, with or without
    /// a product (`c2 = 0`), so the step's outputs share one level.
    fn after_product(&self, y: Ciphertext) -> Result<Ciphertext, Error> {
        let drop = primes_to_drop(self.params, y.level());
        if drop == 0 {
            return Ok(y);
        }
        Ok(self.ev.mod_switch_to(&y, y.level() - drop)?)
    }

    /// `Σ w_j · x_j` (no terms: zero).
    fn combination(&self, terms: &[(&Ciphertext, I256)]) -> Result<Ciphertext, Error> {
        let t = self.params.plaintext_modulus();
        Ok(match self.encoding {
            Encoding::Slots => {
                let t: Vec<(&Ciphertext, i64)> =
                    terms.iter().map(|&(c, w)| (c, centred(w, t))).collect();
                self.ev.linear_combination(&t)?
            }
            Encoding::Base2 => {
                let digits: Vec<Vec<(i64, usize)>> =
                    terms.iter().map(|&(_, w)| base2::naf(w)).collect();
                let t: Vec<(&Ciphertext, &[(i64, usize)])> = terms
                    .iter()
                    .zip(&digits)
                    .map(|(&(c, _), d)| (c, d.as_slice()))
                    .collect();
                self.ev.linear_combination_monomial(&t)?
            }
        })
    }

    /// `ct + c`.
    fn plus(&self, mut ct: Ciphertext, c: I256) -> Result<Ciphertext, Error> {
        if c == 0 {
            return Ok(ct);
        }
        let pt = match self.encoding {
            Encoding::Slots => Plaintext::constant(
                self.params,
                c.rem_euclid(I256::from(self.params.plaintext_modulus()))
                    .as_u64(),
            ),
            Encoding::Base2 => base2::plaintext(self.params, c)?,
        };
        self.ev.add_plain_assign(&mut ct, &pt)?;
        Ok(ct)
    }
}

impl Executor for BfvExec<'_> {
    type Weight = I256;
    type Value = Ciphertext;
    type Error = Error;

    fn settle(&self) -> Result<(), Error> {
        Ok(self.params.ciphertext_basis().backend().synchronize()?)
    }

    fn linear(
        &self,
        label: &str,
        rows: &[Row<I256>],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        let relinearize = self.relinearizes(label);
        if self.encoding == Encoding::Slots {
            // One pass for the whole layer (inputs stay cached across rows).
            let t = self.params.plaintext_modulus();
            let weights: Vec<Vec<(usize, i64)>> = rows
                .iter()
                .map(|r| {
                    r.terms
                        .iter()
                        .map(|&(i, w)| (i as usize, centred(w, t)))
                        .collect()
                })
                .collect();
            let refs: Vec<&[(usize, i64)]> = weights.iter().map(Vec::as_slice).collect();
            return self
                .ev
                .linear_layer(x, &refs)?
                .into_par_iter()
                .zip(rows)
                .map(|(ct, r)| self.finish_step(relinearize, self.plus(ct, r.bias)?))
                .collect();
        }
        // Base 2: one pass for the whole layer as well, every weight as its
        // signed binary digits (monomials).
        let digits: Vec<Vec<Vec<(i64, usize)>>> = rows
            .iter()
            .map(|r| r.terms.iter().map(|&(_, w)| base2::naf(w)).collect())
            .collect();
        let terms: Vec<Vec<(usize, Monomials<'_>)>> = rows
            .iter()
            .zip(&digits)
            .map(|(r, d)| {
                r.terms
                    .iter()
                    .zip(d)
                    .map(|(&(i, _), d)| (i as usize, d.as_slice()))
                    .collect()
            })
            .collect();
        let refs: Vec<&[(usize, Monomials<'_>)]> = terms.iter().map(Vec::as_slice).collect();
        self.ev
            .linear_layer_monomial(x, &refs)?
            .into_par_iter()
            .zip(rows)
            .map(|(ct, r)| self.finish_step(relinearize, self.plus(ct, r.bias)?))
            .collect()
    }

    fn poly(
        &self,
        label: &str,
        degree: usize,
        coeffs: &[I256],
        x: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, Error> {
        let relinearize = self.relinearizes(label);
        x.par_iter()
            .enumerate()
            .map(|(e, ct)| {
                let c = &coeffs[e * (degree + 1)..(e + 1) * (degree + 1)];
                // A product needs two polynomials in (the plan relinearizes
                // before every product; this holds whatever it says).
                let ct = &*self.relinearized(ct)?;
                if degree == 2 {
                    // c2·x² + c1·x + c0 from a square: its input is
                    // extended once, and both weights are cheap plaintext
                    // products (scalars, or sparse digits in base 2). The
                    // square stays three polynomials until the step the
                    // plan relinearizes at.
                    let square;
                    let mut terms = Vec::with_capacity(2);
                    if c[2] != 0 {
                        square = self.ev.square(ct)?;
                        terms.push((&square, c[2]));
                    }
                    if c[1] != 0 || terms.is_empty() {
                        // (A constant polynomial keeps x with weight 0.)
                        terms.push((ct, c[1]));
                    }
                    // Relinearized (where it is) before the switch down,
                    // which then divides the key switch's noise as well.
                    let y = self.plus(self.combination(&terms)?, c[0])?;
                    return self.after_product(self.finish_step(relinearize, y)?);
                }
                // Horner: one ciphertext product per degree above one.
                let mut y = self.plus(self.combination(&[(ct, c[degree])])?, c[degree - 1])?;
                for i in (0..degree - 1).rev() {
                    y = self.ev.multiply_relin(&y, ct, self.rk)?;
                    y = self.plus(y, c[i])?;
                }
                if degree >= 2 {
                    y = self.after_product(y)?;
                }
                Ok(y)
            })
            .collect()
    }

    fn relu(&self, label: &str, _x: &[Ciphertext]) -> Result<Vec<Ciphertext>, Error> {
        Err(Error::Model(format!(
            "layer {label}: ReLU has no encrypted evaluation"
        )))
    }
}

/// The BFV round trip of [`super::infer`].
pub(super) fn infer(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    encoding: Encoding,
    precision_bits: u32,
    device: &super::ServerDevice,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    let fixed = FixedPoint { precision_bits }.prepare(model)?;
    check_encryptable(fixed.plan())?;
    let bound = fixed.logit_bound_bits()?;
    // Base 2 decrypts coefficients before evaluating at 2: the moduli hold
    // the largest coefficient, far below the largest value.
    let base2 = match encoding {
        Encoding::Slots => None,
        Encoding::Base2 => {
            let n = ring_for(encoding).0;
            Some(base2::bounds(fixed.plan(), n - 1).ok_or_else(|| {
                Error::Model(format!(
                    "the base-2 encodings reach degree {n} or more but the ring has degree {n}: use fewer --precision-bits"
                ))
            })?)
        }
    };
    let crt = parameters(
        encoding,
        base2.map_or(bound, |b| b.coefficient_bits),
        relin::wants_fine_digits(&fixed.plan().steps, encoding),
    )?;
    let n = crt.parts()[0].degree();
    let mut client = BfvClient::new(crt, encoding)?;
    let keys = client.evaluation_keys()?;
    let server = BfvServer::on(
        &keys,
        fixed.plan().clone(),
        encoding,
        Arc::clone(&device.backend),
    )?;
    let mut recorder = Recorder::new(server.plan(), server.counter());
    let mut seconds = Seconds::default();
    let mut bytes = super::Bytes {
        to_server: keys.len() as u64,
        to_client: 0,
    };
    let parts = client.parts().len();
    let batches: Vec<&[&[u8]]> = images.chunks(client.batch()).collect();
    let steps = server.plan().steps.len();
    let total = batches.len() * parts * steps;
    let mut logits: Vec<Vec<I256>> = Vec::with_capacity(images.len());
    let mut min_budget = f64::INFINITY;
    for (b, batch) in batches.iter().enumerate() {
        let mut outputs = Vec::with_capacity(parts);
        for part in 0..parts {
            let what = format!(
                "{} {}/{}, modulus {}/{parts}",
                if encoding == Encoding::Slots {
                    "batch"
                } else {
                    "image"
                },
                b + 1,
                batches.len(),
                part + 1
            );
            let t = std::time::Instant::now();
            let inputs = client.encrypt(part, batch)?;
            seconds.encrypt += t.elapsed().as_secs_f64();
            bytes.to_server += inputs.len() as u64;
            let t = std::time::Instant::now();
            let out = server.infer(part, &inputs, &mut |event| {
                recorder.observe(event);
                if let Event::End { index, .. } = event {
                    progress(&what, (b * parts + part) * steps + index + 1, total);
                }
            })?;
            seconds.infer += t.elapsed().as_secs_f64();
            drop(inputs);
            bytes.to_client += out.len() as u64;
            let t = std::time::Instant::now();
            let (plain, budget) = client.decrypt(part, &out)?;
            seconds.decrypt += t.elapsed().as_secs_f64();
            outputs.push(plain);
            min_budget = min_budget.min(budget);
        }
        let t = std::time::Instant::now();
        logits.extend(client.recombine(&outputs, batch.len())?);
        seconds.decrypt += t.elapsed().as_secs_f64();
    }
    let expected = images
        .par_iter()
        .map(|im| fixed.forward(im))
        .collect::<Result<Vec<_>, _>>()?;
    let mismatched = logits
        .iter()
        .zip(&expected)
        .filter(|(got, want)| **got != want.logits)
        .count();
    let scale = (fixed.scale_bits() as f64).exp2();
    let values: Vec<Vec<f64>> = logits
        .iter()
        .map(|l| l.iter().map(|v| v.as_f64() / scale).collect())
        .collect();
    let reference = model.forward_f64_all(images)?;
    let (accuracy, reference_accuracy, agreement, disagreements) =
        compare(&values, &reference, labels);
    let first = &client.parts()[0];
    Ok(InferReport {
        model: model.graph().name.clone(),
        packing: match encoding {
            Encoding::Slots => "batch",
            Encoding::Base2 => "integer",
        }
        .into(),
        scheme: "bfv".into(),
        images: images.len(),
        threads: rayon::current_num_threads(),
        backend: "cpu".into(),
        device: None,
        accuracy,
        reference_accuracy,
        agreement,
        max_logit_error: None,
        mismatched_logits: Some(mismatched),
        noise_budget_bits: Some(min_budget),
        seconds,
        seconds_per_image: seconds.infer / images.len() as f64,
        requests: 1,
        server_seconds: vec![seconds.infer],
        warm_seconds_per_image: None,
        bytes,
        params: serde_json::json!({
            "degree": n,
            "plaintext_moduli": client.parts().iter().map(|p| p.plaintext_modulus()).collect::<Vec<_>>(),
            "plaintext_bits": client.parts().iter().map(|p| (p.plaintext_modulus() as f64).log2()).sum::<f64>(),
            "logit_bound_bits": bound,
            "fixed_point_scale_bits": fixed.scale_bits(),
            "precision_bits": precision_bits,
            "encoding_degree_bound": base2.map(|b| b.degree),
            "coefficient_bound_bits": base2.map(|b| b.coefficient_bits),
            "log_qp": first.log_qp(),
            "products_in_q": client.parts().iter().all(|p| p.multiplies_in_q(p.max_level())),
            "security_bits": 128,
            "batches": batches.len(),
        }),
        layers: recorder.layers,
        disagreements,
    })
}

#[cfg(test)]
mod tests {
    use super::{
        Encoding, SMOOTH_8192, fixed_primes, parameters, primes_to_drop, relinearization_digits,
        ring_for,
    };
    use num_bigint::BigUint;

    /// Base 2 takes fixed primes of the preset's sizes, and plaintext
    /// moduli dividing `Q − 1` where `Q − 1` has them: the top level's
    /// products then skip the auxiliary basis. A bound its small factors
    /// cannot hold falls back to primes, and slots never use fixed primes.
    #[test]
    fn base2_plaintext_moduli_divide_q_minus_one() {
        let bits: Vec<u32> = SMOOTH_8192.iter().map(|p| 64 - p.leading_zeros()).collect();
        assert_eq!(bits, ring_for(Encoding::Base2).2);
        let q: BigUint = SMOOTH_8192.iter().map(|&p| BigUint::from(p)).product();
        for bound in [20, 40, 62] {
            let crt = parameters(Encoding::Base2, bound, false).unwrap();
            let product: BigUint = crt
                .parts()
                .iter()
                .map(|p| BigUint::from(p.plaintext_modulus()))
                .product();
            assert!(product > BigUint::from(1u8) << (bound + 1));
            for p in crt.parts() {
                assert_eq!(&q % p.plaintext_modulus(), BigUint::from(1u8));
                assert!(p.multiplies_in_q(p.max_level()), "bound {bound}");
            }
        }
        // Three moduli above 2^95: more than Q − 1's 84 bits of small odd factors.
        let crt = parameters(Encoding::Base2, 94, false).unwrap();
        assert_eq!(crt.parts().len(), 3);
        assert!(
            crt.parts()
                .iter()
                .all(|p| !p.multiplies_in_q(p.max_level()))
        );
        assert!(fixed_primes(Encoding::Slots).is_none());
    }

    /// One prime after each product while t·n covers it, never the last.
    #[test]
    fn primes_dropped_after_a_product() {
        // Base 2: 2 × 31–32-bit t, n = 2^13 (room 44–45 bits), primes 43 43 44 44.
        let crt = parameters(Encoding::Base2, 62, false).unwrap();
        let p = &crt.parts()[0];
        assert_eq!(crt.parts().len(), 2);
        assert_eq!(
            (1..=4).map(|l| primes_to_drop(p, l)).collect::<Vec<_>>(),
            vec![0, 1, 1, 1]
        );
        // Slots: 40-bit t, n = 2^14 (room 54 bits), 48–49-bit primes.
        let crt = parameters(Encoding::Slots, 157, false).unwrap();
        assert_eq!(primes_to_drop(&crt.parts()[0], 6), 1);
    }

    /// The two ring choices of [`super::ring_for`], with the digit counts
    /// measured to keep the noise budget (see the doc comment).
    #[test]
    fn digits_of_the_measured_rings() {
        assert_eq!(
            relinearization_digits(&[43, 43, 44, 44], &[44], 32, 8192, false),
            2
        );
        assert_eq!(
            relinearization_digits(&[48, 48, 48, 49, 49, 49], &[49], 40, 16384, false),
            3
        );
        // Fine digits, for deferred relinearizations: one prime each.
        assert_eq!(
            relinearization_digits(&[43, 43, 44, 44], &[44], 32, 8192, true),
            4
        );
        assert_eq!(
            relinearization_digits(&[48, 48, 48, 49, 49, 49], &[49], 40, 16384, true),
            6
        );
        // A small t leaves no room: one prime per digit.
        assert_eq!(
            relinearization_digits(&[43, 43, 44, 44], &[44], 16, 8192, false),
            4
        );
    }
}
