//! Outbound HTTP for the relying party: bounded bodies, no redirects, JSON out.

use reqwest::{Client, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

/// The most a discovery document, key set or token response may weigh.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Why an outbound request to an identity provider failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No answer: connection, TLS or time-out.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// The answer was a redirect, which is never followed.
    #[error("the identity provider answered with a redirect, which is not followed")]
    Redirected,
    /// The answer's status was not a success.
    #[error("the identity provider answered with status {status}")]
    Status {
        /// The HTTP status received.
        status: u16,
        /// The body, cut to a few hundred characters, for the log.
        body: String,
    },
    /// The body was larger than [`MAX_BODY_BYTES`].
    #[error("the identity provider's answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body was not the JSON expected.
    #[error("the identity provider's answer is not valid: {0}")]
    Malformed(String),
}

/// Sends a request built on the caller's client and reads a JSON body of at most
/// [`MAX_BODY_BYTES`]. The caller's client should have redirects turned off; a followed
/// redirect (a final URL other than the one asked for) is refused all the same.
pub(crate) async fn fetch_json<T: DeserializeOwned>(
    request: RequestBuilder,
) -> Result<(StatusCode, T), FetchError> {
    let (status, body) = fetch_bytes(request).await?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(FetchError::Status {
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        });
    }
    serde_json::from_slice(&body)
        .map(|value| (status, value))
        .map_err(|e| FetchError::Malformed(e.to_string()))
}

/// Sends a request and reads the raw body with the size cap, whatever the status.
pub(crate) async fn fetch_bytes(
    request: RequestBuilder,
) -> Result<(StatusCode, Vec<u8>), FetchError> {
    let (client, request) = request.build_split();
    let request = request.map_err(|e| FetchError::Unreachable(e.to_string()))?;
    let asked = request.url().clone();
    let mut response = client
        .execute(request)
        .await
        .map_err(|e| FetchError::Unreachable(e.to_string()))?;
    if response.status().is_redirection() || response.url() != &asked {
        return Err(FetchError::Redirected);
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A client fit for talking to identity providers: no redirects, short time-outs. The
/// server may pass its own (for example one with an SSRF-guarding resolver) instead.
pub fn default_client() -> Result<Client, FetchError> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| FetchError::Unreachable(e.to_string()))
}
