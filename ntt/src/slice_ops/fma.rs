//! Exact `f64` kernels: for `x, y < 2^50` and `p < 2^50`,
//! `hi = x·y`, `lo = fma(x, y, -hi)` is the exact product, `q = round(hi/p)`
//! is within 0.875 of `x·y/p` (three roundings of relative size 2^-53 on a
//! value below 2^50), so `r = fma(-q, p, hi) + lo` lies in `(-0.875p,
//! 0.875p)` and is exact; one conditional `+p` (and, when accumulating, one
//! conditional `-p`) gives the reduced result.

use std::arch::x86_64::*;

const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
const MAGIC_BITS: i64 = 0x4330_0000_0000_0000;
const MAGIC: f64 = 4_503_599_627_370_496.0;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn to_f64(v: __m256i) -> __m256d {
    _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(v, _mm256_set1_epi64x(MAGIC_BITS))),
        _mm256_set1_pd(MAGIC),
    )
}

/// `x ∈ [0, 2^52)` (an exact integer) to `u64`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn to_u64(x: __m256d) -> __m256i {
    _mm256_xor_si256(
        _mm256_castpd_si256(_mm256_add_pd(x, _mm256_set1_pd(MAGIC))),
        _mm256_set1_epi64x(MAGIC_BITS),
    )
}

/// `r + p` where `r < 0`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lift_negative(r: __m256d, p: __m256d) -> __m256d {
    let neg = _mm256_cmp_pd::<_CMP_LT_OQ>(r, _mm256_setzero_pd());
    _mm256_add_pd(r, _mm256_and_pd(neg, p))
}

/// `r - p` where `r >= p`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn drop_excess(r: __m256d, p: __m256d) -> __m256d {
    let ge = _mm256_cmp_pd::<_CMP_GE_OQ>(r, p);
    _mm256_sub_pd(r, _mm256_and_pd(ge, p))
}

/// `x·y - round(x·y·q_scale)·p`, centred, where `q_scale` is `1/p`
/// (pointwise) or `w/p` with `y = w` (by a constant).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn product(x: __m256d, y: __m256d, q_est: __m256d, p: __m256d) -> __m256d {
    let hi = _mm256_mul_pd(x, y);
    let lo = _mm256_fmsub_pd(x, y, hi);
    let q = _mm256_round_pd::<NEAREST>(q_est);
    _mm256_add_pd(_mm256_fnmadd_pd(q, p, hi), lo)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn finish<const ACC: bool>(r: __m256d, d: *const u64, p: __m256d) -> __m256d {
    if ACC {
        // SAFETY: the caller's loop passes an in-bounds pointer to 4 words.
        let acc = to_f64(unsafe { _mm256_loadu_si256(d as *const __m256i) });
        drop_excess(lift_negative(_mm256_add_pd(r, acc), p), p)
    } else {
        lift_negative(r, p)
    }
}

