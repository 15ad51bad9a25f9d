//! # hefty-ntt
//!
//! Word-size modular arithmetic, NTT-friendly primes and a fast negacyclic
//! number-theoretic transform: the lowest layer of hefty.
//!
//! - [`Modulus`]: Barrett and Shoup arithmetic mod `p < 2^62`, with lazy
//!   variants that keep values in `[0, 2p)` or `[0, 4p)`.
//! - [`ntt_primes`], [`is_prime`], [`primitive_root`]: moduli for the NTT.
//! - [`NttPlan`]: the negacyclic NTT of `n = 2^1 .. 2^17` points mod one prime,
//!   bit-reversed output, ψ folded into the twiddles, `1/n` folded into the
//!   inverse's last stage. The kernel ([`NttPath`]) is chosen at run time:
//!   AVX2 + FMA on exact `f64` arithmetic for primes below 2^50, AVX2 integer
//!   Shoup arithmetic for wider primes, portable scalar code elsewhere.
//! - [`RnsNttPlan`]: the same over every limb of a limb-major RNS buffer.
//! - [`slice_ops`]: element-wise products and multiply-accumulates on slices
//!   (vectorised like the NTT), the building blocks of RNS ring operations.
//!
//! ```
//! use hefty_ntt::{NttPlan, ntt_primes};
//! // Negacyclic product of x and x^(n-1): x^n = -1.
//! let n = 8;
//! let p = ntt_primes(20, n, 1)?[0];
//! let plan = NttPlan::new(n, p)?;
//! let (mut a, mut b) = (vec![0; n], vec![0; n]);
//! a[1] = 1;
//! b[n - 1] = 1;
//! plan.forward(&mut a)?;
//! plan.forward(&mut b)?;
//! let mut c: Vec<u64> = a.iter().zip(&b).map(|(&x, &y)| plan.modulus().mul(x, y)).collect();
//! plan.inverse(&mut c)?;
//! let mut expected = vec![0; n];
//! expected[0] = p - 1;
//! assert_eq!(c, expected);
//! # Ok::<(), hefty_ntt::Error>(())
//! ```

#[cfg(target_arch = "x86_64")]
mod avx2_fma;
#[cfg(target_arch = "x86_64")]
mod avx2_int;
#[cfg(target_arch = "x86_64")]
mod avx512_ifma;
mod error;
mod modulus;
mod path;
mod plan;
mod prime;
mod rns;
mod scalar;
mod schedule;
mod shoup;
pub mod slice_ops;
mod twiddles;

pub use error::Error;
pub use modulus::Modulus;
pub use path::NttPath;
pub use plan::{MAX_DEGREE, NttPlan, check_ntt_prime};
pub use prime::{MAX_PRIME_COUNT, is_prime, ntt_primes, primitive_root};
pub use rns::RnsNttPlan;
pub use shoup::ShoupConst;
