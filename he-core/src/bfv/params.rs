//! BFV parameters: ring degree, plaintext modulus, ciphertext and special
//! primes, checked against the HE Standard.

use std::sync::Arc;

use num_bigint::BigUint;

use hefty_ntt::{Modulus, NttPlan, ntt_primes};

use crate::bfv::PlainProductCosts;
use crate::bfv::multiply::MulContext;
use crate::ring::Word;
use crate::ring::fixed_point::fraction_128;
use crate::{Backend, Error, KeySwitcher, RnsBasis, SecurityLevel};

/// Constants of one level (the first `ℓ` ciphertext primes) for encryption
/// and HPS-style decryption.
#[derive(Debug)]
pub(crate) struct LevelConstants {
    /// `Δ = floor(Q_ℓ / t)` modulo each prime.
    pub delta: Vec<u64>,
    /// `floor(q̃_i·t / q_i)` with `q̃_i = [(Q/q_i)^-1]_{q_i}`: integer parts, `< t`.
    pub omega: Vec<u64>,
    /// The fractional parts `frac(q̃_i·t / q_i)` as 128-bit fixed point.
    pub theta: Vec<u128>,
}

/// The parameters of a BFV instance. Build them with
/// [`Parameters::builder`] or take a preset; share them as `Arc`.
///
/// ```
/// use hefty_core::bfv::Parameters;
/// let params = Parameters::preset_128(8192)?;
/// assert_eq!(params.degree(), 8192);
/// assert_eq!(params.plaintext_modulus(), 65537);
/// assert!(params.log_qp() <= 218.0);
/// # Ok::<(), hefty_core::Error>(())
/// ```
pub struct Parameters {
    n: usize,
    t: Modulus,
    q: Arc<RnsBasis>,
    special: Vec<u64>,
    security: Option<SecurityLevel>,
    levels: Vec<LevelConstants>,
    batching: Option<NttPlan>,
    key_switcher: Option<KeySwitcher>,
    /// Per level: the constants of ciphertext multiplication.
    mul: Vec<MulContext>,
    /// Plaintext-product costs on this backend, measured on first use.
    plain_costs: std::sync::OnceLock<PlainProductCosts>,
    /// Identity of the mathematics (n, t, primes, digits) in serialized objects.
    fingerprint: [u8; crate::serial::FINGERPRINT_LEN],
}

// Compact: what defines the parameters, not their precomputed tables
// (kilobytes, which made every ciphertext's Debug unreadable).
impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q: Vec<u64> = self.q.moduli().iter().map(|m| m.value()).collect();
        f.debug_struct("bfv::Parameters")
            .field("n", &self.n)
            .field("t", &self.t.value())
            .field("q", &q)
            .field("special", &self.special)
            .field("security", &self.security)
            .field("backend", &self.q.backend().name())
            .finish()
    }
}

/// Builds [`Parameters`]; see [`Parameters::builder`].
#[derive(Debug, Clone)]
pub struct ParametersBuilder {
    n: usize,
    t: u64,
    q_bits: Vec<u32>,
    q_primes: Vec<u64>,
    special_bits: Vec<u32>,
    special_primes: Vec<u64>,
    dnum: Option<usize>,
    security: Option<SecurityLevel>,
    word: Word,
    backend: Arc<dyn Backend>,
}

impl ParametersBuilder {
    /// The word profile (default [`Word::W64`]). [`Word::W32`] keeps every
    /// prime — ciphertext, special and the auxiliary primes of
    /// multiplication — below 2^31, for backends with 32-bit words (wgpu).
    pub fn word(mut self, word: Word) -> Self {
        self.word = word;
        self
    }

