//! Graph change notifications: creating, renewing and deleting subscriptions on a
//! mailbox's events, answering the validation request (echo `validationToken` as
//! `text/plain` within 10 seconds), and checking notifications (each item's
//! `clientState` compared in constant time). Event subscriptions last under 7 days:
//! renew before [`Subscription::expires_at`]. Lifecycle notifications
//! (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) are reported too.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::GraphCalendar;
use crate::auth::Secret;
use crate::error::SyncError;
use crate::google::push::random_secret;
use crate::http::status_error;
use crate::source::CalendarRef;

/// Longest lifetime Graph grants an event subscription (just under 7 days).
pub const MAX_LIFETIME: Duration = Duration::minutes(10_070);
/// Longest validation token echoed.
const MAX_VALIDATION_TOKEN: usize = 4096;

/// An active subscription; store it (the client state sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Graph's id.
    pub id: String,
    /// The watched resource (`/users/{id}/events`).
    pub resource: String,
    /// When it ends unless renewed.
    pub expires_at: DateTime<Utc>,
    /// The secret Graph sends back in every notification.
    pub client_state: Secret,
}

impl Subscription {
    /// Whether it should be renewed now (less than `margin` left).
    pub fn renewal_due(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        self.expires_at - margin <= now
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionAnswer {
    id: String,
    resource: Option<String>,
    expiration_date_time: DateTime<Utc>,
}

/// The `validationToken` of a validation request's query string, decoded, to be
/// echoed as the `text/plain` body of a 200 answer. `None` when the request is not a
/// validation (or the token is implausible).
pub fn validation_token(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v.into_owned())
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_VALIDATION_TOKEN && !v.chars().any(char::is_control)
        })
}

/// What a notification item reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationKind {
    /// Events changed: run a sync of the subscription's calendar.
    Changed {
        /// `created`, `updated` or `deleted`.
        change_type: String,
    },
    /// Graph needs a renewal with fresh credentials now.
    ReauthorizationRequired,
    /// Graph removed the subscription: create a new one and resync.
    SubscriptionRemoved,
    /// Notifications were lost: resync.
    Missed,
}

/// A verified notification item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The subscription it belongs to.
    pub subscription_id: String,
    /// What it says.
    pub kind: NotificationKind,
}

/// The verified items of one notification request, and how many were refused
/// (unknown subscription or wrong client state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    /// Items that passed.
    pub accepted: Vec<Notification>,
    /// Items refused.
    pub rejected: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    subscription_id: String,
    client_state: Option<String>,
    change_type: Option<String>,
    lifecycle_event: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    value: Vec<Item>,
}

/// Checks a notification body. `client_state` looks up the stored secret of a
/// subscription id (`None` for an unknown subscription). A body that is not a
/// notification at all is an error; single bad items are only counted.
pub fn parse_notifications(
    body: &str,
    client_state: impl Fn(&str) -> Option<Secret>,
) -> Result<Notifications, SyncError> {
    let body: Body = serde_json::from_str(body)
        .map_err(|_| SyncError::Protocol("not a Graph notification".into()))?;
    let mut out = Notifications::default();
    for item in body.value {
        let expected = client_state(&item.subscription_id);
        let given = item.client_state.unwrap_or_default();
        let ok =
            expected.is_some_and(|e| bool::from(e.expose().as_bytes().ct_eq(given.as_bytes())));
        if !ok {
            out.rejected += 1;
            continue;
        }
        let kind = match item.lifecycle_event.as_deref() {
            Some("reauthorizationRequired") => NotificationKind::ReauthorizationRequired,
            Some("subscriptionRemoved") => NotificationKind::SubscriptionRemoved,
            Some("missed") => NotificationKind::Missed,
            Some(_) => {
                out.rejected += 1;
                continue;
            }
            None => NotificationKind::Changed {
                change_type: item.change_type.unwrap_or_default(),
            },
        };
        out.accepted.push(Notification {
            subscription_id: item.subscription_id,
            kind,
        });
    }
    Ok(out)
}

