//! hefty's BFV against fhe.rs (the `fhe` crate) in the same run, single
//! thread, n = 8192, t = 65537, log2(QP) = 218 for both: fhe.rs with its
//! 128-bit default moduli (five ciphertext primes, 43+43+44+44+44 bits,
//! RNS-digit key switching), hefty with its preset (four ciphertext primes
//! and one special prime of the same sizes, hybrid key switching).
//!
//! `cargo bench -p hefty-benches --bench bfv` prints the ratio table (hefty / fhe.rs) at the end.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use fhe_traits::{FheDecoder, FheDecrypter, FheEncoder, FheEncrypter};
use hefty::core::Sampler;
use hefty::core::bfv as hb;

/// The same allocator as the `hefty` command (see src/main.rs); fhe.rs runs
/// under it too, so the comparison stays like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OPS: [&str; 5] = ["encrypt", "mul_relin", "mul_plain", "rotate", "decrypt"];

fn bench_hefty(c: &mut Criterion) {
    let params = hb::Parameters::preset_128(8192).unwrap();
    let mut rng = Sampler::from_os();
    let sk = hb::SecretKey::generate(&params, &mut rng);
    let pk = hb::PublicKey::new(&sk, &mut rng).unwrap();
    let rk = hb::RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = hb::GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = hb::Encoder::new(&params).unwrap();
    let eval = hb::Evaluator::new(&params);
    let values: Vec<u64> = (0..8192u64).map(|i| i * 7 % 65537).collect();
    let pt = enc.encode(&values).unwrap();
    let (a, b) = (
        pk.encrypt(&pt, &mut rng).unwrap(),
        pk.encrypt(&pt, &mut rng).unwrap(),
    );
    let mut g = c.benchmark_group("bfv-hefty");
    g.bench_function("encrypt", |bn| {
        bn.iter(|| pk.encrypt(&enc.encode(&values).unwrap(), &mut rng).unwrap())
    });
    g.bench_function("mul_relin", |bn| {
        bn.iter(|| eval.multiply_relin(black_box(&a), &b, &rk).unwrap())
    });
    g.bench_function("mul_plain", |bn| {
        bn.iter(|| eval.mul_plain(black_box(&a), &pt).unwrap())
    });
    g.bench_function("rotate", |bn| {
        bn.iter(|| eval.rotate_rows(black_box(&a), 1, &gk).unwrap())
    });
    g.bench_function("decrypt", |bn| {
        bn.iter(|| enc.decode(&sk.decrypt(black_box(&a)).unwrap()).unwrap())
    });
    g.finish();
}

fn bench_fhe_rs(c: &mut Criterion) {
    use fhe::bfv::{
        BfvParametersBuilder, Ciphertext, Encoding, EvaluationKeyBuilder, Plaintext, PublicKey,
        RelinearizationKey, SecretKey,
    };
    let moduli = [
        0x7fffffd8001u64,
        0x7fffffc8001,
        0xfffffffc001,
        0xffffff6c001,
        0xfffffebc001,
    ];
    let par = BfvParametersBuilder::new()
        .set_degree(8192)
        .set_plaintext_modulus(65537)
        .set_moduli(&moduli)
        .build_arc()
        .unwrap();
    let mut rng = rand::rng();
    let sk = SecretKey::random(&par, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let ek = EvaluationKeyBuilder::new(&sk)
        .unwrap()
        .enable_column_rotation(1)
        .unwrap()
        .build(&mut rng)
        .unwrap();
    let values: Vec<u64> = (0..8192u64).map(|i| i * 7 % 65537).collect();
    let pt = Plaintext::try_encode(&values, Encoding::simd(), &par).unwrap();
    let a: Ciphertext = pk.try_encrypt(&pt, &mut rng).unwrap();
    let b: Ciphertext = pk.try_encrypt(&pt, &mut rng).unwrap();
    let mut g = c.benchmark_group("bfv-fhe.rs");
    g.bench_function("encrypt", |bn| {
        bn.iter(|| {
            let pt = Plaintext::try_encode(&values, Encoding::simd(), &par).unwrap();
            let ct: Ciphertext = pk.try_encrypt(&pt, &mut rng).unwrap();
            ct
        })
    });
    g.bench_function("mul_relin", |bn| {
        bn.iter(|| {
            let mut c3 = black_box(&a) * &b;
            rk.relinearizes(&mut c3).unwrap();
            c3
        })
    });
    g.bench_function("mul_plain", |bn| bn.iter(|| black_box(&a) * &pt));
    g.bench_function("rotate", |bn| {
        bn.iter(|| ek.rotates_columns_by(black_box(&a), 1).unwrap())
    });
    g.bench_function("decrypt", |bn| {
        bn.iter(|| {
            Vec::<u64>::try_decode(&sk.try_decrypt(black_box(&a)).unwrap(), Encoding::simd())
                .unwrap()
        })
    });
    g.finish();
}

fn median_ns(dir: &Path, group: &str, op: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(group).join(op).join("new/estimates.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["median"]["point_estimate"].as_f64()
}

fn report() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    println!("\n| op | hefty | fhe.rs | ratio hefty/fhe.rs |\n|---|---:|---:|---:|");
    for op in OPS {
        if let (Some(h), Some(f)) = (
            median_ns(&dir, "bfv-hefty", op),
            median_ns(&dir, "bfv-fhe.rs", op),
        ) {
            println!(
                "| {op} | {:.3} ms | {:.3} ms | {:.3} |",
                h / 1e6,
                f / 1e6,
                h / f
            );
        }
    }
}

fn main() {
    // Single thread for both: fhe.rs has no threading, hefty uses rayon across limbs.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .ok();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    bench_hefty(&mut c);
    bench_fhe_rs(&mut c);
    c.final_summary();
    report();
}
