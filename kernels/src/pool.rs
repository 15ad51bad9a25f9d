//! Free device memory by capacity, and the host transfers counted so far:
//! what both GPU backends keep so that, after the first operations,
//! evaluation allocates nothing and the conformance suite can check that
//! nothing crosses the bus.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hefty_core::backend::Transfers;

/// Allocations of type `M` by capacity (in words); memory is never given
/// back while the backend lives.
#[derive(Debug)]
pub(crate) struct Pool<M> {
    free: Mutex<HashMap<usize, Vec<M>>>,
    uploads: AtomicU64,
    downloads: AtomicU64,
}

impl<M> Default for Pool<M> {
    fn default() -> Self {
        Self {
            free: Mutex::default(),
            uploads: AtomicU64::new(0),
            downloads: AtomicU64::new(0),
        }
    }
}

impl<M> Pool<M> {
    /// A free allocation of capacity `cap`, if there is one.
    pub fn take(&self, cap: usize) -> Option<M> {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&cap)
            .and_then(Vec::pop)
    }

    /// Takes an allocation of capacity `cap` back.
    pub fn give(&self, cap: usize, mem: M) {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(cap)
            .or_default()
            .push(mem);
    }

    /// The transfers counted so far.
    pub fn transfers(&self) -> Transfers {
        Transfers {
            uploads: self.uploads.load(Ordering::Relaxed),
            downloads: self.downloads.load(Ordering::Relaxed),
        }
    }

    /// Counts one upload.
    pub fn count_upload(&self) {
        self.uploads.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one download.
    pub fn count_download(&self) {
        self.downloads.fetch_add(1, Ordering::Relaxed);
    }
}
