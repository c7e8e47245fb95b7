//! The audit log: appended in the same transaction as the change it records,
//! chained per tenant with keyed links (verification: [`crate::audit_chain`]).

use chrono::{DateTime, Utc};
use genkan_core::access::Principal;
use genkan_core::audit::{AuditEvent, GENESIS, Outcome};
use genkan_core::id::TenantId;
use rusqlite::params;
use serde::Serialize;

use crate::conn::writer::Tx;
use crate::error::{StoreError, StoreResult};
use crate::sql::{optional, ts};

/// Who did something, from where, when: attached to every audited change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCtx {
    /// The tenant acted in (`None` for operator/system actions).
    pub tenant_id: Option<TenantId>,
    /// `user`, `kiosk`, `token`, `system`, `operator` or `anonymous`.
    pub actor_kind: &'static str,
    /// The actor's id.
    pub actor_id: Option<i64>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl AuditCtx {
    /// An action by the system itself (jobs, CLI).
    pub fn system(tenant_id: Option<TenantId>, at: DateTime<Utc>) -> Self {
        Self {
            tenant_id,
            actor_kind: "system",
            actor_id: None,
            ip: None,
            request_id: None,
            at,
        }
    }

    /// An action by the operator on the command line (`genkan tenant end`, …),
    /// carried out by the running server or, when none runs, by the command itself.
    pub fn operator(tenant_id: Option<TenantId>, at: DateTime<Utc>) -> Self {
        Self {
            actor_kind: "operator",
            ..Self::system(tenant_id, at)
        }
    }

    /// An action by an authenticated principal.
    pub fn of(
        principal: &Principal,
        ip: Option<String>,
        request_id: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        let (kind, id) = principal.audit_actor();
        Self {
            tenant_id: Some(principal.tenant_id),
            actor_kind: kind,
            actor_id: Some(id),
            ip,
            request_id,
            at,
        }
    }
}

/// Appends one event to its tenant's chain, linked under the transaction's audit key.
pub(crate) fn append(
    conn: &Tx<'_>,
    ctx: &AuditCtx,
    action: &str,
    target_kind: &str,
    target_id: Option<String>,
    outcome: Outcome,
    details: &impl Serialize,
) -> StoreResult<()> {
    let chain = ctx.tenant_id.map_or(0, TenantId::get);
    let prev = optional(conn.query_row(
        "SELECT seq, hash FROM audit_log WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
        [chain],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
    ))?;
    let (seq, prev_hash) = match prev {
        Some((seq, hash)) => (
            seq + 1,
            <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| StoreError::Corrupt("audit hash length".to_owned()))?,
        ),
        None => (1, GENESIS),
    };
    let event = AuditEvent {
        tenant_id: ctx.tenant_id.map(TenantId::get),
        at: ctx.at,
        actor_kind: ctx.actor_kind.to_owned(),
        actor_id: ctx.actor_id,
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id,
        outcome,
        ip: ctx.ip.clone(),
        request_id: ctx.request_id.clone(),
        details: serde_json::to_string(details).unwrap_or_else(|_| "{}".to_owned()),
    };
    let hash = event.chain_mac(conn.audit_key(), seq, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit_log (chain, seq, tenant_id, at, actor_kind, actor_id, action,
            target_kind, target_id, outcome, ip, request_id, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        chain,
        seq,
        event.tenant_id,
        ts(event.at),
        event.actor_kind,
        event.actor_id,
        event.action,
        event.target_kind,
        event.target_id,
        outcome.as_str(),
        event.ip,
        event.request_id,
        event.details,
        prev_hash.as_slice(),
        hash.as_slice(),
    ])?;
    Ok(())
}

impl crate::Store {
    /// Records an event that changes nothing else (sign-in attempts, refusals).
    pub async fn record_audit(
        &self,
        ctx: AuditCtx,
        action: &'static str,
        target_kind: &'static str,
        target_id: Option<String>,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> StoreResult<()> {
        self.write(move |tx| append(tx, &ctx, action, target_kind, target_id, outcome, &details))
            .await
    }
}
