//! CKKS parameters: ring degree, modulus chain, scale, special primes, word profile.

use std::sync::Arc;

use hefty_ntt::{is_prime, ntt_primes};

use crate::ring::Word;
use crate::ring::divide_round::RoundingDivider;
use crate::{Backend, Error, KeySwitcher, RnsBasis, SecurityLevel};

/// RNS-CKKS parameters. Build with [`Parameters::builder`] or take a
/// [`Parameters::preset_128`].
///
/// The ciphertext modulus is a chain: `base` primes holding the final result
/// (about 60 bits in all), then `depth` levels of primes near the scale
/// (one per level, or two for [`Word::W32`]), dropped one level per rescale.
/// A *level* counts active primes, as for BFV; [`Parameters::depth_at`]
/// tells how many rescales a level still allows.
pub struct Parameters {
    n: usize,
    q: Arc<RnsBasis>,
    special: Vec<u64>,
    key_switcher: KeySwitcher,
    /// Divides by the primes of one level (rescale).
    rescaler: RoundingDivider,
    /// Divides by `P` and the primes of one level at once (relinearize +
    /// rescale).
    relin_rescaler: RoundingDivider,
    scale_bits: u32,
    base_primes: usize,
    primes_per_level: usize,
    word: Word,
    security: Option<SecurityLevel>,
    /// What the builder was given, so the parameters can be saved and rebuilt.
    pub(crate) spec: CkksSpec,
    /// Identity of the mathematics (n, primes, digits, scale) in serialized objects.
    fingerprint: [u8; crate::serial::FINGERPRINT_LEN],
}

/// The builder's inputs that determine the chain (everything but the
/// backend and the security level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CkksSpec {
    pub(crate) base_bits: u32,
    /// Primes the base modulus is split over (resolved: never the default's `None`).
    pub(crate) base_primes: usize,
    pub(crate) depth: usize,
    pub(crate) special_bits: u32,
    pub(crate) special_count: usize,
    pub(crate) dnum: Option<usize>,
}

// Compact: what defines the parameters, not their precomputed tables.
impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q: Vec<u64> = self.q.moduli().iter().map(|m| m.value()).collect();
        f.debug_struct("ckks::Parameters")
            .field("n", &self.n)
            .field("scale_bits", &self.scale_bits)
            .field("word", &self.word)
            .field("q", &q)
            .field("special", &self.special)
            .field("security", &self.security)
            .field("backend", &self.q.backend().name())
            .finish()
    }
}

/// Builds [`Parameters`].
#[derive(Debug, Clone)]
pub struct ParametersBuilder {
    n: usize,
    base_bits: u32,
    base_primes: Option<usize>,
    scale_bits: u32,
    depth: usize,
    special_bits: u32,
    special_count: usize,
    dnum: Option<usize>,
    word: Word,
    security: Option<SecurityLevel>,
    backend: Arc<dyn Backend>,
}

/// Key-switching noise is `Σ_j D_j·e_j / P` for digits `D_j`: digits at
/// least this many bits below `P` make it negligible next to ModDown's
/// rounding.
const DIGIT_MARGIN_BITS: f64 = 10.0;

/// The fewest digits of consecutive primes, each `DIGIT_MARGIN_BITS` below
/// `P` (a prime too large for that sits alone): uneven digits let a large
/// base prime stand alone while scale primes pair up.
fn digit_sizes(primes: &[u64], log_p: f64) -> Vec<usize> {
    let limit = log_p - DIGIT_MARGIN_BITS;
    let mut sizes = Vec::new();
    let (mut size, mut bits) = (0usize, 0.0);
    for &q in primes {
        let b = (q as f64).log2();
        if size > 0 && bits + b > limit {
            sizes.push(size);
            (size, bits) = (0, 0.0);
        }
        size += 1;
        bits += b;
    }
    sizes.push(size);
    sizes
}

/// The prime `= 1 mod 2n` nearest `2^bits` not yet taken, alternating below
/// and above (`above` says which side to try first) so the product of a
/// chain stays near `2^(bits·count)`.
fn nearest_prime(bits: u32, n: usize, above: bool, taken: &[u64]) -> Option<u64> {
    let step = 2 * n as u64;
    let centre = 1u64 << bits;
    // Candidates k·2n + 1 on the chosen side, walking outwards.
    let mut below = (centre - 1) / step * step + 1;
    let mut up = below + step;
    for _ in 0..1_000_000 {
        let candidate = if above { up } else { below };
        if candidate > step && is_prime(candidate) && !taken.contains(&candidate) {
            return Some(candidate);
        }
        if above {
            up += step;
        } else {
            below = below.checked_sub(step)?;
        }
    }
    None
}

