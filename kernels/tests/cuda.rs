//! The CUDA backend against the CPU, on every machine.
//!
//! - The kernels' modular arithmetic, compiled for the host from the same
//!   source, against hefty-ntt on random inputs (proptest).
//! - The hefty-core conformance suite on the host emulation of the kernels
//!   ([`Cuda::emulated`]) at both word sizes: every kernel's code, its
//!   launch arguments and table layouts bit-identical to the CPU.
//! - NVRTC compiles every kernel for sm_90 at both word sizes with no
//!   warning (where NVRTC is installed; CI installs it and sets
//!   `HEFTY_REQUIRE_NVRTC=1` so that its absence fails there).
//! - On a machine with a CUDA device, the conformance suite on the device;
//!   elsewhere each device test says so in one line and passes.
#![cfg(feature = "cuda")]

use std::sync::Arc;

use hefty_core::ntt::Modulus;
use hefty_core::ring::Word;
use hefty_core::{Backend, Error, bfv};
use hefty_kernels::Cuda;
use hefty_kernels::cuda::host::arith;
use hefty_kernels::cuda::source;
use proptest::prelude::*;

mod common;

/// `[p, mu, k]` as the kernels' prime records hold them.
fn barrett(p: u64) -> (u64, u32) {
    let k = 64 - p.leading_zeros();
    (((1u128 << (2 * k)) / p as u128) as u64, k)
}

fn shoup(w: u64, p: u64, bits: u32) -> u64 {
    (((w as u128) << bits) / p as u128) as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn w64_arithmetic_matches_hefty_ntt(p in 3u64..(1 << 62), a in any::<u64>(), b in any::<u64>(), x in any::<u64>()) {
        let p = p | 1;
        let m = Modulus::new(p).unwrap();
        let (a, b) = (a % p, b % p);
        let (mu, k) = barrett(p);
        prop_assert_eq!(arith::add_mod64(a, b, p), m.add(a, b));
        prop_assert_eq!(arith::sub_mod64(a, b, p), m.sub(a, b));
        prop_assert_eq!(arith::neg_mod64(a, p), m.neg(a));
        prop_assert_eq!(arith::mul_mod64(a, b, p, mu, k), m.mul(a, b));
        // Shoup's product takes any word, not only reduced ones.
        prop_assert_eq!(arith::mul_shoup64(x, b, shoup(b, p, 64), p), m.mul(m.reduce(x), b));
    }

    #[test]
    fn w32_arithmetic_matches_hefty_ntt(p in 3u64..(1 << 31), a in any::<u64>(), b in any::<u64>(), x in any::<u32>()) {
        let p = p | 1;
        let m = Modulus::new(p).unwrap();
        let (a, b) = (a % p, b % p);
        let (mu, k) = barrett(p);
        let p32 = p as u32;
        prop_assert_eq!(arith::add_mod32(a as u32, b as u32, p32) as u64, m.add(a, b));
        prop_assert_eq!(arith::sub_mod32(a as u32, b as u32, p32) as u64, m.sub(a, b));
        prop_assert_eq!(arith::neg_mod32(a as u32, p32) as u64, m.neg(a));
        prop_assert_eq!(arith::mul_mod32(a as u32, b as u32, p32, mu as u32, k) as u64, m.mul(a, b));
        prop_assert_eq!(
            arith::mul_shoup32(x, b as u32, shoup(b, p, 32) as u32, p32) as u64,
            m.mul(m.reduce(x as u64), b)
        );
    }

    #[test]
    fn the_fixed_point_sum_matches_exact_rationals(terms in prop::collection::vec((any::<u64>(), any::<u128>()), 1..40)) {
        use num_bigint::BigUint;
        // round(Σ x·f / 2^128), low 64 bits, by big integers.
        let sum: BigUint = terms.iter().map(|&(x, f)| BigUint::from(x) * BigUint::from(f)).sum();
        let rounded = (sum + (BigUint::from(1u8) << 127u32)) >> 128u32;
        let low = rounded.iter_u64_digits().next().unwrap_or(0);
        prop_assert_eq!(arith::fixed_sum(&terms), low);
    }
}

#[test]
fn barrett_reduction_holds_at_the_edges_of_both_words() {
    // The largest residues of the largest and smallest primes of each word.
    for (bits, primes) in [
        (
            64u32,
            vec![(1u64 << 62) - 57, (1 << 61) - 1, 3, 5, (1 << 32) + 15],
        ),
        (32, vec![(1u64 << 31) - 1, 2_147_483_629, 3, 65537]),
    ] {
        for p in primes {
            let m = Modulus::new(p).unwrap();
            let (mu, k) = barrett(p);
            for a in [0, 1, p / 2, p - 2, p - 1] {
                for b in [1, p / 2 + 1, p - 1] {
                    let got = if bits == 64 {
                        arith::mul_mod64(a, b, p, mu, k)
                    } else {
                        arith::mul_mod32(a as u32, b as u32, p as u32, mu as u32, k) as u64
                    };
                    assert_eq!(got, m.mul(a, b), "{a}·{b} mod {p} ({bits}-bit words)");
                }
            }
        }
    }
}

