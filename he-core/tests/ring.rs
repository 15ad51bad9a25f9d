//! The ring layer against big-integer references: exact CRT, schoolbook
//! negacyclic products mod Q, automorphisms by their definition, fast base
//! conversion by its exact meaning, and the samplers' distributions.

use std::sync::Arc;

use hefty_core::{
    BaseConverter, Coeff, Error, Ntt, RnsBasis, RnsPoly, Sampler, ntt_galois_permutation,
    rotation_galois_element,
};
use hefty_ntt::ntt_primes;
use num_bigint::{BigInt, BigUint};
use proptest::prelude::*;

fn basis(n: usize, bits: u32, k: usize) -> Arc<RnsBasis> {
    Arc::new(RnsBasis::new(n, &ntt_primes(bits, n, k).unwrap()).unwrap())
}

fn random_poly(s: &mut Sampler, b: &Arc<RnsBasis>, level: usize) -> RnsPoly<Coeff> {
    s.uniform::<Coeff>(b, level).unwrap()
}

/// Schoolbook product in Z_Q[x]/(x^n + 1).
fn schoolbook(a: &[BigUint], b: &[BigUint], q: &BigUint) -> Vec<BigUint> {
    let n = a.len();
    let mut c = vec![BigInt::ZERO; n];
    for (i, ai) in a.iter().enumerate() {
        for (j, bj) in b.iter().enumerate() {
            let prod = BigInt::from(ai * bj);
            if i + j < n {
                c[i + j] += prod;
            } else {
                c[i + j - n] -= prod;
            }
        }
    }
    let q = BigInt::from(q.clone());
    c.into_iter()
        .map(|x| ((x % &q + &q) % &q).to_biguint().unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ntt_product_matches_schoolbook_mod_q(log_n in 2u32..=6, bits in 20u32..=61, k in 1usize..=4, seed: [u8; 32]) {
        let n = 1 << log_n;
        let b = basis(n, bits, k);
        let mut s = Sampler::from_seed(seed);
        let (x, y) = (random_poly(&mut s, &b, k), random_poly(&mut s, &b, k));
        let want = schoolbook(&x.to_biguints().unwrap(), &y.to_biguints().unwrap(), &b.product(k));
        let mut prod = x.clone().into_ntt();
        prod.mul_assign(&y.clone().into_ntt()).unwrap();
        prop_assert_eq!(prod.into_coeff().to_biguints().unwrap(), want);
    }

    #[test]
    fn ring_operations_match_big_integers(log_n in 2u32..=7, k in 1usize..=4, c: u64, seed: [u8; 32]) {
        let n = 1 << log_n;
        let b = basis(n, 50, k);
        let q = b.product(k);
        let mut s = Sampler::from_seed(seed);
        let (x, y) = (random_poly(&mut s, &b, k), random_poly(&mut s, &b, k));
        let (xb, yb) = (x.to_biguints().unwrap(), y.to_biguints().unwrap());
        let mut sum = x.clone();
        sum.add_assign(&y).unwrap();
        let mut diff = x.clone();
        diff.sub_assign(&y).unwrap();
        let mut neg = x.clone();
        neg.neg_assign();
        let mut scaled = x.clone();
        scaled.mul_scalar_assign(c);
        for j in 0..n {
            prop_assert_eq!(&sum.to_biguints().unwrap()[j], &((&xb[j] + &yb[j]) % &q));
            prop_assert_eq!(&diff.to_biguints().unwrap()[j], &((&xb[j] + &q - &yb[j]) % &q));
            prop_assert_eq!(&neg.to_biguints().unwrap()[j], &((&q - &xb[j]) % &q));
            prop_assert_eq!(&scaled.to_biguints().unwrap()[j], &((&xb[j] * c) % &q));
        }
        // mul_add_assign = add of a product.
        let (xn, yn) = (x.clone().into_ntt(), y.clone().into_ntt());
        let mut acc = xn.clone();
        acc.mul_add_assign(&xn, &yn).unwrap();
        let mut want = xn.clone();
        let mut p = xn.clone();
        p.mul_assign(&yn).unwrap();
        want.add_assign(&p).unwrap();
        prop_assert_eq!(acc, want);
    }

    #[test]
    fn automorphisms_match_definition_in_both_forms(log_n in 2u32..=7, g_half in 0usize..128, seed: [u8; 32]) {
        let n = 1usize << log_n;
        let g = (2 * g_half + 1) % (2 * n);
        let b = basis(n, 40, 2);
        let q = b.product(2);
        let mut s = Sampler::from_seed(seed);
        let x = random_poly(&mut s, &b, 2);
        // Definition: a(x^g) with x^n = -1.
        let xb = x.to_biguints().unwrap();
        let mut want = vec![BigUint::ZERO; n];
        for (i, c) in xb.iter().enumerate() {
            let e = i * g % (2 * n);
            if e < n { want[e] = c.clone() } else { want[e - n] = (&q - c) % &q }
        }
        let coeff = x.automorphism(g).unwrap();
        prop_assert_eq!(coeff.to_biguints().unwrap(), want);
        let in_ntt = x.clone().into_ntt().automorphism(g).unwrap();
        prop_assert_eq!(in_ntt, coeff.into_ntt());
    }
}

#[test]
fn automorphisms_compose_and_rotations_have_the_right_order() {
    let n = 64;
    let b = basis(n, 40, 1);
    let x = random_poly(&mut Sampler::from_seed([7; 32]), &b, 1).into_ntt();
    for (g, h) in [(3usize, 5usize), (5, 5), (127, 3), (25, 77)] {
        let gh = g * h % (2 * n);
        assert_eq!(
            x.automorphism(g).unwrap().automorphism(h).unwrap(),
            x.automorphism(gh).unwrap()
        );
    }
    // 5 generates a cyclic group of order n/2; -1 steps undo +1.
    assert_eq!(rotation_galois_element(n, (n / 2) as i64), 1);
    let fwd = rotation_galois_element(n, 3);
    let back = rotation_galois_element(n, -3);
    assert_eq!(fwd * back % (2 * n), 1);
    assert_eq!(x.automorphism(fwd).unwrap().automorphism(back).unwrap(), x);
    let perm = ntt_galois_permutation(n, 5).unwrap();
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
}

#[test]
fn fast_base_conversion_is_x_plus_small_multiple_of_q() {
    let n = 32;
    for k in [1usize, 2, 3, 5] {
        let from = basis(n, 45, k);
        let to_primes = ntt_primes(50, n, 3).unwrap();
        let to: Vec<_> = to_primes
            .iter()
            .map(|&p| hefty_ntt::Modulus::new(p).unwrap())
            .collect();
        let conv = BaseConverter::new(&from, k, &to).unwrap();
        let x = random_poly(&mut Sampler::from_seed([k as u8; 32]), &from, k);
        let out = conv.convert_poly(&x).unwrap();
        let q = from.product(k);
        for (j, xj) in x.to_biguints().unwrap().iter().enumerate() {
            // u = Σ v_i · Q/q_i exactly, with v_i = [x_i · (Q/q_i)^-1]_{q_i}.
            let residues = from.decompose(xj, k);
            let mut u = BigUint::ZERO;
            for (i, m) in from.moduli().iter().enumerate() {
                let q_hat = &q / m.value();
                let q_hat_mod = (&q_hat % m.value())
                    .to_u64_digits()
                    .first()
                    .copied()
                    .unwrap_or(0);
                u += &q_hat * m.mul(residues[i], m.inv(q_hat_mod).unwrap());
            }
            assert_eq!((&u - xj) % &q, BigUint::ZERO, "u = x + αQ");
            assert!(u < &q * k as u64, "α < k");
            for (i, p) in to_primes.iter().enumerate() {
                assert_eq!(BigUint::from(out[i * n + j]), &u % *p);
            }
        }
    }
}

#[test]
fn samplers_have_the_right_distributions() {
    let mut s = Sampler::from_seed([1; 32]);
    let n = 1 << 17; // the most one call draws
    let t = s.ternary(n).unwrap();
    for v in [-1, 0, 1] {
        let f = t.iter().filter(|&&x| x == v).count() as f64 / n as f64;
        assert!((f - 1.0 / 3.0).abs() < 0.01, "P({v}) = {f}");
    }
    assert!(t.iter().all(|x| (-1..=1).contains(x)));
    let e = s.error(n).unwrap();
    let mean = e.iter().sum::<i64>() as f64 / n as f64;
    let var = e.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 0.05, "mean {mean}");
    assert!((var - 10.5).abs() < 0.3, "variance {var} (expected 21/2)");
    assert!(e.iter().all(|x| x.abs() <= 21));
    // Uniform residues: in range, mean near p/2 in every limb.
    let b = basis(1024, 50, 3);
    let u = s.uniform::<Ntt>(&b, 3).unwrap().to_host().unwrap();
    for (i, (m, limb)) in b.moduli().iter().zip(u.chunks_exact(1024)).enumerate() {
        assert!(limb.iter().all(|&x| x < m.value()));
        let mean =
            limb.iter().map(|&x| x as f64).sum::<f64>() / limb.len() as f64 / m.value() as f64;
        assert!(
            (mean - 0.5).abs() < 0.05,
            "limb {i}: normalised mean {mean}"
        );
    }
    assert!(matches!(
        s.centered_binomial(4, 0),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        s.centered_binomial(4, 33),
        Err(Error::InvalidParameters(_))
    ));
    assert!(
        s.centered_binomial(4, 32)
            .unwrap()
            .iter()
            .all(|x| x.abs() <= 32)
    );
    // Seeds are reproducible; OS-seeded samplers differ.
    assert_eq!(
        Sampler::from_seed([9; 32]).ternary(64),
        Sampler::from_seed([9; 32]).ternary(64)
    );
    assert_ne!(Sampler::from_os().seed(), Sampler::from_os().seed());
}

