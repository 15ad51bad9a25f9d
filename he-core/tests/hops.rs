//! HOP accounting: every evaluator call is counted by kind, into scopes.

use std::sync::Arc;

use hefty_core::bfv::{
    Encoder, Evaluator, GaloisKeys, Parameters, PlainProduct, PublicKey, RelinearizationKey,
    SecretKey,
};
use hefty_core::{Hop, HopCounter, Sampler};
use hefty_ntt::ntt_primes;

#[test]
fn every_operation_is_counted_by_kind_and_scope() {
    let n = 64;
    let t = ntt_primes(17, n, 1).unwrap()[0];
    let params = Parameters::builder()
        .degree(n)
        .plaintext_modulus(t)
        .ciphertext_moduli_bits(&[50, 50, 50])
        .special_moduli_bits(&[55])
        .insecure_disable_security_check_for_testing_only()
        .build()
        .unwrap();
    let mut rng = Sampler::from_seed([9; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng).unwrap();
    let rk = RelinearizationKey::new(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::new(&sk, &[1], false, &mut rng).unwrap();
    let enc = Encoder::new(&params).unwrap();
    let counter = Arc::new(HopCounter::default());
    let eval = Evaluator::with_hop_counter(&params, &counter);
    let pt = enc.encode(&[1, 2, 3]).unwrap();
    let x = pk.encrypt(&pt, &mut rng).unwrap();

    // "conv": three monomial products summed, plus a bias.
    let conv = {
        let _scope = counter.scope("conv");
        let a = eval.mul_monomial(&x, 1, 3).unwrap();
        let b = eval.mul_monomial(&x, -4, 7).unwrap();
        let c = eval.mul_monomial(&x, 2, 0).unwrap();
        let s = eval.add(&eval.add(&a, &b).unwrap(), &c).unwrap();
        eval.add_plain(&s, &pt).unwrap()
    };
    // "act": a square with relinearization, a dense and a scalar product, a rotation, a rescale.
    {
        let _scope = counter.scope("act");
        let sq = eval.multiply_relin(&conv, &conv, &rk).unwrap();
        let y = eval.mul_plain(&sq, &pt).unwrap();
        let z = eval.mul_scalar(&y, 3).unwrap();
        let r = eval.rotate_rows(&z, 1, &gk).unwrap();
        let low = eval.mod_switch_to(&r, 1).unwrap();
        let _ = eval.sub(&low, &low).unwrap();
        let _ = eval.negate(&low).unwrap(); // free: not counted
        // Failed operations are not counted.
        assert!(eval.rotate_rows(&z, 2, &gk).is_err());
        assert!(eval.add(&x, &low).is_err());
    }

    let table = counter.table();
    let rows = table.rows();
    assert_eq!(rows.len(), 2);
    let (conv_name, c) = &rows[0];
    assert_eq!(conv_name, "conv");
    assert_eq!(c.get(Hop::PtCtMulMonomial), 3);
    assert_eq!(
        c.get(Hop::PtCtMulScalar),
        0,
        "monomial scaling is not double-counted"
    );
    assert_eq!(c.get(Hop::CtCtAdd), 2);
    assert_eq!(c.get(Hop::PtCtAdd), 1);
    assert_eq!(c.total(), 6);
    let (act_name, a) = &rows[1];
    assert_eq!(act_name, "act");
    assert_eq!(a.get(Hop::CtCtMul), 1);
    assert_eq!(a.get(Hop::Relinearize), 1);
    // The evaluator picks dense or sparse for this plaintext by measured
    // cost (at n = 64 either can win); the count follows the choice.
    let kind = match eval.plain_product(&pt) {
        PlainProduct::Dense => Hop::PtCtMulDense,
        PlainProduct::Sparse { .. } => Hop::PtCtMulSparse,
        other => panic!("a batch-encoded plaintext is neither scalar nor monomial: {other:?}"),
    };
    assert_eq!(a.get(kind), 1);
    assert_eq!(a.get(Hop::PtCtMulScalar), 1);
    assert_eq!(a.pt_ct_mul(), 2);
    assert_eq!(a.get(Hop::Rotate), 1);
    assert_eq!(a.get(Hop::Rescale), 2, "two primes dropped");
    assert_eq!(a.get(Hop::CtCtAdd), 1);
    assert_eq!(a.total(), 8);
    assert_eq!(table.total().total(), 14);

    let text = table.to_string();
    assert!(
        text.starts_with("| scope | PT-CT add | CT-CT add | PT-CT mult | CT-CT mult |"),
        "{text}"
    );
    assert!(text.contains("| conv | 1 | 2 | 3 | 0 |"), "{text}");
    assert!(text.contains("| total |"), "{text}");

    // Without a counter nothing is recorded anywhere.
    let plain = Evaluator::new(&params);
    let _ = plain.add(&x, &x).unwrap();
    assert_eq!(counter.totals().total(), 14);
}
