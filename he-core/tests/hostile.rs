//! Hostile and careless inputs to the public API: each must return a typed
//! error that names its cause and its fix — never a panic, an abort, a
//! wrong answer or an unbounded search. One test per class of issue 18's
//! findings (cross-object checks, overflowing sizes, non-finite values,
//! unbounded work, serialization asymmetry, unhelpful messages).

use std::sync::Arc;

use hefty_core::bfv::{self, IntegerEncoder};
use hefty_core::ckks;
use hefty_core::ntt::{self, MAX_PRIME_COUNT};
use hefty_core::{Error, Sampler};

fn ckks_toy() -> Arc<ckks::Parameters> {
    ckks::Parameters::builder()
        .degree(1024)
        .depth(2)
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

fn bfv_toy() -> Arc<bfv::Parameters> {
    bfv::Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&[50, 50, 50])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

#[test]
fn a_huge_prime_count_is_refused_before_any_allocation() {
    for count in [usize::MAX, usize::MAX / 8, MAX_PRIME_COUNT + 1] {
        let err = ntt::ntt_primes(40, 1024, count).unwrap_err();
        assert_eq!(
            err,
            ntt::Error::TooManyPrimes {
                wanted: count,
                max: MAX_PRIME_COUNT
            }
        );
        assert!(err.to_string().contains("at most 4096"), "{err}");
    }
}

#[test]
fn a_builder_asked_for_thousands_of_primes_refuses_before_searching() {
    let start = std::time::Instant::now();
    let err = bfv::Parameters::builder()
        .degree(4096)
        .ciphertext_moduli_bits(&[40; 3000])
        .special_moduli_bits(&[40])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameters(_)), "{err}");
    assert!(err.to_string().contains("at most 64"), "{err}");
    // Within the prime count but far beyond the standard: the cheap
    // security bound refuses it before the primes are searched.
    let err = bfv::Parameters::builder()
        .degree(4096)
        .ciphertext_moduli_bits(&[60; 60])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Insecure { .. }), "{err}");
    let err = ckks::Parameters::builder()
        .degree(1 << 15)
        .depth(5000)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("lower the depth"), "{err}");
    // Refusals are cheap (a prime search of this size takes minutes).
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn integer_ranges_saturate_instead_of_wrapping_to_exact() {
    let params = bfv_toy();
    let enc = IntegerEncoder::new(&params);
    let x = enc.range_of(&enc.encode_integer(3).unwrap());
    // Squaring the range 64 times doubles its degree 64 times: the degree
    // would wrap to 0 in usize arithmetic and `check` would call it exact.
    let mut r = x;
    for _ in 0..64 {
        r = r.mul(&r);
    }
    assert_eq!(r.degree(), usize::MAX);
    assert!(matches!(enc.check(&r), Err(Error::IntegerOverflow(_))));
}

