//! Bit-packed residues and two-bit ternary coefficients.

use hefty_ntt::Modulus;

use crate::Error;
use crate::serial::Reader;

/// Bits that hold every residue modulo `q`.
fn width(q: u64) -> u32 {
    64 - (q - 1).leading_zeros()
}

/// Bytes one limb of `n` residues modulo `q` takes.
fn limb_bytes(q: u64, n: usize) -> usize {
    (n * width(q) as usize).div_ceil(8)
}

/// Appends `values` at `bits` bits each, least significant bit first,
/// padding the last byte with zeros. Whole 64-bit words are written while
/// they fill (`bits <= 64` keeps the accumulator within 128 bits).
fn pack(out: &mut Vec<u8>, values: &[u64], bits: u32) {
    let (mut acc, mut filled) = (0u128, 0u32);
    for &v in values {
        acc |= (v as u128) << filled;
        filled += bits;
        if filled >= 64 {
            out.extend_from_slice(&(acc as u64).to_le_bytes());
            acc >>= 64;
            filled -= 64;
        }
    }
    while filled > 0 {
        out.push(acc as u8);
        acc >>= 8;
        filled = filled.saturating_sub(8);
    }
}

/// Appends limb-major residues (`moduli.len()` limbs of `n`), each limb at
/// the width of its prime.
pub(crate) fn pack_residues(out: &mut Vec<u8>, moduli: &[Modulus], n: usize, words: &[u64]) {
    debug_assert_eq!(words.len(), moduli.len() * n);
    out.reserve(moduli.iter().map(|m| limb_bytes(m.value(), n)).sum());
    for (m, limb) in moduli.iter().zip(words.chunks_exact(n)) {
        pack(out, limb, width(m.value()));
    }
}

/// Reads what [`pack_residues`] wrote: every residue must be below its
/// prime and the padding zero. The length is checked before allocating.
pub(crate) fn unpack_residues(
    r: &mut Reader<'_>,
    moduli: &[Modulus],
    n: usize,
) -> Result<Vec<u64>, Error> {
    let total: usize = moduli.iter().map(|m| limb_bytes(m.value(), n)).sum();
    if total > r.remaining() {
        return Err(r.malformed(format!(
            "truncated: {} residue limbs need {total} bytes, {} left",
            moduli.len(),
            r.remaining()
        )));
    }
    let mut words = crate::backend::cpu::pool::take_empty(moduli.len() * n);
    for (i, m) in moduli.iter().enumerate() {
        let (q, bits) = (m.value(), width(m.value()));
        let bytes = r.take(limb_bytes(q, n))?;
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        // Up to 57 bits, a value and its offset within its first byte fit
        // one unaligned little-endian word: read each directly while eight
        // bytes remain from its first (no carried state); the bit reader
        // below finishes the limb.
        let direct = if bits <= 57 && bytes.len() >= 8 {
            ((bytes.len() - 8) * 8 / bits as usize + 1).min(n)
        } else {
            0
        };
        for k in 0..direct {
            let bit = k * bits as usize;
            let word: [u8; 8] = bytes[bit / 8..bit / 8 + 8].try_into().expect("eight bytes");
            let v = (u64::from_le_bytes(word) >> (bit % 8)) & mask;
            if v >= q {
                return Err(r.malformed(format!(
                    "residue {v} of limb {i} is not below its prime {q}"
                )));
            }
            words.push(v);
        }
        // Eight bytes at a time while they last (filled < bits <= 64 before
        // a read keeps the accumulator within 128 bits), then byte by byte.
        let start = direct * bits as usize;
        let (mut acc, mut filled, mut at) = (0u128, 0u32, start / 8);
        if !start.is_multiple_of(8) {
            acc = u128::from(bytes[at] >> (start % 8));
            filled = 8 - (start % 8) as u32;
            at += 1;
        }
        for _ in direct..n {
            if filled < bits {
                if let Some(word) = bytes.get(at..at + 8) {
                    let word: [u8; 8] = word.try_into().expect("eight bytes");
                    acc |= (u64::from_le_bytes(word) as u128) << filled;
                    filled += 64;
                    at += 8;
                } else {
                    while filled < bits {
                        // The length check above guarantees the bytes are there.
                        acc |= (*bytes.get(at).unwrap_or(&0) as u128) << filled;
                        filled += 8;
                        at += 1;
                    }
                }
            }
            let v = acc as u64 & mask;
            acc >>= bits;
            filled -= bits;
            if v >= q {
                return Err(r.malformed(format!(
                    "residue {v} of limb {i} is not below its prime {q}"
                )));
            }
            words.push(v);
        }
        if acc != 0 {
            return Err(r.malformed(format!("nonzero padding bits after limb {i}")));
        }
    }
    Ok(words)
}

/// Appends ternary coefficients at two bits each (0 → 0, 1 → 1, −1 → 2),
/// without branching on their values.
pub(crate) fn pack_ternary(out: &mut Vec<u8>, coeffs: &[i64]) {
    for chunk in coeffs.chunks(4) {
        let mut byte = 0u8;
        for (j, &c) in chunk.iter().enumerate() {
            // -1 → 2, 0 → 0, 1 → 1: (c mod 3) without a branch.
            byte |= (((c + 3) % 3) as u8) << (2 * j);
        }
        out.push(byte);
    }
}

