//! Many byte strings in one: what the client sends the server and back.
//!
//! `u64` count, then per item a `u64` length and the bytes (little endian).
//! The reader trusts nothing: every length is checked against what is left.

use crate::Error;

/// The items framed as one byte string.
pub fn pack(items: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = items.iter().map(|i| i.len() + 8).sum();
    let mut out = Vec::with_capacity(total + 8);
    out.extend_from_slice(&(items.len() as u64).to_le_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u64).to_le_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// [`pack`] item by item, for senders that make their items in chunks
/// and free each chunk once it is written (a batch's ciphertexts are
/// hundreds of megabytes; holding them twice costs memory the process must
/// fault in).
pub struct Packer {
    out: Vec<u8>,
    left: u64,
}

impl Packer {
    /// A message of `count` items; `bytes_hint` reserves room for their
    /// bytes (the whole message when the items' sizes are known).
    pub fn new(count: usize, bytes_hint: usize) -> Self {
        let mut out = Vec::with_capacity(8 + bytes_hint);
        out.extend_from_slice(&(count as u64).to_le_bytes());
        Self {
            out,
            left: count as u64,
        }
    }

    /// Appends the next item; an error past the count given to [`Self::new`].
    pub fn push(&mut self, item: &[u8]) -> Result<(), Error> {
        self.left = self
            .left
            .checked_sub(1)
            .ok_or_else(|| Error::Setting("a message got more items than its count".into()))?;
        self.out.reserve(item.len() + 8);
        self.out
            .extend_from_slice(&(item.len() as u64).to_le_bytes());
        self.out.extend_from_slice(item);
        Ok(())
    }

    /// The message; an error if fewer items came than its count.
    pub fn finish(self) -> Result<Vec<u8>, Error> {
        if self.left != 0 {
            return Err(Error::Setting(format!(
                "a message is missing {} of its items",
                self.left
            )));
        }
        Ok(self.out)
    }
}

/// The items of a byte string made by [`pack`]; borrowed, not copied.
pub fn unpack(bytes: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let malformed = |why: String| Error::Setting(format!("malformed message: {why}"));
    let mut rest = bytes;
    let mut take = |n: usize, what: &str| -> Result<&[u8], Error> {
        if rest.len() < n {
            return Err(malformed(format!(
                "{what} needs {n} bytes, {} left",
                rest.len()
            )));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    let count = word(take(8, "the item count")?);
    // Every item costs at least its 8-byte length: a count beyond that is a lie.
    if count > (bytes.len() as u64) / 8 {
        return Err(malformed(format!(
            "{count} items cannot fit {} bytes",
            bytes.len()
        )));
    }
    let mut items = Vec::with_capacity(count as usize);
    for i in 0..count {
        let len = word(take(8, "an item length")?);
        let len = usize::try_from(len).map_err(|_| malformed(format!("item {i} too long")))?;
        items.push(take(len, "an item")?);
    }
    if !rest.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the last item",
            rest.len()
        )));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_hostile_lengths() {
        let items = vec![vec![1u8, 2, 3], vec![], vec![9; 20]];
        let bytes = pack(&items);
        let back = unpack(&bytes).unwrap();
        assert_eq!(back, items.iter().map(Vec::as_slice).collect::<Vec<_>>());
        for cut in 0..bytes.len() {
            assert!(unpack(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(unpack(&huge).is_err());
        let mut long = bytes;
        long[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(unpack(&long).is_err());
    }

    /// The packer writes what `pack` writes, and refuses a wrong count.
    #[test]
    fn packer_equals_pack_and_checks_its_count() {
        let items = vec![vec![1u8, 2, 3], vec![], vec![9; 20]];
        for hint in [0, 5, 1000] {
            let mut p = Packer::new(items.len(), hint);
            for item in &items {
                p.push(item).unwrap();
            }
            assert_eq!(p.finish().unwrap(), pack(&items));
        }
        let mut p = Packer::new(1, 0);
        p.push(&[1]).unwrap();
        assert!(p.push(&[2]).is_err());
        let mut p = Packer::new(2, 0);
        p.push(&[1]).unwrap();
        assert!(p.finish().is_err());
    }
}
