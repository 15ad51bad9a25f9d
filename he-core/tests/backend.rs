//! The Backend trait from outside the crate: a simulated device backend
//! ("resident") keeps every polynomial in its own memory type, so any scheme
//! code that bypassed the trait and read host words would panic. BFV run on
//! it must give bit-identical results to the CPU backend, move no data across
//! the "bus" while evaluating, and reject parameters it declares unsupported.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hefty_core::bfv::{
    Ciphertext, Encoder, Evaluator, GaloisKeys, Parameters, RelinearizationKey, SecretKey,
};
use hefty_core::ntt::ShoupConst;
use hefty_core::{
    Backend, BaseConverter, Buffer, Cpu, Error, ExactLift, RnsBasis, Sampler, ScaleRound,
};

/// Device memory of the simulated backend.
struct Resident(Vec<u64>);

/// Delegates the arithmetic to [`Cpu`] on copies, counting transfers.
#[derive(Debug, Default)]
struct ResidentBackend {
    uploads: AtomicUsize,
    downloads: AtomicUsize,
    /// Primes must stay below `2^max_bits` (a 32-bit-word device says 31).
    max_bits: Option<u32>,
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

fn resident(mut host: Buffer) -> Buffer {
    Buffer::device(Resident(
        host.take_host().expect("CPU results are host buffers"),
    ))
}

/// Runs a CPU in-place primitive on `buf`'s words.
fn in_place(buf: &mut Buffer, f: impl FnOnce(&mut Buffer)) {
    let mut tmp = Buffer::host(std::mem::take(words_mut(buf)));
    f(&mut tmp);
    *words_mut(buf) = tmp.take_host().expect("host buffer");
}

impl Backend for ResidentBackend {
    fn name(&self) -> &'static str {
        "resident"
    }
    fn check_basis(&self, basis: &RnsBasis) -> Result<(), Error> {
        match self.max_bits {
            Some(bits) if basis.moduli().iter().any(|m| m.value() >> bits != 0) => {
                Err(Error::UnsupportedByBackend {
                    backend: "resident",
                    reason: format!("primes must be below 2^{bits}"),
                })
            }
            _ => Ok(()),
        }
    }
    fn alloc(&self, n: usize) -> Buffer {
        Buffer::device(Resident(vec![0; n]))
    }
    fn upload(&self, host: Vec<u64>) -> Buffer {
        self.uploads.fetch_add(1, Ordering::Relaxed);
        Buffer::device(Resident(host))
    }
    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        self.downloads.fetch_add(1, Ordering::Relaxed);
        Ok(words(buf).clone())
    }
    fn duplicate(&self, buf: &Buffer) -> Buffer {
        Buffer::device(Resident(words(buf).clone()))
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
    fn copy_words(&self, dst: &mut Buffer, dst_at: usize, src: &Buffer, src_at: usize, len: usize) {
        let src = &words(src)[src_at..src_at + len];
        words_mut(dst)[dst_at..dst_at + len].copy_from_slice(src);
    }
    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
    ) -> (Buffer, Buffer) {
        let copies = |bufs: &[&Buffer]| bufs.iter().map(|b| host_copy(b)).collect::<Vec<_>>();
        let (ext, key_b, key_a) = (copies(ext), copies(key_b), copies(key_a));
        let (ext, key_b, key_a): (Vec<&Buffer>, Vec<&Buffer>, Vec<&Buffer>) = (
            ext.iter().collect(),
            key_b.iter().collect(),
            key_a.iter().collect(),
        );
        let (b, a) = Cpu.key_inner_product(basis, level, &ext, &key_b, &key_a);
        (resident(b), resident(a))
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
    fn automorphism(&self, basis: &RnsBasis, level: usize, src: &Buffer, g: usize) -> Buffer {
        resident(Cpu.automorphism(basis, level, &host_copy(src), g))
    }
    fn permute(&self, basis: &RnsBasis, level: usize, src: &Buffer, perm: &[usize]) -> Buffer {
        resident(Cpu.permute(basis, level, &host_copy(src), perm))
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
    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize) -> Buffer {
        resident(Cpu.monomial(basis, level, &host_copy(src), k))
    }
    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer) -> Buffer {
        resident(Cpu.divide_round_by_last(basis, level, &host_copy(src)))
    }
    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: Range<usize>,
        conv: &BaseConverter,
    ) -> (Buffer, Buffer) {
        let (q, p) = Cpu.mod_up(basis, level, &host_copy(src), digit, conv);
        (resident(q), resident(p))
    }
    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer) -> Buffer {
        resident(Cpu.exact_lift(n, lift, &host_copy(src)))
    }
    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
    ) -> Buffer {
        resident(Cpu.scale_round(n, level, consts, &host_copy(eq), &host_copy(er)))
    }
}

