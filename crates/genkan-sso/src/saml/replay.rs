//! The replay guard: an assertion id may be used once until its NotOnOrAfter has passed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

/// The replay cache could not answer; the sign-in is refused (fail closed).
#[derive(Debug, thiserror::Error)]
#[error("replay cache: {0}")]
pub struct ReplayCacheError(pub String);

/// Records used assertion ids. The store implements it with a table keyed by
/// `(tenant, issuer, assertion_id)` holding `until`, inserting in one statement so that two
/// racing requests cannot both see "first use", and purging rows whose `until` has passed.
pub trait ReplayCache: Send + Sync {
    /// Records `(issuer, assertion_id)` as used until `until`. `Ok(true)` the first time,
    /// `Ok(false)` when it was already recorded (a replay).
    fn first_use(
        &self,
        issuer: &str,
        assertion_id: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, ReplayCacheError>> + Send;
}

/// An in-memory cache for one process (tests, single-node set-ups), bounded: when full of
/// unexpired ids it refuses rather than forgets.
pub struct MemoryReplayCache {
    capacity: usize,
    now: std::sync::Arc<dyn genkan_core::Clock>,
    seen: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl std::fmt::Debug for MemoryReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` live ids, expiring them on `clock`.
    pub fn new(capacity: usize, clock: std::sync::Arc<dyn genkan_core::Clock>) -> Self {
        Self {
            capacity,
            now: clock,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

impl ReplayCache for MemoryReplayCache {
    fn first_use(
        &self,
        issuer: &str,
        assertion_id: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, ReplayCacheError>> + Send {
        let now = self.now.now();
        let result = (|| {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.retain(|_, expires| *expires > now);
            let key = (issuer.to_owned(), assertion_id.to_owned());
            if seen.contains_key(&key) {
                return Ok(false);
            }
            if seen.len() >= self.capacity {
                return Err(ReplayCacheError("the replay cache is full".into()));
            }
            seen.insert(key, until);
            Ok(true)
        })();
        std::future::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone};
    use genkan_core::ManualClock;

    use super::*;

    #[tokio::test]
    async fn an_id_is_accepted_once_until_it_expires_and_a_full_cache_fails_closed() {
        let start = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        let cache = MemoryReplayCache::new(2, Arc::new(clock.clone()));
        let until = start + Duration::minutes(5);
        assert!(cache.first_use("idp", "a1", until).await.unwrap());
        assert!(!cache.first_use("idp", "a1", until).await.unwrap());
        assert!(cache.first_use("other-idp", "a1", until).await.unwrap());
        assert!(cache.first_use("idp", "a2", until).await.is_err());
        clock.advance(Duration::minutes(6));
        assert!(
            cache
                .first_use("idp", "a2", until + Duration::minutes(6))
                .await
                .unwrap()
        );
    }
}
