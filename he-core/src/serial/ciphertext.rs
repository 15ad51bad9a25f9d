//! The polynomials of a ciphertext, shared by both schemes: a flag byte,
//! then every polynomial bit-packed — or, for a fresh symmetric
//! encryption, `c_0` and the 32-byte seed `c_1` was expanded from.
//!
//! The scheme writes what precedes it (level, polynomial count, CKKS's
//! scale) and decides when a seed is acceptable.

use std::sync::Arc;

use crate::serial::{Reader, read_poly, write_poly};
use crate::{Error, Form, RnsBasis, RnsPoly};

/// The most polynomials a serialized ciphertext may have (a product of two
/// unrelinearized ciphertexts has 5).
pub(crate) const MAX_POLYS: usize = 8;

/// Flag bit: `c_1` is stored as the seed it was expanded from.
const SEEDED: u8 = 1;

/// Appends the flag byte and the polynomials (`c_0` and `seed` when the
/// ciphertext has a seed and two polynomials).
pub(crate) fn write<F: Form>(
    out: &mut Vec<u8>,
    polys: &[RnsPoly<F>],
    seed: Option<[u8; 32]>,
) -> Result<(), Error> {
    // What `read` would refuse is refused here, so that bytes written are
    // always bytes that load.
    if !(2..=MAX_POLYS).contains(&polys.len()) {
        return Err(Error::InvalidParameters(format!(
            "a ciphertext of {} polynomials cannot be serialized (at most {MAX_POLYS}): relinearize it first",
            polys.len()
        )));
    }
    match seed {
        Some(seed) if polys.len() == 2 => {
            out.push(SEEDED);
            write_poly(out, &polys[0])?;
            out.extend_from_slice(&seed);
        }
        _ => {
            out.push(0);
            for p in polys {
                write_poly(out, p)?;
            }
        }
    }
    Ok(())
}

/// Checks a polynomial count read from the bytes.
pub(crate) fn check_count(r: &Reader<'_>, count: usize) -> Result<(), Error> {
    if (2..=MAX_POLYS).contains(&count) {
        Ok(())
    } else {
        Err(r.malformed(format!(
            "{count} polynomials (a ciphertext has 2..={MAX_POLYS})"
        )))
    }
}

/// A ciphertext's polynomials and, if `c_1` came from one, its seed.
pub(crate) type Polys<F> = (Vec<RnsPoly<F>>, Option<[u8; 32]>);

/// Reads the flag byte and `count` polynomials of `basis` at `level`.
/// A seeded ciphertext is accepted only with two polynomials and when
/// `seed_allowed`; `expand` turns its seed into `c_1`.
pub(crate) fn read<F: Form>(
    r: &mut Reader<'_>,
    basis: &Arc<RnsBasis>,
    level: usize,
    count: usize,
    seed_allowed: bool,
    expand: impl FnOnce([u8; 32]) -> Result<RnsPoly<F>, Error>,
) -> Result<Polys<F>, Error> {
    let flags = r.u8()?;
    match flags {
        0 => {
            let polys = (0..count)
                .map(|_| read_poly::<F>(r, basis, level))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((polys, None))
        }
        SEEDED if count == 2 && seed_allowed => {
            let c0 = read_poly::<F>(r, basis, level)?;
            let seed = r.seed()?;
            Ok((vec![c0, expand(seed)?], Some(seed)))
        }
        _ => Err(r.malformed(format!(
            "flags {flags:#04x} are invalid for {count} polynomials at level {level}"
        ))),
    }
}
