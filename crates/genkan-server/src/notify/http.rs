//! What every HTTP channel shares: the target URL is checked again at send time
//! (scheme, literal addresses; names are checked by the client's resolver), errors
//! never show the URL (it is a secret), and answers are classified the same way:
//! 2xx ok, 429 and 5xx retried (obeying `Retry-After`), anything else given up.

use reqwest::{StatusCode, Url};

use super::email::SendError;
use crate::outbound::literal_allowed;

/// Longest `Retry-After` obeyed, in seconds; a larger one is capped.
pub const MAX_RETRY_AFTER: u64 = 3600;

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Body (first 2,000 characters).
    pub body: String,
}

impl Answer {
    /// A short detail for the ledger.
    pub fn detail(&self) -> String {
        format!(
            "{} {}",
            self.status.as_u16(),
            self.body.chars().take(200).collect::<String>()
        )
    }
}

/// Parses a URL and refuses schemes and literal addresses the operator did not allow.
pub fn target(url: &str, allow_private: bool) -> Result<Url, SendError> {
    let parsed =
        Url::parse(url).map_err(|_| SendError::Permanent("invalid target URL".to_owned()))?;
    let scheme_ok = match parsed.scheme() {
        "https" => true,
        "http" => allow_private,
        _ => false,
    };
    if !scheme_ok {
        return Err(SendError::Permanent(
            "only https targets are allowed".to_owned(),
        ));
    }
    if !literal_allowed(&parsed, allow_private) {
        return Err(SendError::Permanent(
            "the target address is not public".to_owned(),
        ));
    }
    Ok(parsed)
}

/// Reads `Retry-After` in seconds (the HTTP-date form counts as "no hint").
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.min(MAX_RETRY_AFTER))
}

/// Sends `request` and classifies the answer; `label` names the channel in errors.
pub async fn send(request: reqwest::RequestBuilder, label: &str) -> Result<Answer, SendError> {
    let response = request
        .send()
        .await
        .map_err(|e| SendError::transient(format!("{label}: {}", super::slack::without_url(&e))))?;
    let status = response.status();
    let hint = retry_after(response.headers());
    let body: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(2000)
        .collect();
    let short: String = body.chars().take(200).collect();
    match status {
        s if s.is_success() => Ok(Answer { status: s, body }),
        StatusCode::TOO_MANY_REQUESTS => Err(SendError::Transient {
            message: format!("{label} rate limit (429) {short}"),
            retry_after: hint.or(Some(30)),
        }),
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Err(SendError::Transient {
            message: format!("{label} answered {} {short}", s.as_u16()),
            retry_after: hint,
        }),
        s if s.is_redirection() => Err(SendError::Permanent(format!(
            "{label} answered a redirect ({}); not followed",
            s.as_u16()
        ))),
        s => Err(SendError::Permanent(format!(
            "{label} refused: {} {short}",
            s.as_u16()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_need_https_and_public_literals_unless_private_networks_are_allowed() {
        assert!(target("https://hooks.example.com/x", false).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "https://10.0.0.1/x",
            "ftp://example.com/x",
            "not a url",
        ] {
            assert!(target(bad, false).is_err(), "{bad}");
        }
        assert!(target("http://127.0.0.1:9/x", true).is_ok());
    }
}
