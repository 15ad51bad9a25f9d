//! The negacyclic NTT plan: tables for one `(n, p)` and the kernel path that runs them.

use crate::scalar::Scalar;
use crate::schedule;
use crate::twiddles::Twiddles;
use crate::{Error, Modulus, NttPath, ShoupConst, is_prime, primitive_root};

#[cfg(target_arch = "x86_64")]
use crate::{avx2_fma, avx2_int, avx512_ifma};

/// Per-path tables beyond the scalar ones; a vector variant exists only when
/// the CPU supports its instructions (its constructor checks).
#[derive(Debug, Clone)]
enum VectorTables {
    None,
    #[cfg(target_arch = "x86_64")]
    Fma(Box<avx2_fma::Tables>),
    #[cfg(target_arch = "x86_64")]
    Int(Box<avx2_int::Tables>),
    #[cfg(target_arch = "x86_64")]
    Ifma(Box<avx512_ifma::Tables>),
}

/// Largest supported ring degree, 2^17.
pub const MAX_DEGREE: usize = 1 << 17;

/// A negacyclic number-theoretic transform of `n` points modulo a prime `p`.
///
/// The forward transform maps the coefficients of `a(x)` in
/// `Z_p[x]/(x^n + 1)` to the evaluations `a(ψ^(2·bitrev(k)+1))` for
/// `k = 0..n`, where ψ is a primitive `2n`-th root of unity: output in
/// **bit-reversed order**, with the ψ twist folded into the twiddles. The
/// inverse takes bit-reversed input and includes the factor `1/n`. A negacyclic
/// product is therefore `inverse(forward(a) ⊙ forward(b))`.
///
/// Plans are immutable and `Send + Sync`: build one per `(n, p)` and share it.
/// Standard transforms take and return values in `[0, p)`; the `_lazy`
/// variants take and return `[0, 2p)` and may skip the final reduction.
///
/// ```
/// use hefty_ntt::{NttPlan, ntt_primes};
/// let n = 1024;
/// let p = ntt_primes(50, n, 1)?[0];
/// let plan = NttPlan::new(n, p)?;
/// let mut a: Vec<u64> = (0..n as u64).collect();
/// let original = a.clone();
/// plan.forward(&mut a)?;
/// plan.inverse(&mut a)?;
/// assert_eq!(a, original);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NttPlan {
    n: usize,
    modulus: Modulus,
    psi: u64,
    forward_tw: Twiddles,
    inverse_tw: Twiddles,
    n_inv: ShoupConst,
    /// `n^-1 · ψ^-bitrev(1)`: the last inverse stage's twiddle with `1/n` folded in.
    n_inv_w: ShoupConst,
    path: NttPath,
    vector: VectorTables,
}

/// Checks what every plan needs, without building one: `n` a power of two in
/// `2..=MAX_DEGREE`, `p` a prime below 2^62 with `p ≡ 1 (mod 2n)`. Device
/// backends, which build their own tables, validate their primes with it.
pub fn check_ntt_prime(n: usize, p: u64) -> Result<(), Error> {
    if !n.is_power_of_two() || !(2..=MAX_DEGREE).contains(&n) {
        return Err(Error::BadDegree(n));
    }
    Modulus::new(p)?;
    if !is_prime(p) {
        return Err(Error::NotPrime(p));
    }
    let two_n = 2 * n as u64;
    if !(p - 1).is_multiple_of(two_n) {
        return Err(Error::NotNttFriendly { p, n, two_n });
    }
    Ok(())
}

impl NttPlan {
    /// Builds a plan for `n` points mod `p` on the fastest path this CPU offers.
    ///
    /// `n` must be a power of two from 2 to 2^17; `p` a prime below 2^62 with
    /// `p = 1 (mod 2n)` ([`crate::ntt_primes`] makes such primes).
    pub fn new(n: usize, p: u64) -> Result<Self, Error> {
        Self::with_path(n, p, NttPath::best_for(n, p))
    }

