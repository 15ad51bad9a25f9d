//! A word-size modulus with Barrett and Shoup arithmetic.

use crate::{Error, ShoupConst};

/// A modulus `2 <= p < 2^62` with its Barrett constant, for arithmetic on `u64` residues.
///
/// Standard operations take and return values in `[0, p)`. The `lazy` variants
/// keep values in `[0, 2p)` or `[0, 4p)` and say so; they exist so that
/// transforms reduce once at the end instead of after every step (Harvey's
/// trick). `p < 2^62` guarantees `4p` fits a word.
///
/// Reductions use selects, never branches on the values, so that the
/// arithmetic does not leak secret data through timing.
///
/// ```
/// use hefty_ntt::Modulus;
/// let q = Modulus::new(97)?;
/// assert_eq!(q.mul(50, 60), 50 * 60 % 97);
/// assert_eq!(q.mul(q.inv(5).unwrap(), 5), 1);
/// let w = q.shoup(42);
/// assert_eq!(q.mul_shoup(1000, w), 1000 * 42 % 97);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Modulus {
    p: u64,
    /// `floor(2^128 / p)`, high and low words.
    barrett_hi: u64,
    barrett_lo: u64,
}

/// `if x >= bound { x - bound } else { x }` for `x < 2 * bound`, without a branch.
#[inline(always)]
pub(crate) fn sub_if_ge(x: u64, bound: u64) -> u64 {
    // When x < bound the wrapping difference is huge, so `min` keeps x.
    x.min(x.wrapping_sub(bound))
}

impl Modulus {
    /// Largest supported modulus plus one.
    pub const MAX_EXCLUSIVE: u64 = 1 << 62;

    /// Builds the modulus `p`; fails unless `2 <= p < 2^62`.
    pub fn new(p: u64) -> Result<Self, Error> {
        if !(2..Self::MAX_EXCLUSIVE).contains(&p) {
            return Err(Error::ModulusOutOfRange(p));
        }
        let ratio = u128::MAX / p as u128 + u128::from(u128::MAX % p as u128 == p as u128 - 1);
        Ok(Self {
            p,
            barrett_hi: (ratio >> 64) as u64,
            barrett_lo: ratio as u64,
        })
    }

