//! End-to-end tests: the real binaries on random loopback ports, a real SMTP server,
//! real HTTP receivers. One test binary; one module per capability.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod cli;
mod errors;
mod openapi;
mod support;
mod visit;
