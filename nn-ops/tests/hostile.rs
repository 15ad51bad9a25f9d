//! Hostile files and model graphs: every one is refused with a typed error
//! that names the file or layer and the fix — no panic (also with debug
//! assertions), no unbounded memory or work, no link followed unasked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use hefty_nn::model::{Graph, Model};
use hefty_nn::{Error, FileAccess};
use tempfile::TempDir;

/// A fresh folder for one test's hostile files, removed (with what the
/// test wrote there) when it is dropped, pass or fail.
fn scratch(name: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("hefty-hostile-{name}-"))
        .tempdir()
        .unwrap()
}

/// A gzip file of an IDX header and `body` bytes produced by `fill`.
fn idx_gz(path: &Path, magic: [u8; 4], dims: &[u32], body: usize) {
    let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Compression::fast());
    gz.write_all(&magic).unwrap();
    for d in dims {
        gz.write_all(&d.to_be_bytes()).unwrap();
    }
    let zeros = vec![0u8; 1 << 20];
    let mut left = body;
    while left > 0 {
        let n = left.min(zeros.len());
        gz.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    gz.finish().unwrap();
}

fn labels(dir: &Path, prefix: &str, count: u32) {
    idx_gz(
        &dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
        [0, 0, 8, 1],
        &[count],
        count as usize,
    );
}

#[test]
fn a_gzip_bomb_is_not_inflated_beyond_what_its_header_declares() {
    let dir = scratch("bomb");
    // Ten images declared, 64 MiB of zeros inflated (a few kB compressed).
    idx_gz(
        &dir.path().join("t10k-images-idx3-ubyte.gz"),
        [0, 0, 8, 3],
        &[10, 28, 28],
        64 << 20,
    );
    labels(dir.path(), "t10k", 10);
    let err = hefty_nn::mnist::Mnist::load_test(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err}");
    assert!(err.to_string().contains("t10k-images"), "{err}");
    assert!(err.to_string().contains("more than 7840 bytes"), "{err}");
}

