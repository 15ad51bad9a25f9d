//! Bit-packed RNS polynomials.

use std::sync::Arc;

use crate::serial::{Reader, pack_residues, unpack_residues};
use crate::{Error, Form, RnsBasis, RnsPoly};

/// Appends the active limbs of `poly`, bit-packed.
pub(crate) fn write_poly<F: Form>(out: &mut Vec<u8>, poly: &RnsPoly<F>) -> Result<(), Error> {
    let basis = poly.basis();
    pack_residues(
        out,
        &basis.moduli()[..poly.level()],
        basis.degree(),
        &poly.to_host()?,
    );
    Ok(())
}

/// Reads a polynomial of `basis` at `level` (validated by the caller).
pub(crate) fn read_poly<F: Form>(
    r: &mut Reader<'_>,
    basis: &Arc<RnsBasis>,
    level: usize,
) -> Result<RnsPoly<F>, Error> {
    let words = unpack_residues(r, &basis.moduli()[..level], basis.degree())?;
    RnsPoly::from_raw(basis, level, words)
}
