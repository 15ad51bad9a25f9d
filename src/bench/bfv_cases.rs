//! The BFV rows of `hefty bench`: every homomorphic operation at the 128-bit
//! preset `n = 8192, t = 65537, log2 QP ≈ 218`.

use std::sync::Arc;

use hefty_core::bfv::{
    Encoder, Evaluator, GaloisKeys, Parameters, Plaintext, Preset, PublicKey, RelinearizationKey,
    SecretKey,
};
use hefty_core::ring::Word;
use hefty_core::{Backend, Error, Sampler};
use serde_json::json;

use super::{Record, Sampling, Schema, median_ns_on};

/// The operations, in the order the table lists them (names are stable: see docs/BENCH_JSON.md).
pub const BFV_OPS: [&str; 16] = [
    "keygen",
    "relin_keygen",
    "galois_keygen",
    "encrypt",
    "decrypt",
    "add",
    "mul_plain",
    "mul_plain_prepared",
    "mul_monomial",
    "mul_sparse",
    "mul_relin",
    "multiply",
    "square",
    "relinearize",
    "rotate",
    "mod_switch",
];

/// Non-zero coefficients of the `mul_sparse` row's plaintext.
pub const SPARSE_NNZ: usize = 8;

/// Keys and ciphertexts shared by the BFV cases.
pub struct BfvBench {
    params: Arc<Parameters>,
    sk: SecretKey,
    pk: PublicKey,
    rk: RelinearizationKey,
    gk: GaloisKeys,
    encoder: Encoder,
    eval: Evaluator,
    values: Vec<u64>,
}

impl BfvBench {
    /// Sets up the 128-bit preset of degree `n` (4096 … 32768) on the CPU.
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
        let gk = GaloisKeys::new(&sk, &[1], false, &mut rng)?;
        let encoder = Encoder::new(&params)?;
        let eval = Evaluator::new(&params);
        let t = params.plaintext_modulus();
        let values = (0..n as u64).map(|i| i * i % t).collect();
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

    /// A plaintext with [`SPARSE_NNZ`] non-zero coefficients (small signed
    /// integers at scattered degrees, as an integer-encoded weight row).
    fn sparse_plaintext(&self) -> Result<Plaintext, Error> {
        let (n, t) = (self.params.degree(), self.params.plaintext_modulus());
        let mut coeffs = vec![0u64; n];
        for j in 0..SPARSE_NNZ {
            let c = (j as u64 % 3) + 1;
            coeffs[(j * 997 + 11) % n] = if j % 2 == 0 { c } else { t - c };
        }
        Plaintext::from_coeffs(&self.params, &coeffs)
    }

    /// Times `op` (one of [`BFV_OPS`]) with `threads` worker threads.
    pub fn run(&self, op: &str, sampling: Sampling, threads: usize) -> Result<Record, Error> {
        let mut rng = Sampler::from_os();
        let pt = self.encoder.encode(&self.values)?;
        let a = self.pk.encrypt(&pt, &mut rng)?;
        let b = self.pk.encrypt(&pt, &mut rng)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let backend = self.params.ciphertext_basis().backend().as_ref();
        let time = |f: &mut (dyn FnMut() + Send)| median_ns_on(&pool, backend, sampling, f);
        let (median, samples, kernel) = match op {
            "keygen" => time(&mut || {
                let sk = SecretKey::generate(&self.params, &mut rng);
                std::hint::black_box(PublicKey::new(&sk, &mut rng).expect("keygen"));
            }),
            "relin_keygen" => time(&mut || {
                std::hint::black_box(
                    RelinearizationKey::new(&self.sk, &mut rng).expect("relin keygen"),
                );
            }),
            "galois_keygen" => time(&mut || {
                std::hint::black_box(
                    GaloisKeys::new(&self.sk, &[1], false, &mut rng).expect("galois keygen"),
                );
            }),
            "encrypt" => time(&mut || {
                let pt = self.encoder.encode(&self.values).expect("encode");
                std::hint::black_box(self.pk.encrypt(&pt, &mut rng).expect("encrypt"));
            }),
            "decrypt" => time(&mut || {
                std::hint::black_box(
                    self.encoder
                        .decode(&self.sk.decrypt(&a).expect("decrypt"))
                        .expect("decode"),
                );
            }),
            "add" => time(&mut || {
                std::hint::black_box(self.eval.add(&a, &b).expect("add"));
            }),
            "mul_plain" => time(&mut || {
                std::hint::black_box(self.eval.mul_plain(&a, &pt).expect("mul_plain"));
            }),
            "mul_plain_prepared" => {
                let prepared = self.eval.prepare_plain(&pt, a.level())?;
                time(&mut || {
                    std::hint::black_box(
                        self.eval
                            .mul_plain_prepared(&a, &prepared)
                            .expect("mul_plain_prepared"),
                    );
                })
            }
            "mul_monomial" => time(&mut || {
                // -x^37: a power-of-two weight -2^37 under the base-2 integer encoder.
                std::hint::black_box(self.eval.mul_monomial(&a, -1, 37).expect("mul_monomial"));
            }),
            "mul_sparse" => {
                let sparse = self.sparse_plaintext()?;
                time(&mut || {
                    std::hint::black_box(self.eval.mul_sparse(&a, &sparse).expect("mul_sparse"));
                })
            }
            "mul_relin" => time(&mut || {
                std::hint::black_box(
                    self.eval
                        .multiply_relin(&a, &b, &self.rk)
                        .expect("mul_relin"),
                );
            }),
            "multiply" => time(&mut || {
                std::hint::black_box(self.eval.multiply(&a, &b).expect("multiply"));
            }),
            "square" => time(&mut || {
                std::hint::black_box(self.eval.square(&a).expect("square"));
            }),
            "relinearize" => {
                let product = self.eval.multiply(&a, &b)?;
                time(&mut || {
                    std::hint::black_box(
                        self.eval
                            .relinearize(&product, &self.rk)
                            .expect("relinearize"),
                    );
                })
            }
            "rotate" => time(&mut || {
                std::hint::black_box(self.eval.rotate_rows(&a, 1, &self.gk).expect("rotate"));
            }),
            "mod_switch" => time(&mut || {
                std::hint::black_box(self.eval.mod_switch_to_next(&a).expect("mod_switch"));
            }),
            other => {
                return Err(Error::InvalidParameters(format!(
                    "unknown BFV benchmark op {other:?}"
                )));
            }
        };
        let mut params = json!({
                "n": self.params.degree(),
                "log_q": (self.params.log_q() * 10.0).round() / 10.0,
                "log_qp": (self.params.log_qp() * 10.0).round() / 10.0,
                "t": self.params.plaintext_modulus(),
                "levels": self.params.max_level(),
                "special_primes": self.params.special_primes().len(),
                "word": self.params.ciphertext_basis().word().name(),
        });
        if let Some(device) = self.params.ciphertext_basis().backend().device_name() {
            params["device"] = json!(device);
        }
        if op == "mul_sparse" {
            params["nnz"] = json!(SPARSE_NNZ);
        }
        Ok(Record {
            scheme: Schema::Bfv,
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
