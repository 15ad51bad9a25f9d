//! The CPU's kernels for the constant tables of [`crate::ring`]: base
//! conversion, exact lift, BFV's scale-and-round. Each writes its output
//! into `out` (cleared first, its capacity reused) and takes temporaries
//! from the buffer pool.

use hefty_ntt::slice_ops;
use rayon::prelude::*;

use super::pool;
use crate::{BaseConverter, ExactLift, ScaleRound};

/// Words a kernel computes into a stack block before appending them to an
/// output that arrives empty (nothing zeroed first): small enough that a
/// block read for one sum is still in L1 for the next.
pub(crate) const APPEND_BLOCK: usize = 1024;

/// `out` = `input` (`from.len()` limbs of `n` coefficients) converted to the
/// converter's target primes (`x + α·Q`, fast base conversion).
pub(crate) fn base_convert(conv: &BaseConverter, input: &[u64], n: usize, out: &mut Vec<u64>) {
    let v = scaled_inputs(conv, input, n);
    let terms: Vec<&[u64]> = v.chunks_exact(n).collect();
    out.clear();
    for target in 0..conv.to_moduli().len() {
        convert_limb(conv, &terms, target, out);
    }
    pool::give(v);
}

/// `v_i = [x_i · (Q/q_i)^-1]_{q_i}` for every source limb of `input`: the
/// first half of a conversion, shared by every target prime (a pooled
/// buffer; give it back).
pub(crate) fn scaled_inputs(conv: &BaseConverter, input: &[u64], n: usize) -> Vec<u64> {
    let from = conv.from_moduli();
    debug_assert_eq!(input.len(), from.len() * n);
    let mut v = pool::take_empty(input.len());
    let mut block = [0u64; APPEND_BLOCK];
    for (limb, (m, &w)) in input.chunks_exact(n).zip(from.iter().zip(conv.q_hat_inv())) {
        for x in limb.chunks(APPEND_BLOCK) {
            let out = &mut block[..x.len()];
            slice_ops::mul_scalar(m, out, x, w, m.value()).expect("blocks of equal length");
            v.extend_from_slice(out);
        }
    }
    v
}

/// Appends target limb `target` of a conversion, `Σ_i v_i · (Q/q_i mod p)`
/// over the [`scaled_inputs`] `terms` (one lazily reduced pass; `v_i < q_i`
/// may exceed `p`: the kernel takes inputs below a stated bound).
pub(crate) fn convert_limb(
    conv: &BaseConverter,
    terms: &[&[u64]],
    target: usize,
    out: &mut Vec<u64>,
) {
    let p = &conv.to_moduli()[target];
    let w: Vec<u64> = conv.q_hat_mod_p()[target].iter().map(|c| c.value).collect();
    let bound = input_bound(conv.from_moduli());
    let n = terms.first().map_or(0, |t| t.len());
    let mut block = [0u64; APPEND_BLOCK];
    let mut xs: Vec<&[u64]> = Vec::with_capacity(terms.len());
    for start in (0..n).step_by(APPEND_BLOCK) {
        let r = start..(start + APPEND_BLOCK).min(n);
        xs.clear();
        xs.extend(terms.iter().map(|t| &t[r.clone()]));
        let dst = &mut block[..r.len()];
        slice_ops::mul_scalar_sum(p, dst, &xs, &w, bound).expect("blocks of equal length");
        out.extend_from_slice(dst);
    }
}

/// The largest prime of `moduli`: residues modulo them are below it.
fn input_bound(moduli: &[hefty_ntt::Modulus]) -> u64 {
    moduli.iter().map(|m| m.value()).max().unwrap_or(1)
}

