//! The Backend trait: the ring primitives every scheme is written against.
//!
//! BFV and CKKS never loop over residues themselves. Each [`RnsPoly`](crate::RnsPoly)
//! belongs to an [`RnsBasis`], the basis names one [`Backend`], and every
//! operation on the polynomial is one call of that backend over all active
//! limbs: memory (alloc / upload / download), NTTs, pointwise arithmetic,
//! automorphisms, monomial shifts, basis extension and reduction (ModUp /
//! ModDown), rescaling, exact lifts and BFV's scale-and-round. The CPU
//! backend ([`Cpu`]) lives here; GPU backends implement the same trait in
//! `hefty-kernels`, keeping polynomials in device memory between calls.
//!
//! Conventions every backend follows:
//! - A buffer holds `level` limbs of `n` words, limb-major; limb `i` is
//!   reduced modulo prime `i` of the basis (`[0, q_i)`). A second operand may
//!   hold more limbs than `level` (a key made for the full modulus used at a
//!   lower level): only its first `level` limbs are read.
//! - NTT form is the bit-reversed negacyclic transform of [`hefty_ntt`].
//! - Kernel launches may be asynchronous: a backend that meets a device
//!   failure records it and returns it from the next [`Backend::download`],
//!   as CUDA reports errors at the next synchronisation. Running out of
//!   memory in [`Backend::alloc`] aborts, as host allocation does.
//! - Constants (base-conversion tables, lift and rounding constants) are
//!   passed as host structs; a device backend caches its copies keyed by
//!   [`RnsBasis::id`] or by the struct's address, which is stable because
//!   the parameters own them behind an `Arc`.

mod buffer;
pub(crate) mod cpu;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

pub use buffer::Buffer;
pub use cpu::Cpu;

use crate::{BaseConverter, Error, ExactLift, RnsBasis, ScaleRound};
use hefty_ntt::ShoupConst;

/// Whether two bases name the same backend instance (their polynomials can meet).
pub fn same_backend(a: &RnsBasis, b: &RnsBasis) -> bool {
    // Compare data addresses only: vtable addresses of one type may differ.
    std::ptr::addr_eq(Arc::as_ptr(a.backend()), Arc::as_ptr(b.backend()))
}

/// Medium-grained ring primitives over backend-resident limb-major buffers.
///
/// `level` is the number of active limbs; `basis` gives the primes (and,
/// through [`RnsBasis::id`], a key for cached device tables).
pub trait Backend: Send + Sync + fmt::Debug {
    /// `"cpu"`, `"cuda"` or `"wgpu"`: the name benchmark records use.
    fn name(&self) -> &'static str;

    /// Fails with [`Error::UnsupportedByBackend`] when this backend cannot run
    /// the basis (e.g. primes of 32 bits or more on a 32-bit-word backend).
    fn check_basis(&self, basis: &RnsBasis) -> Result<(), Error>;

    /// A buffer of `words` zeros.
    fn alloc(&self, words: usize) -> Buffer;
    /// Moves host words into a new buffer.
    fn upload(&self, words: Vec<u64>) -> Buffer;
    /// Copies a buffer's words to the host (returns recorded device errors).
    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error>;
    /// A copy of `buf`.
    fn duplicate(&self, buf: &Buffer) -> Buffer;
    /// Keeps the first `words` words.
    fn truncate(&self, buf: &mut Buffer, words: usize);
    /// Overwrites the contents with zeros (secret material being dropped).
    fn zeroize(&self, buf: &mut Buffer);
    /// Takes a buffer back (to pool or free it).
    fn release(&self, buf: Buffer);

    /// Forward NTT of the limbs `limbs` of a polynomial held in `buf`
    /// (limb `i` at words `i·n..(i+1)·n`); the others are left alone.
    fn ntt_forward(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer);
    /// Inverse NTT of the limbs `limbs` (see [`Backend::ntt_forward`]).
    fn ntt_inverse(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer);
    /// `dst[dst_at..dst_at + len] = src[src_at..src_at + len]` (words): gathers
    /// limbs of different polynomials into one buffer.
    fn copy_words(&self, dst: &mut Buffer, dst_at: usize, src: &Buffer, src_at: usize, len: usize);

    /// `a += b`.
    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer);
    /// `a -= b`.
    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer);
    /// `a = -a`.
    fn neg(&self, basis: &RnsBasis, level: usize, a: &mut Buffer);
    /// `a *= b` pointwise (NTT form).
    fn mul(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer);
    /// `acc += a · b` pointwise (NTT form): tensoring and key-switch inner products.
    fn mul_add(&self, basis: &RnsBasis, level: usize, acc: &mut Buffer, a: &Buffer, b: &Buffer);
    /// `a_i = (a_i - b_i) · c_i` limb by limb: the last step of dividing by
    /// dropped primes (`b` the lifted remainder, `c_i` their inverse mod `q_i`).
    fn sub_scale(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: &mut Buffer,
        b: &Buffer,
        c: &[ShoupConst],
    );
    /// The key-switching inner product over the first `level` limbs (NTT
    /// form): `(Σ_j ext_j·key_b_j, Σ_j ext_j·key_a_j)` as two new buffers.
    /// The key buffers may hold more limbs (a full-level key used lower).
    /// One pass reads every digit once, instead of a multiply-accumulate
    /// pass per digit and key part.
    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
    ) -> (Buffer, Buffer);
    /// `a_i *= c_i` with one constant per limb (`c_i < q_i`).
    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]);

    /// `σ_g` in coefficient form: coefficient `i` moves to `i·g mod 2n`,
    /// negated past `n` (`g` odd, below `2n`; checked by the caller).
    fn automorphism(&self, basis: &RnsBasis, level: usize, src: &Buffer, g: usize) -> Buffer;
    /// Output `k` of every limb is input `perm[k]` (`σ_g` in NTT form).
    fn permute(&self, basis: &RnsBasis, level: usize, src: &Buffer, perm: &[usize]) -> Buffer;
    /// `src · x^k` (coefficient form): a negacyclic shift with sign, `k < 2n`.
    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize) -> Buffer;
    /// `acc += c·x^k·src` (coefficient form, `k < 2n`, `c_i = c mod q_i`): one
    /// term of a sparse plaintext product, in one pass.
    fn monomial_mul_add(
        &self,
        basis: &RnsBasis,
        level: usize,
        acc: &mut Buffer,
        src: &Buffer,
        k: usize,
        c: &[u64],
    );
    /// `round(src / q_{level-1})` modulo the first `level - 1` primes
    /// (coefficient form, `level >= 2`): rescaling and modulus switching.
    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer) -> Buffer;

    /// ModUp of one key-switching digit: `src` holds `level` limbs of `Q_ℓ`
    /// (coefficient form); limbs `digit` are converted by `conv` (to the other
    /// primes of `Q_ℓ`, then the special primes). Returns the digit extended
    /// to `Q_ℓ` (its own residues kept) and to the special primes.
    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: Range<usize>,
        conv: &BaseConverter,
    ) -> (Buffer, Buffer);

    /// The exact lift of the centred representative of `src` (`lift`'s source
    /// primes, coefficient form) to `lift`'s target primes.
    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer) -> Buffer;
    /// BFV's `round(t·e/Q) mod r_j` for `e` given modulo `Q_ℓ` (`eq`, `level`
    /// limbs) and the auxiliary basis `R` (`er`), both coefficient form.
    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
    ) -> Buffer;
}
