//! BFV under several plaintext moduli at once, recombined by CRT: the
//! plaintext space of Faster CryptoNets (two ~40-bit primes, 1099511922689
//! and 1099512004609, an ~80-bit product) or of any `k` pairwise coprime `t_i`.
//!
//! A plaintext is a polynomial with integer coefficients; part `i` holds it
//! modulo `t_i`. One call encrypts every part under its own parameters and
//! key, the same circuit runs on every part ([`CrtBfv::evaluate`]), and
//! decryption recombines each coefficient exactly modulo `T = ∏ t_i`
//! (num-bigint), read centred in `(-T/2, T/2]`.

use std::sync::Arc;

use num_bigint::{BigInt, BigUint};
use rayon::prelude::*;

use crate::bfv::{
    Ciphertext, Evaluator, Parameters, ParametersBuilder, Plaintext, PublicKey, SecretKey,
};
use crate::{Error, Sampler};

/// The most plaintext moduli one [`CrtBfv`] combines (Faster CryptoNets
/// used 15 for CIFAR-10): each costs a parameter set, keys and a circuit.
pub const MAX_PARTS: usize = 64;

/// Parameter sets that differ only in the plaintext modulus.
///
/// ```
/// use hefty_core::bfv::{Parameters, CrtBfv};
/// use hefty_core::Sampler;
/// let crt = CrtBfv::new(
///     Parameters::builder().degree(1024).ciphertext_moduli_bits(&[60, 60, 60])
///         .special_moduli_bits(&[61]).insecure_disable_security_check_for_testing_only(),
///     &[65537, 786433],
/// )?;
/// let mut rng = Sampler::from_os();
/// let sk = crt.secret_key(&mut rng);
/// // 40000² = 1.6e9 exceeds both moduli but not their product.
/// let x = crt.encrypt(&sk, &[40_000], &mut rng)?;
/// let sq = crt.evaluate(|i, ev| ev.multiply(&x[i], &x[i]))?;
/// assert_eq!(crt.decrypt(&sk, &sq)?[0], 1_600_000_000i64.into());
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CrtBfv {
    parts: Vec<Arc<Parameters>>,
    evaluators: Vec<Evaluator>,
    product: BigUint,
    /// `(T/t_i)·[(T/t_i)^-1]_{t_i}`: the CRT basis, 1 mod `t_i`, 0 mod the others.
    weights: Vec<BigUint>,
}

impl CrtBfv {
    /// One parameter set per plaintext modulus in `moduli` (pairwise
    /// coprime), the rest from `builder`.
    pub fn new(builder: ParametersBuilder, moduli: &[u64]) -> Result<Self, Error> {
        if moduli.is_empty() || moduli.len() > MAX_PARTS {
            return Err(Error::InvalidParameters(format!(
                "CRT over {} plaintext moduli: give 1 to {MAX_PARTS} (each is a full parameter set and circuit)",
                moduli.len()
            )));
        }
        for (i, &a) in moduli.iter().enumerate() {
            for &b in &moduli[i + 1..] {
                if num_integer_gcd(a, b) != 1 {
                    return Err(Error::InvalidParameters(format!(
                        "plaintext moduli {a} and {b} share a factor: CRT needs pairwise coprime moduli"
                    )));
                }
            }
        }
        let parts = moduli
            .iter()
            .map(|&t| builder.clone().plaintext_modulus(t).build())
            .collect::<Result<Vec<_>, _>>()?;
        let evaluators = parts.iter().map(Evaluator::new).collect();
        let product: BigUint = moduli.iter().map(|&t| BigUint::from(t)).product();
        let weights = moduli
            .iter()
            .map(|&t| {
                let t = BigUint::from(t);
                let t_hat = &product / &t;
                let inv = (&t_hat % &t)
                    .modinv(&t)
                    .expect("the moduli were checked pairwise coprime");
                t_hat * inv
            })
            .collect();
        Ok(Self {
            product,
            weights,
            parts,
            evaluators,
        })
    }

    /// Faster CryptoNets' setting: n = 8192, two ~40-bit plaintext moduli,
    /// 128-bit secure ciphertext moduli ([`FASTER_CRYPTONETS`](crate::bfv::FASTER_CRYPTONETS)).
    pub fn faster_cryptonets() -> Result<Self, Error> {
        crate::bfv::FASTER_CRYPTONETS.build()
    }

    /// The parameter set of each plaintext modulus.
    pub fn parts(&self) -> &[Arc<Parameters>] {
        &self.parts
    }

    /// `T = ∏ t_i`: recombined coefficients are exact in `(-T/2, T/2]`.
    pub fn plaintext_product(&self) -> &BigUint {
        &self.product
    }

