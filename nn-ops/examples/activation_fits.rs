//! Prints the minimax and power-of-two fits of every activation:
//! `cargo run --release -p hefty-nn --example activation_fits -- [A] [DEGREE]`.

use hefty_nn::approx::{Activation, Pow2Search, minimax, pow2_minimax};

fn main() -> Result<(), hefty_nn::Error> {
    let args: Vec<String> = std::env::args().collect();
    let a: f64 = args
        .get(1)
        .map_or(Ok(4.0), |s| s.parse())
        .expect("interval A");
    let degree: usize = args.get(2).map_or(Ok(2), |s| s.parse()).expect("degree");
    println!(
        "| activation | minimax coefficients (x^0…) | max error | power-of-two coefficients | max error |"
    );
    println!("|---|---|---|---|---|");
    for act in Activation::ALL {
        let f = move |x: f64| act.eval(x);
        let real = minimax(&f, a, degree)?;
        let q = pow2_minimax(&f, a, degree, &Pow2Search::default())?;
        let terms: Vec<String> = q
            .terms
            .iter()
            .map(|t| {
                t.map_or("0".into(), |(s, k)| {
                    format!("{}2^{k}", if s < 0 { "-" } else { "" })
                })
            })
            .collect();
        println!(
            "| {} | {:.5?} | {:.4} | {} | {:.4} |",
            act.name(),
            real.coeffs,
            real.max_error,
            terms.join(", "),
            q.max_error
        );
    }
    Ok(())
}
