//! Host replies: the signed links of alert e-mails (`GET /reply/{token}` only shows
//! a confirmation page; `POST /reply` records the answer) and Slack's interactive
//! buttons (`POST /integrations/slack/interactions`, Slack's request signature
//! verified with the tenant's signing secret, 5-minute window).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use genkan_core::notification::Channel;
use genkan_core::text::Locale;
use genkan_core::wire::v1::ReplyKind;
use genkan_store::AuditCtx;
use genkan_store::replies::{NewReply, ReplyRefusal};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::notify::links::{self, LinkError, ReplyLink};
use crate::notify::slack::{ACTION_COMING, ACTION_WAIT};
use crate::request::ClientIp;
use crate::state::AppState;
use crate::web::i18n::Tr;
use crate::web::session::{locale_of, same_origin};

/// Slack requests older (or newer) than this are refused.
const SLACK_WINDOW_SECS: i64 = 300;

/// Routes of host replies.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reply/{token}", get(confirm))
        .route("/reply", post(answer))
        .route("/integrations/slack/interactions", post(slack_interaction))
}

#[derive(Template)]
#[template(path = "web/reply.html")]
struct ReplyPage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    static_v: &'static str,
    visitor: Option<String>,
    site: String,
    token: Option<String>,
    answer: &'static str,
}

fn answer_key(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Coming => "reply.coming",
        ReplyKind::Wait => "reply.wait",
    }
}

fn page(status: StatusCode, page: &ReplyPage) -> Response {
    let html = page.render().unwrap_or_else(|_| "error".to_owned());
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

fn problem_page(t: Tr, status: StatusCode, key: &str) -> Response {
    page(
        status,
        &ReplyPage {
            t,
            heading: "reply.title",
            message: None,
            problem: Some(t.get(key).to_owned()),
            static_v: crate::web::assets::VERSION.as_str(),
            visitor: None,
            site: String::new(),
            token: None,
            answer: "reply.coming",
        },
    )
}

fn link_problem(t: Tr, e: LinkError) -> Response {
    match e {
        LinkError::Expired => problem_page(t, StatusCode::GONE, "reply.expired"),
        LinkError::Invalid => problem_page(t, StatusCode::NOT_FOUND, "reply.invalid"),
    }
}

/// `GET /reply/{token}`: what the link will answer, and a button to confirm. No
/// state changes here (mail scanners follow links).
async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let fallback = Tr::new(locale_of(None, &headers, Locale::Ja));
    let link = match links::verify(state.store.keys(), &token, state.clock.now()) {
        Ok(l) => l,
        Err(e) => return link_problem(fallback, e),
    };
    let facts = match state
        .store
        .reply_facts(link.tenant, link.visit, link.message, links::hash(&link))
        .await
    {
        Ok(Some(f)) => f,
        Ok(None) => return problem_page(fallback, StatusCode::NOT_FOUND, "reply.invalid"),
        Err(_) => return problem_page(fallback, StatusCode::SERVICE_UNAVAILABLE, "reply.failed"),
    };
    let t = Tr::new(locale_of(None, &headers, facts.locale));
    if facts.used {
        return problem_page(t, StatusCode::CONFLICT, "reply.used");
    }
    let visitor = match &facts.visitor_company {
        Some(c) => format!("{} ({c})", facts.visitor_name),
        None => facts.visitor_name.clone(),
    };
    page(
        StatusCode::OK,
        &ReplyPage {
            t,
            heading: "reply.title",
            message: None,
            problem: None,
            static_v: crate::web::assets::VERSION.as_str(),
            visitor: Some(visitor),
            site: facts.site_name,
            token: Some(token),
            answer: answer_key(link.kind),
        },
    )
}

async fn record(
    state: &AppState,
    link: ReplyLink,
    channel: Channel,
    hint: Option<String>,
    ip: Option<ClientIp>,
) -> Result<genkan_store::replies::StoredReply, Option<ReplyRefusal>> {
    let ctx = AuditCtx {
        tenant_id: Some(link.tenant),
        actor_kind: "reply_link",
        actor_id: Some(link.message.get()),
        ip: ip.map(|i| i.to_string()),
        request_id: crate::request::current_id(),
        at: state.clock.now(),
    };
    let reply = NewReply {
        tenant: link.tenant,
        visit: link.visit,
        message: link.message,
        kind: link.kind,
        channel,
        link_hash: links::hash(&link),
        responder_hint: hint,
    };
    match state.store.record_reply(reply, ctx).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(refusal)) => Err(Some(refusal)),
        Err(e) => {
            tracing::error!(error = %e, "recording a reply failed");
            Err(None)
        }
    }
}