fn params_on(backend: Arc<dyn Backend>) -> Result<Arc<Parameters>, Error> {
    Parameters::builder()
        .degree(1024)
        .plaintext_modulus(12289)
        .ciphertext_moduli_bits(&[50, 50, 50])
        .special_moduli_bits(&[55, 55])
        .insecure_disable_security_check_for_testing_only()
        .backend(backend)
        .build()
}

/// Everything a run produces that the other backend must reproduce.
struct Run {
    residues: Vec<Vec<u64>>,
    decoded: Vec<u64>,
    budget: f64,
}

/// Keys and inputs from fixed seeds, then a circuit touching every primitive:
/// multiply + relinearize (lifts, tensor, scale-round, ModUp/ModDown), rotate
/// (automorphism), column swap, monomial, add/sub/negate, modulus switch.
fn circuit(params: &Arc<Parameters>, transfers: Option<&ResidentBackend>) -> Run {
    let mut rng = Sampler::from_seed([9; 32]);
    let sk = SecretKey::generate(params, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::new(&sk, &[1, -3], true, &mut rng).unwrap();
    let enc = Encoder::new(params).unwrap();
    let slots = enc.slots();
    let x: Vec<u64> = (0..slots as u64).map(|i| (i * 7 + 3) % 12289).collect();
    let y: Vec<u64> = (0..slots as u64).map(|i| (i * i + 1) % 12289).collect();
    let cx = sk.encrypt(&enc.encode(&x).unwrap(), &mut rng).unwrap();
    let cy = sk.encrypt(&enc.encode(&y).unwrap(), &mut rng).unwrap();
    let ev = Evaluator::new(params);

    let before = transfers.map(|b| {
        (
            b.uploads.load(Ordering::Relaxed),
            b.downloads.load(Ordering::Relaxed),
        )
    });
    let prod = ev.multiply_relin(&cx, &cy, &rk).unwrap();
    let rot = ev.rotate_rows(&prod, 1, &gk).unwrap();
    let rot = ev.rotate_rows(&rot, -3, &gk).unwrap();
    let swapped = ev.rotate_columns(&rot, &gk).unwrap();
    let shifted = ev.mul_monomial(&swapped, -2, 5).unwrap();
    let mut acc = ev.add(&shifted, &prod).unwrap();
    acc = ev.sub(&acc, &cx).unwrap();
    acc = ev.negate(&acc).unwrap();
    let acc: Ciphertext = ev.mod_switch_to_next(&acc).unwrap();
    if let (Some(b), Some((up, down))) = (transfers, before) {
        assert_eq!(
            b.uploads.load(Ordering::Relaxed),
            up,
            "evaluation uploaded data: it must stay on the device"
        );
        assert_eq!(
            b.downloads.load(Ordering::Relaxed),
            down,
            "evaluation downloaded data: it must stay on the device"
        );
    }
    Run {
        residues: acc.polys().iter().map(|p| p.to_host().unwrap()).collect(),
        decoded: enc.decode(&sk.decrypt(&acc).unwrap()),
        budget: sk.noise_budget(&acc).unwrap(),
    }
}

#[test]
fn bfv_on_a_device_backend_matches_the_cpu_bit_for_bit_without_transfers() {
    let device = Arc::new(ResidentBackend::default());
    let on_device = circuit(&params_on(device.clone()).unwrap(), Some(&device));
    let on_cpu = circuit(&params_on(Cpu::shared()).unwrap(), None);
    assert_eq!(on_device.residues, on_cpu.residues);
    assert_eq!(on_device.decoded, on_cpu.decoded);
    assert_eq!(on_device.budget, on_cpu.budget);
    assert!(on_cpu.budget > 10.0, "budget {}", on_cpu.budget);
    assert!(device.downloads.load(Ordering::Relaxed) > 0);
}

#[test]
fn a_backend_refuses_parameters_it_cannot_run() {
    let w32 = Arc::new(ResidentBackend {
        max_bits: Some(31),
        ..Default::default()
    });
    let err = params_on(w32).unwrap_err();
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
