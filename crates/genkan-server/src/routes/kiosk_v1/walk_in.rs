//! Visitors without an invitation: the host search (at least three characters, at
//! most five display names: never a staff list to browse) and the walk-in itself.

use axum::Json;
use axum::extract::State;
use genkan_core::appointment::{VisitorInput, validate_visitor};
use genkan_core::id::UserId;
use genkan_core::wire::v1::{
    CheckInResponse, ErrorCode, HostMatch, WalkInRequest, valid_request_id,
};
use genkan_store::kiosk_walk_in::{HOST_QUERY_MIN_CHARS, host_query_ok};
use serde::Deserialize;

use super::kiosk_ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppQuery, KioskPrincipal};
use crate::request::ClientIp;
use crate::state::AppState;

/// Query of `GET /hosts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HostQuery {
    /// Part of the host's name.
    q: String,
}

/// `GET /hosts?q=…`: up to five staff whose name contains `q`; `validation` when `q`
/// has fewer than three letters or digits.
pub(super) async fn hosts(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    AppQuery(query): AppQuery<HostQuery>,
) -> ApiResult<Json<Vec<HostMatch>>> {
    let kiosk_key = kiosk.kiosk_id.to_string();
    if let Some(wait) = state.limits.host_searches.blocked(&kiosk_key) {
        return Err(ApiError::rate_limited(wait));
    }
    state.limits.host_searches.record(&kiosk_key);
    if query.q.chars().count() > 100 || !host_query_ok(&query.q) {
        return Err(ApiError::field(
            "q",
            "too_short",
            &format!("type at least {HOST_QUERY_MIN_CHARS} letters of the name (at most 100)"),
        ));
    }
    Ok(Json(state.store.search_hosts(kiosk, &query.q).await?))
}

/// Whether the tenant's kiosks offer walk-ins, and which optional fields they ask.
async fn options(
    state: &AppState,
    kiosk: &genkan_store::kiosks::KioskAuth,
) -> ApiResult<(bool, bool, bool)> {
    let s = state.store.kiosk_settings(kiosk.tenant_id).await?;
    Ok((s.walk_in_enabled, s.walk_in_company, s.walk_in_phone))
}

/// `POST /walk-in`: registers and checks in a visitor without an appointment, and
/// alerts the chosen host. Idempotent per `request_id`, like check-in. Limited per
/// kiosk (`rate_limited` with words for the visitor).
#[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
pub(super) async fn walk_in(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    ip: ClientIp,
    AppJson(req): AppJson<WalkInRequest>,
) -> ApiResult<Json<CheckInResponse>> {
    if !valid_request_id(&req.request_id) {
        return Err(ApiError::new(ErrorCode::Malformed)
            .with_message("request_id must be 8-64 characters of A-Z a-z 0-9 - _."));
    }
    let (enabled, ask_company, ask_phone) = options(&state, &kiosk).await?;
    if !enabled {
        return Err(ApiError::new(ErrorCode::Forbidden)
            .with_message("Walk-ins are turned off for this organisation's kiosks."));
    }
    // Counted before anything is made or anyone alerted, valid or not.
    super::guard::admit_walk_in(&state, &kiosk)?;
    let tenant = state.store.tenant(kiosk.tenant_id).await?;
    // Fields the tenant does not ask for are not kept, even if a kiosk sends them.
    let keep = |asked: bool, value: Option<String>| value.filter(|v| asked && !v.trim().is_empty());
    let input = VisitorInput {
        name: req.name,
        company: keep(ask_company, req.company),
        email: None,
        phone: keep(ask_phone, req.phone),
        locale: req.locale,
    };
    let mut problems = Vec::new();
    let visitor = validate_visitor(0, &input, tenant.default_locale, &mut problems);
    let Some(visitor) = visitor.filter(|_| problems.is_empty()) else {
        for p in &mut problems {
            p.field = p.field.trim_start_matches("visitors[0].").to_owned();
        }
        return Err(ApiError::validation(problems));
    };
    let ctx = kiosk_ctx(&state, &kiosk, ip);
    match state
        .store
        .kiosk_walk_in(kiosk, req.request_id, UserId(req.host_id), visitor, ctx)
        .await?
    {
        Ok(answer) => Ok(Json(answer)),
        Err(ErrorCode::Validation) => Err(ApiError::field(
            "host_id",
            "unknown_host",
            "choose a host from the search",
        )),
        Err(code) => Err(ApiError::new(code)),
    }
}
