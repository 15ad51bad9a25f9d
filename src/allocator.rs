//! The CLI's allocator: mimalloc, told to keep the memory it frees, on
//! ordinary 4 KiB pages.
//!
//! HE operations allocate and free buffers of hundreds of kilobytes, which
//! glibc maps and unmaps every time. mimalloc pools them, but by default it
//! still hands idle pages back to the kernel a second after they are freed
//! (`purge_delay`); an inference layer frees a gigabyte of ciphertexts and
//! allocates the next layer's right after, so every page came back zeroed
//! by the kernel: `perf` put a fifth of a CKKS batch run in `clear_page`.
//! With purging off the pages are reused as they are.
//!
//! Memory touched for the first time still has to be zeroed by the kernel.
//! With transparent huge pages (mimalloc asks for them on its arenas) that
//! happens 2 MiB at a time under the fault, and on the virtual machines
//! hefty is measured on it was the larger part of a cold batch: a CKKS
//! batch of 8192 images went from 10.5–11.1 s to 7.5–8.3 s on the server
//! with huge pages off (three alternating runs each, `--threads 2`; the
//! whole 10,000-image run 16.1 s → 14.4 s). HE kernels stream through
//! their buffers, so the smaller pages cost no measurable TLB time.

use libmimalloc_sys::mi_option_set;

/// Pooling allocator for every allocation of the process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the bundled mimalloc v3's `mi_option_t`
/// (milliseconds before freed memory goes back to the OS; -1: never).
const PURGE_DELAY: i32 = 15;

/// `mi_option_allow_thp` in the same enum (1: `madvise` arenas for
/// transparent huge pages; 0: never).
const ALLOW_THP: i32 = 43;

/// Turns purging and transparent huge pages off for the rest of the
/// process. Idempotent; call first thing in `main` (memory mapped before
/// keeps what it had).
pub fn configure() {
    // SAFETY: FFI calls into mimalloc's option table; any option index below
    // `_mi_option_last` is valid and `mi_option_set` is thread-safe.
    unsafe {
        mi_option_set(PURGE_DELAY, -1);
        mi_option_set(ALLOW_THP, 0);
    }
    // mimalloc's arena for the allocations made before `main` may already
    // be advised for huge pages, and a system set to `always` gives them
    // without advice: the process-wide switch covers both. A kernel without
    // it (before Linux 3.15) leaves the default, which is only slower.
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` takes no pointers and
    // only sets a flag on this process's memory map.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a mimalloc option in force.
    fn option(index: i32) -> std::ffi::c_long {
        // SAFETY: as in `configure`: a valid option index, a read.
        unsafe { libmimalloc_sys::mi_option_get(index) }
    }

    #[test]
    fn the_option_indices_name_purging_and_huge_pages() {
        // mimalloc v3's defaults are 1000 ms and 1; different values here
        // mean the indices name other options (the enum changed with a
        // version).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(option(PURGE_DELAY), 1000);
        }
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(option(ALLOW_THP), 1);
        }
        configure();
        assert_eq!(option(PURGE_DELAY), -1);
        assert_eq!(option(ALLOW_THP), 0);
        #[cfg(target_os = "linux")]
        {
            // SAFETY: a read of this process's flag, no pointers.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1, "transparent huge pages are still allowed");
        }
    }
}
