//! The CKKS rows of `hefty bench`: every homomorphic operation at the 128-bit
//! presets of `ckks::PRESETS` (N = 2^14: SEAL's usual Q `[60, 40×6]` with
//! two 50-bit special primes; N = 2^16: `[60, 40×20]` + six 60-bit special
//! primes).

use std::sync::Arc;

use hefty_core::ckks::{
    Encoder, Evaluator, GaloisKeys, Parameters, Preset, PublicKey, RelinearizationKey, SecretKey,
};
use hefty_core::ring::Word;
use hefty_core::{Backend, Error, Sampler};
use serde_json::json;

use super::{Record, Sampling, Schema, median_ns_on};

/// The operations, in table order (stable names: see docs/BENCH_JSON.md).
pub const CKKS_OPS: [&str; 8] = [
    "encode_encrypt",
    "decrypt_decode",
    "ntt_forward",
    "add",
    "mul_plain",
    "mul_relin_rescale",
    "rotate",
    "rotate_hoisted",
];

/// Rotations sharing one decomposition in the `rotate_hoisted` row.
const HOISTED: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Keys and inputs shared by the CKKS cases.
pub struct CkksBench {
    params: Arc<Parameters>,
    sk: SecretKey,
    pk: PublicKey,
    rk: RelinearizationKey,
    gk: GaloisKeys,
    encoder: Encoder,
    eval: Evaluator,
    values: Vec<f64>,
}

impl CkksBench {
    /// Sets up the 128-bit preset of degree `n` (8192 … 65536) on the CPU.
    pub fn new(n: usize) -> Result<Self, Error> {
        Self::on(n, hefty_core::Cpu::shared(), Word::W64)
    }

    /// Sets up the 128-bit preset of degree `n` and word profile `word` on
    /// `backend`.
    pub fn on(n: usize, backend: Arc<dyn Backend>, word: Word) -> Result<Self, Error> {
        let params = Preset::for_degree_word(n, word)?.build_on(backend)?;
        let mut rng = Sampler::from_os();
        let sk = SecretKey::generate(&params, &mut rng);
        let pk = PublicKey::new(&sk, &mut rng)?;
        let rk = RelinearizationKey::new(&sk, &mut rng)?;
        let gk = GaloisKeys::new(&sk, &HOISTED, false, &mut rng)?;
        let encoder = Encoder::new(&params);
        let eval = Evaluator::new(&params);
        let values = (0..params.slots())
            .map(|i| (i as f64 * 0.001).sin())
            .collect();
        Ok(Self {
            params,
            sk,
            pk,
            rk,
            gk,
            encoder,
            eval,
            values,
        })
    }

    /// Times `op` (one of [`CKKS_OPS`]) with `threads` worker threads, on
    /// fresh ciphertexts at the top level.
    pub fn run(&self, op: &str, sampling: Sampling, threads: usize) -> Result<Record, Error> {
        let mut rng = Sampler::from_os();
        let (top, scale) = (self.params.max_level(), self.params.default_scale());
        let pt = self.encoder.encode_real(&self.values, top, scale)?;
        let a = self.pk.encrypt(&pt, &mut rng)?;
        let b = self.pk.encrypt(&pt, &mut rng)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let backend = self.params.ciphertext_basis().backend().as_ref();
        let time = |f: &mut (dyn FnMut() + Send)| median_ns_on(&pool, backend, sampling, f);
        let (median, samples, kernel) = match op {
            "encode_encrypt" => time(&mut || {
                let pt = self
                    .encoder
                    .encode_real(&self.values, top, scale)
                    .expect("encode");
                std::hint::black_box(self.pk.encrypt(&pt, &mut rng).expect("encrypt"));
            }),
            "decrypt_decode" => time(&mut || {
                let pt = self.sk.decrypt(&a).expect("decrypt");
                std::hint::black_box(self.encoder.decode(&pt).expect("decode"));
            }),
            "ntt_forward" => {
                // Every limb of one polynomial at the top level, in place
                // (transforming the same words again and again is as costly).
                let c0 = &a.polys()[0];
                let mut words = backend.duplicate(c0.buffer())?;
                let basis = self.params.ciphertext_basis();
                let timed = time(&mut || backend.ntt_forward(basis, 0..top, &mut words));
                backend.release(words);
                timed
            }
            "add" => time(&mut || {
                std::hint::black_box(self.eval.add(&a, &b).expect("add"));
            }),
            "mul_plain" => time(&mut || {
                std::hint::black_box(self.eval.mul_plain(&a, &pt).expect("mul_plain"));
            }),
            "mul_relin_rescale" => time(&mut || {
                std::hint::black_box(
                    self.eval
                        .multiply_relin_rescale(&a, &b, &self.rk)
                        .expect("mul_relin_rescale"),
                );
            }),
            "rotate" => time(&mut || {
                std::hint::black_box(self.eval.rotate(&a, 1, &self.gk).expect("rotate"));
            }),
            "rotate_hoisted" => {
                let (total, samples, kernel) = time(&mut || {
                    std::hint::black_box(
                        self.eval
                            .rotate_hoisted(&a, &HOISTED, &self.gk)
                            .expect("rotate_hoisted"),
                    );
                });
                let per = HOISTED.len() as f64;
                (total / per, samples, kernel.map(|k| k / per))
            }
            other => {
                return Err(Error::InvalidParameters(format!(
                    "unknown CKKS benchmark op {other:?}"
                )));
            }
        };
        let mut params = json!({
                "n": self.params.degree(),
                "levels": self.params.max_level(),
                "log_q": (self.params.log_q_at(top) * 10.0).round() / 10.0,
                "log_qp": (self.params.log_qp() * 10.0).round() / 10.0,
                "scale_bits": self.params.scale_bits(),
                "word": self.params.word().name(),
                "special_primes": self.params.special_primes().len(),
                "dnum": self.params.key_switcher().dnum(),
        });
        if let Some(device) = self.params.ciphertext_basis().backend().device_name() {
            params["device"] = json!(device);
        }
        Ok(Record {
            scheme: Schema::Ckks,
            op: op.into(),
            params,
            backend: self.params.ciphertext_basis().backend().name().into(),
            threads,
            median_ns: median,
            samples,
            kernel_ns: kernel,
            butterflies_per_ns: None,
        })
    }
}
