//! What kiosks need beyond check-in, against a real encrypted database: offline
//! rosters (without any code verifier), journal replays bound to rosters,
//! heartbeats and the one-alert-per-silence rule, host search and walk-ins.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

mod fixture;
mod health;
mod roster;
mod walk_in;
