//! The representation a polynomial is in, as a type.
//!
//! Making the form a type parameter turns "multiplied two coefficient-form
//! polynomials" from a silent wrong answer into a compile error.

mod sealed {
    pub trait Sealed {}
}

/// Coefficient or evaluation (NTT) form. Sealed: only [`Coeff`] and [`Ntt`].
pub trait Form: sealed::Sealed + Copy + Send + Sync + std::fmt::Debug + 'static {
    /// `"coeff"` or `"ntt"`.
    const NAME: &'static str;
}

/// Coefficients of `a(x)`, limb by limb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coeff;

/// Evaluations of `a(x)` at the odd powers of ψ, in bit-reversed order (the
/// output of [`hefty_ntt::NttPlan::forward`]): products are pointwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ntt;

impl sealed::Sealed for Coeff {}
impl sealed::Sealed for Ntt {}

impl Form for Coeff {
    const NAME: &'static str = "coeff";
}

impl Form for Ntt {
    const NAME: &'static str = "ntt";
}
