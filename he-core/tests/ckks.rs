//! CKKS against f64 references: precision asserted as bounds after every
//! operation, rotations against plaintext rotations, typed errors for misuse.

use std::collections::BTreeMap;
use std::sync::Arc;

use hefty_core::ckks::{
    Ciphertext, Complex64, Encoder, Evaluator, GaloisKeys, LinearTransform, Parameters, PublicKey,
    RelinearizationKey, SecretKey, Word,
};
use hefty_core::{Error, Sampler};
use proptest::prelude::*;

fn toy(n: usize, depth: usize) -> Arc<Parameters> {
    Parameters::builder()
        .degree(n)
        .depth(depth)
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

struct Keys {
    sk: SecretKey,
    rk: RelinearizationKey,
    rng: Sampler,
}

fn keys(params: &Arc<Parameters>, seed: u8) -> Keys {
    let mut rng = Sampler::from_seed([seed; 32]);
    let sk = SecretKey::generate(params, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    Keys { sk, rk, rng }
}

fn values(seed: u64, len: usize) -> Vec<f64> {
    // A fixed pseudo-random vector in [-1, 1].
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn encrypt(k: &mut Keys, enc: &Encoder, v: &[f64]) -> Ciphertext {
    let p = enc.params().clone();
    let pt = enc
        .encode_real(v, p.max_level(), p.default_scale())
        .unwrap();
    k.sk.encrypt(&pt, &mut k.rng).unwrap()
}

fn decrypt(k: &Keys, enc: &Encoder, ct: &Ciphertext) -> Vec<f64> {
    enc.decode_real(&k.sk.decrypt(ct).unwrap()).unwrap()
}

fn max_err(got: &[f64], want: &[f64]) -> f64 {
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// The slots are the values at ζ^(5^j): checked by evaluating the encoded
/// integer polynomial directly (O(n²)), independent of the FFT.
#[test]
fn encoding_is_the_canonical_embedding() {
    let params = toy(64, 1);
    let enc = Encoder::new(&params);
    let z: Vec<Complex64> = (0..32)
        .map(|j| Complex64::new((j as f64 * 0.37).sin(), (j as f64 * 0.11).cos()))
        .collect();
    let scale = 2f64.powi(40);
    let pt = enc.encode(&z, params.max_level(), scale).unwrap();
    let q0 = params.ciphertext_basis().moduli()[0].value();
    let coeffs: Vec<f64> = pt.poly().clone().into_coeff().to_host().unwrap()[..64]
        .iter()
        .map(|&x| {
            if x > q0 / 2 {
                -((q0 - x) as f64)
            } else {
                x as f64
            }
        })
        .collect();
    let mut g = 1usize;
    for (j, want) in z.iter().enumerate() {
        let value: Complex64 = coeffs
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let angle = std::f64::consts::PI * ((k * g) % 128) as f64 / 64.0;
                Complex64::from_polar(c, angle)
            })
            .sum::<Complex64>()
            / scale;
        assert!((value - want).norm() < 1e-9, "slot {j}: {value} vs {want}");
        g = g * 5 % 128;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn encode_decode_roundtrip(seed: u64, log_n in 4u32..=12, bits in 25u32..=50) {
        let params = Parameters::builder()
            .degree(1 << log_n)
            .depth(1)
            .scale_bits(bits)
            .insecure_disable_security_check_for_testing_only()
            .build()
            .unwrap();
        let enc = Encoder::new(&params);
        let re = values(seed, enc.slots());
        let im = values(seed ^ 1, enc.slots());
        let z: Vec<Complex64> = re.iter().zip(&im).map(|(&a, &b)| Complex64::new(a, b)).collect();
        let pt = enc.encode(&z, params.max_level(), params.default_scale()).unwrap();
        let back = enc.decode(&pt).unwrap();
        let err = z.iter().zip(&back).map(|(a, b)| (a - b).norm()).fold(0.0, f64::max);
        // Rounding adds at most n/2 per slot before dividing by the scale.
        prop_assert!(err < (1u64 << log_n) as f64 / params.default_scale(), "error {err}");
    }

    #[test]
    fn multiplication_precision(seed: u64) {
        let params = toy(1 << 12, 2);
        let mut k = keys(&params, 1);
        let enc = Encoder::new(&params);
        let ev = Evaluator::new(&params);
        let (x, y) = (values(seed, 2048), values(seed ^ 7, 2048));
        let (cx, cy) = (encrypt(&mut k, &enc, &x), encrypt(&mut k, &enc, &y));
        let xy = ev.multiply_relin_rescale(&cx, &cy, &k.rk).unwrap();
        prop_assert_eq!(xy.level(), params.max_level() - 1);
        let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
        let err = max_err(&decrypt(&k, &enc, &xy), &want);
        prop_assert!(err < 2f64.powi(-25), "x·y error 2^{:.1}", err.log2());
        let sum = ev.add(&cx, &cy).unwrap();
        let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
        prop_assert!(max_err(&decrypt(&k, &enc, &sum), &want) < 2f64.powi(-25));
    }
}

#[test]
fn public_key_encryption_and_plaintext_operations() {
    let params = toy(1 << 12, 3);
    let mut k = keys(&params, 2);
    let pk = PublicKey::new(&k.sk, &mut k.rng).unwrap();
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (x, w) = (values(3, 2048), values(4, 2048));
    let (top, scale) = (params.max_level(), params.default_scale());
    let cx = pk
        .encrypt(&enc.encode_real(&x, top, scale).unwrap(), &mut k.rng)
        .unwrap();
    // Encryption modulo Q·P then division by P leaves the rounding of that
    // division, r_0 + r_1·s with |r_i| <= 1/2: σ ≈ √(n/18) ≈ 15 per
    // coefficient, ≈ 2^10 per slot at n = 2^12 — below 2^-27 of a 2^40 scale
    // (without the division, e·u + e_1·s would be ~2^14 per slot).
    let fresh = max_err(&decrypt(&k, &enc, &cx), &x);
    assert!(fresh < 2f64.powi(-27), "fresh public-key error {fresh:e}");
    // mul_plain then rescale.
    let pw = enc.encode_real(&w, top, scale).unwrap();
    let prod = ev.rescale(&ev.mul_plain(&cx, &pw).unwrap()).unwrap();
    let want: Vec<f64> = x.iter().zip(&w).map(|(a, b)| a * b).collect();
    assert!(max_err(&decrypt(&k, &enc, &prod), &want) < 2f64.powi(-22));
    // add_plain at the ciphertext's scale and level.
    let pw2 = enc.encode_real(&w, top, prod.scale()).unwrap();
    let sum = ev.add_plain(&prod, &pw2).unwrap();
    let want2: Vec<f64> = want.iter().zip(&w).map(|(a, b)| a + b).collect();
    assert!(max_err(&decrypt(&k, &enc, &sum), &want2) < 2f64.powi(-22));
    // Constants: exact scale, one level for the product.
    let c = ev.mul_const(&cx, -0.75).unwrap();
    assert_eq!(c.scale(), cx.scale());
    assert_eq!(c.level(), cx.level() - 1);
    let want3: Vec<f64> = x.iter().map(|a| a * -0.75 + 0.5).collect();
    let c = ev.add_const(&c, Complex64::new(0.5, 0.0)).unwrap();
    assert!(max_err(&decrypt(&k, &enc, &c), &want3) < 2f64.powi(-22));
    // A complex constant lands in the imaginary part.
    let ci = ev.add_const(&cx, Complex64::new(0.0, 0.25)).unwrap();
    let out = enc.decode(&k.sk.decrypt(&ci).unwrap()).unwrap();
    assert!(
        out.iter()
            .zip(&x)
            .all(|(z, &a)| (z.re - a).abs() < 1e-6 && (z.im - 0.25).abs() < 1e-6)
    );
    // Negate and subtract.
    let d = ev.sub(&ev.negate(&cx).unwrap(), &cx).unwrap();
    let want4: Vec<f64> = x.iter().map(|a| -2.0 * a).collect();
    assert!(max_err(&decrypt(&k, &enc, &d), &want4) < 2f64.powi(-21));
}

/// x·y from two public-key ciphertexts at the 2^14 preset is as precise as
/// SEAL 4.4's at the same moduli (max error over the slots 2.47e-8, median of
/// three rounds, ../shared/peers/peers.md). Seeded, so deterministic.
#[test]
fn public_key_products_at_the_2_14_preset_are_as_precise_as_seal() {
    let params = Parameters::preset_128(1 << 14).unwrap();
    let mut k = keys(&params, 9);
    let pk = PublicKey::new(&k.sk, &mut k.rng).unwrap();
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (top, scale) = (params.max_level(), params.default_scale());
    let mut errors: Vec<f64> = (0..3)
        .map(|i| {
            let (x, y) = (values(20 + i, 8192), values(40 + i, 8192));
            let mut enc_pk = |v: &[f64]| {
                pk.encrypt(&enc.encode_real(v, top, scale).unwrap(), &mut k.rng)
                    .unwrap()
            };
            let (cx, cy) = (enc_pk(&x), enc_pk(&y));
            let xy = ev.multiply_relin_rescale(&cx, &cy, &k.rk).unwrap();
            let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
            max_err(&decrypt(&k, &enc, &xy), &want)
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    assert!(errors[1] <= 2.5e-8 && errors[2] < 3.5e-8, "{errors:?}");
}

/// The presets' key-switching digits (uneven, each at least 10 bits below
/// P), and a rotation at the 2^14 preset: with digits that far below P the
/// key-switching noise is negligible and a rotation adds only ModDown's
/// rounding, `r_0 + r_1·s` (≈ 2^-26 per slot at 2^14, bound 2^-24).
#[test]
fn preset_digits_and_rotation_precision() {
    for (n, digits) in [
        (8192, vec![1, 1, 1]),
        (16384, vec![1, 2, 2, 2]),
        (32768, vec![3, 4, 4, 4, 2]),
        (65536, vec![8, 8, 5]),
    ] {
        let params = Parameters::preset_128(n).unwrap();
        assert_eq!(params.key_switcher().digit_sizes(), digits, "n = {n}");
    }
    let params = Parameters::preset_128(16384).unwrap();
    let mut k = keys(&params, 11);
    let gk = GaloisKeys::new(&k.sk, &[1, -3], false, &mut k.rng).unwrap();
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let x = values(7, 8192);
    let ct = encrypt(&mut k, &enc, &x);
    for r in [1i64, -3] {
        let got = decrypt(&k, &enc, &ev.rotate(&ct, r, &gk).unwrap());
        let want: Vec<f64> = (0..8192)
            .map(|t| x[(t as i64 + r).rem_euclid(8192) as usize])
            .collect();
        let err = max_err(&got, &want);
        assert!(
            err < 2f64.powi(-24),
            "rotation {r}: error 2^{:.1}",
            err.log2()
        );
    }
}

#[test]
fn rotations_conjugation_and_hoisting_match_plaintext() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 3);
    let steps = [1i64, 5, -3, 100];
    let gk = GaloisKeys::new(&k.sk, &steps, true, &mut k.rng).unwrap();
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let s = enc.slots();
    let re = values(5, s);
    let im = values(6, s);
    let z: Vec<Complex64> = re
        .iter()
        .zip(&im)
        .map(|(&a, &b)| Complex64::new(a, b))
        .collect();
    let ct =
        k.sk.encrypt(
            &enc.encode(&z, params.max_level(), params.default_scale())
                .unwrap(),
            &mut k.rng,
        )
        .unwrap();
    let hoisted = ev.rotate_hoisted(&ct, &steps, &gk).unwrap();
    for (&r, h) in steps.iter().zip(&hoisted) {
        let want: Vec<Complex64> = (0..s)
            .map(|t| z[(t as i64 + r).rem_euclid(s as i64) as usize])
            .collect();
        for got in [ev.rotate(&ct, r, &gk).unwrap(), h.clone()] {
            let out = enc.decode(&k.sk.decrypt(&got).unwrap()).unwrap();
            let err = out
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).norm())
                .fold(0.0, f64::max);
            // Key switching adds ≈ (digit/P)·σ·n per coefficient; with the
            // 60-bit base prime as one digit and this test's 60-bit special
            // prime that is ≈ 2^13 at n = 2^11, ≈ 2^-22 of the scale per slot.
            assert!(
                err < 2f64.powi(-20),
                "rotation {r}: error 2^{:.1}",
                err.log2()
            );
        }
    }
    let conj = ev.conjugate(&ct, &gk).unwrap();
    let out = enc.decode(&k.sk.decrypt(&conj).unwrap()).unwrap();
    let err = out
        .iter()
        .zip(&z)
        .map(|(a, b)| (a - b.conj()).norm())
        .fold(0.0, f64::max);
    assert!(err < 2f64.powi(-20));
    // A rotation without its key.
    assert!(matches!(
        ev.rotate(&ct, 2, &gk),
        Err(Error::MissingGaloisKey { steps: Some(2), .. })
    ));
    assert!(matches!(
        ev.rotate_hoisted(&ct, &[1, 7], &gk),
        Err(Error::MissingGaloisKey { steps: Some(7), .. })
    ));
}

#[test]
fn matrix_vector_product_with_baby_step_giant_step() {
    let params = toy(1 << 8, 2);
    let mut k = keys(&params, 4);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let s = enc.slots();
    // A banded matrix (diagonals 0..9 and s-2): a sparse transform.
    let mut m = vec![vec![0.0; s]; s];
    for (t, row) in m.iter_mut().enumerate() {
        for k in (0..9).chain([s - 2]) {
            row[(t + k) % s] = ((t * 31 + k * 7) % 17) as f64 / 17.0 - 0.5;
        }
    }
    let lt = LinearTransform::from_dense(&enc, &m, params.max_level()).unwrap();
    let gk = GaloisKeys::new(&k.sk, &lt.rotations(), false, &mut k.rng).unwrap();
    let x = values(8, s);
    let cx = encrypt(&mut k, &enc, &x);
    let y = lt.apply(&ev, &cx, &gk).unwrap();
    assert_eq!(y.scale(), cx.scale());
    assert_eq!(y.level(), cx.level() - 1);
    let want: Vec<f64> = m
        .iter()
        .map(|row| row.iter().zip(&x).map(|(a, b)| a * b).sum())
        .collect();
    let err = max_err(&decrypt(&k, &enc, &y), &want);
    assert!(err < 2f64.powi(-20), "M·x error 2^{:.1}", err.log2());
    // Fewer rotations than diagonals: baby-step giant-step at work.
    assert!(lt.rotations().len() < 10, "{:?}", lt.rotations());
    // A dense random matrix too.
    let dense: Vec<Vec<f64>> = (0..s).map(|t| values(100 + t as u64, s)).collect();
    let lt = LinearTransform::from_diagonals(
        &enc,
        &(0..s)
            .map(|k| {
                (
                    k,
                    (0..s)
                        .map(|t| Complex64::new(dense[t][(t + k) % s], 0.0))
                        .collect(),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        params.max_level(),
    )
    .unwrap();
    let gk = GaloisKeys::new(&k.sk, &lt.rotations(), false, &mut k.rng).unwrap();
    let y = lt.apply(&ev, &cx, &gk).unwrap();
    let want: Vec<f64> = dense
        .iter()
        .map(|row| row.iter().zip(&x).map(|(a, b)| a * b).sum())
        .collect();
    let err = max_err(&decrypt(&k, &enc, &y), &want);
    assert!(err < 2f64.powi(-18), "dense M·x error 2^{:.1}", err.log2());
    // The zero matrix (a fully pruned layer): zero, at the level and scale
    // any other product has, with no rotation keys needed.
    let zero =
        LinearTransform::from_dense(&enc, &vec![vec![0.0; s]; s], params.max_level()).unwrap();
    assert!(zero.rotations().is_empty());
    let y = zero.apply(&ev, &cx, &gk).unwrap();
    assert_eq!((y.level(), y.scale()), (cx.level() - 1, cx.scale()));
    let err = max_err(&decrypt(&k, &enc, &y), &vec![0.0; s]);
    assert!(err < 2f64.powi(-20), "0·x error 2^{:.1}", err.log2());
}

/// Four vectors interleaved slot by slot (slot t belongs to vector t mod 4),
/// each multiplied by its own cyclic matrix of size s/4: the strided diagonal
/// method, whose rotations are the plain method's times the stride.
#[test]
fn strided_matrix_vector_products_on_interleaved_vectors() {
    let params = toy(1 << 8, 2);
    let mut k = keys(&params, 6);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (s, m) = (enc.slots(), 4);
    let d = s / m;
    // One matrix per lane: M_i[u][v], u, v < d.
    let mat = |i: usize, u: usize, v: usize| ((u * 13 + v * 7 + i * 5) % 19) as f64 / 19.0 - 0.5;
    let diags: BTreeMap<usize, Vec<Complex64>> = (0..d)
        .map(|kk| {
            let diag = (0..s)
                .map(|t| {
                    let (u, i) = (t / m, t % m);
                    Complex64::new(mat(i, u, (u + kk) % d), 0.0)
                })
                .collect();
            (kk, diag)
        })
        .collect();
    let lt = LinearTransform::from_strided_diagonals(&enc, &diags, m, params.max_level()).unwrap();
    let plain = LinearTransform::rotations_for(0..d, 1);
    assert_eq!(
        lt.rotations(),
        plain.iter().map(|r| r * m as i64).collect::<Vec<_>>()
    );
    let gk = GaloisKeys::new(&k.sk, &lt.rotations(), false, &mut k.rng).unwrap();
    let x = values(9, s);
    let y = lt.apply(&ev, &encrypt(&mut k, &enc, &x), &gk).unwrap();
    let want: Vec<f64> = (0..s)
        .map(|t| {
            let (u, i) = (t / m, t % m);
            (0..d).map(|v| mat(i, u, v) * x[v * m + i]).sum()
        })
        .collect();
    let err = max_err(&decrypt(&k, &enc, &y), &want);
    assert!(
        err < 2f64.powi(-18),
        "strided M·x error 2^{:.1}",
        err.log2()
    );
    // A stride that does not divide the slots is refused.
    assert!(LinearTransform::from_strided_diagonals(&enc, &diags, 3, params.max_level()).is_err());
}

/// `x·y_1·y_2⋯y_L` through every level of a parameter set, against f64:
/// the error may grow by about one fresh-multiplication error per level.
/// `fresh_bits` is the bound at n = 2^14; fresh noise per slot grows as √n.
fn chain(params: &Arc<Parameters>, seed: u8, fresh_bits: i32) {
    let mut k = keys(params, seed);
    let enc = Encoder::new(params);
    let ev = Evaluator::new(params);
    let x = values(seed as u64, enc.slots());
    let mut ct = encrypt(&mut k, &enc, &x);
    let mut want = x.clone();
    for depth in 0..params.depth() {
        let y = values(seed as u64 + 1000 + depth as u64, enc.slots());
        let cy = encrypt(&mut k, &enc, &y);
        ct = ev.multiply_relin_rescale(&ct, &cy, &k.rk).unwrap();
        want.iter_mut().zip(&y).for_each(|(v, b)| *v *= b);
        let err = max_err(&decrypt(&k, &enc, &ct), &want);
        let bound =
            (depth + 1) as f64 * 2f64.powi(fresh_bits) * (params.degree() as f64 / 16384.0).sqrt();
        assert!(
            err < bound,
            "n = {}, depth {}: error 2^{:.1} above 2^{:.1}",
            params.degree(),
            depth + 1,
            err.log2(),
            bound.log2()
        );
    }
    assert!(matches!(
        ev.multiply_relin_rescale(&ct, &ct, &k.rk),
        Err(Error::OutOfLevels { .. })
    ));
}

#[test]
fn depth_chains_at_the_presets() {
    for n in [1 << 13, 1 << 14, 1 << 15, 1 << 16] {
        let params = Parameters::preset_128(n).unwrap();
        assert!(
            params.log_qp() <= hefty_core::SecurityLevel::Bits128.max_log_qp(n).unwrap() as f64
        );
        chain(&params, 5, -23);
    }
}

#[test]
fn w32_presets_are_secure_and_chain_to_their_depth() {
    for preset in hefty_core::ckks::PRESETS_W32 {
        let params = preset.build().unwrap();
        let n = preset.degree;
        assert!(
            params.log_qp() <= hefty_core::SecurityLevel::Bits128.max_log_qp(n).unwrap() as f64
        );
        assert_eq!(params.word(), Word::W32);
        assert!(
            params
                .ciphertext_basis()
                .moduli()
                .iter()
                .all(|m| m.value() < 1 << 31)
        );
        assert_eq!(params.depth(), preset.depth);
        chain(&params, 5, -23);
    }
    assert_eq!(
        hefty_core::ckks::Preset::for_degree_word(1 << 14, Word::W32)
            .unwrap()
            .word,
        Word::W32
    );
    assert!(hefty_core::ckks::Preset::for_degree_word(1 << 15, Word::W32).is_err());
}

#[test]
fn word32_chains_use_two_primes_per_level() {
    let params = Parameters::builder()
        .degree(1 << 12)
        .depth(3)
        .word(Word::W32)
        .special_primes(2, 30)
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap();
    assert!(
        params
            .ciphertext_basis()
            .moduli()
            .iter()
            .all(|m| m.value() < 1 << 31)
    );
    assert_eq!(params.primes_per_level(), 2);
    assert_eq!(params.depth(), 3);
    chain(&params, 6, -21);
}

/// A base modulus split over several primes: the chain has them at its
/// bottom, every level still multiplies and rescales to the same precision,
/// and the parameters survive bytes; impossible splits are refused.
#[test]
fn the_base_modulus_can_be_split_over_several_primes() {
    let params = Parameters::builder()
        .degree(1 << 12)
        .depth(3)
        .base_primes(2)
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap();
    let q: Vec<u64> = params
        .ciphertext_basis()
        .moduli()
        .iter()
        .map(|m| m.value())
        .collect();
    assert_eq!(q.len(), 2 + 3);
    assert!(q[..2].iter().all(|&p| p < 1 << 30 && p > 1 << 28));
    assert_eq!(params.depth(), 3);
    chain(&params, 8, -21);
    let back = Parameters::from_bytes_insecure_for_testing_only(&params.to_bytes()).unwrap();
    assert_eq!(back.fingerprint(), params.fingerprint());
    assert_ne!(
        back.fingerprint(),
        toy(1 << 12, 3).fingerprint(),
        "one base prime or two are different parameters"
    );
    for (bits, count) in [(60, 4), (60, 0), (49, 3)] {
        let err = Parameters::builder()
            .degree(1 << 12)
            .base_bits(bits)
            .base_primes(count)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameters(m) if m.contains(".base_primes")),
            "{bits} bits over {count}: {err}"
        );
    }
}

/// A layer brought to a smaller scale: the same values, at the scale asked
/// for, with the last rescale's noise relative to that scale (2^10 times
/// the usual error, here below 2^-18), and nonsense scales refused.
#[test]
fn linear_layers_can_come_out_at_another_scale() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 46);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let xs: Vec<Vec<f64>> = (0..3).map(|j| values(90 + j, enc.slots())).collect();
    let cts: Vec<_> = xs.iter().map(|x| encrypt(&mut k, &enc, x)).collect();
    let rows: [&[(usize, f64)]; 2] = [&[(0, 0.5), (2, -1.75)], &[(1, 3.0)]];
    let target = params.default_scale() / 1024.0;
    let out = ev.linear_layer_to_scale(&cts, &rows, target).unwrap();
    let plain = ev.linear_layer(&cts, &rows).unwrap();
    for ((row, got), usual) in rows.iter().zip(&out).zip(&plain) {
        assert!((got.scale() / target - 1.0).abs() < 1e-12);
        assert_eq!(got.level(), usual.level());
        let want: Vec<f64> = (0..enc.slots())
            .map(|i| row.iter().map(|&(j, w)| w * xs[j][i]).sum())
            .collect();
        let err = max_err(&decrypt(&k, &enc, got), &want);
        assert!(err < 2f64.powi(-18), "error 2^{:.1}", err.log2());
        assert!(max_err(&decrypt(&k, &enc, usual), &want) < 2f64.powi(-25));
    }
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            ev.linear_layer_to_scale(&cts, &rows, bad),
            Err(Error::InvalidParameters(_))
        ));
    }
}

