//! Appointments: the list, one appointment with its visitors, passes and delivery
//! ledger, and the actions on it (cancel, resend an invitation, print a pass, add a
//! visitor). The form lives in `appointment_form`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use genkan_core::access::Permission;
use genkan_core::appointment::{VisitorInput, validate_visitor};
use genkan_core::id::{AppointmentId, VisitorId};
use genkan_core::tenant::TimeZone;
use genkan_store::appointments::{AppointmentRefusal, AppointmentView};
use genkan_store::outbox::LedgerEntry;
use serde::Deserialize;

use super::appointment_form;
use crate::notify::qr;
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::i18n::Tr;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments", get(list))
        .route(
            "/appointments/new",
            get(appointment_form::new_page).post(appointment_form::create),
        )
        .route("/appointments/{id}", get(detail))
        .route(
            "/appointments/{id}/edit",
            get(appointment_form::edit_page).post(appointment_form::update),
        )
        .route("/appointments/{id}/cancel", post(cancel))
        .route("/appointments/{id}/visitors", post(add_visitor))
        .route("/appointments/{id}/visitors/{visitor}/resend", post(resend))
        .route(
            "/appointments/{id}/visitors/{visitor}/pass",
            post(print_pass),
        )
}

/// An appointment row of the list.
struct ListRow {
    id: i64,
    when: String,
    title: String,
    visitors: String,
    host: String,
    site: String,
    status: String,
    status_label: String,
}

#[derive(Template)]
#[template(path = "web/appointments.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    from: String,
    to: String,
}

#[derive(Deserialize)]
struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    notice: Option<String>,
}

fn status_label(t: &Tr, status: &str) -> String {
    t.get(&format!("state.{status}")).to_owned()
}