impl ParametersBuilder {
    /// The ring degree (a power of two; 2^13 … 2^16 for the presets).
    pub fn degree(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// The scale `Δ = 2^bits` (default 40), also the size of the level primes.
    pub fn scale_bits(mut self, bits: u32) -> Self {
        self.scale_bits = bits;
        self
    }

    /// Bits of the base modulus that holds the final result (default 60).
    pub fn base_bits(mut self, bits: u32) -> Self {
        self.base_bits = bits;
        self
    }

    /// Splits the base modulus over `count` primes of `base_bits / count`
    /// bits each (default: as few as the word allows, one 60-bit prime at
    /// W64). The result's headroom is the same; what changes is the size of
    /// every limb: with all primes below 2^50 the CPU's vector kernels (AVX2
    /// with FMA, AVX-512 IFMA) take every limb, at the cost of one more limb.
    /// Each base prime must keep at least 20 bits.
    pub fn base_primes(mut self, count: usize) -> Self {
        self.base_primes = Some(count);
        self
    }

    /// The multiplicative depth: how many rescales the chain allows.
    pub fn depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }

    /// `count` special primes of `bits` bits for key switching (default 1 × 60).
    pub fn special_primes(mut self, count: usize, bits: u32) -> Self {
        self.special_count = count;
        self.special_bits = bits;
        self
    }

    /// Key-switching digits (default: as few as keep every digit below `P`).
    pub fn key_switching_digits(mut self, dnum: usize) -> Self {
        self.dnum = Some(dnum);
        self
    }

    /// The word profile (default [`Word::W64`]).
    pub fn word(mut self, word: Word) -> Self {
        self.word = word;
        self
    }

    /// The security level to enforce (default 128 bits).
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

