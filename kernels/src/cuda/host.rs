//! The host emulation: the kernels' own source compiled for the host by
//! `build.rs` (as C, once per word size) and run block by block with one
//! thread per block. It makes every kernel testable against the CPU backend
//! on machines without a GPU: same source, same launch arguments, same
//! table layouts — only the parallel schedule differs.

use std::alloc::Layout;
use std::ffi::{CString, c_char};
use std::ptr::NonNull;

use hefty_core::Error;

use super::NAME;
use super::args::KArgs;

unsafe extern "C" {
    fn hefty_emulate_w64(name: *const c_char, args: *const KArgs<u64>, gx: u32, gy: u32) -> i32;
    fn hefty_emulate_w32(name: *const c_char, args: *const KArgs<u32>, gx: u32, gy: u32) -> i32;
    fn hefty_add_mod_w64(a: u64, b: u64, p: u64) -> u64;
    fn hefty_sub_mod_w64(a: u64, b: u64, p: u64) -> u64;
    fn hefty_neg_mod_w64(a: u64, p: u64) -> u64;
    fn hefty_mul_shoup_w64(a: u64, w: u64, wq: u64, p: u64) -> u64;
    fn hefty_mul_mod_w64(a: u64, b: u64, p: u64, mu: u64, k: u32) -> u64;
    fn hefty_add_mod_w32(a: u32, b: u32, p: u32) -> u32;
    fn hefty_sub_mod_w32(a: u32, b: u32, p: u32) -> u32;
    fn hefty_neg_mod_w32(a: u32, p: u32) -> u32;
    fn hefty_mul_shoup_w32(a: u32, w: u32, wq: u32, p: u32) -> u32;
    fn hefty_mul_mod_w32(a: u32, b: u32, p: u32, mu: u32, k: u32) -> u32;
    fn hefty_fixed_sum_w64(x: *const u64, f: *const u64, count: u32) -> u64;
}

/// Host memory standing in for device memory: a raw allocation (not a Rust
/// reference), which the emulated kernels read and write by address.
pub(crate) struct HostMem {
    ptr: NonNull<u64>,
    layout: Layout,
}

// SAFETY: the allocation is owned; the backend orders every access to it
// (launches run to completion before the next call returns).
unsafe impl Send for HostMem {}
// SAFETY: as above.
unsafe impl Sync for HostMem {}

impl HostMem {
    /// `bytes` of zeroed memory, 8-byte aligned.
    pub fn new(bytes: usize) -> Result<Self, Error> {
        let layout =
            Layout::array::<u64>(bytes.div_ceil(8).max(1)).map_err(|_| Error::OutOfMemory {
                backend: NAME,
                words: bytes / 8,
            })?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) } as *mut u64;
        let ptr = NonNull::new(raw).ok_or(Error::OutOfMemory {
            backend: NAME,
            words: bytes / 8,
        })?;
        Ok(Self { ptr, layout })
    }

    /// The allocation's address, as a kernel argument.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }
}

impl Drop for HostMem {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr() as *mut u8, self.layout) };
    }
}

/// Zeroes `bytes` at host address `addr`.
pub(crate) fn zero(addr: u64, bytes: usize) {
    // SAFETY: the backend passes ranges inside its own live allocations.
    unsafe { std::ptr::write_bytes(addr as *mut u8, 0, bytes) };
}

/// Copies `bytes` from `src` to `dst` (the ranges may overlap).
pub(crate) fn copy(dst: u64, src: u64, bytes: usize) {
    // SAFETY: as above.
    unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, bytes) };
}

/// Writes host bytes at `dst`.
pub(crate) fn upload(dst: u64, bytes: &[u8]) {
    // SAFETY: `dst` holds room for `bytes` (the backend sized it).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst as *mut u8, bytes.len()) };
}

/// Reads `bytes` bytes at `src`.
pub(crate) fn download(src: u64, bytes: usize) -> Vec<u8> {
    // SAFETY: `src` holds `bytes` bytes of one live allocation.
    unsafe { std::slice::from_raw_parts(src as *const u8, bytes) }.to_vec()
}

