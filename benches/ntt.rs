//! hefty-ntt against Zama's tfhe-ntt in the same run: same n, same primes,
//! forward and inverse (both including the 1/n scaling), single thread.
//!
//! `cargo bench -p hefty-benches --bench ntt` runs it; afterwards it prints the ratio table
//! (hefty time / tfhe-ntt time; below 1 means hefty is faster) with
//! butterflies per nanosecond, and writes it to `target/criterion/ntt-ratios.json`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use hefty_ntt::{NttPlan, ntt_primes};

/// The primes of the peer reference table (../shared/peers/peers.md), plus the
/// largest 61-bit prime usable up to n = 2^16.
fn primes() -> Vec<(&'static str, u64)> {
    vec![
        ("p50", 1_125_899_903_827_969),
        (
            "p61",
            ntt_primes(61, 1 << 16, 1).expect("61-bit NTT prime")[0],
        ),
        ("p62", 4_611_686_018_425_815_041),
    ]
}

const SIZES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

fn bench_ntt(c: &mut Criterion) {
    for (pname, p) in primes() {
        for n in SIZES {
            let mut group = c.benchmark_group(format!("ntt-{pname}"));
            let hefty = NttPlan::new(n, p).expect("hefty plan");
            let tfhe = tfhe_ntt::prime64::Plan::try_new(n, p).expect("tfhe-ntt plan");
            let data: Vec<u64> = (0..n as u64)
                .map(|i| (i * 0x9E37_79B9_7F4A_7C15) % p)
                .collect();
            let mut a = data.clone();
            group.bench_with_input(BenchmarkId::new("hefty-forward", n), &n, |b, _| {
                b.iter(|| hefty.forward(black_box(&mut a)).unwrap())
            });
            let mut a = data.clone();
            group.bench_with_input(BenchmarkId::new("tfhe-forward", n), &n, |b, _| {
                b.iter(|| tfhe.fwd(black_box(&mut a)))
            });
            let mut a = data.clone();
            group.bench_with_input(BenchmarkId::new("hefty-inverse", n), &n, |b, _| {
                b.iter(|| hefty.inverse(black_box(&mut a)).unwrap())
            });
            let mut a = data.clone();
            group.bench_with_input(BenchmarkId::new("tfhe-inverse", n), &n, |b, _| {
                b.iter(|| {
                    tfhe.inv(black_box(&mut a));
                    tfhe.normalize(&mut a);
                })
            });
            group.finish();
        }
    }
}

/// Reads criterion's point estimate of the median, in nanoseconds.
fn median_ns(dir: &Path, group: &str, id: &str, n: usize) -> Option<f64> {
    let path = dir
        .join(group)
        .join(id)
        .join(n.to_string())
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn report() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let mut rows = vec![];
    println!(
        "\n| prime | n | op | path | hefty | tfhe-ntt | ratio hefty/tfhe | hefty bfly/ns | tfhe bfly/ns |"
    );
    println!("|---|---:|---|---|---:|---:|---:|---:|---:|");
    for (pname, p) in primes() {
        for n in SIZES {
            let path = NttPlan::new(n, p)
                .map(|plan| plan.path().name())
                .unwrap_or("?");
            for op in ["forward", "inverse"] {
                let group = format!("ntt-{pname}");
                let (Some(h), Some(t)) = (
                    median_ns(&dir, &group, &format!("hefty-{op}"), n),
                    median_ns(&dir, &group, &format!("tfhe-{op}"), n),
                ) else {
                    continue;
                };
                let bfly = (n / 2) as f64 * n.trailing_zeros() as f64;
                println!(
                    "| {pname} | {n} | {op} | {path} | {:.2} µs | {:.2} µs | {:.3} | {:.2} | {:.2} |",
                    h / 1e3,
                    t / 1e3,
                    h / t,
                    bfly / h,
                    bfly / t
                );
                rows.push(serde_json::json!({
                    "prime": pname, "p": p, "n": n, "op": op, "path": path,
                    "hefty_median_ns": h, "tfhe_ntt_median_ns": t, "ratio": h / t,
                }));
            }
        }
    }
    let out = dir.join("ntt-ratios.json");
    if std::fs::write(&out, serde_json::to_string_pretty(&rows).unwrap()).is_ok() {
        println!("\nwritten to {}", out.display());
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_ntt(&mut c);
    c.final_summary();
    report();
}
