//! The CUDA C source of the kernels and its compilation by NVRTC.
//!
//! One text (`kernels/*.cu` after `kernels/arith.h`) serves both targets:
//! NVRTC compiles it for the device at run time, for the device's compute
//! capability, once per word size and process; `build.rs` compiles the same
//! files for the host as C, where the emulation runs them (see `host.rs`).

use std::ffi::{CStr, CString};

use cudarc::nvrtc::{result, sys};
use hefty_core::Error;
use hefty_core::ring::Word;

use super::NAME;

/// The kernels' source, the arithmetic header first.
pub(crate) const SOURCE: &str = concat!(
    include_str!("kernels/arith.h"),
    include_str!("kernels/elementwise.cu"),
    include_str!("kernels/ntt.cu"),
    include_str!("kernels/shuffle.cu"),
    include_str!("kernels/convert.cu"),
);

/// Every kernel the source defines (`extern "C"` names).
pub const KERNELS: &[&str] = &[
    "add",
    "sub",
    "neg",
    "mul",
    "mul_add",
    "sub_scale",
    "mul_const",
    "add_const",
    "mul_const_add",
    "key_inner_product",
    "tensor",
    "ntt_inverse_last",
    "ntt_forward_block",
    "ntt_inverse_block",
    "ntt_forward_strided",
    "ntt_inverse_strided",
    "automorphism",
    "permute",
    "monomial",
    "monomial_mul_add",
    "divide_round_by_last",
    "mod_up",
    "exact_lift",
    "scale_round",
];

/// The word size's bits.
pub(crate) fn bits(word: Word) -> u32 {
    match word {
        Word::W64 => 64,
        Word::W32 => 32,
    }
}

/// Whether NVRTC's library can be loaded here (no panic when it cannot).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to open the shared library by its candidate names.
    unsafe { sys::is_culib_present() }
}

fn compile_error(message: String) -> Error {
    Error::Device {
        backend: NAME,
        message,
    }
}

/// What NVRTC makes of the kernels for one architecture and word size.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The PTX text.
    pub ptx: String,
    /// The device code (SASS) for the architecture: what the backend loads.
    /// Unlike PTX, which needs a driver at least as new as NVRTC to JIT it,
    /// a cubin loads on any driver of the same CUDA major version.
    pub cubin: Vec<u8>,
}

/// Compiles the kernels with NVRTC for `arch` (e.g. `"sm_90"`) and `word`. A compile error, or any warning (the kernels compile
/// cleanly), is [`Error::Device`] with NVRTC's log. Without NVRTC's library
/// it is [`Error::NoDevice`] saying what to install, never a panic.
pub fn compile(arch: &str, word: Word) -> Result<Compiled, Error> {
    compile_source(SOURCE, arch, word)
}

/// The device code of a compiled program.
///
/// # Safety
/// `prog` must be a successfully compiled, live NVRTC program.
unsafe fn cubin_of(prog: sys::nvrtcProgram) -> Result<Vec<u8>, Error> {
    let mut size = 0usize;
    // SAFETY: `prog` is live and compiled (the caller's contract).
    unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }
        .result()
        .map_err(|e| compile_error(format!("NVRTC could not size the cubin: {e:?}")))?;
    let mut cubin = vec![0u8; size];
    // SAFETY: `cubin` holds the `size` bytes NVRTC reported.
    unsafe { sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr() as *mut std::ffi::c_char) }
        .result()
        .map_err(|e| compile_error(format!("NVRTC could not return the cubin: {e:?}")))?;
    Ok(cubin)
}

/// [`compile`] for any source text.
fn compile_source(source: &str, arch: &str, word: Word) -> Result<Compiled, Error> {
    if !nvrtc_present() {
        return Err(Error::NoDevice {
            backend: NAME,
            reason: "NVRTC (libnvrtc.so.13) is not installed: install the CUDA 13 toolkit or `pip install nvidia-cuda-nvrtc` and put its lib directory on LD_LIBRARY_PATH".into(),
        });
    }
    let src =
        CString::new(source).map_err(|_| compile_error("kernel source holds a NUL".into()))?;
    let name = CString::new("hefty.cu").map_err(|_| compile_error("bad name".into()))?;
    let options = [
        format!("--gpu-architecture={arch}"),
        format!("-DWORD_BITS={}", bits(word)),
        "--std=c++17".to_string(),
    ];
    let prog = result::create_program(&src, Some(&name))
        .map_err(|e| compile_error(format!("NVRTC could not create a program: {e:?}")))?;
    // SAFETY: `prog` was created above and is destroyed exactly once below;
    // the option strings outlive the call.
    let compiled = unsafe { result::compile_program(prog, &options) };
    // SAFETY: as above; the log is read before the program is destroyed.
    let log = unsafe { result::get_program_log(prog) }
        .ok()
        .map(|raw| {
            // SAFETY: NVRTC's log is NUL-terminated.
            unsafe { CStr::from_ptr(raw.as_ptr()) }
                .to_string_lossy()
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    let out = match compiled {
        // SAFETY: the program compiled; NVRTC owns its outputs until destroyed.
        Ok(()) => unsafe { result::get_ptx(prog) }
            .map_err(|e| compile_error(format!("NVRTC could not return PTX: {e:?}")))
            .and_then(|ptx| {
                let text: Vec<u8> = ptx
                    .iter()
                    .map(|&c| c as u8)
                    .take_while(|&c| c != 0)
                    .collect();
                // SAFETY: as above.
                let cubin = unsafe { cubin_of(prog) }?;
                Ok(Compiled {
                    ptx: String::from_utf8_lossy(&text).into_owned(),
                    cubin,
                })
            }),
        Err(e) => Err(compile_error(format!(
            "the CUDA kernels do not compile for {arch} with {}-bit words ({e:?}):\n{log}",
            bits(word)
        ))),
    };
    // SAFETY: destroyed once; nothing reads the program afterwards.
    let _ = unsafe { result::destroy_program(prog) };
    let out = out?;
    if log.contains("warning") {
        return Err(compile_error(format!(
            "the CUDA kernels compile for {arch} with {}-bit words but NVRTC warns:\n{log}",
            bits(word)
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_or_an_error_fails_the_compilation_with_the_log() {
        if !nvrtc_present() {
            eprintln!("skipped: NVRTC (libnvrtc.so.13) is not installed here");
            return;
        }
        let warns = format!("{SOURCE}\n#warning \"deliberate\"\n");
        let e = compile_source(&warns, "sm_90", Word::W64).unwrap_err();
        assert!(
            e.to_string().contains("warns") && e.to_string().contains("deliberate"),
            "{e}"
        );
        let broken = format!("{SOURCE}\nKERNEL(broken) {{ undefined_name = 1; }}\n");
        let e = compile_source(&broken, "sm_90", Word::W32).unwrap_err();
        assert!(
            e.to_string().contains("do not compile") && e.to_string().contains("undefined_name"),
            "{e}"
        );
    }
}