#[test]
fn scales_and_levels_are_aligned_for_the_caller() {
    let params = toy(1 << 11, 3);
    let mut k = keys(&params, 7);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (x, y, z) = (values(1, 1024), values(2, 1024), values(3, 1024));
    let (cx, cy, cz) = (
        encrypt(&mut k, &enc, &x),
        encrypt(&mut k, &enc, &y),
        encrypt(&mut k, &enc, &z),
    );
    // x·y is one level lower and at scale Δ²/q, not Δ: z is adjusted.
    let xy = ev.multiply_relin_rescale(&cx, &cy, &k.rk).unwrap();
    assert_ne!(xy.scale(), cz.scale());
    let sum = ev.add(&xy, &cz).unwrap();
    let want: Vec<f64> = (0..1024).map(|i| x[i] * y[i] + z[i]).collect();
    assert!(max_err(&decrypt(&k, &enc, &sum), &want) < 2f64.powi(-24));
    // Multiplying operands at different levels drops the higher one.
    let p = ev.multiply_relin_rescale(&xy, &cz, &k.rk).unwrap();
    let want: Vec<f64> = (0..1024).map(|i| x[i] * y[i] * z[i]).collect();
    assert!(max_err(&decrypt(&k, &enc, &p), &want) < 2f64.powi(-22));
}

