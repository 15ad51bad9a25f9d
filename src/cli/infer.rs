//! `hefty infer`: encrypted inference on MNIST test images — client
//! encryption, the network on ciphertexts (server, through bytes),
//! decryption — with accuracy, agreement with the plaintext references,
//! and a per-layer table of time and homomorphic operations.

use std::path::PathBuf;

use hefty::nn::FileAccess;
use std::sync::Arc;

use hefty::core::ring::Word;
use hefty::nn::exec::encrypted::{
    InferOptions, InferReport, Packing, Scheme, ServerDevice, infer_on,
};
use hefty::nn::mnist::Mnist;
use hefty::nn::model::{FixedPoint, Model};
use indicatif::{ProgressBar, ProgressStyle};

/// The packings on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PackingArg {
    /// One image per slot (CryptoNets): thousands of images per run.
    Batch,
    /// One image, base-2 integer encoding (Faster CryptoNets), BFV.
    Integer,
    /// One image in the slots of a few ciphertexts, rotations (LoLa), CKKS.
    Slots,
}

/// The schemes on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SchemeArg {
    /// Approximate (real numbers).
    Ckks,
    /// Exact (the fixed-point integers, CRT plaintext moduli).
    Bfv,
}

/// Where the server evaluates.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerArg {
    /// The host CPU.
    Cpu,
    /// The CUDA backend (NVIDIA GPUs; 64-bit words, or --word w32 for CKKS).
    Cuda,
    /// The wgpu backend (any Vulkan, Metal or DX12 adapter; 32-bit words: CKKS only).
    Wgpu,
}

/// Word sizes on the command line.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WordArg {
    /// 64-bit words (primes below 2^62).
    W64,
    /// 32-bit words (primes below 2^31; CKKS only).
    W32,
}

/// The server's device, or a message saying why it cannot start.
fn server_device(which: ServerArg, word: Option<WordArg>) -> Result<ServerDevice, String> {
    let word = match (which, word) {
        (ServerArg::Wgpu, Some(WordArg::W64)) => {
            return Err(
                "the wgpu backend runs 32-bit words only: drop --word or use --word w32".into(),
            );
        }
        (ServerArg::Wgpu, _) | (_, Some(WordArg::W32)) => Word::W32,
        _ => Word::W64,
    };
    let backend: Arc<dyn hefty::core::Backend> = match which {
        ServerArg::Cpu => hefty::core::Cpu::shared(),
        #[cfg(feature = "cuda")]
        ServerArg::Cuda => {
            Arc::new(hefty::kernels::Cuda::with_word(word).map_err(|e| e.to_string())?)
        }
        #[cfg(not(feature = "cuda"))]
        ServerArg::Cuda => {
            return Err(
                "this hefty was built without the CUDA backend: build with `--features cuda`"
                    .into(),
            );
        }
        #[cfg(feature = "wgpu")]
        ServerArg::Wgpu => Arc::new(hefty::kernels::Wgpu::new().map_err(|e| e.to_string())?),
        #[cfg(not(feature = "wgpu"))]
        ServerArg::Wgpu => {
            return Err(
                "this hefty was built without the wgpu backend: build with `--features wgpu`"
                    .into(),
            );
        }
    };
    Ok(ServerDevice { backend, word })
}

/// The default model: the best polynomial model.
const DEFAULT_MODEL: &str = "models/cryptonets-mnist-quad-layer-aug.json";

/// Arguments of `hefty infer`.
#[derive(clap::Args)]
pub struct InferArgs {
    /// The model's JSON graph (its weights file sits beside it).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_MODEL)]
    model: PathBuf,
    /// How images sit in ciphertexts.
    #[arg(long, value_enum, default_value_t = PackingArg::Batch)]
    packing: PackingArg,
    /// The scheme (default: CKKS for batch, BFV for integer).
    #[arg(long, value_enum)]
    scheme: Option<SchemeArg>,
    /// Slot packing: images sharing one ciphertext set, interleaved slot by
    /// slot (a power of two; more trades latency for throughput — CryptoNets
    /// at n = 2^14 takes up to 8).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=65536))]
    images_per_ciphertext: u64,
    /// How many test images, from the first (default: 10,000 for batch, 1 for integer, 10 for slots).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    images: Option<u64>,
    /// The MNIST folder (default: $HEFTY_MNIST_DIR, then ../shared/data/mnist).
    #[arg(long, value_name = "DIR")]
    mnist: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Also write the report as JSON to FILE (docs/INFER_JSON.md).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Significant bits of the fixed-point weights (BFV: exact paths).
    #[arg(long, default_value_t = FixedPoint::default().precision_bits,
          value_parser = clap::value_parser!(u32).range(1..=40))]
    precision_bits: u32,
    /// Where the server side runs (the client always runs on the CPU).
    #[arg(long, value_enum, default_value_t = ServerArg::Cpu)]
    backend: ServerArg,
    /// Word size of the parameters (default: w64, w32 on wgpu).
    #[arg(long, value_enum)]
    word: Option<WordArg>,
    /// Run the whole round trip this many times on the same images, fresh
    /// keys and encryptions each time: the first request measures a cold
    /// process, the median of the others a server that keeps running (its
    /// memory already mapped). Results report the worst request.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    requests: u64,
    /// Follow symbolic links at the model's and the data's file paths.
    #[arg(long)]
    follow_symlinks: bool,
}

