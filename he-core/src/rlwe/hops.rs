//! Homomorphic-operation (HOP) accounting: how many operations of each kind a
//! computation performed, per scope (e.g. per network layer), as a
//! hardware-independent cost next to wall-clock time (Faster CryptoNets'
//! tables count PT-CT add, CT-CT add, PT-CT mult and CT-CT mult).
//!
//! An evaluator counts only when given a [`HopCounter`]; without one the cost
//! is a single branch per call.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of homomorphic operation that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hop {
    /// Plaintext + ciphertext (or minus).
    PtCtAdd,
    /// Ciphertext + ciphertext (or minus, or negation).
    CtCtAdd,
    /// Plaintext × ciphertext with a general (dense) plaintext.
    PtCtMulDense,
    /// Plaintext × ciphertext with a sparse plaintext.
    PtCtMulSparse,
    /// Plaintext × ciphertext with a monomial `c·x^k`.
    PtCtMulMonomial,
    /// Integer scalar × ciphertext.
    PtCtMulScalar,
    /// Ciphertext × ciphertext.
    CtCtMul,
    /// Relinearization.
    Relinearize,
    /// Rotation or other Galois automorphism.
    Rotate,
    /// Rescaling or modulus switching.
    Rescale,
}

impl Hop {
    /// Every kind, in table order.
    pub const ALL: [Hop; 10] = [
        Hop::PtCtAdd,
        Hop::CtCtAdd,
        Hop::PtCtMulDense,
        Hop::PtCtMulSparse,
        Hop::PtCtMulMonomial,
        Hop::PtCtMulScalar,
        Hop::CtCtMul,
        Hop::Relinearize,
        Hop::Rotate,
        Hop::Rescale,
    ];

    /// A short column name.
    pub fn name(self) -> &'static str {
        match self {
            Hop::PtCtAdd => "PT-CT add",
            Hop::CtCtAdd => "CT-CT add",
            Hop::PtCtMulDense => "PT-CT mul (dense)",
            Hop::PtCtMulSparse => "PT-CT mul (sparse)",
            Hop::PtCtMulMonomial => "PT-CT mul (monomial)",
            Hop::PtCtMulScalar => "PT-CT mul (scalar)",
            Hop::CtCtMul => "CT-CT mul",
            Hop::Relinearize => "relinearize",
            Hop::Rotate => "rotate",
            Hop::Rescale => "rescale / mod switch",
        }
    }

    fn index(self) -> usize {
        Hop::ALL
            .iter()
            .position(|&h| h == self)
            .expect("every kind is in ALL")
    }
}

/// Counts of each kind of operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HopCounts([u64; Hop::ALL.len()]);

impl HopCounts {
    /// The count of one kind.
    pub fn get(&self, hop: Hop) -> u64 {
        self.0[hop.index()]
    }

    /// All PT-CT multiplications (dense, sparse, monomial and scalar), the
    /// column of Faster CryptoNets' tables.
    pub fn pt_ct_mul(&self) -> u64 {
        [
            Hop::PtCtMulDense,
            Hop::PtCtMulSparse,
            Hop::PtCtMulMonomial,
            Hop::PtCtMulScalar,
        ]
        .iter()
        .map(|&h| self.get(h))
        .sum()
    }

    /// All operations.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    fn minus(&self, earlier: &HopCounts) -> HopCounts {
        let mut out = HopCounts::default();
        for i in 0..out.0.len() {
            out.0[i] = self.0[i] - earlier.0[i];
        }
        out
    }
}

/// A thread-safe counter of homomorphic operations, with named scopes.
///
/// ```
/// use std::sync::Arc;
/// use hefty_core::{Hop, HopCounter};
/// let counter = Arc::new(HopCounter::default());
/// {
///     let _layer = counter.scope("conv1");
///     counter.record(Hop::PtCtMulMonomial);
///     counter.record(Hop::CtCtAdd);
/// }
/// let table = counter.table();
/// assert_eq!(table.rows()[0].0, "conv1");
/// assert_eq!(table.rows()[0].1.get(Hop::CtCtAdd), 1);
/// assert!(table.to_string().contains("| conv1 |"));
/// ```
#[derive(Debug, Default)]
pub struct HopCounter {
    counts: [AtomicU64; Hop::ALL.len()],
    scopes: Mutex<Vec<(String, HopCounts)>>,
}

impl HopCounter {
    /// Counts one operation.
    pub fn record(&self, hop: Hop) {
        self.counts[hop.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Everything counted so far.
    pub fn totals(&self) -> HopCounts {
        let mut out = HopCounts::default();
        for (o, c) in out.0.iter_mut().zip(&self.counts) {
            *o = c.load(Ordering::Relaxed);
        }
        out
    }

    /// Starts a named scope: the operations counted until the guard drops are
    /// recorded as one row of [`HopCounter::table`]. Operations on other
    /// threads in that time count towards the scope too.
    pub fn scope(&self, name: impl Into<String>) -> HopScope<'_> {
        HopScope {
            counter: self,
            name: name.into(),
            start: self.totals(),
        }
    }

    /// The rows recorded by scopes, in the order they closed, and the totals.
    pub fn table(&self) -> HopTable {
        let rows = self
            .scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        HopTable {
            rows,
            total: self.totals(),
        }
    }
}

/// A scope opened by [`HopCounter::scope`]; records its row when dropped.
#[derive(Debug)]
pub struct HopScope<'a> {
    counter: &'a HopCounter,
    name: String,
    start: HopCounts,
}

impl Drop for HopScope<'_> {
    fn drop(&mut self) {
        let delta = self.counter.totals().minus(&self.start);
        self.counter
            .scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((std::mem::take(&mut self.name), delta));
    }
}

/// Per-scope counts and totals; `Display` renders a Markdown table in the
/// layout of Faster CryptoNets (PT-CT add, CT-CT add, PT-CT mult, CT-CT
/// mult) followed by the finer kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct HopTable {
    rows: Vec<(String, HopCounts)>,
    total: HopCounts,
}

impl HopTable {
    /// The scoped rows.
    pub fn rows(&self) -> &[(String, HopCounts)] {
        &self.rows
    }

    /// All operations counted.
    pub fn total(&self) -> &HopCounts {
        &self.total
    }
}

impl fmt::Display for HopTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fine = [
            Hop::PtCtMulMonomial,
            Hop::PtCtMulSparse,
            Hop::PtCtMulScalar,
            Hop::Relinearize,
            Hop::Rotate,
            Hop::Rescale,
        ];
        write!(
            f,
            "| scope | PT-CT add | CT-CT add | PT-CT mult | CT-CT mult |"
        )?;
        for h in fine {
            write!(f, " {} |", h.name())?;
        }
        writeln!(f)?;
        writeln!(f, "|---|---:|---:|---:|---:|{}", "---:|".repeat(fine.len()))?;
        let total_row = ("total".to_string(), self.total);
        for (name, c) in self.rows.iter().chain(std::iter::once(&total_row)) {
            write!(
                f,
                "| {name} | {} | {} | {} | {} |",
                c.get(Hop::PtCtAdd),
                c.get(Hop::CtCtAdd),
                c.pt_ct_mul(),
                c.get(Hop::CtCtMul)
            )?;
            for h in fine {
                write!(f, " {} |", c.get(h))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
