//! The JSON graph of a model file (docs/MODEL_FORMAT.md).

use serde::{Deserialize, Serialize};

/// The value of the `format` field.
pub const FORMAT: &str = "hefty-model";

/// The graph version this build writes and reads.
pub const GRAPH_VERSION: u32 = 1;

/// The JSON document of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graph {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`GRAPH_VERSION`].
    pub version: u32,
    /// A name for people.
    pub name: String,
    /// The input tensor.
    pub input: InputSpec,
    /// The safetensors file with the weights, relative to the JSON file.
    pub weights: String,
    /// The layers, in order.
    pub layers: Vec<Layer>,
    /// Free-form facts about training (accuracy, epochs, time, …).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub training: serde_json::Map<String, serde_json::Value>,
}

/// The input: an image of `channels × height × width` bytes, each pixel
/// `p` read as `p / 2^scale_bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Channels.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Pixel `p` is the value `p / 2^scale_bits` (8: `p/256`).
    pub scale_bits: u32,
}

/// How the weights of a linear layer were quantized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "scheme")]
pub enum Quantization {
    /// Every weight is 0 or `±2^k` with `min_exp ≤ k ≤ max_exp`.
    PowerOfTwo {
        /// `n2`, the smallest exponent.
        min_exp: i32,
        /// `n1 = floor(log2(4s/3))`, the largest.
        max_exp: i32,
    },
}

/// How many coefficients a trainable polynomial activation has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One polynomial for the whole layer.
    Layer,
    /// One per channel (per feature after a dense layer).
    Channel,
    /// One per tensor element (BEAA).
    Element,
}

/// An activation function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum ActivationSpec {
    /// `max(0, x)` (plaintext teachers only: not computable under HE).
    Relu,
    /// `Σ c_i x^i`, coefficients in tensor `<layer>.coeffs` of shape
    /// `[groups, degree + 1]` (groups: 1, channels, or elements).
    Poly {
        /// The degree.
        degree: usize,
        /// Which elements share a polynomial.
        granularity: Granularity,
    },
}

/// One layer. Tensors are named `<name>.<part>` in the weights file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "op")]
pub enum Layer {
    /// 2-D convolution: `<name>.weight` `[out, in, k, k]`, `<name>.bias` `[out]`.
    Conv2d {
        /// Tensor prefix.
        name: String,
        /// Input channels.
        in_channels: usize,
        /// Output channels (maps).
        out_channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
        /// How the weights were quantized, if they were.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantization: Option<Quantization>,
    },
    /// Batch normalization with its statistics: `<name>.gamma`, `.beta`,
    /// `.mean`, `.var`, each `[channels]`: `γ (x − μ)/sqrt(σ² + eps) + β`.
    BatchNorm {
        /// Tensor prefix.
        name: String,
        /// Channels (features after a dense layer).
        channels: usize,
        /// The variance offset.
        eps: f64,
    },
    /// An activation.
    Activation {
        /// Tensor prefix.
        name: String,
        /// Which function.
        function: ActivationSpec,
    },
    /// Average pooling over `kernel × kernel` windows with zero padding;
    /// `scaled` (Faster CryptoNets) sums instead of averaging.
    AvgPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
        /// Sum instead of mean (no division: HE-friendly).
        scaled: bool,
    },
    /// Flattens `C × H × W` to `C·H·W` features (channel-major).
    Flatten,
    /// Fully connected: `<name>.weight` `[out, in]`, `<name>.bias` `[out]`.
    Dense {
        /// Tensor prefix.
        name: String,
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
        /// How the weights were quantized, if they were.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantization: Option<Quantization>,
    },
}

impl Layer {
    /// The layer's tensor prefix, if it has tensors.
    pub fn name(&self) -> Option<&str> {
        match self {
            Layer::Conv2d { name, .. }
            | Layer::BatchNorm { name, .. }
            | Layer::Activation { name, .. }
            | Layer::Dense { name, .. } => Some(name),
            Layer::AvgPool { .. } | Layer::Flatten => None,
        }
    }
}
