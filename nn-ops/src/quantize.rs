//! Power-of-two weight quantization (incremental, INQ-style) and magnitude
//! pruning: plain functions on weight slices, used by training and checked
//! on their own.

/// The exponent range `(n2, n1)` of INQ for weights whose largest magnitude
/// is `max_abs`, with a budget of `bits` bits per weight (one of them for
/// zero): `n1 = floor(log2(4·s/3))`, `n2 = n1 + 1 − 2^(bits−1)/2`.
///
/// ```
/// use hefty_nn::quantize::pow2_range;
/// assert_eq!(pow2_range(0.75, 5), (-7, 0)); // s = 0.75: n1 = 0, n2 = −7
/// ```
pub fn pow2_range(max_abs: f32, bits: u32) -> (i32, i32) {
    let n1 = (4.0 * max_abs as f64 / 3.0).log2().floor() as i32;
    let n2 = n1 + 1 - (1i32 << (bits.clamp(2, 16) - 1)) / 2;
    (n2, n1)
}

/// The value of `{0} ∪ {±2^k : n2 ≤ k ≤ n1}` nearest to `w` (INQ's rule:
/// between `2^k` and `2^(k+1)` the midpoint `1.5·2^k` decides; below
/// `2^n2 / 2` a weight becomes 0; above `2^n1` it saturates).
pub fn quantize_pow2(w: f32, n2: i32, n1: i32) -> f32 {
    let a = w.abs();
    let lo = (n2 as f32).exp2();
    if a < lo / 2.0 {
        return 0.0;
    }
    let hi = (n1 as f32).exp2();
    if a >= hi {
        return hi.copysign(w);
    }
    let k = a.log2().floor() as i32;
    let base = (k.max(n2) as f32).exp2();
    let q = if a >= 1.5 * base && k >= n2 {
        2.0 * base
    } else {
        base
    };
    q.min(hi).copysign(w)
}

/// A keep-mask that prunes the `sparsity` fraction of smallest-magnitude
/// weights (ties broken by position, so the count is exact).
pub fn magnitude_mask(weights: &[f32], sparsity: f64) -> Vec<bool> {
    let prune = ((weights.len() as f64) * sparsity.clamp(0.0, 1.0)).round() as usize;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        weights[a]
            .abs()
            .total_cmp(&weights[b].abs())
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; weights.len()];
    for &i in &order[..prune] {
        keep[i] = false;
    }
    keep
}

