//! The NTT rows of `hefty bench`: every kernel path this CPU has, forward
//! and inverse, at the degrees HE uses, for a prime below 2^50 (where the
//! f64 kernels apply) and a 61-bit prime.

use hefty_ntt::{Error, NttPath, NttPlan, ntt_primes};
use serde_json::json;

use super::{Record, Sampling, Schema, median_ns};

/// One NTT measurement to make.
#[derive(Debug, Clone)]
pub struct NttCase {
    /// Ring degree.
    pub n: usize,
    /// The prime.
    pub p: u64,
    /// Kernel path.
    pub path: NttPath,
    /// `true` for the inverse transform.
    pub inverse: bool,
}

impl NttCase {
    /// Butterflies one transform performs: `n/2 · log2 n`.
    pub fn butterflies(&self) -> f64 {
        (self.n / 2) as f64 * self.n.trailing_zeros() as f64
    }

    /// Times the case single-threaded and returns its record.
    pub fn run(&self, sampling: Sampling) -> Result<Record, Error> {
        let plan = NttPlan::with_path(self.n, self.p, self.path)?;
        let mut data: Vec<u64> = (0..self.n as u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % self.p)
            .collect();
        let (median, samples) = if self.inverse {
            median_ns(sampling, || {
                plan.inverse(std::hint::black_box(&mut data))
                    .expect("length matches the plan")
            })
        } else {
            median_ns(sampling, || {
                plan.forward(std::hint::black_box(&mut data))
                    .expect("length matches the plan")
            })
        };
        Ok(Record {
            scheme: Schema::Ntt,
            op: if self.inverse {
                "ntt_inverse"
            } else {
                "ntt_forward"
            }
            .into(),
            params: json!({
                "n": self.n,
                "p": self.p,
                "log_p": 64 - self.p.leading_zeros(),
                "path": self.path.name(),
            }),
            backend: "cpu".into(),
            threads: 1,
            median_ns: median,
            samples,
            kernel_ns: None,
            butterflies_per_ns: Some(self.butterflies() / median),
        })
    }
}

/// The cases of the default table: `n` in `sizes`, the largest NTT primes of
/// 50 and 61 bits for the largest size, every path that can run them here.
pub fn ntt_cases(sizes: &[usize]) -> Result<Vec<NttCase>, Error> {
    let max_n = sizes.iter().copied().max().unwrap_or(4096);
    let primes = [ntt_primes(50, max_n, 1)?[0], ntt_primes(61, max_n, 1)?[0]];
    let mut cases = vec![];
    for p in primes {
        for &n in sizes {
            for path in NttPath::ALL
                .into_iter()
                .filter(|path| path.check(n, p).is_ok())
            {
                for inverse in [false, true] {
                    cases.push(NttCase {
                        n,
                        p,
                        path,
                        inverse,
                    });
                }
            }
        }
    }
    Ok(cases)
}
