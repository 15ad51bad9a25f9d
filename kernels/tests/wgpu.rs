//! The wgpu backend against the CPU: the hefty-core conformance suite at
//! W32 (every primitive and the BFV and CKKS circuits bit-identical, no
//! transfers while evaluating), and its typed refusals. On a machine with no
//! adapter each test says so in one line and passes: CI installs Mesa's
//! lavapipe so that the suite runs for real there.
#![cfg(feature = "wgpu")]

use std::sync::Arc;

use hefty_core::ring::Word;
use hefty_core::{Backend, Error, bfv};
use hefty_kernels::Wgpu;

/// The adapter, or `None` after one line saying why there is none.
fn device() -> Option<Arc<Wgpu>> {
    match Wgpu::new() {
        Ok(w) => Some(Arc::new(w)),
        Err(e) => {
            eprintln!("skipped: no wgpu adapter on this machine ({e})");
            None
        }
    }
}

#[test]
fn every_kernel_compiles() {
    let Some(gpu) = device() else { return };
    gpu.compile_all().unwrap();
}

#[test]
fn the_conformance_suite_passes_bit_for_bit() {
    let Some(gpu) = device() else { return };
    let backend: Arc<dyn Backend> = gpu.clone();
    let report = hefty_core::conformance::run(&backend, Word::W32)
        .unwrap_or_else(|f| panic!("on {}: {f}", gpu.adapter()));
    let names: Vec<&str> = report.checks.iter().map(|(c, _)| *c).collect();
    assert_eq!(names, ["primitives", "bfv", "ckks"]);
    assert!(report.checks.iter().all(|&(_, n)| n >= 10), "{report:?}");
    eprintln!(
        "conformance on {}: {} results bit-identical",
        gpu.adapter(),
        report.compared()
    );
}

#[test]
fn w64_parameters_are_refused_with_what_to_use() {
    let Some(gpu) = device() else { return };
    let err = bfv::Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&[50, 50])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .backend(gpu)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedByBackend {
                backend: "wgpu",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("W32"), "{err}");
}
