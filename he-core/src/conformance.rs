//! A conformance suite any [`Backend`] runs (feature `conformance`).
//!
//! [`run`] drives a backend through every fine primitive and through BFV
//! and CKKS circuits — multiply + relinearize, rescale, rotations, hoisted
//! rotations, conjugation, monomial, sparse and dense plaintext products,
//! linear combinations, modulus switching, and key switching at every
//! level — and checks that every result is bit-identical to the CPU
//! backend's on the same keys and inputs, and that no buffer crosses the bus
//! while a circuit evaluates (the backend must count its transfers,
//! [`Backend::transfers`]). The simulated device of `tests/backend.rs` is
//! its first user; the GPU backends of `hefty-kernels` run it too.
//!
//! ```
//! use std::sync::Arc;
//! use hefty_core::{Backend, Cpu};
//! // The CPU is the reference, so it needs no conformance; a device backend
//! // that counts transfers calls `hefty_core::conformance::run(&device, word)`
//! // with the word profile it runs (a 32-bit-word device: `Word::W32`).
//! let cpu: Arc<dyn Backend> = Cpu::shared();
//! // the CPU counts no transfers
//! assert!(hefty_core::conformance::run(&cpu, hefty_core::ring::Word::W64).is_err());
//! ```

use std::sync::Arc;

use crate::backend::Weight;
use crate::ring::{GaloisPermutation, Word};
use crate::{Backend, Coeff, Cpu, Error, Ntt, RnsBasis, RnsPoly, Sampler, bfv, ckks};

/// A check the backend failed, and how.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("backend conformance check `{check}` failed: {detail}")]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What differed or went wrong.
    pub detail: String,
}

/// What a successful run covered.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `(check, results compared bit for bit)`, in the order run.
    pub checks: Vec<(&'static str, usize)>,
}

impl Report {
    /// Results compared in all.
    pub fn compared(&self) -> usize {
        self.checks.iter().map(|(_, n)| n).sum()
    }
}

/// Named results of one run, compared label by label.
type Results = Vec<(String, Vec<u64>)>;

fn fail(check: &'static str) -> impl Fn(Error) -> Failure {
    move |e| Failure {
        check,
        detail: e.to_string(),
    }
}

fn compare(check: &'static str, device: &Results, cpu: &Results) -> Result<usize, Failure> {
    if device.len() != cpu.len() {
        return Err(Failure {
            check,
            detail: format!("{} results against the CPU's {}", device.len(), cpu.len()),
        });
    }
    for ((label, got), (_, want)) in device.iter().zip(cpu) {
        if got != want {
            let at = got.iter().zip(want).position(|(a, b)| a != b);
            return Err(Failure {
                check,
                detail: format!(
                    "`{label}` differs from the CPU's ({} words against {}, first difference at word {at:?})",
                    got.len(),
                    want.len()
                ),
            });
        }
    }
    Ok(cpu.len())
}

/// Runs `circuit` on the device and on the CPU and compares; the device
/// must move nothing across the bus between `circuit`'s `evaluating` marks.
fn differential(
    check: &'static str,
    device: &Arc<dyn Backend>,
    circuit: impl Fn(Arc<dyn Backend>, &mut dyn FnMut(bool)) -> Result<Results, Error>,
) -> Result<usize, Failure> {
    let mut before = None;
    let mut moved = None;
    let mut mark = |start: bool| {
        let now = device.transfers();
        if start {
            before = now;
        } else if before != now {
            moved = Some((before, now));
        }
    };
    let on_device = circuit(Arc::clone(device), &mut mark).map_err(fail(check))?;
    if let Some((before, after)) = moved {
        return Err(Failure {
            check,
            detail: format!(
                "buffers crossed the bus during evaluation ({before:?} → {after:?}): data must stay on the device"
            ),
        });
    }
    let on_cpu = circuit(Cpu::shared(), &mut |_| {}).map_err(fail(check))?;
    compare(check, &on_device, &on_cpu)
}

