//! Sums of `x_i · f_i` with `f_i` 128-bit binary fractions, exact to 2^-64:
//! the rounding step of RNS decryption, scaling and exact base extension.

/// Accumulates `Σ x_i·f_i / 2^128` for `x_i < 2^64` and 128-bit fractions `f_i`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FixedAcc {
    int: u128,
    frac: u128,
}

impl FixedAcc {
    /// Adds `x · f / 2^128` (a 64 × 128-bit product; bits from 128 up are integer).
    #[inline]
    pub fn add_mul(&mut self, x: u64, f: u128) {
        let lo = x as u128 * (f as u64) as u128;
        let hi = x as u128 * (f >> 64);
        let (low, carry1) = lo.overflowing_add(hi << 64);
        let (sum, carry2) = self.frac.overflowing_add(low);
        self.frac = sum;
        self.int += (hi >> 64) + carry1 as u128 + carry2 as u128;
    }

    /// The sum rounded to the nearest integer.
    #[inline]
    pub fn round(&self) -> u128 {
        self.int + (self.frac >> 127)
    }
}

/// `floor(num · 2^128 / den)` for `num < den`: a fraction as 128-bit fixed point.
pub(crate) fn fraction_128(num: &num_bigint::BigUint, den: &num_bigint::BigUint) -> u128 {
    let f = (num << 128u32) / den;
    let d = f.to_u64_digits();
    d.first().copied().unwrap_or(0) as u128 | (d.get(1).copied().unwrap_or(0) as u128) << 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    #[test]
    fn matches_exact_rationals() {
        // Σ x_i · (a_i / b_i) against exact big-integer arithmetic.
        let terms = [
            (u64::MAX, 3u64, 7u64),
            (123_456_789, 1, 2),
            (1 << 63, 5, 1 << 50),
            (0, 1, 3),
            (987_654_321_987, 999, 1000),
        ];
        let mut acc = FixedAcc::default();
        let mut num = BigUint::ZERO;
        let mut den = BigUint::from(1u32);
        for &(x, a, b) in &terms {
            acc.add_mul(x, fraction_128(&BigUint::from(a), &BigUint::from(b)));
            // num/den += x·a/b
            num = num * b + BigUint::from(x) * a * &den;
            den *= b;
        }
        let exact_round = (num * 2u32 + &den) / (den * 2u32);
        assert_eq!(BigUint::from(acc.round()), exact_round);
    }
}
