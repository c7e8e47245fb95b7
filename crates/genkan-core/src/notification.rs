//! What must be told to whom: message kinds and channels. Delivery lives in the server.

use serde::{Deserialize, Serialize};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// SMTP e-mail.
    Email,
    /// Slack incoming webhook or bot.
    Slack,
    /// Microsoft Teams workflow webhook.
    Teams,
    /// Chatwork room.
    Chatwork,
    /// Signed generic JSON webhook.
    Webhook,
}

impl Channel {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Chatwork => "chatwork",
            Self::Webhook => "webhook",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Email,
            Self::Slack,
            Self::Teams,
            Self::Chatwork,
            Self::Webhook,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The visitor's pass: QR image, fallback code, calendar file.
    Invitation,
    /// The appointment was cancelled.
    Cancellation,
    /// The appointment's time, place or host changed; the pass stays valid.
    AppointmentUpdate,
    /// The host's visitor arrived.
    HostArrival,
    /// A new staff member is invited to set a password.
    UserInvitation,
    /// A staff member asked to reset their password.
    PasswordReset,
    /// A reception kiosk stopped reporting (told to the tenant's admins).
    KioskSilent,
    /// The visitor's reminder the day before the visit.
    Reminder,
    /// The host's visitor has not arrived some minutes after the start.
    NoShow,
    /// An invitation could not be delivered (rejected address, bounce): told to the host.
    InvitationFailed,
    /// An operator notice (incident, maintenance, SLA change, end of service) to a tenant's admins.
    Notice,
    /// An alert to the operator (a failed backup or restore drill).
    OperatorAlert,
}

impl MessageKind {
    /// Stable stored name, also the template folder name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::Cancellation => "cancellation",
            Self::AppointmentUpdate => "appointment_update",
            Self::HostArrival => "host_arrival",
            Self::UserInvitation => "user_invitation",
            Self::PasswordReset => "password_reset",
            Self::KioskSilent => "kiosk_silent",
            Self::Reminder => "reminder",
            Self::NoShow => "no_show",
            Self::InvitationFailed => "invitation_failed",
            Self::Notice => "notice",
            Self::OperatorAlert => "operator_alert",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Invitation,
            Self::Cancellation,
            Self::AppointmentUpdate,
            Self::HostArrival,
            Self::UserInvitation,
            Self::PasswordReset,
            Self::KioskSilent,
            Self::Reminder,
            Self::NoShow,
            Self::InvitationFailed,
            Self::Notice,
            Self::OperatorAlert,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where a message stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for (another) attempt.
    Queued,
    /// A worker holds it right now.
    Sending,
    /// Handed to the channel successfully.
    Sent,
    /// Gave up after the last attempt or a permanent failure.
    Dead,
    /// Sent, and the channel itself confirmed it reached its destination (Slack
    /// API, Chatwork, a webhook's own answer). Shown in the ledger; stored as `sent`
    /// with a delivery time.
    Delivered,
    /// The host replied to the alert. Shown in the ledger; stored as `sent` with an
    /// acknowledgement time.
    Acknowledged,
}

impl DeliveryStatus {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Dead => "dead",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Sending,
            Self::Sent,
            Self::Dead,
            Self::Delivered,
            Self::Acknowledged,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Retry policy: exponential backoff with jitter, then dead-letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt, in seconds.
    pub base_secs: i64,
    /// Longest delay between attempts, in seconds.
    pub max_secs: i64,
    /// Attempts before the message is dead-lettered.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_secs: 5,
            max_secs: 3600,
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait after failed attempt number `attempt` (1-based), with
    /// `jitter` in `[0, 1)` spreading retries by up to ±25 %. `None` means give up.
    pub fn delay_after(&self, attempt: u32, jitter: f64) -> Option<i64> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = self
            .base_secs
            .saturating_mul(1i64 << attempt.saturating_sub(1).min(30));
        let capped = exp.min(self.max_secs) as f64;
        let spread = capped * (0.75 + 0.5 * jitter.clamp(0.0, 1.0));
        Some(spread.round().max(1.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_ends() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(1, 0.5), Some(5));
        assert_eq!(p.delay_after(2, 0.5), Some(10));
        assert_eq!(p.delay_after(3, 0.5), Some(20));
        assert_eq!(p.delay_after(11, 0.5), Some(3600));
        assert_eq!(p.delay_after(12, 0.5), None);
        let low = p.delay_after(4, 0.0).unwrap();
        let high = p.delay_after(4, 0.999).unwrap();
        assert!(low < 40 && high > 40, "{low} {high}");
    }

    #[test]
    fn names_round_trip() {
        for c in [
            Channel::Email,
            Channel::Slack,
            Channel::Teams,
            Channel::Chatwork,
            Channel::Webhook,
        ] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for k in [
            MessageKind::Invitation,
            MessageKind::Cancellation,
            MessageKind::HostArrival,
        ] {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
    }
}
