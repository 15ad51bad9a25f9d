//! Homomorphic operations on CKKS ciphertexts, with level and scale
//! alignment done for the caller.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use num_complex::Complex64;

use crate::ckks::encoder::encode_scaled;
use crate::ckks::{Ciphertext, GaloisKeys, Parameters, Plaintext, RelinearizationKey};
use crate::rlwe::eval::EvalContext;
use crate::{Backend, Error, Hop, HopCounter, Ntt, RnsPoly, rotation_galois_element};

/// Scales closer than this (relative) are treated as equal: the error of
/// adding a message at a scale off by 2^-32 is far below CKKS precision.
const SCALE_TOLERANCE: f64 = 1.0 / (1u64 << 32) as f64;

/// Bytes of unrescaled sums per backend pass of a linear layer: bounds its
/// working memory while giving each pass enough rows that the inputs they
/// share are read once for all of them.
const LAYER_CHUNK_BYTES: usize = 256 << 20;

/// Transforms of `x^k` by `(k, level)`.
type Monomials = HashMap<(usize, usize), Arc<RnsPoly<Ntt>>>;

/// Fails on a weight that is not a finite number.
pub(super) fn check_finite(rows: &[&[(usize, f64)]]) -> Result<(), Error> {
    match rows
        .iter()
        .flat_map(|r| r.iter())
        .find(|(_, w)| !w.is_finite())
    {
        Some(&(_, w)) => Err(Error::InvalidParameters(format!(
            "weight {w} is not a finite number"
        ))),
        None => Ok(()),
    }
}

/// Each weight as the nearest integer multiple of `1/dropped` (the scale
/// the rescale after the sum drops), as that integer.
pub(super) fn integer_weights(
    rows: &[&[(usize, f64)]],
    dropped: f64,
) -> Result<Vec<Vec<(usize, i64)>>, Error> {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|&(j, w)| {
                    let k = (w * dropped).round();
                    if k.abs() >= 9.2e18 {
                        return Err(Error::InvalidParameters(format!(
                            "weight {w} is too large for an integer multiple of the scale"
                        )));
                    }
                    Ok((j, k as i64))
                })
                .collect()
        })
        .collect()
}

pub(super) fn same_scale(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() <= SCALE_TOLERANCE
}

/// Evaluates operations on CKKS ciphertexts of one parameter set.
///
/// Binary operations bring their operands to a common level (dropping primes
/// of the higher one, which leaves the message unchanged) and, for additions,
/// a common scale: when the scales differ beyond 2^-32 (relative), the
/// operand with more levels left is multiplied by `round(s_a/s_b · q_last)`
/// and rescaled, which costs it one level and matches the scales to 2^-40.
/// When no level is left for that, the result is a [`Error::ScaleMismatch`].
///
/// ```
/// use hefty_core::ckks::*;
/// use hefty_core::Sampler;
/// let params = Parameters::builder()
///     .degree(1 << 11).depth(2)
///     .insecure_disable_security_check_for_testing_only()
///     .build()?;
/// let mut rng = Sampler::from_os();
/// let sk = SecretKey::generate(&params, &mut rng);
/// let rk = RelinearizationKey::new(&sk, &mut rng)?;
/// let enc = Encoder::new(&params);
/// let ev = Evaluator::new(&params);
/// let (top, scale) = (params.max_level(), params.default_scale());
/// let x = sk.encrypt(&enc.encode_real(&[0.5, -0.25], top, scale)?, &mut rng)?;
/// let y = sk.encrypt(&enc.encode_real(&[0.8, 0.4], top, scale)?, &mut rng)?;
/// let xy = ev.multiply_relin_rescale(&x, &y, &rk)?;
/// let out = enc.decode_real(&sk.decrypt(&xy)?)?;
/// assert!((out[0] - 0.4).abs() < 1e-6 && (out[1] + 0.1).abs() < 1e-6);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Evaluator {
    pub(crate) ctx: EvalContext<Parameters>,
    /// `x^k` in NTT form by `(k, level)`, built on first use: a monomial
    /// product is then one pointwise pass instead of two transforms.
    monomials: Arc<Mutex<Monomials>>,
}

impl Evaluator {
    /// An evaluator for `params`.
    pub fn new(params: &Arc<Parameters>) -> Self {
        Self {
            ctx: EvalContext::new(params, None),
            monomials: Arc::default(),
        }
    }

    /// An evaluator that counts every operation into `counter` (rescales and
    /// the rescales of scale alignment included).
    pub fn with_hop_counter(params: &Arc<Parameters>, counter: &Arc<HopCounter>) -> Self {
        Self {
            ctx: EvalContext::new(params, Some(counter)),
            monomials: Arc::default(),
        }
    }

    /// The backend the parameters' polynomials live on.
    pub(super) fn backend(&self) -> &dyn Backend {
        self.ctx.params().ciphertext_basis().backend().as_ref()
    }

    /// Fails with [`Error::OutOfLevels`] unless a ciphertext at `level` has
    /// a level left to rescale by (the one check every rescaling operation
    /// makes before any work).
    pub(super) fn check_room(&self, level: usize) -> Result<(), Error> {
        let params = self.ctx.params();
        if level < params.min_level() + params.primes_per_level() {
            return Err(Error::OutOfLevels {
                level,
                min: params.min_level(),
            });
        }
        Ok(())
    }

    fn check(&self, ct: &Ciphertext) -> Result<(), Error> {
        self.ctx.check(ct.params())
    }

