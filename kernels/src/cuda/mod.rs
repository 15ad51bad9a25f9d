//! The CUDA backend: hefty-core's [`Backend`] as CUDA C kernels, compiled at
//! run time by NVRTC for the device's compute capability (cached per
//! process), on 64-bit words (every preset: primes below 2^62) or 32-bit
//! words (the W32 presets: primes below 2^31).
//!
//! Every primitive is one launch over all limbs of a polynomial (the NTT:
//! two, with shared-memory stages; the key inner product: one pass over
//! all digits); results are fully reduced residues, bit-identical to the
//! CPU backend's. The same kernel source also compiles for the host, where
//! [`Cuda::emulated`] runs it block by block: the hefty-core conformance
//! suite checks every kernel against the CPU that way on machines without
//! a GPU, and on the device itself when there is one.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hefty_kernels::Cuda;
//! use hefty_core::{Backend, ckks};
//!
//! let gpu: Arc<dyn Backend> = Arc::new(Cuda::new()?);
//! let params = ckks::Preset::for_degree(1 << 14)?.build_on(gpu)?;
//! # Ok::<(), hefty_core::Error>(())
//! ```

mod args;
mod gpu;
pub mod host;
mod memory;
pub mod source;
mod tables;

use std::ops::Range;
use std::sync::Mutex;

use hefty_core::backend::{Prepared, Transfers, Weight};
use hefty_core::ntt::{Modulus, ShoupConst};
use hefty_core::ring::{GaloisPermutation, Word};
use hefty_core::{Backend, BaseConverter, Buffer, Error, ExactLift, RnsBasis, ScaleRound};

use crate::layout;
use crate::table_cache::TableCache;
use args::{AUX, Args, IN1, IN2, MAX_LIMBS, OUT, TABLE};
use gpu::{BLOCK, Gpu};
use host::HostMem;
use memory::{Mem, Pool, words, words_mut};
use tables::{DeviceBasis, device_basis, from_bytes, to_bytes};

pub use gpu::driver_present;

/// The backend's name in records and errors.
pub(crate) const NAME: &str = "cuda";

/// Points of one NTT block in shared memory (`NTT_BLOCK` in `arith.h`).
const NTT_BLOCK: usize = 2048;

/// Digits one key-inner-product launch lists (3 buffers each, `MAX_LIST`).
const DIGITS_PER_LAUNCH: usize = args::MAX_LIST / 3;

/// Where the kernels run.
enum Engine {
    Gpu(Gpu),
    /// The host emulation (`host.rs`).
    Host,
}

/// The CUDA backend: one device (or the host emulation), one stream, a
/// memory pool and the constant tables uploaded so far.
pub struct Cuda {
    engine: Engine,
    word: Word,
    pool: Pool,
    tables: TableCache<Mem>,
    failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for Cuda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cuda")
            .field("device", &self.device())
            .field("word", &self.word)
            .finish_non_exhaustive()
    }
}

impl Cuda {
    /// CUDA device 0 with 64-bit words (runs every preset). A machine
    /// without a CUDA driver, device or NVRTC gets [`Error::NoDevice`]
    /// ("no cuda device: …", saying what is missing) — never a panic.
    pub fn new() -> Result<Self, Error> {
        Self::on_device(0, Word::W64)
    }

    /// CUDA device 0 with `word`-sized words: [`Word::W32`] runs the W32
    /// presets (primes below 2^31) at half the memory traffic.
    pub fn with_word(word: Word) -> Result<Self, Error> {
        Self::on_device(0, word)
    }

    /// CUDA device `ordinal` with `word`-sized words.
    pub fn on_device(ordinal: usize, word: Word) -> Result<Self, Error> {
        Ok(Self::from_engine(
            Engine::Gpu(Gpu::open(ordinal, word)?),
            word,
        ))
    }

    /// The same kernels compiled for the host and run block by block, one
    /// thread per block: slow, but it executes every kernel's code without
    /// a GPU, so tests compare it with the CPU backend anywhere.
    pub fn emulated(word: Word) -> Self {
        Self::from_engine(Engine::Host, word)
    }

    fn from_engine(engine: Engine, word: Word) -> Self {
        Self {
            engine,
            word,
            pool: Pool::default(),
            tables: TableCache::default(),
            failure: Mutex::new(None),
        }
    }

    /// The device's name and architecture, e.g. `NVIDIA H200 (sm_90)`, or
    /// `host emulation`.
    pub fn device(&self) -> String {
        match &self.engine {
            Engine::Gpu(g) => g.name.clone(),
            Engine::Host => "host emulation".into(),
        }
    }

