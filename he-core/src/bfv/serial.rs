//! Serialization of the BFV objects (format: [`crate::serial`]).

use std::sync::Arc;

use crate::bfv::{Ciphertext, Parameters, Plaintext};
use crate::serial::fields::{
    MAX_PRIMES, read_degree, read_primes, read_security, write_degree, write_primes, write_security,
};
use crate::serial::{ObjectKind, ciphertext, open, pack_residues, start, unpack_residues};
use crate::{Backend, Coeff, Error, Ntt, Sampler};

impl Parameters {
    /// The parameters as bytes: degree, `t`, the primes, key-switching
    /// digits and security level (the backend is not stored).
    ///
    /// ```
    /// use hefty_core::bfv::Parameters;
    /// let params = Parameters::preset_128(4096)?;
    /// let back = Parameters::from_bytes(&params.to_bytes())?;
    /// assert_eq!(back.fingerprint(), params.fingerprint());
    /// # Ok::<(), hefty_core::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = start(ObjectKind::BfvParameters, None);
        write_degree(&mut out, self.degree());
        out.extend_from_slice(&self.plaintext_modulus().to_le_bytes());
        let q: Vec<u64> = self
            .ciphertext_basis()
            .moduli()
            .iter()
            .map(|m| m.value())
            .collect();
        write_primes(&mut out, &q);
        write_primes(&mut out, self.special_primes());
        out.push(self.key_switcher().map_or(0, |k| k.dnum() as u8));
        write_security(&mut out, self.security());
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
        let mut r = open(bytes, ObjectKind::BfvParameters, None)?;
        let n = read_degree(&mut r, 1)?;
        let t = r.u64()?;
        let q = read_primes(&mut r, "ciphertext")?;
        let p = read_primes(&mut r, "special")?;
        let dnum = r.u8()? as usize;
        if q.is_empty() || p.len() > MAX_PRIMES / 4 || (dnum == 0) != p.is_empty() {
            return Err(r.malformed(format!(
                "{} ciphertext primes, {} special primes and {dnum} digits do not make parameters",
                q.len(),
                p.len()
            )));
        }
        let security = read_security(&mut r, insecure)?;
        r.finish()?;
        let mut builder = Parameters::builder()
            .backend(backend)
            .degree(n)
            .plaintext_modulus(t)
            .ciphertext_moduli(&q)
            .special_moduli(&p);
        if dnum > 0 {
            builder = builder.key_switching_digits(dnum);
        }
        builder = match security {
            Some(level) => builder.security(level),
            None => builder.insecure_disable_security_check_for_testing_only(),
        };
        builder.build()
    }
}

impl Plaintext {
    /// The plaintext as bytes: `n` coefficients at `ceil(log2 t)` bits.
    pub fn to_bytes(&self) -> Vec<u8> {
        let params = self.params();
        let mut out = start(ObjectKind::BfvPlaintext, Some(params.fingerprint()));
        pack_residues(
            &mut out,
            &[*params.plaintext()],
            params.degree(),
            self.coeffs(),
        );
        out
    }

    /// A plaintext from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, ObjectKind::BfvPlaintext, Some(params.fingerprint()))?;
        let coeffs = unpack_residues(&mut r, &[*params.plaintext()], params.degree())?;
        r.finish()?;
        Ok(Self::from_reduced(params, coeffs))
    }
}

impl Ciphertext {
    /// The ciphertext as bytes: level, polynomials bit-packed; a fresh
    /// symmetric encryption stores the 32-byte seed of `c_1` instead of `c_1`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(ObjectKind::BfvCiphertext, Some(self.params.fingerprint()));
        out.push(self.level() as u8);
        out.push(self.polys.len() as u8);
        ciphertext::write(&mut out, &self.polys, self.seed)?;
        Ok(out)
    }

    /// A ciphertext from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, ObjectKind::BfvCiphertext, Some(params.fingerprint()))?;
        let level = r.u8()? as usize;
        let count = r.u8()? as usize;
        if level == 0 || level > params.max_level() {
            return Err(r.malformed(format!(
                "level {level} is outside 1..={}",
                params.max_level()
            )));
        }
        ciphertext::check_count(&r, count)?;
        let basis = params.ciphertext_basis();
        // Only a fresh encryption (top level) can carry its seed.
        let (polys, seed) = ciphertext::read::<Coeff>(
            &mut r,
            basis,
            level,
            count,
            level == params.max_level(),
            |seed| {
                Ok(Sampler::from_seed(seed)
                    .uniform::<Ntt>(basis, level)?
                    .into_coeff())
            },
        )?;
        r.finish()?;
        Ok(Self {
            params: Arc::clone(params),
            polys,
            seed,
        })
    }
}
