//! Genkan's domain: the rules of visitor reception, free of I/O.
//!
//! - [`clock`]: the injectable clock every time-dependent rule uses.
//! - [`id`]: typed identifiers.
//! - [`import`]: reading user import files (CSV, UTF-8 or Shift_JIS).
//! - [`text`]: validated user-supplied strings (names, e-mail addresses, phones).
//! - [`tenant`]: tenants, sites and their time zones.
//! - [`access`]: roles, principals and what each may see or do.
//! - [`appointment`]: appointments with one or more visitors.
//! - [`calendar`]: which calendar events become appointments, and how changes apply.
//! - [`pass`]: pass tokens, fallback codes, hashing and validity windows.
//! - [`password`]: the password policy.
//! - [`read_only`]: what a tenant whose contract ended may still do.
//! - [`search`]: search tokens for names and companies.
//! - [`security`]: a tenant's second-factor policy and address allowlist.
//! - [`throttle`]: per-account sign-in delays and locks.
//! - [`totp`]: one-time passwords (RFC 6238) and recovery codes.
//! - [`visit`]: the check-in / check-out rules and their typed refusals.
//! - [`notification`]: what must be told to whom (not how it is delivered).
//! - [`reach`]: whom an arrival's alerts can actually reach, and what the kiosk says.
//! - [`offline`]: how long kiosks trust rosters; which journal replays are accepted.
//! - [`audit`]: audit events, their keyed chain and its anchors.
//! - [`webhook`]: signatures of the generic webhooks (sign and verify).
//! - [`wire`]: the versioned kiosk API types shared by server and kiosk.
#![forbid(unsafe_code)]

pub mod access;
pub mod appointment;
pub mod audit;
pub mod calendar;
pub mod clock;
pub mod id;
pub mod import;
pub mod notification;
pub mod offline;
pub mod pass;
pub mod password;
pub mod reach;
pub mod read_only;
pub mod search;
pub mod security;
pub mod tenant;
pub mod text;
pub mod throttle;
pub mod totp;
pub mod visit;
pub mod webhook;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
