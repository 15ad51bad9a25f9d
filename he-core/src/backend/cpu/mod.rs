//! The CPU backend: host vectors, the vectorised kernels of `hefty-ntt`,
//! rayon across limbs inside the NTT.

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use hefty_ntt::{Modulus, ShoupConst, slice_ops};

use super::{Backend, Buffer};

pub(crate) mod pool;
pub(crate) mod threads;

use crate::{BaseConverter, Error, ExactLift, RnsBasis, ScaleRound};
use pool as buffer_pool;

/// The CPU backend. Buffers are host vectors recycled through a per-thread
/// pool (see `buffer_pool`), so large temporaries are not re-faulted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu;

impl Cpu {
    /// The process-wide CPU backend instance: every basis made without an
    /// explicit backend shares it, so their polynomials can meet.
    pub fn shared() -> Arc<dyn Backend> {
        static SHARED: LazyLock<Arc<dyn Backend>> = LazyLock::new(|| Arc::new(Cpu));
        Arc::clone(&SHARED)
    }
}

const HOST: &str = "a CPU-backend basis only holds host buffers";

fn host(buf: &Buffer) -> &[u64] {
    buf.as_host().expect(HOST)
}

fn host_mut(buf: &mut Buffer) -> &mut Vec<u64> {
    buf.as_host_mut().expect(HOST)
}

/// `f(modulus, limb of a, limb of b)` over the first `level` limbs.
fn zip_limbs(
    basis: &RnsBasis,
    level: usize,
    a: &mut Buffer,
    b: &Buffer,
    mut f: impl FnMut(&Modulus, &mut [u64], &[u64]),
) {
    let n = basis.degree();
    let (a, b) = (host_mut(a), host(b));
    for ((m, x), y) in basis.moduli()[..level]
        .iter()
        .zip(a.chunks_exact_mut(n))
        .zip(b.chunks_exact(n))
    {
        f(m, x, y);
    }
}

