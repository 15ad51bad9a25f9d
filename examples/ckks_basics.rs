//! CKKS: approximate arithmetic on 8192 real (or complex) slots, with the
//! level and scale managed for you.
//!
//! `cargo run --release --example ckks_basics`

use hefty::core::Sampler;
use hefty::core::ckks::{
    Encoder, Evaluator, GaloisKeys, Parameters, RelinearizationKey, SecretKey,
};

fn main() -> Result<(), hefty::core::Error> {
    // 2^14 preset: 6 rescales of 40 bits each (`ckks::PRESETS` lists them).
    let params = Parameters::preset_128(16384)?;
    let mut rng = Sampler::from_os();
    let sk = SecretKey::generate(&params, &mut rng);
    let rk = RelinearizationKey::new(&sk, &mut rng)?;
    let gk = GaloisKeys::new(&sk, &[1, 2], true, &mut rng)?;
    let (encoder, eval) = (Encoder::new(&params), Evaluator::new(&params));

    let (top, scale) = (params.max_level(), params.default_scale());
    let x: Vec<f64> = (0..encoder.slots())
        .map(|i| (i as f64 / 100.0).sin())
        .collect();
    let cx = sk.encrypt(&encoder.encode_real(&x, top, scale)?, &mut rng)?;

    // p(x) = 0.5·x² − 0.25·x + 0.125: two levels (the square, then the
    // weighted sum), constants encoded exactly at the scale they need.
    let x2 = eval.multiply_relin_rescale(&cx, &cx, &rk)?;
    let x_low = eval.drop_to_level(&cx, x2.level())?;
    let x_low = eval.adjust_scale(&x_low, x2.scale())?;
    let x2 = eval.drop_to_level(&x2, x_low.level())?;
    let poly = eval.linear_combination(&[(&x2, 0.5), (&x_low, -0.25)])?;
    let poly = eval.add_const(&poly, 0.125.into())?;
    // Sum of neighbouring slots by rotation, then hoisted rotations.
    let shifted = eval.rotate(&poly, 1, &gk)?;
    let pair = eval.add(&poly, &shifted)?;
    let hoisted = eval.rotate_hoisted(&pair, &[1, 2], &gk)?;

    let p = |v: f64| 0.5 * v * v - 0.25 * v + 0.125;
    let got = encoder.decode_real(&sk.decrypt(&pair)?)?;
    let worst = (0..100)
        .map(|i| (got[i] - (p(x[i]) + p(x[i + 1]))).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-5, "max error {worst}");
    let rot = encoder.decode_real(&sk.decrypt(&hoisted[1])?)?;
    assert!((rot[0] - got[2]).abs() < 1e-5);
    println!(
        "p(x_i) + p(x_i+1) over 8192 slots, max error {worst:.2e}, {} levels left",
        pair.level() - params.min_level()
    );
    Ok(())
}
