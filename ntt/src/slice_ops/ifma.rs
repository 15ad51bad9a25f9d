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

/// `Σ_t x_t[at..at + 8·B] · w_t mod p` over one row's terms (`x_t` =
/// `input(t)`, `w_t` = `weights[t]`),
/// `B` vectors side by side, fully reduced: groups of [`GROUP`] terms, each
/// folded into the carry of the next. With `PREFETCH` the next block of
/// each input is prefetched, for inputs read in place block after block (a
/// prefetch never faults; its address is formed without `add`'s in-bounds
/// requirement).
///
/// # Safety
/// AVX-512F and IFMA present; every `x_t` valid for `at + 8·B` words, its
/// words below 2^50 and `w_t` below `p < 2^50`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn row_sum<const B: usize, const PREFETCH: bool>(
    fold: Fold,
    input: impl Fn(usize) -> *const u64,
    weights: &[u64],
    at: usize,
) -> [__m512i; B] {
    let zero = _mm512_setzero_si512();
    let mut r = [zero; B];
    for (g, gw) in weights.chunks(GROUP).enumerate() {
        let (mut lo, mut hi) = (r, [zero; B]);
        for (t, &w) in gw.iter().enumerate() {
            let x = input(g * GROUP + t);
            let wv = _mm512_set1_epi64(w as i64);
            if PREFETCH {
                for b in 0..B {
                    _mm_prefetch::<_MM_HINT_T0>(x.wrapping_add(at + 8 * (B + b)).cast());
                }
            }
            for b in 0..B {
                // SAFETY: the caller's: x is valid for at + 8·B words.
                let xv = unsafe { _mm512_loadu_si512(x.add(at + 8 * b).cast()) };
                lo[b] = _mm512_madd52lo_epu64(lo[b], xv, wv);
                hi[b] = _mm512_madd52hi_epu64(hi[b], xv, wv);
            }
        }
        for b in 0..B {
            r[b] = fold.apply(lo[b], hi[b]);
        }
    }
    r
}

/// Stores `B` vectors at `dst`.
///
/// # Safety
/// `dst` valid for `8·B` words.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store<const B: usize>(dst: *mut u64, r: [__m512i; B]) {
    for (b, rb) in r.iter().enumerate() {
        // SAFETY: the caller's: 8b + 8 <= 8·B words from dst.
        unsafe { _mm512_storeu_si512(dst.add(8 * b).cast(), *rb) };
    }
}

