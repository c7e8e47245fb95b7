//! CSV exports of visits, appointments and users. Downloads are POSTed (with the CSRF
//! token) because each export is recorded in the audit log; hosts export only their
//! own visits and appointments, users only administrators.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use genkan_core::access::Permission;
use genkan_core::audit::Outcome;
use genkan_core::tenant::TimeZone;
use serde_json::json;

use crate::state::AppState;
use crate::web::csv::download;
use crate::web::error::{PageError, PageResult};
use crate::web::page::Layout;
use crate::web::session::{ReadForm, WebForm, WebUser};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/exports", get(page))
        .route("/exports/visits.csv", post(visits))
        .route("/exports/appointments.csv", post(appointments))
        .route("/exports/users.csv", post(users))
}

#[derive(Template)]
#[template(path = "web/exports.html")]
struct ExportsPage {
    layout: Layout,
    from: String,
    to: String,
}

async fn page(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::ViewVisits)?;
    let zone = state
        .store
        .tenant_settings(user.session.tenant_id)
        .await?
        .time_zone;
    let today = zone.local_date(state.clock.now());
    let layout = Layout::new(&state, &user, "exports.title", "exports").await?;
    let page = ExportsPage {
        layout,
        from: (today - Duration::days(30)).to_string(),
        to: today.to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The requested local date range in the tenant's zone, at most ten years.
async fn range(
    state: &AppState,
    form: &WebForm,
) -> PageResult<(
    TimeZone,
    String,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
)> {
    let zone = state
        .store
        .tenant_settings(form.user.session.tenant_id)
        .await?
        .time_zone;
    let today = zone.local_date(state.clock.now());
    let from = time::parse_date(form.get("from")).unwrap_or(today - Duration::days(30));
    let to = time::parse_date(form.get("to"))
        .filter(|t| *t >= from && (*t - from).num_days() <= 3660)
        .unwrap_or(today);
    let (start, end) = zone.days_window(from, to);
    Ok((
        zone,
        format!("{}-{}", from.format("%Y%m%d"), to.format("%Y%m%d")),
        start,
        end,
    ))
}

async fn audit_export(
    state: &AppState,
    user: &WebUser,
    what: &str,
    details: serde_json::Value,
) -> PageResult<()> {
    state
        .store
        .record_audit(
            user.ctx.clone(),
            "export.csv",
            "export",
            Some(what.to_owned()),
            Outcome::Ok,
            details,
        )
        .await?;
    Ok(())
}

fn iso(at: chrono::DateTime<chrono::Utc>, zone: TimeZone) -> String {
    zone.format(at)
}

async fn visits(State(state): State<AppState>, ReadForm(form): ReadForm) -> PageResult<Response> {
    form.user.require(Permission::ViewVisits)?;
    let (zone, label, start, end) = range(&state, &form).await?;
    let user = form.user;
    audit_export(
        &state,
        &user,
        "visits",
        json!({"from": start, "until": end}),
    )
    .await?;
    let store = state.store.clone();
    let tenant = user.session.tenant_id;
    let visibility = user.principal.visibility();
    let header = [
        "visit_id",
        "site",
        "visitor",
        "company",
        "host",
        "method",
        "status",
        "checked_in_at",
        "checked_out_at",
    ];
    Ok(download(
        &format!("visits-{label}.csv"),
        &header,
        move |sink| async move {
            let rows = sink.clone();
            let result = store
                .each_visit(tenant, visibility, start, end, move |v| {
                    let z = TimeZone::parse(&v.time_zone).unwrap_or(zone);
                    let out = v.checked_out_at.map(|t| iso(t, z)).unwrap_or_default();
                    rows.row(&[
                        &v.id.to_string(),
                        &v.site,
                        &v.visitor,
                        &v.company,
                        &v.host,
                        &v.method,
                        &v.status,
                        &iso(v.checked_in_at, z),
                        &out,
                    ])
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "visit export failed");
            }
            sink.finish().await;
        },
    ))
}

async fn appointments(
    State(state): State<AppState>,
    ReadForm(form): ReadForm,
) -> PageResult<Response> {
    form.user.require(Permission::ViewAppointments)?;
    let (zone, label, start, end) = range(&state, &form).await?;
    let user = form.user;
    audit_export(
        &state,
        &user,
        "appointments",
        json!({"from": start, "until": end}),
    )
    .await?;
    let store = state.store.clone();
    let tenant = user.session.tenant_id;
    let visibility = user.principal.visibility();
    let header = [
        "appointment_id",
        "site",
        "host",
        "title",
        "starts_at",
        "ends_at",
        "status",
        "visitors",
    ];
    Ok(download(
        &format!("appointments-{label}.csv"),
        &header,
        move |sink| async move {
            let rows = sink.clone();
            let result = store
                .each_appointment(tenant, visibility, start, end, move |a| {
                    let z = TimeZone::parse(&a.time_zone).unwrap_or(zone);
                    rows.row(&[
                        &a.id.to_string(),
                        &a.site,
                        &a.host,
                        &a.title,
                        &iso(a.starts_at, z),
                        &iso(a.ends_at, z),
                        &a.status,
                        &a.visitors,
                    ])
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "appointment export failed");
            }
            sink.finish().await;
        },
    ))
}

async fn users(State(state): State<AppState>, ReadForm(form): ReadForm) -> PageResult<Response> {
    if !form.user.principal.may(Permission::Administer) {
        return Err(PageError::Forbidden);
    }
    let zone = state
        .store
        .tenant_settings(form.user.session.tenant_id)
        .await?
        .time_zone;
    let user = form.user;
    audit_export(&state, &user, "users", json!({})).await?;
    let store = state.store.clone();
    let tenant = user.session.tenant_id;
    let header = [
        "user_id",
        "email",
        "display_name",
        "role",
        "status",
        "created_at",
        "last_sign_in_at",
    ];
    Ok(download("users.csv", &header, move |sink| async move {
        let rows = sink.clone();
        let result = store
            .each_user(tenant, move |u| {
                let last = u.last_sign_in_at.map(|t| iso(t, zone)).unwrap_or_default();
                rows.row(&[
                    &u.id.to_string(),
                    &u.email,
                    &u.name,
                    &u.role,
                    &u.status,
                    &iso(u.created_at, zone),
                    &last,
                ])
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "user export failed");
        }
        sink.finish().await;
    }))
}
