//! AVX2 + FMA kernels on four `f64` lanes, for primes below 2^50.
//!
//! AVX2 has no 64×64-bit multiply, but it has two fused multiply-add units.
//! For integers below 2^53 a product `y·w` splits exactly into
//! `hi = fl(y·w)` and `lo = fma(y, w, -hi)`, so with `w' = w/p` precomputed,
//! `q = round(y·w')` and `r = fma(-q, p, hi) + lo` is `y·w - q·p` exactly:
//! a modular product in six vector instructions, with no integer multiply.
//!
//! Values are kept as signed (centred) doubles. The bound analysis, with
//! `p < 2^50` and `|w| <= p/2`:
//! - `round(y·w')` is off from `y·w/p` by at most `|y|/8p` (two roundings of
//!   relative size 2^-53), so `|r| <= (0.5 + |y|/8p)·p`;
//! - the forward butterfly reduces `x` to `|x| <= p/2` (`x - round(x/p)·p`) and
//!   outputs `x ± r`: from inputs below `2p` every value stays below `1.25p`;
//! - the inverse butterfly reduces `x + y` the same way and multiplies `x - y`,
//!   so values stay below `0.75p` after the first stage.
//!
//! All intermediates are integers below 2^52 in magnitude, hence exact.
//! The data stay in the caller's `u64` buffer, reinterpreted as `f64` between
//! the conversions at either end.

use std::arch::x86_64::*;

use crate::scalar::BLOCK;
use crate::twiddles::Twiddles;

/// Round to nearest, exceptions suppressed.
const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
/// The bit pattern of 2^52 as an `f64`: `or`-ing a `u64 < 2^52` into it gives `2^52 + v`.
const MAGIC_BITS: u64 = 0x4330_0000_0000_0000;
const MAGIC: f64 = 4_503_599_627_370_496.0;

/// A twiddle and its quotient `w / p`, both as centred doubles.
#[derive(Debug, Clone, Default)]
struct Table {
    w: Vec<f64>,
    wq: Vec<f64>,
}

impl Table {
    fn push(&mut self, w: u64, p: u64) {
        let centred = if w > p / 2 {
            w as i64 - p as i64
        } else {
            w as i64
        } as f64;
        self.w.push(centred);
        self.wq.push(centred / p as f64);
    }

    fn from_values(values: impl IntoIterator<Item = u64>, p: u64) -> Self {
        let mut t = Table::default();
        values.into_iter().for_each(|w| t.push(w, p));
        t
    }
}

/// Twiddles laid out for the vector kernels.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    p: f64,
    p_inv: f64,
    /// Indexed like the scalar tables: `m + i`.
    fwd: Table,
    inv: Table,
    /// Stage with `t = 2`: per 8 points, `[w_i, w_i, w_i+1, w_i+1]`.
    fwd2: Table,
    inv2: Table,
    /// Stage with `t = 1`: per 8 points, `[w_g, w_g+2, w_g+1, w_g+3]`
    /// (the lane order `unpacklo`/`unpackhi` produce).
    fwd1: Table,
    inv1: Table,
    /// `1/n` and `ψ^-bitrev(1)/n` for the last inverse stage.
    last: Table,
}

impl Tables {
    pub fn new(fwd: &Twiddles, inv: &Twiddles, n_inv: u64, n_inv_w: u64, p: u64) -> Self {
        let n = fwd.w.len();
        let t2 = |tw: &Twiddles| {
            let m = n / 4;
            Table::from_values((0..n / 2).map(|k| tw.w[m + k / 2]), p)
        };
        let t1 = |tw: &Twiddles| {
            let m = n / 2;
            const LANE_GROUP: [usize; 4] = [0, 2, 1, 3];
            Table::from_values(
                (0..n / 2).map(|k| tw.w[m + (k & !3) + LANE_GROUP[k & 3]]),
                p,
            )
        };
        Self {
            p: p as f64,
            p_inv: 1.0 / p as f64,
            fwd: Table::from_values(fwd.w.iter().copied(), p),
            inv: Table::from_values(inv.w.iter().copied(), p),
            fwd2: t2(fwd),
            inv2: t2(inv),
            fwd1: t1(fwd),
            inv1: t1(inv),
            last: Table::from_values([n_inv, n_inv_w], p),
        }
    }
}

/// Broadcast constants of one transform.
#[derive(Clone, Copy)]
struct Consts {
    p: __m256d,
    p_inv: __m256d,
}

/// `y·w mod p` as a centred value, `|result| <= (0.5 + |y|/8p)·p`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mul_mod(y: __m256d, w: __m256d, wq: __m256d, c: Consts) -> __m256d {
    let hi = _mm256_mul_pd(y, w);
    let lo = _mm256_fmsub_pd(y, w, hi);
    let q = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(y, wq));
    _mm256_add_pd(_mm256_fnmadd_pd(q, c.p, hi), lo)
}

/// `x mod p`, centred: `|result| <= p/2` (plus a rounding sliver).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn reduce(x: __m256d, c: Consts) -> __m256d {
    let q = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(x, c.p_inv));
    _mm256_fnmadd_pd(q, c.p, x)
}

