//! Serialization of every public object of both schemes: bit-exact round
//! trips, objects that keep working after loading, exact compact sizes, and
//! typed errors (never panics) for truncated, corrupted, foreign or insecure
//! bytes.

use std::sync::Arc;

use hefty_core::bfv::{
    Ciphertext, Evaluator, GaloisKeys, Plaintext, PublicKey, RelinearizationKey, SecretKey,
};
use hefty_core::serial::{FORMAT_VERSION, ObjectKind, object_kind};
use hefty_core::{Error, Sampler, SecurityLevel};
use hefty_core::{bfv, ckks};
use proptest::prelude::*;

/// Header: magic, version, kind, fingerprint.
const HEADER: usize = 4 + 2 + 1 + 16;

fn bits(q: u64) -> usize {
    64 - (q - 1).leading_zeros() as usize
}

/// Bytes of one bit-packed polynomial over `primes`.
fn packed(primes: &[u64], n: usize) -> usize {
    primes.iter().map(|&q| (n * bits(q)).div_ceil(8)).sum()
}

fn values_of(params: &bfv::Parameters) -> Vec<u64> {
    let t = params.plaintext_modulus();
    (0..params.degree() as u64)
        .map(|i| (i * i + 7) % t)
        .collect()
}

#[test]
fn bfv_objects_round_trip_and_keep_working() {
    let params = bfv::Parameters::preset_128(4096).unwrap();
    let mut rng = Sampler::from_seed([1; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::new(&sk, &[1, -3], true, &mut rng).unwrap();
    let enc = bfv::Encoder::new(&params).unwrap();
    let pt = enc.encode(&values_of(&params)).unwrap();
    let sym = sk.encrypt(&pt, &mut rng).unwrap();
    let asym = pk.encrypt(&pt, &mut rng).unwrap();
    let eval = Evaluator::new(&params);
    let product = eval.multiply(&sym, &asym).unwrap();

    // As if in another process: parameters first, everything under them.
    let loaded = bfv::Parameters::from_bytes(&params.to_bytes()).unwrap();
    assert_eq!(loaded.fingerprint(), params.fingerprint());
    assert_eq!(loaded.to_bytes(), params.to_bytes());
    let sk2 = SecretKey::from_bytes(&loaded, &sk.to_bytes()).unwrap();
    let pk2 = PublicKey::from_bytes(&loaded, &pk.to_bytes().unwrap()).unwrap();
    let rk2 = RelinearizationKey::from_bytes(&loaded, &rk.to_bytes().unwrap()).unwrap();
    let gk2 = GaloisKeys::from_bytes(&loaded, &gk.to_bytes().unwrap()).unwrap();
    let pt2 = Plaintext::from_bytes(&loaded, &pt.to_bytes()).unwrap();
    let sym2 = Ciphertext::from_bytes(&loaded, &sym.to_bytes().unwrap()).unwrap();
    let asym2 = Ciphertext::from_bytes(&loaded, &asym.to_bytes().unwrap()).unwrap();
    let product2 = Ciphertext::from_bytes(&loaded, &product.to_bytes().unwrap()).unwrap();

    // Bit-exact: every object re-encodes to the same bytes.
    assert_eq!(*sk2.to_bytes(), *sk.to_bytes());
    assert_eq!(pk2.to_bytes().unwrap(), pk.to_bytes().unwrap());
    assert_eq!(rk2.to_bytes().unwrap(), rk.to_bytes().unwrap());
    assert_eq!(gk2.to_bytes().unwrap(), gk.to_bytes().unwrap());
    assert_eq!(
        gk2.elements().collect::<Vec<_>>(),
        gk.elements().collect::<Vec<_>>()
    );
    assert_eq!(pt2.coeffs(), pt.coeffs());
    assert_eq!(sym2.seed(), sym.seed());
    for (a, b) in [(&sym2, &sym), (&asym2, &asym), (&product2, &product)] {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.polys().iter().zip(b.polys()) {
            assert_eq!(x.to_host().unwrap(), y.to_host().unwrap());
        }
    }

    // Loaded keys compute what the originals compute.
    let eval2 = Evaluator::new(&loaded);
    let want = eval
        .rotate_rows(&eval.relinearize(&product, &rk).unwrap(), 1, &gk)
        .unwrap();
    let got = eval2
        .rotate_rows(&eval2.relinearize(&product2, &rk2).unwrap(), 1, &gk2)
        .unwrap();
    assert_eq!(
        enc.decode(&sk.decrypt(&want).unwrap()).unwrap(),
        bfv::Encoder::new(&loaded)
            .unwrap()
            .decode(&sk2.decrypt(&got).unwrap())
            .unwrap()
    );
    let fresh = pk2.encrypt(&pt2, &mut rng).unwrap();
    assert_eq!(sk2.decrypt(&fresh).unwrap().coeffs(), pt.coeffs());
}

#[test]
fn bfv_sizes_are_bit_packed_and_seeded() {
    let params = bfv::Parameters::preset_128(8192).unwrap();
    let n = params.degree();
    let q: Vec<u64> = params
        .ciphertext_basis()
        .moduli()
        .iter()
        .map(|m| m.value())
        .collect();
    let p = params.special_primes().to_vec();
    let mut rng = Sampler::from_seed([2; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let pt = Plaintext::constant(&params, 5);
    let sym = sk.encrypt(&pt, &mut rng).unwrap();
    let asym = pk.encrypt(&pt, &mut rng).unwrap();
    let dnum = params.key_switcher().unwrap().dnum();
    assert_eq!(sk.to_bytes().len(), HEADER + n / 4);
    assert_eq!(pk.to_bytes().unwrap().len(), HEADER + packed(&q, n) + 32);
    assert_eq!(
        rk.to_bytes().unwrap().len(),
        HEADER + 1 + dnum * (packed(&q, n) + packed(&p, n) + 32)
    );
    assert_eq!(pt.to_bytes().len(), HEADER + packed(&[65537], n));
    // A fresh symmetric ciphertext is half a public-key one.
    assert_eq!(
        sym.to_bytes().unwrap().len(),
        HEADER + 3 + packed(&q, n) + 32
    );
    assert_eq!(
        asym.to_bytes().unwrap().len(),
        HEADER + 3 + 2 * packed(&q, n)
    );
    // Against 8-byte words: 174 of 256 bits per residue.
    assert!(asym.to_bytes().unwrap().len() * 100 < 2 * q.len() * n * 8 * 69);
}

fn toy_ckks() -> Arc<ckks::Parameters> {
    ckks::Parameters::builder()
        .degree(256)
        .depth(3)
        .special_primes(2, 50)
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
}

#[test]
fn ckks_objects_round_trip_and_keep_working() {
    let params = ckks::Parameters::preset_128(8192).unwrap();
    let mut rng = Sampler::from_seed([3; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let pk = ckks::PublicKey::new(&sk, &mut rng).unwrap();
    let rk = ckks::RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = ckks::GaloisKeys::new(&sk, &[2], true, &mut rng).unwrap();
    let enc = ckks::Encoder::new(&params);
    let x: Vec<f64> = (0..params.slots())
        .map(|i| (i as f64 / 97.0).sin())
        .collect();
    let pt = enc
        .encode_real(&x, params.max_level(), params.default_scale())
        .unwrap();
    let sym = sk.encrypt(&pt, &mut rng).unwrap();
    let asym = pk.encrypt(&pt, &mut rng).unwrap();

    let loaded = ckks::Parameters::from_bytes(&params.to_bytes()).unwrap();
    assert_eq!(loaded.fingerprint(), params.fingerprint());
    assert_eq!(loaded.to_bytes(), params.to_bytes());
    let sk2 = ckks::SecretKey::from_bytes(&loaded, &sk.to_bytes()).unwrap();
    let pk2 = ckks::PublicKey::from_bytes(&loaded, &pk.to_bytes().unwrap()).unwrap();
    let rk2 = ckks::RelinearizationKey::from_bytes(&loaded, &rk.to_bytes().unwrap()).unwrap();
    let gk2 = ckks::GaloisKeys::from_bytes(&loaded, &gk.to_bytes().unwrap()).unwrap();
    let pt2 = ckks::Plaintext::from_bytes(&loaded, &pt.to_bytes().unwrap()).unwrap();
    let sym2 = ckks::Ciphertext::from_bytes(&loaded, &sym.to_bytes().unwrap()).unwrap();
    let asym2 = ckks::Ciphertext::from_bytes(&loaded, &asym.to_bytes().unwrap()).unwrap();
    assert_eq!(*sk2.to_bytes(), *sk.to_bytes());
    assert_eq!(pk2.to_bytes().unwrap(), pk.to_bytes().unwrap());
    assert_eq!(rk2.to_bytes().unwrap(), rk.to_bytes().unwrap());
    assert_eq!(gk2.to_bytes().unwrap(), gk.to_bytes().unwrap());
    assert_eq!(pt2.scale(), pt.scale());
    assert_eq!(pt2.poly().to_host().unwrap(), pt.poly().to_host().unwrap());
    for (a, b) in [(&sym2, &sym), (&asym2, &asym)] {
        assert_eq!(
            (a.level(), a.scale(), a.seed()),
            (b.level(), b.scale(), b.seed())
        );
        for (x, y) in a.polys().iter().zip(b.polys()) {
            assert_eq!(x.to_host().unwrap(), y.to_host().unwrap());
        }
    }
    // Loaded keys compute exactly what the originals compute.
    let (e1, e2) = (ckks::Evaluator::new(&params), ckks::Evaluator::new(&loaded));
    let want = e1
        .rotate(
            &e1.multiply_relin_rescale(&sym, &asym, &rk).unwrap(),
            2,
            &gk,
        )
        .unwrap();
    let got = e2
        .rotate(
            &e2.multiply_relin_rescale(&sym2, &asym2, &rk2).unwrap(),
            2,
            &gk2,
        )
        .unwrap();
    for (x, y) in want.polys().iter().zip(got.polys()) {
        assert_eq!(x.to_host().unwrap(), y.to_host().unwrap());
    }
    let dec = ckks::Encoder::new(&loaded)
        .decode_real(&sk2.decrypt(&got).unwrap())
        .unwrap();
    let slots = params.slots();
    for (i, got) in dec.iter().enumerate().take(slots) {
        let j = (i + 2) % slots;
        assert!(
            (got - x[j] * x[j]).abs() < 1e-5,
            "slot {i}: {} vs {}",
            got,
            x[j] * x[j]
        );
    }
    // A fresh encryption under the loaded public key decrypts.
    let fresh = pk2.encrypt(&pt2, &mut rng).unwrap();
    let back = ckks::Encoder::new(&loaded)
        .decode_real(&sk2.decrypt(&fresh).unwrap())
        .unwrap();
    assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-6));
}

#[test]
fn ckks_sizes_are_bit_packed_and_seeded() {
    let params = toy_ckks();
    let n = params.degree();
    let q: Vec<u64> = params
        .ciphertext_basis()
        .moduli()
        .iter()
        .map(|m| m.value())
        .collect();
    let mut rng = Sampler::from_seed([4; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let pk = ckks::PublicKey::new(&sk, &mut rng).unwrap();
    let pt = ckks::Encoder::new(&params)
        .encode_real(&[1.0], params.max_level(), params.default_scale())
        .unwrap();
    let sym = sk.encrypt(&pt, &mut rng).unwrap();
    let asym = pk.encrypt(&pt, &mut rng).unwrap();
    let p = params.special_primes();
    assert_eq!(
        pk.to_bytes().unwrap().len(),
        HEADER + packed(&q, n) + packed(p, n) + 32
    );
    assert_eq!(pt.to_bytes().unwrap().len(), HEADER + 1 + 8 + packed(&q, n));
    assert_eq!(
        sym.to_bytes().unwrap().len(),
        HEADER + 1 + 1 + 8 + 1 + packed(&q, n) + 32
    );
    assert_eq!(
        asym.to_bytes().unwrap().len(),
        HEADER + 11 + 2 * packed(&q, n)
    );
}

/// One serialized object of every kind, with its decoder.
type Decoder = Box<dyn Fn(&[u8]) -> Result<(), Error>>;

fn all_objects() -> Vec<(ObjectKind, Vec<u8>, Decoder)> {
    let b = bfv::Parameters::builder()
        .degree(128)
        .plaintext_modulus(257)
        .ciphertext_moduli_bits(&[30, 40])
        .special_moduli_bits(&[41])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap();
    let c = toy_ckks();
    let mut rng = Sampler::from_seed([5; 32]);
    let sk = SecretKey::generate(&b, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    let pt = Plaintext::from_coeffs(&b, &[3, 1, 4, 1, 5]).unwrap();
    let ct = sk.encrypt(&pt, &mut rng).unwrap();
    let csk = ckks::SecretKey::generate(&c, &mut rng);
    let cpt = ckks::Encoder::new(&c)
        .encode_real(&[0.5], c.max_level(), c.default_scale())
        .unwrap();
    let cct = csk.encrypt(&cpt, &mut rng).unwrap();
    macro_rules! dec {
        ($t:ty, $p:expr) => {{
            let p = Arc::clone(&$p);
            Box::new(move |d: &[u8]| <$t>::from_bytes(&p, d).map(|_| ())) as Decoder
        }};
    }
    vec![
        (
            ObjectKind::BfvParameters,
            b.to_bytes(),
            Box::new(|d: &[u8]| {
                bfv::Parameters::from_bytes_insecure_for_testing_only(d).map(|_| ())
            }),
        ),
        (
            ObjectKind::BfvSecretKey,
            sk.to_bytes().to_vec(),
            dec!(SecretKey, b),
        ),
        (
            ObjectKind::BfvPublicKey,
            pk.to_bytes().unwrap(),
            dec!(PublicKey, b),
        ),
        (
            ObjectKind::BfvRelinearizationKey,
            RelinearizationKey::new(&sk, &mut rng)
                .unwrap()
                .to_bytes()
                .unwrap(),
            dec!(RelinearizationKey, b),
        ),
        (
            ObjectKind::BfvGaloisKeys,
            GaloisKeys::new(&sk, &[1], false, &mut rng)
                .unwrap()
                .to_bytes()
                .unwrap(),
            dec!(GaloisKeys, b),
        ),
        (ObjectKind::BfvPlaintext, pt.to_bytes(), dec!(Plaintext, b)),
        (
            ObjectKind::BfvCiphertext,
            ct.to_bytes().unwrap(),
            dec!(Ciphertext, b),
        ),
        (
            ObjectKind::CkksParameters,
            c.to_bytes(),
            Box::new(|d: &[u8]| {
                ckks::Parameters::from_bytes_insecure_for_testing_only(d).map(|_| ())
            }),
        ),
        (
            ObjectKind::CkksSecretKey,
            csk.to_bytes().to_vec(),
            dec!(ckks::SecretKey, c),
        ),
        (
            ObjectKind::CkksPublicKey,
            ckks::PublicKey::new(&csk, &mut rng)
                .unwrap()
                .to_bytes()
                .unwrap(),
            dec!(ckks::PublicKey, c),
        ),
        (
            ObjectKind::CkksRelinearizationKey,
            ckks::RelinearizationKey::new(&csk, &mut rng)
                .unwrap()
                .to_bytes()
                .unwrap(),
            dec!(ckks::RelinearizationKey, c),
        ),
        (
            ObjectKind::CkksGaloisKeys,
            ckks::GaloisKeys::new(&csk, &[1], false, &mut rng)
                .unwrap()
                .to_bytes()
                .unwrap(),
            dec!(ckks::GaloisKeys, c),
        ),
        (
            ObjectKind::CkksPlaintext,
            cpt.to_bytes().unwrap(),
            dec!(ckks::Plaintext, c),
        ),
        (
            ObjectKind::CkksCiphertext,
            cct.to_bytes().unwrap(),
            dec!(ckks::Ciphertext, c),
        ),
    ]
}

#[test]
fn every_truncation_and_every_extension_is_an_error() {
    for (kind, bytes, decode) in all_objects() {
        assert_eq!(object_kind(&bytes).unwrap(), kind);
        decode(&bytes).unwrap_or_else(|e| panic!("{kind:?} does not decode: {e}"));
        // Every prefix (a stride keeps large keys fast; the header byte by byte).
        let stride = (bytes.len() / 500).max(1);
        for len in (0..40.min(bytes.len())).chain((0..bytes.len()).step_by(stride)) {
            let err = decode(&bytes[..len]).expect_err("a truncated object must not decode");
            assert!(
                matches!(err, Error::Malformed { .. }),
                "{kind:?} cut at {len}: {err}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = decode(&longer).unwrap_err();
        assert!(
            err.to_string().contains("unexpected bytes"),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn header_corruption_gives_the_matching_error() {
    for (kind, bytes, decode) in all_objects() {
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert!(
            matches!(decode(&bad), Err(Error::Malformed { .. })),
            "{kind:?} magic"
        );
        let mut bad = bytes.clone();
        bad[4] = bad[4].wrapping_add(1);
        match decode(&bad) {
            Err(Error::UnsupportedFormat {
                found, supported, ..
            }) => {
                assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION))
            }
            other => panic!("{kind:?} version: {other:?}"),
        }
        // Another kind's tag.
        let mut bad = bytes.clone();
        bad[6] = if kind == ObjectKind::BfvCiphertext {
            2
        } else {
            7
        };
        assert!(
            matches!(decode(&bad), Err(Error::WrongObject { .. })),
            "{kind:?} kind"
        );
        bad[6] = 99;
        assert!(
            matches!(decode(&bad), Err(Error::Malformed { .. })),
            "{kind:?} tag"
        );
        if kind.has_fingerprint() {
            let mut bad = bytes.clone();
            bad[10] ^= 0x40;
            let err = decode(&bad).unwrap_err();
            assert!(
                matches!(err, Error::ForeignObject { .. }),
                "{kind:?}: {err}"
            );
            assert!(
                err.to_string()
                    .contains("load it with the parameters it was made with")
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random corruption anywhere never panics; it either fails with a
    /// typed error or (a flipped residue bit that stays below its prime, a
    /// changed seed) decodes to an object that re-encodes to those bytes.
    #[test]
    fn random_corruption_never_panics(which in 0usize..14, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let objects = all_objects();
        let (kind, bytes, decode) = &objects[which];
        let mut bad = bytes.clone();
        for (at, x) in &flips {
            let i = at.index(bad.len());
            bad[i] ^= x | 1;
        }
        match decode(&bad) {
            Ok(()) => prop_assert!(bad.len() == bytes.len(), "{:?}", kind),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn objects_from_other_parameters_are_refused() {
    let a = bfv::Parameters::preset_128(4096).unwrap();
    let b = bfv::Parameters::preset_128(8192).unwrap();
    let mut rng = Sampler::from_seed([6; 32]);
    let sk = SecretKey::generate(&a, &mut rng);
    let ct = sk.encrypt(&Plaintext::constant(&a, 1), &mut rng).unwrap();
    let err = Ciphertext::from_bytes(&b, &ct.to_bytes().unwrap()).unwrap_err();
    assert!(matches!(err, Error::ForeignObject { .. }), "{err}");
    // Same degree and primes but another t is other mathematics.
    let t2 = bfv::Parameters::builder()
        .degree(4096)
        .plaintext_modulus(40961)
        .ciphertext_moduli(
            &a.ciphertext_basis()
                .moduli()
                .iter()
                .map(|m| m.value())
                .collect::<Vec<_>>(),
        )
        .special_moduli(a.special_primes())
        .build()
        .unwrap();
    assert_ne!(t2.fingerprint(), a.fingerprint());
    assert!(matches!(
        SecretKey::from_bytes(&t2, &sk.to_bytes()),
        Err(Error::ForeignObject { .. })
    ));
    // Bytes of a CKKS object are not a BFV object.
    let c = ckks::Parameters::preset_128(8192).unwrap();
    let csk = ckks::SecretKey::generate(&c, &mut rng);
    assert!(matches!(
        SecretKey::from_bytes(&a, &csk.to_bytes()),
        Err(Error::WrongObject {
            found: "ckks::SecretKey",
            ..
        })
    ));
}

#[test]
fn insecure_parameters_need_the_explicit_opt_out() {
    let insecure = bfv::Parameters::builder()
        .degree(1024)
        .ciphertext_moduli_bits(&[50, 50])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap();
    let err = bfv::Parameters::from_bytes(&insecure.to_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("from_bytes_insecure_for_testing_only"),
        "{err}"
    );
    let back = bfv::Parameters::from_bytes_insecure_for_testing_only(&insecure.to_bytes()).unwrap();
    assert_eq!(back.fingerprint(), insecure.fingerprint());
    assert_eq!(back.security(), None);
    let c = toy_ckks();
    assert!(ckks::Parameters::from_bytes(&c.to_bytes()).is_err());
    assert!(ckks::Parameters::from_bytes_insecure_for_testing_only(&c.to_bytes()).is_ok());

    // Raising the stored level to 256 bits re-checks it: the 2^13 preset
    // (218 bits) is not 256-bit secure.
    for bytes in [
        bfv::Parameters::preset_128(8192).unwrap().to_bytes(),
        ckks::Parameters::preset_128(8192).unwrap().to_bytes(),
    ] {
        let mut tampered = bytes.clone();
        let at = if object_kind(&bytes).unwrap() == ObjectKind::BfvParameters {
            tampered.len() - 1
        } else {
            // n, word, scale, base, depth(2), special count, bits, dnum, then security.
            7 + 9
        };
        assert_eq!(tampered[at], 1, "security byte");
        tampered[at] = 3;
        let err = bfv::Parameters::from_bytes(&tampered)
            .map(|_| ())
            .or_else(|e| match e {
                Error::WrongObject { .. } => ckks::Parameters::from_bytes(&tampered).map(|_| ()),
                e => Err(e),
            })
            .unwrap_err();
        assert!(matches!(err, Error::Insecure { bits: 256, .. }), "{err}");
    }
    assert_eq!(
        bfv::Parameters::from_bytes(&bfv::Parameters::preset_128(8192).unwrap().to_bytes())
            .unwrap()
            .security(),
        Some(SecurityLevel::Bits128)
    );
}

#[test]
fn hostile_parameter_bytes_are_rejected_before_building() {
    let bytes = bfv::Parameters::preset_128(4096).unwrap().to_bytes();
    // Degree 2^40.
    let mut bad = bytes.clone();
    bad[7] = 40;
    assert!(matches!(
        bfv::Parameters::from_bytes(&bad),
        Err(Error::Malformed { .. })
    ));
    // 255 ciphertext primes.
    let mut bad = bytes.clone();
    bad[7 + 1 + 8] = 255;
    assert!(matches!(
        bfv::Parameters::from_bytes(&bad),
        Err(Error::Malformed { .. })
    ));
    // A prime that is not NTT-friendly for the degree.
    let mut bad = bytes.clone();
    bad[7 + 1 + 8 + 1] ^= 2;
    assert!(bfv::Parameters::from_bytes(&bad).is_err());
    // CKKS: a depth that does not match the stored primes.
    let c = ckks::Parameters::preset_128(8192).unwrap().to_bytes();
    let mut bad = c.clone();
    bad[7 + 4] = 200;
    assert!(matches!(
        ckks::Parameters::from_bytes(&bad),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn secret_key_codes_are_validated() {
    let objects = all_objects();
    let (_, bytes, decode) = &objects[1];
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() = 0xff; // four coefficients with code 3
    let err = decode(&bad).unwrap_err();
    assert!(err.to_string().contains("secret-key coefficient"), "{err}");
}
