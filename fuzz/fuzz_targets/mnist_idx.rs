//! Fuzzes the hefty-nn mnist_idx reader (see ../checks_nn.rs).
#![no_main]

#[path = "../checks_nn.rs"]
mod checks_nn;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks_nn::mnist_idx(data));
