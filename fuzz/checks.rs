//! What every fuzz target checks, shared with the corpus replay test
//! (`he-core/tests/fuzz_corpus.rs`), which includes this file by path.
//!
//! Each check decodes untrusted bytes with one decoder. Decoding may fail
//! (it must, with an error, for almost every input), but it must never
//! panic, and bytes that do decode are canonical: encoding the object again
//! gives back exactly the same bytes.

use std::sync::{Arc, OnceLock};

use hefty_core::Sampler;
use hefty_core::bfv::{
    Ciphertext, GaloisKeys, Plaintext, PublicKey, RelinearizationKey, SecretKey,
};
use hefty_core::{bfv, ckks};

/// Small, insecure BFV parameters (fast to decode under): n = 64, t = 257.
pub fn bfv() -> &'static Arc<bfv::Parameters> {
    static P: OnceLock<Arc<bfv::Parameters>> = OnceLock::new();
    P.get_or_init(|| {
        bfv::Parameters::builder()
            .degree(64)
            .plaintext_modulus(257)
            .ciphertext_moduli_bits(&[30, 30])
            .special_moduli_bits(&[31])
            .insecure_disable_security_check_for_testing_only()
            .build()
            .expect("fuzz BFV parameters")
    })
}

/// Small, insecure CKKS parameters: n = 64, scale 2^20, depth 2.
pub fn ckks() -> &'static Arc<ckks::Parameters> {
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
            .expect("fuzz CKKS parameters")
    })
}

/// Asserts that a decoded object re-encodes to the bytes it came from.
fn canonical(data: &[u8], again: Result<Vec<u8>, hefty_core::Error>) {
    let again = again.expect("a decoded object encodes");
    assert!(again == data, "decoding is not canonical");
}

/// A check: decodes the bytes with one decoder.
pub type Check = fn(&[u8]);

/// The decoders, by fuzz-target name.
pub const TARGETS: [(&str, Check); 14] = [
    ("bfv_parameters", |d| {
        if let Ok(p) = bfv::Parameters::from_bytes_insecure_for_testing_only(d) {
            canonical(d, Ok(p.to_bytes()));
        }
    }),
    ("bfv_secret_key", |d| {
        if let Ok(k) = SecretKey::from_bytes(bfv(), d) {
            canonical(d, Ok(k.to_bytes().to_vec()));
        }
    }),
    ("bfv_public_key", |d| {
        if let Ok(k) = PublicKey::from_bytes(bfv(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("bfv_relinearization_key", |d| {
        if let Ok(k) = RelinearizationKey::from_bytes(bfv(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("bfv_galois_keys", |d| {
        if let Ok(k) = GaloisKeys::from_bytes(bfv(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("bfv_plaintext", |d| {
        if let Ok(p) = Plaintext::from_bytes(bfv(), d) {
            canonical(d, Ok(p.to_bytes()));
        }
    }),
    ("bfv_ciphertext", |d| {
        if let Ok(c) = Ciphertext::from_bytes(bfv(), d) {
            canonical(d, c.to_bytes());
        }
    }),
    ("ckks_parameters", |d| {
        if let Ok(p) = ckks::Parameters::from_bytes_insecure_for_testing_only(d) {
            canonical(d, Ok(p.to_bytes()));
        }
    }),
    ("ckks_secret_key", |d| {
        if let Ok(k) = ckks::SecretKey::from_bytes(ckks(), d) {
            canonical(d, Ok(k.to_bytes().to_vec()));
        }
    }),
    ("ckks_public_key", |d| {
        if let Ok(k) = ckks::PublicKey::from_bytes(ckks(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("ckks_relin_key", |d| {
        if let Ok(k) = ckks::RelinearizationKey::from_bytes(ckks(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("ckks_galois_keys", |d| {
        if let Ok(k) = ckks::GaloisKeys::from_bytes(ckks(), d) {
            canonical(d, k.to_bytes());
        }
    }),
    ("ckks_plaintext", |d| {
        if let Ok(p) = ckks::Plaintext::from_bytes(ckks(), d) {
            canonical(d, p.to_bytes());
        }
    }),
    ("ckks_ciphertext", |d| {
        if let Ok(c) = ckks::Ciphertext::from_bytes(ckks(), d) {
            canonical(d, c.to_bytes());
        }
    }),
];

/// Runs the check of target `name` on `data`.
pub fn check(name: &str, data: &[u8]) {
    let (_, f) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a known fuzz target");
    f(data)
}

/// Valid serialized objects for every target (the seed corpus).
#[allow(dead_code)] // Used by the replay test, not by the fuzz targets.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Sampler::from_seed([7; 32]);
    let mut out = Vec::new();
    let b = bfv();
    let sk = SecretKey::generate(b, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    let pt = Plaintext::from_coeffs(b, &[1, 2, 3, 256]).unwrap();
    out.push(("bfv_parameters", b.to_bytes()));
    out.push(("bfv_secret_key", sk.to_bytes().to_vec()));
    out.push(("bfv_public_key", pk.to_bytes().unwrap()));
    out.push((
        "bfv_relinearization_key",
        RelinearizationKey::new(&sk, &mut rng)
            .unwrap()
            .to_bytes()
            .unwrap(),
    ));
    out.push((
        "bfv_galois_keys",
        GaloisKeys::new(&sk, &[1, -2], true, &mut rng)
            .unwrap()
            .to_bytes()
            .unwrap(),
    ));
    out.push(("bfv_plaintext", pt.to_bytes()));
    out.push((
        "bfv_ciphertext",
        sk.encrypt(&pt, &mut rng).unwrap().to_bytes().unwrap(),
    ));
    out.push((
        "bfv_ciphertext",
        pk.encrypt(&pt, &mut rng).unwrap().to_bytes().unwrap(),
    ));
    let c = ckks();
    let sk = ckks::SecretKey::generate(c, &mut rng);
    let pk = ckks::PublicKey::new(&sk, &mut rng).unwrap();
    let pt = ckks::Encoder::new(c)
        .encode_real(&[0.5, -0.25, 1.0], c.max_level(), c.default_scale())
        .unwrap();
    out.push(("ckks_parameters", c.to_bytes()));
    out.push(("ckks_secret_key", sk.to_bytes().to_vec()));
    out.push(("ckks_public_key", pk.to_bytes().unwrap()));
    out.push((
        "ckks_relin_key",
        ckks::RelinearizationKey::new(&sk, &mut rng)
            .unwrap()
            .to_bytes()
            .unwrap(),
    ));
    out.push((
        "ckks_galois_keys",
        ckks::GaloisKeys::new(&sk, &[1, 3], true, &mut rng)
            .unwrap()
            .to_bytes()
            .unwrap(),
    ));
    out.push(("ckks_plaintext", pt.to_bytes().unwrap()));
    out.push((
        "ckks_ciphertext",
        sk.encrypt(&pt, &mut rng).unwrap().to_bytes().unwrap(),
    ));
    out.push((
        "ckks_ciphertext",
        pk.encrypt(&pt, &mut rng).unwrap().to_bytes().unwrap(),
    ));
    out
}
