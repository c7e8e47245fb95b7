//! Harness for Genkan's end-to-end tests: starts the real binaries on random
//! loopback ports with their own temporary data, and runs real peers beside them
//! (an SMTP server, HTTP receivers standing in for Slack and webhooks), and drives the
//! web app in headless Chromium.
#![expect(
    clippy::unwrap_used,
    reason = "a broken harness should fail the test loudly"
)]
#![forbid(unsafe_code)]

pub mod api;
pub mod binaries;
pub mod browser;
pub mod inert;
pub mod lab;
pub mod receiver;
pub mod server;
pub mod smtp;

/// The mail parser the SMTP sink hands out, for tests that take mails apart.
pub use mail_parser;

use std::time::{Duration, Instant};

/// Polls `probe` every 20 ms until it returns `Some`, for at most `limit`.
/// Used only to wait for another process to do something, never to move time.
pub async fn eventually<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
