//! The appointment form (new and edit): one or more visitor rows, local date and
//! times in the chosen site's zone, optional period pass; every problem is shown
//! next to its field.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate, Timelike as _};
use genkan_core::access::{Permission, Visibility};
use genkan_core::appointment::{AppointmentInput, FieldError, MAX_VISITORS, VisitorInput};
use genkan_core::id::{AppointmentId, SiteId, UserId};
use genkan_core::tenant::{Site, TimeZone};
use genkan_core::text::{Locale, ShortText};
use genkan_store::appointment_edit::AppointmentChange;
use genkan_store::appointments::{AppointmentRefusal, AppointmentView};

use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// One visitor row as shown in the form.
#[derive(Debug, Clone, Default)]
pub struct VisitorRow {
    /// Name.
    pub name: String,
    /// Company.
    pub company: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// `ja`, `en` or empty (tenant default).
    pub locale: String,
    /// Problems by field.
    pub errors: FormErrors,
}

/// A choice in a select box.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Value.
    pub id: i64,
    /// Label.
    pub label: String,
}

#[derive(Template)]
#[template(path = "web/appointment_form.html")]
struct FormPage {
    layout: Layout,
    action: String,
    editing: bool,
    sites: Vec<Choice>,
    hosts: Vec<Choice>,
    host_fixed: bool,
    site_id: i64,
    host_id: i64,
    title: String,
    date: String,
    start: String,
    end: String,
    period: bool,
    valid_from: String,
    valid_until: String,
    visitors: Vec<VisitorRow>,
    errors: FormErrors,
    can_add_row: bool,
}

/// The values of a submitted or prefilled form.
struct Values {
    site_id: i64,
    host_id: i64,
    title: String,
    date: String,
    start: String,
    end: String,
    period: bool,
    valid_from: String,
    valid_until: String,
    visitors: Vec<VisitorRow>,
}

async fn choices(
    state: &AppState,
    user: &WebUser,
) -> PageResult<(Vec<Site>, Vec<Choice>, Vec<Choice>, bool)> {
    let tenant = user.session.tenant_id;
    let sites = state.store.sites(tenant).await?;
    let site_choices = sites
        .iter()
        .map(|s| Choice {
            id: s.id.get(),
            label: s.name.to_string(),
        })
        .collect();
    let host_fixed = matches!(user.principal.visibility(), Visibility::Host(_));
    let hosts = if host_fixed {
        vec![Choice {
            id: user.session.user_id.get(),
            label: user.session.display_name.clone(),
        }]
    } else {
        state
            .store
            .users(tenant)
            .await?
            .into_iter()
            .filter(|u| u.status != "disabled")
            .map(|u| Choice {
                id: u.id.get(),
                label: u.display_name,
            })
            .collect()
    };
    Ok((sites, site_choices, hosts, host_fixed))
}