#[test]
fn misuse_returns_typed_errors() {
    let params = toy(1 << 10, 1);
    let mut k = keys(&params, 8);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let ct = encrypt(&mut k, &enc, &[0.5]);
    // Scale mismatch on a plaintext.
    let pt = enc
        .encode_real(&[1.0], params.max_level(), 2f64.powi(30))
        .unwrap();
    let err = ev.add_plain(&ct, &pt).unwrap_err();
    assert!(matches!(err, Error::ScaleMismatch { .. }) && err.to_string().contains("ct.scale()"));
    // Too deep.
    let low = ev.multiply_relin_rescale(&ct, &ct, &k.rk).unwrap();
    assert!(matches!(ev.rescale(&low), Err(Error::OutOfLevels { .. })));
    assert!(matches!(
        ev.mul_const(&low, 2.0),
        Err(Error::OutOfLevels { .. })
    ));
    // Scales that cannot be aligned without a level.
    let other = ev.drop_to_level(&ct, low.level()).unwrap();
    assert!(matches!(
        ev.add(&low, &other),
        Err(Error::ScaleMismatch { .. })
    ));
    // A plaintext below the ciphertext's level.
    let pt_low = enc.encode_real(&[1.0], 1, ct.scale()).unwrap();
    assert!(matches!(
        ev.add_plain(&ct, &pt_low),
        Err(Error::LevelMismatch { .. })
    ));
    // Foreign parameters.
    let other_params = toy(1 << 10, 2); // other primes: other mathematics
    let mut k2 = keys(&other_params, 9);
    let enc2 = Encoder::new(&other_params);
    let foreign = encrypt(&mut k2, &enc2, &[0.5]);
    assert_eq!(ev.add(&ct, &foreign).unwrap_err(), Error::ParameterMismatch);
    assert_eq!(
        k.sk.decrypt(&foreign).unwrap_err(),
        Error::ParameterMismatch
    );
    // Values that would wrap the modulus, NaN, too many values.
    assert!(matches!(
        enc.encode_real(&[1e30], 1, 2f64.powi(40)),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        enc.encode_real(&[f64::NAN], 1, 2f64.powi(40)),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        enc.encode_real(&vec![0.0; 513], 1, 2f64.powi(40)),
        Err(Error::InvalidParameters(_))
    ));
    // Insecure parameters without the opt-out; W32 with a scale it cannot hold.
    assert!(matches!(
        Parameters::builder().degree(1 << 13).depth(10).build(),
        Err(Error::Insecure { .. })
    ));
    assert!(matches!(
        Parameters::builder()
            .degree(1 << 12)
            .word(Word::W32)
            .scale_bits(64)
            .build(),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        Parameters::preset_128(1000),
        Err(Error::InvalidParameters(_))
    ));
}

