//! NTTs over all limbs of an RNS polynomial held in one limb-major buffer.

use rayon::prelude::*;

use crate::{Error, NttPlan};

/// One [`NttPlan`] per prime of an RNS basis, applied to a limb-major buffer:
/// limb `i` holds coefficients `i*n .. (i+1)*n` and is transformed mod prime `i`.
///
/// Limbs are independent, so they run in parallel on rayon's pool (one limb
/// per task: no nested parallelism inside a limb).
///
/// ```
/// use hefty_ntt::{RnsNttPlan, ntt_primes};
/// let n = 256;
/// let primes = ntt_primes(40, n, 3)?;
/// let plan = RnsNttPlan::new(n, &primes)?;
/// let mut buf: Vec<u64> = (0..3 * n as u64).collect();
/// let original = buf.clone();
/// plan.forward(&mut buf)?;
/// plan.inverse(&mut buf)?;
/// assert_eq!(buf, original);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RnsNttPlan {
    n: usize,
    plans: Vec<NttPlan>,
}

impl RnsNttPlan {
    /// Builds a plan for degree `n` over `primes` (each checked as in [`NttPlan::new`]).
    pub fn new(n: usize, primes: &[u64]) -> Result<Self, Error> {
        let plans = primes
            .iter()
            .map(|&p| NttPlan::new(n, p))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_plans(plans)
    }

    /// Groups existing plans; they must share one degree.
    pub fn from_plans(plans: Vec<NttPlan>) -> Result<Self, Error> {
        let n = plans
            .first()
            .ok_or(Error::BadRnsBasis("no primes were given"))?
            .degree();
        if plans.iter().any(|p| p.degree() != n) {
            return Err(Error::BadRnsBasis("the plans have different degrees"));
        }
        Ok(Self { n, plans })
    }

    /// The ring degree.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The per-limb plans, in limb order.
    pub fn plans(&self) -> &[NttPlan] {
        &self.plans
    }

    /// Applies `f(plan_{first+i}, limb_i)` to every limb of `buf`, which must
    /// hold between one and `plans().len() - first` limbs (a polynomial at a
    /// lower level uses only the first primes; a range of limbs starts at
    /// `first`).
    fn each_limb(
        &self,
        first: usize,
        buf: &mut [u64],
        f: impl Fn(&NttPlan, &mut [u64]) + Sync,
    ) -> Result<(), Error> {
        let limbs = buf.len() / self.n;
        let plans = self.plans.get(first..).unwrap_or(&[]);
        if !buf.len().is_multiple_of(self.n) || limbs == 0 || limbs > plans.len() {
            return Err(Error::WrongLength {
                expected: self.n * plans.len(),
                got: buf.len(),
            });
        }
        if limbs == 1 || rayon::current_num_threads() == 1 {
            // No one to share with: dispatching to the pool would only add two
            // context switches per call (measured: ~10% of a BFV multiplication).
            buf.chunks_exact_mut(self.n)
                .zip(plans)
                .for_each(|(limb, plan)| f(plan, limb));
        } else {
            buf.par_chunks_exact_mut(self.n)
                .zip(plans.par_iter())
                .for_each(|(limb, plan)| f(plan, limb));
        }
        Ok(())
    }

    /// Forward transform of limbs `first..first + buf.len()/n` of a
    /// polynomial, given only those limbs.
    ///
    /// ```
    /// # use hefty_ntt::RnsNttPlan;
    /// let plan = RnsNttPlan::new(8, &[17, 97])?;
    /// let mut both = vec![1u64; 16];
    /// plan.forward(&mut both)?;
    /// let mut second = vec![1u64; 8];
    /// plan.forward_at(1, &mut second)?;
    /// assert_eq!(second, both[8..]);
    /// # Ok::<(), hefty_ntt::Error>(())
    /// ```
    pub fn forward_at(&self, first: usize, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(first, buf, |plan, limb| plan.run_forward(limb, false))
    }

    /// Inverse transform of limbs `first..first + buf.len()/n` (see
    /// [`Self::forward_at`]).
    pub fn inverse_at(&self, first: usize, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(first, buf, |plan, limb| plan.run_inverse(limb, false))
    }

    /// Forward transform of every limb (values in `[0, p_i)`).
    pub fn forward(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(0, buf, |plan, limb| plan.run_forward(limb, false))
    }

    /// Forward transform of every limb, `[0, 2p_i)` in and out.
    pub fn forward_lazy(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(0, buf, |plan, limb| plan.run_forward(limb, true))
    }

    /// Inverse transform of every limb (values in `[0, p_i)`).
    pub fn inverse(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(0, buf, |plan, limb| plan.run_inverse(limb, false))
    }

    /// Inverse transform of every limb, `[0, 2p_i)` in and out.
    pub fn inverse_lazy(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.each_limb(0, buf, |plan, limb| plan.run_inverse(limb, true))
    }
}
