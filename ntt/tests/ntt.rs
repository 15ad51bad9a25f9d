//! The NTT against slow, obviously-correct references: direct evaluation at
//! the odd powers of ψ, the schoolbook negacyclic product, and known answers.
//! Every vector path is checked against the scalar path.

use hefty_ntt::{Error, NttPath, NttPlan, RnsNttPlan, is_prime, ntt_primes};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// The paths this CPU can run for `(n, p)`, scalar first.
fn paths(n: usize, p: u64) -> Vec<NttPath> {
    NttPath::ALL
        .into_iter()
        .filter(|path| path.check(n, p).is_ok())
        .collect()
}

fn random_poly(rng: &mut impl Rng, n: usize, bound: u64) -> Vec<u64> {
    (0..n).map(|_| rng.random_range(0..bound)).collect()
}

fn schoolbook_negacyclic(a: &[u64], b: &[u64], p: u64) -> Vec<u64> {
    let n = a.len();
    let mut c = vec![0u128; n];
    let p128 = p as u128;
    for (i, &ai) in a.iter().enumerate() {
        for (j, &bj) in b.iter().enumerate() {
            let prod = ai as u128 * bj as u128 % p128;
            let k = i + j;
            if k < n {
                c[k] = (c[k] + prod) % p128;
            } else {
                c[k - n] = (c[k - n] + p128 - prod) % p128;
            }
        }
    }
    c.into_iter().map(|x| x as u64).collect()
}

fn pow_mod(b: u64, mut e: u64, p: u64) -> u64 {
    let (mut acc, mut b, p) = (1u128, b as u128 % p as u128, p as u128);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * b % p;
        }
        b = b * b % p;
        e >>= 1;
    }
    acc as u64
}

