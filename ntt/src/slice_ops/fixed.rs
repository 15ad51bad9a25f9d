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

/// Low 26 bits: the limb width of [`avx2_sum`].
#[cfg(target_arch = "x86_64")]
const LOW26: i64 = (1 << 26) - 1;

/// `dst[c] = round(Σ_t a_t[c] · f_t / 2^128) mod 2^64` on AVX2, exactly:
/// inputs split into 26-bit limbs `x0 + x1·2^26`, fractions into five
/// (`f0 + … + f4·2^104`), and the ten limb products (each below 2^52, from
/// `vpmuludq`) summed into six 64-bit column accumulators at weights
/// `2^(26c)` — at most two products per column and term, so fewer than
/// 2^10 terms cannot overflow them. One carry pass then rounds, as in the
/// AVX-512 IFMA kernel: the bits from 2^128 up are `col4 >> 24` and
/// `4·col5` once the lower columns' carries and half of 2^128 are in
/// `col4`.
///
/// # Safety
/// AVX2 present; every input below 2^50; every input slice and `dst` at
/// least `len` words long; `a.len() == f.len() < 2^10`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2_sum(dst: *mut u64, a: &[&[u64]], f: &[u128], len: usize) {
    use std::arch::x86_64::*;
    let limbs: Vec<[__m256i; 5]> = f
        .iter()
        .map(|&f| std::array::from_fn(|k| _mm256_set1_epi64x(((f >> (26 * k)) as i64) & LOW26)))
        .collect();
    let mask = _mm256_set1_epi64x(LOW26);
    let mut at = 0;
    while at + 4 <= len {
        let mut col = [_mm256_setzero_si256(); 6];
        for (x, l) in a.iter().zip(&limbs) {
            // SAFETY: at + 4 <= len words of every input.
            let x = unsafe { _mm256_loadu_si256(x.as_ptr().add(at).cast()) };
            let (x0, x1) = (_mm256_and_si256(x, mask), _mm256_srli_epi64::<26>(x));
            for (k, &fk) in l.iter().enumerate() {
                col[k] = _mm256_add_epi64(col[k], _mm256_mul_epu32(x0, fk));
                col[k + 1] = _mm256_add_epi64(col[k + 1], _mm256_mul_epu32(x1, fk));
            }
        }
        // Carries up to the 2^104 column, plus half of 2^128 (2^23 there).
        for c in 0..4 {
            col[c + 1] = _mm256_add_epi64(col[c + 1], _mm256_srli_epi64::<26>(col[c]));
        }
        let top = _mm256_add_epi64(col[4], _mm256_set1_epi64x(1 << 23));
        let r = _mm256_add_epi64(_mm256_srli_epi64::<24>(top), _mm256_slli_epi64::<2>(col[5]));
        // SAFETY: at + 4 <= len words of dst.
        unsafe { _mm256_storeu_si256(dst.add(at).cast(), r) };
        at += 4;
    }
    for c in at..len {
        // SAFETY: c < len.
        unsafe { *dst.add(c) = scalar_at(a, f, c) };
    }
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
            #[cfg(target_arch = "x86_64")]
            if small && is_x86_feature_detected!("avx2") {
                let mut direct = vec![7u64; len];
                // SAFETY: AVX2 detected, inputs below 2^50, fewer than 2^10
                // terms, every slice `len` words.
                unsafe { super::avx2_sum(direct.as_mut_ptr(), &ar, &fractions, len) };
                prop_assert_eq!(&direct, &got, "avx2");
            }
        }
    }
}
