//! The trainable quadratic activation `a·x² + b·x + c` (coefficients per
//! layer, per channel or per element: BEAA).

use candle_core::Tensor;

use crate::Error;
use crate::model::{Granularity, Shape};
use crate::train::net::te;

/// Applies the quadratics whose coefficients `[groups, 3]` (`c, b, a`:
/// lowest degree first, as the model format stores them) are `coeffs` to a
/// batch `x` of elements of `shape`.
pub fn quadratic(
    x: &Tensor,
    coeffs: &Tensor,
    g: Granularity,
    shape: Shape,
) -> Result<Tensor, Error> {
    // The broadcast shape of one coefficient column.
    let dims: Vec<usize> = match (g, shape) {
        (Granularity::Layer, _) => vec![1; x.rank()],
        (Granularity::Channel, Shape::Image { channels, .. }) => vec![1, channels, 1, 1],
        (Granularity::Channel, Shape::Features(n)) => vec![1, n],
        (
            Granularity::Element,
            Shape::Image {
                channels,
                height,
                width,
            },
        ) => vec![1, channels, height, width],
        (Granularity::Element, Shape::Features(n)) => vec![1, n],
    };
    let column = |i: usize| {
        coeffs
            .narrow(1, i, 1)
            .and_then(|c| c.reshape(dims.as_slice()))
            .map_err(te)
    };
    let (c, b, a) = (column(0)?, column(1)?, column(2)?);
    let square = x.sqr().map_err(te)?;
    square
        .broadcast_mul(&a)
        .and_then(|t| t.broadcast_add(&x.broadcast_mul(&b)?))
        .and_then(|t| t.broadcast_add(&c))
        .map_err(te)
}
