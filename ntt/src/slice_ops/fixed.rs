//! Sums of integers times 128-bit fractions, rounded: the step of an exact
//! base lift (how many times the centred value wrapped) and of BFV's
//! scale-and-round that no modular arithmetic can do.
//!
//! `round(Σ_i x_i · f_i / 2^128)` is computed exactly — the whole sum, not
//! a truncated one — so every path (portable 128-bit words, AVX-512 IFMA on
//! 52-bit limbs) gives the same word.

/// `round(Σ_i a[i][c] · fractions[i] / 2^128) mod 2^64` for one `c`, in
/// 128-bit words: the reference every vector path equals.
pub(super) fn scalar_at(a: &[&[u64]], fractions: &[u128], c: usize) -> u64 {
    // The sum as int·2^128 + frac, exactly (integer part modulo 2^128).
    let (mut int, mut frac) = (0u128, 0u128);
    for (x, &f) in a.iter().zip(fractions) {
        let x = x[c] as u128;
        let lo = x * (f as u64) as u128;
        let hi = x * (f >> 64);
        let (low, carry1) = lo.overflowing_add(hi << 64);
        let (sum, carry2) = frac.overflowing_add(low);
        frac = sum;
        int = int.wrapping_add((hi >> 64) + carry1 as u128 + carry2 as u128);
    }
    int.wrapping_add(frac >> 127) as u64
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;

    use super::super::{VECTOR_BOUND, round_fixed_sum};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against exact big-integer arithmetic: inputs anywhere below
        /// 2^64 (portable) or below the vector bound, fractions anywhere in
        /// 128 bits — including the extremes, whose carries cross every limb —
        /// over lengths that leave vector tails.
        #[test]
        fn rounded_sums_match_big_integers(len in 0usize..40, terms in 0usize..20, small: bool, seed: u64) {
            let bound = if small { VECTOR_BOUND } else { u64::MAX };
            let mut s = seed;
            let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); s };
            let a: Vec<Vec<u64>> = (0..terms)
                .map(|t| (0..len).map(|i| if (t + i) % 4 == 0 { bound - 1 } else { next() % bound }).collect())
                .collect();
            let fractions: Vec<u128> = (0..terms)
                .map(|t| if t % 3 == 0 { u128::MAX } else { (next() as u128) << 64 | next() as u128 })
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let mut got = vec![7u64; len];
            round_fixed_sum(&mut got, &ar, &fractions, bound).unwrap();
            for (c, &g) in got.iter().enumerate() {
                let sum: BigUint = (0..terms)
                    .map(|t| BigUint::from(a[t][c]) * BigUint::from(fractions[t]))
                    .sum();
                let rounded = (sum + (BigUint::from(1u8) << 127u32)) >> 128u32;
                let want = (rounded % (BigUint::from(1u8) << 64u32)).to_u64_digits().first().copied().unwrap_or(0);
                prop_assert_eq!(g, want, "word {}", c);
                prop_assert_eq!(super::scalar_at(&ar, &fractions, c), want);
            }
        }
    }
}