/// A circuit of the suite at one word profile.
type Circuit = fn(Arc<dyn Backend>, Word, &mut dyn FnMut(bool)) -> Result<Results, Error>;

/// Runs the whole suite on `device` with parameters of the word profile
/// `word` ([`Word::W32`]: every prime below 2^31, for 32-bit-word devices).
pub fn run(device: &Arc<dyn Backend>, word: Word) -> Result<Report, Failure> {
    if device.transfers().is_none() {
        return Err(Failure {
            check: "transfers",
            detail: format!(
                "the {} backend does not count its transfers (Backend::transfers): the suite cannot check that data stays on the device",
                device.name()
            ),
        });
    }
    let mut report = Report::default();
    for (check, circuit) in [
        ("primitives", primitives as Circuit),
        ("bfv", bfv_circuit),
        ("ckks", ckks_circuit),
    ] {
        let compared = differential(check, device, |b, mark| circuit(b, word, mark))?;
        report.checks.push((check, compared));
    }
    device.synchronize().map_err(fail("synchronize"))?;
    Ok(report)
}

fn host<F: crate::Form>(
    out: &mut Results,
    label: impl Into<String>,
    p: &RnsPoly<F>,
) -> Result<(), Error> {
    out.push((label.into(), p.to_host()?));
    Ok(())
}

/// Every fine primitive on random polynomials of a small basis.
fn primitives(
    backend: Arc<dyn Backend>,
    word: Word,
    mark: &mut dyn FnMut(bool),
) -> Result<Results, Error> {
    // n = 4096 is the smallest degree whose NTT has stages wider than a
    // device's workgroup block (2048 points), and the profile's largest
    // primes test the reductions at the top of their range.
    let sizes = match word {
        Word::W64 => [(64, 50, 30), (4096, 61, 40)],
        Word::W32 => [(64, 30, 28), (4096, 31, 24)],
    };
    let mut out = Results::new();
    for (n, large, small) in sizes {
        let mut primes = hefty_ntt::ntt_primes(large, n, 2)?;
        primes.extend(hefty_ntt::ntt_primes(small, n, 2)?);
        for (label, words) in primitives_at(Arc::clone(&backend), n, &primes, mark)? {
            out.push((format!("{label} (n = {n})"), words));
        }
    }
    Ok(out)
}

