//! Identities of constant tables, for device backends' caches.

use std::sync::atomic::{AtomicU64, Ordering};

/// A process-unique, stable identity of one constant table (a base
/// converter, an exact lift, BFV's scale-and-round constants, a Galois
/// permutation) or of one basis.
///
/// Tables are built once — by the parameters, or with the Galois keys — and
/// never change, so a device backend uploads a table the first time it sees
/// its id and reuses that copy for as long as the process runs. Ids are
/// never reused (a 64-bit counter), so a dropped table's id cannot alias a
/// new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(u64);

static NEXT: AtomicU64 = AtomicU64::new(0);

impl TableId {
    /// A fresh id.
    pub(crate) fn fresh() -> Self {
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (for logs and cache keys).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Host↔device transfers a backend has made since it was created; the
/// conformance suite asserts that none happen while a circuit evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfers {
    /// Buffers moved host → backend.
    pub uploads: u64,
    /// Buffers moved backend → host.
    pub downloads: u64,
}
