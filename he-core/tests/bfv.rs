//! BFV against plaintext references: every result decrypts to the plaintext
//! computation mod t, noise budgets meet their worst-case bounds, and misuse
//! returns typed errors.

use std::sync::Arc;

use hefty_core::bfv::{
    Ciphertext, Encoder, Evaluator, Parameters, Plaintext, PublicKey, SecretKey,
    moduli_dividing_q_minus_one,
};
use hefty_core::{Error, Sampler, SecurityLevel};
use hefty_ntt::ntt_primes;
use proptest::prelude::*;

/// Maximum magnitude of one error coefficient (centred binomial, η = 21).
const ETA: f64 = 21.0;

/// Small, insecure parameters for fast property tests: degree n, plaintext
/// modulus t, `k` ciphertext primes of `bits` bits.
fn toy(n: usize, t: u64, k: usize, bits: u32) -> Arc<Parameters> {
    Parameters::builder()
        .degree(n)
        .plaintext_modulus(t)
        .ciphertext_moduli_bits(&vec![bits; k])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

fn keys(params: &Arc<Parameters>, seed: u8) -> (SecretKey, PublicKey, Sampler) {
    let mut rng = Sampler::from_seed([seed; 32]);
    let sk = SecretKey::generate(params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    (sk, pk, rng)
}

fn negacyclic_mod_t(a: &[u64], b: &[u64], t: u64) -> Vec<u64> {
    let n = a.len();
    let mut c = vec![0u128; n];
    let t = t as u128;
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            let p = x as u128 * y as u128 % t;
            if i + j < n {
                c[i + j] = (c[i + j] + p) % t
            } else {
                c[i + j - n] = (c[i + j - n] + t - p) % t
            }
        }
    }
    c.into_iter().map(|x| x as u64).collect()
}

/// Worst-case fresh budget of a public-key encryption:
/// `log2 Q - log2(t·(2n+1)·η + t²) - 1`.
fn fresh_pk_bound(params: &Parameters) -> f64 {
    let (n, t) = (params.degree() as f64, params.plaintext_modulus() as f64);
    params.log_q() - (t * (2.0 * n + 1.0) * ETA + t * t).log2() - 1.0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn batch_encoding_roundtrips(log_n in 4u32..=10, seed: [u8; 32]) {
        let n = 1 << log_n;
        let t = ntt_primes(20, n, 1).unwrap()[0];
        let params = toy(n, t, 2, 50);
        let enc = Encoder::new(&params).unwrap();
        let mut rng = Sampler::from_seed(seed);
        let values: Vec<u64> = rng.uniform::<hefty_core::Coeff>(&Arc::new(hefty_core::RnsBasis::new(n, &[t]).unwrap()), 1).unwrap().to_host().unwrap();
        let pt = enc.encode(&values).unwrap();
        prop_assert_eq!(enc.decode(&pt).unwrap(), values);
    }

    #[test]
    fn encryption_roundtrips_and_linear_ops_match_plaintext(
        log_n in 4u32..=9, k in 1usize..=3, t_kind in 0usize..3, seed: u8, scalar: u64,
    ) {
        let n = 1usize << log_n;
        // A batching prime, a power of two, and an odd composite.
        let t = [ntt_primes(17, n, 1).unwrap()[0], 1 << 10, 3 * 5 * 7 * 11][t_kind];
        let params = toy(n, t, k, 55);
        let (sk, pk, mut rng) = keys(&params, seed);
        let eval = Evaluator::new(&params);
        let rand_pt = |rng: &mut Sampler| {
            let v: Vec<u64> = rng.ternary(n).unwrap().iter().zip(rng.error(n).unwrap()).map(|(a, b)| ((a * 1000 + b * 37).rem_euclid(t as i64)) as u64).collect();
            Plaintext::from_coeffs(&params, &v).unwrap()
        };
        let (ma, mb) = (rand_pt(&mut rng), rand_pt(&mut rng));
        let a = pk.encrypt(&ma, &mut rng).unwrap();
        let b = sk.encrypt(&mb, &mut rng).unwrap();
        prop_assert!(b.seed().is_some() && a.seed().is_none());
        prop_assert_eq!(sk.decrypt(&a).unwrap(), ma.clone());
        prop_assert_eq!(sk.decrypt(&b).unwrap(), mb.clone());

        let coeff_op = |f: &dyn Fn(u64, u64) -> u64| -> Vec<u64> {
            ma.coeffs().iter().zip(mb.coeffs()).map(|(&x, &y)| f(x, y)).collect()
        };
        let sum = eval.add(&a, &b).unwrap();
        prop_assert_eq!(sk.decrypt(&sum).unwrap().coeffs().to_vec(), coeff_op(&|x, y| (x + y) % t));
        prop_assert!(sum.seed().is_none());
        let diff = eval.sub(&a, &b).unwrap();
        prop_assert_eq!(sk.decrypt(&diff).unwrap().coeffs().to_vec(), coeff_op(&|x, y| (x + t - y) % t));
        let neg = eval.negate(&a).unwrap();
        prop_assert_eq!(sk.decrypt(&neg).unwrap().coeffs().to_vec(), coeff_op(&|x, _| (t - x) % t));
        let plus_pt = eval.add_plain(&a, &mb).unwrap();
        prop_assert_eq!(sk.decrypt(&plus_pt).unwrap().coeffs().to_vec(), coeff_op(&|x, y| (x + y) % t));
        let minus_pt = eval.sub_plain(&a, &mb).unwrap();
        prop_assert_eq!(sk.decrypt(&minus_pt).unwrap().coeffs().to_vec(), coeff_op(&|x, y| (x + t - y) % t));
        let scaled = eval.mul_scalar(&a, scalar).unwrap();
        let c = scalar % t;
        prop_assert_eq!(sk.decrypt(&scaled).unwrap().coeffs().to_vec(), coeff_op(&|x, _| ((x as u128 * c as u128) % t as u128) as u64));
        let prod = eval.mul_plain(&a, &mb).unwrap();
        prop_assert_eq!(sk.decrypt(&prod).unwrap().coeffs().to_vec(), negacyclic_mod_t(ma.coeffs(), mb.coeffs(), t));
    }
}