    /// The word size the kernels run.
    pub fn word(&self) -> Word {
        self.word
    }

    fn bits(&self) -> u32 {
        source::bits(self.word)
    }

    fn word_bytes(&self) -> usize {
        self.bits() as usize / 8
    }

    /// Keeps the first failure for the next synchronisation (launches are
    /// asynchronous, and most primitives return nothing).
    fn record(&self, message: String) {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(message);
        }
    }

    fn note(&self, r: Result<(), Error>) {
        if let Err(e) = r {
            self.record(e.to_string());
        }
    }

    /// The recorded failure, if any (cleared).
    fn check(&self) -> Result<(), Error> {
        match self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            None => Ok(()),
            Some(message) => Err(Error::Device {
                backend: NAME,
                message,
            }),
        }
    }

    /// `bytes` of fresh memory.
    fn mem(&self, bytes: usize) -> Result<Mem, Error> {
        match &self.engine {
            Engine::Gpu(g) => g.alloc(bytes).map(Mem::Gpu),
            Engine::Host => HostMem::new(bytes).map(Mem::Host),
        }
    }

    /// New memory holding `bytes`.
    fn upload_bytes(&self, bytes: &[u8]) -> Result<Mem, Error> {
        let mem = self.mem(bytes.len())?;
        match &self.engine {
            Engine::Gpu(g) => g.upload(mem.addr(), bytes)?,
            Engine::Host => host::upload(mem.addr(), bytes),
        }
        Ok(mem)
    }

    /// Zeroes `len` words at word `at` of `addr`.
    fn zero(&self, addr: u64, at: usize, len: usize) {
        let wb = self.word_bytes();
        let start = addr + (at * wb) as u64;
        match &self.engine {
            Engine::Gpu(g) => self.note(g.zero(start, len * wb)),
            Engine::Host => host::zero(start, len * wb),
        }
    }

    /// Copies `len` words from word `src_at` of `src` to word `dst_at` of `dst`.
    fn copy(&self, src: u64, src_at: usize, dst: u64, dst_at: usize, len: usize) {
        let wb = self.word_bytes();
        let (s, d) = (src + (src_at * wb) as u64, dst + (dst_at * wb) as u64);
        match &self.engine {
            Engine::Gpu(g) => self.note(g.copy(d, s, len * wb)),
            Engine::Host => host::copy(d, s, len * wb),
        }
    }

    /// A buffer of `len` words, contents unspecified.
    fn take(&self, len: usize) -> Result<Buffer, Error> {
        let wb = self.word_bytes();
        memory::take(&self.pool, len, |cap| self.mem(cap * wb))
    }

    /// `out` with room for `len` words, its length set to `len` (its
    /// contents are not kept when it must grow).
    fn ensure(&self, out: &mut Buffer, len: usize) -> Result<(), Error> {
        if words(out).cap < len {
            let fresh = self.take(len)?;
            let old = std::mem::replace(out, fresh);
            memory::give(&self.pool, old);
        }
        words_mut(out).len = len;
        Ok(())
    }

    /// Runs `kernel` over a `(gx, gy)` grid of blocks.
    fn launch(&self, kernel: &str, grid: (u32, u32), a: &Args) {
        let r = match self.word {
            Word::W64 => match a.pack::<u64>() {
                None => Err(too_many(kernel)),
                Some(k) => match &self.engine {
                    Engine::Gpu(g) => g.launch(kernel, grid, &k),
                    Engine::Host => host::launch64(kernel, grid, &k),
                },
            },
            Word::W32 => match a.pack::<u32>() {
                None => Err(too_many(kernel)),
                Some(k) => match &self.engine {
                    Engine::Gpu(g) => g.launch(kernel, grid, &k),
                    Engine::Host => host::launch32(kernel, grid, &k),
                },
            },
        };
        self.note(r);
    }

    /// A kernel over `total` words, one thread per word.
    fn flat(&self, kernel: &str, a: &Args, total: usize) {
        let blocks = total.div_ceil(BLOCK as usize).max(1);
        self.launch(kernel, (blocks as u32, 1), a);
    }

    /// Launch arguments over `level` limbs of `basis`.
    fn args(&self, basis: &RnsBasis, level: usize) -> Args {
        Args::new(basis.degree(), level, device_basis(basis).primes())
    }

    /// The device table of one constant table, built on first use.
    fn table(
        &self,
        id: hefty_core::backend::TableId,
        bytes: impl FnOnce() -> Result<Vec<u8>, Error>,
    ) -> Result<u64, Error> {
        let t = self.tables.get(id, || {
            let mut b = bytes()?;
            // A device allocation is never empty.
            if b.is_empty() {
                b.resize(8, 0);
            }
            self.upload_bytes(&b)
        })?;
        Ok(t.addr())
    }
}

