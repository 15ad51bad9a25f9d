//! The header shared by every serialized object.

use crate::Error;
use crate::serial::{FINGERPRINT_LEN, FORMAT_VERSION, ObjectKind, Reader, hex};

const MAGIC: &[u8; 4] = b"HFTY";

/// Appends the header of a `kind` object (with `fingerprint` unless the
/// object is a parameter set).
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    kind: ObjectKind,
    fingerprint: Option<&[u8; FINGERPRINT_LEN]>,
) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind as u8);
    debug_assert_eq!(kind.has_fingerprint(), fingerprint.is_some());
    if let Some(f) = fingerprint {
        out.extend_from_slice(f);
    }
}

/// Reads magic, version and kind.
pub(super) fn read_kind(r: &mut Reader<'_>) -> Result<ObjectKind, Error> {
    if r.take(4)? != MAGIC {
        return Err(r.malformed("it does not start with the magic bytes HFTY"));
    }
    let version = r.u16()?;
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            object: r.object(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let tag = r.u8()?;
    ObjectKind::from_tag(tag).ok_or_else(|| r.malformed(format!("unknown object kind {tag}")))
}

/// Reads the header of a `kind` object and checks its fingerprint against
/// `expected` (the parameters the caller decodes with).
pub(crate) fn read_header(
    r: &mut Reader<'_>,
    kind: ObjectKind,
    expected: Option<&[u8; FINGERPRINT_LEN]>,
) -> Result<(), Error> {
    let found = read_kind(r)?;
    if found != kind {
        return Err(Error::WrongObject {
            expected: kind.name(),
            found: found.name(),
        });
    }
    if let Some(expected) = expected {
        let got = r.take(FINGERPRINT_LEN)?;
        if got != expected {
            return Err(Error::ForeignObject {
                object: kind.name(),
                expected: hex(expected),
                found: hex(got),
            });
        }
    }
    Ok(())
}

/// A buffer that starts with the header of a `kind` object.
pub(crate) fn start(kind: ObjectKind, fingerprint: Option<&[u8; FINGERPRINT_LEN]>) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, kind, fingerprint);
    out
}

/// A reader positioned after a checked header of a `kind` object.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    kind: ObjectKind,
    fingerprint: Option<&[u8; FINGERPRINT_LEN]>,
) -> Result<Reader<'a>, Error> {
    let mut r = Reader::new(bytes, kind.name());
    read_header(&mut r, kind, fingerprint)?;
    Ok(r)
}
