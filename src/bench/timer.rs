//! Median wall time of an operation, sampled call by call.

use std::time::{Duration, Instant};

/// How long to sample one case.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Untimed calls first, to warm caches, branch predictors and clocks.
    pub warm_up: Duration,
    /// Time budget of the timed calls.
    pub budget: Duration,
    /// At least this many timed calls, even past the budget.
    pub min_samples: usize,
    /// At most this many timed calls.
    pub max_samples: usize,
}

impl Sampling {
    /// The default of `hefty bench`: 50 ms warm-up, 300 ms of samples.
    pub const STANDARD: Sampling = Sampling {
        warm_up: Duration::from_millis(50),
        budget: Duration::from_millis(300),
        min_samples: 11,
        max_samples: 100_000,
    };
    /// `hefty bench --quick`: enough to check that everything runs.
    pub const QUICK: Sampling = Sampling {
        warm_up: Duration::from_millis(2),
        budget: Duration::from_millis(10),
        min_samples: 3,
        max_samples: 1_000,
    };
}

/// Times `op` call by call and returns `(median nanoseconds, samples)`.
///
/// The median, not the mean, because a shared machine's interruptions are
/// one-sided outliers.
///
/// ```
/// use hefty::bench::{Sampling, median_ns};
/// let (median, samples) = median_ns(Sampling::QUICK, || { std::hint::black_box(2 + 2); });
/// assert!(median >= 0.0 && samples >= 3);
/// ```
pub fn median_ns(sampling: Sampling, mut op: impl FnMut()) -> (f64, usize) {
    let start = Instant::now();
    while start.elapsed() < sampling.warm_up {
        op();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < sampling.max_samples
        && (times.len() < sampling.min_samples || start.elapsed() < sampling.budget)
    {
        let t = Instant::now();
        op();
        times.push(t.elapsed().as_nanos() as f64);
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2.0
    };
    (median, times.len())
}

/// Calls of an operation timed by the device's own clock (after its wall
/// time: the profiling mode slows the host side).
const KERNEL_CALLS: u64 = 3;

/// [`median_ns`] of `op` on `pool`'s threads, synchronizing `backend` after
/// every call: an asynchronous (device) backend is timed for its work, not
/// for queueing it. Returns `(median, samples, kernel)`: `kernel` is the
/// mean device kernel time of a call by the device's own clock, where the
/// backend can measure it ([`hefty_core::Backend::set_kernel_timing`]).
pub fn median_ns_on(
    pool: &rayon::ThreadPool,
    backend: &dyn hefty_core::Backend,
    sampling: Sampling,
    op: &mut (dyn FnMut() + Send),
) -> (f64, usize, Option<f64>) {
    pool.install(|| {
        let mut call = || {
            op();
            backend
                .synchronize()
                .expect("the backend failed while being timed");
        };
        let (median, samples) = median_ns(sampling, &mut call);
        let mut kernel = None;
        if backend.set_kernel_timing(true) {
            for _ in 0..KERNEL_CALLS {
                call();
            }
            kernel = backend
                .kernel_ns()
                .map(|ns| ns as f64 / KERNEL_CALLS as f64);
            backend.set_kernel_timing(false);
        }
        (median, samples, kernel)
    })
}
