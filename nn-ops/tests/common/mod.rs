//! What the MNIST-reading tests share.

use std::path::PathBuf;

/// `$HEFTY_MNIST_DIR` (an empty value counts as unset), else
/// `../shared/data/mnist` beside the checkout.
pub fn data_dir() -> PathBuf {
    std::env::var_os("HEFTY_MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist")
        })
}
