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

mod common;

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

#[test]
fn residues_at_the_edges_of_31_bit_primes_match_the_cpu() {
    let Some(gpu) = device() else { return };
    common::assert_edges_match_the_cpu(gpu);
}

#[test]
fn ntts_of_every_supported_size_match_the_cpu() {
    let Some(gpu) = device() else { return };
    common::assert_ntts_match_the_cpu(gpu, 31);
}

#[test]
fn a_missing_adapter_is_a_typed_error_naming_the_ones_there_are() {
    let err = Wgpu::with_adapter("no-such-adapter-anywhere").unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoDevice {
                backend: "wgpu",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no adapter named like"), "{err}");
}

#[test]
fn allocations_beyond_the_adapter_are_out_of_memory_errors() {
    let Some(gpu) = device() else { return };
    let err = gpu.alloc(1 << 40).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfMemory {
                backend: "wgpu",
                ..
            }
        ),
        "{err}"
    );
    // The backend still works afterwards, and counts what crosses the bus.
    let before = gpu.transfers().unwrap();
    let buf = gpu.upload(vec![1, 2, 3]).unwrap();
    assert_eq!(gpu.download(&buf).unwrap(), [1, 2, 3]);
    let after = gpu.transfers().unwrap();
    assert_eq!(
        (
            after.uploads - before.uploads,
            after.downloads - before.downloads
        ),
        (1, 1)
    );
    let err = gpu.upload(vec![1 << 40]).unwrap_err();
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
    gpu.synchronize().unwrap();
}

#[test]
fn kernel_time_comes_from_timestamp_queries_where_the_adapter_has_them() {
    use hefty_core::{Coeff, RnsBasis, Sampler};
    // The CPU has no device clock: its wall time is its kernel time.
    let cpu = hefty_core::Cpu::shared();
    assert!(!cpu.set_kernel_timing(true));
    assert_eq!(cpu.kernel_ns(), None);
    let Some(gpu) = device() else { return };
    let backend: Arc<dyn Backend> = gpu.clone();
    assert_eq!(backend.kernel_ns(), None, "timing starts off");
    if !backend.set_kernel_timing(true) {
        eprintln!("skipped: {} has no timestamp queries", gpu.adapter());
        return;
    }
    let n = 4096;
    let primes = hefty_core::ntt::ntt_primes(31, n, 2).unwrap();
    let basis = Arc::new(RnsBasis::with_backend(n, &primes, backend.clone()).unwrap());
    let a = Sampler::from_seed([3; 32])
        .uniform::<Coeff>(&basis, 2)
        .unwrap();
    let _f = a.into_ntt();
    backend.synchronize().unwrap();
    let ns = backend.kernel_ns().expect("timing is on");
    assert!(ns > 0, "two NTT passes took no device time");
    // Switching on again restarts the count; off stops it.
    assert!(backend.set_kernel_timing(true));
    assert_eq!(backend.kernel_ns(), Some(0));
    assert!(backend.set_kernel_timing(false));
    assert_eq!(backend.kernel_ns(), None);
}
