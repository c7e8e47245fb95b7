//! The audit log (admins only): search by person, kiosk, action and date, newest first,
//! paged by key; CSV export (POSTed with the CSRF token, and itself audited). There
//! is no way to change or delete a row, here or anywhere else.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use genkan_core::access::Permission;
use genkan_core::audit::Outcome;
use genkan_core::id::{KioskId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_store::audit_search::{AuditCursor, AuditFilter, AuditRow};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::web::csv::download;
use crate::web::error::PageResult;
use crate::web::page::Layout;
use crate::web::session::{ReadForm, WebForm, WebUser};
use crate::web::time;

/// Rows per page.
const PAGE: u32 = 50;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(page))
        .route("/audit/export.csv", post(export))
}

/// The search as typed (kept as text so the form shows it back).
#[derive(Debug, Clone, Default, Deserialize)]
struct Search {
    #[serde(default)]
    person: String,
    #[serde(default)]
    kiosk: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Key of the last row of the previous page: `<unix micros>.<id>`.
    #[serde(default)]
    after: String,
}

impl Search {
    fn of_form(form: &WebForm) -> Self {
        Self {
            person: form.get("person").to_owned(),
            kiosk: form.get("kiosk").to_owned(),
            action: form.get("action").to_owned(),
            from: form.get("from").to_owned(),
            to: form.get("to").to_owned(),
            after: String::new(),
        }
    }

    /// The store filter: dates are local days of the tenant's zone.
    fn filter(&self, zone: TimeZone) -> AuditFilter {
        let from = time::parse_date(&self.from);
        let to = time::parse_date(&self.to);
        AuditFilter {
            person: self.person.trim().parse::<i64>().ok().map(UserId),
            kiosk: self.kiosk.trim().parse::<i64>().ok().map(KioskId),
            action: Some(self.action.trim().chars().take(60).collect::<String>())
                .filter(|a| !a.is_empty()),
            from: from.map(|d| zone.start_of_day(d)),
            until: to.map(|d| zone.days_window(d, d).1),
        }
    }

    fn cursor(&self) -> Option<AuditCursor> {
        let (micros, id) = self.after.split_once('.')?;
        let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        Some((at, id.parse().ok()?))
    }

    fn query_string(&self, after: &AuditRow) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("person", &self.person)
            .append_pair("kiosk", &self.kiosk)
            .append_pair("action", &self.action)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .append_pair(
                "after",
                &format!("{}.{}", after.at.timestamp_micros(), after.id),
            )
            .finish()
    }
}

/// A row as shown.
struct Line {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    ip: String,
    request_id: String,
    details: String,
}

fn actor_of(r: &AuditRow) -> String {
    match (&r.actor_name, r.actor_id) {
        (Some(name), Some(id)) => format!("{name} ({} {id})", r.actor_kind),
        (None, Some(id)) => format!("{} {id}", r.actor_kind),
        _ => r.actor_kind.clone(),
    }
}

fn target_of(r: &AuditRow) -> String {
    match &r.target_id {
        Some(id) => format!("{} {id}", r.target_kind),
        None => r.target_kind.clone(),
    }
}

/// A choice in a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "web/audit/list.html")]
struct AuditPage {
    layout: Layout,
    q: Search,
    people: Vec<Choice>,
    kiosks: Vec<Choice>,
    actions: Vec<Choice>,
    rows: Vec<Line>,
    next: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<Search>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let mut found = state
        .store
        .audit_page(tenant, q.filter(zone), q.cursor(), PAGE + 1)
        .await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let next = more
        .then(|| found.last())
        .flatten()
        .map(|last| format!("/audit?{}", q.query_string(last)));
    let rows = found
        .iter()
        .map(|r| Line {
            id: r.id,
            at: zone.format(r.at),
            actor: actor_of(r),
            action: r.action.clone(),
            target: target_of(r),
            outcome: r.outcome.clone(),
            ip: r.ip.clone().unwrap_or_default(),
            request_id: r.request_id.clone().unwrap_or_default(),
            details: r.details.clone(),
        })
        .collect();
    let people = state
        .store
        .users(tenant)
        .await?
        .into_iter()
        .map(|u| Choice {
            selected: q.person == u.id.to_string(),
            value: u.id.to_string(),
            label: format!("{} <{}>", u.display_name, u.email),
        })
        .collect();
    let kiosks = state
        .store
        .kiosks(tenant)
        .await?
        .into_iter()
        .map(|k| Choice {
            selected: q.kiosk == k.id.to_string(),
            value: k.id.to_string(),
            label: format!("{} ({}, #{})", k.name, k.site_name, k.id),
        })
        .collect();
    let actions = state
        .store
        .audit_actions(tenant)
        .await?
        .into_iter()
        .map(|a| Choice {
            selected: q.action == a,
            label: a.clone(),
            value: a,
        })
        .collect();
    let page = AuditPage {
        layout: Layout::new(&state, &user, "audit.title", "audit").await?,
        q,
        people,
        kiosks,
        actions,
        rows,
        next,
    };
    Ok(Html(page.render()?).into_response())
}

/// The matching rows as CSV (times in the tenant's zone with their offset).
async fn export(State(state): State<AppState>, ReadForm(form): ReadForm) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let user = form.user.clone();
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let search = Search::of_form(&form);
    let filter = search.filter(zone);
    state
        .store
        .record_audit(
            user.ctx.clone(),
            "export.csv",
            "export",
            Some("audit".to_owned()),
            Outcome::Ok,
            json!({
                "person": filter.person,
                "kiosk": filter.kiosk,
                "action": filter.action,
                "from": filter.from,
                "until": filter.until,
            }),
        )
        .await?;
    let store = state.store.clone();
    let header = [
        "id",
        "time",
        "actor_kind",
        "actor_id",
        "actor_name",
        "action",
        "target_kind",
        "target_id",
        "outcome",
        "ip",
        "request_id",
        "details",
    ];
    Ok(download("audit.csv", &header, move |sink| async move {
        let rows = sink.clone();
        let result = store
            .each_audit_row(tenant, filter, move |r| {
                rows.row(&[
                    &r.id.to_string(),
                    &zone.format(r.at),
                    &r.actor_kind,
                    &r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
                    r.actor_name.as_deref().unwrap_or_default(),
                    &r.action,
                    &r.target_kind,
                    r.target_id.as_deref().unwrap_or_default(),
                    &r.outcome,
                    r.ip.as_deref().unwrap_or_default(),
                    r.request_id.as_deref().unwrap_or_default(),
                    &r.details,
                ])
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "audit export failed");
        }
        sink.finish().await;
    }))
}
