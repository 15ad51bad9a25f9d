//! Polynomial approximations of activation functions for encrypted
//! inference: minimax fits (Remez exchange) of any small degree, and the
//! best polynomials whose coefficients are signed powers of two (Faster
//! CryptoNets' quantized minimax).

mod functions;
mod pow2;
mod remez;

pub use functions::Activation;
pub use pow2::{Pow2Fit, Pow2Search, Pow2Term, pow2_minimax};
pub use remez::{Fit, max_error, minimax};

/// Evaluates `Σ c_i x^i` (coefficients lowest degree first) by Horner.
pub fn eval_poly(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}