    /// The backend holding every polynomial (default: the CPU).
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = backend;
        self
    }

    /// Validates everything, picks the primes and precomputes key switching.
    pub fn build(self) -> Result<Arc<Parameters>, Error> {
        let n = self.n;
        if !n.is_power_of_two() || n < 4 {
            return Err(hefty_ntt::Error::BadDegree(n).into());
        }
        let max = self.word.max_bits();
        let ppl = match self.word {
            Word::W64 => 1,
            Word::W32 => 2,
        };
        let level_prime_bits = self.scale_bits.div_ceil(ppl as u32);
        if !(10..=60).contains(&self.scale_bits) || level_prime_bits > max {
            return Err(Error::InvalidParameters(format!(
                "scale 2^{} does not fit {} primes ({} per level of at most {max} bits); use a scale between 2^10 and 2^{} (.scale_bits)",
                self.scale_bits,
                self.word.name(),
                ppl,
                (max * ppl as u32).min(60)
            )));
        }
        if self.special_count == 0 || self.special_bits > max || self.special_bits < 20 {
            return Err(Error::InvalidParameters(format!(
                "key switching needs at least one special prime of 20..={max} bits for {} (asked: {} of {} bits); set .special_primes(count, bits)",
                self.word.name(),
                self.special_count,
                self.special_bits
            )));
        }
        if self.base_bits < self.scale_bits || self.base_bits > 200 {
            return Err(Error::InvalidParameters(format!(
                "the base modulus ({} bits) must be at least the scale (2^{}) and at most 200 bits; set .base_bits(bits)",
                self.base_bits, self.scale_bits
            )));
        }
        let fewest = self.base_bits.div_ceil(max) as usize;
        let base_count = self.base_primes.unwrap_or(fewest);
        if base_count < fewest || self.base_bits < 20 * base_count as u32 {
            return Err(Error::InvalidParameters(format!(
                "a base of {} bits over {base_count} primes: give between {fewest} (primes of at most {max} bits) and {} (at least 20 bits each); set .base_primes(count)",
                self.base_bits,
                self.base_bits / 20
            )));
        }
        // Cheap refusals before any prime search.
        let max_primes = crate::serial::fields::MAX_PRIMES;
        let q_count = base_count + self.depth.saturating_mul(ppl);
        if q_count > max_primes || self.special_count > max_primes / 4 {
            return Err(Error::InvalidParameters(format!(
                "depth {} takes {q_count} ciphertext primes ({} per level) and {} special primes: at most {max_primes} and {} are supported; lower the depth",
                self.depth,
                ppl,
                self.special_count,
                max_primes / 4
            )));
        }
        if let Some(level) = self.security {
            // Each prime is within a bit of its size: a lower bound of log2(QP).
            let base_each = self.base_bits.div_ceil(base_count as u32);
            let at_least = (base_count as u32 * (base_each - 1)) as f64
                + (self.depth * ppl) as f64 * (level_prime_bits as f64 - 1.0)
                + self.special_count as f64 * (self.special_bits as f64 - 1.0);
            level.check(n, at_least)?;
        }
        let no_room = |what: &str| {
            Error::InvalidParameters(format!(
                "not enough NTT-friendly primes for {what} at degree {n}; use a smaller degree, fewer levels, or W64"
            ))
        };
        let mut taken = Vec::new();
        let pick_below = |bits: u32, taken: &mut Vec<u64>| -> Result<u64, Error> {
            let mut count = 1;
            loop {
                let candidates = ntt_primes(bits, n, count)
                    .map_err(|_| no_room("the base and special primes"))?;
                if let Some(&p) = candidates.iter().find(|p| !taken.contains(p)) {
                    taken.push(p);
                    return Ok(p);
                }
                count += 1;
            }
        };
        // Special primes first: the largest, so every digit stays below P.
        let special = (0..self.special_count)
            .map(|_| pick_below(self.special_bits, &mut taken))
            .collect::<Result<Vec<_>, _>>()?;
        let base_each = self.base_bits.div_ceil(base_count as u32);
        let mut q_primes = (0..base_count)
            .map(|_| pick_below(base_each, &mut taken))
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..self.depth * ppl {
            let p = nearest_prime(level_prime_bits, n, i % 2 == 1, &taken)
                .ok_or_else(|| no_room("the scale primes"))?;
            taken.push(p);
            q_primes.push(p);
        }
        let log_qp: f64 = q_primes
            .iter()
            .chain(&special)
            .map(|&p| (p as f64).log2())
            .sum();
        if let Some(level) = self.security {
            level.check(n, log_qp)?;
        }
        let q = Arc::new(RnsBasis::with_backend(
            n,
            &q_primes,
            Arc::clone(&self.backend),
        )?);
        let p = Arc::new(RnsBasis::with_backend(
            n,
            &special,
            Arc::clone(&self.backend),
        )?);
        let key_switcher = match self.dnum {
            Some(d) => KeySwitcher::new(&q, &p, d)?,
            None => {
                let log_p: f64 = special.iter().map(|&p| (p as f64).log2()).sum();
                KeySwitcher::with_digit_sizes(&q, &p, &digit_sizes(&q_primes, log_p))?
            }
        };
        let rescaler = RoundingDivider::new(&q, None, ppl);
        let relin_rescaler = RoundingDivider::new(&q, Some(&p), ppl);
        let mut identity = b"hefty-ckks".to_vec();
        for v in [n, self.scale_bits as usize, base_count, ppl] {
            identity.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for list in [
            q_primes.clone(),
            special.clone(),
            key_switcher
                .digit_sizes()
                .iter()
                .map(|&d| d as u64)
                .collect(),
        ] {
            identity.extend_from_slice(&(list.len() as u64).to_le_bytes());
            list.iter()
                .for_each(|v| identity.extend_from_slice(&v.to_le_bytes()));
        }
        Ok(Arc::new(Parameters {
            spec: CkksSpec {
                base_bits: self.base_bits,
                base_primes: base_count,
                depth: self.depth,
                special_bits: self.special_bits,
                special_count: self.special_count,
                dnum: self.dnum,
            },
            fingerprint: crate::serial::fingerprint(&identity),
            n,
            q,
            special,
            key_switcher,
            rescaler,
            relin_rescaler,
            scale_bits: self.scale_bits,
            base_primes: base_count,
            primes_per_level: ppl,
            word: self.word,
            security: self.security,
        }))
    }
}

impl Parameters {
    /// A builder: degree 2^14, scale 2^40, base 60 bits, depth 6, one 60-bit
    /// special prime, W64, 128-bit security, the CPU backend.
    pub fn builder() -> ParametersBuilder {
        ParametersBuilder {
            n: 1 << 14,
            base_bits: 60,
            base_primes: None,
            scale_bits: 40,
            depth: 6,
            special_bits: 60,
            special_count: 1,
            dnum: None,
            word: Word::W64,
            security: Some(SecurityLevel::Bits128),
            backend: crate::Cpu::shared(),
        }
    }

