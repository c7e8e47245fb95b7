//! The front desk: who is on site (check out by hand), who is expected (check in by
//! hand), walk-ins, and the printable muster list for evacuations.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::Permission;
use genkan_core::appointment::{VisitorInput, validate_visitor};
use genkan_core::id::{SiteId, UserId, VisitId, VisitorId};
use genkan_core::tenant::TimeZone;
use genkan_core::wire::v1::ErrorCode;
use serde::Deserialize;

use super::appointment_form::Choice;
use crate::error::message_of;
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/onsite", get(page))
        .route("/onsite/muster", get(muster))
        .route("/onsite/check-in/{visitor}", post(check_in))
        .route("/onsite/check-out/{visit}", post(check_out))
        .route("/onsite/walk-in", post(walk_in))
}

struct Line {
    id: i64,
    name: String,
    company: String,
    host: String,
    site: String,
    time: String,
}

#[derive(Template)]
#[template(path = "web/onsite.html")]
struct OnsitePage {
    layout: Layout,
    inside: Vec<Line>,
    expected: Vec<Line>,
    sites: Vec<Choice>,
    hosts: Vec<Choice>,
    problem: Option<String>,
    errors: FormErrors,
    walk_name: String,
    walk_company: String,
    walk_site: i64,
    walk_host: i64,
}

#[derive(Deserialize)]
struct OnsiteQuery {
    notice: Option<String>,
}

