//! The storage behind an RNS polynomial: host words or a backend's device memory.

use std::any::Any;
use std::fmt;

/// A limb-major buffer of `u64` words owned by one [`Backend`](super::Backend).
///
/// The CPU backend keeps host vectors; a GPU backend keeps whatever handle
/// its device memory has (boxed, so the type stays one for every backend).
/// Only the backend that made a buffer reads it: a polynomial's basis pins
/// its backend, and polynomials of different bases never meet.
pub struct Buffer(Repr);

enum Repr {
    Host(Vec<u64>),
    Device(Box<dyn Any + Send + Sync>),
}

impl Buffer {
    /// A buffer of host words.
    pub fn host(words: Vec<u64>) -> Self {
        Self(Repr::Host(words))
    }

    /// A buffer living in a backend's own memory (`handle` is its type).
    pub fn device<T: Any + Send + Sync>(handle: T) -> Self {
        Self(Repr::Device(Box::new(handle)))
    }

    /// The host words, if this is a host buffer.
    pub fn as_host(&self) -> Option<&Vec<u64>> {
        match &self.0 {
            Repr::Host(v) => Some(v),
            Repr::Device(_) => None,
        }
    }

    /// The host words, mutably, if this is a host buffer.
    pub fn as_host_mut(&mut self) -> Option<&mut Vec<u64>> {
        match &mut self.0 {
            Repr::Host(v) => Some(v),
            Repr::Device(_) => None,
        }
    }

    /// Takes the host words out (leaving an empty host buffer), if this is one.
    pub fn take_host(&mut self) -> Option<Vec<u64>> {
        self.as_host_mut().map(std::mem::take)
    }

    /// The device handle, if this buffer holds one of type `T`.
    pub fn device_ref<T: Any>(&self) -> Option<&T> {
        match &self.0 {
            Repr::Device(b) => b.downcast_ref(),
            Repr::Host(_) => None,
        }
    }

    /// The device handle by value (a backend's `release` taking its memory
    /// back), if this buffer holds one of type `T`.
    pub fn into_device<T: Any>(self) -> Option<T> {
        match self.0 {
            Repr::Device(b) => b.downcast().ok().map(|b| *b),
            Repr::Host(_) => None,
        }
    }

    /// The device handle, mutably, if this buffer holds one of type `T`.
    pub fn device_mut<T: Any>(&mut self) -> Option<&mut T> {
        match &mut self.0 {
            Repr::Device(b) => b.downcast_mut(),
            Repr::Host(_) => None,
        }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Residues may be secret (keys): print the size, never the words.
        match &self.0 {
            Repr::Host(v) => write!(f, "Buffer::Host({} words)", v.len()),
            Repr::Device(_) => write!(f, "Buffer::Device"),
        }
    }
}
