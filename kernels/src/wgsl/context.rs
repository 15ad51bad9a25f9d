//! The device, its queue, compiled pipelines and kernel launches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hefty_core::Error;
use wgpu::util::DeviceExt;

use super::NAME;
use super::shaders::Kernel;

/// Words per workgroup of the flat kernels (`@workgroup_size(256)`).
pub(crate) const WORKGROUP: u32 = 256;

/// A device failure recorded by wgpu's callbacks, returned at the next
/// synchronisation (launches are asynchronous).
type Failure = Arc<Mutex<Option<String>>>;

/// An adapter's device and queue with the pipelines compiled so far.
pub(crate) struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// `"<adapter name> (<api>, <type>)"`.
    pub adapter: String,
    pub limits: wgpu::Limits,
    failure: Failure,
    pipelines: Mutex<HashMap<(&'static str, &'static str), Arc<wgpu::ComputePipeline>>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

fn device_error(message: impl Into<String>) -> Error {
    Error::Device {
        backend: NAME,
        message: message.into(),
    }
}

impl Context {
    /// The first adapter wgpu offers (high performance preferred; the
    /// `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` variables are honoured), or a
    /// typed error that says what to install.
    pub fn new() -> Result<Self, Error> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
            Ok(name) => pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&name.to_lowercase()))
                .ok_or_else(|| device_error(format!("no adapter named like WGPU_ADAPTER_NAME={name:?}; unset it or name one of the machine's adapters")))?,
            Err(_) => pollster::block_on(instance.request_adapter(&options)).map_err(|e| {
                device_error(format!(
                    "no GPU adapter ({e}); install a Vulkan, Metal or DX12 driver (on Linux without a GPU, Mesa's lavapipe: apt-get install mesa-vulkan-drivers libvulkan1)"
                ))
            })?,
        };
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
        // Ask for everything the adapter offers: large storage bindings matter.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hefty"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| device_error(format!("the adapter {adapter_name} refused a device: {e}")))?;
        let failure: Failure = Arc::default();
        let record = Arc::clone(&failure);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = record.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        let lost = Arc::clone(&failure);
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = lost.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("device lost ({reason:?}): {message}"));
        });
        Ok(Self {
            device,
            queue,
            adapter: adapter_name,
            limits,
            failure,
            pipelines: Mutex::default(),
        })
    }

    /// Waits for every submitted command; returns the first failure recorded.
    pub fn synchronize(&self) -> Result<(), Error> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| device_error(format!("waiting for the device failed: {e}")))?;
        self.check()
    }

    /// The first failure recorded so far, if any (it stays recorded).
    pub fn check(&self) -> Result<(), Error> {
        match &*self.failure.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(message) => Err(device_error(message.clone())),
            None => Ok(()),
        }
    }

    /// Records a failure found outside wgpu's callbacks.
    pub fn record(&self, message: String) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(message);
    }

    /// The compiled pipeline of `kernel` (compiled on first use).
    fn pipeline(&self, kernel: &Kernel) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        let key = (kernel.module.name, kernel.entry);
        Arc::clone(cache.entry(key).or_insert_with(|| {
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.module.name),
                    source: wgpu::ShaderSource::Wgsl(kernel.module.source().into()),
                });
            Arc::new(
                self.device
                    .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(kernel.entry),
                        layout: None,
                        module: &module,
                        entry_point: Some(kernel.entry),
                        compilation_options: Default::default(),
                        cache: None,
                    }),
            )
        }))
    }

    /// Runs `kernel` over `workgroups` with `args` at binding 0 and
    /// `buffers` at bindings 1, 2, … (the first one written).
    pub fn launch(
        &self,
        kernel: &Kernel,
        args: &[u32],
        buffers: &[&wgpu::Buffer],
        workgroups: (u32, u32),
    ) {
        if workgroups.0 == 0 || workgroups.1 == 0 {
            return;
        }
        let pipeline = self.pipeline(kernel);
        let args = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("args"),
                contents: bytemuck::cast_slice(args),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: args.as_entire_binding(),
        }];
        entries.extend(
            buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: b.as_entire_binding(),
                }),
        );
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.entry),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(workgroups.0, workgroups.1, 1);
        }
        self.queue.submit([encoder.finish()]);
    }

    /// Workgroups covering `threads` invocations of a flat kernel: at most
    /// the adapter's per-dimension limit in x, the rest in y.
    pub fn grid(&self, threads: usize) -> (u32, u32) {
        let groups = threads.div_ceil(WORKGROUP as usize);
        let max = self.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        let x = groups.min(max);
        (x as u32, groups.div_ceil(x.max(1)) as u32)
    }

    /// Copies `words` 32-bit words between buffers (queued in order).
    pub fn copy(
        &self,
        src: &wgpu::Buffer,
        src_word: usize,
        dst: &wgpu::Buffer,
        dst_word: usize,
        words: usize,
    ) {
        if words == 0 {
            return;
        }
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(
            src,
            4 * src_word as u64,
            dst,
            4 * dst_word as u64,
            4 * words as u64,
        );
        self.queue.submit([encoder.finish()]);
    }

    /// Zeroes the first `words` words of a buffer.
    pub fn clear(&self, buf: &wgpu::Buffer, words: usize) {
        if words == 0 {
            return;
        }
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(buf, 0, Some(4 * words as u64));
        self.queue.submit([encoder.finish()]);
    }
}
