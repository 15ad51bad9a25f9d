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
    /// Whether the adapter has timestamp queries (requested when it does).
    timestamps: bool,
    /// Kernel timing is on: every compute pass is bracketed by timestamps.
    timing: std::sync::atomic::AtomicBool,
    /// Nanoseconds of compute passes measured since timing was switched on.
    kernel_ns: std::sync::atomic::AtomicU64,
    pipelines: Mutex<HashMap<(&'static str, &'static str), Arc<wgpu::ComputePipeline>>>,
    pending: Mutex<Pending>,
}

/// Commands recorded since the last submission. One submission per
/// primitive would cost a queue round trip per dispatch (tens of µs on a
/// GPU, hundreds of dispatches per key switch); they are submitted together
/// when the host needs results (a read-back, a wait, a host write) or when
/// this many have queued.
#[derive(Default)]
pub(crate) struct Pending {
    commands: Vec<Command>,
    /// Every queued dispatch's arguments, each at an aligned offset.
    args: Vec<u32>,
}

const FLUSH_COMMANDS: usize = 1024;
const FLUSH_ARGS_WORDS: usize = 1 << 20;

/// One recorded command.
enum Command {
    Dispatch {
        pipeline: Arc<wgpu::ComputePipeline>,
        args: std::ops::Range<usize>,
        buffers: Vec<wgpu::Buffer>,
        workgroups: (u32, u32),
    },
    Copy {
        src: wgpu::Buffer,
        src_at: u64,
        dst: wgpu::Buffer,
        dst_at: u64,
        bytes: u64,
    },
    Clear {
        buf: wgpu::Buffer,
        bytes: u64,
    },
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

fn no_device(reason: String) -> Error {
    Error::NoDevice {
        backend: NAME,
        reason,
    }
}

fn device_error(message: impl Into<String>) -> Error {
    Error::Device {
        backend: NAME,
        message: message.into(),
    }
}

impl Context {
    /// The adapter whose name contains `name` (any case), else the first
    /// adapter wgpu offers (high performance preferred; `WGPU_BACKEND` is
    /// honoured), or a typed error that says what to install or choose.
    pub fn new(name: Option<&str>) -> Result<Self, Error> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        let adapter = match name {
            Some(name) => {
                let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
                let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&name.to_lowercase()))
                    .ok_or_else(|| {
                        no_device(format!(
                            "no adapter named like {name:?} (this machine has: {}); name one of those",
                            if names.is_empty() { "none".to_string() } else { names.join(", ") }
                        ))
                    })?
            }
            None => pollster::block_on(instance.request_adapter(&options)).map_err(|e| {
                no_device(format!(
                    "no GPU adapter ({e}); install a Vulkan, Metal or DX12 driver (on Linux without a GPU, Mesa's lavapipe: apt-get install mesa-vulkan-drivers libvulkan1)"
                ))
            })?,
        };
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
        // Ask for everything the adapter offers: large storage bindings matter.
        let limits = adapter.limits();
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hefty"),
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
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
            timestamps,
            timing: Default::default(),
            kernel_ns: Default::default(),
            pipelines: Mutex::default(),
            pending: Mutex::default(),
        })
    }

    /// Switches kernel timing on or off (see [`hefty_core::Backend::set_kernel_timing`]);
    /// false when the adapter has no timestamp queries.
    pub fn set_kernel_timing(&self, on: bool) -> bool {
        use std::sync::atomic::Ordering;
        if !self.timestamps {
            return false;
        }
        // Passes queued so far belong to the old setting.
        self.flush();
        self.kernel_ns.store(0, Ordering::Relaxed);
        self.timing.store(on, Ordering::Relaxed);
        true
    }

    /// Compute-pass nanoseconds since timing was switched on (submitted work
    /// only: call after [`Self::synchronize`]).
    pub fn kernel_ns(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        self.timing
            .load(Ordering::Relaxed)
            .then(|| self.kernel_ns.load(Ordering::Relaxed))
    }

    /// Reads a submission's resolved timestamps (`2·passes` ticks: each
    /// pass's start and end) and adds the passes' time.
    fn add_pass_times(&self, readback: &wgpu::Buffer, passes: usize) {
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            return self.record(format!("waiting for kernel timestamps failed: {e}"));
        }
        if !matches!(rx.recv(), Ok(Ok(()))) {
            return self.record("kernel timestamps could not be read".into());
        }
        let ticks: u64 = match slice.get_mapped_range() {
            Ok(view) => {
                let t: &[u64] = bytemuck::cast_slice(&view);
                (0..passes)
                    .map(|k| t[2 * k + 1].saturating_sub(t[2 * k]))
                    .sum()
            }
            Err(e) => return self.record(format!("kernel timestamps could not be read: {e}")),
        };
        readback.unmap();
        let ns = (ticks as f64 * self.queue.get_timestamp_period() as f64) as u64;
        self.kernel_ns
            .fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits for every submitted command; returns the first failure recorded.
    pub fn synchronize(&self) -> Result<(), Error> {
        self.flush();
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

    /// Queues `kernel` over `workgroups` with `args` at binding 0 and
    /// `buffers` at bindings 1, 2, … (the first one written). Commands are
    /// recorded and submitted together (see [`Pending`]).
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
        let mut pending = self.lock_pending();
        // Each record starts at the adapter's storage offset alignment.
        let align = (self.limits.min_storage_buffer_offset_alignment as usize / 4).max(1);
        let at = pending.args.len().next_multiple_of(align);
        pending.args.resize(at, 0);
        pending.args.extend_from_slice(args);
        pending.commands.push(Command::Dispatch {
            pipeline,
            args: at..at + args.len(),
            buffers: buffers.iter().map(|&b| b.clone()).collect(),
            workgroups,
        });
        self.maybe_flush(pending);
    }

    /// Queues a copy of `words` 32-bit words between buffers.
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
        let mut pending = self.lock_pending();
        pending.commands.push(Command::Copy {
            src: src.clone(),
            src_at: 4 * src_word as u64,
            dst: dst.clone(),
            dst_at: 4 * dst_word as u64,
            bytes: 4 * words as u64,
        });
        self.maybe_flush(pending);
    }

    /// Queues zeroing the first `words` words of a buffer.
    pub fn clear(&self, buf: &wgpu::Buffer, words: usize) {
        if words == 0 {
            return;
        }
        let mut pending = self.lock_pending();
        pending.commands.push(Command::Clear {
            buf: buf.clone(),
            bytes: 4 * words as u64,
        });
        self.maybe_flush(pending);
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn maybe_flush(&self, mut pending: std::sync::MutexGuard<'_, Pending>) {
        if pending.commands.len() >= FLUSH_COMMANDS || pending.args.len() >= FLUSH_ARGS_WORDS {
            self.submit(&mut pending);
        }
    }

    /// Submits every queued command (before a host write, a read-back or a
    /// wait: queue writes land before the next submission's commands).
    pub fn flush(&self) {
        let mut pending = self.lock_pending();
        self.submit(&mut pending);
    }

    /// Encodes the queued commands — consecutive dispatches in one compute
    /// pass, every dispatch's arguments in one buffer — and submits them.
    fn submit(&self, pending: &mut Pending) {
        if pending.commands.is_empty() {
            return;
        }
        let args = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("args"),
                contents: bytemuck::cast_slice(&pending.args),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("hefty"),
            });
        let commands = std::mem::take(&mut pending.commands);
        pending.args.clear();
        // With kernel timing on, each compute pass writes its start and end.
        let passes = commands
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                matches!(c, Command::Dispatch { .. })
                    && (*i == 0 || !matches!(commands[i - 1], Command::Dispatch { .. }))
            })
            .count();
        let timed =
            (self.timing.load(std::sync::atomic::Ordering::Relaxed) && passes > 0).then(|| {
                let count = 2 * passes as u32;
                let set = self.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("kernel time"),
                    ty: wgpu::QueryType::Timestamp,
                    count,
                });
                let buffer = |usage| {
                    self.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("kernel time"),
                        size: 8 * count as u64,
                        usage,
                        mapped_at_creation: false,
                    })
                };
                let resolved =
                    buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
                let readback = buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
                (set, resolved, readback, count)
            });
        let mut pass_index = 0u32;
        let mut i = 0;
        while i < commands.len() {
            match &commands[i] {
                Command::Dispatch { .. } => {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: timed.as_ref().map(|(set, ..)| {
                            wgpu::ComputePassTimestampWrites {
                                query_set: set,
                                beginning_of_pass_write_index: Some(2 * pass_index),
                                end_of_pass_write_index: Some(2 * pass_index + 1),
                            }
                        }),
                    });
                    pass_index += 1;
                    while let Some(Command::Dispatch {
                        pipeline,
                        args: range,
                        buffers,
                        workgroups,
                    }) = commands.get(i)
                    {
                        let mut entries = vec![wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: &args,
                                offset: 4 * range.start as u64,
                                size: std::num::NonZeroU64::new(4 * range.len().max(1) as u64),
                            }),
                        }];
                        entries.extend(buffers.iter().enumerate().map(|(j, b)| {
                            wgpu::BindGroupEntry {
                                binding: j as u32 + 1,
                                resource: b.as_entire_binding(),
                            }
                        }));
                        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                            label: None,
                            layout: &pipeline.get_bind_group_layout(0),
                            entries: &entries,
                        });
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, &group, &[]);
                        pass.dispatch_workgroups(workgroups.0, workgroups.1, 1);
                        i += 1;
                    }
                }
                Command::Copy {
                    src,
                    src_at,
                    dst,
                    dst_at,
                    bytes,
                } => {
                    encoder.copy_buffer_to_buffer(src, *src_at, dst, *dst_at, *bytes);
                    i += 1;
                }
                Command::Clear { buf, bytes } => {
                    encoder.clear_buffer(buf, 0, Some(*bytes));
                    i += 1;
                }
            }
        }
        if let Some((set, resolved, readback, count)) = &timed {
            encoder.resolve_query_set(set, 0..*count, resolved, 0);
            encoder.copy_buffer_to_buffer(resolved, 0, readback, 0, 8 * *count as u64);
        }
        self.queue.submit([encoder.finish()]);
        if let Some((_, _, readback, _)) = &timed {
            self.add_pass_times(readback, passes);
        }
    }

    /// Workgroups covering `threads` invocations of a flat kernel: at most
    /// the adapter's per-dimension limit in x, the rest in y.
    pub fn grid(&self, threads: usize) -> (u32, u32) {
        let groups = threads.div_ceil(WORKGROUP as usize);
        let max = self.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        let x = groups.min(max);
        (x as u32, groups.div_ceil(x.max(1)) as u32)
    }
}
