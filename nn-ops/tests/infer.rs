//! Encrypted inference against the plaintext references: exact equality
//! for the BFV paths (slots and base-2 encodings), a stated error bound for
//! CKKS, on random small networks (shapes, strides, padding, granularity,
//! pruning) and on the committed CryptoNets network; HOP counts derived by
//! hand; the client/server split through bytes; misuse.

mod common;

use std::collections::BTreeMap;

use hefty_nn::Error;
use hefty_nn::exec::encrypted::{
    CkksClient, CkksServer, InferOptions, InferReport, InputLayout, Packing, Scheme, SlotClient,
    SlotProgram, SlotServer, ckks_plan, infer, input_scale, levels_needed, slot_parameters,
};
use hefty_nn::model::{
    ActivationSpec, FORMAT, GRAPH_VERSION, Granularity, Graph, InputSpec, Layer, Model, Tensor,
};
use proptest::prelude::*;

/// Random network settings.
#[derive(Debug, Clone)]
struct Net {
    channels: usize,
    side: usize,
    maps: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    batch_norm: bool,
    granularity: Granularity,
    pool: Option<(usize, bool)>,
    second: bool,
    prune: u8,
    seed: u64,
}

fn noise(seed: &mut u64) -> f32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

fn tensor(shape: &[usize], seed: &mut u64, scale: f32, prune: u8) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| {
            let v = noise(seed) * scale;
            // Prune about prune/8 of the weights.
            if ((noise(seed) + 1.0) * 4.0) < prune as f32 {
                0.0
            } else {
                v
            }
        })
        .collect();
    Tensor::new(shape.to_vec(), data).unwrap()
}

fn out_side(side: usize, k: usize, s: usize, p: usize) -> usize {
    (side + 2 * p - k) / s + 1
}

/// conv → [batch norm] → quadratic → [pool] → flatten → dense →
/// [quadratic → dense].
fn build(net: &Net) -> Model {
    let mut s = net.seed | 1;
    let mut tensors = BTreeMap::new();
    let mut layers = Vec::new();
    tensors.insert(
        "c.weight".into(),
        tensor(
            &[net.maps, net.channels, net.kernel, net.kernel],
            &mut s,
            0.6,
            net.prune,
        ),
    );
    tensors.insert("c.bias".into(), tensor(&[net.maps], &mut s, 0.2, 0));
    layers.push(Layer::Conv2d {
        name: "c".into(),
        in_channels: net.channels,
        out_channels: net.maps,
        kernel: net.kernel,
        stride: net.stride,
        padding: net.padding,
        quantization: None,
    });
    let mut side = out_side(net.side, net.kernel, net.stride, net.padding);
    if net.batch_norm {
        let m = net.maps;
        tensors.insert("bn.gamma".into(), tensor(&[m], &mut s, 1.0, 0));
        tensors.insert("bn.beta".into(), tensor(&[m], &mut s, 0.3, 0));
        tensors.insert("bn.mean".into(), tensor(&[m], &mut s, 0.3, 0));
        let var: Vec<f32> = (0..m).map(|_| 0.5 + noise(&mut s).abs()).collect();
        tensors.insert("bn.var".into(), Tensor::new(vec![m], var).unwrap());
        layers.push(Layer::BatchNorm {
            name: "bn".into(),
            channels: m,
            eps: 1e-5,
        });
    }
    let groups = |g: Granularity, channels: usize, elements: usize| match g {
        Granularity::Layer => 1,
        Granularity::Channel => channels,
        Granularity::Element => elements,
    };
    let quad = |groups: usize, s: &mut u64| {
        // a·x² + b·x + c with |a| ≥ 0.05 of either sign.
        let data = (0..groups)
            .flat_map(|_| {
                let a = noise(s) * 0.4;
                [noise(s) * 0.2, 0.5 + noise(s) * 0.3, a + 0.05 * a.signum()]
            })
            .collect();
        Tensor::new(vec![groups, 3], data).unwrap()
    };
    tensors.insert(
        "a.coeffs".into(),
        quad(
            groups(net.granularity, net.maps, net.maps * side * side),
            &mut s,
        ),
    );
    layers.push(Layer::Activation {
        name: "a".into(),
        function: ActivationSpec::Poly {
            degree: 2,
            granularity: net.granularity,
        },
    });
    if let Some((stride, scaled)) = net.pool {
        layers.push(Layer::AvgPool {
            kernel: 2,
            stride,
            padding: 0,
            scaled,
        });
        side = out_side(side, 2, stride, 0);
    }
    layers.push(Layer::Flatten);
    let features = net.maps * side * side;
    let hidden = if net.second { 4 } else { 3 };
    tensors.insert(
        "d.weight".into(),
        tensor(&[hidden, features], &mut s, 0.4, net.prune),
    );
    tensors.insert("d.bias".into(), tensor(&[hidden], &mut s, 0.2, 0));
    layers.push(Layer::Dense {
        name: "d".into(),
        in_features: features,
        out_features: hidden,
        quantization: None,
    });
    if net.second {
        tensors.insert(
            "a2.coeffs".into(),
            quad(groups(net.granularity, hidden, hidden), &mut s),
        );
        layers.push(Layer::Activation {
            name: "a2".into(),
            function: ActivationSpec::Poly {
                degree: 2,
                granularity: net.granularity,
            },
        });
        tensors.insert("e.weight".into(), tensor(&[3, hidden], &mut s, 0.5, 0));
        tensors.insert("e.bias".into(), tensor(&[3], &mut s, 0.2, 0));
        layers.push(Layer::Dense {
            name: "e".into(),
            in_features: hidden,
            out_features: 3,
            quantization: None,
        });
    }
    let graph = Graph {
        format: FORMAT.into(),
        version: GRAPH_VERSION,
        name: "random".into(),
        input: InputSpec {
            channels: net.channels,
            height: net.side,
            width: net.side,
            scale_bits: 8,
        },
        weights: "random.safetensors".into(),
        layers,
        training: Default::default(),
    };
    Model::new(graph, tensors).unwrap()
}

