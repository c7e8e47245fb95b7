//! The generic webhook: a JSON event signed with the tenant's secret
//! (`X-Genkan-Timestamp`, `X-Genkan-Signature: v1=<hex HMAC-SHA256 over
//! "<timestamp>.<body>">`, see [`genkan_core::webhook`]). The same message id in
//! `X-Genkan-Delivery` lets receivers drop the rare repeated delivery.

use genkan_core::webhook::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde_json::Value;

use super::email::SendError;

/// A fresh webhook secret, shown once to the admin.
pub fn new_secret() -> String {
    format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Posts `event` to `url`, signed at `now` (Unix seconds). A 2xx answer comes from
/// the receiver itself, so it counts as delivered.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: &str,
    event: &Value,
    now: i64,
    allow_private: bool,
) -> Result<String, SendError> {
    let target = super::http::target(url, allow_private)?;
    let body = serde_json::to_vec(event)
        .map_err(|e| SendError::Permanent(format!("encoding the event: {e}")))?;
    let signature = sign(secret.as_bytes(), now, &body);
    let answer = super::http::send(
        client
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, delivery)
            .body(body),
        "Webhook",
    )
    .await?;
    Ok(answer.detail())
}
