//! Fixed-window failure counters keyed by kiosk, address or account: once a key has
//! failed too often in its window, it is refused until the window ends. An attempt
//! takes its place in the count before the work it limits ([`Limiter::acquire`]:
//! check and count under one lock), and gives it back only if it succeeded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock;

/// An attempt counted by [`Limiter::acquire`]; [`Limiter::refund`] takes it back.
#[derive(Debug)]
#[must_use = "an attempt that succeeds is refunded; one that fails is simply dropped"]
pub struct Attempt {
    key: String,
    window_start: DateTime<Utc>,
    /// How many places it holds (one, or a batch's size).
    places: u32,
}

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

    /// `key`'s count in the window running at `now` (a fresh one once the last has
    /// ended); ended windows of other keys are dropped when the map grows large.
    fn current<'a>(
        &self,
        counts: &'a mut HashMap<String, (DateTime<Utc>, u32)>,
        key: &str,
        now: DateTime<Utc>,
    ) -> &'a mut (DateTime<Utc>, u32) {
        if counts.len() > 50_000 {
            let window = self.window;
            counts.retain(|_, (start, _)| *start + window > now);
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry
    }

    /// Counts one failure for `key`.
    pub fn record(&self, key: &str) {
        let now = self.clock.now();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = self.current(&mut counts, key, now);
        entry.1 = entry.1.saturating_add(1);
    }

    /// Counts one attempt for `key` unless the key is at its limit: `Err(seconds to
    /// wait)` then, and nothing is counted. Check and count happen under one lock,
    /// so of any number of simultaneous attempts at most the limit get through.
    pub fn acquire(&self, key: &str) -> Result<Attempt, u64> {
        self.acquire_many(key, 1)
    }

    /// Counts `n` attempts for `key` at once, or none: `Err(seconds until the
    /// window ends)` when fewer than `n` places are left (also when `n` exceeds the
    /// limit, which no wait can satisfy). For a batch, e.g. the invitation mails of an
    /// import.
    pub fn acquire_many(&self, key: &str, n: u32) -> Result<Attempt, u64> {
        let now = self.clock.now();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = self.current(&mut counts, key, now);
        if entry.1.saturating_add(n) > self.max {
            let end = entry.0 + self.window;
            return Err((end - now).num_seconds().max(1) as u64);
        }
        entry.1 += n;
        Ok(Attempt {
            key: key.to_owned(),
            window_start: entry.0,
            places: n,
        })
    }

    /// Places `key` has left in its current window.
    pub fn left(&self, key: &str) -> u32 {
        let now = self.clock.now();
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        match counts.get(key) {
            Some((start, n)) if *start + self.window > now => self.max.saturating_sub(*n),
            _ => self.max,
        }
    }

    /// Takes back an attempt that succeeded (successes are not failures). Nothing
    /// happens if its window has ended meanwhile.
    pub fn refund(&self, attempt: Attempt) {
        // Taken apart, so one attempt is given back once at most.
        let Attempt {
            key,
            window_start,
            places,
        } = attempt;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = counts.get_mut(&key)
            && entry.0 == window_start
        {
            entry.1 = entry.1.saturating_sub(places);
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

/// Invitation mails a tenant may send per day: one full CSV import
/// (`genkan_core::import::MAX_ROWS`) a day, or as many single invitations.
pub const INVITATION_MAILS_PER_DAY: u32 = 5_000;

/// All limits of the server.
pub struct Limits {
    /// Refused passes per kiosk: unknown tokens, and every refused code or journal
    /// replay whatever the reason.
    pub kiosk_failures: Limiter,
    /// Typed 8-digit codes per kiosk: codes are short, so far stricter. Taken before
    /// the lookup ([`Limiter::acquire`]); only a check-in or check-out that succeeds
    /// gives its attempt back, every refusal keeps it.
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
    /// Invitation mails per tenant and day, one by one or from a CSV import (an
    /// import takes all its rows at once, or is refused whole).
    pub invitation_mails: Limiter,
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
            invitation_mails: Limiter::new(
                Arc::clone(clock),
                INVITATION_MAILS_PER_DAY,
                Duration::days(1),
            ),
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
    fn acquiring_counts_before_the_work_and_a_refund_gives_the_place_back() {
        let clock = ManualClock::new("2026-11-23T00:00:00Z".parse().unwrap());
        let l = Limiter::new(Arc::new(clock.clone()), 3, Duration::minutes(1));
        let first = l.acquire("k").unwrap();
        let _second = l.acquire("k").unwrap();
        let _third = l.acquire("k").unwrap();
        assert_eq!(l.acquire("k").unwrap_err(), 60, "the fourth waits");
        assert_eq!(l.blocked("k"), Some(60));
        l.refund(first);
        let again = l.acquire("k").expect("a refunded place is free again");
        assert!(l.acquire("k").is_err());
        // A refund from an ended window does not lower the new one.
        clock.advance(Duration::minutes(1));
        let fresh = l.acquire("k").unwrap();
        l.refund(again);
        for _ in 0..2 {
            let _ = l.acquire("k").unwrap();
        }
        assert!(l.acquire("k").is_err());
        l.refund(fresh);
        assert!(l.acquire("k").is_ok());
    }

    #[test]
    fn a_batch_takes_all_its_places_or_none_and_is_refunded_whole() {
        let clock = ManualClock::new("2026-11-23T00:00:00Z".parse().unwrap());
        let l = Limiter::new(Arc::new(clock.clone()), 10, Duration::minutes(1));
        let one = l.acquire("t").unwrap();
        assert_eq!(l.left("t"), 9);
        assert_eq!(
            l.acquire_many("t", 10).unwrap_err(),
            60,
            "ten do not fit in nine"
        );
        assert_eq!(l.left("t"), 9, "a refused batch takes nothing");
        let batch = l.acquire_many("t", 9).unwrap();
        assert_eq!(l.left("t"), 0);
        assert!(l.acquire("t").is_err());
        l.refund(batch);
        assert_eq!(l.left("t"), 9, "the whole batch is given back");
        l.refund(one);
        assert_eq!(l.left("t"), 10);
        clock.advance(Duration::minutes(1));
        assert!(
            l.acquire_many("t", 10).is_ok(),
            "a new window holds the limit"
        );
        assert!(l.acquire_many("t", 11).is_err());
    }

    #[test]
    fn of_many_simultaneous_attempts_exactly_the_limit_get_through() {
        let clock = ManualClock::new("2026-11-23T00:00:00Z".parse().unwrap());
        let l = Arc::new(Limiter::new(Arc::new(clock), 30, Duration::minutes(10)));
        let threads: Vec<_> = (0..300)
            .map(|_| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || l.acquire("addr").is_ok())
            })
            .collect();
        let passed = threads
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum::<usize>();
        assert_eq!(passed, 30);
    }
}
