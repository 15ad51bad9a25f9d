//! What an encrypted inference run reports (docs/INFER_JSON.md): the
//! names are stable.

use hefty_core::{Hop, HopCounter, HopCounts};
use serde::Serialize;

use crate::exec::{Event, Plan, argmax};

/// Operation counts of one layer, in Faster CryptoNets' columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Hops {
    /// Plaintext + ciphertext additions.
    pub pt_ct_add: u64,
    /// Ciphertext + ciphertext additions.
    pub ct_ct_add: u64,
    /// Products by a general plaintext.
    pub pt_ct_mul_dense: u64,
    /// Products by a sparse plaintext (several monomials).
    pub pt_ct_mul_sparse: u64,
    /// Products by a monomial `±x^k`.
    pub pt_ct_mul_monomial: u64,
    /// Products by an integer or real scalar.
    pub pt_ct_mul_scalar: u64,
    /// Ciphertext products.
    pub ct_ct_mul: u64,
    /// Relinearizations.
    pub relinearize: u64,
    /// Rescales (modulus switches).
    pub rescale: u64,
    /// Rotations.
    pub rotate: u64,
}

impl Hops {
    pub(crate) fn between(before: &HopCounts, after: &HopCounts) -> Self {
        let d = |h: Hop| after.get(h) - before.get(h);
        Self {
            pt_ct_add: d(Hop::PtCtAdd),
            ct_ct_add: d(Hop::CtCtAdd),
            pt_ct_mul_dense: d(Hop::PtCtMulDense),
            pt_ct_mul_sparse: d(Hop::PtCtMulSparse),
            pt_ct_mul_monomial: d(Hop::PtCtMulMonomial),
            pt_ct_mul_scalar: d(Hop::PtCtMulScalar),
            ct_ct_mul: d(Hop::CtCtMul),
            relinearize: d(Hop::Relinearize),
            rescale: d(Hop::Rescale),
            rotate: d(Hop::Rotate),
        }
    }

    /// All PT-CT products.
    pub fn pt_ct_mul(&self) -> u64 {
        self.pt_ct_mul_dense
            + self.pt_ct_mul_sparse
            + self.pt_ct_mul_monomial
            + self.pt_ct_mul_scalar
    }

    pub(crate) fn add(&mut self, o: &Hops) {
        self.pt_ct_add += o.pt_ct_add;
        self.ct_ct_add += o.ct_ct_add;
        self.pt_ct_mul_dense += o.pt_ct_mul_dense;
        self.pt_ct_mul_sparse += o.pt_ct_mul_sparse;
        self.pt_ct_mul_monomial += o.pt_ct_mul_monomial;
        self.pt_ct_mul_scalar += o.pt_ct_mul_scalar;
        self.ct_ct_mul += o.ct_ct_mul;
        self.relinearize += o.relinearize;
        self.rescale += o.rescale;
        self.rotate += o.rotate;
    }
}

/// One step of the plan: its name, kind, wall time and operations (summed
/// over batches and plaintext moduli).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerReport {
    /// The layers it computes (`conv1+bn1`).
    pub name: String,
    /// The (first) layer's kind.
    pub op: String,
    /// Server wall time.
    pub seconds: f64,
    /// Operations.
    pub hops: Hops,
}

/// Client and server times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Seconds {
    /// Client: encoding and encryption of the inputs.
    pub encrypt: f64,
    /// Server: deserialization, the network, serialization.
    pub infer: f64,
    /// Client: decryption and decoding of the logits.
    pub decrypt: f64,
}

/// Ciphertext bytes sent each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bytes {
    /// Inputs and evaluation keys (and parameters).
    pub to_server: u64,
    /// Encrypted logits.
    pub to_client: u64,
}

/// An image whose encrypted class differs from the f64 reference's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disagreement {
    /// Its index among the images run.
    pub image: usize,
    /// Its label.
    pub label: u8,
    /// The f64 reference's class.
    pub reference_class: usize,
    /// The encrypted run's class.
    pub encrypted_class: usize,
    /// The reference's top logit minus its runner-up.
    pub reference_margin: f64,
    /// The encrypted top logit minus its runner-up.
    pub encrypted_margin: f64,
}

