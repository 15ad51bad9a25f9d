//! Word profiles: how wide a basis's residues are.

/// The machine word a basis's residues fit: the CPU stores every basis in
/// `u64`; a device may store a [`Word::W32`] basis in `u32` (WGSL has no
/// 64-bit integers; on CUDA 32-bit words halve the bytes moved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Word {
    /// Primes up to 61 bits: one prime per level.
    W64,
    /// Primes below 2^31: a scale near 2^40 takes two primes per level.
    W32,
}

impl Word {
    /// `"w64"` or `"w32"` (benchmark records use it).
    pub fn name(self) -> &'static str {
        match self {
            Word::W64 => "w64",
            Word::W32 => "w32",
        }
    }

    /// The largest prime size, in bits, words of this size hold.
    pub fn max_bits(self) -> u32 {
        match self {
            Word::W64 => 61,
            Word::W32 => 31,
        }
    }
}
