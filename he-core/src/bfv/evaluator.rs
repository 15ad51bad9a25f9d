//! Homomorphic operations on BFV ciphertexts.

use std::sync::Arc;

use crate::bfv::ciphertext::check_same_params;
use crate::bfv::{BfvParameters, Ciphertext, Plaintext};
use crate::{Coeff, Error, RnsPoly};

/// Evaluates operations on ciphertexts of one parameter set. Cheap to build,
/// `Send + Sync`: share one across threads.
///
/// ```
/// use hefty_core::bfv::{BatchEncoder, BfvParameters, Evaluator, PublicKey, SecretKey};
/// use hefty_core::Sampler;
/// let params = BfvParameters::preset_128(4096)?;
/// let mut rng = Sampler::from_os();
/// let sk = SecretKey::generate(&params, &mut rng);
/// let pk = PublicKey::new(&sk, &mut rng)?;
/// let enc = BatchEncoder::new(&params)?;
/// let eval = Evaluator::new(&params);
/// let a = pk.encrypt(&enc.encode(&[1, 2, 3])?, &mut rng)?;
/// let b = pk.encrypt(&enc.encode(&[10, 20, 30])?, &mut rng)?;
/// let sum = eval.add(&a, &b)?;
/// assert_eq!(&enc.decode(&sk.decrypt(&sum)?)[..3], &[11, 22, 33]);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Evaluator {
    params: Arc<BfvParameters>,
}

impl Evaluator {
    /// An evaluator for `params`.
    pub fn new(params: &Arc<BfvParameters>) -> Self {
        Self {
            params: Arc::clone(params),
        }
    }

    fn check(&self, ct: &Ciphertext) -> Result<(), Error> {
        check_same_params(&self.params, ct.params())
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
            a.polys
                .push(RnsPoly::zero(self.params.ciphertext_basis(), a.level())?);
        }
        for (x, y) in a.polys.iter_mut().zip(&b.polys) {
            if subtract {
                x.sub_assign(y)?
            } else {
                x.add_assign(y)?
            }
        }
        a.seed = None;
        Ok(())
    }

    /// `-a`.
    pub fn negate(&self, a: &Ciphertext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys.iter_mut().for_each(RnsPoly::neg_assign);
        out.seed = None;
        Ok(out)
    }

    /// `Δ·m` at the ciphertext's level, without noise.
    fn scaled(&self, pt: &Plaintext, level: usize) -> Result<RnsPoly<Coeff>, Error> {
        check_same_params(&self.params, pt.params())?;
        let mut poly = RnsPoly::<Coeff>::zero(self.params.ciphertext_basis(), level)?;
        let delta = &self.params.level_constants(level).delta;
        poly.set_limbs(|i, m, limb| {
            let d = m.shoup(delta[i]);
            limb.iter_mut()
                .zip(pt.coeffs())
                .for_each(|(x, &c)| *x = m.mul_shoup(c, d));
        });
        Ok(poly)
    }

    /// `a + pt`.
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys[0].add_assign(&self.scaled(pt, a.level())?)?;
        out.seed = None;
        Ok(out)
    }

    /// `a - pt`.
    pub fn sub_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let mut out = a.clone();
        out.polys[0].sub_assign(&self.scaled(pt, a.level())?)?;
        out.seed = None;
        Ok(out)
    }

    /// `a · pt` (a negacyclic product with the plaintext polynomial, lifted to
    /// its centred representative so that noise grows by at most `n·t/2`).
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, Error> {
        self.check(a)?;
        check_same_params(&self.params, pt.params())?;
        let m = RnsPoly::from_i64(self.params.ciphertext_basis(), a.level(), &pt.centered())?
            .into_ntt();
        let polys = a
            .polys
            .iter()
            .map(|c| {
                let mut x = c.clone().into_ntt();
                x.mul_assign(&m)?;
                Ok(x.into_coeff())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Ciphertext {
            params: Arc::clone(&self.params),
            polys,
            seed: None,
        })
    }

    /// `a · c` for an integer `c` (taken mod t, lifted to `(-t/2, t/2]`).
    pub fn mul_scalar(&self, a: &Ciphertext, c: u64) -> Result<Ciphertext, Error> {
        self.check(a)?;
        let t = self.params.plaintext_modulus();
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
        Ok(out)
    }
}
