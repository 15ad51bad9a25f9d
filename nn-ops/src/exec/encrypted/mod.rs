//! Encrypted executors.
