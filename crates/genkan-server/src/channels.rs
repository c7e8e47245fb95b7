//! Checking notification channel settings before they are stored, shared by the
//! settings page and the admin API: every URL must pass the SSRF check (public
//! address, https) unless the operator allows private networks; tokens and room
//! ids must have their channel's shape so they cannot smuggle anything into a
//! request.

use genkan_store::channels::NotificationPolicy;
use serde_json::{Value, json};

use crate::outbound::{OutboundError, check_webhook_url};

/// A setting that was refused: which field, a stable code and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Form field / JSON property.
    pub field: &'static str,
    /// Stable code (also the catalog key under `form.`).
    pub code: &'static str,
    /// English explanation.
    pub message: String,
}

fn problem(field: &'static str, code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        field,
        code,
        message: message.into(),
    }
}

/// Checks a webhook-style URL (Slack, Teams, generic webhook).
pub async fn check_url(
    field: &'static str,
    url: &str,
    allow_private: bool,
) -> Result<String, Problem> {
    let url = url.trim();
    if url.is_empty() || url.len() > 2000 {
        return Err(problem(field, "webhook_invalid", "enter the URL"));
    }
    check_webhook_url(url, allow_private)
        .await
        .map(|u| u.to_string())
        .map_err(|e| {
            let code = match e {
                OutboundError::Invalid => "webhook_invalid",
                OutboundError::Scheme => "webhook_scheme",
                OutboundError::NotPublic(_) => "webhook_private",
                OutboundError::Unresolvable => "webhook_unresolvable",
            };
            problem(field, code, e.to_string())
        })
}

fn plain_token(field: &'static str, value: &str, max: usize) -> Result<String, Problem> {
    let v = value.trim();
    let ok = !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(problem(
            field,
            "token_invalid",
            "paste the token exactly as given",
        ))
    }
}

/// Slack bot settings: a bot token (`xoxb-…`) and the app's signing secret.
pub fn slack_bot(bot_token: &str, signing_secret: &str) -> Result<Value, Problem> {
    let token = plain_token("bot_token", bot_token, 300)?;
    if !token.starts_with("xoxb-") {
        return Err(problem(
            "bot_token",
            "token_invalid",
            "a bot token starts with xoxb-",
        ));
    }
    let secret = signing_secret.trim();
    if !secret.is_empty()
        && (secret.len() > 128 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(problem(
            "signing_secret",
            "token_invalid",
            "paste the signing secret exactly as given",
        ));
    }
    Ok(json!({"bot_token": token, "signing_secret": secret}))
}

/// Teams settings.
pub async fn teams(url: &str, allow_private: bool) -> Result<Value, Problem> {
    Ok(json!({"url": check_url("teams_url", url, allow_private).await?}))
}

/// Chatwork settings: API token and numeric room id.
pub fn chatwork(token: &str, room_id: &str) -> Result<Value, Problem> {
    let token = plain_token("chatwork_token", token, 200)?;
    let room = room_id.trim();
    if !crate::notify::chatwork::valid_room(room) {
        return Err(problem(
            "chatwork_room",
            "room_invalid",
            "the room id is the number in the room's address",
        ));
    }
    Ok(json!({"token": token, "room_id": room}))
}

/// Generic webhook settings with a fresh secret; returns (settings, secret to show once).
pub async fn webhook(url: &str, allow_private: bool) -> Result<(Value, String), Problem> {
    let url = check_url("webhook_url", url, allow_private).await?;
    let secret = crate::notify::webhook::new_secret();
    Ok((json!({"url": url, "secret": secret}), secret))
}

/// A Slack channel the bot posts to: its id (`C0123…`) or `#name`.
pub fn slack_channel(name: &str) -> Result<String, Problem> {
    let n = name.trim();
    let ok = n.is_empty()
        || (n.len() <= 80
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'-' | b'_')));
    if ok {
        Ok(n.to_owned())
    } else {
        Err(problem(
            "slack_channel",
            "channel_invalid",
            "use the channel id or #name",
        ))
    }
}

/// Reminder and no-show policies.
pub fn policy(reminder: bool, hour: &str, no_show: &str) -> Result<NotificationPolicy, Problem> {
    let hour = hour
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|h| (0..=23).contains(h))
        .ok_or_else(|| problem("reminder_hour", "hour_range", "enter an hour from 0 to 23"))?;
    let minutes = match no_show.trim() {
        "" => 0,
        m => m
            .parse::<i64>()
            .ok()
            .filter(|m| (0..=1440).contains(m))
            .ok_or_else(|| {
                problem(
                    "no_show_minutes",
                    "no_show_range",
                    "enter 0 to 1440 minutes",
                )
            })?,
    };
    Ok(NotificationPolicy {
        reminder_enabled: reminder,
        reminder_hour: hour,
        no_show_minutes: minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_channel_url_setting_refuses_internal_addresses() {
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://2130706433/",
            "https://localhost/",
            "http://hooks.example.com/",
        ] {
            assert!(teams(url, false).await.is_err(), "teams {url}");
            assert!(webhook(url, false).await.is_err(), "webhook {url}");
            assert!(
                check_url("slack_url", url, false).await.is_err(),
                "slack {url}"
            );
        }
    }

    #[test]
    fn tokens_rooms_and_channels_must_have_their_shape() {
        assert!(slack_bot("xoxb-1-2-abc", "abc123").is_ok());
        assert!(slack_bot("xoxp-user", "abc").is_err());
        assert!(slack_bot("xoxb-1\r\nX-Evil: 1", "abc").is_err());
        assert!(chatwork("abc", "123").is_ok());
        assert!(chatwork("abc", "123/../../x").is_err());
        assert!(slack_channel("#reception").is_ok() && slack_channel("a b").is_err());
        assert!(policy(true, "17", "15").is_ok());
        assert!(policy(true, "24", "").is_err() && policy(false, "9", "-1").is_err());
    }
}
