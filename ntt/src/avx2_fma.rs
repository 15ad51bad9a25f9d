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
//! - the forward butterfly outputs `x ± r`, reducing `x` to `|x| <= p/2`
//!   (`x - round(x/p)·p`) on even stages only (stage `log2 m`): from inputs
//!   below `2p`, an even stage leaves at most `0.5p + 0.75p = 1.25p` and the
//!   odd stage after it at most `1.25p + (0.5 + 1.25/8)p < 1.91p`;
//! - the inverse butterfly multiplies `x - y` and outputs `x + y`, reduced on
//!   even stages (stage `log2 t`) only: values alternate between at most `p`
//!   (`0.5p` and `(0.5 + 4/8)p`) and at most `2p`, and the last stage's inputs
//!   sum to at most `4p`.
//!
//! All intermediates are integers below 2^52 in magnitude, hence exact.
//! The data stay in the caller's `u64` buffer, reinterpreted as `f64` between
//! the conversions at either end.

use std::arch::x86_64::*;

use crate::schedule::Kernel;
use crate::twiddles::{Twiddles, narrow_t1_index, narrow_t2_index};

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
    /// The tables of one plan, or `None` when this CPU lacks AVX2 or FMA.
    pub fn new(fwd: &Twiddles, inv: &Twiddles, n_inv: u64, n_inv_w: u64, p: u64) -> Option<Self> {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return None;
        }
        let n = fwd.w.len();
        let t2 =
            |tw: &Twiddles| Table::from_values((0..n / 2).map(|k| tw.w[narrow_t2_index(n, k)]), p);
        let t1 =
            |tw: &Twiddles| Table::from_values((0..n / 2).map(|k| tw.w[narrow_t1_index(n, k)]), p);
        Some(Self {
            p: p as f64,
            p_inv: 1.0 / p as f64,
            fwd: Table::from_values(fwd.w.iter().copied(), p),
            inv: Table::from_values(inv.w.iter().copied(), p),
            fwd2: t2(fwd),
            inv2: t2(inv),
            fwd1: t1(fwd),
            inv1: t1(inv),
            last: Table::from_values([n_inv, n_inv_w], p),
        })
    }

    fn consts(&self) -> Consts {
        // SAFETY: a `Tables` exists only on a CPU with AVX2 (checked in `new`).
        unsafe { Consts::new(self.p, self.p_inv) }
    }
}

/// Broadcast constants of one transform.
#[derive(Clone, Copy)]
struct Consts {
    p: __m256d,
    p_inv: __m256d,
}

impl Consts {
    #[target_feature(enable = "avx2,fma")]
    fn new(p: f64, p_inv: f64) -> Self {
        Self {
            p: _mm256_set1_pd(p),
            p_inv: _mm256_set1_pd(p_inv),
        }
    }
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

/// Forward butterfly: `(x + y·w, x - y·w)`, reducing `x` first when `REDUCE`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ct<const REDUCE: bool>(
    x: __m256d,
    y: __m256d,
    w: __m256d,
    wq: __m256d,
    c: Consts,
) -> (__m256d, __m256d) {
    let x = if REDUCE { reduce(x, c) } else { x };
    let v = mul_mod(y, w, wq, c);
    (_mm256_add_pd(x, v), _mm256_sub_pd(x, v))
}

