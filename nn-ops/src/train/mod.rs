//! HE-friendly training on candle (feature `train`): the layer set of the
//! model format with trainable quadratic activations (per layer, channel or
//! element), knowledge distillation from a ReLU teacher, gradual magnitude
//! pruning and incremental power-of-two quantization; networks export to
//! model files.

mod activation;
mod arch;
mod augment;
mod net;
mod trainer;

pub use activation::quadratic;
pub use arch::{ActChoice, LayerDef, cryptonets_mnist, hemet_squeezenet};
pub use augment::shifted_batch;
pub use net::Net;
pub use trainer::{
    Distill, Inq, Pruning, TrainConfig, TrainEvent, accuracy, distillation_loss, tensors, train,
};
