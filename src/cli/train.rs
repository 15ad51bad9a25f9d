//! `hefty train`: trains an HE-friendly MNIST model and exports it.

use std::path::PathBuf;

#[cfg(feature = "train")]
pub use enabled::run;

/// The recipes `hefty train` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Recipe {
    /// ReLU teacher.
    Teacher,
    /// x² activations (CryptoNets).
    Square,
    /// Faster CryptoNets' quantized-minimax Swish (power-of-two coefficients).
    SwishPow2,
    /// Quantized-minimax ReLU (power-of-two coefficients).
    ReluPow2,
    /// Trainable quadratic, one per layer.
    QuadLayer,
    /// Trainable quadratic, one per channel.
    QuadChannel,
    /// Trainable quadratic, one per tensor element (BEAA).
    QuadElement,
    /// Gradual magnitude pruning of a model (--init), to ≥ 90 % sparsity.
    Pruned,
    /// Incremental power-of-two quantization of a (pruned) model (--init).
    Pow2,
}

/// The networks `hefty train` builds (both for 28×28 digits, 10 classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// The CryptoNets / Faster CryptoNets MNIST network.
    Cryptonets,
    /// The HEMET-style SqueezeNet of BEAA (fire modules, global average
    /// pooling); about 30× the multiply-adds of `cryptonets`.
    Squeezenet,
}

/// A count of at least one: `--subset 0` would train nothing and still
/// overwrite the model.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 images would train nothing: give at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Arguments of `hefty train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// What to train.
    #[arg(long, value_enum)]
    pub recipe: Recipe,
    /// Which network.
    #[arg(long, value_enum, default_value_t = Arch::Cryptonets)]
    pub arch: Arch,
    /// The MNIST folder (default: $HEFTY_MNIST_DIR).
    #[arg(long, value_name = "DIR")]
    pub mnist: Option<PathBuf>,
    /// Where to write `<name>.json` and `<name>.safetensors`.
    #[arg(long, default_value = "models")]
    pub out: PathBuf,
    /// The model's name (default: cryptonets-mnist-<recipe>).
    #[arg(long)]
    pub name: Option<String>,
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Shuffling and initialisation seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Train on the first N training images only (N ≥ 1).
    #[arg(long, value_parser = at_least_one)]
    pub subset: Option<usize>,
    /// Distil from this teacher model (JSON graph).
    #[arg(long, value_name = "PATH")]
    pub teacher: Option<PathBuf>,
    /// Start from this model's weights (the recipe's activation replaces its own).
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
    /// Distillation temperature.
    #[arg(long, default_value_t = 4.0)]
    pub temperature: f64,
    /// Weight of the soft-target loss.
    #[arg(long, default_value_t = 0.7)]
    pub alpha: f64,
    /// Overall sparsity target of `pruned` (spread over the layers by size).
    #[arg(long, default_value_t = 0.93)]
    pub sparsity: f64,
    /// Augment: move each training image by up to this many pixels (0: off).
    #[arg(long, default_value_t = 0)]
    pub shift: usize,
}

/// Without the feature: say how to get it.
#[cfg(not(feature = "train"))]
pub fn run(_: &TrainArgs) -> Result<(), String> {
    Err("this hefty was built without training: rebuild with `cargo run --release --features train -- train ...`".into())
}

#[cfg(feature = "train")]
mod enabled {
    use std::path::PathBuf;
    use std::time::Instant;

    use hefty::nn::approx::{Activation, Pow2Search, pow2_minimax};
    use hefty::nn::mnist::Mnist;
    use hefty::nn::model::{Granularity, InputSpec, Model};
    use hefty::nn::quantize::layer_sparsity_targets;
    use hefty::nn::train::{
        ActChoice, Distill, Inq, Net, Pruning, TrainConfig, TrainEvent, cryptonets_mnist,
        hemet_squeezenet, train,
    };
    use indicatif::{ProgressBar, ProgressStyle};

    use super::{Arch, Recipe, TrainArgs};

    fn pow2_act(a: Activation) -> Result<ActChoice, String> {
        let fit = pow2_minimax(&move |x| a.eval(x), 4.0, 2, &Pow2Search::default())
            .map_err(|e| e.to_string())?;
        Ok(ActChoice::Fixed(fit.coeffs))
    }

    /// The name a value has on the command line (`quad-channel`).
    fn value_name(v: &impl clap::ValueEnum) -> String {
        v.to_possible_value()
            .map_or_else(String::new, |p| p.get_name().to_string())
    }

