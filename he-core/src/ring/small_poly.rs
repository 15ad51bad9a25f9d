//! Key material as small signed coefficients: automorphisms and squares of
//! secrets, computed exactly before they are reduced into any basis.

use crate::Error;

/// `σ_g` on small signed coefficients: `x^i ↦ ±x^(i·g mod n)`.
pub(crate) fn automorphism_i64(s: &[i64], g: usize) -> Vec<i64> {
    let n = s.len();
    let mut out = vec![0i64; n];
    for (i, &c) in s.iter().enumerate() {
        let e = i * g % (2 * n);
        if e < n { out[e] = c } else { out[e - n] = -c }
    }
    out
}

/// The negacyclic square `s²` in `Z[x]/(x^n + 1)`: its coefficients lie in
/// `[-n, n]`, so one NTT modulo a 30-bit prime (> 2n) computes them exactly.
pub(crate) fn square_i64(s: &[i64]) -> Result<Vec<i64>, Error> {
    let n = s.len();
    let p = hefty_ntt::ntt_primes(30, n, 1)?[0];
    let plan = hefty_ntt::NttPlan::new(n, p)?;
    let m = *plan.modulus();
    let mut a: Vec<u64> = s
        .iter()
        .map(|&c| {
            if c < 0 {
                p - c.unsigned_abs()
            } else {
                c as u64
            }
        })
        .collect();
    plan.forward(&mut a)?;
    a.iter_mut().for_each(|x| *x = m.mul(*x, *x));
    plan.inverse(&mut a)?;
    let centred = a
        .iter()
        .map(|&x| {
            if x > p / 2 {
                x as i64 - p as i64
            } else {
                x as i64
            }
        })
        .collect();
    zeroize::Zeroize::zeroize(&mut a);
    Ok(centred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sampler;

    #[test]
    fn square_matches_schoolbook() {
        let mut rng = Sampler::from_seed([4; 32]);
        for n in [16usize, 256, 4096] {
            let s = rng.ternary(n).unwrap();
            let mut want = vec![0i64; n];
            for (i, &a) in s.iter().enumerate() {
                for (j, &b) in s.iter().enumerate() {
                    if i + j < n {
                        want[i + j] += a * b
                    } else {
                        want[i + j - n] -= a * b
                    }
                }
            }
            assert_eq!(square_i64(&s).unwrap(), want);
        }
    }
}
