//! The admin JSON API v1 (`/api/v1`): sites, users, kiosks, appointments, visits.
//! Every handler asks `core::access` first and passes the principal's tenant (and,
//! for hosts, their own id) to the store; ids from other tenants answer 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use genkan_core::access::{Permission, Role};
use genkan_core::appointment::AppointmentInput;
use genkan_core::id::{AppointmentId, KioskId, SiteId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, OrgName};
use genkan_core::wire::v1::ErrorCode;
use genkan_store::appointments::{AppointmentRefusal, AppointmentView};
use genkan_store::outbox::LedgerEntry;
use genkan_store::tenants::User;
use genkan_store::visits::VisitView;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppPath, AppQuery, Staff};
use crate::outbound::check_webhook_url;
use crate::state::AppState;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/sites", get(list_sites).post(create_site))
        .route(
            "/users",
            get(super::api_directory::list_users).post(create_user),
        )
        .route("/kiosks", get(list_kiosks).post(create_kiosk))
        .route("/kiosks/{id}/revoke", post(revoke_kiosk))
        .route(
            "/appointments",
            get(list_appointments).post(create_appointment),
        )
        .route("/appointments/{id}", get(get_appointment))
        .route("/appointments/{id}/cancel", post(cancel_appointment))
        .route("/appointments/{id}/deliveries", get(appointment_deliveries))
        .route("/visits", get(list_visits))
        .route("/settings/slack", put(set_slack))
        .merge(super::api_channels::router())
        .route("/auth/refresh", post(refresh_token))
        .route("/tokens", get(list_tokens))
        .route("/tokens/{id}/revoke", post(revoke_token))
}

fn require(staff: &Staff, what: Permission) -> ApiResult<()> {
    if staff.principal.may(what) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::Forbidden))
    }
}

#[derive(Serialize)]
struct Me {
    tenant_id: i64,
    user_id: Option<i64>,
    role: Option<Role>,
}

async fn me(staff: Staff) -> Json<Me> {
    Json(Me {
        tenant_id: staff.principal.tenant_id.get(),
        user_id: staff.principal.user_id().map(|u| u.get()),
        role: staff.principal.role(),
    })
}

