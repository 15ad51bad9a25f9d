//! The hostile-input harness: arbitrary values — sizes at the extremes,
//! NaN, infinities, subnormals, arbitrary bytes — through the public API of
//! hefty-ntt and hefty-core. Every call must return (no panic, no abort),
//! and every error must read as a sentence with its cause (no Debug
//! leakage such as `Some(..)`). hefty-nn's readers have their own
//! (`nn-ops/tests/hostile.rs`, the fuzz targets).

use std::sync::{Arc, OnceLock};

use hefty_core::{Error, Sampler, bfv, ckks, ntt};
use proptest::prelude::*;

mod harness {
    pub mod no_panic;
}
use harness::no_panic::no_panic;

/// Floats a careless caller passes: extremes, NaN, infinities, subnormals.
fn floats() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE / 4.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(1e300),
        -1e6..1e6f64,
        any::<f64>(),
    ]
}

/// Sizes at the extremes.
fn sizes() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(usize::MAX),
        Just(usize::MAX / 2 + 1),
        Just(1 << 17),
        Just(1 << 18),
        0..5000usize,
        any::<usize>(),
    ]
}

fn ckks_params() -> &'static Arc<ckks::Parameters> {
    static P: OnceLock<Arc<ckks::Parameters>> = OnceLock::new();
    P.get_or_init(|| {
        ckks::Parameters::builder()
            .degree(64)
            .scale_bits(20)
            .base_bits(30)
            .depth(2)
            .special_primes(1, 31)
            .insecure_disable_security_check_for_testing_only()
            .build()
            .unwrap()
    })
}

struct CkksSetup {
    sk: ckks::SecretKey,
    ct: ckks::Ciphertext,
}

fn ckks_setup() -> &'static CkksSetup {
    static S: OnceLock<CkksSetup> = OnceLock::new();
    S.get_or_init(|| {
        let params = ckks_params();
        let mut rng = Sampler::from_seed([9; 32]);
        let sk = ckks::SecretKey::generate(params, &mut rng);
        let enc = ckks::Encoder::new(params);
        let pt = enc
            .encode_real(&[0.5], params.max_level(), params.default_scale())
            .unwrap();
        let ct = sk.encrypt(&pt, &mut rng).unwrap();
        CkksSetup { sk, ct }
    })
}

/// Two CKKS parameter sets with different mathematics, each with keys and
/// a ciphertext: the operands of the foreign-object property.
struct Side {
    params: Arc<ckks::Parameters>,
    sk: ckks::SecretKey,
    rk: ckks::RelinearizationKey,
    gk: ckks::GaloisKeys,
    ct: ckks::Ciphertext,
    pt: ckks::Plaintext,
}

