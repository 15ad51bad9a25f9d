//! Where a BFV network relinearizes its products.
//!
//! A square's product has three polynomials until it is relinearized, and
//! a linear step sums three-polynomial terms as it sums two (each
//! polynomial on its own). So the products of an activation can stay
//! unrelinearized through the linear steps after it and be relinearized
//! where the fewest ciphertexts are — before the next product at the
//! latest, which needs two polynomials. Each term summed on the way costs
//! a third polynomial more; [`relinearize_after`] counts both and picks
//! the cheaper point for each activation ([`costs`]).
//!
//! A deferred relinearization runs after the activation's switch down to
//! fewer primes, so its key-switching noise (`D/P` times a fresh
//! encryption's, for digits up to `D`) is no longer divided by the dropped
//! primes: measured on the pruned CryptoNets model in base 2, two-prime
//! digits over a one-prime `P` left no noise budget, one-prime digits
//! (`D < P`: the switch adds its rounding alone) 12.8 bits as before. Such
//! digits make every relinearization dearer, and three-polynomial products
//! take a third more memory, so a plan defers only when
//! [`wants_fine_digits`] says the whole network gains by a clear margin
//! ([`MARGIN`]).

use ethnum::I256;

use super::Encoding;
use crate::exec::encrypted::base2;
use crate::exec::{Op, Row, Step};

/// What relinearizing and deferring cost under one encoding, in *terms*:
/// one input ciphertext times one monomial (base 2) or one scalar
/// (slots), added into an output — a linear step's unit of work.
struct Costs {
    /// Relinearizing one product with the fewest digits the noise allows.
    relin: f64,
    /// The same with one-prime digits (below `P`).
    fine_relin: f64,
    /// What one term costs more on a product not yet relinearized (three
    /// polynomials instead of two): a third polynomial column, and a third
    /// more memory written.
    deferred_term: f64,
}

/// The [`Costs`] of an encoding, measured on the pruned CryptoNets model
/// (2026-12-03, Zen 3, 2 threads), relinearizing right after the first
/// square and after fc1:
/// - base 2 (n = 8192, one image; three alternating pairs of runs,
///   medians): 1,690 relinearizations 1.16 s (0.69 ms each), 2.03 s with
///   one-prime digits (one run); the 79,400 terms of the four linear steps
///   after the square 1.47 s (18.5 µs each), 0.69 s more on products not
///   yet relinearized (their 200 relinearizations aside). That predicts
///   the deferred plan 0.40 s faster; six more alternating pairs measured
///   0.2 s (server 1.03×, 0.96–1.10), which a deferred term of 0.65
///   rather than 0.5 fits;
/// - slots (n = 16384, 8,192 images; one pair of runs): the
///   relinearizations 8.0 s (2.4 ms each); the linear steps' 158,800
///   scalar terms 12.9 s (81 µs each), 18.4 s more on unrelinearized
///   products — at this size they no longer fit the caches.
fn costs(encoding: Encoding) -> Costs {
    match encoding {
        Encoding::Base2 => Costs {
            relin: 40.0,
            fine_relin: 60.0,
            deferred_term: 0.65,
        },
        Encoding::Slots => Costs {
            relin: 30.0,
            fine_relin: 45.0,
            deferred_term: 1.4,
        },
    }
}

/// The share of the relinearizations' cost that deferring must stay below:
/// at parity (the pruned CryptoNets model in base 2, 0.71 of it by the
/// counts and 1.03× measured) the third polynomials' memory (peak 1.29 →
/// 1.72 GB) is not worth it.
const MARGIN: f64 = 0.8;

/// Whether a polynomial step's outputs are products (three polynomials
/// before relinearizing): a quadratic with a square term somewhere.
pub(super) fn makes_products(op: &Op<I256>) -> bool {
    matches!(op, Op::Poly { degree: 2, coeffs } if coeffs.chunks(3).any(|c| c[2] != 0))
}

/// A linear step's terms: its monomials in base 2 (each weight's signed
/// binary digits), its non-zero weights in slots.
fn terms(rows: &[Row<I256>], encoding: Encoding) -> f64 {
    rows.iter()
        .flat_map(|r| &r.terms)
        .map(|&(_, w)| match encoding {
            Encoding::Slots => 1,
            Encoding::Base2 => base2::naf(w).len(),
        })
        .sum::<usize>() as f64
}

/// For every activation whose outputs are products, the step its products
/// are relinearized after and what that costs in terms: with coarse
/// digits right away; with one-prime digits (`fine`) the step among the
/// activation and the linear steps right after it (up to the next
/// polynomial step, or the end) where relinearizing and summing the steps
/// before on three polynomials costs least (the activation on a tie).
fn points(steps: &[Step<I256>], encoding: Encoding, fine: bool) -> Vec<(usize, f64)> {
    let costs = costs(encoding);
    let mut points = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if !makes_products(&step.op) {
            continue;
        }
        if !fine {
            points.push((i, costs.relin * step.out.len() as f64));
            continue;
        }
        let mut best = (i, costs.fine_relin * step.out.len() as f64);
        let mut deferred = 0.0;
        for (k, next) in steps.iter().enumerate().skip(i + 1) {
            match &next.op {
                Op::Reshape => continue,
                Op::Linear(rows) => {
                    deferred += costs.deferred_term * terms(rows, encoding);
                    let cost = deferred + costs.fine_relin * rows.len() as f64;
                    if cost < best.1 {
                        best = (k, cost);
                    }
                }
                Op::Poly { .. } | Op::Relu => break,
            }
        }
        points.push(best);
    }
    points
}

