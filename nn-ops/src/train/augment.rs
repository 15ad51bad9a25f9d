//! Data augmentation: random translations of whole images.
//!
//! A small network like CryptoNets' overfits the 60,000 MNIST digits
//! within a few epochs; shifting each training image by a few pixels (the
//! digits are centred by their centre of mass, so a shift is a plausible
//! digit) is the cheapest regulariser that keeps the architecture, and
//! with it the homomorphic cost, unchanged.

use rand::Rng;

/// One batch of images, each moved by its own random offset in
/// `[-max_shift, max_shift]` rows and columns, uncovered pixels zero.
///
/// `images` holds whole images of `channels × height × width` values one
/// after another; `indices` chooses the batch. With `max_shift = 0` the
/// images are copied unchanged.
///
/// ```
/// use hefty_nn::train::shifted_batch;
/// let image: Vec<f32> = (0..9).map(|v| v as f32).collect(); // one 3×3 image
/// let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
/// assert_eq!(shifted_batch(&image, (1, 3, 3), &[0], 0, &mut rng), image);
/// ```
pub fn shifted_batch(
    images: &[f32],
    (channels, height, width): (usize, usize, usize),
    indices: &[u32],
    max_shift: usize,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let plane = height * width;
    let size = channels * plane;
    let mut out = vec![0.0f32; indices.len() * size];
    let s = max_shift as i64;
    for (dst, &i) in out.chunks_exact_mut(size).zip(indices) {
        let src = &images[i as usize * size..(i as usize + 1) * size];
        let (dy, dx) = if s == 0 {
            (0, 0)
        } else {
            (
                rng.random_range(-s..=s) as isize,
                rng.random_range(-s..=s) as isize,
            )
        };
        translate(src, dst, channels, height, width, dy, dx);
    }
    out
}

/// `dst[c][r][k] = src[c][r − dy][k − dx]` where that pixel exists, else
/// (already) zero.
fn translate(
    src: &[f32],
    dst: &mut [f32],
    channels: usize,
    height: usize,
    width: usize,
    dy: isize,
    dx: isize,
) {
    let (h, w) = (height as isize, width as isize);
    let cols = (dx.max(0), (w + dx).min(w));
    if cols.0 >= cols.1 {
        return;
    }
    let len = (cols.1 - cols.0) as usize;
    for c in 0..channels {
        let base = c * height * width;
        for r in dy.max(0)..(h + dy).min(h) {
            let from = base + ((r - dy) * w + cols.0 - dx) as usize;
            let to = base + (r * w + cols.0) as usize;
            dst[to..to + len].copy_from_slice(&src[from..from + len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference: pixel by pixel.
    fn slow(src: &[f32], c: usize, h: usize, w: usize, dy: isize, dx: isize) -> Vec<f32> {
        let mut out = vec![0.0; c * h * w];
        for ch in 0..c {
            for r in 0..h as isize {
                for k in 0..w as isize {
                    let (sr, sk) = (r - dy, k - dx);
                    if (0..h as isize).contains(&sr) && (0..w as isize).contains(&sk) {
                        out[ch * h * w + (r as usize) * w + k as usize] =
                            src[ch * h * w + sr as usize * w + sk as usize];
                    }
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn translation_matches_the_pixel_by_pixel_reference(
            c in 1usize..3, h in 1usize..7, w in 1usize..7,
            dy in -8isize..8, dx in -8isize..8, seed in any::<u64>(),
        ) {
            let src: Vec<f32> = (0..c * h * w).map(|v| (v as u64 ^ seed) as f32).collect();
            let mut dst = vec![0.0; src.len()];
            translate(&src, &mut dst, c, h, w, dy, dx);
            prop_assert_eq!(dst, slow(&src, c, h, w, dy, dx));
        }

        #[test]
        fn every_image_of_a_batch_is_a_bounded_shift_of_its_source(
            seed in any::<u64>(), max_shift in 0usize..4,
        ) {
            let (c, h, w) = (1, 6, 5);
            let images: Vec<f32> = (0..3 * c * h * w).map(|v| v as f32 + 1.0).collect();
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
            let batch = shifted_batch(&images, (c, h, w), &[2, 0], max_shift, &mut rng);
            for (b, &i) in batch.chunks(c * h * w).zip(&[2usize, 0]) {
                let src = &images[i * c * h * w..(i + 1) * c * h * w];
                let s = max_shift as isize;
                let found = (-s..=s).flat_map(|dy| (-s..=s).map(move |dx| (dy, dx)))
                    .any(|(dy, dx)| slow(src, c, h, w, dy, dx) == b);
                prop_assert!(found, "image {} is no shift within {}", i, max_shift);
            }
        }
    }

    #[test]
    fn shifts_vary_and_cover_the_range() {
        let (h, w) = (5, 5);
        // One bright pixel in the middle: its position reveals the shift.
        let mut image = vec![0.0f32; h * w];
        image[2 * w + 2] = 1.0;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        let idx = vec![0u32; 400];
        let batch = shifted_batch(&image, (1, h, w), &idx, 2, &mut rng);
        let mut seen = std::collections::BTreeSet::new();
        for b in batch.chunks(h * w) {
            let at = b
                .iter()
                .position(|&v| v == 1.0)
                .expect("a ±2 shift keeps the pixel");
            seen.insert(at);
        }
        assert_eq!(seen.len(), 25, "all 5×5 offsets appear in 400 draws");
    }
}
