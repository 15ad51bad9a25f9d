//! CKKS encryption (public and secret key) and decryption.

use std::sync::Arc;

use crate::backend::independent as parallel;
use crate::ckks::encoder::limbs_for_scale;
use crate::ckks::{Ciphertext, Plaintext, PublicKey, SecretKey};
use crate::rlwe::check_same_params;
use crate::{Coeff, Error, Ntt, RnsPoly, Sampler};

impl PublicKey {
    /// Encrypts `pt` at its level: `round((b·u + e_0, a·u + e_1) / P) + (m, 0)`
    /// computed modulo `Q_ℓ·P` with ternary `u`, so the encryption noise is
    /// divided by `P` (see [`PublicKey`]).
    pub fn encrypt(&self, pt: &Plaintext, sampler: &mut Sampler) -> Result<Ciphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, level) = (params.degree(), pt.level());
        let switcher = params.key_switcher();
        let (q, p) = (params.ciphertext_basis(), switcher.special_basis());
        let u = sampler.ternary(n)?;
        let (e0, e1) = (sampler.error(n)?, sampler.error(n)?);
        let u_q = RnsPoly::<Coeff>::from_i64(q, level, &u)?.into_ntt();
        let u_p = RnsPoly::<Coeff>::from_i64(p, p.len(), &u)?.into_ntt();
        // (key · u + e) on one basis, coefficient form.
        let times_u = |u: &RnsPoly<Ntt>, key: &RnsPoly<Ntt>, e: &[i64]| {
            let mut c = u.clone();
            c.mul_prefix(key);
            let mut c = c.into_coeff();
            c.add_assign(&RnsPoly::from_i64(c.basis(), c.level(), e)?)?;
            Ok::<_, Error>(c)
        };
        let half = |b: &RnsPoly<Ntt>, b_p: &RnsPoly<Ntt>, e: &[i64]| {
            let c_q = times_u(&u_q, b, e)?;
            let c_p = times_u(&u_p, b_p, e)?;
            Ok::<_, Error>(
                switcher
                    .divide_by_p()
                    .divide_coeff(c_q, Some(c_p))?
                    .into_ntt(),
            )
        };
        let [b_p, a_p] = self
            .special
            .as_ref()
            .expect("CKKS public keys extend to P (RlweParameters::PUBLIC_KEY_MOD_P)");
        let (c0, c1) = parallel::join(
            q.backend().as_ref(),
            || half(&self.b, b_p, &e0),
            || half(&self.a, a_p, &e1),
        );
        let mut c0 = c0?;
        c0.add_assign(pt.poly())?;
        Ok(Ciphertext {
            params: Arc::clone(params),
            polys: vec![c0, c1?],
            scale: pt.scale(),
            seed: None,
        })
    }
}

impl SecretKey {
    /// Encrypts `pt` symmetrically: `(-a·s + e + m, a)` with `a` expanded from
    /// a fresh seed the ciphertext keeps (compact storage).
    pub fn encrypt(&self, pt: &Plaintext, sampler: &mut Sampler) -> Result<Ciphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, basis, level) = (params.degree(), params.ciphertext_basis(), pt.level());
        let seed = sampler.seed();
        let a = Sampler::from_seed(seed).uniform::<Ntt>(basis, level)?;
        let mut c0 = RnsPoly::<Coeff>::from_i64(basis, level, &sampler.error(n)?)?.into_ntt();
        c0.add_assign(pt.poly())?;
        let mut a_s = a.clone();
        a_s.mul_prefix(self.ntt());
        c0.sub_assign(&a_s)?;
        Ok(Ciphertext {
            params: Arc::clone(params),
            polys: vec![c0, a],
            scale: pt.scale(),
            seed: Some(seed),
        })
    }

    /// Decrypts to the plaintext `c_0 + c_1·s (+ c_2·s²)` at the ciphertext's
    /// scale (decode it with [`Encoder`](crate::ckks::Encoder)).
    ///
    /// Only the lowest primes that hold the message are computed (the scale
    /// plus 30 bits): the plaintext comes out at that level.
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext, Error> {
        check_same_params(self.params(), ct.params())?;
        let basis = self.params().ciphertext_basis();
        let level = limbs_for_scale(basis, ct.level(), ct.scale);
        let mut polys = ct.polys.iter().rev();
        let mut acc = polys
            .next()
            .expect("ciphertexts are non-empty")
            .prefix(level)?;
        for c in polys {
            acc.mul_prefix(self.ntt());
            acc.add_assign(&c.prefix(level)?)?;
        }
        Ok(Plaintext::new(self.params(), acc, ct.scale))
    }
}
