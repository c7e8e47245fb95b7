//! The read-only guard of tenants whose contract ended: one middleware in front of
//! every route, so no route can forget it. From the day after the contract end,
//! every state-changing request of the tenant's staff (web session or API token) is
//! refused with `read_only` (API) or a page that says why (web), and its kiosks are
//! refused altogether. Signing in and out and exporting still work.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use genkan_core::id::TenantId;
use genkan_core::wire::v1::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::session::session_value;

/// Paths whose state-changing requests stay open to a read-only tenant.
const OPEN: &[&str] = &[
    "/login",
    "/logout",
    "/password/",
    "/invite",
    "/exports",
    "/api/v1/auth/refresh",
];

fn stays_open(path: &str) -> bool {
    OPEN.iter().any(|p| path == *p || path.starts_with(p))
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The credential a request carries: a bearer token, or the web session cookie.
enum Credential {
    Kiosk(String),
    Token(String),
    Session(String),
}

/// The tenant whose credential this request carries, if any.
async fn tenant_of(state: &AppState, credential: Credential) -> Option<TenantId> {
    let found = match credential {
        Credential::Kiosk(secret) => state
            .store
            .kiosk_by_credential(&secret)
            .await
            .map(|k| k.map(|k| k.tenant_id)),
        Credential::Token(secret) => state.store.tenant_of_secret(&secret, false).await,
        Credential::Session(secret) => state.store.tenant_of_secret(&secret, true).await,
    };
    found.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "read-only guard: credential lookup failed");
        None
    })
}

/// Middleware: refuses what a read-only tenant may not do.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let kiosk = path.starts_with("/api/kiosk/");
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !(kiosk || changes && !stays_open(path)) {
        return next.run(request).await;
    }
    let credential = match bearer(&request) {
        Some(secret) if kiosk => Credential::Kiosk(secret),
        Some(secret) => Credential::Token(secret),
        None => match session_value(request.headers(), &state) {
            Some(cookie) if !kiosk => Credential::Session(cookie),
            _ => return next.run(request).await,
        },
    };
    let path = path.to_owned();
    let Some(tenant) = tenant_of(&state, credential).await else {
        return next.run(request).await;
    };
    let read_only = match state.store.is_read_only(tenant, state.clock.now()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "read-only guard: tenant state unknown");
            false
        }
    };
    if !read_only {
        return next.run(request).await;
    }
    tracing::info!(tenant.id = %tenant, path = %path, "refused: the tenant's contract has ended (read-only)");
    if crate::routes::is_api(&path) {
        ApiError::new(ErrorCode::ReadOnly).into_response()
    } else {
        crate::web::error::error_page(
            StatusCode::FORBIDDEN,
            "error.read_only",
            "error.read_only_detail",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_sign_out_and_exports_stay_open_and_nothing_else() {
        for open in [
            "/login",
            "/login/mfa",
            "/logout",
            "/exports/all.zip",
            "/exports/visits.csv",
            "/api/v1/auth/refresh",
        ] {
            assert!(stays_open(open), "{open}");
        }
        for shut in [
            "/appointments/new",
            "/users/3/disable",
            "/settings",
            "/api/v1/appointments",
            "/privacy/retention",
        ] {
            assert!(!stays_open(shut), "{shut}");
        }
    }
}
