//! A bounds-checked cursor over untrusted bytes.

use crate::Error;

/// Reads little-endian fields from a byte slice; every read checks the
/// length first and fails with [`Error::Malformed`] instead of panicking.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    object: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader for the bytes of an `object` (named in errors).
    pub(crate) fn new(bytes: &'a [u8], object: &'static str) -> Self {
        Self {
            bytes,
            pos: 0,
            object,
        }
    }

    /// The name of the object being read.
    pub(crate) fn object(&self) -> &'static str {
        self.object
    }

    /// An [`Error::Malformed`] for this object.
    pub(crate) fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::Malformed {
            object: self.object,
            reason: reason.into(),
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        if len > self.remaining() {
            return Err(self.malformed(format!(
                "truncated at byte {}: {len} more bytes expected, {} left",
                self.pos,
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, Error> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A 32-byte seed.
    pub(crate) fn seed(&mut self) -> Result<[u8; 32], Error> {
        self.array()
    }

    /// Fails unless every byte was read (no trailing garbage).
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(self.malformed(format!("{extra} unexpected bytes after the end"))),
        }
    }
}
