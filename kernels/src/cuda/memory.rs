//! Device buffers (or their host stand-ins), recycled through a pool keyed
//! by capacity that never gives memory back while the backend lives: after
//! the first operations, evaluation allocates nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hefty_core::backend::Transfers;
use hefty_core::{Buffer, Error};

use super::gpu::GpuMem;
use super::host::HostMem;

/// Memory of the GPU, or of the host under emulation.
pub(crate) enum Mem {
    Gpu(GpuMem),
    Host(HostMem),
}

impl Mem {
    /// The address kernels take.
    pub fn addr(&self) -> u64 {
        match self {
            Mem::Gpu(g) => g.ptr,
            Mem::Host(h) => h.addr(),
        }
    }
}

/// What a [`Buffer`] of the CUDA backend holds: `len` words in memory with
/// room for `cap` (one word is 8 or 4 bytes: the backend's word size).
pub(crate) struct DeviceWords {
    mem: Mem,
    pub len: usize,
    pub cap: usize,
}

impl DeviceWords {
    /// The address of word 0.
    pub fn addr(&self) -> u64 {
        self.mem.addr()
    }
}

const FOREIGN: &str = "a CUDA-backend basis only holds this backend's buffers";

/// The device words of `buf`.
pub(crate) fn words(buf: &Buffer) -> &DeviceWords {
    buf.device_ref::<DeviceWords>().expect(FOREIGN)
}

/// The device words of `buf`, mutably.
pub(crate) fn words_mut(buf: &mut Buffer) -> &mut DeviceWords {
    buf.device_mut::<DeviceWords>().expect(FOREIGN)
}

/// Free memory by capacity (in words), and the transfers made so far.
#[derive(Default)]
pub(crate) struct Pool {
    free: Mutex<HashMap<usize, Vec<Mem>>>,
    uploads: AtomicU64,
    downloads: AtomicU64,
}

impl Pool {
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

    /// A buffer of `len` words from the pool, or from `fresh(cap)`.
    pub fn take(
        &self,
        len: usize,
        fresh: impl FnOnce(usize) -> Result<Mem, Error>,
    ) -> Result<Buffer, Error> {
        let cap = len.max(1);
        let pooled = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&cap)
            .and_then(Vec::pop);
        let mem = match pooled {
            Some(m) => m,
            None => fresh(cap)?,
        };
        Ok(Buffer::device(DeviceWords { mem, len, cap }))
    }

    /// Takes a buffer back.
    pub fn give(&self, buf: Buffer) {
        if let Some(d) = buf.into_device::<DeviceWords>() {
            self.free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(d.cap)
                .or_default()
                .push(d.mem);
        }
    }
}
