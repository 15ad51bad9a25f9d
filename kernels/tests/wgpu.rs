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

/// The words of a few operations on residues at the edges of their range
/// (0, 1, p - 1, p - 2, about p/2) under the largest W32 primes, at a degree
/// with NTT stages wider than a workgroup block.
fn edge_results(backend: Arc<dyn Backend>) -> Result<Vec<Vec<u64>>, Error> {
    use hefty_core::{Coeff, RnsBasis, RnsPoly};
    let n = 8192;
    let primes = hefty_core::ntt::ntt_primes(31, n, 3)?;
    let basis = Arc::new(RnsBasis::with_backend(n, &primes, backend)?);
    let level = basis.len();
    let half = 1i64 << 30;
    let pattern = [0, 1, -1, -2, half, -half, half - 1, 2];
    let xs: Vec<i64> = (0..n).map(|i| pattern[i % pattern.len()]).collect();
    let ys: Vec<i64> = (0..n).map(|i| pattern[(i / 3) % pattern.len()]).collect();
    let x = RnsPoly::<Coeff>::from_i64(&basis, level, &xs)?;
    let y = RnsPoly::<Coeff>::from_i64(&basis, level, &ys)?;
    let mut out = Vec::new();
    let mut sum = x.clone();
    sum.add_assign(&y)?;
    out.push(sum.to_host()?);
    let mut diff = x.clone();
    diff.sub_assign(&y)?;
    diff.neg_assign();
    out.push(diff.to_host()?);
    let mut scaled = x.clone();
    scaled.mul_scalar_assign(u64::MAX);
    out.push(scaled.to_host()?);
    let (xn, yn) = (x.clone().into_ntt(), y.clone().into_ntt());
    out.push(xn.to_host()?);
    let mut prod = xn.clone();
    prod.mul_assign(&yn)?;
    prod.mul_add_assign(&yn, &yn)?;
    out.push(prod.to_host()?);
    out.push(prod.into_coeff().to_host()?);
    out.push(x.automorphism(2 * n - 1)?.to_host()?);
    out.push(x.divide_round_by_last()?.to_host()?);
    Ok(out)
}

#[test]
fn residues_at_the_edges_of_31_bit_primes_match_the_cpu() {
    let Some(gpu) = device() else { return };
    let on_gpu = edge_results(gpu).unwrap();
    let on_cpu = edge_results(hefty_core::Cpu::shared()).unwrap();
    assert_eq!(on_gpu.len(), on_cpu.len());
    for (i, (g, c)) in on_gpu.iter().zip(&on_cpu).enumerate() {
        assert!(g == c, "result {i} differs from the CPU's");
    }
}

#[test]
fn ntts_of_every_supported_size_match_the_cpu() {
    use hefty_core::{Coeff, RnsBasis, Sampler};
    let Some(gpu) = device() else { return };
    // Each size's stage split differs: one block (n <= 2048), one strided
    // stage group plus blocks (n = 4096 … 2^17).
    for log_n in [1, 2, 5, 11, 12, 14, 16, 17] {
        let n = 1usize << log_n;
        let mut primes = hefty_core::ntt::ntt_primes(31, n, 1).unwrap();
        primes.extend(hefty_core::ntt::ntt_primes(27, n, 1).unwrap());
        let run = |backend: Arc<dyn Backend>| {
            let basis = Arc::new(RnsBasis::with_backend(n, &primes, backend).unwrap());
            let a = Sampler::from_seed([log_n as u8; 32])
                .uniform::<Coeff>(&basis, 2)
                .unwrap();
            let f = a.into_ntt();
            let fwd = f.to_host().unwrap();
            (fwd, f.into_coeff().to_host().unwrap())
        };
        let (gpu_fwd, gpu_back) = run(gpu.clone());
        let (cpu_fwd, cpu_back) = run(hefty_core::Cpu::shared());
        assert!(gpu_fwd == cpu_fwd, "forward NTT differs at n = {n}");
        assert!(gpu_back == cpu_back, "inverse NTT differs at n = {n}");
    }
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
