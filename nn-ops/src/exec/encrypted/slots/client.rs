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
    lanes: usize,
}

impl SlotClient {
    /// A fresh secret key for `params`; images are packed as `layout` says,
    /// `lanes` of them per ciphertext set (interleaved slot by slot).
    pub fn new(params: &Arc<Parameters>, layout: InputLayout, lanes: usize) -> Self {
        let mut sampler = Sampler::from_os();
        Self {
            params: Arc::clone(params),
            sk: SecretKey::generate(params, &mut sampler),
            encoder: Encoder::new(params),
            sampler,
            layout,
            lanes: lanes.max(1),
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

    /// The slot vectors of up to `lanes` images (`pixel / 2^scale_bits`):
    /// image `i` in the slots `t` with `t mod lanes = i`, each laid out in
    /// its `slots / lanes` slots as the layout says.
    fn pack_images(&self, images: &[&[u8]], scale_bits: u32) -> Vec<Vec<f64>> {
        let (slots, lanes) = (self.params.slots(), self.lanes);
        let scale = (scale_bits as f64).exp2();
        let x = |lane: usize, i: usize| images.get(lane).map_or(0.0, |im| im[i] as f64 / scale);
        (0..self.layout.ciphertexts())
            .map(|g| {
                (0..slots)
                    .map(|t| {
                        let (u, lane) = (t / lanes, t % lanes);
                        match &self.layout {
                            InputLayout::Replicated { len, period } => {
                                if u % period < *len {
                                    x(lane, u % period)
                                } else {
                                    0.0
                                }
                            }
                            InputLayout::Taps {
                                period,
                                copies,
                                taps,
                            } => {
                                let (c, o) = (u / period, u % period);
                                taps.get(g * copies + c)
                                    .and_then(|tap| tap.get(o).copied().flatten())
                                    .map_or(0.0, |i| x(lane, i as usize))
                            }
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The images one ciphertext set holds.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Up to [`Self::lanes`] images' ciphertexts as bytes.
    pub fn encrypt(&mut self, images: &[&[u8]], scale_bits: u32) -> Result<Vec<u8>, Error> {
        if images.is_empty() || images.len() > self.lanes {
            return Err(Error::Setting(format!(
                "{} images in one ciphertext set: give 1 to {}",
                images.len(),
                self.lanes
            )));
        }
        let vectors = self.pack_images(images, scale_bits);
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

    /// The `outputs` logits of each of the first `images` images in the
    /// server's answer: `result[i][k]` is logit `k` of image `i`.
    pub fn decrypt(
        &self,
        bytes: &[u8],
        outputs: usize,
        images: usize,
    ) -> Result<Vec<Vec<f64>>, Error> {
        let [ct] = unpack(bytes)?[..] else {
            return Err(Error::Setting(
                "the server's answer is not one ciphertext".into(),
            ));
        };
        let ct = Ciphertext::from_bytes(&self.params, ct)?;
        let values = self.encoder.decode_real(&self.sk.decrypt(&ct)?)?;
        let lanes = self.lanes;
        let outputs = outputs.min(values.len() / lanes);
        Ok((0..images.min(lanes))
            .map(|i| (0..outputs).map(|k| values[k * lanes + i]).collect())
            .collect())
    }
}
