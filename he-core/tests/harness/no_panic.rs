//! The check every hostile-input property makes of one call; shared by the
//! harnesses of hefty-core and hefty-nn (the latter includes this file by path).

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;

/// Runs `f`; fails the property if it panics, or returns an error whose
/// message is not a readable sentence.
pub fn no_panic<T, E: std::fmt::Display>(
    what: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<(), TestCaseError> {
    let start = std::time::Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(f));
    // A hang detector, not a speed claim: every call must come back promptly.
    prop_assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{what} took {:?}",
        start.elapsed()
    );
    match outcome {
        Err(_) => Err(TestCaseError::fail(format!("{what} panicked"))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            let msg = e.to_string();
            prop_assert!(msg.len() >= 20, "{what}: terse error {msg:?}");
            prop_assert!(
                !msg.contains("Some(") && !msg.contains("None"),
                "{what}: {msg}"
            );
            Ok(())
        }
    }
}
