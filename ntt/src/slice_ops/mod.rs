//! Element-wise modular arithmetic on slices: the pointwise products and
//! multiply-accumulates that RNS ring operations are made of.
//!
//! For a prime below 2^50 (and inputs below 2^50) on a CPU with AVX2 and FMA,
//! the products run four at a time in exact `f64` arithmetic, as in the NTT
//! kernel ([`crate::NttPath::Avx2Fma`]); otherwise portable Barrett/Shoup code
//! runs. Both give identical results (every output is fully reduced). The
//! linear combination with constant weights ([`mul_scalar_sum`]) also has
//! an AVX-512 IFMA kernel, preferred where the CPU has it.
//!
//! Slices of different lengths are an error ([`Error::WrongLength`]). The
//! value preconditions (inputs below `p`, or below the stated `input_bound`)
//! are the caller's: violating them gives unspecified values, never undefined
//! behaviour or a panic.

use crate::{Error, Modulus, ShoupConst};

/// Fails with [`Error::WrongLength`] unless every length equals `expected`.
fn same_len(expected: usize, others: &[usize]) -> Result<(), Error> {
    same_lengths(expected, others.iter().copied())
}

/// [`same_len`] over an iterator (no collected lengths on hot paths).
fn same_lengths(expected: usize, mut lens: impl Iterator<Item = usize>) -> Result<(), Error> {
    match lens.find(|&l| l != expected) {
        Some(got) => Err(Error::WrongLength { expected, got }),
        None => Ok(()),
    }
}

/// Largest modulus (exclusive) and input bound of the vector path.
const VECTOR_BOUND: u64 = 1 << 50;

/// Whether the AVX-512 IFMA kernels can run for `m` (the caller checks its
/// inputs' bound: below `p`, or below 2^50 for [`mul_scalar_sum`]).
fn ifma_ok(m: &Modulus) -> bool {
    m.value() < VECTOR_BOUND && ifma_cpu()
}

/// Whether this CPU has AVX-512F and IFMA (and portable code is not forced).
fn ifma_cpu() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !crate::path::scalar_forced()
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

fn vector_ok(m: &Modulus, input_bound: u64) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        m.value() < VECTOR_BOUND
            && input_bound <= VECTOR_BOUND
            && !crate::path::scalar_forced()
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, input_bound);
        false
    }
}

/// `dst[i] = a[i] · b[i] mod p` for `a[i], b[i] < p`.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops};
/// let m = Modulus::new(97)?;
/// let mut out = [0u64; 3];
/// slice_ops::mul(&m, &mut out, &[2, 50, 96], &[3, 2, 96])?;
/// assert_eq!(out, [6, 3, 1]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn mul(m: &Modulus, dst: &mut [u64], a: &[u64], b: &[u64]) -> Result<(), Error> {
    same_len(dst.len(), &[a.len(), b.len()])?;
    // SAFETY: dst, a and b hold dst.len() words (checked above).
    if unsafe { vector_products::<false>(m, dst.as_mut_ptr(), a.as_ptr(), b.as_ptr(), dst.len()) } {
        return Ok(());
    }
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = m.mul(x, y);
    }
    Ok(())
}

/// `dst[i] = dst[i] · b[i] mod p` for `dst[i], b[i] < p`.
pub fn mul_in_place(m: &Modulus, dst: &mut [u64], b: &[u64]) -> Result<(), Error> {
    same_len(dst.len(), &[b.len()])?;
    let p = dst.as_mut_ptr();
    // SAFETY: dst and b hold dst.len() words; dst is read as `a` through the
    // same pointer, which every kernel loads before it stores.
    if unsafe { vector_products::<false>(m, p, p, b.as_ptr(), dst.len()) } {
        return Ok(());
    }
    for (d, &y) in dst.iter_mut().zip(b) {
        *d = m.mul(*d, y);
    }
    Ok(())
}

/// Pointwise products on the fastest vector path this CPU and prime allow:
/// `dst[i] = a[i]·b[i] mod p`, or `+=` with `ACC`. False when none applies
/// (the caller then runs the portable loop). `dst` may be `a`: every kernel
/// loads a vector before it stores one.
///
/// # Safety
/// `dst`, `a` and `b` valid for `len` words.
unsafe fn vector_products<const ACC: bool>(
    m: &Modulus,
    dst: *mut u64,
    a: *const u64,
    b: *const u64,
    len: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if ifma_ok(m) {
            // SAFETY: AVX-512F and IFMA detected, p < 2^50; the caller's
            // lengths (values above p give wrong words, never UB).
            unsafe { ifma::mul::<ACC>(m.value(), dst, a, b, len) };
            return true;
        }
        if vector_ok(m, m.value()) {
            // SAFETY: AVX2 and FMA detected, p < 2^50; the caller's lengths.
            unsafe { fma::mul::<ACC>(m.value(), dst, a, b, len) };
            return true;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (m, dst, a, b, len);
    false
}

/// Whether the AVX2 integer kernels of [`additive`] can run.
fn additive_ok() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !crate::path::scalar_forced() && is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The operation of an [`additive_pass`].
#[derive(Clone, Copy)]
enum AddSub {
    /// `a + b mod p`.
    Add,
    /// `a − b mod p`.
    Sub,
}

/// `a[i] = a[i] ± b(i)` with `b(i)` from `b` or the constant `c`: the AVX2
/// kernel where it runs, then the portable code for the rest.
fn additive_pass(m: &Modulus, op: AddSub, a: &mut [u64], b: Option<&[u64]>, c: u64) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if additive_ok() {
        // SAFETY: AVX2 detected; every modulus is below 2^62; b, when
        // given, is as long as a (checked by the callers).
        done = unsafe {
            additive::apply(
                op,
                m.value(),
                a.as_mut_ptr(),
                b.map(<[u64]>::as_ptr),
                c,
                a.len(),
            )
        };
    }
    for (i, x) in a.iter_mut().enumerate().skip(done) {
        let y = b.map_or(c, |b| b[i]);
        *x = match op {
            AddSub::Add => m.add(*x, y),
            AddSub::Sub => m.sub(*x, y),
        };
    }
}

