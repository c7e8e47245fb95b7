//! A local stand-in for Google Calendar API v3 and Google's token endpoint,
//! implementing the documented sync semantics: `events.list` with `singleEvents`
//! and `showDeleted`, `pageToken` paging over a stable snapshot, `nextSyncToken`,
//! 400 when `timeMin`/`timeMax` accompany a sync token, 410 Gone for expired tokens,
//! 429 with `Retry-After`, `events.watch`/`channels.stop` with notifications sent to
//! the channel address, the refresh-token and JWT-bearer grants.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{now, serve};

const HOST: &str = "tanaka@example.co.jp";

#[derive(Default)]
pub(crate) struct G {
    /// (calendar, id) → (sequence of its last change, resource).
    pub(crate) events: BTreeMap<(String, String), (u64, Value)>,
    pub(crate) seq: u64,
    pub(crate) page_size: usize,
    /// Sync tokens older than this answer 410.
    pub(crate) expired_before: u64,
    /// The next this many requests answer 429.
    pub(crate) throttle: u32,
    /// id → (resource id, address, token).
    pub(crate) channels: BTreeMap<String, (String, String, String)>,
    pub(crate) queries: Vec<String>,
    pub(crate) access_tokens: BTreeSet<String>,
    pub(crate) base_url: String,
}

#[derive(Clone)]
pub(crate) struct Google {
    pub(crate) base: String,
    pub(crate) state: Arc<Mutex<G>>,
}

type S = Arc<Mutex<G>>;

fn error(status: StatusCode, reason: &str) -> Response {
    (
        status,
        Json(json!({"error": {"errors": [{"reason": reason}], "code": status.as_u16()}})),
    )
        .into_response()
}

fn authorized(g: &G, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| g.access_tokens.contains(t))
}

fn instant(v: &Value) -> Option<DateTime<Utc>> {
    v.get("dateTime")?.as_str()?.parse().ok()
}

async fn list(
    State(s): State<S>,
    Path(cal): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    if g.throttle > 0 {
        g.throttle -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7")],
            "slow down",
        )
            .into_response();
    }
    let q = q.unwrap_or_default();
    g.queries.push(q.clone());
    let p: BTreeMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    if p.get("singleEvents").map(String::as_str) != Some("true")
        || p.get("showDeleted").map(String::as_str) != Some("true")
    {
        return error(StatusCode::BAD_REQUEST, "badRequest");
    }
    let since = match p.get("syncToken") {
        Some(token) => {
            if p.contains_key("timeMin") || p.contains_key("timeMax") {
                return error(StatusCode::BAD_REQUEST, "invalidParameter");
            }
            match token.strip_prefix('t').and_then(|n| n.parse::<u64>().ok()) {
                Some(n) if n >= g.expired_before => Some(n),
                _ => return error(StatusCode::GONE, "fullSyncRequired"),
            }
        }
        None => None,
    };
    let (offset, snapshot) = match p.get("pageToken") {
        Some(pt) => {
            let (o, s) = pt.trim_start_matches('p').split_once(':').unwrap();
            (o.parse::<usize>().unwrap(), s.parse::<u64>().unwrap())
        }
        None => (0, g.seq),
    };
    let time_min = p
        .get("timeMin")
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let time_max = p
        .get("timeMax")
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let mut items: Vec<&(u64, Value)> = g
        .events
        .iter()
        .filter(|((c, _), _)| *c == cal)
        .map(|(_, v)| v)
        .filter(|(seq, _)| *seq <= snapshot && since.is_none_or(|n| *seq > n))
        .filter(|(_, e)| {
            let (Some(start), Some(end)) = (instant(&e["start"]), instant(&e["end"])) else {
                return true;
            };
            time_min.is_none_or(|m| end > m) && time_max.is_none_or(|m| start < m)
        })
        .collect();
    items.sort_by_key(|(seq, _)| *seq);
    let size = p
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .min(g.page_size.max(1));
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(size)
        .map(|(_, e)| e.clone())
        .collect();
    let mut body = json!({"kind": "calendar#events", "items": page});
    if offset + size < items.len() {
        body["nextPageToken"] = json!(format!("p{}:{snapshot}", offset + size));
    } else {
        body["nextSyncToken"] = json!(format!("t{snapshot}"));
    }
    Json(body).into_response()
}