    /// The backend that holds and computes on every polynomial of these
    /// parameters (default: the CPU backend).
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = backend;
        self
    }

    /// The ring degree `n` (a power of two; 2^10 … 2^17 for a secure set).
    pub fn degree(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// The plaintext modulus `t` (batching needs a prime `t = 1 mod 2n`).
    pub fn plaintext_modulus(mut self, t: u64) -> Self {
        self.t = t;
        self
    }

    /// Ciphertext primes by size: the largest NTT-friendly primes of each size.
    pub fn ciphertext_moduli_bits(mut self, bits: &[u32]) -> Self {
        self.q_bits = bits.to_vec();
        self
    }

    /// Ciphertext primes given explicitly (overrides the sizes).
    pub fn ciphertext_moduli(mut self, primes: &[u64]) -> Self {
        self.q_primes = primes.to_vec();
        self
    }

    /// Special primes `P` for hybrid key switching, by size.
    pub fn special_moduli_bits(mut self, bits: &[u32]) -> Self {
        self.special_bits = bits.to_vec();
        self
    }

    /// Special primes given explicitly (overrides the sizes).
    pub fn special_moduli(mut self, primes: &[u64]) -> Self {
        self.special_primes = primes.to_vec();
        self
    }

    /// The number of key-switching digits (default: ciphertext primes divided
    /// by special primes, rounded up, so that every digit is below `P`).
    pub fn key_switching_digits(mut self, dnum: usize) -> Self {
        self.dnum = Some(dnum);
        self
    }

    /// The security level to enforce (128-bit unless told otherwise).
    pub fn security(mut self, level: SecurityLevel) -> Self {
        self.security = Some(level);
        self
    }

    /// Disables the HE Standard check. **The resulting parameters may offer
    /// no security at all**: for tests and experiments only.
    pub fn insecure_disable_security_check_for_testing_only(mut self) -> Self {
        self.security = None;
        self
    }

    /// Validates everything and precomputes the constants.
    pub fn build(self) -> Result<Arc<Parameters>, Error> {
        let n = self.n;
        if !n.is_power_of_two() || n < 2 {
            return Err(hefty_ntt::Error::BadDegree(n).into());
        }
        if self.t < 2 || self.t >= 1 << 61 {
            return Err(Error::InvalidParameters(format!(
                "plaintext modulus t = {} must be between 2 and 2^61",
                self.t
            )));
        }
        let t = Modulus::new(self.t)?;
        let word_max = self.word.max_bits();
        let too_wide = self
            .q_bits
            .iter()
            .chain(&self.special_bits)
            .any(|&b| b > word_max)
            || self
                .q_primes
                .iter()
                .chain(&self.special_primes)
                .any(|&p| p >> word_max != 0);
        if too_wide {
            return Err(Error::InvalidParameters(format!(
                "{} words hold primes of at most {word_max} bits; use smaller ciphertext and special primes, or W64",
                self.word.name()
            )));
        }
        // Cheap refusals before any prime search (which a request for
        // thousands of primes would make take minutes).
        let max = crate::serial::fields::MAX_PRIMES;
        let (q_count, p_count) = (
            self.q_primes.len().max(self.q_bits.len()),
            self.special_primes.len().max(self.special_bits.len()),
        );
        if q_count > max || p_count > max / 4 {
            return Err(Error::InvalidParameters(format!(
                "{q_count} ciphertext and {p_count} special primes: at most {max} and {} are supported",
                max / 4
            )));
        }
        if let Some(level) = self.security {
            // A b-bit prime is above 2^(b-1): a lower bound of log2(QP).
            let at_least: f64 = self
                .q_bits
                .iter()
                .chain(&self.special_bits)
                .map(|&b| b.saturating_sub(1) as f64)
                .sum();
            level.check(n, at_least)?;
        }
        // Primes by size: distinct across Q and P and different from t.
        let mut taken = vec![self.t];
        for &p in self.q_primes.iter().chain(&self.special_primes) {
            if taken.contains(&p) {
                return Err(Error::InvalidParameters(format!(
                    "prime {p} is repeated or equals t"
                )));
            }
            taken.push(p);
        }
        let mut pick = |bits: u32| -> Result<u64, Error> {
            let mut count = 1;
            loop {
                let candidates = ntt_primes(bits, n, count)?;
                if let Some(&p) = candidates.iter().find(|p| !taken.contains(p)) {
                    taken.push(p);
                    return Ok(p);
                }
                count += 1;
            }
        };
        // Special primes first: of equal sizes they get the largest primes, so
        // that each key-switching digit stays below P.
        let special = if self.special_primes.is_empty() {
            self.special_bits
                .iter()
                .map(|&b| pick(b))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            self.special_primes.clone()
        };
        let q_primes = if self.q_primes.is_empty() {
            self.q_bits
                .iter()
                .map(|&b| pick(b))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            self.q_primes.clone()
        };
        if q_primes.is_empty() {
            return Err(Error::InvalidParameters(
                "no ciphertext primes: give their sizes or values".into(),
            ));
        }
        let log_qp: f64 = q_primes
            .iter()
            .chain(&special)
            .map(|&p| (p as f64).log2())
            .sum();
        if let Some(level) = self.security {
            level.check(n, log_qp)?;
        }
        // Auxiliary primes for multiplication: R > t·n·Q with margin, primes
        // below 2^50 so that their NTTs take the fast f64 path (below 2^31
        // for W32).
        let aux_prime_bits = match self.word {
            Word::W64 => 49,
            Word::W32 => 30,
        };
        let log_q: f64 = q_primes.iter().map(|&p| (p as f64).log2()).sum();
        let aux_bits = log_q + (n as f64).log2() + (self.t as f64).log2() + 4.0;
        let mut aux = Vec::new();
        while (aux.iter().map(|&p: &u64| (p as f64).log2()).sum::<f64>()) < aux_bits {
            aux.push(pick(aux_prime_bits)?);
        }
        let q = Arc::new(RnsBasis::with_backend(
            n,
            &q_primes,
            Arc::clone(&self.backend),
        )?);
        if q.product(1) <= BigUint::from(self.t) {
            return Err(Error::InvalidParameters(format!(
                "t = {} is not smaller than the first ciphertext prime: no room for noise",
                self.t
            )));
        }
        let levels = (1..=q.len()).map(|l| level_constants(&q, l, &t)).collect();
        let batching = NttPlan::new(n, self.t).ok();
        let r = Arc::new(RnsBasis::with_backend(n, &aux, Arc::clone(&self.backend))?);
        let mul = (1..=q.len())
            .map(|l| MulContext::new(&q.moduli()[..l], &r, self.t))
            .collect();
        let key_switcher = if special.is_empty() {
            if self.dnum.is_some() {
                return Err(Error::InvalidParameters(
                    "key-switching digits were set but there are no special primes".into(),
                ));
            }
            None
        } else {
            let p = Arc::new(RnsBasis::with_backend(
                n,
                &special,
                Arc::clone(&self.backend),
            )?);
            let dnum = self.dnum.unwrap_or_else(|| q.len().div_ceil(special.len()));
            Some(KeySwitcher::new(&q, &p, dnum)?)
        };
        let fingerprint = crate::serial::fingerprint(&identity_bytes(
            n,
            self.t,
            &q_primes,
            &special,
            &key_switcher
                .as_ref()
                .map_or(Vec::new(), KeySwitcher::digit_sizes),
        ));
        Ok(Arc::new(Parameters {
            fingerprint,
            n,
            t,
            q,
            special,
            security: self.security,
            levels,
            batching,
            key_switcher,
            mul,
            plain_costs: std::sync::OnceLock::new(),
        }))
    }
}