/// `dst = Σ_j a_j·w_j mod p`, fully reduced. Inputs may exceed `p`: below
/// 2^50 every product stays below 2^100, the bound the folds assume.
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`; every weight below `p`, every
/// input below 2^50;
/// every input slice and `dst` at least `len` words long; `a.len() == w.len()`.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul_scalar_sum(p: u64, dst: *mut u64, a: &[&[u64]], w: &[u64], len: usize) {
    let fold = Fold::new(p);
    let input = |t: usize| a[t].as_ptr();
    let mut at = 0;
    while at + 8 * BLOCK <= len {
        // SAFETY: at + 8·BLOCK <= len for every input and for dst.
        unsafe { store(dst.add(at), row_sum::<BLOCK, true>(fold, input, w, at)) };
        at += 8 * BLOCK;
    }
    while at + 8 <= len {
        // SAFETY: at + 8 <= len for every input and for dst.
        unsafe { store(dst.add(at), row_sum::<1, true>(fold, input, w, at)) };
        at += 8;
    }
    if at == len {
        return;
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
/// vectors. Every input's tile (256 bytes), packed with the others, stays
/// in the core's L2 cache while all rows are summed: 1,250 inputs take
/// 320 KB.
const TILE: usize = 8 * BLOCK;

/// Every row of a layer, tile by tile (see `slice_ops::mul_scalar_layer`).
/// Returns the words done: whole tiles, the rest (fewer than a tile) is the
/// caller's.
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
) -> usize {
    let fold = Fold::new(p);
    // Each input's tile is copied next to the others first: the inputs are
    // separate allocations whose words at one offset tend to share cache
    // sets (large buffers start at aligned addresses), so read in place a
    // few hundred tiles evict each other from L1 and L2 — measured 3x
    // slower on a dense 1,250-row layer than on the same tiles packed.
    let mut packed = vec![0u64; a.len() * TILE];
    let mut at = 0;
    while at + TILE <= len {
        for (dst, x) in packed.chunks_exact_mut(TILE).zip(a) {
            dst.copy_from_slice(&x[at..at + TILE]);
            // The next tile of this input, for the next copy (a prefetch
            // never faults; its address is formed without `add`'s bounds).
            for line in 0..TILE / 8 {
                _mm_prefetch::<_MM_HINT_T1>(x.as_ptr().wrapping_add(at + TILE + 8 * line).cast());
            }
        }
        let base = packed.as_ptr();
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            let input = |t: usize| base.wrapping_add(row.inputs[t] * TILE);
            // SAFETY: every index is below a.len(), so each input pointer
            // starts a TILE-word block of `packed`; out has len >= at + TILE.
            unsafe {
                store(
                    out[at..at + TILE].as_mut_ptr(),
                    row_sum::<BLOCK, false>(fold, input, row.weights, 0),
                )
            };
        }
        at += TILE;
    }
    at
}

/// `dst[c] = round(Σ_t a_t[c] · f_t / 2^128) mod 2^64`, exactly (see
/// `slice_ops::round_fixed_sum`). Each fraction is split into 52-bit limbs
/// `f = f0 + f1·2^52 + f2·2^104`; the products' low and high halves land in
/// four accumulators at weights 2^0, 2^52, 2^104 and 2^156, six
/// multiply-adds per term and eight words, and one carry pass at the end
/// rounds.
///
/// # Safety
/// AVX-512F and IFMA present; every input below 2^52; every input slice
/// and `dst` at least `len` words long; `a.len() == f.len() < 2^10` (the
/// accumulators then stay below 2^64).
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn round_fixed_sum(dst: *mut u64, a: &[&[u64]], f: &[u128], len: usize) {
    let m52 = _mm512_set1_epi64(LOW52);
    let limbs: Vec<[__m512i; 3]> = f
        .iter()
        .map(|&f| {
            [
                _mm512_set1_epi64((f as i64) & LOW52),
                _mm512_set1_epi64(((f >> 52) as i64) & LOW52),
                _mm512_set1_epi64((f >> 104) as i64),
            ]
        })
        .collect();
    let zero = _mm512_setzero_si512();
    let mut at = 0;
    while at + 8 <= len {
        let (mut c0, mut c1, mut c2, mut c3) = (zero, zero, zero, zero);
        for (x, l) in a.iter().zip(&limbs) {
            // SAFETY: at + 8 <= len words of every input.
            let x = unsafe { _mm512_loadu_si512(x.as_ptr().add(at).cast()) };
            c0 = _mm512_madd52lo_epu64(c0, x, l[0]);
            c1 = _mm512_madd52hi_epu64(c1, x, l[0]);
            c1 = _mm512_madd52lo_epu64(c1, x, l[1]);
            c2 = _mm512_madd52hi_epu64(c2, x, l[1]);
            c2 = _mm512_madd52lo_epu64(c2, x, l[2]);
            c3 = _mm512_madd52hi_epu64(c3, x, l[2]);
        }
        // Carry up to the 2^104 limb, add half of 2^128 (2^23 there),
        // carry into the 2^156 limb: the sum's bits from 128 up are then
        // c2's top 28 bits of 52 and c3 (the limbs below cannot carry).
        c1 = _mm512_add_epi64(c1, _mm512_srli_epi64::<52>(c0));
        c2 = _mm512_add_epi64(c2, _mm512_srli_epi64::<52>(c1));
        c2 = _mm512_add_epi64(c2, _mm512_set1_epi64(1 << 23));
        c3 = _mm512_add_epi64(c3, _mm512_srli_epi64::<52>(c2));
        c2 = _mm512_and_si512(c2, m52);
        let r = _mm512_add_epi64(_mm512_srli_epi64::<24>(c2), _mm512_slli_epi64::<28>(c3));
        // SAFETY: at + 8 <= len words of dst.
        unsafe { _mm512_storeu_si512(dst.add(at).cast(), r) };
        at += 8;
    }
    for c in at..len {
        // SAFETY: c < len.
        unsafe { *dst.add(c) = super::fixed::scalar_at(a, f, c) };
    }
}

/// `dst[i] = a[i]·w mod p`, or `(dst[i] + a[i]·w) mod p` with `ACC`: one
/// 52-bit Shoup product (three multiply-adds) per eight words.
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`, `w < p`, every input below 2^50
/// (and every `dst[i] < p` with `ACC`); `a` and `dst` at least `len` words.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul_scalar<const ACC: bool>(
    p: u64,
    dst: *mut u64,
    a: *const u64,
    w: u64,
    len: usize,
) {
    let pv = _mm512_set1_epi64(p as i64);
    let c = Shoup52::new(w, p);
    let mut at = 0;
    while at + 8 <= len {
        // SAFETY: at + 8 <= len words of a and dst.
        unsafe {
            let x = _mm512_loadu_si512(a.add(at).cast());
            let mut r = c.mul(x, pv);
            if ACC {
                r = sub_if_ge(
                    _mm512_add_epi64(r, _mm512_loadu_si512(dst.add(at).cast())),
                    pv,
                );
            }
            _mm512_storeu_si512(dst.add(at).cast(), r);
        }
        at += 8;
    }
    if at == len {
        return;
    }
    let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
    let ws = m.shoup(w);
    for i in at..len {
        // SAFETY: i < len.
        unsafe {
            let r = m.mul_shoup(*a.add(i), ws);
            *dst.add(i) = if ACC { m.add(*dst.add(i), r) } else { r };
        }
    }
}

