//! Audit events and their hash chain: each row's hash covers its content and the
//! previous row's hash, so editing or deleting a row breaks every later link.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash a chain starts from.
pub const GENESIS: [u8; 32] = [0; 32];

/// Outcome of an audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by a rule or permission.
    Denied,
    /// Failed for another reason.
    Failed,
}

impl Outcome {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// One audit event, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Tenant, or `None` for operator/system events.
    pub tenant_id: Option<i64>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `user`, `kiosk`, `token`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id (user id for people).
    pub actor_id: Option<i64>,
    /// What was done, e.g. `appointment.create`.
    pub action: String,
    /// The kind of object acted on, e.g. `appointment`.
    pub target_kind: String,
    /// The object's id.
    pub target_id: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Extra facts (never secrets), as compact JSON.
    pub details: String,
}

fn field(h: &mut Sha256, value: &[u8]) {
    h.update((value.len() as u64).to_be_bytes());
    h.update(value);
}

impl AuditEvent {
    /// The chain hash of this event stored as row `seq` after a row hashed `prev`.
    /// Every field is length-prefixed so no two different rows hash alike.
    pub fn chain_hash(&self, seq: i64, prev: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"genkan/audit/v1\0");
        h.update(prev);
        h.update(seq.to_be_bytes());
        field(
            &mut h,
            self.tenant_id
                .map(|t| t.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(
            &mut h,
            self.at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
                .as_bytes(),
        );
        field(&mut h, self.actor_kind.as_bytes());
        field(
            &mut h,
            self.actor_id
                .map(|a| a.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(&mut h, self.action.as_bytes());
        field(&mut h, self.target_kind.as_bytes());
        field(
            &mut h,
            self.target_id.as_deref().unwrap_or_default().as_bytes(),
        );
        field(&mut h, self.outcome.as_str().as_bytes());
        field(&mut h, self.ip.as_deref().unwrap_or_default().as_bytes());
        field(
            &mut h,
            self.request_id.as_deref().unwrap_or_default().as_bytes(),
        );
        field(&mut h, self.details.as_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            tenant_id: Some(1),
            at: "2026-11-23T01:02:03Z".parse().unwrap(),
            actor_kind: "user".into(),
            actor_id: Some(5),
            action: action.into(),
            target_kind: "appointment".into(),
            target_id: Some("9".into()),
            outcome: Outcome::Ok,
            ip: Some("127.0.0.1".into()),
            request_id: Some("req-1".into()),
            details: "{}".into(),
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let e = event("appointment.create");
        let h = e.chain_hash(1, &GENESIS);
        assert_eq!(h, e.chain_hash(1, &GENESIS));
        assert_ne!(h, e.chain_hash(2, &GENESIS));
        assert_ne!(h, e.chain_hash(1, &h));
        let mut other = e;
        other.details = "{\"x\":1}".into();
        assert_ne!(h, other.chain_hash(1, &GENESIS));
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let mut a = event("ab");
        a.target_kind = "c".into();
        let mut b = event("a");
        b.target_kind = "bc".into();
        assert_ne!(a.chain_hash(1, &GENESIS), b.chain_hash(1, &GENESIS));
    }
}
