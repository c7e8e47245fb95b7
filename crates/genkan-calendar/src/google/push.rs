//! Google push channels: `events.watch` opens one (with a random id and a secret
//! token Google echoes in `X-Goog-Channel-Token`), `channels.stop` closes one.
//! Channels cannot be renewed: open a new one before [`Channel::expires_at`] and stop
//! the old. A notification only says "something changed": run a sync.

use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::GoogleCalendar;
use crate::auth::Secret;
use crate::error::SyncError;
use crate::http::status_error;
use crate::source::CalendarRef;

/// Header naming the channel.
pub const CHANNEL_ID_HEADER: &str = "x-goog-channel-id";
/// Header carrying our secret token back.
pub const CHANNEL_TOKEN_HEADER: &str = "x-goog-channel-token";
/// Header naming the watched resource.
pub const RESOURCE_ID_HEADER: &str = "x-goog-resource-id";
/// Header with `sync`, `exists` or `not_exists`.
pub const RESOURCE_STATE_HEADER: &str = "x-goog-resource-state";
/// Header with the message number.
pub const MESSAGE_NUMBER_HEADER: &str = "x-goog-message-number";

/// An open push channel; store it (the token sealed) to check notifications and
/// to stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Our id for the channel.
    pub id: String,
    /// Google's id of the watched resource (needed to stop it).
    pub resource_id: String,
    /// The secret Google sends back with every notification.
    pub token: Secret,
    /// When Google stops sending.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Channel {
    /// Whether a replacement should be opened now (less than `margin` left).
    pub fn renewal_due(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        self.expires_at.is_none_or(|at| at - margin <= now)
    }
}

/// What a notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceState {
    /// The channel was just opened.
    Sync,
    /// Something changed.
    Exists,
    /// The resource is gone.
    NotExists,
}

/// A verified notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What happened.
    pub state: ResourceState,
    /// Google's message number (increases per channel).
    pub message_number: Option<u64>,
}

/// Why a notification is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// A required header is missing or not text.
    #[error("a required header is missing")]
    MissingHeader,
    /// The channel or resource id does not match the stored channel.
    #[error("the notification is for another channel")]
    WrongChannel,
    /// The token does not match.
    #[error("the channel token does not match")]
    BadToken,
    /// The resource state is not one Google sends.
    #[error("unknown resource state")]
    Malformed,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The channel id of a notification, to look the stored [`Channel`] up.
pub fn channel_id(headers: &HeaderMap) -> Option<&str> {
    header(headers, CHANNEL_ID_HEADER)
}

/// Checks a notification against the stored channel: same channel and resource,
/// and the token compared in constant time.
pub fn verify(headers: &HeaderMap, channel: &Channel) -> Result<Notification, PushError> {
    let id = header(headers, CHANNEL_ID_HEADER).ok_or(PushError::MissingHeader)?;
    let token = header(headers, CHANNEL_TOKEN_HEADER).ok_or(PushError::MissingHeader)?;
    let resource = header(headers, RESOURCE_ID_HEADER).ok_or(PushError::MissingHeader)?;
    let state = header(headers, RESOURCE_STATE_HEADER).ok_or(PushError::MissingHeader)?;
    if id != channel.id || resource != channel.resource_id {
        return Err(PushError::WrongChannel);
    }
    if !bool::from(token.as_bytes().ct_eq(channel.token.expose().as_bytes())) {
        return Err(PushError::BadToken);
    }
    let state = match state {
        "sync" => ResourceState::Sync,
        "exists" => ResourceState::Exists,
        "not_exists" => ResourceState::NotExists,
        _ => return Err(PushError::Malformed),
    };
    Ok(Notification {
        state,
        message_number: header(headers, MESSAGE_NUMBER_HEADER).and_then(|n| n.parse().ok()),
    })
}

/// A random URL-safe value of 32 bytes (channel ids, tokens, client states).
pub fn random_secret() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WatchAnswer {
    resource_id: String,
    expiration: Option<String>,
}

impl GoogleCalendar {
    /// Opens a push channel for `calendar`'s events to `address` (an https URL of
    /// the server), for about `ttl` (Google may shorten it).
    pub async fn watch(
        &self,
        calendar: &CalendarRef,
        address: &str,
        ttl: Duration,
    ) -> Result<Channel, SyncError> {
        let id = random_secret();
        let token = Secret::new(random_secret());
        let body = serde_json::json!({
            "id": id,
            "type": "web_hook",
            "address": address,
            "token": token.expose(),
            "params": { "ttl": ttl.num_seconds().max(1).to_string() },
        });
        let url = self.url(&["calendars", &calendar.id, "events", "watch"]);
        let (status, headers, answer) = self.call(self.http.post(url).json(&body)).await?;
        if !status.is_success() {
            return Err(status_error(status, &headers, &answer));
        }
        let answer: WatchAnswer = serde_json::from_str(&answer)
            .map_err(|_| SyncError::Protocol("watch answer is not the expected JSON".into()))?;
        let expires_at = answer
            .expiration
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis);
        Ok(Channel {
            id,
            resource_id: answer.resource_id,
            token,
            expires_at,
        })
    }

    /// Stops a channel. A channel Google no longer knows counts as stopped.
    pub async fn stop(&self, channel: &Channel) -> Result<(), SyncError> {
        let body = serde_json::json!({ "id": channel.id, "resourceId": channel.resource_id });
        let url = self.url(&["channels", "stop"]);
        let (status, headers, answer) = self.call(self.http.post(url).json(&body)).await?;
        if status.is_success() || status.as_u16() == 404 {
            return Ok(());
        }
        Err(status_error(status, &headers, &answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Channel {
        Channel {
            id: "chan-1".into(),
            resource_id: "res-1".into(),
            token: Secret::new("s3cret"),
            expires_at: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_right_channel_and_token_pass() {
        let good = [
            (CHANNEL_ID_HEADER, "chan-1"),
            (CHANNEL_TOKEN_HEADER, "s3cret"),
            (RESOURCE_ID_HEADER, "res-1"),
            (RESOURCE_STATE_HEADER, "exists"),
            (MESSAGE_NUMBER_HEADER, "7"),
        ];
        let n = verify(&headers(&good), &channel()).unwrap();
        assert_eq!(n.state, ResourceState::Exists);
        assert_eq!(n.message_number, Some(7));
        let mut bad = good;
        bad[1].1 = "s3cre";
        assert_eq!(verify(&headers(&bad), &channel()), Err(PushError::BadToken));
        let mut other = good;
        other[2].1 = "res-2";
        assert_eq!(
            verify(&headers(&other), &channel()),
            Err(PushError::WrongChannel)
        );
        assert_eq!(
            verify(&headers(&good[..3]), &channel()),
            Err(PushError::MissingHeader)
        );
        assert_ne!(random_secret(), random_secret());
    }
}
