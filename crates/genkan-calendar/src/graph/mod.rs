//! Microsoft Graph: `calendarView/delta` over the sync window (occurrences expanded
//! by Graph), following `@odata.nextLink` pages to the `@odata.deltaLink`, `@removed`
//! and cancelled items as removals, and a full resync when Graph answers 410 Gone or
//! `syncStateNotFound`/`resyncRequired`. Subscriptions are in [`push`].

mod model;
pub mod push;

use genkan_core::calendar::Provider;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::error::SyncError;
use crate::http::{Limits, provider_reason, send, status_error};
use crate::source::{
    CalendarRef, CalendarSource, FullReason, StateInner, SyncBatch, SyncState, SyncWindow,
};

/// The production API base.
pub const GRAPH_API_BASE: &str = "https://graph.microsoft.com/v1.0";
/// Page size asked of Graph.
const PAGE_SIZE: u32 = 100;

/// The sync state of one mailbox's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) window: SyncWindow,
    pub(crate) delta_link: String,
}

/// A Graph client acting with one access token (a host's delegated token, or the
/// app's token under application permissions).
#[derive(Debug, Clone)]
pub struct GraphCalendar {
    http: reqwest::Client,
    base: Url,
    token: Secret,
    limits: Limits,
}

enum Listing {
    Done(Box<SyncBatch>),
    Gone,
}

impl GraphCalendar {
    /// A client for the API at `api_base` ([`GRAPH_API_BASE`] in production).
    pub fn new(
        http: reqwest::Client,
        api_base: &str,
        access_token: Secret,
        limits: Limits,
    ) -> Result<Self, SyncError> {
        let base = crate::http::api_base(api_base, "Graph")?;
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

    /// A link Graph handed us, refused unless it points at the configured API: the
    /// bearer token goes nowhere else.
    fn link(&self, link: &str) -> Result<Url, SyncError> {
        let url = Url::parse(link).map_err(|_| SyncError::Protocol("invalid link".into()))?;
        if url.origin() != self.base.origin() {
            return Err(SyncError::Protocol("link points to another server".into()));
        }
        Ok(url)
    }

    pub(crate) async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), SyncError> {
        send(request.bearer_auth(self.token.expose()), &self.limits).await
    }

    async fn list(&self, start: Url, window: SyncWindow) -> Result<Listing, SyncError> {
        let mut url = start;
        let mut changes = Vec::new();
        let mut unreadable = Vec::new();
        for page in 1..=self.limits.max_pages {
            let request = self.http.get(url.clone()).header(
                "Prefer",
                format!("odata.maxpagesize={PAGE_SIZE}, outlook.timezone=\"UTC\""),
            );
            let (status, headers, body) = self.call(request).await?;
            if status == StatusCode::GONE
                || (status.is_client_error()
                    && provider_reason(&body).is_some_and(|r| {
                        let r = r.to_ascii_lowercase();
                        r.contains("syncstatenotfound")
                            || r.contains("resyncrequired")
                            || r.contains("syncstateinvalid")
                    }))
            {
                return Ok(Listing::Gone);
            }
            if !status.is_success() {
                return Err(status_error(status, &headers, &body));
            }
            let parsed: model::DeltaPage = serde_json::from_str(&body)
                .map_err(|_| SyncError::Protocol("delta page is not the expected JSON".into()))?;
            for item in parsed.value {
                match model::change(item) {
                    Ok(change) => changes.push(change),
                    Err(id) => unreadable.push(id),
                }
            }
            match (parsed.next_link, parsed.delta_link) {
                (Some(next), _) => url = self.link(&next)?,
                (None, Some(delta)) => {
                    self.link(&delta)?;
                    return Ok(Listing::Done(Box::new(SyncBatch {
                        changes,
                        full: None,
                        token_refused: false,
                        window,
                        state: SyncState(StateInner::Microsoft(State {
                            window,
                            delta_link: delta,
                        })),
                        unreadable,
                        requests: page,
                    })));
                }
                (None, None) => {
                    return Err(SyncError::Protocol("last page without a delta link".into()));
                }
            }
        }
        Err(SyncError::TooLarge("pages"))
    }

    fn initial(&self, calendar: &CalendarRef, window: &SyncWindow) -> Url {
        let mut url = self.url(&["users", &calendar.id, "calendarView", "delta"]);
        url.query_pairs_mut()
            .append_pair("startDateTime", &window.start.to_rfc3339())
            .append_pair("endDateTime", &window.end.to_rfc3339());
        url
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
        let mut extra = 0;
        loop {
            let (start, used_window) = match (full, prev) {
                (None, Some(p)) => (self.link(&p.delta_link)?, p.window),
                _ => (self.initial(calendar, &window), window),
            };
            match self.list(start, used_window).await? {
                Listing::Done(mut batch) => {
                    batch.full = full;
                    batch.token_refused = extra > 0;
                    batch.requests += extra;
                    return Ok(*batch);
                }
                Listing::Gone if full.is_none() => {
                    full = Some(FullReason::TokenRefused);
                    extra += 1;
                }
                Listing::Gone => return Err(SyncError::Http { status: 410 }),
            }
        }
    }

    async fn me(&self) -> Result<Vec<CalendarRef>, SyncError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Me {
            id: String,
            display_name: Option<String>,
            mail: Option<String>,
            user_principal_name: Option<String>,
        }
        let (status, headers, body) = self.call(self.http.get(self.url(&["me"]))).await?;
        if !status.is_success() {
            return Err(status_error(status, &headers, &body));
        }
        let me: Me = serde_json::from_str(&body)
            .map_err(|_| SyncError::Protocol("profile is not the expected JSON".into()))?;
        Ok(vec![CalendarRef {
            id: me.id,
            name: me.display_name,
            owner_email: me.mail.or(me.user_principal_name),
        }])
    }
}

impl CalendarSource for GraphCalendar {
    fn provider(&self) -> Provider {
        Provider::Microsoft
    }

    /// With a delegated token: the signed-in user's default calendar. Under
    /// application permissions there is no "me": build each host's [`CalendarRef`]
    /// from their address (`id` = user principal name).
    async fn calendars(&self) -> Result<Vec<CalendarRef>, SyncError> {
        self.me().await
    }

    async fn sync(
        &self,
        calendar: &CalendarRef,
        state: Option<&SyncState>,
        window: SyncWindow,
    ) -> Result<SyncBatch, SyncError> {
        let prev = match state {
            Some(SyncState(StateInner::Microsoft(s))) => Some(s),
            _ => None,
        };
        self.run(calendar, prev, window).await
    }
}
