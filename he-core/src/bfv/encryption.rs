//! BFV encryption (public and secret key), decryption and noise measurement.

use std::sync::Arc;

use num_bigint::BigUint;

use crate::bfv::{Ciphertext, Parameters, Plaintext, PublicKey, SecretKey};
use crate::ring::fixed_point::FixedAcc;
use crate::rlwe::check_same_params;
use crate::{Coeff, Error, Ntt, RnsPoly, Sampler};

/// `Δ·m + e` in coefficient form at `level`, `Δ = floor(Q_ℓ/t)`.
fn scaled_message_plus_error(
    params: &Arc<Parameters>,
    pt: &Plaintext,
    error: &[i64],
    level: usize,
) -> Result<RnsPoly<Coeff>, Error> {
    let mut poly = RnsPoly::<Coeff>::from_i64(params.ciphertext_basis(), level, error)?;
    poly.add_assign(&pt.scaled(level)?)?;
    Ok(poly)
}

impl PublicKey {
    /// Encrypts `pt`: `(b·u + e_1 + Δ·m, a·u + e_2)` with ternary `u`.
    pub fn encrypt(&self, pt: &Plaintext, sampler: &mut Sampler) -> Result<Ciphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, basis) = (params.degree(), params.ciphertext_basis());
        let level = basis.len();
        let u = RnsPoly::<Coeff>::from_i64(basis, level, &sampler.ternary(n)?)?.into_ntt();
        let mut c0 = self.b.clone();
        c0.mul_assign(&u)?;
        let mut c1 = self.a.clone();
        c1.mul_assign(&u)?;
        let mut c0 = c0.into_coeff();
        c0.add_assign(&scaled_message_plus_error(
            params,
            pt,
            &sampler.error(n)?,
            level,
        )?)?;
        let mut c1 = c1.into_coeff();
        c1.add_assign(&RnsPoly::from_i64(basis, level, &sampler.error(n)?)?)?;
        Ok(Ciphertext {
            params: Arc::clone(params),
            polys: vec![c0, c1],
            seed: None,
        })
    }
}

impl SecretKey {
    /// Encrypts `pt` symmetrically: `(-a·s + e + Δ·m, a)` where `a` is expanded
    /// from a fresh 32-byte seed, which the ciphertext keeps for compact storage.
    pub fn encrypt(&self, pt: &Plaintext, sampler: &mut Sampler) -> Result<Ciphertext, Error> {
        let params = self.params();
        check_same_params(params, pt.params())?;
        let (n, basis) = (params.degree(), params.ciphertext_basis());
        let level = basis.len();
        let seed = sampler.seed();
        let a = Sampler::from_seed(seed).uniform::<Ntt>(basis, level)?;
        let mut c0 = a.clone();
        c0.mul_prefix(self.ntt());
        c0.neg_assign();
        let mut c0 = c0.into_coeff();
        c0.add_assign(&scaled_message_plus_error(
            params,
            pt,
            &sampler.error(n)?,
            level,
        )?)?;
        Ok(Ciphertext {
            params: Arc::clone(params),
            polys: vec![c0, a.into_coeff()],
            seed: Some(seed),
        })
    }

    /// `[c_0 + c_1·s + c_2·s² + …]_Q` in coefficient form.
    fn phase(&self, ct: &Ciphertext) -> Result<RnsPoly<Coeff>, Error> {
        check_same_params(self.params(), ct.params())?;
        // Horner: ((c_k·s + c_{k-1})·s + …)·s + c_0.
        let mut polys = ct.polys.iter().rev();
        let mut acc = polys
            .next()
            .expect("ciphertexts are non-empty")
            .clone()
            .into_ntt();
        for c in polys {
            acc.mul_prefix(self.ntt());
            acc.add_assign(&c.clone().into_ntt())?;
        }
        Ok(acc.into_coeff())
    }

    /// Decrypts: `m = round(t/Q · phase) mod t`, computed in RNS (no big
    /// integers): with `q̃_i = [(Q/q_i)^-1]_{q_i}`,
    /// `t·x/Q = Σ_i x_i·(q̃_i·t/q_i) mod t`, and each `q̃_i·t/q_i` is kept as
    /// an integer part mod t and a 128-bit fraction.
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext, Error> {
        // Decryption crosses the bus: the phase comes to the host once.
        let x = self.phase(ct)?.to_host()?;
        let params = self.params();
        let (n, level) = (params.degree(), ct.level());
        let consts = params.level_constants(level);
        let t = params.plaintext();
        let moduli = &params.ciphertext_basis().moduli()[..level];
        let coeffs = (0..n)
            .map(|j| {
                let mut acc = FixedAcc::default();
                let mut whole = 0u64;
                for i in 0..moduli.len() {
                    let xi = x[i * n + j];
                    acc.add_mul(xi, consts.theta[i]);
                    whole = t.add(whole, t.mul(t.reduce(xi), consts.omega[i]));
                }
                t.add(whole, t.reduce_u128(acc.round() % t.value() as u128))
            })
            .collect();
        Ok(Plaintext::from_reduced(params, coeffs))
    }

    /// The invariant noise budget in bits: `log2(Q) - log2(2·‖[t·phase]_Q‖)`.
    /// Decryption is correct while it is positive; each operation spends some.
    /// Exact (big integers), meant for measurement rather than hot paths.
    pub fn noise_budget(&self, ct: &Ciphertext) -> Result<f64, Error> {
        let mut x = self.phase(ct)?;
        x.mul_scalar_assign(self.params().plaintext_modulus());
        let q = self.params().ciphertext_basis().product(ct.level());
        let max = x
            .to_centered()?
            .into_iter()
            .map(|c| c.magnitude().clone())
            .max()
            .unwrap_or(BigUint::ZERO);
        let bits = |v: &BigUint| {
            // log2 with the leading 64 bits: plenty for a budget in whole bits.
            let len = v.bits();
            let shift = len.saturating_sub(64);
            let top = (v >> shift).to_u64_digits().first().copied().unwrap_or(0) as f64;
            top.log2() + shift as f64
        };
        if max == BigUint::ZERO {
            return Ok(bits(&q) - 1.0);
        }
        Ok((bits(&q) - bits(&max) - 1.0).max(0.0))
    }
}