#[test]
fn misuse_gives_typed_errors() {
    let b1 = basis(16, 40, 3);
    let b2 = basis(16, 41, 3); // other primes: another ring (the same primes would be the same ring)
    let mut s = Sampler::from_seed([2; 32]);
    let mut x = random_poly(&mut s, &b1, 3);
    let y = random_poly(&mut s, &b2, 3);
    assert_eq!(x.add_assign(&y), Err(Error::BasisMismatch));
    let low = random_poly(&mut s, &b1, 2);
    assert_eq!(
        x.sub_assign(&low),
        Err(Error::LevelMismatch { left: 3, right: 2 })
    );
    assert_eq!(
        RnsPoly::<Coeff>::zero(&b1, 4).unwrap_err(),
        Error::BadLevel { level: 4, max: 3 }
    );
    assert_eq!(
        RnsPoly::from_i64(&b1, 1, &[1, 2, 3]).unwrap_err(),
        Error::WrongLength {
            expected: 16,
            got: 3
        }
    );
    assert_eq!(
        x.automorphism(4).unwrap_err(),
        Error::BadGaloisElement {
            g: 4,
            n: 16,
            two_n: 32
        }
    );
    assert_eq!(
        x.automorphism(33).unwrap_err(),
        Error::BadGaloisElement {
            g: 33,
            n: 16,
            two_n: 32
        }
    );
    assert_eq!(
        x.truncate_level(0),
        Err(Error::BadLevel { level: 0, max: 3 })
    );
    x.truncate_level(2).unwrap();
    assert_eq!(x.level(), 2);
    let conv = BaseConverter::new(&b1, 3, &[hefty_ntt::Modulus::new(97).unwrap()]).unwrap();
    assert_eq!(
        conv.convert_poly(&x).unwrap_err(),
        Error::LevelMismatch { left: 2, right: 3 }
    );
    assert!(Error::BasisMismatch.to_string().contains("same parameters"));
}

