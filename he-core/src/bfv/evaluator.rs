//! Homomorphic operations on BFV ciphertexts.

use std::sync::Arc;

use crate::bfv::{Ciphertext, GaloisKeys, Parameters, PlainProduct, Plaintext, RelinearizationKey};
use crate::rlwe::eval::EvalContext;
use crate::{Coeff, Error, Hop, HopCounter, RnsPoly, rotation_galois_element};

/// A plaintext prepared for repeated products at one level (see
/// [`Evaluator::prepare_plain`]): its centred lift in NTT form.
#[derive(Debug, Clone)]
pub struct PreparedPlaintext {
    params: Arc<Parameters>,
    ntt: RnsPoly<crate::Ntt>,
}

impl PreparedPlaintext {
    /// The level it was prepared for.
    pub fn level(&self) -> usize {
        self.ntt.level()
    }
}

/// Evaluates operations on ciphertexts of one parameter set. Cheap to build,
/// `Send + Sync`: share one across threads.
///
/// ```
/// use hefty_core::bfv::{Encoder, Parameters, Evaluator, PublicKey, SecretKey};
/// use hefty_core::Sampler;
/// let params = Parameters::preset_128(4096)?;
/// let mut rng = Sampler::from_os();
/// let sk = SecretKey::generate(&params, &mut rng);
/// let pk = PublicKey::new(&sk, &mut rng)?;
/// let enc = Encoder::new(&params)?;
/// let eval = Evaluator::new(&params);
/// let a = pk.encrypt(&enc.encode(&[1, 2, 3])?, &mut rng)?;
/// let b = pk.encrypt(&enc.encode(&[10, 20, 30])?, &mut rng)?;
/// let sum = eval.add(&a, &b)?;
/// assert_eq!(&enc.decode(&sk.decrypt(&sum)?)?[..3], &[11, 22, 33]);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Evaluator {
    ctx: EvalContext<Parameters>,
}

/// A plaintext weight as its non-zero terms `(c, k)`: `Σ c·x^k` (under the
/// integer encoder, a power of two is one term).
pub type Monomials<'a> = &'a [(i64, usize)];

impl Evaluator {
    /// An evaluator for `params`.
    pub fn new(params: &Arc<Parameters>) -> Self {
        Self {
            ctx: EvalContext::new(params, None),
        }
    }

    /// An evaluator that counts every operation into `counter` (see
    /// [`crate::HopCounter`]): add and subtract count as PT-CT or CT-CT adds,
    /// each product by its kind, `multiply_relin` as one multiplication and
    /// one relinearization, `mod_switch_to` once per prime dropped. Negation
    /// is free and not counted.
    pub fn with_hop_counter(params: &Arc<Parameters>, counter: &Arc<HopCounter>) -> Self {
        Self {
            ctx: EvalContext::new(params, Some(counter)),
        }
    }

    /// The backend the parameters' polynomials live on.
    fn backend(&self) -> &dyn crate::Backend {
        self.ctx.params().ciphertext_basis().backend().as_ref()
    }

    fn check(&self, ct: &Ciphertext) -> Result<(), Error> {
        self.ctx.check(ct.params())
    }

