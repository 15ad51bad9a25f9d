//! Model files: save → load round trips bit-exactly, malformed files are
//! refused with clear errors, the f64 executor matches a direct
//! computation, and the fixed-point path matches f64 within its rounding.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hefty_nn::Error;
use hefty_nn::model::{
    ActivationSpec, FORMAT, FixedPoint, GRAPH_VERSION, Granularity, Graph, InputSpec, Layer, Model,
    Quantization, Tensor,
};

/// A deterministic pseudo-random f32 in [-1, 1).
fn noise(seed: &mut u64) -> f32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

fn t(shape: &[usize], seed: &mut u64, scale: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(
        shape.to_vec(),
        (0..n).map(|_| noise(seed) * scale).collect(),
    )
    .unwrap()
}

/// conv 2 maps 3×3 pad 1 → batch norm → per-channel quadratic → scaled
/// 2×2 pool → flatten → dense 18 → 3.
fn tiny(seed: u64) -> Model {
    let mut s = seed | 1;
    let mut tensors = BTreeMap::new();
    tensors.insert("c.weight".into(), t(&[2, 1, 3, 3], &mut s, 0.5));
    tensors.insert("c.bias".into(), t(&[2], &mut s, 0.1));
    tensors.insert(
        "bn.gamma".into(),
        Tensor::new(vec![2], vec![1.2, 0.8]).unwrap(),
    );
    tensors.insert(
        "bn.beta".into(),
        Tensor::new(vec![2], vec![0.1, -0.2]).unwrap(),
    );
    tensors.insert(
        "bn.mean".into(),
        Tensor::new(vec![2], vec![0.3, -0.1]).unwrap(),
    );
    tensors.insert(
        "bn.var".into(),
        Tensor::new(vec![2], vec![0.5, 2.0]).unwrap(),
    );
    tensors.insert(
        "a.coeffs".into(),
        Tensor::new(vec![2, 3], vec![0.25, 0.5, 0.125, 0.1, 0.6, 0.2]).unwrap(),
    );
    tensors.insert("d.weight".into(), t(&[3, 18], &mut s, 0.3));
    tensors.insert("d.bias".into(), t(&[3], &mut s, 0.1));
    let graph = Graph {
        format: FORMAT.into(),
        version: GRAPH_VERSION,
        name: "tiny".into(),
        input: InputSpec {
            channels: 1,
            height: 6,
            width: 6,
            scale_bits: 8,
        },
        weights: "tiny.safetensors".into(),
        layers: vec![
            Layer::Conv2d {
                name: "c".into(),
                in_channels: 1,
                out_channels: 2,
                kernel: 3,
                stride: 1,
                padding: 1,
                quantization: None,
            },
            Layer::BatchNorm {
                name: "bn".into(),
                channels: 2,
                eps: 1e-5,
            },
            Layer::Activation {
                name: "a".into(),
                function: ActivationSpec::Poly {
                    degree: 2,
                    granularity: Granularity::Channel,
                },
            },
            Layer::AvgPool {
                kernel: 2,
                stride: 2,
                padding: 0,
                scaled: true,
            },
            Layer::Flatten,
            Layer::Dense {
                name: "d".into(),
                in_features: 18,
                out_features: 3,
                quantization: None,
            },
        ],
        training: Default::default(),
    };
    Model::new(graph, tensors).unwrap()
}

fn image(seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..36)
        .map(|_| ((noise(&mut s) + 1.0) * 127.9) as u8)
        .collect()
}

/// The same network written out by hand, no shared kernels.
fn direct(m: &Model, px: &[u8]) -> Vec<f64> {
    let g = |n: &str| {
        m.tensor(n)
            .unwrap()
            .data
            .iter()
            .map(|&x| x as f64)
            .collect::<Vec<f64>>()
    };
    let (w, b) = (g("c.weight"), g("c.bias"));
    let x: Vec<f64> = px.iter().map(|&p| p as f64 / 256.0).collect();
    let at = |y: i64, xx: i64| {
        if (0..6).contains(&y) && (0..6).contains(&xx) {
            x[(y * 6 + xx) as usize]
        } else {
            0.0
        }
    };
    let (gm, bt, mu, var, co) = (
        g("bn.gamma"),
        g("bn.beta"),
        g("bn.mean"),
        g("bn.var"),
        g("a.coeffs"),
    );
    let mut act = vec![0.0; 2 * 36];
    for o in 0..2 {
        for y in 0..6i64 {
            for xx in 0..6i64 {
                let mut v = b[o];
                for ky in 0..3 {
                    for kx in 0..3 {
                        v += w[o * 9 + ky * 3 + kx] * at(y + ky as i64 - 1, xx + kx as i64 - 1);
                    }
                }
                let v = gm[o] * (v - mu[o]) / (var[o] + 1e-5).sqrt() + bt[o];
                act[o * 36 + (y * 6 + xx) as usize] =
                    co[o * 3] + co[o * 3 + 1] * v + co[o * 3 + 2] * v * v;
            }
        }
    }
    let mut pooled = [0.0; 18];
    for o in 0..2 {
        for y in 0..3 {
            for xx in 0..3 {
                pooled[o * 9 + y * 3 + xx] = (0..2)
                    .flat_map(|dy| (0..2).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| act[o * 36 + (2 * y + dy) * 6 + 2 * xx + dx])
                    .sum();
            }
        }
    }
    let (dw, db) = (g("d.weight"), g("d.bias"));
    (0..3)
        .map(|k| db[k] + (0..18).map(|i| dw[k * 18 + i] * pooled[i]).sum::<f64>())
        .collect()
}

