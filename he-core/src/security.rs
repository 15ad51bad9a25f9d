//! The Homomorphic Encryption Standard's security table.

use crate::Error;

/// A classical security level of the Homomorphic Encryption Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityLevel {
    /// 128-bit classical security.
    Bits128,
    /// 192-bit classical security.
    Bits192,
    /// 256-bit classical security.
    Bits256,
}

/// Largest `log2(Q·P)` for a uniform ternary secret and error σ ≈ 3.2, by ring
/// degree: `(n, [128-bit, 192-bit, 256-bit])`.
///
/// Degrees 2^10 … 2^15: the Homomorphic Encryption Standard v1.1, table 1.
/// Degrees 2^16 and 2^17, 128-bit: the values OpenFHE enforces (1747, 3523).
/// Degrees 2^16 and 2^17, 192/256-bit: not published in the standard;
/// extrapolated from the 2^15 entry with the same per-doubling ratios as the
/// 128-bit column (1747/881, 3523/1747), rounded down.
const MAX_LOG_QP: [(usize, [u32; 3]); 8] = [
    (1 << 10, [27, 19, 14]),
    (1 << 11, [54, 37, 29]),
    (1 << 12, [109, 75, 58]),
    (1 << 13, [218, 152, 118]),
    (1 << 14, [438, 305, 237]),
    (1 << 15, [881, 611, 476]),
    (1 << 16, [1747, 1211, 943]),
    (1 << 17, [3523, 2442, 1901]),
];

impl SecurityLevel {
    /// The number of bits (128, 192 or 256).
    pub fn bits(self) -> u32 {
        match self {
            SecurityLevel::Bits128 => 128,
            SecurityLevel::Bits192 => 192,
            SecurityLevel::Bits256 => 256,
        }
    }

    fn column(self) -> usize {
        match self {
            SecurityLevel::Bits128 => 0,
            SecurityLevel::Bits192 => 1,
            SecurityLevel::Bits256 => 2,
        }
    }

    /// The largest `log2(Q·P)` at degree `n`, or `None` for a degree the table
    /// does not cover (below 2^10 no modulus is secure).
    ///
    /// ```
    /// use hefty_core::SecurityLevel;
    /// assert_eq!(SecurityLevel::Bits128.max_log_qp(8192), Some(218));
    /// assert_eq!(SecurityLevel::Bits256.max_log_qp(512), None);
    /// ```
    pub fn max_log_qp(self, n: usize) -> Option<u32> {
        MAX_LOG_QP
            .iter()
            .find(|(d, _)| *d == n)
            .map(|(_, row)| row[self.column()])
    }

    /// Fails with [`Error::Insecure`] unless a modulus of `log_qp` bits at
    /// degree `n` meets this level.
    pub fn check(self, n: usize, log_qp: f64) -> Result<(), Error> {
        match self.max_log_qp(n) {
            Some(max) if log_qp <= max as f64 => Ok(()),
            max => Err(Error::Insecure {
                n,
                log_qp,
                bits: self.bits(),
                max_log_qp: max,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_monotone_and_checks_bounds() {
        for w in MAX_LOG_QP.windows(2) {
            assert_eq!(w[1].0, 2 * w[0].0);
            for c in 0..3 {
                assert!(w[1].1[c] > w[0].1[c]);
            }
        }
        for (_, row) in MAX_LOG_QP {
            assert!(row[0] > row[1] && row[1] > row[2]);
        }
        assert!(SecurityLevel::Bits128.check(8192, 218.0).is_ok());
        assert!(matches!(
            SecurityLevel::Bits128.check(8192, 218.5),
            Err(Error::Insecure {
                max_log_qp: Some(218),
                ..
            })
        ));
        assert!(SecurityLevel::Bits192.check(8192, 153.0).is_err());
        assert!(matches!(
            SecurityLevel::Bits128.check(256, 10.0),
            Err(Error::Insecure {
                max_log_qp: None,
                ..
            })
        ));
        let msg = SecurityLevel::Bits128
            .check(4096, 200.0)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("109") && msg.contains("larger degree"),
            "{msg}"
        );
    }
}
