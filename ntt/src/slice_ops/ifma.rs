//! AVX-512 IFMA kernels on eight 52-bit lanes, for primes below 2^50.
//!
//! A product of two values below `p < 2^50` is below 2^100: `vpmadd52luq`
//! adds its low 52 bits and `vpmadd52huq` its high 48 to two 64-bit
//! accumulators, two instructions per eight products with no reduction.
//! Fifteen such terms (and a reduced carry below `p`) leave the low
//! accumulator below 2^56 and the high one below `15·2^48`; folding the low
//! word's top bits into the high word keeps it below 2^52, so
//! `hi·2^52 + lo₅₂ mod p` takes two Shoup products (see
//! `crate::avx512_ifma`) and three conditional subtractions. Results are
//! fully reduced, hence bit-identical to the scalar path.

use std::arch::x86_64::*;

use super::ScalarRow;

const LOW52: i64 = (1 << 52) - 1;

/// Terms summed between folds (see the module documentation).
const GROUP: usize = 15;

/// Vectors of eight words summed side by side: four independent chains
/// hide the multiply-add latency.
const BLOCK: usize = 4;

/// A constant `c < p` with its 52-bit Shoup quotient `floor(c·2^52/p)`.
#[derive(Clone, Copy)]
struct Shoup52 {
    c: __m512i,
    cq: __m512i,
}

impl Shoup52 {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(c: u64, p: u64) -> Self {
        Self {
            c: _mm512_set1_epi64(c as i64),
            cq: _mm512_set1_epi64((((c as u128) << 52) / p as u128) as i64),
        }
    }

    /// `y·c mod p` in `[0, p)` for `y < 2^52`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(self, y: __m512i, p: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let q = _mm512_madd52hi_epu64(zero, y, self.cq);
        let yc = _mm512_madd52lo_epu64(zero, y, self.c);
        let qp = _mm512_madd52lo_epu64(zero, q, p);
        let lazy = _mm512_and_si512(_mm512_sub_epi64(yc, qp), _mm512_set1_epi64(LOW52));
        sub_if_ge(lazy, p)
    }
}

/// `x - b` when `x >= b`, else `x` (the wrapped difference is larger).
#[inline]
#[target_feature(enable = "avx512f")]
fn sub_if_ge(x: __m512i, b: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, b))
}

/// The reduction of one group's accumulators `lo + hi·2^52` (with
/// `lo < 2^56`, `hi < 15·2^48`) to `[0, p)`.
#[derive(Clone, Copy)]
struct Fold {
    p: __m512i,
    /// `2^52 mod p`.
    radix: Shoup52,
    /// `1`, to reduce a 52-bit word.
    one: Shoup52,
}

