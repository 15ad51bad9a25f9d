//! Reading files a caller (or an attacker) names: regular files only — no
//! symbolic links, FIFOs or devices unless the caller opts in — and never
//! more bytes than the format allows.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::Error;

/// How files may be opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileAccess {
    /// Follow a symbolic link at the file's own path (folders on the way
    /// may always be links). Off by default: a link beside a model could
    /// point anywhere, which the model format promises not to do.
    pub follow_symlinks: bool,
}

impl FileAccess {
    /// Opens `path` for reading under these rules.
    pub fn open(&self, path: &Path) -> Result<File, Error> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.file_type().is_symlink() && !self.follow_symlinks {
            return Err(Error::Data {
                path: path.to_path_buf(),
                reason: "is a symbolic link; hefty reads regular files only (copy the file, or opt in with FileAccess { follow_symlinks: true } / --follow-symlinks)".into(),
            });
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Err(Error::Data {
                path: path.to_path_buf(),
                reason: "is not a regular file (a folder, FIFO or device)".into(),
            });
        }
        Ok(file)
    }

    /// All of `path`, refusing it when it holds more than `max` bytes (read
    /// at most `max + 1`, so an endless file cannot exhaust memory).
    pub fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, Error> {
        let file = self.open(path)?;
        read_at_most(file, max, path)
    }
}

/// Reads `source` to its end, failing once it yields more than `max` bytes.
pub(crate) fn read_at_most(source: impl Read, max: u64, path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    source
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Data {
            path: path.to_path_buf(),
            reason: format!("cannot be read: {e}"),
        })?;
    if bytes.len() as u64 > max {
        return Err(Error::Data {
            path: path.to_path_buf(),
            reason: format!("holds more than {max} bytes, more than its format allows"),
        });
    }
    Ok(bytes)
}
