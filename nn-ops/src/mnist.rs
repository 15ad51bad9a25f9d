//! The MNIST data set from its standard IDX gzip files.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::files::read_at_most;
use crate::{Error, FileAccess};

/// The most images a split may hold (MNIST's training split has 60,000):
/// with the 28×28 check, what bounds the decompressed size of a file.
pub const MAX_IMAGES: usize = 1 << 20;

/// The largest compressed file read (MNIST's largest is 9.9 MB).
const MAX_GZIP_BYTES: u64 = 1 << 28;

/// The environment variable naming the MNIST folder.
pub const MNIST_ENV: &str = "HEFTY_MNIST_DIR";

/// Where the data is looked for last: beside a checkout, as in this
/// workspace (relative to the working directory).
pub const DEFAULT_DIR: &str = "../shared/data/mnist";

/// Side length of an MNIST image.
pub const SIDE: usize = 28;

/// Pixels of one image.
pub const PIXELS: usize = SIDE * SIDE;

/// One split (train or test): images row-major, one byte per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// `len() · 784` pixels, 0..=255.
    pub images: Vec<u8>,
    /// One label 0..=9 per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// How many images carry each label.
    pub fn label_histogram(&self) -> [usize; 10] {
        let mut h = [0; 10];
        for &l in &self.labels {
            h[l as usize] += 1;
        }
        h
    }

    /// The first `count` images (all of them when `count` is larger).
    pub fn take(&self, count: usize) -> Split {
        let count = count.min(self.len());
        Split {
            images: self.images[..count * PIXELS].to_vec(),
            labels: self.labels[..count].to_vec(),
        }
    }
}

/// MNIST: 60,000 training and 10,000 test images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
}

impl Mnist {
    /// The MNIST folder: `dir` if given, else `$HEFTY_MNIST_DIR`, else
    /// [`DEFAULT_DIR`] when it exists (where the tests and the README expect
    /// the data beside a checkout); an error that says how to point hefty at
    /// the data otherwise.
    pub fn locate(dir: Option<&Path>) -> Result<PathBuf, Error> {
        if let Some(d) = dir {
            return Ok(d.to_path_buf());
        }
        if let Some(d) = std::env::var_os(MNIST_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(d));
        }
        let default = PathBuf::from(DEFAULT_DIR);
        if default.is_dir() {
            return Ok(default);
        }
        Err(Error::MissingData {
            dir: PathBuf::from("(no folder given)"),
            reason: format!(
                "neither --mnist nor {MNIST_ENV} is set, and {DEFAULT_DIR} does not exist"
            ),
        })
    }

    /// Loads both splits from the four standard files in `dir`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Self::load_with(dir, FileAccess::default())
    }

    /// [`Self::load`] with explicit file-access rules.
    pub fn load_with(dir: &Path, access: FileAccess) -> Result<Self, Error> {
        Ok(Self {
            train: load_split(dir, "train", access)?,
            test: load_split(dir, "t10k", access)?,
        })
    }

    /// Loads only the test split (evaluation needs nothing else).
    pub fn load_test(dir: &Path) -> Result<Split, Error> {
        Self::load_test_with(dir, FileAccess::default())
    }

    /// [`Self::load_test`] with explicit file-access rules.
    pub fn load_test_with(dir: &Path, access: FileAccess) -> Result<Split, Error> {
        load_split(dir, "t10k", access)
    }
}

fn load_split(dir: &Path, prefix: &str, access: FileAccess) -> Result<Split, Error> {
    let images = read_idx(
        &dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
        3,
        access,
    )?;
    let labels = read_idx(
        &dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
        1,
        access,
    )?;
    let (image_dims, images) = images;
    let (label_dims, labels) = labels;
    let bad = |path: &str, reason: String| Error::Data {
        path: dir.join(path),
        reason,
    };
    if image_dims[1..] != [SIDE, SIDE] {
        return Err(bad(
            prefix,
            format!("images are {:?}, not 28×28", &image_dims[1..]),
        ));
    }
    if image_dims[0] != label_dims[0] {
        return Err(bad(
            prefix,
            format!("{} images but {} labels", image_dims[0], label_dims[0]),
        ));
    }
    if let Some(l) = labels.iter().find(|&&l| l > 9) {
        return Err(bad(prefix, format!("label {l} is not a digit")));
    }
    Ok(Split { images, labels })
}

/// Reads a gzip-compressed IDX file of unsigned bytes with `rank`
/// dimensions: its dimensions and data. The header is read first and
/// bounds the rest: at most [`MAX_IMAGES`] items of at most 28×28 bytes are
/// decompressed, so a small gzip bomb cannot exhaust memory.
fn read_idx(path: &Path, rank: usize, access: FileAccess) -> Result<(Vec<usize>, Vec<u8>), Error> {
    let file = access.open(path).map_err(|e| match e {
        Error::Io { source, .. } => Error::MissingData {
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            reason: format!("{}: {source}", path.display()),
        },
        other => other,
    })?;
    read_idx_from(file.take(MAX_GZIP_BYTES), rank, path)
}

/// An IDX file of unsigned bytes with `rank` dimensions from its
/// gzip-compressed bytes, with the bounds of the file reader: what the
/// fuzz target calls.
pub fn decode_idx(gz: &[u8], rank: usize) -> Result<(Vec<usize>, Vec<u8>), Error> {
    if !(1..=3).contains(&rank) {
        return Err(Error::Data {
            path: PathBuf::from("<bytes>"),
            reason: format!("rank {rank}: MNIST files have rank 1 (labels) or 3 (images)"),
        });
    }
    read_idx_from(gz, rank, Path::new("<bytes>"))
}

fn read_idx_from(
    compressed: impl Read,
    rank: usize,
    path: &Path,
) -> Result<(Vec<usize>, Vec<u8>), Error> {
    let bad = |reason: String| Error::Data {
        path: path.to_path_buf(),
        reason,
    };
    let mut gz = GzDecoder::new(compressed);
    let mut header = vec![0u8; 4 + 4 * rank];
    gz.read_exact(&mut header).map_err(|e| {
        bad(format!(
            "not a gzip-compressed IDX file (its header cannot be read: {e})"
        ))
    })?;
    // Magic: two zero bytes, type 0x08 (unsigned byte), the rank.
    if header[..4] != [0, 0, 8, rank as u8] {
        return Err(bad(format!(
            "magic {:02x?} is not an IDX{rank} file of unsigned bytes",
            &header[..4]
        )));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            let at = 4 + 4 * i;
            u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
                as usize
        })
        .collect();
    let (items, item) = (
        dims[0],
        dims[1..].iter().try_fold(1usize, |a, &d| a.checked_mul(d)),
    );
    let expected = match item {
        Some(item) if items <= MAX_IMAGES && item <= PIXELS => items * item,
        _ => {
            return Err(bad(format!(
                "dimensions {dims:?} exceed the bound of {MAX_IMAGES} items of at most {SIDE}×{SIDE} bytes"
            )));
        }
    };
    let data = read_at_most(gz, expected as u64, path)?;
    if data.len() != expected {
        return Err(bad(format!(
            "{} data bytes, the dimensions {dims:?} need {expected}",
            data.len()
        )));
    }
    Ok((dims, data))
}
