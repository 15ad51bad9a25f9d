//! The power-of-two fits against the coefficients Faster CryptoNets gives
//! (../shared/SEEDS.md, section A) on [-4, 4], the interval where the
//! paper's ReLU is exactly the minimax quadratic.

use hefty_nn::approx::{Activation, Pow2Search, max_error, pow2_minimax};

fn fit(act: Activation) -> hefty_nn::approx::Pow2Fit {
    pow2_minimax(&move |x| act.eval(x), 4.0, 2, &Pow2Search::default()).unwrap()
}

#[test]
fn relu_and_softplus_match_the_paper_exactly() {
    // ReLU ≈ 2^-3 x² + 2^-1 x + 2^-2; Softplus ≈ 2^-4 x² + 2^-1 x + 1.
    assert_eq!(fit(Activation::Relu).coeffs, vec![0.25, 0.5, 0.125]);
    assert_eq!(fit(Activation::Softplus).coeffs, vec![1.0, 0.5, 0.0625]);
}

#[test]
fn swish_differs_in_the_constant_and_is_better_in_max_error() {
    // The paper: Swish ≈ 2^-3 x² + 2^-1 x + 2^-4. Our search keeps x², x and
    // picks 2^-3 for the constant: the paper's polynomial has a larger
    // maximum error on [-4, 4] (its constant suits the centre, where
    // batch-normalised inputs mostly are — a weighted, not a minimax,
    // criterion).
    let ours = fit(Activation::Swish);
    assert_eq!(ours.coeffs, vec![0.125, 0.5, 0.125]);
    let swish = |x: f64| Activation::Swish.eval(x);
    let paper = max_error(&swish, &[0.0625, 0.5, 0.125], 4.0);
    assert!(
        ours.max_error < paper,
        "ours {} paper {paper}",
        ours.max_error
    );
    // Near the centre the paper's constant is the better one.
    let centre = |c: &[f64]| max_error(&swish, c, 1.0);
    assert!(centre(&[0.0625, 0.5, 0.125]) < centre(&[0.125, 0.5, 0.125]));
}
