//! What the hefty-nn fuzz targets check, shared with the corpus replay
//! test (`nn-ops/tests/fuzz_corpus.rs`), which includes this file by path.
//!
//! The model loader and the MNIST reader take untrusted bytes: they may
//! refuse them (almost always, with an error), but never panic, and a model
//! that loads is valid (its shapes are consistent, its bounds hold).

use hefty_nn::model::Model;

/// A check of one target.
pub type Check = fn(&[u8]);

/// The targets and their checks.
pub const TARGETS: [(&str, Check); 2] = [("model", model), ("mnist_idx", mnist_idx)];

/// A model from fuzz bytes: a 2-byte little-endian length, that many bytes
/// of JSON graph, then the safetensors weights.
pub fn model(data: &[u8]) {
    let Some((graph, weights)) = model_frame(data) else {
        return;
    };
    if let Ok(m) = Model::from_bytes(graph, weights) {
        // A model that loads is consistent: every layer has its shape and
        // the output is a vector of class scores.
        assert_eq!(m.shapes().len(), m.graph().layers.len());
        assert!(m.outputs() >= 1);
        assert!(m.input_shape().len() <= hefty_nn::model::MAX_ELEMENTS);
    }
}

/// A gzip-compressed IDX file: the first byte picks the rank (1 or 3).
pub fn mnist_idx(data: &[u8]) {
    let Some((rank, gz)) = idx_frame(data) else {
        return;
    };
    if let Ok((dims, bytes)) = hefty_nn::mnist::decode_idx(gz, rank) {
        assert_eq!(dims.len(), rank);
        assert_eq!(dims.iter().product::<usize>(), bytes.len());
        assert!(dims[0] <= hefty_nn::mnist::MAX_IMAGES);
    }
}

/// `(graph, weights)` of a `model` input.
pub fn model_frame(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let len = (u16::from_le_bytes(*len) as usize).min(rest.len());
    Some(rest.split_at(len))
}

/// `(rank, gzip bytes)` of an `mnist_idx` input.
pub fn idx_frame(data: &[u8]) -> Option<(usize, &[u8])> {
    let (&rank, gz) = data.split_first()?;
    Some((if rank % 2 == 0 { 1 } else { 3 }, gz))
}
