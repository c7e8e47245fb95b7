//! The one trait every provider implements, the calendar reference, the sync window,
//! the opaque per-calendar sync state and the batch a sync returns.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use genkan_core::calendar::{Change, Provider};
use serde::{Deserialize, Serialize};

use crate::error::SyncError;

/// One calendar to sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarRef {
    /// The provider's id: Google calendar id (often the owner's address), Graph user
    /// id or user principal name (their default calendar), or the CalDAV collection
    /// URL.
    pub id: String,
    /// Display name, raw (hostile text: escape where shown).
    pub name: Option<String>,
    /// The owner's e-mail address when the provider tells it.
    pub owner_email: Option<String>,
}

/// The time range a sync covers: occurrences that end after `start` and begin before
/// `end`. Recurring events are expanded only inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncWindow {
    /// Start (usually a day before now).
    pub start: DateTime<Utc>,
    /// End (now plus the tenant's horizon).
    pub end: DateTime<Utc>,
}

impl SyncWindow {
    /// From `now - 1 day` to `now + horizon`.
    pub fn around(now: DateTime<Utc>, horizon: Duration) -> Self {
        Self {
            start: now - Duration::days(1),
            end: now + horizon,
        }
    }

    /// Whether an occurrence `[start, end)` falls in the window.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        end > self.start && start < self.end
    }

    /// Whether a state synced over `self` still serves `wanted`: incremental sync does
    /// not report occurrences that only entered the window because time passed, so
    /// once `wanted` reaches a week (or a quarter of its span) past what was
    /// expanded, a full resync over `wanted` is due.
    pub(crate) fn still_serves(&self, wanted: &SyncWindow) -> bool {
        let slack = ((wanted.end - wanted.start) / 4).min(Duration::days(7));
        self.start <= wanted.start && self.end + slack >= wanted.end
    }
}

/// Why a sync listed the whole calendar instead of the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullReason {
    /// No state yet.
    First,
    /// The provider refused the sync token or delta link (410, invalid token).
    TokenRefused,
    /// The window moved past what the state covers.
    WindowMoved,
}

/// The opaque state of one calendar's sync, to be stored between syncs (seal it if
/// you like; it holds no secret but is the provider's cursor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState(pub(crate) StateInner);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub(crate) enum StateInner {
    CalDav(crate::caldav::State),
    Google(crate::google::State),
    Microsoft(crate::graph::State),
}

impl SyncState {
    /// The provider the state belongs to.
    pub fn provider(&self) -> Provider {
        match self.0 {
            StateInner::CalDav(_) => Provider::CalDav,
            StateInner::Google(_) => Provider::Google,
            StateInner::Microsoft(_) => Provider::Microsoft,
        }
    }

    /// The window the state covers.
    pub fn window(&self) -> SyncWindow {
        match &self.0 {
            StateInner::CalDav(s) => s.window,
            StateInner::Google(s) => s.window,
            StateInner::Microsoft(s) => s.window,
        }
    }
}

/// What one sync found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncBatch {
    /// The changes, in the provider's order.
    pub changes: Vec<Change>,
    /// `Some` when this batch lists every object of the calendar (first sync or
    /// resync): pass `full.map(|_| window.start)` to
    /// [`genkan_core::calendar::plan_batch`] so absent appointments are cancelled.
    pub full: Option<FullReason>,
    /// Whether the provider refused the stored cursor (410, invalid sync token or
    /// delta link); the batch recovered by a full listing or, for CalDAV, by
    /// comparing every etag.
    pub token_refused: bool,
    /// The window the batch covers.
    pub window: SyncWindow,
    /// The state to store once the changes are applied.
    pub state: SyncState,
    /// Provider objects that could not be read (bad iCalendar), by source id.
    /// They are left as they were and retried at the next full sync.
    pub unreadable: Vec<String>,
    /// HTTP requests made.
    pub requests: u32,
}

impl SyncBatch {
    /// The `full` argument of [`genkan_core::calendar::plan_batch`].
    pub fn full_since(&self) -> Option<DateTime<Utc>> {
        self.full.map(|_| self.window.start)
    }
}

/// A calendar provider: lists calendars and syncs one incrementally. Implemented by
/// [`crate::caldav::CalDavClient`], [`crate::google::GoogleCalendar`],
/// [`crate::graph::GraphCalendar`], and by [`Source`] for any of them.
pub trait CalendarSource {
    /// Which provider this is.
    fn provider(&self) -> Provider;

    /// The calendars the credentials can read.
    fn calendars(&self) -> impl Future<Output = Result<Vec<CalendarRef>, SyncError>> + Send;

    /// Syncs `calendar` from `state` (`None` for the first time; a state of another
    /// provider counts as none) over `window`. Follows all pages; on a refused token
    /// or delta link it lists the whole calendar and says so in
    /// [`SyncBatch::full`]. Nothing is written to the calendar.
    fn sync(
        &self,
        calendar: &CalendarRef,
        state: Option<&SyncState>,
        window: SyncWindow,
    ) -> impl Future<Output = Result<SyncBatch, SyncError>> + Send;
}

/// Any provider's client, for code that holds connections of several kinds.
#[derive(Debug, Clone)]
pub enum Source {
    /// CalDAV.
    CalDav(crate::caldav::CalDavClient),
    /// Google Calendar.
    Google(crate::google::GoogleCalendar),
    /// Microsoft Graph.
    Microsoft(crate::graph::GraphCalendar),
}

impl CalendarSource for Source {
    fn provider(&self) -> Provider {
        match self {
            Self::CalDav(c) => c.provider(),
            Self::Google(c) => c.provider(),
            Self::Microsoft(c) => c.provider(),
        }
    }

    async fn calendars(&self) -> Result<Vec<CalendarRef>, SyncError> {
        match self {
            Self::CalDav(c) => c.calendars().await,
            Self::Google(c) => c.calendars().await,
            Self::Microsoft(c) => c.calendars().await,
        }
    }

    async fn sync(
        &self,
        calendar: &CalendarRef,
        state: Option<&SyncState>,
        window: SyncWindow,
    ) -> Result<SyncBatch, SyncError> {
        match self {
            Self::CalDav(c) => c.sync(calendar, state, window).await,
            Self::Google(c) => c.sync(calendar, state, window).await,
            Self::Microsoft(c) => c.sync(calendar, state, window).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn a_state_serves_until_the_window_has_moved_a_week() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let synced = SyncWindow::around(now, Duration::days(90));
        assert!(synced.still_serves(&synced));
        let later = SyncWindow::around(now + Duration::days(6), Duration::days(90));
        assert!(synced.still_serves(&later));
        let later = SyncWindow::around(now + Duration::days(8), Duration::days(90));
        assert!(!synced.still_serves(&later));
        let earlier = SyncWindow::around(now - Duration::days(1), Duration::days(90));
        assert!(!synced.still_serves(&earlier));
    }
}