    /// `a + b`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        let mut out = a.clone();
        self.add_assign(&mut out, b)?;
        Ok(out)
    }

    /// `a += b`.
    pub fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<(), Error> {
        self.combine(a, b, false)
    }

    /// `a - b`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        let mut out = a.clone();
        self.combine(&mut out, b, true)?;
        Ok(out)
    }

    fn combine(&self, a: &mut Ciphertext, b: &Ciphertext, subtract: bool) -> Result<(), Error> {
        self.check(a)?;
        a.check_compatible(b)?;
        while a.polys.len() < b.polys.len() {
            a.polys.push(RnsPoly::zero(
                self.ctx.params().ciphertext_basis(),
                a.level(),
            )?);
        }
        for (x, y) in a.polys.iter_mut().zip(&b.polys) {
            if subtract {
                x.sub_assign(y)?
            } else {
                x.add_assign(y)?
            }
        }
        a.seed = None;
        self.ctx.count(Hop::CtCtAdd);
        Ok(())
    }

    /// `-a` (free, not counted as a HOP).
    pub fn negate(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys.iter_mut().for_each(RnsPoly::neg_assign);
        out.seed = None;
        Ok(out)
    }

    /// `Δ·m` at the ciphertext's level, without noise.
    fn scaled(&self, pt: &Plaintext, level: usize) -> Result<RnsPoly<Coeff>, Error> {
        self.ctx.check(pt.params())?;
        pt.scaled(level)
    }

    /// `a + pt`.
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        let mut out = a.clone();
        self.add_plain_assign(&mut out, pt)?;
        Ok(out)
    }

    /// `a += pt`, in place (no copy of the ciphertext).
    pub fn add_plain_assign(&self, a: &mut Ciphertext, pt: &Plaintext) -> Result<(), Error> {
        self.check(a)?;
        let scaled = self.scaled(pt, a.level())?;
        a.polys[0].add_assign(&scaled)?;
        a.seed = None;
        self.ctx.count(Hop::PtCtAdd);
        Ok(())
    }

    /// `a - pt`.
    pub fn sub_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys[0].sub_assign(&self.scaled(pt, a.level())?)?;
        out.seed = None;
        self.ctx.count(Hop::PtCtAdd);
        Ok(out)
    }

    /// `a · pt` (a negacyclic product with the plaintext polynomial, lifted to
    /// its centred representative so that noise grows by at most `n·t/2`).
    ///
    /// The product is computed the cheapest way for this plaintext on this
    /// backend ([`Evaluator::plain_product`] says which): a scalar, a monomial
    /// shift, a sparse sum of shifts, or an NTT product; all give the same
    /// ciphertext, and the HOP counter records the kind. For a dense plaintext
    /// used many times, [`Evaluator::prepare_plain`] once and
    /// [`Evaluator::mul_plain_prepared`] save its encoding on every call.
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.check(pt.params())?;
        match self.plain_product(pt) {
            PlainProduct::Scalar { c } => {
                let t = self.ctx.params().plaintext_modulus() as i64;
                self.mul_scalar(a, c.rem_euclid(t) as u64)
            }
            PlainProduct::Monomial { c, k } => self.mul_monomial(a, c, k),
            PlainProduct::Sparse { .. } => self.mul_sparse(a, pt),
            PlainProduct::Dense => {
                let prepared = self.prepare_plain(pt, a.level())?;
                self.mul_plain_prepared(a, &prepared)
            }
        }
    }

    /// How [`Evaluator::mul_plain`] multiplies by `pt`, from the plaintext's
    /// sparsity and the costs measured on this backend
    /// ([`Parameters::plain_product_costs`]).
    pub fn plain_product(&self, pt: &Plaintext) -> PlainProduct {
        self.ctx
            .params()
            .plain_product_costs()
            .choose(&pt.centered())
    }

    /// `a · pt` as `Σ_j c_j·x^(k_j)·a` over the non-zero coefficients of `pt`:
    /// O(n·nonzero) per limb, no NTT (the sparse product of Faster
    /// CryptoNets). The same ciphertext as the dense product.
    pub fn mul_sparse(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.check(pt.params())?;
        let centred = pt.centered();
        let polys = crate::backend::independent::map(self.backend(), &a.polys, |c| {
            let mut acc = RnsPoly::<Coeff>::zero(c.basis(), c.level())?;
            for (k, &coeff) in centred.iter().enumerate().filter(|(_, c)| **c != 0) {
                acc.monomial_mul_add(c, coeff, k)?;
            }
            Ok(acc)
        })
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count(Hop::PtCtMulSparse);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// `pt` ready for products with ciphertexts at `level`: its centred lift
    /// in NTT form.
    pub fn prepare_plain(&self, pt: &Plaintext, level: usize) -> Result<PreparedPlaintext, Error> {
        self.ctx.check(pt.params())?;
        let ntt = RnsPoly::from_i64(self.ctx.params().ciphertext_basis(), level, &pt.centered())?
            .into_ntt();
        Ok(PreparedPlaintext {
            params: Arc::clone(self.ctx.params()),
            ntt,
        })
    }

    /// `a · pt` for a plaintext prepared at `a`'s level.
    pub fn mul_plain_prepared(
        &self,
        a: &Ciphertext,
        pt: &PreparedPlaintext,
    ) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.check(&pt.params)?;
        if pt.ntt.level() != a.level() {
            return Err(Error::LevelMismatch {
                left: a.level(),
                right: pt.ntt.level(),
            });
        }
        let polys = crate::backend::independent::map(self.backend(), &a.polys, |c| {
            let mut x = c.try_clone()?.into_ntt();
            x.mul_assign(&pt.ntt)?;
            Ok(x.into_coeff())
        })
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count(Hop::PtCtMulDense);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// `a · (c·x^k)`: multiplication by a monomial plaintext in O(n), without
    /// NTTs — a negacyclic shift of every polynomial, then the small scalar
    /// `c` (skipped when `c = ±1`). This is how Faster CryptoNets multiplies by
    /// power-of-two weights under the base-2 integer encoder (`±2^k ↦ ±x^k`).
    /// Noise grows by the factor `|c|` only.
    pub fn mul_monomial(&self, a: &Ciphertext, c: i64, k: usize) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let t = self.ctx.params().plaintext_modulus();
        let mut out = Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys: a
                .polys
                .iter()
                .map(|p| p.mul_monomial(k))
                .collect::<Result<_, _>>()?,
            seed: None,
        };
        match c {
            1 => {}
            -1 => out.polys.iter_mut().for_each(RnsPoly::neg_assign),
            _ => out = self.scale(&out, c.rem_euclid(t as i64) as u64),
        }
        self.ctx.count(Hop::PtCtMulMonomial);
        Ok(out)
    }

    /// `a · c` for an integer `c` (taken mod t, lifted to `(-t/2, t/2]`).
    pub fn mul_scalar(&self, a: &Ciphertext, c: u64) -> Result<Ciphertext, Error> {
        self.check(a)?;
        self.ctx.count(Hop::PtCtMulScalar);
        Ok(self.scale(a, c))
    }

    /// `Σ_j w_j · a_j` for integer weights (each taken mod t, lifted to
    /// `(-t/2, t/2]`): one lazily reduced pass over all terms
    /// ([`Backend::linear_combination`](crate::Backend::linear_combination)),
    /// the primitive of encrypted convolution and dense layers. Noise grows
    /// by `Σ |w_j|·noise_j`. Counted as one scalar product per term whose
    /// weight is not ±1 (those are additions) and one addition per term
    /// after the first.
    pub fn linear_combination(&self, terms: &[(&Ciphertext, i64)]) -> Result<Ciphertext, Error> {
        if terms.is_empty() {
            return Err(Error::InvalidParameters(
                "a linear combination needs at least one term".into(),
            ));
        }
        let width = self.check_operands(terms.iter().map(|&(ct, _)| ct))?;
        let centred = |w: i64| self.centred(w);
        let polys = (0..width)
            .map(|i| {
                // A shorter operand's missing polynomials are zero.
                let column: Vec<(&RnsPoly<Coeff>, i64)> = terms
                    .iter()
                    .filter_map(|(ct, w)| Some((ct.polys.get(i)?, centred(*w))))
                    .collect();
                RnsPoly::linear_combination(&column)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.ctx.count_n(
            Hop::PtCtMulScalar,
            terms
                .iter()
                .filter(|(_, w)| centred(*w).unsigned_abs() != 1)
                .count(),
        );
        self.ctx.count_n(Hop::CtCtAdd, terms.len() - 1);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// A whole linear layer with integer weights: output `r` is
    /// `Σ w · inputs[j]` over the terms `(j, w)` of `rows[r]` (weights mod
    /// t, centred), as [`Self::linear_combination`] per row but in one
    /// backend pass that keeps the inputs cached across rows
    /// ([`Backend::linear_layer`](crate::Backend::linear_layer)). An empty
    /// row gives an encryption of zero.
    pub fn linear_layer(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, i64)]],
    ) -> Result<Vec<Ciphertext>, Error> {
        if inputs.is_empty() {
            return Err(Error::InvalidParameters(
                "a linear layer needs at least one input".into(),
            ));
        }
        let width = self.check_operands(inputs.iter())?;
        let weights: Vec<Vec<(usize, i64)>> = rows
            .iter()
            .map(|row| row.iter().map(|&(j, w)| (j, self.centred(w))).collect())
            .collect();
        let refs: Vec<&[(usize, i64)]> = weights.iter().map(Vec::as_slice).collect();
        let zero = self.zero_if_mixed(inputs, width)?;
        let columns = (0..width)
            .map(|i| {
                let column = Self::column(inputs, i, zero.as_ref());
                RnsPoly::linear_layer(&column, &refs)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for row in &weights {
            self.ctx.count_n(
                Hop::PtCtMulScalar,
                row.iter().filter(|(_, w)| w.unsigned_abs() != 1).count(),
            );
            self.ctx.count_n(Hop::CtCtAdd, row.len().saturating_sub(1));
        }
        Ok(self.ciphertexts_of_columns(columns, rows.len()))
    }

    /// A whole integer-encoded layer: output `r` is
    /// [`Self::linear_combination_monomial`] of the terms `(j, p_j)` of
    /// `rows[r]` over `inputs`, in one backend pass that keeps the inputs'
    /// words cached across rows
    /// ([`Backend::monomial_layer`](crate::Backend::monomial_layer)); the
    /// HOP counts are the same. An empty row gives an encryption of zero.
    pub fn linear_layer_monomial(
        &self,
        inputs: &[Ciphertext],
        rows: &[&[(usize, Monomials<'_>)]],
    ) -> Result<Vec<Ciphertext>, Error> {
        if inputs.is_empty() {
            return Err(Error::InvalidParameters(
                "a linear layer needs at least one input".into(),
            ));
        }
        let width = self.check_operands(inputs.iter())?;
        self.check_degrees(rows.iter().flat_map(|row| row.iter().map(|&(_, m)| m)))?;
        let flat: Vec<Vec<(usize, i64, usize)>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .flat_map(|&(j, monomials)| monomials.iter().map(move |&(c, k)| (j, c, k)))
                    .collect()
            })
            .collect();
        let refs: Vec<&[(usize, i64, usize)]> = flat.iter().map(Vec::as_slice).collect();
        let zero = self.zero_if_mixed(inputs, width)?;
        let columns = (0..width)
            .map(|i| {
                let column = Self::column(inputs, i, zero.as_ref());
                RnsPoly::monomial_layer(&column, &refs)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for row in rows {
            self.count_monomial_terms(row.iter().map(|&(_, monomials)| monomials));
        }
        Ok(self.ciphertexts_of_columns(columns, rows.len()))
    }

    /// The ciphertexts of a layer from its polynomial columns (column `i`:
    /// polynomial `i` of every output).
    fn ciphertexts_of_columns(
        &self,
        columns: Vec<Vec<RnsPoly<Coeff>>>,
        rows: usize,
    ) -> Vec<Ciphertext> {
        let mut out: Vec<Vec<RnsPoly<Coeff>>> = (0..rows).map(|_| Vec::new()).collect();
        for column in columns {
            for (o, p) in out.iter_mut().zip(column) {
                o.push(p);
            }
        }
        out.into_iter()
            .map(|polys| Ciphertext {
                params: Arc::clone(self.ctx.params()),
                polys,
                seed: None,
            })
            .collect()
    }

    /// `Σ_j p_j · a_j` where each plaintext `p_j = Σ_i c_ji·x^(k_ji)` is
    /// given by its non-zero terms `(c_ji, k_ji)`: the linear layer of
    /// Faster CryptoNets under the base-2 integer encoder, one pass of
    /// negacyclic shift-and-add per term, no NTT. A weight of one term (a
    /// power of two, `±x^k`) counts as a monomial product, one of more terms
    /// as a sparse product; `±1` and an empty term list count as no product.
    pub fn linear_combination_monomial(
        &self,
        terms: &[(&Ciphertext, Monomials<'_>)],
    ) -> Result<Ciphertext, Error> {
        let Some(&(first, _)) = terms.first() else {
            return Err(Error::InvalidParameters(
                "a linear combination needs at least one term".into(),
            ));
        };
        let width = self.check_operands(terms.iter().map(|&(ct, _)| ct))?;
        self.check_degrees(terms.iter().map(|&(_, monomials)| monomials))?;
        let polys =
            crate::backend::independent::map_owned(self.backend(), (0..width).collect(), |i| {
                // A shorter operand's missing polynomials are zero.
                let flat: Vec<(&RnsPoly<Coeff>, i64, usize)> = terms
                    .iter()
                    .filter_map(|&(ct, monomials)| Some((ct.polys.get(i)?, monomials)))
                    .flat_map(|(p, monomials)| monomials.iter().map(move |&(c, k)| (p, c, k)))
                    .collect();
                if flat.is_empty() {
                    return RnsPoly::<Coeff>::zero(
                        self.ctx.params().ciphertext_basis(),
                        first.level(),
                    );
                }
                RnsPoly::monomial_combination(&flat)
            })
            .into_iter()
            .collect::<Result<Vec<_>, Error>>()?;
        self.count_monomial_terms(terms.iter().map(|&(_, monomials)| monomials));
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// Every power below the ring degree: a weight with more base-2 digits
    /// than the ring holds is an overflow.
    fn check_degrees<'a>(&self, weights: impl Iterator<Item = Monomials<'a>>) -> Result<(), Error> {
        let n = self.ctx.params().degree();
        for monomials in weights {
            if let Some(&(_, k)) = monomials.iter().find(|&&(_, k)| k >= n) {
                return Err(Error::IntegerOverflow(format!(
                    "monomial x^{k} reaches the ring degree {n}: the weight has too many digits for this ring"
                )));
            }
        }
        Ok(())
    }

    /// The HOPs of one sum of monomial-weighted terms: `±1` (`±x^0`) is an
    /// addition, not a product; one monomial a monomial product, more a
    /// sparse one; the terms joined by additions.
    fn count_monomial_terms<'a>(&self, weights: impl ExactSizeIterator<Item = Monomials<'a>>) {
        let terms = weights.len();
        for monomials in weights {
            match monomials {
                [] | [(1 | -1, 0)] => {}
                [_] => self.ctx.count(Hop::PtCtMulMonomial),
                _ => self.ctx.count(Hop::PtCtMulSparse),
            }
        }
        self.ctx.count_n(Hop::CtCtAdd, terms.saturating_sub(1));
    }

    /// The checks of every combination: each operand of these parameters
    /// and compatible with the first. Returns the most polynomials an
    /// operand has — the combination's length: operands need not be
    /// relinearized, and a shorter one counts as padded with zeros (a
    /// product's three polynomials and a fresh two combine directly, so a
    /// network relinearizes only before its next product).
    fn check_operands<'a>(
        &self,
        cts: impl Iterator<Item = &'a Ciphertext>,
    ) -> Result<usize, Error> {
        let mut first: Option<&Ciphertext> = None;
        let mut width = 0;
        for ct in cts {
            self.check(ct)?;
            let first = *first.get_or_insert(ct);
            first.check_compatible(ct)?;
            width = width.max(ct.polys.len());
        }
        Ok(width)
    }

    /// A zero polynomial at the inputs' level when some input has fewer
    /// than `width` polynomials (it stands in for the missing ones).
    fn zero_if_mixed(
        &self,
        inputs: &[Ciphertext],
        width: usize,
    ) -> Result<Option<RnsPoly<Coeff>>, Error> {
        match inputs.iter().find(|ct| ct.polys.len() < width) {
            Some(short) => Ok(Some(RnsPoly::zero(
                self.ctx.params().ciphertext_basis(),
                short.level(),
            )?)),
            None => Ok(None),
        }
    }

    /// Polynomial `i` of every input, `zero` for an input without one
    /// ([`Self::zero_if_mixed`] supplies it whenever one is missing).
    fn column<'a>(
        inputs: &'a [Ciphertext],
        i: usize,
        zero: Option<&'a RnsPoly<Coeff>>,
    ) -> Vec<&'a RnsPoly<Coeff>> {
        inputs
            .iter()
            .filter_map(|ct| ct.polys.get(i).or(zero))
            .collect()
    }

    /// `w` mod t, lifted to `(-t/2, t/2]`.
    fn centred(&self, w: i64) -> i64 {
        let t = self.ctx.params().plaintext_modulus() as i64;
        let w = w.rem_euclid(t);
        if w > t / 2 { w - t } else { w }
    }

    /// `a · c`, uncounted (shared by `mul_scalar` and `mul_monomial`).
    fn scale(&self, a: &Ciphertext, c: u64) -> Ciphertext {
        let t = self.ctx.params().plaintext_modulus();
        let c = c % t;
        let (magnitude, negative) = if c > t / 2 { (t - c, true) } else { (c, false) };
        let mut out = a.clone();
        for p in &mut out.polys {
            p.mul_scalar_assign(magnitude);
            if negative {
                p.neg_assign();
            }
        }
        out.seed = None;
        out
    }

    /// `a · b` without relinearization: `len(a) + len(b) - 1` polynomials
    /// (3 for fresh inputs), `round(t/Q · a ⊗ b)` computed in full RNS.
    pub fn multiply(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        a.check_compatible(b)?;
        let polys = self
            .ctx
            .params()
            .mul_context(a.level())
            .multiply(&a.polys, &b.polys)?;
        self.ctx.count(Hop::CtCtMul);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// `a²` without relinearization: [`Evaluator::multiply`] with `a` on
    /// both sides, extended to the auxiliary basis once instead of twice.
    pub fn square(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.multiply(a, a)
    }

    /// `a²` relinearized back to two polynomials.
    pub fn square_relin(
        &self,
        a: &Ciphertext,
        rk: &RelinearizationKey,
    ) -> Result<Ciphertext, Error> {
        self.relinearize(&self.square(a)?, rk)
    }

    /// `a · b` relinearized back to two polynomials.
    pub fn multiply_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        rk: &RelinearizationKey,
    ) -> Result<Ciphertext, Error> {
        self.relinearize(&self.multiply(a, b)?, rk)
    }

    /// Modulus switching: drops the last ciphertext prime, scaling the
    /// ciphertext by `Q_{ℓ-1}/Q_ℓ` with rounding. The plaintext is unchanged;
    /// the ciphertext gets smaller and later operations faster, at the cost
    /// of `log2(q_last)` bits of modulus (the noise budget drops much less
    /// when the noise is above the rounding floor).
    pub fn mod_switch_to_next(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        if a.level() < 2 {
            return Err(Error::OutOfLevels {
                level: a.level(),
                min: 1,
            });
        }
        let polys = a
            .polys
            .iter()
            .map(RnsPoly::divide_round_by_last)
            .collect::<Result<Vec<_>, _>>()?;
        self.ctx.count(Hop::Rescale);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys,
            seed: None,
        })
    }

    /// Switches down to `level` (1 ≤ level ≤ the ciphertext's level).
    pub fn mod_switch_to(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext, Error> {
        if level == 0 || level > a.level() {
            return Err(Error::BadLevel {
                level,
                max: a.level(),
            });
        }
        let mut out = a.clone();
        while out.level() > level {
            out = self.mod_switch_to_next(&out)?;
        }
        Ok(out)
    }

    /// `(c_0, c_1, c_2) ↦ (c_0 + u_0, c_1 + u_1)` with `u_0 + u_1·s ≈ c_2·s²`:
    /// back to two polynomials after a multiplication. Two-polynomial
    /// ciphertexts are returned unchanged.
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
                let switcher = self.ctx.params().key_switcher()?;
                let [u0, u1] = self
                    .backend()
                    .key_switch_coeff(switcher, &a.polys[2], &rk.key)?;
                let mut c0 = a.polys[0].clone();
                c0.add_assign(&u0)?;
                let mut c1 = a.polys[1].clone();
                c1.add_assign(&u1)?;
                self.ctx.count(Hop::Relinearize);
                Ok(Ciphertext {
                    params: Arc::clone(self.ctx.params()),
                    polys: vec![c0, c1],
                    seed: None,
                })
            }
            len => Err(Error::NotRelinearized { len }),
        }
    }

    /// Applies the Galois automorphism `σ_g` to the encrypted plaintext.
    pub fn apply_galois(
        &self,
        a: &Ciphertext,
        g: usize,
        gk: &GaloisKeys,
    ) -> Result<Ciphertext, Error> {
        self.galois(a, g, None, gk)
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
        crate::check_galois_element(self.ctx.params().degree(), g)?;
        if a.polys.len() != 2 {
            return Err(Error::NotRelinearized { len: a.polys.len() });
        }
        if g == 1 {
            return Ok(a.clone());
        }
        let (key, _) = gk.get(g).ok_or(Error::MissingGaloisKey { steps, g })?;
        let mut c0 = a.polys[0].automorphism(g)?;
        let c1 = a.polys[1].automorphism(g)?;
        let switcher = self.ctx.params().key_switcher()?;
        let [u0, u1] = self.backend().key_switch_coeff(switcher, &c1, key)?;
        c0.add_assign(&u0)?;
        self.ctx.count(Hop::Rotate);
        Ok(Ciphertext {
            params: Arc::clone(self.ctx.params()),
            polys: vec![c0, u1],
            seed: None,
        })
    }

    /// Rotates both rows of batched slots left by `steps` (right when
    /// negative); needs the Galois key of `steps`.
    pub fn rotate_rows(
        &self,
        a: &Ciphertext,
        steps: i64,
        gk: &GaloisKeys,
    ) -> Result<Ciphertext, Error> {
        let g = rotation_galois_element(self.ctx.params().degree(), steps);
        self.galois(a, g, Some(steps), gk)
    }

    /// Swaps the two rows of batched slots; needs the column-swap key.
    pub fn rotate_columns(&self, a: &Ciphertext, gk: &GaloisKeys) -> Result<Ciphertext, Error> {
        self.galois(a, 2 * self.ctx.params().degree() - 1, None, gk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sampler;
    use crate::bfv::{Encoder, PublicKey, SecretKey};

    /// A valid three-polynomial ciphertext made by hand: `(c_0 - c_2·s², c_1, c_2)`
    /// for random `c_2` decrypts like `(c_0, c_1)`.
    #[test]
    fn relinearization_preserves_the_plaintext() {
        let params = Parameters::builder()
            .degree(256)
            .plaintext_modulus(ntt_prime())
            .ciphertext_moduli_bits(&[50, 50, 50])
            .special_moduli_bits(&[55])
            .insecure_disable_security_check_for_testing_only()
            .build()
            .unwrap();
        let mut rng = Sampler::from_seed([5; 32]);
        let sk = SecretKey::generate(&params, &mut rng);
        let pk = PublicKey::new(&sk, &mut rng).unwrap();
        let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
        let enc = Encoder::new(&params).unwrap();
        let values: Vec<u64> = (0..256)
            .map(|i| i * 7 % params.plaintext_modulus())
            .collect();
        let ct = pk.encrypt(&enc.encode(&values).unwrap(), &mut rng).unwrap();
        let level = ct.level();
        let c2 = rng
            .uniform::<Coeff>(params.ciphertext_basis(), level)
            .unwrap();
        let mut c2s2 = c2.clone().into_ntt();
        c2s2.mul_prefix(sk.ntt());
        c2s2.mul_prefix(sk.ntt());
        let mut c0 = ct.polys[0].clone();
        c0.sub_assign(&c2s2.into_coeff()).unwrap();
        let three = Ciphertext {
            params: Arc::clone(&params),
            polys: vec![c0, ct.polys[1].clone(), c2],
            seed: None,
        };
        assert_eq!(enc.decode(&sk.decrypt(&three).unwrap()).unwrap(), values);
        let eval = Evaluator::new(&params);
        let two = eval.relinearize(&three, &rk).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(enc.decode(&sk.decrypt(&two).unwrap()).unwrap(), values);
        // Key switching adds at most (dnum·n·η·α + (n+1)·2)·t to [t·phase]_Q.
        let before = sk.noise_budget(&ct).unwrap();
        let after = sk.noise_budget(&two).unwrap();
        let ks_noise = (3.0 * 256.0 * 21.0 + 257.0 * 2.0) * params.plaintext_modulus() as f64;
        let fresh_noise = 2f64.powf(params.log_q() - before - 1.0);
        let bound = params.log_q() - (fresh_noise + ks_noise).log2() - 1.0;
        assert!(
            after >= bound - 0.01,
            "budget {after:.1} below bound {bound:.1}"
        );
        let four = Ciphertext {
            params: Arc::clone(&params),
            polys: vec![two.polys[0].clone(); 4],
            seed: None,
        };
        assert_eq!(
            eval.relinearize(&four, &rk).unwrap_err(),
            Error::NotRelinearized { len: 4 }
        );
    }

    fn ntt_prime() -> u64 {
        hefty_ntt::ntt_primes(20, 256, 1).unwrap()[0]
    }
}