    /// The 128-bit preset at degree `n` (see [`PRESETS`](crate::ckks::PRESETS):
    /// 8192, 16384, 32768 or 65536), scale 2^40, base prime 60 bits.
    pub fn preset_128(n: usize) -> Result<Arc<Self>, Error> {
        crate::ckks::Preset::for_degree(n)?.build()
    }

    /// The ring degree `N` (`N/2` complex slots).
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The number of complex slots, `N/2`.
    pub fn slots(&self) -> usize {
        self.n / 2
    }

    /// The ciphertext basis (the whole chain).
    pub fn ciphertext_basis(&self) -> &Arc<RnsBasis> {
        &self.q
    }

    /// The special primes of key switching.
    pub fn special_primes(&self) -> &[u64] {
        &self.special
    }

    /// A 16-byte identity of the mathematics of these parameters (degree,
    /// primes, digits, scale): every serialized key, plaintext and
    /// ciphertext carries it, and decoding under other parameters fails.
    pub fn fingerprint(&self) -> &[u8; crate::serial::FINGERPRINT_LEN] {
        &self.fingerprint
    }

    /// The key switcher behind relinearization and rotations.
    pub fn key_switcher(&self) -> &KeySwitcher {
        &self.key_switcher
    }

    /// Division by the primes of one level.
    pub(crate) fn rescaler(&self) -> &RoundingDivider {
        &self.rescaler
    }

    /// Division by `P` and the primes of one level in one step.
    pub(crate) fn relin_rescaler(&self) -> &RoundingDivider {
        &self.relin_rescaler
    }

    /// The default scale `2^scale_bits`.
    pub fn default_scale(&self) -> f64 {
        (self.scale_bits as f64).exp2()
    }

    /// `log2` of the default scale.
    pub fn scale_bits(&self) -> u32 {
        self.scale_bits
    }

    /// Primes dropped by one rescale (1 for W64, 2 for W32).
    pub fn primes_per_level(&self) -> usize {
        self.primes_per_level
    }

    /// The word profile.
    pub fn word(&self) -> Word {
        self.word
    }

    /// The top level (all primes active).
    pub fn max_level(&self) -> usize {
        self.q.len()
    }

    /// The lowest level: only the base primes.
    pub fn min_level(&self) -> usize {
        self.base_primes
    }

    /// Rescales still possible at `level`.
    pub fn depth_at(&self, level: usize) -> usize {
        level.saturating_sub(self.base_primes) / self.primes_per_level
    }

    /// The product of the prime(s) one rescale at `level` drops (`level`
    /// must allow a rescale): the factor the scale shrinks by.
    pub fn rescale_divisor(&self, level: usize) -> f64 {
        let ppl = self.primes_per_level;
        self.q.moduli()[level - ppl..level]
            .iter()
            .map(|m| m.value() as f64)
            .product()
    }

    /// The multiplicative depth of the whole chain.
    pub fn depth(&self) -> usize {
        self.depth_at(self.max_level())
    }

    /// The enforced security level, `None` when the check was disabled.
    pub fn security(&self) -> Option<SecurityLevel> {
        self.security
    }

    /// `log2(Q)` at `level`.
    pub fn log_q_at(&self, level: usize) -> f64 {
        self.q.moduli()[..level.min(self.q.len())]
            .iter()
            .map(|m| (m.value() as f64).log2())
            .sum()
    }

    /// `log2(Q·P)`.
    pub fn log_qp(&self) -> f64 {
        self.log_q_at(self.max_level())
            + self.special.iter().map(|&p| (p as f64).log2()).sum::<f64>()
    }
}

impl crate::rlwe::RlweParameters for Parameters {
    const SCHEME: &'static str = "ckks";
    const PUBLIC_KEY_MOD_P: bool = true;
    const KEY_KINDS: [crate::serial::ObjectKind; 4] = [
        crate::serial::ObjectKind::CkksSecretKey,
        crate::serial::ObjectKind::CkksPublicKey,
        crate::serial::ObjectKind::CkksRelinearizationKey,
        crate::serial::ObjectKind::CkksGaloisKeys,
    ];

    fn degree(&self) -> usize {
        Parameters::degree(self)
    }

    fn ciphertext_basis(&self) -> &Arc<RnsBasis> {
        Parameters::ciphertext_basis(self)
    }

    fn key_switching(&self) -> Result<&KeySwitcher, Error> {
        Ok(Parameters::key_switcher(self))
    }

    fn fingerprint(&self) -> &[u8; crate::serial::FINGERPRINT_LEN] {
        Parameters::fingerprint(self)
    }
}
