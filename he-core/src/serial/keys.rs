//! Serialization of the key types both schemes share (format:
//! [`crate::serial`]); the object kinds come from the scheme's
//! [`RlweParameters::KEY_KINDS`], so a BFV key never decodes as a CKKS one.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::rlwe::{GaloisKeys, PublicKey, RelinearizationKey, RlweParameters, SecretKey};
use crate::serial::{
    galois_keys, open, pack_ternary, read_poly, start, switching_key, unpack_ternary, write_poly,
};
use crate::{Error, Ntt};

impl<P: RlweParameters> SecretKey<P> {
    /// The key as bytes: two bits per coefficient. The buffer is wiped
    /// when dropped; keep it as secret as the key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(start(P::KEY_KINDS[0], Some(self.params().fingerprint())));
        pack_ternary(&mut out, self.coeffs());
        out
    }

    /// A key from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<P>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, P::KEY_KINDS[0], Some(params.fingerprint()))?;
        let mut coeffs = unpack_ternary(&mut r, params.degree())?;
        r.finish()?;
        Self::from_coeffs(params, std::mem::take(&mut *coeffs))
    }
}

impl<P: RlweParameters> PublicKey<P> {
    /// The key as bytes: `b` bit-packed (modulo `Q`, then modulo `P` where
    /// the key extends there) and the 32-byte seed of `a`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(P::KEY_KINDS[1], Some(self.params.fingerprint()));
        write_poly(&mut out, &self.b)?;
        if let Some([b_p, _]) = &self.special {
            write_poly(&mut out, b_p)?;
        }
        out.extend_from_slice(&self.seed);
        Ok(out)
    }

    /// A key from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<P>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, P::KEY_KINDS[1], Some(params.fingerprint()))?;
        let q = params.ciphertext_basis();
        let b = read_poly::<Ntt>(&mut r, q, q.len())?;
        let b_p = if P::PUBLIC_KEY_MOD_P {
            let p = params.key_switching()?.special_basis();
            Some(read_poly::<Ntt>(&mut r, p, p.len())?)
        } else {
            None
        };
        let seed = r.seed()?;
        r.finish()?;
        let (a, a_p) = Self::expand_a(params, seed)?;
        let special = match (b_p, a_p) {
            (Some(b_p), Some(a_p)) => Some([b_p, a_p]),
            _ => None,
        };
        Ok(Self {
            params: Arc::clone(params),
            b,
            a,
            special,
            seed,
        })
    }
}

impl<P: RlweParameters> RelinearizationKey<P> {
    /// The key as bytes: per digit, `b` bit-packed and the seed of `a`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(P::KEY_KINDS[2], Some(self.params.fingerprint()));
        switching_key::write(&mut out, self.params.key_switching()?, &self.key)?;
        Ok(out)
    }

    /// A key from [`Self::to_bytes`], under the parameters it was made with.
    pub fn from_bytes(params: &Arc<P>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, P::KEY_KINDS[2], Some(params.fingerprint()))?;
        let key = switching_key::read(&mut r, params.key_switching()?)?;
        r.finish()?;
        Ok(Self {
            params: Arc::clone(params),
            key,
        })
    }
}

impl<P: RlweParameters> GaloisKeys<P> {
    /// The keys as bytes: per element, the switching key's `b` halves
    /// bit-packed and the seeds of its `a` halves.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = start(P::KEY_KINDS[3], Some(self.params.fingerprint()));
        galois_keys::write(&mut out, self.params.key_switching()?, &self.keys)?;
        Ok(out)
    }

    /// Keys from [`Self::to_bytes`], under the parameters they were made with.
    pub fn from_bytes(params: &Arc<P>, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = open(bytes, P::KEY_KINDS[3], Some(params.fingerprint()))?;
        let keys = galois_keys::read(&mut r, params.key_switching()?)?;
        r.finish()?;
        Self::from_keys(params, keys)
    }
}
