//! The dashboard: today's expected visitors, who is on site, who has left, and the
//! delivery counts; refreshed live by polling `/dashboard/live`.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use genkan_core::access::Permission;
use genkan_core::notification::DeliveryStatus;
use genkan_core::tenant::TimeZone;
use genkan_store::Today;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::page::Layout;
use crate::web::session::WebUser;
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/live", get(live))
}

/// One row as shown (times already formatted in the site's zone).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Link to the detail page.
    pub href: String,
    /// Visitor's name.
    pub name: String,
    /// Company.
    pub company: String,
    /// Host.
    pub host: String,
    /// Site.
    pub site: String,
    /// Time (with offset).
    pub time: String,
    /// State key (`expected`, `inside`, `checked_out`).
    pub state: String,
    /// State label in the user's language.
    pub state_label: String,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    /// Expected today.
    pub expected: Vec<Row>,
    /// On site now.
    pub inside: Vec<Row>,
    /// Left today.
    pub departed: Vec<Row>,
    /// Messages waiting.
    pub queued: u64,
    /// Messages that failed for good.
    pub dead: u64,
    /// Messages queued today that reached their channel (sent, delivered or acknowledged).
    pub delivered_today: u64,
    /// Arrival alerts of today the host replied to.
    pub acknowledged_today: u64,
}

async fn board(state: &AppState, user: &WebUser) -> PageResult<Board> {
    let tenant = user.session.tenant_id;
    let settings = state.store.tenant_settings(tenant).await?;
    let zone = settings.time_zone;
    let today = zone.local_date(state.clock.now());
    let (from, until) = zone.days_window(today, today);
    let Today {
        expected,
        inside,
        departed,
    } = state
        .store
        .today(tenant, user.principal.visibility(), from, until)
        .await?;
    let t = user.t;
    let label = |s: &str| t.get(&format!("state.{s}")).to_owned();
    let zone_of = |name: &str| TimeZone::parse(name).unwrap_or(zone);
    let visit_row = |v: &genkan_store::visits::VisitView, at: chrono::DateTime<chrono::Utc>| Row {
        href: format!("/visits/{}", v.id),
        name: v.visitor_name.clone(),
        company: v.visitor_company.clone().unwrap_or_default(),
        host: v.host_name.clone(),
        site: v.site_name.clone(),
        time: time::human(at, zone_of(&v.time_zone)),
        state: v.status.clone(),
        state_label: label(&v.status),
    };
    let (queued, dead) = if user.principal.may(Permission::Administer) {
        let counts = state.store.outbox_counts(Some(tenant)).await?;
        let get = |s: DeliveryStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
        (
            get(DeliveryStatus::Queued) + get(DeliveryStatus::Sending),
            get(DeliveryStatus::Dead),
        )
    } else {
        (0, 0)
    };
    let (delivered_today, acknowledged_today) = if user.principal.may(Permission::Administer) {
        let counts = state.store.outbox_counts_since(tenant, from).await?;
        let get = |s: DeliveryStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
        (
            get(DeliveryStatus::Sent)
                + get(DeliveryStatus::Delivered)
                + get(DeliveryStatus::Acknowledged),
            get(DeliveryStatus::Acknowledged),
        )
    } else {
        (0, 0)
    };
    Ok(Board {
        expected: expected
            .iter()
            .map(|e| Row {
                href: format!("/appointments/{}", e.appointment_id),
                name: e.visitor_name.clone(),
                company: e.company.clone().unwrap_or_default(),
                host: e.host_name.clone(),
                site: e.site_name.clone(),
                time: time::human(e.starts_at, zone_of(&e.time_zone)),
                state: e.state.clone(),
                state_label: label(&e.state),
            })
            .collect(),
        inside: inside
            .iter()
            .map(|v| visit_row(v, v.checked_in_at))
            .collect(),
        departed: departed
            .iter()
            .map(|v| visit_row(v, v.checked_out_at.unwrap_or(v.checked_in_at)))
            .collect(),
        queued,
        dead,
        delivered_today,
        acknowledged_today,
    })
}

#[derive(Template)]
#[template(path = "web/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    board: Board,
    today: String,
}

#[derive(Deserialize)]
struct DashboardQuery {
    notice: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<DashboardQuery>,
) -> PageResult<Response> {
    let mut layout = Layout::new(&state, &user, "dashboard.title", "dashboard")
        .await?
        .with_notice(q.notice.as_deref());
    let board = board(&state, &user).await?;
    let zone = state
        .store
        .tenant_settings(user.session.tenant_id)
        .await?
        .time_zone;
    if q.notice.as_deref() == Some("signed_in")
        && let Some(text) = sign_in_notice(&state, &user, zone).await?
    {
        layout.notice = Some(text);
    }
    let today = time::date(state.clock.now(), zone);
    Ok(Html(
        DashboardPage {
            layout,
            board,
            today,
        }
        .render()?,
    )
    .into_response())
}

/// "Signed in. Previous sign-in: … from …; failed attempts since then: n", from
/// what was recorded on this session when it started.
async fn sign_in_notice(
    state: &AppState,
    user: &WebUser,
    zone: TimeZone,
) -> PageResult<Option<String>> {
    let Some(n) = state.store.sign_in_notice(user.session.id_hash).await? else {
        return Ok(None);
    };
    let t = user.t;
    let previous = match n.previous_at {
        Some(at) => t.fill(
            "dashboard.previous_sign_in",
            &[
                ("at", &zone.format(at)),
                ("ip", n.previous_ip.as_deref().unwrap_or("?")),
            ],
        ),
        None => t.get("dashboard.first_sign_in").to_owned(),
    };
    let failures = t.fill(
        "dashboard.failures_since",
        &[("count", &n.failures_since.to_string())],
    );
    Ok(Some(format!(
        "{} {previous} {failures}",
        t.get("notice.signed_in")
    )))
}

async fn live(State(state): State<AppState>, user: WebUser) -> PageResult<Json<Board>> {
    Ok(Json(board(&state, &user).await?))
}
