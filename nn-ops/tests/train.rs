//! Training (feature `train`): gradients of the trainable activations
//! against finite differences, the distillation loss, export → load, and a
//! short run on a small MNIST subset that learns far above chance.
#![cfg(feature = "train")]

mod common;
use common::data_dir;

use candle_core::{Device, Tensor, Var};
use hefty_nn::mnist::{Mnist, Split};
use hefty_nn::model::{Granularity, InputSpec, Model, Shape};
use hefty_nn::train::{
    ActChoice, Net, TrainConfig, accuracy, cryptonets_mnist, distillation_loss, hemet_squeezenet,
    quadratic, tensors, train,
};

/// The first `train` training and `test` test images.
fn subsets(train: usize, test: usize) -> (Split, Split) {
    let mnist = Mnist::load(&data_dir()).expect("MNIST at ../shared/data/mnist");
    (mnist.train.take(train), mnist.test.take(test))
}

/// MNIST digits as the networks read them: 1×28×28, pixels `p/256`.
const DIGITS: InputSpec = InputSpec {
    channels: 1,
    height: 28,
    width: 28,
    scale_bits: 8,
};

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn activation_gradients_match_finite_differences() {
    let dev = Device::Cpu;
    let shape = Shape::Image {
        channels: 3,
        height: 2,
        width: 2,
    };
    for g in [
        Granularity::Layer,
        Granularity::Channel,
        Granularity::Element,
    ] {
        let groups = match g {
            Granularity::Layer => 1,
            Granularity::Channel => 3,
            Granularity::Element => 12,
        };
        let x = Tensor::from_vec(values(2 * 12, 3), (2, 3, 2, 2), &dev).unwrap();
        let r = Tensor::from_vec(values(2 * 12, 5), (2, 3, 2, 2), &dev).unwrap();
        let init = values(groups * 3, 7);
        let coeffs =
            Var::from_tensor(&Tensor::from_vec(init.clone(), (groups, 3), &dev).unwrap()).unwrap();
        // L = Σ r ⊙ act(x): a scalar whose gradient we check.
        let loss = |c: &Tensor| -> f64 {
            let y = quadratic(&x, c, g, shape).unwrap();
            (y * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64
        };
        let l = (quadratic(&x, coeffs.as_tensor(), g, shape).unwrap() * &r)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = l.backward().unwrap();
        let grad = grads
            .get(coeffs.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let h = 1e-2f32;
        for i in 0..init.len() {
            let mut plus = init.clone();
            plus[i] += h;
            let mut minus = init.clone();
            minus[i] -= h;
            let fd = (loss(&Tensor::from_vec(plus, (groups, 3), &dev).unwrap())
                - loss(&Tensor::from_vec(minus, (groups, 3), &dev).unwrap()))
                / (2.0 * h as f64);
            assert!(
                (fd - grad[i] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "{g:?} coefficient {i}: {fd} vs {}",
                grad[i]
            );
        }
    }
}

#[test]
fn distillation_loss_reduces_to_its_parts() {
    let dev = Device::Cpu;
    let s = Tensor::from_vec(values(40, 11), (4, 10), &dev).unwrap();
    let t = Tensor::from_vec(values(40, 13), (4, 10), &dev).unwrap();
    let y = Tensor::from_vec(vec![1u32, 3, 5, 7], 4, &dev).unwrap();
    let scalar = |v: Tensor| v.to_scalar::<f32>().unwrap() as f64;
    let ce = scalar(candle_nn::loss::cross_entropy(&s, &y).unwrap());
    // alpha = 0: only the labels count.
    assert!((scalar(distillation_loss(&s, &t, &y, 4.0, 0.0).unwrap()) - ce).abs() < 1e-6);
    // A student equal to its teacher has zero divergence.
    assert!(scalar(distillation_loss(&t, &t, &y, 4.0, 1.0).unwrap()).abs() < 1e-6);
    // A different student has a positive one.
    assert!(scalar(distillation_loss(&s, &t, &y, 4.0, 1.0).unwrap()) > 1e-3);
}

#[test]
fn a_short_run_learns_and_exports_a_model_that_reloads_exactly() {
    let (train_split, test_split) = subsets(3000, 1000);
    let input = DIGITS;
    let mut net = Net::new(
        &cryptonets_mnist(&ActChoice::Trainable(Granularity::Channel)),
        input,
        3,
    )
    .unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 64,
        lr: 3e-3,
        weight_decay: 1e-4,
        seed: 1,
        distill: None,
        pruning: None,
        inq: None,
        max_shift: 0,
    };
    let acc = train(&mut net, &train_split, &test_split, config, &mut |_| {}).unwrap();
    assert!(
        acc > 0.7,
        "accuracy {acc} after a short run (chance is 0.1)"
    );

    // Export, save, load: the plaintext executor agrees with candle.
    let model = net.export("short", Default::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("hefty-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("short.json");
    model.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back, model);
    let report = hefty_nn::model::evaluate(
        &back,
        &test_split,
        hefty_nn::model::EvalMode::Float,
        &|_| {},
    )
    .unwrap();
    assert!(
        (report.accuracy - acc).abs() < 0.003,
        "{} vs {acc}",
        report.accuracy
    );
    // And a network rebuilt from the file computes the same accuracy.
    let mut again = Net::from_model(&back, None).unwrap();
    let (x, y) = tensors(&test_split, 8).unwrap();
    assert!((accuracy(&mut again, &x, &y).unwrap() - acc).abs() < 1e-9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_squeezenet_is_built_from_the_same_layer_set() {
    let input = InputSpec {
        channels: 3,
        height: 32,
        width: 32,
        scale_bits: 8,
    };
    let mut net = Net::new(
        &hemet_squeezenet(&ActChoice::Trainable(Granularity::Element), 32, 10),
        input,
        1,
    )
    .unwrap();
    let x = Tensor::from_vec(values(2 * 3 * 32 * 32, 9), (2, 3, 32, 32), &Device::Cpu).unwrap();
    let logits = net.forward(&x, true).unwrap();
    assert_eq!(logits.dims(), &[2, 10]);
    // It exports to a valid model file, whose expand convolutions keep the
    // 1×1 branch as centre-only taps.
    let model = net.export("squeeze", Default::default()).unwrap();
    let w = model.tensor("fire1_expand.weight").unwrap();
    assert_eq!(w.shape, vec![64, 16, 3, 3]);
    let off_centre: f32 = (0..32 * 16)
        .flat_map(|f| (0..9).filter(|&t| t != 4).map(move |t| f * 9 + t))
        .map(|i| w.data[i].abs())
        .sum();
    assert_eq!(off_centre, 0.0);
}

#[test]
fn pruning_a_squeezenet_keeps_its_centre_only_taps_and_reaches_the_target() {
    let (train_split, test_split) = subsets(256, 128);
    let input = DIGITS;
    let mut net = Net::new(&hemet_squeezenet(&ActChoice::Relu, 28, 10), input, 5).unwrap();
    let layers = net.weight_layers();
    assert_eq!(
        layers.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        [
            "conv1",
            "fire1_squeeze",
            "fire1_expand",
            "fire2_squeeze",
            "fire2_expand",
            "classifier"
        ]
    );
    // 20 % is below the 4/9 of fire1_expand that the centre-only taps
    // already zero: the schedule alone would let them grow back.
    let targets = [
        ("fire1_expand".to_string(), 0.2),
        ("fire2_expand".into(), 0.6),
    ];
    let config = TrainConfig {
        epochs: 2,
        batch_size: 64,
        lr: 3e-3,
        weight_decay: 1e-4,
        seed: 2,
        distill: None,
        pruning: Some(hefty_nn::train::Pruning {
            targets: targets.iter().cloned().collect(),
            ramp_epochs: 1,
        }),
        inq: None,
        max_shift: 1,
    };
    train(&mut net, &train_split, &test_split, config, &mut |_| {}).unwrap();
    let model = net.export("squeeze", Default::default()).unwrap();
    for (name, expand, inputs) in [("fire1_expand", 32, 16), ("fire2_expand", 64, 32)] {
        let w = model.tensor(&format!("{name}.weight")).unwrap();
        let off_centre = (0..expand * inputs)
            .flat_map(|f| (0..9).filter(|&t| t != 4).map(move |t| f * 9 + t))
            .filter(|&i| w.data[i] != 0.0)
            .count();
        assert_eq!(off_centre, 0, "{name}: 1×1 branch grew off-centre taps");
        let zeros = w.data.iter().filter(|&&v| v == 0.0).count() as f64;
        let structural = (expand * inputs * 8) as f64 / w.data.len() as f64;
        let target = targets.iter().find(|t| t.0 == name).unwrap().1;
        // At least the target (to the rounding of the count), and never
        // fewer than the structural zeros.
        let len = w.data.len() as f64;
        assert!(
            zeros / len >= target.max(structural) - 1.0 / len,
            "{name}: {zeros} zeros"
        );
    }
}

#[test]
fn incremental_quantization_leaves_only_powers_of_two_and_keeps_learning() {
    use hefty_nn::model::{Layer, Quantization};
    let (train_split, test_split) = subsets(2000, 500);
    let input = DIGITS;
    let mut net = Net::new(
        &cryptonets_mnist(&ActChoice::Trainable(Granularity::Layer)),
        input,
        4,
    )
    .unwrap();
    let layers: Vec<String> = net.weight_layers().into_iter().map(|l| l.0).collect();
    let mut frozen_fractions = Vec::new();
    let mut epochs = 0;
    let config = TrainConfig {
        epochs: 2,
        batch_size: 64,
        lr: 3e-3,
        weight_decay: 1e-4,
        seed: 3,
        distill: None,
        pruning: None,
        inq: Some(hefty_nn::train::Inq {
            layers: layers.clone(),
            stages: vec![0.5, 1.0],
            bits: 5,
            epochs_per_stage: 1,
            final_epochs: 1,
        }),
        max_shift: 0,
    };
    let acc = train(
        &mut net,
        &train_split,
        &test_split,
        config,
        &mut |e| match e {
            hefty_nn::train::TrainEvent::Stage(f) => frozen_fractions.push(f),
            hefty_nn::train::TrainEvent::Epoch(..) => epochs += 1,
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(frozen_fractions, [0.5, 1.0]);
    assert_eq!(epochs, 2 + 1 + 1, "two epochs, one per stage, one final");
    assert!(acc > 0.7, "accuracy {acc} after quantization");
    // The exported model claims power-of-two weights in every layer, and
    // every weight is 0 or ±2^k inside the claimed range (the loader checks
    // the claim too).
    let model = net.export("inq", Default::default()).unwrap();
    for layer in &model.graph().layers {
        let (name, quantization) = match layer {
            Layer::Conv2d {
                name, quantization, ..
            }
            | Layer::Dense {
                name, quantization, ..
            } => (name, quantization),
            _ => continue,
        };
        let Some(Quantization::PowerOfTwo { min_exp, max_exp }) = *quantization else {
            panic!("{name} has no power-of-two claim");
        };
        assert_eq!(max_exp - min_exp, 7, "5 bits: 8 exponents");
        for &w in &model.tensor(&format!("{name}.weight")).unwrap().data {
            if w != 0.0 {
                let k = w.abs().log2();
                assert_eq!(k, k.round(), "{name}: {w} is no power of two");
                assert!((min_exp..=max_exp).contains(&(k as i32)), "{name}: {w}");
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("hefty-inq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    model.save(&dir.join("inq.json")).unwrap();
    assert_eq!(Model::load(&dir.join("inq.json")).unwrap(), model);
    std::fs::remove_dir_all(&dir).unwrap();
}
