//! # hefty-kernels
//!
//! GPU backends for hefty-core's [`Backend`](hefty_core::Backend) trait:
//! [`Wgpu`] (WGSL compute shaders on any Vulkan, Metal or DX12 adapter, and
//! on Mesa's lavapipe without a GPU) behind the `wgpu` feature. The CUDA
//! backend arrives with its own issue.

pub use hefty_core as core;

#[cfg(feature = "wgpu")]
mod wgsl;

#[cfg(feature = "wgpu")]
pub use wgsl::Wgpu;
