//! The misuse table: every way a caller can get BFV or CKKS wrong that we
//! know of returns a typed error whose message says what was wrong and how
//! to fix it; none of them panics.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use hefty_core::bfv::{
    Ciphertext, CrtBfv, Evaluator, GaloisKeys, IntegerEncoder, Plaintext, PublicKey,
    RelinearizationKey, SecretKey,
};
use hefty_core::ckks::Word;
use hefty_core::{Error, Sampler, SecurityLevel};
use hefty_core::{bfv, ckks};

/// One misuse: what it does, the error it must give, and words of the
/// message that tell the caller how to fix it.
struct Case {
    name: &'static str,
    run: Box<dyn FnOnce() -> Result<(), Error>>,
    expect: fn(&Error) -> bool,
    fix: &'static str,
}

fn case<T: 'static>(
    name: &'static str,
    run: impl FnOnce() -> Result<T, Error> + 'static,
    expect: fn(&Error) -> bool,
    fix: &'static str,
) -> Case {
    Case {
        name,
        run: Box::new(move || run().map(|_| ())),
        expect,
        fix,
    }
}

struct Bfv {
    params: Arc<bfv::Parameters>,
    sk: SecretKey,
    rk: RelinearizationKey,
    gk: GaloisKeys,
    ct: Ciphertext,
    eval: Evaluator,
}

