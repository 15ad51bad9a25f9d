//! The CLI's allocator: mimalloc, told to keep the memory it frees.
//!
//! HE operations allocate and free buffers of hundreds of kilobytes, which
//! glibc maps and unmaps every time. mimalloc pools them, but by default it
//! still hands idle pages back to the kernel a second after they are freed
//! (`purge_delay`); an inference layer frees a gigabyte of ciphertexts and
//! allocates the next layer's right after, so every page came back zeroed
//! by the kernel: `perf` put a fifth of a CKKS batch run in `clear_page`.
//! With purging off the pages are reused as they are.

use libmimalloc_sys::mi_option_set;

/// Pooling allocator for every allocation of the process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the bundled mimalloc v3's `mi_option_t`
/// (milliseconds before freed memory goes back to the OS; -1: never).
const PURGE_DELAY: i32 = 15;

/// Turns purging off for the rest of the process. Idempotent; call first
/// thing in `main` (memory freed before still follows the default).
pub fn keep_freed_pages() {
    // SAFETY: FFI call into mimalloc's option table; any option index below
    // `_mi_option_last` is valid and `mi_option_set` is thread-safe.
    unsafe { mi_option_set(PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The purge delay in force, in milliseconds (-1: never).
    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: as in `keep_freed_pages`: a valid option index, a read.
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
    }

    #[test]
    fn the_option_index_is_the_purge_delay() {
        // mimalloc v3's default is 1000 ms; a different value here means
        // the index names another option (the enum changed with a version).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), 1000);
        }
        keep_freed_pages();
        assert_eq!(purge_delay(), -1);
    }
}
