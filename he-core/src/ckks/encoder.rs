//! The CKKS encoder: the canonical embedding through the "special" FFT.
//!
//! A plaintext polynomial `m` of degree `N` holds `N/2` complex slots, its
//! values at the primitive `2N`-th roots `ζ^(5^j)`, `j < N/2` (one root of
//! each conjugate pair). Ordering the slots by powers of 5 makes the Galois
//! automorphism `x ↦ x^5` rotate them by one, and `x ↦ x^(2N-1)` conjugate
//! them. Encoding inverts the embedding with an FFT specialised to that
//! order, scales by `Δ` and rounds; decoding evaluates it.

use std::sync::Arc;

use num_bigint::BigInt;
use num_complex::Complex64;

use crate::ckks::{Parameters, Plaintext};
use crate::{Coeff, Error, RnsBasis, RnsPoly};

/// Encodes and decodes vectors of up to `N/2` complex (or real) slots.
///
/// ```
/// use hefty_core::ckks::{Encoder, Parameters};
/// let params = Parameters::builder()
///     .degree(1 << 10).depth(1)
///     .insecure_disable_security_check_for_testing_only()
///     .build()?;
/// let enc = Encoder::new(&params);
/// let pt = enc.encode_real(&[0.5, -1.25, 3.0], params.max_level(), params.default_scale())?;
/// let back = enc.decode_real(&pt)?;
/// assert!((back[1] + 1.25).abs() < 1e-9);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Encoder {
    params: Arc<Parameters>,
    /// `5^j mod 2N`.
    rot_group: Vec<usize>,
    /// `exp(2πi·k/2N)` for `k = 0 ..= 2N`.
    roots: Vec<Complex64>,
}

fn bit_reverse_permute(v: &mut [Complex64]) {
    let bits = v.len().trailing_zeros();
    if bits == 0 {
        return;
    }
    for i in 0..v.len() {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if i < j {
            v.swap(i, j);
        }
    }
}

impl Encoder {
    /// The encoder of `params`.
    pub fn new(params: &Arc<Parameters>) -> Self {
        let n = params.degree();
        let m = 2 * n;
        let mut rot_group = Vec::with_capacity(n / 2);
        let mut g = 1usize;
        for _ in 0..n / 2 {
            rot_group.push(g);
            g = g * 5 % m;
        }
        let roots = (0..=m)
            .map(|k| Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * k as f64 / m as f64))
            .collect();
        Self {
            params: Arc::clone(params),
            rot_group,
            roots,
        }
    }

    /// The parameters it encodes for.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// The number of slots, `N/2`.
    pub fn slots(&self) -> usize {
        self.params.slots()
    }

    /// Evaluation at the slot roots (decoding direction), in place.
    fn embed(&self, v: &mut [Complex64]) {
        let size = v.len();
        let m = 2 * self.params.degree();
        bit_reverse_permute(v);
        let mut len = 2;
        while len <= size {
            let (lenh, lenq) = (len / 2, len * 4);
            for chunk in v.chunks_exact_mut(len) {
                for j in 0..lenh {
                    let idx = (self.rot_group[j] % lenq) * (m / lenq);
                    let u = chunk[j];
                    let w = chunk[j + lenh] * self.roots[idx];
                    chunk[j] = u + w;
                    chunk[j + lenh] = u - w;
                }
            }
            len *= 2;
        }
    }

    /// The inverse of [`Self::embed`] (encoding direction), in place.
    fn unembed(&self, v: &mut [Complex64]) {
        let size = v.len();
        let m = 2 * self.params.degree();
        let mut len = size;
        while len >= 2 {
            let (lenh, lenq) = (len / 2, len * 4);
            for chunk in v.chunks_exact_mut(len) {
                for j in 0..lenh {
                    let idx = (lenq - self.rot_group[j] % lenq) * (m / lenq);
                    let u = chunk[j] + chunk[j + lenh];
                    let w = (chunk[j] - chunk[j + lenh]) * self.roots[idx];
                    chunk[j] = u;
                    chunk[j + lenh] = w;
                }
            }
            len /= 2;
        }
        bit_reverse_permute(v);
        let inv = 1.0 / size as f64;
        v.iter_mut().for_each(|x| *x *= inv);
    }

    /// The real coefficients (not yet scaled) of the polynomial whose slots are `values`.
    fn coefficients(&self, values: &[Complex64]) -> Result<Vec<f64>, Error> {
        let slots = self.slots();
        if values.len() > slots {
            return Err(Error::InvalidParameters(format!(
                "{} values do not fit {slots} slots; split them over several ciphertexts",
                values.len()
            )));
        }
        if values
            .iter()
            .any(|z| !z.re.is_finite() || !z.im.is_finite())
        {
            return Err(Error::InvalidParameters(
                "cannot encode NaN or infinite values".into(),
            ));
        }
        let mut v = vec![Complex64::new(0.0, 0.0); slots];
        v[..values.len()].copy_from_slice(values);
        self.unembed(&mut v);
        let mut coeffs = vec![0.0; 2 * slots];
        for (j, z) in v.iter().enumerate() {
            coeffs[j] = z.re;
            coeffs[j + slots] = z.im;
        }
        Ok(coeffs)
    }

    /// Encodes complex `values` (up to `N/2`, the rest zero) at `level` and `scale`.
    pub fn encode(
        &self,
        values: &[Complex64],
        level: usize,
        scale: f64,
    ) -> Result<Plaintext, Error> {
        let coeffs = self.coefficients(values)?;
        let poly = encode_scaled(self.params.ciphertext_basis(), level, &coeffs, scale)?;
        Ok(Plaintext::new(&self.params, poly.into_ntt(), scale))
    }

    /// Encodes real `values` (up to `N/2`, the rest zero) at `level` and `scale`.
    pub fn encode_real(
        &self,
        values: &[f64],
        level: usize,
        scale: f64,
    ) -> Result<Plaintext, Error> {
        let z: Vec<Complex64> = values.iter().map(|&x| Complex64::new(x, 0.0)).collect();
        self.encode(&z, level, scale)
    }

    /// Decodes all `N/2` slots (the scale divided out).
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<Complex64>, Error> {
        crate::rlwe::check_same_params(&self.params, pt.params())?;
        // Only the primes that hold the message leave NTT form.
        let poly = pt.poly();
        let low = poly.prefix(limbs_for_scale(poly.basis(), poly.level(), pt.scale()))?;
        let coeffs = centred_coefficients(&low.into_coeff(), pt.scale())?;
        let slots = self.slots();
        let inv = 1.0 / pt.scale();
        let mut v: Vec<Complex64> = (0..slots)
            .map(|j| Complex64::new(coeffs[j] * inv, coeffs[j + slots] * inv))
            .collect();
        self.embed(&mut v);
        Ok(v)
    }

    /// Decodes the real parts of all `N/2` slots.
    pub fn decode_real(&self, pt: &Plaintext) -> Result<Vec<f64>, Error> {
        Ok(self.decode(pt)?.into_iter().map(|z| z.re).collect())
    }
}

