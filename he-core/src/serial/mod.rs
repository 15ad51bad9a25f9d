//! The binary format of every serialized hefty object.
//!
//! Every object starts with the same header:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `HFTY` |
//! | 2 | format version (little-endian), [`FORMAT_VERSION`] |
//! | 1 | object kind ([`ObjectKind`]) |
//! | 16 | the parameters' fingerprint (absent for parameters themselves) |
//!
//! then the object's body, little-endian throughout. Bodies are compact:
//! residues are bit-packed at the width of their prime, the uniform halves
//! of fresh ciphertexts and of keys are stored as the 32-byte seeds they
//! were expanded from, and secret keys take two bits per coefficient.
//!
//! Decoding validates everything before it allocates anything the bytes
//! size: lengths against the parameters, residues against their primes,
//! levels against the chain, the fingerprint against the parameters given,
//! and the encoding is canonical (padding bits zero, no trailing bytes,
//! keys in order), so an object that decodes re-encodes to the same bytes.
//! Malformed or hostile bytes give an [`Error`], never a panic.

pub(crate) mod ciphertext;
pub(crate) mod fields;
pub(crate) mod galois_keys;
mod header;
mod keys;
mod packing;
mod poly;
mod reader;
pub(crate) mod switching_key;

pub(crate) use header::{open, start};
pub(crate) use packing::{pack_residues, pack_ternary, unpack_residues, unpack_ternary};
pub(crate) use poly::{read_poly, write_poly};
pub(crate) use reader::Reader;

use crate::Error;

/// The version of the format every object's header carries and decoders read.
pub const FORMAT_VERSION: u16 = 1;

/// The length of a parameter fingerprint in bytes.
pub const FINGERPRINT_LEN: usize = 16;

/// What a serialized blob holds (byte 6 of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)] // The names say it.
pub enum ObjectKind {
    BfvParameters = 1,
    BfvSecretKey = 2,
    BfvPublicKey = 3,
    BfvRelinearizationKey = 4,
    BfvGaloisKeys = 5,
    BfvPlaintext = 6,
    BfvCiphertext = 7,
    CkksParameters = 17,
    CkksSecretKey = 18,
    CkksPublicKey = 19,
    CkksRelinearizationKey = 20,
    CkksGaloisKeys = 21,
    CkksPlaintext = 22,
    CkksCiphertext = 23,
}

impl ObjectKind {
    const ALL: [ObjectKind; 14] = [
        ObjectKind::BfvParameters,
        ObjectKind::BfvSecretKey,
        ObjectKind::BfvPublicKey,
        ObjectKind::BfvRelinearizationKey,
        ObjectKind::BfvGaloisKeys,
        ObjectKind::BfvPlaintext,
        ObjectKind::BfvCiphertext,
        ObjectKind::CkksParameters,
        ObjectKind::CkksSecretKey,
        ObjectKind::CkksPublicKey,
        ObjectKind::CkksRelinearizationKey,
        ObjectKind::CkksGaloisKeys,
        ObjectKind::CkksPlaintext,
        ObjectKind::CkksCiphertext,
    ];

    /// The type's name, as error messages give it.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::BfvParameters => "bfv::Parameters",
            ObjectKind::BfvSecretKey => "bfv::SecretKey",
            ObjectKind::BfvPublicKey => "bfv::PublicKey",
            ObjectKind::BfvRelinearizationKey => "bfv::RelinearizationKey",
            ObjectKind::BfvGaloisKeys => "bfv::GaloisKeys",
            ObjectKind::BfvPlaintext => "bfv::Plaintext",
            ObjectKind::BfvCiphertext => "bfv::Ciphertext",
            ObjectKind::CkksParameters => "ckks::Parameters",
            ObjectKind::CkksSecretKey => "ckks::SecretKey",
            ObjectKind::CkksPublicKey => "ckks::PublicKey",
            ObjectKind::CkksRelinearizationKey => "ckks::RelinearizationKey",
            ObjectKind::CkksGaloisKeys => "ckks::GaloisKeys",
            ObjectKind::CkksPlaintext => "ckks::Plaintext",
            ObjectKind::CkksCiphertext => "ckks::Ciphertext",
        }
    }

    /// The kind with tag `tag`, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == tag)
    }

    /// Whether the header carries a parameter fingerprint (everything but
    /// parameters).
    pub fn has_fingerprint(self) -> bool {
        !matches!(self, ObjectKind::BfvParameters | ObjectKind::CkksParameters)
    }
}

/// Reads the header of any serialized hefty object: its kind, without
/// decoding the rest (to route bytes to the right `from_bytes`).
///
/// ```
/// use hefty_core::bfv::Parameters;
/// use hefty_core::serial::{ObjectKind, object_kind};
/// let bytes = Parameters::preset_128(4096)?.to_bytes();
/// assert_eq!(object_kind(&bytes)?, ObjectKind::BfvParameters);
/// # Ok::<(), hefty_core::Error>(())
/// ```
pub fn object_kind(bytes: &[u8]) -> Result<ObjectKind, Error> {
    let mut r = Reader::new(bytes, "hefty object");
    header::read_kind(&mut r)
}

/// The first 16 bytes of SHA-256 over a parameter set's identity bytes.
pub(crate) fn fingerprint(identity: &[u8]) -> [u8; FINGERPRINT_LEN] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(identity);
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

/// A fingerprint in hex (for error messages).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
