//! Field encodings shared by both schemes' parameters: degree, prime
//! lists, security level.

use crate::serial::Reader;
use crate::{Error, SecurityLevel};

/// The largest degree a decoder accepts (the HE Standard's table ends at 2^17).
pub(crate) const MAX_LOG_DEGREE: u8 = 17;

/// The most primes in one list a decoder accepts.
pub(crate) const MAX_PRIMES: usize = 64;

/// Appends `log2(n)`.
pub(crate) fn write_degree(out: &mut Vec<u8>, n: usize) {
    out.push(n.trailing_zeros() as u8);
}

/// Reads a degree written by [`write_degree`], at least `2^min_log`.
pub(crate) fn read_degree(r: &mut Reader<'_>, min_log: u8) -> Result<usize, Error> {
    let log = r.u8()?;
    if !(min_log..=MAX_LOG_DEGREE).contains(&log) {
        return Err(r.malformed(format!(
            "ring degree 2^{log} is outside 2^{min_log}..=2^{MAX_LOG_DEGREE}"
        )));
    }
    Ok(1 << log)
}

/// Appends a list of primes (count, then each as u64).
pub(crate) fn write_primes(out: &mut Vec<u8>, primes: &[u64]) {
    out.push(primes.len() as u8);
    primes
        .iter()
        .for_each(|p| out.extend_from_slice(&p.to_le_bytes()));
}

/// Reads a list of at most [`MAX_PRIMES`] primes (their primality and
/// NTT-friendliness are the parameter builder's to check).
pub(crate) fn read_primes(r: &mut Reader<'_>, what: &str) -> Result<Vec<u64>, Error> {
    let count = r.u8()? as usize;
    if count > MAX_PRIMES {
        return Err(r.malformed(format!(
            "{count} {what} primes (at most {MAX_PRIMES} are supported)"
        )));
    }
    (0..count).map(|_| r.u64()).collect()
}

/// Appends a security level (0: the check was disabled).
pub(crate) fn write_security(out: &mut Vec<u8>, level: Option<SecurityLevel>) {
    out.push(match level {
        None => 0,
        Some(SecurityLevel::Bits128) => 1,
        Some(SecurityLevel::Bits192) => 2,
        Some(SecurityLevel::Bits256) => 3,
    });
}

/// Reads a security level written by [`write_security`]. A disabled check
/// is accepted only when the caller opted out (`insecure`).
pub(crate) fn read_security(
    r: &mut Reader<'_>,
    insecure: bool,
) -> Result<Option<SecurityLevel>, Error> {
    match r.u8()? {
        0 if insecure => Ok(None),
        0 => Err(Error::InvalidParameters(format!(
            "the {} were saved with the security check disabled: load them with from_bytes_insecure_for_testing_only, and only for tests",
            r.object()
        ))),
        1 => Ok(Some(SecurityLevel::Bits128)),
        2 => Ok(Some(SecurityLevel::Bits192)),
        3 => Ok(Some(SecurityLevel::Bits256)),
        code => Err(r.malformed(format!("unknown security level code {code}"))),
    }
}