#[test]
fn non_finite_values_never_enter_a_ckks_ciphertext() {
    let params = ckks_toy();
    let mut rng = Sampler::from_seed([1; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let enc = ckks::Encoder::new(&params);
    let ev = ckks::Evaluator::new(&params);
    let (top, scale) = (params.max_level(), params.default_scale());
    let ct = sk
        .encrypt(&enc.encode_real(&[1.0, 2.0], top, scale).unwrap(), &mut rng)
        .unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for c in [
            ckks::Complex64::new(bad, 0.0),
            ckks::Complex64::new(0.0, bad),
        ] {
            let err = ev.add_const(&ct, c).unwrap_err();
            assert!(err.to_string().contains("finite"), "{err}");
        }
        assert!(ev.mul_const(&ct, bad).is_err());
        assert!(ev.linear_combination(&[(&ct, bad)]).is_err());
        assert!(enc.encode_real(&[bad], top, scale).is_err());
        assert!(enc.encode_real(&[1.0], top, bad).is_err());
        assert!(ev.adjust_scale(&ct, bad).is_err());
    }
    // The ciphertext is untouched and still decrypts.
    let out = enc.decode_real(&sk.decrypt(&ct).unwrap()).unwrap();
    assert!((out[0] - 1.0).abs() < 1e-4 && (out[1] - 2.0).abs() < 1e-4);
}

#[test]
fn a_serialized_scale_below_one_is_refused() {
    let params = ckks_toy();
    let mut rng = Sampler::from_seed([2; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let enc = ckks::Encoder::new(&params);
    let ct = sk
        .encrypt(
            &enc.encode_real(&[1.0], params.max_level(), params.default_scale())
                .unwrap(),
            &mut rng,
        )
        .unwrap();
    let bytes = ct.to_bytes().unwrap();
    let scale = ct.scale().to_bits().to_le_bytes();
    let at = bytes
        .windows(8)
        .position(|w| w == scale)
        .expect("the scale is stored");
    for bad in [1e-300, 0.5, 0.0, -1.0, f64::NAN, f64::INFINITY] {
        let mut tampered = bytes.clone();
        tampered[at..at + 8].copy_from_slice(&bad.to_bits().to_le_bytes());
        let err = ckks::Ciphertext::from_bytes(&params, &tampered).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("at least 1"), "{err}");
    }
    // Rescaling cannot produce such a scale either.
    let ev = ckks::Evaluator::new(&params);
    let low = enc.encode_real(&[1.0], params.max_level(), 1.0).unwrap();
    let tiny = sk.encrypt(&low, &mut rng).unwrap();
    assert!(matches!(
        ev.rescale(&tiny),
        Err(Error::ScaleMismatch { .. })
    ));
}

#[test]
fn what_to_bytes_writes_from_bytes_reads() {
    let params = bfv_toy();
    let mut rng = Sampler::from_seed([3; 32]);
    let sk = bfv::SecretKey::generate(&params, &mut rng);
    let enc = bfv::Encoder::new(&params).unwrap();
    let ev = bfv::Evaluator::new(&params);
    let ct = sk.encrypt(&enc.encode(&[2, 3]).unwrap(), &mut rng).unwrap();
    let c3 = ev.multiply(&ct, &ct).unwrap();
    let c5 = ev.multiply(&c3, &c3).unwrap();
    let c9 = ev.multiply(&c5, &c5).unwrap();
    assert_eq!(c9.polys().len(), 9);
    for c in [&ct, &c3, &c5] {
        let back = bfv::Ciphertext::from_bytes(&params, &c.to_bytes().unwrap()).unwrap();
        assert_eq!(&back, c);
    }
    let err = c9.to_bytes().unwrap_err();
    assert!(err.to_string().contains("relinearize"), "{err}");
}

#[test]
fn messages_name_the_cause_and_the_fix_in_words() {
    let params = ckks_toy();
    let mut rng = Sampler::from_seed([4; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let gk = ckks::GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = ckks::Encoder::new(&params);
    let ev = ckks::Evaluator::new(&params);
    let ct = sk
        .encrypt(
            &enc.encode_real(&[1.0], params.max_level(), params.default_scale())
                .unwrap(),
            &mut rng,
        )
        .unwrap();
    let err = ev.rotate(&ct, 2, &gk).unwrap_err().to_string();
    assert!(err.contains("a rotation by 2 steps"), "{err}");
    assert!(!err.contains("Some("), "{err}");
    let err = ev.conjugate(&ct, &gk).unwrap_err().to_string();
    assert!(!err.contains("None"), "{err}");
    assert!(err.contains("conjugation"), "{err}");
    // A degree the standard does not cover says so, not "at most nothing".
    let err = bfv::Parameters::builder()
        .degree(1 << 9)
        .ciphertext_moduli_bits(&[30])
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no 128-bit bound for n = 512"), "{err}");
    assert!(!err.contains("nothing"), "{err}");
}

#[test]
fn a_w32_builder_names_the_setting_to_change() {
    // The defaults (60-bit special primes) do not fit 32-bit words.
    let err = ckks::Parameters::builder()
        .degree(1 << 12)
        .word(ckks::Word::W32)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains(".special_primes(count, bits)"), "{err}");
    assert!(err.contains("20..=31"), "{err}");
    let err = ckks::Parameters::builder()
        .degree(1 << 12)
        .word(ckks::Word::W32)
        .special_primes(2, 30)
        .scale_bits(64)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("use a scale between"), "{err}");
}

#[test]
fn samplers_and_crt_bound_their_sizes() {
    let mut rng = Sampler::from_seed([5; 32]);
    for n in [usize::MAX, (1 << 17) + 1] {
        assert!(
            rng.ternary(n)
                .unwrap_err()
                .to_string()
                .contains("at most 131072")
        );
        assert!(rng.error(n).is_err());
        assert!(rng.centered_binomial(n, 3).is_err());
    }
    assert_eq!(rng.ternary(1 << 17).unwrap().len(), 1 << 17);
    let builder = bfv::Parameters::builder()
        .degree(1024)
        .insecure_disable_security_check_for_testing_only();
    let primes: Vec<u64> = ntt::ntt_primes(20, 1024, 65).unwrap();
    let err = bfv::CrtBfv::new(builder, &primes).unwrap_err();
    assert!(err.to_string().contains("1 to 64"), "{err}");
}
