//! Data and privacy (admins only): how long visitor details are kept (anonymised
//! afterwards by the lifecycle job), and erasing one visitor on request.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::Permission;
use genkan_core::id::VisitorId;
use genkan_store::privacy::VisitorMatch;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(page))
        .route("/privacy/retention", post(set_retention))
        .route("/privacy/visitors/{id}/erase", post(erase))
}

#[derive(Deserialize)]
struct PageQuery {
    notice: Option<String>,
    q: Option<String>,
}

/// A visitor as listed.
struct Row {
    id: i64,
    name: String,
    company: String,
    email: String,
    starts_at: String,
    visits: i64,
    anonymised: bool,
}

#[derive(Template)]
#[template(path = "web/privacy.html")]
struct PrivacyPage {
    layout: Layout,
    retention_days: String,
    invalid_days: bool,
    query: String,
    searched: bool,
    visitors: Vec<Row>,
}

fn row(v: VisitorMatch, zone: genkan_core::tenant::TimeZone) -> Row {
    Row {
        id: v.id.get(),
        name: v.name,
        company: v.company,
        email: v.email,
        starts_at: zone.format_human(v.starts_at),
        visits: v.visits,
        anonymised: v.anonymised,
    }
}

async fn render(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    query: &str,
    retention: Option<String>,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let invalid_days = retention.is_some();
    let retention_days = match retention {
        Some(typed) => typed,
        None => state
            .store
            .visitor_retention(tenant)
            .await?
            .map(|d| d.to_string())
            .unwrap_or_default(),
    };
    let query = query.trim();
    let visitors = if query.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .find_visitors(tenant, query.to_owned())
            .await?
            .into_iter()
            .map(|v| row(v, zone))
            .collect()
    };
    let page = PrivacyPage {
        layout: Layout::new(state, user, "ops.privacy_title", "privacy")
            .await?
            .with_notice(notice),
        retention_days,
        invalid_days,
        query: query.to_owned(),
        searched: !query.is_empty(),
        visitors,
    };
    Ok(Html(page.render()?).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    render(
        &state,
        &user,
        q.notice.as_deref(),
        q.q.as_deref().unwrap_or(""),
        None,
    )
    .await
}

async fn set_retention(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let typed = form.get("days").trim().to_owned();
    let days = if typed.is_empty() {
        None
    } else {
        match typed.parse::<u32>() {
            Ok(d) if (1..=3650).contains(&d) => Some(d),
            _ => return render(&state, &form.user, None, "", Some(typed)).await,
        }
    };
    state
        .store
        .set_visitor_retention(form.user.session.tenant_id, days, form.user.ctx.clone())
        .await?;
    Ok(Redirect::to("/privacy?notice=saved").into_response())
}

async fn erase(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    state
        .store
        .erase_visitor(
            form.user.session.tenant_id,
            VisitorId(id),
            form.user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to("/privacy?notice=erased").into_response())
}