fn sides() -> &'static [Side; 2] {
    static S: OnceLock<[Side; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [20u32, 21].map(|scale| {
            let params = ckks::Parameters::builder()
                .degree(64)
                .scale_bits(scale)
                .base_bits(30)
                .depth(2)
                .special_primes(1, 31)
                .insecure_disable_security_check_for_testing_only()
                .build()
                .unwrap();
            let mut rng = Sampler::from_seed([scale as u8; 32]);
            let sk = ckks::SecretKey::generate(&params, &mut rng);
            let rk = ckks::RelinearizationKey::new(&sk, &mut rng).unwrap();
            let gk = ckks::GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
            let pt = ckks::Encoder::new(&params)
                .encode_real(&[0.25], params.max_level(), params.default_scale())
                .unwrap();
            let ct = sk.encrypt(&pt, &mut rng).unwrap();
            Side {
                params,
                sk,
                rk,
                gk,
                ct,
                pt,
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn foreign_objects_are_refused_and_own_objects_accepted(
        op in 0usize..7,
        pick in prop::collection::vec(any::<bool>(), 3),
    ) {
        let s = sides();
        // The evaluator's side, and the sides of up to two operands.
        let (e, a, b) = (&s[pick[0] as usize], &s[pick[1] as usize], &s[pick[2] as usize]);
        let ev = ckks::Evaluator::new(&e.params);
        let enc = ckks::Encoder::new(&e.params);
        let result: Result<(), Error> = match op {
            0 => ev.add(&a.ct, &b.ct).map(|_| ()),
            1 => ev.mul_plain(&a.ct, &b.pt).map(|_| ()),
            2 => ev.relinearize(&a.ct, &b.rk).map(|_| ()),
            3 => ev.rotate(&a.ct, 1, &b.gk).map(|_| ()),
            4 => b.sk.decrypt(&a.ct).map(|_| ()),
            5 => enc.decode(&a.pt).map(|_| ()),
            _ => ev.linear_combination(&[(&a.ct, 1.0), (&b.ct, 2.0)]).map(|_| ()),
        };
        // Which objects the operation involves (decryption has no evaluator).
        let involved: &[&Side] = match op {
            4 => &[a, b],
            5 => &[e, a],
            _ => &[e, a, b],
        };
        let same = involved.iter().all(|x| std::ptr::eq(*x, involved[0]));
        if same {
            prop_assert!(result.is_ok(), "op {op}: {result:?}");
        } else {
            prop_assert_eq!(result, Err(Error::ParameterMismatch), "op {}", op);
        }
    }

    #[test]
    fn ntt_entry_points_never_panic(bits in any::<u32>(), n in sizes(), count in sizes(), p in any::<u64>()) {
        no_panic("ntt_primes", || ntt::ntt_primes(bits % 70, n, count % 10_000))?;
        no_panic("NttPlan::new", || ntt::NttPlan::new(n, p))?;
        no_panic("primitive_root", || ntt::primitive_root(p, n as u64))?;
    }

    #[test]
    fn bfv_builders_never_panic(
        n in sizes(),
        t in any::<u64>(),
        bits in prop::collection::vec(any::<u32>(), 0..6),
        special in prop::collection::vec(any::<u32>(), 0..3),
    ) {
        no_panic("bfv builder", || {
            bfv::Parameters::builder()
                .degree(n % (1 << 12))
                .plaintext_modulus(t)
                .ciphertext_moduli_bits(&bits.iter().map(|b| b % 70).collect::<Vec<_>>())
                .special_moduli_bits(&special.iter().map(|b| b % 70).collect::<Vec<_>>())
                .insecure_disable_security_check_for_testing_only()
                .build()
        })?;
        no_panic("bfv preset", || bfv::Parameters::preset_128(n))?;
    }

    #[test]
    fn ckks_builders_never_panic(
        n in sizes(),
        scale in any::<u32>(),
        base in any::<u32>(),
        depth in sizes(),
        count in sizes(),
        special in any::<u32>(),
        w32 in any::<bool>(),
    ) {
        no_panic("ckks builder", || {
            ckks::Parameters::builder()
                .degree(n % (1 << 12))
                .scale_bits(scale % 80)
                .base_bits(base % 250)
                .depth(depth % 100)
                .special_primes(count % 20, special % 70)
                .word(if w32 { ckks::Word::W32 } else { ckks::Word::W64 })
                .insecure_disable_security_check_for_testing_only()
                .build()
        })?;
    }

    #[test]
    fn ckks_floats_never_panic_or_corrupt(
        values in prop::collection::vec(floats(), 0..40),
        scale in floats(),
        c in floats(),
        level in sizes(),
    ) {
        let params = ckks_params();
        let s = ckks_setup();
        let enc = ckks::Encoder::new(params);
        let ev = ckks::Evaluator::new(params);
        no_panic("encode", || enc.encode_real(&values, level % 5, scale))?;
        no_panic("add_const", || ev.add_const(&s.ct, ckks::Complex64::new(c, c)))?;
        no_panic("mul_const", || ev.mul_const(&s.ct, c))?;
        no_panic("adjust_scale", || ev.adjust_scale(&s.ct, scale))?;
        no_panic("linear_combination", || ev.linear_combination(&[(&s.ct, c), (&s.ct, 1.0)]))?;
        no_panic("drop_to_level", || ev.drop_to_level(&s.ct, level))?;
        // Whatever was refused, the ciphertext still decrypts to its value.
        let out = enc.decode_real(&s.sk.decrypt(&s.ct).unwrap()).unwrap();
        prop_assert!((out[0] - 0.5).abs() < 1e-2);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let params = ckks_params();
        no_panic("bfv params", || bfv::Parameters::from_bytes_insecure_for_testing_only(&bytes))?;
        no_panic("ckks params", || ckks::Parameters::from_bytes_insecure_for_testing_only(&bytes))?;
        no_panic("ckks ciphertext", || ckks::Ciphertext::from_bytes(params, &bytes))?;
        no_panic("ckks plaintext", || ckks::Plaintext::from_bytes(params, &bytes))?;
        no_panic("ckks galois keys", || ckks::GaloisKeys::from_bytes(params, &bytes))?;
        no_panic("object kind", || hefty_core::serial::object_kind(&bytes))?;
    }

    #[test]
    fn misordered_calls_return_errors(steps in any::<i64>(), g in any::<usize>()) {
        let params = ckks_params();
        let s = ckks_setup();
        let mut rng = Sampler::from_seed([1; 32]);
        let ev = ckks::Evaluator::new(params);
        // Keys for nothing, rotations by anything; relinearizing a fresh
        // ciphertext, rescaling at the bottom.
        let gk = ckks::GaloisKeys::new(&s.sk, &[], false, &mut rng).unwrap();
        no_panic("rotate", || ev.rotate(&s.ct, steps, &gk))?;
        no_panic("galois keys", || ckks::GaloisKeys::for_elements(&s.sk, &[g], &mut rng))?;
        let bottom = ev.drop_to_level(&s.ct, params.min_level()).unwrap();
        let refused = matches!(ev.rescale(&bottom), Err(Error::OutOfLevels { .. }));
        prop_assert!(refused, "rescale at the bottom");
    }
}
