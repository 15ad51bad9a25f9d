//! The order in which transform stages run, shared by every kernel path.
//!
//! Stages whose butterfly span `2t` exceeds [`BLOCK`] sweep the whole array
//! (breadth-first); the rest run block by block (depth-first) so each block
//! of [`BLOCK`] points stays in L1 while all its remaining stages run.

/// Block size in points: 2048 words = 16 KiB, half a typical L1d, leaving
/// room for the twiddles the block's stages read.
pub(crate) const BLOCK: usize = 2048;

/// What a kernel path provides; the schedule supplies the stage order.
pub(crate) trait Kernel {
    /// Called once on the whole array before the forward transform, and on
    /// each block before the inverse's first stage (e.g. to convert formats).
    fn prepare(&self, chunk: &mut [u64]);
    /// One Cooley–Tukey stage over `chunk`, whose first group is global group
    /// `first_group` of a stage with `m` groups of half-width `t`.
    fn forward_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize);
    /// One Gentleman–Sande stage, indexed as [`Kernel::forward_stage`].
    fn inverse_stage(&self, chunk: &mut [u64], first_group: usize, m: usize, t: usize);
    /// After the forward's last stage on a block: reduce into `[0, p)`
    /// (`[0, 2p)` if `lazy`) and store as `u64`.
    fn finish_forward(&self, chunk: &mut [u64], lazy: bool);
    /// The inverse's last stage (`t = n/2`) with `1/n` folded in, output as
    /// `u64` in `[0, p)` (`[0, 2p)` if `lazy`).
    fn last_inverse_stage(&self, a: &mut [u64], lazy: bool);
}

/// Forward negacyclic NTT of `a` (bit-reversed output).
pub(crate) fn forward(k: &impl Kernel, a: &mut [u64], lazy: bool) {
    let n = a.len();
    k.prepare(a);
    let (mut m, mut t) = (1, n / 2);
    while 2 * t > BLOCK {
        k.forward_stage(a, 0, m, t);
        m *= 2;
        t /= 2;
    }
    let blk = n.min(BLOCK);
    for (b, block) in a.chunks_exact_mut(blk).enumerate() {
        let (mut m, mut t) = (m, t);
        while t > 0 {
            k.forward_stage(block, b * blk / (2 * t), m, t);
            m *= 2;
            t /= 2;
        }
        k.finish_forward(block, lazy);
    }
}

/// Inverse negacyclic NTT of `a` (bit-reversed input), including `1/n`.
pub(crate) fn inverse(k: &impl Kernel, a: &mut [u64], lazy: bool) {
    let n = a.len();
    let blk = n.min(BLOCK);
    for (b, block) in a.chunks_exact_mut(blk).enumerate() {
        k.prepare(block);
        let (mut m, mut t) = (n / 2, 1);
        while t < n / 2 && 2 * t <= blk {
            k.inverse_stage(block, b * blk / (2 * t), m, t);
            m /= 2;
            t *= 2;
        }
    }
    let mut t = blk.min(n / 2);
    while t < n / 2 {
        k.inverse_stage(a, 0, n / (2 * t), t);
        t *= 2;
    }
    k.last_inverse_stage(a, lazy);
}
