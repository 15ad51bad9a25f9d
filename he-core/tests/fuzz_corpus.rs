//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through every decoder,
//! as a regular test: no input may panic, and inputs that decode must be
//! canonical. The same checks run under cargo-fuzz (`fuzz/fuzz_targets`).

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_has_a_corpus_and_it_replays_cleanly() {
    for (name, check) in checks::TARGETS {
        let dir = corpus_dir(name);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        assert!(!entries.is_empty(), "corpus {} is empty", dir.display());
        for path in entries {
            let data = std::fs::read(&path).expect("corpus file");
            check(&data);
        }
    }
}

#[test]
fn seeds_decode_and_are_canonical() {
    let seeds = checks::seeds();
    for (name, _) in checks::TARGETS {
        assert!(seeds.iter().any(|(n, _)| *n == name), "no seed for {name}");
    }
    for (name, bytes) in seeds {
        // The check asserts canonicity only for bytes that decode: make sure
        // the seeds do, so this test cannot pass vacuously.
        let decoded = std::panic::catch_unwind(|| checks::check(name, &bytes));
        assert!(decoded.is_ok(), "seed of {name} failed its check");
        assert!(decodes(name, &bytes), "seed of {name} does not decode");
    }
}

fn decodes(name: &str, d: &[u8]) -> bool {
    use hefty_core::{bfv, ckks};
    let (b, c) = (checks::bfv(), checks::ckks());
    match name {
        "bfv_parameters" => bfv::Parameters::from_bytes_insecure_for_testing_only(d).is_ok(),
        "bfv_secret_key" => bfv::SecretKey::from_bytes(b, d).is_ok(),
        "bfv_public_key" => bfv::PublicKey::from_bytes(b, d).is_ok(),
        "bfv_relinearization_key" => bfv::RelinearizationKey::from_bytes(b, d).is_ok(),
        "bfv_galois_keys" => bfv::GaloisKeys::from_bytes(b, d).is_ok(),
        "bfv_plaintext" => bfv::Plaintext::from_bytes(b, d).is_ok(),
        "bfv_ciphertext" => bfv::Ciphertext::from_bytes(b, d).is_ok(),
        "ckks_parameters" => ckks::Parameters::from_bytes_insecure_for_testing_only(d).is_ok(),
        "ckks_secret_key" => ckks::SecretKey::from_bytes(c, d).is_ok(),
        "ckks_public_key" => ckks::PublicKey::from_bytes(c, d).is_ok(),
        "ckks_relin_key" => ckks::RelinearizationKey::from_bytes(c, d).is_ok(),
        "ckks_galois_keys" => ckks::GaloisKeys::from_bytes(c, d).is_ok(),
        "ckks_plaintext" => ckks::Plaintext::from_bytes(c, d).is_ok(),
        "ckks_ciphertext" => ckks::Ciphertext::from_bytes(c, d).is_ok(),
        _ => unreachable!("unknown target {name}"),
    }
}

/// Writes the seed corpus: `cargo test -p hefty-core --test fuzz_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    for (i, (name, bytes)) in checks::seeds().into_iter().enumerate() {
        let dir = corpus_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{i}")), bytes).unwrap();
    }
}
