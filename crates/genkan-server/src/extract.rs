//! Extractors: JSON bodies with our error shape, and the authenticated principals
//! (kiosk device credential, API token). Handlers never read tenant ids from bodies.
//! Both principals judge the read-only rule of ended tenants over every credential
//! the request carries: a kiosk of an ended tenant is refused altogether, a token
//! whenever the method is not a safe one.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use genkan_core::access::{Actor, Principal};
use genkan_core::read_only::{Access, Credential};
use genkan_core::wire::v1::ErrorCode;
use genkan_store::AuditCtx;
use genkan_store::kiosks::KioskAuth;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::request::{ClientIp, current_id};
use crate::state::AppState;

/// A JSON body; any problem reading it is a `malformed` (or `payload_too_large`) error.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::BytesRejection(b)
            if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::new(ErrorCode::PayloadTooLarge)
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(ErrorCode::Malformed)
            .with_message("Send the body as JSON (Content-Type: application/json)."),
        other => ApiError::new(ErrorCode::Malformed).with_message(format!(
            "The JSON body could not be read: {}",
            other.body_text()
        )),
    }
}

/// A query string; problems are `malformed` errors naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::new(ErrorCode::Malformed).with_message(e.body_text()))
    }
}

/// A path parameter; an id that is not a number is simply not found.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_| ApiError::new(ErrorCode::NotFound))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An authenticated, active kiosk.
#[derive(Debug, Clone, Copy)]
pub struct KioskPrincipal(pub KioskAuth);

impl FromRequestParts<AppState> for KioskPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .filter(|t| t.starts_with("gk_kiosk_"))
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
        let kiosk = state
            .store
            .kiosk_by_credential(&token)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
        if kiosk.revoked {
            return Err(ApiError::new(ErrorCode::KioskRevoked));
        }
        let primary = crate::credentials::Primary {
            kind: Credential::Kiosk,
            secret: &token,
            tenant: kiosk.tenant_id,
        };
        let access = Access::of_method(parts.method.as_str());
        crate::credentials::judge(parts, state, primary, access).await?;
        Ok(Self(kiosk))
    }
}

/// An authenticated staff principal (API token for now; web sessions join later).
#[derive(Debug, Clone)]
pub struct Staff {
    /// Who.
    pub principal: Principal,
    /// Audit context of this request.
    pub ctx: AuditCtx,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || ApiError::new(ErrorCode::Unauthorized);
        let token = bearer(parts)
            .filter(|t| t.starts_with(genkan_store::tokens::TOKEN_PREFIX))
            .map(str::to_owned)
            .ok_or_else(unauthorized)?;
        let auth = state
            .store
            .api_token(&token)
            .await?
            .ok_or_else(unauthorized)?;
        let now = state.clock.now();
        if auth.revoked || auth.expires_at.is_some_and(|e| e <= now) {
            return Err(unauthorized());
        }
        let principal = Principal {
            tenant_id: auth.tenant_id,
            actor: Actor::Token {
                token_id: auth.token_id,
                user_id: auth.user_id,
                role: auth.role,
                scopes: auth.scopes,
            },
        };
        let ip = ClientIp::from_request_parts(parts, state).await.ok();
        // The tenant's address allowlist holds for tokens as for web sessions.
        let allowlist = state.store.security_policy(auth.tenant_id).await?.allowlist;
        if allowlist.applies_to(auth.role)
            && !ip.is_some_and(|ip| allowlist.permits(auth.role, ip.0))
        {
            tracing::warn!(token.id = %auth.token_id, "API token used from an address outside the allowlist");
            return Err(ApiError::new(ErrorCode::Forbidden)
                .with_message("This network is not allowed for this organisation."));
        }
        let primary = crate::credentials::Primary {
            kind: Credential::Token,
            secret: &token,
            tenant: auth.tenant_id,
        };
        let access = Access::of_method(parts.method.as_str());
        crate::credentials::judge(parts, state, primary, access).await?;
        let ctx = AuditCtx::of(&principal, ip.map(|i| i.to_string()), current_id(), now);
        Ok(Self { principal, ctx })
    }
}

/// The audit context of an anonymous or device request.
pub fn anonymous_ctx(state: &AppState, ip: Option<ClientIp>) -> AuditCtx {
    AuditCtx {
        tenant_id: None,
        actor_kind: "anonymous",
        actor_id: None,
        ip: ip.map(|i| i.to_string()),
        request_id: current_id(),
        at: state.clock.now(),
    }
}
