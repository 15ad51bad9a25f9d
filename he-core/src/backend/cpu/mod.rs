//! The CPU backend: host vectors recycled through a per-thread pool
//! (`pool`), the vectorised kernels of `hefty-ntt` and the table kernels
//! (`kernels`), rayon across limbs inside the NTT and across independent
//! parts of an operation (`threads`).

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use hefty_ntt::{Modulus, NttPlan, RnsNttPlan, ShoupConst, slice_ops};

use super::{Backend, Buffer, Prepared, Weight};
use crate::ring::{GaloisPermutation, Word};
use crate::{BaseConverter, Error, ExactLift, RnsBasis, ScaleRound};

pub(crate) mod kernels;
pub(crate) mod pool;
pub(crate) mod threads;

use pool as buffer_pool;

/// What the CPU prepares per basis: one NTT plan per prime (with the
/// fastest kernel path this CPU has).
#[derive(Debug)]
struct CpuBasis {
    ntt: RnsNttPlan,
}

/// The CPU's NTT plans of a basis made for the CPU backend.
fn plans(basis: &RnsBasis) -> &RnsNttPlan {
    &basis
        .prepared::<CpuBasis>()
        .expect("a CPU-backend basis holds the CPU's NTT plans")
        .ntt
}

/// A host vector of capacity `words`, or the typed out-of-memory error.
fn host_vec(words: usize) -> Result<Vec<u64>, Error> {
    buffer_pool::try_take_empty(words).map_err(|_| Error::OutOfMemory {
        backend: "cpu",
        words,
    })
}

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

/// A buffer's words, emptied for a kernel that appends its output.
fn emptied(buf: &mut Buffer) -> &mut Vec<u64> {
    let v = host_mut(buf);
    v.clear();
    v
}