#[test]
fn idx_dimensions_that_overflow_or_exceed_the_bound_are_refused() {
    let dir = scratch("dims");
    for dims in [
        [u32::MAX, u32::MAX, u32::MAX],
        [u32::MAX, 28, 28],
        [10, 4096, 4096],
    ] {
        idx_gz(
            &dir.path().join("t10k-images-idx3-ubyte.gz"),
            [0, 0, 8, 3],
            &dims,
            0,
        );
        labels(dir.path(), "t10k", 10);
        let err = hefty_nn::mnist::Mnist::load_test(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("exceed the bound"),
            "{dims:?}: {err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn links_and_special_files_are_refused_unless_the_caller_opts_in() {
    let dir = scratch("links");
    let real = scratch("links-real");
    idx_gz(
        &real.path().join("t10k-images-idx3-ubyte.gz"),
        [0, 0, 8, 3],
        &[2, 28, 28],
        2 * 784,
    );
    labels(real.path(), "t10k", 2);
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::os::unix::fs::symlink(real.path().join(name), dir.path().join(name)).unwrap();
    }
    let err = hefty_nn::mnist::Mnist::load_test(dir.path()).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let follow = FileAccess {
        follow_symlinks: true,
    };
    assert_eq!(
        hefty_nn::mnist::Mnist::load_test_with(dir.path(), follow)
            .unwrap()
            .len(),
        2
    );

    // A model whose weights are a link beside the graph (the format
    // promises weights cannot point outside the model's folder).
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let name = "cryptonets-mnist-square";
    let m = scratch("model-link");
    std::fs::copy(
        models.join(format!("{name}.json")),
        m.path().join(format!("{name}.json")),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        models.join(format!("{name}.safetensors")),
        m.path().join(format!("{name}.safetensors")),
    )
    .unwrap();
    let err = Model::load(&m.path().join(format!("{name}.json"))).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(Model::load_with(&m.path().join(format!("{name}.json")), follow).is_ok());

    // An endless special file behind a link: refused before any byte is read.
    let g = scratch("model-endless");
    std::fs::copy(
        models.join(format!("{name}.json")),
        g.path().join(format!("{name}.json")),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", g.path().join(format!("{name}.safetensors"))).unwrap();
    let err = Model::load_with(&g.path().join(format!("{name}.json")), follow).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = FileAccess::default()
        .read(Path::new("/dev/zero"), 1 << 20)
        .unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn an_oversized_graph_file_is_refused_by_its_size() {
    let dir = scratch("big-graph");
    let path = dir.path().join("model.json");
    std::fs::write(&path, vec![b' '; (1 << 24) + 1]).unwrap();
    let err = Model::load(&path).unwrap_err();
    assert!(
        err.to_string().contains("more than 16777216 bytes"),
        "{err}"
    );
}

fn graph(input: (usize, usize, usize), layers: &str) -> Graph {
    serde_json::from_str(&format!(
        r#"{{"format": "hefty-model", "version": 1, "name": "hostile",
            "input": {{"channels": {}, "height": {}, "width": {}, "scale_bits": 8}},
            "weights": "w.safetensors", "layers": [{layers}]}}"#,
        input.0, input.1, input.2
    ))
    .unwrap()
}

fn refused(g: Graph) -> String {
    match Model::new(g, BTreeMap::new()) {
        Err(Error::Model(msg)) => msg,
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[test]
fn window_sizes_near_the_integer_limit_are_refused_not_wrapped() {
    let max = u64::MAX;
    for (kernel, stride, padding) in [(max, 1, 0), (3, max, 1), (max, 1, max - 1), (5, 1, max / 2)]
    {
        for op in [
            format!(
                r#"{{"op": "avg_pool", "kernel": {kernel}, "stride": {stride}, "padding": {padding}, "scaled": true}}"#
            ),
            format!(
                r#"{{"op": "conv2d", "name": "c", "in_channels": 1, "out_channels": 2, "kernel": {kernel}, "stride": {stride}, "padding": {padding}}}"#
            ),
        ] {
            let msg = refused(graph((1, 28, 28), &format!(r#"{op}, {{"op": "flatten"}}"#)));
            assert!(
                msg.contains("at most 65536") || msg.contains("does not fit"),
                "{msg}"
            );
        }
    }
}

#[test]
fn a_small_graph_cannot_ask_for_unbounded_work_or_memory() {
    // A 2^24-pixel input: beyond the element bound.
    let msg = refused(graph((1, 4096, 4096), r#"{"op": "flatten"}"#));
    assert!(msg.contains("not a valid image shape"), "{msg}");
    // A pool whose window times its outputs is beyond the per-layer work bound.
    let msg = refused(graph(
        (64, 256, 256),
        r#"{"op": "avg_pool", "kernel": 64, "stride": 1, "padding": 0, "scaled": true}, {"op": "flatten"}"#,
    ));
    assert!(msg.contains("multiply-adds"), "{msg}");
}

#[test]
fn layer_messages_say_which_size_is_wrong() {
    let msg = refused(graph(
        (1, 4, 4),
        r#"{"op": "flatten"}, {"op": "dense", "name": "d", "in_features": 16, "out_features": 0}"#,
    ));
    assert!(msg.contains("0 output features"), "{msg}");
    assert!(!msg.contains("takes 16 features, gets 16"), "{msg}");
}

#[test]
fn a_batch_norm_that_would_compute_infinities_is_refused_at_load() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let model = Model::load(&models.join("cryptonets-mnist-square.json")).unwrap();
    let mut tensors = model.tensors().clone();
    tensors.get_mut("bn1.var").unwrap().data.fill(0.0);
    let mut g = model.graph().clone();
    for layer in &mut g.layers {
        if let hefty_nn::model::Layer::BatchNorm { eps, .. } = layer {
            *eps = 1e-300;
        }
    }
    let err = Model::new(g, tensors).unwrap_err();
    assert!(err.to_string().contains("raise eps"), "{err}");
}

#[test]
fn many_layers_cannot_add_up_to_unbounded_work() {
    // Each pool keeps the shape and is within the per-layer bound (2^22
    // outputs of 225 adds); five of them are not within the model's.
    let layer = r#"{"op": "avg_pool", "kernel": 15, "stride": 1, "padding": 7, "scaled": true}"#;
    let layers = [layer; 5].join(", ");
    let msg = refused(graph(
        (64, 256, 256),
        &format!(r#"{layers}, {{"op": "flatten"}}"#),
    ));
    assert!(msg.contains("together"), "{msg}");
    let flat: Vec<String> = (0..5000)
        .map(|_| r#"{"op": "flatten"}"#.to_string())
        .collect();
    let msg = refused(graph((1, 4, 4), &flat.join(", ")));
    assert!(msg.contains("at most 4096"), "{msg}");
}
