//! Shared HTTP handling: API base URLs, per-request timeouts, bounded bodies, and the mapping of
//! statuses (401, 403, 404, 429, 503, 5xx) to [`SyncError`].

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode, Url};

use crate::error::{RetryAfter, SyncError};

/// A provider's API base URL (`https://…/v1.0`, a trailing slash ignored), refused
/// unless it can carry path segments; `provider` names it in the error.
pub(crate) fn api_base(api_base: &str, provider: &str) -> Result<Url, SyncError> {
    Url::parse(api_base.trim_end_matches('/'))
        .ok()
        .filter(|u| !u.cannot_be_a_base())
        .ok_or_else(|| SyncError::Protocol(format!("invalid {provider} API base URL")))
}

/// `base` with `segments` appended, each percent-encoded as one path segment.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Limits applied to every provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for one request, including its body.
    pub timeout: Duration,
    /// Largest response body read, in bytes.
    pub max_body: usize,
    /// Most pages (or sync rounds) followed in one sync.
    pub max_pages: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_body: 32 * 1024 * 1024,
            max_pages: 400,
        }
    }
}

/// Sends a request with the timeout and reads a bounded body. Non-2xx statuses come
/// back as `Ok((status, body))` so callers can inspect provider-specific answers
/// (410, sync-token errors) before [`status_error`] maps the rest.
pub(crate) async fn send(
    request: RequestBuilder,
    limits: &Limits,
) -> Result<(StatusCode, reqwest::header::HeaderMap, String), SyncError> {
    let mut response: Response = request
        .timeout(limits.timeout)
        .send()
        .await
        .map_err(|e| SyncError::transport(&e))?;
    let status = response.status();
    let headers = response.headers().clone();
    if response
        .content_length()
        .is_some_and(|l| l > limits.max_body as u64)
    {
        return Err(SyncError::TooLarge("response body"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SyncError::transport(&e))?
    {
        if body.len() + chunk.len() > limits.max_body {
            return Err(SyncError::TooLarge("response body"));
        }
        body.extend_from_slice(&chunk);
    }
    let body =
        String::from_utf8(body).map_err(|_| SyncError::Protocol("body is not UTF-8".into()))?;
    Ok((status, headers, body))
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<RetryAfter> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(RetryAfter::parse)
}

/// Google answers some rate limits with 403 and a reason in the body.
fn is_rate_limit_reason(body: &str) -> bool {
    [
        "rateLimitExceeded",
        "userRateLimitExceeded",
        "quotaExceeded",
    ]
    .iter()
    .any(|r| body.contains(r))
}

/// The error for a non-success status.
pub(crate) fn status_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> SyncError {
    match status.as_u16() {
        401 => SyncError::Unauthorized,
        403 if is_rate_limit_reason(body) => SyncError::Throttled {
            status: 403,
            retry_after: retry_after(headers),
        },
        403 => SyncError::Forbidden {
            reason: provider_reason(body).unwrap_or_default(),
        },
        404 => SyncError::NotFound,
        429 | 503 => SyncError::Throttled {
            status: status.as_u16(),
            retry_after: retry_after(headers),
        },
        s @ 500..=599 => SyncError::Unavailable { status: s },
        s => SyncError::Http { status: s },
    }
}

/// The machine reason of a Google or Graph JSON error body (`error.errors[0].reason`,
/// `error.code`), cut short and limited to safe characters for logs.
pub(crate) fn provider_reason(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let err = v.get("error")?;
    let reason = err
        .pointer("/errors/0/reason")
        .or_else(|| err.get("code"))
        .and_then(|r| r.as_str())
        .or_else(|| err.as_str())?;
    Some(
        reason
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .take(64)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let e = status_error(StatusCode::TOO_MANY_REQUESTS, &h, "");
        assert_eq!(
            e.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(7)))
        );
        let google = r#"{"error":{"errors":[{"reason":"rateLimitExceeded"}],"code":403}}"#;
        assert!(matches!(
            status_error(StatusCode::FORBIDDEN, &h, google),
            SyncError::Throttled { status: 403, .. }
        ));
        let denied = r#"{"error":{"code":"ErrorAccessDenied<script>","message":"x"}}"#;
        match status_error(StatusCode::FORBIDDEN, &h, denied) {
            SyncError::Forbidden { reason } => assert_eq!(reason, "ErrorAccessDeniedscript"),
            other => panic!("{other:?}"),
        }
        assert!(status_error(StatusCode::UNAUTHORIZED, &h, "").needs_attention());
        assert!(matches!(
            status_error(StatusCode::BAD_GATEWAY, &h, ""),
            SyncError::Unavailable { status: 502 }
        ));
    }
}