/// `a[i] = a[i] + b[i] mod p` for `a[i], b[i] < p`.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops};
/// let m = Modulus::new(97)?;
/// let mut a = [2u64, 50, 96];
/// slice_ops::add_assign(&m, &mut a, &[3, 50, 96])?;
/// assert_eq!(a, [5, 3, 95]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn add_assign(m: &Modulus, a: &mut [u64], b: &[u64]) -> Result<(), Error> {
    same_len(a.len(), &[b.len()])?;
    additive_pass(m, AddSub::Add, a, Some(b), 0);
    Ok(())
}

/// `a[i] = a[i] - b[i] mod p` for `a[i], b[i] < p`.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops};
/// let m = Modulus::new(97)?;
/// let mut a = [2u64, 50, 0];
/// slice_ops::sub_assign(&m, &mut a, &[3, 50, 96])?;
/// assert_eq!(a, [96, 0, 1]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn sub_assign(m: &Modulus, a: &mut [u64], b: &[u64]) -> Result<(), Error> {
    same_len(a.len(), &[b.len()])?;
    additive_pass(m, AddSub::Sub, a, Some(b), 0);
    Ok(())
}

/// `a[i] = a[i] + c mod p` for `a[i], c < p`.
pub fn add_scalar_assign(m: &Modulus, a: &mut [u64], c: u64) {
    additive_pass(m, AddSub::Add, a, None, c);
}

/// `dst[i] = dst[i] · w mod p` for `dst[i] < p`.
pub fn mul_scalar_in_place(m: &Modulus, dst: &mut [u64], w: ShoupConst) {
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, m.value()) {
        let p = dst.as_mut_ptr();
        // SAFETY: as in `mul_scalar_add`; inputs below p; loads precede stores.
        unsafe { fma::mul_scalar::<false>(m.value(), p, p, w.value, dst.len()) };
        return;
    }
    for d in dst.iter_mut() {
        *d = m.mul_shoup(*d, w);
    }
}

/// `dst[i] = (dst[i] + a[i] · b[i]) mod p` for `dst[i], a[i], b[i] < p`.
pub fn mul_add(m: &Modulus, dst: &mut [u64], a: &[u64], b: &[u64]) -> Result<(), Error> {
    same_len(dst.len(), &[a.len(), b.len()])?;
    // SAFETY: dst, a and b hold dst.len() words (checked above).
    if unsafe { vector_products::<true>(m, dst.as_mut_ptr(), a.as_ptr(), b.as_ptr(), dst.len()) } {
        return Ok(());
    }
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = m.add(*d, m.mul(x, y));
    }
    Ok(())
}

/// `dst[i] = Σ_j a[j][i] · b[j][i] mod p` for inputs below `p`: a dot
/// product across slices (the inner product of key switching), reduced once
/// per output instead of once per term.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops};
/// let m = Modulus::new(97)?;
/// let mut out = [0u64; 2];
/// slice_ops::mul_sum(&m, &mut out, &[&[2, 50], &[10, 1]], &[&[3, 2], &[10, 96]])?;
/// assert_eq!(out, [(6 + 100) % 97, (100 + 96) % 97]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn mul_sum(m: &Modulus, dst: &mut [u64], a: &[&[u64]], b: &[&[u64]]) -> Result<(), Error> {
    if a.len() != b.len() {
        return Err(Error::WrongLength {
            expected: a.len(),
            got: b.len(),
        });
    }
    same_lengths(dst.len(), a.iter().chain(b).map(|s| s.len()))?;
    #[cfg(target_arch = "x86_64")]
    if ifma_ok(m) {
        // SAFETY: AVX-512F and IFMA detected, p < 2^50, every slice has dst's length.
        unsafe { ifma::mul_sum(m.value(), dst.as_mut_ptr(), a, b, dst.len()) };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, m.value()) {
        // SAFETY: AVX2 and FMA detected, p < 2^50, every slice has dst's length.
        unsafe { fma::mul_sum(m.value(), dst.as_mut_ptr(), a, b, dst.len()) };
        return Ok(());
    }
    // Products below 2^124: fifteen of them and a reduced carry fit a u128.
    const GROUP: usize = 15;
    for (i, d) in dst.iter_mut().enumerate() {
        let mut r = 0u64;
        for (ga, gb) in a.chunks(GROUP).zip(b.chunks(GROUP)) {
            let mut acc = r as u128;
            for (x, y) in ga.iter().zip(gb) {
                acc += x[i] as u128 * y[i] as u128;
            }
            r = m.reduce_u128(acc);
        }
        *d = r;
    }
    Ok(())
}

/// `dst[i] = Σ_j a[j][i] · w[j] mod p` for constants below `p` and inputs
/// below `input_bound`: a linear combination of slices with constant
/// weights (one row of an encrypted convolution or dense layer, one target
/// prime of a base conversion), reduced once per group of terms instead of
/// once per term.
///
/// Runs on AVX-512 IFMA where the CPU has it (eight lanes, two instructions
/// per eight terms), else on AVX2 + FMA, for primes and input bounds up to
/// 2^50; portable otherwise (any bound). Every path gives the same, fully
/// reduced words. Inputs may exceed `p` — a base conversion sums residues
/// of other primes — as long as they are below `input_bound`. Without IFMA,
/// weights that are all `±1` (`1` or `p - 1`, reduced inputs, `p < 2^48`)
/// take a path of plain additions on the vector units, reduced once per
/// group.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops};
/// let m = Modulus::new(97)?;
/// let mut out = [0u64; 2];
/// slice_ops::mul_scalar_sum(&m, &mut out, &[&[2, 50], &[10, 1]], &[3, 10], 97)?;
/// assert_eq!(out, [(6 + 100) % 97, (150 + 10) % 97]);
/// // Inputs of another, larger prime: 120 and 200 are below 211.
/// slice_ops::mul_scalar_sum(&m, &mut out, &[&[120, 200]], &[5], 211)?;
/// assert_eq!(out, [600 % 97, 1000 % 97]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn mul_scalar_sum(
    m: &Modulus,
    dst: &mut [u64],
    a: &[&[u64]],
    w: &[u64],
    input_bound: u64,
) -> Result<(), Error> {
    if a.len() != w.len() {
        return Err(Error::WrongLength {
            expected: a.len(),
            got: w.len(),
        });
    }
    same_lengths(dst.len(), a.iter().map(|s| s.len()))?;
    if !ifma_ok(m) && vector_ok(m, input_bound) && signed::applies(m, w, input_bound) {
        // Weights of ±1 without IFMA: additions, one reduction per group of
        // terms — 2.2× the f64 products on 256-word runs of 15 terms. With
        // IFMA the products (two multiply-adds per eight words) measured as
        // fast as the additions and their extra reduction pass.
        signed_sum(m, dst, a, w);
        return Ok(());
    }
    weighted_sum(m, dst, a, w, input_bound);
    Ok(())
}

