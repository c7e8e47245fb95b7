//! CalDAV (RFC 4791) client: calendar discovery by PROPFIND (principal → home →
//! calendars), incremental sync by REPORT `sync-collection` (RFC 6578) and
//! `calendar-multiget`, and, when the server has no sync tokens or refuses ours, the
//! `getctag`/`getetag` comparison every CalDAV server supports.

pub mod ics;
pub(crate) mod xml;

use std::collections::{BTreeMap, BTreeSet};

use genkan_core::calendar::{Change, Provider};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::error::SyncError;
use crate::http::{Limits, send, status_error};
use crate::source::{
    CalendarRef, CalendarSource, FullReason, StateInner, SyncBatch, SyncState, SyncWindow,
};
use xml::{CALDAV, CS, DAV, Multistatus};

/// Resources fetched per `calendar-multiget`.
const MULTIGET_BATCH: usize = 100;

/// How the client signs in.
#[derive(Debug, Clone)]
pub enum CalDavAuth {
    /// Username and (app) password, sent as HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Password or app password.
        password: Secret,
    },
    /// An OAuth access token, sent as a bearer token.
    Bearer(Secret),
}

/// The sync state of one CalDAV collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) window: SyncWindow,
    /// RFC 6578 token, when the server gives one.
    pub(crate) sync_token: Option<String>,
    /// CalendarServer ctag, for the fallback.
    pub(crate) ctag: Option<String>,
    /// Resource path → etag, for the fallback.
    pub(crate) etags: BTreeMap<String, String>,
}

/// A CalDAV account on one server.
#[derive(Debug, Clone)]
pub struct CalDavClient {
    http: reqwest::Client,
    base: Url,
    auth: CalDavAuth,
    limits: Limits,
}

/// What a sync round learned before resources are fetched.
struct Delta {
    changed: BTreeSet<String>,
    removed: BTreeSet<String>,
    state: State,
    full: Option<FullReason>,
    token_refused: bool,
    requests: u32,
}

