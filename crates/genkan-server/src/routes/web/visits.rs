//! Visit history (filters, page by page) and one visit with its alert deliveries.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use genkan_core::access::{Permission, Visibility};
use genkan_core::id::{KioskId, SiteId, UserId, VisitId};
use genkan_core::tenant::TimeZone;
use genkan_store::history::VisitFilter;
use serde::Deserialize;

use super::appointment_form::Choice;
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::WebUser;
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/visits", get(history))
        .route("/visits/{id}", get(detail))
}

/// Rows per page.
pub const PAGE: u32 = 50;

/// The history query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryQuery {
    /// First local date.
    #[serde(default)]
    pub from: String,
    /// Last local date.
    #[serde(default)]
    pub to: String,
    /// Site id.
    #[serde(default)]
    pub site: String,
    /// Host id.
    #[serde(default)]
    pub host: String,
    /// Kiosk (device) id.
    #[serde(default)]
    pub kiosk: String,
    /// Status.
    #[serde(default)]
    pub status: String,
    /// Visitor name part.
    #[serde(default)]
    pub visitor: String,
    /// Company part.
    #[serde(default)]
    pub company: String,
    /// Cursor: arrival of the last row shown.
    #[serde(default)]
    pub after: String,
    /// Cursor: id of the last row shown.
    #[serde(default)]
    pub after_id: String,
}

struct Row {
    id: i64,
    arrived: String,
    left: String,
    visitor: String,
    company: String,
    host: String,
    site: String,
    method: String,
    status: String,
    status_label: String,
}

#[derive(Template)]
#[template(path = "web/visits.html")]
struct HistoryPage {
    layout: Layout,
    q: HistoryQuery,
    sites: Vec<Choice>,
    hosts: Vec<Choice>,
    kiosks: Vec<Choice>,
    pick_host: bool,
    rows: Vec<Row>,
    next: Option<String>,
}

/// Builds the store filter from the query (bad values are simply ignored).
pub fn filter_of(q: &HistoryQuery, zone: TimeZone, today: chrono::NaiveDate) -> VisitFilter {
    let from = time::parse_date(&q.from).unwrap_or(today - Duration::days(30));
    let to = time::parse_date(&q.to)
        .filter(|t| *t >= from)
        .unwrap_or(today);
    let (start, end) = zone.days_window(from, to);
    let after = DateTime::parse_from_rfc3339(&q.after)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .zip(q.after_id.parse::<i64>().ok().map(VisitId));
    VisitFilter {
        from: Some(start),
        until: Some(end),
        site: q.site.parse().ok().map(SiteId),
        host: q.host.parse().ok().map(UserId),
        kiosk: q.kiosk.parse().ok().map(KioskId),
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        visitor: Some(q.visitor.clone()).filter(|s| !s.trim().is_empty()),
        company: Some(q.company.clone()).filter(|s| !s.trim().is_empty()),
        after,
        limit: PAGE + 1,
    }
}

