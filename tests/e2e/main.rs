//! End-to-end tests: the real binaries on random loopback ports, a real SMTP server,
//! real HTTP receivers. One test binary; one module per capability.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod audit;
mod cli;
mod errors;
mod kiosk_offline;
mod notify;
mod openapi;
mod ops;
mod security;
mod support;
mod tls;
mod visit;
mod web;