impl Fold {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(p: u64) -> Self {
        Self {
            p: _mm512_set1_epi64(p as i64),
            radix: Shoup52::new(((1u128 << 52) % p as u128) as u64, p),
            one: Shoup52::new(1, p),
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn apply(self, lo: __m512i, hi: __m512i) -> __m512i {
        let hi = _mm512_add_epi64(hi, _mm512_srli_epi64::<52>(lo));
        let lo = _mm512_and_si512(lo, _mm512_set1_epi64(LOW52));
        let sum = _mm512_add_epi64(self.radix.mul(hi, self.p), self.one.mul(lo, self.p));
        sub_if_ge(sum, self.p)
    }
}

/// `dst = Σ_j a_j·w_j mod p`, fully reduced.
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`; every input and weight below `p`;
/// every input slice and `dst` at least `len` words long; `a.len() == w.len()`.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul_scalar_sum(p: u64, dst: *mut u64, a: &[&[u64]], w: &[u64], len: usize) {
    let fold = Fold::new(p);
    let ws: Vec<__m512i> = w.iter().map(|&w| _mm512_set1_epi64(w as i64)).collect();
    let zero = _mm512_setzero_si512();
    let mut at = 0;
    while at + 8 * BLOCK <= len {
        let mut r = [zero; BLOCK];
        for (ga, gw) in a.chunks(GROUP).zip(ws.chunks(GROUP)) {
            let (mut lo, mut hi) = (r, [zero; BLOCK]);
            for (x, &wv) in ga.iter().zip(gw) {
                for b in 0..BLOCK {
                    // SAFETY: at + 8b + 8 <= len for every input.
                    let xv = unsafe { _mm512_loadu_si512(x.as_ptr().add(at + 8 * b).cast()) };
                    lo[b] = _mm512_madd52lo_epu64(lo[b], xv, wv);
                    hi[b] = _mm512_madd52hi_epu64(hi[b], xv, wv);
                }
            }
            for b in 0..BLOCK {
                r[b] = fold.apply(lo[b], hi[b]);
            }
        }
        for (b, rb) in r.iter().enumerate() {
            // SAFETY: at + 8b + 8 <= len.
            unsafe { _mm512_storeu_si512(dst.add(at + 8 * b).cast(), *rb) };
        }
        at += 8 * BLOCK;
    }
    while at + 8 <= len {
        let mut r = zero;
        for (ga, gw) in a.chunks(GROUP).zip(ws.chunks(GROUP)) {
            let (mut lo, mut hi) = (r, zero);
            for (x, &wv) in ga.iter().zip(gw) {
                // SAFETY: at + 8 <= len for every input.
                let xv = unsafe { _mm512_loadu_si512(x.as_ptr().add(at).cast()) };
                lo = _mm512_madd52lo_epu64(lo, xv, wv);
                hi = _mm512_madd52hi_epu64(hi, xv, wv);
            }
            r = fold.apply(lo, hi);
        }
        // SAFETY: at + 8 <= len.
        unsafe { _mm512_storeu_si512(dst.add(at).cast(), r) };
        at += 8;
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    for j in at..len {
        let mut r = 0;
        for (x, &w) in a.iter().zip(w) {
            r = m.add(r, m.mul(x[j], w));
        }
        // SAFETY: j < len.
        unsafe { *dst.add(j) = r };
    }
}

/// Words of one tile of [`mul_scalar_layer`]: one block of [`BLOCK`]
/// vectors. Every input's tile (256 bytes) stays in the core's L2 cache
/// while all rows are summed: 1,250 inputs take 320 KB.
const TILE: usize = 8 * BLOCK;

/// Every row of a layer, tile by tile (see `slice_ops::mul_scalar_layer`).
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`; every input, weight below `p`;
/// every input and output `len` words long; every row's index below
/// `a.len()` and as many weights as indices.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul_scalar_layer(
    p: u64,
    a: &[&[u64]],
    rows: &[ScalarRow<'_>],
    outs: &mut [&mut [u64]],
    len: usize,
) {
    let fold = Fold::new(p);
    let zero = _mm512_setzero_si512();
    let mut at = 0;
    while at + TILE <= len {
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            let mut r = [zero; BLOCK];
            for (gi, gw) in row.inputs.chunks(GROUP).zip(row.weights.chunks(GROUP)) {
                let (mut lo, mut hi) = (r, [zero; BLOCK]);
                for (&j, &w) in gi.iter().zip(gw) {
                    let x = a[j].as_ptr();
                    let wv = _mm512_set1_epi64(w as i64);
                    // The next tile of this input, for whichever row reads
                    // it first: a prefetch never faults, and the address
                    // is formed without `add`'s in-bounds requirement.
                    for b in 0..BLOCK {
                        _mm_prefetch::<_MM_HINT_T0>(x.wrapping_add(at + TILE + 8 * b).cast());
                    }
                    for b in 0..BLOCK {
                        // SAFETY: at + TILE <= len = a[j].len().
                        let xv = unsafe { _mm512_loadu_si512(x.add(at + 8 * b).cast()) };
                        lo[b] = _mm512_madd52lo_epu64(lo[b], xv, wv);
                        hi[b] = _mm512_madd52hi_epu64(hi[b], xv, wv);
                    }
                }
                for b in 0..BLOCK {
                    r[b] = fold.apply(lo[b], hi[b]);
                }
            }
            let dst = out[at..at + TILE].as_mut_ptr();
            for (b, rb) in r.iter().enumerate() {
                // SAFETY: 8b + 8 <= TILE words of `out` from `at`.
                unsafe { _mm512_storeu_si512(dst.add(8 * b).cast(), *rb) };
            }
        }
        at += TILE;
    }
    if at < len {
        let mut xs: Vec<&[u64]> = Vec::new();
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            xs.clear();
            xs.extend(row.inputs.iter().map(|&j| &a[j][at..len]));
            // SAFETY: the caller's guarantees, restricted to words at..len.
            unsafe { mul_scalar_sum(p, out[at..].as_mut_ptr(), &xs, row.weights, len - at) };
        }
    }
}