/// [`primitives`] at degree `n` over `primes`.
fn primitives_at(
    backend: Arc<dyn Backend>,
    n: usize,
    primes: &[u64],
    mark: &mut dyn FnMut(bool),
) -> Result<Results, Error> {
    let basis = Arc::new(RnsBasis::with_backend(n, primes, backend)?);
    let level = basis.len();
    let mut rng = Sampler::from_seed([17; 32]);
    let a = rng.uniform::<Coeff>(&basis, level)?;
    let b = rng.uniform::<Coeff>(&basis, level)?;
    let c = rng.uniform::<Coeff>(&basis, level)?;
    let small = RnsPoly::<Coeff>::from_i64(&basis, level, &rng.error(n)?)?;
    let perm = GaloisPermutation::new(n, 5)?;
    let weights: Vec<Vec<u64>> = (0..3)
        .map(|j| {
            basis
                .moduli()
                .iter()
                .map(|m| m.reduce(1 + j * 1_000_003))
                .collect()
        })
        .collect();
    let mut out = Results::new();
    mark(true);
    let (an, bn, cn) = (
        a.clone().into_ntt(),
        b.clone().into_ntt(),
        c.clone().into_ntt(),
    );
    let mut sum = a.clone();
    sum.add_assign(&b)?;
    let mut diff = a.clone();
    diff.sub_assign(&b)?;
    diff.neg_assign();
    let mut prod = an.clone();
    prod.mul_assign(&bn)?;
    prod.mul_add_assign(&bn, &cn)?;
    let mut scaled = a.clone();
    scaled.mul_scalar_assign(123_456_789_012);
    let aut = a.automorphism(2 * n - 1)?;
    let aut5 = a.automorphism(5)?;
    let permuted = an.permute(&perm)?;
    let shifted = a.mul_monomial(3 * n / 2 + 1)?;
    let mut sparse = small.clone();
    sparse.monomial_mul_add(&b, -7, 5)?;
    sparse.monomial_mul_add(&c, 11, n + 2)?;
    // Shared shifts, a wrap at 2n - 1, the largest weight, a plain copy.
    let monomials = RnsPoly::monomial_combination(&[
        (&a, -7, 5),
        (&b, 11, n + 2),
        (&c, 3, 5),
        (&a, i64::MAX, 2 * n - 1),
        (&b, 1, 0),
    ])?;
    let layer = RnsPoly::monomial_layer(
        &[&a, &b, &c],
        &[
            &[(0, -7, 5), (2, 3, n + 1)],
            &[],
            &[(1, 11, n - 1), (1, -1, 0), (0, 2, 2 * n - 3)],
        ],
    )?;
    let divided = a.divide_round_by_last()?;
    let combined = RnsPoly::linear_combination(&[(&a, 3), (&b, -1_000_000_007), (&c, i64::MAX)])?;
    let backend = basis.backend();
    let mut plain_combined = backend.scratch(level * n)?;
    backend.linear_combination(
        &basis,
        level,
        &[
            (an.buffer(), Weight::Plain(bn.buffer())),
            (bn.buffer(), Weight::Scalar(&weights[1])),
            (cn.buffer(), Weight::Plain(an.buffer())),
        ],
        &mut plain_combined,
    )?;
    let plain_combined = RnsPoly::<Ntt>::from_buffer(&basis, level, plain_combined);
    let prefix = an.prefix(2)?;
    let back = an.clone().into_coeff();
    let [t0, t1, t2] = crate::rlwe::keyswitch::compose::tensor([&an, &bn], [&cn, &prod])?;
    let [p0, p1, p2] =
        crate::rlwe::keyswitch::compose::tensor_pair([&an, &bn], [&cn, &prod], &permuted)?;
    mark(false);
    for (label, p) in [
        ("add", &sum),
        ("sub, negate", &diff),
        ("mul_scalar", &scaled),
        ("automorphism 2n-1", &aut),
        ("automorphism 5", &aut5),
        ("monomial", &shifted),
        ("monomial_mul_add", &sparse),
        ("monomial_combination", &monomials),
        ("monomial_layer row 0", &layer[0]),
        ("monomial_layer row 1 (empty)", &layer[1]),
        ("monomial_layer row 2", &layer[2]),
        ("divide_round_by_last", &divided),
        ("linear_combination (scalar)", &combined),
        ("ntt, inverse", &back),
    ] {
        host(&mut out, label, p)?;
    }
    for (label, p) in [
        ("ntt", &an),
        ("mul, mul_add", &prod),
        ("permute", &permuted),
        ("linear_combination (plain)", &plain_combined),
        ("prefix", &prefix),
        ("tensor d0", &t0),
        ("tensor d1", &t1),
        ("tensor d2", &t2),
        ("tensor_pair d0", &p0),
        ("tensor_pair d1", &p1),
        ("tensor_pair d2", &p2),
    ] {
        host(&mut out, label, p)?;
    }
    Ok(out)
}

