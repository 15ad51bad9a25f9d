//! Fuzzes the hefty-nn model reader (see ../checks_nn.rs).
#![no_main]

#[path = "../checks_nn.rs"]
mod checks_nn;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks_nn::model(data));