async fn list_sites(
    State(s): State<AppState>,
    staff: Staff,
) -> ApiResult<Json<Vec<genkan_core::tenant::Site>>> {
    require(&staff, Permission::ViewDirectory)?;
    Ok(Json(s.store.sites(staff.principal.tenant_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteInput {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

async fn create_site(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<SiteInput>,
) -> ApiResult<(StatusCode, Json<genkan_core::tenant::Site>)> {
    require(&staff, Permission::Administer)?;
    let name = OrgName::parse(&input.name)
        .map_err(|e| ApiError::field("name", "invalid", &e.to_string()))?;
    let zone = match input.time_zone.as_deref() {
        None => TimeZone::default(),
        Some(z) => TimeZone::parse(z)
            .map_err(|e| ApiError::field("time_zone", "unknown_time_zone", &e.to_string()))?,
    };
    let address = input.address.unwrap_or_default();
    if address.chars().count() > 300 || address.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::field(
            "address",
            "invalid",
            "at most 300 characters, no control characters",
        ));
    }
    let site = s
        .store
        .create_site(staff.principal.tenant_id, name, zone, address, staff.ctx)
        .await
        .map_err(|e| match e {
            genkan_store::StoreError::Conflict { .. } => {
                ApiError::field("name", "taken", "a site with this name exists")
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(site)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInput {
    email: String,
    display_name: String,
    role: String,
    #[serde(default)]
    password: Option<String>,
}

async fn create_user(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<UserInput>,
) -> ApiResult<(StatusCode, Json<User>)> {
    require(&staff, Permission::Administer)?;
    let mut errors = Vec::new();
    let email = EmailAddress::parse(&input.email)
        .map_err(|e| errors.push(genkan_core::appointment::FieldError::from_text("email", &e)))
        .ok();
    let name = DisplayName::parse(&input.display_name)
        .map_err(|e| {
            errors.push(genkan_core::appointment::FieldError::from_text(
                "display_name",
                &e,
            ))
        })
        .ok();
    let role = Role::parse(&input.role);
    if role.is_none() {
        errors.push(genkan_core::appointment::FieldError::new(
            "role",
            "invalid",
            "must be admin, receptionist or host",
        ));
    }
    if let (Some(pw), Some(r)) = (&input.password, role) {
        // The same policy as every web form that sets a password.
        let tenant = s.store.tenant_settings(staff.principal.tenant_id).await?;
        let local_part = input.email.split('@').next().unwrap_or_default();
        let context = [
            tenant.name.as_str(),
            local_part,
            input.display_name.as_str(),
        ];
        if let Err(problem) = genkan_core::password::check(pw, r, &context) {
            errors.push(genkan_core::appointment::FieldError::new(
                "password",
                problem.code(),
                problem.to_string(),
            ));
        }
    }
    let (Some(email), Some(name), Some(role), true) = (email, name, role, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let hash = match input.password {
        Some(pw) => {
            let passwords = s.passwords.clone();
            Some(
                tokio::task::spawn_blocking(move || passwords.hash(&pw))
                    .await
                    .map_err(ApiError::internal)?,
            )
        }
        None => None,
    };
    let user = s
        .store
        .create_user(
            staff.principal.tenant_id,
            email,
            name,
            role,
            hash,
            staff.ctx,
        )
        .await
        .map_err(|e| match e {
            genkan_store::StoreError::Conflict { .. } => {
                ApiError::field("email", "taken", "a user with this address exists")
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn list_kiosks(
    State(s): State<AppState>,
    staff: Staff,
) -> ApiResult<Json<Vec<genkan_store::kiosks::KioskView>>> {
    require(&staff, Permission::Administer)?;
    Ok(Json(s.store.kiosks(staff.principal.tenant_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskInput {
    site_id: SiteId,
    name: String,
}

#[derive(Serialize)]
struct KioskCreated {
    id: KioskId,
    pairing_code: String,
    expires_at: String,
}

async fn create_kiosk(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<KioskInput>,
) -> ApiResult<(StatusCode, Json<KioskCreated>)> {
    require(&staff, Permission::Administer)?;
    let name = OrgName::parse(&input.name)
        .map_err(|e| ApiError::field("name", "invalid", &e.to_string()))?;
    let tenant = staff.principal.tenant_id;
    let site = s
        .store
        .site(tenant, input.site_id)
        .await
        .map_err(|e| match e {
            genkan_store::StoreError::NotFound => {
                ApiError::field("site_id", "unknown", "no such site")
            }
            other => other.into(),
        })?;
    let created = s
        .store
        .create_kiosk(tenant, site.id, name.as_str().to_owned(), staff.ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(KioskCreated {
            id: created.id,
            pairing_code: created.pairing_code,
            expires_at: site.time_zone.format(created.expires_at),
        }),
    ))
}

async fn revoke_kiosk(
    State(s): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    require(&staff, Permission::Administer)?;
    s.store
        .revoke_kiosk(staff.principal.tenant_id, KioskId(id), staff.ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An appointment as the API shows it: times with the site's offset.
#[derive(Serialize)]
struct AppointmentOut {
    #[serde(flatten)]
    view: AppointmentView,
    starts_at_local: String,
    ends_at_local: String,
    /// Pass secrets, only when the creator asked for them (`?return_passes=true`)
    /// to deliver passes through their own channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    passes: Option<Vec<PassOut>>,
}

/// A newly issued pass's secrets.
#[derive(Serialize)]
struct PassOut {
    visitor_id: i64,
    pass_id: i64,
    token: String,
    code: String,
}

/// Options of `POST /appointments`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    #[serde(default)]
    return_passes: bool,
}

fn appointment_out(view: AppointmentView) -> AppointmentOut {
    let zone = TimeZone::parse(&view.time_zone).unwrap_or_default();
    AppointmentOut {
        starts_at_local: zone.format(view.starts_at),
        ends_at_local: zone.format(view.ends_at),
        view,
        passes: None,
    }
}

async fn create_appointment(
    State(s): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<CreateQuery>,
    AppJson(input): AppJson<AppointmentInput>,
) -> ApiResult<(StatusCode, Json<AppointmentOut>)> {
    require(&staff, Permission::ManageAppointments)?;
    if !staff.principal.may_host_as(input.host_id) {
        return Err(ApiError::field(
            "host_id",
            "not_allowed",
            "hosts may only create their own appointments",
        ));
    }
    let tenant = s.store.tenant(staff.principal.tenant_id).await?;
    let new = input
        .validate(tenant.default_locale)
        .map_err(ApiError::validation)?;
    match s
        .store
        .create_appointment(tenant.id, new, staff.ctx)
        .await?
    {
        Ok(created) => {
            let mut out = appointment_out(created.appointment);
            if q.return_passes {
                out.passes = Some(
                    created
                        .passes
                        .iter()
                        .map(|p| PassOut {
                            visitor_id: p.visitor_id.get(),
                            pass_id: p.pass_id.get(),
                            token: p.token.encode(),
                            code: p.code.as_str().to_owned(),
                        })
                        .collect(),
                );
            }
            Ok((StatusCode::CREATED, Json(out)))
        }
        Err(AppointmentRefusal::UnknownSite) => {
            Err(ApiError::field("site_id", "unknown", "no such site"))
        }
        Err(AppointmentRefusal::UnknownHost) => {
            Err(ApiError::field("host_id", "unknown", "no such active user"))
        }
        Err(AppointmentRefusal::AlreadyCancelled) => Err(ApiError::new(ErrorCode::Conflict)),
    }
}

async fn get_appointment(
    State(s): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> ApiResult<Json<AppointmentOut>> {
    require(&staff, Permission::ViewAppointments)?;
    let view = s
        .store
        .appointment(
            staff.principal.tenant_id,
            staff.principal.visibility(),
            AppointmentId(id),
        )
        .await?;
    Ok(Json(appointment_out(view)))
}

async fn cancel_appointment(
    State(s): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> ApiResult<Json<AppointmentOut>> {
    require(&staff, Permission::ManageAppointments)?;
    match s
        .store
        .cancel_appointment(
            staff.principal.tenant_id,
            staff.principal.visibility(),
            AppointmentId(id),
            staff.ctx,
        )
        .await?
    {
        Ok(view) => Ok(Json(appointment_out(view))),
        Err(_) => Err(ApiError::new(ErrorCode::Conflict)
            .with_message("The appointment is already cancelled.")),
    }
}

async fn appointment_deliveries(
    State(s): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> ApiResult<Json<Vec<LedgerEntry>>> {
    require(&staff, Permission::ViewAppointments)?;
    let tenant = staff.principal.tenant_id;
    // Visibility first: a host asking about someone else's appointment gets 404.
    s.store
        .appointment(tenant, staff.principal.visibility(), AppointmentId(id))
        .await?;
    Ok(Json(
        s.store
            .ledger(tenant, Some(AppointmentId(id)), None)
            .await?,
    ))
}

/// Query of the list endpoints: a time range (default: today and tomorrow, UTC).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    #[serde(default)]
    from: Option<DateTime<Utc>>,
    #[serde(default)]
    to: Option<DateTime<Utc>>,
    #[serde(default)]
    limit: Option<u32>,
}

impl RangeQuery {
    fn bounds(&self, now: DateTime<Utc>) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        let from = self.from.unwrap_or(now - Duration::days(1));
        let to = self.to.unwrap_or(now + Duration::days(1));
        if to <= from {
            return Err(ApiError::field(
                "to",
                "end_before_start",
                "must be after from",
            ));
        }
        Ok((from, to))
    }
}

async fn list_appointments(
    State(s): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RangeQuery>,
) -> ApiResult<Json<Vec<AppointmentOut>>> {
    require(&staff, Permission::ViewAppointments)?;
    let (from, to) = q.bounds(s.clock.now())?;
    let list = s
        .store
        .appointments_between(
            staff.principal.tenant_id,
            staff.principal.visibility(),
            from,
            to,
        )
        .await?;
    Ok(Json(list.into_iter().map(appointment_out).collect()))
}

/// A visit as the API shows it: times with the site's offset.
#[derive(Serialize)]
struct VisitOut {
    #[serde(flatten)]
    view: VisitView,
    checked_in_at_local: String,
    checked_out_at_local: Option<String>,
}

async fn list_visits(
    State(s): State<AppState>,
    staff: Staff,
    AppQuery(q): AppQuery<RangeQuery>,
) -> ApiResult<Json<Vec<VisitOut>>> {
    require(&staff, Permission::ViewVisits)?;
    let (from, to) = q.bounds(s.clock.now())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let visits = s
        .store
        .visits_between(
            staff.principal.tenant_id,
            staff.principal.visibility(),
            from,
            to,
            limit,
        )
        .await?;
    Ok(Json(
        visits
            .into_iter()
            .map(|v| {
                let zone = TimeZone::parse(&v.time_zone).unwrap_or_default();
                VisitOut {
                    checked_in_at_local: zone.format(v.checked_in_at),
                    checked_out_at_local: v.checked_out_at.map(|t| zone.format(t)),
                    view: v,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackInput {
    webhook_url: Option<String>,
}

async fn set_slack(
    State(s): State<AppState>,
    staff: Staff,
    AppJson(input): AppJson<SlackInput>,
) -> ApiResult<StatusCode> {
    require(&staff, Permission::Administer)?;
    let url = match input
        .webhook_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(u) => {
            check_webhook_url(u, s.config.outbound.allow_private_networks)
                .await
                .map_err(|e| ApiError::field("webhook_url", "not_allowed", &e.to_string()))?;
            Some(u.to_owned())
        }
    };
    s.store
        .set_slack_webhook(staff.principal.tenant_id, url, staff.ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: String,
}

#[derive(Serialize)]
struct TokenPair {
    access_token: String,
    expires_at: Option<String>,
    refresh_token: Option<String>,
}

/// Exchanges a refresh token for a new pair; a reused one revokes its family.
async fn refresh_token(
    State(s): State<AppState>,
    ip: crate::request::ClientIp,
    AppJson(input): AppJson<RefreshInput>,
) -> ApiResult<Json<TokenPair>> {
    let unauthorized =
        || ApiError::new(ErrorCode::Unauthorized).with_message("The refresh token is not valid.");
    if !input
        .refresh_token
        .starts_with(genkan_store::tokens::REFRESH_PREFIX)
    {
        return Err(unauthorized());
    }
    let ctx = crate::extract::anonymous_ctx(&s, Some(ip));
    match s
        .store
        .refresh_api_token(&input.refresh_token, Duration::hours(1), ctx)
        .await?
    {
        Ok(issued) => Ok(Json(TokenPair {
            access_token: issued.access_token,
            expires_at: issued.expires_at.map(|t| t.to_rfc3339()),
            refresh_token: issued.refresh_token,
        })),
        Err(_) => Err(unauthorized()),
    }
}

async fn list_tokens(
    State(s): State<AppState>,
    staff: Staff,
) -> ApiResult<Json<Vec<genkan_store::tokens::TokenListing>>> {
    require(&staff, Permission::Administer)?;
    Ok(Json(s.store.api_tokens(staff.principal.tenant_id).await?))
}

async fn revoke_token(
    State(s): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    require(&staff, Permission::Administer)?;
    s.store
        .revoke_api_token(
            staff.principal.tenant_id,
            genkan_core::id::TokenId(id),
            staff.ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