async fn history(
    State(state): State<AppState>,
    user: WebUser,
    Query(mut q): Query<HistoryQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewVisits)?;
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let today = zone.local_date(state.clock.now());
    let filter = filter_of(&q, zone, today);
    if q.from.is_empty() {
        q.from = (today - Duration::days(30)).to_string();
    }
    if q.to.is_empty() {
        q.to = today.to_string();
    }
    let mut found = state
        .store
        .visit_history(tenant, user.principal.visibility(), filter)
        .await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let next = more.then(|| found.last()).flatten().map(|last| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", &q.from),
            ("to", &q.to),
            ("site", &q.site),
            ("host", &q.host),
            ("kiosk", &q.kiosk),
            ("status", &q.status),
            ("visitor", &q.visitor),
            ("company", &q.company),
        ] {
            if !v.is_empty() {
                params.append_pair(k, v);
            }
        }
        params.append_pair("after", &last.checked_in_at.to_rfc3339());
        params.append_pair("after_id", &last.id.to_string());
        format!("/visits?{}", params.finish())
    });
    let t = user.t;
    let rows = found
        .iter()
        .map(|v| {
            let z = TimeZone::parse(&v.time_zone).unwrap_or(zone);
            Row {
                id: v.id.get(),
                arrived: time::human(v.checked_in_at, z),
                left: v
                    .checked_out_at
                    .map(|t| time::human(t, z))
                    .unwrap_or_default(),
                visitor: v.visitor_name.clone(),
                company: v.visitor_company.clone().unwrap_or_default(),
                host: v.host_name.clone(),
                site: v.site_name.clone(),
                method: t.get(&format!("method.{}", v.method)).to_owned(),
                status: v.status.clone(),
                status_label: t.get(&format!("state.{}", v.status)).to_owned(),
            }
        })
        .collect();
    let sites = state
        .store
        .sites(tenant)
        .await?
        .into_iter()
        .map(|s| Choice {
            id: s.id.get(),
            label: s.name.to_string(),
        })
        .collect();
    let pick_host = matches!(user.principal.visibility(), Visibility::Tenant);
    let hosts = if pick_host {
        state
            .store
            .users(tenant)
            .await?
            .into_iter()
            .map(|u| Choice {
                id: u.id.get(),
                label: u.display_name,
            })
            .collect()
    } else {
        Vec::new()
    };
    // Hosts see only their own visitors: which device took them adds nothing there.
    let kiosks = if pick_host {
        state
            .store
            .kiosks(tenant)
            .await?
            .into_iter()
            .map(|k| Choice {
                id: k.id.get(),
                label: format!("{} ({})", k.name, k.site_name),
            })
            .collect()
    } else {
        Vec::new()
    };
    let layout = Layout::new(&state, &user, "visits.title", "visits").await?;
    Ok(Html(
        HistoryPage {
            layout,
            q,
            sites,
            hosts,
            kiosks,
            pick_host,
            rows,
            next,
        }
        .render()?,
    )
    .into_response())
}

struct LedgerLine {
    kind: String,
    channel_key: String,
    status_key: String,
    recipient: String,
    status: String,
    attempts: u32,
    last_error: String,
    sent: String,
}

#[derive(Template)]
#[template(path = "web/visit.html")]
struct DetailPage {
    layout: Layout,
    visitor: String,
    company: String,
    host: String,
    site: String,
    arrived: String,
    left: String,
    method: String,
    status: String,
    status_label: String,
    appointment_id: Option<i64>,
    ledger: Vec<LedgerLine>,
}

async fn detail(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
) -> PageResult<Response> {
    user.require(Permission::ViewVisits)?;
    let tenant = user.session.tenant_id;
    let v = state
        .store
        .visit(tenant, user.principal.visibility(), VisitId(id))
        .await?;
    let zone = TimeZone::parse(&v.time_zone).unwrap_or_default();
    let ledger = state.store.ledger(tenant, None, Some(v.id)).await?;
    let t = user.t;
    let layout = Layout::new(&state, &user, "visits.detail", "visits").await?;
    let page = DetailPage {
        layout,
        visitor: v.visitor_name.clone(),
        company: v.visitor_company.clone().unwrap_or_default(),
        host: v.host_name.clone(),
        site: v.site_name.clone(),
        arrived: time::human(v.checked_in_at, zone),
        left: v
            .checked_out_at
            .map(|t| time::human(t, zone))
            .unwrap_or_default(),
        method: t.get(&format!("method.{}", v.method)).to_owned(),
        status_label: t.get(&format!("state.{}", v.status)).to_owned(),
        status: v.status.clone(),
        appointment_id: v.appointment_id,
        ledger: ledger
            .into_iter()
            .map(|l| LedgerLine {
                kind: t.get(&format!("message.{}", l.kind)).to_owned(),
                channel_key: format!("channel.{}", l.channel),

                status_key: format!("delivery.{}", l.status),
                recipient: l.recipient,
                status: l.status,
                attempts: l.attempts,
                last_error: l.last_error.unwrap_or_default(),
                sent: l.sent_at.map(|s| time::human(s, zone)).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}