impl CalDavClient {
    /// A client for the server at `base_url` (the account's root, principal or
    /// calendar-home URL). `http` is the caller's client (the server passes its
    /// outbound-guarded one).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        auth: CalDavAuth,
        limits: Limits,
    ) -> Result<Self, SyncError> {
        let base =
            Url::parse(base_url).map_err(|_| SyncError::Protocol("invalid CalDAV URL".into()))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(SyncError::Protocol("CalDAV URLs are http(s)".into()));
        }
        Ok(Self {
            http,
            base,
            auth,
            limits,
        })
    }

    /// Resolves an href from the server, refusing other origins: a hostile server
    /// must not make us send the credentials elsewhere.
    fn resolve(&self, href: &str) -> Result<Url, SyncError> {
        let url = self
            .base
            .join(href)
            .map_err(|_| SyncError::Protocol("invalid href".into()))?;
        if url.origin() != self.base.origin() {
            return Err(SyncError::Protocol("href points to another server".into()));
        }
        Ok(url)
    }

    async fn dav(
        &self,
        method: &str,
        url: &Url,
        depth: Option<&str>,
        body: String,
    ) -> Result<Result<Multistatus, (StatusCode, String)>, SyncError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| SyncError::Protocol("method".into()))?;
        let mut req = self
            .http
            .request(method, url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )
            .body(body);
        if let Some(depth) = depth {
            req = req.header("Depth", depth);
        }
        req = match &self.auth {
            CalDavAuth::Basic { username, password } => {
                req.basic_auth(username, Some(password.expose()))
            }
            CalDavAuth::Bearer(token) => req.bearer_auth(token.expose()),
        };
        let (status, headers, body) = send(req, &self.limits).await?;
        if status == StatusCode::MULTI_STATUS {
            return xml::multistatus(&body)
                .map(Ok)
                .map_err(|e| SyncError::Protocol(e.to_string()));
        }
        match status.as_u16() {
            401 | 404 | 429 | 500..=599 => Err(status_error(status, &headers, &body)),
            _ => Ok(Err((status, body))),
        }
    }

    async fn propfind(
        &self,
        url: &Url,
        depth: &str,
        body: String,
    ) -> Result<Multistatus, SyncError> {
        match self.dav("PROPFIND", url, Some(depth), body).await? {
            Ok(ms) => Ok(ms),
            Err((status, body)) => Err(status_error(
                status,
                &reqwest::header::HeaderMap::new(),
                &body,
            )),
        }
    }

    fn path_of(&self, href: &str) -> Result<String, SyncError> {
        Ok(self.resolve(href)?.path().to_owned())
    }

    async fn list_calendars(&self) -> Result<Vec<CalendarRef>, SyncError> {
        let root = self
            .propfind(&self.base, "0", xml::propfind_principal())
            .await?;
        let principal = root
            .responses
            .iter()
            .find_map(|r| r.prop(DAV, "current-user-principal")?.child(DAV, "href"))
            .map(|h| self.resolve(h.trimmed()))
            .transpose()?
            .unwrap_or_else(|| self.base.clone());
        let home_ms = self.propfind(&principal, "0", xml::propfind_home()).await?;
        let home = home_ms
            .responses
            .iter()
            .find_map(|r| r.prop(CALDAV, "calendar-home-set")?.child(DAV, "href"))
            .map(|h| self.resolve(h.trimmed()))
            .transpose()?
            .unwrap_or_else(|| principal.clone());
        let owner = home_ms.responses.iter().find_map(|r| {
            r.prop(CALDAV, "calendar-user-address-set")?
                .children_named(DAV, "href")
                .find_map(|h| {
                    let t = h.trimmed();
                    t.get(..7)
                        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                        .map(|_| t[7..].to_owned())
                })
        });
        let mut calendars = Vec::new();
        for depth_url in [(&home, "1"), (&self.base, "0")] {
            let ms = self
                .propfind(depth_url.0, depth_url.1, xml::propfind_calendars())
                .await?;
            for r in &ms.responses {
                let is_calendar = r
                    .prop(DAV, "resourcetype")
                    .is_some_and(|t| t.child(CALDAV, "calendar").is_some());
                // Calendars that declare their components must include VEVENT.
                let has_events = r
                    .prop(CALDAV, "supported-calendar-component-set")
                    .is_none_or(|set| {
                        set.children_named(CALDAV, "comp").any(|c| {
                            c.attr("name")
                                .is_some_and(|n| n.eq_ignore_ascii_case("VEVENT"))
                        })
                    });
                if is_calendar && has_events {
                    calendars.push(CalendarRef {
                        id: self.resolve(&r.href)?.to_string(),
                        name: r.prop_text(DAV, "displayname"),
                        owner_email: owner.clone(),
                    });
                }
            }
            if !calendars.is_empty() {
                break;
            }
        }
        Ok(calendars)
    }

    /// ctag and sync token of the collection.
    async fn tokens(&self, coll: &Url) -> Result<(Option<String>, Option<String>), SyncError> {
        let ms = self.propfind(coll, "0", xml::propfind_tokens()).await?;
        let r = ms.responses.first();
        Ok((
            r.and_then(|r| r.prop_text(CS, "getctag")),
            r.and_then(|r| r.prop_text(DAV, "sync-token")),
        ))
    }

    /// Every resource of the collection with its etag.
    async fn etags(&self, coll: &Url) -> Result<BTreeMap<String, String>, SyncError> {
        let ms = self.propfind(coll, "1", xml::propfind_etags()).await?;
        let own = coll.path().to_owned();
        let mut out = BTreeMap::new();
        for r in &ms.responses {
            let path = self.path_of(&r.href)?;
            let is_collection = r
                .prop(DAV, "resourcetype")
                .is_some_and(|t| t.child(DAV, "collection").is_some());
            if path == own || is_collection {
                continue;
            }
            if let Some(etag) = r.prop_text(DAV, "getetag") {
                out.insert(path, etag);
            }
        }
        Ok(out)
    }

    /// Lists everything (first sync, or the window moved).
    async fn full(
        &self,
        coll: &Url,
        window: SyncWindow,
        reason: FullReason,
    ) -> Result<Delta, SyncError> {
        let (ctag, sync_token) = self.tokens(coll).await?;
        let etags = self.etags(coll).await?;
        Ok(Delta {
            changed: etags.keys().cloned().collect(),
            removed: BTreeSet::new(),
            state: State {
                window,
                sync_token,
                ctag,
                etags,
            },
            full: Some(reason),
            token_refused: false,
            requests: 2,
        })
    }

    /// Compares ctag and etags with the last state (servers without sync tokens, or
    /// after a refused token).
    async fn by_etag(
        &self,
        coll: &Url,
        prev: &State,
        token_refused: bool,
    ) -> Result<Delta, SyncError> {
        let (ctag, sync_token) = self.tokens(coll).await?;
        if !token_refused && ctag.is_some() && ctag == prev.ctag {
            return Ok(Delta {
                changed: BTreeSet::new(),
                removed: BTreeSet::new(),
                state: prev.clone(),
                full: None,
                token_refused,
                requests: 1,
            });
        }
        let etags = self.etags(coll).await?;
        let changed = etags
            .iter()
            .filter(|(href, etag)| prev.etags.get(*href) != Some(*etag))
            .map(|(href, _)| href.clone())
            .collect();
        let removed = prev
            .etags
            .keys()
            .filter(|h| !etags.contains_key(*h))
            .cloned()
            .collect();
        Ok(Delta {
            changed,
            removed,
            state: State {
                window: prev.window,
                sync_token,
                ctag,
                etags,
            },
            full: None,
            token_refused,
            requests: 2,
        })
    }

    /// RFC 6578 sync from `token`; `Ok(None)` when the server refuses the token.
    async fn by_token(
        &self,
        coll: &Url,
        prev: &State,
        token: &str,
    ) -> Result<Option<Delta>, SyncError> {
        let own = coll.path().to_owned();
        let mut token = token.to_owned();
        let mut state = prev.clone();
        let (mut changed, mut removed) = (BTreeSet::new(), BTreeSet::new());
        for round in 1..=self.limits.max_pages {
            // 403/409 with DAV:valid-sync-token, or 400/412 from servers that word it
            // differently: the token is no longer usable.
            let Ok(ms) = self
                .dav("REPORT", coll, None, xml::sync_collection(Some(&token)))
                .await?
            else {
                return Ok(None);
            };
            let mut truncated = false;
            for r in &ms.responses {
                let path = self.path_of(&r.href)?;
                if path == own {
                    truncated |= r.status == Some(507);
                    continue;
                }
                if path.ends_with('/') {
                    continue;
                }
                if r.status == Some(404) {
                    state.etags.remove(&path);
                    changed.remove(&path);
                    removed.insert(path);
                } else {
                    removed.remove(&path);
                    changed.insert(path);
                }
            }
            token = ms.sync_token.ok_or_else(|| {
                SyncError::Protocol("sync-collection answer without a token".into())
            })?;
            if !truncated {
                state.sync_token = Some(token);
                return Ok(Some(Delta {
                    changed,
                    removed,
                    state,
                    full: None,
                    token_refused: false,
                    requests: round,
                }));
            }
        }
        Err(SyncError::TooLarge("sync rounds"))
    }

    async fn run(
        &self,
        calendar: &CalendarRef,
        state: Option<&State>,
        window: SyncWindow,
    ) -> Result<SyncBatch, SyncError> {
        let coll = self.resolve(&calendar.id)?;
        let mut delta = match state {
            None => self.full(&coll, window, FullReason::First).await?,
            Some(prev) if !prev.window.still_serves(&window) => {
                self.full(&coll, window, FullReason::WindowMoved).await?
            }
            Some(prev) => match &prev.sync_token {
                Some(token) => match self.by_token(&coll, prev, token).await? {
                    Some(delta) => delta,
                    None => {
                        let mut d = self.by_etag(&coll, prev, true).await?;
                        d.requests += 1;
                        d
                    }
                },
                None => self.by_etag(&coll, prev, false).await?,
            },
        };
        let mut changes: Vec<Change> = Vec::new();
        let mut unreadable = Vec::new();
        let hrefs: Vec<String> = delta.changed.iter().cloned().collect();
        let mut fetched = BTreeSet::new();
        for chunk in hrefs.chunks(MULTIGET_BATCH) {
            let body = xml::calendar_multiget(chunk.iter().map(String::as_str));
            let ms = match self.dav("REPORT", &coll, Some("1"), body).await? {
                Ok(ms) => ms,
                Err((status, body)) => {
                    return Err(status_error(
                        status,
                        &reqwest::header::HeaderMap::new(),
                        &body,
                    ));
                }
            };
            delta.requests += 1;
            for r in &ms.responses {
                let path = self.path_of(&r.href)?;
                let (Some(etag), Some(data)) = (
                    r.prop_text(DAV, "getetag"),
                    r.prop_text(CALDAV, "calendar-data"),
                ) else {
                    continue;
                };
                fetched.insert(path.clone());
                delta.state.etags.insert(path.clone(), etag.clone());
                match ics::events_from_ics(&path, &etag, &data, &window) {
                    Ok(events) => changes.push(Change::Object {
                        source_id: path,
                        events,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "calendar resource not readable");
                        unreadable.push(path);
                    }
                }
            }
        }
        // Listed as changed but gone by the time we fetched it: deleted meanwhile.
        for path in delta.changed.iter().filter(|p| !fetched.contains(*p)) {
            delta.state.etags.remove(path);
            changes.push(Change::Removed {
                source_id: path.clone(),
            });
        }
        for path in &delta.removed {
            changes.push(Change::Removed {
                source_id: path.clone(),
            });
        }
        Ok(SyncBatch {
            changes,
            full: delta.full,
            token_refused: delta.token_refused,
            window: delta.state.window,
            state: SyncState(StateInner::CalDav(delta.state)),
            unreadable,
            requests: delta.requests,
        })
    }
}

impl CalendarSource for CalDavClient {
    fn provider(&self) -> Provider {
        Provider::CalDav
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
            Some(SyncState(StateInner::CalDav(s))) => Some(s),
            _ => None,
        };
        self.run(calendar, prev, window).await
    }
}
