//! The base-2 integer encoding of Faster CryptoNets: an integer `w` as the
//! polynomial of its signed binary digits (`w = p(2)`), and what the
//! plaintext modulus must hold once a whole plan has run on such
//! polynomials.
//!
//! Decryption recovers the output polynomial's coefficients modulo
//! `T = ∏ t_i` and only then evaluates it at 2, so `T` must exceed twice
//! the largest *coefficient*, not the largest value: a product of two
//! 8-digit encodings has coefficients of at most 8 where its value reaches
//! 2^16. [`bounds`] follows every coefficient's largest magnitude through
//! the plan, for any 8-bit image.

use std::sync::Arc;

use ethnum::I256;
use hefty_core::bfv::{Parameters, Plaintext};

use crate::Error;
use crate::exec::{Op, Plan};

/// The signed binary digits of `w` in non-adjacent form (fewest non-zero
/// digits): `w = Σ c·2^k` over the returned `(c, k)`, `c = ±1`.
pub(crate) fn naf(w: I256) -> Vec<(i64, usize)> {
    let (mut rest, sign) = (w.unsigned_abs(), if w < 0 { -1 } else { 1 });
    let mut out = Vec::new();
    let mut k = 0;
    while rest != 0 {
        if rest & 1 == 1 {
            // 1 if rest ≡ 1 (mod 4), −1 if rest ≡ 3.
            if rest & 3 == 1 {
                out.push((sign, k));
                rest -= 1;
            } else {
                out.push((-sign, k));
                rest += 1;
            }
        }
        rest >>= 1;
        k += 1;
    }
    out
}

/// The plaintext whose coefficients are the digits of `w` (NAF).
pub(crate) fn plaintext(params: &Arc<Parameters>, w: I256) -> Result<Plaintext, Error> {
    from_digits(params, &naf(w), || w.to_string())
}

/// The plaintext of an input pixel ([`pixel_digits`]).
pub(crate) fn pixel_plaintext(params: &Arc<Parameters>, p: u8) -> Result<Plaintext, Error> {
    from_digits(params, &pixel_digits(p), || p.to_string())
}

fn from_digits(
    params: &Arc<Parameters>,
    digits: &[(i64, usize)],
    what: impl Fn() -> String,
) -> Result<Plaintext, Error> {
    let (n, t) = (params.degree(), params.plaintext_modulus());
    let mut coeffs = vec![0u64; n];
    for &(c, k) in digits {
        if k >= n {
            return Err(Error::Model(format!(
                "the integer {} has {k} base-2 digits but the ring holds {n}",
                what()
            )));
        }
        coeffs[k] = if c < 0 { t - 1 } else { 1 };
    }
    Ok(Plaintext::from_coeffs(params, &coeffs)?)
}

/// What the base-2 encodings of a plan's values reach, whatever the 8-bit
/// image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    /// The highest degree of any value's polynomial: must stay below the
    /// ring degree (no wrap-around through `X^n = −1`).
    pub degree: usize,
    /// Every output coefficient's magnitude is at most `2^coefficient_bits`:
    /// the plaintext moduli's product must exceed twice that.
    pub coefficient_bits: u32,
}

/// Per-coefficient bounds `[lo, hi]` of one value's polynomial, every one
/// containing 0 (see [`bounds`]).
type Envelope = Vec<(f64, f64)>;

/// The envelope of a digit: `[0, 1]`, which a digit's sign turns into
/// `[-1, 0]`.
const DIGIT: (f64, f64) = (0.0, 1.0);

/// The digits of an input pixel: plain binary, every digit 0 or 1 (NAF's
/// negative digits would widen every coefficient's range below zero).
pub(crate) fn pixel_digits(p: u8) -> Vec<(i64, usize)> {
    (0..8).filter(|k| p >> k & 1 == 1).map(|k| (1, k)).collect()
}

/// `acc += sign · shift(x, by)`, growing `acc` as needed.
fn add_shifted(acc: &mut Envelope, x: &[(f64, f64)], by: usize, sign: i64) {
    if acc.len() < x.len() + by {
        acc.resize(x.len() + by, (0.0, 0.0));
    }
    for (a, &(lo, hi)) in acc[by..].iter_mut().zip(x) {
        let (lo, hi) = if sign < 0 { (-hi, -lo) } else { (lo, hi) };
        a.0 += lo;
        a.1 += hi;
    }
}