/// Pointwise product (accumulated into `dst` when `ACC`).
///
/// # Safety
/// AVX2 and FMA present; `p < 2^50`; every input below `p`; equal lengths.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mul<const ACC: bool>(
    p: u64,
    dst: *mut u64,
    a: *const u64,
    b: *const u64,
    len: usize,
) {
    let (pv, p_inv) = (_mm256_set1_pd(p as f64), _mm256_set1_pd(1.0 / p as f64));
    let chunks = len / 4;
    for i in 0..chunks {
        // SAFETY: 4i + 4 <= len for all three buffers (which may alias:
        // each vector is loaded before its result is stored).
        unsafe {
            let x = to_f64(_mm256_loadu_si256(a.add(4 * i) as *const __m256i));
            let y = to_f64(_mm256_loadu_si256(b.add(4 * i) as *const __m256i));
            let r = product(x, y, _mm256_mul_pd(_mm256_mul_pd(x, y), p_inv), pv);
            let d = dst.add(4 * i);
            _mm256_storeu_si256(d as *mut __m256i, to_u64(finish::<ACC>(r, d, pv)));
        }
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    for j in 4 * chunks..len {
        // SAFETY: j < len.
        unsafe {
            let prod = m.mul(*a.add(j), *b.add(j));
            *dst.add(j) = if ACC { m.add(*dst.add(j), prod) } else { prod };
        }
    }
}

/// `dst = Σ_j a_j·b_j`: centred exact products summed in `f64` (seven
/// of magnitude below `0.875p < 2^50`, plus a reduced carry, stay below
/// 2^53, so every sum is exact), one reduction per group of seven.
///
/// # Safety
/// AVX2 and FMA present; `p < 2^50`; every input below `p`; every input
/// slice and `dst` at least `len` words long.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mul_sum(p: u64, dst: *mut u64, a: &[&[u64]], b: &[&[u64]], len: usize) {
    const GROUP: usize = 7;
    let (pv, p_inv) = (_mm256_set1_pd(p as f64), _mm256_set1_pd(1.0 / p as f64));
    let chunks = len / 4;
    for i in 0..chunks {
        let mut r = _mm256_setzero_pd();
        for (ga, gb) in a.chunks(GROUP).zip(b.chunks(GROUP)) {
            let mut sum = r;
            for (x, y) in ga.iter().zip(gb) {
                let (x, y) = (x.as_ptr(), y.as_ptr());
                // SAFETY: 4i + 4 <= len for every input.
                let (x, y) = unsafe {
                    (
                        to_f64(_mm256_loadu_si256(x.add(4 * i) as *const __m256i)),
                        to_f64(_mm256_loadu_si256(y.add(4 * i) as *const __m256i)),
                    )
                };
                sum = _mm256_add_pd(
                    sum,
                    product(x, y, _mm256_mul_pd(_mm256_mul_pd(x, y), p_inv), pv),
                );
            }
            // |sum| < 8p: q = round(sum/p) leaves |sum - q·p| <= p/2 + 8,
            // computed exactly by one fused multiply-add.
            let q = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(sum, p_inv));
            r = lift_negative(_mm256_fnmadd_pd(q, pv, sum), pv);
        }
        // SAFETY: 4i + 4 <= len.
        unsafe { _mm256_storeu_si256(dst.add(4 * i) as *mut __m256i, to_u64(r)) };
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    for j in 4 * chunks..len {
        let mut r = 0;
        for (x, y) in a.iter().zip(b) {
            r = m.add(r, m.mul(x[j], y[j]));
        }
        // SAFETY: j < len.
        unsafe { *dst.add(j) = r };
    }
}

