//! Admin API for notification channels and policies (`/api/v1/settings/…`): Slack
//! bot, Teams, Chatwork, generic webhook (its secret is answered once), reminders
//! and no-shows. Secrets are never returned afterwards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use genkan_core::access::Permission;
use genkan_core::wire::v1::ErrorCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::channels::{self, Problem};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, Staff};
use crate::state::AppState;

/// Routes merged into `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/slack-bot", put(slack_bot))
        .route("/settings/teams", put(teams))
        .route("/settings/chatwork", put(chatwork))
        .route("/settings/webhook", put(webhook))
        .route("/settings/notifications", put(policy))
}

fn admin(staff: &Staff) -> ApiResult<()> {
    if staff.principal.may(Permission::Administer) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::Forbidden))
    }
}

fn refused(p: &Problem) -> ApiError {
    ApiError::field(p.field, p.code, &p.message)
}

fn given(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

async fn save(
    s: &AppState,
    staff: Staff,
    key: &'static str,
    value: Option<Value>,
) -> ApiResult<()> {
    s.store
        .set_channel(staff.principal.tenant_id, key, value, staff.ctx)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackBotInput {
    bot_token: Option<String>,
    #[serde(default)]
    signing_secret: Option<String>,
}

async fn slack_bot(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<SlackBotInput>,
) -> ApiResult<StatusCode> {
    admin(&staff)?;
    let value = match given(input.bot_token.as_ref()) {
        None => None,
        Some(token) => Some(
            channels::slack_bot(token, input.signing_secret.as_deref().unwrap_or(""))
                .map_err(|p| refused(&p))?,
        ),
    };
    save(&s, staff, "slack_bot", value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrlInput {
    url: Option<String>,
}

async fn teams(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<UrlInput>,
) -> ApiResult<StatusCode> {
    admin(&staff)?;
    let value = match given(input.url.as_ref()) {
        None => None,
        Some(url) => Some(
            channels::teams(url, s.config.outbound.allow_private_networks)
                .await
                .map_err(|p| refused(&Problem { field: "url", ..p }))?,
        ),
    };
    save(&s, staff, "teams", value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatworkInput {
    token: Option<String>,
    #[serde(default)]
    room_id: Option<String>,
}

async fn chatwork(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<ChatworkInput>,
) -> ApiResult<StatusCode> {
    admin(&staff)?;
    let value = match given(input.token.as_ref()) {
        None => None,
        Some(token) => Some(
            channels::chatwork(token, input.room_id.as_deref().unwrap_or(""))
                .map_err(|p| refused(&p))?,
        ),
    };
    save(&s, staff, "chatwork", value).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the webhook URL with a new secret (answered once), or clears it.
async fn webhook(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<UrlInput>,
) -> ApiResult<Response> {
    admin(&staff)?;
    match given(input.url.as_ref()) {
        None => {
            save(&s, staff, "webhook", None).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(url) => {
            let (value, secret) = channels::webhook(url, s.config.outbound.allow_private_networks)
                .await
                .map_err(|p| refused(&Problem { field: "url", ..p }))?;
            save(&s, staff, "webhook", Some(value)).await?;
            Ok((StatusCode::OK, Json(json!({"secret": secret}))).into_response())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyInput {
    reminder_enabled: bool,
    #[serde(default = "default_hour")]
    reminder_hour: i64,
    #[serde(default)]
    no_show_minutes: i64,
}

fn default_hour() -> i64 {
    17
}

async fn policy(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<PolicyInput>,
) -> ApiResult<StatusCode> {
    admin(&staff)?;
    let p = channels::policy(
        input.reminder_enabled,
        &input.reminder_hour.to_string(),
        &input.no_show_minutes.to_string(),
    )
    .map_err(|p| refused(&p))?;
    s.store
        .set_notification_policy(staff.principal.tenant_id, p, staff.ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
