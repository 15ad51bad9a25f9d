//! Multiplies two random polynomials in Z_p[x]/(x^n + 1) with hefty-ntt and
//! checks the product against the O(n^2) schoolbook definition.
//!
//! `cargo run --release --example ntt_product`

use hefty::ntt::{NttPlan, ntt_primes};
use rand::Rng;

fn main() -> Result<(), hefty::ntt::Error> {
    let n = 2048;
    let p = ntt_primes(61, n, 1)?[0];
    let plan = NttPlan::new(n, p)?;
    let q = *plan.modulus();
    let mut rng = rand::rng();
    let a: Vec<u64> = (0..n).map(|_| rng.random_range(0..p)).collect();
    let b: Vec<u64> = (0..n).map(|_| rng.random_range(0..p)).collect();

    let (mut fa, mut fb) = (a.clone(), b.clone());
    plan.forward(&mut fa)?;
    plan.forward(&mut fb)?;
    let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| q.mul(x, y)).collect();
    plan.inverse(&mut c)?;

    // x^n = -1: a term of degree i + j >= n wraps around with a minus sign.
    let mut expected = vec![0u64; n];
    for (i, &ai) in a.iter().enumerate() {
        for (j, &bj) in b.iter().enumerate() {
            let t = q.mul(ai, bj);
            let k = (i + j) % n;
            expected[k] = if i + j < n {
                q.add(expected[k], t)
            } else {
                q.sub(expected[k], t)
            };
        }
    }
    assert_eq!(
        c, expected,
        "NTT product differs from the schoolbook product"
    );
    println!(
        "n = {n}, p = {p} ({} bits), path {}: NTT product matches schoolbook",
        q.bits(),
        plan.path()
    );
    Ok(())
}
