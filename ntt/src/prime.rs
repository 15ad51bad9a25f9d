//! Primality, NTT-friendly prime generation and roots of unity.

use crate::{Error, Modulus};

/// Deterministic primality test for every `u64`.
///
/// Miller–Rabin with the first twelve primes as bases, which has no
/// false positive below 3.3 * 10^24 (so none for any `u64`).
///
/// ```
/// assert!(hefty_ntt::is_prime(1_099_511_922_689));
/// assert!(!hefty_ntt::is_prime(1_099_511_922_691));
/// ```
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for b in BASES {
        if n.is_multiple_of(b) {
            return n == b;
        }
    }
    let mulmod = |a: u64, b: u64| (a as u128 * b as u128 % n as u128) as u64;
    let powmod = |mut a: u64, mut e: u64| {
        let mut acc = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                acc = mulmod(acc, a);
            }
            a = mulmod(a, a);
            e >>= 1;
        }
        acc
    };
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for b in BASES {
        let mut x = powmod(b, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mulmod(x, x);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// The most primes one [`ntt_primes`] call finds: far more than any
/// parameter set uses (hefty-core allows 64), small enough that a request
/// cannot allocate or search without bound.
pub const MAX_PRIME_COUNT: usize = 4096;

/// The `count` largest primes below `2^bits` with `p = 1 (mod 2n)`, in
/// decreasing order: the moduli a negacyclic NTT of degree `n` can use.
///
/// `bits` runs from 10 to 62; `n` must be a power of two.
///
/// ```
/// let ps = hefty_ntt::ntt_primes(50, 4096, 3)?;
/// assert_eq!(ps.len(), 3);
/// assert!(ps.iter().all(|&p| p < 1 << 50 && p % 8192 == 1 && hefty_ntt::is_prime(p)));
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn ntt_primes(bits: u32, n: usize, count: usize) -> Result<Vec<u64>, Error> {
    if !(10..=62).contains(&bits) {
        return Err(Error::BadPrimeBits(bits));
    }
    if !n.is_power_of_two() || n < 2 {
        return Err(Error::BadDegree(n));
    }
    if count > MAX_PRIME_COUNT {
        return Err(Error::TooManyPrimes {
            wanted: count,
            max: MAX_PRIME_COUNT,
        });
    }
    // Saturating: n near the top of usize must not wrap to a small 2n.
    let two_n = (n as u64).saturating_mul(2);
    let top = 1u64 << bits;
    if two_n >= top {
        return Err(Error::NotEnoughPrimes {
            bits,
            two_n,
            wanted: count,
            found: 0,
        });
    }
    // Largest candidate below 2^bits that is 1 mod 2n, then step down by 2n.
    let mut candidate = top - two_n + 1;
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        if is_prime(candidate) {
            out.push(candidate);
        }
        if candidate <= two_n {
            return Err(Error::NotEnoughPrimes {
                bits,
                two_n,
                wanted: count,
                found: out.len(),
            });
        }
        candidate -= two_n;
    }
    Ok(out)
}

/// A primitive `order`-th root of unity mod the prime `p`, where `order` is a
/// power of two dividing `p - 1`.
///
/// The root is the first `x^((p-1)/order)` over `x = 2, 3, ...` whose
/// `order/2`-th power is `-1`; for a power-of-two order that test alone
/// proves primitivity, so `p - 1` need not be factored. The choice is
/// deterministic, so transforms are reproducible across runs and machines.
///
/// ```
/// let p = 17;
/// let psi = hefty_ntt::primitive_root(p, 16)?;
/// assert_eq!(psi, 3);
/// # Ok::<(), hefty_ntt::Error>(())
/// ```
pub fn primitive_root(p: u64, order: u64) -> Result<u64, Error> {
    let m = Modulus::new(p)?;
    if !is_prime(p) {
        return Err(Error::NotPrime(p));
    }
    if !order.is_power_of_two() || order < 2 || !(p - 1).is_multiple_of(order) {
        return Err(Error::NotNttFriendly {
            p,
            n: (order / 2) as usize,
            two_n: order,
        });
    }
    let cofactor = (p - 1) / order;
    // Half of all residues are non-squares, and any non-square works, so the
    // loop ends after a couple of tries.
    (2..p)
        .map(|x| m.pow(x, cofactor))
        .find(|&w| m.pow(w, order / 2) == p - 1)
        .ok_or(Error::NotNttFriendly {
            p,
            n: (order / 2) as usize,
            two_n: order,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primality_known_values() {
        let primes = [
            2u64,
            3,
            5,
            97,
            65537,
            1_099_511_922_689,
            1_099_512_004_609,
            4_611_686_018_427_387_847,
        ];
        for p in primes {
            assert!(is_prime(p), "{p} is prime");
        }
        // Carmichael numbers and strong pseudoprimes to small bases.
        let composites = [
            0u64,
            1,
            4,
            561,
            1105,
            3_215_031_751,
            2_152_302_898_747,
            3_825_123_056_546_413_051,
            u64::MAX,
        ];
        for c in composites {
            assert!(!is_prime(c), "{c} is composite");
        }
    }

    #[test]
    fn primality_matches_sieve_below_100k() {
        let n = 100_000;
        let mut sieve = vec![true; n];
        sieve[0] = false;
        sieve[1] = false;
        for i in 2..n {
            if sieve[i] {
                for j in (i * i..n).step_by(i) {
                    sieve[j] = false;
                }
            }
        }
        for (i, &s) in sieve.iter().enumerate() {
            assert_eq!(is_prime(i as u64), s, "{i}");
        }
    }

    #[test]
    fn ntt_primes_are_largest_and_friendly() {
        for (bits, n) in [
            (20u32, 1024usize),
            (31, 4096),
            (50, 65536),
            (61, 8192),
            (62, 131072),
        ] {
            let ps = ntt_primes(bits, n, 4).unwrap();
            assert_eq!(ps.len(), 4);
            let two_n = 2 * n as u64;
            for w in ps.windows(2) {
                assert!(w[0] > w[1]);
                // No prime of the right shape was skipped in between.
                let mut c = w[1] + two_n;
                while c < w[0] {
                    assert!(!is_prime(c));
                    c += two_n;
                }
            }
            assert!(
                ps.iter()
                    .all(|&p| p < 1 << bits && p % two_n == 1 && is_prime(p))
            );
            let mut c = ps[0] + two_n;
            while c < 1 << bits {
                assert!(!is_prime(c));
                c += two_n;
            }
        }
    }

    #[test]
    fn ntt_primes_errors() {
        assert_eq!(ntt_primes(9, 16, 1), Err(Error::BadPrimeBits(9)));
        assert_eq!(ntt_primes(63, 16, 1), Err(Error::BadPrimeBits(63)));
        assert_eq!(ntt_primes(30, 12, 1), Err(Error::BadDegree(12)));
        assert!(matches!(
            ntt_primes(12, 1024, 50),
            Err(Error::NotEnoughPrimes { .. })
        ));
    }

    #[test]
    fn roots_are_primitive() {
        for (bits, n) in [(17u32, 16usize), (40, 4096), (61, 131072)] {
            let p = ntt_primes(bits, n, 1).unwrap()[0];
            let m = Modulus::new(p).unwrap();
            let psi = primitive_root(p, 2 * n as u64).unwrap();
            assert_eq!(m.pow(psi, 2 * n as u64), 1);
            assert_eq!(m.pow(psi, n as u64), p - 1);
        }
        assert_eq!(primitive_root(15, 2), Err(Error::NotPrime(15)));
        assert!(matches!(
            primitive_root(19, 4),
            Err(Error::NotNttFriendly { .. })
        ));
    }
}
