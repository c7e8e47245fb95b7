//! Google Calendar API v3: `events.list` with `singleEvents` (one object per
//! occurrence), `showDeleted` (cancellations arrive as changes), paging, sync tokens
//! with a full resync on 410 Gone, and the calendar list. Push channels are in
//! [`push`].

mod model;
pub mod push;

use genkan_core::calendar::{Change, Provider};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::error::SyncError;
use crate::http::{Limits, send, status_error};
use crate::source::{
    CalendarRef, CalendarSource, FullReason, StateInner, SyncBatch, SyncState, SyncWindow,
};
use model::{CalendarListPage, EventsPage};

/// The production API base.
pub const GOOGLE_API_BASE: &str = "https://www.googleapis.com/calendar/v3";
/// Events per page (Google's maximum is 2,500; smaller pages bound memory per request).
const PAGE_SIZE: &str = "250";

/// The sync state of one Google calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) window: SyncWindow,
    pub(crate) sync_token: String,
}

/// A Google Calendar client acting with one access token (a host's own, or a
/// service account's token for that host).
#[derive(Debug, Clone)]
pub struct GoogleCalendar {
    http: reqwest::Client,
    base: Url,
    token: Secret,
    limits: Limits,
}

enum Listing {
    Done {
        changes: Vec<Change>,
        sync_token: String,
        pages: u32,
    },
    Gone,
}

impl GoogleCalendar {
    /// A client for the API at `api_base` ([`GOOGLE_API_BASE`] in production).
    pub fn new(
        http: reqwest::Client,
        api_base: &str,
        access_token: Secret,
        limits: Limits,
    ) -> Result<Self, SyncError> {
        let base = crate::http::api_base(api_base, "Google")?;
        Ok(Self {
            http,
            base,
            token: access_token,
            limits,
        })
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        crate::http::join(&self.base, segments)
    }

    pub(crate) async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), SyncError> {
        send(request.bearer_auth(self.token.expose()), &self.limits).await
    }

    async fn list(
        &self,
        calendar_id: &str,
        sync_token: Option<&str>,
        window: &SyncWindow,
    ) -> Result<Listing, SyncError> {
        let url = self.url(&["calendars", calendar_id, "events"]);
        let mut changes = Vec::new();
        let mut page_token: Option<String> = None;
        for page in 1..=self.limits.max_pages {
            let mut query: Vec<(&str, String)> = vec![
                ("singleEvents", "true".into()),
                ("showDeleted", "true".into()),
                ("maxResults", PAGE_SIZE.into()),
            ];
            match sync_token {
                // With a sync token Google refuses timeMin/timeMax.
                Some(token) => query.push(("syncToken", token.to_owned())),
                None => {
                    query.push(("timeMin", window.start.to_rfc3339()));
                    query.push(("timeMax", window.end.to_rfc3339()));
                }
            }
            if let Some(p) = &page_token {
                query.push(("pageToken", p.clone()));
            }
            let mut page_url = url.clone();
            page_url.query_pairs_mut().extend_pairs(&query);
            let (status, headers, body) = self.call(self.http.get(page_url)).await?;
            if status == StatusCode::GONE {
                return Ok(Listing::Gone);
            }
            if !status.is_success() {
                return Err(status_error(status, &headers, &body));
            }
            let parsed: EventsPage = serde_json::from_str(&body)
                .map_err(|_| SyncError::Protocol("events page is not the expected JSON".into()))?;
            changes.extend(
                parsed
                    .items
                    .into_iter()
                    .filter_map(model::GEvent::into_change),
            );
            match (parsed.next_page_token, parsed.next_sync_token) {
                (Some(next), _) => page_token = Some(next),
                (None, Some(sync_token)) => {
                    return Ok(Listing::Done {
                        changes,
                        sync_token,
                        pages: page,
                    });
                }
                (None, None) => {
                    return Err(SyncError::Protocol("last page without a sync token".into()));
                }
            }
        }
        Err(SyncError::TooLarge("pages"))
    }

    async fn run(
        &self,
        calendar: &CalendarRef,
        prev: Option<&State>,
        window: SyncWindow,
    ) -> Result<SyncBatch, SyncError> {
        let mut full = match prev {
            None => Some(FullReason::First),
            Some(p) if !p.window.still_serves(&window) => Some(FullReason::WindowMoved),
            Some(_) => None,
        };
        let mut token_refused = false;
        let mut requests = 0;
        loop {
            let token = match (full, prev) {
                (None, Some(p)) => Some(p.sync_token.as_str()),
                _ => None,
            };
            match self.list(&calendar.id, token, &window).await? {
                Listing::Done {
                    changes,
                    sync_token,
                    pages,
                } => {
                    let window = match (full, prev) {
                        (None, Some(p)) => p.window,
                        _ => window,
                    };
                    return Ok(SyncBatch {
                        changes,
                        full,
                        token_refused,
                        window,
                        state: SyncState(StateInner::Google(State { window, sync_token })),
                        unreadable: Vec::new(),
                        requests: requests + pages,
                    });
                }
                Listing::Gone if full.is_none() => {
                    // 410: the token expired; wipe and list everything again.
                    full = Some(FullReason::TokenRefused);
                    token_refused = true;
                    requests += 1;
                }
                Listing::Gone => return Err(SyncError::Http { status: 410 }),
            }
        }
    }

    async fn list_calendars(&self) -> Result<Vec<CalendarRef>, SyncError> {
        let url = self.url(&["users", "me", "calendarList"]);
        let mut out = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..self.limits.max_pages {
            let mut query = vec![("minAccessRole", "reader".to_owned())];
            if let Some(p) = &page_token {
                query.push(("pageToken", p.clone()));
            }
            let mut page_url = url.clone();
            page_url.query_pairs_mut().extend_pairs(&query);
            let (status, headers, body) = self.call(self.http.get(page_url)).await?;
            if !status.is_success() {
                return Err(status_error(status, &headers, &body));
            }
            let page: CalendarListPage = serde_json::from_str(&body).map_err(|_| {
                SyncError::Protocol("calendar list is not the expected JSON".into())
            })?;
            out.extend(page.items.into_iter().map(|c| CalendarRef {
                owner_email: c.primary.then(|| c.id.clone()),
                id: c.id,
                name: c.summary,
            }));
            match page.next_page_token {
                Some(next) => page_token = Some(next),
                None => return Ok(out),
            }
        }
        Err(SyncError::TooLarge("pages"))
    }
}

impl CalendarSource for GoogleCalendar {
    fn provider(&self) -> Provider {
        Provider::Google
    }

    async fn calendars(&self) -> Result<Vec<CalendarRef>, SyncError> {
        self.list_calendars().await
    }

    async fn sync(
        &self,
        calendar: &CalendarRef,
        state: Option<&SyncState>,
        window: SyncWindow,
    ) -> Result<SyncBatch, SyncError> {
        let prev = match state {
            Some(SyncState(StateInner::Google(s))) => Some(s),
            _ => None,
        };
        self.run(calendar, prev, window).await
    }
}
