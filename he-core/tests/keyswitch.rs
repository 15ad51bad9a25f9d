//! Hybrid key switching: `u_0 + u_1·s - d·s'` must be small modulo `Q_ℓ`, at
//! every level and for every digit count, within the bound the construction gives.

use std::sync::Arc;

use hefty_core::{KeySwitcher, Ntt, RnsBasis, RnsPoly, Sampler};
use hefty_ntt::ntt_primes;
use num_bigint::BigInt;

/// s² in Z[x]/(x^n + 1), exactly.
fn square(s: &[i64]) -> Vec<i64> {
    let n = s.len();
    let mut out = vec![0i64; n];
    for (i, &a) in s.iter().enumerate() {
        for (j, &b) in s.iter().enumerate() {
            if i + j < n {
                out[i + j] += a * b
            } else {
                out[i + j - n] -= a * b
            }
        }
    }
    out
}

fn check(q_bits: u32, k: usize, p_bits: u32, kp: usize, dnum: usize) {
    let n = 64;
    let q_primes = ntt_primes(q_bits, n, k).unwrap();
    let p_primes: Vec<u64> = ntt_primes(p_bits, n, kp + k)
        .unwrap()
        .into_iter()
        .filter(|p| !q_primes.contains(p))
        .take(kp)
        .collect();
    let q = Arc::new(RnsBasis::new(n, &q_primes).unwrap());
    let p = Arc::new(RnsBasis::new(n, &p_primes).unwrap());
    let ks = KeySwitcher::new(&q, &p, dnum).unwrap();
    let mut rng = Sampler::from_seed([(k * 16 + dnum) as u8; 32]);
    let s = rng.ternary(n).unwrap();
    let s_from = square(&s);
    let key = ks.generate(&s, &s_from, &mut rng).unwrap();
    let alpha = k.div_ceil(dnum);
    let log_p: f64 = p_primes.iter().map(|&x| (x as f64).log2()).sum();
    for level in 1..=k {
        let d = rng.uniform::<hefty_core::Coeff>(&q, level).unwrap();
        let (u0, u1) = ks.switch(&d, &key).unwrap();
        assert_eq!((u0.level(), u1.level()), (level, level));
        let s_ntt: RnsPoly<Ntt> = RnsPoly::from_i64(&q, level, &s).unwrap().into_ntt();
        let from_ntt: RnsPoly<Ntt> = RnsPoly::from_i64(&q, level, &s_from).unwrap().into_ntt();
        let mut phase = u1.into_ntt();
        phase.mul_assign(&s_ntt).unwrap();
        phase.add_assign(&u0.into_ntt()).unwrap();
        let mut target = d.into_ntt();
        target.mul_assign(&from_ntt).unwrap();
        phase.sub_assign(&target).unwrap();
        let max = phase
            .into_coeff()
            .to_centered()
            .unwrap()
            .into_iter()
            .map(|c| c.magnitude().clone())
            .max()
            .unwrap();
        // Bound: per digit n·α·η·ceil(D_j/P) from the key errors, plus the
        // ModDown rounding (n+1)·(|P|+1).
        let digits = level.div_ceil(alpha);
        let mut bound = (n as f64 + 1.0) * (kp as f64 + 1.0);
        for j in 0..digits {
            let primes = &q_primes[j * alpha..((j + 1) * alpha).min(level)];
            let log_d: f64 = primes.iter().map(|&x| (x as f64).log2()).sum();
            bound +=
                n as f64 * primes.len() as f64 * 21.0 * 2f64.powf(log_d - log_p).max(1.0).ceil();
        }
        assert!(
            max <= BigInt::from(bound as u128).magnitude().clone(),
            "k={k} kp={kp} dnum={dnum} level={level}: noise {max} above bound {bound}"
        );
    }
}

#[test]
fn switching_is_correct_at_every_level_and_digit_count() {
    for (k, kp) in [(1usize, 1usize), (3, 1), (4, 2), (5, 2)] {
        for dnum in 1..=k {
            check(40, k, 50, kp, dnum);
        }
    }
}

#[test]
fn bad_configurations_are_rejected() {
    let n = 16;
    let q = Arc::new(RnsBasis::new(n, &ntt_primes(30, n, 2).unwrap()).unwrap());
    let p = Arc::new(RnsBasis::new(n, &ntt_primes(40, n, 1).unwrap()).unwrap());
    assert!(KeySwitcher::new(&q, &p, 0).is_err());
    assert!(KeySwitcher::new(&q, &p, 3).is_err());
    let same = Arc::new(RnsBasis::new(n, &ntt_primes(30, n, 1).unwrap()).unwrap());
    assert!(
        KeySwitcher::new(&q, &same, 1).is_err(),
        "a special prime equal to a ciphertext prime"
    );
    let ks = KeySwitcher::new(&q, &p, 2).unwrap();
    assert_eq!(ks.dnum(), 2);
    // Other primes: another ring (the same primes would be the same ring).
    let other_q = Arc::new(RnsBasis::new(n, &ntt_primes(31, n, 2).unwrap()).unwrap());
    let mut rng = Sampler::from_seed([3; 32]);
    let s = rng.ternary(n).unwrap();
    let key = ks.generate(&s, &s, &mut rng).unwrap();
    let foreign = rng.uniform::<hefty_core::Coeff>(&other_q, 2).unwrap();
    assert_eq!(
        ks.switch(&foreign, &key).unwrap_err(),
        hefty_core::Error::BasisMismatch
    );
}
