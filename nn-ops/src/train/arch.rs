//! Network architectures, written in the layer set of the model format.

use crate::model::Granularity;

/// The activation of a trained network.
#[derive(Debug, Clone, PartialEq)]
pub enum ActChoice {
    /// ReLU (teachers).
    Relu,
    /// A fixed polynomial (lowest degree first): `x²` is `[0, 0, 1]`, a
    /// quantized-minimax fit its power-of-two coefficients.
    Fixed(Vec<f64>),
    /// A trainable quadratic `a·x² + b·x + c` at a granularity.
    Trainable(Granularity),
}

/// One layer of an architecture.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerDef {
    /// Convolution with `out` maps.
    Conv {
        /// Tensor prefix.
        name: String,
        /// Output channels.
        out: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding.
        padding: usize,
        /// Weights forced to zero outside the centre tap for the first
        /// `centre_only` output maps (a fire module's 1×1 expand branch
        /// inside one 3×3 convolution: concatenation without a concat layer).
        centre_only: usize,
    },
    /// Batch normalization.
    BatchNorm {
        /// Tensor prefix.
        name: String,
    },
    /// An activation.
    Act {
        /// Tensor prefix.
        name: String,
        /// Which.
        act: ActChoice,
    },
    /// Average (or, `scaled`, sum) pooling.
    Pool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding.
        padding: usize,
        /// Sum instead of mean.
        scaled: bool,
    },
    /// Channel-major flattening.
    Flatten,
    /// Fully connected layer with `out` features.
    Dense {
        /// Tensor prefix.
        name: String,
        /// Output features.
        out: usize,
    },
}

fn conv(name: &str, out: usize, kernel: usize, stride: usize, padding: usize) -> LayerDef {
    LayerDef::Conv {
        name: name.into(),
        out,
        kernel,
        stride,
        padding,
        centre_only: 0,
    }
}

fn act(name: &str, a: &ActChoice) -> LayerDef {
    LayerDef::Act {
        name: name.into(),
        act: a.clone(),
    }
}

/// The MNIST network of Faster CryptoNets / CryptoNets: conv 5 maps 5×5
/// stride 2 pad 1 → batch norm → activation → scaled average pool 3×3
/// stride 1 pad 1 → conv 50 maps 5×5 stride 2 → scaled average pool →
/// dense 1250 → 100 → batch norm → activation → dense 100 → 10.
pub fn cryptonets_mnist(a: &ActChoice) -> Vec<LayerDef> {
    let pool = LayerDef::Pool {
        kernel: 3,
        stride: 1,
        padding: 1,
        scaled: true,
    };
    vec![
        conv("conv1", 5, 5, 2, 1),
        LayerDef::BatchNorm { name: "bn1".into() },
        act("act1", a),
        pool.clone(),
        conv("conv2", 50, 5, 2, 0),
        pool,
        LayerDef::Flatten,
        LayerDef::Dense {
            name: "fc1".into(),
            out: 100,
        },
        LayerDef::BatchNorm { name: "bn2".into() },
        act("act2", a),
        LayerDef::Dense {
            name: "fc2".into(),
            out: 10,
        },
    ]
}

/// The HEMET-style SqueezeNet of BEAA for `classes` outputs: a conv module,
/// two fire modules (squeeze 1×1 → activation → expand 1×1 ‖ 3×3, the two
/// expand branches as one 3×3 convolution whose first maps use only their
/// centre tap), average pooling, a 1×1 classifier conv and global average
/// pooling — all from the model format's layer set.
pub fn hemet_squeezenet(a: &ActChoice, input_side: usize, classes: usize) -> Vec<LayerDef> {
    let mut layers = vec![
        conv("conv1", 32, 3, 1, 1),
        LayerDef::BatchNorm { name: "bn1".into() },
        act("act1", a),
        LayerDef::Pool {
            kernel: 2,
            stride: 2,
            padding: 0,
            scaled: false,
        },
    ];
    for (i, (squeeze, expand)) in [(16, 32), (32, 64)].into_iter().enumerate() {
        let f = i + 1;
        layers.push(conv(&format!("fire{f}_squeeze"), squeeze, 1, 1, 0));
        layers.push(act(&format!("fire{f}_act_s"), a));
        layers.push(LayerDef::Conv {
            name: format!("fire{f}_expand"),
            out: 2 * expand,
            kernel: 3,
            stride: 1,
            padding: 1,
            centre_only: expand,
        });
        layers.push(LayerDef::BatchNorm {
            name: format!("fire{f}_bn"),
        });
        layers.push(act(&format!("fire{f}_act_e"), a));
    }
    layers.push(LayerDef::Pool {
        kernel: 2,
        stride: 2,
        padding: 0,
        scaled: false,
    });
    layers.push(conv("classifier", classes, 1, 1, 0));
    let side = input_side / 4;
    layers.push(LayerDef::Pool {
        kernel: side,
        stride: side,
        padding: 0,
        scaled: !(side * side).is_power_of_two(),
    });
    layers.push(LayerDef::Flatten);
    layers
}
