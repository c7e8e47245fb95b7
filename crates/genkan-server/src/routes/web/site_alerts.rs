//! A site's reception contacts (admins): e-mail addresses and a Slack channel
//! alerted on every arrival at the site, and the site's own Slack webhook (used
//! instead of the tenant's; stored sealed, never shown again).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::Permission;
use genkan_core::id::SiteId;
use genkan_core::text::EmailAddress;
use serde::Deserialize;

use crate::channels;
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::{WebForm, WebUser};

/// Most contacts per site.
const MAX_CONTACTS: usize = 20;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sites/{id}/alerts", get(page).post(save))
        .route("/sites/{id}/alerts/slack", post(set_webhook))
        .route("/sites/{id}/alerts/slack/clear", post(clear_webhook))
}

#[derive(Template)]
#[template(path = "web/sites/alerts.html")]
struct AlertsPage {
    layout: Layout,
    id: i64,
    site: String,
    emails: String,
    slack_channel: String,
    webhook: bool,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    id: i64,
    shown: Option<(String, String)>,
    errors: FormErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let site = state.store.site(tenant, SiteId(id)).await?;
    let alerts = state.store.site_alerts(tenant, SiteId(id)).await?;
    let (emails, slack_channel) = shown.unwrap_or((alerts.emails, alerts.slack_channel));
    let page = AlertsPage {
        layout: Layout::new(state, user, "notify.site_alerts", "sites")
            .await?
            .with_notice(notice),
        id,
        site: site.name.as_str().to_owned(),
        emails,
        slack_channel,
        webhook: alerts.slack_webhook_configured,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    render(
        &state,
        &user,
        id,
        None,
        FormErrors::none(),
        q.notice.as_deref(),
        StatusCode::OK,
    )
    .await
}

async fn save(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let mut errors = FormErrors::none();
    let raw = form.get("alert_emails");
    let mut emails = Vec::new();
    for entry in genkan_store::alerts::parse_contacts(raw) {
        match EmailAddress::parse(&entry) {
            Ok(e) if !emails.contains(&e.as_str().to_owned()) => emails.push(e.as_str().to_owned()),
            Ok(_) => {}
            Err(_) => errors.add(
                &t,
                "alert_emails",
                "contact_invalid",
                "one e-mail address per line",
            ),
        }
    }
    if emails.len() > MAX_CONTACTS {
        errors.add(
            &t,
            "alert_emails",
            "contacts_too_many",
            "at most 20 addresses",
        );
    }
    let channel = match channels::slack_channel(form.get("alert_slack_channel")) {
        Ok(c) => c,
        Err(p) => {
            errors.add(&t, "alert_slack_channel", p.code, &p.message);
            String::new()
        }
    };
    if !errors.is_empty() {
        let shown = (
            raw.chars().take(4000).collect(),
            form.get("alert_slack_channel").chars().take(100).collect(),
        );
        return render(
            &state,
            user,
            id,
            Some(shown),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state
        .store
        .set_site_alerts(
            user.session.tenant_id,
            SiteId(id),
            emails,
            channel,
            user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to(&format!("/sites/{id}/alerts?notice=saved")).into_response())
}

async fn set_webhook(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    match channels::check_url(
        "site_slack_url",
        form.get("site_slack_url"),
        state.config.outbound.allow_private_networks,
    )
    .await
    {
        Ok(url) => {
            state
                .store
                .set_site_slack_webhook(
                    user.session.tenant_id,
                    SiteId(id),
                    Some(url),
                    user.ctx.clone(),
                )
                .await?;
            Ok(Redirect::to(&format!("/sites/{id}/alerts?notice=saved")).into_response())
        }
        Err(p) => {
            let mut errors = FormErrors::none();
            errors.add(&user.t, p.field, p.code, &p.message);
            render(
                &state,
                user,
                id,
                None,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn clear_webhook(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    state
        .store
        .set_site_slack_webhook(user.session.tenant_id, SiteId(id), None, user.ctx.clone())
        .await?;
    Ok(Redirect::to(&format!("/sites/{id}/alerts?notice=saved")).into_response())
}