/// The bytes a BFV fingerprint hashes: everything the mathematics depends
/// on (not the security level or the backend).
fn identity_bytes(n: usize, t: u64, q: &[u64], p: &[u64], digits: &[usize]) -> Vec<u8> {
    let mut out = b"hefty-bfv".to_vec();
    out.extend_from_slice(&(n as u64).to_le_bytes());
    out.extend_from_slice(&t.to_le_bytes());
    for list in [q, p] {
        out.extend_from_slice(&(list.len() as u64).to_le_bytes());
        list.iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }
    out.extend_from_slice(&(digits.len() as u64).to_le_bytes());
    digits
        .iter()
        .for_each(|&d| out.extend_from_slice(&(d as u64).to_le_bytes()));
    out
}

fn level_constants(q: &RnsBasis, level: usize, t: &Modulus) -> LevelConstants {
    let q_l = q.product(level);
    let delta_big = &q_l / t.value();
    let first = |x: BigUint| x.to_u64_digits().first().copied().unwrap_or(0);
    let delta = q.moduli()[..level]
        .iter()
        .map(|m| first(&delta_big % m.value()))
        .collect();
    let q_hat_inv = q.q_hat_inv(level);
    let mut omega = Vec::with_capacity(level);
    let mut theta = Vec::with_capacity(level);
    for (m, w) in q.moduli()[..level].iter().zip(&q_hat_inv) {
        // q̃_i · t / q_i = omega + theta, omega < t because q̃_i < q_i.
        let num = BigUint::from(w.value) * t.value();
        omega.push(first(&num / m.value()));
        theta.push(fraction_128(&(&num % m.value()), &BigUint::from(m.value())));
    }
    LevelConstants {
        delta,
        omega,
        theta,
    }
}

impl Parameters {
    /// A builder with `t = 65537`, 128-bit security and no primes chosen yet.
    pub fn builder() -> ParametersBuilder {
        ParametersBuilder {
            n: 8192,
            t: 65537,
            q_bits: vec![],
            q_primes: vec![],
            special_bits: vec![],
            special_primes: vec![],
            dnum: None,
            security: Some(SecurityLevel::Bits128),
            word: Word::W64,
            backend: crate::Cpu::shared(),
        }
    }

    /// The 128-bit preset at degree `n` (see [`PRESETS`](crate::bfv::PRESETS):
    /// 4096, 8192, 16384 or 32768) with `t = 65537` (batching) and
    /// `log2(QP)` at the standard's bound.
    pub fn preset_128(n: usize) -> Result<Arc<Self>, Error> {
        crate::bfv::Preset::for_degree(n)?.build()
    }

