//! Every credential a request carries (session cookies, bearer tokens, kiosk
//! credentials) and the read-only rule of ended tenants judged over all of them
//! (`genkan_core::read_only`). The principal extractors call [`judge`] once, after
//! authenticating their own credential, with what their route does; the others are
//! looked up here. Any lookup that fails refuses the request.

use axum::http::header;
use axum::http::request::Parts;
use genkan_core::id::TenantId;
use genkan_core::read_only::{self, Access, Credential, TenantState, Verdict};
use genkan_core::wire::v1::ErrorCode;
use genkan_store::StoreError;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::PageError;

/// Most credentials one request may carry; more are refused unjudged.
const MOST: usize = 8;

/// The credential an extractor authenticated: judged with the others, looked up
/// only once.
#[derive(Debug, Clone, Copy)]
pub struct Primary<'a> {
    /// Its kind.
    pub kind: Credential,
    /// Its secret as sent (so it is not looked up a second time).
    pub secret: &'a str,
    /// Its tenant.
    pub tenant: TenantId,
}

/// Why a request was refused.
#[derive(Debug)]
pub enum Refusal {
    /// A credential belongs to an ended tenant that may not do this.
    ReadOnly,
    /// A credential or its tenant could not be looked up.
    Store(StoreError),
    /// More credentials than any client sends.
    TooMany,
}

impl From<Refusal> for PageError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::ReadOnly => Self::ReadOnly,
            Refusal::Store(e) => e.into(),
            Refusal::TooMany => Self::BadRequest,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::ReadOnly => Self::new(ErrorCode::ReadOnly),
            Refusal::Store(e) => e.into(),
            Refusal::TooMany => Self::new(ErrorCode::Malformed)
                .with_message("Send one credential: a bearer token or a session cookie."),
        }
    }
}

/// Every credential of the request: bearer values of every `Authorization` header
/// (kiosk credentials told by their prefix) and every value of the session cookie.
fn carried(parts: &Parts, state: &AppState) -> Vec<(Credential, String)> {
    let bearers = parts
        .headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| {
            let secret = secret.trim().to_owned();
            let kind = if secret.starts_with("gk_kiosk_") {
                Credential::Kiosk
            } else {
                Credential::Token
            };
            (kind, secret)
        });
    let name = if crate::web::session::is_secure(state) {
        crate::web::session::SECURE_COOKIE
    } else {
        crate::web::session::PLAIN_COOKIE
    };
    let sessions = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| (Credential::Session, v.to_owned()));
    bearers.chain(sessions).collect()
}

/// The tenant of a credential that was not authenticated by the extractor.
async fn tenant_of(
    state: &AppState,
    kind: Credential,
    secret: &str,
) -> Result<Option<TenantId>, StoreError> {
    match kind {
        Credential::Kiosk => Ok(state
            .store
            .kiosk_by_credential(secret)
            .await?
            .map(|k| k.tenant_id)),
        Credential::Token => state.store.tenant_of_secret(secret, false).await,
        Credential::Session => state.store.tenant_of_secret(secret, true).await,
    }
}

/// Judges a request doing `access` by every credential it carries; returns whether
/// the primary credential's tenant is read-only (for the banner of web pages).
pub async fn judge(
    parts: &Parts,
    state: &AppState,
    primary: Primary<'_>,
    access: Access,
) -> Result<bool, Refusal> {
    let mut others = carried(parts, state);
    if let Some(i) = others
        .iter()
        .position(|(k, s)| *k == primary.kind && s == primary.secret)
    {
        others.swap_remove(i);
    }
    if others.len() + 1 > MOST {
        tracing::warn!(
            count = others.len() + 1,
            "request with too many credentials refused"
        );
        return Err(Refusal::TooMany);
    }
    let now = state.clock.now();
    let mut tenants = vec![(primary.kind, Ok(Some(primary.tenant)))];
    for (kind, secret) in &others {
        tenants.push((*kind, tenant_of(state, *kind, secret).await));
    }
    let mut judged = Vec::with_capacity(tenants.len());
    let (mut failure, mut ended) = (None, Vec::new());
    for (kind, tenant) in tenants {
        let tenant = match tenant {
            Ok(Some(t)) => t,
            // Belongs to no tenant: grants nothing, so it neither helps nor hurts.
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "a credential could not be looked up: refused");
                failure.get_or_insert(e);
                judged.push((kind, TenantState::Unknown));
                continue;
            }
        };
        let state = match state.store.is_read_only(tenant, now).await {
            Ok(true) => {
                ended.push(tenant);
                TenantState::ReadOnly
            }
            Ok(false) => TenantState::Open,
            Err(e) => {
                tracing::warn!(error = %e, tenant.id = %tenant, "a tenant's state is unknown: refused");
                failure.get_or_insert(e);
                TenantState::Unknown
            }
        };
        judged.push((kind, state));
    }
    match read_only::judge(access, judged) {
        Verdict::Allowed => Ok(ended.contains(&primary.tenant)),
        Verdict::ReadOnly => {
            tracing::info!(
                tenant.ids = ?ended,
                "refused: the tenant's contract has ended (read-only)"
            );
            Err(Refusal::ReadOnly)
        }
        Verdict::Unknown => Err(Refusal::Store(failure.unwrap_or_else(|| {
            StoreError::Corrupt("a credential's state is unknown".to_owned())
        }))),
    }
}
