//! Minimax polynomial fits by the Remez exchange algorithm.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::approx::eval_poly;

/// A polynomial fit of a function on `[-a, a]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The half-width `a` of the interval.
    pub interval: f64,
    /// Coefficients, lowest degree first, in `x` (not rescaled).
    pub coeffs: Vec<f64>,
    /// `max |f(x) − p(x)|` over `[-a, a]` (measured on a grid of 100,001
    /// points plus the extrema found).
    pub max_error: f64,
}

/// Points of the dense grid the error is searched on.
const GRID: usize = 20_001;

/// `max |f − p|` over `[-a, a]` on a grid of 100,001 points.
pub fn max_error(f: &dyn Fn(f64) -> f64, coeffs: &[f64], a: f64) -> f64 {
    let m = 100_000;
    (0..=m)
        .map(|i| {
            let x = -a + 2.0 * a * i as f64 / m as f64;
            (f(x) - eval_poly(coeffs, x)).abs()
        })
        .fold(0.0, f64::max)
}

/// The minimax polynomial of `degree` for `f` on `[-a, a]`: the polynomial
/// whose largest error is smallest, found by the Remez exchange (the error
/// of the result equioscillates on `degree + 2` points). Works for
/// non-smooth functions (ReLU) too: extrema are searched on a dense grid and
/// refined locally.
///
/// ```
/// use hefty_nn::approx::{Activation, minimax};
/// // ReLU on [-4, 4]: x²/8 + x/2 + 1/4, error 1/4.
/// let fit = minimax(&|x| Activation::Relu.eval(x), 4.0, 2)?;
/// assert!((fit.coeffs[2] - 0.125).abs() < 1e-6 && (fit.max_error - 0.25).abs() < 1e-6);
/// # Ok::<(), hefty_nn::Error>(())
/// ```
pub fn minimax(f: &dyn Fn(f64) -> f64, a: f64, degree: usize) -> Result<Fit, Error> {
    if !(a.is_finite() && a > 0.0) {
        return Err(Error::Fit(format!(
            "the interval half-width {a} must be positive"
        )));
    }
    if degree > 16 {
        return Err(Error::Fit(format!(
            "degree {degree} is too large for a stable fit (at most 16)"
        )));
    }
    // Work on t = x/a in [-1, 1].
    let g = |t: f64| f(a * t);
    let m = degree + 2;
    // Chebyshev extrema, interior points nudged off symmetry: a symmetric
    // reference can make a piecewise function (ReLU) interpolable exactly,
    // which stalls the exchange with a zero levelled error.
    let mut reference: Vec<f64> = (0..m)
        .map(|i| {
            let nudge = if i == 0 || i == m - 1 {
                0.0
            } else {
                0.05 * (i as f64 * 1.7).sin()
            };
            -(std::f64::consts::PI * (i as f64 + nudge) / (m - 1) as f64).cos()
        })
        .collect();
    let grid: Vec<f64> = (0..GRID)
        .map(|i| -1.0 + 2.0 * i as f64 / (GRID - 1) as f64)
        .collect();
    let values: Vec<f64> = grid.iter().map(|&t| g(t)).collect();
    let mut coeffs = vec![0.0; degree + 1];
    for _ in 0..200 {
        coeffs = solve_reference(&g, &reference, degree)?;
        let err = |t: f64| g(t) - eval_poly(&coeffs, t);
        let errors: Vec<f64> = grid
            .iter()
            .zip(&values)
            .map(|(&t, &v)| v - eval_poly(&coeffs, t))
            .collect();
        let Some(extrema) = alternating_extrema(&errors, m) else {
            // Too few sign changes for a full exchange: move the reference
            // point nearest the largest error there (single exchange).
            let worst = (0..GRID)
                .max_by(|&x, &y| errors[x].abs().total_cmp(&errors[y].abs()))
                .expect("non-empty grid");
            let nearest = (0..m)
                .min_by(|&x, &y| {
                    (reference[x] - grid[worst])
                        .abs()
                        .total_cmp(&(reference[y] - grid[worst]).abs())
                })
                .expect("non-empty reference");
            if reference[nearest] == grid[worst] {
                break;
            }
            reference[nearest] = grid[worst];
            reference.sort_by(f64::total_cmp);
            continue;
        };
        let refined: Vec<f64> = extrema.iter().map(|&i| refine(&err, &grid, i)).collect();
        let mags: Vec<f64> = refined.iter().map(|&t| err(t).abs()).collect();
        let (lo, hi) = mags
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &e| (l.min(e), h.max(e)));
        reference = refined;
        if hi == 0.0 || (hi - lo) <= 1e-10 * hi {
            coeffs = solve_reference(&g, &reference, degree)?;
            break;
        }
    }
    let coeffs: Vec<f64> = coeffs
        .iter()
        .enumerate()
        .map(|(j, c)| c / a.powi(j as i32))
        .collect();
    let max_error = max_error(f, &coeffs, a);
    Ok(Fit {
        interval: a,
        coeffs,
        max_error,
    })
}

