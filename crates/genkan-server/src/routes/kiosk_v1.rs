//! Kiosk API v1: pairing, configuration, check-in and check-out by QR token or code
//! (and journal replays by token hash), behind the limits of [`guard`], plus what
//! [`health`] and [`walk_in`] serve: heartbeats, offline rosters, the logo, host
//! search and walk-ins.

mod guard;
mod health;
mod walk_in;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use genkan_core::pass::{FallbackCode, PassHash, PassToken};
use genkan_core::wire::v1::{
    CheckInResponse, CheckOutResponse, ErrorCode, KioskConfig, PairRequest, PairResponse,
    PresentPass, valid_request_id,
};
use genkan_store::AuditCtx;
use genkan_store::kiosks::KioskAuth;
use genkan_store::visits::{PassKey, Presented};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, KioskPrincipal, anonymous_ctx};
use crate::request::{ClientIp, current_id};
use crate::state::AppState;

/// Routes under `/api/kiosk/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pair", post(pair))
        .route("/config", get(config))
        .route("/check-in", post(check_in))
        .route("/check-out", post(check_out))
        .route("/roster", get(health::roster))
        .route("/heartbeat", post(health::heartbeat))
        .route("/logo", get(health::logo))
        .route("/hosts", get(walk_in::hosts))
        .route("/walk-in", post(walk_in::walk_in))
        .route("/visits/{visit_id}/reply", get(super::kiosk_reply::poll))
}

async fn pair(
    State(state): State<AppState>,
    ip: ClientIp,
    AppJson(req): AppJson<PairRequest>,
) -> ApiResult<Json<PairResponse>> {
    // Counted before the code is checked, in the step that checks the limit; a
    // code that pairs gives its place back.
    let key = format!("pair:{ip}");
    let attempt = state
        .limits
        .pairing
        .acquire(&key)
        .map_err(ApiError::rate_limited)?;
    match state
        .store
        .pair_kiosk(
            &req.pairing_code,
            req.device_name,
            anonymous_ctx(&state, Some(ip)),
        )
        .await?
    {
        Ok(paired) => {
            state.limits.pairing.refund(attempt);
            Ok(Json(paired))
        }
        Err(_) => {
            Err(ApiError::new(ErrorCode::Unauthorized)
                .with_message("Unknown or expired pairing code."))
        }
    }
}

async fn config(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
) -> ApiResult<Json<KioskConfig>> {
    Ok(Json(state.store.kiosk_config(kiosk).await?))
}

fn kiosk_ctx(state: &AppState, kiosk: &KioskAuth, ip: ClientIp) -> AuditCtx {
    AuditCtx {
        tenant_id: Some(kiosk.tenant_id),
        actor_kind: "kiosk",
        actor_id: Some(kiosk.kiosk_id.get()),
        ip: Some(ip.to_string()),
        request_id: current_id(),
        at: state.clock.now(),
    }
}

/// Reads the presented pass; refuses bad request ids, anything but exactly one of
/// token/code/token_hash, unreadable tokens, a token hash without `offline_at` (and
/// the other way round: only journal replays name a pass by its hash, with the real
/// arrival time), and replays outside check-in. Whether a replay's time is acceptable
/// is the store's decision (`genkan_core::offline::decide_replay`), so a refusal is
/// recorded and counted like any other.
fn presented(state: &AppState, req: &PresentPass, check_in: bool) -> ApiResult<Presented> {
    if !valid_request_id(&req.request_id) {
        return Err(ApiError::new(ErrorCode::Malformed)
            .with_message("request_id must be 8-64 characters of A-Z a-z 0-9 - _."));
    }
    if req.token_hash.is_some() != req.offline_at.is_some() {
        return Err(ApiError::new(ErrorCode::Malformed)
            .with_message("token_hash and offline_at come together, in journal replays only."));
    }
    if req.offline_at.is_some() && !check_in {
        return Err(ApiError::new(ErrorCode::Malformed)
            .with_message("Only check-ins are replayed from a kiosk's journal."));
    }
    let key = match (&req.token, &req.code, &req.token_hash) {
        // A kiosk replaying its offline journal names the pass by the roster's token
        // hash: it never keeps the token itself.
        (None, None, Some(hash)) => PassKey::Token(PassHash::from_hex(hash).ok_or_else(|| {
            ApiError::new(ErrorCode::Malformed).with_message("token_hash must be 64 hex digits.")
        })?),
        (Some(token), None, None) => PassKey::Token(
            PassToken::parse(token)
                .map_err(|_| {
                    ApiError::new(ErrorCode::Malformed).with_message("This is not a Genkan pass.")
                })?
                .hash(),
        ),
        (None, Some(code), None) => PassKey::Code(
            FallbackCode::parse(code)
                .map_err(|_| {
                    ApiError::new(ErrorCode::Malformed).with_message("The code must be 8 digits.")
                })?
                .hash(&state.store.keys().code_key()),
        ),
        _ => {
            return Err(ApiError::new(ErrorCode::Malformed)
                .with_message("Give exactly one of token, code and token_hash."));
        }
    };
    let offline_at = req
        .offline_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::new(ErrorCode::Malformed).with_message("offline_at must be RFC 3339.")
                })
        })
        .transpose()?;
    Ok(Presented {
        request_id: req.request_id.clone(),
        key,
        offline_at,
    })
}

async fn check_in(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    ip: ClientIp,
    AppJson(req): AppJson<PresentPass>,
) -> ApiResult<Json<CheckInResponse>> {
    let presented = presented(&state, &req, true)?;
    let ticket = guard::admit(&state, &kiosk, ip, &presented)?;
    let ctx = kiosk_ctx(&state, &kiosk, ip);
    let answer = state.store.check_in(kiosk, presented, ctx).await?;
    ticket.settle(&state, answer.as_ref().map(|_| ()).map_err(|c| *c));
    answer.map(Json).map_err(ApiError::new)
}

async fn check_out(
    State(state): State<AppState>,
    KioskPrincipal(kiosk): KioskPrincipal,
    ip: ClientIp,
    AppJson(req): AppJson<PresentPass>,
) -> ApiResult<Json<CheckOutResponse>> {
    let presented = presented(&state, &req, false)?;
    let ticket = guard::admit(&state, &kiosk, ip, &presented)?;
    let ctx = kiosk_ctx(&state, &kiosk, ip);
    let answer = state.store.check_out(kiosk, presented, ctx).await?;
    ticket.settle(&state, answer.as_ref().map(|_| ()).map_err(|c| *c));
    answer.map(Json).map_err(ApiError::new)
}