async fn calendar_list(State(s): State<S>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    if !authorized(&s.lock().unwrap(), &headers) {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    if q.unwrap_or_default().contains("pageToken=2") {
        return Json(
            json!({"items": [{"id": "room-3f@resource.example", "summary": "3F <Room>"}]}),
        )
        .into_response();
    }
    Json(json!({"items": [{"id": "tanaka@example.co.jp", "summary": "Tanaka", "primary": true}], "nextPageToken": "2"}))
        .into_response()
}

async fn watch(
    State(s): State<S>,
    Path(cal): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let ttl: i64 = body["params"]["ttl"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(604_800);
    let resource = format!("res-{cal}");
    g.channels.insert(
        id.clone(),
        (
            resource.clone(),
            body["address"].as_str().unwrap_or_default().to_owned(),
            body["token"].as_str().unwrap_or_default().to_owned(),
        ),
    );
    let expiration = (now() + chrono::Duration::seconds(ttl))
        .timestamp_millis()
        .to_string();
    Json(json!({"kind": "api#channel", "id": id, "resourceId": resource, "expiration": expiration}))
        .into_response()
}

async fn stop(State(s): State<S>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    let id = body["id"].as_str().unwrap_or_default();
    match g.channels.get(id) {
        Some((res, _, _)) if body["resourceId"].as_str() == Some(res.as_str()) => {
            g.channels.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "notFound"),
    }
}

async fn token(State(s): State<S>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let mut g = s.lock().unwrap();
    let bad = |code: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response();
    let access = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => match form.get("refresh_token").map(String::as_str) {
            Some("good-refresh")
                if form.get("client_secret").map(String::as_str) == Some("client-secret") =>
            {
                "user-token".to_owned()
            }
            Some("good-refresh") => return bad("invalid_client"),
            _ => return bad("invalid_grant"),
        },
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            let public = include_bytes!("keys/test-service-account.pub.pem");
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(public).unwrap();
            let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            // The assertion is dated by the tests' fixed clock, not this machine's.
            v.validate_exp = false;
            v.required_spec_claims = BTreeSet::from(["exp".to_owned(), "iat".to_owned()])
                .into_iter()
                .collect();
            v.set_audience(&[format!("{}/token", g.base_url)]);
            v.set_issuer(&["sa@genkan-test.iam.gserviceaccount.com"]);
            let Ok(data) = jsonwebtoken::decode::<Value>(
                form.get("assertion").map_or("", String::as_str),
                &key,
                &v,
            ) else {
                return bad("invalid_grant");
            };
            let c = data.claims;
            let lifetime = c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0);
            let sub = c["sub"].as_str().unwrap_or_default();
            if lifetime > 3600 || c["scope"] != "https://www.googleapis.com/auth/calendar.readonly"
            {
                return bad("invalid_grant");
            }
            if !sub.ends_with("@example.co.jp") {
                return (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "unauthorized_client"})),
                )
                    .into_response();
            }
            format!("sa-token-for-{sub}")
        }
        _ => return bad("unsupported_grant_type"),
    };
    g.access_tokens.insert(access.clone());
    Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

impl Google {
    pub(crate) async fn start() -> Self {
        let state: S = Arc::new(Mutex::new(G {
            page_size: 250,
            access_tokens: BTreeSet::from(["good-token".to_owned()]),
            ..G::default()
        }));
        let app = Router::new()
            .route("/calendar/v3/calendars/{cal}/events", get(list))
            .route("/calendar/v3/calendars/{cal}/events/watch", post(watch))
            .route("/calendar/v3/channels/stop", post(stop))
            .route("/calendar/v3/users/me/calendarList", get(calendar_list))
            .route("/token", post(token))
            .with_state(state.clone());
        let base = serve(app).await;
        state.lock().unwrap().base_url.clone_from(&base);
        Self { base, state }
    }

    pub(crate) fn api(&self) -> String {
        format!("{}/calendar/v3", self.base)
    }

    /// Creates or replaces an event in the host's calendar (a new change).
    pub(crate) fn put(&self, event: Value) {
        self.put_in(HOST, event);
    }

    /// Creates or replaces an event in `calendar`.
    pub(crate) fn put_in(&self, calendar: &str, event: Value) {
        let mut g = self.state.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        let id = event["id"].as_str().unwrap().to_owned();
        g.events.insert((calendar.to_owned(), id), (seq, event));
    }

    /// Deletes an event the way Google reports it: a cancelled stub.
    pub(crate) fn cancel(&self, id: &str) {
        self.put(json!({"id": id, "status": "cancelled", "kind": "calendar#event"}));
    }

    /// Forgets an event entirely (Google drops old cancellations).
    pub(crate) fn forget(&self, id: &str) {
        self.state
            .lock()
            .unwrap()
            .events
            .remove(&(HOST.to_owned(), id.to_owned()));
    }

    /// Sends an `exists` notification to every channel, as Google does on a change.
    pub(crate) async fn notify(&self) {
        let channels: Vec<(String, (String, String, String))> = self
            .state
            .lock()
            .unwrap()
            .channels
            .clone()
            .into_iter()
            .collect();
        for (n, (id, (resource, address, token))) in channels.into_iter().enumerate() {
            let r = reqwest::Client::new()
                .post(address)
                .header("x-goog-channel-id", id)
                .header("x-goog-channel-token", token)
                .header("x-goog-resource-id", resource)
                .header("x-goog-resource-state", "exists")
                .header("x-goog-message-number", (n + 2).to_string())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }
}

/// A Google event resource with outside attendees.
pub(crate) fn event(id: &str, start: DateTime<Utc>, attendees: &[&str]) -> Value {
    let end = start + chrono::Duration::hours(1);
    json!({
        "kind": "calendar#event", "id": id, "status": "confirmed", "iCalUID": format!("{id}@google.com"),
        "etag": format!("\"{}\"", start.timestamp()), "summary": format!("Visit {id}"),
        "start": {"dateTime": start.to_rfc3339(), "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": end.to_rfc3339(), "timeZone": "Asia/Tokyo"},
        "organizer": {"email": "tanaka@example.co.jp", "self": true},
        "attendees": attendees.iter().map(|a| json!({"email": a, "responseStatus": "needsAction"})).collect::<Vec<_>>(),
    })
}