/// Reads `n` ternary coefficients written by [`pack_ternary`]. Invalid codes
/// (3, or nonzero padding) are collected without value-dependent branches and
/// reported after the whole key is read.
pub(crate) fn unpack_ternary(
    r: &mut Reader<'_>,
    n: usize,
) -> Result<zeroize::Zeroizing<Vec<i64>>, Error> {
    let bytes = r.take(n.div_ceil(4))?;
    let mut coeffs = zeroize::Zeroizing::new(Vec::with_capacity(n));
    let mut bad = 0u8;
    for (i, &byte) in bytes.iter().enumerate() {
        for j in 0..4 {
            let code = (byte >> (2 * j)) & 3;
            if 4 * i + j < n {
                // 3 is invalid: both bits set.
                bad |= code & (code >> 1);
                // 0 → 0, 1 → 1, 2 → -1: code - 3·(code >> 1).
                coeffs.push(code as i64 - 3 * (code >> 1) as i64);
            } else {
                bad |= code;
            }
        }
    }
    if bad != 0 {
        return Err(r.malformed("a secret-key coefficient code is invalid (not 0, 1 or -1)"));
    }
    Ok(coeffs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The format by definition: bit `k·bits + b` of the stream is bit `b`
    /// of value `k`, bit `i` of the stream is bit `i % 8` of byte `i / 8`.
    fn reference_pack(values: &[u64], bits: u32) -> Vec<u8> {
        let mut out = vec![0u8; (values.len() * bits as usize).div_ceil(8)];
        for (k, &v) in values.iter().enumerate() {
            for b in 0..bits as usize {
                let i = k * bits as usize + b;
                out[i / 8] |= (((v >> b) & 1) as u8) << (i % 8);
            }
        }
        out
    }

    /// Reads by the same definition: the values, or `None` when one is not
    /// below `q` or a padding bit is set.
    fn reference_unpack(bytes: &[u8], n: usize, q: u64) -> Option<Vec<u64>> {
        let bits = width(q) as usize;
        let bit = |i: usize| u64::from((bytes[i / 8] >> (i % 8)) & 1);
        let values: Vec<u64> = (0..n)
            .map(|k| (0..bits).map(|b| bit(k * bits + b) << b).sum())
            .collect();
        let padding_clear = (n * bits..bytes.len() * 8).all(|i| bit(i) == 0);
        (padding_clear && values.iter().all(|&v| v < q)).then_some(values)
    }

    proptest! {
        /// The word-at-a-time writer and reader keep the bit-by-bit format
        /// (residues written by earlier versions read the same), and reject
        /// exactly what it rejects.
        #[test]
        fn packing_keeps_the_bit_by_bit_format(
            q in 2u64..=u64::MAX,
            n in 0usize..100,
            raw in prop::collection::vec(any::<u64>(), 100),
            noise in prop::collection::vec(any::<u8>(), 800),
        ) {
            let q = q.min(Modulus::MAX_EXCLUSIVE - 1);
            let values: Vec<u64> = raw[..n].iter().map(|&w| w % q).collect();
            let mut out = Vec::new();
            pack(&mut out, &values, width(q));
            prop_assert_eq!(&out, &reference_pack(&values, width(q)));
            // Arbitrary bytes of the right length: the same values or the same refusal.
            let bytes = &noise[..limb_bytes(q, n)];
            let m = [Modulus::new(q).unwrap()];
            let got = unpack_residues(&mut Reader::new(bytes, "t"), &m, n).ok();
            prop_assert_eq!(got, reference_unpack(bytes, n, q));
        }

        #[test]
        fn residues_round_trip(
            qs in prop::collection::vec(2u64..(1 << 62), 1..4),
            n in 1usize..40,
            raw in prop::collection::vec(any::<u64>(), 160),
        ) {
            let moduli: Vec<Modulus> = qs.iter().map(|&q| Modulus::new(q).unwrap()).collect();
            let words: Vec<u64> = moduli
                .iter()
                .enumerate()
                .flat_map(|(i, m)| raw[i * 40..i * 40 + n].iter().map(move |&w| w % m.value()))
                .collect();
            let mut out = Vec::new();
            pack_residues(&mut out, &moduli, n, &words);
            let expected_len: usize = moduli.iter().map(|m| limb_bytes(m.value(), n)).sum();
            prop_assert_eq!(out.len(), expected_len);
            let mut r = Reader::new(&out, "test");
            prop_assert_eq!(unpack_residues(&mut r, &moduli, n).unwrap(), words);
            r.finish().unwrap();
        }

        #[test]
        fn ternary_round_trip(coeffs in prop::collection::vec(-1i64..=1, 0..50)) {
            let mut out = Vec::new();
            pack_ternary(&mut out, &coeffs);
            prop_assert_eq!(out.len(), coeffs.len().div_ceil(4));
            let mut r = Reader::new(&out, "test");
            prop_assert_eq!(&*unpack_ternary(&mut r, coeffs.len()).unwrap(), &coeffs);
        }
    }

    #[test]
    fn out_of_range_residue_and_padding_are_rejected() {
        let m = [Modulus::new(17).unwrap()]; // 5 bits
        // 17 itself is not a residue.
        let mut out = Vec::new();
        pack(&mut out, &[17], 5);
        assert!(matches!(
            unpack_residues(&mut Reader::new(&out, "t"), &m, 1),
            Err(Error::Malformed { .. })
        ));
        // Nonzero padding after one 5-bit residue.
        assert!(matches!(
            unpack_residues(&mut Reader::new(&[0b1000_0001], "t"), &m, 1),
            Err(Error::Malformed { .. })
        ));
        // Truncated.
        assert!(matches!(
            unpack_residues(&mut Reader::new(&[1], "t"), &m, 2),
            Err(Error::Malformed { .. })
        ));
        // Ternary code 3.
        assert!(matches!(
            unpack_ternary(&mut Reader::new(&[3], "t"), 1),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            unpack_ternary(&mut Reader::new(&[0b0100], "t"), 1),
            Err(Error::Malformed { .. })
        ));
    }
}
