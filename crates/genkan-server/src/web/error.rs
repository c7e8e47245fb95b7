//! Errors of web pages: a redirect to sign-in, or a generic error page that never
//! shows internals (details go to the log under the request id).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use genkan_core::text::Locale;
use genkan_store::StoreError;

use super::i18n::Tr;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// Signed in with the password, second factor missing.
    SecondFactor,
    /// Anywhere else.
    Redirect(String),
    /// Not found, or not visible to this user (same answer on purpose).
    NotFound,
    /// Signed in, but not allowed (role).
    Forbidden,
    /// The tenant's contract has ended: nothing may change any more.
    ReadOnly,
    /// A form was posted without a valid CSRF token or from another origin.
    Csrf,
    /// The body was unreadable.
    BadRequest,
    /// The form was larger than forms may be.
    TooLarge,
    /// Busy: nothing changed, try again.
    Unavailable,
    /// Anything unexpected.
    Internal,
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    ja: Tr,
    en: Tr,
    status: u16,
    heading: &'static str,
    detail: &'static str,
    request_id: String,
}

impl PageError {
    /// An unexpected error; the detail goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "page failed");
        Self::Internal
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Busy | StoreError::Closed | StoreError::DiskFull => {
                tracing::warn!(error = %e, "store unavailable");
                Self::Unavailable
            }
            other => Self::internal(other),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, detail) = match self {
            Self::SignIn => return Redirect::to("/login").into_response(),
            Self::SecondFactor => return Redirect::to("/login/mfa").into_response(),
            Self::Redirect(to) => return Redirect::to(&to).into_response(),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "error.not_found",
                "error.not_found_detail",
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "error.forbidden",
                "error.forbidden_detail",
            ),
            Self::ReadOnly => (
                StatusCode::FORBIDDEN,
                "error.read_only",
                "error.read_only_detail",
            ),
            Self::Csrf => (StatusCode::FORBIDDEN, "error.csrf", "error.csrf_detail"),
            Self::BadRequest => (
                StatusCode::BAD_REQUEST,
                "error.bad_request",
                "error.bad_request_detail",
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "error.form_too_large",
                "error.form_too_large_detail",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "error.unavailable",
                "error.unavailable_detail",
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.internal",
                "error.internal_detail",
            ),
        };
        error_page(status, heading, detail)
    }
}

/// Renders the generic error page (in Japanese and English: the user's language
/// may be what failed to load).
pub fn error_page(status: StatusCode, heading: &'static str, detail: &'static str) -> Response {
    let page = ErrorPage {
        ja: Tr::new(Locale::Ja),
        en: Tr::new(Locale::En),
        status: status.as_u16(),
        heading,
        detail,
        request_id: crate::request::current_id().unwrap_or_default(),
    };
    let body = page.render().unwrap_or_else(|_| "error".to_owned());
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Result of a page handler.
pub type PageResult<T> = Result<T, PageError>;