    /// Runs `hefty train`.
    pub fn run(args: &TrainArgs) -> Result<(), String> {
        let dir = super::super::mnist_dir(&args.mnist)?;
        let mnist = Mnist::load(&dir).map_err(|e| e.to_string())?;
        let train_split = match args.subset {
            Some(n) => mnist.train.take(n),
            None => mnist.train.clone(),
        };
        let act = match args.recipe {
            Recipe::Teacher => ActChoice::Relu,
            Recipe::Square => ActChoice::Fixed(vec![0.0, 0.0, 1.0]),
            Recipe::SwishPow2 => pow2_act(Activation::Swish)?,
            Recipe::ReluPow2 => pow2_act(Activation::Relu)?,
            Recipe::QuadLayer => ActChoice::Trainable(Granularity::Layer),
            Recipe::QuadChannel => ActChoice::Trainable(Granularity::Channel),
            Recipe::QuadElement => ActChoice::Trainable(Granularity::Element),
            Recipe::Pruned | Recipe::Pow2 => ActChoice::Relu, // unused: --init decides
        };
        let input = InputSpec {
            channels: 1,
            height: 28,
            width: 28,
            scale_bits: 8,
        };
        let load = |p: &PathBuf| Model::load(p).map_err(|e| e.to_string());
        let mut net = match (&args.init, args.recipe) {
            (Some(p), Recipe::Pruned | Recipe::Pow2) => Net::from_model(&load(p)?, None),
            (Some(p), _) => Net::from_model(&load(p)?, Some(&act)),
            (None, Recipe::Pruned | Recipe::Pow2) => {
                return Err(
                    "the pruned and pow2 recipes start from a trained model: pass --init PATH"
                        .into(),
                );
            }
            (None, _) => {
                let layers = match args.arch {
                    Arch::Cryptonets => cryptonets_mnist(&act),
                    Arch::Squeezenet => hemet_squeezenet(&act, 28, 10),
                };
                Net::new(&layers, input, args.seed)
            }
        }
        .map_err(|e| e.to_string())?;
        let mut teacher = match &args.teacher {
            Some(p) => Some(Net::from_model(&load(p)?, None).map_err(|e| e.to_string())?),
            None => None,
        };
        let weight_layers = net.weight_layers();
        let inq = (args.recipe == Recipe::Pow2).then(|| Inq {
            layers: weight_layers.iter().map(|l| l.0.clone()).collect(),
            stages: vec![0.5, 0.75, 0.875, 1.0],
            bits: 5,
            epochs_per_stage: 1,
            final_epochs: 1,
        });
        let pruning = (args.recipe == Recipe::Pruned).then(|| Pruning {
            targets: layer_sparsity_targets(args.sparsity, &weight_layers),
            ramp_epochs: (args.epochs * 2 / 3).max(1),
        });
        let epochs = if args.recipe == Recipe::Pow2 {
            0
        } else {
            args.epochs
        };
        let config = TrainConfig {
            epochs,
            batch_size: args.batch_size,
            lr: args.lr,
            weight_decay: 1e-4,
            seed: args.seed,
            distill: teacher.as_mut().map(|t| Distill {
                teacher: t,
                temperature: args.temperature,
                alpha: args.alpha,
            }),
            pruning,
            inq,
            max_shift: args.shift,
        };
        let name = args.name.clone().unwrap_or_else(|| {
            format!(
                "{}-mnist-{}",
                value_name(&args.arch),
                value_name(&args.recipe)
            )
        });
        let stage_epochs = if args.recipe == Recipe::Pow2 { 4 } else { 0 };
        let bar = ProgressBar::new((epochs + stage_epochs) as u64).with_style(
            ProgressStyle::with_template(
                "{spinner} epoch {pos}/{len} [{bar:25}] {msg} ({elapsed})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        let start = Instant::now();
        let mut history = Vec::new();
        // Epoch lines go through the bar on a terminal, to stdout otherwise
        // (a hidden bar drops what it is asked to print).
        let say = |bar: &ProgressBar, line: String| {
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
        };
        let acc = train(
            &mut net,
            &train_split,
            &mnist.test,
            config,
            &mut |event| match event {
                TrainEvent::Step(_, step, steps, loss) => {
                    bar.set_message(format!("step {step}/{steps} loss {loss:.4}"))
                }
                TrainEvent::Epoch(e, a) => {
                    history.push(a);
                    bar.set_position(e as u64 + 1);
                    say(
                        &bar,
                        format!(
                            "epoch {}: test accuracy {:.2} % ({:.0} s)",
                            e + 1,
                            100.0 * a,
                            start.elapsed().as_secs_f64()
                        ),
                    );
                }
                TrainEvent::Stage(f) => say(
                    &bar,
                    format!("power-of-two: {:.1} % of the weights frozen", 100.0 * f),
                ),
            },
        )
        .map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        let mut facts = serde_json::Map::new();
        facts.insert("recipe".into(), value_name(&args.recipe).into());
        facts.insert("arch".into(), value_name(&args.arch).into());
        facts.insert("epochs".into(), epochs.into());
        facts.insert("train_images".into(), train_split.len().into());
        facts.insert("test_accuracy".into(), acc.into());
        facts.insert("train_seconds".into(), seconds.into());
        facts.insert("threads".into(), rayon::current_num_threads().into());
        facts.insert("distilled".into(), args.teacher.is_some().into());
        facts.insert("max_shift".into(), args.shift.into());
        facts.insert("accuracy_per_epoch".into(), history.into());
        let model = net.export(&name, facts).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&args.out)
            .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
        let path = args.out.join(format!("{name}.json"));
        model.save(&path).map_err(|e| e.to_string())?;
        println!(
            "{name}: test accuracy {:.2} % after {seconds:.0} s; sparsity {:.1} %; wrote {}",
            100.0 * acc,
            100.0 * model.sparsity(),
            path.display()
        );
        Ok(())
    }
}