/// Inverse butterfly: `(x + y, (x - y)·w)`, reducing `x + y` when `REDUCE`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn gs<const REDUCE: bool>(
    x: __m256d,
    y: __m256d,
    w: __m256d,
    wq: __m256d,
    c: Consts,
) -> (__m256d, __m256d) {
    let sum = _mm256_add_pd(x, y);
    let u = if REDUCE { reduce(sum, c) } else { sum };
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
unsafe fn wide_stage<const INVERSE: bool, const REDUCE: bool>(
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
                    gs::<REDUCE>(x, y, w, wq, c)
                } else {
                    ct::<REDUCE>(x, y, w, wq, c)
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
unsafe fn narrow_stage<const T: usize, const INVERSE: bool, const REDUCE: bool>(
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
                gs::<REDUCE>(x, y, wv, wqv, c)
            } else {
                ct::<REDUCE>(x, y, wv, wqv, c)
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

/// The AVX2 + FMA kernel: [`Tables`] whose existence proves the CPU has AVX2 and FMA.
impl Kernel for Tables {
    fn prepare(&self, chunk: &mut [u64]) {
        // SAFETY: `Tables::new` returned Some only on a CPU with AVX2 and FMA;
        // plans use vector kernels only for n >= 16, so chunks are multiples of 8.
        unsafe { convert_in(chunk.as_mut_ptr() as *mut f64, chunk.len()) }
    }

    fn forward_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let (ptr, len, c) = (chunk.as_mut_ptr() as *mut f64, chunk.len(), self.consts());
        // Reducing `x` on every other stage keeps values below 1.91p (module docs).
        let reduce = m.trailing_zeros().is_multiple_of(2);
        // SAFETY: as in `prepare`; the schedule passes chunks of whole groups,
        // and the tables cover every group index of the plan's degree.
        unsafe {
            match (t, reduce) {
                (1, true) => {
                    narrow_stage::<1, false, true>(ptr, len, first_group * 2, &self.fwd1, c)
                }
                (1, false) => {
                    narrow_stage::<1, false, false>(ptr, len, first_group * 2, &self.fwd1, c)
                }
                (2, true) => {
                    narrow_stage::<2, false, true>(ptr, len, first_group * 4, &self.fwd2, c)
                }
                (2, false) => {
                    narrow_stage::<2, false, false>(ptr, len, first_group * 4, &self.fwd2, c)
                }
                (_, true) => wide_stage::<false, true>(ptr, len, first_group, m, t, &self.fwd, c),
                (_, false) => wide_stage::<false, false>(ptr, len, first_group, m, t, &self.fwd, c),
            }
        }
    }

    fn inverse_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let (ptr, len, c) = (chunk.as_mut_ptr() as *mut f64, chunk.len(), self.consts());
        // Reducing `x + y` on every other stage keeps values below 2p (module docs).
        let reduce = t.trailing_zeros().is_multiple_of(2);
        // SAFETY: as in `forward_stage`.
        unsafe {
            match (t, reduce) {
                (1, _) => narrow_stage::<1, true, true>(ptr, len, first_group * 2, &self.inv1, c),
                (2, _) => narrow_stage::<2, true, false>(ptr, len, first_group * 4, &self.inv2, c),
                (_, true) => wide_stage::<true, true>(ptr, len, first_group, m, t, &self.inv, c),
                (_, false) => wide_stage::<true, false>(ptr, len, first_group, m, t, &self.inv, c),
            }
        }
    }

    fn finish_forward(&self, chunk: &mut [u64], _lazy: bool) {
        // SAFETY: as in `prepare`.
        unsafe { convert_out(chunk.as_mut_ptr() as *mut f64, chunk.len(), self.consts()) }
    }

    fn last_inverse_stage(&self, a: &mut [u64], _lazy: bool) {
        // SAFETY: as in `prepare`.
        unsafe { last_inverse_stage(a.as_mut_ptr() as *mut f64, a.len(), self) }
    }
}

/// The inverse's last stage with `1/n` folded in, output as `u64` in `[0, p)`.
///
/// # Safety
/// AVX2 and FMA present; `ptr..ptr+n` valid; `n` a multiple of 8.
#[target_feature(enable = "avx2,fma")]
unsafe fn last_inverse_stage(ptr: *mut f64, n: usize, tb: &Tables) {
    let c = tb.consts();
    let n_inv = _mm256_set1_pd(tb.last.w[0]);
    let n_inv_q = _mm256_set1_pd(tb.last.wq[0]);
    let n_inv_w = _mm256_set1_pd(tb.last.w[1]);
    let n_inv_wq = _mm256_set1_pd(tb.last.wq[1]);
    let half = n / 2;
    for j in (0..half).step_by(4) {
        // SAFETY: j + 4 <= half and half + j + 4 <= n.
        unsafe {
            let x = _mm256_loadu_pd(ptr.add(j));
            let y = _mm256_loadu_pd(ptr.add(half + j));
            let u = mul_mod(_mm256_add_pd(x, y), n_inv, n_inv_q, c);
            let v = mul_mod(_mm256_sub_pd(x, y), n_inv_w, n_inv_wq, c);
            _mm256_storeu_si256(ptr.add(j) as *mut __m256i, to_u64(u, c));
            _mm256_storeu_si256(ptr.add(half + j) as *mut __m256i, to_u64(v, c));
        }
    }
}