/// BFV: keys and inputs from fixed seeds, then every evaluator path, with
/// a rotation (key switching) at every level.
fn bfv_circuit(
    backend: Arc<dyn Backend>,
    word: Word,
    mark: &mut dyn FnMut(bool),
) -> Result<Results, Error> {
    let (q, p) = match word {
        Word::W64 => ([50, 50, 50], [55, 55]),
        Word::W32 => ([30, 30, 30], [31, 31]),
    };
    let params = bfv::Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&q)
        .special_moduli_bits(&p)
        .word(word)
        .insecure_disable_security_check_for_testing_only()
        .backend(backend)
        .build()?;
    let mut rng = Sampler::from_seed([9; 32]);
    let sk = bfv::SecretKey::generate(&params, &mut rng);
    let pk = bfv::PublicKey::new(&sk, &mut rng)?;
    let rk = bfv::RelinearizationKey::new(&sk, &mut rng)?;
    let gk = bfv::GaloisKeys::new(&sk, &[1, -3], true, &mut rng)?;
    let enc = bfv::Encoder::new(&params)?;
    let t = 12289;
    let x: Vec<u64> = (0..enc.slots() as u64).map(|i| (i * 7 + 3) % t).collect();
    let y: Vec<u64> = (0..enc.slots() as u64).map(|i| (i * i + 1) % t).collect();
    let cx = sk.encrypt(&enc.encode(&x)?, &mut rng)?;
    let cy = pk.encrypt(&enc.encode(&y)?, &mut rng)?;
    let mut sparse = vec![0u64; 1024];
    sparse[3] = 5;
    sparse[700] = t - 2;
    let sparse = bfv::Plaintext::from_coeffs(&params, &sparse)?;
    let dense = enc.encode(&y)?;
    let ev = bfv::Evaluator::new(&params);
    // BFV plaintexts live on the host: prepared once, they stay on the device.
    let prepared = ev.prepare_plain(&dense, cx.level())?;
    let mut results = Vec::new();
    mark(true);
    let prod = ev.multiply_relin(&cx, &cy, &rk)?;
    let rot = ev.rotate_rows(&prod, 1, &gk)?;
    let rot = ev.rotate_rows(&rot, -3, &gk)?;
    let swapped = ev.rotate_columns(&rot, &gk)?;
    let shifted = ev.mul_monomial(&swapped, -2, 5)?;
    let sparse_product = ev.mul_sparse(&cx, &sparse)?;
    let dense_product = ev.mul_plain_prepared(&cx, &prepared)?;
    let combined = ev.linear_combination(&[(&cx, 3), (&cy, -5), (&shifted, 1)])?;
    let inputs = [cx.clone(), cy.clone(), shifted.clone()];
    let layer = ev.linear_layer(&inputs, &[&[(0, 3), (1, -5), (2, 1)], &[], &[(1, 7)]])?;
    let mut acc = ev.add(&shifted, &prod)?;
    acc = ev.sub(&acc, &cx)?;
    acc = ev.negate(&acc)?;
    let mut levels = vec![];
    let mut at = ev.add(&acc, &combined)?;
    while at.level() > 1 {
        at = ev.mod_switch_to_next(&at)?;
        levels.push(ev.rotate_rows(&at, 1, &gk)?);
    }
    mark(false);
    let unprepared = ev.mul_plain(&cx, &dense)?;
    for (label, ct) in [
        ("multiply_relin", &prod),
        ("rotate_rows", &rot),
        ("rotate_columns", &swapped),
        ("mul_monomial", &shifted),
        ("mul_sparse", &sparse_product),
        ("mul_plain_prepared", &dense_product),
        ("mul_plain", &unprepared),
        ("linear_combination", &combined),
        ("add, sub, negate", &acc),
    ]
    .into_iter()
    .chain(layer.iter().map(|ct| ("linear_layer", ct)))
    .chain(levels.iter().map(|ct| ("mod_switch + rotate", ct)))
    {
        for (i, p) in ct.polys().iter().enumerate() {
            results.push((
                format!("{label} (level {}) c_{i}", ct.level()),
                p.to_host()?,
            ));
        }
    }
    results.push(("decrypted".into(), enc.decode(&sk.decrypt(&acc)?)?));
    Ok(results)
}