/// `Σ ±a_j` by additions ([`signed`]), each group reduced on the fastest
/// weighted path.
fn signed_sum(m: &Modulus, dst: &mut [u64], a: &[&[u64]], w: &[u64]) {
    signed::signed_sum(m, dst, a, w, |out, acc| {
        weighted_sum(m, out, &[acc], &[1], VECTOR_BOUND);
    });
}

/// [`mul_scalar_sum`] after its checks, by products on the fastest path.
fn weighted_sum(m: &Modulus, dst: &mut [u64], a: &[&[u64]], w: &[u64], input_bound: u64) {
    #[cfg(target_arch = "x86_64")]
    if ifma_ok(m) && input_bound <= VECTOR_BOUND {
        // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below 2^50,
        // every slice has dst's length.
        unsafe { ifma::mul_scalar_sum(m.value(), dst.as_mut_ptr(), a, w, dst.len()) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, input_bound) {
        // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below 2^50, every
        // slice has dst's length.
        unsafe { fma::mul_scalar_sum(m.value(), dst.as_mut_ptr(), a, w, dst.len()) };
        return;
    }
    scalar_sum(m, dst, a, w, input_bound);
}

/// `dst[c] = round(Σ_i a[i][c] · fractions[i] / 2^128) mod 2^64`: integers
/// times 128-bit fractions, summed exactly and rounded to nearest (ties
/// up) — how many times a value wrapped in an exact base lift, or BFV's
/// `round(t·x/Q)`. Runs on AVX-512 IFMA, else AVX2, where the CPU has it
/// and the inputs are below `input_bound ≤ 2^50` (and fewer than 1,024
/// terms); portable 128-bit arithmetic otherwise, with the same words.
///
/// ```
/// use hefty_ntt::slice_ops;
/// let half = 1u128 << 127;
/// let mut out = [0u64; 2];
/// // 3 · 1/2 = 1.5 rounds to 2; 4 · 1/2 + 1 · 1/2 = 2.5 to 3.
/// slice_ops::round_fixed_sum(&mut out, &[&[3, 4], &[0, 1]], &[half, half], 5)?;
/// assert_eq!(out, [2, 3]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn round_fixed_sum(
    dst: &mut [u64],
    a: &[&[u64]],
    fractions: &[u128],
    input_bound: u64,
) -> Result<(), Error> {
    if a.len() != fractions.len() {
        return Err(Error::WrongLength {
            expected: a.len(),
            got: fractions.len(),
        });
    }
    same_lengths(dst.len(), a.iter().map(|s| s.len()))?;
    #[cfg(target_arch = "x86_64")]
    if input_bound <= VECTOR_BOUND && a.len() < 1 << 10 && ifma_cpu() {
        // SAFETY: AVX-512F and IFMA detected, inputs below 2^50, fewer than
        // 2^10 terms, every slice has dst's length.
        unsafe { ifma::round_fixed_sum(dst.as_mut_ptr(), a, fractions, dst.len()) };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if input_bound <= VECTOR_BOUND
        && a.len() < 1 << 10
        && !crate::path::scalar_forced()
        && is_x86_feature_detected!("avx2")
    {
        // SAFETY: AVX2 detected, inputs below 2^50, fewer than 2^10 terms,
        // every slice has dst's length.
        unsafe { fixed::avx2_sum(dst.as_mut_ptr(), a, fractions, dst.len()) };
        return Ok(());
    }
    for (c, d) in dst.iter_mut().enumerate() {
        *d = fixed::scalar_at(a, fractions, c);
    }
    Ok(())
}

/// One output of [`mul_scalar_layer`]: `Σ_t a[inputs[t]] · weights[t] mod p`.
#[derive(Debug, Clone, Copy)]
pub struct ScalarRow<'a> {
    /// The input each term reads.
    pub inputs: &'a [usize],
    /// Each term's constant, below `p`.
    pub weights: &'a [u64],
}

/// `outs[r][i] = Σ_t a[rows[r].inputs[t]][i] · rows[r].weights[t] mod p`:
/// a sparse matrix of constants times a vector of slices (an encrypted
/// convolution or dense layer, one limb). Every row is summed tile by tile,
/// so each input's tile is read from memory once and then from cache by
/// every row that uses it, instead of once per term; each row is reduced as
/// in [`mul_scalar_sum`], with the same paths and the same results.
///
/// ```
/// use hefty_ntt::{Modulus, slice_ops::{self, ScalarRow}};
/// let m = Modulus::new(97)?;
/// let (x, y) = ([2u64, 50], [10u64, 1]);
/// let (mut o0, mut o1) = ([0u64; 2], [0u64; 2]);
/// let rows = [
///     ScalarRow { inputs: &[0, 1], weights: &[3, 10] },
///     ScalarRow { inputs: &[1], weights: &[96] },
/// ];
/// slice_ops::mul_scalar_layer(&m, &[&x, &y], &rows, &mut [&mut o0, &mut o1])?;
/// assert_eq!(o0, [(6 + 100) % 97, (150 + 10) % 97]);
/// assert_eq!(o1, [97 - 10, 96]);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn mul_scalar_layer(
    m: &Modulus,
    a: &[&[u64]],
    rows: &[ScalarRow<'_>],
    outs: &mut [&mut [u64]],
) -> Result<(), Error> {
    same_len(rows.len(), &[outs.len()])?;
    let len = a
        .first()
        .map(|s| s.len())
        .or(outs.first().map(|o| o.len()))
        .unwrap_or(0);
    let lens: Vec<usize> = a
        .iter()
        .map(|s| s.len())
        .chain(outs.iter().map(|o| o.len()))
        .collect();
    same_len(len, &lens)?;
    for row in rows {
        same_len(row.inputs.len(), &[row.weights.len()])?;
        if let Some(&index) = row.inputs.iter().find(|&&j| j >= a.len()) {
            return Err(Error::NoSuchInput {
                index,
                inputs: a.len(),
            });
        }
    }
    #[cfg(target_arch = "x86_64")]
    if ifma_ok(m) {
        // SAFETY: AVX-512F and IFMA detected, p < 2^50; every input and
        // output has `len` words; every index names an input.
        let done = unsafe { ifma::mul_scalar_layer(m.value(), a, rows, outs, len) };
        return layer_tail(m, a, rows, outs, done..len);
    }
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, m.value()) && !all_signed(m, rows) {
        // SAFETY: AVX2 and FMA detected, p < 2^50; every input and output
        // has `len` words; every index names an input.
        let done = unsafe { fma::mul_scalar_layer(m.value(), a, rows, outs, len) };
        return layer_tail(m, a, rows, outs, done..len);
    }
    layer_by_rows(m, a, rows, outs, len)
}

