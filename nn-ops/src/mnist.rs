//! The MNIST data set from its standard IDX gzip files.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::Error;

/// The environment variable naming the MNIST folder.
pub const MNIST_ENV: &str = "HEFTY_MNIST_DIR";

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
    /// The MNIST folder: `dir` if given, else `$HEFTY_MNIST_DIR`; an error
    /// that says how to point hefty at the data when neither is set.
    pub fn locate(dir: Option<&Path>) -> Result<PathBuf, Error> {
        match dir {
            Some(d) => Ok(d.to_path_buf()),
            None => std::env::var_os(MNIST_ENV)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| Error::MissingData {
                    dir: PathBuf::from("(no folder given)"),
                    reason: format!("neither --mnist nor {MNIST_ENV} is set"),
                }),
        }
    }

    /// Loads both splits from the four standard files in `dir`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Ok(Self {
            train: load_split(dir, "train")?,
            test: load_split(dir, "t10k")?,
        })
    }

    /// Loads only the test split (evaluation needs nothing else).
    pub fn load_test(dir: &Path) -> Result<Split, Error> {
        load_split(dir, "t10k")
    }
}

fn load_split(dir: &Path, prefix: &str) -> Result<Split, Error> {
    let images = read_idx(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")), 3)?;
    let labels = read_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), 1)?;
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
/// dimensions: its dimensions and data.
fn read_idx(path: &Path, rank: usize) -> Result<(Vec<usize>, Vec<u8>), Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::MissingData {
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        reason: format!("{}: {e}", path.display()),
    })?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Data {
            path: path.to_path_buf(),
            reason: format!("not a gzip file: {e}"),
        })?;
    let bad = |reason: String| Error::Data {
        path: path.to_path_buf(),
        reason,
    };
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(bad("shorter than its header".into()));
    }
    // Magic: two zero bytes, type 0x08 (unsigned byte), the rank.
    if bytes[..4] != [0, 0, 8, rank as u8] {
        return Err(bad(format!(
            "magic {:02x?} is not an IDX{rank} file of unsigned bytes",
            &bytes[..4]
        )));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            let at = 4 + 4 * i;
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        })
        .collect();
    let expected = dims.iter().product::<usize>();
    if bytes.len() - header != expected {
        return Err(bad(format!(
            "{} data bytes, the dimensions {dims:?} need {expected}",
            bytes.len() - header
        )));
    }
    bytes.drain(..header);
    Ok((dims, bytes))
}
