//! The `hefty` command: `bench` times every homomorphic operation on this
//! machine (NTT, BFV, CKKS), `eval` measures a model's accuracy on MNIST,
//! `infer` runs a model on encrypted MNIST images,
//! and `train` (feature `train`) trains HE-friendly models.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hefty::bench::{
    BFV_OPS, BfvBench, CKKS_OPS, CkksBench, Record, Sampling, ntt_cases, plot_ntt_throughput,
    render_table,
};
use hefty::core::Backend;
use hefty::core::ring::Word;
use indicatif::{ProgressBar, ProgressStyle};

mod allocator;
mod cli;

#[derive(Parser)]
#[command(
    name = "hefty",
    version,
    about = "Fast homomorphic encryption: benchmarks and demos"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Time every operation on this machine and print a table (the default).
    Bench(BenchArgs),
    /// Train an HE-friendly MNIST model and export it (needs --features train).
    Train(Box<cli::train::TrainArgs>),
    /// Accuracy of a model file on the 10,000 MNIST test images.
    Eval(cli::eval::EvalArgs),
    /// Encrypted inference on MNIST test images, with per-layer HOP tables.
    Infer(Box<cli::infer::InferArgs>),
    /// Latency against throughput of `hefty infer --json` records, as SVG.
    InferPlot(cli::packings_plot::PlotArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Also write the records as a JSON array to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also draw the NTT throughput (butterflies/ns against n) as an SVG chart.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Sample briefly: checks that everything runs, numbers are rough.
    #[arg(long)]
    quick: bool,
    /// Which scheme's rows to time (default: all).
    #[arg(long, value_enum)]
    scheme: Option<SchemeArg>,
    /// Worker threads for the scheme operations (NTT rows are single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Where the BFV and CKKS rows run: `cpu`, `wgpu` (needs the `wgpu`
    /// feature and an adapter), `cuda` (needs the `cuda` feature and an
    /// NVIDIA GPU; both word sizes unless --word) or `all` (each in turn).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Word profile of the presets (default: w64 on the CPU, w32 on wgpu,
    /// which runs only w32, both on CUDA).
    #[arg(long, value_enum)]
    word: Option<WordArg>,
    #[arg(
        long,
        default_value_t = 8192,
        value_parser = bfv_preset_degree,
        help = format!("BFV ring degree (a 128-bit preset: {})", hefty::core::bfv::presets::degrees())
    )]
    bfv_degree: usize,
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = [16384usize, 65536],
        value_parser = ckks_preset_degree,
        help = format!("CKKS ring degrees (128-bit presets: {})", hefty::core::ckks::presets::degrees())
    )]
    ckks_degrees: Vec<usize>,
    /// Ring degrees of the NTT rows (powers of two, 16 to 131072).
    #[arg(long, value_delimiter = ',', default_values_t = [4096usize, 8192, 16384, 32768, 65536], value_parser = ntt_degree)]
    sizes: Vec<usize>,
}

/// A power of two from 16 to `hefty_ntt::MAX_DEGREE`: what the help promises.
fn ntt_degree(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    let max = hefty::ntt::MAX_DEGREE;
    if n.is_power_of_two() && (16..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not a power of two from 16 to {max}"))
    }
}

/// A degree with a BFV preset (the list comes from `bfv::PRESETS`).
fn bfv_preset_degree(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    hefty::core::bfv::Preset::for_degree(n).map_err(|e| e.to_string())?;
    Ok(n)
}

