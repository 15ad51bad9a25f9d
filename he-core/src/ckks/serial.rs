//! Serialization of the CKKS objects (format: [`crate::serial`]).

use std::sync::Arc;

use crate::ckks::params::CkksSpec;
use crate::ckks::{Ciphertext, Parameters, Plaintext, Word};
use crate::serial::fields::{
    MAX_PRIMES, read_degree, read_primes, read_security, write_degree, write_primes, write_security,
};
use crate::serial::{ObjectKind, Reader, ciphertext, open, read_poly, start, write_poly};
use crate::{Backend, Error, Ntt, Sampler};

impl Parameters {
    /// The parameters as bytes: what the builder was given (degree, word,
    /// scale, base bits, depth, special primes, digits, security) and the
    /// primes it chose, which loading checks against a fresh build.
    ///
    /// ```
    /// use hefty_core::ckks::Parameters;
    /// let params = Parameters::preset_128(8192)?;
    /// let back = Parameters::from_bytes(&params.to_bytes())?;
    /// assert_eq!(back.fingerprint(), params.fingerprint());
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let spec = self.spec;
        let mut out = start(ObjectKind::CkksParameters, None);
        write_degree(&mut out, self.degree());
        out.push(match self.word() {
            Word::W64 => 0,
            Word::W32 => 1,
        });
        out.push(self.scale_bits() as u8);
        out.push(spec.base_bits as u8);
        out.extend_from_slice(&(spec.depth as u16).to_le_bytes());
        out.push(spec.special_count as u8);
        out.push(spec.special_bits as u8);
        out.push(spec.dnum.map_or(0, |d| d as u8));
        write_security(&mut out, self.security());
        let q: Vec<u64> = self
            .ciphertext_basis()
            .moduli()
            .iter()
            .map(|m| m.value())
            .collect();
        write_primes(&mut out, &q);
        write_primes(&mut out, self.special_primes());
        out
    }

    /// Parameters from [`Self::to_bytes`], on the CPU backend. The security
    /// level they were saved with is checked again; parameters saved with
    /// the check disabled need [`Self::from_bytes_insecure_for_testing_only`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Arc<Self>, Error> {
        Self::decode(bytes, crate::Cpu::shared(), false)
    }

    /// [`Self::from_bytes`] on `backend`: the party that receives
    /// parameters (a server) chooses where it evaluates; the bytes do not
    /// depend on it. A backend that cannot run the primes (a 32-bit-word
    /// device and 64-bit primes) is [`Error::UnsupportedByBackend`].
    pub fn from_bytes_on(bytes: &[u8], backend: Arc<dyn Backend>) -> Result<Arc<Self>, Error> {
        Self::decode(bytes, backend, false)
    }

    /// [`Self::from_bytes`] that also accepts parameters saved with the
    /// security check disabled. **For tests and experiments only.**
    pub fn from_bytes_insecure_for_testing_only(bytes: &[u8]) -> Result<Arc<Self>, Error> {
        Self::decode(bytes, crate::Cpu::shared(), true)
    }

    fn decode(bytes: &[u8], backend: Arc<dyn Backend>, insecure: bool) -> Result<Arc<Self>, Error> {
        let mut r = open(bytes, ObjectKind::CkksParameters, None)?;
        let n = read_degree(&mut r, 2)?;
        let word = match r.u8()? {
            0 => Word::W64,
            1 => Word::W32,
            code => return Err(r.malformed(format!("unknown word code {code}"))),
        };
        let scale_bits = r.u8()? as u32;
        let base_bits = r.u8()? as u32;
        let depth = r.u16()? as usize;
        let special_count = r.u8()? as usize;
        let special_bits = r.u8()? as u32;
        let dnum = match r.u8()? {
            0 => None,
            d => Some(d as usize),
        };
        let security = read_security(&mut r, insecure)?;
        let q = read_primes(&mut r, "ciphertext")?;
        let p = read_primes(&mut r, "special")?;
        r.finish()?;
        if depth > MAX_PRIMES || special_count > MAX_PRIMES / 4 {
            return Err(Error::Malformed {
                object: ObjectKind::CkksParameters.name(),
                reason: format!(
                    "depth {depth} with {special_count} special primes (at most {MAX_PRIMES} and {})",
                    MAX_PRIMES / 4
                ),
            });
        }
        // Cheap rejection before anything is built: the prime counts must
        // match the settings, and the chain they describe must meet the
        // stored security level.
        let ppl = match word {
            Word::W64 => 1,
            Word::W32 => 2,
        };
        // The base primes are what the chain has beyond its levels (the
        // builder checks their count against the base's bits).
        let base_count = q.len().saturating_sub(depth * ppl);
        let fewest = base_bits.div_ceil(word.max_bits()) as usize;
        if base_count < fewest.max(1)
            || base_count > (base_bits / 20) as usize
            || p.len() != special_count
        {
            return Err(Error::Malformed {
                object: ObjectKind::CkksParameters.name(),
                reason: format!(
                    "{} ciphertext and {} special primes do not match the settings",
                    q.len(),
                    p.len()
                ),
            });
        }
        if let Some(level) = security {
            let log_qp = (base_bits as usize
                + depth * scale_bits as usize
                + special_count * special_bits as usize) as f64;
            level.check(
                n,
                log_qp.max(q.iter().chain(&p).map(|&x| (x as f64).log2()).sum()),
            )?;
        }
        let mut builder = Parameters::builder()
            .backend(backend)
            .degree(n)
            .word(word)
            .scale_bits(scale_bits)
            .base_bits(base_bits)
            .base_primes(base_count)
            .depth(depth)
            .special_primes(special_count, special_bits);
        if let Some(d) = dnum {
            builder = builder.key_switching_digits(d);
        }
        builder = match security {
            Some(level) => builder.security(level),
            None => builder.insecure_disable_security_check_for_testing_only(),
        };
        let params = builder.build()?;
        let rebuilt: Vec<u64> = params
            .ciphertext_basis()
            .moduli()
            .iter()
            .map(|m| m.value())
            .collect();
        if rebuilt != q || params.special_primes() != p.as_slice() {
            return Err(Error::Malformed {
                object: ObjectKind::CkksParameters.name(),
                reason: "the stored primes are not the ones these settings choose (corrupted, or saved by an incompatible hefty)".into(),
            });
        }
        debug_assert_eq!(
            params.spec,
            CkksSpec {
                base_bits,
                base_primes: base_count,
                depth,
                special_bits,
                special_count,
                dnum
            }
        );
        Ok(params)
    }
}

