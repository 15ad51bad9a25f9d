//! BFV from keys to decryption: exact integer arithmetic mod t on 8192 slots.
//!
//! `cargo run --release --example bfv_basics`

use hefty::core::Sampler;
use hefty::core::bfv::{
    Encoder, Evaluator, GaloisKeys, Parameters, PublicKey, RelinearizationKey, SecretKey,
};

fn main() -> Result<(), hefty::core::Error> {
    // A 128-bit preset (n = 8192, t = 65537); `bfv::PRESETS` lists them all.
    let params = Parameters::preset_128(8192)?;
    let t = params.plaintext_modulus();
    let mut rng = Sampler::from_os();

    // The client's secret key, and the keys it may hand to a server.
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng)?;
    let rk = RelinearizationKey::new(&sk, &mut rng)?;
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng)?; // only rotation by 1

    let encoder = Encoder::new(&params)?;
    let x: Vec<u64> = (0..encoder.slots() as u64).collect();
    let y: Vec<u64> = (0..encoder.slots() as u64).map(|i| 3 * i + 1).collect();
    let cx = pk.encrypt(&encoder.encode(&x)?, &mut rng)?;
    let cy = pk.encrypt(&encoder.encode(&y)?, &mut rng)?;

    // (x·y + 5x) rotated left by one slot in each row.
    let eval = Evaluator::new(&params);
    let xy = eval.multiply_relin(&cx, &cy, &rk)?;
    let sum = eval.linear_combination(&[(&xy, 1), (&cx, 5)])?;
    let rotated = eval.rotate_rows(&sum, 1, &gk)?;

    let out = encoder.decode(&sk.decrypt(&rotated)?)?;
    let row = encoder.slots() / 2;
    for i in [0, 1, row - 2] {
        let j = i + 1; // the slot that moved into position i
        let want = (x[j] * y[j] + 5 * x[j]) % t;
        assert_eq!(out[i], want, "slot {i}");
    }
    let budget = sk.noise_budget(&rotated)?;
    assert!(budget > 20.0, "noise budget {budget}");
    println!(
        "x·y + 5x, rotated: slots 0..4 = {:?}; {budget:.0} bits of noise budget left",
        &out[..4]
    );
    Ok(())
}
