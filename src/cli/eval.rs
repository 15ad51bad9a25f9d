//! `hefty eval`: accuracy of a model file on the 10,000 MNIST test images.

use std::path::PathBuf;

use hefty::nn::FileAccess;
use hefty::nn::mnist::Mnist;
use hefty::nn::model::{EvalMode, FixedPoint, Model, evaluate};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `hefty eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The model's JSON graph (its weights file sits beside it).
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The MNIST folder (default: $HEFTY_MNIST_DIR).
    #[arg(long, value_name = "DIR")]
    mnist: Option<PathBuf>,
    /// Follow symbolic links at the model's and the data's file paths
    /// (refused by default: a link beside a model could point anywhere).
    #[arg(long)]
    follow_symlinks: bool,
    /// Print {accuracy, correct, total, model, mode, max_bits} as JSON
    /// (`max_bits`: null for f64, the plaintext bits of the fixed-point path).
    #[arg(long)]
    json: bool,
    /// Run the exact integer path of encrypted inference instead of f64
    /// (256-bit integers: about 20× slower than f64, minutes for 10,000 images).
    #[arg(long)]
    fixed_point: bool,
    /// Significant bits kept of every weight tensor and coefficient on the
    /// fixed-point path (1 to 40).
    #[arg(long, default_value_t = FixedPoint::default().precision_bits,
          value_parser = clap::value_parser!(u32).range(1..=40))]
    precision_bits: u32,
}

/// Runs `hefty eval`.
pub fn run(args: &EvalArgs) -> Result<(), String> {
    let access = FileAccess {
        follow_symlinks: args.follow_symlinks,
    };
    let model = Model::load_with(&args.model, access).map_err(|e| e.to_string())?;
    let test = Mnist::load_test_with(&super::mnist_dir(&args.mnist)?, access)
        .map_err(|e| e.to_string())?;
    let mode = if args.fixed_point {
        eprintln!(
            "note: the fixed-point path computes in 256-bit integers, about 20× slower than f64"
        );
        EvalMode::Fixed(FixedPoint {
            precision_bits: args.precision_bits,
        })
    } else {
        EvalMode::Float
    };
    let bar = ProgressBar::new(test.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} images")
            .expect("static template")
            .progress_chars("=> "),
    );
    let report = evaluate(&model, &test, mode, &|done| bar.set_position(done as u64))
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{}: {}/{} correct, accuracy {:.2} % ({}{})",
            report.model,
            report.correct,
            report.total,
            100.0 * report.accuracy,
            report.mode,
            report
                .max_bits
                .map_or(String::new(), |b| format!(", values up to {b} bits"))
        );
    }
    Ok(())
}