    /// Builds a plan that runs on `path`; fails with [`Error::PathUnavailable`]
    /// when this CPU or this prime cannot use it.
    pub fn with_path(n: usize, p: u64, path: NttPath) -> Result<Self, Error> {
        check_ntt_prime(n, p)?;
        let modulus = Modulus::new(p)?;
        let two_n = 2 * n as u64;
        path.check(n, p)?;
        let psi = primitive_root(p, two_n)?;
        let psi_inv = modulus.inv(psi).expect("a root of unity is invertible");
        let forward_tw = Twiddles::new(&modulus, psi, n);
        let inverse_tw = Twiddles::new(&modulus, psi_inv, n);
        let n_inv_value = modulus
            .inv(n as u64)
            .expect("n < p is invertible mod a prime");
        let n_inv = modulus.shoup(n_inv_value);
        let n_inv_w = modulus.shoup(modulus.mul(n_inv_value, inverse_tw.w[1]));
        let unavailable = Error::PathUnavailable {
            path: path.name(),
            reason: "CPU support vanished",
        };
        let vector = match path {
            NttPath::Scalar => VectorTables::None,
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx2Fma => VectorTables::Fma(Box::new(
                avx2_fma::Tables::new(&forward_tw, &inverse_tw, n_inv.value, n_inv_w.value, p)
                    .ok_or(unavailable)?,
            )),
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx2 => VectorTables::Int(Box::new(
                avx2_int::Tables::new(&forward_tw, &inverse_tw, n_inv, n_inv_w, &modulus)
                    .ok_or(unavailable)?,
            )),
            #[cfg(target_arch = "x86_64")]
            NttPath::Avx512Ifma => VectorTables::Ifma(Box::new(
                avx512_ifma::Tables::new(&forward_tw, &inverse_tw, n_inv, n_inv_w, &modulus)
                    .ok_or(unavailable)?,
            )),
            #[cfg(not(target_arch = "x86_64"))]
            _ => return Err(unavailable),
        };
        Ok(Self {
            n,
            modulus,
            psi,
            forward_tw,
            inverse_tw,
            n_inv,
            n_inv_w,
            path,
            vector,
        })
    }

    /// The ring degree `n`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The primitive `2n`-th root of unity ψ the transform uses.
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// The kernel path this plan runs.
    pub fn path(&self) -> NttPath {
        self.path
    }

    fn check_len(&self, a: &[u64]) -> Result<(), Error> {
        if a.len() == self.n {
            Ok(())
        } else {
            Err(Error::WrongLength {
                expected: self.n,
                got: a.len(),
            })
        }
    }

    /// In-place forward transform: input coefficients in `[0, p)`, output
    /// evaluations in `[0, p)`, bit-reversed.
    pub fn forward(&self, a: &mut [u64]) -> Result<(), Error> {
        self.check_len(a)?;
        self.run_forward(a, false);
        Ok(())
    }

    /// Forward transform on `[0, 2p)` input, output in `[0, 2p)`.
    pub fn forward_lazy(&self, a: &mut [u64]) -> Result<(), Error> {
        self.check_len(a)?;
        self.run_forward(a, true);
        Ok(())
    }

    /// In-place inverse transform (bit-reversed input, `1/n` included):
    /// input in `[0, p)`, output coefficients in `[0, p)`.
    pub fn inverse(&self, a: &mut [u64]) -> Result<(), Error> {
        self.check_len(a)?;
        self.run_inverse(a, false);
        Ok(())
    }

    /// Inverse transform on `[0, 2p)` input, output in `[0, 2p)`.
    pub fn inverse_lazy(&self, a: &mut [u64]) -> Result<(), Error> {
        self.check_len(a)?;
        self.run_inverse(a, true);
        Ok(())
    }

    fn scalar(&self) -> Scalar<'_> {
        Scalar {
            forward: &self.forward_tw,
            inverse: &self.inverse_tw,
            n_inv: self.n_inv,
            n_inv_w: self.n_inv_w,
            modulus: &self.modulus,
        }
    }

    /// Forward transform of a slice known to hold exactly `n` values.
    pub(crate) fn run_forward(&self, a: &mut [u64], lazy: bool) {
        debug_assert_eq!(a.len(), self.n);
        match &self.vector {
            VectorTables::None => schedule::forward(&self.scalar(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Fma(t) => schedule::forward(t.as_ref(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Int(t) => schedule::forward(t.as_ref(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Ifma(t) => schedule::forward(t.as_ref(), a, lazy),
        }
    }

    /// Inverse transform of a slice known to hold exactly `n` values.
    pub(crate) fn run_inverse(&self, a: &mut [u64], lazy: bool) {
        debug_assert_eq!(a.len(), self.n);
        match &self.vector {
            VectorTables::None => schedule::inverse(&self.scalar(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Fma(t) => schedule::inverse(t.as_ref(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Int(t) => schedule::inverse(t.as_ref(), a, lazy),
            #[cfg(target_arch = "x86_64")]
            VectorTables::Ifma(t) => schedule::inverse(t.as_ref(), a, lazy),
        }
    }
}
