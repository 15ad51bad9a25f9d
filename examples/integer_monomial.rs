//! The Faster CryptoNets toolkit: a fixed-point number encoded as the
//! binary digits of an integer (one per coefficient), multiplied by a
//! power-of-two weight as a monomial shift — O(n), no NTT — and by a sparse
//! weight with few non-zero digits.
//!
//! `cargo run --release --example integer_monomial`

use hefty::core::bfv::{Evaluator, FASTER_CRYPTONETS, IntegerEncoder, PlainProduct, SecretKey};
use hefty::core::{Error, Sampler};

fn main() -> Result<(), Error> {
    // Faster CryptoNets' setting (n = 8192, t ≈ 2^40): a large t keeps the
    // digit sums of products far from wrapping.
    let params = FASTER_CRYPTONETS.base.build()?;
    let mut rng = Sampler::from_os();
    let sk = SecretKey::generate(&params, &mut rng);
    let encoder = IntegerEncoder::new(&params);
    let eval = Evaluator::new(&params);

    let x = -1234;
    let ct = sk.encrypt(&encoder.encode_integer(x)?, &mut rng)?;

    // A power-of-two weight -2^5 is the monomial -x^5 under base 2.
    let by_monomial = eval.mul_monomial(&ct, -1, 5)?;
    assert_eq!(
        encoder.decode_integer(&sk.decrypt(&by_monomial)?)?,
        -32 * x as i128
    );

    // A weight with three binary digits is a sparse plaintext: three passes
    // of `acc += c·x^k·ct`, the evaluator says which product it chose.
    let weight = encoder.encode_integer(0b1000_0100_0001)?;
    let kind = eval.plain_product(&weight);
    assert!(matches!(kind, PlainProduct::Sparse { .. }), "{kind:?}");
    let by_sparse = eval.mul_plain(&ct, &weight)?;
    // The range check proves before decryption that no coefficient wrapped.
    encoder.check(
        &encoder
            .range_of(&encoder.encode_integer(x)?)
            .mul(&encoder.range_of(&weight)),
    )?;
    let got = encoder.decode_integer(&sk.decrypt(&by_sparse)?)?;
    assert_eq!(got, 0b1000_0100_0001 * x as i128);
    println!(
        "{x}·(-32) = {} by a monomial shift; {x}·2113 = {got} by a {kind:?} product",
        -32 * x
    );
    Ok(())
}
