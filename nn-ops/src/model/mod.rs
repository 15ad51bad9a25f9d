//! Model files: a JSON graph (layers, shapes, activation coefficients,
//! quantization) plus a safetensors file of weights — the format the
//! encrypted executor reads (docs/MODEL_FORMAT.md) — with a loader that
//! rejects malformed files, and the plaintext reference executors.

mod evaluate;
mod graph;
mod shape;
mod weights;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::exec::{FixedModel, FixedOutput, FixedPoint};
pub use evaluate::{EvalMode, EvalReport, evaluate};
pub use graph::{
    ActivationSpec, FORMAT, GRAPH_VERSION, Granularity, Graph, InputSpec, Layer, Quantization,
};
#[cfg(feature = "train")]
pub(crate) use shape::window_out;
pub use shape::{MAX_DIM, MAX_ELEMENTS, MAX_LAYER_WORK, MAX_LAYERS, MAX_MODEL_WORK, Shape};
pub use weights::Tensor;

use crate::{Error, FileAccess};

/// The largest JSON graph read (the committed models are under 10 kB).
pub const MAX_GRAPH_BYTES: u64 = 1 << 24;

/// The largest weights file read.
pub const MAX_WEIGHTS_BYTES: u64 = 1 << 30;

/// Images per block of the f64 reference over many images: rows long
/// enough for the vector units, few enough that a block's values stay in
/// cache.
pub(crate) const F64_BLOCK: usize = 64;

/// A model: its graph and its named tensors, validated together.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    graph: Graph,
    tensors: BTreeMap<String, Tensor>,
    /// The shape after each layer.
    shapes: Vec<Shape>,
}

impl Model {
    /// A model from a graph and its tensors; fails unless every layer fits
    /// its input, every tensor the graph names exists with the right shape
    /// and finite values, and no tensor is left over.
    pub fn new(graph: Graph, tensors: BTreeMap<String, Tensor>) -> Result<Self, Error> {
        let shapes = shape::validate(&graph, &tensors)?;
        Ok(Self {
            graph,
            tensors,
            shapes,
        })
    }

