//! Serialized sizes of every object at the 128-bit presets, against raw
//! 8-byte residues: `cargo run --release -p hefty-core --example serial_sizes`.

use hefty_core::bfv::{GaloisKeys, Plaintext, PublicKey, RelinearizationKey, SecretKey};
use hefty_core::{Error, Sampler};
use hefty_core::{bfv, ckks};

fn row(what: &str, bytes: usize, raw: usize) {
    println!(
        "| {what} | {bytes} | {raw} | {:.0} % |",
        100.0 * bytes as f64 / raw as f64
    );
}

fn main() -> Result<(), Error> {
    let mut rng = Sampler::from_os();
    println!("| object | bytes | raw u64 residues | ratio |\n|---|---|---|---|");
    let p = bfv::Parameters::preset_128(8192)?;
    let (n, k, kp) = (p.degree(), p.max_level(), p.special_primes().len());
    let sk = SecretKey::generate(&p, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng)?;
    let rk = RelinearizationKey::new(&sk, &mut rng)?;
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng)?;
    let pt = Plaintext::constant(&p, 7);
    let dnum = p.key_switcher()?.dnum();
    row("BFV 2^13 secret key", sk.to_bytes().len(), n * k * 8);
    row("BFV 2^13 public key", pk.to_bytes()?.len(), 2 * n * k * 8);
    row(
        "BFV 2^13 relinearization key",
        rk.to_bytes()?.len(),
        dnum * 2 * n * (k + kp) * 8,
    );
    row(
        "BFV 2^13 Galois key (one step)",
        gk.to_bytes()?.len(),
        dnum * 2 * n * (k + kp) * 8,
    );
    row(
        "BFV 2^13 ciphertext (public key)",
        pk.encrypt(&pt, &mut rng)?.to_bytes()?.len(),
        2 * n * k * 8,
    );
    row(
        "BFV 2^13 ciphertext (secret key, seeded)",
        sk.encrypt(&pt, &mut rng)?.to_bytes()?.len(),
        2 * n * k * 8,
    );
    let c = ckks::Parameters::preset_128(16384)?;
    let (n, k, kp) = (c.degree(), c.max_level(), c.special_primes().len());
    let sk = ckks::SecretKey::generate(&c, &mut rng);
    let pk = ckks::PublicKey::new(&sk, &mut rng)?;
    let rk = ckks::RelinearizationKey::new(&sk, &mut rng)?;
    let gk = ckks::GaloisKeys::new(&sk, &[1], false, &mut rng)?;
    let dnum = c.key_switcher().dnum();
    let pt = ckks::Encoder::new(&c).encode_real(&[0.5], c.max_level(), c.default_scale())?;
    row(
        "CKKS 2^14 public key",
        pk.to_bytes()?.len(),
        2 * n * (k + kp) * 8,
    );
    row(
        "CKKS 2^14 relinearization key",
        rk.to_bytes()?.len(),
        dnum * 2 * n * (k + kp) * 8,
    );
    row(
        "CKKS 2^14 Galois key (one step)",
        gk.to_bytes()?.len(),
        dnum * 2 * n * (k + kp) * 8,
    );
    row(
        "CKKS 2^14 ciphertext (public key)",
        pk.encrypt(&pt, &mut rng)?.to_bytes()?.len(),
        2 * n * k * 8,
    );
    row(
        "CKKS 2^14 ciphertext (secret key, seeded)",
        sk.encrypt(&pt, &mut rng)?.to_bytes()?.len(),
        2 * n * k * 8,
    );
    Ok(())
}