#[test]
fn f64_executor_matches_a_direct_computation() {
    for seed in 1..6 {
        let m = tiny(seed);
        let px = image(seed * 31);
        let (got, want) = (m.forward_f64(&px).unwrap(), direct(&m, &px));
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-9, "{got:?} vs {want:?}");
        }
    }
}

#[test]
fn fixed_point_matches_f64_within_its_rounding() {
    let m = tiny(7);
    let mut last_err = f64::MAX;
    for precision_bits in [8, 12, 16, 20] {
        let fixed = FixedPoint { precision_bits }.prepare(&m).unwrap();
        let mut worst = 0.0f64;
        for seed in 0..20 {
            let px = image(seed * 7 + 3);
            let f = m.forward_f64(&px).unwrap();
            let q = fixed.forward(&px).unwrap();
            for (a, b) in q.values().iter().zip(&f) {
                worst = worst.max((a - b).abs());
            }
        }
        // Every coefficient is off by at most 2^-(f+1): the error shrinks
        // about 16× per 4 more bits.
        assert!(
            worst < 40.0 * (-(precision_bits as f64)).exp2(),
            "{precision_bits} bits: error {worst}"
        );
        assert!(worst < last_err);
        last_err = worst;
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hefty-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("tiny.json")
}

#[test]
fn save_then_load_is_bit_exact() {
    let m = tiny(3);
    let path = scratch("roundtrip");
    m.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back, m);
    for (name, t) in m.tensors() {
        let b = back.tensor(name).unwrap();
        assert!(
            t.data
                .iter()
                .zip(&b.data)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

fn expect_model_error(result: Result<Model, Error>, words: &str) {
    match result {
        Err(Error::Model(msg)) => assert!(msg.contains(words), "{msg}"),
        other => panic!("expected a model error mentioning {words:?}, got {other:?}"),
    }
}

#[test]
fn malformed_models_are_refused_with_clear_errors() {
    let m = tiny(5);
    let (g, ts) = (m.graph().clone(), m.tensors().clone());
    let mut missing = ts.clone();
    missing.remove("d.bias");
    expect_model_error(Model::new(g.clone(), missing), "d.bias is missing");
    let mut wrong = ts.clone();
    wrong.insert(
        "d.weight".into(),
        Tensor::new(vec![3, 17], vec![0.0; 51]).unwrap(),
    );
    expect_model_error(Model::new(g.clone(), wrong), "expected [3, 18]");
    let mut extra = ts.clone();
    extra.insert("z.weight".into(), Tensor::new(vec![1], vec![0.0]).unwrap());
    expect_model_error(Model::new(g.clone(), extra), "not used by any layer");
    let mut nan = ts.clone();
    nan.insert(
        "c.bias".into(),
        Tensor::new(vec![2], vec![f32::NAN, 0.0]).unwrap(),
    );
    expect_model_error(Model::new(g.clone(), nan), "holds NaN");
    let mut bad_dense = g.clone();
    bad_dense.layers[5] = Layer::Dense {
        name: "d".into(),
        in_features: 20,
        out_features: 3,
        quantization: None,
    };
    expect_model_error(
        Model::new(bad_dense, ts.clone()),
        "dense takes 20 features, gets 18",
    );
    let mut no_flatten = g.clone();
    no_flatten.layers.truncate(4);
    let mut ts4 = ts.clone();
    ts4.remove("d.weight");
    ts4.remove("d.bias");
    expect_model_error(Model::new(no_flatten, ts4), "output must be a vector");
    let mut pow2 = g.clone();
    pow2.layers[5] = Layer::Dense {
        name: "d".into(),
        in_features: 18,
        out_features: 3,
        quantization: Some(Quantization::PowerOfTwo {
            min_exp: -8,
            max_exp: 0,
        }),
    };
    expect_model_error(Model::new(pow2, ts.clone()), "is not 0 or ±2^k");
    let mut dup = g.clone();
    dup.layers[2] = Layer::Activation {
        name: "c".into(),
        function: ActivationSpec::Relu,
    };
    expect_model_error(Model::new(dup, ts.clone()), "used twice");

    // Files: unknown fields, versions, weights outside the folder, garbage weights.
    let path = scratch("malformed");
    m.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"name\": \"tiny\"", "\"name\": \"tiny\", \"colour\": 1", 1),
    )
    .unwrap();
    expect_model_error(Model::load(&path), "unknown field");
    std::fs::write(&path, text.replacen("\"version\": 1", "\"version\": 9", 1)).unwrap();
    expect_model_error(Model::load(&path), "version 9");
    std::fs::write(
        &path,
        text.replacen("\"tiny.safetensors\"", "\"../etc/x.safetensors\"", 1),
    )
    .unwrap();
    expect_model_error(Model::load(&path), "plain file name");
    std::fs::write(&path, &text).unwrap();
    std::fs::write(path.with_file_name("tiny.safetensors"), b"garbage").unwrap();
    expect_model_error(Model::load(&path), "not a valid safetensors file");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn relu_and_fractional_means_have_no_integer_path() {
    let m = tiny(9);
    let mut g = m.graph().clone();
    g.layers[2] = Layer::Activation {
        name: "a".into(),
        function: ActivationSpec::Relu,
    };
    let mut ts = m.tensors().clone();
    ts.remove("a.coeffs");
    let relu = Model::new(g, ts).unwrap();
    let err = FixedPoint::default().prepare(&relu).unwrap_err();
    assert!(err.to_string().contains("polynomial activation"), "{err}");
}

#[test]
fn fixed_point_handles_strides_padding_and_layer_polynomials() {
    let base = tiny(11);
    let mut g = base.graph().clone();
    let mut ts = base.tensors().clone();
    g.input = InputSpec {
        channels: 1,
        height: 7,
        width: 7,
        scale_bits: 8,
    };
    // 7×7, 3×3 stride 2 pad 1 → 4×4; pool 3×3 stride 1 pad 1 → 4×4; 32 features.
    g.layers[0] = Layer::Conv2d {
        name: "c".into(),
        in_channels: 1,
        out_channels: 2,
        kernel: 3,
        stride: 2,
        padding: 1,
        quantization: None,
    };
    g.layers[2] = Layer::Activation {
        name: "a".into(),
        function: ActivationSpec::Poly {
            degree: 2,
            granularity: Granularity::Layer,
        },
    };
    g.layers[3] = Layer::AvgPool {
        kernel: 3,
        stride: 1,
        padding: 1,
        scaled: true,
    };
    g.layers[5] = Layer::Dense {
        name: "d".into(),
        in_features: 32,
        out_features: 3,
        quantization: None,
    };
    ts.insert(
        "a.coeffs".into(),
        Tensor::new(vec![1, 3], vec![0.0, 0.0, 1.0]).unwrap(),
    );
    let mut s = 99u64;
    ts.insert("d.weight".into(), t(&[3, 32], &mut s, 0.3));
    let m = Model::new(g, ts).unwrap();
    let fixed = FixedPoint { precision_bits: 24 }.prepare(&m).unwrap();
    for seed in 0..10 {
        let mut px = image(seed * 5 + 1);
        px.extend(image(seed * 5 + 2));
        px.truncate(49);
        let f = m.forward_f64(&px).unwrap();
        let q = fixed.forward(&px).unwrap().values();
        for (a, b) in q.iter().zip(&f) {
            assert!((a - b).abs() < 1e-3, "{q:?} vs {f:?}");
        }
    }
}

/// The f64 reference over many images (blocks of images walked at once)
/// is bit for bit the one-image reference, on every committed model —
/// squares, other polynomials, ReLU, pruned and power-of-two layers — with
/// a last block shorter than the others; an image of the wrong size is a
/// typed error.
#[test]
fn the_reference_over_many_images_is_the_one_image_reference_bit_for_bit() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut models: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    models.sort();
    assert!(models.len() >= 20, "{} committed models", models.len());
    let mut s = 77u64;
    let images: Vec<Vec<u8>> = (0..130)
        .map(|_| {
            (0..784)
                .map(|_| (noise(&mut s).abs() * 255.0) as u8)
                .collect()
        })
        .collect();
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    for path in &models {
        let model = Model::load(path).unwrap();
        let all = model.forward_f64_all(&refs).unwrap();
        assert_eq!(all.len(), refs.len());
        // One image at a time through Float (forward_f64's walk, its plan
        // built once).
        let plan = hefty_nn::exec::float_plan(&model);
        let scale = (model.graph().input.scale_bits as f64).exp2();
        for (im, got) in refs.iter().zip(&all) {
            let x = im.iter().map(|&p| p as f64 / scale).collect();
            let want = hefty_nn::exec::walk(&plan, &hefty_nn::exec::Float, x, &mut |_| {}).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(got), bits(&want), "{}", path.display());
        }
    }
    // An image of the wrong size, after good ones.
    let (tiny, img) = (tiny(4), [255u8; 36]);
    let err = tiny.forward_f64_all(&[&img, &[0u8; 35]]).unwrap_err();
    assert!(err.to_string().contains("takes 36 pixels, got 35"), "{err}");
}
