//! CKKS with slot packing: one image in the slots of a few ciphertexts, data
//! moved by rotations (LoLa, Gazelle's hybrid diagonal method).
//!
//! The folded CKKS plan ([`ckks_plan`](super::ckks_plan)) is regrouped into stages: every run
//! of linear steps between two activations is composed into one matrix
//! (pooling, convolution, pooling and dense become one `d_out × d_in` map,
//! one level), and every activation is a slot-wise square. A vector of `d`
//! elements lives in the slots **replicated with a power-of-two period**
//! `P ≥ d` (slot `t` holds element `t mod P`, zero past `d`), which makes
//! cyclic rotations of the whole slot vector act as rotations within each
//! period — so no masking and no repacking between layers:
//! - a **matrix stage** (`d_out × d_in`, input period `P_in`) with
//!   `d' = 2^⌈log d_out⌉`, `P = max(P_in, d')` multiplies `d'` diagonals
//!   `diag_k[t] = M[t mod d'][(t + k) mod P]` by the rotations `rot_k(x)`
//!   (baby-step giant-step, hoisted baby steps, all-zero diagonals skipped)
//!   and folds the `P/d'` partial sums with `log2(P/d')` rotations; the
//!   output has period `d'`;
//! - the **first linear layer** may instead take its input from the client
//!   in *tap form* (LoLa's convolution representation): tap `k` of output
//!   `o` is the input that output's `k`-th weight multiplies; the client
//!   packs `N/2 / P` taps per ciphertext (one per period block), the server
//!   multiplies each by its weights and sums the blocks with `log2(N/2/P)`
//!   rotations — a convolution with no other rotation, chosen when it costs
//!   less than the diagonal form (rotations weighted by [`ROTATE_COST`]);
//! - a **square stage** is one ciphertext product (per-element signs and
//!   constants, when the plan has them, as plaintext vectors).
//!
//! Only the rotation keys the stages use are generated. The input layout
//! (which pixel goes to which slot) is public: it names the first layer's
//! non-zero weights' positions, not their values.
mod client;
mod program;
mod server;

pub use client::SlotClient;
pub use program::{
    InputLayout, MAX_TAP_CIPHERTEXTS, ROTATE_COST, SlotProgram, slot_parameters,
    slot_parameters_for,
};
pub use server::SlotServer;

use super::report::{CkksRun, Hops, LayerReport};
use super::wire::unpack;
use super::{InferReport, Progress, Seconds};
use crate::Error;
use crate::model::Model;

/// The slot-packing round trip of [`super::infer`]: `lanes` images at a
/// time (one ciphertext set), one set after another.
pub(super) fn infer(
    model: &Model,
    images: &[&[u8]],
    labels: &[u8],
    lanes: usize,
    device: &super::ServerDevice,
    progress: Progress<'_>,
) -> Result<InferReport, Error> {
    let (params, program) = slot_parameters_for(model, lanes, device.word)?;
    let rotations = program.rotations(params.slots());
    let mut client = SlotClient::new(&params, program.layout().clone(), lanes);
    let t = std::time::Instant::now();
    let keys = client.evaluation_keys(&rotations)?;
    let keygen_seconds = t.elapsed().as_secs_f64();
    let layout = program.layout().clone();
    let outputs = program.outputs();
    let server = SlotServer::on(&keys, program, std::sync::Arc::clone(&device.backend))?;
    let names = server.program().stage_names();
    let mut layers: Vec<LayerReport> = names
        .iter()
        .map(|(name, op)| LayerReport {
            name: name.clone(),
            op: op.clone(),
            seconds: 0.0,
            hops: Hops::default(),
        })
        .collect();
    let mut seconds = Seconds::default();
    let mut bytes = super::Bytes {
        to_server: keys.len() as u64,
        to_client: 0,
    };
    let mut per_image_bytes = 0u64;
    let mut latencies = Vec::with_capacity(images.len());
    let mut logits = Vec::with_capacity(images.len());
    let scale_bits = model.graph().input.scale_bits;
    let mut done = 0;
    for set in images.chunks(lanes) {
        let t = std::time::Instant::now();
        let inputs = client.encrypt(set, scale_bits)?;
        seconds.encrypt += t.elapsed().as_secs_f64();
        bytes.to_server += inputs.len() as u64;
        per_image_bytes = inputs.len() as u64;
        let t = std::time::Instant::now();
        let mut start = server.counter().totals();
        let counter = server.counter();
        let out = server.infer(&inputs, &mut |s, elapsed| {
            let now = counter.totals();
            layers[s].seconds += elapsed.as_secs_f64();
            layers[s].hops.add(&Hops::between(&start, &now));
            start = now;
        })?;
        let latency = t.elapsed().as_secs_f64();
        seconds.infer += latency;
        latencies.push(latency);
        bytes.to_client += out.len() as u64;
        let t = std::time::Instant::now();
        logits.extend(client.decrypt(&out, outputs, set.len())?);
        seconds.decrypt += t.elapsed().as_secs_f64();
        done += set.len();
        progress("image", done, images.len());
    }
    // Latency: a set's server time (its images all wait for it).
    latencies.sort_by(f64::total_cmp);
    let median_latency = latencies[latencies.len() / 2];
    let gk_bytes = unpack(&keys)?.get(2).map_or(0, |b| b.len());
    CkksRun {
        packing: "slots",
        logits,
        seconds,
        bytes,
        layers,
        params: serde_json::json!({
            "degree": params.degree(),
            "slots": params.slots(),
            "scale_bits": params.scale_bits(),
            "levels": params.depth(),
            "levels_needed": server.program().levels(),
            "log_qp": params.log_qp(),
            "security_bits": 128,
            "input_layout": match &layout {
                InputLayout::Taps { period, copies, taps } => serde_json::json!({
                    "form": "taps", "period": period, "taps_per_ciphertext": copies, "taps": taps.len(),
                }),
                InputLayout::Replicated { len, period } => serde_json::json!({
                    "form": "replicated", "period": period, "len": len,
                }),
            },
            "images_per_ciphertext": lanes,
            "input_ciphertexts_per_set": layout.ciphertexts(),
            "bytes_per_image_to_server": per_image_bytes / lanes as u64,
            "rotation_keys": rotations.len(),
            "rotation_steps": rotations,
            "evaluation_key_bytes": keys.len(),
            "galois_key_bytes": gk_bytes,
            "keygen_seconds": keygen_seconds,
            "median_latency_seconds": median_latency,
        }),
    }
    .report(model, images, labels)
}