/// `round(x)` reduced modulo `p`, for any finite `x` (beyond 2^63 through
/// its binary exponent).
fn residue_of(x: f64, m: &hefty_ntt::Modulus) -> u64 {
    let r = x.round();
    let (neg, a) = (r < 0.0, r.abs());
    let mag = if a < 9.2e18 {
        m.reduce(a as u64)
    } else {
        let bits = a.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
        let mant = (bits & ((1 << 52) - 1)) | (1 << 52);
        m.mul(m.reduce(mant), m.pow(2, exp as u64))
    };
    if neg { m.neg(mag) } else { mag }
}

/// The polynomial `round(scale·coeffs)` at `level`, or an error when a
/// coefficient does not fit `Q_level/2` (the value would wrap).
pub(crate) fn encode_scaled(
    basis: &Arc<RnsBasis>,
    level: usize,
    coeffs: &[f64],
    scale: f64,
) -> Result<RnsPoly<Coeff>, Error> {
    basis.check_level(level)?;
    if !(scale.is_finite() && scale >= 1.0) {
        return Err(Error::InvalidParameters(format!(
            "scale {scale} must be finite and at least 1"
        )));
    }
    // `f64::max` skips NaN, so non-finite values are refused first.
    if let Some(c) = coeffs.iter().find(|c| !c.is_finite()) {
        return Err(Error::InvalidParameters(format!(
            "cannot encode {c}: values must be finite numbers"
        )));
    }
    let max = coeffs.iter().fold(0.0f64, |a, &c| a.max(c.abs())) * scale;
    let log_q: f64 = basis.moduli()[..level]
        .iter()
        .map(|m| (m.value() as f64).log2())
        .sum();
    if max.log2() >= log_q - 2.0 {
        return Err(Error::InvalidParameters(format!(
            "values times the scale reach 2^{:.1}, beyond Q/4 = 2^{:.1} at level {level}: lower the scale or the values, or encode at a higher level",
            max.log2(),
            log_q - 2.0
        )));
    }
    let n = basis.degree();
    let mut data = Vec::with_capacity(level * n);
    for m in &basis.moduli()[..level] {
        data.extend(coeffs.iter().map(|&c| residue_of(c * scale, m)));
    }
    RnsPoly::from_raw(basis, level, data)
}

/// The fewest primes (at most `level`) whose product exceeds `scale` by
/// 2^30: enough to read a message `|m| < 2^28` exactly.
pub(crate) fn limbs_for_scale(basis: &RnsBasis, level: usize, scale: f64) -> usize {
    let want = scale.log2() + 30.0;
    let mut limbs = 1;
    let mut bits = (basis.moduli()[0].value() as f64).log2();
    while bits < want && limbs < level {
        bits += (basis.moduli()[limbs].value() as f64).log2();
        limbs += 1;
    }
    limbs
}

