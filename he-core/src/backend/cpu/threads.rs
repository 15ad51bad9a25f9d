//! The CPU's thread policy for the independent parts of one operation
//! (polynomials of a ciphertext, digits of a key switch): rayon's pool,
//! except when it has a single thread — dispatching there would only add
//! context switches (measured in the RNS NTT: ~5 % of a multiplication).

/// Runs `jobs`, in parallel when it can help.
pub(crate) fn run(jobs: &mut [&mut (dyn FnMut() + Send)]) {
    if jobs.len() < 2 || rayon::current_num_threads() < 2 {
        for job in jobs {
            job();
        }
        return;
    }
    match jobs {
        [a, b] => {
            rayon::join(a, b);
        }
        _ => rayon::scope(|s| {
            for job in jobs.iter_mut() {
                s.spawn(move |_| job());
            }
        }),
    }
}
