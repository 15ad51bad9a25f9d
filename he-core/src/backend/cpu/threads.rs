//! Coarse-grained parallelism for the independent parts of one operation
//! (polynomials of a ciphertext, digits of a key switch), which stays on the
//! calling thread when rayon's pool has a single thread: dispatching there
//! would only add context switches (measured in the RNS NTT).

use rayon::prelude::*;

fn parallel(items: usize) -> bool {
    items > 1 && rayon::current_num_threads() > 1
}

/// `items.iter().map(f).collect()`, in parallel when it can help.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if parallel(items.len()) {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// `items.into_iter().map(f).collect()`, in parallel when it can help.
pub(crate) fn map_owned<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    if parallel(items.len()) {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// `(a(), b())`, in parallel when it can help.
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if parallel(2) {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}