/// Everything `hefty infer` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferReport {
    /// The model's name.
    pub model: String,
    /// `batch` or `integer`.
    pub packing: String,
    /// `ckks` or `bfv`.
    pub scheme: String,
    /// Images run.
    pub images: usize,
    /// Worker threads.
    pub threads: usize,
    /// The server's backend: `cpu`, `cuda` or `wgpu`.
    pub backend: String,
    /// The server's device (a GPU's name), `None` on the host CPU.
    pub device: Option<String>,
    /// Encrypted predictions equal to the labels.
    pub accuracy: f64,
    /// The f64 reference's accuracy on the same images.
    pub reference_accuracy: f64,
    /// Fraction of images whose encrypted class equals the f64 reference's.
    pub agreement: f64,
    /// CKKS: the largest |encrypted − f64 reference| logit difference.
    pub max_logit_error: Option<f64>,
    /// Exact schemes: images whose logits differ from the fixed-point
    /// executor's integers (0 when correct).
    pub mismatched_logits: Option<usize>,
    /// BFV: the smallest noise budget (bits) left in any decrypted logit
    /// ciphertext (decryption is exact while it is positive): the margin
    /// of the parameters.
    pub noise_budget_bits: Option<f64>,
    /// Times.
    pub seconds: Seconds,
    /// Server seconds per image (`seconds.infer / images`).
    pub seconds_per_image: f64,
    /// Requests run on the same images in this process (`--requests`).
    pub requests: usize,
    /// The server's seconds for each request, the first being
    /// `seconds.infer`: the later ones ran where the earlier ones had
    /// already brought the process's memory in, as in a server that keeps
    /// running.
    pub server_seconds: Vec<f64>,
    /// The median server seconds per image of the requests after the first
    /// (`None` with one request).
    pub warm_seconds_per_image: Option<f64>,
    /// Bytes each way.
    pub bytes: Bytes,
    /// The parameters chosen (scheme-specific).
    pub params: serde_json::Value,
    /// Per plan step.
    pub layers: Vec<LayerReport>,
    /// Images where the encrypted and the reference class differ.
    pub disagreements: Vec<Disagreement>,
}

impl InferReport {
    /// Takes in a later request's report on the same images: its server
    /// time, and the worse of the two in every measure of the results
    /// (agreement, logit error, mismatched logits, noise budget, the
    /// disagreeing images). The times, bytes and per-layer table stay the
    /// first request's.
    pub(crate) fn absorb(&mut self, later: InferReport) {
        self.requests += 1;
        self.server_seconds.push(later.seconds.infer);
        self.agreement = self.agreement.min(later.agreement);
        self.accuracy = self.accuracy.min(later.accuracy);
        fn worse<T>(a: Option<T>, b: Option<T>, pick: fn(T, T) -> T) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(pick(a, b)),
                (a, b) => a.or(b),
            }
        }
        self.max_logit_error = worse(self.max_logit_error, later.max_logit_error, f64::max);
        self.noise_budget_bits = worse(self.noise_budget_bits, later.noise_budget_bits, f64::min);
        self.mismatched_logits = worse(self.mismatched_logits, later.mismatched_logits, usize::max);
        for d in later.disagreements {
            if !self.disagreements.iter().any(|e| e.image == d.image) {
                self.disagreements.push(d);
            }
        }
        self.disagreements.sort_by_key(|d| d.image);
        let mut warm = self.server_seconds[1..].to_vec();
        warm.sort_by(f64::total_cmp);
        let median = if warm.len() % 2 == 1 {
            warm[warm.len() / 2]
        } else {
            (warm[warm.len() / 2 - 1] + warm[warm.len() / 2]) / 2.0
        };
        self.warm_seconds_per_image = Some(median / self.images.max(1) as f64);
    }
}

/// Per-step time and operation counts, fed by [`crate::exec::walk`]'s events.
pub(crate) struct Recorder<'a> {
    counter: &'a HopCounter,
    start: HopCounts,
    pub(crate) layers: Vec<LayerReport>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new<W>(plan: &Plan<W>, counter: &'a HopCounter) -> Self {
        Self {
            counter,
            start: HopCounts::default(),
            layers: plan
                .steps
                .iter()
                .map(|s| LayerReport {
                    name: s.label.clone(),
                    op: s.kind.to_string(),
                    seconds: 0.0,
                    hops: Hops::default(),
                })
                .collect(),
        }
    }

    pub(crate) fn observe(&mut self, event: Event) {
        match event {
            Event::Begin { .. } => self.start = self.counter.totals(),
            Event::End { index, elapsed } => {
                let layer = &mut self.layers[index];
                layer.seconds += elapsed.as_secs_f64();
                layer
                    .hops
                    .add(&Hops::between(&self.start, &self.counter.totals()));
            }
        }
    }
}

/// The top value minus the runner-up.
pub(crate) fn margin(v: &[f64]) -> f64 {
    let top = argmax(v);
    let second = v
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != top)
        .map(|(_, &x)| x)
        .fold(f64::NEG_INFINITY, f64::max);
    v[top] - second
}