#[test]
fn linear_combinations_match_the_plaintext_reference() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 41);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (top, scale) = (params.max_level(), params.default_scale());
    let xs: Vec<Vec<f64>> = (0..3).map(|j| values(50 + j, 64)).collect();
    let cts: Vec<_> = xs
        .iter()
        .map(|x| {
            k.sk.encrypt(&enc.encode_real(x, top, scale).unwrap(), &mut k.rng)
                .unwrap()
        })
        .collect();
    // Scalar weights: one rescale, the scale unchanged.
    let w = [0.75, -2.5, 0.125];
    let terms: Vec<_> = cts.iter().zip(w).collect();
    let out = ev.linear_combination(&terms).unwrap();
    assert_eq!(out.level(), top - 1);
    assert!((out.scale() / scale - 1.0).abs() < 1e-9);
    let got = enc.decode_real(&k.sk.decrypt(&out).unwrap()).unwrap();
    for i in 0..64 {
        let want: f64 = (0..3).map(|j| w[j] * xs[j][i]).sum();
        assert!(
            (got[i] - want).abs() < 1e-5,
            "slot {i}: {} vs {want}",
            got[i]
        );
    }
    // Plaintext weights, slot by slot, no rescale.
    let ws: Vec<Vec<f64>> = (0..3).map(|j| values(90 + j, 64)).collect();
    let pts: Vec<_> = ws
        .iter()
        .map(|w| enc.encode_real(w, top, scale).unwrap())
        .collect();
    let terms: Vec<_> = cts.iter().zip(&pts).collect();
    let out = ev.linear_combination_plain(&terms).unwrap();
    let got = enc
        .decode_real(&k.sk.decrypt(&ev.rescale(&out).unwrap()).unwrap())
        .unwrap();
    for i in 0..64 {
        let want: f64 = (0..3).map(|j| ws[j][i] * xs[j][i]).sum();
        assert!(
            (got[i] - want).abs() < 1e-5,
            "slot {i}: {} vs {want}",
            got[i]
        );
    }
    // Mismatched scales are refused with the fix.
    let low = enc.encode_real(&[1.0], top, scale / 2.0).unwrap();
    let err = ev
        .linear_combination_plain(&[(&cts[0], &pts[0]), (&cts[1], &low)])
        .unwrap_err();
    assert!(err.to_string().contains("must agree"), "{err}");
    assert!(ev.linear_combination(&[]).is_err());
}