/// `out` = the exact lift of the centred representative of `input`
/// (`from.len()` limbs of `n` words) to the lift's target primes.
pub(crate) fn exact_lift(lift: &ExactLift, input: &[u64], n: usize, out: &mut Vec<u64>) {
    let (from, to) = (lift.from_moduli(), lift.to_moduli());
    let (y, v): (Vec<u64>, Vec<u64>) = if let [m] = from {
        // One source prime (a rescale, a one-prime ModDown): A/a_0 = 1, so
        // y = x and v = [x > p/2] without multiplies or fixed point.
        let mut y = pool::take_empty(n);
        y.extend_from_slice(&input[..n]);
        let half = m.value() / 2;
        (y, input[..n].iter().map(|&x| (x > half) as u64).collect())
    } else {
        let mut y = pool::take_zeroed(input.len());
        for ((dst, limb), (m, &w)) in y
            .chunks_exact_mut(n)
            .zip(input.chunks_exact(n))
            .zip(from.iter().zip(lift.a_hat_inv()))
        {
            slice_ops::mul_scalar(m, dst, limb, w, m.value())
                .expect("limbs of one ring have equal lengths");
        }
        let limbs: Vec<&[u64]> = y.chunks_exact(n).collect();
        let mut v = vec![0; n];
        slice_ops::round_fixed_sum(&mut v, &limbs, lift.inv_fractions(), input_bound(from))
            .expect("one fraction per limb, limbs of one ring");
        (y, v)
    };
    // out_j = Σ_i y_i · (A/a_i mod b_j) - v·A mod b_j, the last term as
    // + v·(-A mod b_j): one lazily reduced pass per target prime (v counts
    // the wraps, at most one per source prime).
    let mut terms: Vec<&[u64]> = y.chunks_exact(n).collect();
    terms.push(&v);
    let bound = input_bound(from).max(from.len() as u64 + 1);
    out.clear();
    out.resize(to.len() * n, 0);
    for (j, (b, dst)) in to.iter().zip(out.chunks_exact_mut(n)).enumerate() {
        let w: Vec<u64> = lift.a_hat_mod_b()[j]
            .iter()
            .chain([&lift.minus_a_mod_b()[j]])
            .map(|c| c.value)
            .collect();
        slice_ops::mul_scalar_sum(b, dst, &terms, &w, bound)
            .expect("limbs of one ring have equal lengths");
    }
    pool::give(y);
}

/// `out` = BFV's `round(t·e/Q) mod r_j` for `e` given modulo `Q_ℓ` (`eq`,
/// `level` limbs) and `R` (`er`).
pub(crate) fn scale_round(
    consts: &ScaleRound,
    n: usize,
    level: usize,
    eq: &[u64],
    er: &[u64],
    out: &mut Vec<u64>,
) {
    let limb = |buf: &'_ [u64], i: usize| -> std::ops::Range<usize> {
        debug_assert!(buf.len() >= (i + 1) * n);
        i * n..(i + 1) * n
    };
    let limbs: Vec<&[u64]> = eq[..level * n].chunks_exact(n).collect();
    let mut rounded = vec![0; n];
    slice_ops::round_fixed_sum(
        &mut rounded,
        &limbs,
        &consts.theta()[..level],
        input_bound(&consts.q_moduli()[..level]),
    )
    .expect("one fraction per limb, limbs of one ring");
    // out_j = rounded + Σ_i e_i·ω_ji + e_j·c_j mod r_j: one pass of
    // level + 2 terms per auxiliary prime. The rounded sum is at most
    // Σ q_i (each fraction is below one), the bound its term is read with.
    let r = consts.r_moduli();
    let q = &consts.q_moduli()[..level];
    let rounded_bound = q.iter().fold(1u64, |sum, m| sum.saturating_add(m.value()));
    out.clear();
    out.resize(r.len() * n, 0);
    for (j, (rj, dst)) in r.iter().zip(out.chunks_exact_mut(n)).enumerate() {
        let mut terms: Vec<&[u64]> = Vec::with_capacity(level + 2);
        terms.push(&rounded);
        terms.extend((0..level).map(|i| &eq[limb(eq, i)]));
        terms.push(&er[limb(er, j)]);
        let mut weights: Vec<u64> = Vec::with_capacity(level + 2);
        weights.push(1);
        weights.extend(consts.omega()[j][..level].iter().map(|w| w.value));
        weights.push(consts.c_r()[j].value);
        let bound = rounded_bound.max(input_bound(q)).max(rj.value());
        slice_ops::mul_scalar_sum(rj, dst, &terms, &weights, bound)
            .expect("limbs of one ring have equal lengths");
    }
}