async fn render(
    state: &AppState,
    user: &WebUser,
    action: String,
    editing: bool,
    v: Values,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult<Response> {
    let (_, sites, hosts, host_fixed) = choices(state, user).await?;
    let title = if editing {
        "appointments.edit"
    } else {
        "appointments.new"
    };
    let layout = Layout::new(state, user, title, "appointments").await?;
    let page = FormPage {
        layout,
        action,
        editing,
        sites,
        hosts,
        host_fixed,
        site_id: v.site_id,
        host_id: v.host_id,
        title: v.title,
        date: v.date,
        start: v.start,
        end: v.end,
        period: v.period,
        valid_from: v.valid_from,
        valid_until: v.valid_until,
        can_add_row: v.visitors.len() < MAX_VISITORS,
        visitors: v.visitors,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /appointments/new`.
pub async fn new_page(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::ManageAppointments)?;
    let (sites, _, _, _) = choices(&state, &user).await?;
    let site = sites
        .first()
        .ok_or(PageError::Redirect("/sites?notice=saved".to_owned()))?;
    let now = state.clock.now();
    let start = (now + Duration::hours(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .unwrap_or(now);
    let values = Values {
        site_id: site.id.get(),
        host_id: user.session.user_id.get(),
        title: String::new(),
        date: time::date(start, site.time_zone),
        start: time::clock(start, site.time_zone),
        // An hour later, but never past midnight (the end is a time on the same date).
        end: if time::date(start + Duration::hours(1), site.time_zone)
            == time::date(start, site.time_zone)
        {
            time::clock(start + Duration::hours(1), site.time_zone)
        } else {
            "23:59".to_owned()
        },
        period: false,
        valid_from: String::new(),
        valid_until: String::new(),
        visitors: vec![VisitorRow::default()],
    };
    render(
        &state,
        &user,
        "/appointments/new".to_owned(),
        false,
        values,
        FormErrors::none(),
        StatusCode::OK,
    )
    .await
}

fn values_from(form: &WebForm, with_visitors: bool) -> Values {
    let mut visitors = Vec::new();
    if with_visitors {
        let names = form.all("visitor_name");
        let companies = form.all("visitor_company");
        let emails = form.all("visitor_email");
        let phones = form.all("visitor_phone");
        let locales = form.all("visitor_locale");
        for i in 0..names.len().min(MAX_VISITORS) {
            let get = |v: &Vec<&str>| v.get(i).copied().unwrap_or_default().to_owned();
            visitors.push(VisitorRow {
                name: get(&names),
                company: get(&companies),
                email: get(&emails),
                phone: get(&phones),
                locale: get(&locales),
                errors: FormErrors::none(),
            });
        }
        // Rows left completely empty are ignored (the form always offers one more).
        visitors.retain(|r| {
            !(r.name.trim().is_empty()
                && r.company.trim().is_empty()
                && r.email.trim().is_empty()
                && r.phone.trim().is_empty())
        });
    }
    Values {
        site_id: form.get("site_id").parse().unwrap_or_default(),
        host_id: form.get("host_id").parse().unwrap_or_default(),
        title: form.get("title").to_owned(),
        date: form.get("date").to_owned(),
        start: form.get("start").to_owned(),
        end: form.get("end").to_owned(),
        period: form.checked("period"),
        valid_from: form.get("valid_from").to_owned(),
        valid_until: form.get("valid_until").to_owned(),
        visitors,
    }
}

/// Start, end and period-pass dates of a submitted form.
type When = (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    Option<(NaiveDate, NaiveDate)>,
);

/// Parses date and times in the site's zone; problems go into `errors`.
fn parse_when(
    v: &Values,
    zone: TimeZone,
    t: &crate::web::i18n::Tr,
    errors: &mut FormErrors,
) -> Option<When> {
    let date = time::parse_date(&v.date);
    let start = time::parse_time(&v.start);
    let end = time::parse_time(&v.end);
    if date.is_none() {
        errors.add(t, "date", "invalid_date", "");
    }
    if start.is_none() {
        errors.add(t, "start", "invalid_time", "");
    }
    if end.is_none() {
        errors.add(t, "end", "invalid_time", "");
    }
    let period = if v.period {
        let from = time::parse_date(&v.valid_from);
        let until = time::parse_date(&v.valid_until);
        if from.is_none() {
            errors.add(t, "valid_from", "invalid_date", "");
        }
        if until.is_none() {
            errors.add(t, "valid_until", "invalid_date", "");
        }
        from.zip(until)
    } else {
        None
    };
    let (date, start, end) = (date?, start?, end?);
    Some((
        time::from_local(date, start, zone),
        time::from_local(date, end, zone),
        period,
    ))
}

fn map_field(field: &str) -> &str {
    match field {
        "ends_at" => "end",
        "starts_at" => "start",
        "valid_from_date" => "valid_from",
        "valid_until_date" => "valid_until",
        other => other,
    }
}

/// Puts domain errors next to their fields (visitor rows get their own).
fn place_errors(
    t: &crate::web::i18n::Tr,
    list: &[FieldError],
    errors: &mut FormErrors,
    rows: &mut [VisitorRow],
) {
    for e in list {
        if let Some(rest) = e.field.strip_prefix("visitors[") {
            let (index, field) = rest.split_once("].").unwrap_or(("", ""));
            if let Some(row) = index.parse::<usize>().ok().and_then(|i| rows.get_mut(i)) {
                row.errors.add(t, field, e.code, &e.message);
                // Not shown by itself: it makes the page say "correct the fields below".
                errors.set("visitor_rows", String::new());
                continue;
            }
        }
        errors.add(t, map_field(&e.field), e.code, &e.message);
    }
}

async fn zone_of(state: &AppState, user: &WebUser, site: i64) -> PageResult<TimeZone> {
    let sites = state.store.sites(user.session.tenant_id).await?;
    Ok(sites
        .iter()
        .find(|s| s.id.get() == site)
        .or(sites.first())
        .map_or_else(TimeZone::default, |s| s.time_zone))
}

/// `POST /appointments/new`.
pub async fn create(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = form.user.clone();
    user.require(Permission::ManageAppointments)?;
    let mut v = values_from(&form, true);
    if !user.principal.may_host_as(UserId(v.host_id)) {
        v.host_id = user.session.user_id.get();
    }
    if form.checked("add_row") {
        if v.visitors.len() < MAX_VISITORS {
            v.visitors.push(VisitorRow::default());
        }
        return render(
            &state,
            &user,
            "/appointments/new".to_owned(),
            false,
            v,
            FormErrors::none(),
            StatusCode::OK,
        )
        .await;
    }
    let t = user.t;
    let mut errors = FormErrors::none();
    let zone = zone_of(&state, &user, v.site_id).await?;
    let when = parse_when(&v, zone, &t, &mut errors);
    if v.visitors.is_empty() {
        v.visitors.push(VisitorRow::default());
    }
    let tenant = state.store.tenant(user.session.tenant_id).await?;
    if let Some((starts_at, ends_at, period)) = when.filter(|_| errors.is_empty()) {
        let input = AppointmentInput {
            site_id: SiteId(v.site_id),
            host_id: UserId(v.host_id),
            title: Some(v.title.clone()),
            starts_at,
            ends_at,
            valid_from_date: period.map(|p| p.0),
            valid_until_date: period.map(|p| p.1),
            visitors: v
                .visitors
                .iter()
                .map(|r| VisitorInput {
                    name: r.name.clone(),
                    company: Some(r.company.clone()),
                    email: Some(r.email.clone()),
                    phone: Some(r.phone.clone()),
                    locale: (!r.locale.is_empty()).then(|| r.locale.clone()),
                })
                .collect(),
        };
        match input.validate(tenant.default_locale) {
            Ok(new) => match state
                .store
                .create_appointment(tenant.id, new, user.ctx.clone())
                .await?
            {
                Ok(created) => {
                    return Ok(Redirect::to(&format!(
                        "/appointments/{}?notice=created",
                        created.appointment.id
                    ))
                    .into_response());
                }
                Err(AppointmentRefusal::UnknownSite) => errors.add(&t, "site_id", "unknown", ""),
                Err(AppointmentRefusal::UnknownHost) => errors.add(&t, "host_id", "unknown", ""),
                Err(AppointmentRefusal::AlreadyCancelled) => return Err(PageError::NotFound),
            },
            Err(list) => place_errors(&t, &list, &mut errors, &mut v.visitors),
        }
    }
    render(
        &state,
        &user,
        "/appointments/new".to_owned(),
        false,
        v,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn values_of(view: &AppointmentView) -> Values {
    let zone = TimeZone::parse(&view.time_zone).unwrap_or_default();
    Values {
        site_id: view.site_id.get(),
        host_id: view.host_id.get(),
        title: view.title.clone().unwrap_or_default(),
        date: time::date(view.starts_at, zone),
        start: time::clock(view.starts_at, zone),
        end: time::clock(view.ends_at, zone),
        period: view.period.is_some(),
        valid_from: view.period.map(|p| p.0.to_string()).unwrap_or_default(),
        valid_until: view.period.map(|p| p.1.to_string()).unwrap_or_default(),
        visitors: Vec::new(),
    }
}

/// `GET /appointments/{id}/edit`.
pub async fn edit_page(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
) -> PageResult<Response> {
    user.require(Permission::ManageAppointments)?;
    let view = state
        .store
        .appointment(
            user.session.tenant_id,
            user.principal.visibility(),
            AppointmentId(id),
        )
        .await?;
    if view.status == "cancelled" {
        return Err(PageError::Redirect(format!("/appointments/{id}")));
    }
    render(
        &state,
        &user,
        format!("/appointments/{id}/edit"),
        true,
        values_of(&view),
        FormErrors::none(),
        StatusCode::OK,
    )
    .await
}

/// `POST /appointments/{id}/edit`.
pub async fn update(
    State(state): State<AppState>,
    WebPath(id): WebPath<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = form.user.clone();
    user.require(Permission::ManageAppointments)?;
    let mut v = values_from(&form, false);
    if !user.principal.may_host_as(UserId(v.host_id)) {
        v.host_id = user.session.user_id.get();
    }
    let t = user.t;
    let mut errors = FormErrors::none();
    let zone = zone_of(&state, &user, v.site_id).await?;
    let when = parse_when(&v, zone, &t, &mut errors);
    let title = match v.title.trim() {
        "" => None,
        text => ShortText::parse(text)
            .map_err(|e| {
                errors.add(
                    &t,
                    "title",
                    FieldError::from_text("title", &e).code,
                    &e.to_string(),
                )
            })
            .ok(),
    };
    if let Some((starts_at, ends_at, period)) = when.filter(|_| errors.is_empty()) {
        // The same rules as a new appointment, checked through the domain type.
        let probe = AppointmentInput {
            site_id: SiteId(v.site_id),
            host_id: UserId(v.host_id),
            title: None,
            starts_at,
            ends_at,
            valid_from_date: period.map(|p| p.0),
            valid_until_date: period.map(|p| p.1),
            visitors: vec![VisitorInput {
                name: "x".to_owned(),
                ..VisitorInput::default()
            }],
        };
        match probe.validate(Locale::Ja) {
            Ok(_) => {
                let change = AppointmentChange {
                    site_id: SiteId(v.site_id),
                    host_id: UserId(v.host_id),
                    title,
                    starts_at,
                    ends_at,
                    period,
                };
                match state
                    .store
                    .update_appointment(
                        user.session.tenant_id,
                        user.principal.visibility(),
                        AppointmentId(id),
                        change,
                        user.ctx.clone(),
                    )
                    .await?
                {
                    Ok(_) => {
                        return Ok(Redirect::to(&format!("/appointments/{id}?notice=saved"))
                            .into_response());
                    }
                    Err(AppointmentRefusal::UnknownSite) => {
                        errors.add(&t, "site_id", "unknown", "")
                    }
                    Err(AppointmentRefusal::UnknownHost) => {
                        errors.add(&t, "host_id", "unknown", "")
                    }
                    Err(AppointmentRefusal::AlreadyCancelled) => {
                        return Err(PageError::Redirect(format!("/appointments/{id}")));
                    }
                }
            }
            Err(list) => place_errors(&t, &list, &mut errors, &mut []),
        }
    }
    render(
        &state,
        &user,
        format!("/appointments/{id}/edit"),
        true,
        v,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}
