//! The best polynomial whose coefficients are signed powers of two (or
//! zero): Faster CryptoNets' quantized minimax, so that every product by a
//! coefficient is a monomial multiplication.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::approx::{eval_poly, max_error, minimax};

/// One coefficient: `Some((sign, k))` for `sign·2^k`, `None` for zero.
pub type Pow2Term = Option<(i8, i32)>;

/// The search space of [`pow2_minimax`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pow2Search {
    /// Smallest exponent `k` of a coefficient `±2^k`.
    pub min_exp: i32,
    /// Largest exponent.
    pub max_exp: i32,
    /// Grid points the candidates' errors are compared on.
    pub grid: usize,
}

impl Default for Pow2Search {
    /// Exponents −10 … 3, a grid of 2,001 points.
    fn default() -> Self {
        Self {
            min_exp: -10,
            max_exp: 3,
            grid: 2001,
        }
    }
}

/// A power-of-two polynomial fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pow2Fit {
    /// The half-width `a` of the interval.
    pub interval: f64,
    /// Coefficients, lowest degree first: each 0 or `±2^k`.
    pub coeffs: Vec<f64>,
    /// `(sign, k)` of each coefficient, `None` for 0.
    pub terms: Vec<Pow2Term>,
    /// `max |f − p|` over `[-a, a]` (100,001-point grid).
    pub max_error: f64,
    /// Whether the search was exhaustive over the exponent range (degree ≤ 2)
    /// or a neighbourhood of the real minimax coefficients (higher degrees).
    pub exhaustive: bool,
}

/// The polynomial of `degree` with coefficients in `{0, ±2^k : min_exp ≤ k
/// ≤ max_exp}` that has the smallest maximum error for `f` on `[-a, a]`.
///
/// For degree ≤ 2 every combination is tried (29³ at the default range), so
/// the result is the best there is on the grid. For higher degrees the
/// search tries, per coefficient, zero and the powers of two within one
/// exponent of the real minimax coefficient (with its sign): a heuristic
/// with `5^(degree+1)` candidates.
///
/// ```
/// use hefty_nn::approx::{Activation, Pow2Search, pow2_minimax};
/// let fit = pow2_minimax(&|x| Activation::Relu.eval(x), 4.0, 2, &Pow2Search::default())?;
/// assert_eq!(fit.coeffs, vec![0.25, 0.5, 0.125]); // Faster CryptoNets' ReLU
/// # Ok::<(), hefty_nn::Error>(())
/// ```
pub fn pow2_minimax(
    f: &dyn Fn(f64) -> f64,
    a: f64,
    degree: usize,
    search: &Pow2Search,
) -> Result<Pow2Fit, Error> {
    if search.min_exp > search.max_exp || search.max_exp - search.min_exp > 40 || search.grid < 3 {
        return Err(Error::Fit(format!(
            "bad power-of-two search range {search:?}"
        )));
    }
    if degree > 6 {
        return Err(Error::Fit(format!(
            "degree {degree}: the power-of-two search supports degrees up to 6"
        )));
    }
    let exhaustive = degree <= 2;
    let candidates: Vec<Vec<Pow2Term>> = if exhaustive {
        let all: Vec<Pow2Term> = std::iter::once(None)
            .chain((search.min_exp..=search.max_exp).flat_map(|k| [Some((1, k)), Some((-1, k))]))
            .collect();
        vec![all; degree + 1]
    } else {
        let real = minimax(f, a, degree)?;
        real.coeffs
            .iter()
            .map(|&c| {
                let mut v = vec![None];
                if c != 0.0 {
                    let s = if c > 0.0 { 1 } else { -1 };
                    let k = c.abs().log2().floor() as i32;
                    for e in k - 1..=k + 2 {
                        if (search.min_exp..=search.max_exp).contains(&e) {
                            v.push(Some((s, e)));
                        }
                    }
                }
                v
            })
            .collect()
    };
    let xs: Vec<f64> = (0..search.grid)
        .map(|i| -a + 2.0 * a * i as f64 / (search.grid - 1) as f64)
        .chain([0.0])
        .collect();
    let ys: Vec<f64> = xs.iter().map(|&x| f(x)).collect();
    let value = |t: Pow2Term| t.map_or(0.0, |(s, k)| s as f64 * (k as f64).exp2());
    let mut best: Option<(f64, Vec<Pow2Term>)> = None; // (max error, terms)
    let mut index = vec![0usize; degree + 1];
    loop {
        let terms: Vec<Pow2Term> = index.iter().zip(&candidates).map(|(&i, c)| c[i]).collect();
        let coeffs: Vec<f64> = terms.iter().map(|&t| value(t)).collect();
        let bound = best.as_ref().map_or(f64::MAX, |b| b.0);
        // Early exit once this candidate is already worse than the best.
        let mut worst = 0.0f64;
        for (&x, &y) in xs.iter().zip(&ys) {
            worst = worst.max((y - eval_poly(&coeffs, x)).abs());
            if worst >= bound {
                break;
            }
        }
        if worst < bound {
            best = Some((worst, terms));
        }
        // Next combination (odometer).
        let mut d = 0;
        loop {
            if d > degree {
                let (_, terms) = best.expect("at least one candidate");
                let coeffs: Vec<f64> = terms.iter().map(|&t| value(t)).collect();
                let max_error = max_error(f, &coeffs, a);
                return Ok(Pow2Fit {
                    interval: a,
                    coeffs,
                    terms,
                    max_error,
                    exhaustive,
                });
            }
            index[d] += 1;
            if index[d] < candidates[d].len() {
                break;
            }
            index[d] = 0;
            d += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approx::Activation;

    #[test]
    fn every_coefficient_is_a_power_of_two_or_zero_and_no_worse_than_rounding() {
        for act in Activation::ALL {
            let f = move |x: f64| act.eval(x);
            for degree in [2, 3] {
                let fit = pow2_minimax(&f, 4.0, degree, &Pow2Search::default()).unwrap();
                for (&c, t) in fit.coeffs.iter().zip(&fit.terms) {
                    match t {
                        None => assert_eq!(c, 0.0),
                        Some((s, k)) => assert_eq!(c, *s as f64 * (*k as f64).exp2()),
                    }
                }
                // Rounding each real minimax coefficient to the nearest power
                // of two is one of the candidates: the search is no worse.
                let real = minimax(&f, 4.0, degree).unwrap();
                let rounded: Vec<f64> = real
                    .coeffs
                    .iter()
                    .map(|&c| {
                        if c == 0.0 {
                            0.0
                        } else {
                            c.signum() * c.abs().log2().round().clamp(-10.0, 3.0).exp2()
                        }
                    })
                    .collect();
                let rounded_err = max_error(&f, &rounded, 4.0);
                assert!(
                    fit.max_error <= rounded_err + 1e-3,
                    "{act:?} {degree}: {} > {rounded_err}",
                    fit.max_error
                );
                assert!(fit.max_error >= real.max_error - 1e-9);
            }
        }
    }
}
