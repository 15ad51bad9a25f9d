//! The Faster CryptoNets toolkit on BFV: the integer encoder (binary, base-B,
//! balanced) against integer arithmetic, sparse/monomial/dense plaintext
//! products (bit-identical, chosen by measured cost, counted by kind),
//! overflow detection, and several plaintext moduli recombined by CRT.

use std::sync::Arc;

use hefty_core::bfv::{
    CrtBfv, Evaluator, FASTER_CRYPTONETS, IntegerEncoder, Monomials, Parameters, PlainProduct,
    PlainProductCosts, Plaintext, SecretKey,
};
use hefty_core::{Error, Hop, HopCounter, Sampler};
use num_bigint::BigInt;
use proptest::prelude::*;

fn params(t: u64) -> Arc<Parameters> {
    Parameters::builder()
        .degree(1024)
        .plaintext_modulus(t)
        .ciphertext_moduli_bits(&[60, 60, 60])
        .special_moduli_bits(&[61])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

fn encoders(p: &Arc<Parameters>) -> Vec<IntegerEncoder> {
    vec![
        IntegerEncoder::new(p),
        IntegerEncoder::with_base(p, 3).unwrap(),
        IntegerEncoder::with_base(p, 16).unwrap(),
        IntegerEncoder::balanced(p, 5).unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// decode(encode(z)) = z in every digit style, and fixed point rounds to
    /// the nearest multiple of 2^-f.
    #[test]
    fn encode_decode_roundtrip(z in -(1i64 << 45)..(1i64 << 45), x in -1e6f64..1e6) {
        let p = params(1 << 20);
        for enc in encoders(&p) {
            let pt = enc.encode_integer(z).unwrap();
            prop_assert_eq!(enc.decode_integer(&pt).unwrap(), z as i128);
            let f = enc.fractional_bits();
            let got = enc.decode_fixed(&enc.encode_fixed(x).unwrap(), f).unwrap();
            prop_assert_eq!(got, (x * (f as f64).exp2()).round() / (f as f64).exp2());
        }
    }

    /// Encrypted Σ w_i·x_i with integer-encoded weights (sparse, monomial and
    /// dense products alike) decodes to the integer dot product exactly.
    #[test]
    fn encrypted_dot_products_are_exact(
        xs in proptest::collection::vec(-4.0f64..4.0, 1..5),
        ws in proptest::collection::vec(-2.0f64..2.0, 5),
        seed: u8,
    ) {
        let p = params(1 << 40 | 1 << 20 | 1);
        let enc = IntegerEncoder::new(&p);
        let ev = Evaluator::new(&p);
        let mut rng = Sampler::from_seed([seed; 32]);
        let sk = SecretKey::generate(&p, &mut rng);
        let scale = (enc.fractional_bits() as f64).exp2();
        let mut acc = None;
        let mut want: i128 = 0;
        for (&x, &w) in xs.iter().zip(&ws) {
            let ct = sk.encrypt(&enc.encode_fixed(x).unwrap(), &mut rng).unwrap();
            let prod = ev.mul_plain(&ct, &enc.encode_fixed(w).unwrap()).unwrap();
            want += (x * scale).round() as i128 * (w * scale).round() as i128;
            acc = Some(match acc {
                None => prod,
                Some(a) => ev.add(&a, &prod).unwrap(),
            });
        }
        let pt = sk.decrypt(&acc.unwrap()).unwrap();
        prop_assert_eq!(enc.decode_integer(&pt).unwrap(), want);
    }
}

#[test]
fn plaintext_products_choose_their_kind_and_agree() {
    let p = params(65537);
    let counter = Arc::new(HopCounter::default());
    let ev = Evaluator::with_hop_counter(&p, &counter);
    let plain = Evaluator::new(&p);
    let mut rng = Sampler::from_seed([3; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let msg: Vec<u64> = (0..1024).map(|i| (i * 7 + 1) % 65537).collect();
    let ct = sk
        .encrypt(&Plaintext::from_coeffs(&p, &msg).unwrap(), &mut rng)
        .unwrap();
    let costs = p.plain_product_costs();
    assert!(costs.dense_ns > 0.0 && costs.sparse_term_ns > 0.0);
    let mut coeffs = vec![0u64; 1024];
    coeffs[0] = 5;
    let scalar = Plaintext::from_coeffs(&p, &coeffs).unwrap();
    coeffs[0] = 0;
    coeffs[700] = 65537 - 4;
    let monomial = Plaintext::from_coeffs(&p, &coeffs).unwrap();
    coeffs[3] = 2;
    coeffs[999] = 1;
    let sparse = Plaintext::from_coeffs(&p, &coeffs).unwrap();
    let dense = Plaintext::from_coeffs(&p, &msg).unwrap();
    assert_eq!(ev.plain_product(&scalar), PlainProduct::Scalar { c: 5 });
    assert_eq!(
        ev.plain_product(&monomial),
        PlainProduct::Monomial { c: -4, k: 700 }
    );
    assert_eq!(ev.plain_product(&dense), PlainProduct::Dense);
    // Sparse or dense follows the measured costs (timing decides, so the
    // test checks the rule, then the rule itself on fixed costs).
    let want = if 3.0 * costs.sparse_term_ns < costs.dense_ns {
        PlainProduct::Sparse { nonzero: 3 }
    } else {
        PlainProduct::Dense
    };
    assert_eq!(ev.plain_product(&sparse), want);
    let fixed = PlainProductCosts {
        dense_ns: 100.0,
        sparse_term_ns: 10.0,
    };
    let mut c = vec![0i64; 16];
    assert_eq!(fixed.choose(&c), PlainProduct::Scalar { c: 0 });
    c[5] = -2;
    assert_eq!(fixed.choose(&c), PlainProduct::Monomial { c: -2, k: 5 });
    c[0] = 1;
    c[9] = 3;
    assert_eq!(fixed.choose(&c), PlainProduct::Sparse { nonzero: 3 });
    c.iter_mut().for_each(|x| *x = 1);
    assert_eq!(fixed.choose(&c), PlainProduct::Dense);
    for pt in [&scalar, &monomial, &sparse, &dense] {
        let auto = ev.mul_plain(&ct, pt).unwrap();
        let forced_dense = plain
            .mul_plain_prepared(&ct, &plain.prepare_plain(pt, ct.level()).unwrap())
            .unwrap();
        let forced_sparse = plain.mul_sparse(&ct, pt).unwrap();
        for (a, (b, c)) in auto
            .polys()
            .iter()
            .zip(forced_dense.polys().iter().zip(forced_sparse.polys()))
        {
            assert_eq!(a, b, "automatic and dense products differ");
            assert_eq!(a, c, "sparse and dense products differ");
        }
    }
    let counts = counter.totals();
    for kind in [
        Hop::PtCtMulScalar,
        Hop::PtCtMulMonomial,
        Hop::PtCtMulSparse,
        Hop::PtCtMulDense,
    ] {
        assert_eq!(counts.get(kind), 1, "{kind:?}");
    }
}

#[test]
fn overflow_is_detected_not_wrapped() {
    let p = params(65537);
    let enc = IntegerEncoder::new(&p);
    // Bounds: a product whose degree reaches n, coefficients reaching t/2.
    let x = enc.range_of(&enc.encode_integer((1 << 40) - 1).unwrap());
    assert_eq!((x.max_abs(), x.degree(), x.nonzero()), (1, 39, 40));
    assert!(enc.check(&x.mul(&x)).is_ok());
    let mut r = x;
    for _ in 0..30 {
        r = r.mul(&x);
    }
    // Degree 39·31 ≥ n = 1024: the product wrapped around x^n = -1.
    assert!(matches!(enc.check(&r), Err(Error::IntegerOverflow(m)) if m.contains("degree")));
    let wide = enc.range_of(&enc.encode_integer(3).unwrap()).scale(40_000);
    assert!(matches!(enc.check(&wide), Err(Error::IntegerOverflow(m)) if m.contains("t/2")));
    // A decrypted coefficient beyond t/4 is a wrap, reported.
    let mut coeffs = vec![0u64; 1024];
    coeffs[2] = 65537 / 4 + 1;
    let wrapped = Plaintext::from_coeffs(&p, &coeffs).unwrap();
    assert!(matches!(
        enc.decode_integer(&wrapped),
        Err(Error::IntegerOverflow(_))
    ));
    // Encrypted, base 2^14 (one coefficient per value): 200·600 exceeds
    // t/2. The tracked range says so before decryption; after it, the wrapped
    // coefficient (120000 - t = 54463 ≡ -11074) looks legitimate, which is
    // why the range check is the guarantee. 200·230 wraps to -19537, beyond
    // t/4, and decoding refuses it.
    let enc14 = IntegerEncoder::with_base(&p, 1 << 14).unwrap();
    let ev = Evaluator::new(&p);
    let mut rng = Sampler::from_seed([4; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let (a, b) = (
        enc14.encode_integer(200).unwrap(),
        enc14.encode_integer(600).unwrap(),
    );
    assert!(
        enc14
            .check(&enc14.range_of(&a).mul(&enc14.range_of(&b)))
            .is_err()
    );
    let ct = sk.encrypt(&a, &mut rng).unwrap();
    let prod = ev
        .mul_plain(&ct, &enc14.encode_integer(230).unwrap())
        .unwrap();
    assert!(matches!(
        enc14.decode_integer(&sk.decrypt(&prod).unwrap()),
        Err(Error::IntegerOverflow(_))
    ));
    // Bad encoders.
    assert!(IntegerEncoder::with_base(&p, 1).is_err());
    assert!(IntegerEncoder::with_base(&p, 40_000).is_err());
    assert!(IntegerEncoder::balanced(&p, 4).is_err());
    assert!(IntegerEncoder::new(&p).with_fractional_bits(60).is_err());
    assert!(matches!(
        enc.encode_fixed(f64::NAN),
        Err(Error::IntegerOverflow(_))
    ));
}

#[test]
fn crt_recombines_beyond_each_plaintext_modulus() {
    let crt = CrtBfv::faster_cryptonets().unwrap();
    assert_eq!(crt.parts().len(), 2);
    let mut rng = Sampler::from_seed([5; 32]);
    let sk = crt.secret_key(&mut rng);
    let pk = crt.public_key(&sk, &mut rng).unwrap();
    // (x0 + x1·X)·(y0): coefficients near 2^60 and 2^61, beyond either t
    // (~2^40) but inside their product (~2^80).
    let (x, y) = ([1i64 << 30, -(3i64 << 30)], [1i64 << 30]);
    let cx = crt.encrypt_public(&pk, &x, &mut rng).unwrap();
    let cy = crt.encrypt(&sk, &y, &mut rng).unwrap();
    let prod = crt.evaluate(|i, ev| ev.multiply(&cx[i], &cy[i])).unwrap();
    let out = crt.decrypt(&sk, &prod).unwrap();
    assert_eq!(out[0], BigInt::from(1i64 << 60));
    assert_eq!(out[1], BigInt::from(-(3i64 << 60)));
    assert!(out[2..].iter().all(|c| *c == BigInt::from(0)));
    assert_eq!(
        crt.plaintext_product(),
        &(num_bigint::BigUint::from(FASTER_CRYPTONETS.plaintext_moduli[0])
            * FASTER_CRYPTONETS.plaintext_moduli[1])
    );
    // Misuse: wrong number of parts, moduli sharing a factor.
    assert!(crt.decrypt(&sk[..1], &prod).is_err());
    let builder = Parameters::builder()
        .degree(1024)
        .insecure_disable_security_check_for_testing_only();
    assert!(CrtBfv::new(builder, &[65537, 65537 * 3]).is_err());
}

/// `linear_combination_monomial` is the sum of the sparse products of its
/// terms, ciphertext for ciphertext; ±1 counts as no product, one monomial
/// as a monomial product, more as a sparse one.
#[test]
fn monomial_linear_combination_is_the_sum_of_sparse_products() {
    let p = params(65537);
    let mut rng = Sampler::from_seed([5; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let enc = IntegerEncoder::new(&p);
    let counter = Arc::new(HopCounter::default());
    let ev = Evaluator::with_hop_counter(&p, &counter);
    let cts: Vec<_> = [3i64, -17, 100]
        .iter()
        .map(|&z| {
            sk.encrypt(&enc.encode_integer(z).unwrap(), &mut rng)
                .unwrap()
        })
        .collect();
    // 1 = x^0, -8 = -x^3, 5 = x^2 + x^0.
    let weights: [&[(i64, usize)]; 3] = [&[(1, 0)], &[(-1, 3)], &[(1, 2), (1, 0)]];
    let terms: Vec<_> = cts.iter().zip(weights).collect();
    let got = ev.linear_combination_monomial(&terms).unwrap();
    let counts = counter.totals();
    assert_eq!(counts.get(Hop::PtCtMulMonomial), 1);
    assert_eq!(counts.get(Hop::PtCtMulSparse), 1);
    assert_eq!(counts.get(Hop::CtCtAdd), 2);
    let mut want = ev
        .mul_sparse(&cts[0], &enc.encode_integer(1).unwrap())
        .unwrap();
    for (ct, w) in [(&cts[1], -8), (&cts[2], 5)] {
        let term = ev.mul_sparse(ct, &enc.encode_integer(w).unwrap()).unwrap();
        want = ev.add(&want, &term).unwrap();
    }
    assert_eq!(got.polys(), want.polys());
    let pt = sk.decrypt(&got).unwrap();
    assert_eq!(enc.decode_integer(&pt).unwrap(), 3 + 17 * 8 + 500);
    // A monomial beyond the ring is refused.
    let far: &[(i64, usize)] = &[(1, 1024)];
    assert!(ev.linear_combination_monomial(&[(&cts[0], far)]).is_err());
    assert!(ev.linear_combination_monomial(&[]).is_err());
}

/// BFV's whole-layer pass equals its per-row linear combinations.
#[test]
fn bfv_linear_layer_equals_its_rows() {
    let p = params(65537);
    let mut rng = Sampler::from_seed([6; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let enc = IntegerEncoder::new(&p);
    let ev = Evaluator::new(&p);
    let cts: Vec<_> = [3i64, -17, 100, 5]
        .iter()
        .map(|&z| {
            sk.encrypt(&enc.encode_integer(z).unwrap(), &mut rng)
                .unwrap()
        })
        .collect();
    let rows: [&[(usize, i64)]; 3] = [&[(0, 2), (3, -1)], &[], &[(1, 65536), (2, 40000)]];
    let layer = ev.linear_layer(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer).filter(|(r, _)| !r.is_empty()) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        assert_eq!(got.polys(), ev.linear_combination(&terms).unwrap().polys());
    }
    assert_eq!(
        enc.decode_integer(&sk.decrypt(&layer[1]).unwrap()).unwrap(),
        0
    );
    assert_eq!(
        enc.decode_integer(&sk.decrypt(&layer[0]).unwrap()).unwrap(),
        1
    );
}

/// BFV's whole-layer monomial pass equals its per-row monomial
/// combinations, ciphertext for ciphertext, with the same HOP counts, and
/// decrypts to the integer sums.
#[test]
fn bfv_monomial_layer_equals_its_rows() {
    let p = params(65537);
    let mut rng = Sampler::from_seed([7; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let enc = IntegerEncoder::new(&p);
    let (by_layer, by_rows) = (
        Arc::new(HopCounter::default()),
        Arc::new(HopCounter::default()),
    );
    let (ev, ev_rows) = (
        Evaluator::with_hop_counter(&p, &by_layer),
        Evaluator::with_hop_counter(&p, &by_rows),
    );
    let cts: Vec<_> = [3i64, -17, 100, 5]
        .iter()
        .map(|&z| {
            sk.encrypt(&enc.encode_integer(z).unwrap(), &mut rng)
                .unwrap()
        })
        .collect();
    // 2 = x^1, -8 = -x^3, 5 = x^2 + x^0, 1 = x^0, -1.
    let two: Monomials<'_> = &[(1, 1)];
    let minus_eight: Monomials<'_> = &[(-1, 3)];
    let five: Monomials<'_> = &[(1, 2), (1, 0)];
    let one: Monomials<'_> = &[(1, 0)];
    let minus_one: Monomials<'_> = &[(-1, 0)];
    let rows: [&[(usize, Monomials<'_>)]; 3] = [
        &[(0, two), (3, minus_one)],
        &[],
        &[(1, minus_eight), (2, five), (1, one)],
    ];
    let layer = ev.linear_layer_monomial(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer).filter(|(r, _)| !r.is_empty()) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        assert_eq!(
            got.polys(),
            ev_rows.linear_combination_monomial(&terms).unwrap().polys()
        );
    }
    let (a, b) = (by_layer.totals(), by_rows.totals());
    for hop in [Hop::PtCtMulMonomial, Hop::PtCtMulSparse, Hop::CtCtAdd] {
        assert_eq!(a.get(hop), b.get(hop), "{hop:?}");
    }
    let decoded: Vec<i128> = layer
        .iter()
        .map(|ct| enc.decode_integer(&sk.decrypt(ct).unwrap()).unwrap())
        .collect();
    assert_eq!(decoded, vec![6 - 5, 0, 17 * 8 + 500 - 17]);
    // A monomial beyond the ring and an input that does not exist are refused.
    let far: &[(i64, usize)] = &[(1, 1024)];
    assert!(ev.linear_layer_monomial(&cts, &[&[(0, far)]]).is_err());
    assert!(ev.linear_layer_monomial(&cts, &[&[(4, one)]]).is_err());
    assert!(ev.linear_layer_monomial(&[], &[]).is_err());
}

/// Combinations take an unrelinearized product (three polynomials) beside
/// fresh ciphertexts (two): the layer passes equal their rows bit for bit,
/// every output decrypts to the integer sum, and relinearizing afterwards
/// changes nothing — so a network needs to relinearize only before its
/// next product.
#[test]
fn combinations_mix_products_and_fresh_ciphertexts() {
    let p = params(65537);
    let mut rng = Sampler::from_seed([8; 32]);
    let sk = SecretKey::generate(&p, &mut rng);
    let rk = hefty_core::bfv::RelinearizationKey::new(&sk, &mut rng).unwrap();
    let enc = IntegerEncoder::new(&p);
    let ev = Evaluator::new(&p);
    let fresh: Vec<_> = [3i64, -17, 100, 5]
        .iter()
        .map(|&z| {
            sk.encrypt(&enc.encode_integer(z).unwrap(), &mut rng)
                .unwrap()
        })
        .collect();
    // Input 1 is (-17)² = 289, unrelinearized.
    let square = ev.square(&fresh[1]).unwrap();
    assert_eq!(square.len(), 3);
    let cts = vec![fresh[0].clone(), square, fresh[2].clone(), fresh[3].clone()];
    let values = [3i128, 289, 100, 5];
    // A layer's outputs all have the layer's width: a row of shorter
    // inputs gets zeros past its own.
    let zero = hefty_core::RnsPoly::<hefty_core::Coeff>::zero(p.ciphertext_basis(), 3).unwrap();
    let assert_same = |layer: &hefty_core::bfv::Ciphertext, row: &hefty_core::bfv::Ciphertext| {
        assert_eq!(layer.len(), 3);
        assert_eq!(&layer.polys()[..row.len()], row.polys());
        assert!(layer.polys()[row.len()..].iter().all(|q| *q == zero));
    };
    let decode =
        |ct: &hefty_core::bfv::Ciphertext| enc.decode_integer(&sk.decrypt(ct).unwrap()).unwrap();

    let rows: [&[(usize, i64)]; 3] = [&[(0, 2), (3, -1)], &[(1, 3), (2, -2)], &[(1, -1)]];
    let layer = ev.linear_layer(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        let by_row = ev.linear_combination(&terms).unwrap();
        assert_same(got, &by_row);
        let width = row.iter().map(|&(j, _)| cts[j].len()).max().unwrap();
        assert_eq!(by_row.len(), width);
        let want: i128 = row.iter().map(|&(j, w)| values[j] * w as i128).sum();
        assert_eq!(decode(got), want);
        assert_eq!(decode(&ev.relinearize(got, &rk).unwrap()), want);
    }

    let two: Monomials<'_> = &[(1, 1)];
    let five: Monomials<'_> = &[(1, 2), (1, 0)];
    let minus_one: Monomials<'_> = &[(-1, 0)];
    let rows: [&[(usize, Monomials<'_>)]; 3] = [
        &[(0, two), (3, minus_one)],
        &[(1, five), (2, two)],
        &[(2, minus_one), (1, two)],
    ];
    let weight = |m: Monomials<'_>| m.iter().map(|&(c, k)| (c as i128) << k).sum::<i128>();
    let layer = ev.linear_layer_monomial(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        let by_row = ev.linear_combination_monomial(&terms).unwrap();
        assert_same(got, &by_row);
        let want: i128 = row.iter().map(|&(j, w)| values[j] * weight(w)).sum();
        assert_eq!(decode(got), want);
        assert_eq!(decode(&ev.relinearize(got, &rk).unwrap()), want);
    }
    // A product's third polynomial past a shorter operand's end is its own.
    let sum = ev.add(&fresh[0], &cts[1]).unwrap();
    let combined = ev
        .linear_combination(&[(&fresh[0], 1), (&cts[1], 1)])
        .unwrap();
    assert_eq!(sum.polys(), combined.polys());
}
