//! A CUDA device through cudarc: context, stream, compiled kernels, memory.
//!
//! The driver and NVRTC are loaded at run time, so this builds and runs
//! everywhere; where either is missing, or the driver finds no device,
//! [`Gpu::open`] returns [`Error::NoDevice`] — cudarc panics in that case,
//! which is caught here once and never reaches the caller.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys::CUdeviceptr;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, DriverError, result};
use cudarc::nvrtc::Ptx;
use hefty_core::Error;
use hefty_core::ring::Word;

use super::NAME;
use super::args::KArgs;
use super::source::{self, KERNELS};

/// Threads per block of every launch.
pub(crate) const BLOCK: u32 = 256;

fn device_error(message: impl Into<String>) -> Error {
    Error::Device {
        backend: NAME,
        message: message.into(),
    }
}

fn no_device(reason: impl Into<String>) -> Error {
    Error::NoDevice {
        backend: NAME,
        reason: reason.into(),
    }
}

fn driver(what: &str, e: DriverError) -> Error {
    device_error(format!("{what} failed: {e:?}"))
}

/// One device: its primary context, the backend's stream, and the kernels
/// compiled for its compute capability and the backend's word.
pub(crate) struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    functions: HashMap<&'static str, CudaFunction>,
    /// `"<name> (sm_XY)"`.
    pub name: String,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("name", &self.name).finish()
    }
}

/// Cubins by (architecture, word bits).
type CubinCache = Mutex<HashMap<(String, u32), Vec<u8>>>;

/// The device code compiled so far: each (architecture, word) once per process.
fn cubin_cache() -> &'static CubinCache {
    static CACHE: OnceLock<CubinCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Whether the CUDA driver library can be loaded here.
