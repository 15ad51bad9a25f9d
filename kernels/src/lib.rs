//! # hefty-kernels
//!
//! GPU backends for hefty-core's [`Backend`](hefty_core::Backend) trait:
//! `Wgpu` (WGSL compute shaders on any Vulkan, Metal or DX12 adapter, and
//! on Mesa's lavapipe without a GPU) behind the `wgpu` feature, and `Cuda`
//! (CUDA C compiled at run time by NVRTC, 64- or 32-bit words, with a host
//! emulation of the same kernels for machines without a GPU) behind the
//! `cuda` feature.

pub use hefty_core as core;

#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod layout;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod pool;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod table_cache;

#[cfg(feature = "wgpu")]
mod wgsl;

#[cfg(feature = "wgpu")]
pub use wgsl::Wgpu;

#[cfg(feature = "cuda")]
pub mod cuda;

#[cfg(feature = "cuda")]
pub use cuda::Cuda;