/// A real constant is added as `round(c·Δ)` at `x^0` exactly (the fast
/// path fills the NTT slots without a transform): the decrypted
/// difference is that integer at `x^0` and zero elsewhere, at every level.
#[test]
fn real_constants_add_exactly_round_c_times_the_scale() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 43);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let ct = encrypt(&mut k, &enc, &values(7, 64));
    for (ct, c) in [
        (ct.clone(), 0.3),
        (ct.clone(), -1234.5678),
        (ev.drop_to_level(&ct, 1).unwrap(), 2.75),
    ] {
        let plus = ev.add_const(&ct, Complex64::new(c, 0.0)).unwrap();
        let coeffs = |x: &Ciphertext| {
            k.sk.decrypt(x)
                .unwrap()
                .poly()
                .try_clone()
                .unwrap()
                .into_coeff()
                .to_centered()
                .unwrap()
        };
        let (before, after) = (coeffs(&ct), coeffs(&plus));
        let want = (c * ct.scale()).round() as i64;
        for (j, (a, b)) in after.iter().zip(&before).enumerate() {
            let d = a - b;
            let expect = if j == 0 { want } else { 0 };
            assert_eq!(d, expect.into(), "coefficient {j}");
        }
    }
}

/// The decrypted polynomial's centred coefficients.
fn plain_coeffs(k: &Keys, x: &Ciphertext) -> Vec<num_bigint::BigInt> {
    k.sk.decrypt(x)
        .unwrap()
        .poly()
        .try_clone()
        .unwrap()
        .into_coeff()
        .to_centered()
        .unwrap()
}

/// A complex constant is `round(Re c·Δ)` at `x^0` plus `round(Im c·Δ)` at
/// `x^(N/2)`, exactly, at every level (the cached-transform path), and the
/// slots gain `c`.
#[test]
fn complex_constants_add_exactly_at_x0_and_x_half_n() {
    let params = toy(1 << 11, 2);
    let n = params.degree();
    let mut k = keys(&params, 44);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let ct = encrypt(&mut k, &enc, &values(8, 64));
    for (ct, c) in [
        (ct.clone(), Complex64::new(0.3, -0.7)),
        (ct.clone(), Complex64::new(-12.5, 3.25)),
        (ev.drop_to_level(&ct, 1).unwrap(), Complex64::new(0.0, 2.75)),
    ] {
        let plus = ev.add_const(&ct, c).unwrap();
        let (before, after) = (plain_coeffs(&k, &ct), plain_coeffs(&k, &plus));
        let (re, im) = (
            (c.re * ct.scale()).round() as i64,
            (c.im * ct.scale()).round() as i64,
        );
        for (j, (a, b)) in after.iter().zip(&before).enumerate() {
            let expect = match j {
                0 => re,
                j if j == n / 2 => im,
                _ => 0,
            };
            assert_eq!(a - b, expect.into(), "coefficient {j}");
        }
        let (x, y) = (
            enc.decode(&k.sk.decrypt(&ct).unwrap()).unwrap(),
            enc.decode(&k.sk.decrypt(&plus).unwrap()).unwrap(),
        );
        assert!(x.iter().zip(&y).all(|(x, y)| (y - x - c).norm() < 1e-6));
    }
}