impl GraphCalendar {
    /// Subscribes to changes of `calendar`'s events. Graph first sends a validation
    /// request to `notification_url` (and `lifecycle_url`), which must be answered
    /// with [`validation_token`]; the subscription exists only once that succeeded.
    pub async fn subscribe(
        &self,
        calendar: &CalendarRef,
        notification_url: &str,
        lifecycle_url: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> Result<Subscription, SyncError> {
        let resource = format!("/users/{}/events", calendar.id);
        let client_state = Secret::new(random_secret());
        let mut body = serde_json::json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": expires_at.to_rfc3339(),
            "clientState": client_state.expose(),
        });
        if let Some(url) = lifecycle_url {
            body["lifecycleNotificationUrl"] = serde_json::Value::String(url.to_owned());
        }
        let (status, headers, answer) = self
            .call(self.http.post(self.url(&["subscriptions"])).json(&body))
            .await?;
        if !status.is_success() {
            return Err(status_error(status, &headers, &answer));
        }
        let answer: SubscriptionAnswer = serde_json::from_str(&answer).map_err(|_| {
            SyncError::Protocol("subscription answer is not the expected JSON".into())
        })?;
        Ok(Subscription {
            id: answer.id,
            resource: answer.resource.unwrap_or(resource),
            expires_at: answer.expiration_date_time,
            client_state,
        })
    }

    /// Extends a subscription to `expires_at`. A 404 means Graph dropped it:
    /// subscribe again and resync.
    pub async fn renew(
        &self,
        subscription: &Subscription,
        expires_at: DateTime<Utc>,
    ) -> Result<Subscription, SyncError> {
        let body = serde_json::json!({ "expirationDateTime": expires_at.to_rfc3339() });
        let url = self.url(&["subscriptions", &subscription.id]);
        let (status, headers, answer) = self.call(self.http.patch(url).json(&body)).await?;
        if !status.is_success() {
            return Err(status_error(status, &headers, &answer));
        }
        let answer: SubscriptionAnswer = serde_json::from_str(&answer).map_err(|_| {
            SyncError::Protocol("subscription answer is not the expected JSON".into())
        })?;
        Ok(Subscription {
            expires_at: answer.expiration_date_time,
            ..subscription.clone()
        })
    }

    /// Deletes a subscription; one Graph no longer knows counts as deleted.
    pub async fn unsubscribe(&self, subscription: &Subscription) -> Result<(), SyncError> {
        let url = self.url(&["subscriptions", &subscription.id]);
        let (status, headers, answer) = self.call(self.http.delete(url)).await?;
        if status.is_success() || status.as_u16() == 404 {
            return Ok(());
        }
        Err(status_error(status, &headers, &answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_tokens_are_decoded_and_bounded() {
        assert_eq!(
            validation_token("validationToken=Validation%3A%20Testing%20client%20application")
                .as_deref(),
            Some("Validation: Testing client application")
        );
        assert_eq!(validation_token("other=1"), None);
        assert_eq!(validation_token("validationToken=a%0Db"), None);
        assert_eq!(
            validation_token(&format!("validationToken={}", "a".repeat(5000))),
            None
        );
    }

    #[test]
    fn items_with_a_wrong_client_state_or_unknown_subscription_are_refused() {
        let body = r#"{"value":[
          {"subscriptionId":"s1","clientState":"right","changeType":"updated","resource":"x"},
          {"subscriptionId":"s1","clientState":"wrong","changeType":"updated"},
          {"subscriptionId":"s2","clientState":"right","changeType":"created"},
          {"subscriptionId":"s1","clientState":"right","lifecycleEvent":"reauthorizationRequired"}]}"#;
        let lookup = |id: &str| (id == "s1").then(|| Secret::new("right"));
        let n = parse_notifications(body, lookup).unwrap();
        assert_eq!(n.rejected, 2);
        assert_eq!(n.accepted.len(), 2);
        assert_eq!(
            n.accepted[1].kind,
            NotificationKind::ReauthorizationRequired
        );
        assert!(parse_notifications("[]", lookup).is_err());
    }
}