    /// A ciphertext of these parameters from its polynomials and scale.
    pub(crate) fn build(&self, polys: Vec<RnsPoly<Ntt>>, scale: f64) -> Ciphertext {
        Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            scale,
            seed: None,
        }
    }

    /// `a` with its primes above `level` dropped (message and scale unchanged).
    pub fn drop_to_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext, Error> {
        self.check(a)?;
        if level < self.ctx.params().min_level() || level > a.level() {
            return Err(Error::BadLevel {
                level,
                max: a.level(),
            });
        }
        let polys = a
            .polys
            .iter()
            .map(|p| p.prefix(level))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.build(polys, a.scale))
    }

    /// Divides by the last prime(s) of the level: the scale shrinks by their
    /// product and one level is spent.
    pub fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let polys = a
            .polys
            .iter()
            .map(RnsPoly::try_clone)
            .collect::<Result<Vec<_>, _>>()?;
        self.rescale_owned(self.build(polys, a.scale))
    }

    /// [`Self::rescale`] of a ciphertext the caller no longer needs: its
    /// polynomials are divided in place instead of copied first.
    pub fn rescale_owned(&self, a: Ciphertext) -> Result<Ciphertext, Error> {
        self.check(&a)?;
        let scale = self.rescaled_scale(&a)?;
        let backend = self.backend();
        let rescaler = self.ctx.params().rescaler();
        let polys = crate::backend::independent::map_owned(backend, a.polys, |p| {
            backend.rescale(rescaler, p)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        self.ctx.count(Hop::Rescale);
        Ok(self.build(polys, scale))
    }

    /// The scale of `a` after one rescale, once there is a level to drop
    /// and the scale stays at least 1.
    fn rescaled_scale(&self, a: &Ciphertext) -> Result<f64, Error> {
        let level = a.level();
        self.check_room(level)?;
        let dropped = self.ctx.params().rescale_divisor(level);
        if a.scale / dropped < 1.0 {
            return Err(Error::ScaleMismatch {
                left: a.scale.log2(),
                right: dropped.log2(),
                hint: "rescaling would drop the scale below 1, leaving no precision: rescale only after a multiplication",
            });
        }
        Ok(a.scale / dropped)
    }

    /// `a` multiplied by `round(target/scale · q_last)` and rescaled: the
    /// same message at a scale within 2^-40 of `target`, one level lower.
    pub fn adjust_scale(&self, a: &Ciphertext, target: f64) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let level = a.level();
        if self.check_room(level).is_err() {
            return Err(Error::ScaleMismatch {
                left: a.scale.log2(),
                right: target.log2(),
                hint: "aligning the scales needs one level and none is left; encode or rescale so that the operands' scales agree",
            });
        }
        let dropped = self.ctx.params().rescale_divisor(level);
        let c = (target / a.scale * dropped).round();
        if !(1.0..9.2e18).contains(&c) {
            return Err(Error::ScaleMismatch {
                left: a.scale.log2(),
                right: target.log2(),
                hint: "the scales are too far apart to align with one rescale",
            });
        }
        let mut scaled = a.clone();
        for p in &mut scaled.polys {
            p.mul_scalar_assign(c as u64);
        }
        scaled.scale *= c;
        self.ctx.count(Hop::PtCtMulScalar);
        self.rescale_owned(scaled)
    }

    /// Brings `a` and `b` to one level and (if `scales`) one scale,
    /// borrowing whatever needs no change.
    fn align<'a>(
        &self,
        a: &'a Ciphertext,
        b: &'a Ciphertext,
        scales: bool,
    ) -> Result<(Cow<'a, Ciphertext>, Cow<'a, Ciphertext>), Error> {
        self.check(a)?;
        self.check(b)?;
        let (mut a, mut b) = (Cow::Borrowed(a), Cow::Borrowed(b));
        if scales && !same_scale(a.scale, b.scale) {
            // Spend the level on the operand that has more of them.
            if a.level() > b.level() {
                a = Cow::Owned(self.adjust_scale(&a, b.scale)?);
            } else {
                b = Cow::Owned(self.adjust_scale(&b, a.scale)?);
            }
        }
        let level = a.level().min(b.level());
        if a.level() > level {
            a = Cow::Owned(self.drop_to_level(&a, level)?);
        }
        if b.level() > level {
            b = Cow::Owned(self.drop_to_level(&b, level)?);
        }
        Ok((a, b))
    }

    fn add_sub(&self, a: &Ciphertext, b: &Ciphertext, sub: bool) -> Result<Ciphertext, Error> {
        let (a, b) = self.align(a, b, true)?;
        let len = a.polys.len().max(b.polys.len());
        let mut polys = Vec::with_capacity(len);
        for i in 0..len {
            let p = match (a.polys.get(i), b.polys.get(i)) {
                (Some(x), Some(y)) => {
                    let mut x = x.clone();
                    if sub {
                        x.sub_assign(y)?
                    } else {
                        x.add_assign(y)?
                    }
                    x
                }
                (Some(x), None) => x.clone(),
                (None, Some(y)) => {
                    let mut y = y.clone();
                    if sub {
                        y.neg_assign();
                    }
                    y
                }
                (None, None) => unreachable!("i < the longer length"),
            };
            polys.push(p);
        }
        self.ctx.count(Hop::CtCtAdd);
        Ok(self.build(polys, a.scale))
    }

    /// `a + b`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        self.add_sub(a, b, false)
    }

    /// `a - b`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        self.add_sub(a, b, true)
    }

    /// `-a`.
    pub fn negate(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys.iter_mut().for_each(|p| p.neg_assign());
        out.seed = None;
        Ok(out)
    }

    /// A plaintext brought to `level` (it must be at least that high).
    fn plain_at(&self, pt: &Plaintext, level: usize) -> Result<RnsPoly<Ntt>, Error> {
        self.ctx.check(pt.params())?;
        if pt.level() < level {
            return Err(Error::LevelMismatch {
                left: level,
                right: pt.level(),
            });
        }
        pt.poly().prefix(level)
    }

    /// `a + pt` (the plaintext's scale must match; encode it at `a.scale()`).
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        if !same_scale(a.scale, pt.scale()) {
            return Err(Error::ScaleMismatch {
                left: a.scale.log2(),
                right: pt.scale().log2(),
                hint: "encode the plaintext at the ciphertext's scale (ct.scale())",
            });
        }
        let p = self.plain_at(pt, a.level())?;
        let mut out = a.clone();
        out.polys[0].add_assign(&p)?;
        out.seed = None;
        self.ctx.count(Hop::PtCtAdd);
        Ok(out)
    }

    /// `a + c` in every slot, exact at `a`'s scale (no level spent).
    pub fn add_const(&self, a: &Ciphertext, c: Complex64) -> Result<Ciphertext, Error> {
        let mut out = a.clone();
        self.add_const_assign(&mut out, c)?;
        Ok(out)
    }

    /// [`Self::add_const`] in place: no copy of the ciphertext (a biased
    /// layer adds one constant per output it owns). On an error `a` is
    /// unchanged.
    ///
    /// ```
    /// use hefty_core::{Sampler, ckks::{Complex64, Encoder, Evaluator, Parameters, SecretKey}};
    /// let params = Parameters::preset_128(8192)?;
    /// let mut sampler = Sampler::from_seed([7; 32]);
    /// let sk = SecretKey::generate(&params, &mut sampler);
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let pt = enc.encode_real(&[1.5, -2.0], params.max_level(), params.default_scale())?;
    /// let mut x = sk.encrypt(&pt, &mut sampler)?;
    /// ev.add_const_assign(&mut x, Complex64::new(0.25, 0.0))?;
    /// let y = enc.decode_real(&sk.decrypt(&x)?)?;
    /// assert!((y[0] - 1.75).abs() < 1e-6 && (y[1] + 1.75).abs() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn add_const_assign(&self, a: &mut Ciphertext, c: Complex64) -> Result<(), Error> {
        self.check(a)?;
        if !(c.re.is_finite() && c.im.is_finite()) {
            return Err(Error::InvalidParameters(format!(
                "constant {c} is not a finite complex number"
            )));
        }
        let k = (c.re * a.scale).round();
        if c.im == 0.0
            && k.abs() < 2f64.powi(62)
            && k.abs().log2() < self.ctx.params().log_q_at(a.level()) - 2.0
        {
            // A real constant is round(c·Δ) at x^0, whose NTT is that
            // integer in every slot: no transform, no upload (bit-identical).
            a.polys[0].add_constant_words(k as i64);
            a.seed = None;
            self.ctx.count(Hop::PtCtAdd);
            return Ok(());
        }
        let n = self.ctx.params().degree();
        let ki = (c.im * a.scale).round();
        let p = if k.abs() < 2f64.powi(62)
            && ki.abs() < 2f64.powi(62)
            && k.abs().max(ki.abs()).log2() < self.ctx.params().log_q_at(a.level()) - 2.0
        {
            // The same polynomial, round(c·Δ) + round(Im c·Δ)·x^(N/2), built
            // from the cached transform of x^(N/2) instead of an NTT per
            // call (bit-identical: the transform is linear).
            let mut im = RnsPoly::clone(&*self.monomial_ntt(n / 2, a.level())?);
            im.mul_scalar_assign(ki.abs() as u64);
            if ki < 0.0 {
                im.neg_assign();
            }
            im.add_constant_words(k as i64);
            im
        } else {
            // c·Δ at x^0 and (Im c)·Δ at x^(N/2): x^(N/2) is i in every slot.
            let mut coeffs = vec![0.0; n];
            coeffs[0] = c.re;
            coeffs[n / 2] = c.im;
            encode_scaled(
                self.ctx.params().ciphertext_basis(),
                a.level(),
                &coeffs,
                a.scale,
            )?
            .into_ntt()
        };
        a.polys[0].add_assign(&p)?;
        a.seed = None;
        self.ctx.count(Hop::PtCtAdd);
        Ok(())
    }

    /// `x^k` at `level` in NTT form, from the cache or transformed once.
    fn monomial_ntt(&self, k: usize, level: usize) -> Result<Arc<RnsPoly<Ntt>>, Error> {
        let key = (k, level);
        if let Some(m) = self.lock_monomials().get(&key) {
            return Ok(Arc::clone(m));
        }
        let n = self.ctx.params().degree();
        let mut coeffs = vec![0i64; n];
        // x^k for k in [n, 2n) is −x^(k−n).
        coeffs[k % n] = if (k / n).is_multiple_of(2) { 1 } else { -1 };
        let m = Arc::new(
            RnsPoly::from_i64(self.ctx.params().ciphertext_basis(), level, &coeffs)?.into_ntt(),
        );
        self.lock_monomials().insert(key, Arc::clone(&m));
        Ok(m)
    }

    fn lock_monomials(&self) -> std::sync::MutexGuard<'_, Monomials> {
        // The map is only ever inserted into whole: a panic elsewhere while
        // it was locked leaves it valid.
        self.monomials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `a · x^k`: slot `j`, the evaluation at a root `ζ_j` of `x^n + 1`, is
    /// multiplied by `ζ_j^k`. Exact — no noise, no level, scale unchanged;
    /// one pointwise pass (the transform of `x^k` is cached per level).
    /// `k = n/2` multiplies every slot by `i`; `k = n/4` by `±e^(iπ/4)`, a
    /// square root of `i` up to sign. Any `k` works (`x^(2n) = 1`).
    ///
    /// ```
    /// use hefty_core::ckks::*;
    /// use hefty_core::Sampler;
    /// let params = Parameters::builder()
    ///     .degree(1 << 11).depth(1)
    ///     .insecure_disable_security_check_for_testing_only()
    ///     .build()?;
    /// let mut rng = Sampler::from_os();
    /// let sk = SecretKey::generate(&params, &mut rng);
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let z = Complex64::new(0.5, -0.25);
    /// let ct = sk.encrypt(&enc.encode(&[z], params.max_level(), params.default_scale())?, &mut rng)?;
    /// let iz = enc.decode(&sk.decrypt(&ev.mul_monomial(&ct, params.degree() / 2)?)?)?[0];
    /// assert!((iz - Complex64::i() * z).norm() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let k = k % (2 * self.ctx.params().degree());
        let m = self.monomial_ntt(k, a.level())?;
        let polys = a
            .polys
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.mul_assign(&m)?;
                Ok(c)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count(Hop::PtCtMulMonomial);
        Ok(self.build(polys, a.scale))
    }

    /// `a · pt` (scales multiply; rescale afterwards).
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let level = a.level().min(pt.level());
        let a: Cow<'_, Ciphertext> = if a.level() > level {
            Cow::Owned(self.drop_to_level(a, level)?)
        } else {
            Cow::Borrowed(a)
        };
        let p = self.plain_at(pt, level)?;
        let polys = a
            .polys
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.mul_assign(&p)?;
                Ok(c)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count(Hop::PtCtMulDense);
        self.check_scale_room(a.scale * pt.scale(), level)?;
        Ok(self.build(polys, a.scale * pt.scale()))
    }

    /// `a · c` for a real constant, rescaled: `c` is encoded at the scale of
    /// the prime(s) the rescale drops, so the scale is unchanged exactly and
    /// one level is spent.
    pub fn mul_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let level = a.level();
        self.check_room(level)?;
        let dropped = self.ctx.params().rescale_divisor(level);
        if !c.is_finite() || (c * dropped).abs() >= 9.2e18 {
            return Err(Error::InvalidParameters(format!(
                "constant {c} is not finite or too large for an integer multiple of the scale"
            )));
        }
        let k = (c * dropped).round() as i64;
        let mut out = a.clone();
        for p in &mut out.polys {
            p.mul_scalar_assign(k.unsigned_abs());
            if k < 0 {
                p.neg_assign();
            }
        }
        out.scale *= dropped;
        self.ctx.count(Hop::PtCtMulScalar);
        self.rescale_owned(out)
    }

    /// `Σ_j w_j · a_j` for real weights, rescaled once: each `w_j` is
    /// encoded at the scale of the prime(s) the rescale drops (as in
    /// [`Self::mul_const`]) and all terms are summed in one lazily reduced
    /// pass ([`Backend::linear_combination`]) — the primitive of encrypted
    /// convolution and dense layers. The terms are brought to the lowest
    /// level among them; their scales must agree. One level is spent.
    pub fn linear_combination(&self, terms: &[(&Ciphertext, f64)]) -> Result<Ciphertext, Error> {
        if let Some(&(_, w)) = terms.iter().find(|(_, w)| !w.is_finite()) {
            return Err(Error::InvalidParameters(format!(
                "weight {w} is not a finite number"
            )));
        }
        let (level, scale) = self.combination_level(terms.iter().map(|&(ct, _)| (ct, 1.0)))?;
        self.check_room(level)?;
        let dropped = self.ctx.params().rescale_divisor(level);
        let weights = terms
            .iter()
            .map(|&(_, w)| {
                let k = (w * dropped).round();
                if k.abs() >= 9.2e18 {
                    return Err(Error::InvalidParameters(format!(
                        "weight {w} is too large for an integer multiple of the scale"
                    )));
                }
                Ok(k as i64)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let cts = self.all_at_level(terms.iter().map(|&(ct, _)| ct), level)?;
        let polys = (0..width(&cts))
            .map(|i| {
                let column: Vec<(&RnsPoly<Ntt>, i64)> = cts
                    .iter()
                    .zip(&weights)
                    .map(|(ct, &w)| (&ct.polys[i], w))
                    .collect();
                RnsPoly::linear_combination(&column)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count_n(Hop::PtCtMulScalar, terms.len());
        self.ctx.count_n(Hop::CtCtAdd, terms.len() - 1);
        self.rescale_owned(self.build(polys, scale * dropped))
    }

    /// `Σ_j w_j · a_j` for integer weights, not rescaled: the scale and the
    /// level stay those of the terms (brought to the lowest level among
    /// them). Sums and small integer weights (pooling, signs) spend no level,
    /// unlike [`Self::linear_combination`].
    pub fn linear_combination_integer(
        &self,
        terms: &[(&Ciphertext, i64)],
    ) -> Result<Ciphertext, Error> {
        let (level, scale) = self.combination_level(terms.iter().map(|&(ct, _)| (ct, 1.0)))?;
        let cts = self.all_at_level(terms.iter().map(|&(ct, _)| ct), level)?;
        let polys = (0..width(&cts))
            .map(|i| {
                let column: Vec<(&RnsPoly<Ntt>, i64)> = cts
                    .iter()
                    .zip(terms)
                    .map(|(ct, &(_, w))| (&ct.polys[i], w))
                    .collect();
                RnsPoly::linear_combination(&column)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count_n(
            Hop::PtCtMulScalar,
            terms.iter().filter(|(_, w)| w.unsigned_abs() != 1).count(),
        );
        self.ctx.count_n(Hop::CtCtAdd, terms.len() - 1);
        Ok(self.build(polys, scale))
    }

    /// A whole linear layer with real weights: output `r` is
    /// `Σ w · inputs[j]` over the terms `(j, w)` of `rows[r]`, rescaled
    /// once (one level), as [`Self::linear_combination`] per row but in one
    /// backend pass that keeps the inputs cached across rows
    /// ([`Backend::linear_layer`]). Inputs share one scale and are brought
    /// to the lowest level among them; an empty row gives an encryption of
    /// zero.
    pub fn linear_layer(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, f64)]],
    ) -> Result<Vec<Ciphertext>, Error> {
        self.layer_with_gain(inputs, rows, 1.0)
    }

    /// [`Self::linear_layer`] whose outputs come out at `scale` instead of
    /// the inputs' scale: the weights are encoded `scale / input scale`
    /// times larger (or smaller) before the rescale. A smaller output scale
    /// buys headroom — room for larger values below the remaining modulus —
    /// for the bits of precision it gives up; decoding divides by the
    /// ciphertext's scale, so the values are unchanged.
    ///
    /// ```
    /// use hefty_core::{Sampler, ckks::{Encoder, Evaluator, Parameters, SecretKey}};
    /// let params = Parameters::preset_128(8192)?;
    /// let mut sampler = Sampler::from_seed([7; 32]);
    /// let sk = SecretKey::generate(&params, &mut sampler);
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let pt = enc.encode_real(&[1.5, -2.0], params.max_level(), params.default_scale())?;
    /// let x = sk.encrypt(&pt, &mut sampler)?;
    /// let out = ev.linear_layer_to_scale(&[x], &[&[(0, 3.0)]], 2f64.powi(30))?;
    /// assert_eq!(out[0].scale(), 2f64.powi(30));
    /// let y = enc.decode_real(&sk.decrypt(&out[0])?)?;
    /// // The last rescale's noise, relative to 2^30 instead of 2^40.
    /// assert!((y[0] - 4.5).abs() < 1e-4 && (y[1] + 6.0).abs() < 1e-4);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn linear_layer_to_scale(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, f64)]],
        scale: f64,
    ) -> Result<Vec<Ciphertext>, Error> {
        let (_, input_scale) = self.combination_level(inputs.iter().map(|ct| (ct, 1.0)))?;
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(Error::InvalidParameters(format!(
                "output scale {scale} of a linear layer: give a finite scale of at least 1 (the inputs' is 2^{:.1})",
                input_scale.log2()
            )));
        }
        self.layer_with_gain(inputs, rows, scale / input_scale)
    }

    /// [`Self::linear_layer`] with every weight encoded `gain` times larger:
    /// the outputs' scale is the inputs' times `gain`.
    fn layer_with_gain(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, f64)]],
        gain: f64,
    ) -> Result<Vec<Ciphertext>, Error> {
        check_finite(rows)?;
        let (level, scale) = self.combination_level(inputs.iter().map(|ct| (ct, 1.0)))?;
        self.check_room(level)?;
        let dropped = self.ctx.params().rescale_divisor(level) * gain;
        let weights = integer_weights(rows, dropped)?;
        // A chunk of rows at a time (the unrescaled sums of a whole layer
        // would double its memory), rows in the order of the first input
        // they read: a convolution's output channels at one position, which
        // read the same inputs, share a chunk.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&r| weights[r].first().map_or(0, |t| t.0));
        let row_bytes = 2 * level * self.ctx.params().degree() * 8;
        let chunk = (LAYER_CHUNK_BYTES / row_bytes.max(1)).max(1);
        let mut out: Vec<Option<Ciphertext>> = vec![None; rows.len()];
        for part in order.chunks(chunk) {
            let refs: Vec<&[(usize, i64)]> = part.iter().map(|&r| weights[r].as_slice()).collect();
            let sums = self.layer_at(
                &inputs.iter().collect::<Vec<_>>(),
                level,
                &refs,
                scale * dropped,
            )?;
            let rescaled = crate::backend::independent::map_owned(self.backend(), sums, |ct| {
                self.rescale_owned(ct)
            });
            for (&r, ct) in part.iter().zip(rescaled) {
                out[r] = Some(ct?);
            }
        }
        let out: Vec<Ciphertext> = out.into_iter().flatten().collect();
        for row in rows {
            self.ctx.count_n(Hop::PtCtMulScalar, row.len());
            self.ctx.count_n(Hop::CtCtAdd, row.len().saturating_sub(1));
        }
        Ok(out)
    }

    /// A whole linear layer with integer weights, not rescaled (no level
    /// spent): [`Self::linear_combination_integer`] per row, in one backend
    /// pass ([`Backend::linear_layer`]).
    pub fn linear_layer_integer(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, i64)]],
    ) -> Result<Vec<Ciphertext>, Error> {
        self.linear_layer_dyadic(inputs, rows, 0)
    }

    /// A whole linear layer with dyadic weights `w · 2^exponent` (`w` an
    /// integer), exactly and without spending a level: the integer sums of
    /// [`Self::linear_layer_integer`], with the outputs' scale the inputs'
    /// times `2^-exponent` — the ciphertexts are the same, only what they
    /// are read as changes. Power-of-two weights (`exponent ≤ 0`) cost no
    /// rescale; the scale grows by `2^-exponent`, which must fit the
    /// remaining modulus with the values (the caller's to plan).
    ///
    /// ```
    /// use hefty_core::{Sampler, ckks::{Encoder, Evaluator, Parameters, SecretKey}};
    /// let params = Parameters::preset_128(8192)?;
    /// let mut sampler = Sampler::from_seed([7; 32]);
    /// let sk = SecretKey::generate(&params, &mut sampler);
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let pt = enc.encode_real(&[1.5, -2.0], params.max_level(), params.default_scale())?;
    /// let x = sk.encrypt(&pt, &mut sampler)?;
    /// // 0.75·x = 3·2^-2·x: no level spent.
    /// let out = ev.linear_layer_dyadic(&[x], &[&[(0, 3)]], -2)?;
    /// assert_eq!(out[0].level(), params.max_level());
    /// let y = enc.decode_real(&sk.decrypt(&out[0])?)?;
    /// assert!((y[0] - 1.125).abs() < 1e-6 && (y[1] + 1.5).abs() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn linear_layer_dyadic(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, i64)]],
        exponent: i32,
    ) -> Result<Vec<Ciphertext>, Error> {
        let (level, scale) = self.combination_level(inputs.iter().map(|ct| (ct, 1.0)))?;
        let scale = scale * 2f64.powi(-exponent);
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(Error::InvalidParameters(format!(
                "weights times 2^{exponent} would put the outputs at scale 2^{:.1}: give an exponent that keeps the scale finite and at least 1",
                scale.log2()
            )));
        }
        let out = self.layer_at(&inputs.iter().collect::<Vec<_>>(), level, rows, scale)?;
        for row in rows {
            self.ctx.count_n(
                Hop::PtCtMulScalar,
                row.iter().filter(|(_, w)| w.unsigned_abs() != 1).count(),
            );
            self.ctx.count_n(Hop::CtCtAdd, row.len().saturating_sub(1));
        }
        Ok(out)
    }

    /// Both polynomials of every row of a layer at `level`, at `scale`.
    pub(super) fn layer_at(
        &self,
        inputs: &[&Ciphertext],
        level: usize,
        rows: &[&[(usize, i64)]],
        scale: f64,
    ) -> Result<Vec<Ciphertext>, Error> {
        let cts = self.all_at_level(inputs.iter().copied(), level)?;
        let columns = (0..width(&cts))
            .map(|i| {
                let column: Vec<&RnsPoly<Ntt>> = cts.iter().map(|ct| &ct.polys[i]).collect();
                RnsPoly::linear_layer(&column, rows)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // Column-major (one vector per polynomial) to one ciphertext per row.
        let mut columns: Vec<_> = columns.into_iter().map(Vec::into_iter).collect();
        Ok((0..rows.len())
            .map(|_| {
                let polys = columns.iter_mut().filter_map(Iterator::next).collect();
                self.build(polys, scale)
            })
            .collect())
    }

    /// `Σ_j pt_j · a_j` with plaintext weights (pointwise in NTT form,
    /// slot by slot), summed in one lazily reduced pass
    /// ([`Backend::linear_combination`] with plain weights) and not
    /// rescaled: the result's scale is the terms' common `ct.scale · pt.scale`.
    /// Terms are brought to the lowest level among them; plaintexts must be
    /// at least that high.
    pub fn linear_combination_plain(
        &self,
        terms: &[(&Ciphertext, &Plaintext)],
    ) -> Result<Ciphertext, Error> {
        for &(_, pt) in terms {
            self.ctx.check(pt.params())?;
        }
        let (level, scale) =
            self.combination_level(terms.iter().map(|&(ct, pt)| (ct, pt.scale())))?;
        self.check_scale_room(scale, level)?;
        let cts = self.all_at_level(terms.iter().map(|&(ct, _)| ct), level)?;
        let pts = terms
            .iter()
            .map(|&(_, pt)| self.plain_at(pt, level))
            .collect::<Result<Vec<_>, Error>>()?;
        let polys = (0..width(&cts))
            .map(|i| {
                let column: Vec<(&RnsPoly<Ntt>, &RnsPoly<Ntt>)> = cts
                    .iter()
                    .zip(&pts)
                    .map(|(ct, pt)| (&ct.polys[i], pt))
                    .collect();
                RnsPoly::linear_combination_plain(&column)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count_n(Hop::PtCtMulDense, terms.len());
        self.ctx.count_n(Hop::CtCtAdd, terms.len() - 1);
        Ok(self.build(polys, scale))
    }

    /// The checks both linear combinations make before any work: at least
    /// one term, every ciphertext of these parameters with one number of
    /// polynomials (two, or three for products not yet relinearized: the
    /// sums are linear in each polynomial), and
    /// one scale for every term (`ct.scale()` times the weight's scale
    /// `factor`). Returns the lowest level among the terms and that scale.
    pub(super) fn combination_level<'a>(
        &self,
        mut terms: impl Iterator<Item = (&'a Ciphertext, f64)>,
    ) -> Result<(usize, f64), Error> {
        let Some((first, factor)) = terms.next() else {
            return Err(Error::InvalidParameters(
                "a linear combination needs at least one term".into(),
            ));
        };
        let scale = first.scale * factor;
        let mut level = first.level();
        let polys = first.polys.len();
        if polys > 3 {
            return Err(Error::NotRelinearized { len: polys });
        }
        for (ct, factor) in std::iter::once((first, factor)).chain(terms) {
            self.check(ct)?;
            if ct.polys.len() != polys {
                return Err(Error::PolynomialCountMismatch {
                    left: polys,
                    right: ct.polys.len(),
                });
            }
            if !same_scale(ct.scale * factor, scale) {
                return Err(Error::ScaleMismatch {
                    left: scale.log2(),
                    right: (ct.scale * factor).log2(),
                    hint: "the terms' scales (ct.scale(), times pt.scale() for plaintext weights) must agree: rescale, adjust_scale or encode them to match",
                });
            }
            level = level.min(ct.level());
        }
        Ok((level, scale))
    }

    /// The ciphertexts brought down to `level` (borrowed where they are there).
    fn all_at_level<'a>(
        &self,
        cts: impl Iterator<Item = &'a Ciphertext>,
        level: usize,
    ) -> Result<Vec<Cow<'a, Ciphertext>>, Error> {
        cts.map(|ct| {
            if ct.level() == level {
                Ok(Cow::Borrowed(ct))
            } else {
                self.drop_to_level(ct, level).map(Cow::Owned)
            }
        })
        .collect()
    }

    fn check_scale_room(&self, scale: f64, level: usize) -> Result<(), Error> {
        if scale.log2() + 2.0 >= self.ctx.params().log_q_at(level) {
            return Err(Error::ScaleMismatch {
                left: scale.log2(),
                right: self.ctx.params().log_q_at(level),
                hint: "the product's scale would not fit the modulus at this level: rescale the operands first",
            });
        }
        Ok(())
    }

    /// `a · b` without relinearization: three polynomials, scales multiplied.
    pub fn multiply(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        let (polys, scale) = self.tensor(a, b)?;
        self.ctx.count(Hop::CtCtMul);
        Ok(self.build(polys.into(), scale))
    }

    /// The tensor product `(a_0·b_0, a_0·b_1 + a_1·b_0, a_1·b_1)` (pointwise)
    /// of aligned two-polynomial operands, and its scale.
    fn tensor(&self, a: &Ciphertext, b: &Ciphertext) -> Result<([RnsPoly<Ntt>; 3], f64), Error> {
        let (a, b) = self.align(a, b, false)?;
        for c in [&a, &b] {
            if c.polys.len() != 2 {
                return Err(Error::NotRelinearized { len: c.polys.len() });
            }
        }
        let scale = a.scale * b.scale;
        self.check_scale_room(scale, a.level())?;
        let product = crate::rlwe::keyswitch::compose::tensor(
            [&a.polys[0], &a.polys[1]],
            [&b.polys[0], &b.polys[1]],
        )?;
        Ok((product, scale))
    }

    /// `(u + x^k·v)·(u − x^k·v) = u² − x^(2k)·v²` without relinearization
    /// (three polynomials, scale `u.scale()²`): what [`Self::mul_monomial`],
    /// [`Self::add`], [`Self::sub`] and [`Self::multiply`] give, bit for bit
    /// and counted as they are, in one pass that reads `u` and `v` once. With
    /// `x^(2k)` equal to `±i` in every slot (`2k ≡ ±n/2 mod 2n`) it squares
    /// two real vectors into the real and imaginary parts of one ciphertext;
    /// [`Self::relinearize_rescale`] finishes it as
    /// [`Self::multiply_relin_rescale`] finishes a product.
    ///
    /// ```
    /// use hefty_core::ckks::*;
    /// use hefty_core::Sampler;
    /// let params = Parameters::builder()
    ///     .degree(1 << 11).depth(1)
    ///     .insecure_disable_security_check_for_testing_only()
    ///     .build()?;
    /// let mut rng = Sampler::from_os();
    /// let sk = SecretKey::generate(&params, &mut rng);
    /// let rk = RelinearizationKey::new(&sk, &mut rng)?;
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let (top, scale) = (params.max_level(), params.default_scale());
    /// let mut ct = |v: f64| sk.encrypt(&enc.encode_real(&[v], top, scale)?, &mut rng);
    /// let (u, v) = (ct(1.5)?, ct(-0.5)?);
    /// // x^(3n/4) squares to x^(3n/2) = −i: u² + i·v² in one product.
    /// let n = params.degree();
    /// let both = ev.relinearize_rescale(ev.multiply_pair(&u, &v, 3 * n / 4)?, &rk)?;
    /// let out = enc.decode(&sk.decrypt(&both)?)?;
    /// assert!((out[0].re - 2.25).abs() < 1e-6 && (out[0].im - 0.25).abs() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn multiply_pair(
        &self,
        u: &Ciphertext,
        v: &Ciphertext,
        k: usize,
    ) -> Result<Ciphertext, Error> {
        let (u, v) = self.align(u, v, true)?;
        for c in [&u, &v] {
            if c.polys.len() != 2 {
                return Err(Error::NotRelinearized { len: c.polys.len() });
            }
        }
        let scale = u.scale * u.scale;
        self.check_scale_room(scale, u.level())?;
        let m = self.monomial_ntt(k % (2 * self.ctx.params().degree()), u.level())?;
        let polys = crate::rlwe::keyswitch::compose::tensor_pair(
            [&u.polys[0], &u.polys[1]],
            [&v.polys[0], &v.polys[1]],
            &m,
        )?;
        self.ctx.count(Hop::PtCtMulMonomial);
        self.ctx.count_n(Hop::CtCtAdd, 2);
        self.ctx.count(Hop::CtCtMul);
        Ok(self.build(polys.into(), scale))
    }

    /// Switches a three-polynomial ciphertext back to two.
    pub fn relinearize(
        &self,
        a: &Ciphertext,
        rk: &RelinearizationKey,
    ) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.check(&rk.params)?;
        match a.polys.len() {
            2 => Ok(a.clone()),
            3 => {
                let switcher = self.ctx.params().key_switcher();
                let [u0, u1] = self.backend().key_switch(switcher, &a.polys[2], &rk.key)?;
                let mut c0 = a.polys[0].clone();
                c0.add_assign(&u0)?;
                let mut c1 = a.polys[1].clone();
                c1.add_assign(&u1)?;
                self.ctx.count(Hop::Relinearize);
                Ok(self.build(vec![c0, c1], a.scale))
            }
            len => Err(Error::NotRelinearized { len }),
        }
    }

    /// A three-polynomial ciphertext (a product from [`Self::multiply`], or
    /// a sum of them) relinearized and rescaled in one division by `P·q_ℓ`
    /// (a two-polynomial one is only rescaled),
    /// as [`Self::multiply_relin_rescale`] finishes a product: cheaper than
    /// [`Self::relinearize`] then [`Self::rescale`], and without the
    /// rescale's rounding of the third polynomial, which decryption
    /// multiplies by `s²`.
    ///
    /// A dot product `Σ x_j·y_j` sums the unrelinearized products and
    /// relinearizes once:
    ///
    /// ```
    /// use hefty_core::ckks::*;
    /// use hefty_core::Sampler;
    /// let params = Parameters::builder()
    ///     .degree(1 << 11).depth(2)
    ///     .insecure_disable_security_check_for_testing_only()
    ///     .build()?;
    /// let mut rng = Sampler::from_os();
    /// let sk = SecretKey::generate(&params, &mut rng);
    /// let rk = RelinearizationKey::new(&sk, &mut rng)?;
    /// let (enc, ev) = (Encoder::new(&params), Evaluator::new(&params));
    /// let (top, scale) = (params.max_level(), params.default_scale());
    /// let mut ct = |v: f64| sk.encrypt(&enc.encode_real(&[v], top, scale)?, &mut rng);
    /// let (x, y) = ([ct(0.5)?, ct(-1.5)?, ct(2.0)?], [ct(0.8)?, ct(0.2)?, ct(-0.25)?]);
    /// let products = (0..3)
    ///     .map(|j| ev.multiply(&x[j], &y[j]))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// let terms: Vec<_> = products.iter().map(|p| (p, 1)).collect();
    /// let sum = ev.linear_combination_integer(&terms)?; // three polynomials
    /// let dot = ev.relinearize_rescale(sum, &rk)?;
    /// let out = enc.decode_real(&sk.decrypt(&dot)?)?;
    /// assert!((out[0] - (0.4 - 0.3 - 0.5)).abs() < 1e-6);
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn relinearize_rescale(
        &self,
        a: Ciphertext,
        rk: &RelinearizationKey,
    ) -> Result<Ciphertext, Error> {
        self.check(&a)?;
        self.ctx.check(&rk.params)?;
        let scale = self.rescaled_scale(&a)?;
        let [d0, d1, d2] = match <[RnsPoly<Ntt>; 3]>::try_from(a.polys) {
            Ok(d) => d,
            Err(polys) if polys.len() == 2 => {
                return self.rescale_owned(self.build(polys, a.scale));
            }
            Err(polys) => return Err(Error::NotRelinearized { len: polys.len() }),
        };
        let [c0, c1] = self.backend().relinearize(
            self.ctx.params().key_switcher(),
            [d0, d1, d2],
            &rk.key,
            Some(self.ctx.params().relin_rescaler()),
        )?;
        self.ctx.count(Hop::Relinearize);
        self.ctx.count(Hop::Rescale);
        Ok(self.build(vec![c0, c1], scale))
    }

    /// `a · b`, relinearized and rescaled: the usual multiplication.
    ///
    /// The ModDown of relinearization and the rescale are one division by
    /// `P·q_ℓ`: `round((P·d_i + u_i) / (P·q_ℓ))` (exact rounding, see
    /// `RoundingDivider`), which saves the forward NTTs of a separate ModDown.
    pub fn multiply_relin_rescale(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rk: &RelinearizationKey,
    ) -> Result<Ciphertext, Error> {
        self.ctx.check(&rk.params)?;
        // Every check before any work: operands, room to rescale, scale room.
        self.check(a)?;
        self.check(b)?;
        for c in [a, b] {
            if c.polys.len() != 2 {
                return Err(Error::NotRelinearized { len: c.polys.len() });
            }
        }
        let level = a.level().min(b.level());
        self.check_room(level)?;
        let scale = a.scale * b.scale;
        self.check_scale_room(scale, level)?;
        let (a, b) = self.align(a, b, false)?;
        let [c0, c1] = self.backend().mul_relin(
            self.ctx.params().key_switcher(),
            [&a.polys[0], &a.polys[1]],
            [&b.polys[0], &b.polys[1]],
            &rk.key,
            Some(self.ctx.params().relin_rescaler()),
        )?;
        self.ctx.count(Hop::CtCtMul);
        self.ctx.count(Hop::Relinearize);
        self.ctx.count(Hop::Rescale);
        Ok(self.build(
            vec![c0, c1],
            scale / self.ctx.params().rescale_divisor(level),
        ))
    }

    fn galois(
        &self,
        a: &Ciphertext,
        g: usize,
        steps: Option<i64>,
        gk: &GaloisKeys,
    ) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.check(&gk.params)?;
        if a.polys.len() != 2 {
            return Err(Error::NotRelinearized { len: a.polys.len() });
        }
        if g == 1 {
            return Ok(a.clone());
        }
        let (key, perm) = gk.get(g).ok_or(Error::MissingGaloisKey { steps, g })?;
        let [c0, c1] = self.backend().rotate(
            self.ctx.params().key_switcher(),
            [&a.polys[0], &a.polys[1]],
            key,
            perm,
        )?;
        self.ctx.count(Hop::Rotate);
        Ok(self.build(vec![c0, c1], a.scale))
    }

    /// Rotates the slots left by `steps` (right when negative).
    pub fn rotate(&self, a: &Ciphertext, steps: i64, gk: &GaloisKeys) -> Result<Ciphertext, Error> {
        let g = rotation_galois_element(self.ctx.params().degree(), steps);
        self.galois(a, g, Some(steps), gk)
    }

    /// Complex conjugation of every slot.
    pub fn conjugate(&self, a: &Ciphertext, gk: &GaloisKeys) -> Result<Ciphertext, Error> {
        self.galois(a, 2 * self.ctx.params().degree() - 1, None, gk)
    }

    /// Several rotations of one ciphertext sharing one decomposition of
    /// `c_1` (hoisting): the ModUp is paid once, each rotation costs only a
    /// permutation, the key inner product and ModDown.
    pub fn rotate_hoisted(
        &self,
        a: &Ciphertext,
        steps: &[i64],
        gk: &GaloisKeys,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.check(a)?;
        self.ctx.check(&gk.params)?;
        if a.polys.len() != 2 {
            return Err(Error::NotRelinearized { len: a.polys.len() });
        }
        let n = self.ctx.params().degree();
        // Every key first: a missing one fails before any work.
        let keys = steps
            .iter()
            .map(|&s| {
                let g = rotation_galois_element(n, s);
                if g == 1 {
                    return Ok((g, None));
                }
                gk.get(g)
                    .map(|k| (g, Some(k)))
                    .ok_or(Error::MissingGaloisKey { steps: Some(s), g })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rotating: Vec<(&crate::SwitchingKey, &crate::ring::GaloisPermutation)> =
            keys.iter().filter_map(|&(_, key)| key).collect();
        let mut rotated = self
            .backend()
            .rotate_hoisted(
                self.ctx.params().key_switcher(),
                [&a.polys[0], &a.polys[1]],
                &rotating,
            )?
            .into_iter();
        keys.iter()
            .map(|&(_, key)| match key {
                None => Ok(a.clone()),
                Some(_) => {
                    let [c0, c1] = rotated.next().expect("one result per key");
                    self.ctx.count(Hop::Rotate);
                    Ok(self.build(vec![c0, c1], a.scale))
                }
            })
            .collect()
    }
}

/// Polynomials per ciphertext of a combination's terms (checked equal by
/// `combination_level`): 2 when there are none.
fn width(cts: &[Cow<'_, Ciphertext>]) -> usize {
    cts.first().map_or(2, |ct| ct.polys.len())
}
