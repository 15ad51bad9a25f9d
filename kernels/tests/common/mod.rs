//! Checks both GPU backends' tests run against the CPU.

use std::sync::Arc;

use hefty_core::{Backend, Coeff, Error, RnsBasis, RnsPoly, Sampler};

/// The NTT of two limbs (a `large`-bit prime and a 27-bit one) forward and
/// back at every size whose stage split differs on a device — one block
/// (n ≤ 2048), a strided stage group plus blocks (n = 4096 … 2^17) — is
/// the CPU's, word for word.
pub fn assert_ntts_match_the_cpu(device: Arc<dyn Backend>, large: u32) {
    for log_n in [1, 2, 5, 11, 12, 14, 16, 17] {
        let n = 1usize << log_n;
        let mut primes = hefty_core::ntt::ntt_primes(large, n, 1).unwrap();
        primes.extend(hefty_core::ntt::ntt_primes(27, n, 1).unwrap());
        let run = |backend: Arc<dyn Backend>| {
            let basis = Arc::new(RnsBasis::with_backend(n, &primes, backend).unwrap());
            let a = Sampler::from_seed([log_n as u8; 32])
                .uniform::<Coeff>(&basis, 2)
                .unwrap();
            let f = a.into_ntt();
            let fwd = f.to_host().unwrap();
            (fwd, f.into_coeff().to_host().unwrap())
        };
        let (dev_fwd, dev_back) = run(Arc::clone(&device));
        let (cpu_fwd, cpu_back) = run(hefty_core::Cpu::shared());
        assert!(dev_fwd == cpu_fwd, "forward NTT differs at n = {n}");
        assert!(dev_back == cpu_back, "inverse NTT differs at n = {n}");
    }
}

/// Operations on residues at the edges of their range under the largest
/// W32 primes give the CPU's words.
pub fn assert_edges_match_the_cpu(device: Arc<dyn Backend>) {
    let on_device = edge_results(device).unwrap();
    let on_cpu = edge_results(hefty_core::Cpu::shared()).unwrap();
    assert_eq!(on_device.len(), on_cpu.len());
    for (i, (d, c)) in on_device.iter().zip(&on_cpu).enumerate() {
        assert!(d == c, "result {i} differs from the CPU's");
    }
}

/// The words of a few operations on residues at the edges of their range
/// (0, 1, p - 1, p - 2, about p/2) under the largest W32 primes, at a degree
/// with NTT stages wider than a workgroup block.
fn edge_results(backend: Arc<dyn Backend>) -> Result<Vec<Vec<u64>>, Error> {
    let n = 8192;
    let primes = hefty_core::ntt::ntt_primes(31, n, 3)?;
    let basis = Arc::new(RnsBasis::with_backend(n, &primes, backend)?);
    let level = basis.len();
    let half = 1i64 << 30;
    let pattern = [0, 1, -1, -2, half, -half, half - 1, 2];
    let xs: Vec<i64> = (0..n).map(|i| pattern[i % pattern.len()]).collect();
    let ys: Vec<i64> = (0..n).map(|i| pattern[(i / 3) % pattern.len()]).collect();
    let x = RnsPoly::<Coeff>::from_i64(&basis, level, &xs)?;
    let y = RnsPoly::<Coeff>::from_i64(&basis, level, &ys)?;
    let mut out = Vec::new();
    let mut sum = x.clone();
    sum.add_assign(&y)?;
    out.push(sum.to_host()?);
    let mut diff = x.clone();
    diff.sub_assign(&y)?;
    diff.neg_assign();
    out.push(diff.to_host()?);
    let mut scaled = x.clone();
    scaled.mul_scalar_assign(u64::MAX);
    out.push(scaled.to_host()?);
    let (xn, yn) = (x.clone().into_ntt(), y.clone().into_ntt());
    out.push(xn.to_host()?);
    let mut prod = xn.clone();
    prod.mul_assign(&yn)?;
    prod.mul_add_assign(&yn, &yn)?;
    out.push(prod.to_host()?);
    out.push(prod.into_coeff().to_host()?);
    out.push(x.automorphism(2 * n - 1)?.to_host()?);
    out.push(x.divide_round_by_last()?.to_host()?);
    Ok(out)
}