#[test]
fn batch_slots_rotate_under_galois_five_and_swap_under_minus_one() {
    // The slot layout rotation keys will rely on: σ_5 rotates both rows left
    // by one, σ_{2n-1} swaps the rows.
    let n = 64;
    let t = ntt_primes(20, n, 1).unwrap()[0];
    let params = toy(n, t, 1, 50);
    let enc = Encoder::new(&params).unwrap();
    let values: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
    let pt = enc.encode(&values).unwrap();
    let sigma = |g: usize| {
        let mut out = vec![0u64; n];
        for (i, &c) in pt.coeffs().iter().enumerate() {
            let e = i * g % (2 * n);
            if e < n {
                out[e] = c
            } else {
                out[e - n] = (t - c) % t
            }
        }
        enc.decode(&Plaintext::from_coeffs(&params, &out).unwrap())
            .unwrap()
    };
    let half = n / 2;
    let rotated = sigma(5);
    for j in 0..half {
        assert_eq!(rotated[j], values[(j + 1) % half], "row 0 slot {j}");
        assert_eq!(
            rotated[half + j],
            values[half + (j + 1) % half],
            "row 1 slot {j}"
        );
    }
    let swapped = sigma(2 * n - 1);
    assert_eq!(&swapped[..half], &values[half..]);
    assert_eq!(&swapped[half..], &values[..half]);
}

#[test]
fn preset_8192_noise_meets_its_bounds() {
    let params = Parameters::preset_128(8192).unwrap();
    assert_eq!(params.security(), Some(SecurityLevel::Bits128));
    assert!(
        params.log_qp() <= 218.0 && params.log_qp() > 217.0,
        "log QP = {}",
        params.log_qp()
    );
    let (sk, pk, mut rng) = keys(&params, 42);
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let t = params.plaintext_modulus();
    let xs: Vec<u64> = (0..8192u64).map(|i| (i * i + 7) % t).collect();
    let ys: Vec<u64> = (0..8192u64).map(|i| (3 * i + 11) % t).collect();
    let (px, py) = (enc.encode(&xs).unwrap(), enc.encode(&ys).unwrap());
    let a = pk.encrypt(&px, &mut rng).unwrap();
    let b = pk.encrypt(&py, &mut rng).unwrap();

    let fresh = sk.noise_budget(&a).unwrap();
    let bound = fresh_pk_bound(&params);
    assert!(
        fresh >= bound,
        "fresh budget {fresh:.1} below the worst-case bound {bound:.1}"
    );
    assert!(fresh <= params.log_q(), "budget {fresh:.1} exceeds log2 Q");

    let sum = eval.add(&a, &b).unwrap();
    let after_add = sk.noise_budget(&sum).unwrap();
    assert!(
        after_add >= fresh.min(sk.noise_budget(&b).unwrap()) - 1.0,
        "add spent more than one bit"
    );
    assert_eq!(
        enc.decode(&sk.decrypt(&sum).unwrap()).unwrap(),
        xs.iter()
            .zip(&ys)
            .map(|(x, y)| (x + y) % t)
            .collect::<Vec<_>>()
    );

    let prod = eval.mul_plain(&a, &py).unwrap();
    let after_mul = sk.noise_budget(&prod).unwrap();
    let growth = (params.degree() as f64 * t as f64 / 2.0).log2() + 1.0;
    assert!(
        after_mul >= fresh - growth,
        "mul_plain spent {:.1} bits, bound {growth:.1}",
        fresh - after_mul
    );
    assert!(after_mul > 0.0);
    assert_eq!(
        enc.decode(&sk.decrypt(&prod).unwrap()).unwrap(),
        xs.iter()
            .zip(&ys)
            .map(|(x, y)| x * y % t)
            .collect::<Vec<_>>()
    );

    // Symmetric encryption has less noise: only e.
    let c = sk.encrypt(&px, &mut rng).unwrap();
    let sk_bound = params.log_q() - (t as f64 * ETA + (t * t) as f64).log2() - 1.0;
    assert!(sk.noise_budget(&c).unwrap() >= sk_bound);
}

#[test]
fn presets_build_for_every_supported_degree() {
    for n in [4096, 8192, 16384, 32768] {
        let p = Parameters::preset_128(n).unwrap();
        let max = SecurityLevel::Bits128.max_log_qp(n).unwrap() as f64;
        assert!(
            p.log_qp() <= max && p.log_qp() > max - 2.0,
            "n = {n}: log QP = {}",
            p.log_qp()
        );
        assert!(p.batching_plan().is_some());
    }
    assert!(matches!(
        Parameters::preset_128(2048),
        Err(Error::InvalidParameters(_))
    ));
}