fn bit_reverse(k: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Output k of the forward transform is a(ψ^(2·bitrev(k)+1)).
fn direct_evaluation(a: &[u64], psi: u64, p: u64) -> Vec<u64> {
    let n = a.len();
    let bits = n.trailing_zeros();
    (0..n)
        .map(|k| {
            let x = pow_mod(psi, 2 * bit_reverse(k, bits) as u64 + 1, p);
            // Horner's rule.
            a.iter()
                .rev()
                .fold(0u128, |acc, &c| (acc * x as u128 + c as u128) % p as u128) as u64
        })
        .collect()
}

/// Primes of several sizes for degree n: tiny, 31-bit, around the 50-bit
/// boundary of the f64 kernel, 61 and 62 bits.
fn primes_for(n: usize) -> Vec<u64> {
    let mut ps = vec![];
    for bits in [20u32, 31, 49, 50, 61, 62] {
        if let Ok(v) = ntt_primes(bits, n, 1) {
            ps.extend(v);
        }
    }
    ps
}

#[test]
fn known_answers_small() {
    // Computed independently (Python) from the definition: a(ψ^(2·bitrev(k)+1)).
    type Kat = (usize, u64, u64, Vec<u64>, Vec<u64>); // n, p, psi, input, output
    let cases: [Kat; 2] = [
        (
            8,
            17,
            3,
            vec![1, 2, 3, 4, 5, 6, 7, 8],
            vec![5, 0, 13, 8, 9, 11, 5, 8],
        ),
        (
            16,
            97,
            28,
            vec![3, 8, 23, 48, 83, 31, 86, 54, 32, 20, 18, 26, 44, 72, 13, 61],
            vec![
                92, 70, 73, 49, 80, 31, 38, 82, 31, 19, 37, 44, 95, 85, 41, 54,
            ],
        ),
    ];
    for (n, p, psi, input, expected) in cases {
        for path in paths(n, p) {
            let plan = NttPlan::with_path(n, p, path).unwrap();
            assert_eq!(plan.psi(), psi);
            let mut a = input.clone();
            plan.forward(&mut a).unwrap();
            assert_eq!(a, expected, "n={n} p={p} path={path}");
            plan.inverse(&mut a).unwrap();
            assert_eq!(a, input);
        }
    }
}

#[test]
fn forward_is_evaluation_at_odd_powers_of_psi() {
    let mut rng = StdRng::seed_from_u64(1);
    for log_n in 1..=7 {
        let n = 1 << log_n;
        for p in primes_for(n) {
            for path in paths(n, p) {
                let plan = NttPlan::with_path(n, p, path).unwrap();
                let a = random_poly(&mut rng, n, p);
                let mut got = a.clone();
                plan.forward(&mut got).unwrap();
                assert_eq!(
                    got,
                    direct_evaluation(&a, plan.psi(), p),
                    "n={n} p={p} path={path}"
                );
            }
        }
    }
}

#[test]
fn every_path_matches_scalar_at_every_degree() {
    let mut rng = StdRng::seed_from_u64(2);
    for log_n in 1..=17 {
        let n = 1 << log_n;
        for p in primes_for(n) {
            let scalar = NttPlan::with_path(n, p, NttPath::Scalar).unwrap();
            let a = random_poly(&mut rng, n, p);
            let mut want = a.clone();
            scalar.forward(&mut want).unwrap();
            let lazy_in = random_poly(&mut rng, n, 2 * p);
            let mut want_lazy = lazy_in.clone();
            scalar.forward_lazy(&mut want_lazy).unwrap();
            let mut want_inv = lazy_in.clone();
            scalar.inverse_lazy(&mut want_inv).unwrap();
            for path in paths(n, p) {
                let plan = NttPlan::with_path(n, p, path).unwrap();
                let mut got = a.clone();
                plan.forward(&mut got).unwrap();
                assert_eq!(got, want, "forward n={n} p={p} path={path}");
                plan.inverse(&mut got).unwrap();
                assert_eq!(got, a, "inverse n={n} p={p} path={path}");

                // Lazy forms: [0, 2p) in and out, congruent to the scalar result.
                let mut got = lazy_in.clone();
                plan.forward_lazy(&mut got).unwrap();
                if path == NttPath::Avx2 {
                    // Same butterflies as scalar: bit-identical even when lazy.
                    // (IFMA's 52-bit Shoup quotients may be one lower, so its
                    // lazy values can differ by p: congruent, checked below.)
                    assert_eq!(got, want_lazy, "{path} forward_lazy n={n} p={p}");
                }
                assert!(got.iter().all(|&x| x < 2 * p));
                assert!(
                    got.iter().zip(&want_lazy).all(|(x, y)| x % p == y % p),
                    "forward_lazy n={n} p={p} path={path}"
                );
                let mut got = lazy_in.clone();
                plan.inverse_lazy(&mut got).unwrap();
                if path == NttPath::Avx2 {
                    assert_eq!(got, want_inv, "{path} inverse_lazy n={n} p={p}");
                }
                assert!(got.iter().all(|&x| x < 2 * p));
                assert!(
                    got.iter().zip(&want_inv).all(|(x, y)| x % p == y % p),
                    "inverse_lazy n={n} p={p} path={path}"
                );
            }
        }
    }
}

#[test]
fn extreme_inputs_survive_every_path() {
    // All p-1 (or 2p-1 for lazy) stresses the bound analysis of the kernels.
    for log_n in [4, 11, 12, 16] {
        let n = 1 << log_n;
        for p in primes_for(n) {
            for path in paths(n, p) {
                let plan = NttPlan::with_path(n, p, path).unwrap();
                let scalar = NttPlan::with_path(n, p, NttPath::Scalar).unwrap();
                for fill in [p - 1, 2 * p - 1] {
                    let mut a = vec![fill; n];
                    let mut b = a.clone();
                    plan.forward_lazy(&mut a).unwrap();
                    scalar.forward_lazy(&mut b).unwrap();
                    assert!(
                        a.iter().zip(&b).all(|(x, y)| x % p == y % p),
                        "n={n} p={p} {path}"
                    );
                    plan.inverse_lazy(&mut a).unwrap();
                    assert!(a.iter().all(|&x| x % p == fill % p), "n={n} p={p} {path}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn ntt_product_equals_schoolbook(log_n in 1u32..=8, bits in 20u32..=62, which in 0usize..3, seed: u64) {
        let n = 1usize << log_n;
        let primes = ntt_primes(bits, n, 3).unwrap();
        let p = primes[which];
        let mut rng = StdRng::seed_from_u64(seed);
        let a = random_poly(&mut rng, n, p);
        let b = random_poly(&mut rng, n, p);
        let want = schoolbook_negacyclic(&a, &b, p);
        for path in paths(n, p) {
            let plan = NttPlan::with_path(n, p, path).unwrap();
            let (mut fa, mut fb) = (a.clone(), b.clone());
            plan.forward(&mut fa).unwrap();
            plan.forward(&mut fb).unwrap();
            let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| plan.modulus().mul(x, y)).collect();
            plan.inverse(&mut c).unwrap();
            prop_assert_eq!(&c, &want, "path {}", path);
        }
    }

    #[test]
    fn roundtrip_is_identity(log_n in 1u32..=17, bits in 20u32..=62, seed: u64) {
        let n = 1usize << log_n;
        let p = ntt_primes(bits.max(log_n + 2), n, 1).unwrap()[0];
        let mut rng = StdRng::seed_from_u64(seed);
        let a = random_poly(&mut rng, n, p);
        for path in paths(n, p) {
            let plan = NttPlan::with_path(n, p, path).unwrap();
            let mut x = a.clone();
            plan.forward(&mut x).unwrap();
            prop_assert!(x.iter().all(|&v| v < p));
            plan.inverse(&mut x).unwrap();
            prop_assert_eq!(&x, &a, "path {}", path);
        }
    }
}

#[test]
fn rns_plan_matches_per_limb_plans() {
    let n = 4096;
    let primes: Vec<u64> = [ntt_primes(50, n, 2).unwrap(), ntt_primes(61, n, 2).unwrap()].concat();
    let rns = RnsNttPlan::new(n, &primes).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let buf: Vec<u64> = primes
        .iter()
        .flat_map(|&p| random_poly(&mut rng, n, p))
        .collect();
    let mut got = buf.clone();
    rns.forward(&mut got).unwrap();
    for (i, &p) in primes.iter().enumerate() {
        let plan = NttPlan::new(n, p).unwrap();
        let mut limb = buf[i * n..(i + 1) * n].to_vec();
        plan.forward(&mut limb).unwrap();
        assert_eq!(&got[i * n..(i + 1) * n], &limb[..]);
    }
    rns.inverse(&mut got).unwrap();
    assert_eq!(got, buf);
    // A lower level uses only the first limbs.
    let mut low = buf[..2 * n].to_vec();
    rns.forward_lazy(&mut low).unwrap();
    rns.inverse_lazy(&mut low).unwrap();
    for (i, &p) in primes[..2].iter().enumerate() {
        assert!(
            low[i * n..(i + 1) * n]
                .iter()
                .zip(&buf[i * n..(i + 1) * n])
                .all(|(x, y)| x % p == *y)
        );
    }
    assert_eq!(
        rns.forward(&mut vec![0; 5 * n]),
        Err(Error::WrongLength {
            expected: 4 * n,
            got: 5 * n
        })
    );
    assert_eq!(
        rns.forward(&mut vec![0; n + 1]),
        Err(Error::WrongLength {
            expected: 4 * n,
            got: n + 1
        })
    );
    assert_eq!(
        rns.forward(&mut []),
        Err(Error::WrongLength {
            expected: 4 * n,
            got: 0
        })
    );
    assert!(matches!(
        RnsNttPlan::new(n, &[]),
        Err(Error::BadRnsBasis(_))
    ));
    let mixed = vec![
        NttPlan::new(n, primes[0]).unwrap(),
        NttPlan::new(n / 2, primes[0]).unwrap(),
    ];
    assert!(matches!(
        RnsNttPlan::from_plans(mixed),
        Err(Error::BadRnsBasis(_))
    ));
}

#[test]
fn bad_input_gives_typed_errors() {
    let p = ntt_primes(50, 1024, 1).unwrap()[0];
    assert_eq!(NttPlan::new(1000, p).unwrap_err(), Error::BadDegree(1000));
    assert_eq!(NttPlan::new(1, p).unwrap_err(), Error::BadDegree(1));
    assert_eq!(
        NttPlan::new(1 << 18, p).unwrap_err(),
        Error::BadDegree(1 << 18)
    );
    assert_eq!(
        NttPlan::new(1024, p + 2).unwrap_err(),
        if is_prime(p + 2) {
            Error::NotNttFriendly {
                p: p + 2,
                n: 1024,
                two_n: 2048,
            }
        } else {
            Error::NotPrime(p + 2)
        }
    );
    assert_eq!(
        NttPlan::new(1024, 1 << 62).unwrap_err(),
        Error::ModulusOutOfRange(1 << 62)
    );
    // 65537 = 1 mod 2^16 but not mod 2^18.
    assert_eq!(
        NttPlan::new(1 << 17, 65537).unwrap_err(),
        Error::NotNttFriendly {
            p: 65537,
            n: 1 << 17,
            two_n: 1 << 18
        }
    );
    let wide = ntt_primes(61, 1024, 1).unwrap()[0];
    assert!(matches!(
        NttPlan::with_path(1024, wide, NttPath::Avx2Fma),
        Err(Error::PathUnavailable { .. })
    ));
    assert!(matches!(
        NttPlan::with_path(8, 17, NttPath::Avx2Fma),
        Err(Error::PathUnavailable { .. })
    ));
    let plan = NttPlan::new(1024, p).unwrap();
    let mut short = vec![0u64; 1023];
    assert_eq!(
        plan.forward(&mut short),
        Err(Error::WrongLength {
            expected: 1024,
            got: 1023
        })
    );
    assert_eq!(
        plan.inverse_lazy(&mut short),
        Err(Error::WrongLength {
            expected: 1024,
            got: 1023
        })
    );
    // The messages say how to fix the problem.
    assert!(Error::BadDegree(1000).to_string().contains("power of two"));
    assert!(
        Error::NotNttFriendly {
            p: 7,
            n: 4,
            two_n: 8
        }
        .to_string()
        .contains("ntt_primes")
    );
}

#[test]
fn best_path_is_fastest_available() {
    let small = ntt_primes(50, 4096, 1).unwrap()[0];
    let wide = ntt_primes(61, 4096, 1).unwrap()[0];
    let expect_small = if NttPath::Avx512Ifma.cpu_supports() {
        NttPath::Avx512Ifma
    } else if NttPath::Avx2Fma.cpu_supports() {
        NttPath::Avx2Fma
    } else {
        NttPath::Scalar
    };
    if std::env::var("HEFTY_NTT_PATH").is_err() {
        assert_eq!(NttPlan::new(4096, small).unwrap().path(), expect_small);
    }
    let expect_wide = if NttPath::Avx2.cpu_supports() {
        NttPath::Avx2
    } else {
        NttPath::Scalar
    };
    if std::env::var("HEFTY_NTT_PATH").is_err() {
        assert_eq!(NttPlan::new(4096, wide).unwrap().path(), expect_wide);
    }
    assert_eq!(
        NttPlan::new(8, 17).unwrap().path(),
        NttPath::Scalar,
        "vector kernels need n >= 16"
    );
    for path in NttPath::ALL {
        assert_eq!(NttPath::from_name(path.name()), Some(path));
    }
    // An unverified kernel is never chosen on its own.
    for log_n in [4, 12, 16] {
        for p in primes_for(1 << log_n) {
            let best = NttPath::best_for(1 << log_n, p);
            assert!(best.check(1 << log_n, p).is_ok());
            if std::env::var("HEFTY_NTT_PATH").is_err() {
                assert!(best.is_verified(), "{best} picked for n=2^{log_n} p={p}");
            }
        }
    }
    assert_eq!(NttPath::from_name("nope"), None);
    for path in NttPath::ALL {
        if !path.cpu_supports() {
            eprintln!("note: this CPU cannot run the {path} path; its tests were skipped");
        }
    }
}
