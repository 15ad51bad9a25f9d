//! Independent parts of one operation, run however the backend runs them
//! ([`Backend::run_independent`]: the CPU's threads, a device's stream).

use super::Backend;

/// `items.iter().map(f).collect()`, the calls run as independent jobs.
pub(crate) fn map<T: Sync, R: Send>(
    backend: &dyn Backend,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_owned(backend, items.iter().collect(), f)
}

/// `items.into_iter().map(f).collect()`, the calls run as independent jobs.
pub(crate) fn map_owned<T: Send, R: Send>(
    backend: &dyn Backend,
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    let mut inputs: Vec<Option<T>> = items.into_iter().map(Some).collect();
    let mut slots: Vec<Option<R>> = inputs.iter().map(|_| None).collect();
    let jobs: Vec<Box<dyn FnMut() + Send + '_>> = slots
        .iter_mut()
        .zip(inputs.iter_mut())
        .map(|(slot, input)| {
            Box::new(move || *slot = input.take().map(f)) as Box<dyn FnMut() + Send>
        })
        .collect();
    run(backend, jobs);
    slots
        .into_iter()
        .map(|r| r.expect("run_independent runs every job"))
        .collect()
}

/// Runs boxed jobs through the backend.
fn run(backend: &dyn Backend, mut jobs: Vec<Box<dyn FnMut() + Send + '_>>) {
    let mut refs: Vec<&mut (dyn FnMut() + Send)> = jobs.iter_mut().map(|j| &mut **j as _).collect();
    backend.run_independent(&mut refs);
}

/// `(a(), b())`, run as two independent jobs.
pub(crate) fn join<A: Send, B: Send>(
    backend: &dyn Backend,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    let (mut fa, mut fb) = (Some(a), Some(b));
    let (mut ra, mut rb) = (None, None);
    {
        let mut ja = || ra = fa.take().map(|f| f());
        let mut jb = || rb = fb.take().map(|f| f());
        backend.run_independent(&mut [&mut ja, &mut jb]);
    }
    (
        ra.expect("run_independent runs every job"),
        rb.expect("run_independent runs every job"),
    )
}
