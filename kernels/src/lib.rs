//! # hefty-kernels
//!
//! GPU backends for hefty-core's `Backend` trait: CUDA (cudarc, kernels
//! compiled at run time by NVRTC) behind the `cuda` feature and wgpu (WGSL)
//! behind the `wgpu` feature. Content arrives with the GPU issues.

pub use hefty_core as core;
