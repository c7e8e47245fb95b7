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

    /// Counts one attempt for `key` unless it already reached its limit, in one step
    /// under the lock, so parallel attempts cannot all pass a check before any is
    /// counted. `Ok(window start)` when counted (give it to [`Limiter::release`]),
    /// `Err(seconds to wait)` when refused.
    pub fn try_acquire(&self, key: &str) -> Result<DateTime<Utc>, u64> {
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
        if entry.1 >= self.max {
            let end = entry.0 + self.window;
            return Err((end - now).num_seconds().max(1) as u64);
        }
        entry.1 += 1;
        Ok(entry.0)
    }

    /// Gives back an attempt counted by [`Limiter::try_acquire`] in the window that
    /// started at `window` (an attempt that turned out not to count, e.g. a success).
    pub fn release(&self, key: &str, window: DateTime<Utc>) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = counts.get_mut(key)
            && entry.0 == window
        {
            entry.1 = entry.1.saturating_sub(1);
        }
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
    /// Refused passes per kiosk: unknown tokens, and every refused code or journal
    /// replay whatever the reason.
    pub kiosk_failures: Limiter,
    /// Typed 8-digit codes per kiosk: codes are short, so far stricter. Taken before
    /// the lookup ([`Limiter::try_acquire`]); only a check-in or check-out that
    /// succeeds gives its attempt back, every refusal keeps it.
    pub code_attempts: Limiter,
    /// Typed codes per client address, across kiosks (as `code_attempts`).
    pub code_attempts_ip: Limiter,
    /// Refused passes per client address, across kiosks (as `kiosk_failures`).
    pub ip_failures: Limiter,
    /// Walk-in registrations per kiosk, each counted before it is made.
    pub walk_ins: Limiter,
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
            code_attempts: Limiter::new(Arc::clone(clock), 10, Duration::minutes(15)),
            code_attempts_ip: Limiter::new(Arc::clone(clock), 30, Duration::minutes(15)),
            walk_ins: Limiter::new(Arc::clone(clock), 20, Duration::minutes(10)),
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

    #[test]
    fn acquiring_counts_and_checks_in_one_step_and_a_release_gives_one_back() {
        let clock = ManualClock::new("2026-11-23T00:00:00Z".parse().unwrap());
        let l = Limiter::new(Arc::new(clock.clone()), 2, Duration::minutes(1));
        let first = l.try_acquire("k").unwrap();
        l.try_acquire("k").unwrap();
        assert_eq!(
            l.try_acquire("k"),
            Err(60),
            "the third is refused uncounted"
        );
        assert_eq!(l.blocked("k"), Some(60));
        l.release("k", first);
        assert!(
            l.try_acquire("k").is_ok(),
            "a given-back attempt can be used"
        );
        assert!(l.try_acquire("k").is_err());
        clock.advance(Duration::minutes(1));
        l.release("k", first);
        let next = l.try_acquire("k").unwrap();
        assert_ne!(next, first, "a new window");
        l.try_acquire("k").unwrap();
        assert!(
            l.try_acquire("k").is_err(),
            "the new window holds two attempts, no more"
        );
    }
}
