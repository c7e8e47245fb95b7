//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::request::ClientIp;
use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers, the data directory has room, the outbox
/// keeps up, the last backup is recent and its restore drill passed, the clock keeps
/// NTP time; otherwise 503 (see [`crate::ops::readiness`]). Only a client on loopback
/// (a local health checker or proxy) and the metrics listener get the checks and
/// reasons: to anyone else they would describe the installation's inner state.
pub async fn readyz(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
) -> (StatusCode, Json<Value>) {
    let (status, body) = readiness(&state).await;
    if client.is_loopback() {
        (status, Json(body))
    } else {
        (status, Json(json!({ "status": body["status"] })))
    }
}

/// `GET /readyz` on the metrics listener: always with every check and reason.
pub async fn readyz_detailed(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, body) = readiness(&state).await;
    (status, Json(body))
}

async fn readiness(state: &AppState) -> (StatusCode, Value) {
    let (ready, body) = crate::ops::readiness::check(state).await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}
