//! AVX-512 IFMA kernel on eight 52-bit lanes, for primes below 2^50.
//!
//! `vpmadd52luq`/`vpmadd52huq` multiply the low 52 bits of two lanes and
//! return the low or high 52 bits of the 104-bit product. With `p < 2^50`
//! every value of Harvey's butterflies (below `4p < 2^52`) fits those lanes,
//! and Shoup's product needs three instructions: with `w' = floor(w·2^52/p)`,
//! `q = hi52(y·w')` is at most one below `floor(y·w/p)`, so
//! `(lo52(y·w) - lo52(q·p)) mod 2^52 = y·w - q·p` lies in `[0, 2p)`.
//!
//! The butterflies keep exactly the invariants of the AVX2 integer kernel
//! (forward `[0, 4p)`, inverse `[0, 2p)`), so this kernel runs only the wide
//! stages (`t >= 8`, one 8-lane vector or more per half-group) and hands the
//! `t <= 4` stages, the final reduction and the last inverse stage to that
//! kernel. Standard (fully reduced) results are bit-identical to the scalar
//! path; lazy ones are congruent and in range but may differ by `p`, since a
//! 52-bit Shoup quotient can be one lower than the 64-bit one (first run on
//! IFMA hardware, 2026-11-30: `every_path_matches_scalar_at_every_degree`).
//!
//! Still opt-in (`NttPath::is_verified`) until it has been timed against
//! the AVX2 kernels on such hardware.

use std::arch::x86_64::*;

use crate::avx2_int;
use crate::schedule::Kernel;
use crate::twiddles::Twiddles;
use crate::{Modulus, ShoupConst};

/// Twiddles with 52-bit Shoup quotients `floor(w·2^52/p)`.
#[derive(Debug, Clone)]
struct Table52 {
    w: Vec<u64>,
    wq: Vec<u64>,
}

impl Table52 {
    fn new(tw: &Twiddles, p: u64) -> Self {
        let wq =
            tw.w.iter()
                .map(|&w| (((w as u128) << 52) / p as u128) as u64)
                .collect();
        Self {
            w: tw.w.clone(),
            wq,
        }
    }
}

/// The tables of one plan for the IFMA kernel (plus the AVX2 integer
/// kernel's, for the narrow stages).
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    p: u64,
    fwd: Table52,
    inv: Table52,
    avx2: avx2_int::Tables,
}

impl Tables {
    /// The tables of one plan, or `None` when this CPU lacks AVX-512F or
    /// AVX-512 IFMA, or `p >= 2^50`.
    pub fn new(
        fwd: &Twiddles,
        inv: &Twiddles,
        n_inv: ShoupConst,
        n_inv_w: ShoupConst,
        modulus: &Modulus,
    ) -> Option<Self> {
        let p = modulus.value();
        if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma"))
            || p >= 1 << 50
        {
            return None;
        }
        Some(Self {
            p,
            fwd: Table52::new(fwd, p),
            inv: Table52::new(inv, p),
            avx2: avx2_int::Tables::new(fwd, inv, n_inv, n_inv_w, modulus)?,
        })
    }
}

/// Shoup's lazy product in `[0, 2p)` for `y < 2^52`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_shoup_lazy(y: __m512i, w: __m512i, wq: __m512i, p: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let q = _mm512_madd52hi_epu64(zero, y, wq);
    let yw = _mm512_madd52lo_epu64(zero, y, w);
    let qp = _mm512_madd52lo_epu64(zero, q, p);
    _mm512_and_si512(_mm512_sub_epi64(yw, qp), _mm512_set1_epi64((1 << 52) - 1))
}

/// `x - b` when `x >= b`, else `x` (the wrapped difference is larger).
#[inline]
#[target_feature(enable = "avx512f")]
fn sub_if_ge(x: __m512i, b: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, b))
}

/// One stage with half-width `t >= 8`; see [`Kernel::forward_stage`].
///
/// # Safety
/// AVX-512F and IFMA present; `ptr..ptr+len` valid; `len` a multiple of `2t`;
/// `m + first_group + len/2t <= table length`; values below `4p`, `p < 2^50`.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn wide_stage<const INVERSE: bool>(
    ptr: *mut u64,
    len: usize,
    first_group: usize,
    m: usize,
    t: usize,
    table: &Table52,
    p: u64,
) {
    let pv = _mm512_set1_epi64(p as i64);
    let two_p = _mm512_set1_epi64(2 * p as i64);
    for g in 0..len / (2 * t) {
        let k = m + first_group + g;
        let w = _mm512_set1_epi64(table.w[k] as i64);
        let wq = _mm512_set1_epi64(table.wq[k] as i64);
        // SAFETY: the group spans ptr + 2tg .. ptr + 2t(g+1) <= ptr + len.
        unsafe {
            let xp = ptr.add(2 * t * g) as *mut __m512i;
            let yp = ptr.add(2 * t * g + t) as *mut __m512i;
            for j in 0..t / 8 {
                let x = _mm512_loadu_si512(xp.add(j) as *const _);
                let y = _mm512_loadu_si512(yp.add(j) as *const _);
                let (u, v) = if INVERSE {
                    let u = sub_if_ge(_mm512_add_epi64(x, y), two_p);
                    let d = _mm512_sub_epi64(_mm512_add_epi64(x, two_p), y);
                    (u, mul_shoup_lazy(d, w, wq, pv))
                } else {
                    let x = sub_if_ge(x, two_p);
                    let r = mul_shoup_lazy(y, w, wq, pv);
                    (
                        _mm512_add_epi64(x, r),
                        _mm512_sub_epi64(_mm512_add_epi64(x, two_p), r),
                    )
                };
                _mm512_storeu_si512(xp.add(j) as *mut _, u);
                _mm512_storeu_si512(yp.add(j) as *mut _, v);
            }
        }
    }
}

/// The IFMA kernel: [`Tables`] whose existence proves the CPU has AVX-512F and IFMA.
impl Kernel for Tables {
    fn prepare(&self, _chunk: &mut [u64]) {}

    fn forward_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        if t < 8 {
            return self.avx2.forward_stage(chunk, first_group, m, t);
        }
        // SAFETY: `Tables::new` returned Some only on a CPU with AVX-512F and
        // IFMA and for p < 2^50; the schedule passes chunks of whole groups
        // and the tables cover every group index of the plan's degree.
        unsafe {
            wide_stage::<false>(
                chunk.as_mut_ptr(),
                chunk.len(),
                first_group,
                m,
                t,
                &self.fwd,
                self.p,
            )
        }
    }

    fn inverse_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        if t < 8 {
            return self.avx2.inverse_stage(chunk, first_group, m, t);
        }
        // SAFETY: as in `forward_stage`.
        unsafe {
            wide_stage::<true>(
                chunk.as_mut_ptr(),
                chunk.len(),
                first_group,
                m,
                t,
                &self.inv,
                self.p,
            )
        }
    }

    fn finish_forward(&self, chunk: &mut [u64], lazy: bool) {
        self.avx2.finish_forward(chunk, lazy)
    }

    fn last_inverse_stage(&self, a: &mut [u64], lazy: bool) {
        self.avx2.last_inverse_stage(a, lazy)
    }
}
