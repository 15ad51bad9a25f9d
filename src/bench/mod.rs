//! The benchmark harness behind `hefty bench`: cases, timing, records, tables.
//!
//! Every measured case becomes a [`Record`]; a run's records are printed as a
//! table and can be written as a JSON array whose field names are stable
//! (documented in `docs/BENCH_JSON.md`), so other tools can read them.

mod bfv_cases;
mod ckks_cases;
mod ntt_cases;
mod plot;
mod record;
mod table;
mod timer;

pub use bfv_cases::{BFV_OPS, BfvBench};
pub use ckks_cases::{CKKS_OPS, CkksBench};
pub use ntt_cases::{NttCase, ntt_cases};
pub use plot::plot_ntt_throughput;
pub use record::{Record, Schema};
pub use table::render_table;
pub use timer::{Sampling, median_ns, median_ns_on};
