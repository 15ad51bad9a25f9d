//! CKKS encryption (public and secret key) and decryption.

use std::sync::Arc;

use crate::ckks::encoder::limbs_for_scale;
use crate::ckks::plaintext::check_same_params;
use crate::ckks::{CkksCiphertext, CkksPlaintext, CkksPublicKey, CkksSecretKey};
use crate::{Coeff, Error, Ntt, RnsPoly, Sampler};

impl CkksPublicKey {
    /// Encrypts `pt` at its level: `(b·u + e_0 + m, a·u + e_1)`, ternary `u`.
    pub fn encrypt(
        &self,
        pt: &CkksPlaintext,
        sampler: &mut Sampler,
    ) -> Result<CkksCiphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, basis, level) = (params.degree(), params.ciphertext_basis(), pt.level());
        let u = RnsPoly::<Coeff>::from_i64(basis, level, &sampler.ternary(n))?.into_ntt();
        let mut c0 = u.clone();
        c0.mul_prefix(&self.b);
        let mut c1 = u;
        c1.mul_prefix(&self.a);
        let mut c0 = c0.into_coeff();
        c0.add_assign(&RnsPoly::from_i64(basis, level, &sampler.error(n))?)?;
        c0.add_assign(pt.poly())?;
        let mut c1 = c1.into_coeff();
        c1.add_assign(&RnsPoly::from_i64(basis, level, &sampler.error(n))?)?;
        Ok(CkksCiphertext {
            params: Arc::clone(params),
            polys: vec![c0, c1],
            scale: pt.scale(),
            seed: None,
        })
    }
}

impl CkksSecretKey {
    /// Encrypts `pt` symmetrically: `(-a·s + e + m, a)` with `a` expanded from
    /// a fresh seed the ciphertext keeps (compact storage).
    pub fn encrypt(
        &self,
        pt: &CkksPlaintext,
        sampler: &mut Sampler,
    ) -> Result<CkksCiphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, basis, level) = (params.degree(), params.ciphertext_basis(), pt.level());
        let seed = sampler.seed();
        let a = Sampler::from_seed(seed).uniform::<Ntt>(basis, level)?;
        let mut c0 = a.clone();
        c0.mul_prefix(self.ntt());
        c0.neg_assign();
        let mut c0 = c0.into_coeff();
        c0.add_assign(&RnsPoly::from_i64(basis, level, &sampler.error(n))?)?;
        c0.add_assign(pt.poly())?;
        Ok(CkksCiphertext {
            params: Arc::clone(params),
            polys: vec![c0, a.into_coeff()],
            scale: pt.scale(),
            seed: Some(seed),
        })
    }

    /// Decrypts to the plaintext `c_0 + c_1·s (+ c_2·s²)` at the ciphertext's
    /// scale (decode it with [`CkksEncoder`](crate::ckks::CkksEncoder)).
    ///
    /// Only the lowest primes that hold the message are computed (the scale
    /// plus 30 bits): the plaintext comes out at that level.
    pub fn decrypt(&self, ct: &CkksCiphertext) -> Result<CkksPlaintext, Error> {
        check_same_params(self.params(), ct.params())?;
        let basis = self.params().ciphertext_basis();
        let level = limbs_for_scale(basis, ct.level(), ct.scale);
        let low = |p: &RnsPoly<crate::Coeff>| -> Result<RnsPoly<Ntt>, Error> {
            let mut p = p.clone();
            p.truncate_level(level)?;
            Ok(p.into_ntt())
        };
        let mut polys = ct.polys.iter().rev();
        let mut acc = low(polys.next().expect("ciphertexts are non-empty"))?;
        for c in polys {
            acc.mul_prefix(self.ntt());
            acc.add_assign(&low(c)?)?;
        }
        Ok(CkksPlaintext::new(
            self.params(),
            acc.into_coeff(),
            ct.scale,
        ))
    }
}
