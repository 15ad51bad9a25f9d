//! The `hefty train`, `hefty eval`, `hefty infer` and `hefty infer-plot`
//! subcommands.

pub mod eval;
pub mod infer;
pub mod packings_plot;
pub mod train;

use std::path::PathBuf;

/// Where the MNIST files are: `--mnist`, else `$HEFTY_MNIST_DIR`.
pub fn mnist_dir(flag: &Option<PathBuf>) -> Result<PathBuf, String> {
    hefty::nn::mnist::Mnist::locate(flag.as_deref()).map_err(|e| e.to_string())
}
