//! Encrypted inference: the plan walked on ciphertexts, one ciphertext per
//! tensor element, split into a client (keys, encryption, decryption) and
//! a server (evaluation keys and ciphertexts only, reached through bytes).
//!
//! Two packings need no rotation:
//! - [`Packing::Batch`] (CryptoNets): slot `i` of every ciphertext belongs
//!   to image `i`, up to `N/2` (CKKS) or `N` (BFV) images at once; weights
//!   are scalars. CKKS is approximate; BFV over CRT plaintext moduli is
//!   exact (the fixed-point path's integers).
//! - [`Packing::Integer`] (Faster CryptoNets): one image; each value a
//!   base-2 polynomial under BFV, weights as sparse or monomial plaintexts,
//!   exact.
//!
//! [`infer`] runs the whole round trip and reports what `hefty infer`
//! prints (docs/INFER_JSON.md).

mod base2;
mod bfv;
mod ckks;
mod report;
mod slots;
mod wire;

pub use bfv::{BfvClient, BfvServer, Encoding};
pub use ckks::{CkksClient, CkksServer, ckks_plan, input_scale, levels_needed};
pub use report::{Bytes, Disagreement, Hops, InferReport, LayerReport, Seconds};
pub use slots::{
    InputLayout, MAX_TAP_CIPHERTEXTS, ROTATE_COST, SlotClient, SlotProgram, SlotServer,
    slot_parameters, slot_parameters_for,
};
pub use wire::{Packer, pack, unpack};

use std::sync::Arc;

use hefty_core::Backend;
use hefty_core::ring::Word;

use crate::Error;
use crate::model::Model;

/// How images are laid out in ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// One image per slot, one ciphertext per tensor element.
    Batch,
    /// One image, one ciphertext per tensor element, base-2 integer encoding.
    Integer,
    /// One image in the slots of a few CKKS ciphertexts, moved by rotations
    /// (LoLa): latency instead of throughput.
    Slots,
}

impl Packing {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Packing::Batch => "batch",
            Packing::Integer => "integer",
            Packing::Slots => "slots",
        }
    }
}

/// Which scheme evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Approximate arithmetic on reals.
    Ckks,
    /// Exact arithmetic modulo CRT plaintext moduli.
    Bfv,
}

impl Scheme {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Ckks => "ckks",
            Scheme::Bfv => "bfv",
        }
    }
}

/// What [`infer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InferOptions {
    /// The packing.
    pub packing: Packing,
    /// The scheme (the integer packing is BFV only).
    pub scheme: Scheme,
    /// Significant bits of the fixed-point path (exact schemes).
    pub precision_bits: u32,
    /// Slot packing: images sharing one ciphertext set, interleaved slot by
    /// slot (a power of two; 1 for the lowest latency).
    pub images_per_ciphertext: usize,
    /// How many times the whole round trip runs on the same images in one
    /// process (at least 1): the first request measures a cold process,
    /// the later ones a server that keeps running
    /// ([`InferReport::warm_seconds_per_image`]).
    pub requests: usize,
}

/// Where the server side of [`infer_on`] evaluates: a backend, and the word
/// profile of the parameters the client picks so that backend can run them
/// ([`Word::W32`] for 32-bit-word devices such as wgpu).
#[derive(Debug, Clone)]
pub struct ServerDevice {
    /// The backend the server decodes the parameters on.
    pub backend: Arc<dyn Backend>,
    /// The presets' word profile.
    pub word: Word,
}

impl Default for ServerDevice {
    /// The host CPU with 64-bit words.
    fn default() -> Self {
        Self {
            backend: hefty_core::Cpu::shared(),
            word: Word::W64,
        }
    }
}

/// Progress: `(what, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Encrypts `images` (client), runs `model` on them (server, through
/// bytes), decrypts, and compares with the plaintext references. The
/// server evaluates on the CPU ([`infer_on`] chooses another backend).
pub fn infer(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    options: InferOptions,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    infer_on(
        model,
        images,
        labels,
        options,
        &ServerDevice::default(),
        progress,
    )
}

/// [`infer`] with the server on `device` (the client stays on the CPU): the
/// report names the backend and its device.
pub fn infer_on(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    options: InferOptions,
    device: &ServerDevice,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    if options.requests == 0 {
        return Err(Error::Setting(
            "0 requests: run at least one (--requests 1 measures the cold process alone)".into(),
        ));
    }
    let mut report = run_packing(model, images, labels, options, device, progress)?;
    for r in 2..=options.requests {
        let what = |step: &str, done, total| {
            progress(
                &format!("request {r}/{}, {step}", options.requests),
                done,
                total,
            )
        };
        report.absorb(run_packing(model, images, labels, options, device, &what)?);
    }
    report.backend = device.backend.name().to_string();
    report.device = device.backend.device_name();
    Ok(report)
}

fn run_packing(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    options: InferOptions,
    device: &ServerDevice,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    if images.is_empty() || images.len() != labels.len() {
        return Err(Error::Setting(format!(
            "{} images and {} labels: give at least one image and one label per image",
            images.len(),
            labels.len()
        )));
    }
    let want = model.input_shape().len();
    if let Some((i, img)) = images.iter().enumerate().find(|(_, im)| im.len() != want) {
        return Err(Error::Model(format!(
            "image {i} has {} pixels but the model takes {want} ({:?})",
            img.len(),
            model.input_shape()
        )));
    }
    match (options.packing, options.scheme) {
        (Packing::Batch | Packing::Integer, Scheme::Bfv) if device.word == Word::W32 => {
            Err(Error::Setting(
                "the BFV packings need 64-bit words (their plaintext moduli and 128-bit presets): run them on the CPU or CUDA backend".into(),
            ))
        }
        (Packing::Batch, Scheme::Ckks) => ckks::infer(model, images, labels, device, progress),
        (Packing::Batch, Scheme::Bfv) => bfv::infer(
            model,
            images,
            labels,
            Encoding::Slots,
            options.precision_bits,
            device,
            progress,
        ),
        (Packing::Integer, Scheme::Bfv) => bfv::infer(
            model,
            images,
            labels,
            Encoding::Base2,
            options.precision_bits,
            device,
            progress,
        ),
        (Packing::Slots, Scheme::Ckks) => slots::infer(
            model,
            images,
            labels,
            options.images_per_ciphertext.max(1),
            device,
            progress,
        ),
        (Packing::Slots, Scheme::Bfv) => Err(Error::Setting(
            "slot packing is CKKS's (real weights, rotations): use --scheme ckks".into(),
        )),
        (Packing::Integer, Scheme::Ckks) => Err(Error::Setting(
            "the integer packing is BFV's (base-2 integer encoding): use --scheme bfv, or --packing batch for CKKS".into(),
        )),
    }
}
