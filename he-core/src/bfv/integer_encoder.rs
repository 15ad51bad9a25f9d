//! The integer encoder of Faster CryptoNets: a fixed-point value becomes an
//! integer, the integer's base-`B` digits become plaintext coefficients.
//!
//! With `B = 2` a weight `±2^k` encodes as the monomial `±x^k`, which is what
//! makes sparse and monomial plaintext products cheap. Decoding evaluates the
//! polynomial at `x = B` with coefficients read centred modulo `t`, and
//! divides by the accumulated scale `2^bits`.
//!
//! Products of encodings are negacyclic convolutions: they stay exact while
//! every coefficient stays below `t/2` and the degree below `n`.
//! [`IntegerRange`] tracks a bound on both through a circuit, and
//! [`IntegerEncoder::check`] turns a violated bound into
//! [`Error::IntegerOverflow`] before anything is decrypted; decoding also
//! refuses coefficients that reached `t/4`, the mark of a wrap modulo `t`
//! (or of decryption failure) that a bound did not predict.

use std::sync::Arc;

use crate::Error;
use crate::bfv::{Parameters, Plaintext};

/// Encodes integers and fixed-point values as base-`B` digit polynomials.
///
/// ```
/// use hefty_core::bfv::{Parameters, IntegerEncoder};
/// let params = Parameters::preset_128(4096)?;
/// let enc = IntegerEncoder::new(&params);
/// let pt = enc.encode_fixed(-1.25)?;         // -1.25 · 2^15 = -40960 = -(2^15 + 2^13)
/// assert_eq!(enc.range_of(&pt).nonzero(), 2);
/// assert_eq!(enc.decode_fixed(&pt, enc.fractional_bits())?, -1.25);
/// # Ok::<(), hefty_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntegerEncoder {
    params: Arc<Parameters>,
    base: u64,
    balanced: bool,
    frac_bits: u32,
}

/// A bound on the coefficients of an integer-encoded value through a
/// circuit: the largest absolute coefficient, the degree, and how many
/// coefficients are non-zero (the cost of a sparse product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerRange {
    max_abs: u128,
    degree: usize,
    nonzero: usize,
}

impl IntegerRange {
    /// The largest absolute coefficient the value can have.
    pub fn max_abs(&self) -> u128 {
        self.max_abs
    }

    /// The highest degree with a possibly non-zero coefficient.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The number of possibly non-zero coefficients.
    pub fn nonzero(&self) -> usize {
        self.nonzero
    }

    /// The range of a sum.
    pub fn add(&self, other: &Self) -> Self {
        Self {
            max_abs: self.max_abs.saturating_add(other.max_abs),
            degree: self.degree.max(other.degree),
            nonzero: (self.degree.max(other.degree).saturating_add(1))
                .min(self.nonzero.saturating_add(other.nonzero)),
        }
    }

    /// The range of a product (a convolution: each output coefficient sums
    /// at most `min(nonzero)` products).
    pub fn mul(&self, other: &Self) -> Self {
        let terms = self.nonzero.min(other.nonzero) as u128;
        Self {
            max_abs: self
                .max_abs
                .saturating_mul(other.max_abs)
                .saturating_mul(terms),
            // Saturating: a degree that wrapped to a small number would make
            // `check` call an overflowing product exact.
            degree: self.degree.saturating_add(other.degree),
            nonzero: (self.degree.saturating_add(other.degree).saturating_add(1))
                .min(self.nonzero.saturating_mul(other.nonzero)),
        }
    }

    /// The range of a product by an integer constant.
    pub fn scale(&self, c: u64) -> Self {
        Self {
            max_abs: self.max_abs.saturating_mul(c as u128),
            ..*self
        }
    }
}

impl IntegerEncoder {
    /// Binary digits, 15 fractional bits (Faster CryptoNets' choice).
    pub fn new(params: &Arc<Parameters>) -> Self {
        Self {
            params: Arc::clone(params),
            base: 2,
            balanced: false,
            frac_bits: 15,
        }
    }

    /// Base-`B` digits in `[0, B)`, the sign on every digit. A larger base
    /// gives fewer, larger coefficients (less degree, more magnitude).
    pub fn with_base(params: &Arc<Parameters>, base: u64) -> Result<Self, Error> {
        Self::checked(params, base, false)
    }

    /// Balanced base-`B` digits (odd `B`) in `[-(B-1)/2, (B-1)/2]`: about
    /// half the coefficient magnitude of [`Self::with_base`].
    pub fn balanced(params: &Arc<Parameters>, base: u64) -> Result<Self, Error> {
        if base.is_multiple_of(2) {
            return Err(Error::InvalidParameters(format!(
                "a balanced base must be odd (got {base}); use 3, 5, 7, …"
            )));
        }
        Self::checked(params, base, true)
    }

    fn checked(params: &Arc<Parameters>, base: u64, balanced: bool) -> Result<Self, Error> {
        let t = params.plaintext_modulus();
        if base < 2 || base >= t / 2 {
            return Err(Error::InvalidParameters(format!(
                "integer encoding base {base} must be at least 2 and below t/2 = {}",
                t / 2
            )));
        }
        Ok(Self {
            params: Arc::clone(params),
            base,
            balanced,
            frac_bits: 15,
        })
    }

    /// The same encoder with `bits` fractional bits (at most 52).
    pub fn with_fractional_bits(mut self, bits: u32) -> Result<Self, Error> {
        if bits > 52 {
            return Err(Error::InvalidParameters(format!(
                "{bits} fractional bits: at most 52 (the precision of an f64)"
            )));
        }
        self.frac_bits = bits;
        Ok(self)
    }

