//! The Backend trait: the ring primitives every scheme is written against.
//!
//! BFV and CKKS never loop over residues themselves. Each
//! [`RnsPoly`] belongs to an [`RnsBasis`], the basis names one
//! [`Backend`], and every operation on the polynomial is one call of that
//! backend over all active limbs. The CPU backend ([`Cpu`]) lives here, with
//! its buffer pool and thread policy; GPU backends implement the same trait
//! in `hefty-kernels`, keeping polynomials in device memory between calls.
//!
//! The trait has two tiers:
//! - **fine primitives** (memory, NTTs, pointwise arithmetic, automorphisms,
//!   monomials, ModUp of one digit, exact lifts, scale-and-round, the key
//!   inner product, linear combinations): every scheme operation can be
//!   written with these alone;
//! - **coarse entry points** (key switching, rotation, hoisted rotations,
//!   multiply + relinearize (+ rescale), rescale) with default
//!   implementations composed from the fine primitives. The CPU keeps the
//!   defaults; a GPU backend overrides them to fuse a whole operation into
//!   a few kernels, as the fastest GPU libraries do.
//!
//! Conventions every backend follows:
//! - A buffer holds `level` limbs of `n` words, limb-major; limb `i` is
//!   reduced modulo prime `i` of the basis (`[0, q_i)`). A second operand may
//!   hold more limbs than `level` (a key made for the full modulus used at a
//!   lower level): only its first `level` limbs are read.
//! - **Outputs go into caller-provided buffers** (`out`), whose previous
//!   contents do not matter: a device backend reuses their memory. The
//!   caller gets them from [`Backend::scratch`] (contents unspecified, no
//!   zero fill) and hands them back with [`Backend::release`].
//! - NTT form is the bit-reversed negacyclic transform of [`hefty_ntt`].
//! - Kernel launches may be asynchronous: a backend that meets a device
//!   failure records it and returns it from the next
//!   [`Backend::synchronize`] or [`Backend::download`], as CUDA reports
//!   errors at the next synchronisation. Timings must synchronize first.
//! - Memory is fallible: [`Backend::alloc`], [`Backend::scratch`],
//!   [`Backend::upload`] and [`Backend::duplicate`] return
//!   [`Error::OutOfMemory`] instead of aborting.
//! - Constant tables ([`BaseConverter`], [`ExactLift`], [`ScaleRound`],
//!   [`GaloisPermutation`], and each basis) carry a stable [`TableId`]:
//!   built once by the parameters (Galois permutations with the Galois
//!   keys), so a device backend uploads each once and caches it by id.
//!   Per-limb constant vectors (`&[u64]`, `&[ShoupConst]`, at most one word
//!   per prime) are small enough to pass as kernel arguments.

mod buffer;
pub(crate) mod cpu;
pub(crate) mod independent;
mod table;

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

pub use buffer::Buffer;
pub use cpu::Cpu;
pub use table::{TableId, Transfers};

use crate::ring::{GaloisPermutation, RoundingDivider, Word};
use crate::rlwe::{KeySwitcher, SwitchingKey, keyswitch};
use crate::{BaseConverter, Coeff, Error, ExactLift, Ntt, RnsBasis, RnsPoly, ScaleRound};
use hefty_ntt::{Modulus, ShoupConst};

/// What a backend builds once per basis ([`Backend::prepare_basis`]) and
/// the basis keeps: the CPU's NTT plans, a device's twiddle tables.
pub type Prepared = Box<dyn Any + Send + Sync>;

/// Whether two bases name the same backend instance (their polynomials can meet).
pub fn same_backend(a: &RnsBasis, b: &RnsBasis) -> bool {
    // Compare data addresses only: vtable addresses of one type may differ.
    std::ptr::addr_eq(Arc::as_ptr(a.backend()), Arc::as_ptr(b.backend()))
}

