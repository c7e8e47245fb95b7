//! The router: the one place where every URL and its handler can be seen.

pub mod api_channels;
pub mod api_v1;
pub mod health;
pub mod kiosk_reply;
pub mod kiosk_v1;
pub mod reply;
pub mod web;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use genkan_core::wire::v1::ErrorCode;
use tower_http::timeout::TimeoutLayer;

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
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/openapi.json", get(openapi))
        .nest("/api/kiosk/v1", kiosk_v1::router())
        .nest("/api/v1", api_v1::router())
        .merge(web::router())
        .merge(reply::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ops::read_only::guard,
        ))
        .layer(middleware::from_fn(crate::ops::metrics::track))
        .layer(middleware::from_fn(security_headers))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.trusted.clone(),
            request::context,
        ))
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
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

/// Headers every response carries.
async fn security_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
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
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
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
