//! Switching keys (the body of relinearization and Galois keys): per digit
//! the `b` halves modulo `Q` and `P`, bit-packed, and the seed of `a`.

use crate::rlwe::keyswitch::KeyDigit;
use crate::serial::{Reader, pack_residues, unpack_residues};
use crate::{Error, KeySwitcher, RnsPoly, SwitchingKey};

/// Appends `key` (made by `switcher`).
pub(crate) fn write(
    out: &mut Vec<u8>,
    switcher: &KeySwitcher,
    key: &SwitchingKey,
) -> Result<(), Error> {
    let (q, p) = (switcher.ciphertext_basis(), switcher.special_basis());
    out.push(key.digits.len() as u8);
    for d in &key.digits {
        pack_residues(out, q.moduli(), q.degree(), &d.b_q.to_host()?);
        pack_residues(out, p.moduli(), p.degree(), &d.b_p.to_host()?);
        out.extend_from_slice(&d.seed);
    }
    Ok(())
}

/// Reads a key written by [`write`] for `switcher`'s bases and digits.
pub(crate) fn read(r: &mut Reader<'_>, switcher: &KeySwitcher) -> Result<SwitchingKey, Error> {
    let (q, p) = (switcher.ciphertext_basis(), switcher.special_basis());
    let count = r.u8()? as usize;
    if count != switcher.dnum() {
        return Err(r.malformed(format!(
            "the key has {count} digits, these parameters switch keys with {}",
            switcher.dnum()
        )));
    }
    let digits = (0..count)
        .map(|_| {
            let b_q = RnsPoly::from_raw(q, q.len(), unpack_residues(r, q.moduli(), q.degree())?)?;
            let b_p = RnsPoly::from_raw(p, p.len(), unpack_residues(r, p.moduli(), p.degree())?)?;
            let seed = r.seed()?;
            let (a_q, a_p) = switcher.expand_a(seed)?;
            Ok(KeyDigit {
                b_q,
                a_q,
                b_p,
                a_p,
                seed,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(SwitchingKey { digits })
}