/// Runs `hefty infer`.
pub fn run(args: &InferArgs) -> Result<(), String> {
    let threads = args.threads.map_or(0, |t| t as usize);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    pool.install(|| run_in_pool(args))
}

fn run_in_pool(args: &InferArgs) -> Result<(), String> {
    let access = FileAccess {
        follow_symlinks: args.follow_symlinks,
    };
    let device = server_device(args.backend, args.word)?;
    let model = Model::load_with(&args.model, access).map_err(|e| e.to_string())?;
    let test = Mnist::load_test_with(&super::mnist_dir(&args.mnist)?, access)
        .map_err(|e| e.to_string())?;
    let packing = match args.packing {
        PackingArg::Batch => Packing::Batch,
        PackingArg::Integer => Packing::Integer,
        PackingArg::Slots => Packing::Slots,
    };
    let scheme = match (args.scheme, packing) {
        (Some(SchemeArg::Ckks), _) => Scheme::Ckks,
        (Some(SchemeArg::Bfv), _) | (None, Packing::Integer) => Scheme::Bfv,
        (None, Packing::Batch | Packing::Slots) => Scheme::Ckks,
    };
    let count = args.images.map_or(
        match packing {
            Packing::Batch => test.len(),
            Packing::Integer => 1,
            Packing::Slots => 10,
        },
        |n| n as usize,
    );
    let count = count.min(test.len());
    let images: Vec<&[u8]> = (0..count).map(|i| test.image(i)).collect();
    let bar = ProgressBar::new(1).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} steps {msg} ({elapsed})")
            .expect("static template")
            .progress_chars("=> "),
    );
    let report = infer_on(
        &model,
        &images,
        &test.labels[..count],
        InferOptions {
            packing,
            scheme,
            precision_bits: args.precision_bits,
            images_per_ciphertext: args.images_per_ciphertext as usize,
            requests: args.requests as usize,
        },
        &device,
        &|what, done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(what.to_string());
        },
    )
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    print!("{}", render(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The report as people read it: a summary and the per-layer table.
pub fn render(r: &InferReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {} packing, {}, {} images, {} threads",
        r.model, r.packing, r.scheme, r.images, r.threads
    );
    let _ = writeln!(s, "parameters: {}", r.params);
    let _ = writeln!(
        s,
        "server: {}{}",
        r.backend,
        r.device
            .as_ref()
            .map_or(String::new(), |d| format!(" on {d}"))
    );
    let _ = writeln!(
        s,
        "accuracy {:.2} % (f64 reference {:.2} %), agreement with the reference {:.2} % ({} images differ)",
        100.0 * r.accuracy,
        100.0 * r.reference_accuracy,
        100.0 * r.agreement,
        r.disagreements.len()
    );
    if let Some(e) = r.max_logit_error {
        let _ = writeln!(s, "largest logit error against f64: {e:.3e}");
    }
    if let Some(m) = r.mismatched_logits {
        let _ = writeln!(
            s,
            "images whose logits differ from the fixed-point integers: {m}"
        );
    }
    if let Some(b) = r.noise_budget_bits {
        let _ = writeln!(s, "smallest noise budget left in a logit: {b:.1} bits");
    }
    for d in r.disagreements.iter().take(20) {
        let _ = writeln!(
            s,
            "  image {}: label {}, reference {} (margin {:.4}), encrypted {} (margin {:.4})",
            d.image,
            d.label,
            d.reference_class,
            d.reference_margin,
            d.encrypted_class,
            d.encrypted_margin
        );
    }
    let _ = writeln!(
        s,
        "\n| layer | op | seconds | PT-CT add | CT-CT add | PT-CT mult (dense / sparse / monomial / scalar) | CT-CT mult | relin | rescale | rotate |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in &r.layers {
        let h = &l.hops;
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {} | {} | {} ({} / {} / {} / {}) | {} | {} | {} | {} |",
            l.name,
            l.op,
            l.seconds,
            h.pt_ct_add,
            h.ct_ct_add,
            h.pt_ct_mul(),
            h.pt_ct_mul_dense,
            h.pt_ct_mul_sparse,
            h.pt_ct_mul_monomial,
            h.pt_ct_mul_scalar,
            h.ct_ct_mul,
            h.relinearize,
            h.rescale,
            h.rotate
        );
    }
    let per = |x: f64| 1e3 * x / r.images.max(1) as f64;
    let _ = writeln!(
        s,
        "\nclient: encrypt {:.2} s ({:.3} ms/image), decrypt {:.2} s ({:.3} ms/image)",
        r.seconds.encrypt,
        per(r.seconds.encrypt),
        r.seconds.decrypt,
        per(r.seconds.decrypt)
    );
    let _ = writeln!(
        s,
        "server: {:.2} s, {:.3} ms per image amortized",
        r.seconds.infer,
        1e3 * r.seconds_per_image
    );
    if let Some(warm) = r.warm_seconds_per_image {
        let _ = writeln!(
            s,
            "server, warm (median of requests 2–{}): {:.2} s, {:.3} ms per image amortized",
            r.requests,
            warm * r.images as f64,
            1e3 * warm
        );
    }
    let _ = writeln!(
        s,
        "bytes: {:.1} MB to the server (keys and inputs), {:.1} MB back",
        r.bytes.to_server as f64 / 1e6,
        r.bytes.to_client as f64 / 1e6
    );
    s
}
