//! The Backend trait from outside the crate: a simulated device backend
//! ("resident") keeps every polynomial in its own memory type, so any scheme
//! code that bypassed the trait and read host words would panic. It is the
//! first user of the conformance suite: BFV and CKKS circuits and every
//! primitive must give bit-identical results to the CPU backend and move no
//! data across the "bus" while evaluating. Its scratch buffers are filled
//! with garbage, so a primitive that relied on zeroed outputs would fail.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hefty_core::backend::{Prepared, Transfers, Weight};
use hefty_core::ntt::{Modulus, ShoupConst};
use hefty_core::ring::{GaloisPermutation, Word};
use hefty_core::{
    Backend, BaseConverter, Buffer, Cpu, Error, ExactLift, RnsBasis, ScaleRound, bfv,
};

/// Device memory of the simulated backend.
struct Resident(Vec<u64>);

/// Delegates the arithmetic to [`Cpu`] on copies, counting transfers.
#[derive(Debug, Default)]
struct ResidentBackend {
    uploads: AtomicU64,
    downloads: AtomicU64,
    /// Primes must stay below `2^max_bits` (a 32-bit-word device says 31).
    max_bits: Option<u32>,
    /// Allocations larger than this fail (a device with little memory).
    max_words: Option<usize>,
    /// Negation gets the first word wrong (a broken kernel the suite must catch).
    faulty_neg: bool,
}

fn words(buf: &Buffer) -> &Vec<u64> {
    &buf.device_ref::<Resident>()
        .expect("the resident backend only sees its own buffers")
        .0
}

fn words_mut(buf: &mut Buffer) -> &mut Vec<u64> {
    &mut buf
        .device_mut::<Resident>()
        .expect("the resident backend only sees its own buffers")
        .0
}

fn host_copy(buf: &Buffer) -> Buffer {
    Buffer::host(words(buf).clone())
}

/// Runs a CPU in-place primitive on `buf`'s words.
fn in_place(buf: &mut Buffer, f: impl FnOnce(&mut Buffer)) {
    let mut tmp = Buffer::host(std::mem::take(words_mut(buf)));
    f(&mut tmp);
    *words_mut(buf) = tmp.take_host().expect("host buffer");
}

/// Runs a CPU primitive that writes an output, into `out`'s words.
fn into_out(out: &mut Buffer, f: impl FnOnce(&mut Buffer)) {
    let mut tmp = Buffer::host(Vec::new());
    f(&mut tmp);
    *words_mut(out) = tmp.take_host().expect("host buffer");
}

impl ResidentBackend {
    fn check_size(&self, words: usize) -> Result<(), Error> {
        match self.max_words {
            Some(max) if words > max => Err(Error::OutOfMemory {
                backend: "resident",
                words,
            }),
            _ => Ok(()),
        }
    }
}