/// Product by the constant `w < p` (accumulated into `dst` when `ACC`).
///
/// # Safety
/// AVX2 and FMA present; `p < 2^50`; inputs below 2^50; `w < p`; equal lengths.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mul_scalar<const ACC: bool>(
    p: u64,
    dst: *mut u64,
    a: *const u64,
    w: u64,
    len: usize,
) {
    let pv = _mm256_set1_pd(p as f64);
    let (wv, w_over_p) = (
        _mm256_set1_pd(w as f64),
        _mm256_set1_pd(w as f64 / p as f64),
    );
    let chunks = len / 4;
    for i in 0..chunks {
        // SAFETY: 4i + 4 <= len for both buffers (which may alias).
        unsafe {
            let x = to_f64(_mm256_loadu_si256(a.add(4 * i) as *const __m256i));
            let r = product(x, wv, _mm256_mul_pd(x, w_over_p), pv);
            let d = dst.add(4 * i);
            _mm256_storeu_si256(d as *mut __m256i, to_u64(finish::<ACC>(r, d, pv)));
        }
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    for j in 4 * chunks..len {
        // SAFETY: j < len.
        unsafe {
            let prod = m.mul(m.reduce(*a.add(j)), w);
            *dst.add(j) = if ACC { m.add(*dst.add(j), prod) } else { prod };
        }
    }
}

/// `dst = Σ_j a_j·w_j` for constants `w_j`: as [`mul_sum`] with each
/// constant's `w/p` computed once instead of one quotient per word. Inputs
/// may exceed `p`: below 2^50, `x·w/p < 2^50` still, so the quotient bound
/// of the module documentation holds.
///
/// # Safety
/// AVX2 and FMA present; `p < 2^50`; every weight below `p`, every input
/// below 2^50; every
/// input slice and `dst` at least `len` words long; `a.len() == w.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mul_scalar_sum(p: u64, dst: *mut u64, a: &[&[u64]], w: &[u64], len: usize) {
    let (pv, p_inv) = (_mm256_set1_pd(p as f64), _mm256_set1_pd(1.0 / p as f64));
    let group = group_for(p);
    let wf: Vec<f64> = w.iter().map(|&w| w as f64).collect();
    let mut at = 0;
    // BLOCK vectors side by side: one chain of additions per vector was
    // latency-bound on the few-term sums of base conversions.
    while at + TILE <= len {
        let load = |t: usize, b: usize| {
            // SAFETY: at + TILE <= len words of every input, 4b + 4 <= TILE.
            to_f64(unsafe { _mm256_loadu_si256(a[t].as_ptr().add(at + 4 * b).cast()) })
        };
        // SAFETY: at + TILE <= len words of dst.
        unsafe { store(dst.add(at), row_sum(pv, p_inv, group, load, &wf)) };
        at += TILE;
    }
    let chunks = len / 4;
    for i in at / 4..chunks {
        let mut r = _mm256_setzero_pd();
        for (ga, gw) in a.chunks(group).zip(wf.chunks(group)) {
            let mut sum = r;
            for (x, &w) in ga.iter().zip(gw) {
                // SAFETY: 4i + 4 <= len for every input.
                let x =
                    to_f64(unsafe { _mm256_loadu_si256(x.as_ptr().add(4 * i) as *const __m256i) });
                let wv = _mm256_set1_pd(w);
                // The quotient estimate as in `row_sum`: three roundings.
                let q_est = _mm256_mul_pd(x, _mm256_mul_pd(wv, p_inv));
                sum = _mm256_add_pd(sum, product(x, wv, q_est, pv));
            }
            // As in `row_sum`: |sum| < 2^53, one exact fused step to (-p, p).
            let q = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(sum, p_inv));
            r = lift_negative(_mm256_fnmadd_pd(q, pv, sum), pv);
        }
        // SAFETY: 4i + 4 <= len.
        unsafe { _mm256_storeu_si256(dst.add(4 * i) as *mut __m256i, to_u64(r)) };
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    for j in 4 * chunks..len {
        let mut r = 0;
        for (x, &w) in a.iter().zip(w) {
            r = m.add(r, m.mul(x[j], w));
        }
        // SAFETY: j < len.
        unsafe { *dst.add(j) = r };
    }
}

/// Terms [`row_sum`] adds between reductions modulo `p`: each centred
/// product is below `0.875p` in magnitude and the carry below `p`, and the
/// sum must stay below 2^53 to be exact, so `1 + 0.875·g < 2^53/p` (one
/// term fewer for the estimate's own rounding). Seven for primes just
/// below 2^50, thousands for 40-bit primes — whose rows then reduce once
/// instead of once per seven terms.
pub(super) fn group_for(p: u64) -> usize {
    let g = ((2f64.powi(53) / p as f64 - 1.0) / 0.875).floor() as usize;
    g.saturating_sub(1).clamp(7, 1 << 20)
}

/// Vectors of four words summed side by side in [`row_sum`]: independent
/// chains of additions hide each one's latency (one chain per four words
/// was latency-bound). Eight measured 0.31–0.35 ns per word-term against
/// four's 0.36–0.48 (125-term rows, alternating runs, Zen 3).
const BLOCK: usize = 8;

/// Words of one tile of [`mul_scalar_layer`]: every input's tile, packed
/// with the others as `f64`, stays in the core's L2 cache while every row
/// is summed (1,250 inputs take 320 KB).
const TILE: usize = 4 * BLOCK;