/// The weight of one term of [`Backend::linear_combination`].
#[derive(Debug, Clone, Copy)]
pub enum Weight<'a> {
    /// A scalar, given by its residue modulo each prime (`c_i < q_i`).
    Scalar(&'a [u64]),
    /// A plaintext polynomial in NTT form (a pointwise product): a
    /// convolution's or dense layer's weight under the integer encoding.
    Plain(&'a Buffer),
}

/// One term of a [`Backend::linear_layer`] row: the input's index and the
/// weight's residue modulo each prime.
pub type LayerTerm<'a> = (usize, &'a [u64]);

/// One term `c·x^k·src` of [`Backend::monomial_combination`]: the source
/// polynomial (coefficient form), the power `k < 2n` and `c`'s residue
/// modulo each prime (`c_i < q_i`).
pub type MonomialTerm<'a> = (&'a Buffer, usize, &'a [u64]);

/// One term `c·x^k·inputs[j]` of a [`Backend::monomial_layer`] row: the
/// input's index, the power `k < 2n` and `c`'s residues.
pub type MonomialLayerTerm<'a> = (usize, usize, &'a [u64]);

/// The operand checks of [`Backend::linear_combination`], for every
/// backend: each term and plain weight covers `moduli.len()` limbs of `n`
/// words (`words` gives a buffer's length in words) and each scalar weight
/// is reduced.
pub fn check_combination(
    moduli: &[Modulus],
    n: usize,
    terms: &[(&Buffer, Weight<'_>)],
    words: impl Fn(&Buffer) -> usize,
) -> Result<(), Error> {
    let level = moduli.len();
    let short = terms.iter().any(|(x, w)| {
        words(x) < level * n
            || match w {
                Weight::Scalar(c) => {
                    c.len() < level || c.iter().zip(moduli).any(|(&c, m)| c >= m.value())
                }
                Weight::Plain(p) => words(p) < level * n,
            }
    });
    if short {
        return Err(Error::InvalidParameters(format!(
            "a linear-combination term does not cover {level} limbs of {n} reduced residues: give every term and weight at the output's level"
        )));
    }
    Ok(())
}

/// The shape checks of [`Backend::monomial_layer`], for every backend: one
/// output per row, every index naming an input, every power below `2n`.
pub(crate) fn check_monomial_layer(
    inputs: usize,
    rows: &[&[MonomialLayerTerm<'_>]],
    outs: usize,
    two_n: usize,
) -> Result<(), Error> {
    if rows.len() != outs {
        return Err(Error::InvalidParameters(format!(
            "a monomial layer of {} rows needs {} outputs, got {outs}",
            rows.len(),
            rows.len()
        )));
    }
    if let Some(&(j, k, _)) = rows
        .iter()
        .flat_map(|r| r.iter())
        .find(|t| t.0 >= inputs || t.1 >= two_n)
    {
        return Err(Error::InvalidParameters(format!(
            "a monomial-layer term names input {j} of {inputs} with power {k} (below {two_n} needed)"
        )));
    }
    Ok(())
}

/// The shape checks of [`Backend::linear_layer`]: one output per row, every
/// term naming an input.
pub(crate) fn check_layer(
    inputs: usize,
    rows: &[&[LayerTerm<'_>]],
    outs: usize,
) -> Result<(), Error> {
    if rows.len() != outs {
        return Err(Error::InvalidParameters(format!(
            "a linear layer of {} rows needs {} outputs, got {outs}",
            rows.len(),
            rows.len()
        )));
    }
    if let Some(&(j, _)) = rows.iter().flat_map(|r| r.iter()).find(|t| t.0 >= inputs) {
        return Err(Error::InvalidParameters(format!(
            "a linear-layer term names input {j} of {inputs}"
        )));
    }
    Ok(())
}

/// Medium-grained ring primitives over backend-resident limb-major buffers.
///
/// `level` is the number of active limbs; `basis` gives the primes (and,
/// through [`RnsBasis::id`] and [`RnsBasis::prepared`], the backend's own
/// per-basis state).
pub trait Backend: Send + Sync + fmt::Debug {
    /// `"cpu"`, `"cuda"` or `"wgpu"`: the name benchmark records use.
    fn name(&self) -> &'static str;

    /// Builds this backend's per-basis state (the CPU's NTT plans; a
    /// device's twiddles in device memory), which the basis keeps and hands
    /// back through [`RnsBasis::prepared`]. Fails with
    /// [`Error::UnsupportedByBackend`] when this backend cannot run the
    /// primes (e.g. primes of 32 bits or more on a 32-bit-word backend:
    /// `word` is the narrowest word every residue fits).
    fn prepare_basis(&self, n: usize, moduli: &[Modulus], word: Word) -> Result<Prepared, Error>;

    /// Waits until every operation queued so far has finished; returns a
    /// device failure recorded since the last call. The CPU is synchronous.
    fn synchronize(&self) -> Result<(), Error> {
        Ok(())
    }

    /// The device this backend runs on, for benchmark records (a GPU
    /// backend's adapter name); `None` for the host CPU.
    fn device_name(&self) -> Option<String> {
        None
    }

    /// Switches timing of the device's kernels by its own clock on (`true`)
    /// or off: a profiling mode (wgpu: timestamp queries around every
    /// compute pass, read back at each submission), which slows the host
    /// side, so wall-time measurements leave it off. Returns whether this
    /// backend can; switching on restarts the count. The CPU cannot: its
    /// wall time is its kernel time.
    fn set_kernel_timing(&self, _on: bool) -> bool {
        false
    }

    /// Nanoseconds of device kernel time since timing was switched on
    /// (work submitted so far; [`Backend::synchronize`] first), or `None`
    /// when timing is off.
    fn kernel_ns(&self) -> Option<u64> {
        None
    }

    /// Host↔backend transfers since creation, for backends that count them
    /// (device backends must: the conformance suite asserts that none
    /// happen while a circuit evaluates). The CPU moves nothing.
    fn transfers(&self) -> Option<Transfers> {
        None
    }

    /// Runs independent parts of one operation (the polynomials of a
    /// ciphertext, the digits of a key switch). The CPU spreads them over
    /// its threads; the default runs them in order (one stream).
    fn run_independent(&self, jobs: &mut [&mut (dyn FnMut() + Send)]) {
        for job in jobs {
            job();
        }
    }

    /// A buffer of `words` zeros.
    fn alloc(&self, words: usize) -> Result<Buffer, Error>;
    /// A buffer with room for `words` words and unspecified contents: the
    /// `out` of a primitive, which overwrites all of it.
    fn scratch(&self, words: usize) -> Result<Buffer, Error> {
        self.alloc(words)
    }
    /// Moves host words into a new buffer.
    fn upload(&self, words: Vec<u64>) -> Result<Buffer, Error>;
    /// Copies a buffer's words to the host (returns recorded device errors).
    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error>;
    /// A copy of `buf`.
    fn duplicate(&self, buf: &Buffer) -> Result<Buffer, Error>;
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
    /// Copies limbs `src_limbs` of `src` into `dst` from limb `dst_limb` on
    /// (limbs of `n` words; the bases may differ, the degree may not):
    /// gathers limbs of different polynomials into one buffer.
    fn copy_limbs(
        &self,
        n: usize,
        dst: &mut Buffer,
        dst_limb: usize,
        src: &Buffer,
        src_limbs: Range<usize>,
    );

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
    /// The tensor of two ciphertexts `(a_0, a_1)` and `(b_0, b_1)` (NTT
    /// form, `level` limbs each): `d_0 = a_0·b_0`, `d_1 = a_0·b_1 + a_1·b_0`,
    /// `d_2 = a_1·b_1` pointwise. A device fuses it into one pass that reads
    /// each operand once; the default copies and multiplies (four passes).
    fn tensor(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: [&Buffer; 2],
        b: [&Buffer; 2],
        d: [&mut Buffer; 3],
    ) {
        let n = basis.degree();
        let [d0, d1, d2] = d;
        self.copy_limbs(n, d0, 0, a[0], 0..level);
        self.mul(basis, level, d0, b[0]);
        self.copy_limbs(n, d1, 0, a[0], 0..level);
        self.mul(basis, level, d1, b[1]);
        self.mul_add(basis, level, d1, a[1], b[0]);
        self.copy_limbs(n, d2, 0, a[1], 0..level);
        self.mul(basis, level, d2, b[1]);
    }
    /// The tensor of `a = u + r` and `b = u − r` with `r = m·v` pointwise
    /// (NTT form, `level` limbs each; `m` one polynomial, e.g. a monomial's
    /// NTT): `d_0 = a_0·b_0`, `d_1 = a_0·b_1 + a_1·b_0`, `d_2 = a_1·b_1`.
    /// CKKS batch packing squares two images per slot this way. The default
    /// forms `r`, `a` and `b`, then calls [`Self::tensor`]; a backend fuses
    /// it into one pass that reads each operand once and writes only `d`.
    fn tensor_pair(
        &self,
        basis: &RnsBasis,
        level: usize,
        u: [&Buffer; 2],
        v: [&Buffer; 2],
        m: &Buffer,
        d: [&mut Buffer; 3],
    ) -> Result<(), Error> {
        let n = basis.degree();
        let words = level * n;
        let mut a = [self.alloc(words)?, self.alloc(words)?];
        let mut b = [self.alloc(words)?, self.alloc(words)?];
        for i in 0..2 {
            let mut r = self.alloc(words)?;
            self.copy_limbs(n, &mut r, 0, v[i], 0..level);
            self.mul(basis, level, &mut r, m);
            self.copy_limbs(n, &mut a[i], 0, u[i], 0..level);
            self.add(basis, level, &mut a[i], &r);
            self.copy_limbs(n, &mut b[i], 0, u[i], 0..level);
            self.sub(basis, level, &mut b[i], &r);
            self.release(r);
        }
        self.tensor(basis, level, [&a[0], &a[1]], [&b[0], &b[1]], d);
        for buf in a.into_iter().chain(b) {
            self.release(buf);
        }
        Ok(())
    }
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
    /// form): `out_b = Σ_j ext_j·key_b_j`, `out_a = Σ_j ext_j·key_a_j`.
    /// The key buffers may hold more limbs (a full-level key used lower).
    /// One pass reads every digit once, instead of a multiply-accumulate
    /// pass per digit and key part.
    #[allow(clippy::too_many_arguments)]
    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
        out_b: &mut Buffer,
        out_a: &mut Buffer,
    );
    /// `a_i *= c_i` with one constant per limb (`c_i < q_i`).
    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]);
    /// `a_i += c_i` in every word of limb `i` (`c_i < q_i`): a constant added
    /// in NTT form, where a constant polynomial is that constant in every slot.
    fn add_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]);
    /// `out = Σ_j w_j · x_j` over the first `level` limbs, reduced once per
    /// output word rather than once per term (lazily): the primitive
    /// encrypted convolutions and dense layers spend their time in. Plain
    /// weights are pointwise (NTT form); scalar weights work in either form.
    fn linear_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[(&Buffer, Weight<'_>)],
        out: &mut Buffer,
    ) -> Result<(), Error>;

    /// `outs[r] = Σ w · inputs[j]` over the terms `(j, w)` of `rows[r]`
    /// (`w` a scalar by its residues, as in [`Weight::Scalar`]): a whole
    /// linear layer — a sparse matrix times a vector of polynomials — in one
    /// call, so a backend can keep tiles of the inputs in fast memory while
    /// every row that reads them is summed. An empty row gives zero. The
    /// default is one [`Self::linear_combination`] per row.
    fn linear_layer(
        &self,
        basis: &RnsBasis,
        level: usize,
        inputs: &[&Buffer],
        rows: &[&[LayerTerm<'_>]],
        outs: &mut [Buffer],
    ) -> Result<(), Error> {
        check_layer(inputs.len(), rows, outs.len())?;
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            let terms: Vec<(&Buffer, Weight<'_>)> = row
                .iter()
                .map(|&(j, w)| (inputs[j], Weight::Scalar(w)))
                .collect();
            self.linear_combination(basis, level, &terms, out)?;
        }
        Ok(())
    }

    /// `out = σ_g(src)` in coefficient form: coefficient `i` moves to
    /// `i·g mod 2n`, negated past `n` (`g` odd, below `2n`; checked by the caller).
    fn automorphism(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        g: usize,
        out: &mut Buffer,
    );
    /// Output `k` of every limb is input `perm[k]` (`σ_g` in NTT form).
    fn permute(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        perm: &GaloisPermutation,
        out: &mut Buffer,
    );
    /// `out = src · x^k` (coefficient form): a negacyclic shift with sign, `k < 2n`.
    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize, out: &mut Buffer);
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
    /// `out = Σ c·x^k·src` over `terms` (coefficient form, `level` limbs):
    /// a sum of monomial products — a row of an integer-encoded layer, with
    /// power-of-two weights — in one call, so a backend can sum all terms
    /// before reducing. The default zeroes `out` and runs one
    /// [`Self::monomial_mul_add`] per term.
    fn monomial_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[MonomialTerm<'_>],
        out: &mut Buffer,
    ) -> Result<(), Error> {
        let words = level * basis.degree();
        let mut acc = self.alloc(words)?;
        for &(src, k, c) in terms {
            self.monomial_mul_add(basis, level, &mut acc, src, k, c);
        }
        self.release(std::mem::replace(out, acc));
        Ok(())
    }
    /// `outs[r] = Σ c·x^k·inputs[j]` over the terms `(j, k, c)` of
    /// `rows[r]` (coefficient form): a whole integer-encoded layer in one
    /// call, so a backend can keep the inputs' words in fast memory while
    /// every row that reads them is summed. An empty row gives zero. The
    /// default is one [`Self::monomial_combination`] per row.
    fn monomial_layer(
        &self,
        basis: &RnsBasis,
        level: usize,
        inputs: &[&Buffer],
        rows: &[&[MonomialLayerTerm<'_>]],
        outs: &mut [Buffer],
    ) -> Result<(), Error> {
        check_monomial_layer(inputs.len(), rows, outs.len(), 2 * basis.degree())?;
        for (row, out) in rows.iter().zip(outs.iter_mut()) {
            let terms: Vec<MonomialTerm<'_>> =
                row.iter().map(|&(j, k, c)| (inputs[j], k, c)).collect();
            self.monomial_combination(basis, level, &terms, out)?;
        }
        Ok(())
    }
    /// `out = round(src / q_{level-1})` modulo the first `level - 1` primes
    /// (coefficient form, `level >= 2`): BFV's modulus switching.
    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer, out: &mut Buffer);

    /// ModUp of one key-switching digit: `src` holds `level` limbs of `Q_ℓ`
    /// (coefficient form); limbs `digit` are converted by `conv` (to the other
    /// primes of `Q_ℓ`, then the special primes). Writes the digit extended
    /// to `Q_ℓ` (its own residues kept) into `out_q` and to the special
    /// primes into `out_p`.
    #[allow(clippy::too_many_arguments)]
    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: Range<usize>,
        conv: &BaseConverter,
        out_q: &mut Buffer,
        out_p: &mut Buffer,
    );

    /// `out` = the exact lift of the centred representative of `src`
    /// (`lift`'s source primes, coefficient form) to `lift`'s target primes.
    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer, out: &mut Buffer);
    /// BFV's `round(t·e/Q) mod r_j` for `e` given modulo `Q_ℓ` (`eq`, `level`
    /// limbs) and the auxiliary basis `R` (`er`), both coefficient form.
    #[allow(clippy::too_many_arguments)]
    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
        out: &mut Buffer,
    );

    // Coarse entry points: defaults composed from the primitives above.

    /// Key switching of `d` (NTT form, level `ℓ`): ModUp of every digit,
    /// the key inner product, ModDown by `P`. Returns `(u_0, u_1)` in NTT
    /// form with `u_0 + u_1·s ≈ d·s'`.
    fn key_switch(
        &self,
        switcher: &KeySwitcher,
        d: &RnsPoly<Ntt>,
        key: &SwitchingKey,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        keyswitch::compose::key_switch(switcher, d, key)
    }

    /// [`Backend::key_switch`] for `d` in coefficient form, results in
    /// coefficient form (BFV, whose ciphertexts stay in coefficient form for
    /// its HPS multiplication).
    fn key_switch_coeff(
        &self,
        switcher: &KeySwitcher,
        d: &RnsPoly<Coeff>,
        key: &SwitchingKey,
    ) -> Result<[RnsPoly<Coeff>; 2], Error> {
        keyswitch::compose::key_switch(switcher, d, key)
    }

    /// `σ_g` of a two-polynomial NTT-form ciphertext `(c_0, c_1)`, switched
    /// back under `s` with the Galois key of `g`.
    fn rotate(
        &self,
        switcher: &KeySwitcher,
        ct: [&RnsPoly<Ntt>; 2],
        key: &SwitchingKey,
        perm: &GaloisPermutation,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        keyswitch::compose::rotate(switcher, ct, key, perm)
    }

    /// Several rotations of one ciphertext sharing one ModUp of `c_1`
    /// (hoisting): each costs a permutation, the key inner product and ModDown.
    fn rotate_hoisted(
        &self,
        switcher: &KeySwitcher,
        ct: [&RnsPoly<Ntt>; 2],
        keys: &[(&SwitchingKey, &GaloisPermutation)],
    ) -> Result<Vec<[RnsPoly<Ntt>; 2]>, Error> {
        keyswitch::compose::rotate_hoisted(switcher, ct, keys)
    }

    /// `round(a / D)` with `D` the primes `divider` drops at `a`'s level
    /// (NTT form): a CKKS rescale. Takes `a` by value: the division works
    /// in place, and a caller that still needs `a` clones it.
    fn rescale(&self, divider: &RoundingDivider, a: RnsPoly<Ntt>) -> Result<RnsPoly<Ntt>, Error> {
        divider.divide_ntt(a, None)
    }

    /// Multiply + relinearize (+ rescale) of two-polynomial NTT-form
    /// ciphertexts at one level: the tensor `(d_0, d_1, d_2)`, key switching
    /// of `d_2`, and one division by `P` — or by `P·q_ℓ` when `rescale`
    /// (the level's relinearize-and-rescale divider) is given.
    fn mul_relin(
        &self,
        switcher: &KeySwitcher,
        a: [&RnsPoly<Ntt>; 2],
        b: [&RnsPoly<Ntt>; 2],
        key: &SwitchingKey,
        rescale: Option<&RoundingDivider>,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        keyswitch::compose::mul_relin(switcher, a, b, key, rescale)
    }

    /// Relinearize (+ rescale) of a three-polynomial NTT-form ciphertext
    /// `(d_0, d_1, d_2)` — a product, or a sum of products — the second
    /// half of [`Self::mul_relin`]: key switching of `d_2` and one division
    /// by `P`, or by `P·q_ℓ` when `rescale` is given.
    fn relinearize(
        &self,
        switcher: &KeySwitcher,
        d: [RnsPoly<Ntt>; 3],
        key: &SwitchingKey,
        rescale: Option<&RoundingDivider>,
    ) -> Result<[RnsPoly<Ntt>; 2], Error> {
        keyswitch::compose::relinearize(switcher, d, key, rescale)
    }
}