async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewAppointments)?;
    let zone = state
        .store
        .tenant_settings(user.session.tenant_id)
        .await?
        .time_zone;
    let today = zone.local_date(state.clock.now());
    let from = q
        .from
        .as_deref()
        .and_then(time::parse_date)
        .unwrap_or(today);
    let to =
        q.to.as_deref()
            .and_then(time::parse_date)
            .filter(|d| *d >= from && (*d - from).num_days() <= 366)
            .unwrap_or(from + Duration::days(13));
    let (start, end) = zone.days_window(from, to);
    let views = state
        .store
        .appointments_between(
            user.session.tenant_id,
            user.principal.visibility(),
            start,
            end,
        )
        .await?;
    let t = user.t;
    let rows = views
        .iter()
        .map(|a| {
            let z = TimeZone::parse(&a.time_zone).unwrap_or(zone);
            ListRow {
                id: a.id.get(),
                when: format!(
                    "{}–{}",
                    time::human(a.starts_at, z),
                    time::clock(a.ends_at, z)
                ),
                title: a.title.clone().unwrap_or_default(),
                visitors: a
                    .visitors
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                host: a.host_name.clone(),
                site: a.site_name.clone(),
                status: a.status.clone(),
                status_label: status_label(&t, &a.status),
            }
        })
        .collect();
    let layout = Layout::new(&state, &user, "appointments.title", "appointments")
        .await?
        .with_notice(q.notice.as_deref());
    let page = ListPage {
        layout,
        rows,
        from: from.to_string(),
        to: to.to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

/// A visitor line on the detail page.
struct VisitorLine {
    id: i64,
    name: String,
    company: String,
    email: String,
    phone: String,
    pass: String,
    visit: String,
    visit_class: String,
    can_resend: bool,
}

/// A ledger line with times in the site's zone.
struct LedgerLine {
    kind: String,
    channel_key: String,
    status_key: String,
    recipient: String,
    status: String,
    attempts: u32,
    last_error: String,
    created: String,
    sent: String,
}

#[derive(Template)]
#[template(path = "web/appointment.html")]
struct DetailPage {
    layout: Layout,
    id: i64,
    title: String,
    when: String,
    validity: String,
    host: String,
    site: String,
    status: String,
    status_label: String,
    visitors: Vec<VisitorLine>,
    ledger: Vec<LedgerLine>,
    can_manage: bool,
    add_errors: FormErrors,
    add_name: String,
    add_company: String,
    add_email: String,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

struct AddVisitorForm {
    errors: FormErrors,
    name: String,
    company: String,
    email: String,
}

async fn render_detail(
    state: &AppState,
    user: &WebUser,
    view: AppointmentView,
    notice: Option<&str>,
    add: Option<AddVisitorForm>,
    status: StatusCode,
) -> PageResult<Response> {
    let t = user.t;
    let zone = TimeZone::parse(&view.time_zone).unwrap_or_default();
    let ledger: Vec<LedgerEntry> = state
        .store
        .ledger(user.session.tenant_id, Some(view.id), None)
        .await?;
    let cancelled = view.status == "cancelled";
    let visitors = view
        .visitors
        .iter()
        .map(|v| {
            let visit = v
                .visit_status
                .clone()
                .unwrap_or_else(|| "expected".to_owned());
            VisitorLine {
                id: v.id.get(),
                name: v.name.clone(),
                company: v.company.clone().unwrap_or_default(),
                email: v.email.clone().unwrap_or_default(),
                phone: v.phone.clone().unwrap_or_default(),
                pass: if v.pass_revoked_at.is_some() {
                    t.get("pass.revoked")
                } else {
                    t.get("pass.valid")
                }
                .to_owned(),
                visit_class: visit.clone(),
                visit: status_label(&t, &visit),
                can_resend: v.email.is_some() && !cancelled,
            }
        })
        .collect();
    let add = add.unwrap_or(AddVisitorForm {
        errors: FormErrors::none(),
        name: String::new(),
        company: String::new(),
        email: String::new(),
    });
    let layout = Layout::new(state, user, "appointments.detail", "appointments")
        .await?
        .with_notice(notice);
    let page = DetailPage {
        layout,
        id: view.id.get(),
        title: view.title.clone().unwrap_or_default(),
        when: format!(
            "{}–{}",
            time::human(view.starts_at, zone),
            time::clock(view.ends_at, zone)
        ),
        validity: format!(
            "{} – {}",
            time::human(view.valid_from, zone),
            time::human(view.valid_until, zone)
        ),
        host: view.host_name.clone(),
        site: view.site_name.clone(),
        status_label: status_label(&t, &view.status),
        status: view.status.clone(),
        visitors,
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
                created: time::human(l.created_at, zone),
                sent: l.sent_at.map(|s| time::human(s, zone)).unwrap_or_default(),
            })
            .collect(),
        can_manage: user.principal.may(Permission::ManageAppointments) && !cancelled,
        add_errors: add.errors,
        add_name: add.name,
        add_company: add.company,
        add_email: add.email,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn detail(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewAppointments)?;
    let view = state
        .store
        .appointment(
            user.session.tenant_id,
            user.principal.visibility(),
            AppointmentId(id),
        )
        .await?;
    render_detail(
        &state,
        &user,
        view,
        q.notice.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn cancel(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user;
    user.require(Permission::ManageAppointments)?;
    match state
        .store
        .cancel_appointment(
            user.session.tenant_id,
            user.principal.visibility(),
            AppointmentId(id),
            user.ctx.clone(),
        )
        .await?
    {
        Ok(_) | Err(AppointmentRefusal::AlreadyCancelled) => {
            Ok(Redirect::to(&format!("/appointments/{id}?notice=cancelled")).into_response())
        }
        Err(_) => Err(PageError::NotFound),
    }
}

async fn add_visitor(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user.clone();
    user.require(Permission::ManageAppointments)?;
    let tenant = state.store.tenant(user.session.tenant_id).await?;
    let input = VisitorInput {
        name: form.get("name").to_owned(),
        company: Some(form.get("company").to_owned()),
        email: Some(form.get("email").to_owned()),
        phone: None,
        locale: Some(form.get("locale").to_owned()).filter(|l| !l.is_empty()),
    };
    let mut problems = Vec::new();
    let visitor = validate_visitor(0, &input, tenant.default_locale, &mut problems);
    let view = state
        .store
        .appointment(tenant.id, user.principal.visibility(), AppointmentId(id))
        .await?;
    match visitor.filter(|_| problems.is_empty()) {
        Some(v) => {
            match state
                .store
                .add_visitor(
                    tenant.id,
                    user.principal.visibility(),
                    AppointmentId(id),
                    v,
                    user.ctx.clone(),
                )
                .await?
            {
                Ok(_) => {
                    Ok(Redirect::to(&format!("/appointments/{id}?notice=invited")).into_response())
                }
                Err(_) => Err(PageError::Redirect(format!("/appointments/{id}"))),
            }
        }
        None => {
            let mut errors = FormErrors::none();
            for p in &problems {
                let field = p.field.rsplit('.').next().unwrap_or_default();
                errors.add(&user.t, field, p.code, &p.message);
            }
            let add = AddVisitorForm {
                errors,
                name: input.name,
                company: form.get("company").to_owned(),
                email: form.get("email").to_owned(),
            };
            render_detail(
                &state,
                &user,
                view,
                None,
                Some(add),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn resend(
    State(state): State<AppState>,
    WebPath((id, visitor)): WebPath<(i64, i64)>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user;
    user.require(Permission::ManageAppointments)?;
    match state
        .store
        .reissue_pass(
            user.session.tenant_id,
            user.principal.visibility(),
            AppointmentId(id),
            VisitorId(visitor),
            true,
            user.ctx.clone(),
        )
        .await?
    {
        Ok(_) => Ok(Redirect::to(&format!("/appointments/{id}?notice=resent")).into_response()),
        Err(_) => Err(PageError::Redirect(format!("/appointments/{id}"))),
    }
}

#[derive(Template)]
#[template(path = "web/pass.html")]
struct PassPage {
    layout: Layout,
    appointment_id: i64,
    visitor_name: String,
    company: String,
    host: String,
    site: String,
    when: String,
    validity: String,
    code: String,
    qr_svg: String,
    mailed: bool,
}

/// Issues a fresh pass for printing (and mails it, so the visitor's copy matches):
/// only hashes of passes are stored, so an existing pass cannot be shown again.
async fn print_pass(
    State(state): State<AppState>,
    WebPath((id, visitor)): WebPath<(i64, i64)>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user;
    user.require(Permission::ManageAppointments)?;
    let tenant = user.session.tenant_id;
    let Ok(issued) = state
        .store
        .reissue_pass(
            tenant,
            user.principal.visibility(),
            AppointmentId(id),
            VisitorId(visitor),
            true,
            user.ctx.clone(),
        )
        .await?
    else {
        return Err(PageError::Redirect(format!("/appointments/{id}")));
    };
    let view = state
        .store
        .appointment(tenant, user.principal.visibility(), AppointmentId(id))
        .await?;
    let v = view
        .visitors
        .iter()
        .find(|v| v.id.get() == visitor)
        .ok_or(PageError::NotFound)?;
    let zone = TimeZone::parse(&view.time_zone).unwrap_or_default();
    let layout = Layout::new(&state, &user, "pass.title", "appointments").await?;
    let page = PassPage {
        layout,
        appointment_id: id,
        visitor_name: v.name.clone(),
        company: v.company.clone().unwrap_or_default(),
        host: view.host_name.clone(),
        site: view.site_name.clone(),
        when: format!(
            "{}–{}",
            time::human(view.starts_at, zone),
            time::clock(view.ends_at, zone)
        ),
        validity: format!(
            "{} – {}",
            time::human(view.valid_from, zone),
            time::human(view.valid_until, zone)
        ),
        code: issued.code.display(),
        qr_svg: qr::svg(&issued.token).map_err(PageError::internal)?,
        mailed: v.email.is_some(),
    };
    Ok(Html(page.render()?).into_response())
}
