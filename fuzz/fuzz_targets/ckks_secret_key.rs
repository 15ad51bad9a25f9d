//! Fuzzes the ckks_secret_key decoder (see ../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check("ckks_secret_key", data));