/// `x^k` shifts the decrypted polynomial negacyclically, exactly (no
/// noise added), for powers below, at and above `n`; `x^(n/2)` is `i` in
/// every slot and `x^(n/4)` squares to it.
#[test]
fn monomial_products_shift_the_plaintext_exactly() {
    let params = toy(1 << 11, 2);
    let n = params.degree();
    let mut k = keys(&params, 45);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (re, im) = (values(9, n / 2), values(10, n / 2));
    let z: Vec<Complex64> = re
        .iter()
        .zip(&im)
        .map(|(&a, &b)| Complex64::new(a, b))
        .collect();
    let pt = enc
        .encode(&z, params.max_level(), params.default_scale())
        .unwrap();
    let ct = k.sk.encrypt(&pt, &mut k.rng).unwrap();
    let base = plain_coeffs(&k, &ct);
    for shift in [0, 1, 7, n / 4, n / 2, n - 1, n, n + 5, 2 * n + 3] {
        for ct in [ct.clone(), ev.drop_to_level(&ct, 1).unwrap()] {
            let out = ev.mul_monomial(&ct, shift).unwrap();
            assert_eq!((out.level(), out.scale()), (ct.level(), ct.scale()));
            let got = plain_coeffs(&k, &out);
            let s = shift % (2 * n);
            for (j, g) in got.iter().enumerate() {
                // Coefficient j of x^s·m comes from m[j − s mod n], negated
                // once per wrap past x^n = −1.
                let from = (j + 2 * n - s) % (2 * n);
                let want = if from < n {
                    base[from].clone()
                } else {
                    -base[from - n].clone()
                };
                assert_eq!(*g, want, "x^{shift}, coefficient {j}");
            }
        }
    }
    let slots = |x: &Ciphertext| enc.decode(&k.sk.decrypt(x).unwrap()).unwrap();
    let i_z = slots(&ev.mul_monomial(&ct, n / 2).unwrap());
    assert!(
        i_z.iter()
            .zip(&z)
            .all(|(a, b)| (a - Complex64::i() * b).norm() < 1e-6)
    );
    let r = ev.mul_monomial(&ct, n / 4).unwrap();
    let sq = slots(&ev.multiply_relin_rescale(&r, &r, &k.rk).unwrap());
    assert!(
        sq.iter()
            .zip(&z)
            .all(|(a, b)| (a - Complex64::i() * b * b).norm() < 1e-5)
    );
}

/// Integer weights: no level spent, the scale unchanged.
#[test]
fn integer_linear_combinations_spend_no_level() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 44);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let xs: Vec<Vec<f64>> = (0..3).map(|j| values(60 + j, 64)).collect();
    let cts: Vec<_> = xs.iter().map(|x| encrypt(&mut k, &enc, x)).collect();
    let w = [1i64, -1, 3];
    let terms: Vec<_> = cts.iter().zip(w).collect();
    let out = ev.linear_combination_integer(&terms).unwrap();
    assert_eq!(out.level(), params.max_level());
    assert_eq!(out.scale(), cts[0].scale());
    let got = decrypt(&k, &enc, &out);
    for i in 0..64 {
        let want: f64 = (0..3).map(|j| w[j] as f64 * xs[j][i]).sum();
        assert!(
            (got[i] - want).abs() < 1e-6,
            "slot {i}: {} vs {want}",
            got[i]
        );
    }
    assert!(ev.linear_combination_integer(&[]).is_err());
}

