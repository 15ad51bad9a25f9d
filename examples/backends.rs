//! Choosing a backend: every parameter set names the backend its
//! polynomials live on. The CPU backend is built in; GPU backends
//! (hefty-kernels, features `wgpu` and `cuda`) implement the same trait
//! and must pass `hefty_core::conformance` before they are trusted.
//!
//! `cargo run --release --example backends`

use std::sync::Arc;
use std::time::Instant;

use hefty::core::ckks::{Encoder, Evaluator, Preset, RelinearizationKey, SecretKey};
use hefty::core::{Backend, Cpu, Error, Sampler};

fn main() -> Result<(), Error> {
    let backend: Arc<dyn Backend> = Cpu::shared();
    // Presets are data: build one on the backend of your choice.
    let preset = Preset::for_degree(8192)?;
    let params = preset.build_on(Arc::clone(&backend))?;
    let basis = params.ciphertext_basis();
    println!(
        "{} backend: n = {}, {} ciphertext primes in {} words",
        backend.name(),
        basis.degree(),
        basis.len(),
        basis.word().name()
    );

    let mut rng = Sampler::from_os();
    let sk = SecretKey::generate(&params, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng)?;
    let (encoder, eval) = (Encoder::new(&params), Evaluator::new(&params));
    let ct = sk.encrypt(
        &encoder.encode_real(&[1.5, -2.0], params.max_level(), params.default_scale())?,
        &mut rng,
    )?;

    // Device backends queue work asynchronously: synchronize before reading a clock.
    let start = Instant::now();
    let sq = eval.multiply_relin_rescale(&ct, &ct, &rk)?;
    backend.synchronize()?;
    let elapsed = start.elapsed();

    let out = encoder.decode_real(&sk.decrypt(&sq)?)?;
    assert!((out[0] - 2.25).abs() < 1e-6 && (out[1] - 4.0).abs() < 1e-6);
    println!(
        "x² in {elapsed:.2?} on the {} backend: {:.6}, {:.6}",
        backend.name(),
        out[0],
        out[1]
    );

    // Parameters are their mathematics on their backend: a second object
    // built from the same preset works with the first; another preset (or
    // the same one on another backend) is a typed error, never a wrong answer.
    let pt = encoder.encode_real(&[1.0], params.max_level(), params.default_scale())?;
    let same = SecretKey::generate(&preset.build_on(Arc::clone(&backend))?, &mut rng);
    assert!(same.encrypt(&pt, &mut rng).is_ok());
    let other = SecretKey::generate(&Preset::for_degree(16384)?.build()?, &mut rng);
    assert!(matches!(
        other.encrypt(&pt, &mut rng),
        Err(Error::ParameterMismatch)
    ));
    Ok(())
}
