//! The wgpu backend: hefty-core's [`Backend`] as WGSL compute shaders on any
//! adapter wgpu reaches (Vulkan, Metal, DX12; Mesa's lavapipe on a CPU).
//!
//! Words are 32 bits on the device (WGSL has no 64-bit integers), so it runs
//! the W32 profile: every prime below 2^31 ([`Word::W32`] bases; a W64 basis
//! is refused with [`Error::UnsupportedByBackend`]). Each primitive is one
//! or a few dispatches over all limbs of a polynomial; results are fully
//! reduced residues, bit-identical to the CPU backend's (the conformance
//! suite checks every primitive and the BFV and CKKS circuits).
//!
//! ```no_run
//! use std::sync::Arc;
//! use hefty_kernels::Wgpu;
//! use hefty_core::{Backend, ckks};
//!
//! let gpu: Arc<dyn Backend> = Arc::new(Wgpu::new()?);
//! let params = ckks::Parameters::builder()
//!     .degree(1 << 14)
//!     .scale_bits(30)
//!     .base_bits(30)
//!     .depth(4)
//!     .special_primes(2, 30)
//!     .word(hefty_core::ring::Word::W32)
//!     .backend(gpu)
//!     .build()?;
//! # Ok::<(), hefty_core::Error>(())
//! ```

mod context;
mod memory;
mod shaders;
mod tables;

use std::ops::Range;

use hefty_core::backend::{Prepared, Transfers, Weight};
use hefty_core::ntt::{Modulus, ShoupConst};
use hefty_core::ring::{GaloisPermutation, Word};
use hefty_core::{Backend, BaseConverter, Buffer, Error, ExactLift, RnsBasis, ScaleRound};

use crate::layout;
use crate::table_cache::TableCache;
use context::Context;
use memory::{Memory, words, words_mut};
use shaders as k;
use tables::{DeviceBasis, args, device_basis, narrow, plain_args, shoup};

/// The backend's name in records and errors.
pub(crate) const NAME: &str = "wgpu";

/// Points of one NTT block kept in workgroup memory (`ntt.wgsl`).
const NTT_BLOCK: usize = 2048;

/// The wgpu backend: one adapter's device and queue, a buffer pool and the
/// constant tables uploaded so far.
#[derive(Debug)]
pub struct Wgpu {
    cx: Context,
    memory: Memory,
    tables: TableCache<wgpu::Buffer>,
}

impl Wgpu {
    /// The first adapter wgpu finds (high performance preferred; set
    /// `WGPU_BACKEND` or `WGPU_ADAPTER_NAME` to choose). A machine without
    /// one gets [`Error::NoDevice`] saying what to install — never a panic.
    pub fn new() -> Result<Self, Error> {
        Self::open(std::env::var("WGPU_ADAPTER_NAME").ok().as_deref())
    }

    /// The adapter whose name contains `name` (any case, e.g. `"llvmpipe"`
    /// or `"H200"`), or [`Error::NoDevice`] listing the adapters there are.
    pub fn with_adapter(name: &str) -> Result<Self, Error> {
        Self::open(Some(name))
    }

    fn open(name: Option<&str>) -> Result<Self, Error> {
        Ok(Self {
            cx: Context::new(name)?,
            memory: Memory::default(),
            tables: TableCache::default(),
        })
    }

    /// The adapter's name, API and type, e.g. `llvmpipe (Vulkan, Cpu)`.
    pub fn adapter(&self) -> &str {
        &self.cx.adapter
    }

