//! The errors of calendar sync and token requests, typed so the caller can tell a
//! connection that needs an admin (revoked, forbidden) from one that needs patience
//! (throttled, unavailable). Messages never contain tokens or event text.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long a server asked us to wait (`Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// A number of seconds.
    Delay(Duration),
    /// An HTTP date.
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// Parses a `Retry-After` header value (seconds or an HTTP date).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Self::Delay(Duration::from_secs(secs.min(86_400))));
        }
        DateTime::parse_from_rfc2822(value)
            .ok()
            .map(|t| Self::At(t.with_timezone(&Utc)))
    }

    /// The instant to try again, seen from `now`.
    pub fn until(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Delay(d) => now + chrono::Duration::from_std(d).unwrap_or_default(),
            Self::At(at) => at.max(now),
        }
    }
}

/// Why a sync or another provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// 401: the access token is expired or revoked. Refresh it once and retry; if
    /// the refresh fails too, the connection needs to be set up again.
    #[error("the provider refused the credentials")]
    Unauthorized,
    /// 403 (not a rate limit): the account may not read this calendar.
    #[error("the provider denied access ({reason})")]
    Forbidden {
        /// The provider's reason code, when it gave one.
        reason: String,
    },
    /// 404: the calendar (or subscription) does not exist.
    #[error("the calendar was not found")]
    NotFound,
    /// 429, 503, or a provider's rate-limit answer: try again after `retry_after`
    /// (or a backoff of the caller's choosing when absent).
    #[error("the provider is throttling requests")]
    Throttled {
        /// The HTTP status.
        status: u16,
        /// When the provider said to retry.
        retry_after: Option<RetryAfter>,
    },
    /// Another 5xx.
    #[error("the provider failed with HTTP {status}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
    },
    /// Another unexpected status.
    #[error("unexpected HTTP {status} from the provider")]
    Http {
        /// The HTTP status.
        status: u16,
    },
    /// Connecting, TLS, a timeout, or a refused address (the outbound guard).
    #[error("could not reach the provider: {0}")]
    Transport(String),
    /// The answer could not be understood.
    #[error("the provider's answer was not understood: {0}")]
    Protocol(String),
    /// The answer or the number of pages exceeded the limits.
    #[error("the provider's answer exceeded the limits ({0})")]
    TooLarge(&'static str),
}

impl SyncError {
    /// Stable machine code, for logs, `/readyz` detail and the settings page.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound => "not_found",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable { .. } => "unavailable",
            Self::Http { .. } => "http_error",
            Self::Transport(_) => "unreachable",
            Self::Protocol(_) => "protocol",
            Self::TooLarge(_) => "too_large",
        }
    }

    /// Whether an admin (or the host) must act: the connection is broken, not busy.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized | Self::Forbidden { .. } | Self::NotFound
        )
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn transport(e: &reqwest::Error) -> Self {
        // reqwest's Display may include the URL; keep only the kind.
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connection failed"
        } else if e.is_redirect() {
            "redirect refused"
        } else if e.is_body() || e.is_decode() {
            "body interrupted"
        } else {
            "request failed"
        };
        Self::Transport(kind.to_owned())
    }
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `invalid_grant`: the refresh token or authorisation code is expired or
    /// revoked, or (service accounts) the delegation was withdrawn. The connection
    /// must be set up again.
    #[error("the grant is expired or revoked")]
    InvalidGrant,
    /// `invalid_client` / `unauthorized_client`: the client id, secret or the
    /// domain-wide delegation is wrong.
    #[error("the client is not authorised ({0})")]
    InvalidClient(String),
    /// Throttled: try again later.
    #[error("the token endpoint is throttling requests")]
    Throttled {
        /// When the server said to retry.
        retry_after: Option<RetryAfter>,
    },
    /// The key of a service account could not be used.
    #[error("the service-account key is unusable: {0}")]
    Key(String),
    /// Another failure talking to the token endpoint.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl AuthError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClient(_) => "invalid_client",
            Self::Throttled { .. } => "throttled",
            Self::Key(_) => "invalid_key",
            Self::Sync(e) => e.code(),
        }
    }

    /// Whether an admin must act (as opposed to retrying later).
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Self::InvalidGrant | Self::InvalidClient(_) | Self::Key(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let d = RetryAfter::parse(" 30 ").unwrap();
        assert_eq!(d.until(now), now + chrono::Duration::seconds(30));
        let at = RetryAfter::parse("Tue, 01 Dec 2026 00:02:00 GMT").unwrap();
        assert_eq!(at.until(now), now + chrono::Duration::minutes(2));
        assert_eq!(RetryAfter::parse("soon"), None);
        assert_eq!(
            RetryAfter::parse("99999999"),
            Some(RetryAfter::Delay(Duration::from_secs(86_400)))
        );
    }
}