impl Backend for ResidentBackend {
    fn name(&self) -> &'static str {
        "resident"
    }
    fn prepare_basis(&self, n: usize, moduli: &[Modulus], word: Word) -> Result<Prepared, Error> {
        if let Some(bits) = self.max_bits
            && moduli.iter().any(|m| m.value() >> bits != 0)
        {
            return Err(Error::UnsupportedByBackend {
                backend: "resident",
                reason: format!("primes must be below 2^{bits}"),
            });
        }
        // It computes with the CPU's kernels, so it keeps the CPU's plans.
        Cpu.prepare_basis(n, moduli, word)
    }
    fn transfers(&self) -> Option<Transfers> {
        Some(Transfers {
            uploads: self.uploads.load(Ordering::Relaxed),
            downloads: self.downloads.load(Ordering::Relaxed),
        })
    }
    fn alloc(&self, n: usize) -> Result<Buffer, Error> {
        self.check_size(n)?;
        Ok(Buffer::device(Resident(vec![0; n])))
    }
    fn scratch(&self, n: usize) -> Result<Buffer, Error> {
        self.check_size(n)?;
        // Garbage, as fresh device memory is: outputs must overwrite it all.
        Ok(Buffer::device(Resident(vec![u64::MAX; n])))
    }
    fn upload(&self, host: Vec<u64>) -> Result<Buffer, Error> {
        self.check_size(host.len())?;
        self.uploads.fetch_add(1, Ordering::Relaxed);
        Ok(Buffer::device(Resident(host)))
    }
    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        Ok(words(buf).clone())
    }
    fn duplicate(&self, buf: &Buffer) -> Result<Buffer, Error> {
        self.check_size(words(buf).len())?;
        Ok(Buffer::device(Resident(words(buf).clone())))
    }
    fn truncate(&self, buf: &mut Buffer, n: usize) {
        words_mut(buf).truncate(n);
    }
    fn zeroize(&self, buf: &mut Buffer) {
        words_mut(buf).iter_mut().for_each(|x| *x = 0);
    }
    fn release(&self, _buf: Buffer) {}
    fn ntt_forward(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        in_place(buf, |b| Cpu.ntt_forward(basis, limbs, b));
    }
    fn ntt_inverse(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        in_place(buf, |b| Cpu.ntt_inverse(basis, limbs, b));
    }
    fn copy_limbs(
        &self,
        n: usize,
        dst: &mut Buffer,
        dst_limb: usize,
        src: &Buffer,
        src_limbs: Range<usize>,
    ) {
        let src = &words(src)[src_limbs.start * n..src_limbs.end * n];
        words_mut(dst)[dst_limb * n..dst_limb * n + src.len()].copy_from_slice(src);
    }
    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
        out_b: &mut Buffer,
        out_a: &mut Buffer,
    ) {
        let copies = |bufs: &[&Buffer]| bufs.iter().map(|b| host_copy(b)).collect::<Vec<_>>();
        let (ext, key_b, key_a) = (copies(ext), copies(key_b), copies(key_a));
        let (ext, key_b, key_a): (Vec<&Buffer>, Vec<&Buffer>, Vec<&Buffer>) = (
            ext.iter().collect(),
            key_b.iter().collect(),
            key_a.iter().collect(),
        );
        let (mut b, mut a) = (Buffer::host(Vec::new()), Buffer::host(Vec::new()));
        Cpu.key_inner_product(basis, level, &ext, &key_b, &key_a, &mut b, &mut a);
        *words_mut(out_b) = b.take_host().expect("host buffer");
        *words_mut(out_a) = a.take_host().expect("host buffer");
    }
    fn sub_scale(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: &mut Buffer,
        b: &Buffer,
        c: &[ShoupConst],
    ) {
        let b = host_copy(b);
        in_place(a, |a| Cpu.sub_scale(basis, level, a, &b, c));
    }
    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let b = host_copy(b);
        in_place(a, |a| Cpu.add(basis, level, a, &b));
    }
    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let b = host_copy(b);
        in_place(a, |a| Cpu.sub(basis, level, a, &b));
    }
    fn neg(&self, basis: &RnsBasis, level: usize, a: &mut Buffer) {
        in_place(a, |a| Cpu.neg(basis, level, a));
        if self.faulty_neg {
            words_mut(a)[0] ^= 1;
        }
    }
    fn mul(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let b = host_copy(b);
        in_place(a, |a| Cpu.mul(basis, level, a, &b));
    }
    fn mul_add(&self, basis: &RnsBasis, level: usize, acc: &mut Buffer, a: &Buffer, b: &Buffer) {
        let (a, b) = (host_copy(a), host_copy(b));
        in_place(acc, |acc| Cpu.mul_add(basis, level, acc, &a, &b));
    }
    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        in_place(a, |a| Cpu.mul_limb_constants(basis, level, a, c));
    }
    fn add_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        in_place(a, |a| Cpu.add_limb_constants(basis, level, a, c));
    }
    fn linear_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[(&Buffer, Weight<'_>)],
        out: &mut Buffer,
    ) -> Result<(), Error> {
        let xs: Vec<Buffer> = terms.iter().map(|(x, _)| host_copy(x)).collect();
        let plains: Vec<Option<Buffer>> = terms
            .iter()
            .map(|(_, w)| match w {
                Weight::Plain(p) => Some(host_copy(p)),
                Weight::Scalar(_) => None,
            })
            .collect();
        let terms: Vec<(&Buffer, Weight<'_>)> = terms
            .iter()
            .zip(&xs)
            .zip(&plains)
            .map(|(((_, w), x), p)| match (w, p) {
                (Weight::Scalar(c), _) => (x, Weight::Scalar(c)),
                (_, Some(p)) => (x, Weight::Plain(p)),
                _ => unreachable!("a plain weight has its copy"),
            })
            .collect();
        let mut result = Ok(());
        into_out(out, |o| {
            result = Cpu.linear_combination(basis, level, &terms, o);
        });
        result
    }
    fn automorphism(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        g: usize,
        out: &mut Buffer,
    ) {
        let src = host_copy(src);
        into_out(out, |o| Cpu.automorphism(basis, level, &src, g, o));
    }
    fn permute(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        perm: &GaloisPermutation,
        out: &mut Buffer,
    ) {
        let src = host_copy(src);
        into_out(out, |o| Cpu.permute(basis, level, &src, perm, o));
    }
    fn monomial_mul_add(
        &self,
        basis: &RnsBasis,
        level: usize,
        acc: &mut Buffer,
        src: &Buffer,
        k: usize,
        c: &[u64],
    ) {
        let src = host_copy(src);
        in_place(acc, |acc| {
            Cpu.monomial_mul_add(basis, level, acc, &src, k, c)
        });
    }
    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize, out: &mut Buffer) {
        let src = host_copy(src);
        into_out(out, |o| Cpu.monomial(basis, level, &src, k, o));
    }
    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer, out: &mut Buffer) {
        let src = host_copy(src);
        into_out(out, |o| Cpu.divide_round_by_last(basis, level, &src, o));
    }
    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: Range<usize>,
        conv: &BaseConverter,
        out_q: &mut Buffer,
        out_p: &mut Buffer,
    ) {
        let (mut q, mut p) = (Buffer::host(Vec::new()), Buffer::host(Vec::new()));
        Cpu.mod_up(basis, level, &host_copy(src), digit, conv, &mut q, &mut p);
        *words_mut(out_q) = q.take_host().expect("host buffer");
        *words_mut(out_p) = p.take_host().expect("host buffer");
    }
    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer, out: &mut Buffer) {
        let src = host_copy(src);
        into_out(out, |o| Cpu.exact_lift(n, lift, &src, o));
    }
    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
        out: &mut Buffer,
    ) {
        let (eq, er) = (host_copy(eq), host_copy(er));
        into_out(out, |o| Cpu.scale_round(n, level, consts, &eq, &er, o));
    }
}

