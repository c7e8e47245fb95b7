//! Fixed-window failure counters keyed by kiosk, address or account: once a key has
//! failed too often in its window, it is refused until the window ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock;

/// One limit: at most `max` failures per `window` for each key.
pub struct Limiter {
    clock: Arc<dyn Clock>,
    window: Duration,
    max: u32,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Limiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(clock: Arc<dyn Clock>, max: u32, window: Duration) -> Self {
        Self {
            clock,
            window,
            max,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` while `key` is over its limit.
    pub fn blocked(&self, key: &str) -> Option<u64> {
        let now = self.clock.now();
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, n) = counts.get(key)?;
        let end = *start + self.window;
        (*n >= self.max && now < end).then(|| (end - now).num_seconds().max(1) as u64)
    }

    /// Counts one failure for `key`.
    pub fn record(&self, key: &str) {
        let now = self.clock.now();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.len() > 50_000 {
            let window = self.window;
            counts.retain(|_, (start, _)| *start + window > now);
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Forgets `key` (after a success that proves the caller legitimate).
    pub fn clear(&self, key: &str) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// All limits of the server.
pub struct Limits {
    /// Unknown passes per kiosk (scans and codes).
    pub kiosk_failures: Limiter,
    /// Unknown 8-digit codes per kiosk: codes are short, so far stricter.
    pub code_failures: Limiter,
    /// Unknown passes per client address, across kiosks.
    pub ip_failures: Limiter,
    /// Pairing attempts per client address.
    pub pairing: Limiter,
    /// Failed sign-in steps (passwords and codes) per client address, across
    /// accounts. (Per-account delays and locks are kept in the database, see
    /// `genkan_core::throttle`; these in-memory address counters start afresh
    /// after a restart.)
    pub sign_in_ip: Limiter,
    /// Password-reset requests per client address.
    pub mail_requests: Limiter,
    /// Password-reset requests per account name, from any address.
    pub reset_accounts: Limiter,
    /// Invitations (new and sent again) per client address.
    pub invitations: Limiter,
    /// Host-name searches per kiosk: every search counts, so a kiosk cannot be used
    /// to walk the staff directory.
    pub host_searches: Limiter,
}

impl Limits {
    /// The production limits.
    pub fn new(clock: &Arc<dyn Clock>) -> Self {
        Self {
            kiosk_failures: Limiter::new(Arc::clone(clock), 30, Duration::minutes(1)),
            code_failures: Limiter::new(Arc::clone(clock), 10, Duration::minutes(15)),
            ip_failures: Limiter::new(Arc::clone(clock), 120, Duration::minutes(1)),
            pairing: Limiter::new(Arc::clone(clock), 10, Duration::minutes(10)),
            sign_in_ip: Limiter::new(Arc::clone(clock), 30, Duration::minutes(10)),
            mail_requests: Limiter::new(Arc::clone(clock), 10, Duration::minutes(10)),
            reset_accounts: Limiter::new(Arc::clone(clock), 3, Duration::hours(1)),
            invitations: Limiter::new(Arc::clone(clock), 50, Duration::hours(1)),
            host_searches: Limiter::new(Arc::clone(clock), 60, Duration::minutes(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkan_core::ManualClock;

    #[test]
    fn a_key_is_blocked_after_max_failures_until_its_window_ends() {
        let clock = ManualClock::new("2026-11-23T00:00:00Z".parse().unwrap());
        let l = Limiter::new(Arc::new(clock.clone()), 3, Duration::minutes(1));
        for _ in 0..3 {
            assert_eq!(l.blocked("k"), None);
            l.record("k");
        }
        assert_eq!(l.blocked("k"), Some(60));
        assert_eq!(l.blocked("other"), None);
        clock.advance(Duration::seconds(59));
        assert_eq!(l.blocked("k"), Some(1));
        clock.advance(Duration::seconds(1));
        assert_eq!(l.blocked("k"), None);
        l.record("k");
        assert_eq!(l.blocked("k"), None, "a new window starts from zero");
    }
}