#[derive(Default)]
struct WalkIn {
    problem: Option<String>,
    errors: FormErrors,
    name: String,
    company: String,
    site: i64,
    host: i64,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    walk: WalkIn,
    status: StatusCode,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let today = zone.local_date(state.clock.now());
    let (from, until) = zone.days_window(today, today);
    let board = state
        .store
        .today(tenant, user.principal.visibility(), from, until)
        .await?;
    let zone_of = |n: &str| TimeZone::parse(n).unwrap_or(zone);
    let inside = board
        .inside
        .iter()
        .map(|v| Line {
            id: v.id.get(),
            name: v.visitor_name.clone(),
            company: v.visitor_company.clone().unwrap_or_default(),
            host: v.host_name.clone(),
            site: v.site_name.clone(),
            time: time::human(v.checked_in_at, zone_of(&v.time_zone)),
        })
        .collect();
    let expected = board
        .expected
        .iter()
        .filter(|e| e.state == "expected")
        .map(|e| Line {
            id: e.visitor_id.get(),
            name: e.visitor_name.clone(),
            company: e.company.clone().unwrap_or_default(),
            host: e.host_name.clone(),
            site: e.site_name.clone(),
            time: time::human(e.starts_at, zone_of(&e.time_zone)),
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
    let hosts = state
        .store
        .users(tenant)
        .await?
        .into_iter()
        .filter(|u| u.status != "disabled")
        .map(|u| Choice {
            id: u.id.get(),
            label: u.display_name,
        })
        .collect();
    let layout = Layout::new(state, user, "onsite.title", "onsite")
        .await?
        .with_notice(notice);
    let page = OnsitePage {
        layout,
        inside,
        expected,
        sites,
        hosts,
        problem: walk.problem,
        errors: walk.errors,
        walk_name: walk.name,
        walk_company: walk.company,
        walk_site: walk.site,
        walk_host: walk.host,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<OnsiteQuery>,
) -> PageResult<Response> {
    user.require(Permission::FrontDesk)?;
    render(
        &state,
        &user,
        q.notice.as_deref(),
        WalkIn::default(),
        StatusCode::OK,
    )
    .await
}

fn refusal_text(user: &WebUser, code: ErrorCode) -> String {
    let key = format!("refusal.{}", code.as_str());
    let text = user.t.get(&key);
    if text == key {
        message_of(code).to_owned()
    } else {
        text.to_owned()
    }
}

async fn check_in(
    State(state): State<AppState>,
    WebPath(visitor): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user;
    user.require(Permission::FrontDesk)?;
    match state
        .store
        .manual_check_in(user.session.tenant_id, VisitorId(visitor), user.ctx.clone())
        .await?
    {
        Ok(_) => Ok(Redirect::to("/onsite?notice=checked_in").into_response()),
        // No such visitor in this tenant (another tenant's id included): 404 like any object.
        Err(ErrorCode::NotFound) => Err(PageError::NotFound),
        Err(code) => {
            let walk = WalkIn {
                problem: Some(refusal_text(&user, code)),
                ..WalkIn::default()
            };
            render(&state, &user, None, walk, StatusCode::CONFLICT).await
        }
    }
}

async fn check_out(
    State(state): State<AppState>,
    WebPath(visit): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user;
    user.require(Permission::FrontDesk)?;
    match state
        .store
        .manual_check_out(user.session.tenant_id, VisitId(visit), user.ctx.clone())
        .await?
    {
        Ok(()) | Err(ErrorCode::NotInside) => {
            Ok(Redirect::to("/onsite?notice=checked_out").into_response())
        }
        Err(code) => {
            let walk = WalkIn {
                problem: Some(refusal_text(&user, code)),
                ..WalkIn::default()
            };
            render(&state, &user, None, walk, StatusCode::CONFLICT).await
        }
    }
}

async fn walk_in(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = form.user.clone();
    user.require(Permission::FrontDesk)?;
    let tenant = state.store.tenant(user.session.tenant_id).await?;
    let input = VisitorInput {
        name: form.get("name").to_owned(),
        company: Some(form.get("company").to_owned()),
        email: None,
        phone: None,
        locale: None,
    };
    let mut problems = Vec::new();
    let visitor = validate_visitor(0, &input, tenant.default_locale, &mut problems);
    let site: i64 = form.get("site_id").parse().unwrap_or_default();
    let host: i64 = form.get("host_id").parse().unwrap_or_default();
    let mut walk = WalkIn {
        name: input.name.clone(),
        company: form.get("company").to_owned(),
        site,
        host,
        ..WalkIn::default()
    };
    if let Some(v) = visitor.filter(|_| problems.is_empty()) {
        match state
            .store
            .walk_in(tenant.id, SiteId(site), UserId(host), v, user.ctx.clone())
            .await?
        {
            Ok(_) => return Ok(Redirect::to("/onsite?notice=checked_in").into_response()),
            Err(ErrorCode::Validation) => walk.errors.add(&user.t, "host_id", "unknown", ""),
            Err(code) => walk.problem = Some(refusal_text(&user, code)),
        }
    }
    for p in &problems {
        let field = p.field.rsplit('.').next().unwrap_or_default();
        walk.errors.add(&user.t, field, p.code, &p.message);
    }
    render(&state, &user, None, walk, StatusCode::UNPROCESSABLE_ENTITY).await
}

struct MusterGroup {
    site: String,
    people: Vec<Line>,
}

#[derive(Template)]
#[template(path = "web/muster.html")]
struct MusterPage {
    layout: Layout,
    printed_at: String,
    total: usize,
    groups: Vec<MusterGroup>,
}

async fn muster(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::FrontDesk)?;
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let now = state.clock.now();
    let today = zone.local_date(now);
    let (from, until) = zone.days_window(today, today);
    let board = state
        .store
        .today(tenant, user.principal.visibility(), from, until)
        .await?;
    let mut groups: Vec<MusterGroup> = Vec::new();
    let mut inside = board.inside;
    inside.sort_by(|a, b| {
        a.site_name
            .cmp(&b.site_name)
            .then(a.visitor_name.cmp(&b.visitor_name))
    });
    for v in &inside {
        let line = Line {
            id: v.id.get(),
            name: v.visitor_name.clone(),
            company: v.visitor_company.clone().unwrap_or_default(),
            host: v.host_name.clone(),
            site: v.site_name.clone(),
            time: time::human(
                v.checked_in_at,
                TimeZone::parse(&v.time_zone).unwrap_or(zone),
            ),
        };
        match groups.last_mut() {
            Some(g) if g.site == v.site_name => g.people.push(line),
            _ => groups.push(MusterGroup {
                site: v.site_name.clone(),
                people: vec![line],
            }),
        }
    }
    let layout = Layout::new(&state, &user, "onsite.muster", "onsite").await?;
    let page = MusterPage {
        layout,
        printed_at: time::human(now, zone),
        total: inside.len(),
        groups,
    };
    Ok(Html(page.render()?).into_response())
}