pub fn driver_present() -> bool {
    // SAFETY: only tries to open the shared library by its candidate names.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl Gpu {
    /// Device `ordinal`, with kernels for `word`.
    pub fn open(ordinal: usize, word: Word) -> Result<Self, Error> {
        if !driver_present() {
            return Err(no_device(
                "the CUDA driver (libcuda.so) is not installed on this machine; use the CPU or wgpu backend",
            ));
        }
        // cudarc panics when the driver cannot initialise (no device, a
        // driver/library mismatch): caught here, reported as an error.
        let ctx = std::panic::catch_unwind(|| CudaContext::new(ordinal))
            .map_err(|_| {
                no_device(
                    "the CUDA driver did not initialise (no GPU, or a driver older than CUDA 13)",
                )
            })?
            .map_err(|e| no_device(format!("device {ordinal} did not open ({e:?})")))?;
        // One stream, one order: the backend never needs cudarc's per-buffer
        // event tracking.
        // SAFETY: every buffer this backend makes is used on its one stream.
        unsafe { ctx.disable_event_tracking() };
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| driver("reading the compute capability", e))?;
        let arch = format!("sm_{major}{minor}");
        let name = ctx
            .name()
            .map_err(|e| driver("reading the device name", e))?;
        let stream = ctx
            .new_stream()
            .map_err(|e| driver("creating a stream", e))?;
        let bits = source::bits(word);
        let cubin = {
            let mut cache = cubin_cache().lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(&(arch.clone(), bits)) {
                Some(c) => c.clone(),
                None => {
                    let c = source::compile(&arch, word)?.cubin;
                    cache.insert((arch.clone(), bits), c.clone());
                    c
                }
            }
        };
        let module = ctx
            .load_module(Ptx::from_binary(cubin))
            .map_err(|e| driver("loading the kernels", e))?;
        let mut functions = HashMap::new();
        for &k in KERNELS {
            let f = module
                .load_function(k)
                .map_err(|e| driver(&format!("loading kernel `{k}`"), e))?;
            functions.insert(k, f);
        }
        Ok(Self {
            ctx,
            stream,
            functions,
            name: format!("{name} ({arch})"),
        })
    }

    fn bind(&self) -> Result<(), Error> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| driver("binding the CUDA context", e))
    }

    /// `bytes` of device memory (uninitialised).
    pub fn alloc(&self, bytes: usize) -> Result<GpuMem, Error> {
        self.bind()?;
        // SAFETY: a plain allocation in the bound context; freed by GpuMem.
        let ptr = unsafe { result::malloc_sync(bytes.max(1)) }.map_err(|_| Error::OutOfMemory {
            backend: NAME,
            words: bytes / 8,
        })?;
        Ok(GpuMem {
            ptr,
            ctx: Arc::clone(&self.ctx),
        })
    }

    /// Zeroes `bytes` at `addr`, in stream order.
    pub fn zero(&self, addr: u64, bytes: usize) -> Result<(), Error> {
        self.bind()?;
        // SAFETY: `addr..addr + bytes` lies inside one of this backend's allocations.
        unsafe { result::memset_d8_async(addr, 0, bytes, self.stream.cu_stream()) }
            .map_err(|e| driver("clearing device memory", e))
    }

    /// Copies `bytes` from `src` to `dst` on the device, in stream order.
    pub fn copy(&self, dst: u64, src: u64, bytes: usize) -> Result<(), Error> {
        if bytes == 0 {
            return Ok(());
        }
        self.bind()?;
        // SAFETY: both ranges lie inside this backend's allocations.
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream()) }
            .map_err(|e| driver("a device copy", e))
    }

    /// Host bytes → device memory at `dst`; returns once the copy is done.
    pub fn upload(&self, dst: u64, bytes: &[u8]) -> Result<(), Error> {
        self.bind()?;
        // SAFETY: `dst` holds room for `bytes`; the host slice outlives the
        // copy because the stream is synchronized before returning.
        unsafe { result::memcpy_htod_async(dst, bytes, self.stream.cu_stream()) }
            .map_err(|e| driver("an upload", e))?;
        self.synchronize()
    }

    /// Device memory at `src` → `bytes` host bytes (waits for the stream).
    pub fn download(&self, src: u64, bytes: usize) -> Result<Vec<u8>, Error> {
        self.bind()?;
        let mut host = vec![0u8; bytes];
        // SAFETY: `src` holds `bytes` bytes; the stream is synchronized
        // before the host vector is read or dropped.
        unsafe { result::memcpy_dtoh_async(&mut host, src, self.stream.cu_stream()) }
            .map_err(|e| driver("a download", e))?;
        self.synchronize()?;
        Ok(host)
    }

    /// Launches `kernel` over a `(gx, gy)` grid of [`BLOCK`]-thread blocks.
    pub fn launch<W: Copy>(
        &self,
        kernel: &str,
        grid: (u32, u32),
        args: &KArgs<W>,
    ) -> Result<(), Error>
    where
        KArgs<W>: cudarc::driver::DeviceRepr,
    {
        let f = self
            .functions
            .get(kernel)
            .ok_or_else(|| device_error(format!("no kernel `{kernel}`")))?;
        self.bind()?;
        let mut params = [args as *const KArgs<W> as *mut c_void];
        // SAFETY: the kernel takes exactly one by-value `KArgs` of this
        // word size (source.rs compiles it with the same WORD_BITS), and
        // every address in it is one of this backend's live allocations.
        unsafe {
            result::launch_kernel(
                f.cu_function(),
                (grid.0.max(1), grid.1.max(1), 1),
                (BLOCK, 1, 1),
                0,
                self.stream.cu_stream(),
                &mut params,
            )
        }
        .map_err(|e| driver(&format!("launching `{kernel}`"), e))
    }

    /// Waits for the stream; reports a kernel fault.
    pub fn synchronize(&self) -> Result<(), Error> {
        self.stream
            .synchronize()
            .map_err(|e| driver("the device (a kernel fault, or the device was lost)", e))
    }
}

/// A device allocation, freed when dropped.
pub(crate) struct GpuMem {
    pub ptr: CUdeviceptr,
    ctx: Arc<CudaContext>,
}

impl Drop for GpuMem {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: `ptr` came from malloc_sync in this context and is
            // freed once; cuMemFree waits for work that uses it.
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}
