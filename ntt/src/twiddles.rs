//! Twiddle tables: powers of ψ in bit-reversed order with Shoup quotients.

use crate::Modulus;

/// `w[k] = root^bitrev(k)` for `k < n`, and the Shoup quotient of each.
///
/// The forward transform at stage `m` (with `m` groups) uses `w[m + i]` for
/// group `i`, so each stage reads one contiguous run of the table.
#[derive(Debug, Clone)]
pub(crate) struct Twiddles {
    pub w: Vec<u64>,
    pub wq: Vec<u64>,
}

impl Twiddles {
    pub fn new(modulus: &Modulus, root: u64, n: usize) -> Self {
        let log_n = n.trailing_zeros();
        let mut powers = Vec::with_capacity(n);
        let mut acc = 1u64;
        for _ in 0..n {
            powers.push(acc);
            acc = modulus.mul(acc, root);
        }
        let w: Vec<u64> = (0..n).map(|k| powers[bit_reverse(k, log_n)]).collect();
        let wq = w.iter().map(|&x| modulus.shoup(x).quotient).collect();
        Self { w, wq }
    }
}

/// Reverses the low `bits` bits of `k`.
pub(crate) fn bit_reverse(k: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Twiddle index (into [`Twiddles::w`]) for lane `k` of the expanded table
/// of the `t = 2` stage, where each 8-point vector pair covers groups
/// `i, i+1` and the lanes read `[w_i, w_i, w_i+1, w_i+1]`.
pub(crate) fn narrow_t2_index(n: usize, k: usize) -> usize {
    n / 4 + k / 2
}

/// Twiddle index for lane `k` of the expanded `t = 1` table: per 8 points,
/// groups in the lane order `[g, g+2, g+1, g+3]` that `unpacklo`/`unpackhi`
/// of two 4-lane vectors produce.
pub(crate) fn narrow_t1_index(n: usize, k: usize) -> usize {
    const LANE_GROUP: [usize; 4] = [0, 2, 1, 3];
    n / 2 + (k & !3) + LANE_GROUP[k & 3]
}