fn bfv(seed: u8, degree: usize) -> Bfv {
    let params = bfv::Parameters::preset_128(degree).unwrap();
    let mut rng = Sampler::from_seed([seed; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let ct = sk
        .encrypt(&Plaintext::constant(&params, 3), &mut rng)
        .unwrap();
    let eval = Evaluator::new(&params);
    Bfv {
        params,
        sk,
        rk,
        gk,
        ct,
        eval,
    }
}

struct Ckks {
    params: Arc<ckks::Parameters>,
    sk: ckks::SecretKey,
    rk: ckks::RelinearizationKey,
    gk: ckks::GaloisKeys,
    ct: ckks::Ciphertext,
    enc: ckks::Encoder,
    eval: ckks::Evaluator,
}

fn ckks(seed: u8, degree: usize) -> Ckks {
    let params = ckks::Parameters::preset_128(degree).unwrap();
    let mut rng = Sampler::from_seed([seed; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let rk = ckks::RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = ckks::GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = ckks::Encoder::new(&params);
    let pt = enc
        .encode_real(&[0.5, 0.25], params.max_level(), params.default_scale())
        .unwrap();
    let ct = sk.encrypt(&pt, &mut rng).unwrap();
    let eval = ckks::Evaluator::new(&params);
    Ckks {
        params,
        sk,
        rk,
        gk,
        ct,
        enc,
        eval,
    }
}

fn cases() -> Vec<Case> {
    // `b` and `y` use other parameters: equal parameters interoperate
    // (tests/bfv.rs, parameters_equal_by_value_work_together).
    let (a, b) = (Arc::new(bfv(1, 4096)), Arc::new(bfv(2, 8192)));
    let (x, y) = (Arc::new(ckks(3, 8192)), Arc::new(ckks(4, 16384)));
    let mut rng = Sampler::from_seed([5; 32]);
    let product = a.eval.multiply(&a.ct, &a.ct).unwrap();
    let low = a.eval.mod_switch_to(&a.ct, 1).unwrap();
    let ct_bytes = a.ct.to_bytes().unwrap();
    let ckks_bytes = x.ct.to_bytes().unwrap();
    let x_bottom = x
        .eval
        .multiply_relin_rescale(&x.ct, &x.ct, &x.rk)
        .and_then(|c| x.eval.multiply_relin_rescale(&c, &c, &x.rk))
        .unwrap();
    let no_special = bfv::Parameters::builder()
        .degree(4096)
        .ciphertext_moduli_bits(&[50, 50])
        .build()
        .unwrap();
    let no_batching = bfv::Parameters::builder()
        .degree(4096)
        .plaintext_modulus(1 << 20)
        .ciphertext_moduli_bits(&[50, 50])
        .build()
        .unwrap();
    let small_t = bfv::Parameters::builder()
        .degree(4096)
        .plaintext_modulus(257)
        .ciphertext_moduli_bits(&[50, 50])
        .build()
        .unwrap();
    let sk_no_special = SecretKey::generate(&no_special, &mut rng);
    let mut rng2 = Sampler::from_seed([6; 32]);
    let insecure_bytes = bfv::Parameters::builder()
        .degree(1024)
        .ciphertext_moduli_bits(&[40, 40])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap()
        .to_bytes();

    use Error as E;
    macro_rules! c {
        ($($clone:ident),* => $name:expr, $run:expr, $pat:pat, $fix:expr) => {{
            $(let $clone = $clone.clone();)*
            case($name, move || $run, |e| matches!(e, $pat), $fix)
        }};
    }
    vec![
        // ---- BFV parameters ----
        c!(=> "bfv: parameters beyond the 128-bit bound without the opt-out",
            bfv::Parameters::builder().degree(4096).ciphertext_moduli_bits(&[60, 60]).build(),
            E::Insecure { .. }, "insecure opt-out"),
        c!(=> "bfv: 192-bit security asked of a 128-bit modulus",
            bfv::Parameters::builder().degree(4096).ciphertext_moduli_bits(&[40, 40]).security(SecurityLevel::Bits192).build(),
            E::Insecure { bits: 192, .. }, "larger degree"),
        c!(=> "bfv: degree not a power of two",
            bfv::Parameters::builder().degree(3000).ciphertext_moduli_bits(&[40]).build(),
            E::Ntt(_), "power of two"),
        c!(=> "bfv: plaintext modulus too large",
            bfv::Parameters::builder().degree(4096).plaintext_modulus(1 << 62).ciphertext_moduli_bits(&[50]).build(),
            E::InvalidParameters(_), "between 2 and 2^61"),
        c!(=> "bfv: plaintext modulus not below the first prime",
            bfv::Parameters::builder().degree(4096).plaintext_modulus((1 << 40) - 3).ciphertext_moduli_bits(&[30, 40]).build(),
            E::InvalidParameters(_), "no room for noise"),
        c!(=> "bfv: repeated ciphertext prime",
            bfv::Parameters::builder().degree(4096).ciphertext_moduli(&[1_152_921_504_606_584_833; 2]).insecure_disable_security_check_for_testing_only().build(),
            E::InvalidParameters(_), "repeated"),
        c!(=> "bfv: no preset for the degree",
            bfv::Parameters::preset_128(2048), E::InvalidParameters(_), "4096"),
        // ---- BFV encoding ----
        c!(=> "bfv: batching with t != 1 mod 2n",
            bfv::Encoder::new(&no_batching), E::InvalidParameters(_), "65537"),
        c!(a => "bfv: more slot values than slots",
            bfv::Encoder::new(&a.params).unwrap().encode(&[1; 4097]), E::WrongLength { .. }, "expected 4096"),
        c!(a => "bfv: plaintext coefficient not below t",
            Plaintext::from_coeffs(&a.params, &[70000]), E::InvalidParameters(_), "not below t"),
        c!(small_t => "bfv: integer products that wrap around x^n",
            {
                let enc = IntegerEncoder::new(&small_t);
                let mut r = enc.range_of(&enc.encode_integer(1 << 62).unwrap());
                for _ in 0..7 {
                    r = r.mul(&r);
                }
                enc.check(&r)
            },
            E::IntegerOverflow(_), "larger base"),
        c!(small_t => "bfv: fixed-point value too large",
            IntegerEncoder::new(&small_t).with_fractional_bits(15).unwrap().encode_fixed(1e300), E::IntegerOverflow(_), "fractional bits"),
        c!(small_t => "bfv: integer circuit that outgrows t",
            {
                let enc = IntegerEncoder::new(&small_t);
                let r = enc.range_of(&enc.encode_integer(255).unwrap());
                enc.check(&r.mul(&r).scale(100))
            },
            E::IntegerOverflow(_), "larger t"),
        // ---- BFV evaluation ----
        c!(a, b => "bfv: ciphertexts of different parameters",
            a.eval.add(&a.ct, &b.ct.clone()), E::ParameterMismatch, "one parameter set"),
        c!(a, b => "bfv: decrypting with a foreign secret key",
            b.sk.decrypt(&a.ct), E::ParameterMismatch, "one parameter set"),
        c!(a, b => "bfv: relinearizing with a foreign key",
            b.eval.relinearize(&b.eval.multiply(&b.ct, &b.ct).unwrap(), &a.rk), E::ParameterMismatch, "one parameter set"),
        c!(a => "bfv: operands at different levels",
            a.eval.add(&a.ct, &low), E::LevelMismatch { .. }, "same level"),
        c!(a => "bfv: rotation without its Galois key",
            a.eval.rotate_rows(&a.ct, 5, &a.gk), E::MissingGaloisKey { steps: Some(5), .. }, "generate GaloisKeys"),
        c!(a => "bfv: rotating an unrelinearized product",
            a.eval.rotate_rows(&product, 1, &a.gk), E::NotRelinearized { len: 3 }, "relinearize"),
        c!(a => "bfv: Galois element that is even",
            a.eval.apply_galois(&a.ct, 4, &a.gk), E::BadGaloisElement { .. }, "must be odd"),
        c!(=> "bfv: relinearization key without special primes",
            RelinearizationKey::new(&sk_no_special, &mut rng2), E::InvalidParameters(_), "special_moduli_bits"),
        c!(a => "bfv: modulus switch below level 1",
            a.eval.mod_switch_to_next(&a.eval.mod_switch_to(&a.ct, 1).unwrap()), E::OutOfLevels { .. }, "larger depth"),
        c!(a => "bfv: modulus switch to a level above the ciphertext's",
            a.eval.mod_switch_to(&a.eval.mod_switch_to(&a.ct, 1).unwrap(), 2), E::BadLevel { .. }, "levels 1..="),
        c!(=> "bfv: CRT moduli that share a factor",
            CrtBfv::new(bfv::Parameters::builder().degree(4096).ciphertext_moduli_bits(&[50, 50]), &[65537, 65537 * 3]),
            E::InvalidParameters(_), "pairwise coprime"),
        // ---- BFV bytes ----
        c!(ct_bytes => "bfv: ciphertext bytes loaded under other parameters",
            Ciphertext::from_bytes(&bfv::Parameters::preset_128(8192).unwrap(), &ct_bytes), E::ForeignObject { .. }, "parameters it was made with"),
        c!(a, ct_bytes => "bfv: truncated ciphertext bytes",
            Ciphertext::from_bytes(&a.params, &ct_bytes[..ct_bytes.len() - 1]), E::Malformed { .. }, "truncated"),
        c!(a, ct_bytes => "bfv: ciphertext bytes decoded as a public key",
            PublicKey::from_bytes(&a.params, &ct_bytes), E::WrongObject { .. }, "Ciphertext::from_bytes"),
        c!(a, ct_bytes => "bfv: bytes of a future format version",
            { let mut v = ct_bytes.clone(); v[4] = 9; Ciphertext::from_bytes(&a.params, &v) }, E::UnsupportedFormat { .. }, "matching hefty"),
        c!(=> "bfv: insecure parameter bytes without the opt-out",
            bfv::Parameters::from_bytes(&insecure_bytes), E::InvalidParameters(_), "from_bytes_insecure_for_testing_only"),
        // ---- CKKS parameters and encoding ----
        c!(=> "ckks: too deep a chain for the degree without the opt-out",
            ckks::Parameters::builder().degree(1 << 13).depth(10).build(), E::Insecure { .. }, "insecure opt-out"),
        c!(=> "ckks: a scale 32-bit words cannot hold",
            ckks::Parameters::builder().degree(1 << 12).word(Word::W32).scale_bits(64).build(), E::InvalidParameters(_), "use a scale between"),
        c!(=> "ckks: no preset for the degree",
            ckks::Parameters::preset_128(1000), E::InvalidParameters(_), "use one of 8192"),
        c!(x => "ckks: a value that wraps the modulus",
            x.enc.encode_real(&[1e30], 1, 2f64.powi(40)), E::InvalidParameters(_), "lower the scale"),
        c!(x => "ckks: NaN",
            x.enc.encode_real(&[f64::NAN], 1, 2f64.powi(40)), E::InvalidParameters(_), "finite"),
        c!(x => "ckks: more values than slots",
            x.enc.encode_real(&vec![0.0; 4097], 1, 2f64.powi(40)), E::InvalidParameters(_), "4096"),
        // ---- CKKS evaluation ----
        c!(x => "ckks: plaintext at another scale",
            {
                let pt = x.enc.encode_real(&[1.0], x.params.max_level(), 2f64.powi(30))?;
                x.eval.add_plain(&x.ct, &pt)
            },
            E::ScaleMismatch { .. }, "ct.scale()"),
        c!(x => "ckks: plaintext below the ciphertext's level",
            {
                let pt = x.enc.encode_real(&[1.0], 1, x.ct.scale())?;
                x.eval.add_plain(&x.ct, &pt)
            },
            E::LevelMismatch { .. }, "same level"),
        c!(x, x_bottom => "ckks: rescale with no level left",
            x.eval.rescale(&x_bottom), E::OutOfLevels { .. }, "larger depth"),
        c!(x, x_bottom => "ckks: too deep a circuit (a third product at depth 2)",
            x.eval.multiply_relin_rescale(&x_bottom, &x_bottom, &x.rk), E::OutOfLevels { .. }, "fewer multiplications"),
        c!(x, y => "ckks: ciphertexts of different parameters",
            x.eval.add(&x.ct, &y.ct), E::ParameterMismatch, "one parameter set"),
        c!(x, y => "ckks: decrypting with a foreign secret key",
            y.sk.decrypt(&x.ct), E::ParameterMismatch, "one parameter set"),
        c!(x, y => "ckks: relinearizing with a foreign key",
            x.eval.relinearize(&x.eval.multiply(&x.ct, &x.ct)?, &y.rk), E::ParameterMismatch, "one parameter set"),
        c!(x => "ckks: summing a product before relinearizing it with a fresh ciphertext",
            x.eval.linear_combination_integer(&[(&x.eval.multiply(&x.ct, &x.ct)?, 1), (&x.ct, 1)]),
            E::PolynomialCountMismatch { left: 3, right: 2 }, "relinearize"),
        c!(x => "ckks: rotation without its Galois key",
            x.eval.rotate(&x.ct, 3, &x.gk), E::MissingGaloisKey { steps: Some(3), .. }, "generate GaloisKeys"),
        c!(x, x_bottom => "ckks: dropping to a level above the ciphertext's",
            x.eval.drop_to_level(&x_bottom, x.params.max_level()), E::BadLevel { .. }, "levels 1..="),
        // ---- CKKS bytes ----
        c!(x, ckks_bytes => "ckks: corrupted residue bytes",
            { let mut v = ckks_bytes.clone(); let at = v.len() - 40; v[at..at + 8].fill(0xff); ckks::Ciphertext::from_bytes(&x.params, &v) },
            E::Malformed { .. }, "corrupted"),
        c!(ckks_bytes => "ckks: ciphertext bytes under other parameters",
            ckks::Ciphertext::from_bytes(&ckks::Parameters::preset_128(16384).unwrap(), &ckks_bytes), E::ForeignObject { .. }, "parameters it was made with"),
        c!(ckks_bytes => "ckks: CKKS bytes decoded as BFV",
            Ciphertext::from_bytes(&bfv::Parameters::preset_128(8192).unwrap(), &ckks_bytes), E::WrongObject { .. }, "ckks::Ciphertext::from_bytes"),
    ]
}

#[test]
fn every_misuse_returns_a_typed_error_that_says_how_to_fix_it() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} misuse cases", cases.len());
    let schemes = |p: &str| cases.iter().filter(|c| c.name.starts_with(p)).count();
    assert!(schemes("bfv:") >= 15 && schemes("ckks:") >= 15);
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    let mut failures = Vec::new();
    for c in cases {
        let outcome = catch_unwind(AssertUnwindSafe(c.run));
        match outcome {
            Err(_) => failures.push(format!("{}: PANICKED", c.name)),
            Ok(Ok(())) => failures.push(format!("{}: succeeded", c.name)),
            Ok(Err(e)) => {
                let msg = e.to_string();
                if !(c.expect)(&e) {
                    failures.push(format!("{}: wrong error {e:?}", c.name));
                } else if !msg.contains(c.fix) {
                    failures.push(format!("{}: message lacks {:?}: {msg}", c.name, c.fix));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