fn conformance(word: Word) {
    let backend: Arc<dyn Backend> = Arc::new(Cuda::emulated(word));
    let report = hefty_core::conformance::run(&backend, word)
        .unwrap_or_else(|f| panic!("host emulation, {word:?}: {f}"));
    let names: Vec<&str> = report.checks.iter().map(|(c, _)| *c).collect();
    assert_eq!(names, ["primitives", "bfv", "ckks"]);
    assert!(report.checks.iter().all(|&(_, n)| n >= 10), "{report:?}");
    eprintln!(
        "conformance of the CUDA kernels (host emulation, {word:?}): {} results bit-identical",
        report.compared()
    );
}

#[test]
fn emulated_kernels_pass_the_conformance_suite_with_64_bit_words() {
    conformance(Word::W64);
}

#[test]
fn emulated_kernels_pass_the_conformance_suite_with_32_bit_words() {
    conformance(Word::W32);
}

#[test]
fn emulated_ntts_of_every_supported_size_match_the_cpu() {
    common::assert_ntts_match_the_cpu(Arc::new(Cuda::emulated(Word::W64)), 61);
    common::assert_ntts_match_the_cpu(Arc::new(Cuda::emulated(Word::W32)), 31);
}

#[test]
fn emulated_residues_at_the_edges_of_31_bit_primes_match_the_cpu() {
    common::assert_edges_match_the_cpu(Arc::new(Cuda::emulated(Word::W32)));
    common::assert_edges_match_the_cpu(Arc::new(Cuda::emulated(Word::W64)));
}

#[test]
fn a_32_bit_backend_refuses_64_bit_primes_with_what_to_use() {
    let cuda = Arc::new(Cuda::emulated(Word::W32));
    let err = bfv::Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&[50, 50])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .backend(cuda.clone())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedByBackend {
                backend: "cuda",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Cuda::new()"), "{err}");
    let err = cuda.upload(vec![1 << 40]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedByBackend {
                backend: "cuda",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn every_kernel_compiles_with_nvrtc_for_hopper_without_warnings() {
    if !source::nvrtc_present() {
        assert!(
            std::env::var_os("HEFTY_REQUIRE_NVRTC").is_none(),
            "HEFTY_REQUIRE_NVRTC is set but libnvrtc.so.13 cannot be loaded: put the nvidia-cuda-nvrtc wheel's lib directory on LD_LIBRARY_PATH"
        );
        eprintln!("skipped: NVRTC (libnvrtc.so.13) is not installed here");
        return;
    }
    for word in [Word::W64, Word::W32] {
        let out = source::compile("sm_90", word).unwrap_or_else(|e| panic!("{e}"));
        // An ELF image for the device, and every kernel in the PTX.
        assert_eq!(&out.cubin[..4], b"\x7fELF", "{word:?}");
        for kernel in source::KERNELS {
            assert!(
                out.ptx.contains(&format!(".entry {kernel}(")),
                "kernel `{kernel}` is missing from the PTX ({word:?})"
            );
        }
    }
}

#[test]
fn without_a_device_the_backend_is_a_typed_error() {
    match Cuda::new() {
        Ok(gpu) => eprintln!("a CUDA device is present: {}", gpu.device()),
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::NoDevice {
                        backend: "cuda",
                        ..
                    }
                ),
                "{e}"
            );
            assert!(e.to_string().starts_with("no cuda device: "), "{e}");
            eprintln!("no CUDA device here: {e}");
        }
    }
}

/// The device, or `None` after one line saying why there is none.
fn device(word: Word) -> Option<Arc<Cuda>> {
    match Cuda::with_word(word) {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            eprintln!("skipped: no CUDA device ({e})");
            None
        }
    }
}

#[test]
fn on_a_device_the_conformance_suite_passes_bit_for_bit() {
    for word in [Word::W64, Word::W32] {
        let Some(gpu) = device(word) else { return };
        let backend: Arc<dyn Backend> = gpu.clone();
        let report = hefty_core::conformance::run(&backend, word)
            .unwrap_or_else(|f| panic!("on {}: {f}", gpu.device()));
        assert!(report.checks.iter().all(|&(_, n)| n >= 10), "{report:?}");
        eprintln!(
            "conformance on {} ({word:?}): {} results bit-identical",
            gpu.device(),
            report.compared()
        );
    }
}

#[test]
fn on_a_device_allocations_beyond_it_are_out_of_memory_errors() {
    let Some(gpu) = device(Word::W64) else { return };
    let err = gpu.alloc(1 << 45).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfMemory {
                backend: "cuda",
                ..
            }
        ),
        "{err}"
    );
    let buf = gpu.upload(vec![1, 2, 3]).unwrap();
    assert_eq!(gpu.download(&buf).unwrap(), [1, 2, 3]);
    gpu.synchronize().unwrap();
}

#[test]
fn transfers_are_counted_so_the_suite_can_see_them() {
    for word in [Word::W64, Word::W32] {
        let cuda = Cuda::emulated(word);
        let before = cuda.transfers().unwrap();
        let buf = cuda.upload(vec![1, 2, 3, (1 << 31) - 2]).unwrap();
        assert_eq!(cuda.download(&buf).unwrap(), [1, 2, 3, (1 << 31) - 2]);
        let copy = cuda.duplicate(&buf).unwrap();
        cuda.release(buf);
        let after = cuda.transfers().unwrap();
        assert_eq!(
            (
                after.uploads - before.uploads,
                after.downloads - before.downloads
            ),
            (1, 1),
            "{word:?}: one upload, one download, and a device copy is neither"
        );
        assert_eq!(cuda.download(&copy).unwrap(), [1, 2, 3, (1 << 31) - 2]);
    }
}
