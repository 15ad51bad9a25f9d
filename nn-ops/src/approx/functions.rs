//! The activation functions to approximate.

use serde::{Deserialize, Serialize};

/// An activation function of a plaintext network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `x·σ(x)`.
    Swish,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x·Φ(x)` (the exact, erf-based GELU).
    Gelu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 5] = [
        Activation::Relu,
        Activation::Swish,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Sigmoid,
    ];

    /// Its value at `x`.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Swish => x * sigmoid(x),
            Activation::Softplus => {
                // ln(1 + e^x) without overflow for large |x|.
                x.max(0.0) + (-x.abs()).exp().ln_1p()
            }
            Activation::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Activation::Sigmoid => sigmoid(x),
        }
    }

    /// Its lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Swish => "swish",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The error function, to about 1e-15 (series near 0, continued fraction
/// of erfc beyond): std has no erf.
fn erf(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 2.5 {
        // erf(a) = 2/√π Σ (-1)^k a^(2k+1) / (k! (2k+1))
        let (mut term, mut sum, mut k) = (a, a, 0.0);
        while term.abs() > 1e-17 * sum.abs() {
            k += 1.0;
            term *= -a * a / k;
            sum += term / (2.0 * k + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(a) by Lentz's continued fraction.
        let tiny = 1e-300;
        let b0 = a * a + 0.5;
        let (mut f, mut c, mut d) = (b0, b0, 0.0);
        for i in 1..200 {
            let an = -(i as f64) * (i as f64 - 0.5);
            let bn = a * a + 0.5 + 2.0 * i as f64;
            d = bn + an * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = bn + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - a * (-a * a).exp() / (f * std::f64::consts::PI.sqrt())
    };
    r.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // erf(1) = 0.8427007929497149, erf(3) = 0.9999779095030014.
        assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
        assert!((erf(3.0) - 0.999_977_909_503_001_4).abs() < 1e-14);
        assert!((erf(-0.5) + 0.520_499_877_813_046_5).abs() < 1e-14);
        assert!((Activation::Gelu.eval(1.0) - 0.841_344_746_068_542_9).abs() < 1e-13);
        assert!((Activation::Softplus.eval(0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((Activation::Softplus.eval(800.0) - 800.0).abs() < 1e-12);
        assert_eq!(Activation::Relu.eval(-2.0), 0.0);
        assert!((Activation::Swish.eval(2.0) - 2.0 / (1.0 + (-2f64).exp())).abs() < 1e-15);
    }
}
