//! Plaintext moduli that divide `Q − 1`: with them a ciphertext product at
//! the top level is a tensor modulo `Q` times `−t`, no auxiliary basis (see
//! [`Parameters::multiplies_in_q`](crate::bfv::Parameters::multiplies_in_q)).

use num_bigint::BigUint;

/// Odd primes below this bound are tried as factors of `Q − 1`.
const TRIAL_BOUND: u32 = 1 << 16;

/// At most this many prime powers of `Q − 1` are combined (the largest):
/// the search tries every assignment of them to the moduli.
const MAX_UNITS: usize = 12;

/// At most this many moduli are searched for.
const MAX_COUNT: usize = 3;

/// `count` pairwise coprime odd divisors of `Q − 1` (`Q` the product of
/// `q_primes`), each below `2^max_bits`, whose product exceeds
/// `2^above_bits`; of all such choices, the one whose largest modulus is
/// smallest (a smaller `t` leaves more noise budget). `None` when `Q − 1`
/// has no such divisors among its odd prime powers below 2^16, or for
/// `count` outside `1..=3`.
///
/// Plaintext moduli chosen this way make every product at the top level
/// about four times cheaper; lower levels (after a modulus switch) keep
/// the full-RNS product. Moduli that divide `Q − 1` exist only when `Q − 1`
/// has enough small odd factors, so the ciphertext primes are chosen for it
/// ([`crate::bfv::presets::SMOOTH_8192`]).
///
/// ```
/// use hefty_core::bfv::{moduli_dividing_q_minus_one, presets::SMOOTH_8192};
/// use num_bigint::BigUint;
///
/// let t = moduli_dividing_q_minus_one(SMOOTH_8192, 2, 63, 32).unwrap();
/// let q: BigUint = SMOOTH_8192.iter().map(|&p| BigUint::from(p)).product();
/// for &ti in &t {
///     assert_eq!(&q % ti, BigUint::from(1u8));
/// }
/// assert!(BigUint::from(t[0]) * t[1] > BigUint::from(1u8) << 63);
/// ```
pub fn moduli_dividing_q_minus_one(
    q_primes: &[u64],
    count: usize,
    above_bits: u32,
    max_bits: u32,
) -> Option<Vec<u64>> {
    if !(1..=MAX_COUNT).contains(&count) || max_bits == 0 || max_bits > 62 {
        return None;
    }
    let q: BigUint = q_primes.iter().map(|&p| BigUint::from(p)).product();
    if q <= BigUint::from(1u8) {
        return None;
    }
    let mut units = odd_prime_powers(q - 1u8);
    units.sort_unstable_by(|a, b| b.cmp(a));
    units.truncate(MAX_UNITS);
    let mut search = Search {
        units: &units,
        cap: 1u128 << max_bits,
        above: BigUint::from(1u8) << above_bits,
        groups: vec![1; count],
        best: None,
    };
    search.assign(0);
    search.best.map(|(_, t)| t)
}

/// The odd prime powers `p^e ∥ x` for primes `p` below [`TRIAL_BOUND`].
fn odd_prime_powers(mut x: BigUint) -> Vec<u128> {
    let mut out = Vec::new();
    let mut composite = vec![false; TRIAL_BOUND as usize];
    for p in (3..TRIAL_BOUND).step_by(2) {
        if composite[p as usize] {
            continue;
        }
        // Odd multiples only: even numbers are never visited.
        for multiple in (p as usize * p as usize..TRIAL_BOUND as usize).step_by(2 * p as usize) {
            composite[multiple] = true;
        }
        let mut power = 1u128;
        while (&x % p).bits() == 0 {
            x /= p;
            power *= u128::from(p);
        }
        if power > 1 {
            out.push(power);
        }
    }
    out
}

/// Every assignment of the units to `groups` (or to none), keeping the
/// feasible one with the smallest largest group.
struct Search<'a> {
    units: &'a [u128],
    cap: u128,
    above: BigUint,
    groups: Vec<u128>,
    best: Option<(u128, Vec<u64>)>,
}

impl Search<'_> {
    fn assign(&mut self, i: usize) {
        let largest = self.groups.iter().copied().max().unwrap_or(1);
        if self.best.as_ref().is_some_and(|(b, _)| largest >= *b) {
            return;
        }
        if i == self.units.len() {
            let product: BigUint = self.groups.iter().map(|&g| BigUint::from(g)).product();
            if self.groups.iter().all(|&g| g > 1) && product > self.above {
                let moduli = self.groups.iter().map(|&g| g as u64).collect();
                self.best = Some((largest, moduli));
            }
            return;
        }
        let unit = self.units[i];
        for g in 0..self.groups.len() {
            let grown = self.groups[g] * unit;
            if grown < self.cap {
                self.groups[g] = grown;
                self.assign(i + 1);
                self.groups[g] /= unit;
            }
        }
        self.assign(i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q_minus_one(primes: &[u64]) -> BigUint {
        primes
            .iter()
            .map(|&p| BigUint::from(p))
            .product::<BigUint>()
            - 1u8
    }

    #[test]
    fn moduli_divide_q_minus_one_and_hold_the_bound() {
        let q1 = q_minus_one(super::super::presets::SMOOTH_8192);
        for (count, above) in [(1, 20), (1, 31), (2, 40), (2, 63), (3, 70)] {
            let t =
                moduli_dividing_q_minus_one(super::super::presets::SMOOTH_8192, count, above, 32)
                    .unwrap_or_else(|| panic!("{count} moduli above 2^{above}"));
            assert_eq!(t.len(), count);
            let product: BigUint = t.iter().map(|&x| BigUint::from(x)).product();
            assert!(product > BigUint::from(1u8) << above);
            for (i, &a) in t.iter().enumerate() {
                assert!(a % 2 == 1 && a < 1 << 32);
                assert_eq!(&q1 % a, BigUint::from(0u8));
                for &b in &t[i + 1..] {
                    let (mut x, mut y) = (a, b);
                    while y != 0 {
                        (x, y) = (y, x % y);
                    }
                    assert_eq!(x, 1, "{a} and {b} share a factor");
                }
            }
        }
    }

    #[test]
    fn the_largest_modulus_is_as_small_as_the_units_allow() {
        // Q − 1 = 2·3·5·7·11·13 (Q = 30031 = 59·509): the smallest odd
        // divisor above 2^6 is 65 = 5·13.
        assert_eq!(
            moduli_dividing_q_minus_one(&[59, 509], 1, 6, 32),
            Some(vec![65])
        );
        // Two above 2^10: 33·35 (no two disjoint divisors below 35 reach
        // 1024, since only 33 is above 32).
        let mut t = moduli_dividing_q_minus_one(&[59, 509], 2, 10, 32).unwrap();
        t.sort_unstable();
        assert_eq!(t, vec![33, 35]);
    }

    #[test]
    fn impossible_requests_are_none() {
        let smooth = super::super::presets::SMOOTH_8192;
        assert_eq!(moduli_dividing_q_minus_one(smooth, 2, 100, 32), None);
        assert_eq!(moduli_dividing_q_minus_one(smooth, 0, 10, 32), None);
        assert_eq!(moduli_dividing_q_minus_one(smooth, 4, 10, 32), None);
        assert_eq!(moduli_dividing_q_minus_one(&[], 1, 10, 32), None);
        assert_eq!(moduli_dividing_q_minus_one(&[59, 509], 1, 20, 32), None);
    }
}