/// A whole layer in one pass gives, row for row, the ciphertexts of the
/// per-row linear combinations (bit-identical), real and integer weights.
#[test]
fn linear_layers_equal_their_rows_combined_one_by_one() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 45);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let cts: Vec<_> = (0..5)
        .map(|j| encrypt(&mut k, &enc, &values(70 + j, 64)))
        .collect();
    let rows: [&[(usize, f64)]; 3] = [
        &[(0, 0.5), (3, -1.75), (4, 2.0)],
        &[(2, 0.3)],
        &[(1, -4.0), (0, 1e-3)],
    ];
    let layer = ev.linear_layer(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        let want = ev.linear_combination(&terms).unwrap();
        assert_eq!(got.polys(), want.polys());
        assert_eq!(got.scale(), want.scale());
    }
    let rows: [&[(usize, i64)]; 2] = [&[(0, 1), (1, -1), (2, 5)], &[(4, -7)]];
    let layer = ev.linear_layer_integer(&cts, &rows).unwrap();
    for (row, got) in rows.iter().zip(&layer) {
        let terms: Vec<_> = row.iter().map(|&(j, w)| (&cts[j], w)).collect();
        assert_eq!(
            got.polys(),
            ev.linear_combination_integer(&terms).unwrap().polys()
        );
    }
    // Dyadic weights w·2^-3: the same ciphertexts as the integer layer (no
    // level spent), read at a scale 2^3 larger — the values w·2^-3·x.
    let dyadic = ev.linear_layer_dyadic(&cts, &rows, -3).unwrap();
    let xs: Vec<Vec<f64>> = (0..5).map(|j| values(70 + j, 64)).collect();
    for ((row, got), int) in rows.iter().zip(&dyadic).zip(&layer) {
        assert_eq!(got.polys(), int.polys());
        assert_eq!(got.level(), cts[0].level());
        assert_eq!(got.scale(), cts[0].scale() * 8.0);
        let y = decrypt(&k, &enc, got);
        for i in 0..64 {
            let want: f64 = row.iter().map(|&(j, w)| w as f64 / 8.0 * xs[j][i]).sum();
            assert!((y[i] - want).abs() < 1e-6, "slot {i}: {} vs {want}", y[i]);
        }
    }
    // A scale pushed below 1 or past f64 is refused.
    assert!(ev.linear_layer_dyadic(&cts, &rows, 2000).is_err());
    assert!(ev.linear_layer_dyadic(&cts, &rows, -2000).is_err());
    // An empty row decrypts to zero; a term naming a missing input is refused.
    let empty = ev.linear_layer_integer(&cts, &[&[]]).unwrap();
    assert!(decrypt(&k, &enc, &empty[0]).iter().all(|v| v.abs() < 1e-9));
    assert!(ev.linear_layer_integer(&cts, &[&[(5, 1)]]).is_err());
    assert!(ev.linear_layer(&cts, &[&[(0, f64::NAN)]]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A layer summed in parts — any partition of its inputs, in any
    /// order — gives the whole layer's ciphertexts bit for bit.
    #[test]
    fn a_layer_summed_in_parts_equals_the_whole_layer(
        weights in prop::collection::vec(prop::collection::vec(-3.0f64..3.0, 7), 1..5),
        pruned in prop::collection::vec(any::<bool>(), 35),
        order in Just((0..7usize).collect::<Vec<_>>()).prop_shuffle(),
        cuts in prop::collection::vec(any::<bool>(), 6),
    ) {
        let params = toy(1 << 11, 2);
        let mut k = keys(&params, 47);
        let enc = Encoder::new(&params);
        let ev = Evaluator::new(&params);
        let cts: Vec<_> = (0..7).map(|j| encrypt(&mut k, &enc, &values(200 + j, enc.slots()))).collect();
        let rows: Vec<Vec<(usize, f64)>> = weights
            .iter()
            .enumerate()
            .map(|(r, w)| {
                w.iter()
                    .enumerate()
                    .filter(|&(j, _)| !pruned[(r * 7 + j) % 35])
                    .map(|(j, &w)| (j, w))
                    .collect()
            })
            .collect();
        let refs: Vec<&[(usize, f64)]> = rows.iter().map(Vec::as_slice).collect();
        let scale = params.default_scale();
        let whole = ev.linear_layer_to_scale(&cts, &refs, scale).unwrap();
        let mut layer = ev.partial_layer(&refs, 7, scale).unwrap();
        let mut part = Vec::new();
        for (k, &j) in order.iter().enumerate() {
            part.push(j);
            if k + 1 == order.len() || cuts[k] {
                let taken: Vec<_> = part.iter().map(|&j| cts[j].clone()).collect();
                ev.add_to_layer(&mut layer, &part, taken).unwrap();
                part.clear();
            }
        }
        let parts = ev.finish_layer(layer).unwrap();
        prop_assert_eq!(parts.len(), whole.len());
        for (a, b) in parts.iter().zip(&whole) {
            prop_assert_eq!(a.level(), b.level());
            prop_assert_eq!(a.scale(), b.scale());
            prop_assert!(a.to_bytes().unwrap() == b.to_bytes().unwrap(), "different ciphertexts");
        }
    }
}

/// A layer in parts refuses what it cannot sum: an input twice or out of
/// range, a part at another level or scale, finishing before every input
/// arrived — each a typed error, the layer still usable after.
#[test]
fn a_layer_in_parts_refuses_misuse() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 48);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let cts: Vec<_> = (0..3)
        .map(|j| encrypt(&mut k, &enc, &values(300 + j, enc.slots())))
        .collect();
    let rows: [&[(usize, f64)]; 1] = [&[(0, 0.5), (1, 1.0), (2, -2.0)]];
    let scale = params.default_scale();
    assert!(matches!(
        ev.partial_layer(&rows, 2, scale),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        ev.partial_layer(&[&[(0, f64::NAN)]], 1, scale),
        Err(Error::InvalidParameters(_))
    ));
    assert!(matches!(
        ev.partial_layer(&rows, 3, 0.0),
        Err(Error::InvalidParameters(_))
    ));
    let mut layer = ev.partial_layer(&rows, 3, scale).unwrap();
    ev.add_to_layer(&mut layer, &[0], vec![cts[0].clone()])
        .unwrap();
    for (indices, part) in [
        (vec![0], vec![cts[0].clone()]),
        (vec![3], vec![cts[1].clone()]),
        (vec![1, 1], vec![cts[1].clone(), cts[1].clone()]),
        (vec![1], vec![]),
    ] {
        let r = ev.add_to_layer(&mut layer, &indices, part);
        assert!(
            matches!(r, Err(Error::InvalidParameters(_))),
            "{indices:?}: {r:?}"
        );
    }
    let lower = ev.drop_to_level(&cts[1], cts[1].level() - 1).unwrap();
    assert!(matches!(
        ev.add_to_layer(&mut layer, &[1], vec![lower]),
        Err(Error::LevelMismatch { .. })
    ));
    // The same level at 8 times the scale.
    let other = ev
        .linear_layer_dyadic(&cts[1..2], &[&[(0, 1)]], -3)
        .unwrap()
        .remove(0);
    assert_eq!(other.level(), cts[1].level());
    assert!(matches!(
        ev.add_to_layer(&mut layer, &[1], vec![other]),
        Err(Error::ScaleMismatch { .. })
    ));
    assert!(matches!(
        ev.finish_layer(ev.partial_layer(&rows, 3, scale).unwrap()),
        Err(Error::InvalidParameters(_))
    ));
    ev.add_to_layer(&mut layer, &[2, 1], vec![cts[2].clone(), cts[1].clone()])
        .unwrap();
    assert_eq!(layer.arrived(), 3);
    let y = ev.finish_layer(layer).unwrap();
    let x: Vec<Vec<f64>> = (0..3).map(|j| values(300 + j, enc.slots())).collect();
    let want: Vec<f64> = (0..enc.slots())
        .map(|i| 0.5 * x[0][i] + x[1][i] - 2.0 * x[2][i])
        .collect();
    assert!(max_err(&decrypt(&k, &enc, &y[0]), &want) < 1e-6);
}

