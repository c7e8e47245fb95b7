//! `ApiError`: the one error type of the JSON APIs, and the only place an error
//! becomes a response. Every error carries a stable code; 5xx details go to the log,
//! never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use genkan_core::appointment::FieldError;
use genkan_core::wire::v1::{ErrorBody, ErrorCode, FieldProblem};
use genkan_store::StoreError;

/// An API error: HTTP status, stable code, human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// Human message (English).
    pub message: String,
    /// Per-field problems.
    pub fields: Vec<FieldProblem>,
    /// Seconds to wait, for `rate_limited`.
    pub retry_after: Option<u64>,
}

/// The status each error code is answered with.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::KioskRevoked | ErrorCode::ReadOnly => {
            StatusCode::FORBIDDEN
        }
        ErrorCode::NotFound | ErrorCode::PassUnknown => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::AlreadyInside | ErrorCode::NotInside | ErrorCode::Conflict => {
            StatusCode::CONFLICT
        }
        ErrorCode::PassNotYetValid
        | ErrorCode::PassExpired
        | ErrorCode::PassCancelled
        | ErrorCode::OtherSite
        | ErrorCode::ReplayRefused
        | ErrorCode::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The default human message of each code.
pub fn message_of(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::PassUnknown => "This pass is not known here.",
        ErrorCode::PassNotYetValid => "This pass is not valid yet.",
        ErrorCode::PassExpired => "This pass has expired.",
        ErrorCode::PassCancelled => "This pass was cancelled.",
        ErrorCode::AlreadyInside => "This visitor is already checked in.",
        ErrorCode::NotInside => "This visitor is not checked in.",
        ErrorCode::OtherSite => "This pass is for another site.",
        ErrorCode::KioskRevoked => "This kiosk has been revoked; pair it again.",
        ErrorCode::RateLimited => "Too many attempts; wait a moment and try again.",
        ErrorCode::ReplayRefused => {
            "This offline check-in is not accepted: the pass was not in a roster this kiosk \
             received for that time, or the time is outside the replay window."
        }
        ErrorCode::Malformed => "The request could not be read.",
        ErrorCode::Validation => "Some fields are not valid.",
        ErrorCode::Unauthorized => "Sign-in or credentials are required.",
        ErrorCode::Forbidden => "You are not allowed to do this.",
        ErrorCode::NotFound => "Not found.",
        ErrorCode::MethodNotAllowed => "This endpoint does not support this HTTP method.",
        ErrorCode::Conflict => "This conflicts with the current state.",
        ErrorCode::PayloadTooLarge => "The request is too large.",
        ErrorCode::ReadOnly => "This organisation's contract has ended; data is read-only.",
        ErrorCode::Unavailable => "The service is busy; nothing was changed. Please retry.",
        ErrorCode::Internal => "An unexpected error occurred; nothing was changed.",
    }
}

impl ApiError {
    /// An error with the code's default status and message.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: status_of(code),
            code,
            message: message_of(code).to_owned(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// The same error with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// A validation error listing each field's problem.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let mut e = Self::new(ErrorCode::Validation);
        e.fields = fields
            .into_iter()
            .map(|f| FieldProblem {
                field: f.field,
                code: f.code.to_owned(),
                message: f.message,
            })
            .collect();
        e
    }

    /// A single-field validation error.
    pub fn field(field: &str, code: &'static str, message: &str) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    /// `rate_limited` with a retry hint.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// An unexpected failure; `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::new(ErrorCode::NotFound),
            StoreError::Conflict { constraint } => {
                tracing::info!(%constraint, "store conflict");
                Self::new(ErrorCode::Conflict)
            }
            StoreError::Busy | StoreError::Closed => {
                tracing::warn!(error = %err, "store unavailable");
                Self::new(ErrorCode::Unavailable)
            }
            StoreError::DiskFull => {
                tracing::error!("disk full: request refused, nothing committed");
                Self::new(ErrorCode::Unavailable).with_message(
                    "The server's disk is full; nothing was saved. Please tell the operator.",
                )
            }
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            request_id: crate::request::current_id(),
            fields: self.fields,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(v) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
