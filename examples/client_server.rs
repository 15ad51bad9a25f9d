//! Serialization across a client/server boundary: the client keeps its
//! secret key; the server gets bytes — parameters, evaluation keys,
//! ciphertexts — computes, and sends bytes back. The server's function
//! takes no secret key, so it cannot decrypt by construction.
//!
//! `cargo run --release --example client_server`

use std::sync::Arc;

use hefty::core::bfv::{
    Ciphertext, Encoder, Evaluator, Parameters, PublicKey, RelinearizationKey, SecretKey,
};
use hefty::core::{Error, Sampler};

/// What travels from the client to the server.
struct Request {
    params: Vec<u8>,
    relin_key: Vec<u8>,
    x: Vec<u8>,
    y: Vec<u8>,
}

/// The server: decodes under the parameters it was sent, computes x·y + x,
/// answers with bytes. It never sees a secret key.
fn server(req: &Request) -> Result<Vec<u8>, Error> {
    let params = Parameters::from_bytes(&req.params)?;
    let rk = RelinearizationKey::from_bytes(&params, &req.relin_key)?;
    let x = Ciphertext::from_bytes(&params, &req.x)?;
    let y = Ciphertext::from_bytes(&params, &req.y)?;
    let eval = Evaluator::new(&params);
    let out = eval.add(&eval.multiply_relin(&x, &y, &rk)?, &x)?;
    out.to_bytes()
}

fn main() -> Result<(), Error> {
    // Client side.
    let params: Arc<Parameters> = Parameters::preset_128(4096)?;
    let mut rng = Sampler::from_os();
    let sk = SecretKey::generate(&params, &mut rng);
    let pk = PublicKey::new(&sk, &mut rng)?;
    let encoder = Encoder::new(&params)?;
    let (x, y) = ([7u64, 8, 9], [100u64, 200, 300]);
    let request = Request {
        params: params.to_bytes(),
        relin_key: RelinearizationKey::new(&sk, &mut rng)?.to_bytes()?,
        // Symmetric encryption stores a seed instead of half the ciphertext.
        x: sk.encrypt(&encoder.encode(&x)?, &mut rng)?.to_bytes()?,
        y: pk.encrypt(&encoder.encode(&y)?, &mut rng)?.to_bytes()?,
    };
    let sent = request.params.len() + request.relin_key.len() + request.x.len() + request.y.len();

    let answer = server(&request)?;

    // Back on the client: decode under the client's own parameters object.
    let result = Ciphertext::from_bytes(&params, &answer)?;
    let out = encoder.decode(&sk.decrypt(&result)?)?;
    let want: Vec<u64> = x.iter().zip(&y).map(|(a, b)| a * b + a).collect();
    assert_eq!(&out[..3], &want[..]);
    // Bytes from other parameters are refused, not misread.
    let other = Parameters::preset_128(8192)?;
    assert!(matches!(
        Ciphertext::from_bytes(&other, &answer),
        Err(Error::ForeignObject { .. })
    ));
    println!(
        "sent {sent} bytes, got {} back; x·y + x = {:?}",
        answer.len(),
        &out[..3]
    );
    Ok(())
}
