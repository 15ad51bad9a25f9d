//! Replays the fuzz corpus of the hefty-nn readers (`fuzz/corpus/model`,
//! `fuzz/corpus/mnist_idx`) as a regular test: no input may panic, and what
//! loads must be valid. The same checks run under cargo-fuzz.

#[path = "../../fuzz/checks_nn.rs"]
mod checks_nn;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
        .map(|e| std::fs::read(e.expect("corpus entry").path()).expect("corpus file"))
        .collect();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
}

#[test]
fn every_target_replays_its_corpus_cleanly() {
    for (name, check) in checks_nn::TARGETS {
        for data in corpus(name) {
            check(&data);
        }
    }
}

#[test]
fn the_corpus_holds_inputs_that_load() {
    // The checks assert properties only of inputs that load: make sure some
    // do, so the replay cannot pass vacuously.
    let models = corpus("model")
        .into_iter()
        .filter(|d| {
            checks_nn::model_frame(d)
                .is_some_and(|(g, w)| hefty_nn::model::Model::from_bytes(g, w).is_ok())
        })
        .count();
    assert!(models >= 2, "{models} corpus models load");
    let idx = corpus("mnist_idx")
        .into_iter()
        .filter(|d| {
            checks_nn::idx_frame(d)
                .is_some_and(|(rank, gz)| hefty_nn::mnist::decode_idx(gz, rank).is_ok())
        })
        .count();
    assert!(idx >= 2, "{idx} corpus IDX files load");
}