/// `dst[i] = a[i]·b[i] mod p`, or `(dst[i] + a[i]·b[i]) mod p` with `ACC`:
/// the 104-bit product's halves folded as in a group of
/// [`mul_scalar_sum`] (two multiply-adds and one fold per eight words).
/// `dst` may alias `a` (each vector is loaded before it is stored).
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`; every input below `p` (and every
/// `dst[i] < p` with `ACC`); `a`, `b` and `dst` at least `len` words.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul<const ACC: bool>(
    p: u64,
    dst: *mut u64,
    a: *const u64,
    b: *const u64,
    len: usize,
) {
    let fold = Fold::new(p);
    let zero = _mm512_setzero_si512();
    let mut at = 0;
    while at + 8 <= len {
        // SAFETY: at + 8 <= len words of a, b and dst.
        unsafe {
            let x = _mm512_loadu_si512(a.add(at).cast());
            let y = _mm512_loadu_si512(b.add(at).cast());
            let lo0 = if ACC {
                _mm512_loadu_si512(dst.add(at).cast())
            } else {
                zero
            };
            let lo = _mm512_madd52lo_epu64(lo0, x, y);
            let hi = _mm512_madd52hi_epu64(zero, x, y);
            _mm512_storeu_si512(dst.add(at).cast(), fold.apply(lo, hi));
        }
        at += 8;
    }
    if at < len {
        let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
        for i in at..len {
            // SAFETY: i < len.
            unsafe {
                let r = m.mul(*a.add(i), *b.add(i));
                *dst.add(i) = if ACC { m.add(*dst.add(i), r) } else { r };
            }
        }
    }
}

/// `dst[i] = Σ_t a_t[i]·b_t[i] mod p`: products summed in groups of
/// [`GROUP`] before each fold, as [`mul_scalar_sum`] with varying weights.
///
/// # Safety
/// AVX-512F and IFMA present; `p < 2^50`; every input below `p`; every
/// slice and `dst` at least `len` words; `a.len() == b.len()`.
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn mul_sum(p: u64, dst: *mut u64, a: &[&[u64]], b: &[&[u64]], len: usize) {
    let fold = Fold::new(p);
    let zero = _mm512_setzero_si512();
    let mut at = 0;
    while at + 8 <= len {
        let mut r = zero;
        for (ga, gb) in a.chunks(GROUP).zip(b.chunks(GROUP)) {
            let (mut lo, mut hi) = (r, zero);
            for (x, y) in ga.iter().zip(gb) {
                // SAFETY: at + 8 <= len words of every slice.
                let (x, y) = unsafe {
                    (
                        _mm512_loadu_si512(x.as_ptr().add(at).cast()),
                        _mm512_loadu_si512(y.as_ptr().add(at).cast()),
                    )
                };
                lo = _mm512_madd52lo_epu64(lo, x, y);
                hi = _mm512_madd52hi_epu64(hi, x, y);
            }
            r = fold.apply(lo, hi);
        }
        // SAFETY: at + 8 <= len words of dst.
        unsafe { _mm512_storeu_si512(dst.add(at).cast(), r) };
        at += 8;
    }
    if at < len {
        let m = crate::Modulus::new(p).expect("p < 2^50 is a valid modulus");
        for i in at..len {
            let mut r = 0;
            for (x, y) in a.iter().zip(b) {
                r = m.add(r, m.mul(x[i], y[i]));
            }
            // SAFETY: i < len.
            unsafe { *dst.add(i) = r };
        }
    }
}
