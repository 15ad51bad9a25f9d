//! Linear combinations whose weights are all `±1`: sums and differences of
//! slices, as the integer-encoded (base-2) layers of Faster CryptoNets make
//! them — every power-of-two weight is a signed monomial, every pooling
//! weight a one. Adding needs no multiplier: the terms are added lazily in
//! 64-bit words, 32 at a time in registers, and reduced once per group by
//! the weighted kernel with a weight of one, so the result is the same
//! fully reduced word. Taken where the CPU lacks IFMA (2.2× the f64
//! products there); IFMA's products are as fast as these additions.

use super::VECTOR_BOUND;
use crate::Modulus;

/// Words summed per pass: the accumulator (2 KiB) and every input's run
/// stay in L1 while a group of terms is added.
const TILE: usize = 256;

/// Whether [`signed_sum`] applies: weights `1` or `p - 1` only, inputs
/// reduced, and a prime small enough that a group of at least three terms
/// fits under the reduction's 2^50 bound.
pub(super) fn applies(m: &Modulus, w: &[u64], input_bound: u64) -> bool {
    let p = m.value();
    p < VECTOR_BOUND >> 2 && input_bound <= p && w.iter().all(|&w| w == 1 || w == p - 1)
}

/// `dst = Σ_j ±a_j mod p`, the sign of term `j` minus where `w[j] = p - 1`
/// (see [`applies`]); every slice `dst.len()` long.
pub(super) fn signed_sum(
    m: &Modulus,
    dst: &mut [u64],
    a: &[&[u64]],
    w: &[u64],
    reduce: impl Fn(&mut [u64], &[u64]),
) {
    let p = m.value();
    // A carry below p and `group` terms below p each: below 2^50.
    let group = (VECTOR_BOUND / p) as usize - 1;
    let mut acc = [0u64; TILE];
    for start in (0..dst.len()).step_by(TILE) {
        let end = (start + TILE).min(dst.len());
        let acc = &mut acc[..end - start];
        let out = &mut dst[start..end];
        for (g, (ga, gw)) in a.chunks(group).zip(w.chunks(group)).enumerate() {
            if g == 0 {
                acc.fill(0);
            } else {
                acc.copy_from_slice(out);
            }
            accumulate(acc, ga, gw, start, p);
            reduce(out, acc);
        }
        if a.is_empty() {
            out.fill(0);
        }
    }
}

/// `acc[i] += x[start + i]` for weight one, `+= p - x[start + i]` for
/// `p - 1`, over every term: plain 64-bit additions, vectorized for the
/// widest unit the CPU has.
fn accumulate(acc: &mut [u64], a: &[&[u64]], w: &[u64], start: usize, p: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F detected.
            unsafe { accumulate_avx512(acc, a, w, start, p) };
            return;
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 detected.
            unsafe { accumulate_avx2(acc, a, w, start, p) };
            return;
        }
    }
    accumulate_portable(acc, a, w, start, p);
}

/// [`accumulate_portable`] on 512-bit vectors: 32 words in four registers
/// while every term is added.
///
/// # Safety
/// AVX-512F present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn accumulate_avx512(acc: &mut [u64], a: &[&[u64]], w: &[u64], start: usize, p: u64) {
    use std::arch::x86_64::*;
    let len = acc.len();
    assert!(a.iter().all(|x| x.len() >= start + len) && w.len() >= a.len());
    let pv = _mm512_set1_epi64(p as i64);
    let mut at = 0;
    while at + BLOCK <= len {
        // SAFETY: at + 32 <= len words of acc, and of every term from
        // `start` (asserted above).
        unsafe {
            let ap = acc.as_mut_ptr().add(at);
            let mut r = [_mm512_setzero_si512(); 4];
            for (b, rb) in r.iter_mut().enumerate() {
                *rb = _mm512_loadu_si512(ap.add(8 * b).cast());
            }
            for (x, &w) in a.iter().zip(w) {
                let xp = x.as_ptr().add(start + at);
                for (b, rb) in r.iter_mut().enumerate() {
                    let v = _mm512_loadu_si512(xp.add(8 * b).cast());
                    let v = if w == 1 { v } else { _mm512_sub_epi64(pv, v) };
                    *rb = _mm512_add_epi64(*rb, v);
                }
            }
            for (b, rb) in r.iter().enumerate() {
                _mm512_storeu_si512(ap.add(8 * b).cast(), *rb);
            }
        }
        at += BLOCK;
    }
    accumulate_portable(&mut acc[at..], a, w, start + at, p);
}

