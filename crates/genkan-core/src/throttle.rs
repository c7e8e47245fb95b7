//! Per-account sign-in throttling: after a few failures each further attempt must
//! wait twice as long as the last, and after many the account is locked for a while.
//! While an account waits, attempts are answered like a wrong password and are not
//! checked, so the right password cannot be found by trying faster.

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before attempts are delayed.
pub const FREE_FAILURES: u32 = 2;
/// Failures after which the account is locked for [`LOCK`].
pub const LOCK_AFTER: u32 = 10;
/// How long a lock lasts (each failure after a lock ends locks it again).
pub const LOCK: Duration = Duration::minutes(15);
/// Failures are forgotten after this long without another one.
pub const FORGET_AFTER: Duration = Duration::hours(24);

/// An account's recent failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Failures since the last success (or since they were forgotten).
    pub count: u32,
    /// When the last one happened.
    pub last_at: DateTime<Utc>,
}

/// How long an account must wait after its `count`-th consecutive failure:
/// nothing for the first two, then 2^n seconds (8 s after the 3rd, 16 s after the
/// 4th, …), and a 15-minute lock from the 10th on.
pub fn wait_after(count: u32) -> Duration {
    if count <= FREE_FAILURES {
        Duration::zero()
    } else if count >= LOCK_AFTER {
        LOCK
    } else {
        Duration::seconds(1i64 << count)
    }
}

impl Failures {
    /// The failures as they count at `now` (forgotten after a quiet day).
    pub fn current(self, now: DateTime<Utc>) -> Option<Self> {
        (now < self.last_at + FORGET_AFTER).then_some(self)
    }

    /// Until when attempts are refused without being checked, if they are at `now`.
    pub fn blocked_until(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let until = self.last_at + wait_after(self.count);
        (self.current(now).is_some() && now < until).then_some(until)
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(previous: Option<Self>, now: DateTime<Utc>) -> Self {
        let count = previous
            .and_then(|p| p.current(now))
            .map_or(0, |p| p.count)
            .saturating_add(1);
        Self {
            count,
            last_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-11-23T01:00:00Z".parse().unwrap()
    }

    #[test]
    fn delays_double_from_the_third_failure_and_lock_from_the_tenth() {
        assert_eq!(wait_after(1), Duration::zero());
        assert_eq!(wait_after(2), Duration::zero());
        assert_eq!(wait_after(3), Duration::seconds(8));
        assert_eq!(wait_after(4), Duration::seconds(16));
        assert_eq!(wait_after(9), Duration::seconds(512));
        assert_eq!(wait_after(10), LOCK);
        assert_eq!(wait_after(500), LOCK);
    }

    #[test]
    fn an_account_waits_until_exactly_its_delay_has_passed() {
        let mut f = None;
        for _ in 0..3 {
            f = Some(Failures::after_failure(f, t0()));
        }
        let f = f.unwrap();
        assert_eq!(f.count, 3);
        assert_eq!(f.blocked_until(t0()), Some(t0() + Duration::seconds(8)));
        assert!(f.blocked_until(t0() + Duration::seconds(7)).is_some());
        assert_eq!(f.blocked_until(t0() + Duration::seconds(8)), None);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_day() {
        let f = Failures {
            count: 12,
            last_at: t0(),
        };
        assert!(f.blocked_until(t0() + Duration::minutes(14)).is_some());
        assert_eq!(f.blocked_until(t0() + Duration::minutes(15)), None);
        let later = t0() + FORGET_AFTER;
        assert_eq!(Failures::after_failure(Some(f), later).count, 1);
        assert_eq!(
            Failures::after_failure(Some(f), t0() + Duration::hours(1)).count,
            13
        );
    }
}