/// A degree with a CKKS preset (the list comes from `ckks::PRESETS`).
fn ckks_preset_degree(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    hefty::core::ckks::Preset::for_degree(n).map_err(|e| e.to_string())?;
    Ok(n)
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BackendArg {
    /// The host CPU.
    Cpu,
    /// The wgpu backend (WGSL on any Vulkan, Metal or DX12 adapter).
    Wgpu,
    /// The CUDA backend (NVIDIA GPUs; 64- and 32-bit words).
    Cuda,
    /// The CPU, then every GPU backend this build has.
    All,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WordArg {
    /// 64-bit words (primes below 2^62).
    W64,
    /// 32-bit words (primes below 2^31).
    W32,
}

/// A backend the scheme rows run on, with the word profile of its presets.
type BenchTarget = (Arc<dyn Backend>, Word);

/// The backends `hefty bench --backend` asks for, with each one's word
/// profile; a GPU backend that cannot start is reported in one line and skipped.
fn bench_backends(which: BackendArg, word: Option<WordArg>) -> Result<Vec<BenchTarget>, String> {
    let word_or = |default: Word| match word {
        Some(WordArg::W64) => Word::W64,
        Some(WordArg::W32) => Word::W32,
        None => default,
    };
    let mut out: Vec<BenchTarget> = Vec::new();
    if matches!(which, BackendArg::Cpu | BackendArg::All) {
        out.push((hefty::core::Cpu::shared(), word_or(Word::W64)));
    }
    if matches!(which, BackendArg::Wgpu | BackendArg::All) {
        if word == Some(WordArg::W64) {
            return Err(
                "the wgpu backend runs 32-bit words only: drop --word or use --word w32".into(),
            );
        }
        #[cfg(feature = "wgpu")]
        match hefty::kernels::Wgpu::new() {
            Ok(gpu) => out.push((Arc::new(gpu), Word::W32)),
            Err(e) if which == BackendArg::All => println!("wgpu: skipped ({e})"),
            Err(e) => return Err(e.to_string()),
        }
        #[cfg(not(feature = "wgpu"))]
        {
            let msg = "this hefty was built without the wgpu backend: build with `--features wgpu` (cargo run --release --features wgpu -- bench --backend wgpu)";
            if which == BackendArg::All {
                println!("wgpu: skipped ({msg})");
            } else {
                return Err(msg.into());
            }
        }
    }
    if matches!(which, BackendArg::Cuda | BackendArg::All) {
        let words = match word {
            Some(WordArg::W64) => vec![Word::W64],
            Some(WordArg::W32) => vec![Word::W32],
            None => vec![Word::W64, Word::W32],
        };
        // No device is not a failure: the rows that can run still run.
        #[cfg(feature = "cuda")]
        for w in words {
            match hefty::kernels::Cuda::with_word(w) {
                Ok(gpu) => out.push((Arc::new(gpu), w)),
                Err(e) => {
                    println!("cuda: skipped ({e})");
                    break;
                }
            }
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = words;
            println!(
                "cuda: skipped (no CUDA device: this hefty was built without the CUDA backend; build with `--features cuda`)"
            );
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SchemeArg {
    /// The single-prime NTT of hefty-ntt.
    Ntt,
    /// BFV at the 128-bit preset.
    Bfv,
    /// CKKS at the 128-bit presets.
    Ckks,
}

fn bench(args: &BenchArgs) -> Result<(), String> {
    let sampling = if args.quick {
        Sampling::QUICK
    } else {
        Sampling::STANDARD
    };
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let want = |s: SchemeArg| args.scheme.is_none_or(|x| x == s);
    let cases = if want(SchemeArg::Ntt) {
        ntt_cases(&args.sizes).map_err(|e| e.to_string())?
    } else {
        vec![]
    };
    let bfv_ops: &[&str] = if want(SchemeArg::Bfv) { &BFV_OPS } else { &[] };
    let ckks_degrees: &[usize] = if want(SchemeArg::Ckks) {
        &args.ckks_degrees
    } else {
        &[]
    };
    let backends = if bfv_ops.is_empty() && ckks_degrees.is_empty() {
        vec![]
    } else {
        bench_backends(args.backend, args.word)?
    };
    let total =
        cases.len() + backends.len() * (bfv_ops.len() + ckks_degrees.len() * CKKS_OPS.len());
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut records: Vec<Record> = Vec::with_capacity(cases.len());
    for case in &cases {
        let dir = if case.inverse { "inverse" } else { "forward" };
        bar.set_message(format!("ntt {dir} n={} {}", case.n, case.path));
        records.push(case.run(sampling).map_err(|e| e.to_string())?);
        bar.inc(1);
    }
    for (backend, word) in &backends {
        let on = format!("{} {}", backend.name(), word.name());
        if !bfv_ops.is_empty() {
            bar.set_message(format!("{on} bfv n={}: generating keys", args.bfv_degree));
            let bfv = BfvBench::on(args.bfv_degree, Arc::clone(backend), *word)
                .map_err(|e| e.to_string())?;
            for op in bfv_ops {
                bar.set_message(format!("{on} bfv {op}"));
                records.push(
                    bfv.run(op, sampling, args.threads)
                        .map_err(|e| e.to_string())?,
                );
                bar.inc(1);
            }
        }
        for &n in ckks_degrees {
            bar.set_message(format!("{on} ckks n={n}: generating keys"));
            let ckks = CkksBench::on(n, Arc::clone(backend), *word).map_err(|e| e.to_string())?;
            for op in CKKS_OPS {
                bar.set_message(format!("{on} ckks n={n} {op}"));
                records.push(
                    ckks.run(op, sampling, args.threads)
                        .map_err(|e| e.to_string())?,
                );
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    if records.is_empty() {
        // Every backend asked for was skipped (said above): nothing timed.
        println!("hefty bench: no rows to time (the backends asked for were skipped)");
    } else {
        println!("hefty bench: median of per-call wall times (NTT rows single-threaded)\n");
        print!("{}", render_table(&records));
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&records).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("\nwrote {} records to {}", records.len(), path.display());
    }
    if let Some(path) = &args.svg {
        plot_ntt_throughput(&records, path)?;
        println!("drew {}", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    allocator::configure();
    let cli = Cli::parse();
    // No subcommand: the main job, `hefty bench` on built-in defaults.
    let command = cli
        .command
        .or_else(|| Cli::parse_from(["hefty", "bench"]).command);
    let result = match command {
        Some(Command::Bench(args)) => bench(&args),
        Some(Command::Train(args)) => cli::train::run(&args),
        Some(Command::Eval(args)) => cli::eval::run(&args),
        Some(Command::Infer(args)) => cli::infer::run(&args),
        Some(Command::InferPlot(args)) => cli::packings_plot::run(&args),
        None => Err("no command".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hefty: {e}");
            ExitCode::FAILURE
        }
    }
}