/// Words `range` of every row of [`mul_scalar_layer`], one
/// [`mul_scalar_sum`] per row: the part shorter than a tile of the vector
/// kernels.
fn layer_tail(
    m: &Modulus,
    a: &[&[u64]],
    rows: &[ScalarRow<'_>],
    outs: &mut [&mut [u64]],
    range: std::ops::Range<usize>,
) -> Result<(), Error> {
    let mut xs: Vec<&[u64]> = Vec::new();
    for (row, out) in rows.iter().zip(outs.iter_mut()) {
        xs.clear();
        xs.extend(row.inputs.iter().map(|&j| &a[j][range.clone()]));
        mul_scalar_sum(m, &mut out[range.clone()], &xs, row.weights, m.value())?;
    }
    Ok(())
}

/// Whether every row of a layer takes [`mul_scalar_sum`]'s path of
/// additions (weights ±1 without IFMA), which [`layer_by_rows`] keeps.
fn all_signed(m: &Modulus, rows: &[ScalarRow<'_>]) -> bool {
    rows.iter()
        .all(|row| signed::applies(m, row.weights, m.value()))
}

/// [`mul_scalar_layer`] off the IFMA path: one [`mul_scalar_sum`] per row
/// and tile (their per-word work leaves the slicing cost small). Where
/// rows read each input many times, the inputs' tiles are first packed side
/// by side, as in the IFMA kernel (in place, tiles of separate buffers share
/// cache sets); a sparse layer's few reads per input do not repay the copy.
/// Measured with the IFMA kernel switched off, CKKS batches of 4,096
/// images, two alternating runs each: packing every layer made the dense
/// CryptoNets model (26 to 185 reads per input) 1.80x faster and the pruned
/// one (13 to 22) 0.93x; with [`PACK_READS`] = 24, 1.82x and 1.01x.
fn layer_by_rows(
    m: &Modulus,
    a: &[&[u64]],
    rows: &[ScalarRow<'_>],
    outs: &mut [&mut [u64]],
    len: usize,
) -> Result<(), Error> {
    const TILE: usize = 256;
    let reads: usize = rows.iter().map(|r| r.inputs.len()).sum();
    let mut packed = if reads >= PACK_READS * a.len() {
        vec![0u64; a.len() * TILE]
    } else {
        Vec::new()
    };
    for tile in (0..len).step_by(TILE) {
        let end = len.min(tile + TILE);
        let width = end - tile;
        for (dst, x) in packed.chunks_exact_mut(TILE).zip(a) {
            dst[..width].copy_from_slice(&x[tile..end]);
        }
        let input = |j: usize| -> &[u64] {
            if packed.is_empty() {
                &a[j][tile..end]
            } else {
                &packed[j * TILE..j * TILE + width]
            }
        };
        let mut xs: Vec<&[u64]> = Vec::new();
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            xs.clear();
            xs.extend(row.inputs.iter().map(|&j| input(j)));
            mul_scalar_sum(m, &mut out[tile..end], &xs, row.weights, m.value())?;
        }
    }
    Ok(())
}

/// Reads per input (terms over inputs) from which [`layer_by_rows`] packs
/// the inputs' tiles.
const PACK_READS: usize = 24;

/// The portable [`mul_scalar_sum`]: products below 2^124, fifteen of them
/// and a reduced carry fit a u128. Inputs that may reach 2^62 (above any
/// prime's) are reduced first to keep the products in that bound.
fn scalar_sum(m: &Modulus, dst: &mut [u64], a: &[&[u64]], w: &[u64], input_bound: u64) {
    const GROUP: usize = 15;
    let wide = input_bound > 1 << 62;
    for (i, d) in dst.iter_mut().enumerate() {
        let mut r = 0u64;
        for (ga, gw) in a.chunks(GROUP).zip(w.chunks(GROUP)) {
            let mut acc = r as u128;
            for (x, &w) in ga.iter().zip(gw) {
                let x = if wide { m.reduce(x[i]) } else { x[i] };
                acc += x as u128 * w as u128;
            }
            r = m.reduce_u128(acc);
        }
        *d = r;
    }
}

/// `dst[i] = (dst[i] + a[i] · w) mod p` for `dst[i] < p` and `a[i] < input_bound`
/// (any `u64` on the portable path; the vector path needs `input_bound <= 2^50`).
pub fn mul_scalar_add(
    m: &Modulus,
    dst: &mut [u64],
    a: &[u64],
    w: ShoupConst,
    input_bound: u64,
) -> Result<(), Error> {
    same_len(dst.len(), &[a.len()])?;
    #[cfg(target_arch = "x86_64")]
    if ifma_ok(m) && input_bound <= VECTOR_BOUND {
        // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below 2^50, w < p.
        unsafe {
            ifma::mul_scalar::<true>(m.value(), dst.as_mut_ptr(), a.as_ptr(), w.value, dst.len())
        };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, input_bound) {
        // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below 2^50, w < p.
        unsafe {
            fma::mul_scalar::<true>(m.value(), dst.as_mut_ptr(), a.as_ptr(), w.value, dst.len())
        };
        return Ok(());
    }
    for (d, &x) in dst.iter_mut().zip(a) {
        *d = m.add(*d, m.mul_shoup(x, w));
    }
    Ok(())
}

/// `dst[i] = a[i] · w mod p` for `a[i] < input_bound` (see [`mul_scalar_add`]).
pub fn mul_scalar(
    m: &Modulus,
    dst: &mut [u64],
    a: &[u64],
    w: ShoupConst,
    input_bound: u64,
) -> Result<(), Error> {
    same_len(dst.len(), &[a.len()])?;
    #[cfg(target_arch = "x86_64")]
    if ifma_ok(m) && input_bound <= VECTOR_BOUND {
        // SAFETY: as in `mul_scalar_add`.
        unsafe {
            ifma::mul_scalar::<false>(m.value(), dst.as_mut_ptr(), a.as_ptr(), w.value, dst.len())
        };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if vector_ok(m, input_bound) {
        // SAFETY: as in `mul_scalar_add`.
        unsafe {
            fma::mul_scalar::<false>(m.value(), dst.as_mut_ptr(), a.as_ptr(), w.value, dst.len())
        };
        return Ok(());
    }
    for (d, &x) in dst.iter_mut().zip(a) {
        *d = m.mul_shoup(x, w);
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod additive;
mod fixed;
#[cfg(target_arch = "x86_64")]
mod fma;
#[cfg(target_arch = "x86_64")]
mod ifma;
mod signed;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(m: &Modulus, acc: Option<&[u64]>, a: &[u64], b: &[u64]) -> Vec<u64> {
        a.iter()
            .zip(b)
            .enumerate()
            .map(|(i, (&x, &y))| {
                let p = m.value() as u128;
                let prod = (x as u128 % p) * (y as u128 % p) % p;
                (acc.map_or(0, |d| d[i] as u128) + prod) as u64 % m.value()
            })
            .collect()
    }

    proptest! {
        /// Dot products of 0..20 terms (groups of seven and fifteen, and
        /// their carries) against u128 arithmetic, on both paths.
        #[test]
        fn mul_sum_matches_u128(bits in 20u32..=62, len in 0usize..40, terms in 0usize..20, seed: u64) {
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            // Extremes as well as random values.
            let mut value = |k: usize| match k % 5 { 0 => p - 1, _ => next(p) };
            let a: Vec<Vec<u64>> = (0..terms).map(|t| (0..len).map(|i| value(t + i)).collect()).collect();
            let b: Vec<Vec<u64>> = (0..terms).map(|t| (0..len).map(|i| value(t * 3 + i)).collect()).collect();
            let want: Vec<u64> = (0..len)
                .map(|i| (0..terms).fold(0u128, |acc, t| (acc + a[t][i] as u128 * b[t][i] as u128) % p as u128) as u64)
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let br: Vec<&[u64]> = b.iter().map(Vec::as_slice).collect();
            let mut out = vec![7; len];
            mul_sum(&m, &mut out, &ar, &br).unwrap();
            prop_assert_eq!(&out, &want);
            #[cfg(target_arch = "x86_64")]
            if p < VECTOR_BOUND {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    let mut out = vec![7; len];
                    // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below p, equal lengths.
                    unsafe { fma::mul_sum(p, out.as_mut_ptr(), &ar, &br, len) };
                    prop_assert_eq!(&out, &want, "avx2-fma");
                }
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma") {
                    let mut out = vec![7; len];
                    // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below p, equal lengths.
                    unsafe { ifma::mul_sum(p, out.as_mut_ptr(), &ar, &br, len) };
                    prop_assert_eq!(&out, &want, "avx512-ifma");
                }
            }
        }

        /// Sums and differences (weights 1 and p - 1 only) of up to 300
        /// terms — several reduction groups for the larger primes — over
        /// lengths that cross the tiles, against u128 arithmetic, through the
        /// public entry (the additions path where the CPU has a vector
        /// unit) and the portable products.
        #[test]
        fn signed_sums_match_u128(bits in 20u32..=50, len in 0usize..600, terms in 0usize..300, seed: u64) {
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 11) % bound };
            let a: Vec<Vec<u64>> = (0..terms)
                .map(|t| (0..len).map(|i| if (t + i) % 5 == 0 { p - 1 } else { next(p) }).collect())
                .collect();
            let w: Vec<u64> = (0..terms).map(|_| if next(2) == 0 { 1 } else { p - 1 }).collect();
            let want: Vec<u64> = (0..len)
                .map(|i| (0..terms).fold(0u128, |acc, t| (acc + a[t][i] as u128 * w[t] as u128) % p as u128) as u64)
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let mut out = vec![7; len];
            mul_scalar_sum(&m, &mut out, &ar, &w, p).unwrap();
            prop_assert_eq!(&out, &want);
            let mut out = vec![7; len];
            scalar_sum(&m, &mut out, &ar, &w, p);
            prop_assert_eq!(&out, &want, "portable");
            prop_assert_eq!(signed::applies(&m, &w, p), p < VECTOR_BOUND >> 2);
            if signed::applies(&m, &w, p) {
                let mut out = vec![7; len];
                signed_sum(&m, &mut out, &ar, &w);
                prop_assert_eq!(&out, &want, "additions");
            }
        }

        /// Linear combinations with constant weights of 0..70 terms (the
        /// IFMA path's groups of fifteen, the FMA path's of seven, their
        /// carries) over lengths that leave every kind of tail, on every path
        /// this CPU has, against u128 arithmetic — with inputs below `p`,
        /// below the vector paths' 2^50 (a base conversion's residues of
        /// larger primes) and anywhere in a word (portable only).
        #[test]
        fn mul_scalar_sum_matches_u128_on_every_path(bits in 20u32..=62, len in 0usize..80, terms in 0usize..70, bound_kind in 0usize..3, seed: u64) {
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let bound = match bound_kind {
                0 => p,
                1 if p < VECTOR_BOUND => VECTOR_BOUND,
                1 => 1 << 62,
                _ => u64::MAX,
            };
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); s % bound };
            // Extremes (the largest products, the largest carries) as well as random values.
            let a: Vec<Vec<u64>> = (0..terms)
                .map(|t| (0..len).map(|i| if (t + i) % 3 == 0 { bound - 1 } else { next(bound) }).collect())
                .collect();
            let w: Vec<u64> = (0..terms).map(|t| if t % 2 == 0 { p - 1 } else { next(p) }).collect();
            let want: Vec<u64> = (0..len)
                .map(|i| (0..terms).fold(0u128, |acc, t| (acc + a[t][i] as u128 * w[t] as u128) % p as u128) as u64)
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let mut out = vec![7; len];
            mul_scalar_sum(&m, &mut out, &ar, &w, bound).unwrap();
            prop_assert_eq!(&out, &want);
            let mut out = vec![7; len];
            scalar_sum(&m, &mut out, &ar, &w, bound);
            prop_assert_eq!(&out, &want, "portable");
            #[cfg(target_arch = "x86_64")]
            if p < VECTOR_BOUND && bound <= VECTOR_BOUND && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                let mut out = vec![7; len];
                // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below 2^50, equal lengths.
                unsafe { fma::mul_scalar_sum(p, out.as_mut_ptr(), &ar, &w, len) };
                prop_assert_eq!(&out, &want, "avx2-fma");
            }
            #[cfg(target_arch = "x86_64")]
            if p < VECTOR_BOUND && bound <= VECTOR_BOUND && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma") {
                let mut out = vec![7; len];
                // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below 2^50, equal lengths.
                unsafe { ifma::mul_scalar_sum(p, out.as_mut_ptr(), &ar, &w, len) };
                prop_assert_eq!(&out, &want, "avx512-ifma");
            }
        }

        /// The AVX2-FMA sums reduce once per group of terms, the group as
        /// long as the prime allows (`fma::group_for`): sums of more than two
        /// full groups, inputs up to the 2^50 bound with extremes, for
        /// every prime size from 30 to 49 bits, against u128 arithmetic —
        /// the row-sum and single-vector paths of `mul_scalar_sum` and the
        /// layer kernel.
        #[test]
        #[cfg(target_arch = "x86_64")]
        fn fma_sums_stay_exact_across_full_groups(bits in 30u32..=49, seed: u64) {
            if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
                return Ok(());
            }
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let terms = (2 * fma::group_for(p) + 3).min(3000);
            let len = 32 + 12;
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            let a: Vec<Vec<u64>> = (0..terms).map(|_| (0..len).map(|i| if i % 3 == 0 { VECTOR_BOUND - 1 } else { next(VECTOR_BOUND) }).collect()).collect();
            let w: Vec<u64> = (0..terms).map(|t| if t % 2 == 0 { p - 1 } else { next(p) }).collect();
            let want: Vec<u64> = (0..len)
                .map(|i| (0..terms).fold(0u128, |acc, t| (acc + a[t][i] as u128 * w[t] as u128) % p as u128) as u64)
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let mut out = vec![7; len];
            // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below 2^50, equal lengths.
            unsafe { fma::mul_scalar_sum(p, out.as_mut_ptr(), &ar, &w, len) };
            prop_assert_eq!(&out, &want, "mul_scalar_sum, {} terms", terms);
            // The layer kernel takes inputs below p: the same sums of reduced inputs.
            let reduced: Vec<Vec<u64>> = a.iter().map(|x| x.iter().map(|&v| v % p).collect()).collect();
            let rr: Vec<&[u64]> = reduced.iter().map(Vec::as_slice).collect();
            let idx: Vec<usize> = (0..terms).collect();
            let rows = [ScalarRow { inputs: &idx, weights: &w }];
            let mut o = vec![7u64; len];
            // SAFETY: AVX2 and FMA detected, p < 2^50, inputs and weights below p, every index names an input.
            let done = unsafe { fma::mul_scalar_layer(p, &rr, &rows, &mut [&mut o], len) };
            layer_tail(&m, &rr, &rows, &mut [&mut o], done..len).unwrap();
            prop_assert_eq!(&o, &want, "layer, {} terms", terms);
            // The largest sum a group reaches in practice: every product
            // (p-1)/2 (x = (p-1)/2, w = 1), centred at +p/2.
            let half = vec![(p - 1) / 2; len];
            let halves: Vec<&[u64]> = vec![&half; terms];
            let ones = vec![1u64; terms];
            let want = ((terms as u128 * ((p - 1) / 2) as u128) % p as u128) as u64;
            let mut out = vec![7; len];
            // SAFETY: as above.
            unsafe { fma::mul_scalar_sum(p, out.as_mut_ptr(), &halves, &ones, len) };
            prop_assert!(out.iter().all(|&o| o == want), "half-p products, {} terms", terms);
        }

        /// Addition and subtraction (of slices and of a constant) against
        /// u128 arithmetic for primes up to 2^62, extremes included, on the
        /// public functions and, where this CPU has AVX2, the kernel called
        /// directly with the portable tail.
        #[test]
        fn additive_passes_match_u128(bits in 8u32..=62, len in 0usize..40, seed: u64) {
            // The smallest primes too (no NTT-friendly prime of so few bits).
            let p = if bits < 12 { [2u64, 3, 5, 7][bits as usize - 8] } else { crate::ntt_primes(bits, 16, 1).unwrap()[0] };
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            let a: Vec<u64> = (0..len).map(|i| match i % 4 { 0 => p - 1, 1 => 0, _ => next(p) }).collect();
            let b: Vec<u64> = (0..len).map(|i| match i % 3 { 0 => p - 1, 1 => 0, _ => next(p) }).collect();
            let c = if seed % 2 == 0 { p - 1 } else { next(p) };
            let add = |x: u64, y: u64| ((x as u128 + y as u128) % p as u128) as u64;
            let sub = |x: u64, y: u64| ((x as u128 + p as u128 - y as u128) % p as u128) as u64;
            let want_add: Vec<u64> = a.iter().zip(&b).map(|(&x, &y)| add(x, y)).collect();
            let want_sub: Vec<u64> = a.iter().zip(&b).map(|(&x, &y)| sub(x, y)).collect();
            let want_const: Vec<u64> = a.iter().map(|&x| add(x, c)).collect();
            let mut got = a.clone();
            add_assign(&m, &mut got, &b).unwrap();
            prop_assert_eq!(&got, &want_add);
            let mut got = a.clone();
            sub_assign(&m, &mut got, &b).unwrap();
            prop_assert_eq!(&got, &want_sub);
            let mut got = a.clone();
            add_scalar_assign(&m, &mut got, c);
            prop_assert_eq!(&got, &want_const);
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") {
                for (op, other, want) in [(AddSub::Add, Some(&b), &want_add), (AddSub::Sub, Some(&b), &want_sub), (AddSub::Add, None, &want_const)] {
                    let mut got = a.clone();
                    // SAFETY: AVX2 detected, p < 2^62, b as long as a.
                    let done = unsafe { additive::apply(op, p, got.as_mut_ptr(), other.map(|b| b.as_ptr()), c, len) };
                    prop_assert_eq!(done, len / 4 * 4);
                    prop_assert_eq!(&got[..done], &want[..done], "the AVX2 kernel");
                }
            }
        }

        /// Layers of 0..12 rows over 0..40 inputs (rows sharing inputs,
        /// empty rows, more terms than a group), lengths leaving every
        /// tail, against u128 arithmetic: the public function, the
        /// row-by-row path and, where this CPU has them, the IFMA and
        /// AVX2-FMA kernels called directly.
        #[test]
        fn mul_scalar_layer_matches_u128(bits in 20u32..=62, len in 0usize..100, inputs in 1usize..40, rows in 0usize..12, seed: u64) {
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            let a: Vec<Vec<u64>> = (0..inputs).map(|_| (0..len).map(|i| if i % 4 == 0 { p - 1 } else { next(p) }).collect()).collect();
            let shape: Vec<(Vec<usize>, Vec<u64>)> = (0..rows)
                .map(|r| {
                    let terms = next(40) as usize * (r % 3) / 2;
                    let idx = (0..terms).map(|_| next(inputs as u64) as usize).collect();
                    let w = (0..terms).map(|t| if t % 2 == 0 { p - 1 } else { next(p) }).collect();
                    (idx, w)
                })
                .collect();
            let want: Vec<Vec<u64>> = shape
                .iter()
                .map(|(idx, w)| (0..len).map(|i| idx.iter().zip(w).fold(0u128, |acc, (&j, &w)| (acc + a[j][i] as u128 * w as u128) % p as u128) as u64).collect())
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let rs: Vec<ScalarRow<'_>> = shape.iter().map(|(i, w)| ScalarRow { inputs: i, weights: w }).collect();
            let mut outs = vec![vec![7u64; len]; rows];
            let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            mul_scalar_layer(&m, &ar, &rs, &mut refs).unwrap();
            prop_assert_eq!(&outs, &want);
            let mut outs = vec![vec![7u64; len]; rows];
            let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            layer_by_rows(&m, &ar, &rs, &mut refs, len).unwrap();
            prop_assert_eq!(&outs, &want, "row by row (the non-IFMA path)");
            #[cfg(target_arch = "x86_64")]
            {
                type Kernel = unsafe fn(u64, &[&[u64]], &[ScalarRow<'_>], &mut [&mut [u64]], usize) -> usize;
                let kernels: [(&str, bool, Kernel); 2] = [
                    ("avx512-ifma", is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma"), ifma::mul_scalar_layer),
                    ("avx2-fma", is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"), fma::mul_scalar_layer),
                ];
                for (name, present, kernel) in kernels {
                    if p < VECTOR_BOUND && present {
                        let mut outs = vec![vec![7u64; len]; rows];
                        let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
                        // SAFETY: the kernel's CPU features detected, p < 2^50, inputs and weights below p, lengths and indices checked above.
                        let done = unsafe { kernel(p, &ar, &rs, &mut refs, len) };
                        layer_tail(&m, &ar, &rs, &mut refs, done..len).unwrap();
                        prop_assert_eq!(&outs, &want, "{}", name);
                    }
                }
            }
        }

        /// Layers long enough for several tiles of the row-by-row path,
        /// dense enough to pack the inputs' tiles (or not), against u128
        /// arithmetic, with the last tile partial.
        #[test]
        fn row_by_row_layers_match_u128_packed_or_in_place(bits in 20u32..=62, inputs in 1usize..12, reads in prop::sample::select(vec![1usize, 23, 24, 40]), seed: u64) {
            let (len, rows) = (3 * 256 + 40, 6);
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            let a: Vec<Vec<u64>> = (0..inputs).map(|_| (0..len).map(|i| if i % 5 == 0 { p - 1 } else { next(p) }).collect()).collect();
            // `reads` reads per input in all, spread over the rows.
            let terms = (reads * inputs).div_ceil(rows);
            let shape: Vec<(Vec<usize>, Vec<u64>)> = (0..rows)
                .map(|_| ((0..terms).map(|_| next(inputs as u64) as usize).collect(), (0..terms).map(|_| next(p)).collect()))
                .collect();
            let want: Vec<Vec<u64>> = shape
                .iter()
                .map(|(idx, w)| (0..len).map(|i| idx.iter().zip(w).fold(0u128, |acc, (&j, &w)| (acc + a[j][i] as u128 * w as u128) % p as u128) as u64).collect())
                .collect();
            let ar: Vec<&[u64]> = a.iter().map(Vec::as_slice).collect();
            let rs: Vec<ScalarRow<'_>> = shape.iter().map(|(i, w)| ScalarRow { inputs: i, weights: w }).collect();
            let mut outs = vec![vec![7u64; len]; rows];
            let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            layer_by_rows(&m, &ar, &rs, &mut refs, len).unwrap();
            prop_assert_eq!(&outs, &want);
        }

        // Every path (the vector one where this CPU has it) against u128 arithmetic.
        #[test]
        fn slice_ops_match_u128(bits in 20u32..=62, len in 0usize..70, seed: u64) {
            let p = crate::ntt_primes(bits, 16, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let mut s = seed;
            let mut next = |bound: u64| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 1) % bound };
            let a: Vec<u64> = (0..len).map(|_| next(p)).collect();
            let b: Vec<u64> = (0..len).map(|_| next(p)).collect();
            let acc: Vec<u64> = (0..len).map(|_| next(p)).collect();
            let w = m.shoup(next(p));
            let wide: Vec<u64> = (0..len).map(|_| next(1 << 50)).collect();

            let mut out = vec![0; len];
            mul(&m, &mut out, &a, &b).unwrap();
            prop_assert_eq!(&out, &reference(&m, None, &a, &b));
            let mut out = acc.clone();
            mul_add(&m, &mut out, &a, &b).unwrap();
            prop_assert_eq!(&out, &reference(&m, Some(&acc), &a, &b));
            let ws = vec![w.value; len];
            let mut out = acc.clone();
            mul_scalar_add(&m, &mut out, &wide, w, 1 << 50).unwrap();
            prop_assert_eq!(&out, &reference(&m, Some(&acc), &wide, &ws));
            let mut out = vec![0; len];
            mul_scalar(&m, &mut out, &wide, w, 1 << 50).unwrap();
            prop_assert_eq!(&out, &reference(&m, None, &wide, &ws));
            let mut out = a.clone();
            mul_in_place(&m, &mut out, &b).unwrap();
            prop_assert_eq!(&out, &reference(&m, None, &a, &b));
            let mut out = a.clone();
            mul_scalar_in_place(&m, &mut out, w);
            prop_assert_eq!(&out, &reference(&m, None, &a, &ws));
            // Each vector path of the pointwise products on its own.
            #[cfg(target_arch = "x86_64")]
            if p < VECTOR_BOUND {
                let want_acc = reference(&m, Some(&acc), &a, &b);
                let want = reference(&m, None, &a, &b);
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    let mut out = acc.clone();
                    // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below p, equal lengths.
                    unsafe { fma::mul::<true>(p, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), len) };
                    prop_assert_eq!(&out, &want_acc, "avx2-fma");
                    // SAFETY: as above.
                    unsafe { fma::mul::<false>(p, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), len) };
                    prop_assert_eq!(&out, &want, "avx2-fma");
                }
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma") {
                    let mut out = acc.clone();
                    // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below p, equal lengths.
                    unsafe { ifma::mul::<true>(p, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), len) };
                    prop_assert_eq!(&out, &want_acc, "avx512-ifma");
                    // SAFETY: as above.
                    unsafe { ifma::mul::<false>(p, out.as_mut_ptr(), a.as_ptr(), b.as_ptr(), len) };
                    prop_assert_eq!(&out, &want, "avx512-ifma");
                }
            }
            // Each vector path of the scalar products on its own.
            #[cfg(target_arch = "x86_64")]
            if p < VECTOR_BOUND {
                let want_acc = reference(&m, Some(&acc), &wide, &ws);
                let want = reference(&m, None, &wide, &ws);
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    let mut out = acc.clone();
                    // SAFETY: AVX2 and FMA detected, p < 2^50, inputs below 2^50, equal lengths.
                    unsafe { fma::mul_scalar::<true>(p, out.as_mut_ptr(), wide.as_ptr(), w.value, len) };
                    prop_assert_eq!(&out, &want_acc, "avx2-fma");
                    // SAFETY: as above.
                    unsafe { fma::mul_scalar::<false>(p, out.as_mut_ptr(), wide.as_ptr(), w.value, len) };
                    prop_assert_eq!(&out, &want, "avx2-fma");
                }
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512ifma") {
                    let mut out = acc.clone();
                    // SAFETY: AVX-512F and IFMA detected, p < 2^50, inputs below 2^50, equal lengths.
                    unsafe { ifma::mul_scalar::<true>(p, out.as_mut_ptr(), wide.as_ptr(), w.value, len) };
                    prop_assert_eq!(&out, &want_acc, "avx512-ifma");
                    // SAFETY: as above.
                    unsafe { ifma::mul_scalar::<false>(p, out.as_mut_ptr(), wide.as_ptr(), w.value, len) };
                    prop_assert_eq!(&out, &want, "avx512-ifma");
                }
            }
            // Inputs of any size on the portable path.
            let any: Vec<u64> = (0..len).map(|_| next(u64::MAX)).collect();
            let mut out = vec![0; len];
            mul_scalar(&m, &mut out, &any, w, u64::MAX).unwrap();
            prop_assert_eq!(&out, &reference(&m, None, &any, &ws));
        }
    }

    #[test]
    fn layers_with_missing_inputs_or_mismatched_shapes_are_errors() {
        let m = Modulus::new(97).unwrap();
        let (x, mut o) = ([1u64, 2], [0u64; 2]);
        let row = |inputs: &'static [usize], weights: &'static [u64]| ScalarRow { inputs, weights };
        assert_eq!(
            mul_scalar_layer(&m, &[&x], &[row(&[1], &[3])], &mut [&mut o]),
            Err(Error::NoSuchInput {
                index: 1,
                inputs: 1
            })
        );
        assert!(matches!(
            mul_scalar_layer(&m, &[&x], &[row(&[0], &[3, 4])], &mut [&mut o]),
            Err(Error::WrongLength { .. })
        ));
        assert!(matches!(
            mul_scalar_layer(&m, &[&x], &[row(&[0], &[3])], &mut []),
            Err(Error::WrongLength { .. })
        ));
        assert!(matches!(
            mul_scalar_layer(&m, &[&x[..1]], &[row(&[0], &[3])], &mut [&mut o]),
            Err(Error::WrongLength { .. })
        ));
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let m = Modulus::new(97).unwrap();
        let w = m.shoup(3);
        let mut out = vec![0u64; 3];
        let err = Error::WrongLength {
            expected: 3,
            got: 2,
        };
        assert_eq!(mul(&m, &mut out, &[1, 2], &[1, 2, 3]), Err(err.clone()));
        assert_eq!(mul_add(&m, &mut out, &[1, 2, 3], &[1, 2]), Err(err.clone()));
        assert_eq!(mul_in_place(&m, &mut out, &[1, 2]), Err(err.clone()));
        assert_eq!(mul_scalar(&m, &mut out, &[1, 2], w, 97), Err(err.clone()));
        assert_eq!(mul_scalar_add(&m, &mut out, &[1, 2], w, 97), Err(err));
        assert_eq!(out, vec![0; 3], "nothing written on error");
    }

    #[test]
    fn extreme_values_on_the_vector_path() {
        let p = crate::ntt_primes(50, 16, 1).unwrap()[0];
        let m = Modulus::new(p).unwrap();
        let a = vec![p - 1; 9];
        let mut out = vec![p - 1; 9];
        mul_add(&m, &mut out, &a, &a).unwrap();
        assert_eq!(out, reference(&m, Some(&[p - 1; 9]), &a, &a));
        let big = vec![(1 << 50) - 1; 9];
        let w = m.shoup(p - 1);
        let mut out = vec![p - 1; 9];
        mul_scalar_add(&m, &mut out, &big, w, 1 << 50).unwrap();
        assert_eq!(out, reference(&m, Some(&[p - 1; 9]), &big, &[p - 1; 9]));
    }
}