/// Appends one block of the tensor `(x_0·y_0, x_0·y_1 + x_1·y_0, x_1·y_1)`
/// modulo `m` to the three outputs (`out`: scratch of the block's length).
fn append_tensor(
    m: &hefty_ntt::Modulus,
    out: &mut [u64],
    [x0, x1]: [&[u64]; 2],
    [y0, y1]: [&[u64]; 2],
    [d0, d1, d2]: &mut [&mut Vec<u64>; 3],
) {
    slice_ops::mul(m, out, x0, y0).expect("blocks of equal length");
    d0.extend_from_slice(out);
    slice_ops::mul_sum(m, out, &[x0, x1], &[y1, y0]).expect("blocks of equal length");
    d1.extend_from_slice(out);
    slice_ops::mul(m, out, x1, y1).expect("blocks of equal length");
    d2.extend_from_slice(out);
}

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn prepare_basis(&self, n: usize, moduli: &[Modulus], _word: Word) -> Result<Prepared, Error> {
        // Every basis hefty-ntt accepts (primes below 2^62) runs here, in u64 words.
        let plans = moduli
            .iter()
            .map(|m| NttPlan::new(n, m.value()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(CpuBasis {
            ntt: RnsNttPlan::from_plans(plans)?,
        }))
    }

    fn run_independent(&self, jobs: &mut [&mut (dyn FnMut() + Send)]) {
        threads::run(jobs);
    }

    fn alloc(&self, words: usize) -> Result<Buffer, Error> {
        let mut v = host_vec(words)?;
        v.resize(words, 0);
        Ok(Buffer::host(v))
    }

    fn scratch(&self, words: usize) -> Result<Buffer, Error> {
        // Empty with the capacity: every CPU kernel fills its `out` from the start.
        Ok(Buffer::host(host_vec(words)?))
    }

    fn upload(&self, words: Vec<u64>) -> Result<Buffer, Error> {
        Ok(Buffer::host(words))
    }

    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        Ok(host(buf).to_vec())
    }

    fn duplicate(&self, buf: &Buffer) -> Result<Buffer, Error> {
        let src = host(buf);
        let mut v = host_vec(src.len())?;
        v.extend_from_slice(src);
        Ok(Buffer::host(v))
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
        plans(basis)
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
        plans(basis)
            .inverse_at(
                limbs.start,
                &mut host_mut(buf)[limbs.start * n..limbs.end * n],
            )
            .expect("the buffer holds the limbs and the basis their primes");
    }

    fn copy_limbs(
        &self,
        n: usize,
        dst: &mut Buffer,
        dst_limb: usize,
        src: &Buffer,
        src_limbs: Range<usize>,
    ) {
        let (dst_at, len) = (dst_limb * n, src_limbs.len() * n);
        let src = &host(src)[src_limbs.start * n..src_limbs.end * n];
        let dst = host_mut(dst);
        // A scratch buffer arrives empty: grow it to cover the words written.
        if dst.len() < dst_at + len {
            dst.resize(dst_at + len, 0);
        }
        dst[dst_at..dst_at + len].copy_from_slice(src);
    }

    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        zip_limbs(basis, level, a, b, |m, x, y| {
            slice_ops::add_assign(m, x, y).expect("limbs of equal length")
        });
    }

    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        zip_limbs(basis, level, a, b, |m, x, y| {
            slice_ops::sub_assign(m, x, y).expect("limbs of equal length")
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

    fn tensor(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: [&Buffer; 2],
        b: [&Buffer; 2],
        d: [&mut Buffer; 3],
    ) {
        // Each product computed into an L1 block and appended: the outputs
        // arrive empty, so nothing is zeroed, copied and multiplied in place
        // (the default's three copies and four passes).
        const BLOCK: usize = kernels::APPEND_BLOCK;
        let n = basis.degree();
        let ([a0, a1], [b0, b1]) = (a.map(host), b.map(host));
        let mut d = d.map(emptied);
        let mut block = [0u64; BLOCK];
        for (i, m) in basis.moduli()[..level].iter().enumerate() {
            for start in (i * n..(i + 1) * n).step_by(BLOCK) {
                let r = start..(start + BLOCK).min((i + 1) * n);
                let out = &mut block[..r.len()];
                let (x, y) = ([&a0[r.clone()], &a1[r.clone()]], [&b0[r.clone()], &b1[r]]);
                append_tensor(m, out, x, y, &mut d);
            }
        }
    }

    fn tensor_pair(
        &self,
        basis: &RnsBasis,
        level: usize,
        u: [&Buffer; 2],
        v: [&Buffer; 2],
        m: &Buffer,
        d: [&mut Buffer; 3],
    ) -> Result<(), Error> {
        // One L1 block at a time: r, u ± r and the products never leave
        // the cache, where the default writes and reads back r, a and b
        // (counted on the paired square: 23 passes over a polynomial's
        // words become 7).
        const BLOCK: usize = kernels::APPEND_BLOCK;
        let n = basis.degree();
        let ([u0, u1], [v0, v1], m) = (u.map(host), v.map(host), host(m));
        let mut d = d.map(emptied);
        let mut blocks = [[0u64; BLOCK]; 5];
        for (i, q) in basis.moduli()[..level].iter().enumerate() {
            for start in (i * n..(i + 1) * n).step_by(BLOCK) {
                let at = start..(start + BLOCK).min((i + 1) * n);
                let [a0, a1, b0, b1, out] = &mut blocks;
                let len = at.len();
                let (a0, a1, b0, b1, out) = (
                    &mut a0[..len],
                    &mut a1[..len],
                    &mut b0[..len],
                    &mut b1[..len],
                    &mut out[..len],
                );
                for (uj, vj, aj, bj) in [(u0, v0, &mut *a0, &mut *b0), (u1, v1, &mut *a1, &mut *b1)]
                {
                    slice_ops::mul(q, out, &vj[at.clone()], &m[at.clone()])
                        .expect("blocks of equal length");
                    aj.copy_from_slice(&uj[at.clone()]);
                    slice_ops::add_assign(q, aj, out).expect("blocks of equal length");
                    bj.copy_from_slice(&uj[at.clone()]);
                    slice_ops::sub_assign(q, bj, out).expect("blocks of equal length");
                }
                append_tensor(q, out, [a0, a1], [b0, b1], &mut d);
            }
        }
        Ok(())
    }

    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
        out_b: &mut Buffer,
        out_a: &mut Buffer,
    ) {
        // A digit block read for the first sum is still in L1 for the
        // second; the sums go straight into the output.
        const BLOCK: usize = kernels::APPEND_BLOCK;
        let n = basis.degree();
        let ext: Vec<&[u64]> = ext.iter().map(|b| host(b)).collect();
        let key_b: Vec<&[u64]> = key_b.iter().map(|b| host(b)).collect();
        let key_a: Vec<&[u64]> = key_a.iter().map(|b| host(b)).collect();
        let (out_b, out_a) = (host_mut(out_b), host_mut(out_a));
        out_b.clear();
        out_a.clear();
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
                for (keys, out) in [(&key_b, &mut *out_b), (&key_a, &mut *out_a)] {
                    y.clear();
                    y.extend(keys.iter().map(|k| &k[range.clone()]));
                    slice_ops::mul_sum(m, sum, &x, &y).expect("blocks of equal length");
                    out.extend_from_slice(sum);
                }
            }
        }
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
            slice_ops::sub_assign(m, x, y).expect("limbs of equal length");
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

    fn add_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let n = basis.degree();
        for ((m, x), &c) in basis.moduli()[..level]
            .iter()
            .zip(host_mut(a).chunks_exact_mut(n))
            .zip(c)
        {
            slice_ops::add_scalar_assign(m, x, c);
        }
    }

    fn automorphism(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        g: usize,
        out: &mut Buffer,
    ) {
        let n = basis.degree();
        let src = host(src);
        let out = host_mut(out);
        out.clear();
        out.resize(level * n, 0);
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
    }

    fn permute(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        perm: &GaloisPermutation,
        out: &mut Buffer,
    ) {
        let n = basis.degree();
        let (src, out) = (host(src), host_mut(out));
        out.clear();
        for limb in src[..level * n].chunks_exact(n) {
            out.extend(perm.indices().iter().map(|&k| limb[k as usize]));
        }
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

    fn monomial_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[super::MonomialTerm<'_>],
        out: &mut Buffer,
    ) -> Result<(), Error> {
        let n = basis.degree();
        let terms: Vec<(&[u64], usize, &[u64])> =
            terms.iter().map(|&(src, k, c)| (host(src), k, c)).collect();
        if let Some(&(src, k, c)) = terms
            .iter()
            .find(|(src, k, c)| src.len() < level * n || *k >= 2 * n || c.len() < level)
        {
            return Err(Error::InvalidParameters(format!(
                "a monomial term of {} words, power {k} and {} residues does not fit {level} limbs of degree {n}",
                src.len(),
                c.len()
            )));
        }
        kernels::monomial_combination(&basis.moduli()[..level], n, &terms, host_mut(out));
        Ok(())
    }

    fn monomial_layer(
        &self,
        basis: &RnsBasis,
        level: usize,
        inputs: &[&Buffer],
        rows: &[&[super::MonomialLayerTerm<'_>]],
        outs: &mut [Buffer],
    ) -> Result<(), Error> {
        let n = basis.degree();
        super::check_monomial_layer(inputs.len(), rows, outs.len(), 2 * n)?;
        let inputs: Vec<&[u64]> = inputs.iter().map(|b| host(b)).collect();
        if inputs.iter().any(|x| x.len() < level * n)
            || rows
                .iter()
                .flat_map(|r| r.iter())
                .any(|t| t.2.len() < level)
        {
            return Err(Error::InvalidParameters(format!(
                "a monomial-layer input or weight does not cover {level} limbs of {n} words"
            )));
        }
        let mut outs: Vec<&mut Vec<u64>> = outs.iter_mut().map(host_mut).collect();
        kernels::monomial_layer(&basis.moduli()[..level], n, &inputs, rows, &mut outs);
        Ok(())
    }

    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize, out: &mut Buffer) {
        let n = basis.degree();
        let src = host(src);
        let (shift, flip_all) = if k >= n { (k - n, true) } else { (k, false) };
        // Written in order with `extend` (no zero-filled buffer first): the
        // operation is memory-bound, so one pass less is a third faster.
        let out = host_mut(out);
        out.clear();
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
    }

    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer, out: &mut Buffer) {
        let n = basis.degree();
        let src = host(src);
        let q_last = basis.moduli()[level - 1].value();
        let top = &src[(level - 1) * n..level * n];
        // The top limb's centred residue is r - v·q_last, v = 1 where
        // r > q_last/2; so (x - centred)·q_last⁻¹ is a three-term sum with
        // constant weights, x·inv - r·inv + v·(q_last·inv), which the
        // vector kernel of linear combinations reduces fully.
        let mut v = buffer_pool::take_empty(n);
        v.extend(top.iter().map(|&r| u64::from(r > q_last / 2)));
        let out = host_mut(out);
        out.clear();
        out.resize((level - 1) * n, 0);
        for ((m, dst), x) in basis.moduli()[..level - 1]
            .iter()
            .zip(out.chunks_exact_mut(n))
            .zip(src.chunks_exact(n))
        {
            let q_last_mod = m.reduce(q_last);
            let inv = m.inv(q_last_mod).expect("distinct primes");
            let weights = [inv, m.neg(inv), m.mul(inv, q_last_mod)];
            slice_ops::mul_scalar_sum(m, dst, &[x, top, &v], &weights, m.value().max(q_last))
                .expect("limbs of one ring have equal lengths");
        }
        buffer_pool::give(v);
    }

    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: std::ops::Range<usize>,
        conv: &BaseConverter,
        out_q: &mut Buffer,
        out_p: &mut Buffer,
    ) {
        let n = basis.degree();
        let src = host(src);
        // Each converted limb is appended where it belongs, Q_ℓ in order
        // (the digit's own residues between the converted ones), then P:
        // no converted copy to reassemble.
        let v = kernels::scaled_inputs(conv, &src[digit.start * n..digit.end * n], n);
        let terms: Vec<&[u64]> = v.chunks_exact(n).collect();
        let ext_q = host_mut(out_q);
        ext_q.clear();
        let mut target = 0;
        for i in 0..level {
            if digit.contains(&i) {
                ext_q.extend_from_slice(&src[i * n..(i + 1) * n]);
            } else {
                kernels::convert_limb(conv, &terms, target, ext_q);
                target += 1;
            }
        }
        let ext_p = host_mut(out_p);
        ext_p.clear();
        for target in target..conv.to_moduli().len() {
            kernels::convert_limb(conv, &terms, target, ext_p);
        }
        buffer_pool::give(v);
    }

    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer, out: &mut Buffer) {
        kernels::exact_lift(lift, host(src), n, host_mut(out));
    }

    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
        out: &mut Buffer,
    ) {
        kernels::scale_round(consts, n, level, host(eq), host(er), host_mut(out));
    }

    fn linear_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[(&Buffer, Weight<'_>)],
        out: &mut Buffer,
    ) -> Result<(), Error> {
        let n = basis.degree();
        let out = host_mut(out);
        out.clear();
        out.resize(level * n, 0);
        kernels::linear_combination(&basis.moduli()[..level], n, terms, out, host)
    }

    fn linear_layer(
        &self,
        basis: &RnsBasis,
        level: usize,
        inputs: &[&Buffer],
        rows: &[&[super::LayerTerm<'_>]],
        outs: &mut [Buffer],
    ) -> Result<(), Error> {
        super::check_layer(inputs.len(), rows, outs.len())?;
        let inputs: Vec<&[u64]> = inputs.iter().map(|b| host(b)).collect();
        let mut outs: Vec<&mut Vec<u64>> = outs.iter_mut().map(host_mut).collect();
        kernels::linear_layer(
            &basis.moduli()[..level],
            basis.degree(),
            &inputs,
            rows,
            &mut outs,
        )
    }
}