    /// Loads `path` (the JSON graph) and the weights file it names. Both
    /// must be regular files (not symbolic links: see [`Self::load_with`]),
    /// the graph at most [`MAX_GRAPH_BYTES`], the weights at most
    /// [`MAX_WEIGHTS_BYTES`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::load_with(path, FileAccess::default())
    }

    /// [`Self::load`] with explicit file-access rules (e.g. following
    /// symbolic links the caller trusts).
    pub fn load_with(path: &Path, access: FileAccess) -> Result<Self, Error> {
        let graph = parse_graph(&access.read(path, MAX_GRAPH_BYTES)?)
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        let weights = weights_path(path, &graph.weights)?;
        let bytes = access.read(&weights, MAX_WEIGHTS_BYTES)?;
        let tensors = weights::parse(&bytes)
            .map_err(|e| Error::Model(format!("{}: {e}", weights.display())))?;
        Self::new(graph, tensors)
    }

    /// A model from the bytes of its graph (JSON) and of its weights
    /// (safetensors), validated as [`Self::load`] does: what a server that
    /// receives a model over the network, and the fuzz target, call.
    pub fn from_bytes(graph: &[u8], weights: &[u8]) -> Result<Self, Error> {
        if graph.len() as u64 > MAX_GRAPH_BYTES || weights.len() as u64 > MAX_WEIGHTS_BYTES {
            return Err(Error::Model(format!(
                "a graph of {} bytes and weights of {} bytes exceed the bounds ({MAX_GRAPH_BYTES} and {MAX_WEIGHTS_BYTES})",
                graph.len(),
                weights.len()
            )));
        }
        let graph = parse_graph(graph).map_err(Error::Model)?;
        Self::new(graph, weights::parse(weights).map_err(Error::Model)?)
    }

    /// Writes the graph to `path` and the weights beside it (the file the
    /// graph's `weights` field names).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let weights = weights_path(path, &self.graph.weights)?;
        weights::write(&weights, &self.tensors)?;
        let text =
            serde_json::to_string_pretty(&self.graph).map_err(|e| Error::Model(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The named tensors.
    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.tensors
    }

    /// The tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// The shape after each layer (the last is the output).
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// The shape of the input.
    pub fn input_shape(&self) -> Shape {
        let i = self.graph.input;
        Shape::Image {
            channels: i.channels,
            height: i.height,
            width: i.width,
        }
    }

    /// The number of outputs (classes).
    pub fn outputs(&self) -> usize {
        self.shapes.last().map_or(0, Shape::len)
    }

    /// The plaintext f64 reference: logits of one image (`pixels` bytes in
    /// channel-major order).
    pub fn forward_f64(&self, pixels: &[u8]) -> Result<Vec<f64>, Error> {
        self.forward_f64_with(&crate::exec::float_plan(self), pixels)
    }

    /// [`Self::forward_f64`] of every image, bit for bit, sharing one plan
    /// (building it reads every weight, which costs more than running it on
    /// one image): blocks of images in parallel, each walked at once
    /// ([`crate::exec::FloatBlock`]).
    pub fn forward_f64_all(&self, images: &[&[u8]]) -> Result<Vec<Vec<f64>>, Error> {
        use rayon::prelude::*;
        let plan = crate::exec::float_plan(self);
        let blocks = images
            .par_chunks(F64_BLOCK)
            .map(|block| self.forward_f64_block(&plan, block))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(blocks.into_iter().flatten().collect())
    }

    /// [`Self::forward_f64`] of a few images (best [`F64_BLOCK`] at a time)
    /// walked at once, with the model's f64 plan already built.
    pub(crate) fn forward_f64_block(
        &self,
        plan: &crate::exec::Plan<f64>,
        block: &[&[u8]],
    ) -> Result<Vec<Vec<f64>>, Error> {
        let input = self.input_shape().len();
        // Every image checked (an empty block divides nothing).
        let scale = block.iter().try_fold(1.0, |_, im| self.pixel_scale(im))?;
        // Element-major: value e holds pixel e of every image.
        let x = (0..input)
            .map(|e| block.iter().map(|im| im[e] as f64 / scale).collect())
            .collect();
        let exec = crate::exec::FloatBlock {
            images: block.len(),
        };
        let y = crate::exec::walk(plan, &exec, x, &mut |_| {})?;
        Ok((0..block.len())
            .map(|k| y.iter().map(|v| v[k]).collect())
            .collect())
    }

    /// [`Self::forward_f64`] with the model's f64 plan already built.
    pub(crate) fn forward_f64_with(
        &self,
        plan: &crate::exec::Plan<f64>,
        pixels: &[u8],
    ) -> Result<Vec<f64>, Error> {
        let scale = self.pixel_scale(pixels)?;
        let x = pixels.iter().map(|&p| p as f64 / scale).collect();
        crate::exec::walk(plan, &crate::exec::Float, x, &mut |_| {})
    }

    /// What an image's pixel bytes are divided by, once its size is checked.
    fn pixel_scale(&self, pixels: &[u8]) -> Result<f64, Error> {
        let input = self.input_shape().len();
        if pixels.len() != input {
            return Err(Error::Model(format!(
                "the model takes {input} pixels, got {}",
                pixels.len()
            )));
        }
        Ok((self.graph.input.scale_bits as f64).exp2())
    }

    /// Fraction of linear-layer weights that are exactly zero.
    pub fn sparsity(&self) -> f64 {
        let (mut zero, mut total) = (0usize, 0usize);
        for layer in &self.graph.layers {
            if let Layer::Conv2d { name, .. } | Layer::Dense { name, .. } = layer
                && let Some(w) = self.tensors.get(&format!("{name}.weight"))
            {
                zero += w.data.iter().filter(|&&x| x == 0.0).count();
                total += w.data.len();
            }
        }
        if total == 0 {
            0.0
        } else {
            zero as f64 / total as f64
        }
    }
}

/// A graph from its JSON bytes, of this format and version.
fn parse_graph(bytes: &[u8]) -> Result<Graph, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let graph: Graph = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if graph.format != FORMAT || graph.version != GRAPH_VERSION {
        return Err(format!(
            "{:?} version {}, this hefty reads {FORMAT:?} version {GRAPH_VERSION}",
            graph.format, graph.version
        ));
    }
    Ok(graph)
}

/// The weights file named `file`, beside the graph at `graph`: a plain file
/// name (no directories), so a model file cannot point elsewhere.
fn weights_path(graph: &Path, file: &str) -> Result<PathBuf, Error> {
    let name = Path::new(file);
    if name.components().count() != 1 || name.file_name().is_none() {
        return Err(Error::Model(format!(
            "weights file {file:?} must be a plain file name beside the graph"
        )));
    }
    Ok(graph.parent().unwrap_or(Path::new(".")).join(name))
}
