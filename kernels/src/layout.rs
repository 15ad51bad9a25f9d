//! The constant tables both GPU backends' kernels read, as words of the
//! device's width (`bits`: 64 or 32): prime records, Shoup pairs, 128-bit
//! fractions, per-basis twiddles, and the tables of base conversion, the
//! exact lift and BFV's scale-and-round. One layout for WGSL and CUDA, so
//! the two kernel sets index their tables the same way.

use hefty_core::ntt::{Modulus, NttPlan, ShoupConst};
use hefty_core::{BaseConverter, Error, ExactLift, ScaleRound};

/// `[p, mu, k]`: a prime with its Barrett constants (`k` its bit length,
/// `mu = floor(2^2k / p)`, below 2^(k+1)).
pub(crate) fn prime_record(p: u64) -> [u64; 3] {
    let k = 64 - p.leading_zeros();
    let mu = (1u128 << (2 * k)) / p as u128;
    [p, mu as u64, k as u64]
}

/// `[c, floor(c·2^bits / p)]`: a constant with its Shoup quotient.
pub(crate) fn shoup(c: u64, p: u64, bits: u32) -> [u64; 2] {
    [c, (((c as u128) << bits) / p as u128) as u64]
}

/// A 128-bit fraction as `128 / bits` little-endian words.
pub(crate) fn fraction_words(f: u128, bits: u32) -> Vec<u64> {
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (0..128 / bits)
        .map(|i| ((f >> (i * bits)) as u64) & mask)
        .collect()
}

/// Appends a table's `[row j][column i]` Shoup pairs, row `j` modulo prime `j`.
fn push_rows(words: &mut Vec<u64>, primes: &[Modulus], rows: &[Vec<ShoupConst>], bits: u32) {
    for (p, row) in primes.iter().zip(rows) {
        for c in row {
            words.extend(shoup(c.value, p.value(), bits));
        }
    }
}

fn bit_reverse(k: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Powers of `root` in bit-reversed order, then their Shoup quotients.
fn twiddles(m: &Modulus, root: u64, n: usize, bits: u32, out: &mut Vec<u64>) {
    let mut powers = Vec::with_capacity(n);
    let mut acc = 1u64;
    for _ in 0..n {
        powers.push(acc);
        acc = m.mul(acc, root);
    }
    let log = n.trailing_zeros();
    let w: Vec<u64> = (0..n).map(|k| powers[bit_reverse(k, log)]).collect();
    out.extend(&w);
    out.extend(w.iter().map(|&x| shoup(x, m.value(), bits)[1]));
}

/// One basis's NTT tables: per prime, 4n twiddle words (forward `w`, their
/// quotients, inverse `w`, their quotients; `w[k] = ψ^bitrev(k)` with the
/// CPU plan's ψ, so the transforms agree) and the inverse's scaling pairs
/// `[n^-1, quotient, n^-1·w_inv[1], quotient]`.
pub(crate) fn ntt_tables(
    n: usize,
    moduli: &[Modulus],
    bits: u32,
) -> Result<(Vec<u64>, Vec<[u64; 4]>), Error> {
    let mut tw = Vec::with_capacity(4 * n * moduli.len());
    let mut scaling = Vec::with_capacity(moduli.len());
    for m in moduli {
        let p = m.value();
        let psi = NttPlan::new(n, p)?.psi();
        let psi_inv = m.inv(psi).expect("a root of unity is invertible");
        let start = tw.len();
        twiddles(m, psi, n, bits, &mut tw);
        twiddles(m, psi_inv, n, bits, &mut tw);
        let n_inv = m.inv(m.reduce(n as u64)).expect("n < p is invertible");
        let w1 = if n >= 2 { tw[start + 2 * n + 1] } else { 1 };
        let [a, b] = shoup(n_inv, p, bits);
        let [c, d] = shoup(m.mul(n_inv, w1), p, bits);
        scaling.push([a, b, c, d]);
    }
    Ok((tw, scaling))
}

/// Fast base conversion: `F` source records `[q, mu, k, hat_inv, quotient]`,
/// `T` target records `[p, mu, k]`, then `(j·F + i)` pairs `[weight, quotient]`.
pub(crate) fn base_convert(conv: &BaseConverter, bits: u32) -> Vec<u64> {
    let (from, to) = (conv.from_moduli(), conv.to_moduli());
    let mut w = Vec::new();
    for (m, h) in from.iter().zip(conv.q_hat_inv()) {
        w.extend(prime_record(m.value()));
        w.extend(shoup(h.value, m.value(), bits));
    }
    for p in to {
        w.extend(prime_record(p.value()));
    }
    push_rows(&mut w, to, conv.q_hat_mod_p(), bits);
    w
}

/// The exact lift: `F` source records `[q, mu, k, hat_inv, quotient, f]`
/// (`f = 2^128 / q` in fraction words), `T` target records `[b, mu, k,
/// -A mod b, quotient]`, then `(j·F + i)` pairs `[A/q_i mod b_j, quotient]`.
pub(crate) fn exact_lift(lift: &ExactLift, bits: u32) -> Vec<u64> {
    let (from, to) = (lift.from_moduli(), lift.to_moduli());
    let mut w = Vec::new();
    for ((m, h), &f) in from.iter().zip(lift.a_hat_inv()).zip(lift.inv_fractions()) {
        w.extend(prime_record(m.value()));
        w.extend(shoup(h.value, m.value(), bits));
        w.extend(fraction_words(f, bits));
    }
    for (b, c) in to.iter().zip(lift.minus_a_mod_b()) {
        w.extend(prime_record(b.value()));
        w.extend(shoup(c.value, b.value(), bits));
    }
    push_rows(&mut w, to, lift.a_hat_mod_b(), bits);
    w
}

/// BFV's scale-and-round: `Q` records `[q, mu, k, theta]` (theta in fraction
/// words), `T` records `[r, mu, k, c_r, quotient]`, then `(j·Q + i)` pairs
/// `[omega, quotient]`.
pub(crate) fn scale_round(consts: &ScaleRound, bits: u32) -> Vec<u64> {
    let (q, r) = (consts.q_moduli(), consts.r_moduli());
    let mut w = Vec::new();
    for (m, &th) in q.iter().zip(consts.theta()) {
        w.extend(prime_record(m.value()));
        w.extend(fraction_words(th, bits));
    }
    for (rj, c) in r.iter().zip(consts.c_r()) {
        w.extend(prime_record(rj.value()));
        w.extend(shoup(c.value, rj.value(), bits));
    }
    push_rows(&mut w, r, consts.omega(), bits);
    w
}