#[test]
fn small_signed_coefficients_roundtrip() {
    let b = basis(8, 30, 3);
    let coeffs = [-5i64, 0, 7, -1, i64::MIN + 1, i64::MAX, 3, -3];
    let p = RnsPoly::from_i64(&b, 3, &coeffs).unwrap();
    let centred = p.to_centered().unwrap();
    for (c, got) in coeffs.iter().zip(&centred) {
        assert_eq!(got, &BigInt::from(*c));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn dropping_the_last_prime_divides_with_rounding(log_n in 2u32..=6, k in 2usize..=4, seed: [u8; 32]) {
        let n = 1 << log_n;
        let b = basis(n, 45, k);
        let x = random_poly(&mut Sampler::from_seed(seed), &b, k);
        let q_last = BigInt::from(b.moduli()[k - 1].value());
        let q_low = BigInt::from(b.product(k - 1));
        let got = x.divide_round_by_last().unwrap();
        prop_assert_eq!(got.level(), k - 1);
        for (xc, g) in x.to_centered().unwrap().iter().zip(got.to_biguints().unwrap()) {
            // (x - [x]_{q_last}) / q_last with the centred residue, exactly.
            let mut r = ((xc % &q_last) + &q_last) % &q_last;
            if &r * 2 > q_last { r -= &q_last; }
            let want = (xc - r) / &q_last;
            let want = ((want % &q_low) + &q_low) % &q_low;
            prop_assert_eq!(BigInt::from(g), want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn monomial_multiplication_is_a_signed_negacyclic_shift(log_n in 1u32..=7, k in 0usize..400, seed: [u8; 32]) {
        let n = 1usize << log_n;
        let b = basis(n, 40, 2);
        let x = random_poly(&mut Sampler::from_seed(seed), &b, 2);
        // Reference: multiply by the polynomial x^(k mod 2n) with the NTT.
        let mut mono = vec![0i64; n];
        let e = k % (2 * n);
        if e < n { mono[e] = 1 } else { mono[e - n] = -1 }
        let mut want = x.clone().into_ntt();
        want.mul_assign(&RnsPoly::from_i64(&b, 2, &mono).unwrap().into_ntt()).unwrap();
        prop_assert_eq!(x.mul_monomial(k).unwrap(), want.into_coeff());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A whole sum of monomial products in one call equals a zero polynomial
    /// plus one `monomial_mul_add` per term (itself held to the NTT product
    /// above): shared shifts, shifts of 0, n and past n, weights of every
    /// size and sign, on 40-bit primes (the vector kernels) and 60-bit ones.
    #[test]
    fn monomial_combinations_match_term_by_term_products(
        log_n in 1u32..=9,
        bits in prop::sample::select(vec![40u32, 60]),
        shape in prop::collection::vec((0usize..3, any::<i64>(), 0usize..5, 0usize..1024), 1..30),
        seed: [u8; 32],
    ) {
        let n = 1usize << log_n;
        let b = basis(n, bits, 3);
        let mut s = Sampler::from_seed(seed);
        let sources: Vec<RnsPoly<Coeff>> = (0..3).map(|_| random_poly(&mut s, &b, 3)).collect();
        let terms: Vec<(&RnsPoly<Coeff>, i64, usize)> = shape
            .iter()
            .map(|&(j, c, kind, k)| {
                // Small weights (±1, the power-of-two case) as well as any.
                let c = if kind < 2 { c.signum() } else { c };
                let k = match kind {
                    0 => 0,
                    1 => n,
                    _ => k % (2 * n),
                };
                (&sources[j], c, k)
            })
            .collect();
        let mut want = RnsPoly::<Coeff>::zero(&b, 3).unwrap();
        for &(src, c, k) in &terms {
            want.monomial_mul_add(src, c, k).unwrap();
        }
        prop_assert_eq!(RnsPoly::monomial_combination(&terms).unwrap(), want);
    }
}

#[test]
fn monomial_combinations_of_nothing_or_of_foreign_polynomials_are_errors() {
    let (a, other) = (basis(16, 40, 2), basis(32, 40, 2));
    let mut s = Sampler::from_seed([1; 32]);
    let (x, y) = (random_poly(&mut s, &a, 2), random_poly(&mut s, &other, 2));
    assert!(RnsPoly::<Coeff>::monomial_combination(&[]).is_err());
    assert!(RnsPoly::monomial_combination(&[(&x, 1, 0), (&y, 1, 0)]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A whole monomial layer equals one monomial combination per row (held
    /// to term-by-term products above): rows sharing inputs, empty rows,
    /// shifts straddling the tiles of the CPU kernel, at degrees below and
    /// above its 2,048-word jobs; rows of 0 to 23 terms, so that layers of
    /// short rows (summed row by row) and of long ones (tiled) both occur.
    #[test]
    fn monomial_layers_match_one_combination_per_row(
        log_n in prop::sample::select(vec![4u32, 7, 12]),
        rows in prop::collection::vec(prop::collection::vec((0usize..4, -3i64..=3, 0usize..8192), 0..24), 1..6),
        seed: [u8; 32],
    ) {
        let n = 1usize << log_n;
        let b = basis(n, 40, 3);
        let mut s = Sampler::from_seed(seed);
        let inputs: Vec<RnsPoly<Coeff>> = (0..4).map(|_| random_poly(&mut s, &b, 3)).collect();
        let shaped: Vec<Vec<(usize, i64, usize)>> = rows
            .iter()
            .map(|r| r.iter().map(|&(j, c, k)| (j, c, k % (2 * n))).collect())
            .collect();
        let refs: Vec<&[(usize, i64, usize)]> = shaped.iter().map(Vec::as_slice).collect();
        let column: Vec<&RnsPoly<Coeff>> = inputs.iter().collect();
        let got = RnsPoly::monomial_layer(&column, &refs).unwrap();
        prop_assert_eq!(got.len(), shaped.len());
        for (row, out) in shaped.iter().zip(&got) {
            let want = if row.is_empty() {
                RnsPoly::<Coeff>::zero(&b, 3).unwrap()
            } else {
                let terms: Vec<(&RnsPoly<Coeff>, i64, usize)> =
                    row.iter().map(|&(j, c, k)| (&inputs[j], c, k)).collect();
                RnsPoly::monomial_combination(&terms).unwrap()
            };
            prop_assert_eq!(out, &want);
        }
    }
}

#[test]
fn monomial_layers_with_missing_inputs_or_large_powers_are_errors() {
    let b = basis(16, 40, 2);
    let x = random_poly(&mut Sampler::from_seed([2; 32]), &b, 2);
    assert!(RnsPoly::<Coeff>::monomial_layer(&[], &[]).is_err());
    assert!(RnsPoly::monomial_layer(&[&x], &[&[(1, 1, 0)]]).is_err());
}
