//! Typed errors of hefty-nn.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong in hefty-nn; each message says what was
/// wrong and how to fix it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the homomorphic-encryption layer (hefty-core).
    #[error(transparent)]
    Core(#[from] hefty_core::Error),
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The MNIST files were not found.
    #[error(
        "MNIST data not found in {dir}: {reason}; pass --mnist DIR or set HEFTY_MNIST_DIR to a folder with the four standard files (train-images-idx3-ubyte.gz, …)"
    )]
    MissingData {
        /// Where it was looked for.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A data file that is not what it claims to be.
    #[error("malformed data file {path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A setting (a command-line value, an executor option) out of range.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// A model file (graph or weights) that cannot be used.
    #[error("invalid model: {0}")]
    Model(String),
    /// An activation fit that cannot be computed.
    #[error("cannot fit the activation: {0}")]
    Fit(String),
    /// An arithmetic overflow in the fixed-point executor.
    #[error("fixed-point overflow in layer {layer}: {reason}; use fewer fractional bits")]
    FixedPointOverflow {
        /// The layer's name.
        layer: String,
        /// What overflowed.
        reason: String,
    },
    /// An error of the tensor library during training.
    #[error("training failed: {0}")]
    Train(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
