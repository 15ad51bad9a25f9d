//! The slot-packing client: the secret key, packing, encryption, decryption.

use std::sync::Arc;

use hefty_core::Sampler;
use hefty_core::ckks::{
    Ciphertext, Encoder, GaloisKeys, Parameters, RelinearizationKey, SecretKey,
};
use rayon::prelude::*;

use super::super::wire::{pack, unpack};
use super::InputLayout;
use crate::Error;

/// The client: owns the secret key; packs, encrypts, decrypts.
pub struct SlotClient {
    params: Arc<Parameters>,
    sk: SecretKey,
    encoder: Encoder,
    sampler: Sampler,
    layout: InputLayout,
}

impl SlotClient {
    /// A fresh secret key for `params`; images are packed as `layout` says.
    pub fn new(params: &Arc<Parameters>, layout: InputLayout) -> Self {
        let mut sampler = Sampler::from_os();
        Self {
            params: Arc::clone(params),
            sk: SecretKey::generate(params, &mut sampler),
            encoder: Encoder::new(params),
            sampler,
            layout,
        }
    }

    /// What the server needs, as bytes: the parameters, a relinearization
    /// key and Galois keys for exactly `rotations`.
    pub fn evaluation_keys(&mut self, rotations: &[i64]) -> Result<Vec<u8>, Error> {
        let rk = RelinearizationKey::new(&self.sk, &mut self.sampler)?;
        let gk = GaloisKeys::new(&self.sk, rotations, false, &mut self.sampler)?;
        Ok(pack(&[
            self.params.to_bytes(),
            rk.to_bytes()?,
            gk.to_bytes()?,
        ]))
    }

    /// The slot vectors of one image (`pixel / 2^scale_bits`), as laid out.
    fn pack_image(&self, image: &[u8], scale_bits: u32) -> Vec<Vec<f64>> {
        let slots = self.params.slots();
        let scale = (scale_bits as f64).exp2();
        let x = |i: usize| image[i] as f64 / scale;
        match &self.layout {
            InputLayout::Replicated { len, period } => {
                vec![
                    (0..slots)
                        .map(|t| {
                            if t % period < *len {
                                x(t % period)
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                ]
            }
            InputLayout::Taps {
                period,
                copies,
                taps,
            } => (0..self.layout.ciphertexts())
                .map(|g| {
                    (0..slots)
                        .map(|t| {
                            let (c, o) = (t / period, t % period);
                            taps.get(g * copies + c)
                                .and_then(|tap| tap.get(o).copied().flatten())
                                .map_or(0.0, |i| x(i as usize))
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// One image's ciphertexts as bytes.
    pub fn encrypt(&mut self, image: &[u8], scale_bits: u32) -> Result<Vec<u8>, Error> {
        let vectors = self.pack_image(image, scale_bits);
        let (level, delta) = (self.params.max_level(), self.params.default_scale());
        let seeds: Vec<[u8; 32]> = vectors.iter().map(|_| self.sampler.seed()).collect();
        let cts = vectors
            .into_par_iter()
            .zip(seeds)
            .map(|(v, seed)| {
                let pt = self.encoder.encode_real(&v, level, delta)?;
                Ok(self
                    .sk
                    .encrypt(&pt, &mut Sampler::from_seed(seed))?
                    .to_bytes()?)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(pack(&cts))
    }

    /// The first `outputs` slots of the server's answer.
    pub fn decrypt(&self, bytes: &[u8], outputs: usize) -> Result<Vec<f64>, Error> {
        let [ct] = unpack(bytes)?[..] else {
            return Err(Error::Setting(
                "the server's answer is not one ciphertext".into(),
            ));
        };
        let ct = Ciphertext::from_bytes(&self.params, ct)?;
        let values = self.encoder.decode_real(&self.sk.decrypt(&ct)?)?;
        Ok(values[..outputs.min(values.len())].to_vec())
    }
}
