//! AVX2 kernel on four `u64` lanes for any prime below 2^62.
//!
//! AVX2 multiplies only 32×32 → 64 bits (`vpmuludq`), so the Shoup product
//! `y·w - floor(y·w'/2^64)·p` is assembled from partial products: four for the
//! high word of `y·w'`, three each for the low words of `y·w` and `q·p`. The
//! butterflies are Harvey's, exactly as in the scalar kernel (values in
//! `[0, 4p)` between stages), so the results are bit-identical to it.
//! AVX2 has no unsigned 64-bit compare: `x >= b` is a signed compare of both
//! sides with their sign bit flipped.

use std::arch::x86_64::*;

use crate::schedule::Kernel;
use crate::twiddles::{Twiddles, narrow_t1_index, narrow_t2_index};
use crate::{Modulus, ShoupConst};

/// Twiddles with their high halves split off, ready for `vpmuludq`.
#[derive(Debug, Clone, Default)]
struct Table {
    w: Vec<u64>,
    /// `w` with its 32-bit halves swapped, for the cross products of `vpmulld`.
    w_swap: Vec<u64>,
    wq: Vec<u64>,
    wq_hi: Vec<u64>,
}

impl Table {
    fn from_indices(tw: &Twiddles, indices: impl IntoIterator<Item = usize>) -> Self {
        let mut t = Table::default();
        for k in indices {
            t.w.push(tw.w[k]);
            t.w_swap.push(tw.w[k].rotate_left(32));
            t.wq.push(tw.wq[k]);
            t.wq_hi.push(tw.wq[k] >> 32);
        }
        t
    }
}

/// The tables of one plan for the AVX2 integer kernel.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    p: u64,
    fwd: Table,
    inv: Table,
    fwd2: Table,
    inv2: Table,
    fwd1: Table,
    inv1: Table,
    n_inv: ShoupConst,
    n_inv_w: ShoupConst,
}

impl Tables {
    /// The tables of one plan, or `None` when this CPU lacks AVX2.
    pub fn new(
        fwd: &Twiddles,
        inv: &Twiddles,
        n_inv: ShoupConst,
        n_inv_w: ShoupConst,
        modulus: &Modulus,
    ) -> Option<Self> {
        if !is_x86_feature_detected!("avx2") {
            return None;
        }
        let n = fwd.w.len();
        Some(Self {
            p: modulus.value(),
            fwd: Table::from_indices(fwd, 0..n),
            inv: Table::from_indices(inv, 0..n),
            fwd2: Table::from_indices(fwd, (0..n / 2).map(|k| narrow_t2_index(n, k))),
            inv2: Table::from_indices(inv, (0..n / 2).map(|k| narrow_t2_index(n, k))),
            fwd1: Table::from_indices(fwd, (0..n / 2).map(|k| narrow_t1_index(n, k))),
            inv1: Table::from_indices(inv, (0..n / 2).map(|k| narrow_t1_index(n, k))),
            n_inv,
            n_inv_w,
        })
    }

    fn consts(&self) -> Consts {
        // SAFETY: a `Tables` exists only on a CPU with AVX2 (checked in `new`).
        unsafe { Consts::new(self.p) }
    }
}

/// Broadcast constants of one transform.
#[derive(Clone, Copy)]
struct Consts {
    p: __m256i,
    p_swap: __m256i,
    high_half: __m256i,
    two_p: __m256i,
    /// `(p - 1) ^ 2^63` and `(2p - 1) ^ 2^63`: thresholds for the flipped-sign compare.
    p_minus_1_flipped: __m256i,
    two_p_minus_1_flipped: __m256i,
    sign: __m256i,
}

impl Consts {
    #[target_feature(enable = "avx2")]
    fn new(p: u64) -> Self {
        let flip = |x: u64| _mm256_set1_epi64x((x ^ (1 << 63)) as i64);
        Self {
            p: _mm256_set1_epi64x(p as i64),
            p_swap: _mm256_set1_epi64x(p.rotate_left(32) as i64),
            high_half: _mm256_set1_epi64x(0xFFFF_FFFF_0000_0000u64 as i64),
            two_p: _mm256_set1_epi64x((2 * p) as i64),
            p_minus_1_flipped: flip(p - 1),
            two_p_minus_1_flipped: flip(2 * p - 1),
            sign: _mm256_set1_epi64x(i64::MIN),
        }
    }
}

/// One twiddle (or four) in the split form.
#[derive(Clone, Copy)]
struct Tw {
    w: __m256i,
    w_swap: __m256i,
    wq: __m256i,
    wq_hi: __m256i,
}