/// The centred coefficients of `poly` as `f64`, read from as few primes as
/// hold `scale` with 30 bits of headroom (CKKS keeps `|m|·Δ` far below the
/// base modulus, so the low primes determine it).
pub(crate) fn centred_coefficients(poly: &RnsPoly<Coeff>, scale: f64) -> Result<Vec<f64>, Error> {
    let basis = poly.basis();
    let n = poly.degree();
    let limbs = limbs_for_scale(basis, poly.level(), scale);
    let data = poly.to_host()?;
    let moduli = basis.moduli();
    Ok(match limbs {
        1 => {
            let q = moduli[0].value();
            data[..n]
                .iter()
                .map(|&x| {
                    if x > q / 2 {
                        -((q - x) as f64)
                    } else {
                        x as f64
                    }
                })
                .collect()
        }
        k if moduli[..k]
            .iter()
            .map(|m| 64 - m.value().leading_zeros())
            .sum::<u32>()
            <= 127 =>
        {
            // Garner's mixed radix: x = v0 + q0·(v1 + q1·(v2 + …)) with
            // v_i = [(x_i - Σ_{j<i} v_j·Q_j)·Q_i^-1]_{q_i}, Q_i = q0⋯q_{i-1};
            // the product fits u128, so no big integers (W32 decodes read
            // three or four primes).
            let moduli = &moduli[..k];
            let q: u128 = moduli.iter().map(|m| m.value() as u128).product();
            // Q_i^-1 mod q_i.
            let prefix_inv: Vec<_> = (0..k)
                .map(|i| {
                    let m = &moduli[i];
                    let qi = moduli[..i]
                        .iter()
                        .fold(1u64, |acc, p| m.mul(acc, m.reduce(p.value())));
                    m.shoup(m.inv(qi).expect("distinct primes"))
                })
                .collect();
            (0..n)
                .map(|j| {
                    let mut x: u128 = 0;
                    let mut radix: u128 = 1;
                    for (i, m) in moduli.iter().enumerate() {
                        // x so far, reduced mod q_i (high word first:
                        // reduce_u128 takes values below q_i·2^64).
                        let high = m.reduce((x >> 64) as u64) as u128;
                        let so_far = m.reduce_u128((high << 64) | (x as u64 as u128));
                        let v = m.mul_shoup(m.sub(data[i * n + j], so_far), prefix_inv[i]);
                        x += radix * v as u128;
                        radix *= m.value() as u128;
                    }
                    if x > q / 2 {
                        -((q - x) as f64)
                    } else {
                        x as f64
                    }
                })
                .collect()
        }
        _ => centred_big(&data, basis, n, limbs),
    })
}

/// [`centred_coefficients`] through big integers: any number of limbs.
fn centred_big(data: &[u64], basis: &RnsBasis, n: usize, limbs: usize) -> Vec<f64> {
    let q = num_bigint::BigInt::from(basis.product(limbs));
    let half = &q >> 1u32;
    (0..n)
        .map(|j| {
            let residues: Vec<u64> = (0..limbs).map(|i| data[i * n + j]).collect();
            let mut x = BigInt::from(basis.compose(&residues, limbs));
            if x > half {
                x -= &q;
            }
            bigint_to_f64(&x)
        })
        .collect()
}

fn bigint_to_f64(x: &BigInt) -> f64 {
    let (sign, mag) = (x.sign(), x.magnitude());
    let bits = mag.bits();
    let shift = bits.saturating_sub(64);
    let top = (mag >> shift).to_u64_digits().first().copied().unwrap_or(0) as f64;
    let v = top * (shift as f64).exp2();
    if sign == num_bigint::Sign::Minus {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Coeff, Sampler};

    #[test]
    fn garner_decoding_matches_big_integers() {
        // Four 31-bit primes (124 bits: W32 decodes) and three 40-bit ones.
        for (bits, count) in [(31, 4), (40, 3), (31, 2)] {
            let primes = hefty_ntt::ntt_primes(bits, 64, count).unwrap();
            let basis = Arc::new(RnsBasis::new(64, &primes).unwrap());
            let poly = Sampler::from_seed([bits as u8; 32])
                .uniform::<Coeff>(&basis, count)
                .unwrap();
            // A scale far above the basis: every limb is read.
            let scale = 2f64.powi(120);
            assert_eq!(limbs_for_scale(&basis, count, scale), count);
            let fast = centred_coefficients(&poly, scale).unwrap();
            let big = centred_big(&poly.to_host().unwrap(), &basis, 64, count);
            assert_eq!(fast, big, "{count} primes of {bits} bits");
        }
    }
}