fn too_many(kernel: &str) -> Error {
    Error::UnsupportedByBackend {
        backend: NAME,
        reason: format!(
            "`{kernel}` needs more than {MAX_LIMBS} per-limb constants or {} listed buffers in one launch",
            args::MAX_LIST
        ),
    }
}

impl Backend for Cuda {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare_basis(&self, n: usize, moduli: &[Modulus], word: Word) -> Result<Prepared, Error> {
        if self.word == Word::W32 && word != Word::W32 {
            return Err(Error::UnsupportedByBackend {
                backend: NAME,
                reason: format!(
                    "its primes need {} words and this CUDA backend runs 32-bit words: use `Cuda::new()` (64-bit words) or the W32 presets",
                    word.name()
                ),
            });
        }
        if moduli.len() > MAX_LIMBS {
            return Err(Error::UnsupportedByBackend {
                backend: NAME,
                reason: format!(
                    "a basis of {} primes (the kernels take at most {MAX_LIMBS})",
                    moduli.len()
                ),
            });
        }
        let bits = self.bits();
        Ok(Box::new(DeviceBasis::new(n, moduli, bits, |b| {
            self.upload_bytes(b)
        })?))
    }

    fn synchronize(&self) -> Result<(), Error> {
        if let Engine::Gpu(g) = &self.engine {
            self.note(g.synchronize());
        }
        self.check()
    }

    fn device_name(&self) -> Option<String> {
        Some(self.device())
    }

    fn transfers(&self) -> Option<Transfers> {
        Some(self.pool.transfers())
    }

    fn alloc(&self, len: usize) -> Result<Buffer, Error> {
        let buf = self.take(len)?;
        self.zero(words(&buf).addr(), 0, len);
        Ok(buf)
    }

    fn scratch(&self, len: usize) -> Result<Buffer, Error> {
        self.take(len)
    }

