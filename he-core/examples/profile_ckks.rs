//! Runs one CKKS operation in a loop so a profiler (`perf record`) sees only
//! it: `cargo run --release -p hefty-core --example profile_ckks -- mul 16384 200`
//! (operations: mul, rotate, mul_plain, encrypt, decrypt; `precision` prints
//! the max error of x·y instead).

use hefty_core::Sampler;
use hefty_core::ckks::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("mul", String::as_str);
    let n: usize = args.get(2).map_or(Ok(16384), |s| s.parse())?;
    let iters: usize = args.get(3).map_or(Ok(100), |s| s.parse())?;
    let params = Parameters::preset_128(n)?;
    let mut rng = Sampler::from_os();
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng)?;
    let rk = RelinearizationKey::new(&sk, &mut rng)?;
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng)?;
    let enc = Encoder::new(&params);
    let ev = Evaluator::new(&params);
    let values: Vec<f64> = (0..params.slots()).map(|i| (i as f64).sin()).collect();
    let (top, scale) = (params.max_level(), params.default_scale());
    let pt = enc.encode_real(&values, top, scale)?;
    let x = pk.encrypt(&pt, &mut rng)?;
    if op == "precision" {
        // Max |x·y - dec(x ⊙ y)| over all slots, x and y uniform in [-1, 1],
        // both encrypted with the public key.
        use rand::Rng;
        let mut errors = Vec::new();
        let mut r = rand::rng();
        for _ in 0..iters {
            let x: Vec<f64> = (0..params.slots())
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let y: Vec<f64> = (0..params.slots())
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let cx = pk.encrypt(&enc.encode_real(&x, top, scale)?, &mut rng)?;
            let cy = pk.encrypt(&enc.encode_real(&y, top, scale)?, &mut rng)?;
            let out = enc.decode_real(&sk.decrypt(&ev.multiply_relin_rescale(&cx, &cy, &rk)?)?)?;
            let err = x
                .iter()
                .zip(&y)
                .zip(&out)
                .map(|((a, b), o)| (a * b - o).abs());
            errors.push(err.fold(0.0, f64::max));
        }
        errors.sort_by(f64::total_cmp);
        println!(
            "precision n={n}: max |x·y error| per product: median {:.3e}, worst {:.3e} ({iters} products)",
            errors[errors.len() / 2],
            errors[errors.len() - 1]
        );
        return Ok(());
    }
    let start = std::time::Instant::now();
    for _ in 0..iters {
        match op {
            "mul" => drop(ev.multiply_relin_rescale(&x, &x, &rk)?),
            "rotate" => drop(ev.rotate(&x, 1, &gk)?),
            "mul_plain" => drop(ev.mul_plain(&x, &pt)?),
            "encrypt" => drop(pk.encrypt(&enc.encode_real(&values, top, scale)?, &mut rng)?),
            "decrypt" => drop(enc.decode_real(&sk.decrypt(&x)?)?),
            other => return Err(format!("unknown operation {other}").into()),
        }
    }
    let per = start.elapsed().as_secs_f64() * 1e3 / iters as f64;
    println!("{op} n={n}: {per:.3} ms per call");
    Ok(())
}
