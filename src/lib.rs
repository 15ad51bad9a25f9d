//! hefty