#[test]
fn misuse_returns_typed_errors() {
    let p1 = toy(16, 97, 2, 40);
    // Other primes: other mathematics (equal parameter sets interoperate,
    // see `parameters_equal_by_value_work_together`).
    let p2 = toy(16, 97, 2, 41);
    let (sk1, pk1, mut rng) = keys(&p1, 1);
    let (_sk2, pk2, _) = keys(&p2, 2);
    let pt1 = Plaintext::from_coeffs(&p1, &[1, 2, 3]).unwrap();
    let pt2 = Plaintext::from_coeffs(&p2, &[1, 2, 3]).unwrap();
    // Foreign plaintext, foreign key, foreign ciphertext.
    assert_eq!(
        pk1.encrypt(&pt2, &mut rng).unwrap_err(),
        Error::ParameterMismatch
    );
    let c2 = pk2.encrypt(&pt2, &mut rng).unwrap();
    assert_eq!(sk1.decrypt(&c2).unwrap_err(), Error::ParameterMismatch);
    let c1: Ciphertext = pk1.encrypt(&pt1, &mut rng).unwrap();
    let eval = Evaluator::new(&p1);
    assert_eq!(eval.add(&c1, &c2).unwrap_err(), Error::ParameterMismatch);
    assert_eq!(
        eval.mul_plain(&c1, &pt2).unwrap_err(),
        Error::ParameterMismatch
    );
    assert_eq!(
        Evaluator::new(&p2).negate(&c1).unwrap_err(),
        Error::ParameterMismatch
    );
    // Malformed plaintexts.
    assert!(matches!(
        Plaintext::from_coeffs(&p1, &[97]),
        Err(Error::InvalidParameters(_))
    ));
    assert_eq!(
        Plaintext::from_coeffs(&p1, &[0; 17]).unwrap_err(),
        Error::WrongLength {
            expected: 16,
            got: 17
        }
    );
    // Batching needs t = 1 mod 2n.
    let msg = Encoder::new(&toy(16, 1 << 10, 1, 40))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("batching") && msg.contains("65537"), "{msg}");
    let batching = toy(16, 97, 1, 40);
    let enc = Encoder::new(&batching).unwrap();
    assert!(matches!(
        enc.encode(&[97]),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        enc.encode_i64(&[49]),
        Err(Error::InvalidParameters(_))
    ));
    assert_eq!(
        enc.decode_i64(&enc.encode_i64(&[-48, 48, -1]).unwrap())
            .unwrap()[..3],
        [-48, 48, -1]
    );
    // Insecure parameters without the opt-out.
    let insecure = Parameters::builder()
        .degree(4096)
        .ciphertext_moduli_bits(&[60, 60])
        .build();
    assert!(matches!(
        insecure,
        Err(Error::Insecure {
            n: 4096,
            bits: 128,
            max_log_qp: Some(109),
            ..
        })
    ));
    let tiny = Parameters::builder()
        .degree(64)
        .ciphertext_moduli_bits(&[30])
        .build();
    assert!(matches!(
        tiny,
        Err(Error::Insecure {
            max_log_qp: None,
            ..
        })
    ));
    let too_big_t = Parameters::builder()
        .degree(16)
        .plaintext_modulus(1 << 45)
        .ciphertext_moduli_bits(&[40])
        .insecure_disable_security_check_for_testing_only()
        .build();
    assert!(matches!(too_big_t, Err(Error::InvalidParameters(_))));
    // The secret key never prints its coefficients.
    assert_eq!(format!("{sk1:?}"), "SecretKey(<redacted>)");
}

