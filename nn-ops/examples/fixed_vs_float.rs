//! Compares the fixed-point logits with the f64 ones on the first test
//! images: `cargo run --release -p hefty-nn --example fixed_vs_float -- MODEL [FRAC_BITS]`.

use hefty_nn::mnist::Mnist;
use hefty_nn::model::{FixedPoint, Model};

fn main() -> Result<(), hefty_nn::Error> {
    let args: Vec<String> = std::env::args().collect();
    let model = Model::load(std::path::Path::new(&args[1]))?;
    let precision_bits = args.get(2).map_or(10, |s| s.parse().expect("bits"));
    let test = Mnist::load_test(&Mnist::locate(None)?)?;
    let fixed = FixedPoint { precision_bits }.prepare(&model)?;
    for i in 0..3 {
        let f = model.forward_f64(test.image(i))?;
        let q = fixed.forward(test.image(i))?;
        let back = q.values();
        println!(
            "image {i}: f64 {f:.3?}\n         fixed {back:.3?} (max bits {})",
            q.max_bits
        );
    }
    Ok(())
}