    /// The fractional bits of one fresh fixed-point encoding (the scale of a
    /// product is the sum of its factors').
    pub fn fractional_bits(&self) -> u32 {
        self.frac_bits
    }

    /// The digit base.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The parameters it encodes for.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// Encodes the integer `z`.
    pub fn encode_integer(&self, z: i64) -> Result<Plaintext, Error> {
        let (n, t) = (self.params.degree(), self.params.plaintext_modulus());
        let digits = self.digits(z);
        if digits.len() > n {
            return Err(Error::IntegerOverflow(format!(
                "{z} needs {} base-{} digits but the ring holds {n}: use a larger base",
                digits.len(),
                self.base
            )));
        }
        let coeffs: Vec<u64> = digits
            .iter()
            .map(|&d| {
                if d < 0 {
                    t - d.unsigned_abs()
                } else {
                    d as u64
                }
            })
            .collect();
        Plaintext::from_coeffs(&self.params, &coeffs)
    }

    /// Encodes `round(x · 2^fractional_bits)`.
    pub fn encode_fixed(&self, x: f64) -> Result<Plaintext, Error> {
        let scaled = (x * (self.frac_bits as f64).exp2()).round();
        if !scaled.is_finite() || scaled.abs() >= 9.0e18 {
            return Err(Error::IntegerOverflow(format!(
                "{x} · 2^{} does not fit a 63-bit integer: use fewer fractional bits or smaller values",
                self.frac_bits
            )));
        }
        self.encode_integer(scaled as i64)
    }

    /// The signed digits of `z`, least significant first.
    fn digits(&self, z: i64) -> Vec<i64> {
        let b = self.base as i128;
        let mut rest = z as i128;
        let mut out = Vec::new();
        while rest != 0 {
            let d = if self.balanced {
                // Remainder in [-(b-1)/2, (b-1)/2].
                let r = rest.rem_euclid(b);
                if r > b / 2 { r - b } else { r }
            } else {
                // Truncated remainder: the sign of z on every digit.
                rest % b
            };
            out.push(d as i64);
            rest = (rest - d) / b;
        }
        out
    }

    /// The exact range of an encoded plaintext (its coefficients centred
    /// modulo `t`).
    pub fn range_of(&self, pt: &Plaintext) -> IntegerRange {
        let centred = pt.centered();
        IntegerRange {
            max_abs: centred
                .iter()
                .map(|c| c.unsigned_abs() as u128)
                .max()
                .unwrap_or(0),
            degree: centred.iter().rposition(|&c| c != 0).unwrap_or(0),
            nonzero: centred.iter().filter(|&&c| c != 0).count(),
        }
    }

    /// Fails with [`Error::IntegerOverflow`] unless a value of this range
    /// decodes exactly: every coefficient below `t/2`, the degree below `n`.
    pub fn check(&self, range: &IntegerRange) -> Result<(), Error> {
        let (n, t) = (self.params.degree(), self.params.plaintext_modulus());
        if range.degree >= n {
            return Err(Error::IntegerOverflow(format!(
                "the result reaches degree {} but the ring has degree {n}: products of encodings wrapped around x^n = -1; use a larger base or fewer digits (fewer fractional bits)",
                range.degree
            )));
        }
        if range.max_abs >= (t / 2) as u128 {
            return Err(Error::IntegerOverflow(format!(
                "coefficients may reach {} but t/2 = {}: the result wraps modulo t; use a larger t, several plaintext moduli (CRT), or a smaller scale",
                range.max_abs,
                t / 2
            )));
        }
        Ok(())
    }

    /// The integer `p(B)` of a (decrypted) plaintext.
    ///
    /// Fails with [`Error::IntegerOverflow`] when a coefficient reached `t/4`
    /// (a computation that wrapped modulo `t`, or a decryption failure) or
    /// the value does not fit an `i128`.
    pub fn decode_integer(&self, pt: &Plaintext) -> Result<i128, Error> {
        crate::rlwe::check_same_params(pt.params(), &self.params)?;
        let t = self.params.plaintext_modulus();
        let centred = pt.centered();
        if let Some(c) = centred.iter().find(|c| c.unsigned_abs() >= t / 4) {
            return Err(Error::IntegerOverflow(format!(
                "a coefficient reached {c}, beyond t/4 = {}: the computation wrapped modulo t (or the noise budget ran out); track it with IntegerRange and use a larger t or CRT",
                t / 4
            )));
        }
        let too_big = || {
            Error::IntegerOverflow(
                "the decoded value does not fit 127 bits; decode fewer digits' worth (a smaller scale)"
                    .into(),
            )
        };
        // Horner from the top coefficient.
        let top = centred.iter().rposition(|&c| c != 0).unwrap_or(0);
        let mut v: i128 = 0;
        for &c in centred[..=top].iter().rev() {
            v = v
                .checked_mul(self.base as i128)
                .and_then(|v| v.checked_add(c as i128))
                .ok_or_else(too_big)?;
        }
        Ok(v)
    }

    /// `p(B) / 2^scale_bits` (`scale_bits`: the sum of the factors'
    /// fractional bits, e.g. `2 ·` [`Self::fractional_bits`] after one product).
    pub fn decode_fixed(&self, pt: &Plaintext, scale_bits: u32) -> Result<f64, Error> {
        Ok(self.decode_integer(pt)? as f64 / (scale_bits as f64).exp2())
    }
}
