//! Typed errors of hefty-core.

use thiserror::Error;

/// Everything that can go wrong in the ring layer. Each message says what was
/// wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the NTT layer (bad degree, non-NTT-friendly prime, …).
    #[error(transparent)]
    Ntt(#[from] hefty_ntt::Error),
    /// The same prime appears twice in an RNS basis.
    #[error("prime {0} appears twice in the RNS basis: CRT needs pairwise distinct moduli")]
    DuplicatePrime(u64),
    /// An RNS basis needs at least one prime.
    #[error("an RNS basis needs at least one prime")]
    EmptyBasis,
    /// Two operands live in different rings.
    #[error(
        "the operands belong to different RNS bases: use objects made from the same parameters"
    )]
    BasisMismatch,
    /// Objects made from different parameter sets were combined.
    #[error(
        "the objects were made under different parameters (or on different backends): keys, plaintexts and ciphertexts must come from one parameter set, e.g. one preset or one set of parameter bytes"
    )]
    ParameterMismatch,
    /// Two operands have different numbers of active limbs.
    #[error(
        "level mismatch: one operand has {left} limbs, the other {right}; bring them to the same level first"
    )]
    LevelMismatch {
        /// Limbs of the left operand.
        left: usize,
        /// Limbs of the right operand.
        right: usize,
    },
    /// A level outside `1..=basis length` was asked for.
    #[error("level {level} is out of range: the basis has {max} limbs (levels 1..={max})")]
    BadLevel {
        /// The level asked for.
        level: usize,
        /// The number of primes in the basis.
        max: usize,
    },
    /// A coefficient vector of the wrong length.
    #[error("expected {expected} coefficients (the ring degree), got {got}")]
    WrongLength {
        /// The ring degree.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The parameters miss the requested security level.
    #[error("parameters are not {bits}-bit secure: {}", match max_log_qp {
        Some(max) => format!("log2(QP) = {log_qp:.1} at n = {n}, the HE Standard allows at most {max}; use fewer or smaller primes, a larger degree, or the explicit insecure opt-out for experiments"),
        None => format!("the HE Standard's table has no {bits}-bit bound for n = {n} (it covers powers of two from 1024 to 131072); pick such a degree, or the explicit insecure opt-out for experiments"),
    })]
    Insecure {
        /// Ring degree.
        n: usize,
        /// `log2(Q·P)` of the parameters.
        log_qp: f64,
        /// Requested security in bits.
        bits: u32,
        /// The standard's bound at this degree, if it covers the degree.
        max_log_qp: Option<u32>,
    },
    /// Parameters that cannot work, with the reason.
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    /// A rotation was asked for without its Galois key.
    #[error(
        "no Galois key for element {g}{}: generate GaloisKeys with this {} (only the keys asked for are made)",
        steps.map_or(String::new(), |s| format!(" (a rotation by {s} steps)")),
        if steps.is_some() { "step" } else { "element (or conjugation / column swap)" }
    )]
    MissingGaloisKey {
        /// The rotation step, when the operation was a row rotation.
        steps: Option<i64>,
        /// The Galois element.
        g: usize,
    },
    /// An operation that needs a two-polynomial ciphertext got a larger one.
    #[error("the ciphertext has {len} polynomials; relinearize it to 2 first")]
    NotRelinearized {
        /// Polynomials in the ciphertext.
        len: usize,
    },
    /// Terms of one sum with different numbers of polynomials.
    #[error(
        "the terms of a sum have {left} and {right} polynomials: relinearize the three-polynomial products (or none of the terms) so every term has the same number"
    )]
    PolynomialCountMismatch {
        /// Polynomials in the first term.
        left: usize,
        /// Polynomials in a later term.
        right: usize,
    },
    /// A Galois element that is not an odd residue mod 2n.
    #[error("Galois element {g} is invalid for degree {n}: it must be odd and below 2n = {two_n}")]
    BadGaloisElement {
        /// The element.
        g: usize,
        /// The ring degree.
        n: usize,
        /// 2n.
        two_n: usize,
    },
    /// The backend cannot run these parameters.
    #[error(
        "the {backend} backend cannot run this basis: {reason}; pick parameters it supports or another backend"
    )]
    UnsupportedByBackend {
        /// The backend's name.
        backend: &'static str,
        /// What it cannot do.
        reason: String,
    },
    /// A backend could not allocate a buffer.
    #[error(
        "the {backend} backend is out of memory allocating {words} words; free ciphertexts or keys you no longer need, lower the batch size, or use smaller parameters"
    )]
    OutOfMemory {
        /// The backend's name.
        backend: &'static str,
        /// The words asked for.
        words: usize,
    },
    /// A device backend cannot start on this machine: no driver, no device,
    /// no adapter by that name, or the device compiler is missing.
    #[error("no {backend} device: {reason}")]
    NoDevice {
        /// The backend's name.
        backend: &'static str,
        /// What is missing and what to install or choose instead.
        reason: String,
    },
    /// A device reported a failure (recorded at launch, returned at the next download).
    #[error("the {backend} backend failed: {message}; results computed since the failure are lost")]
    Device {
        /// The backend's name.
        backend: &'static str,
        /// The device's message.
        message: String,
    },
    /// CKKS operands whose scales differ and cannot be aligned.
    #[error("scale mismatch: 2^{left:.4} against 2^{right:.4}; {hint}")]
    ScaleMismatch {
        /// log2 of the left operand's scale.
        left: f64,
        /// log2 of the right operand's scale.
        right: f64,
        /// How to fix it.
        hint: &'static str,
    },
    /// A rescale (or an operation needing one) at the last level.
    #[error(
        "no level left: the ciphertext is at level {level}, the lowest ({min}); use parameters with a larger depth (more ciphertext primes) or fewer multiplications"
    )]
    OutOfLevels {
        /// The ciphertext's level.
        level: usize,
        /// The lowest level of the chain.
        min: usize,
    },

    /// An integer encoding or decoding that does not fit the plaintext
    /// space (coefficients reaching `t`, degree reaching `n`, or a value
    /// beyond 127 bits).
    #[error("integer overflow: {0}")]
    IntegerOverflow(String),

    /// Serialized bytes that cannot be decoded.
    #[error(
        "malformed {object} bytes: {reason}; the bytes are truncated, corrupted, or not a serialized {object}"
    )]
    Malformed {
        /// What was being decoded.
        object: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Serialized bytes of a format version this build does not read.
    #[error(
        "{object} bytes use format version {found}, this hefty reads version {supported}; serialize them again with a matching hefty"
    )]
    UnsupportedFormat {
        /// What was being decoded.
        object: &'static str,
        /// The version in the bytes.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// Serialized bytes of another kind of object.
    #[error("the bytes hold a {found}, not a {expected}: decode them with {found}::from_bytes")]
    WrongObject {
        /// The kind asked for.
        expected: &'static str,
        /// The kind in the bytes.
        found: &'static str,
    },
    /// A serialized object made under other parameters.
    #[error(
        "the {object} was saved under other parameters (fingerprint {found}, these parameters are {expected}); load it with the parameters it was made with"
    )]
    ForeignObject {
        /// What was being decoded.
        object: &'static str,
        /// The fingerprint of the parameters given.
        expected: String,
        /// The fingerprint in the bytes.
        found: String,
    },
}