/// Accuracy, reference accuracy, agreement and the disagreements of
/// encrypted logits against the f64 reference's.
pub(crate) fn compare(
    encrypted: &[Vec<f64>],
    reference: &[Vec<f64>],
    labels: &[u8],
) -> (f64, f64, f64, Vec<Disagreement>) {
    let n = labels.len().max(1) as f64;
    let mut correct = 0;
    let mut reference_correct = 0;
    let mut disagreements = Vec::new();
    for (i, ((e, r), &label)) in encrypted.iter().zip(reference).zip(labels).enumerate() {
        let (ce, cr) = (argmax(e), argmax(r));
        correct += usize::from(ce == label as usize);
        reference_correct += usize::from(cr == label as usize);
        if ce != cr {
            disagreements.push(Disagreement {
                image: i,
                label,
                reference_class: cr,
                encrypted_class: ce,
                reference_margin: margin(r),
                encrypted_margin: margin(e),
            });
        }
    }
    (
        correct as f64 / n,
        reference_correct as f64 / n,
        1.0 - disagreements.len() as f64 / n,
        disagreements,
    )
}

/// What a CKKS run measured, before it is compared with the f64 reference.
pub(crate) struct CkksRun {
    pub(crate) packing: &'static str,
    pub(crate) logits: Vec<Vec<f64>>,
    pub(crate) seconds: Seconds,
    pub(crate) bytes: Bytes,
    pub(crate) params: serde_json::Value,
    pub(crate) layers: Vec<LayerReport>,
}

impl CkksRun {
    /// The report: accuracy, agreement and the largest logit error against
    /// the f64 reference on the same images.
    pub(crate) fn report(
        self,
        model: &crate::model::Model,
        images: &[&[u8]],
        labels: &[u8],
    ) -> Result<InferReport, crate::Error> {
        let reference = model.forward_f64_all(images)?;
        let max_logit_error = self
            .logits
            .iter()
            .zip(&reference)
            .flat_map(|(e, r)| e.iter().zip(r).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        let (accuracy, reference_accuracy, agreement, disagreements) =
            compare(&self.logits, &reference, labels);
        Ok(InferReport {
            model: model.graph().name.clone(),
            packing: self.packing.into(),
            scheme: "ckks".into(),
            images: images.len(),
            threads: rayon::current_num_threads(),
            backend: "cpu".into(),
            device: None,
            accuracy,
            reference_accuracy,
            agreement,
            max_logit_error: Some(max_logit_error),
            mismatched_logits: None,
            noise_budget_bits: None,
            seconds: self.seconds,
            seconds_per_image: self.seconds.infer / images.len() as f64,
            requests: 1,
            server_seconds: vec![self.seconds.infer],
            warm_seconds_per_image: None,
            bytes: self.bytes,
            params: self.params,
            layers: self.layers,
            disagreements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(agreement: f64, error: f64, server: f64, disagree: &[usize]) -> InferReport {
        InferReport {
            model: "m".into(),
            packing: "batch".into(),
            scheme: "ckks".into(),
            images: 4,
            threads: 1,
            backend: "cpu".into(),
            device: None,
            accuracy: agreement,
            reference_accuracy: 1.0,
            agreement,
            max_logit_error: Some(error),
            mismatched_logits: None,
            noise_budget_bits: None,
            seconds: Seconds {
                encrypt: 1.0,
                infer: server,
                decrypt: 0.5,
            },
            seconds_per_image: server / 4.0,
            requests: 1,
            server_seconds: vec![server],
            warm_seconds_per_image: None,
            bytes: Bytes::default(),
            params: serde_json::Value::Null,
            layers: Vec::new(),
            disagreements: disagree
                .iter()
                .map(|&image| Disagreement {
                    image,
                    label: 0,
                    reference_class: 0,
                    encrypted_class: 1,
                    reference_margin: 0.1,
                    encrypted_margin: 0.2,
                })
                .collect(),
        }
    }

    /// The merged report keeps the first request's times, takes the worst
    /// result of all, lists each disagreeing image once, and the warm
    /// figure is the median of the later requests (odd and even counts).
    #[test]
    fn later_requests_merge_into_the_worst_result_and_a_median() {
        let mut r = report(1.0, 1e-6, 8.0, &[]);
        r.absorb(report(0.75, 3e-6, 6.0, &[2]));
        assert_eq!((r.requests, r.agreement, r.accuracy), (2, 0.75, 0.75));
        assert_eq!(r.max_logit_error, Some(3e-6));
        assert_eq!(r.warm_seconds_per_image, Some(6.0 / 4.0));
        r.absorb(report(1.0, 2e-6, 4.0, &[2, 0]));
        assert_eq!(r.server_seconds, [8.0, 6.0, 4.0]);
        assert_eq!(r.warm_seconds_per_image, Some(5.0 / 4.0));
        r.absorb(report(1.0, 1e-7, 7.0, &[]));
        assert_eq!(r.warm_seconds_per_image, Some(6.0 / 4.0));
        assert_eq!((r.agreement, r.max_logit_error), (0.75, Some(3e-6)));
        let images: Vec<usize> = r.disagreements.iter().map(|d| d.image).collect();
        assert_eq!(images, [0, 2]);
        assert_eq!((r.seconds.infer, r.seconds_per_image), (8.0, 2.0));
    }
}
