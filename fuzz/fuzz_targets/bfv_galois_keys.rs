//! Fuzzes the bfv_galois_keys decoder (see ../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check("bfv_galois_keys", data));
