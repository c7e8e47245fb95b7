//! `AppState`: what every handler can reach, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use genkan_core::Clock;
use genkan_store::Store;

use crate::config::Config;
use crate::notify::sandbox::Sandbox;
use crate::passwords::Passwords;
use crate::ratelimit::Limits;
use crate::request::TrustedProxies;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Store,
    /// The clock every rule reads.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Abuse limits.
    pub limits: Arc<Limits>,
    /// Password hashing.
    pub passwords: Arc<Passwords>,
    /// Proxies whose forwarding headers are believed.
    pub trusted: TrustedProxies,
    /// The latest check of the system clock against NTP time.
    pub clock_status: crate::ops::clock_sync::ClockStatus,
    /// Where tenant-authored message templates render (shared with the outbox worker).
    pub sandbox: Sandbox,
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted.clone()
    }
}