    /// The modulus value.
    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.p
    }

    /// Number of significant bits of `p`.
    pub fn bits(&self) -> u32 {
        64 - self.p.leading_zeros()
    }

    /// `a + b mod p` for `a, b < p`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        sub_if_ge(a + b, self.p)
    }

    /// `a - b mod p` for `a, b < p`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        sub_if_ge(a + self.p - b, self.p)
    }

    /// `-a mod p` for `a < p`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        sub_if_ge(self.p - a, self.p)
    }

    /// Reduces any `u64` into `[0, p)`.
    #[inline(always)]
    pub fn reduce(&self, a: u64) -> u64 {
        self.reduce_u128(a as u128)
    }

    /// Reduces a 128-bit value `x < p * 2^64` into `[0, p)` (Barrett).
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let (xh, xl) = ((x >> 64) as u64, x as u64);
        let (rh, rl) = (self.barrett_hi, self.barrett_lo);
        // q ~ floor(x * floor(2^128/p) / 2^128); the dropped low words make it
        // at most 2 below the true quotient.
        let lo_lo_hi = ((xl as u128 * rl as u128) >> 64) as u64;
        let lo_hi = xl as u128 * rh as u128;
        let hi_lo = xh as u128 * rl as u128;
        let mid = lo_lo_hi as u128 + (lo_hi as u64) as u128 + (hi_lo as u64) as u128;
        let q = (xh as u128 * rh as u128) + (lo_hi >> 64) + (hi_lo >> 64) + (mid >> 64);
        let r = xl.wrapping_sub((q as u64).wrapping_mul(self.p));
        self.reduce_4p(r)
    }

    /// `a * b mod p` for any `a, b` whose product is below `p * 2^64`
    /// (in particular all `a, b < p`).
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    /// Precomputes `w` (reduced mod p first) for [`Self::mul_shoup`].
    pub fn shoup(&self, w: u64) -> ShoupConst {
        let value = self.reduce(w);
        ShoupConst {
            value,
            quotient: (((value as u128) << 64) / self.p as u128) as u64,
        }
    }

    /// `a * w mod p` in `[0, 2p)`, for any `a: u64` (Shoup's lazy product).
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, a: u64, w: ShoupConst) -> u64 {
        let q = ((a as u128 * w.quotient as u128) >> 64) as u64;
        a.wrapping_mul(w.value).wrapping_sub(q.wrapping_mul(self.p))
    }

    /// `a * w mod p` in `[0, p)`, for any `a: u64`.
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: ShoupConst) -> u64 {
        sub_if_ge(self.mul_shoup_lazy(a, w), self.p)
    }

    /// Maps `[0, 2p)` to `[0, p)`.
    #[inline(always)]
    pub fn reduce_2p(&self, a: u64) -> u64 {
        sub_if_ge(a, self.p)
    }

    /// Maps `[0, 4p)` to `[0, p)`.
    #[inline(always)]
    pub fn reduce_4p(&self, a: u64) -> u64 {
        sub_if_ge(sub_if_ge(a, 2 * self.p), self.p)
    }

    /// `a + b` for `a, b < 2p`, result in `[0, 2p)`.
    #[inline(always)]
    pub fn add_lazy(&self, a: u64, b: u64) -> u64 {
        sub_if_ge(a + b, 2 * self.p)
    }

    /// `a - b + 2p` for `a, b < 2p`, result in `[0, 4p)` (no reduction).
    #[inline(always)]
    pub fn sub_lazy(&self, a: u64, b: u64) -> u64 {
        a + 2 * self.p - b
    }

    /// `a^e mod p` by square-and-multiply (the exponent is public).
    pub fn pow(&self, a: u64, mut e: u64) -> u64 {
        let mut base = self.reduce(a);
        let mut acc = self.reduce(1);
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// The inverse of `a` mod p, or `None` when `gcd(a, p) != 1`.
    pub fn inv(&self, a: u64) -> Option<u64> {
        // Extended Euclid on signed 128-bit values: works for any modulus, prime or not.
        let (mut r0, mut r1) = (self.p as i128, self.reduce(a) as i128);
        let (mut t0, mut t1) = (0i128, 1i128);
        while r1 != 0 {
            let q = r0 / r1;
            (r0, r1) = (r1, r0 - q * r1);
            (t0, t1) = (t1, t0 - q * t1);
        }
        (r0 == 1).then(|| t0.rem_euclid(self.p as i128) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_modulus() -> impl Strategy<Value = u64> {
        prop_oneof![
            2u64..1000,
            2u64..(1 << 31),
            2u64..(1 << 50),
            2u64..(1 << 62)
        ]
    }

    proptest! {
        #[test]
        fn arithmetic_matches_u128(p in arb_modulus(), a: u64, b: u64) {
            let m = Modulus::new(p).unwrap();
            let (a, b) = (a % p, b % p);
            let (pa, pb, pp) = (a as u128, b as u128, p as u128);
            prop_assert_eq!(m.add(a, b) as u128, (pa + pb) % pp);
            prop_assert_eq!(m.sub(a, b) as u128, (pa + pp - pb) % pp);
            prop_assert_eq!(m.neg(a) as u128, (pp - pa) % pp);
            prop_assert_eq!(m.mul(a, b) as u128, pa * pb % pp);
            let w = m.shoup(b);
            prop_assert_eq!(m.mul_shoup(a, w) as u128, pa * pb % pp);
        }

        #[test]
        fn reductions_match_u128(p in arb_modulus(), x: u128, a: u64) {
            let m = Modulus::new(p).unwrap();
            let x = x % ((p as u128) << 64);
            prop_assert_eq!(m.reduce_u128(x) as u128, x % p as u128);
            prop_assert_eq!(m.reduce(a), a % p);
        }

        #[test]
        fn lazy_ranges_hold(p in arb_modulus(), a: u64, b: u64, any: u64) {
            let m = Modulus::new(p).unwrap();
            let (a2, b2) = (a % (2 * p), b % (2 * p));
            let w = m.shoup(b);
            let lazy = m.mul_shoup_lazy(any, w);
            prop_assert!(lazy < 2 * p);
            prop_assert_eq!(lazy % p, ((any as u128 * (b % p) as u128) % p as u128) as u64);
            let s = m.add_lazy(a2, b2);
            prop_assert!(s < 2 * p);
            prop_assert_eq!(s % p, (a2 + b2) % p);
            let d = m.sub_lazy(a2, b2);
            prop_assert!(d < 4 * p);
            prop_assert_eq!(d % p, (a2 % p + p - b2 % p) % p);
            prop_assert_eq!(m.reduce_4p(d), d % p);
            prop_assert_eq!(m.reduce_2p(a2), a2 % p);
        }

        #[test]
        fn pow_and_inverse(p in arb_modulus(), a: u64, e in 0u64..1_000) {
            let m = Modulus::new(p).unwrap();
            let mut expect = 1 % p as u128;
            for _ in 0..e {
                expect = expect * (a % p) as u128 % p as u128;
            }
            prop_assert_eq!(m.pow(a, e) as u128, expect);
            match m.inv(a) {
                Some(i) => prop_assert_eq!(m.mul(i, a % p), 1 % p),
                None => prop_assert!(num_gcd(a % p, p) != 1),
            }
        }
    }

    fn num_gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }

    #[test]
    fn rejects_out_of_range() {
        assert_eq!(Modulus::new(0), Err(Error::ModulusOutOfRange(0)));
        assert_eq!(Modulus::new(1), Err(Error::ModulusOutOfRange(1)));
        assert_eq!(
            Modulus::new(1 << 62),
            Err(Error::ModulusOutOfRange(1 << 62))
        );
        assert!(Modulus::new((1 << 62) - 1).is_ok());
    }
}