/// `x - bound` where `x >= bound`, else `x` (unsigned, `x < 2·bound`).
#[inline]
#[target_feature(enable = "avx2")]
fn sub_if_ge(x: __m256i, bound: __m256i, bound_minus_1_flipped: __m256i, c: Consts) -> __m256i {
    let ge = _mm256_cmpgt_epi64(_mm256_xor_si256(x, c.sign), bound_minus_1_flipped);
    _mm256_sub_epi64(x, _mm256_and_si256(ge, bound))
}

/// Defines a one-instruction AVX2 multiply as inline assembly.
///
/// Why assembly: LLVM otherwise sees through the intrinsics, re-forms 64-bit
/// products from the partial sums below and splits them again into more
/// multiplies than the schoolbook needs (14 instead of 10 per butterfly
/// vector, measured), spilling registers in the hot loop.
macro_rules! asm_mul {
    ($(#[$doc:meta])* $name:ident, $insn:literal) => {
        $(#[$doc])*
        #[inline]
        #[target_feature(enable = "avx2")]
        fn $name(a: __m256i, b: __m256i) -> __m256i {
            let out: __m256i;
            // SAFETY: one AVX2 instruction on registers, in a function that requires AVX2.
            unsafe {
                std::arch::asm!(
                    concat!($insn, " {o}, {a}, {b}"),
                    o = lateout(ymm_reg) out,
                    a = in(ymm_reg) a,
                    b = in(ymm_reg) b,
                    options(pure, nomem, nostack, preserves_flags),
                );
            }
            out
        }
    };
}

asm_mul!(
    /// `vpmuludq`: the low 32 bits of each 64-bit lane multiplied, as 64-bit products.
    mul32,
    "vpmuludq"
);
asm_mul!(
    /// `vpmulld`: the low 32 bits of each 32-bit lane product.
    mullo32,
    "vpmulld"
);

/// High 64 bits of `a·b` from four 32×32 products (`a_hi = a >> 32`, `b_hi = b >> 32`).
#[inline]
#[target_feature(enable = "avx2")]
fn mul_hi(a: __m256i, a_hi: __m256i, b: __m256i, b_hi: __m256i) -> __m256i {
    let ll = mul32(a, b);
    let lh = mul32(a, b_hi);
    let hl = mul32(a_hi, b);
    let hh = mul32(a_hi, b_hi);
    // Each partial sum fits 64 bits: (2^32-1)^2 + 2*(2^32-1) = 2^64 - 1.
    let t = _mm256_add_epi64(lh, _mm256_srli_epi64::<32>(ll));
    let u = _mm256_add_epi64(hl, _mm256_and_si256(t, _mm256_set1_epi64x(0xFFFF_FFFF)));
    _mm256_add_epi64(
        _mm256_add_epi64(hh, _mm256_srli_epi64::<32>(t)),
        _mm256_srli_epi64::<32>(u),
    )
}

/// Shoup's lazy product `y·w mod p` in `[0, 2p)`, for any `y`.
///
/// `q = floor(y·w'/2^64)` takes four 32×32 products. The result
/// `y·w - q·p` is needed only mod 2^64, so of its cross terms only the low 32
/// bits count: one `vpmulld` against `w` with swapped halves yields both
/// `y_lo·w_hi` and `y_hi·w_lo` mod 2^32, so each low product costs two
/// multiplies instead of three (eight per butterfly vector in all).
#[inline]
#[target_feature(enable = "avx2")]
fn mul_shoup_lazy(y: __m256i, tw: Tw, c: Consts) -> __m256i {
    let y_hi = _mm256_srli_epi64::<32>(y);
    let q = mul_hi(y, y_hi, tw.wq, tw.wq_hi);
    let low = _mm256_sub_epi64(mul32(y, tw.w), mul32(q, c.p));
    let cross = _mm256_sub_epi32(mullo32(y, tw.w_swap), mullo32(q, c.p_swap));
    // High half of each lane: the sum of both cross terms mod 2^32.
    let cross = _mm256_and_si256(
        _mm256_add_epi64(cross, _mm256_slli_epi64::<32>(cross)),
        c.high_half,
    );
    _mm256_add_epi64(low, cross)
}

/// Harvey's forward butterfly. In and out: `[0, 4p)`.
#[inline]
#[target_feature(enable = "avx2")]
fn ct(x: __m256i, y: __m256i, tw: Tw, c: Consts) -> (__m256i, __m256i) {
    let x = sub_if_ge(x, c.two_p, c.two_p_minus_1_flipped, c);
    let v = mul_shoup_lazy(y, tw, c);
    (
        _mm256_add_epi64(x, v),
        _mm256_sub_epi64(_mm256_add_epi64(x, c.two_p), v),
    )
}

/// Harvey's inverse butterfly. In and out: `[0, 2p)`.
#[inline]
#[target_feature(enable = "avx2")]
fn gs(x: __m256i, y: __m256i, tw: Tw, c: Consts) -> (__m256i, __m256i) {
    let u = sub_if_ge(_mm256_add_epi64(x, y), c.two_p, c.two_p_minus_1_flipped, c);
    let d = _mm256_sub_epi64(_mm256_add_epi64(x, c.two_p), y);
    (u, mul_shoup_lazy(d, tw, c))
}

/// One stage with half-width `t >= 4`; see [`Kernel::forward_stage`].
///
/// # Safety
/// AVX2 present; `ptr..ptr+len` valid; `len` a multiple of `2t`;
/// `m + first_group + len/2t <= table length`.
#[target_feature(enable = "avx2")]
unsafe fn wide_stage<const INVERSE: bool>(
    ptr: *mut u64,
    len: usize,
    first_group: usize,
    m: usize,
    t: usize,
    table: &Table,
    c: Consts,
) {
    for g in 0..len / (2 * t) {
        let k = m + first_group + g;
        let tw = Tw {
            w: _mm256_set1_epi64x(table.w[k] as i64),
            w_swap: _mm256_set1_epi64x(table.w_swap[k] as i64),
            wq: _mm256_set1_epi64x(table.wq[k] as i64),
            wq_hi: _mm256_set1_epi64x(table.wq_hi[k] as i64),
        };
        // SAFETY: the group spans ptr + 2tg .. ptr + 2t(g+1) <= ptr + len.
        unsafe {
            let xp = ptr.add(2 * t * g) as *mut __m256i;
            let yp = ptr.add(2 * t * g + t) as *mut __m256i;
            for j in 0..t / 4 {
                let x = _mm256_loadu_si256(xp.add(j));
                let y = _mm256_loadu_si256(yp.add(j));
                let (u, v) = if INVERSE {
                    gs(x, y, tw, c)
                } else {
                    ct(x, y, tw, c)
                };
                _mm256_storeu_si256(xp.add(j), u);
                _mm256_storeu_si256(yp.add(j), v);
            }
        }
    }
}

/// The `t = 2` and `t = 1` stages, pairing lanes of two vectors by shuffles;
/// `table` is read from `offset / 2`, `offset` being the global index of `ptr`.
///
/// # Safety
/// AVX2 present; `ptr..ptr+len` valid; `len` a multiple of 8;
/// `(offset + len) / 2 <= table length`.
#[target_feature(enable = "avx2")]
unsafe fn narrow_stage<const T: usize, const INVERSE: bool>(
    ptr: *mut u64,
    len: usize,
    offset: usize,
    table: &Table,
    c: Consts,
) {
    let base = offset / 2;
    assert!(base + len / 2 <= table.w.len());
    for j in 0..len / 8 {
        // SAFETY: 8j + 8 <= len, and base + 4j + 4 <= table length (asserted above).
        unsafe {
            let load =
                |v: &Vec<u64>| _mm256_loadu_si256(v.as_ptr().add(base + 4 * j) as *const __m256i);
            let tw = Tw {
                w: load(&table.w),
                w_swap: load(&table.w_swap),
                wq: load(&table.wq),
                wq_hi: load(&table.wq_hi),
            };
            let p0 = ptr.add(8 * j) as *mut __m256i;
            let v0 = _mm256_loadu_si256(p0);
            let v1 = _mm256_loadu_si256(p0.add(1));
            let (x, y) = if T == 2 {
                (
                    _mm256_permute2x128_si256::<0x20>(v0, v1),
                    _mm256_permute2x128_si256::<0x31>(v0, v1),
                )
            } else {
                (_mm256_unpacklo_epi64(v0, v1), _mm256_unpackhi_epi64(v0, v1))
            };
            let (u, v) = if INVERSE {
                gs(x, y, tw, c)
            } else {
                ct(x, y, tw, c)
            };
            let (o0, o1) = if T == 2 {
                (
                    _mm256_permute2x128_si256::<0x20>(u, v),
                    _mm256_permute2x128_si256::<0x31>(u, v),
                )
            } else {
                (_mm256_unpacklo_epi64(u, v), _mm256_unpackhi_epi64(u, v))
            };
            _mm256_storeu_si256(p0, o0);
            _mm256_storeu_si256(p0.add(1), o1);
        }
    }
}

/// `[0, 4p)` to `[0, 2p)` (lazy) or `[0, p)`.
///
/// # Safety
/// AVX2 present; `ptr..ptr+len` valid; `len` a multiple of 4.
#[target_feature(enable = "avx2")]
unsafe fn finish_forward(ptr: *mut u64, len: usize, lazy: bool, c: Consts) {
    for j in 0..len / 4 {
        // SAFETY: 4j + 4 <= len.
        unsafe {
            let p = (ptr as *mut __m256i).add(j);
            let mut x = sub_if_ge(_mm256_loadu_si256(p), c.two_p, c.two_p_minus_1_flipped, c);
            if !lazy {
                x = sub_if_ge(x, c.p, c.p_minus_1_flipped, c);
            }
            _mm256_storeu_si256(p, x);
        }
    }
}

/// The inverse's last stage with `1/n` folded into both outputs.
///
/// # Safety
/// AVX2 present; `ptr..ptr+n` valid; `n` a multiple of 8.
#[target_feature(enable = "avx2")]
unsafe fn last_inverse_stage(ptr: *mut u64, n: usize, lazy: bool, tb: &Tables) {
    let c = tb.consts();
    let split = |s: ShoupConst| Tw {
        w: _mm256_set1_epi64x(s.value as i64),
        w_swap: _mm256_set1_epi64x(s.value.rotate_left(32) as i64),
        wq: _mm256_set1_epi64x(s.quotient as i64),
        wq_hi: _mm256_set1_epi64x((s.quotient >> 32) as i64),
    };
    let (n_inv, n_inv_w) = (split(tb.n_inv), split(tb.n_inv_w));
    let half = n / 8;
    let xp = ptr as *mut __m256i;
    for j in 0..half {
        // SAFETY: j < n/8 and half + j < n/4 vectors.
        unsafe {
            let x = _mm256_loadu_si256(xp.add(j));
            let y = _mm256_loadu_si256(xp.add(half + j));
            let s = mul_shoup_lazy(_mm256_add_epi64(x, y), n_inv, c);
            let d = mul_shoup_lazy(
                _mm256_sub_epi64(_mm256_add_epi64(x, c.two_p), y),
                n_inv_w,
                c,
            );
            let (s, d) = if lazy {
                (s, d)
            } else {
                (
                    sub_if_ge(s, c.p, c.p_minus_1_flipped, c),
                    sub_if_ge(d, c.p, c.p_minus_1_flipped, c),
                )
            };
            _mm256_storeu_si256(xp.add(j), s);
            _mm256_storeu_si256(xp.add(half + j), d);
        }
    }
}

/// The AVX2 integer kernel: [`Tables`] whose existence proves the CPU has AVX2.
impl Kernel for Tables {
    fn prepare(&self, _chunk: &mut [u64]) {}

    fn forward_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let (ptr, len, c) = (chunk.as_mut_ptr(), chunk.len(), self.consts());
        // SAFETY: `Tables::new` returned Some only on a CPU with AVX2; plans use
        // vector kernels only for n >= 16, the schedule passes chunks of whole
        // groups, and the tables cover every group index of the plan's degree.
        unsafe {
            match t {
                1 => narrow_stage::<1, false>(ptr, len, first_group * 2, &self.fwd1, c),
                2 => narrow_stage::<2, false>(ptr, len, first_group * 4, &self.fwd2, c),
                _ => wide_stage::<false>(ptr, len, first_group, m, t, &self.fwd, c),
            }
        }
    }

    fn inverse_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let (ptr, len, c) = (chunk.as_mut_ptr(), chunk.len(), self.consts());
        // SAFETY: as in `forward_stage`.
        unsafe {
            match t {
                1 => narrow_stage::<1, true>(ptr, len, first_group * 2, &self.inv1, c),
                2 => narrow_stage::<2, true>(ptr, len, first_group * 4, &self.inv2, c),
                _ => wide_stage::<true>(ptr, len, first_group, m, t, &self.inv, c),
            }
        }
    }

    fn finish_forward(&self, chunk: &mut [u64], lazy: bool) {
        // SAFETY: AVX2 as in `forward_stage`; blocks are multiples of 16 points.
        unsafe { finish_forward(chunk.as_mut_ptr(), chunk.len(), lazy, self.consts()) }
    }

    fn last_inverse_stage(&self, a: &mut [u64], lazy: bool) {
        // SAFETY: AVX2 as in `forward_stage`; n >= 16.
        unsafe { last_inverse_stage(a.as_mut_ptr(), a.len(), lazy, self) }
    }
}