/// [`accumulate_portable`] on 256-bit vectors: 32 words in eight registers.
///
/// # Safety
/// AVX2 present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_avx2(acc: &mut [u64], a: &[&[u64]], w: &[u64], start: usize, p: u64) {
    use std::arch::x86_64::*;
    let len = acc.len();
    assert!(a.iter().all(|x| x.len() >= start + len) && w.len() >= a.len());
    let pv = _mm256_set1_epi64x(p as i64);
    let mut at = 0;
    while at + BLOCK <= len {
        // SAFETY: as in `accumulate_avx512`.
        unsafe {
            let ap = acc.as_mut_ptr().add(at);
            let mut r = [_mm256_setzero_si256(); 8];
            for (b, rb) in r.iter_mut().enumerate() {
                *rb = _mm256_loadu_si256(ap.add(4 * b).cast());
            }
            for (x, &w) in a.iter().zip(w) {
                let xp = x.as_ptr().add(start + at);
                for (b, rb) in r.iter_mut().enumerate() {
                    let v = _mm256_loadu_si256(xp.add(4 * b).cast());
                    let v = if w == 1 { v } else { _mm256_sub_epi64(pv, v) };
                    *rb = _mm256_add_epi64(*rb, v);
                }
            }
            for (b, rb) in r.iter().enumerate() {
                _mm256_storeu_si256(ap.add(4 * b).cast(), *rb);
            }
        }
        at += BLOCK;
    }
    accumulate_portable(&mut acc[at..], a, w, start + at, p);
}

/// The portable additions, one word at a time: the vector paths' tails
/// and their reference.
fn accumulate_portable(acc: &mut [u64], a: &[&[u64]], w: &[u64], start: usize, p: u64) {
    for (x, &w) in a.iter().zip(w) {
        let x = &x[start..start + acc.len()];
        for (s, &x) in acc.iter_mut().zip(x) {
            *s += if w == 1 { x } else { p - x };
        }
    }
}

/// Words summed in registers at a time by the vector paths: four 512-bit
/// vectors (eight 256-bit ones), so the partial sums stay out of memory
/// while every term of a group is added.
const BLOCK: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every compiled variant of the additions adds the same words as the
    /// plain loop (the vector units only change how many at once).
    #[test]
    fn every_variant_accumulates_the_same() {
        let p = crate::ntt_primes(44, 16, 1).unwrap()[0];
        let a: Vec<Vec<u64>> = (0..7u64)
            .map(|t| (0..300u64).map(|i| (i * 7919 + t * 104_729) % p).collect())
            .collect();
        let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
        let w: Vec<u64> = (0..7).map(|t| if t % 3 == 0 { p - 1 } else { 1 }).collect();
        let mut want = vec![5u64; 250];
        accumulate_portable(&mut want, &ar, &w, 41, p);
        let sum = |i: usize| -> u64 {
            5 + (0..7)
                .map(|t| {
                    if w[t] == 1 {
                        a[t][41 + i]
                    } else {
                        p - a[t][41 + i]
                    }
                })
                .sum::<u64>()
        };
        assert!((0..250).all(|i| want[i] == sum(i)));
        let mut got = vec![5u64; 250];
        accumulate(&mut got, &ar, &w, 41, p);
        assert_eq!(got, want);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                let mut got = vec![5u64; 250];
                // SAFETY: AVX2 detected.
                unsafe { accumulate_avx2(&mut got, &ar, &w, 41, p) };
                assert_eq!(got, want, "avx2");
            }
            if is_x86_feature_detected!("avx512f") {
                let mut got = vec![5u64; 250];
                // SAFETY: AVX-512F detected.
                unsafe { accumulate_avx512(&mut got, &ar, &w, 41, p) };
                assert_eq!(got, want, "avx512");
            }
        }
    }
}