/// `-c mod p` for `c < p` as a mask (`p - c`, or 0 for 0), which vectorises:
/// `Modulus::neg`'s unsigned `min` has no AVX2 instruction.
#[inline(always)]
fn neg_mod(c: u64, p: u64) -> u64 {
    (p - c) & ((c != 0) as u64).wrapping_neg()
}

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn check_basis(&self, _basis: &RnsBasis) -> Result<(), Error> {
        // Every basis hefty-ntt accepts (primes below 2^62) runs here.
        Ok(())
    }

    fn alloc(&self, words: usize) -> Buffer {
        Buffer::host(buffer_pool::take_zeroed(words))
    }

    fn upload(&self, words: Vec<u64>) -> Buffer {
        Buffer::host(words)
    }

    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        Ok(host(buf).to_vec())
    }

    fn duplicate(&self, buf: &Buffer) -> Buffer {
        let src = host(buf);
        let mut v = buffer_pool::take_empty(src.len());
        v.extend_from_slice(src);
        Buffer::host(v)
    }

    fn truncate(&self, buf: &mut Buffer, words: usize) {
        host_mut(buf).truncate(words);
    }

    fn zeroize(&self, buf: &mut Buffer) {
        zeroize::Zeroize::zeroize(host_mut(buf));
    }

    fn release(&self, mut buf: Buffer) {
        if let Some(v) = buf.take_host() {
            buffer_pool::give(v);
        }
    }

    fn ntt_forward(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        basis
            .ntt()
            .forward_at(
                limbs.start,
                &mut host_mut(buf)[limbs.start * n..limbs.end * n],
            )
            .expect("the buffer holds the limbs and the basis their primes");
    }

    fn ntt_inverse(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        basis
            .ntt()
            .inverse_at(
                limbs.start,
                &mut host_mut(buf)[limbs.start * n..limbs.end * n],
            )
            .expect("the buffer holds the limbs and the basis their primes");
    }

    fn copy_words(&self, dst: &mut Buffer, dst_at: usize, src: &Buffer, src_at: usize, len: usize) {
        host_mut(dst)[dst_at..dst_at + len].copy_from_slice(&host(src)[src_at..src_at + len]);
    }

    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        zip_limbs(basis, level, a, b, |m, x, y| {
            x.iter_mut().zip(y).for_each(|(x, &y)| *x = m.add(*x, y))
        });
    }

    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        zip_limbs(basis, level, a, b, |m, x, y| {
            x.iter_mut().zip(y).for_each(|(x, &y)| *x = m.sub(*x, y))
        });
    }

    fn neg(&self, basis: &RnsBasis, level: usize, a: &mut Buffer) {
        let n = basis.degree();
        for (m, x) in basis.moduli()[..level]
            .iter()
            .zip(host_mut(a).chunks_exact_mut(n))
        {
            let p = m.value();
            x.iter_mut().for_each(|x| *x = neg_mod(*x, p));
        }
    }

    fn mul(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        zip_limbs(basis, level, a, b, |m, x, y| {
            slice_ops::mul_in_place(m, x, y).expect("limbs of one ring have equal lengths")
        });
    }

    fn mul_add(&self, basis: &RnsBasis, level: usize, acc: &mut Buffer, a: &Buffer, b: &Buffer) {
        let n = basis.degree();
        let (acc, a, b) = (host_mut(acc), host(a), host(b));
        for (i, m) in basis.moduli()[..level].iter().enumerate() {
            let r = i * n..(i + 1) * n;
            slice_ops::mul_add(m, &mut acc[r.clone()], &a[r.clone()], &b[r])
                .expect("limbs of one ring have equal lengths");
        }
    }

    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
    ) -> (Buffer, Buffer) {
        // Blocks small enough that a digit block read for the first sum is
        // still in L1 for the second; the sums go straight into the output.
        const BLOCK: usize = 1024;
        let n = basis.degree();
        let ext: Vec<&[u64]> = ext.iter().map(|b| host(b)).collect();
        let key_b: Vec<&[u64]> = key_b.iter().map(|b| host(b)).collect();
        let key_a: Vec<&[u64]> = key_a.iter().map(|b| host(b)).collect();
        let (mut out_b, mut out_a) = (
            buffer_pool::take_empty(level * n),
            buffer_pool::take_empty(level * n),
        );
        let mut sum = [0u64; BLOCK];
        // Slice lists refilled per block, allocated once.
        let (mut x, mut y): (Vec<&[u64]>, Vec<&[u64]>) =
            (Vec::with_capacity(ext.len()), Vec::with_capacity(ext.len()));
        for (i, m) in basis.moduli()[..level].iter().enumerate() {
            for start in (i * n..(i + 1) * n).step_by(BLOCK) {
                let range = start..(start + BLOCK).min((i + 1) * n);
                let sum = &mut sum[..range.len()];
                x.clear();
                x.extend(ext.iter().map(|e| &e[range.clone()]));
                for (keys, out) in [(&key_b, &mut out_b), (&key_a, &mut out_a)] {
                    y.clear();
                    y.extend(keys.iter().map(|k| &k[range.clone()]));
                    slice_ops::mul_sum(m, sum, &x, &y).expect("blocks of equal length");
                    out.extend_from_slice(sum);
                }
            }
        }
        (Buffer::host(out_b), Buffer::host(out_a))
    }

    fn sub_scale(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: &mut Buffer,
        b: &Buffer,
        c: &[ShoupConst],
    ) {
        let mut limb = 0;
        zip_limbs(basis, level, a, b, |m, x, y| {
            x.iter_mut().zip(y).for_each(|(x, &y)| *x = m.sub(*x, y));
            slice_ops::mul_scalar_in_place(m, x, c[limb]);
            limb += 1;
        });
    }

    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let n = basis.degree();
        for ((m, x), &c) in basis.moduli()[..level]
            .iter()
            .zip(host_mut(a).chunks_exact_mut(n))
            .zip(c)
        {
            slice_ops::mul_scalar_in_place(m, x, m.shoup(c));
        }
    }

    fn automorphism(&self, basis: &RnsBasis, level: usize, src: &Buffer, g: usize) -> Buffer {
        let n = basis.degree();
        let src = host(src);
        let mut out = buffer_pool::take_zeroed(level * n);
        // 2n is a power of two: step the exponent by g and mask, no division.
        let mask = 2 * n - 1;
        for (i, m) in basis.moduli()[..level].iter().enumerate() {
            let (s, dst) = (&src[i * n..(i + 1) * n], &mut out[i * n..(i + 1) * n]);
            let mut e = 0usize;
            for &c in s {
                if e < n {
                    dst[e] = c;
                } else {
                    dst[e - n] = m.neg(c);
                }
                e = (e + g) & mask;
            }
        }
        Buffer::host(out)
    }

    fn permute(&self, basis: &RnsBasis, level: usize, src: &Buffer, perm: &[usize]) -> Buffer {
        let n = basis.degree();
        let src = host(src);
        let mut out = buffer_pool::take_empty(level * n);
        for limb in src[..level * n].chunks_exact(n) {
            out.extend(perm.iter().map(|&k| limb[k]));
        }
        Buffer::host(out)
    }

    fn monomial_mul_add(
        &self,
        basis: &RnsBasis,
        level: usize,
        acc: &mut Buffer,
        src: &Buffer,
        k: usize,
        c: &[u64],
    ) {
        let n = basis.degree();
        let (shift, flip_all) = if k >= n { (k - n, true) } else { (k, false) };
        let mut limb = 0;
        zip_limbs(basis, level, acc, src, |m, acc, src| {
            let p = m.value();
            // x^shift moves src[i] to i + shift, negated when it wraps past n;
            // x^n = -1 flips every sign for k >= n.
            let (c, neg_c) = (c[limb], neg_mod(c[limb], p));
            let (stay, wrap) = if flip_all { (neg_c, c) } else { (c, neg_c) };
            let (head, tail) = src.split_at(n - shift);
            slice_ops::mul_scalar_add(m, &mut acc[shift..], head, m.shoup(stay), p)
                .expect("limbs of one ring have equal lengths");
            slice_ops::mul_scalar_add(m, &mut acc[..shift], tail, m.shoup(wrap), p)
                .expect("limbs of one ring have equal lengths");
            limb += 1;
        });
    }

    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize) -> Buffer {
        let n = basis.degree();
        let src = host(src);
        let (shift, flip_all) = if k >= n { (k - n, true) } else { (k, false) };
        // Written in order with `extend` (no zero-filled buffer first): the
        // operation is memory-bound, so one pass less is a third faster.
        let mut out = buffer_pool::take_empty(level * n);
        for (m, limb) in basis.moduli()[..level].iter().zip(src.chunks_exact(n)) {
            let p = m.value();
            // Output [0, shift) comes from the wrapped tail, [shift, n) from the head.
            let (stay, wrap) = limb.split_at(n - shift);
            if flip_all {
                out.extend_from_slice(wrap);
                out.extend(stay.iter().map(|&c| neg_mod(c, p)));
            } else {
                out.extend(wrap.iter().map(|&c| neg_mod(c, p)));
                out.extend_from_slice(stay);
            }
        }
        Buffer::host(out)
    }

    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer) -> Buffer {
        let n = basis.degree();
        let src = host(src);
        let last = &basis.moduli()[level - 1];
        let (q_last, half) = (last.value(), last.value() / 2);
        let top = &src[(level - 1) * n..level * n];
        let mut out = buffer_pool::take_empty((level - 1) * n);
        out.extend_from_slice(&src[..(level - 1) * n]);
        for (m, limb) in basis.moduli()[..level - 1]
            .iter()
            .zip(out.chunks_exact_mut(n))
        {
            let inv = m.shoup(m.inv(m.reduce(q_last)).expect("distinct primes"));
            let q_last_mod = m.reduce(q_last);
            for (x, &r) in limb.iter_mut().zip(top) {
                // Centred residue r - q_last when r > q_last/2, reduced mod q_i.
                let above = ((half.wrapping_sub(r)) >> 63).wrapping_neg(); // all ones when r > half
                let r_mod = m.sub(m.reduce(r), q_last_mod & above);
                *x = m.mul_shoup(m.sub(*x, r_mod), inv);
            }
        }
        Buffer::host(out)
    }

    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: std::ops::Range<usize>,
        conv: &BaseConverter,
    ) -> (Buffer, Buffer) {
        let n = basis.degree();
        let src = host(src);
        let converted = conv.convert(&src[digit.start * n..digit.end * n], n);
        // Reassemble Q_ℓ: the digit's own residues, the converted ones elsewhere.
        let mut ext_q = buffer_pool::take_empty(level * n);
        let mut others = converted.chunks_exact(n);
        for i in 0..level {
            if digit.contains(&i) {
                ext_q.extend_from_slice(&src[i * n..(i + 1) * n]);
            } else {
                ext_q.extend_from_slice(others.next().expect("one converted limb per other prime"));
            }
        }
        let rest = others.len() * n;
        let mut ext_p = buffer_pool::take_empty(rest);
        others.for_each(|limb| ext_p.extend_from_slice(limb));
        buffer_pool::give(converted);
        (Buffer::host(ext_q), Buffer::host(ext_p))
    }

    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer) -> Buffer {
        Buffer::host(lift.lift(host(src), n))
    }

    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
    ) -> Buffer {
        Buffer::host(consts.apply(n, level, host(eq), host(er)))
    }
}
