//! Modular addition and subtraction four words at a time on AVX2's integer
//! lanes. Every modulus is below 2^62 and every input below it, so sums and
//! differences stay within signed 64-bit range and AVX2's signed compare
//! decides the correction (the unsigned `min` of the portable code has no
//! AVX2 instruction, so that code stays scalar).

use std::arch::x86_64::*;

use super::AddSub;

/// `a[i] = a[i] ± b(i) mod p` over the first `len / 4 · 4` words, where
/// `b(i)` is `b[i]` or, when `b` is `None`, the constant `c`; returns the
/// words done (the rest is the caller's).
///
/// # Safety
/// AVX2 present; `p < 2^62`; `a` (and `b`) at least `len` words.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn apply(
    op: AddSub,
    p: u64,
    a: *mut u64,
    b: Option<*const u64>,
    c: u64,
    len: usize,
) -> usize {
    let pv = _mm256_set1_epi64x(p as i64);
    let cv = _mm256_set1_epi64x(c as i64);
    let chunks = len / 4;
    for i in 0..chunks {
        // SAFETY: 4i + 4 <= len words of a and b.
        unsafe {
            let at = a.add(4 * i).cast::<__m256i>();
            let x = _mm256_loadu_si256(at);
            let y = match b {
                Some(b) => _mm256_loadu_si256(b.add(4 * i).cast()),
                None => cv,
            };
            let r = match op {
                AddSub::Add => {
                    let s = _mm256_add_epi64(x, y);
                    // s < p: keep s; otherwise s − p.
                    let below = _mm256_cmpgt_epi64(pv, s);
                    _mm256_sub_epi64(s, _mm256_andnot_si256(below, pv))
                }
                AddSub::Sub => {
                    let d = _mm256_sub_epi64(x, y);
                    // y > x: the difference wrapped below zero, add p.
                    let borrow = _mm256_cmpgt_epi64(y, x);
                    _mm256_add_epi64(d, _mm256_and_si256(borrow, pv))
                }
            };
            _mm256_storeu_si256(at, r);
        }
    }
    4 * chunks
}
