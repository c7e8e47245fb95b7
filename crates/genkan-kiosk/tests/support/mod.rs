//! Fixtures shared by the kiosk's integration tests and benchmarks.

pub(crate) mod frames;