    /// Checks that every kernel compiles on this adapter (shader validation
    /// errors become [`Error::Device`]).
    pub fn compile_all(&self) -> Result<(), Error> {
        for module in shaders::MODULES {
            let scope = self
                .cx
                .device
                .push_error_scope(wgpu::ErrorFilter::Validation);
            let _ = self
                .cx
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(module.name),
                    source: wgpu::ShaderSource::Wgsl(module.source().into()),
                });
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(Error::Device {
                    backend: NAME,
                    message: format!("shader module `{}` does not compile: {e}", module.name),
                });
            }
        }
        Ok(())
    }

    /// `out`'s device words with room for `words`, its length set to `words`
    /// (its previous contents are not kept when it must grow).
    fn ensure(&self, out: &mut Buffer, words: usize) -> Result<(), Error> {
        if memory::words(out).cap < words {
            let fresh = self.memory.scratch(&self.cx, words)?;
            let old = std::mem::replace(out, fresh);
            self.memory.release(old);
        }
        words_mut(out).len = words;
        Ok(())
    }

    /// A flat kernel over `level` limbs of `n` words.
    fn flat(&self, kernel: &k::Kernel, args: &[u32], bufs: &[&wgpu::Buffer], words: usize) {
        self.cx.launch(kernel, args, bufs, self.cx.grid(words));
    }

    /// The device table of one constant table, built on first use.
    fn table(
        &self,
        id: hefty_core::backend::TableId,
        build: impl FnOnce() -> Vec<u32>,
    ) -> std::sync::Arc<wgpu::Buffer> {
        use wgpu::util::DeviceExt;
        let made = self.tables.get(id, || {
            let mut words = build();
            if words.is_empty() {
                words.push(0);
            }
            // Creating a buffer cannot fail here: wgpu reports failures
            // through its error callbacks (returned at synchronisation).
            Ok::<_, std::convert::Infallible>(self.cx.device.create_buffer_init(
                &wgpu::util::BufferInitDescriptor {
                    label: Some("table"),
                    contents: bytemuck::cast_slice(&words),
                    usage: wgpu::BufferUsages::STORAGE,
                },
            ))
        });
        let Ok(table) = made;
        table
    }
}

/// `[c, quotient]` of a hefty-ntt Shoup constant at 32 bits.
fn shoup_of(c: &ShoupConst, p: u64) -> [u32; 2] {
    shoup(c.value, p)
}

fn five(a: [u32; 2], b: [u32; 2]) -> [u32; 5] {
    [a[0], a[1], b[0], b[1], 0]
}

impl Backend for Wgpu {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prepare_basis(&self, n: usize, moduli: &[Modulus], word: Word) -> Result<Prepared, Error> {
        if word != Word::W32 {
            return Err(Error::UnsupportedByBackend {
                backend: NAME,
                reason: format!(
                    "its primes need {} words, the wgpu backend runs 32-bit words (primes below 2^31: the W32 presets, or `.word(Word::W32)`)",
                    word.name()
                ),
            });
        }
        let largest = 4 * (n * moduli.len()) as u64;
        if largest > self.cx.limits.max_storage_buffer_binding_size {
            return Err(Error::UnsupportedByBackend {
                backend: NAME,
                reason: format!(
                    "a polynomial of {} limbs of {n} words is larger than the adapter's largest storage binding ({} bytes)",
                    moduli.len(),
                    self.cx.limits.max_storage_buffer_binding_size
                ),
            });
        }
        Ok(Box::new(DeviceBasis::new(&self.cx, n, moduli)?))
    }

    fn synchronize(&self) -> Result<(), Error> {
        self.cx.synchronize()
    }

    fn device_name(&self) -> Option<String> {
        Some(self.cx.adapter.clone())
    }

    fn transfers(&self) -> Option<Transfers> {
        Some(self.memory.transfers())
    }

    fn set_kernel_timing(&self, on: bool) -> bool {
        self.cx.set_kernel_timing(on)
    }

    fn kernel_ns(&self) -> Option<u64> {
        self.cx.kernel_ns()
    }

    fn alloc(&self, words: usize) -> Result<Buffer, Error> {
        self.memory.alloc(&self.cx, words)
    }

    fn scratch(&self, words: usize) -> Result<Buffer, Error> {
        self.memory.scratch(&self.cx, words)
    }

    fn upload(&self, host: Vec<u64>) -> Result<Buffer, Error> {
        self.memory.upload(&self.cx, host)
    }

    fn download(&self, buf: &Buffer) -> Result<Vec<u64>, Error> {
        self.memory.download(&self.cx, buf)
    }

    fn duplicate(&self, buf: &Buffer) -> Result<Buffer, Error> {
        let len = words(buf).len;
        let copy = self.memory.scratch(&self.cx, len)?;
        self.cx.copy(&words(buf).buf, 0, &words(&copy).buf, 0, len);
        Ok(copy)
    }

    fn truncate(&self, buf: &mut Buffer, words: usize) {
        let d = words_mut(buf);
        d.len = d.len.min(words);
    }

    fn zeroize(&self, buf: &mut Buffer) {
        let d = words(buf);
        self.cx.clear(&d.buf, d.cap);
    }

    fn release(&self, buf: Buffer) {
        self.memory.release(buf);
    }

