//! Notification settings (admins): reminders and no-show notices, and the channels
//! besides e-mail and the Slack webhook: Slack bot (direct messages and reply
//! buttons), Microsoft Teams, Chatwork and the signed generic webhook. Tokens, URLs
//! and secrets are stored sealed and never shown again, only "configured"; the
//! webhook's secret is shown once, on the page that answers its creation.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::Permission;
use genkan_store::channels::NotificationPolicy;
use serde::Deserialize;
use serde_json::Value;

use crate::channels::{self, Problem};
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/notifications", get(page))
        .route("/settings/notifications/policy", post(save_policy))
        .route("/settings/notifications/{channel}", post(save_channel))
        .route(
            "/settings/notifications/{channel}/clear",
            post(clear_channel),
        )
}

#[derive(Template)]
#[template(path = "web/settings/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    policy: NotificationPolicy,
    hour: String,
    minutes: String,
    configured: Vec<String>,
    new_secret: Option<String>,
    errors: FormErrors,
}

impl NotificationsPage {
    fn has(&self, channel: &str) -> bool {
        self.configured.iter().any(|c| c == channel)
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

struct Shown {
    policy: Option<(NotificationPolicy, String, String)>,
    new_secret: Option<String>,
    errors: FormErrors,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    shown: Shown,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let stored = state.store.notification_policy(tenant).await?;
    let (policy, hour, minutes) = shown.policy.unwrap_or((
        stored,
        stored.reminder_hour.to_string(),
        stored.no_show_minutes.to_string(),
    ));
    let page = NotificationsPage {
        layout: Layout::new(state, user, "notify.title", "settings")
            .await?
            .with_notice(notice),
        policy,
        hour,
        minutes,
        configured: state.store.configured_channels(tenant).await?,
        new_secret: shown.new_secret,
        errors: shown.errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let shown = Shown {
        policy: None,
        new_secret: None,
        errors: FormErrors::none(),
    };
    render(&state, &user, shown, q.notice.as_deref(), StatusCode::OK).await
}

async fn refused(state: &AppState, form: &WebForm, p: &Problem) -> PageResult<Response> {
    let mut errors = FormErrors::none();
    errors.add(&form.user.t, p.field, p.code, &p.message);
    let shown = Shown {
        policy: None,
        new_secret: None,
        errors,
    };
    render(
        state,
        &form.user,
        shown,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn save_policy(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let reminder = form.checked("reminder_enabled");
    match channels::policy(
        reminder,
        form.get("reminder_hour"),
        form.get("no_show_minutes"),
    ) {
        Ok(p) => {
            state
                .store
                .set_notification_policy(form.user.session.tenant_id, p, form.user.ctx.clone())
                .await?;
            Ok(Redirect::to("/settings/notifications?notice=saved").into_response())
        }
        Err(p) => {
            let mut errors = FormErrors::none();
            errors.add(&form.user.t, p.field, p.code, &p.message);
            let stored = state
                .store
                .notification_policy(form.user.session.tenant_id)
                .await?;
            let take = |k: &str| form.get(k).chars().take(10).collect::<String>();
            let shown = Shown {
                policy: Some((
                    NotificationPolicy {
                        reminder_enabled: reminder,
                        ..stored
                    },
                    take("reminder_hour"),
                    take("no_show_minutes"),
                )),
                new_secret: None,
                errors,
            };
            render(
                &state,
                &form.user,
                shown,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

fn channel_key(name: &str) -> Option<&'static str> {
    genkan_store::channels::CHANNEL_KEYS
        .iter()
        .copied()
        .find(|k| k.replace('_', "-") == name || *k == name)
}

async fn save_channel(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let key = channel_key(&name).ok_or(PageError::NotFound)?;
    let private = state.config.outbound.allow_private_networks;
    let checked: Result<(Value, Option<String>), Problem> = match key {
        "slack_bot" => channels::slack_bot(form.get("bot_token"), form.get("signing_secret"))
            .map(|v| (v, None)),
        "teams" => channels::teams(form.get("teams_url"), private)
            .await
            .map(|v| (v, None)),
        "chatwork" => channels::chatwork(form.get("chatwork_token"), form.get("chatwork_room"))
            .map(|v| (v, None)),
        _ => channels::webhook(form.get("webhook_url"), private)
            .await
            .map(|(v, s)| (v, Some(s))),
    };
    match checked {
        Ok((value, secret)) => {
            state
                .store
                .set_channel(
                    form.user.session.tenant_id,
                    key,
                    Some(value),
                    form.user.ctx.clone(),
                )
                .await?;
            match secret {
                // Shown once, in this answer only (never in a URL or a redirect).
                Some(secret) => {
                    let shown = Shown {
                        policy: None,
                        new_secret: Some(secret),
                        errors: FormErrors::none(),
                    };
                    render(&state, &form.user, shown, Some("saved"), StatusCode::OK).await
                }
                None => Ok(Redirect::to("/settings/notifications?notice=saved").into_response()),
            }
        }
        Err(p) => refused(&state, &form, &p).await,
    }
}

async fn clear_channel(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let key = channel_key(&name).ok_or(PageError::NotFound)?;
    state
        .store
        .set_channel(
            form.user.session.tenant_id,
            key,
            None,
            form.user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to("/settings/notifications?notice=saved").into_response())
}
