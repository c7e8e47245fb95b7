//! Whether the machine's clock keeps NTP time: every few minutes the server asks the
//! configured NTP servers (SNTP, RFC 5905) for the time and keeps the measured offset
//! of the system clock. `/readyz` and the metrics report it; an offset beyond
//! `readiness.max_clock_offset_ms` makes the server not ready, since pass validity,
//! TOTP codes and the timestamps of logs and the audit trail all rest on the clock.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use genkan_core::Clock;
use tokio::sync::watch;

use crate::config::ops::ReadinessConfig;

/// One measurement against an NTP server.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSample {
    /// The server that answered (as configured).
    pub server: String,
    /// How far the system clock is ahead (+) or behind (−) the server, in seconds.
    pub offset_secs: f64,
    /// When the answer came (server time).
    pub at: DateTime<Utc>,
}

/// What is known of the clock: the last answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ClockState {
    /// No server is configured: nothing is checked.
    #[default]
    NotChecked,
    /// No configured server has answered yet (or the last round had no answer).
    NoAnswer {
        /// The last sample, if any round ever succeeded.
        last: Option<ClockSample>,
    },
    /// The last round's answer.
    Measured(ClockSample),
}

/// The shared, latest clock state.
#[derive(Debug, Clone, Default)]
pub struct ClockStatus(Arc<RwLock<ClockState>>);

impl ClockStatus {
    /// The latest state.
    pub fn get(&self) -> ClockState {
        self.0.read().map(|s| s.clone()).unwrap_or_default()
    }

    fn set(&self, state: ClockState) {
        if let Ok(mut s) = self.0.write() {
            *s = state;
        }
    }

    /// Whether the clock is synchronised within `max_offset_ms`: `None` when unknown.
    pub fn synchronised(&self, max_offset_ms: u64) -> Option<bool> {
        match self.get() {
            ClockState::Measured(s) => Some(within(s.offset_secs, max_offset_ms)),
            ClockState::NotChecked | ClockState::NoAnswer { .. } => None,
        }
    }
}

/// Whether an offset of `offset_secs` is within `max_offset_ms`.
pub fn within(offset_secs: f64, max_offset_ms: u64) -> bool {
    offset_secs.abs() * 1000.0 <= max_offset_ms as f64
}

/// Asks each server in turn; the first answer wins.
async fn measure(servers: &[String], clock: &dyn Clock) -> Option<ClockSample> {
    let mut client = rsntp::AsyncSntpClient::new();
    client.set_timeout(Duration::from_secs(3));
    for server in servers {
        match client.synchronize(server.as_str()).await {
            Ok(answer) => {
                // rsntp gives the correction to apply (server − local); what is kept is
                // how far the local clock is off (local − server).
                let offset_secs = -answer.clock_offset().as_secs_f64();
                let at =
                    clock.now() - chrono::Duration::milliseconds((offset_secs * 1000.0) as i64);
                return Some(ClockSample {
                    server: server.clone(),
                    offset_secs,
                    at,
                });
            }
            Err(e) => {
                tracing::warn!(ntp.server = %server, error = %e, "no answer from the NTP server")
            }
        }
    }
    None
}

/// Checks the clock now and every `readiness.clock_check_minutes` until `stop`;
/// logs a warning whenever it is off by more than the limit.
pub async fn run(
    status: ClockStatus,
    config: ReadinessConfig,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    if config.ntp_servers.is_empty() {
        status.set(ClockState::NotChecked);
        return;
    }
    let every = Duration::from_secs(60 * config.clock_check_minutes.max(1));
    loop {
        match measure(&config.ntp_servers, clock.as_ref()).await {
            Some(sample) => {
                if within(sample.offset_secs, config.max_clock_offset_ms) {
                    tracing::debug!(ntp.server = %sample.server, offset_ms = sample.offset_secs * 1000.0, "clock checked");
                } else {
                    tracing::warn!(
                        ntp.server = %sample.server,
                        offset_ms = sample.offset_secs * 1000.0,
                        limit_ms = config.max_clock_offset_ms,
                        "the system clock is off: check the machine's NTP synchronisation"
                    );
                }
                status.set(ClockState::Measured(sample));
            }
            None => {
                let last = match status.get() {
                    ClockState::Measured(s) => Some(s),
                    ClockState::NoAnswer { last } => last,
                    ClockState::NotChecked => None,
                };
                status.set(ClockState::NoAnswer { last });
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_in_both_directions_against_the_limit() {
        assert!(within(0.0, 0));
        assert!(within(0.999, 1000));
        assert!(within(-1.0, 1000));
        assert!(!within(1.001, 1000));
        assert!(!within(-10.0, 1000));
    }

    #[test]
    fn an_unknown_clock_is_neither_synchronised_nor_not() {
        let status = ClockStatus::default();
        assert_eq!(status.synchronised(1000), None);
        status.set(ClockState::NoAnswer { last: None });
        assert_eq!(status.synchronised(1000), None);
        let sample = ClockSample {
            server: "ntp.example".into(),
            offset_secs: 2.5,
            at: DateTime::UNIX_EPOCH,
        };
        status.set(ClockState::Measured(sample));
        assert_eq!(status.synchronised(1000), Some(false));
        assert_eq!(status.synchronised(3000), Some(true));
    }
}