/// Bounds on the coefficients of `p·q` from bounds on those of `p` and `q`.
fn product(p: &[(f64, f64)], q: &[(f64, f64)]) -> Envelope {
    let mut out = vec![(0.0, 0.0); (p.len() + q.len()).saturating_sub(1)];
    for (i, &(a, b)) in p.iter().enumerate() {
        for (j, &(c, d)) in q.iter().enumerate() {
            let ends = [a * c, a * d, b * c, b * d];
            let o = &mut out[i + j];
            o.0 += ends.iter().copied().fold(f64::INFINITY, f64::min);
            o.1 += ends.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
    }
    out
}

/// `acc += w · x` with the weight's digits as signed shifts.
fn weighted(acc: &mut Envelope, w: I256, x: &[(f64, f64)]) {
    for (c, k) in naf(w) {
        add_shifted(acc, x, k, c);
    }
}

/// The degree and coefficient bounds of `plan` run on base-2 encodings of
/// 8-bit pixels ([`pixel_digits`]).
///
/// Every coefficient is kept as an interval: sums add them, products
/// multiply them (interval arithmetic coefficient by coefficient), so the
/// bound holds for every image; signed intervals let weights of opposite
/// signs offset each other where magnitudes alone would add. Every interval
/// contains 0 (pixel digits are `[0, 1]`, constants' digits `[0, 1]` or
/// `[-1, 0]`, and sums, sign flips and products keep 0 inside), so each
/// lower end is a sum of non-positive terms and each upper end of
/// non-negative ones: no cancellation. Endpoints are `f64`: such sums of
/// integers are exact while they stay below 2^53, and above that the bound
/// is rounded up by a margin far larger than their rounding.
///
/// `None` as soon as a value's degree would pass `max_degree` (the ring
/// cannot hold the encoding; stopping there also keeps a hostile plan from
/// growing envelopes without end).
pub(crate) fn bounds(plan: &Plan<I256>, max_degree: usize) -> Option<Bounds> {
    let mut pixel = Envelope::new();
    for p in 0..=255u8 {
        for (c, k) in pixel_digits(p) {
            if pixel.len() <= k {
                pixel.resize(k + 1, (0.0, 0.0));
            }
            let e = &mut pixel[k];
            *e = (e.0.min(c as f64), e.1.max(c as f64));
        }
    }
    let mut values: Vec<Envelope> = vec![pixel; plan.input.len()];
    let mut degree = values.iter().map(Vec::len).max().unwrap_or(1) - 1;
    for step in &plan.steps {
        values = match &step.op {
            Op::Linear(rows) => rows
                .iter()
                .map(|r| {
                    let mut acc = Envelope::new();
                    weighted(&mut acc, r.bias, &[DIGIT]);
                    for &(i, w) in &r.terms {
                        weighted(&mut acc, w, &values[i as usize]);
                    }
                    acc
                })
                .collect(),
            Op::Poly { degree: d, coeffs } => values
                .iter()
                .enumerate()
                .map(|(e, x)| {
                    let c = &coeffs[e * (d + 1)..(e + 1) * (d + 1)];
                    let mut acc = Envelope::new();
                    weighted(&mut acc, c[0], &[DIGIT]);
                    let mut power = vec![DIGIT];
                    for &ci in &c[1..] {
                        if power.len() + x.len() > max_degree.saturating_add(2) {
                            return None;
                        }
                        power = product(&power, x);
                        weighted(&mut acc, ci, &power);
                    }
                    Some(acc)
                })
                .collect::<Option<_>>()?,
            Op::Relu | Op::Reshape => values,
        };
        for v in &mut values {
            // Trailing zeros are not degree.
            while v.last() == Some(&(0.0, 0.0)) {
                v.pop();
            }
            degree = degree.max(v.len().saturating_sub(1));
        }
        if degree > max_degree {
            return None;
        }
    }
    let largest = values
        .iter()
        .flatten()
        .fold(0.0f64, |m, &(lo, hi)| m.max(-lo).max(hi))
        .max(1.0);
    // Exact below 2^53; above, round up by 2^-20 relative: covers the f64
    // rounding of any sum of fewer than 2^30 non-negative terms.
    let margin = if largest < 2f64.powi(53) {
        1.0
    } else {
        1.0 + 2f64.powi(-20)
    };
    let coefficient_bits = (largest * margin).log2().ceil() as u32;
    Some(Bounds {
        degree,
        coefficient_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Row, Step};
    use crate::model::Shape;
    use num_bigint::BigInt;
    use proptest::prelude::*;

    /// An integer polynomial, lowest degree first.
    type Poly = Vec<BigInt>;

    fn encode(w: I256) -> Poly {
        let d = naf(w);
        let mut p = vec![BigInt::from(0); d.last().map_or(0, |&(_, k)| k + 1)];
        for (c, k) in d {
            p[k] = BigInt::from(c);
        }
        p
    }

    fn add(a: &Poly, b: &Poly) -> Poly {
        let mut out = vec![BigInt::from(0); a.len().max(b.len())];
        for (i, v) in a.iter().enumerate() {
            out[i] += v;
        }
        for (i, v) in b.iter().enumerate() {
            out[i] += v;
        }
        out
    }

    /// Schoolbook product over Z (no reduction modulo `X^n + 1`).
    fn mul(a: &Poly, b: &Poly) -> Poly {
        let mut out = vec![BigInt::from(0); (a.len() + b.len()).saturating_sub(1)];
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                out[i + j] += x * y;
            }
        }
        out
    }

    fn at_two(p: &Poly) -> BigInt {
        p.iter()
            .rev()
            .fold(BigInt::from(0), |acc, c| (acc << 1u32) + c)
    }

    fn degree_of(p: &Poly) -> usize {
        p.iter().rposition(|c| *c != BigInt::from(0)).unwrap_or(0)
    }

    /// The plan run on exact base-2 polynomials over Z, and every value's
    /// polynomial at every step.
    fn run(plan: &Plan<I256>, image: &[u8]) -> Vec<Vec<Poly>> {
        let mut x: Vec<Poly> = image
            .iter()
            .map(|&p| {
                let mut e = vec![BigInt::from(0); 8];
                for (c, k) in pixel_digits(p) {
                    e[k] = BigInt::from(c);
                }
                e
            })
            .collect();
        let mut all = vec![x.clone()];
        for step in &plan.steps {
            x = match &step.op {
                Op::Linear(rows) => rows
                    .iter()
                    .map(|r| {
                        r.terms.iter().fold(encode(r.bias), |acc, &(i, w)| {
                            add(&acc, &mul(&encode(w), &x[i as usize]))
                        })
                    })
                    .collect(),
                Op::Poly { degree, coeffs } => x
                    .iter()
                    .enumerate()
                    .map(|(e, v)| {
                        let c = &coeffs[e * (degree + 1)..(e + 1) * (degree + 1)];
                        let mut acc = encode(c[0]);
                        let mut power = vec![BigInt::from(1)];
                        for &ci in &c[1..] {
                            power = mul(&power, v);
                            acc = add(&acc, &mul(&encode(ci), &power));
                        }
                        acc
                    })
                    .collect(),
                Op::Relu | Op::Reshape => x,
            };
            all.push(x.clone());
        }
        all
    }

    /// The same plan on integers: what the polynomials must evaluate to.
    fn run_integers(plan: &Plan<I256>, image: &[u8]) -> Vec<BigInt> {
        let big = |w: I256| BigInt::parse_bytes(w.to_string().as_bytes(), 10).unwrap();
        let mut x: Vec<BigInt> = image.iter().map(|&p| BigInt::from(p)).collect();
        for step in &plan.steps {
            x = match &step.op {
                Op::Linear(rows) => rows
                    .iter()
                    .map(|r| {
                        r.terms
                            .iter()
                            .fold(big(r.bias), |acc, &(i, w)| acc + big(w) * &x[i as usize])
                    })
                    .collect(),
                Op::Poly { degree, coeffs } => x
                    .iter()
                    .enumerate()
                    .map(|(e, v)| {
                        let c = &coeffs[e * (degree + 1)..(e + 1) * (degree + 1)];
                        c.iter()
                            .rev()
                            .fold(BigInt::from(0), |acc, &ci| acc * v + big(ci))
                    })
                    .collect(),
                Op::Relu | Op::Reshape => x,
            };
        }
        x
    }

    fn flat(len: usize) -> Shape {
        Shape::Features(len)
    }

    /// A linear step, a polynomial, a linear step: the shape of the
    /// CryptoNets network in miniature.
    fn plan(
        inputs: usize,
        rows1: Vec<Row<I256>>,
        degree: usize,
        coeffs: Vec<I256>,
        rows2: Vec<Row<I256>>,
    ) -> Plan<I256> {
        let hidden = rows1.len();
        let outputs = rows2.len();
        Plan {
            input: flat(inputs),
            steps: vec![
                Step {
                    label: "fc1".into(),
                    kind: "dense",
                    op: Op::Linear(rows1),
                    out: flat(hidden),
                },
                Step {
                    label: "act".into(),
                    kind: "activation",
                    op: Op::Poly { degree, coeffs },
                    out: flat(hidden),
                },
                Step {
                    label: "fc2".into(),
                    kind: "dense",
                    op: Op::Linear(rows2),
                    out: flat(outputs),
                },
            ],
        }
    }

    fn weight() -> impl Strategy<Value = I256> {
        prop_oneof![
            Just(0i64),
            (-3i64..=3),
            (-(1i64 << 20)..(1i64 << 20)),
            (0u32..12).prop_map(|k| 1i64 << k),
            (0u32..12).prop_map(|k| -(1i64 << k)),
        ]
        .prop_map(I256::from)
    }

    fn rows(inputs: usize, count: usize) -> impl Strategy<Value = Vec<Row<I256>>> {
        proptest::collection::vec(
            (proptest::collection::vec(weight(), inputs), weight()).prop_map(|(ws, bias)| Row {
                terms: ws
                    .into_iter()
                    .enumerate()
                    .filter(|(_, w)| *w != 0)
                    .map(|(i, w)| (i as u32, w))
                    .collect(),
                bias,
            }),
            count,
        )
    }

    fn case() -> impl Strategy<Value = (Plan<I256>, Vec<Vec<u8>>)> {
        (1usize..5, 1usize..4, 1usize..3, 1usize..3).prop_flat_map(
            |(inputs, hidden, degree, outputs)| {
                (
                    rows(inputs, hidden),
                    proptest::collection::vec(weight(), hidden * (degree + 1)),
                    rows(hidden, outputs),
                    proptest::collection::vec(
                        proptest::collection::vec(
                            prop_oneof![Just(0u8), Just(255u8), Just(171u8), any::<u8>()],
                            inputs,
                        ),
                        1..4,
                    ),
                )
                    .prop_map(move |(r1, c, r2, images)| (plan(inputs, r1, degree, c, r2), images))
            },
        )
    }

    proptest! {
        /// Every coefficient of every output polynomial, for any image,
        /// within the bound; every polynomial within the degree bound; and
        /// the polynomials are the integers' encodings (evaluated at 2).
        #[test]
        fn the_bounds_hold_on_exact_polynomials((plan, images) in case()) {
            let b = bounds(&plan, usize::MAX).unwrap();
            let limit = BigInt::from(1u8) << b.coefficient_bits;
            for image in &images {
                let all = run(&plan, image);
                for values in &all {
                    for p in values {
                        prop_assert!(degree_of(p) <= b.degree);
                    }
                }
                let outputs = all.last().unwrap();
                for p in outputs {
                    for c in p {
                        prop_assert!(c.magnitude() <= limit.magnitude(), "{c} above 2^{}", b.coefficient_bits);
                    }
                }
                let want = run_integers(&plan, image);
                let got: Vec<BigInt> = outputs.iter().map(at_two).collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    fn single(row: Row<I256>) -> Plan<I256> {
        Plan {
            input: flat(2),
            steps: vec![Step {
                label: "fc".into(),
                kind: "dense",
                op: Op::Linear(vec![row]),
                out: flat(1),
            }],
        }
    }

    /// Known answers on two pixels (binary digits: degree 7).
    #[test]
    fn known_answers() {
        let sum = Row {
            terms: vec![(0, I256::ONE), (1, I256::ONE)],
            bias: I256::ZERO,
        };
        // x0 + x1: both pixels' digits at the same power, [0, 2].
        assert_eq!(
            bounds(&single(sum.clone()), 8191).unwrap(),
            Bounds {
                degree: 7,
                coefficient_bits: 1
            }
        );
        // x0 − x1: [−1, 1], where magnitudes alone would say 2.
        let difference = Row {
            terms: vec![(0, I256::ONE), (1, I256::MINUS_ONE)],
            bias: I256::ZERO,
        };
        assert_eq!(
            bounds(&single(difference), 8191).unwrap(),
            Bounds {
                degree: 7,
                coefficient_bits: 0
            }
        );
        // (x0 + x1)^2: [0, 2] at each of 8 powers; the square peaks at
        // power 7 with 8 pairs of [0, 4]: 32, so 5 bits where the value
        // bound (510^2 < 2^18) would say 18.
        let squared = plan(
            2,
            vec![sum],
            2,
            vec![I256::ZERO, I256::ZERO, I256::ONE],
            vec![Row {
                terms: vec![(0, I256::ONE)],
                bias: I256::ZERO,
            }],
        );
        // Past the degree allowed: no bound (the ring cannot hold it).
        assert_eq!(bounds(&squared, 13), None);
        assert_eq!(
            bounds(&squared, 8191).unwrap(),
            Bounds {
                degree: 14,
                coefficient_bits: 5
            }
        );
    }
}
