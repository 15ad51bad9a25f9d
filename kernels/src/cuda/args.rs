//! The launch argument every kernel takes (`KArgs` in `kernels/arith.h`),
//! built word-size independently and packed for the backend's word.

use hefty_core::ntt::Modulus;

use crate::layout::shoup;

/// Per-limb constants a launch carries (`MAX_LIMBS` in `arith.h`).
pub(crate) const MAX_LIMBS: usize = 128;
/// Buffers a launch lists (`MAX_LIST`).
pub(crate) const MAX_LIST: usize = 16;

/// `KArgs` with words of type `W` (`u64` or `u32`), laid out as in C.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct KArgs<W: Copy> {
    pub buf: [u64; 6],
    pub list: [u64; MAX_LIST],
    pub h: [u32; 8],
    pub c: [[W; 2]; MAX_LIMBS],
}

// SAFETY: plain old data of integers, `repr(C)` as the kernels declare it.
unsafe impl cudarc::driver::DeviceRepr for KArgs<u64> {}
// SAFETY: as above.
unsafe impl cudarc::driver::DeviceRepr for KArgs<u32> {}

/// One launch's arguments before packing: buffer addresses, the header
/// (word 7 is always log2 n), and per-limb `[value, Shoup quotient]` pairs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    pub buf: [u64; 6],
    pub list: Vec<u64>,
    pub h: [u32; 8],
    pub c: Vec<[u64; 2]>,
}

/// Buffer slots (`buf[...]` in the kernels).
pub(crate) const OUT: usize = 0;
pub(crate) const IN1: usize = 1;
pub(crate) const IN2: usize = 2;
pub(crate) const TABLE: usize = 3;
pub(crate) const PRIMES: usize = 4;
pub(crate) const AUX: usize = 5;

impl Args {
    /// A launch over `limbs` limbs of degree `n` with the basis's prime
    /// table at `primes`.
    pub fn new(n: usize, limbs: usize, primes: u64) -> Self {
        let mut a = Self::default();
        a.h[0] = n as u32;
        a.h[1] = limbs as u32;
        a.h[7] = n.trailing_zeros();
        a.buf[PRIMES] = primes;
        a
    }

    /// Sets buffer slot `slot` to address `addr`.
    pub fn with(mut self, slot: usize, addr: u64) -> Self {
        self.buf[slot] = addr;
        self
    }

    /// Sets header word `i`.
    pub fn header(mut self, i: usize, v: u32) -> Self {
        self.h[i] = v;
        self
    }

    /// Per-limb constants `c_i` (below `q_i`) with their Shoup quotients.
    pub fn constants(mut self, moduli: &[Modulus], c: impl Fn(usize) -> u64, bits: u32) -> Self {
        self.c = moduli
            .iter()
            .enumerate()
            .map(|(i, m)| shoup(c(i), m.value(), bits))
            .collect();
        self
    }

    /// Packs for `W`-sized words (`None` if more limbs or buffers than a
    /// launch carries).
    pub fn pack<W: Copy + Default + TryFrom<u64>>(&self) -> Option<KArgs<W>> {
        if self.c.len() > MAX_LIMBS || self.list.len() > MAX_LIST {
            return None;
        }
        let narrow = |x: u64| W::try_from(x).ok();
        let mut k = KArgs {
            buf: self.buf,
            list: [0; MAX_LIST],
            h: self.h,
            c: [[W::default(); 2]; MAX_LIMBS],
        };
        k.list[..self.list.len()].copy_from_slice(&self.list);
        for (dst, src) in k.c.iter_mut().zip(&self.c) {
            *dst = [narrow(src[0])?, narrow(src[1])?];
        }
        Some(k)
    }
}