#[test]
fn a_device_backend_passes_the_conformance_suite() {
    let device: Arc<dyn Backend> = Arc::new(ResidentBackend::default());
    let report = hefty_core::conformance::run(&device, Word::W64).unwrap();
    let names: Vec<&str> = report.checks.iter().map(|(c, _)| *c).collect();
    assert_eq!(names, ["primitives", "bfv", "ckks"]);
    // Every check compared results: none passed vacuously.
    assert!(report.checks.iter().all(|&(_, n)| n >= 10), "{report:?}");
    assert!(device.transfers().unwrap().downloads > 0);
}

#[test]
fn a_32_bit_device_passes_the_w32_suite_and_refuses_the_w64_one() {
    let w32: Arc<dyn Backend> = Arc::new(ResidentBackend {
        max_bits: Some(31),
        ..Default::default()
    });
    let report = hefty_core::conformance::run(&w32, Word::W32).unwrap();
    assert!(report.checks.iter().all(|&(_, n)| n >= 10), "{report:?}");
    let err = hefty_core::conformance::run(&w32, Word::W64).unwrap_err();
    assert!(err.to_string().contains("below 2^31"), "{err}");
}

#[test]
fn the_suite_catches_a_backend_that_computes_wrong() {
    let faulty: Arc<dyn Backend> = Arc::new(ResidentBackend {
        faulty_neg: true,
        ..Default::default()
    });
    let err = hefty_core::conformance::run(&faulty, Word::W64).unwrap_err();
    assert_eq!(err.check, "primitives", "{err}");
    assert!(err.to_string().contains("differs from the CPU's"), "{err}");
}

#[test]
fn the_suite_refuses_a_backend_that_cannot_count_transfers() {
    let err = hefty_core::conformance::run(&Cpu::shared(), Word::W64).unwrap_err();
    assert_eq!(err.check, "transfers", "{err}");
}

#[test]
fn a_backend_refuses_parameters_it_cannot_run() {
    let w32 = Arc::new(ResidentBackend {
        max_bits: Some(31),
        ..Default::default()
    });
    let err = bfv::Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&[50, 50])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .backend(w32)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedByBackend {
                backend: "resident",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("below 2^31"), "{err}");
}

#[test]
fn a_backend_out_of_memory_is_a_typed_error() {
    let small: Arc<dyn Backend> = Arc::new(ResidentBackend {
        max_words: Some(4096),
        ..Default::default()
    });
    let primes = hefty_core::ntt::ntt_primes(40, 2048, 3).unwrap();
    let basis = Arc::new(RnsBasis::with_backend(2048, &primes, small).unwrap());
    let err = hefty_core::RnsPoly::<hefty_core::Coeff>::zero(&basis, 3).unwrap_err();
    assert_eq!(
        err,
        Error::OutOfMemory {
            backend: "resident",
            words: 3 * 2048
        }
    );
    assert!(err.to_string().contains("out of memory"), "{err}");
}

#[test]
fn a_basis_records_its_word_size() {
    let n = 64;
    let narrow = hefty_core::ntt::ntt_primes(30, n, 2).unwrap();
    let wide = hefty_core::ntt::ntt_primes(40, n, 1).unwrap();
    assert_eq!(RnsBasis::new(n, &narrow).unwrap().word(), Word::W32);
    let mixed: Vec<u64> = narrow.iter().chain(&wide).copied().collect();
    assert_eq!(RnsBasis::new(n, &mixed).unwrap().word(), Word::W64);
}

#[test]
fn bases_of_different_backends_do_not_mix() {
    let n = 64;
    let primes = hefty_core::ntt::ntt_primes(30, n, 2).unwrap();
    let a = Arc::new(RnsBasis::new(n, &primes).unwrap());
    let dev: Arc<dyn Backend> = Arc::new(ResidentBackend::default());
    let b = Arc::new(RnsBasis::with_backend(n, &primes, dev).unwrap());
    let x = hefty_core::RnsPoly::<hefty_core::Coeff>::zero(&a, 2).unwrap();
    let mut y = hefty_core::RnsPoly::<hefty_core::Coeff>::zero(&b, 2).unwrap();
    assert_eq!(y.add_assign(&x), Err(Error::BasisMismatch));
    let err = hefty_core::KeySwitcher::new(&a, &b, 1).unwrap_err();
    assert!(err.to_string().contains("different backends"), "{err}");
}