/// Relinearizing and rescaling a product in one division is
/// `multiply_relin_rescale` bit for bit; a two-polynomial ciphertext is only
/// rescaled.
#[test]
fn relinearize_rescale_finishes_a_product_as_the_fused_multiplication() {
    let params = toy(1 << 11, 3);
    let mut k = keys(&params, 49);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let (x, y) = (values(400, enc.slots()), values(401, enc.slots()));
    let (a, b) = (encrypt(&mut k, &enc, &x), encrypt(&mut k, &enc, &y));
    let product = ev.multiply(&a, &b).unwrap();
    assert_eq!(product.len(), 3);
    let fused = ev.multiply_relin_rescale(&a, &b, &k.rk).unwrap();
    let split = ev.relinearize_rescale(product, &k.rk).unwrap();
    assert_eq!((split.len(), split.level()), (2, fused.level()));
    assert_eq!(split.scale(), fused.scale());
    assert!(split.to_bytes().unwrap() == fused.to_bytes().unwrap());
    assert!(
        ev.relinearize_rescale(a.clone(), &k.rk)
            .unwrap()
            .to_bytes()
            .unwrap()
            == ev.rescale(&a).unwrap().to_bytes().unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// `multiply_pair(u, v, k)` is `(u + x^k·v)·(u − x^k·v)` formed op by
    /// op, bit for bit and counted alike, for any shift, at any level, with
    /// the operands at two levels; relinearized and rescaled it decrypts to
    /// `u² + i·v²` when `x^(2k) = −i` (`k = 3n/4`).
    #[test]
    fn multiply_pair_is_the_sum_times_the_difference(
        k in 0usize..4096,
        drop_u in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let params = toy(1 << 11, 3);
        let mut keys = keys(&params, 51);
        let enc = Encoder::new(&params);
        let (x, y) = (values(600 + seed, enc.slots()), values(700 + seed, enc.slots()));
        let (mut u, v) = (encrypt(&mut keys, &enc, &x), encrypt(&mut keys, &enc, &y));
        let plain = Evaluator::new(&params);
        if drop_u {
            u = plain.drop_to_level(&u, u.level() - 1).unwrap();
        }
        let (fused_hops, split_hops) = (
            Arc::new(hefty_core::HopCounter::default()),
            Arc::new(hefty_core::HopCounter::default()),
        );
        let fused_ev = Evaluator::with_hop_counter(&params, &fused_hops);
        let ev = Evaluator::with_hop_counter(&params, &split_hops);
        let fused = fused_ev.multiply_pair(&u, &v, k).unwrap();
        let r = ev.mul_monomial(&v, k).unwrap();
        let (a, b) = (ev.add(&u, &r).unwrap(), ev.sub(&u, &r).unwrap());
        let split = ev.multiply(&a, &b).unwrap();
        prop_assert_eq!((fused.len(), fused.level()), (3, split.level()));
        prop_assert_eq!(fused.scale(), split.scale());
        prop_assert!(fused.to_bytes().unwrap() == split.to_bytes().unwrap());
        prop_assert_eq!(fused_hops.totals(), split_hops.totals());
        if !drop_u {
            let n = params.degree();
            let both = plain
                .relinearize_rescale(plain.multiply_pair(&u, &v, 3 * n / 4).unwrap(), &keys.rk)
                .unwrap();
            let out = enc.decode(&keys.sk.decrypt(&both).unwrap()).unwrap();
            for ((o, a), b) in out.iter().zip(&x).zip(&y) {
                prop_assert!((o.re - a * a).abs() < 1e-5 && (o.im - b * b).abs() < 1e-5);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// A layer of products — three polynomials at the squared scale, summed
    /// in parts over two levels, relinearized once per output — gives
    /// `Σ w·x·y` as precisely as relinearizing and rescaling every product
    /// before a one-level layer, and lands on the same level and scale.
    #[test]
    fn a_layer_of_products_relinearizes_only_its_outputs(
        weights in prop::collection::vec(prop::collection::vec(-3.0f64..3.0, 6), 1..4),
        cuts in prop::collection::vec(any::<bool>(), 5),
    ) {
        let params = toy(1 << 11, 3);
        let mut k = keys(&params, 50);
        let enc = Encoder::new(&params);
        let ev = Evaluator::new(&params);
        let x: Vec<Vec<f64>> = (0..6).map(|j| values(500 + j, enc.slots())).collect();
        let cts: Vec<_> = x.iter().map(|v| encrypt(&mut k, &enc, v)).collect();
        let rows: Vec<Vec<(usize, f64)>> = weights
            .iter()
            .map(|w| w.iter().copied().enumerate().collect())
            .collect();
        let refs: Vec<&[(usize, f64)]> = rows.iter().map(Vec::as_slice).collect();
        let scale = params.default_scale();
        // Squares x_j², every part's products left as three polynomials.
        let products: Vec<_> = cts.iter().map(|c| ev.multiply(c, c).unwrap()).collect();
        let mut layer = ev.partial_layer_spending(&refs, 6, scale, 2).unwrap();
        let mut part = Vec::new();
        // A cut after input j ends a part (the last input ends one always).
        for (j, cut) in cuts.iter().chain([&true]).enumerate() {
            part.push(j);
            if *cut {
                let taken: Vec<_> = part.iter().map(|&j| products[j].clone()).collect();
                ev.add_to_layer(&mut layer, &part, taken).unwrap();
                part.clear();
            }
        }
        let lazy = ev.finish_layer_relinearized(layer, &k.rk).unwrap();
        let squares: Vec<_> = cts
            .iter()
            .map(|c| ev.multiply_relin_rescale(c, c, &k.rk).unwrap())
            .collect();
        let eager = ev.linear_layer_to_scale(&squares, &refs, scale).unwrap();
        for ((r, a), b) in rows.iter().zip(&lazy).zip(&eager) {
            prop_assert_eq!((a.len(), a.level(), a.scale()), (2, b.level(), b.scale()));
            let want: Vec<f64> = (0..enc.slots())
                .map(|i| r.iter().map(|&(j, w)| w * x[j][i] * x[j][i]).sum())
                .collect();
            let (lazy_err, eager_err) = (
                max_err(&decrypt(&k, &enc, a), &want),
                max_err(&decrypt(&k, &enc, b), &want),
            );
            prop_assert!(lazy_err < 1e-5, "lazy error {lazy_err}");
            prop_assert!(lazy_err < 4.0 * eager_err.max(1e-7), "lazy {lazy_err} vs eager {eager_err}");
        }
        // A whole layer of three-polynomial inputs with weights in 1/64:
        // sums that stay three polynomials and decrypt under s².
        let sixty_fourths: Vec<Vec<(usize, i64)>> = rows
            .iter()
            .map(|r| r.iter().map(|&(j, w)| (j, (w * 64.0).round() as i64)).collect())
            .collect();
        let dyadic: Vec<&[(usize, i64)]> = sixty_fourths.iter().map(Vec::as_slice).collect();
        let whole = ev.linear_layer_dyadic(&products, &dyadic, -6).unwrap();
        for (r, c) in sixty_fourths.iter().zip(&whole) {
            prop_assert_eq!(c.len(), 3);
            let want: Vec<f64> = (0..enc.slots())
                .map(|i| r.iter().map(|&(j, w)| w as f64 / 64.0 * x[j][i] * x[j][i]).sum())
                .collect();
            let err = max_err(&decrypt(&k, &enc, c), &want);
            prop_assert!(err < 1e-5, "error {err}");
        }
    }
}

/// Layers of products refuse what they cannot sum: a part of
/// two-polynomial inputs after three-polynomial ones, no level to spend,
/// more levels than the chain has left.
#[test]
fn layers_of_products_refuse_misuse() {
    let params = toy(1 << 11, 2);
    let mut k = keys(&params, 51);
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let cts: Vec<_> = (0..2)
        .map(|j| encrypt(&mut k, &enc, &values(600 + j, enc.slots())))
        .collect();
    let rows: [&[(usize, f64)]; 1] = [&[(0, 0.5), (1, -1.0)]];
    let scale = params.default_scale();
    let product = ev.multiply(&cts[0], &cts[0]).unwrap();
    assert!(matches!(
        ev.partial_layer_spending(&rows, 2, scale, 0),
        Err(Error::InvalidParameters(_))
    ));
    let mut layer = ev.partial_layer_spending(&rows, 2, scale, 2).unwrap();
    ev.add_to_layer(&mut layer, &[0], vec![product.clone()])
        .unwrap();
    assert!(matches!(
        ev.add_to_layer(&mut layer, &[1], vec![cts[1].clone()]),
        Err(Error::PolynomialCountMismatch { left: 3, right: 2 })
    ));
    assert!(matches!(
        ev.linear_layer(&[product.clone(), cts[1].clone()], &rows),
        Err(Error::PolynomialCountMismatch { left: 3, right: 2 })
    ));
    // Two levels in the chain: three cannot be spent.
    let mut deep = ev.partial_layer_spending(&rows, 2, scale, 3).unwrap();
    assert!(matches!(
        ev.add_to_layer(&mut deep, &[0], vec![product]),
        Err(Error::OutOfLevels { .. })
    ));
}