    fn upload(&self, host: Vec<u64>) -> Result<Buffer, Error> {
        let bytes = to_bytes(&host, self.bits())?;
        let buf = self.take(host.len())?;
        match &self.engine {
            Engine::Gpu(g) => g.upload(words(&buf).addr(), &bytes)?,
            Engine::Host => host::upload(words(&buf).addr(), &bytes),
        }
        self.pool.count_upload();
        Ok(buf)
    }

    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        self.pool.count_download();
        let d = words(buf);
        let bytes = d.len * self.word_bytes();
        let raw = match &self.engine {
            Engine::Gpu(g) => {
                self.check()?;
                g.download(d.addr(), bytes)?
            }
            Engine::Host => host::download(d.addr(), bytes),
        };
        self.check()?;
        Ok(from_bytes(&raw, self.bits()))
    }

    fn duplicate(&self, buf: &Buffer) -> Result<Buffer, Error> {
        let len = words(buf).len;
        let copy = self.take(len)?;
        self.copy(words(buf).addr(), 0, words(&copy).addr(), 0, len);
        Ok(copy)
    }

    fn truncate(&self, buf: &mut Buffer, len: usize) {
        let d = words_mut(buf);
        d.len = d.len.min(len);
    }

    fn zeroize(&self, buf: &mut Buffer) {
        let d = words(buf);
        self.zero(d.addr(), 0, d.cap);
    }

    fn release(&self, buf: Buffer) {
        memory::give(&self.pool, buf);
    }

    fn ntt_forward(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        let db = device_basis(basis);
        let count = limbs.len();
        let header = |m: usize, t: usize, blk: usize| {
            Args::new(n, count, db.primes())
                .with(OUT, words(buf).addr())
                .with(TABLE, db.twiddles())
                .header(2, limbs.start as u32)
                .header(3, m as u32)
                .header(4, t as u32)
                .header(5, blk as u32)
        };
        if n > NTT_BLOCK {
            // Two passes: the eleven widest stages on strided points, then
            // the rest on contiguous blocks.
            let s = n / NTT_BLOCK;
            let grid = (s as u32, count as u32);
            self.launch("ntt_forward_strided", grid, &header(1, n / 2, NTT_BLOCK));
            if s > 1 {
                self.launch(
                    "ntt_forward_block",
                    grid,
                    &header(NTT_BLOCK, s / 2, NTT_BLOCK),
                );
            }
        } else if n >= 2 {
            self.launch("ntt_forward_block", (1, count as u32), &header(1, n / 2, n));
        }
    }

    fn ntt_inverse(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        let db = device_basis(basis);
        let count = limbs.len();
        // Header word 6: the span at which the block kernel stops.
        let header = |blk: usize, stop: usize| {
            Args::new(n, count, db.primes())
                .with(OUT, words(buf).addr())
                .with(TABLE, db.twiddles())
                .header(2, limbs.start as u32)
                .header(5, blk as u32)
                .header(6, stop as u32)
        };
        if n > NTT_BLOCK {
            let s = n / NTT_BLOCK;
            let grid = (s as u32, count as u32);
            self.launch("ntt_inverse_block", grid, &header(NTT_BLOCK, s));
            self.launch("ntt_inverse_strided", grid, &header(NTT_BLOCK, s));
        } else if n >= 2 {
            if n >= 4 {
                self.launch("ntt_inverse_block", (1, count as u32), &header(n, n / 2));
            }
            self.flat("ntt_inverse_last", &header(n, n / 2), count * n / 2);
        }
    }

    fn copy_limbs(
        &self,
        n: usize,
        dst: &mut Buffer,
        dst_limb: usize,
        src: &Buffer,
        src_limbs: Range<usize>,
    ) {
        let (at, len) = (dst_limb * n, src_limbs.len() * n);
        let need = at + len;
        if words(dst).cap < need {
            // Grow, keeping the words already written.
            match self.take(need) {
                Ok(fresh) => {
                    let kept = words(dst).len;
                    self.copy(words(dst).addr(), 0, words(&fresh).addr(), 0, kept);
                    let old = std::mem::replace(dst, fresh);
                    words_mut(dst).len = kept;
                    memory::give(&self.pool, old);
                }
                Err(e) => {
                    self.record(format!("copying limbs needed a larger buffer: {e}"));
                    return;
                }
            }
        }
        self.copy(
            words(src).addr(),
            src_limbs.start * n,
            words(dst).addr(),
            at,
            len,
        );
        let d = words_mut(dst);
        d.len = d.len.max(need);
    }

    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .with(IN1, words(b).addr());
        self.flat("add", &args, level * basis.degree());
    }

    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .with(IN1, words(b).addr());
        self.flat("sub", &args, level * basis.degree());
    }

    fn neg(&self, basis: &RnsBasis, level: usize, a: &mut Buffer) {
        let args = self.args(basis, level).with(OUT, words(a).addr());
        self.flat("neg", &args, level * basis.degree());
    }

    fn mul(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .with(IN1, words(b).addr());
        self.flat("mul", &args, level * basis.degree());
    }

    fn mul_add(&self, basis: &RnsBasis, level: usize, acc: &mut Buffer, a: &Buffer, b: &Buffer) {
        let args = self
            .args(basis, level)
            .with(OUT, words(acc).addr())
            .with(IN1, words(a).addr())
            .with(IN2, words(b).addr());
        self.flat("mul_add", &args, level * basis.degree());
    }

    fn sub_scale(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: &mut Buffer,
        b: &Buffer,
        c: &[ShoupConst],
    ) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .with(IN1, words(b).addr())
            .constants(&basis.moduli()[..level], |i| c[i].value, self.bits());
        self.flat("sub_scale", &args, level * basis.degree());
    }

    fn key_inner_product(
        &self,
        basis: &RnsBasis,
        level: usize,
        ext: &[&Buffer],
        key_b: &[&Buffer],
        key_a: &[&Buffer],
        out_b: &mut Buffer,
        out_a: &mut Buffer,
    ) {
        let n = basis.degree();
        for out in [&mut *out_b, &mut *out_a] {
            if let Err(e) = self.ensure(out, level * n) {
                self.record(format!("the key inner product could not allocate: {e}"));
                return;
            }
        }
        if ext.is_empty() {
            self.zero(words(out_b).addr(), 0, level * n);
            self.zero(words(out_a).addr(), 0, level * n);
            return;
        }
        // One pass over the digits (several when there are more digits than
        // a launch lists, each adding to the last).
        for (chunk, start) in (0..ext.len()).step_by(DIGITS_PER_LAUNCH).enumerate() {
            let end = (start + DIGITS_PER_LAUNCH).min(ext.len());
            let mut args = self
                .args(basis, level)
                .with(OUT, words(out_b).addr())
                .with(IN1, words(out_a).addr())
                .header(2, (end - start) as u32)
                .header(3, (chunk > 0) as u32);
            for part in [ext, key_b, key_a] {
                args.list
                    .extend(part[start..end].iter().map(|b| words(b).addr()));
            }
            self.flat("key_inner_product", &args, level * n);
        }
    }

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
        for out in [&mut *d0, &mut *d1, &mut *d2] {
            if let Err(e) = self.ensure(out, level * n) {
                return self.record(format!("the tensor could not allocate: {e}"));
            }
        }
        let mut args = self
            .args(basis, level)
            .with(OUT, words(d0).addr())
            .with(IN1, words(d1).addr())
            .with(IN2, words(d2).addr());
        args.list = [a[0], a[1], b[0], b[1]]
            .iter()
            .map(|x| words(x).addr())
            .collect();
        self.flat("tensor", &args, level * n);
    }

    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .constants(&basis.moduli()[..level], |i| c[i], self.bits());
        self.flat("mul_const", &args, level * basis.degree());
    }

    fn add_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let args = self
            .args(basis, level)
            .with(OUT, words(a).addr())
            .constants(&basis.moduli()[..level], |i| c[i], self.bits());
        self.flat("add_const", &args, level * basis.degree());
    }

    fn linear_combination(
        &self,
        basis: &RnsBasis,
        level: usize,
        terms: &[(&Buffer, Weight<'_>)],
        out: &mut Buffer,
    ) -> Result<(), Error> {
        let n = basis.degree();
        let moduli = &basis.moduli()[..level];
        hefty_core::backend::check_combination(moduli, n, terms, |b| words(b).len)?;
        self.ensure(out, level * n)?;
        if terms.is_empty() {
            self.zero(words(out).addr(), 0, level * n);
        }
        for (j, (x, w)) in terms.iter().enumerate() {
            let first = (j == 0) as u32;
            let args = self
                .args(basis, level)
                .with(OUT, words(out).addr())
                .with(IN1, words(x).addr())
                .header(2, first);
            match w {
                Weight::Scalar(c) => {
                    let args = args.constants(moduli, |i| c[i], self.bits());
                    self.flat("mul_const_add", &args, level * n);
                }
                Weight::Plain(pw) => {
                    let args = args.with(IN2, words(pw).addr());
                    self.flat("mul_add", &args, level * n);
                }
            }
        }
        Ok(())
    }

    fn automorphism(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        g: usize,
        out: &mut Buffer,
    ) {
        let n = basis.degree();
        if let Err(e) = self.ensure(out, level * n) {
            self.record(format!("an automorphism could not allocate: {e}"));
            return;
        }
        let args = self
            .args(basis, level)
            .with(OUT, words(out).addr())
            .with(IN1, words(src).addr())
            .header(3, g as u32);
        self.flat("automorphism", &args, level * n);
    }

    fn permute(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        perm: &GaloisPermutation,
        out: &mut Buffer,
    ) {
        let n = basis.degree();
        if let Err(e) = self.ensure(out, level * n) {
            self.record(format!("a permutation could not allocate: {e}"));
            return;
        }
        let table = self.table(perm.id(), || {
            Ok(perm
                .indices()
                .iter()
                .flat_map(|i| i.to_le_bytes())
                .collect())
        });
        let table = match table {
            Ok(t) => t,
            Err(e) => {
                return self.record(format!("a permutation table could not be uploaded: {e}"));
            }
        };
        let args = self
            .args(basis, level)
            .with(OUT, words(out).addr())
            .with(IN1, words(src).addr())
            .with(TABLE, table);
        self.flat("permute", &args, level * n);
    }

    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize, out: &mut Buffer) {
        let n = basis.degree();
        if let Err(e) = self.ensure(out, level * n) {
            self.record(format!("a monomial product could not allocate: {e}"));
            return;
        }
        let args = self
            .args(basis, level)
            .with(OUT, words(out).addr())
            .with(IN1, words(src).addr())
            .header(3, (k % n) as u32)
            .header(4, (k >= n) as u32);
        self.flat("monomial", &args, level * n);
    }

    fn monomial_mul_add(
        &self,
        basis: &RnsBasis,
        level: usize,
        acc: &mut Buffer,
        src: &Buffer,
        k: usize,
        c: &[u64],
    ) {
        let n = basis.degree();
        let args = self
            .args(basis, level)
            .with(OUT, words(acc).addr())
            .with(IN1, words(src).addr())
            .header(3, (k % n) as u32)
            .header(4, (k >= n) as u32)
            .constants(&basis.moduli()[..level], |i| c[i], self.bits());
        self.flat("monomial_mul_add", &args, level * n);
    }

    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer, out: &mut Buffer) {
        let n = basis.degree();
        let out_limbs = level - 1;
        if let Err(e) = self.ensure(out, out_limbs * n) {
            self.record(format!("a modulus switch could not allocate: {e}"));
            return;
        }
        let q_last = basis.moduli()[level - 1].value();
        let args = self
            .args(basis, out_limbs)
            .with(OUT, words(out).addr())
            .with(IN1, words(src).addr())
            .constants(
                &basis.moduli()[..out_limbs],
                |i| {
                    let m = &basis.moduli()[i];
                    m.inv(m.reduce(q_last)).expect("distinct primes")
                },
                self.bits(),
            );
        self.flat("divide_round_by_last", &args, out_limbs * n);
    }

    fn mod_up(
        &self,
        basis: &RnsBasis,
        level: usize,
        src: &Buffer,
        digit: Range<usize>,
        conv: &BaseConverter,
        out_q: &mut Buffer,
        out_p: &mut Buffer,
    ) {
        let n = basis.degree();
        let bits = self.bits();
        let (from, to) = (conv.from_moduli(), conv.to_moduli());
        let table = self.table(conv.id(), || {
            to_bytes(&layout::base_convert(conv, bits), bits)
        });
        let table = match table {
            Ok(t) => t,
            Err(e) => return self.record(format!("ModUp's table could not be uploaded: {e}")),
        };
        let kp = to.len() - (level - digit.len());
        for (out, limbs) in [(&mut *out_q, level), (&mut *out_p, kp)] {
            if let Err(e) = self.ensure(out, limbs * n) {
                return self.record(format!("ModUp could not allocate its outputs: {e}"));
            }
        }
        // One launch: the digit's own limbs copied, every other prime of
        // Q_level and every special prime converted, nothing staged.
        let args = Args::new(n, level, 0)
            .with(OUT, words(out_q).addr())
            .with(IN1, words(src).addr())
            .with(IN2, words(out_p).addr())
            .with(TABLE, table)
            .header(2, digit.start as u32)
            .header(3, from.len() as u32)
            .header(4, kp as u32);
        self.flat("mod_up", &args, (level + kp) * n);
    }

    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer, out: &mut Buffer) {
        let bits = self.bits();
        let (from, to) = (lift.from_moduli(), lift.to_moduli());
        let table = self.table(lift.id(), || {
            to_bytes(&layout::exact_lift(lift, bits), bits)
        });
        let table = match table {
            Ok(t) => t,
            Err(e) => {
                return self.record(format!("an exact lift's table could not be uploaded: {e}"));
            }
        };
        if let Err(e) = self.ensure(out, to.len() * n) {
            self.record(format!("an exact lift could not allocate: {e}"));
            return;
        }
        let args = Args::new(n, to.len(), 0)
            .with(OUT, words(out).addr())
            .with(IN1, words(src).addr())
            .with(TABLE, table)
            .header(3, from.len() as u32);
        self.flat("exact_lift", &args, to.len() * n);
    }

    fn scale_round(
        &self,
        n: usize,
        level: usize,
        consts: &ScaleRound,
        eq: &Buffer,
        er: &Buffer,
        out: &mut Buffer,
    ) {
        let bits = self.bits();
        let (q, r) = (consts.q_moduli(), consts.r_moduli());
        let table = self.table(consts.id(), || {
            to_bytes(&layout::scale_round(consts, bits), bits)
        });
        let table = match table {
            Ok(t) => t,
            Err(e) => {
                return self.record(format!(
                    "scale-and-round's table could not be uploaded: {e}"
                ));
            }
        };
        if let Err(e) = self.ensure(out, r.len() * n) {
            self.record(format!("scale-and-round could not allocate: {e}"));
            return;
        }
        let args = Args::new(n, r.len(), 0)
            .with(OUT, words(out).addr())
            .with(IN1, words(eq).addr())
            .with(TABLE, table)
            .with(AUX, words(er).addr())
            .header(2, level as u32)
            .header(3, q.len() as u32);
        self.flat("scale_round", &args, r.len() * n);
    }
}