/// Whether the network costs clearly less ([`MARGIN`]) with one-prime
/// key-switching digits and relinearizations deferred
/// ([`relinearize_after`]) than with the fewest digits and every product
/// relinearized right away.
pub(super) fn wants_fine_digits(steps: &[Step<I256>], encoding: Encoding) -> bool {
    let total = |fine| -> f64 { points(steps, encoding, fine).iter().map(|p| p.1).sum() };
    total(true) < MARGIN * total(false)
}

/// For each step, whether its outputs are relinearized: right after each
/// product unless the key-switching digits are `fine` (each below the
/// special primes' product), where the cheapest point of [`points`].
pub(super) fn relinearize_after(steps: &[Step<I256>], encoding: Encoding, fine: bool) -> Vec<bool> {
    let mut after = vec![false; steps.len()];
    for (k, _) in points(steps, encoding, fine) {
        after[k] = true;
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shape;

    fn step(label: &str, op: Op<I256>, out: usize) -> Step<I256> {
        Step {
            label: label.into(),
            kind: "dense",
            op,
            out: Shape::Features(out),
        }
    }

    /// `outputs` rows, each summing `inputs` terms of weight `w`.
    fn dense(outputs: usize, inputs: usize, w: i64) -> Op<I256> {
        Op::Linear(
            (0..outputs)
                .map(|_| Row {
                    terms: (0..inputs as u32).map(|i| (i, I256::from(w))).collect(),
                    bias: I256::ZERO,
                })
                .collect(),
        )
    }

    fn square(elements: usize) -> Op<I256> {
        Op::Poly {
            degree: 2,
            coeffs: (0..elements)
                .flat_map(|_| [I256::ZERO, I256::ONE, I256::ONE])
                .collect(),
        }
    }

    fn network(map: Op<I256>) -> Vec<Step<I256>> {
        vec![
            step("conv", dense(845, 25, 1), 845),
            step("act1", square(845), 845),
            step("map", map, 100),
            step("act2", square(100), 100),
            step("out", dense(10, 100, 1), 10),
        ]
    }

    /// Counted by hand (base 2: a relinearization 40 terms, 60 with fine
    /// digits, a deferred term 0.65 more). Coarse digits: every square
    /// relinearized, 845·40 + 100·40 = 37,800. Fine digits: act1's 845
    /// squares cost 845·60 = 50,700 there, or 84,500·0.65 + 100·60 = 60,925
    /// after a dense 100 × 845 map of powers of two (one monomial each);
    /// act2's 100 cost 6,000 there or 1,000·0.65 + 10·60 = 1,250 after the
    /// output layer: 51,950 in all, more than coarse. With 80 % of the map
    /// pruned (16,900 terms): 10,985 + 6,000 + 1,250 = 18,235, below
    /// 0.8·37,800 = 30,240 — fine digits.
    #[test]
    fn relinearizes_where_it_costs_least() {
        let powers = network(dense(100, 845, 4));
        let coarse = relinearize_after(&powers, Encoding::Base2, false);
        assert_eq!(coarse, [false, true, false, true, false]);
        let fine = relinearize_after(&powers, Encoding::Base2, true);
        assert_eq!(fine, [false, true, false, false, true]);
        assert!(!wants_fine_digits(&powers, Encoding::Base2));
        let pruned = network(dense(100, 169, 4));
        assert!(wants_fine_digits(&pruned, Encoding::Base2));
        assert_eq!(
            relinearize_after(&pruned, Encoding::Base2, true),
            [false, false, true, false, true]
        );
        // A map of 33,800 terms: 21,970 + 6,000 + 1,250 = 29,220 < 30,240,
        // deferred; of 40,000: 33,250 — cheaper than coarse digits, but not
        // by the margin.
        assert!(wants_fine_digits(
            &network(dense(100, 338, 4)),
            Encoding::Base2
        ));
        let near = network(dense(100, 400, 4));
        assert!(relinearize_after(&near, Encoding::Base2, true)[2]);
        assert!(!wants_fine_digits(&near, Encoding::Base2));
        // 21 = 16 + 4 + 1 is three monomials in base 2: 101,400 of them
        // would cost 65,910 + 6,000 > 50,700, so act1 relinearizes its own.
        // One scalar each in slots, whose terms cost 1.4 more
        // unrelinearized and a relinearization 30 (45 fine): 845·30 +
        // 100·30 = 28,350 coarse; fine, act1's squares cost 33,800·1.4 +
        // 100·45 = 51,820 deferred, more than 845·45 = 38,025 there, and
        // act2's 1,000·1.4 + 10·45 = 1,850 deferred — 39,875. A pruned map
        // of 16,900 terms: 23,660 + 4,500 + 1,850 = 30,010, still coarse.
        let three = network(dense(100, 338, 21));
        assert_eq!(
            relinearize_after(&three, Encoding::Base2, true),
            [false, true, false, false, true]
        );
        assert!(!wants_fine_digits(&three, Encoding::Base2));
        assert!(!wants_fine_digits(&three, Encoding::Slots));
        assert!(!wants_fine_digits(&pruned, Encoding::Slots));
        assert_eq!(
            relinearize_after(&pruned, Encoding::Slots, true),
            [false, false, true, false, true]
        );
        // Nothing to relinearize without a square, and a square at the end
        // relinearizes its own outputs.
        let linear = vec![step("a", dense(4, 4, 1), 4), step("b", dense(2, 4, 3), 2)];
        assert_eq!(
            relinearize_after(&linear, Encoding::Base2, true),
            [false, false]
        );
        let last = vec![step("a", dense(4, 4, 1), 4), step("sq", square(4), 4)];
        assert_eq!(
            relinearize_after(&last, Encoding::Base2, true),
            [false, true]
        );
    }
}
