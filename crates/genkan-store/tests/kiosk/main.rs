//! What kiosks need beyond check-in, against a real encrypted database: offline
//! rosters (with code digests a kiosk can check), journal replays by token hash,
//! heartbeats and the one-alert-per-silence rule, host search and walk-ins.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

mod fixture;
mod health;
mod roster;
mod walk_in;
