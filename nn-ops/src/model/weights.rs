//! Named f32 tensors, stored as safetensors.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, serialize};

use crate::Error;

/// A dense f32 tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor, checking that `data` fills `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, Error> {
        if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(data.len()) {
            return Err(Error::Model(format!(
                "tensor of shape {shape:?} given {} values",
                data.len()
            )));
        }
        Ok(Self { shape, data })
    }
}

/// Writes `tensors` to a safetensors file.
pub fn write(path: &Path, tensors: &BTreeMap<String, Tensor>) -> Result<(), Error> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, t)| {
            // safetensors is little-endian, as every target hefty builds for.
            let bytes: &[u8] = bytemuck::cast_slice(&t.data);
            safetensors::tensor::TensorView::new(Dtype::F32, t.shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Model(format!("tensor {name}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let bytes = serialize(views, None).map_err(|e| Error::Model(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Every tensor of the bytes of a safetensors file (F32 only); the error
/// says what is wrong (the caller adds which file).
pub(crate) fn parse(bytes: &[u8]) -> Result<BTreeMap<String, Tensor>, String> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            if view.dtype() != Dtype::F32 {
                return Err(format!(
                    "tensor {name} is {:?}; hefty models store F32",
                    view.dtype()
                ));
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let tensor = Tensor::new(view.shape().to_vec(), data).map_err(|e| match e {
                Error::Model(m) => m,
                e => e.to_string(),
            })?;
            Ok((name, tensor))
        })
        .collect()
}