/// INQ's partition: among the kept weights, the `fraction` with the largest
/// magnitudes are frozen (quantized); the rest keep training.
pub fn inq_frozen(weights: &[f32], keep: &[bool], fraction: f64) -> Vec<bool> {
    let mut kept: Vec<usize> = (0..weights.len()).filter(|&i| keep[i]).collect();
    kept.sort_by(|&a, &b| {
        weights[b]
            .abs()
            .total_cmp(&weights[a].abs())
            .then(a.cmp(&b))
    });
    let count = ((kept.len() as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let mut frozen = vec![false; weights.len()];
    for &i in &kept[..count] {
        frozen[i] = true;
    }
    frozen
}

/// Sparsity of a pruning step `step` of `steps` towards `target`: the cubic
/// schedule of gradual pruning (fast first, gentle at the end).
pub fn gradual_sparsity(target: f64, step: usize, steps: usize) -> f64 {
    if steps == 0 {
        return target;
    }
    let done = ((step + 1) as f64 / steps as f64).min(1.0);
    target * (1.0 - (1.0 - done).powi(3))
}

/// Per-layer sparsity targets reaching `overall` on weight layers given as
/// `(name, weight count)` in network order: the first layer keeps half its
/// weights and the last 30 % (both are small and every weight there
/// matters); the middle layers share the rest, the largest pruned 5 points
/// more than the others so that the small ones keep more.
///
/// ```
/// use hefty_nn::quantize::layer_sparsity_targets;
/// let layers = [("conv1".to_string(), 125), ("conv2".into(), 6250),
///               ("fc1".into(), 125_000), ("fc2".into(), 1000)];
/// let t = layer_sparsity_targets(0.93, &layers);
/// assert_eq!((t["conv1"], t["fc2"]), (0.5, 0.7));
/// assert!(t["conv2"] < t["fc1"]);
/// ```
pub fn layer_sparsity_targets(
    overall: f64,
    layers: &[(String, usize)],
) -> std::collections::BTreeMap<String, f64> {
    let mut t = std::collections::BTreeMap::new();
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return t;
    };
    let total: f64 = layers.iter().map(|l| l.1 as f64).sum();
    let middle = &layers[1..layers.len().saturating_sub(1).max(1)];
    t.insert(first.0.clone(), 0.5);
    t.insert(last.0.clone(), 0.7);
    let light = 0.5 * first.1 as f64 + 0.7 * last.1 as f64;
    let Some(largest) = middle.iter().max_by_key(|l| l.1) else {
        return t;
    };
    let middle_total: f64 = middle.iter().map(|l| l.1 as f64).sum();
    let heavy = ((overall * total - light) / middle_total).clamp(0.0, 0.99);
    let others: f64 = middle_total - largest.1 as f64;
    for (name, _) in middle {
        t.insert(name.clone(), (heavy - 0.05).max(0.0));
    }
    let top = heavy + 0.05 * others / largest.1 as f64;
    t.insert(largest.0.clone(), top.min(0.99));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overall(t: &std::collections::BTreeMap<String, f64>, layers: &[(String, usize)]) -> f64 {
        let total: f64 = layers.iter().map(|l| l.1 as f64).sum();
        layers.iter().map(|(n, c)| t[n] * *c as f64).sum::<f64>() / total
    }

    #[test]
    fn layer_targets_reach_the_overall_sparsity_on_both_networks() {
        let cryptonets: Vec<(String, usize)> = [
            ("conv1", 125),
            ("conv2", 6250),
            ("fc1", 125_000),
            ("fc2", 1000),
        ]
        .map(|(n, c)| (n.to_string(), c))
        .to_vec();
        let t = layer_sparsity_targets(0.93, &cryptonets);
        assert_eq!((t["conv1"], t["fc2"]), (0.5, 0.7));
        assert!(t["conv2"] < t["fc1"]);
        assert!((overall(&t, &cryptonets) - 0.93).abs() < 1e-9);
        let squeezenet: Vec<(String, usize)> = [
            ("conv1", 288),
            ("fire1_squeeze", 512),
            ("fire1_expand", 9216),
            ("fire2_squeeze", 2048),
            ("fire2_expand", 36_864),
            ("classifier", 640),
        ]
        .map(|(n, c)| (n.to_string(), c))
        .to_vec();
        let t = layer_sparsity_targets(0.8, &squeezenet);
        assert_eq!(t.len(), 6);
        assert!((overall(&t, &squeezenet) - 0.8).abs() < 1e-9);
        assert!(t.values().all(|s| (0.0..=0.99).contains(s)));
        assert!(layer_sparsity_targets(0.9, &[]).is_empty());
    }
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn quantizer_output_is_exactly_a_power_of_two_or_zero(
            w in -8.0f32..8.0, max_abs in 0.01f32..8.0, bits in 3u32..8,
        ) {
            let (n2, n1) = pow2_range(max_abs, bits);
            prop_assert!(n2 <= n1);
            let q = quantize_pow2(w, n2, n1);
            if q != 0.0 {
                let k = q.abs().log2();
                prop_assert_eq!(k.fract(), 0.0, "{} is not a power of two", q);
                prop_assert!((n2 as f32..=n1 as f32).contains(&k));
                prop_assert_eq!(q.signum(), w.signum());
            }
            // Nearest within the set (ties to the larger, as INQ).
            let set: Vec<f32> = std::iter::once(0.0)
                .chain((n2..=n1).flat_map(|k| [(k as f32).exp2(), -(k as f32).exp2()]))
                .collect();
            let best = set.iter().map(|s| (s - w).abs()).fold(f32::MAX, f32::min);
            prop_assert!((q - w).abs() <= best * (1.0 + 1e-6) + 1e-12, "{} -> {} (best {})", w, q, best);
        }

        #[test]
        fn pruning_reaches_its_target_exactly(
            weights in prop::collection::vec(-1.0f32..1.0, 1..500), sparsity in 0.0f64..=1.0,
        ) {
            let keep = magnitude_mask(&weights, sparsity);
            let pruned = keep.iter().filter(|&&k| !k).count();
            prop_assert_eq!(pruned, (weights.len() as f64 * sparsity).round() as usize);
            // Every pruned weight is no larger than every kept one.
            let max_pruned = weights.iter().zip(&keep).filter(|(_, k)| !**k).map(|(w, _)| w.abs()).fold(0.0, f32::max);
            let min_kept = weights.iter().zip(&keep).filter(|(_, k)| **k).map(|(w, _)| w.abs()).fold(f32::MAX, f32::min);
            prop_assert!(max_pruned <= min_kept);
        }
    }

    #[test]
    fn inq_freezes_the_largest_kept_weights_and_schedules_grow() {
        let w = [0.1, -0.9, 0.5, 0.05, -0.3, 0.7];
        let keep = [true, true, true, false, true, true];
        let frozen = inq_frozen(&w, &keep, 0.4);
        assert_eq!(frozen, [false, true, false, false, false, true]);
        assert!(
            inq_frozen(&w, &keep, 1.0)
                .iter()
                .zip(&keep)
                .all(|(f, k)| f == k)
        );
        assert_eq!(gradual_sparsity(0.9, 9, 10), 0.9);
        assert!(gradual_sparsity(0.9, 0, 10) < gradual_sparsity(0.9, 1, 10));
    }
}
