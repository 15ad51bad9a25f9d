//! Galois key sets (both schemes): their count, then each element and its
//! switching key, in increasing order.

use std::collections::BTreeMap;

use crate::serial::{Reader, switching_key};
use crate::{Error, KeySwitcher, SwitchingKey, check_galois_element};

/// Appends Galois keys: their count, then each element and key in order.
pub(crate) fn write(
    out: &mut Vec<u8>,
    switcher: &KeySwitcher,
    keys: &BTreeMap<usize, SwitchingKey>,
) -> Result<(), Error> {
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for (&g, key) in keys {
        out.extend_from_slice(&(g as u32).to_le_bytes());
        switching_key::write(out, switcher, key)?;
    }
    Ok(())
}

/// Reads what [`write`] wrote: elements valid for degree `n`,
/// strictly increasing (no duplicates), at most `n` of them.
pub(crate) fn read(
    r: &mut Reader<'_>,
    switcher: &KeySwitcher,
) -> Result<BTreeMap<usize, SwitchingKey>, Error> {
    let n = switcher.ciphertext_basis().degree();
    let count = r.u32()? as usize;
    if count > n {
        return Err(r.malformed(format!(
            "{count} Galois keys, but degree {n} has at most {n} Galois elements"
        )));
    }
    let mut keys = BTreeMap::new();
    let mut last = 1usize;
    for _ in 0..count {
        let g = r.u32()? as usize;
        if g <= last || check_galois_element(n, g).is_err() {
            return Err(r.malformed(format!(
                "Galois element {g} is invalid, repeated or out of order (odd, increasing, 3..2n)"
            )));
        }
        last = g;
        keys.insert(g, switching_key::read(r, switcher)?);
    }
    Ok(keys)
}
