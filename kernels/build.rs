//! With the `cuda` feature: compiles the CUDA kernels' source for the host
//! (as C, once per word size), for the host emulation and the arithmetic
//! tests (`src/cuda/host.rs`).

fn main() {
    println!("cargo:rerun-if-changed=src/cuda/kernels");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    cc::Build::new()
        .file("src/cuda/kernels/host64.c")
        .file("src/cuda/kernels/host32.c")
        .flag("-std=gnu11")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("hefty_cuda_host");
}
