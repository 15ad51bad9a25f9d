//! Portable kernels: Harvey's lazy butterflies with Shoup twiddles, cache-blocked.

use crate::modulus::sub_if_ge;
use crate::twiddles::Twiddles;
use crate::{Modulus, ShoupConst};

/// Stages whose butterfly span `2t` is at most this many points run block by
/// block (depth-first) so that a block stays in L1; wider stages sweep the whole
/// array (breadth-first). 2048 words = 16 KiB, half a typical L1d.
pub(crate) const BLOCK: usize = 2048;

#[inline(always)]
fn mul_shoup_lazy(a: u64, w: u64, wq: u64, p: u64) -> u64 {
    let q = ((a as u128 * wq as u128) >> 64) as u64;
    a.wrapping_mul(w).wrapping_sub(q.wrapping_mul(p))
}

/// One Cooley–Tukey stage over `chunk`, whose first group is global group
/// `first_group` of a stage with `m` groups of half-width `t`.
/// In: `[0, 4p)`; out: `[0, 4p)`.
fn forward_stage(chunk: &mut [u64], first_group: usize, m: usize, t: usize, tw: &Twiddles, p: u64) {
    let two_p = 2 * p;
    for (g, group) in chunk.chunks_exact_mut(2 * t).enumerate() {
        let k = m + first_group + g;
        let (w, wq) = (tw.w[k], tw.wq[k]);
        let (xs, ys) = group.split_at_mut(t);
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            let u = sub_if_ge(*x, two_p);
            let v = mul_shoup_lazy(*y, w, wq, p);
            *x = u + v;
            *y = u + two_p - v;
        }
    }
}

/// One Gentleman–Sande stage. In: `[0, 2p)`; out: `[0, 2p)`.
fn inverse_stage(chunk: &mut [u64], first_group: usize, m: usize, t: usize, tw: &Twiddles, p: u64) {
    let two_p = 2 * p;
    for (g, group) in chunk.chunks_exact_mut(2 * t).enumerate() {
        let k = m + first_group + g;
        let (w, wq) = (tw.w[k], tw.wq[k]);
        let (xs, ys) = group.split_at_mut(t);
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = sub_if_ge(u + v, two_p);
            *y = mul_shoup_lazy(u + two_p - v, w, wq, p);
        }
    }
}

/// Forward negacyclic NTT, bit-reversed output. In: `[0, 2p)`; out: `[0, p)`
/// when `lazy` is false, `[0, 2p)` when it is true.
pub(crate) fn forward(a: &mut [u64], tw: &Twiddles, modulus: &Modulus, lazy: bool) {
    let n = a.len();
    let p = modulus.value();
    let (mut m, mut t) = (1, n / 2);
    while 2 * t > BLOCK {
        forward_stage(a, 0, m, t, tw, p);
        m *= 2;
        t /= 2;
    }
    let blk = n.min(BLOCK);
    for (b, block) in a.chunks_exact_mut(blk).enumerate() {
        let (mut m, mut t) = (m, t);
        while t > 0 {
            forward_stage(block, b * blk / (2 * t), m, t, tw, p);
            m *= 2;
            t /= 2;
        }
        if lazy {
            block.iter_mut().for_each(|x| *x = sub_if_ge(*x, 2 * p));
        } else {
            block.iter_mut().for_each(|x| *x = modulus.reduce_4p(*x));
        }
    }
}

/// Inverse negacyclic NTT from bit-reversed input, including `1/n`.
/// In: `[0, 2p)`; out: `[0, p)`, or `[0, 2p)` when `lazy`.
pub(crate) fn inverse(
    a: &mut [u64],
    tw: &Twiddles,
    n_inv: ShoupConst,
    n_inv_w: ShoupConst,
    modulus: &Modulus,
    lazy: bool,
) {
    let n = a.len();
    let p = modulus.value();
    let blk = n.min(BLOCK);
    for (b, block) in a.chunks_exact_mut(blk).enumerate() {
        let (mut m, mut t) = (n / 2, 1);
        while t < n / 2 && 2 * t <= blk {
            inverse_stage(block, b * blk / (2 * t), m, t, tw, p);
            m /= 2;
            t *= 2;
        }
    }
    let mut t = blk.min(n / 2);
    while t < n / 2 {
        inverse_stage(a, 0, n / (2 * t), t, tw, p);
        t *= 2;
    }
    // Last stage, with 1/n folded into both outputs.
    let two_p = 2 * p;
    let (xs, ys) = a.split_at_mut(n / 2);
    for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
        let (u, v) = (*x, *y);
        let s = mul_shoup_lazy(u + v, n_inv.value, n_inv.quotient, p);
        let d = mul_shoup_lazy(u + two_p - v, n_inv_w.value, n_inv_w.quotient, p);
        if lazy {
            (*x, *y) = (s, d);
        } else {
            (*x, *y) = (sub_if_ge(s, p), sub_if_ge(d, p));
        }
    }
}
