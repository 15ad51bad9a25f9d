//! Device buffers of 32-bit words, recycled through a pool keyed by size.

use hefty_core::backend::Transfers;
use hefty_core::{Buffer, Error};

use super::NAME;
use super::context::Context;

/// What a [`Buffer`] of the wgpu backend holds: `len` words (one `u32` per
/// residue) in a device buffer with room for `cap`.
#[derive(Debug)]
pub(crate) struct DeviceWords {
    pub buf: wgpu::Buffer,
    pub len: usize,
    pub cap: usize,
}

const FOREIGN: &str = "a wgpu-backend basis only holds this backend's buffers";

/// The device words of `buf`.
pub(crate) fn words(buf: &Buffer) -> &DeviceWords {
    buf.device_ref::<DeviceWords>().expect(FOREIGN)
}

/// The device words of `buf`, mutably.
pub(crate) fn words_mut(buf: &mut Buffer) -> &mut DeviceWords {
    buf.device_mut::<DeviceWords>().expect(FOREIGN)
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Free device buffers by capacity, and the transfers made so far.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pool: crate::pool::Pool<wgpu::Buffer>,
}

impl Memory {
    /// The transfers counted so far.
    pub fn transfers(&self) -> Transfers {
        self.pool.transfers()
    }

    /// A buffer with room for `words` words, contents unspecified.
    pub fn scratch(&self, cx: &Context, words: usize) -> Result<Buffer, Error> {
        let cap = words.max(1);
        let buf = match self.pool.take(cap) {
            Some(buf) => buf,
            None => create(cx, cap)?,
        };
        Ok(Buffer::device(DeviceWords {
            buf,
            len: words,
            cap,
        }))
    }

    /// A buffer of `len` zeros.
    pub fn alloc(&self, cx: &Context, len: usize) -> Result<Buffer, Error> {
        let buf = self.scratch(cx, len)?;
        cx.clear(&words(&buf).buf, len);
        Ok(buf)
    }

    /// Takes a buffer back into the pool.
    pub fn release(&self, buf: Buffer) {
        if let Some(d) = buf.into_device::<DeviceWords>() {
            self.pool.give(d.cap, d.buf);
        }
    }

    /// Host words → a new device buffer (every word must fit 32 bits).
    pub fn upload(&self, cx: &Context, host: Vec<u64>) -> Result<Buffer, Error> {
        let narrow: Vec<u32> = host
            .iter()
            .map(|&w| u32::try_from(w))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::UnsupportedByBackend {
                backend: NAME,
                reason: "a word does not fit 32 bits (the wgpu backend runs W32 bases: primes below 2^31)".into(),
            })?;
        let buf = self.scratch(cx, narrow.len())?;
        if !narrow.is_empty() {
            // A pooled buffer may still be read by queued commands: they go first.
            cx.flush();
            cx.queue
                .write_buffer(&words(&buf).buf, 0, bytemuck::cast_slice(&narrow));
        }
        self.pool.count_upload();
        Ok(buf)
    }

    /// A device buffer's words → host words.
    pub fn download(&self, cx: &Context, buf: &Buffer) -> Result<Vec<u64>, Error> {
        let d = words(buf);
        self.pool.count_download();
        if d.len == 0 {
            cx.check()?;
            return Ok(Vec::new());
        }
        let bytes = 4 * d.len as u64;
        let staging = cx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("download"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        cx.flush();
        let mut encoder = cx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(&d.buf, 0, &staging, 0, bytes);
        cx.queue.submit([encoder.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        cx.synchronize()?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                cx.record(format!("reading a buffer back failed: {e}"));
                cx.check()?;
            }
            Err(_) => {
                cx.record("reading a buffer back never completed".into());
                cx.check()?;
            }
        }
        let host = match slice.get_mapped_range() {
            Ok(view) => {
                let words: &[u32] = bytemuck::cast_slice(&view);
                words.iter().map(|&w| w as u64).collect()
            }
            Err(e) => {
                cx.record(format!("reading a buffer back failed: {e}"));
                return cx.check().map(|()| Vec::new());
            }
        };
        staging.unmap();
        Ok(host)
    }
}

/// A new device buffer of `cap` words, or the typed out-of-memory error.
fn create(cx: &Context, cap: usize) -> Result<wgpu::Buffer, Error> {
    let bytes = 4 * cap as u64;
    let largest = cx
        .limits
        .max_buffer_size
        .min(cx.limits.max_storage_buffer_binding_size);
    if bytes > largest {
        return Err(Error::OutOfMemory {
            backend: NAME,
            words: cap,
        });
    }
    let scope = cx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let buf = cx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: USAGE,
        mapped_at_creation: false,
    });
    match pollster::block_on(scope.pop()) {
        None => Ok(buf),
        Some(_) => Err(Error::OutOfMemory {
            backend: NAME,
            words: cap,
        }),
    }
}