/// Forward butterfly: `(x + y·w, x - y·w)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ct(x: __m256d, y: __m256d, w: __m256d, wq: __m256d, c: Consts) -> (__m256d, __m256d) {
    let x = reduce(x, c);
    let v = mul_mod(y, w, wq, c);
    (_mm256_add_pd(x, v), _mm256_sub_pd(x, v))
}

/// Inverse butterfly: `(x + y, (x - y)·w)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn gs(x: __m256d, y: __m256d, w: __m256d, wq: __m256d, c: Consts) -> (__m256d, __m256d) {
    let u = reduce(_mm256_add_pd(x, y), c);
    let v = mul_mod(_mm256_sub_pd(x, y), w, wq, c);
    (u, v)
}

/// `u64 < 2^52` lanes to exact doubles.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn to_f64(v: __m256i) -> __m256d {
    let biased = _mm256_or_si256(v, _mm256_set1_epi64x(MAGIC_BITS as i64));
    _mm256_sub_pd(_mm256_castsi256_pd(biased), _mm256_set1_pd(MAGIC))
}

/// Centred doubles (`|x| < 2p`) to `u64` lanes in `[0, p)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn to_u64(x: __m256d, c: Consts) -> __m256i {
    let r = reduce(x, c);
    let negative = _mm256_cmp_pd::<_CMP_LT_OQ>(r, _mm256_setzero_pd());
    let r = _mm256_add_pd(r, _mm256_and_pd(negative, c.p));
    let biased = _mm256_castpd_si256(_mm256_add_pd(r, _mm256_set1_pd(MAGIC)));
    _mm256_xor_si256(biased, _mm256_set1_epi64x(MAGIC_BITS as i64))
}

/// Converts `len` words at `ptr` from `u64` to `f64` in place.
///
/// # Safety
/// `ptr..ptr+len` must be valid for reads and writes; `len` a multiple of 4.
#[target_feature(enable = "avx2,fma")]
unsafe fn convert_in(ptr: *mut f64, len: usize) {
    for j in (0..len).step_by(4) {
        // SAFETY: j + 4 <= len, in bounds by the caller's contract.
        unsafe {
            let v = _mm256_loadu_si256(ptr.add(j) as *const __m256i);
            _mm256_storeu_pd(ptr.add(j), to_f64(v));
        }
    }
}

/// Converts `len` centred doubles at `ptr` to `u64` in `[0, p)` in place.
///
/// # Safety
/// As for [`convert_in`].
#[target_feature(enable = "avx2,fma")]
unsafe fn convert_out(ptr: *mut f64, len: usize, c: Consts) {
    for j in (0..len).step_by(4) {
        // SAFETY: j + 4 <= len, in bounds by the caller's contract.
        unsafe {
            let x = _mm256_loadu_pd(ptr.add(j));
            _mm256_storeu_si256(ptr.add(j) as *mut __m256i, to_u64(x, c));
        }
    }
}

/// One stage with half-width `t >= 4` over `len` points at `ptr`, whose first
/// group is global group `first_group` of the `m` groups of the stage.
///
/// # Safety
/// `ptr..ptr+len` valid; `len` a multiple of `2t`; `m + first_group + len/2t <= n`.
#[target_feature(enable = "avx2,fma")]
unsafe fn wide_stage<const INVERSE: bool>(
    ptr: *mut f64,
    len: usize,
    first_group: usize,
    m: usize,
    t: usize,
    table: &Table,
    c: Consts,
) {
    for g in 0..len / (2 * t) {
        let k = m + first_group + g;
        let w = _mm256_set1_pd(table.w[k]);
        let wq = _mm256_set1_pd(table.wq[k]);
        // SAFETY: the group spans ptr + 2tg .. ptr + 2t(g+1) <= ptr + len.
        unsafe {
            let xp = ptr.add(2 * t * g);
            let yp = xp.add(t);
            for j in (0..t).step_by(4) {
                let x = _mm256_loadu_pd(xp.add(j));
                let y = _mm256_loadu_pd(yp.add(j));
                let (u, v) = if INVERSE {
                    gs(x, y, w, wq, c)
                } else {
                    ct(x, y, w, wq, c)
                };
                _mm256_storeu_pd(xp.add(j), u);
                _mm256_storeu_pd(yp.add(j), v);
            }
        }
    }
}

