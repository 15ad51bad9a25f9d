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

    // Objects of two parameter objects never meet (and parameters pin their
    // backend, so neither do polynomials of two backends): a typed error.
    let other = preset.build()?;
    let foreign = SecretKey::generate(&other, &mut rng);
    assert!(
        foreign
            .encrypt(
                &encoder.encode_real(&[1.0], params.max_level(), params.default_scale())?,
                &mut rng
            )
            .is_err()
    );
    Ok(())
}