/// Solves `p(t_i) + (-1)^i E = g(t_i)` for the coefficients of `p`.
fn solve_reference(g: &dyn Fn(f64) -> f64, t: &[f64], degree: usize) -> Result<Vec<f64>, Error> {
    let m = degree + 2;
    let mut a: Vec<Vec<f64>> = t
        .iter()
        .enumerate()
        .map(|(i, &ti)| {
            let mut row: Vec<f64> = (0..=degree).map(|j| ti.powi(j as i32)).collect();
            row.push(if i % 2 == 0 { 1.0 } else { -1.0 });
            row.push(g(ti));
            row
        })
        .collect();
    // Gaussian elimination with partial pivoting on the augmented matrix.
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-300 {
            return Err(Error::Fit("the reference points are degenerate".into()));
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let factor = row[col] / pivot_row[col];
                for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= factor * p;
                }
            }
        }
    }
    Ok((0..=degree).map(|j| a[j][m] / a[j][j]).collect())
}

/// Indices of `m` extrema of `errors` with alternating signs, the largest
/// ones kept; `None` when there are fewer than `m` sign changes (the fit is
/// already exact on the grid).
fn alternating_extrema(errors: &[f64], m: usize) -> Option<Vec<usize>> {
    // One extremum per run of equal sign.
    let mut ext: Vec<usize> = Vec::new();
    for (i, &e) in errors.iter().enumerate() {
        match ext.last() {
            Some(&j) if (errors[j] >= 0.0) == (e >= 0.0) => {
                if e.abs() > errors[j].abs() {
                    *ext.last_mut().expect("non-empty") = i;
                }
            }
            _ => ext.push(i),
        }
    }
    if ext.len() < m {
        return None;
    }
    while ext.len() > m {
        let mag = |k: usize| errors[ext[k]].abs();
        let last = ext.len() - 1;
        if ext.len() - m == 1
            || mag(0).min(mag(last))
                <= (0..last)
                    .map(|k| mag(k).min(mag(k + 1)))
                    .fold(f64::MAX, f64::min)
        {
            // Drop the smaller end: alternation is kept.
            if mag(0) < mag(last) {
                ext.remove(0);
            } else {
                ext.pop();
            }
        } else {
            // Drop the adjacent interior pair with the smallest extremum.
            let k = (0..last)
                .min_by(|&x, &y| mag(x).min(mag(x + 1)).total_cmp(&mag(y).min(mag(y + 1))))
                .expect("at least two extrema");
            ext.drain(k..k + 2);
        }
    }
    Some(ext)
}