/// The stages with `t = 2` and `t = 1`, whose butterflies pair lanes of the
/// same vector: two vectors are shuffled into an `x` and a `y` vector.
/// `table` is indexed from `offset / 2`, `offset` being the global index of `ptr`.
///
/// # Safety
/// `ptr..ptr+len` valid, `len` a multiple of 8, `(offset + len) / 2 <= table len`.
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_stage<const T: usize, const INVERSE: bool>(
    ptr: *mut f64,
    len: usize,
    offset: usize,
    table: &Table,
    c: Consts,
) {
    let (w, wq) = (&table.w[offset / 2..], &table.wq[offset / 2..]);
    for j in 0..len / 8 {
        // SAFETY: 8j + 8 <= len and 4j + 4 <= len/2 <= w.len().
        unsafe {
            let v0 = _mm256_loadu_pd(ptr.add(8 * j));
            let v1 = _mm256_loadu_pd(ptr.add(8 * j + 4));
            let wv = _mm256_loadu_pd(w.as_ptr().add(4 * j));
            let wqv = _mm256_loadu_pd(wq.as_ptr().add(4 * j));
            let (x, y) = if T == 2 {
                (
                    _mm256_permute2f128_pd::<0x20>(v0, v1),
                    _mm256_permute2f128_pd::<0x31>(v0, v1),
                )
            } else {
                (_mm256_unpacklo_pd(v0, v1), _mm256_unpackhi_pd(v0, v1))
            };
            let (u, v) = if INVERSE {
                gs(x, y, wv, wqv, c)
            } else {
                ct(x, y, wv, wqv, c)
            };
            let (o0, o1) = if T == 2 {
                (
                    _mm256_permute2f128_pd::<0x20>(u, v),
                    _mm256_permute2f128_pd::<0x31>(u, v),
                )
            } else {
                (_mm256_unpacklo_pd(u, v), _mm256_unpackhi_pd(u, v))
            };
            _mm256_storeu_pd(ptr.add(8 * j), o0);
            _mm256_storeu_pd(ptr.add(8 * j + 4), o1);
        }
    }
}

/// Forward transform: `[0, 2p)` in, `[0, p)` out.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a.len()` a power of two `>= 16` equal
/// to the tables' degree; `p < 2^50`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn forward(a: &mut [u64], tb: &Tables) {
    let n = a.len();
    let c = Consts {
        p: _mm256_set1_pd(tb.p),
        p_inv: _mm256_set1_pd(tb.p_inv),
    };
    let ptr = a.as_mut_ptr() as *mut f64;
    // SAFETY: every call stays inside `a` (len n) by the arguments' construction.
    unsafe {
        convert_in(ptr, n);
        let (mut m, mut t) = (1, n / 2);
        while 2 * t > BLOCK {
            wide_stage::<false>(ptr, n, 0, m, t, &tb.fwd, c);
            m *= 2;
            t /= 2;
        }
        let blk = n.min(BLOCK);
        for b in 0..n / blk {
            let bp = ptr.add(b * blk);
            let (mut m, mut t) = (m, t);
            while t >= 4 {
                wide_stage::<false>(bp, blk, b * blk / (2 * t), m, t, &tb.fwd, c);
                m *= 2;
                t /= 2;
            }
            narrow_stage::<2, false>(bp, blk, b * blk, &tb.fwd2, c);
            narrow_stage::<1, false>(bp, blk, b * blk, &tb.fwd1, c);
            convert_out(bp, blk, c);
        }
    }
}

/// Inverse transform with `1/n`: `[0, 2p)` in, `[0, p)` out.
///
/// # Safety
/// As for [`forward`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn inverse(a: &mut [u64], tb: &Tables) {
    let n = a.len();
    let c = Consts {
        p: _mm256_set1_pd(tb.p),
        p_inv: _mm256_set1_pd(tb.p_inv),
    };
    let ptr = a.as_mut_ptr() as *mut f64;
    let blk = n.min(BLOCK);
    // SAFETY: every call stays inside `a` (len n) by the arguments' construction.
    unsafe {
        for b in 0..n / blk {
            let bp = ptr.add(b * blk);
            convert_in(bp, blk);
            narrow_stage::<1, true>(bp, blk, b * blk, &tb.inv1, c);
            narrow_stage::<2, true>(bp, blk, b * blk, &tb.inv2, c);
            let (mut m, mut t) = (n / 8, 4);
            while t < n / 2 && 2 * t <= blk {
                wide_stage::<true>(bp, blk, b * blk / (2 * t), m, t, &tb.inv, c);
                m /= 2;
                t *= 2;
            }
        }
        let mut t = blk.min(n / 2);
        while t < n / 2 {
            wide_stage::<true>(ptr, n, 0, n / (2 * t), t, &tb.inv, c);
            t *= 2;
        }
        // Last stage: 1/n folded into both outputs, then back to u64.
        let n_inv = _mm256_set1_pd(tb.last.w[0]);
        let n_inv_q = _mm256_set1_pd(tb.last.wq[0]);
        let n_inv_w = _mm256_set1_pd(tb.last.w[1]);
        let n_inv_wq = _mm256_set1_pd(tb.last.wq[1]);
        let half = n / 2;
        for j in (0..half).step_by(4) {
            let x = _mm256_loadu_pd(ptr.add(j));
            let y = _mm256_loadu_pd(ptr.add(half + j));
            let u = mul_mod(_mm256_add_pd(x, y), n_inv, n_inv_q, c);
            let v = mul_mod(_mm256_sub_pd(x, y), n_inv_w, n_inv_wq, c);
            _mm256_storeu_si256(ptr.add(j) as *mut __m256i, to_u64(u, c));
            _mm256_storeu_si256(ptr.add(half + j) as *mut __m256i, to_u64(v, c));
        }
    }
}