/// `out = Σ_j w_j · x_j` limb by limb (`out` holds `moduli.len()` zeroed
/// limbs of `n`): products are summed in 128-bit accumulators and reduced
/// only when another product could overflow them, then once at the end.
pub(crate) fn linear_combination(
    moduli: &[hefty_ntt::Modulus],
    n: usize,
    terms: &[(&crate::Buffer, crate::backend::Weight<'_>)],
    out: &mut [u64],
    host: fn(&crate::Buffer) -> &[u64],
) -> Result<(), crate::Error> {
    use crate::backend::Weight;
    const BLOCK: usize = 512;
    crate::backend::check_combination(moduli, n, terms, |b| host(b).len())?;
    let mut acc = [0u128; BLOCK];
    for (i, m) in moduli.iter().enumerate() {
        let p = m.value() as u128;
        // Barrett reduction takes values below p·2^64; products are below
        // (p-1)^2, so this many fit on top of a reduced value (≥ 4 for p < 2^62).
        let room = ((p << 64) - p) / ((p - 1) * (p - 1)).max(1);
        for start in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - start);
            let (acc, at) = (&mut acc[..len], i * n + start);
            acc.fill(0);
            let mut pending = 0u128;
            for (x, w) in terms {
                if pending == room {
                    acc.iter_mut().for_each(|a| *a = m.reduce_u128(*a) as u128);
                    pending = 0;
                }
                let x = &host(x)[at..at + len];
                match w {
                    Weight::Scalar(c) => {
                        let c = c[i] as u128;
                        for (a, &x) in acc.iter_mut().zip(x) {
                            *a += x as u128 * c;
                        }
                    }
                    Weight::Plain(pw) => {
                        let pw = &host(pw)[at..at + len];
                        for ((a, &x), &y) in acc.iter_mut().zip(x).zip(pw) {
                            *a += x as u128 * y as u128;
                        }
                    }
                }
                pending += 1;
            }
            for (o, &a) in out[at..at + len].iter_mut().zip(acc.iter()) {
                *o = m.reduce_u128(a);
            }
        }
    }
    Ok(())
}

/// Words of one job (a slice of one limb): enough jobs to balance the
/// threads, each long enough to amortize its setup.
const LAYER_JOB: usize = 2048;

/// Sizes every output to `level` limbs of `n` words, then runs
/// `job(limb, start, dst)` for every slice of [`LAYER_JOB`] words of every
/// limb on the thread pool, `dst` holding that slice of each output in row
/// order (the slices are disjoint, so jobs write their rows in place).
fn layer_jobs(
    level: usize,
    n: usize,
    outs: &mut [&mut Vec<u64>],
    job: impl Fn(usize, usize, &mut [&mut [u64]]) + Sync,
) {
    // Spread over the threads: sizing the outputs zeroes them and, for
    // fresh memory, takes the page faults — a serial phase of every chunk
    // of a layer when one thread did it alone.
    outs.par_iter_mut().for_each(|out| {
        out.clear();
        out.resize(level * n, 0);
    });
    let len = LAYER_JOB.min(n);
    let per_limb = n / len;
    let mut slices: Vec<Vec<&mut [u64]>> = (0..level * per_limb)
        .map(|_| Vec::with_capacity(outs.len()))
        .collect();
    for out in outs.iter_mut() {
        for (k, chunk) in out.chunks_mut(len).enumerate() {
            slices[k].push(chunk);
        }
    }
    let job = &job;
    let mut closures: Vec<Box<dyn FnMut() + Send + '_>> = slices
        .into_iter()
        .enumerate()
        .map(|(k, mut dst)| {
            Box::new(move || job(k / per_limb, (k % per_limb) * len, &mut dst))
                as Box<dyn FnMut() + Send + '_>
        })
        .collect();
    let mut refs: Vec<&mut (dyn FnMut() + Send)> =
        closures.iter_mut().map(|c| &mut **c as _).collect();
    super::threads::run(&mut refs);
}

