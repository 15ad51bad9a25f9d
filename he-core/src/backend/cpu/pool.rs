//! Recycled limb buffers.
//!
//! HE operations allocate and free buffers of hundreds of kilobytes. Under
//! glibc's malloc every such free unmaps the pages and the next operation
//! faults them in again (measured: about half the time of a BFV
//! multiplication). Polynomials therefore take their buffers from, and give
//! them back to, a small per-thread pool; this keeps hefty fast under any
//! global allocator.

use std::cell::RefCell;

/// Buffers shorter than this are left to the allocator (small ones are cheap).
const MIN_POOLED: usize = 1 << 12;
/// Buffers kept per thread: enough for the temporaries of one key switch.
const MAX_POOLED: usize = 48;

thread_local! {
    static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// [`take_empty`] that reports exhaustion instead of aborting.
pub(crate) fn try_take_empty(cap: usize) -> Result<Vec<u64>, std::collections::TryReserveError> {
    let mut v = take_empty_pooled(cap).unwrap_or_default();
    v.try_reserve_exact(cap)?;
    Ok(v)
}

/// An empty vector with capacity for at least `cap` words, recycled if possible.
pub(crate) fn take_empty(cap: usize) -> Vec<u64> {
    take_empty_pooled(cap).unwrap_or_else(|| Vec::with_capacity(cap))
}

/// A recycled empty vector with capacity for at least `cap` words, if the pool has one.
fn take_empty_pooled(cap: usize) -> Option<Vec<u64>> {
    if cap >= MIN_POOLED {
        let reused = POOL.with(|p| {
            let mut pool = p.borrow_mut();
            // Best fit: a large buffer spent on a small request would leave
            // the next large one to the allocator.
            let pos = (0..pool.len())
                .filter(|&i| pool[i].capacity() >= cap)
                .min_by_key(|&i| pool[i].capacity())?;
            Some(pool.swap_remove(pos))
        });
        if let Some(mut v) = reused {
            v.clear();
            return Some(v);
        }
    }
    None
}

/// A vector of `len` zeros, recycled if possible.
pub(crate) fn take_zeroed(len: usize) -> Vec<u64> {
    let mut v = take_empty(len);
    v.resize(len, 0);
    v
}

/// Gives a buffer back for reuse (or frees it when the pool is full or it is small).
pub(crate) fn give(v: Vec<u64>) {
    if v.capacity() >= MIN_POOLED {
        POOL.with(|p| {
            let mut pool = p.borrow_mut();
            if pool.len() < MAX_POOLED {
                pool.push(v);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_recycled_and_zeroed_on_request() {
        let mut v = take_zeroed(5000);
        v.iter_mut().for_each(|x| *x = 7);
        let ptr = v.as_ptr();
        give(v);
        let w = take_zeroed(4096);
        assert_eq!(w.as_ptr(), ptr, "the same allocation comes back");
        assert!(w.iter().all(|&x| x == 0) && w.len() == 4096);
        give(w);
        let e = take_empty(4000);
        assert!(e.is_empty() && e.capacity() >= 4000);
        // Small buffers bypass the pool.
        let small = take_zeroed(10);
        assert_eq!(small.len(), 10);
        give(small);
    }
}
