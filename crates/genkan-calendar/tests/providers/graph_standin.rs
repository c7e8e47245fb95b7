//! A local stand-in for Microsoft Graph and the identity platform's token endpoint,
//! implementing the documented semantics: `calendarView/delta` (window required on
//! the first call, `@odata.nextLink` pages, an `@odata.deltaLink`, `@removed` items,
//! 410 `SyncStateNotFound` for expired state, 429 with `Retry-After`), subscriptions
//! validated by a `validationToken` echo before they exist, renewal and deletion,
//! notifications with `clientState`, client credentials and rotating refresh tokens.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{now, serve};

#[derive(Clone)]
struct Link {
    offset: usize,
    snapshot: u64,
    since: Option<u64>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct Gr {
    /// id → (sequence of its last change, resource or `None` when deleted).
    events: BTreeMap<String, (u64, Option<Value>)>,
    seq: u64,
    links: BTreeMap<String, Link>,
    pub(crate) page_size: usize,
    /// Delta state older than this answers 410.
    pub(crate) expired_before: u64,
    pub(crate) throttle: u32,
    /// When set, the next page link points here instead.
    pub(crate) hostile_next_link: Option<String>,
    /// id → (notification URL, client state, resource, expiry).
    pub(crate) subscriptions: BTreeMap<String, (String, String, String, DateTime<Utc>)>,
    pub(crate) access_tokens: BTreeSet<String>,
    refresh_token: String,
    issued: u32,
    base: String,
    pub(crate) prefer_headers: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct Graph {
    pub(crate) base: String,
    pub(crate) state: Arc<Mutex<Gr>>,
}

type S = Arc<Mutex<Gr>>;

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": "stand-in"}})),
    )
        .into_response()
}

fn authorized(g: &Gr, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| g.access_tokens.contains(t))
}

fn utc(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.get("dateTime")?.as_str()?;
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

async fn delta(
    State(s): State<S>,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    if g.throttle > 0 {
        g.throttle -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "2")],
            Json(json!({"error": {"code": "TooManyRequests"}})),
        )
            .into_response();
    }
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    g.prefer_headers.push(prefer);
    let p: BTreeMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let link = if let Some(k) = p.get("$skiptoken") {
        g.links.get(k).cloned()
    } else if let Some(k) = p.get("$deltatoken") {
        match g.links.get(k).cloned() {
            Some(l) if l.snapshot >= g.expired_before => Some(Link {
                offset: 0,
                since: Some(l.snapshot),
                snapshot: g.seq,
                ..l
            }),
            _ => return error(StatusCode::GONE, "SyncStateNotFound"),
        }
    } else {
        let (Some(start), Some(end)) = (
            p.get("startDateTime").and_then(|t| t.parse().ok()),
            p.get("endDateTime").and_then(|t| t.parse().ok()),
        ) else {
            return error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
        };
        Some(Link {
            offset: 0,
            snapshot: g.seq,
            since: None,
            start,
            end,
        })
    };
    let Some(link) = link else {
        return error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
    };
    let mut items: Vec<(u64, Value)> = g
        .events
        .iter()
        .filter(|(_, (seq, _))| *seq <= link.snapshot && link.since.is_none_or(|n| *seq > n))
        .filter_map(|(id, (seq, e))| match e {
            None if link.since.is_some() => {
                Some((*seq, json!({"id": id, "@removed": {"reason": "deleted"}})))
            }
            None => None,
            Some(e) => {
                let inside = utc(&e["end"]).is_some_and(|end| end > link.start)
                    && utc(&e["start"]).is_some_and(|start| start < link.end);
                inside.then(|| (*seq, e.clone()))
            }
        })
        .collect();
    items.sort_by_key(|(seq, _)| *seq);
    let size = g.page_size.max(1);
    let page: Vec<Value> = items
        .iter()
        .skip(link.offset)
        .take(size)
        .map(|(_, e)| e.clone())
        .collect();
    let key = format!("k{}", g.links.len());
    let api = format!("{}/v1.0/users/{user}/calendarView/delta", g.base);
    let mut body = json!({"@odata.context": "stand-in", "value": page});
    if link.offset + size < items.len() {
        g.links.insert(
            key.clone(),
            Link {
                offset: link.offset + size,
                ..link
            },
        );
        let next = g
            .hostile_next_link
            .take()
            .unwrap_or_else(|| format!("{api}?$skiptoken={key}"));
        body["@odata.nextLink"] = json!(next);
    } else {
        g.links.insert(
            key.clone(),
            Link {
                offset: 0,
                since: None,
                ..link
            },
        );
        body["@odata.deltaLink"] = json!(format!("{api}?$deltatoken={key}"));
    }
    Json(body).into_response()
}