    fn ntt_forward(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        let db = device_basis(basis);
        let count = limbs.len() as u32;
        let a = &words(buf).buf;
        let header = |m: usize, t: usize, blk: usize| {
            let h = [
                n as u32,
                count,
                limbs.start as u32,
                m as u32,
                t as u32,
                blk as u32,
            ];
            args(&h, basis.moduli(), |i, _| db.scaling[i])
        };
        let bufs = [a, &db.twiddles];
        if n > NTT_BLOCK {
            // Two passes: the eleven widest stages on strided elements, then
            // the rest on contiguous blocks.
            let s = n / NTT_BLOCK;
            self.cx.launch(
                &k::NTT_FORWARD_STRIDED,
                &header(1, n / 2, NTT_BLOCK),
                &bufs,
                (s as u32, count),
            );
            if s > 1 {
                let grid = ((n / NTT_BLOCK) as u32, count);
                self.cx.launch(
                    &k::NTT_FORWARD_BLOCK,
                    &header(NTT_BLOCK, s / 2, NTT_BLOCK),
                    &bufs,
                    grid,
                );
            }
        } else if n >= 2 {
            self.cx.launch(
                &k::NTT_FORWARD_BLOCK,
                &header(1, n / 2, n),
                &bufs,
                (1, count),
            );
        }
    }

    fn ntt_inverse(&self, basis: &RnsBasis, limbs: Range<usize>, buf: &mut Buffer) {
        if limbs.is_empty() {
            return;
        }
        let n = basis.degree();
        let db = device_basis(basis);
        let count = limbs.len() as u32;
        let a = &words(buf).buf;
        // Header word 6: the span at which the block kernel stops.
        let header = |blk: usize, stop: usize| {
            let h = [
                n as u32,
                count,
                limbs.start as u32,
                0,
                0,
                blk as u32,
                stop as u32,
            ];
            args(&h, basis.moduli(), |i, _| db.scaling[i])
        };
        let bufs = [a, &db.twiddles];
        if n > NTT_BLOCK {
            let s = n / NTT_BLOCK;
            let grid = ((n / NTT_BLOCK) as u32, count);
            self.cx
                .launch(&k::NTT_INVERSE_BLOCK, &header(NTT_BLOCK, s), &bufs, grid);
            self.cx.launch(
                &k::NTT_INVERSE_STRIDED,
                &header(NTT_BLOCK, s),
                &bufs,
                (s as u32, count),
            );
        } else if n >= 2 {
            if n >= 4 {
                self.cx
                    .launch(&k::NTT_INVERSE_BLOCK, &header(n, n / 2), &bufs, (1, count));
            }
            self.flat(
                &k::NTT_INVERSE_LAST,
                &header(n, n / 2),
                &[a],
                count as usize * n / 2,
            );
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
            match self.memory.scratch(&self.cx, need) {
                Ok(fresh) => {
                    let kept = words(dst).len;
                    self.cx
                        .copy(&words(dst).buf, 0, &words(&fresh).buf, 0, kept);
                    let old = std::mem::replace(dst, fresh);
                    words_mut(dst).len = kept;
                    self.memory.release(old);
                }
                Err(e) => {
                    self.cx
                        .record(format!("copying limbs needed a larger buffer: {e}"));
                    return;
                }
            }
        }
        self.cx.copy(
            &words(src).buf,
            src_limbs.start * n,
            &words(dst).buf,
            at,
            len,
        );
        let d = words_mut(dst);
        d.len = d.len.max(need);
    }

    fn add(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let n = basis.degree();
        let args = plain_args(&[n as u32, level as u32], &basis.moduli()[..level]);
        self.flat(&k::ADD, &args, &[&words(a).buf, &words(b).buf], level * n);
    }

    fn sub(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let n = basis.degree();
        let args = plain_args(&[n as u32, level as u32], &basis.moduli()[..level]);
        self.flat(&k::SUB, &args, &[&words(a).buf, &words(b).buf], level * n);
    }

    fn neg(&self, basis: &RnsBasis, level: usize, a: &mut Buffer) {
        let n = basis.degree();
        let args = plain_args(&[n as u32, level as u32], &basis.moduli()[..level]);
        self.flat(&k::NEG, &args, &[&words(a).buf], level * n);
    }