/// `Σ_t x_t · w_t mod p` over one row's terms for [`BLOCK`] vectors side by
/// side (`load(t, b)` = vector `b` of term `t`'s input as exact `f64`
/// integers below 2^50; `w_t < p` as `f64`), fully reduced, as
/// [`mul_scalar_sum`] computes each word. Each term's quotient estimate
/// `x·(w·(1/p))` takes three roundings, within the module's bound.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn row_sum(
    pv: __m256d,
    p_inv: __m256d,
    group: usize,
    load: impl Fn(usize, usize) -> __m256d,
    weights: &[f64],
) -> [__m256d; BLOCK] {
    let mut r = [_mm256_setzero_pd(); BLOCK];
    for (g, gw) in weights.chunks(group).enumerate() {
        let mut sum = r;
        for (t, &w) in gw.iter().enumerate() {
            let (wv, t) = (_mm256_set1_pd(w), g * group + t);
            let wq = _mm256_mul_pd(wv, p_inv);
            for (b, s) in sum.iter_mut().enumerate() {
                let x = load(t, b);
                *s = _mm256_add_pd(*s, product(x, wv, _mm256_mul_pd(x, wq), pv));
            }
        }
        for (rb, s) in r.iter_mut().zip(sum) {
            // |s| < 2^53: q = round(s/p) within one, so one exact fused
            // step leaves (-p, p), then [0, p).
            let q = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(s, p_inv));
            *rb = lift_negative(_mm256_fnmadd_pd(q, pv, s), pv);
        }
    }
    r
}

/// Stores [`BLOCK`] reduced vectors at `dst`.
///
/// # Safety
/// `dst` valid for `4·BLOCK` words.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store(dst: *mut u64, r: [__m256d; BLOCK]) {
    for (b, rb) in r.iter().enumerate() {
        // SAFETY: the caller's: 4b + 4 <= 4·BLOCK words from dst.
        unsafe { _mm256_storeu_si256(dst.add(4 * b).cast(), to_u64(*rb)) };
    }
}

/// Every row of a layer, tile by tile (see `slice_ops::mul_scalar_layer`):
/// each tile of every input is converted to `f64` once and packed beside
/// the others, then every row sums its terms over the tile's
/// [`BLOCK`] vectors side by side. Returns the words done: whole tiles,
/// the rest (fewer than a tile) is the caller's.
///
/// # Safety
/// AVX2 and FMA present; `p < 2^50`; every input and weight below `p`;
/// every input and output `len` words long; every row's index below
/// `a.len()` and as many weights as indices.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mul_scalar_layer(
    p: u64,
    a: &[&[u64]],
    rows: &[super::ScalarRow<'_>],
    outs: &mut [&mut [u64]],
    len: usize,
) -> usize {
    let (pv, p_inv) = (_mm256_set1_pd(p as f64), _mm256_set1_pd(1.0 / p as f64));
    let group = group_for(p);
    // Weights below 2^50 convert exactly; once here, not once per tile.
    let weights: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| row.weights.iter().map(|&w| w as f64).collect())
        .collect();
    let mut packed = vec![0f64; a.len() * TILE];
    let mut at = 0;
    while at + TILE <= len {
        for (dst, x) in packed.chunks_exact_mut(TILE).zip(a) {
            for b in 0..BLOCK {
                // SAFETY: at + TILE <= len words of x; dst holds TILE words.
                unsafe {
                    let v = _mm256_loadu_si256(x.as_ptr().add(at + 4 * b).cast());
                    _mm256_storeu_pd(dst.as_mut_ptr().add(4 * b), to_f64(v));
                }
            }
            // The next tile of this input, for the next packing (a prefetch
            // never faults; its address is formed without `add`'s bounds).
            for line in 0..TILE / 8 {
                _mm_prefetch::<_MM_HINT_T1>(x.as_ptr().wrapping_add(at + TILE + 8 * line).cast());
            }
        }
        let base = packed.as_ptr();
        for ((row, w), out) in rows.iter().zip(&weights).zip(outs.iter_mut()) {
            // SAFETY: every index is below a.len(), so each input's words
            // start a TILE-word block of `packed`, and 4b + 4 <= TILE.
            let load = |t: usize, b: usize| unsafe {
                _mm256_loadu_pd(base.add(row.inputs[t] * TILE + 4 * b))
            };
            // SAFETY: out has len >= at + TILE words.
            unsafe { store(out.as_mut_ptr().add(at), row_sum(pv, p_inv, group, load, w)) };
        }
        at += TILE;
    }
    at
}