/// CKKS: keys and inputs from fixed seeds, then every evaluator path, with
/// relinearization and a rotation (key switching) at every level.
fn ckks_circuit(
    backend: Arc<dyn Backend>,
    word: Word,
    mark: &mut dyn FnMut(bool),
) -> Result<Results, Error> {
    // W32 splits each level's scale over two primes (25 bits each here).
    let (scale, base, special) = match word {
        Word::W64 => (30, 45, 50),
        Word::W32 => (50, 60, 31),
    };
    let params = ckks::Parameters::builder()
        .degree(1024)
        .scale_bits(scale)
        .base_bits(base)
        .depth(3)
        .special_primes(2, special)
        .word(word)
        .insecure_disable_security_check_for_testing_only()
        .backend(backend)
        .build()?;
    let mut rng = Sampler::from_seed([21; 32]);
    let sk = ckks::SecretKey::generate(&params, &mut rng);
    let pk = ckks::PublicKey::new(&sk, &mut rng)?;
    let rk = ckks::RelinearizationKey::new(&sk, &mut rng)?;
    let gk = ckks::GaloisKeys::new(&sk, &[1, 2, -3], true, &mut rng)?;
    let enc = ckks::Encoder::new(&params);
    let (top, scale) = (params.max_level(), params.default_scale());
    let x: Vec<f64> = (0..enc.slots()).map(|i| (i as f64 * 0.37).sin()).collect();
    let y: Vec<f64> = (0..enc.slots()).map(|i| (i as f64 * 0.11).cos()).collect();
    let px = enc.encode_real(&x, top, scale)?;
    let cx = sk.encrypt(&px, &mut rng)?;
    let cy = pk.encrypt(&enc.encode_real(&y, top, scale)?, &mut rng)?;
    let ev = ckks::Evaluator::new(&params);
    mark(true);
    let prod = ev.multiply_relin_rescale(&cx, &cy, &rk)?;
    let relin = ev.rescale(&ev.relinearize(&ev.multiply(&cx, &cy)?, &rk)?)?;
    let rot = ev.rotate(&prod, 1, &gk)?;
    let conj = ev.conjugate(&rot, &gk)?;
    let hoisted = ev.rotate_hoisted(&cx, &[1, 2, -3, 0], &gk)?;
    let plain = ev.mul_plain(&ev.add_plain(&cx, &px)?, &px)?;
    let constant = ev.mul_const(&cy, -0.75)?;
    let combined = ev.linear_combination(&[(&cx, 0.5), (&cy, -1.25), (&hoisted[0], 2.0)])?;
    let plain_combined = ev.linear_combination_plain(&[(&cx, &px), (&cy, &px)])?;
    let inputs = [cx.clone(), cy.clone()];
    let layer = ev.linear_layer(&inputs, &[&[(0, 0.5), (1, -1.25)], &[(1, 3.0)], &[]])?;
    let integer_layer = ev.linear_layer_integer(&inputs, &[&[(0, 1), (1, -3)], &[]])?;
    let shifted = ev.add_const(&cx, ckks::Complex64::new(-2.5, 0.0))?;
    let mut levels = vec![];
    let mut at = ev.add(&conj, &relin)?;
    while at.level() > params.min_level() {
        let squared = ev.relinearize(&ev.multiply(&at, &at)?, &rk)?;
        levels.push(ev.rotate(&squared, -3, &gk)?);
        at = ev.rescale(&squared)?;
    }
    mark(false);
    let mut results = Vec::new();
    for (label, ct) in [
        ("multiply_relin_rescale", &prod),
        ("multiply, relinearize, rescale", &relin),
        ("rotate", &rot),
        ("conjugate", &conj),
        ("mul_plain, add_plain", &plain),
        ("mul_const", &constant),
        ("linear_combination", &combined),
        ("linear_combination_plain", &plain_combined),
        ("add_const", &shifted),
    ]
    .into_iter()
    .chain(layer.iter().map(|ct| ("linear_layer", ct)))
    .chain(integer_layer.iter().map(|ct| ("linear_layer_integer", ct)))
    .chain(hoisted.iter().map(|ct| ("rotate_hoisted", ct)))
    .chain(levels.iter().map(|ct| ("relinearize + rotate", ct)))
    {
        for (i, p) in ct.polys().iter().enumerate() {
            results.push((
                format!("{label} (level {}) c_{i}", ct.level()),
                p.to_host()?,
            ));
        }
    }
    let decoded = enc.decode_real(&sk.decrypt(&at)?)?;
    results.push((
        "decrypted".into(),
        decoded.iter().map(|v| v.to_bits()).collect(),
    ));
    Ok(results)
}