/// Reads a level in `1..=max_level`.
fn read_level(r: &mut Reader<'_>, params: &Parameters) -> Result<usize, Error> {
    let level = r.u8()? as usize;
    if level == 0 || level > params.max_level() {
        return Err(r.malformed(format!(
            "level {level} is outside 1..={}",
            params.max_level()
        )));
    }
    Ok(level)
}

/// Reads a scale: finite and at least 1 (what encoding and rescaling
/// produce; a smaller one would decode to infinities or NaN).
fn read_scale(r: &mut Reader<'_>) -> Result<f64, Error> {
    let scale = r.f64()?;
    if !(scale.is_finite() && scale >= 1.0) {
        return Err(r.malformed(format!(
            "scale {scale} is not a finite number of at least 1"
        )));
    }
    Ok(scale)
}

impl Plaintext {
    /// The plaintext as bytes: level, scale, and its NTT residues bit-packed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(ObjectKind::CkksPlaintext, Some(self.params().fingerprint()));
        out.push(self.level() as u8);
        out.extend_from_slice(&self.scale().to_bits().to_le_bytes());
        write_poly(&mut out, self.poly())?;
        Ok(out)
    }

    /// A plaintext from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, ObjectKind::CkksPlaintext, Some(params.fingerprint()))?;
        let level = read_level(&mut r, params)?;
        let scale = read_scale(&mut r)?;
        let poly = read_poly::<Ntt>(&mut r, params.ciphertext_basis(), level)?;
        r.finish()?;
        Ok(Self::new(params, poly, scale))
    }
}

impl Ciphertext {
    /// The ciphertext as bytes: level, scale, polynomials bit-packed; a
    /// fresh symmetric encryption stores the 32-byte seed of `c_1` instead.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(ObjectKind::CkksCiphertext, Some(self.params.fingerprint()));
        out.push(self.level() as u8);
        out.push(self.polys.len() as u8);
        out.extend_from_slice(&self.scale.to_bits().to_le_bytes());
        ciphertext::write(&mut out, &self.polys, self.seed)?;
        Ok(out)
    }

    /// A ciphertext from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(
            bytes,
            ObjectKind::CkksCiphertext,
            Some(params.fingerprint()),
        )?;
        let level = read_level(&mut r, params)?;
        let count = r.u8()? as usize;
        let scale = read_scale(&mut r)?;
        ciphertext::check_count(&r, count)?;
        let basis = params.ciphertext_basis();
        let (polys, seed) = ciphertext::read::<Ntt>(&mut r, basis, level, count, true, |seed| {
            Sampler::from_seed(seed).uniform::<Ntt>(basis, level)
        })?;
        r.finish()?;
        Ok(Self {
            params: Arc::clone(params),
            polys,
            scale,
            seed,
        })
    }
}
