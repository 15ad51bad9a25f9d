//! The layer kernels, generic over the number type: f64 for the reference
//! executor, checked 256-bit integers for the fixed-point one.

use crate::model::Shape;

/// What the kernels need of a number. `None` means overflow.
pub(crate) trait Arith: Copy + Default + PartialOrd {
    fn add(self, other: Self) -> Option<Self>;
    fn mul(self, other: Self) -> Option<Self>;
}

impl Arith for f64 {
    fn add(self, other: Self) -> Option<Self> {
        Some(self + other)
    }
    fn mul(self, other: Self) -> Option<Self> {
        Some(self * other)
    }
}

impl Arith for ethnum::I256 {
    fn add(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
    fn mul(self, other: Self) -> Option<Self> {
        self.checked_mul(other)
    }
}

/// A convolution's geometry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

/// `out[o][y][x] = bias[o] + Σ w[o][i][ky][kx] · in[i][y·s+ky−p][x·s+kx−p]`
/// (zero outside the image).
pub(crate) fn conv2d<T: Arith>(
    input: &[T],
    shape: Shape,
    out: Shape,
    weight: &[T],
    bias: &[T],
    w: &Window,
) -> Option<Vec<T>> {
    let (
        Shape::Image {
            channels: ci,
            height: hi,
            width: wi,
        },
        Shape::Image {
            channels: co,
            height: ho,
            width: wo,
        },
    ) = (shape, out)
    else {
        return None;
    };
    let k = w.kernel;
    let mut result = Vec::with_capacity(co * ho * wo);
    for o in 0..co {
        for y in 0..ho {
            for x in 0..wo {
                let mut acc = bias[o];
                for i in 0..ci {
                    for ky in 0..k {
                        let Some(iy) = (y * w.stride + ky)
                            .checked_sub(w.padding)
                            .filter(|&v| v < hi)
                        else {
                            continue;
                        };
                        for kx in 0..k {
                            let Some(ix) = (x * w.stride + kx)
                                .checked_sub(w.padding)
                                .filter(|&v| v < wi)
                            else {
                                continue;
                            };
                            let wv = weight[((o * ci + i) * k + ky) * k + kx];
                            acc = acc.add(wv.mul(input[(i * hi + iy) * wi + ix])?)?;
                        }
                    }
                }
                result.push(acc);
            }
        }
    }
    Some(result)
}

/// Window sums (zero padding counted as values); the caller divides for a
/// mean.
pub(crate) fn sum_pool<T: Arith>(
    input: &[T],
    shape: Shape,
    out: Shape,
    w: &Window,
) -> Option<Vec<T>> {
    let (
        Shape::Image {
            height: hi,
            width: wi,
            ..
        },
        Shape::Image {
            channels: c,
            height: ho,
            width: wo,
        },
    ) = (shape, out)
    else {
        return None;
    };
    let mut result = Vec::with_capacity(c * ho * wo);
    for ch in 0..c {
        for y in 0..ho {
            for x in 0..wo {
                let mut acc = T::default();
                for ky in 0..w.kernel {
                    let Some(iy) = (y * w.stride + ky)
                        .checked_sub(w.padding)
                        .filter(|&v| v < hi)
                    else {
                        continue;
                    };
                    for kx in 0..w.kernel {
                        let Some(ix) = (x * w.stride + kx)
                            .checked_sub(w.padding)
                            .filter(|&v| v < wi)
                        else {
                            continue;
                        };
                        acc = acc.add(input[(ch * hi + iy) * wi + ix])?;
                    }
                }
                result.push(acc);
            }
        }
    }
    Some(result)
}

/// `out[o] = bias[o] + Σ w[o][i] · in[i]`.
pub(crate) fn dense<T: Arith>(input: &[T], weight: &[T], bias: &[T]) -> Option<Vec<T>> {
    let n = input.len();
    bias.iter()
        .enumerate()
        .map(|(o, &b)| {
            weight[o * n..(o + 1) * n]
                .iter()
                .zip(input)
                .try_fold(b, |acc, (&w, &x)| acc.add(w.mul(x)?))
        })
        .collect()
}

/// Index of the polynomial that element `e` (of a tensor of `shape`) uses.
pub(crate) fn poly_group(granularity: crate::model::Granularity, shape: Shape, e: usize) -> usize {
    use crate::model::Granularity;
    match granularity {
        Granularity::Layer => 0,
        Granularity::Element => e,
        Granularity::Channel => match shape {
            Shape::Image { height, width, .. } => e / (height * width),
            Shape::Features(_) => e,
        },
    }
}

/// The index of the largest value (the first, on ties).
pub(crate) fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}