async fn subscribe(State(s): State<S>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&s.lock().unwrap(), &headers) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let url = body["notificationUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let expires: DateTime<Utc> = body["expirationDateTime"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(now());
    if expires > now() + chrono::Duration::minutes(10_080) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest");
    }
    // Validation: the endpoint must echo the token as text/plain within 10 s.
    let token = "Validation: Testing client application <&>";
    let answer = reqwest::Client::new()
        .post(format!(
            "{url}?validationToken={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        ))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    let valid = match answer {
        Ok(r) if r.status() == 200 => {
            let plain = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"));
            plain && r.text().await.is_ok_and(|t| t == token)
        }
        _ => false,
    };
    if !valid {
        return error(StatusCode::BAD_REQUEST, "ValidationError");
    }
    let mut g = s.lock().unwrap();
    let id = format!("sub-{}", g.subscriptions.len() + 1);
    let resource = body["resource"].as_str().unwrap_or_default().to_owned();
    let state = body["clientState"].as_str().unwrap_or_default().to_owned();
    g.subscriptions
        .insert(id.clone(), (url, state, resource.clone(), expires));
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "resource": resource, "expirationDateTime": expires.to_rfc3339()})),
    )
        .into_response()
}

async fn renew(
    State(s): State<S>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let expires: DateTime<Utc> = body["expirationDateTime"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(now());
    let Some(sub) = g.subscriptions.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFound");
    };
    sub.3 = expires;
    let resource = sub.2.clone();
    Json(json!({"id": id, "resource": resource, "expirationDateTime": expires.to_rfc3339()}))
        .into_response()
}

async fn unsubscribe(State(s): State<S>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut g = s.lock().unwrap();
    if !authorized(&g, &headers) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    match g.subscriptions.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound"),
    }
}

async fn me(State(s): State<S>, headers: HeaderMap) -> Response {
    if !authorized(&s.lock().unwrap(), &headers) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    Json(json!({"id": "user-1", "displayName": "Tanaka <T>", "mail": "tanaka@example.co.jp"}))
        .into_response()
}

async fn token(
    State(s): State<S>,
    Path(_dir): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut g = s.lock().unwrap();
    let bad = |code: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": code, "error_description": "AADSTS stand-in"})),
        )
            .into_response()
    };
    if form.get("client_secret").map(String::as_str) != Some("app-secret") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    g.issued += 1;
    let access = format!("graph-token-{}", g.issued);
    let mut body = json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access});
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials")
            if form.get("scope").map(String::as_str)
                == Some("https://graph.microsoft.com/.default") => {}
        Some("refresh_token") if form.get("refresh_token") == Some(&g.refresh_token) => {
            g.refresh_token = format!("refresh-{}", g.issued);
            body["refresh_token"] = json!(g.refresh_token);
        }
        Some("refresh_token") => return bad("invalid_grant"),
        _ => return bad("invalid_request"),
    }
    g.access_tokens.insert(access);
    Json(body).into_response()
}

impl Graph {
    pub(crate) async fn start() -> Self {
        let state: S = Arc::new(Mutex::new(Gr {
            page_size: 100,
            access_tokens: BTreeSet::from(["good-token".to_owned()]),
            refresh_token: "refresh-0".into(),
            ..Gr::default()
        }));
        let app = Router::new()
            .route("/v1.0/users/{user}/calendarView/delta", get(delta))
            .route("/v1.0/subscriptions", post(subscribe))
            .route("/v1.0/subscriptions/{id}", patch(renew).delete(unsubscribe))
            .route("/v1.0/me", get(me))
            .route("/{dir}/oauth2/v2.0/token", post(token))
            .with_state(state.clone());
        let base = serve(app).await;
        state.lock().unwrap().base.clone_from(&base);
        Self { base, state }
    }

    pub(crate) fn api(&self) -> String {
        format!("{}/v1.0", self.base)
    }

    pub(crate) fn put(&self, event: Value) {
        let mut g = self.state.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        g.events
            .insert(event["id"].as_str().unwrap().to_owned(), (seq, Some(event)));
    }

    pub(crate) fn delete(&self, id: &str) {
        let mut g = self.state.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        g.events.insert(id.to_owned(), (seq, None));
    }

    /// Forgets all delta state issued so far (the 410 case).
    pub(crate) fn expire_state(&self) {
        let mut g = self.state.lock().unwrap();
        g.expired_before = g.seq + 1;
    }

    /// Notifies every subscription of a change, as Graph does.
    pub(crate) async fn notify(&self) {
        let subs: Vec<_> = self
            .state
            .lock()
            .unwrap()
            .subscriptions
            .clone()
            .into_iter()
            .collect();
        for (id, (url, state, resource, _)) in subs {
            let body = json!({"value": [{"subscriptionId": id, "clientState": state, "changeType": "updated",
                "resource": resource, "resourceData": {"id": "x"}}]});
            let r = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
        }
    }
}

/// A Graph event with outside attendees (times in UTC, as `Prefer` asks).
pub(crate) fn event(id: &str, start: DateTime<Utc>, attendees: &[&str]) -> Value {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string();
    json!({
        "id": id, "iCalUId": format!("ical-{id}"), "changeKey": format!("ck-{}", start.timestamp()),
        "subject": format!("Visit {id}"), "type": "singleInstance", "isCancelled": false,
        "start": {"dateTime": fmt(start), "timeZone": "UTC"},
        "end": {"dateTime": fmt(start + chrono::Duration::hours(1)), "timeZone": "UTC"},
        "organizer": {"emailAddress": {"address": "tanaka@example.co.jp", "name": "Tanaka"}},
        "attendees": attendees.iter().map(|a| json!({"type": "required", "status": {"response": "none"},
            "emailAddress": {"address": a}})).collect::<Vec<_>>(),
    })
}