    fn mul(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, b: &Buffer) {
        let n = basis.degree();
        let args = plain_args(&[n as u32, level as u32], &basis.moduli()[..level]);
        self.flat(&k::MUL, &args, &[&words(a).buf, &words(b).buf], level * n);
    }

    fn mul_add(&self, basis: &RnsBasis, level: usize, acc: &mut Buffer, a: &Buffer, b: &Buffer) {
        let n = basis.degree();
        let args = plain_args(&[n as u32, level as u32, 0], &basis.moduli()[..level]);
        self.flat(
            &k::MUL_ADD,
            &args,
            &[&words(acc).buf, &words(a).buf, &words(b).buf],
            level * n,
        );
    }

    fn sub_scale(
        &self,
        basis: &RnsBasis,
        level: usize,
        a: &mut Buffer,
        b: &Buffer,
        c: &[ShoupConst],
    ) {
        let n = basis.degree();
        let args = args(
            &[n as u32, level as u32],
            &basis.moduli()[..level],
            |i, p| five(shoup_of(&c[i], p), [0, 0]),
        );
        self.flat(
            &k::SUB_SCALE,
            &args,
            &[&words(a).buf, &words(b).buf],
            level * n,
        );
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
                self.cx
                    .record(format!("the key inner product could not allocate: {e}"));
                return;
            }
        }
        if ext.is_empty() {
            self.cx.clear(&words(out_b).buf, level * n);
            self.cx.clear(&words(out_a).buf, level * n);
        }
        for (j, x) in ext.iter().enumerate() {
            let args = plain_args(
                &[n as u32, level as u32, (j == 0) as u32],
                &basis.moduli()[..level],
            );
            for (out, key) in [(&*out_b, key_b[j]), (&*out_a, key_a[j])] {
                self.flat(
                    &k::MUL_ADD,
                    &args,
                    &[&words(out).buf, &words(x).buf, &words(key).buf],
                    level * n,
                );
            }
        }
    }

    fn mul_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let n = basis.degree();
        let args = args(
            &[n as u32, level as u32],
            &basis.moduli()[..level],
            |i, p| five(shoup(c[i], p), [0, 0]),
        );
        self.flat(&k::MUL_CONST, &args, &[&words(a).buf], level * n);
    }

    fn add_limb_constants(&self, basis: &RnsBasis, level: usize, a: &mut Buffer, c: &[u64]) {
        let n = basis.degree();
        let args = args(
            &[n as u32, level as u32],
            &basis.moduli()[..level],
            |i, _| [c[i] as u32, 0, 0, 0, 0],
        );
        self.flat(&k::ADD_CONST, &args, &[&words(a).buf], level * n);
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
            self.cx.clear(&words(out).buf, level * n);
        }
        for (j, (x, w)) in terms.iter().enumerate() {
            let first = (j == 0) as u32;
            match w {
                Weight::Scalar(c) => {
                    let args = args(&[n as u32, level as u32, first], moduli, |i, p| {
                        five(shoup(c[i], p), [0, 0])
                    });
                    self.flat(
                        &k::MUL_CONST_ADD,
                        &args,
                        &[&words(out).buf, &words(x).buf],
                        level * n,
                    );
                }
                Weight::Plain(pw) => {
                    let args = plain_args(&[n as u32, level as u32, first], moduli);
                    self.flat(
                        &k::MUL_ADD,
                        &args,
                        &[&words(out).buf, &words(x).buf, &words(pw).buf],
                        level * n,
                    );
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
            self.cx
                .record(format!("an automorphism could not allocate: {e}"));
            return;
        }
        let args = plain_args(
            &[n as u32, level as u32, 0, g as u32],
            &basis.moduli()[..level],
        );
        self.flat(
            &k::AUTOMORPHISM,
            &args,
            &[&words(out).buf, &words(src).buf],
            level * n,
        );
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
            self.cx
                .record(format!("a permutation could not allocate: {e}"));
            return;
        }
        let table = self.table(perm.id(), || perm.indices().to_vec());
        let args = plain_args(&[n as u32, level as u32], &basis.moduli()[..level]);
        self.flat(
            &k::PERMUTE,
            &args,
            &[&words(out).buf, &words(src).buf, &table],
            level * n,
        );
    }

    fn monomial(&self, basis: &RnsBasis, level: usize, src: &Buffer, k: usize, out: &mut Buffer) {
        let n = basis.degree();
        if let Err(e) = self.ensure(out, level * n) {
            self.cx
                .record(format!("a monomial product could not allocate: {e}"));
            return;
        }
        let (shift, flip) = if k >= n { (k - n, 1) } else { (k, 0) };
        let args = plain_args(
            &[n as u32, level as u32, 0, shift as u32, flip],
            &basis.moduli()[..level],
        );
        self.flat(
            &k::MONOMIAL,
            &args,
            &[&words(out).buf, &words(src).buf],
            level * n,
        );
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
        let (shift, flip) = if k >= n { (k - n, true) } else { (k, false) };
        let args = args(
            &[n as u32, level as u32, 0, shift as u32],
            &basis.moduli()[..level],
            |i, p| {
                let neg = if c[i] == 0 { 0 } else { p - c[i] };
                let (stay, wrap) = if flip { (neg, c[i]) } else { (c[i], neg) };
                five(shoup(stay, p), shoup(wrap, p))
            },
        );
        self.flat(
            &k::MONOMIAL_MUL_ADD,
            &args,
            &[&words(acc).buf, &words(src).buf],
            level * n,
        );
    }

    fn divide_round_by_last(&self, basis: &RnsBasis, level: usize, src: &Buffer, out: &mut Buffer) {
        let n = basis.degree();
        let out_limbs = level - 1;
        if let Err(e) = self.ensure(out, out_limbs * n) {
            self.cx
                .record(format!("a modulus switch could not allocate: {e}"));
            return;
        }
        let q_last = basis.moduli()[level - 1].value();
        let args = args(
            &[n as u32, out_limbs as u32, 0, q_last as u32],
            &basis.moduli()[..out_limbs],
            |i, p| {
                let m = &basis.moduli()[i];
                let inv = m.inv(m.reduce(q_last)).expect("distinct primes");
                let [v, q] = shoup(inv, p);
                [m.reduce(q_last) as u32, v, q, 0, 0]
            },
        );
        self.flat(
            &k::DIVIDE_ROUND_BY_LAST,
            &args,
            &[&words(out).buf, &words(src).buf],
            out_limbs * n,
        );
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
        let (from, to) = (conv.from_moduli(), conv.to_moduli());
        let table = self.table(conv.id(), || narrow(layout::base_convert(conv, 32)));
        let kp = to.len() - (level - digit.len());
        for (out, limbs) in [(&mut *out_q, level), (&mut *out_p, kp)] {
            if let Err(e) = self.ensure(out, limbs * n) {
                self.cx
                    .record(format!("ModUp could not allocate its outputs: {e}"));
                return;
            }
        }
        // One dispatch: the digit's own limbs copied, every other prime of
        // Q_level and every special prime converted, nothing staged.
        let header = [
            n as u32,
            level as u32,
            digit.start as u32,
            from.len() as u32,
            kp as u32,
        ];
        self.flat(
            &k::MOD_UP,
            &plain_args(&header, &[]),
            &[
                &words(out_q).buf,
                &words(src).buf,
                &table,
                &words(out_p).buf,
            ],
            (level + kp) * n,
        );
    }

    fn exact_lift(&self, n: usize, lift: &ExactLift, src: &Buffer, out: &mut Buffer) {
        let (from, to) = (lift.from_moduli(), lift.to_moduli());
        let table = self.table(lift.id(), || narrow(layout::exact_lift(lift, 32)));
        if let Err(e) = self.ensure(out, to.len() * n) {
            self.cx
                .record(format!("an exact lift could not allocate: {e}"));
            return;
        }
        let header = [n as u32, to.len() as u32, 0, from.len() as u32];
        self.flat(
            &k::EXACT_LIFT,
            &plain_args(&header, &[]),
            &[&words(out).buf, &words(src).buf, &table],
            to.len() * n,
        );
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
        let (q, r) = (consts.q_moduli(), consts.r_moduli());
        let table = self.table(consts.id(), || narrow(layout::scale_round(consts, 32)));
        if let Err(e) = self.ensure(out, r.len() * n) {
            self.cx
                .record(format!("scale-and-round could not allocate: {e}"));
            return;
        }
        let header = [n as u32, r.len() as u32, level as u32, q.len() as u32];
        self.flat(
            &k::SCALE_ROUND,
            &plain_args(&header, &[]),
            &[&words(out).buf, &words(eq).buf, &table, &words(er).buf],
            r.len() * n,
        );
    }
}