/// `outs[r] = Σ_{(j, w) ∈ rows[r]} w · inputs[j]` limb by limb: jobs
/// (limb, slice of words) run on the thread pool, each one
/// [`slice_ops::mul_scalar_layer`], which sums every row tile by tile so the
/// inputs' tiles stay cached across rows instead of being streamed from
/// memory once per term.
pub(crate) fn linear_layer(
    moduli: &[hefty_ntt::Modulus],
    n: usize,
    inputs: &[&[u64]],
    rows: &[&[crate::backend::LayerTerm<'_>]],
    outs: &mut [&mut Vec<u64>],
) -> Result<(), crate::Error> {
    let level = moduli.len();
    let short = inputs.iter().any(|x| x.len() < level * n)
        || rows
            .iter()
            .flat_map(|r| r.iter())
            .any(|(_, w)| w.len() < level || w.iter().zip(moduli).any(|(&c, m)| c >= m.value()));
    if short {
        return Err(crate::Error::InvalidParameters(format!(
            "a linear-layer input or weight does not cover {level} limbs of {n} reduced residues"
        )));
    }
    let indices: Vec<Vec<usize>> = rows
        .iter()
        .map(|row| row.iter().map(|&(j, _)| j).collect())
        .collect();
    // weights[limb][row]: each term's residue modulo the limb's prime.
    let weights: Vec<Vec<Vec<u64>>> = (0..level)
        .map(|limb| {
            rows.iter()
                .map(|row| row.iter().map(|&(_, w)| w[limb]).collect())
                .collect()
        })
        .collect();
    let failed = std::sync::Mutex::new(None);
    let len = LAYER_JOB.min(n);
    layer_jobs(level, n, outs, |limb, start, dst| {
        let at = limb * n + start;
        let xs: Vec<&[u64]> = inputs.iter().map(|x| &x[at..at + len]).collect();
        let rows: Vec<slice_ops::ScalarRow<'_>> = indices
            .iter()
            .zip(&weights[limb])
            .map(|(i, w)| slice_ops::ScalarRow {
                inputs: i,
                weights: w,
            })
            .collect();
        if let Err(e) = slice_ops::mul_scalar_layer(&moduli[limb], &xs, &rows, dst) {
            failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// `out = Σ c·x^k·src` over `terms` (`src` coefficient form, `k < 2n`, `c`
/// by its residues), limb by limb: each limb one [`monomial_runs`], a lazily
/// reduced sum per run between the terms' shifts instead of a reduced
/// multiply-add pass per term. Integer-encoded layers with power-of-two
/// weights have few distinct shifts, hence few runs.
pub(crate) fn monomial_combination(
    moduli: &[hefty_ntt::Modulus],
    n: usize,
    terms: &[(&[u64], usize, &[u64])],
    out: &mut Vec<u64>,
) {
    let cuts = shifts(terms.iter().map(|&(_, k, _)| k), n);
    out.clear();
    out.resize(moduli.len() * n, 0);
    let mut scratch = (Vec::new(), Vec::new());
    for (limb, (m, dst)) in moduli.iter().zip(out.chunks_exact_mut(n)).enumerate() {
        let limb_terms: Vec<(&[u64], usize, u64)> = terms
            .iter()
            .map(|&(src, k, c)| (&src[limb * n..(limb + 1) * n], k, c[limb]))
            .collect();
        monomial_runs(m, 0, &cuts, &limb_terms, dst, &mut scratch);
    }
}

/// The distinct shifts `k mod n` of some powers, sorted: where a sum of
/// monomial products is cut into runs.
fn shifts(powers: impl Iterator<Item = usize>, n: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = powers.map(|k| k % n).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Words `start..start + dst.len()` of one limb of `Σ c·x^k·src` over
/// `terms` (each source's limb, its power `k < 2n`, `c` modulo the limb's
/// prime) into `dst`: cut at every shift of `cuts` (sorted) inside the
/// range, so that in each run every term reads one contiguous stretch of
/// its source with one sign (`x^k` moves word `i` to `i + k`, negated past
/// `n`; `x^n = -1` negates everything), and each run is one lazily reduced
/// [`slice_ops::mul_scalar_sum`]. `scratch` holds the runs' slices and
/// weights between calls.
fn monomial_runs<'a>(
    m: &hefty_ntt::Modulus,
    start: usize,
    cuts: &[usize],
    terms: &[(&'a [u64], usize, u64)],
    dst: &mut [u64],
    scratch: &mut (Vec<&'a [u64]>, Vec<u64>),
) {
    let (p, end) = (m.value(), start + dst.len());
    let (xs, ws) = scratch;
    let mut from = start;
    let inner = cuts.iter().copied().filter(|&c| c > start && c < end);
    for to in inner.chain([end]) {
        xs.clear();
        ws.clear();
        for &(src, k, c) in terms {
            let n = src.len();
            let (shift, flip) = if k >= n { (k - n, true) } else { (k, false) };
            let neg_c = super::neg_mod(c, p);
            // Words below the shift came round from the top: one more sign flip.
            let (at, sign) = if from >= shift {
                (from - shift, if flip { neg_c } else { c })
            } else {
                (from + n - shift, if flip { c } else { neg_c })
            };
            xs.push(&src[at..at + (to - from)]);
            ws.push(sign);
        }
        slice_ops::mul_scalar_sum(m, &mut dst[from - start..to - start], xs, ws, p)
            .expect("runs of one limb have equal lengths");
        from = to;
    }
}

/// Words of one tile of [`monomial_layer`]: the inputs' words the rows
/// read for a tile (the tile plus the largest shift) stay in cache for all
/// rows. Measured on the integer-encoded CryptoNets network: 256 words took
/// conv2 from 3.3 s to 2.3 s and fc1 from 2.2 s to 0.9 s against one pass
/// per row; 64-word tiles spent the gain on the per-tile setup of every row.
const MONOMIAL_TILE: usize = 256;

/// Average terms per row below which [`monomial_layer`] sums row by row
/// instead: pooling rows of eight or nine unit weights read neighbouring
/// inputs, which stay cached from row to row anyway (measured 0.5 s row by
/// row against 0.6–1.0 s tiled), while convolution rows of 12–15 terms and
/// dense rows of 80 gain.
const SHORT_ROWS: usize = 10;

/// `outs[r] = Σ c·x^k·inputs[j]` over the terms of `rows[r]` (checked by the
/// caller), limb by limb and tile by tile across all rows, in jobs of
/// (limb, [`LAYER_JOB`] words) on the pool: each input's words are read from
/// memory once per tile for every row that reads them, instead of once per
/// term (an integer-encoded layer was memory-bound row by row). Within a
/// tile, each row is one [`monomial_runs`].
pub(crate) fn monomial_layer(
    moduli: &[hefty_ntt::Modulus],
    n: usize,
    inputs: &[&[u64]],
    rows: &[&[crate::backend::MonomialLayerTerm<'_>]],
    outs: &mut [&mut Vec<u64>],
) {
    let level = moduli.len();
    let terms: usize = rows.iter().map(|r| r.len()).sum();
    if terms < SHORT_ROWS * rows.len() {
        rows.par_iter()
            .zip(outs.par_iter_mut())
            .for_each(|(row, out)| {
                let row: Vec<(&[u64], usize, &[u64])> =
                    row.iter().map(|&(j, k, c)| (inputs[j], k, c)).collect();
                monomial_combination(moduli, n, &row, out);
            });
        return;
    }
    // Each row's distinct shifts, sorted: its cut points.
    let cuts: Vec<Vec<usize>> = rows
        .iter()
        .map(|row| shifts(row.iter().map(|&(_, k, _)| k), n))
        .collect();
    let len = LAYER_JOB.min(n);
    layer_jobs(level, n, outs, |limb, start, dst| {
        let row_terms: Vec<Vec<(&[u64], usize, u64)>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&(j, k, c)| (&inputs[j][limb * n..(limb + 1) * n], k, c[limb]))
                    .collect()
            })
            .collect();
        let mut scratch = (Vec::new(), Vec::new());
        for tile in (start..start + len).step_by(MONOMIAL_TILE) {
            let tile_end = (tile + MONOMIAL_TILE).min(start + len);
            for ((terms, out), row_cuts) in row_terms.iter().zip(dst.iter_mut()).zip(&cuts) {
                let out = &mut out[tile - start..tile_end - start];
                monomial_runs(&moduli[limb], tile, row_cuts, terms, out, &mut scratch);
            }
        }
    });
}
