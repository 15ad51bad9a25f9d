//! Fuzzes the bfv_ciphertext decoder (see ../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check("bfv_ciphertext", data));
