//! Portable kernel: Harvey's lazy butterflies with Shoup twiddles.

use crate::modulus::sub_if_ge;
use crate::schedule::Kernel;
use crate::twiddles::Twiddles;
use crate::{Modulus, ShoupConst};

#[inline(always)]
fn mul_shoup_lazy(a: u64, w: u64, wq: u64, p: u64) -> u64 {
    let q = ((a as u128 * wq as u128) >> 64) as u64;
    a.wrapping_mul(w).wrapping_sub(q.wrapping_mul(p))
}

/// The scalar kernel of one plan. Values stay in `[0, 4p)` between stages,
/// so `p < 2^62` keeps every sum inside a word.
pub(crate) struct Scalar<'a> {
    pub forward: &'a Twiddles,
    pub inverse: &'a Twiddles,
    pub n_inv: ShoupConst,
    pub n_inv_w: ShoupConst,
    pub modulus: &'a Modulus,
}

impl Kernel for Scalar<'_> {
    fn prepare(&self, _chunk: &mut [u64]) {}

    /// In: `[0, 4p)`; out: `[0, 4p)`.
    fn forward_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let p = self.modulus.value();
        let two_p = 2 * p;
        for (g, group) in chunk.chunks_exact_mut(2 * t).enumerate() {
            let k = m + first_group + g;
            let (w, wq) = (self.forward.w[k], self.forward.wq[k]);
            let (xs, ys) = group.split_at_mut(t);
            for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
                let u = sub_if_ge(*x, two_p);
                let v = mul_shoup_lazy(*y, w, wq, p);
                *x = u + v;
                *y = u + two_p - v;
            }
        }
    }

    /// In: `[0, 2p)`; out: `[0, 2p)`.
    fn inverse_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize) {
        let p = self.modulus.value();
        let two_p = 2 * p;
        for (g, group) in chunk.chunks_exact_mut(2 * t).enumerate() {
            let k = m + first_group + g;
            let (w, wq) = (self.inverse.w[k], self.inverse.wq[k]);
            let (xs, ys) = group.split_at_mut(t);
            for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
                let (u, v) = (*x, *y);
                *x = sub_if_ge(u + v, two_p);
                *y = mul_shoup_lazy(u + two_p - v, w, wq, p);
            }
        }
    }

    fn finish_forward(&self, chunk: &mut [u64], lazy: bool) {
        let p = self.modulus.value();
        if lazy {
            chunk.iter_mut().for_each(|x| *x = sub_if_ge(*x, 2 * p));
        } else {
            chunk
                .iter_mut()
                .for_each(|x| *x = self.modulus.reduce_4p(*x));
        }
    }

    fn last_inverse_stage(&self, a: &mut [u64], lazy: bool) {
        let p = self.modulus.value();
        let two_p = 2 * p;
        let (xs, ys) = a.split_at_mut(a.len() / 2);
        let (ni, niw) = (self.n_inv, self.n_inv_w);
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            let (u, v) = (*x, *y);
            let s = mul_shoup_lazy(u + v, ni.value, ni.quotient, p);
            let d = mul_shoup_lazy(u + two_p - v, niw.value, niw.quotient, p);
            if lazy {
                (*x, *y) = (s, d);
            } else {
                (*x, *y) = (sub_if_ge(s, p), sub_if_ge(d, p));
            }
        }
    }
}
