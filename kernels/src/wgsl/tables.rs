//! Constants on the device: kernel argument records, each basis's twiddles,
//! and the constant tables of hefty-core (base converters, exact lifts,
//! scale-and-round, Galois permutations) uploaded once per table id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hefty_core::backend::TableId;
use hefty_core::ntt::{Modulus, NttPlan};
use hefty_core::{Error, RnsBasis};
use wgpu::util::DeviceExt;

use super::context::Context;

/// `[p, mu, k]`: a prime with its Barrett constants (`k` its bit length,
/// `mu = floor(2^2k / p)`, below 2^32 for `p < 2^31`).
pub(crate) fn prime_record(p: u64) -> [u32; 3] {
    let k = 64 - p.leading_zeros();
    let mu = (1u128 << (2 * k)) / p as u128;
    [p as u32, mu as u32, k]
}

/// `[c, floor(c·2^32 / p)]`: a constant with its 32-bit Shoup quotient.
pub(crate) fn shoup(c: u64, p: u64) -> [u32; 2] {
    [c as u32, ((c << 32) / p) as u32]
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

fn bit_reverse(k: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        k.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Powers of `root` in bit-reversed order, then their Shoup quotients.
fn twiddles(m: &Modulus, root: u64, n: usize, out: &mut Vec<u32>) {
    let mut powers = Vec::with_capacity(n);
    let mut acc = 1u64;
    for _ in 0..n {
        powers.push(acc);
        acc = m.mul(acc, root);
    }
    let bits = n.trailing_zeros();
    let w: Vec<u64> = (0..n).map(|k| powers[bit_reverse(k, bits)]).collect();
    out.extend(w.iter().map(|&x| x as u32));
    out.extend(w.iter().map(|&x| shoup(x, m.value())[1]));
}

impl DeviceBasis {
    /// The tables of `moduli` at degree `n`, with the CPU plan's root of
    /// unity for each prime (so the transforms are the same).
    pub fn new(cx: &Context, n: usize, moduli: &[Modulus]) -> Result<Self, Error> {
        let mut words = Vec::with_capacity(4 * n * moduli.len());
        let mut scaling = Vec::with_capacity(moduli.len());
        for m in moduli {
            let psi = NttPlan::new(n, m.value())?.psi();
            let psi_inv = m.inv(psi).expect("a root of unity is invertible");
            let start = words.len();
            twiddles(m, psi, n, &mut words);
            twiddles(m, psi_inv, n, &mut words);
            let n_inv = m.inv(n as u64).expect("n < p is invertible");
            let w1 = words[start + 2 * n + 1] as u64;
            let n_inv_w = m.mul(n_inv, w1);
            let [a, b] = shoup(n_inv, m.value());
            let [c, d] = shoup(n_inv_w, m.value());
            scaling.push([a, b, c, d, 0]);
        }
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

/// Constant tables in device memory by id (tables never change, ids are
/// never reused).
#[derive(Debug, Default)]
pub(crate) struct TableCache {
    tables: Mutex<HashMap<TableId, Arc<wgpu::Buffer>>>,
}

impl TableCache {
    /// The device copy of table `id`, built by `words` on first use.
    pub fn get(
        &self,
        cx: &Context,
        id: TableId,
        words: impl FnOnce() -> Vec<u32>,
    ) -> Arc<wgpu::Buffer> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(tables.entry(id).or_insert_with(|| {
            let mut words = words();
            if words.is_empty() {
                words.push(0);
            }
            Arc::new(
                cx.device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("table"),
                        contents: bytemuck::cast_slice(&words),
                        usage: wgpu::BufferUsages::STORAGE,
                    }),
            )
        }))
    }
}

/// 128-bit fraction as four little-endian words.
pub(crate) fn fraction_words(f: u128) -> [u32; 4] {
    [
        f as u32,
        (f >> 32) as u32,
        (f >> 64) as u32,
        (f >> 96) as u32,
    ]
}
