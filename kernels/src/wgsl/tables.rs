//! Constants on the device: kernel argument records, each basis's twiddles,
//! and the constant tables of hefty-core (base converters, exact lifts,
//! scale-and-round, Galois permutations) uploaded once per table id.

use hefty_core::ntt::Modulus;
use hefty_core::{Error, RnsBasis};
use wgpu::util::DeviceExt;

use super::context::Context;
use crate::layout;

/// `[p, mu, k]` at 32 bits (see [`layout::prime_record`]; `mu` is below
/// 2^32 for `p < 2^31`).
pub(crate) fn prime_record(p: u64) -> [u32; 3] {
    layout::prime_record(p).map(|w| w as u32)
}

/// `[c, floor(c·2^32 / p)]`: a constant with its 32-bit Shoup quotient.
pub(crate) fn shoup(c: u64, p: u64) -> [u32; 2] {
    layout::shoup(c, p, 32).map(|w| w as u32)
}

/// A table of [`crate::layout`] in 32-bit words (every entry fits: W32 only).
pub(crate) fn narrow(words: Vec<u64>) -> Vec<u32> {
    words.into_iter().map(|w| w as u32).collect()
}

/// Kernel arguments: an 8-word header, then per limb `[p, mu, k]` and five
/// words of per-limb constants (see `arith.wgsl`).
pub(crate) fn args(
    header: &[u32],
    moduli: &[Modulus],
    mut extra: impl FnMut(usize, u64) -> [u32; 5],
) -> Vec<u32> {
    let mut words = vec![0u32; 8];
    words[..header.len()].copy_from_slice(header);
    for (i, m) in moduli.iter().enumerate() {
        words.extend(prime_record(m.value()));
        words.extend(extra(i, m.value()));
    }
    words
}

/// Arguments with no per-limb constants.
pub(crate) fn plain_args(header: &[u32], moduli: &[Modulus]) -> Vec<u32> {
    args(header, moduli, |_, _| [0; 5])
}

/// What the wgpu backend prepares per basis: the twiddle tables in device
/// memory and each prime's inverse-NTT scaling constants.
#[derive(Debug)]
pub(crate) struct DeviceBasis {
    /// Per limb: forward `w`, its quotients, inverse `w`, their quotients.
    pub twiddles: wgpu::Buffer,
    /// Per limb: `[n^-1, quotient, n^-1·w_inv[1], quotient, 0]`.
    pub scaling: Vec<[u32; 5]>,
}

impl DeviceBasis {
    /// The tables of `moduli` at degree `n`, with the CPU plan's root of
    /// unity for each prime (so the transforms are the same).
    pub fn new(cx: &Context, n: usize, moduli: &[Modulus]) -> Result<Self, Error> {
        let (words, scaling) = layout::ntt_tables(n, moduli, 32)?;
        let words = narrow(words);
        let scaling = scaling
            .into_iter()
            .map(|[a, b, c, d]| [a as u32, b as u32, c as u32, d as u32, 0])
            .collect();
        let twiddles = cx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("twiddles"),
                contents: bytemuck::cast_slice(&words),
                usage: wgpu::BufferUsages::STORAGE,
            });
        Ok(Self { twiddles, scaling })
    }
}

/// The device basis of `basis`.
pub(crate) fn device_basis(basis: &RnsBasis) -> &DeviceBasis {
    basis
        .prepared::<DeviceBasis>()
        .expect("a wgpu-backend basis holds its device tables")
}