/// Runs `kernel` over a `(gx, gy)` grid with 64-bit words.
pub(crate) fn launch64(kernel: &str, grid: (u32, u32), args: &KArgs<u64>) -> Result<(), Error> {
    let name = CString::new(kernel).expect("kernel names hold no NUL");
    // SAFETY: `args` is a `KArgs` laid out as the C side declares it, and
    // every address in it is a live allocation of this backend, sized for
    // the launch by the caller.
    let rc = unsafe { hefty_emulate_w64(name.as_ptr(), args, grid.0, grid.1) };
    known(kernel, rc)
}

/// Runs `kernel` over a `(gx, gy)` grid with 32-bit words.
pub(crate) fn launch32(kernel: &str, grid: (u32, u32), args: &KArgs<u32>) -> Result<(), Error> {
    let name = CString::new(kernel).expect("kernel names hold no NUL");
    // SAFETY: as in `launch64`.
    let rc = unsafe { hefty_emulate_w32(name.as_ptr(), args, grid.0, grid.1) };
    known(kernel, rc)
}

fn known(kernel: &str, rc: i32) -> Result<(), Error> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Device {
            backend: NAME,
            message: format!("the host emulation has no kernel `{kernel}`"),
        })
    }
}

/// The kernels' modular arithmetic, called on the host: what tests check
/// against hefty-ntt so a wrong formula is caught without a GPU.
pub mod arith {
    /// `(a + b) mod p` with 64-bit words.
    pub fn add_mod64(a: u64, b: u64, p: u64) -> u64 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_add_mod_w64(a, b, p) }
    }
    /// `(a - b) mod p` with 64-bit words.
    pub fn sub_mod64(a: u64, b: u64, p: u64) -> u64 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_sub_mod_w64(a, b, p) }
    }
    /// `-a mod p` with 64-bit words.
    pub fn neg_mod64(a: u64, p: u64) -> u64 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_neg_mod_w64(a, p) }
    }
    /// `a·w mod p` by Shoup's method with 64-bit words.
    pub fn mul_shoup64(a: u64, w: u64, wq: u64, p: u64) -> u64 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_mul_shoup_w64(a, w, wq, p) }
    }
    /// `a·b mod p` by Barrett reduction with 64-bit words.
    pub fn mul_mod64(a: u64, b: u64, p: u64, mu: u64, k: u32) -> u64 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_mul_mod_w64(a, b, p, mu, k) }
    }
    /// `(a + b) mod p` with 32-bit words.
    pub fn add_mod32(a: u32, b: u32, p: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_add_mod_w32(a, b, p) }
    }
    /// `(a - b) mod p` with 32-bit words.
    pub fn sub_mod32(a: u32, b: u32, p: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_sub_mod_w32(a, b, p) }
    }
    /// `-a mod p` with 32-bit words.
    pub fn neg_mod32(a: u32, p: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_neg_mod_w32(a, p) }
    }
    /// `a·w mod p` by Shoup's method with 32-bit words.
    pub fn mul_shoup32(a: u32, w: u32, wq: u32, p: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_mul_shoup_w32(a, w, wq, p) }
    }
    /// `a·b mod p` by Barrett reduction with 32-bit words.
    pub fn mul_mod32(a: u32, b: u32, p: u32, mu: u32, k: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { super::hefty_mul_mod_w32(a, b, p, mu, k) }
    }
    /// `round(Σ x_i·f_i / 2^128)` (low 64 bits) over `(x_i, f_i)` terms:
    /// the fixed-point sum of the exact lift and scale-and-round.
    pub fn fixed_sum(terms: &[(u64, u128)]) -> u64 {
        let x: Vec<u64> = terms.iter().map(|t| t.0).collect();
        let f: Vec<u64> = terms
            .iter()
            .flat_map(|t| [t.1 as u64, (t.1 >> 64) as u64])
            .collect();
        // SAFETY: `x` holds `terms.len()` words and `f` twice that, read only.
        unsafe { super::hefty_fixed_sum_w64(x.as_ptr(), f.as_ptr(), x.len() as u32) }
    }
}