    /// The ring degree.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The plaintext modulus `t`.
    pub fn plaintext_modulus(&self) -> u64 {
        self.t.value()
    }

    /// The plaintext modulus with its arithmetic.
    pub fn plaintext(&self) -> &Modulus {
        &self.t
    }

    /// The ciphertext basis `Q`.
    pub fn ciphertext_basis(&self) -> &Arc<RnsBasis> {
        &self.q
    }

    /// The special primes `P` of key switching.
    pub fn special_primes(&self) -> &[u64] {
        &self.special
    }

    /// The enforced security level, `None` when the check was disabled.
    pub fn security(&self) -> Option<SecurityLevel> {
        self.security
    }

    /// `log2(Q·P)`.
    pub fn log_qp(&self) -> f64 {
        self.q
            .moduli()
            .iter()
            .map(|m| m.value())
            .chain(self.special.iter().copied())
            .map(|p| (p as f64).log2())
            .sum()
    }

    /// `log2(Q)` at the top level.
    pub fn log_q(&self) -> f64 {
        self.q
            .moduli()
            .iter()
            .map(|m| (m.value() as f64).log2())
            .sum()
    }

    /// The number of ciphertext primes (the top level).
    pub fn max_level(&self) -> usize {
        self.q.len()
    }

    /// The NTT mod t behind the batch encoder, when `t` is a prime `= 1 mod 2n`.
    pub fn batching_plan(&self) -> Option<&NttPlan> {
        self.batching.as_ref()
    }

    /// What a dense and a sparse-term plaintext product cost on this
    /// backend (measured once, on first use, in about three dense products).
    pub fn plain_product_costs(&self) -> PlainProductCosts {
        *self.plain_costs.get_or_init(|| {
            PlainProductCosts::measure(&self.q, self.q.len())
                // Zero polynomials of the full basis always exist; should the
                // backend fail, fall back to "dense unless very sparse".
                .unwrap_or(PlainProductCosts {
                    dense_ns: 8.0,
                    sparse_term_ns: 1.0,
                })
        })
    }

    /// A 16-byte identity of the mathematics of these parameters (degree,
    /// `t`, primes, key-switching digits): every serialized key, plaintext
    /// and ciphertext carries it, and decoding under other parameters fails.
    pub fn fingerprint(&self) -> &[u8; crate::serial::FINGERPRINT_LEN] {
        &self.fingerprint
    }

    /// The key switcher behind relinearization and rotations; fails when the
    /// parameters have no special primes.
    pub fn key_switcher(&self) -> Result<&KeySwitcher, Error> {
        self.key_switcher.as_ref().ok_or_else(|| {
            Error::InvalidParameters("these parameters have no special primes, so no relinearization or rotation keys: add special_moduli_bits".into())
        })
    }

    /// Whether ciphertext products at `level` are taken modulo `Q_level`
    /// alone: true where `Q_level ≡ 1 (mod t)`, which saves the auxiliary
    /// basis and about three quarters of a product's work
    /// ([`crate::bfv::moduli_dividing_q_minus_one`] finds such `t`). False
    /// for levels outside `1..=max_level`.
    pub fn multiplies_in_q(&self, level: usize) -> bool {
        (1..=self.mul.len()).contains(&level) && self.mul[level - 1].in_q()
    }

    pub(crate) fn mul_context(&self, level: usize) -> &MulContext {
        &self.mul[level - 1]
    }

    pub(crate) fn level_constants(&self, level: usize) -> &LevelConstants {
        &self.levels[level - 1]
    }
}

impl crate::rlwe::RlweParameters for Parameters {
    const SCHEME: &'static str = "bfv";
    const PUBLIC_KEY_MOD_P: bool = false;
    const KEY_KINDS: [crate::serial::ObjectKind; 4] = [
        crate::serial::ObjectKind::BfvSecretKey,
        crate::serial::ObjectKind::BfvPublicKey,
        crate::serial::ObjectKind::BfvRelinearizationKey,
        crate::serial::ObjectKind::BfvGaloisKeys,
    ];

    fn degree(&self) -> usize {
        Parameters::degree(self)
    }

    fn ciphertext_basis(&self) -> &Arc<RnsBasis> {
        Parameters::ciphertext_basis(self)
    }

    fn key_switching(&self) -> Result<&KeySwitcher, Error> {
        Parameters::key_switcher(self)
    }

    fn fingerprint(&self) -> &[u8; crate::serial::FINGERPRINT_LEN] {
        Parameters::fingerprint(self)
    }
}
