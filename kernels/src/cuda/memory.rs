//! Device buffers (or their host stand-ins), recycled through a pool keyed
//! by capacity that never gives memory back while the backend lives: after
//! the first operations, evaluation allocates nothing.

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

/// The CUDA backend's pool.
pub(crate) type Pool = crate::pool::Pool<Mem>;

/// A buffer of `len` words from `pool`, or from `fresh(cap)`.
pub(crate) fn take(
    pool: &Pool,
    len: usize,
    fresh: impl FnOnce(usize) -> Result<Mem, Error>,
) -> Result<Buffer, Error> {
    let cap = len.max(1);
    let mem = match pool.take(cap) {
        Some(m) => m,
        None => fresh(cap)?,
    };
    Ok(Buffer::device(DeviceWords { mem, len, cap }))
}

/// Takes a buffer back into `pool`.
pub(crate) fn give(pool: &Pool, buf: Buffer) {
    if let Some(d) = buf.into_device::<DeviceWords>() {
        pool.give(d.cap, d.mem);
    }
}