/// Refines the extremum of `|err|` near grid point `i` by ternary search
/// between its neighbours.
fn refine(err: &dyn Fn(f64) -> f64, grid: &[f64], i: usize) -> f64 {
    let lo = grid[i.saturating_sub(1)];
    let hi = grid[(i + 1).min(grid.len() - 1)];
    let (mut l, mut h) = (lo, hi);
    for _ in 0..60 {
        let m1 = l + (h - l) / 3.0;
        let m2 = h - (h - l) / 3.0;
        if err(m1).abs() < err(m2).abs() {
            l = m1;
        } else {
            h = m2;
        }
    }
    let t = 0.5 * (l + h);
    // Keep the grid point if the search wandered to a smaller value (a kink).
    if err(t).abs() >= err(grid[i]).abs() {
        t
    } else {
        grid[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approx::Activation;
    use proptest::prelude::*;

    #[test]
    fn relu_degree_two_is_known_in_closed_form() {
        for a in [1.0, 4.0, 6.0] {
            let fit = minimax(&|x| Activation::Relu.eval(x), a, 2).unwrap();
            // ReLU = x/2 + |x|/2 and |x| ≈ x²/a + a/8 (error a/8).
            let want = [a / 16.0, 0.5, 1.0 / (2.0 * a)];
            for (c, w) in fit.coeffs.iter().zip(want) {
                assert!((c - w).abs() < 1e-6, "a = {a}: {:?}", fit.coeffs);
            }
            assert!((fit.max_error - a / 16.0).abs() < 1e-6);
        }
    }

    /// Chebyshev interpolation at degree + 1 nodes: a near-best polynomial
    /// computed a different way; minimax can never be worse.
    fn chebyshev_interpolant_error(f: &dyn Fn(f64) -> f64, a: f64, degree: usize) -> f64 {
        let nodes: Vec<f64> = (0..=degree)
            .map(|k| {
                a * (std::f64::consts::PI * (2 * k + 1) as f64 / (2 * degree + 2) as f64).cos()
            })
            .collect();
        // Lagrange form evaluated directly.
        let p = |x: f64| {
            nodes
                .iter()
                .enumerate()
                .map(|(i, &xi)| {
                    let w: f64 = nodes
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &xj)| (x - xj) / (xi - xj))
                        .product();
                    f(xi) * w
                })
                .sum::<f64>()
        };
        (0..=20_000)
            .map(|i| {
                let x = -a + 2.0 * a * i as f64 / 20_000.0;
                (f(x) - p(x)).abs()
            })
            .fold(0.0, f64::max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn minimax_beats_chebyshev_and_equioscillates(
            which in 0usize..5, degree in 1usize..7, a in 1.0f64..8.0,
        ) {
            let act = Activation::ALL[which];
            let f = move |x: f64| act.eval(x);
            let fit = minimax(&f, a, degree).unwrap();
            let cheb = chebyshev_interpolant_error(&f, a, degree);
            prop_assert!(fit.max_error <= cheb * (1.0 + 1e-6) + 1e-12,
                "{act:?} deg {degree} a {a}: minimax {} > chebyshev {cheb}", fit.max_error);
        }
    }

    #[test]
    fn smooth_fits_equioscillate() {
        let f = |x: f64| Activation::Sigmoid.eval(x);
        let fit = minimax(&f, 5.0, 5).unwrap();
        // At least degree + 2 points where the error reaches ±max, alternating.
        let e = |x: f64| f(x) - eval_poly(&fit.coeffs, x);
        let mut signs = Vec::new();
        for i in 0..=100_000 {
            let x = -5.0 + 10.0 * i as f64 / 100_000.0;
            if (e(x).abs() - fit.max_error).abs() < 1e-6 * fit.max_error.max(1e-12) + 1e-12 {
                let s = e(x) > 0.0;
                if signs.last() != Some(&s) {
                    signs.push(s);
                }
            }
        }
        assert!(signs.len() >= 7, "{signs:?} max {}", fit.max_error);
    }

    #[test]
    fn bad_requests_are_errors() {
        assert!(minimax(&|x| x, 0.0, 2).is_err());
        assert!(minimax(&|x| x, 1.0, 40).is_err());
    }
}