fn images(model: &Model, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut s = seed | 1;
    (0..count)
        .map(|_| {
            (0..model.input_shape().len())
                .map(|_| ((noise(&mut s) + 1.0) * 127.9) as u8)
                .collect()
        })
        .collect()
}

fn run(model: &Model, imgs: &[Vec<u8>], packing: Packing, scheme: Scheme) -> InferReport {
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let labels = vec![0u8; imgs.len()];
    infer(
        model,
        &refs,
        &labels,
        InferOptions {
            packing,
            scheme,
            precision_bits: 8,
            images_per_ciphertext: 1,
            requests: 1,
        },
        &|_, _, _| {},
    )
    .unwrap()
}

fn net() -> impl Strategy<Value = Net> {
    (
        (1usize..=2, 4usize..=6, 1usize..=2, 1usize..=3),
        (1usize..=2, 0usize..=1, any::<bool>(), 0usize..3),
        (
            prop::option::of((1usize..=2, any::<bool>())),
            any::<bool>(),
            0u8..4,
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (channels, side, maps, kernel),
                (stride, padding, batch_norm, g),
                (pool, second, prune, seed),
            )| Net {
                channels,
                side,
                maps,
                kernel,
                stride,
                padding,
                batch_norm,
                granularity: [
                    Granularity::Layer,
                    Granularity::Channel,
                    Granularity::Element,
                ][g],
                pool,
                second,
                prune,
                seed,
            },
        )
        .prop_filter(
            "padding below the kernel; the pool needs a 2×2 window",
            |n| {
                n.padding < n.kernel
                    && (n.pool.is_none() || out_side(n.side, n.kernel, n.stride, n.padding) >= 2)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// BFV in slots: the decrypted logits are the fixed-point integers.
    #[test]
    fn bfv_batch_equals_the_fixed_point_path(n in net()) {
        let model = build(&n);
        let r = run(&model, &images(&model, 3, n.seed), Packing::Batch, Scheme::Bfv);
        prop_assert_eq!(r.mismatched_logits, Some(0));
    }

    /// BFV in base-2 encodings (monomial and sparse products): exact too.
    #[test]
    fn bfv_integer_equals_the_fixed_point_path(n in net()) {
        let model = build(&n);
        let r = run(&model, &images(&model, 1, n.seed), Packing::Integer, Scheme::Bfv);
        prop_assert_eq!(r.mismatched_logits, Some(0));
    }

    /// CKKS with one image packed in the slots (diagonals, taps,
    /// rotations): within 1e-4 of the f64 reference.
    #[test]
    fn ckks_slot_packing_is_within_its_error_bound(n in net()) {
        let model = build(&n);
        let r = run(&model, &images(&model, 2, n.seed), Packing::Slots, Scheme::Ckks);
        let err = r.max_logit_error.unwrap();
        prop_assert!(err < 1e-4, "largest logit error {err}");
    }

    /// CKKS in slots: within 1e-4 of the f64 reference (scale 2^40; where
    /// the first layer spends no level, inputs at 2^28 and its weights
    /// rounded to multiples of 2^-20 — over 40 random networks the largest
    /// error was 1.8e-5).
    #[test]
    fn ckks_batch_is_within_its_error_bound(n in net()) {
        let model = build(&n);
        let r = run(&model, &images(&model, 5, n.seed), Packing::Batch, Scheme::Ckks);
        let err = r.max_logit_error.unwrap();
        prop_assert!(err < 1e-4, "largest logit error {err}");
    }
}

/// The server of every packing on the CUDA backend's kernels (their host
/// emulation, so this runs on any machine), at both word sizes where the
/// packing allows: the same answers as on the CPU, the same operations
/// counted per layer, the backend named in the report.
#[test]
fn every_packing_runs_on_the_cuda_kernels_as_on_the_cpu() {
    use hefty_nn::core::ring::Word;
    use hefty_nn::exec::encrypted::{ServerDevice, infer_on};
    let model = build(&fixed_net());
    let imgs = images(&model, 3, 11);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let labels = vec![0u8; imgs.len()];
    for (packing, scheme, word) in [
        (Packing::Batch, Scheme::Ckks, Word::W64),
        (Packing::Batch, Scheme::Ckks, Word::W32),
        (Packing::Slots, Scheme::Ckks, Word::W64),
        (Packing::Slots, Scheme::Ckks, Word::W32),
        (Packing::Batch, Scheme::Bfv, Word::W64),
        (Packing::Integer, Scheme::Bfv, Word::W64),
    ] {
        let device = ServerDevice {
            backend: std::sync::Arc::new(hefty_kernels::Cuda::emulated(word)),
            word,
        };
        let options = InferOptions {
            packing,
            scheme,
            precision_bits: 8,
            images_per_ciphertext: 1,
            requests: 1,
        };
        let on_gpu = infer_on(&model, &refs, &labels, options, &device, &|_, _, _| {}).unwrap();
        let on_cpu = run(&model, &imgs, packing, scheme);
        let what = format!("{packing:?} {scheme:?} {word:?}");
        assert_eq!(on_gpu.backend, "cuda", "{what}");
        assert_eq!(on_gpu.device.as_deref(), Some("host emulation"), "{what}");
        assert_eq!(
            (on_cpu.backend.as_str(), on_cpu.device.as_deref()),
            ("cpu", None)
        );
        assert_eq!(on_gpu.agreement, 1.0, "{what}");
        match scheme {
            Scheme::Bfv => assert_eq!(on_gpu.mismatched_logits, Some(0), "{what}"),
            Scheme::Ckks => {
                let err = on_gpu.max_logit_error.unwrap();
                assert!(err < 1e-3, "{what}: largest logit error {err}");
            }
        }
        let hops = |r: &InferReport| r.layers.iter().map(|l| l.hops).collect::<Vec<_>>();
        assert_eq!(hops(&on_gpu), hops(&on_cpu), "{what}");
    }
    // The BFV packings need 64-bit words.
    let w32 = ServerDevice {
        backend: std::sync::Arc::new(hefty_kernels::Cuda::emulated(Word::W32)),
        word: Word::W32,
    };
    let options = InferOptions {
        packing: Packing::Batch,
        scheme: Scheme::Bfv,
        precision_bits: 8,
        images_per_ciphertext: 1,
        requests: 1,
    };
    let err = infer_on(&model, &refs, &labels, options, &w32, &|_, _, _| {}).unwrap_err();
    assert!(
        matches!(&err, Error::Setting(m) if m.contains("64-bit words")),
        "{err}"
    );
}

/// Every weight pruned (a proptest case found slot packing refusing the
/// all-zero matrix): each packing gives the reference's outputs (the biases
/// through the activations).
#[test]
fn fully_pruned_layers_give_the_reference_outputs() {
    let model = build(&Net {
        prune: 8,
        ..fixed_net()
    });
    let imgs = images(&model, 2, 5);
    for (packing, scheme) in [
        (Packing::Slots, Scheme::Ckks),
        (Packing::Batch, Scheme::Ckks),
        (Packing::Batch, Scheme::Bfv),
    ] {
        let r = run(&model, &imgs, packing, scheme);
        assert_eq!(r.agreement, 1.0, "{packing:?} {scheme:?}");
        match scheme {
            Scheme::Ckks => assert!(r.max_logit_error.unwrap() < 1e-4, "{packing:?}"),
            Scheme::Bfv => assert_eq!(r.mismatched_logits, Some(0)),
        }
    }
}

fn fixed_net() -> Net {
    Net {
        channels: 1,
        side: 6,
        maps: 2,
        kernel: 3,
        stride: 1,
        padding: 1,
        batch_norm: true,
        granularity: Granularity::Channel,
        pool: Some((2, true)),
        second: false,
        prune: 0,
        seed: 7,
    }
}

/// A linear step's counts: scalar products, additions, rescales, biases.
fn linear_counts(h: &hefty_nn::exec::encrypted::Hops) -> (u64, u64, u64, u64) {
    (h.pt_ct_mul_scalar, h.ct_ct_add, h.rescale, h.pt_ct_add)
}

/// The layers of a run that relinearize, and how many ciphertexts each.
fn relinearized_at(r: &InferReport) -> Vec<(&str, u64)> {
    r.layers
        .iter()
        .filter(|l| l.hops.relinearize > 0)
        .map(|l| (l.name.as_str(), l.hops.relinearize))
        .collect()
}

/// The tiny network's operations, counted by hand. conv 3×3, pad 1, on
/// 6×6: per output map Σ_y Σ_x (valid rows)(valid columns) = 16² = 256
/// products, 72 outputs; the quadratic is folded to one square per
/// element; the 2×2 pool (stride 2, weights ±1 that absorb the square's
/// signs) and the 3 × 18 dense layer compose into one 3 × 72 map (each
/// dense weight spread over its pool window's four squares, the squares'
/// constants in the biases): 216 products, 3 × 71 additions, 3 rescales
/// and biases.
#[test]
fn hop_counts_match_a_hand_count() {
    let mut net = fixed_net();
    net.seed = 11;
    let model = build(&net);
    // No weight of this seed is zero, no bias either (checked, so the
    // hand count holds).
    for t in ["c.weight", "d.weight", "c.bias", "d.bias"] {
        assert!(model.tensor(t).unwrap().data.iter().all(|&w| w != 0.0));
    }
    let r = run(&model, &images(&model, 2, 3), Packing::Batch, Scheme::Ckks);
    let h: Vec<_> = r.layers.iter().map(|l| (l.name.as_str(), l.hops)).collect();
    assert_eq!(h.len(), 3, "{h:?}"); // conv+bn, act, pool+flatten+dense
    let (conv, act, dense) = (h[0].1, h[1].1, h[2].1);
    assert_eq!(h[0].0, "c+bn");
    assert_eq!(h[2].0, "avg_pool#3+flatten#4+d");
    // The conv reads the inputs right before the square: its weights are
    // summed as integers and the inputs' scale takes over its rescale.
    assert_eq!(linear_counts(&conv), (512, 512 - 72, 0, 72));
    assert_eq!((act.ct_ct_mul, act.relinearize, act.rescale), (72, 72, 72));
    assert_eq!(act.pt_ct_mul(), 0);
    assert_eq!(linear_counts(&dense), (3 * 72, 3 * 71, 3, 3));
    assert!(r.layers.iter().all(|l| l.hops.rotate == 0));
    // Depth: conv (0: the inputs' scale) + square (1) + pool and dense (1).
    let plan = ckks_plan(&model).unwrap();
    assert_eq!(levels_needed(&plan), 2);
    assert_eq!(input_scale(&plan, 40), 2f64.powi(28));
    // BFV folds the batch norm into the quadratic: per element and
    // plaintext modulus one square, then c2·x² + c1·x (two scalar
    // products, one addition) + c0 (a plaintext addition). The squares stay
    // unrelinearized through the pool and the dense layer, whose 3 outputs
    // are relinearized instead of the 72 squares: 72·30 = 2,160 terms'
    // worth right away, against 54·1.4 + 3·45 = 211 for the dense layer's
    // terms on three polynomials and its outputs' relinearizations (slots'
    // costs in bfv::relin), plus the pool's 72·1.4 = 101.
    let r = run(&model, &images(&model, 2, 3), Packing::Batch, Scheme::Bfv);
    let parts = r.params["plaintext_moduli"].as_array().unwrap().len() as u64;
    let act = r.layers.iter().find(|l| l.op == "activation").unwrap().hops;
    assert_eq!(
        (
            act.ct_ct_mul,
            act.relinearize,
            act.ct_ct_add,
            act.pt_ct_add,
            act.rescale
        ),
        (72 * parts, 0, 72 * parts, 72 * parts, 0)
    );
    assert_eq!(relinearized_at(&r), [("d", 3 * parts)]);
    // Scalars of ±1 are additions, not products.
    assert!(act.pt_ct_mul_scalar <= 2 * 72 * parts && act.pt_ct_mul_scalar >= 72 * parts);
    // Base 2 defers them too (a relinearization costs 40 terms against a
    // monomial's 0.65 more on three polynomials: the pool's and the dense
    // layer's few hundred digits cost less than 72 relinearizations), and
    // the logits are still the fixed-point integers.
    let r = run(&model, &images(&model, 1, 3), Packing::Integer, Scheme::Bfv);
    assert_eq!(r.mismatched_logits, Some(0));
    let parts = r.params["plaintext_moduli"].as_array().unwrap().len() as u64;
    assert_eq!(relinearized_at(&r), [("d", 3 * parts)]);
}

/// A CKKS batch request of four images of `model` at `depth` levels: the
/// client (with its keys), the evaluation keys and inputs as bytes.
struct Request {
    params: std::sync::Arc<hefty_nn::core::ckks::Parameters>,
    client: CkksClient,
    keys: Vec<u8>,
    imgs: Vec<Vec<u8>>,
    inputs: Vec<u8>,
}

fn request(model: &Model, depth: usize) -> Request {
    let params = hefty_nn::core::ckks::PRESETS[1]
        .builder()
        .depth(depth)
        .build()
        .unwrap();
    let mut client = CkksClient::for_plan(&params, &ckks_plan(model).unwrap());
    let keys = client.evaluation_keys().unwrap();
    let imgs = images(model, 4, 9);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let inputs = client.encrypt(&refs, 8).unwrap();
    Request {
        params,
        client,
        keys,
        imgs,
        inputs,
    }
}

/// Every decrypted logit within 1e-4 of the f64 reference's.
fn assert_near_reference(model: &Model, imgs: &[Vec<u8>], logits: &[Vec<f64>]) {
    assert_eq!(imgs.len(), logits.len());
    for (img, got) in imgs.iter().zip(logits) {
        let want = model.forward_f64(img).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}

/// The server gets bytes only: parameters, a relinearization key,
/// ciphertexts; malformed or incomplete bytes are typed errors.
#[test]
fn client_server_round_trip_through_bytes() {
    let model = build(&fixed_net());
    let plan = ckks_plan(&model).unwrap();
    let Request {
        params,
        client,
        keys,
        imgs,
        inputs,
    } = request(&model, 3);
    let server = CkksServer::new(&keys, plan.clone()).unwrap();
    let outputs = server.infer(&inputs, &mut |_| {}).unwrap();
    // A request the server owns (and frees after its first square) gives
    // the same bytes.
    assert_eq!(
        server.infer_owned(inputs.clone(), &mut |_| {}).unwrap(),
        outputs
    );
    let logits = client.decrypt(&outputs, 4).unwrap();
    assert_near_reference(&model, &imgs, &logits);
    // Missing relinearization key.
    let params_only = hefty_nn::exec::encrypted::pack(&[params.to_bytes()]);
    assert!(matches!(
        CkksServer::new(&params_only, plan.clone()),
        Err(Error::Setting(m)) if m.contains("relinearization key")
    ));
    // Inputs at the scale of a plan whose first step spends a level (Δ):
    // refused, naming the scale this plan takes and how to encrypt at it.
    assert_eq!(
        server.input_scale(),
        input_scale(&plan, params.scale_bits())
    );
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let at_delta = CkksClient::new(&params).encrypt(&refs, 8).unwrap();
    let e = server.infer(&at_delta, &mut |_| {}).unwrap_err();
    assert!(
        e.to_string().contains("scale 2^40.0") && e.to_string().contains("for_plan"),
        "{e}"
    );
    // Truncated inputs: an error, never a panic.
    assert!(
        server
            .infer(&inputs[..inputs.len() / 2], &mut |_| {})
            .is_err()
    );
    // Too few levels for the network.
    let shallow = hefty_nn::core::ckks::PRESETS[1]
        .builder()
        .depth(1)
        .build()
        .unwrap();
    let keys = CkksClient::new(&shallow).evaluation_keys().unwrap();
    assert!(matches!(
        CkksServer::new(&keys, plan),
        Err(Error::Setting(m)) if m.contains("levels")
    ));
}

/// A dense layer right after the first square (through a flatten) with
/// fewer outputs than half the squares is summed in parts as the squares
/// come: its step runs in two passes (the squares' part, then the rescale)
/// instead of one, counts the hand count's operations (3 × 72 products,
/// 3 × 71 additions, 3 rescales and biases), and the logits match the f64
/// reference as the whole-layer path's do.
#[test]
fn a_dense_layer_after_the_square_is_summed_in_parts() {
    let mut net = fixed_net();
    net.pool = None;
    net.seed = 11;
    let model = build(&net);
    let plan = ckks_plan(&model).unwrap();
    let ops: Vec<&str> = plan
        .steps
        .iter()
        .map(|s| match s.op {
            hefty_nn::exec::Op::Linear(_) => "linear",
            hefty_nn::exec::Op::Poly { .. } => "poly",
            hefty_nn::exec::Op::Reshape => "reshape",
            hefty_nn::exec::Op::Relu => "relu",
        })
        .collect();
    assert_eq!(ops, ["linear", "poly", "reshape", "linear"]);
    let Request {
        client,
        keys,
        imgs,
        inputs,
        ..
    } = request(&model, levels_needed(&plan));
    let server = CkksServer::new(&keys, plan).unwrap();
    let mut passes = [0usize; 4];
    let outputs = server
        .infer(&inputs, &mut |e| {
            if let hefty_nn::exec::Event::Begin { index } = e {
                passes[index] += 1;
            }
        })
        .unwrap();
    assert_eq!(passes[3], 2, "passes per step: {passes:?}");
    assert_eq!(passes[2], 1, "the flatten is reported: {passes:?}");
    let logits = client.decrypt(&outputs, 4).unwrap();
    assert_near_reference(&model, &imgs, &logits);
    let r = run(&model, &imgs, Packing::Batch, Scheme::Ckks);
    let dense = r.layers.last().unwrap().hops;
    assert_eq!(linear_counts(&dense), (3 * 72, 3 * 71, 3, 3));
    assert_eq!(r.agreement, 1.0);
}

/// Two images per slot: past `n/2` images the client sends two real-slot
/// halves, the server merges them at the first square and separates them
/// at the second with a conjugation; every image of both halves matches
/// the f64 reference. Without the conjugation key, or for a plan whose
/// activations are not squares, a paired request is a typed error.
#[test]
fn paired_slots_round_trip_through_bytes_and_their_misuse() {
    let mut net = fixed_net();
    net.second = true;
    let model = build(&net);
    let plan = ckks_plan(&model).unwrap();
    assert_eq!(CkksServer::needs_conjugation(&plan), Some(true));
    let params = hefty_nn::core::ckks::PRESETS[1]
        .builder()
        .depth(levels_needed(&plan))
        .build()
        .unwrap();
    let half = params.slots();
    let count = half + 5;
    let imgs = images(&model, count, 21);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let mut client = CkksClient::for_plan(&params, &plan);
    assert!(client.encrypt(&refs, 8).is_err(), "one image per slot");
    let keys = client.evaluation_keys_paired(true).unwrap();
    assert_eq!(client.slots(), 2 * half);
    let inputs = client.encrypt(&refs, 8).unwrap();
    let server = CkksServer::new(&keys, plan.clone()).unwrap();
    assert!(server.pairs());
    let outputs = server.infer(&inputs, &mut |_| {}).unwrap();
    let logits = client.decrypt(&outputs, count).unwrap();
    assert_eq!(logits.len(), count);
    let mut worst = 0f64;
    for (img, got) in imgs.iter().zip(&logits) {
        let want = model.forward_f64(img).unwrap();
        for (a, b) in got.iter().zip(&want) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst < 1e-4, "largest logit error {worst}");
    // One conjugation per element of the second square, one product per
    // pair of images everywhere after the first convolution.
    let totals = server.counter().totals();
    assert_eq!(totals.get(hefty_nn::core::Hop::Rotate), 4);
    assert_eq!(
        server.infer_owned(inputs.clone(), &mut |_| {}).unwrap(),
        outputs,
        "owned request, paired"
    );
    // The same request against keys without the conjugation key.
    let mut plain = CkksClient::for_plan(&params, &plan);
    let keys = plain.evaluation_keys_paired(false).unwrap();
    let server = CkksServer::new(&keys, plan.clone()).unwrap();
    assert!(!server.pairs());
    let e = server
        .infer(&plain.encrypt(&refs, 8).unwrap(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("conjugation key"), "{e}");
    // A quadratic with a zero square term (here in the first channel) is
    // no square: such a network cannot pair images.
    let model = build(&net);
    let mut tensors = model.tensors().clone();
    let coeffs = tensors.get_mut("a.coeffs").unwrap();
    coeffs.data[2] = 0.0;
    let model = Model::new(model.graph().clone(), tensors).unwrap();
    let plan = ckks_plan(&model).unwrap();
    assert_eq!(CkksServer::needs_conjugation(&plan), None);
    let params = hefty_nn::core::ckks::PRESETS[1]
        .builder()
        .depth(levels_needed(&plan))
        .build()
        .unwrap();
    let mut client = CkksClient::for_plan(&params, &plan);
    let keys = client.evaluation_keys_paired(true).unwrap();
    let server = CkksServer::new(&keys, plan).unwrap();
    assert!(!server.pairs());
    let e = server
        .infer(&client.encrypt(&refs, 8).unwrap(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("not all squares"), "{e}");
}

/// Slot packing's client and server meet only through bytes; the server
/// refuses what it cannot run, in words that say what to change.
#[test]
fn slot_packing_round_trip_through_bytes_and_its_misuse() {
    let model = build(&fixed_net());
    let (params, program) = slot_parameters(&model, 1).unwrap();
    let slots = params.slots();
    let rotations = program.rotations(slots);
    let mut client = SlotClient::new(&params, program.layout().clone(), 1);
    let keys = client.evaluation_keys(&rotations).unwrap();
    let server = SlotServer::new(&keys, program.clone()).unwrap();
    // Rotations derived by hand for this network at n = 2^14 (8192 slots):
    // conv 3×3 (72 outputs, period 128) in tap form — 9 taps in one
    // ciphertext of 64 blocks, folded by 128, 256, …, 4096: 6; the pool and
    // dense layer composed into one 3 × 72 matrix over period 128: d' = 4
    // diagonals, baby steps of 2 (one rotation by 1, one giant by 2), then
    // folds by 4, 8, 16, 32, 64: 7. Thirteen per image, and as many keys.
    assert_eq!(
        rotations,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    );
    assert_eq!(program.layout().ciphertexts(), 1);
    for img in images(&model, 2, 5) {
        let out = server
            .infer(&client.encrypt(&[&img], 8).unwrap(), &mut |_, _| {})
            .unwrap();
        let got = client
            .decrypt(&out, program.outputs(), 1)
            .unwrap()
            .remove(0);
        let want = model.forward_f64(&img).unwrap();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
    let rotated = server.counter().totals().get(hefty_nn::core::Hop::Rotate);
    assert_eq!(rotated, 2 * 13);
    // Four images interleaved in one ciphertext set: the same program with
    // every rotation four times longer (one image's slots are 2048, so the
    // tap folds stop at 1024), the same count per set.
    let (params4, program4) = slot_parameters(&model, 4).unwrap();
    assert_eq!(params4.slots(), slots);
    let rotations4 = program4.rotations(slots);
    assert_eq!(
        rotations4,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
            .iter()
            .map(|r| 4 * r)
            .collect::<Vec<i64>>()
    );
    let mut client4 = SlotClient::new(&params4, program4.layout().clone(), 4);
    let keys4 = client4.evaluation_keys(&rotations4).unwrap();
    let server4 = SlotServer::new(&keys4, program4.clone()).unwrap();
    let imgs = images(&model, 3, 11);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let out = server4
        .infer(&client4.encrypt(&refs, 8).unwrap(), &mut |_, _| {})
        .unwrap();
    let got = client4.decrypt(&out, program4.outputs(), 3).unwrap();
    assert_eq!(got.len(), 3);
    for (img, got) in imgs.iter().zip(&got) {
        let want = model.forward_f64(img).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
    assert_eq!(
        server4.counter().totals().get(hefty_nn::core::Hop::Rotate),
        11
    );
    assert!(client4.encrypt(&[refs[0]; 5], 8).is_err());
    assert!(SlotProgram::new(&model, slots, 3).is_err());
    // A missing rotation key: a typed error naming the rotation.
    let mut short = SlotClient::new(&params, program.layout().clone(), 1);
    let keys = short.evaluation_keys(&rotations[1..]).unwrap();
    let server = SlotServer::new(&keys, program.clone()).unwrap();
    let e = server
        .infer(
            &short.encrypt(&[&images(&model, 1, 3)[0]], 8).unwrap(),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(e.to_string().contains("Galois key"), "{e}");
    assert!(
        e.to_string().contains(&format!("{} steps", rotations[0])),
        "{e}"
    );
    // Too few input ciphertexts.
    assert!(
        server
            .infer(&hefty_nn::exec::encrypted::pack(&[]), &mut |_, _| {})
            .is_err()
    );
    // A ring too small for the network's periods.
    let e = SlotProgram::new(&model, 4, 1).unwrap_err();
    assert!(e.to_string().contains("slots"), "{e}");
    assert!(e.to_string().contains("larger ring degree"), "{e}");
    // Slot packing is CKKS's.
    let img = [0u8; 36];
    let e = infer(
        &model,
        &[&img],
        &[0],
        InferOptions {
            packing: Packing::Slots,
            scheme: Scheme::Bfv,
            precision_bits: 8,
            images_per_ciphertext: 1,
            requests: 1,
        },
        &|_, _, _| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--scheme ckks"), "{e}");
}

#[test]
fn misuse_is_a_typed_error_that_says_what_to_change() {
    let model = build(&fixed_net());
    let opts = |packing, scheme| InferOptions {
        packing,
        scheme,
        precision_bits: 8,
        images_per_ciphertext: 1,
        requests: 1,
    };
    let none = |_: &str, _: usize, _: usize| {};
    // Images of the wrong shape.
    let short = [0u8; 10];
    let e = infer(
        &model,
        &[&short],
        &[0],
        opts(Packing::Batch, Scheme::Ckks),
        &none,
    )
    .unwrap_err();
    assert!(e.to_string().contains("takes 36"), "{e}");
    // No request at all.
    let e = infer(
        &model,
        &[&[0u8; 36]],
        &[0],
        InferOptions {
            requests: 0,
            ..opts(Packing::Batch, Scheme::Ckks)
        },
        &none,
    )
    .unwrap_err();
    assert!(e.to_string().contains("--requests 1"), "{e}");
    // The integer packing is BFV's.
    let img = [0u8; 36];
    let e = infer(
        &model,
        &[&img],
        &[0],
        opts(Packing::Integer, Scheme::Ckks),
        &none,
    )
    .unwrap_err();
    assert!(e.to_string().contains("--scheme bfv"), "{e}");
    // A network deeper than any 128-bit preset: 12 unfoldable quadratics.
    let mut deep = model.graph().clone();
    let mut tensors = model.tensors().clone();
    for i in 0..12 {
        let name = format!("q{i}");
        tensors.insert(
            format!("{name}.coeffs"),
            Tensor::new(vec![1, 3], vec![0.1, 0.5, 0.2]).unwrap(),
        );
        deep.layers.insert(
            3,
            Layer::Activation {
                name,
                function: ActivationSpec::Poly {
                    degree: 2,
                    granularity: Granularity::Layer,
                },
            },
        );
    }
    let deep = Model::new(deep, tensors).unwrap();
    let e = infer(
        &deep,
        &[&img],
        &[0],
        opts(Packing::Batch, Scheme::Ckks),
        &none,
    )
    .unwrap_err();
    assert!(e.to_string().contains("levels"), "{e}");
    // ReLU: no encrypted evaluation.
    let mut relu = model.graph().clone();
    relu.layers[2] = Layer::Activation {
        name: "a".into(),
        function: ActivationSpec::Relu,
    };
    let mut tensors = model.tensors().clone();
    tensors.remove("a.coeffs");
    let relu = Model::new(relu, tensors).unwrap();
    for scheme in [Scheme::Ckks, Scheme::Bfv] {
        let e = infer(&relu, &[&img], &[0], opts(Packing::Batch, scheme), &none).unwrap_err();
        assert!(e.to_string().contains("ReLU"), "{e}");
    }
}

fn cryptonets(count: usize) -> (Model, Vec<Vec<u8>>) {
    let test = hefty_nn::mnist::Mnist::load_test(&common::data_dir()).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models/cryptonets-mnist-pruned-pow2-aug.json");
    let imgs = (0..count).map(|i| test.image(i).to_vec()).collect();
    (Model::load(&path).unwrap(), imgs)
}

/// The committed CryptoNets network on a handful of MNIST test images: CKKS
/// agrees with the f64 reference.
#[test]
fn cryptonets_ckks_batch_on_mnist_images() {
    let (model, imgs) = cryptonets(8);
    let r = run(&model, &imgs, Packing::Batch, Scheme::Ckks);
    assert_eq!(r.agreement, 1.0);
    assert!(r.max_logit_error.unwrap() < 1e-4);
    // conv1+bn1 (no level: the inputs' scale takes over its rescale),
    // square, pooling+conv2+pooling+fc1+bn2 as one map (the power-of-two
    // layers would cost no level alone, but writing their ~3,200 outputs
    // costs more than the composed map's terms), square, fc2 (the output
    // step, back to the base prime's scale).
    assert_eq!(levels_needed(&ckks_plan(&model).unwrap()), 4);
    assert_eq!(r.params["levels"], 4);
    assert_eq!(r.params["input_scale_bits"], 28.0);
    assert_eq!(r.layers[0].hops.rescale, 0);
    let middle = &r.layers[2];
    assert_eq!(middle.name, "avg_pool#3+conv2+avg_pool#5+flatten#6+fc1+bn2");
    assert_eq!(middle.hops.rescale, 100);
}

/// Slot packing on the CryptoNets network: the first layer in tap form (at
/// most 25 taps, 8 per ciphertext of 8192 slots, 3 block folds),
/// pool+conv2+pool+fc1 as one 100 × 845 matrix over period 1024 (128
/// diagonals: 12 baby steps, giant steps up to 10, 3 folds of 1024/128 =
/// 24 rotations), fc2 over period 128 (16 diagonals: 3 + 3 + 3 folds = 9):
/// rotation counts derived by hand, and agreement with the f64 reference.
#[test]
fn cryptonets_ckks_slots_on_mnist_images() {
    let (model, imgs) = cryptonets(2);
    let r = run(&model, &imgs, Packing::Slots, Scheme::Ckks);
    assert_eq!(r.agreement, 1.0);
    assert!(r.max_logit_error.unwrap() < 1e-4);
    let rotations: Vec<u64> = r.layers.iter().map(|l| l.hops.rotate / 2).collect();
    assert_eq!(rotations, [3, 0, 24, 0, 9], "{:?}", r.layers);
    let (_, program) = slot_parameters(&model, 1).unwrap();
    // Pruning leaves at most 25 taps (the 5 × 5 window's non-zero weights).
    let InputLayout::Taps {
        period: 1024,
        copies: 8,
        taps,
    } = program.layout()
    else {
        panic!(
            "the first layer should be in tap form: {:?}",
            program.layout()
        );
    };
    assert!(taps.len() <= 25 && taps.len() > 8, "{} taps", taps.len());
    assert_eq!(program.layout().ciphertexts(), taps.len().div_ceil(8));
    // Keys: the union of the steps — 1…11 and 12, 24, …, 120 (the big
    // matrix), 16, 32, 64 (fc2's folds; its baby and giant steps 1–3, 4, 8,
    // 12 are already there), 128, 256, 512 and 1024, 2048, 4096: 30.
    assert_eq!(r.params["rotation_keys"], 30);
}

/// Eight MNIST images interleaved in one ciphertext set of the CryptoNets
/// network: one image's slots are 1024, so the taps take one ciphertext
/// each (25 or fewer, no block folds) and the matrices' rotations stay
/// 24 and 9 — for eight images at once.
#[test]
fn cryptonets_ckks_slots_eight_images_per_ciphertext() {
    let (model, imgs) = cryptonets(8);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let r = infer(
        &model,
        &refs,
        &[0; 8],
        InferOptions {
            packing: Packing::Slots,
            scheme: Scheme::Ckks,
            precision_bits: 8,
            images_per_ciphertext: 8,
            requests: 1,
        },
        &|_, _, _| {},
    )
    .unwrap();
    assert_eq!(r.agreement, 1.0);
    assert!(r.max_logit_error.unwrap() < 1e-4);
    let rotations: Vec<u64> = r.layers.iter().map(|l| l.hops.rotate).collect();
    assert_eq!(rotations, [0, 0, 24, 0, 9], "{:?}", r.layers);
    assert_eq!(r.params["images_per_ciphertext"], 8);
}

/// BFV in slots on the CryptoNets network: the fixed-point integers.
#[test]
fn cryptonets_bfv_batch_on_mnist_images() {
    let (model, imgs) = cryptonets(2);
    let r = run(&model, &imgs, Packing::Batch, Scheme::Bfv);
    assert_eq!(r.mismatched_logits, Some(0));
}

/// Faster CryptoNets' integer packing on one MNIST image: the fixed-point
/// integers.
#[test]
fn cryptonets_bfv_integer_on_an_mnist_image() {
    let (model, imgs) = cryptonets(1);
    let r = run(&model, &imgs, Packing::Integer, Scheme::Bfv);
    assert_eq!(r.mismatched_logits, Some(0));
}

/// CryptoNets' middle layers (pooling, conv2, pooling, fc1) compose into
/// one 100 × 845 step — for the dense model 84,500 terms on one level
/// instead of 295,000 on two, for the pruned power-of-two model 100 outputs
/// to write instead of about 3,200 — while the layers before and after stay.
/// No encryption: the plans only.
#[test]
fn cryptonets_plans_compose_the_middle_layers() {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let terms = |s: &hefty_nn::exec::Step<f64>| match &s.op {
        hefty_nn::exec::Op::Linear(rows) => rows.iter().map(|r| r.terms.len()).sum::<usize>(),
        _ => 0,
    };
    let dense = Model::load(&models.join("cryptonets-mnist-quad-layer-aug.json")).unwrap();
    let plan = ckks_plan(&dense).unwrap();
    let labels: Vec<&str> = plan.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "conv1+bn1",
            "act1",
            "avg_pool#3+conv2+avg_pool#5+flatten#6+fc1+bn2",
            "act2",
            "fc2"
        ]
    );
    assert_eq!(terms(&plan.steps[2]), 100 * 845);
    assert_eq!(plan.steps[2].kind, "dense");
    assert_eq!(levels_needed(&plan), 4);
    let (pruned, _) = cryptonets(0);
    let plan = ckks_plan(&pruned).unwrap();
    assert_eq!(plan.steps.len(), 5);
    assert_eq!(plan.steps[2].label, labels[2]);
    assert_eq!(levels_needed(&plan), 4);
}

/// Several requests on the same images: each request's server time is
/// reported (the first is `seconds.infer`), the warm figure is the median
/// of the later ones per image, the progress names the request, and every
/// request's results are checked (CKKS within its bound, BFV exact).
#[test]
fn repeated_requests_report_each_server_time_and_the_worst_result() {
    let model = build(&fixed_net());
    let imgs = images(&model, 3, 5);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let labels = vec![0u8; imgs.len()];
    for scheme in [Scheme::Ckks, Scheme::Bfv] {
        let seen = std::sync::Mutex::new(Vec::new());
        let r = infer(
            &model,
            &refs,
            &labels,
            InferOptions {
                packing: Packing::Batch,
                scheme,
                precision_bits: 8,
                images_per_ciphertext: 1,
                requests: 3,
            },
            &|what, _, _| seen.lock().unwrap().push(what.to_string()),
        )
        .unwrap();
        assert_eq!((r.requests, r.server_seconds.len()), (3, 3));
        assert_eq!(r.server_seconds[0], r.seconds.infer);
        let (a, b) = (r.server_seconds[1], r.server_seconds[2]);
        let warm = r.warm_seconds_per_image.unwrap();
        assert!(
            (warm - (a + b) / 2.0 / 3.0).abs() < 1e-12,
            "{warm} from {a}, {b}"
        );
        assert_eq!(r.agreement, 1.0);
        match scheme {
            Scheme::Ckks => assert!(r.max_logit_error.unwrap() < 1e-4),
            Scheme::Bfv => assert_eq!(r.mismatched_logits, Some(0)),
        }
        let seen = seen.into_inner().unwrap();
        assert!(
            seen.iter().any(|w| w.starts_with("request 3/3, batch")),
            "{seen:?}"
        );
        assert!(
            !seen.iter().any(|w| w.starts_with("request 1/")),
            "{seen:?}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["requests"], 3);
        assert_eq!(json["server_seconds"].as_array().unwrap().len(), 3);
    }
    // One request: no warm figure.
    let one = run(&model, &imgs, Packing::Batch, Scheme::Ckks);
    assert_eq!((one.requests, one.server_seconds.len()), (1, 1));
    assert_eq!(one.warm_seconds_per_image, None);
    assert!(serde_json::to_value(&one).unwrap()["warm_seconds_per_image"].is_null());
}