/// Toy parameters with a special prime, for key switching.
fn toy_ks(n: usize, t: u64, k: usize) -> Arc<Parameters> {
    Parameters::builder()
        .degree(n)
        .plaintext_modulus(t)
        .ciphertext_moduli_bits(&vec![50; k])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

fn rotate_left(values: &[u64], steps: i64) -> Vec<u64> {
    let half = values.len() / 2;
    let r = steps.rem_euclid(half as i64) as usize;
    let mut out = Vec::with_capacity(values.len());
    for row in 0..2 {
        let row_vals = &values[row * half..(row + 1) * half];
        out.extend((0..half).map(|j| row_vals[(j + r) % half]));
    }
    out
}

#[test]
fn rotations_match_plaintext_rotations() {
    use hefty_core::bfv::GaloisKeys;
    let n = 128;
    let t = ntt_primes(20, n, 1).unwrap()[0];
    let params = toy_ks(n, t, 3);
    let (sk, pk, mut rng) = keys(&params, 11);
    let steps = [1i64, -1, 3, 17, 63, -40];
    let gk = GaloisKeys::new(&sk, &steps, true, &mut rng).unwrap();
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let values: Vec<u64> = (0..n as u64).map(|i| (i * 31 + 5) % t).collect();
    let ct = pk.encrypt(&enc.encode(&values).unwrap(), &mut rng).unwrap();
    for s in steps {
        let r = eval.rotate_rows(&ct, s, &gk).unwrap();
        assert_eq!(
            enc.decode(&sk.decrypt(&r).unwrap()).unwrap(),
            rotate_left(&values, s),
            "steps {s}"
        );
    }
    // Rotations compose: 1 then -1 is the identity; 0 needs no key.
    let back = eval
        .rotate_rows(&eval.rotate_rows(&ct, 1, &gk).unwrap(), -1, &gk)
        .unwrap();
    assert_eq!(enc.decode(&sk.decrypt(&back).unwrap()).unwrap(), values);
    assert_eq!(eval.rotate_rows(&ct, 0, &gk).unwrap(), ct);
    let swapped = eval.rotate_columns(&ct, &gk).unwrap();
    let dec = enc.decode(&sk.decrypt(&swapped).unwrap()).unwrap();
    assert_eq!(&dec[..n / 2], &values[n / 2..]);
    assert_eq!(&dec[n / 2..], &values[..n / 2]);
    // Only the keys asked for exist.
    let missing = eval.rotate_rows(&ct, 2, &gk).unwrap_err();
    assert!(
        matches!(missing, Error::MissingGaloisKey { steps: Some(2), .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("generate GaloisKeys"));
    let no_swap = GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    assert!(matches!(
        eval.rotate_columns(&ct, &no_swap),
        Err(Error::MissingGaloisKey { steps: None, .. })
    ));
    assert_eq!(no_swap.elements().count(), 1);
    // Parameters without special primes cannot make rotation keys.
    let plain = toy(n, t, 2, 50);
    let (sk2, _, mut rng2) = keys(&plain, 3);
    assert!(matches!(
        GaloisKeys::new(&sk2, &[1], false, &mut rng2),
        Err(Error::InvalidParameters(_))
    ));
}

#[test]
fn preset_8192_rotation_noise_meets_its_bound() {
    use hefty_core::bfv::GaloisKeys;
    let params = Parameters::preset_128(8192).unwrap();
    let (sk, pk, mut rng) = keys(&params, 12);
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let values: Vec<u64> = (0..8192u64)
        .map(|i| i % params.plaintext_modulus())
        .collect();
    let ct = pk.encrypt(&enc.encode(&values).unwrap(), &mut rng).unwrap();
    let rotated = eval.rotate_rows(&ct, 1, &gk).unwrap();
    assert_eq!(
        enc.decode(&sk.decrypt(&rotated).unwrap()).unwrap(),
        rotate_left(&values, 1)
    );
    // Key switching adds at most (Σ_digits n·α·η·ceil(D/P) + (n+1)·2)·t to
    // [t·phase]_Q; with one 44-bit special prime (the largest prime chosen)
    // and four digits of one prime each, every digit is below P.
    let n = 8192.0;
    let t = params.plaintext_modulus() as f64;
    let ks_noise = (4.0 * n * ETA + (n + 1.0) * 2.0) * t;
    let before = sk.noise_budget(&ct).unwrap();
    let fresh_noise = 2f64.powf(params.log_q() - before - 1.0);
    let bound = params.log_q() - (fresh_noise + ks_noise).log2() - 1.0;
    let p = params.special_primes()[0];
    assert!(
        params
            .ciphertext_basis()
            .moduli()
            .iter()
            .all(|m| m.value() < p),
        "digits below P"
    );
    let after = sk.noise_budget(&rotated).unwrap();
    assert!(
        after >= bound - 0.01,
        "rotation budget {after:.1} below bound {bound:.1} (fresh {before:.1})"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn multiplication_matches_plaintext_products(log_n in 3u32..=8, k in 1usize..=4, t_kind in 0usize..3, seed: u8) {
        use hefty_core::bfv::RelinearizationKey;
        let n = 1usize << log_n;
        let t = [ntt_primes(17, n, 1).unwrap()[0], 1 << 8, 3 * 5 * 7][t_kind];
        let params = toy_ks(n, t, k.max(2));
        let (sk, pk, mut rng) = keys(&params, seed);
        let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
        let eval = Evaluator::new(&params);
        let rand_pt = |rng: &mut Sampler| {
            let v: Vec<u64> = rng.error(n).unwrap().iter().map(|&e| (e * 12345).rem_euclid(t as i64) as u64).collect();
            Plaintext::from_coeffs(&params, &v).unwrap()
        };
        let (ma, mb) = (rand_pt(&mut rng), rand_pt(&mut rng));
        let (a, b) = (pk.encrypt(&ma, &mut rng).unwrap(), pk.encrypt(&mb, &mut rng).unwrap());
        let want = negacyclic_mod_t(ma.coeffs(), mb.coeffs(), t);
        let three = eval.multiply(&a, &b).unwrap();
        prop_assert_eq!(three.len(), 3);
        prop_assert_eq!(sk.decrypt(&three).unwrap().coeffs().to_vec(), want.clone());
        let two = eval.relinearize(&three, &rk).unwrap();
        prop_assert_eq!(sk.decrypt(&two).unwrap().coeffs().to_vec(), want.clone());
        prop_assert_eq!(sk.decrypt(&eval.multiply_relin(&a, &b, &rk).unwrap()).unwrap().coeffs().to_vec(), want);
        // A square extends its input once: the same polynomials as the
        // product of two copies, bit for bit, and the plaintext square.
        let square = eval.square(&a).unwrap();
        prop_assert_eq!(&square, &eval.multiply(&a, &a.clone()).unwrap());
        prop_assert_eq!(sk.decrypt(&square).unwrap().coeffs().to_vec(), negacyclic_mod_t(ma.coeffs(), ma.coeffs(), t));
        prop_assert_eq!(eval.square_relin(&a, &rk).unwrap(), eval.relinearize(&square, &rk).unwrap());
    }
}

#[test]
fn preset_8192_depth_four_chain_decrypts() {
    use hefty_core::bfv::RelinearizationKey;
    let params = Parameters::preset_128(8192).unwrap();
    let (sk, pk, mut rng) = keys(&params, 21);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let t = params.plaintext_modulus();
    let xs: Vec<u64> = (0..8192u64).map(|i| (i % 13) + 2).collect();
    let x = pk.encrypt(&enc.encode(&xs).unwrap(), &mut rng).unwrap();
    // x^2, x^4, x^8, x^16: four sequential multiplications.
    let mut acc = x;
    let mut want = xs.clone();
    let mut budgets = vec![sk.noise_budget(&acc).unwrap()];
    for depth in 1..=4 {
        acc = eval.multiply_relin(&acc, &acc, &rk).unwrap();
        want = want.iter().map(|&w| w * w % t).collect();
        budgets.push(sk.noise_budget(&acc).unwrap());
        assert_eq!(
            enc.decode(&sk.decrypt(&acc).unwrap()).unwrap(),
            want,
            "depth {depth}, budgets {budgets:?}"
        );
    }
    // Each squaring spends at most log2(t·n·(2 + n)) + 2 bits (the product of
    // two noisy encryptions with ternary s), asserted against the measurement.
    let n = 8192f64;
    let per_mul = (t as f64 * n * (2.0 + n)).log2() + 2.0;
    for w in budgets.windows(2) {
        assert!(
            w[0] - w[1] <= per_mul,
            "one multiplication spent {:.1} bits, bound {per_mul:.1}",
            w[0] - w[1]
        );
    }
    assert!(budgets[4] > 0.0, "budgets {budgets:?}");
}

#[test]
fn modulus_switching_keeps_the_plaintext_at_every_level() {
    use hefty_core::bfv::{GaloisKeys, RelinearizationKey};
    let n = 64;
    let t = ntt_primes(17, n, 1).unwrap()[0];
    let params = toy_ks(n, t, 4);
    let (sk, pk, mut rng) = keys(&params, 31);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let values: Vec<u64> = (0..n as u64).map(|i| (i * 5 + 3) % t).collect();
    let ct = pk.encrypt(&enc.encode(&values).unwrap(), &mut rng).unwrap();
    let squared = eval.multiply_relin(&ct, &ct, &rk).unwrap();
    let sq_values: Vec<u64> = values.iter().map(|v| v * v % t).collect();
    for level in (1..=4).rev() {
        let low = eval.mod_switch_to(&ct, level).unwrap();
        assert_eq!(low.level(), level);
        assert_eq!(
            enc.decode(&sk.decrypt(&low).unwrap()).unwrap(),
            values,
            "level {level}"
        );
        let low_sq = eval.mod_switch_to(&squared, level).unwrap();
        assert_eq!(
            enc.decode(&sk.decrypt(&low_sq).unwrap()).unwrap(),
            sq_values,
            "squared at level {level}"
        );
        if level >= 2 {
            // Every operation works at the lower level.
            let prod = eval.multiply_relin(&low, &low, &rk).unwrap();
            assert_eq!(
                enc.decode(&sk.decrypt(&prod).unwrap()).unwrap(),
                sq_values,
                "multiply at level {level}"
            );
            let rot = eval.rotate_rows(&low, 1, &gk).unwrap();
            assert_eq!(
                enc.decode(&sk.decrypt(&rot).unwrap()).unwrap(),
                rotate_left(&values, 1),
                "rotate at level {level}"
            );
        }
    }
    let bottom = eval.mod_switch_to(&ct, 1).unwrap();
    assert!(matches!(
        eval.mod_switch_to_next(&bottom),
        Err(Error::OutOfLevels { level: 1, min: 1 })
    ));
    assert_eq!(
        eval.mod_switch_to(&ct, 5).unwrap_err(),
        Error::BadLevel { level: 5, max: 4 }
    );
    // Mixing levels is an error, not a silent wrong answer.
    assert_eq!(
        eval.add(&ct, &bottom).unwrap_err(),
        Error::LevelMismatch { left: 4, right: 1 }
    );
    assert_eq!(
        eval.multiply(&ct, &bottom).unwrap_err(),
        Error::LevelMismatch { left: 4, right: 1 }
    );
}

#[test]
fn evaluators_and_keys_are_send_and_sync_and_work_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Evaluator>();
    assert_send_sync::<Ciphertext>();
    assert_send_sync::<hefty_core::bfv::RelinearizationKey>();
    assert_send_sync::<hefty_core::bfv::GaloisKeys>();
    assert_send_sync::<SecretKey>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<Encoder>();
    let n = 64;
    let t = ntt_primes(17, n, 1).unwrap()[0];
    let params = toy_ks(n, t, 2);
    let (sk, pk, mut rng) = keys(&params, 41);
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let cts: Vec<Ciphertext> = (0..4u64)
        .map(|i| {
            pk.encrypt(&enc.encode(&[i, i + 1]).unwrap(), &mut rng)
                .unwrap()
        })
        .collect();
    let doubled: Vec<Ciphertext> = std::thread::scope(|s| {
        let handles: Vec<_> = cts
            .iter()
            .map(|c| s.spawn(|| eval.add(c, c).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, c) in doubled.iter().enumerate() {
        assert_eq!(
            &enc.decode(&sk.decrypt(c).unwrap()).unwrap()[..2],
            &[2 * i as u64, 2 * i as u64 + 2]
        );
    }
}

#[test]
fn monomial_multiplication_matches_plaintext_and_grows_noise_by_c_only() {
    let n = 128;
    let t = ntt_primes(20, n, 1).unwrap()[0];
    let params = toy(n, t, 2, 50);
    let (sk, pk, mut rng) = keys(&params, 51);
    let eval = Evaluator::new(&params);
    let m: Vec<u64> = (0..n as u64).map(|i| (i * 977 + 1) % t).collect();
    let pt = Plaintext::from_coeffs(&params, &m).unwrap();
    let ct = pk.encrypt(&pt, &mut rng).unwrap();
    let before = sk.noise_budget(&ct).unwrap();
    for (c, k) in [
        (1i64, 0usize),
        (1, 1),
        (-1, 5),
        (8, 127),
        (-16, 128),
        (1, 200),
        (3, 255),
        (-1, 256),
    ] {
        let mut mono = vec![0u64; n];
        let e = k % (2 * n);
        let cm = c.rem_euclid(t as i64) as u64;
        if e < n {
            mono[e] = cm
        } else {
            mono[e - n] = (t - cm) % t
        }
        let got = eval.mul_monomial(&ct, c, k).unwrap();
        assert_eq!(
            sk.decrypt(&got).unwrap().coeffs().to_vec(),
            negacyclic_mod_t(&m, &mono, t),
            "c={c} k={k}"
        );
        let after = sk.noise_budget(&got).unwrap();
        let allowed = (c.unsigned_abs() as f64).log2() + 1.0;
        assert!(
            before - after <= allowed,
            "c={c} k={k}: spent {:.2} bits, allowed {allowed:.2}",
            before - after
        );
    }
}

#[test]
fn prepared_plaintexts_match_mul_plain_at_every_level() {
    let n = 64;
    let t = ntt_primes(17, n, 1).unwrap()[0];
    let params = toy(n, t, 3, 50);
    let (sk, pk, mut rng) = keys(&params, 61);
    let enc = Encoder::new(&params).unwrap();
    let eval = Evaluator::new(&params);
    let xs: Vec<u64> = (0..n as u64).map(|i| (i * 7 + 1) % t).collect();
    let ws: Vec<u64> = (0..n as u64).map(|i| (i * 3 + 2) % t).collect();
    let w = enc.encode(&ws).unwrap();
    let ct = pk.encrypt(&enc.encode(&xs).unwrap(), &mut rng).unwrap();
    let want: Vec<u64> = xs.iter().zip(&ws).map(|(x, w)| x * w % t).collect();
    for level in (1..=3).rev() {
        let low = eval.mod_switch_to(&ct, level).unwrap();
        let prepared = eval.prepare_plain(&w, level).unwrap();
        assert_eq!(prepared.level(), level);
        let fast = eval.mul_plain_prepared(&low, &prepared).unwrap();
        assert_eq!(fast, eval.mul_plain(&low, &w).unwrap(), "level {level}");
        assert_eq!(enc.decode(&sk.decrypt(&fast).unwrap()).unwrap(), want);
    }
    let top = eval.prepare_plain(&w, 3).unwrap();
    let low = eval.mod_switch_to(&ct, 2).unwrap();
    assert_eq!(
        eval.mul_plain_prepared(&low, &top).unwrap_err(),
        Error::LevelMismatch { left: 2, right: 3 }
    );
    let other = toy(n, t, 3, 49);
    let foreign = Evaluator::new(&other)
        .prepare_plain(&Plaintext::from_coeffs(&other, &[1]).unwrap(), 3)
        .unwrap();
    assert_eq!(
        eval.mul_plain_prepared(&ct, &foreign).unwrap_err(),
        Error::ParameterMismatch
    );
    assert_eq!(
        eval.prepare_plain(&w, 4).unwrap_err(),
        Error::BadLevel { level: 4, max: 3 }
    );
}

#[test]
fn parameters_equal_by_value_work_together() {
    // Two objects built from one preset, and one decoded from bytes, are
    // the same parameters: keys, plaintexts and ciphertexts move freely.
    let a = Parameters::preset_128(4096).unwrap();
    let b = Parameters::preset_128(4096).unwrap();
    let c = Parameters::from_bytes(&a.to_bytes()).unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    let (sk, pk, mut rng) = keys(&a, 70);
    let rk = hefty_core::bfv::RelinearizationKey::new(&sk, &mut rng).unwrap();
    let enc_b = Encoder::new(&b).unwrap();
    let x = pk
        .encrypt(&enc_b.encode(&[3, 4]).unwrap(), &mut rng)
        .unwrap();
    let y = Ciphertext::from_bytes(&c, &x.to_bytes().unwrap()).unwrap();
    let prod = Evaluator::new(&c).multiply_relin(&x, &y, &rk).unwrap();
    let out = Encoder::new(&c)
        .unwrap()
        .decode(&sk.decrypt(&prod).unwrap())
        .unwrap();
    assert_eq!(&out[..2], &[9, 16]);
    // Other mathematics is still refused, with the cause and the fix.
    let other = Parameters::preset_128(8192).unwrap();
    let err = Encoder::new(&other)
        .unwrap()
        .decode(&sk.decrypt(&prod).unwrap())
        .unwrap_err();
    assert_eq!(err, Error::ParameterMismatch);
    assert!(err.to_string().contains("one preset"), "{err}");
}

#[test]
fn an_encoder_refuses_plaintexts_of_other_parameters() {
    // Another degree used to panic inside decode; another t decoded garbage.
    let p = toy(16, 97, 2, 40);
    let other_degree = toy(32, 97, 2, 40);
    let other_t = toy(16, 193, 2, 40);
    let enc = Encoder::new(&p).unwrap();
    for q in [&other_degree, &other_t] {
        let pt = Plaintext::from_coeffs(q, &[1, 2, 3]).unwrap();
        assert_eq!(enc.decode(&pt).unwrap_err(), Error::ParameterMismatch);
        assert_eq!(enc.decode_i64(&pt).unwrap_err(), Error::ParameterMismatch);
    }
}

#[test]
fn linear_combinations_match_the_plaintext_reference() {
    let n = 64;
    let t = ntt_primes(17, n, 1).unwrap()[0];
    let params = toy(n, t, 3, 50);
    let (sk, pk, mut rng) = keys(&params, 77);
    let enc = Encoder::new(&params).unwrap();
    let ev = Evaluator::new(&params);
    let xs: Vec<Vec<u64>> = (0..4u64)
        .map(|j| (0..n as u64).map(|i| (i * (j + 3) + j) % t).collect())
        .collect();
    let cts: Vec<Ciphertext> = xs
        .iter()
        .map(|x| pk.encrypt(&enc.encode(x).unwrap(), &mut rng).unwrap())
        .collect();
    // Weights of both signs, beyond t, and zero.
    let w = [3i64, -7, t as i64 + 5, 0];
    let terms: Vec<(&Ciphertext, i64)> = cts.iter().zip(w).collect();
    let out = enc
        .decode(&sk.decrypt(&ev.linear_combination(&terms).unwrap()).unwrap())
        .unwrap();
    for i in 0..n {
        let want = (0..4).fold(0i128, |acc, j| acc + w[j] as i128 * xs[j][i] as i128);
        assert_eq!(out[i] as i128, want.rem_euclid(t as i128), "slot {i}");
    }
    assert!(ev.linear_combination(&[]).is_err());
}

#[test]
fn presets_reach_their_documented_depth() {
    let w64 = &hefty_core::bfv::PRESETS[..2];
    let w32 = &hefty_core::bfv::PRESETS_W32[..2];
    for preset in w64.iter().chain(w32) {
        let params = preset.build().unwrap();
        let (sk, pk, mut rng) = keys(&params, 90);
        let rk = hefty_core::bfv::RelinearizationKey::new(&sk, &mut rng).unwrap();
        let enc = Encoder::new(&params).unwrap();
        let ev = Evaluator::new(&params);
        let t = params.plaintext_modulus();
        let mut want: Vec<u64> = (0..enc.slots() as u64).map(|i| i % 7 + 2).collect();
        let mut ct = pk.encrypt(&enc.encode(&want).unwrap(), &mut rng).unwrap();
        for d in 1..=preset.depth {
            ct = ev.multiply_relin(&ct, &ct, &rk).unwrap();
            want = want.iter().map(|v| v * v % t).collect();
            assert_eq!(
                enc.decode(&sk.decrypt(&ct).unwrap()).unwrap(),
                want,
                "n = {} at depth {d}",
                preset.degree
            );
        }
        assert!(sk.noise_budget(&ct).unwrap() > 0.0);
    }
    for preset in hefty_core::bfv::PRESETS_W32 {
        let params = preset.build().unwrap();
        assert!(
            params
                .ciphertext_basis()
                .moduli()
                .iter()
                .all(|m| m.value() < 1 << 31)
        );
        assert!(params.special_primes().iter().all(|&p| p < 1 << 31));
    }
}

#[test]
fn debug_output_is_compact_and_shows_no_residues() {
    let params = Parameters::preset_128(8192).unwrap();
    let (sk, pk, mut rng) = keys(&params, 3);
    let ct = pk
        .encrypt(&Plaintext::constant(&params, 5), &mut rng)
        .unwrap();
    let text = format!("{ct:?}");
    // The parameters print what defines them, not kilobytes of tables.
    assert!(text.len() < 2000, "{} bytes: {text}", text.len());
    assert!(
        text.contains("bfv::Parameters") && text.contains("t: 65537"),
        "{text}"
    );
    assert!(text.contains("words)"), "{text}");
    assert_eq!(format!("{sk:?}"), "SecretKey(<redacted>)");
}

/// Ciphertext primes of `bits` bits for degree `n` whose product `Q` has a
/// plaintext modulus of at least 2^10 dividing `Q − 1`, and that modulus.
fn primes_with_t_dividing_q_minus_one(n: usize, k: usize, bits: u32) -> (Vec<u64>, u64) {
    let pool = ntt_primes(bits, n, 24).unwrap();
    for start in 0..pool.len() - k {
        let primes = &pool[start..start + k];
        if let Some(t) = moduli_dividing_q_minus_one(primes, 1, 10, 24) {
            return (primes.to_vec(), t[0]);
        }
    }
    panic!("no {k} primes of {bits} bits for n = {n} with a modulus dividing Q − 1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Where `Q ≡ 1 (mod t)` products skip the auxiliary basis; they must
    /// still decrypt to the schoolbook negacyclic product mod t, for
    /// squares and for products of two ciphertexts, at the top level (in Q)
    /// and one level down (full RNS again).
    #[test]
    fn products_modulo_q_alone_decrypt_to_the_schoolbook_product(
        log_n in 4u32..=8, k in 2usize..=3, seed: u8,
    ) {
        let n = 1usize << log_n;
        let (primes, t) = primes_with_t_dividing_q_minus_one(n, k, 50);
        let params = Parameters::builder()
            .degree(n)
            .plaintext_modulus(t)
            .ciphertext_moduli(&primes)
            .insecure_disable_security_check_for_testing_only()
            .build()
            .unwrap();
        prop_assert!(params.multiplies_in_q(k));
        let (sk, pk, mut rng) = keys(&params, seed);
        let eval = Evaluator::new(&params);
        // Uniform residues mod t (splitmix64): t is composite here, so no
        // RNS basis of it exists to sample from.
        let mut state = u64::from(seed);
        let mut random_pt = || {
            let v: Vec<u64> = (0..n)
                .map(|_| {
                    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    (z ^ (z >> 31)) % t
                })
                .collect();
            Plaintext::from_coeffs(&params, &v).unwrap()
        };
        let (ma, mb) = (random_pt(), random_pt());
        let a = pk.encrypt(&ma, &mut rng).unwrap();
        let b = sk.encrypt(&mb, &mut rng).unwrap();
        let want_ab = negacyclic_mod_t(ma.coeffs(), mb.coeffs(), t);
        let want_aa = negacyclic_mod_t(ma.coeffs(), ma.coeffs(), t);
        let ab = eval.multiply(&a, &b).unwrap();
        prop_assert_eq!(sk.decrypt(&ab).unwrap().coeffs().to_vec(), want_ab.clone());
        prop_assert_eq!(sk.decrypt(&eval.square(&a).unwrap()).unwrap().coeffs().to_vec(), want_aa);
        // One level down Q' = Q/q_k is ≡ 1 (mod t) only by chance; either
        // way the product must hold.
        let (a1, b1) = (eval.mod_switch_to_next(&a).unwrap(), eval.mod_switch_to_next(&b).unwrap());
        let ab1 = eval.multiply(&a1, &b1).unwrap();
        prop_assert_eq!(sk.decrypt(&ab1).unwrap().coeffs().to_vec(), want_ab);
    }
}

/// At the integer packing's size (n = 8192, four primes, a 32-bit t that
/// divides `Q − 1`): a relinearized square decrypts to the schoolbook
/// square, and its noise budget is within a bit of the full-RNS product's
/// with a 32-bit t that does not divide `Q − 1` (same primes, same keys'
/// shape), so the cheaper product costs no budget.
#[test]
fn products_in_q_at_n_8192_match_the_schoolbook_square_and_keep_the_budget() {
    use hefty_core::bfv::{RelinearizationKey, presets::SMOOTH_8192};
    let n = 8192;
    let t_in_q = moduli_dividing_q_minus_one(SMOOTH_8192, 2, 63, 32).unwrap()[0];
    // The largest 32-bit prime not dividing Q − 1.
    let q: num_bigint::BigUint = SMOOTH_8192
        .iter()
        .map(|&p| num_bigint::BigUint::from(p))
        .product();
    let t_rns = (1u64 << 31..1 << 32)
        .rev()
        .find(|&t| hefty_ntt::is_prime(t) && &q % t != num_bigint::BigUint::from(1u8))
        .unwrap();
    let mut budgets = Vec::new();
    for t in [t_in_q, t_rns] {
        let params = Parameters::builder()
            .degree(n)
            .plaintext_modulus(t)
            .ciphertext_moduli(SMOOTH_8192)
            .special_moduli_bits(&[44])
            .key_switching_digits(2)
            .build()
            .unwrap();
        assert_eq!(params.multiplies_in_q(4), t == t_in_q);
        let (sk, _, mut rng) = keys(&params, 7);
        let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
        let eval = Evaluator::new(&params);
        // Base-2 digits, as the integer packing encrypts pixels.
        let m: Vec<u64> = (0..n).map(|i| u64::from(i % 3 == 0 && i < 64)).collect();
        let pt = Plaintext::from_coeffs(&params, &m).unwrap();
        let ct = sk.encrypt(&pt, &mut rng).unwrap();
        let sq = eval.relinearize(&eval.square(&ct).unwrap(), &rk).unwrap();
        assert_eq!(
            sk.decrypt(&sq).unwrap().coeffs().to_vec(),
            negacyclic_mod_t(&m, &m, t)
        );
        let switched = eval.mod_switch_to_next(&sq).unwrap();
        assert_eq!(
            sk.decrypt(&switched).unwrap().coeffs().to_vec(),
            negacyclic_mod_t(&m, &m, t)
        );
        budgets.push(sk.noise_budget(&switched).unwrap());
        eprintln!("budget t={t}: {:?}", budgets);
    }
    assert!(
        budgets[0] >= budgets[1] - 1.0,
        "budget after the product in Q {:.1} bits, full RNS {:.1}",
        budgets[0],
        budgets[1]
    );
}
