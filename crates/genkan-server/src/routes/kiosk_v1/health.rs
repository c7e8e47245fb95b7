//! What keeps a kiosk working and visible: its heartbeat, its offline roster and the
//! tenant's logo.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, http::StatusCode};
use genkan_core::wire::v1::{ErrorCode, Heartbeat, Roster};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, KioskPrincipal};
use crate::state::AppState;

/// `POST /heartbeat`: stores how the kiosk is doing (shown on the admins' kiosk list)
/// and counts as a sign of life for the silence alert.
#[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    AppJson(beat): AppJson<Heartbeat>,
) -> ApiResult<StatusCode> {
    match state
        .store
        .record_heartbeat(kiosk, &beat, state.clock.now())
        .await?
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(code) => Err(ApiError::new(code)),
    }
}

/// `GET /roster`: the passes valid today and tomorrow at the kiosk's site, for
/// verifying passes while the server cannot be reached.
#[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
pub(super) async fn roster(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
) -> ApiResult<Json<Roster>> {
    match state.store.kiosk_roster(kiosk, state.clock.now()).await? {
        Ok(roster) => {
            tracing::info!(passes = roster.passes.len(), "roster sent");
            Ok(Json(roster))
        }
        Err(code) => Err(ApiError::new(code)),
    }
}

/// `GET /logo`: the tenant's logo as PNG, or `not_found` when there is none.
pub(super) async fn logo(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
) -> ApiResult<Response> {
    let png = state
        .store
        .logo(kiosk.tenant_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).with_message("No logo is set."))?;
    let mut response = png.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(response)
}
