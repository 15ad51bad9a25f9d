//! The WGSL kernels: each module is the shared arithmetic prelude
//! (`arith.wgsl`) followed by one family of entry points.

/// One WGSL module.
#[derive(Debug)]
pub(crate) struct Module {
    pub name: &'static str,
    body: &'static str,
}

const ARITH: &str = include_str!("shaders/arith.wgsl");

impl Module {
    /// The full source: prelude, then the family's kernels.
    pub fn source(&self) -> String {
        format!("{ARITH}\n{}", self.body)
    }
}

/// One entry point of a module.
#[derive(Debug)]
pub(crate) struct Kernel {
    pub module: &'static Module,
    pub entry: &'static str,
}

pub(crate) static ELEMENTWISE: Module = Module {
    name: "elementwise",
    body: include_str!("shaders/elementwise.wgsl"),
};
pub(crate) static NTT: Module = Module {
    name: "ntt",
    body: include_str!("shaders/ntt.wgsl"),
};
pub(crate) static SHUFFLE: Module = Module {
    name: "shuffle",
    body: include_str!("shaders/shuffle.wgsl"),
};
pub(crate) static CONVERT: Module = Module {
    name: "convert",
    body: include_str!("shaders/convert.wgsl"),
};

/// Every module, for the compile check.
pub(crate) static MODULES: [&Module; 4] = [&ELEMENTWISE, &NTT, &SHUFFLE, &CONVERT];

macro_rules! kernels {
    ($($name:ident = $module:ident :: $entry:literal;)*) => {
        $(pub(crate) static $name: Kernel = Kernel { module: &$module, entry: $entry };)*
    };
}

kernels! {
    ADD = ELEMENTWISE::"add";
    SUB = ELEMENTWISE::"sub";
    NEG = ELEMENTWISE::"neg";
    MUL = ELEMENTWISE::"mul";
    MUL_ADD = ELEMENTWISE::"mul_add";
    SUB_SCALE = ELEMENTWISE::"sub_scale";
    MUL_CONST = ELEMENTWISE::"mul_const";
    ADD_CONST = ELEMENTWISE::"add_const";
    MUL_CONST_ADD = ELEMENTWISE::"mul_const_add";
    NTT_INVERSE_LAST = NTT::"inverse_last";
    NTT_FORWARD_BLOCK = NTT::"forward_block";
    NTT_INVERSE_BLOCK = NTT::"inverse_block";
    NTT_FORWARD_STRIDED = NTT::"forward_strided";
    NTT_INVERSE_STRIDED = NTT::"inverse_strided";
    AUTOMORPHISM = SHUFFLE::"automorphism";
    PERMUTE = SHUFFLE::"permute";
    MONOMIAL = SHUFFLE::"monomial";
    MONOMIAL_MUL_ADD = SHUFFLE::"monomial_mul_add";
    DIVIDE_ROUND_BY_LAST = SHUFFLE::"divide_round_by_last";
    MOD_UP = CONVERT::"mod_up";
    EXACT_LIFT = CONVERT::"exact_lift";
    SCALE_ROUND = CONVERT::"scale_round";
}
