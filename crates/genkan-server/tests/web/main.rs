//! In-process integration tests of the web app's admin and account screens: the real
//! router on a loopback port, signed in through the real forms.
#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod access;
mod account;
mod allowlist;
mod audit;
mod helpers;
mod import;
mod kiosk_health;
mod limits;
mod mfa;
mod notifications;
mod settings;
mod signin;
mod sites;
mod users;
