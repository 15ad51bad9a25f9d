//! The linear-layer kernel (`slice_ops::mul_scalar_layer`, AVX-512 IFMA
//! where the CPU has it) against 128-bit accumulation per word-term (the
//! kernel it replaced), in the same run: one limb slice of a conv2-sized
//! layer (845 inputs, 1,250 rows of 15 terms, 2,048 words, a 40-bit prime),
//! single thread.
//!
//! `cargo bench -p hefty-benches --bench layer`; afterwards it prints
//! nanoseconds per word-term for both and their ratio.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use hefty_ntt::slice_ops::{self, ScalarRow};
use hefty_ntt::{Modulus, ntt_primes};

const INPUTS: usize = 845;
const ROWS: usize = 1250;
const TERMS: usize = 15;
const WORDS: usize = 2048;

struct Layer {
    m: Modulus,
    inputs: Vec<Vec<u64>>,
    indices: Vec<Vec<usize>>,
    weights: Vec<Vec<u64>>,
}

fn layer() -> Layer {
    let p = ntt_primes(40, 1 << 14, 1).expect("a 40-bit prime")[0];
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |bound: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % bound
    };
    let inputs = (0..INPUTS)
        .map(|_| (0..WORDS).map(|_| next(p)).collect())
        .collect();
    // Rows read inputs near their own position, as a convolution's do.
    let indices = (0..ROWS)
        .map(|r| {
            (0..TERMS)
                .map(|_| (r * INPUTS / ROWS + next(40) as usize) % INPUTS)
                .collect()
        })
        .collect();
    let weights = (0..ROWS)
        .map(|_| (0..TERMS).map(|_| next(p)).collect())
        .collect();
    Layer {
        m: Modulus::new(p).expect("a prime"),
        inputs,
        indices,
        weights,
    }
}

/// 128-bit accumulators per word, 256-word tiles, one reduction per word.
fn u128_layer(l: &Layer, outs: &mut [Vec<u64>]) {
    let mut acc = [0u128; 256];
    for tile in (0..WORDS).step_by(256) {
        for ((idx, w), out) in l.indices.iter().zip(&l.weights).zip(outs.iter_mut()) {
            acc.fill(0);
            for (&j, &c) in idx.iter().zip(w) {
                let x = &l.inputs[j][tile..tile + 256];
                for (a, &x) in acc.iter_mut().zip(x) {
                    *a += x as u128 * c as u128;
                }
            }
            for (o, &a) in out[tile..tile + 256].iter_mut().zip(acc.iter()) {
                *o = l.m.reduce_u128(a);
            }
        }
    }
}

fn bench_layer(c: &mut Criterion) -> (f64, f64) {
    let l = layer();
    let xs: Vec<&[u64]> = l.inputs.iter().map(Vec::as_slice).collect();
    let rows: Vec<ScalarRow<'_>> = l
        .indices
        .iter()
        .zip(&l.weights)
        .map(|(i, w)| ScalarRow {
            inputs: i,
            weights: w,
        })
        .collect();
    let mut outs = vec![vec![0u64; WORDS]; ROWS];
    let mut want = vec![vec![0u64; WORDS]; ROWS];
    u128_layer(&l, &mut want);
    {
        let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        slice_ops::mul_scalar_layer(&l.m, &xs, &rows, &mut refs).expect("a valid layer");
    }
    assert_eq!(outs, want, "the kernel and the reference disagree");
    let mut group = c.benchmark_group("layer");
    let mut times = (0.0, 0.0);
    group.bench_function("mul_scalar_layer", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                let mut refs: Vec<&mut [u64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
                slice_ops::mul_scalar_layer(&l.m, black_box(&xs), &rows, &mut refs)
                    .expect("a valid layer");
            }
            let t = start.elapsed();
            times.0 = t.as_secs_f64() / iters as f64;
            t
        })
    });
    group.bench_function("u128-accumulators", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                u128_layer(black_box(&l), &mut want);
            }
            let t = start.elapsed();
            times.1 = t.as_secs_f64() / iters as f64;
            t
        })
    });
    group.finish();
    times
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let (kernel, reference) = bench_layer(&mut c);
    let word_terms = (ROWS * TERMS * WORDS) as f64;
    println!(
        "layer: mul_scalar_layer {:.3} ns per word-term, u128 accumulators {:.3} ns; ratio {:.2}x",
        kernel / word_terms * 1e9,
        reference / word_terms * 1e9,
        reference / kernel
    );
}
