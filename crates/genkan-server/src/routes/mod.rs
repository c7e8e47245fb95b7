//! The router: the one place where every URL and its handler can be seen.

pub mod api_channels;
pub mod api_directory;
pub mod api_v1;
pub mod health;
pub mod kiosk_reply;
pub mod kiosk_v1;
pub mod reply;
pub mod web;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use genkan_core::wire::v1::ErrorCode;

use crate::error::ApiError;
use crate::request;
use crate::state::AppState;

/// The OpenAPI document of the kiosk and admin APIs.
pub const OPENAPI: &str = include_str!("../../../../assets/openapi.json");

/// Largest accepted API request body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest accepted web form (CSV imports and logos have their own limits).
pub const FORM_LIMIT: usize = 256 * 1024;

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    // Behind a reverse proxy that terminates TLS the public URL is https: the proxy
    // passes the header on to browsers.
    let transport = Transport {
        https: state.config.tls.files().is_some()
            || state.config.server.public_url.starts_with("https://"),
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/openapi.json", get(openapi))
        .nest("/api/kiosk/v1", kiosk_v1::router())
        .nest("/api/v1", api_v1::router())
        .merge(web::router())
        .merge(reply::router())
        .fallback(not_found)
        .layer(middleware::from_fn(typed_method_not_allowed))
        .layer(middleware::from_fn(crate::ops::metrics::track))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        // A handler that panics answers a typed 500, never a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.trusted.clone(),
            request::context,
        ))
        // Outermost, so that every answer carries them, time-outs included.
        .layer(middleware::from_fn_with_state(transport, security_headers))
        .with_state(state)
}

/// Answers a request that takes longer than `limit` (receiving a slow body
/// included) with a typed 503, instead of letting it hold a connection.
async fn deadline(
    State(limit): State<Duration>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let is_api = is_api(request.uri().path());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            if is_api {
                ApiError::new(ErrorCode::Unavailable)
                    .with_message("The request took too long and was abandoned; check its effect before retrying.")
                    .into_response()
            } else {
                crate::web::error::error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error.unavailable",
                    "error.unavailable_detail",
                )
            }
        }
    }
}

/// The answer to a request whose handler panicked: the generic typed error (the
/// panic itself is logged by the panic hook, never sent to the client).
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(ErrorCode::Internal).into_response()
}

/// Whether `path` belongs to the JSON APIs (typed JSON errors) rather than the web app.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(uri: Uri) -> Response {
    if is_api(uri.path()) {
        ApiError::new(ErrorCode::NotFound)
            .with_message(format!("No such endpoint: {}", uri.path()))
            .into_response()
    } else {
        crate::web::error::error_page(
            StatusCode::NOT_FOUND,
            "error.not_found",
            "error.not_found_detail",
        )
    }
}

/// How the server is reached: HSTS is sent over HTTPS only (RFC 6797 §7.2 forbids
/// it over plain HTTP, where browsers ignore it anyway), that is with the built-in
/// TLS listener or behind a proxy whose public URL is `https://`.
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    /// The listener speaks TLS.
    pub https: bool,
}

/// axum answers a method a route does not have with an empty 405; on the APIs that
/// becomes the typed `method_not_allowed` error, keeping the `Allow` header.
async fn typed_method_not_allowed(
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let is_api = is_api(request.uri().path());
    let response = next.run(request).await;
    if !is_api
        || response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut typed = ApiError::new(ErrorCode::MethodNotAllowed).into_response();
    if let Some(allow) = allow {
        typed.headers_mut().insert(header::ALLOW, allow);
    }
    typed
}

/// Headers every response carries.
pub async fn security_headers(
    State(transport): State<Transport>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let is_api = is_api(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if transport.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if is_api {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        // No inline script or style anywhere: pages load /static files only.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        h.insert(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}