/// `POST /reply`: records the answer of a link (once).
async fn answer(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fallback = Tr::new(locale_of(None, &headers, Locale::Ja));
    if !same_origin(&headers) {
        return problem_page(fallback, StatusCode::FORBIDDEN, "reply.invalid");
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let link = match links::verify(state.store.keys(), &token, state.clock.now()) {
        Ok(l) => l,
        Err(e) => return link_problem(fallback, e),
    };
    match record(&state, link, Channel::Email, None, Some(ip)).await {
        Ok(reply) => {
            let t = Tr::new(locale_of(None, &headers, Locale::Ja));
            let done = match reply.kind {
                ReplyKind::Coming => "reply.done_coming",
                ReplyKind::Wait => "reply.done_wait",
            };
            page(
                StatusCode::OK,
                &ReplyPage {
                    t,
                    heading: "reply.title",
                    message: Some(t.get(done).to_owned()),
                    problem: None,
                    static_v: crate::web::assets::VERSION.as_str(),
                    visitor: None,
                    site: String::new(),
                    token: None,
                    answer: answer_key(reply.kind),
                },
            )
        }
        Err(Some(ReplyRefusal::AlreadyUsed)) => {
            problem_page(fallback, StatusCode::CONFLICT, "reply.used")
        }
        Err(Some(ReplyRefusal::Unknown)) => {
            problem_page(fallback, StatusCode::NOT_FOUND, "reply.invalid")
        }
        Err(None) => problem_page(fallback, StatusCode::SERVICE_UNAVAILABLE, "reply.failed"),
    }
}

/// Checks Slack's `X-Slack-Signature` (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`
/// under the app's signing secret) and that the timestamp is within 5 minutes.
pub fn slack_signature_ok(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
    ) else {
        return false;
    };
    let Ok(at) = ts.trim().parse::<i64>() else {
        return false;
    };
    if (now - at).abs() > SLACK_WINDOW_SECS {
        return false;
    }
    let Some(given) = sig.strip_prefix("v0=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("v0:{}:", ts.trim()).as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// `POST /integrations/slack/interactions`: a click on a reply button.
async fn slack_interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let payload: Option<serde_json::Value> = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str(&v).ok());
    let Some(payload) = payload else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let action = payload["actions"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| matches!(a["action_id"].as_str(), Some(ACTION_COMING | ACTION_WAIT)))
        })
        .cloned();
    let Some(action) = action else {
        return StatusCode::OK.into_response();
    };
    let now = state.clock.now();
    // Our own MAC tells which tenant's signing secret to check Slack's signature with.
    let link = match links::verify(
        state.store.keys(),
        action["value"].as_str().unwrap_or(""),
        now,
    ) {
        Ok(l) => l,
        Err(LinkError::Expired) => return StatusCode::GONE.into_response(),
        Err(LinkError::Invalid) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    let secret = match state.store.channel(link.tenant, "slack_bot").await {
        Ok(Some(c)) => c["signing_secret"].as_str().unwrap_or_default().to_owned(),
        Ok(None) => String::new(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    if secret.is_empty() || !slack_signature_ok(&secret, &headers, &body, now.timestamp()) {
        tracing::warn!(tenant.id = %link.tenant, "Slack interaction with a bad or stale signature refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let hint = payload["user"]["name"]
        .as_str()
        .or(payload["user"]["username"].as_str())
        .map(|s| s.chars().take(80).collect());
    match record(&state, link, Channel::Slack, hint, None).await {
        Ok(_) | Err(Some(ReplyRefusal::AlreadyUsed)) => StatusCode::OK.into_response(),
        Err(Some(ReplyRefusal::Unknown)) => StatusCode::NOT_FOUND.into_response(),
        Err(None) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:").as_bytes());
        mac.update(body);
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.to_string().parse().unwrap());
        h.insert(
            "x-slack-signature",
            format!("v0={}", hex::encode(mac.finalize().into_bytes()))
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn slack_signatures_verify_only_with_the_secret_body_and_a_fresh_timestamp() {
        let body = b"payload=%7B%7D";
        let h = signed("s3cret", 1_700_000_000, body);
        assert!(slack_signature_ok("s3cret", &h, body, 1_700_000_100));
        assert!(!slack_signature_ok("other", &h, body, 1_700_000_100));
        assert!(!slack_signature_ok(
            "s3cret",
            &h,
            b"payload=x",
            1_700_000_100
        ));
        assert!(!slack_signature_ok("s3cret", &h, body, 1_700_000_301));
        assert!(!slack_signature_ok(
            "s3cret",
            &HeaderMap::new(),
            body,
            1_700_000_000
        ));
    }
}
