//! In-process tests of the data lifecycle and operations: contract ends and purges
//! (DEL-1) with a moved clock, read-only tenants, full exports, visitor erasure,
//! notices, readiness and metrics.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod del1;
mod harness;
mod sqlcipher;
mod web;
