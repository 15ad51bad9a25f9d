//! Constants in device memory: each basis's prime records and twiddles,
//! and the words ↔ device bytes conversions of tables and buffers.

use hefty_core::ntt::Modulus;
use hefty_core::{Error, RnsBasis};

use super::memory::Mem;
use crate::layout;

/// Words of a prime record (`PRIME_RECORD` in `arith.h`).
pub(crate) const PRIME_RECORD: usize = 8;

/// What the CUDA backend prepares per basis: prime records (`[p, mu, k,
/// n^-1, quotient, n^-1·w_inv[1], quotient, 0]` per limb) and twiddles
/// (per limb: forward `w`, quotients, inverse `w`, quotients).
pub(crate) struct DeviceBasis {
    primes: Mem,
    twiddles: Mem,
}

impl DeviceBasis {
    /// Address of the prime records.
    pub fn primes(&self) -> u64 {
        self.primes.addr()
    }

    /// Address of the twiddles.
    pub fn twiddles(&self) -> u64 {
        self.twiddles.addr()
    }

    /// The basis's prime records and twiddles (the CPU plan's roots, so
    /// the transforms agree), in memory made by `upload`.
    pub fn new(
        n: usize,
        moduli: &[Modulus],
        bits: u32,
        upload: impl Fn(&[u8]) -> Result<Mem, Error>,
    ) -> Result<Self, Error> {
        let (tw, scaling) = layout::ntt_tables(n, moduli, bits)?;
        let mut primes = Vec::with_capacity(PRIME_RECORD * moduli.len());
        for (m, s) in moduli.iter().zip(scaling) {
            primes.extend(layout::prime_record(m.value()));
            primes.extend(s);
            primes.push(0);
        }
        Ok(Self {
            primes: upload(&to_bytes(&primes, bits)?)?,
            twiddles: upload(&to_bytes(&tw, bits)?)?,
        })
    }
}

/// The device tables of `basis`.
pub(crate) fn device_basis(basis: &RnsBasis) -> &DeviceBasis {
    basis
        .prepared::<DeviceBasis>()
        .expect("a CUDA-backend basis holds its device tables")
}

/// Words as the device stores them: 8 or 4 little-endian bytes each. A
/// word too wide for 32 bits is refused (a W64 residue on a W32 backend).
pub(crate) fn to_bytes(words: &[u64], bits: u32) -> Result<Vec<u8>, Error> {
    if bits == 64 {
        return Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect());
    }
    let mut out = Vec::with_capacity(4 * words.len());
    for &w in words {
        let narrow = u32::try_from(w).map_err(|_| Error::UnsupportedByBackend {
            backend: super::NAME,
            reason: "a word does not fit 32 bits: this CUDA backend runs 32-bit words (W32 bases, primes below 2^31); use `Cuda::new()` for 64-bit words".into(),
        })?;
        out.extend(narrow.to_le_bytes());
    }
    Ok(out)
}

/// Device bytes back to words.
pub(crate) fn from_bytes(bytes: &[u8], bits: u32) -> Vec<u64> {
    if bits == 64 {
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    } else {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")) as u64)
            .collect()
    }
}
