//! Audit events and their chain: each row's link covers its content and the
//! previous row's link, so editing or deleting a row breaks every later link.
//!
//! Links are HMAC-SHA-256 under a key kept outside the database ([`ChainKey`]), so
//! someone who can write the database but lacks the key cannot re-link a changed
//! chain. Rows written before chains were keyed carry the unkeyed SHA-256 link of
//! the first version ([`AuditEvent::chain_hash`]); [`chain`] walks both kinds, and
//! [`anchor`] compares chains with heads recorded outside the database.

pub mod anchor;
pub mod chain;

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The link a chain starts from.
pub const GENESIS: [u8; 32] = [0; 32];

/// The key of audit links: derived from the MAC key of the key file, never stored
/// in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    /// Wraps key material.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA-256 of `parts` (concatenated) under this key.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

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

/// Appends `value` with its length, so no two different rows encode alike.
fn field(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value);
}

impl AuditEvent {
    /// The bytes a link covers after its version tag: the previous link, the
    /// sequence number and every field, length-prefixed.
    fn encode(&self, seq: i64, prev: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.details.len());
        out.extend_from_slice(prev);
        out.extend_from_slice(&seq.to_be_bytes());
        let tenant = self.tenant_id.map(|t| t.to_string()).unwrap_or_default();
        field(&mut out, tenant.as_bytes());
        let at = self.at.to_rfc3339_opts(SecondsFormat::Micros, true);
        field(&mut out, at.as_bytes());
        field(&mut out, self.actor_kind.as_bytes());
        let actor = self.actor_id.map(|a| a.to_string()).unwrap_or_default();
        field(&mut out, actor.as_bytes());
        field(&mut out, self.action.as_bytes());
        field(&mut out, self.target_kind.as_bytes());
        field(
            &mut out,
            self.target_id.as_deref().unwrap_or_default().as_bytes(),
        );
        field(&mut out, self.outcome.as_str().as_bytes());
        field(&mut out, self.ip.as_deref().unwrap_or_default().as_bytes());
        field(
            &mut out,
            self.request_id.as_deref().unwrap_or_default().as_bytes(),
        );
        field(&mut out, self.details.as_bytes());
        out
    }

    /// The unkeyed link (version 1) of this event stored as row `seq` after a row
    /// linked `prev`: only verified for rows written before chains were keyed.
    pub fn chain_hash(&self, seq: i64, prev: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"genkan/audit/v1\0");
        h.update(self.encode(seq, prev));
        h.finalize().into()
    }

    /// The keyed link (version 2) of this event stored as row `seq` after a row
    /// linked `prev`: HMAC-SHA-256 under `key`.
    pub fn chain_mac(&self, key: &ChainKey, seq: i64, prev: &[u8; 32]) -> [u8; 32] {
        key.mac(&[b"genkan/audit/v2\0", &self.encode(seq, prev)])
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
    fn the_unkeyed_link_is_the_first_versions_hash() {
        // Pinned: rows written before keying must keep verifying.
        let h = event("appointment.create").chain_hash(1, &GENESIS);
        assert_eq!(
            hex(&h),
            "14fa0ee8d5ca32e93aa6f8a36d331024b9dcbeca33b60590f0830b4829f6194b"
        );
    }

    #[test]
    fn keyed_links_depend_on_the_key_and_differ_from_unkeyed_ones() {
        let e = event("appointment.create");
        let key = ChainKey::new([7; 32]);
        let mac = e.chain_mac(&key, 1, &GENESIS);
        assert_eq!(mac, e.chain_mac(&key, 1, &GENESIS));
        assert_ne!(mac, e.chain_mac(&ChainKey::new([8; 32]), 1, &GENESIS));
        assert_ne!(mac, e.chain_hash(1, &GENESIS));
        assert_ne!(mac, e.chain_mac(&key, 2, &GENESIS));
        assert!(!format!("{key:?}").contains('7'));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
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