    /// A secret key per part.
    pub fn secret_key(&self, sampler: &mut Sampler) -> Vec<SecretKey> {
        self.parts
            .iter()
            .map(|p| SecretKey::generate(p, sampler))
            .collect()
    }

    /// The public key of every part.
    pub fn public_key(
        &self,
        sk: &[SecretKey],
        sampler: &mut Sampler,
    ) -> Result<Vec<PublicKey>, Error> {
        self.check_parts(sk.len())?;
        sk.iter().map(|k| PublicKey::new(k, sampler)).collect()
    }

    fn check_parts(&self, got: usize) -> Result<(), Error> {
        if got == self.parts.len() {
            Ok(())
        } else {
            Err(Error::InvalidParameters(format!(
                "{got} parts given for {} plaintext moduli: pass one key or ciphertext per modulus",
                self.parts.len()
            )))
        }
    }

    /// The plaintexts of a polynomial with integer coefficients (at most n),
    /// one per modulus.
    pub fn plaintexts(&self, coeffs: &[i64]) -> Result<Vec<Plaintext>, Error> {
        self.parts
            .iter()
            .map(|p| {
                let t = p.plaintext_modulus() as i64;
                let reduced: Vec<u64> = coeffs.iter().map(|&c| c.rem_euclid(t) as u64).collect();
                Plaintext::from_coeffs(p, &reduced)
            })
            .collect()
    }

    /// Encrypts the integer polynomial `coeffs` under every part (secret key).
    pub fn encrypt(
        &self,
        sk: &[SecretKey],
        coeffs: &[i64],
        sampler: &mut Sampler,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.check_parts(sk.len())?;
        self.encrypt_with(coeffs, |i, pt| sk[i].encrypt(pt, sampler))
    }

    /// Encrypts the integer polynomial `coeffs` under every part (public key).
    pub fn encrypt_public(
        &self,
        pk: &[PublicKey],
        coeffs: &[i64],
        sampler: &mut Sampler,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.check_parts(pk.len())?;
        self.encrypt_with(coeffs, |i, pt| pk[i].encrypt(pt, sampler))
    }

    fn encrypt_with(
        &self,
        coeffs: &[i64],
        mut encrypt: impl FnMut(usize, &Plaintext) -> Result<Ciphertext, Error>,
    ) -> Result<Vec<Ciphertext>, Error> {
        self.plaintexts(coeffs)?
            .iter()
            .enumerate()
            .map(|(i, pt)| encrypt(i, pt))
            .collect()
    }

    /// Runs the same circuit on every part: `f(i, evaluator_i)` computes part
    /// `i` from the `i`-th parts of its inputs (in parallel across parts).
    pub fn evaluate<F>(&self, f: F) -> Result<Vec<Ciphertext>, Error>
    where
        F: Fn(usize, &Evaluator) -> Result<Ciphertext, Error> + Sync,
    {
        (0..self.parts.len())
            .into_par_iter()
            .map(|i| f(i, &self.evaluators[i]))
            .collect()
    }

    /// Decrypts every part and recombines each coefficient exactly: the
    /// integer coefficients, centred modulo `T`.
    pub fn decrypt(&self, sk: &[SecretKey], ct: &[Ciphertext]) -> Result<Vec<BigInt>, Error> {
        self.check_parts(sk.len())?;
        self.check_parts(ct.len())?;
        let pts = sk
            .iter()
            .zip(ct)
            .map(|(k, c)| k.decrypt(c))
            .collect::<Result<Vec<_>, _>>()?;
        self.recombine(&pts)
    }

    /// The integer coefficients (centred modulo `T`) of one plaintext per part.
    pub fn recombine(&self, pts: &[Plaintext]) -> Result<Vec<BigInt>, Error> {
        self.check_parts(pts.len())?;
        for (pt, p) in pts.iter().zip(&self.parts) {
            crate::rlwe::check_same_params(pt.params(), p)?;
        }
        let n = self.parts[0].degree();
        let half = &self.product >> 1u32;
        let t_big = BigInt::from(self.product.clone());
        // x = Σ c_i · weight_i mod T, centred.
        Ok((0..n)
            .map(|j| {
                let x: BigUint = pts
                    .iter()
                    .zip(&self.weights)
                    .map(|(pt, w)| w * pt.coeffs()[j])
                    .sum::<BigUint>()
                    % &self.product;
                if x > half {
                    BigInt::from(x) - &t_big
                } else {
                    BigInt::from(x)
                }
            })
            .collect())
    }
}

fn num_integer_gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
