//! The audit log: appended in the same transaction as the change it records,
//! hash-chained per tenant, verifiable row by row.

use chrono::{DateTime, Utc};
use genkan_core::access::Principal;
use genkan_core::audit::{AuditEvent, GENESIS, Outcome};
use genkan_core::id::TenantId;
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::{StoreError, StoreResult};
use crate::sql::{get_ts, optional, ts};

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

/// Appends one event to its tenant's chain.
pub(crate) fn append(
    conn: &Connection,
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
    let hash = event.chain_hash(seq, &prev_hash);
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

/// The first row whose chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The chain (tenant id, 0 for system).
    pub chain: i64,
    /// Row id of the first bad row.
    pub row_id: i64,
    /// Sequence number within the chain where the break was found.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// Result of verifying every chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u64,
    /// Chains checked.
    pub chains: u64,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
}

/// Recomputes every hash of every chain; stops at the first break.
pub fn verify_chains(conn: &Connection) -> StoreResult<ChainReport> {
    let mut stmt = conn.prepare(
        "SELECT id, chain, seq, tenant_id, at, actor_kind, actor_id, action, target_kind,
                target_id, outcome, ip, request_id, details, prev_hash, hash
         FROM audit_log ORDER BY chain, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut report = ChainReport {
        rows: 0,
        chains: 0,
        first_break: None,
    };
    let mut current_chain: Option<i64> = None;
    let mut expected_prev = GENESIS;
    let mut expected_seq = 1;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let chain: i64 = row.get(1)?;
        let seq: i64 = row.get(2)?;
        if current_chain != Some(chain) {
            current_chain = Some(chain);
            report.chains += 1;
            expected_prev = GENESIS;
            expected_seq = 1;
        }
        report.rows += 1;
        let outcome = match row.get::<_, String>(10)?.as_str() {
            "ok" => Outcome::Ok,
            "denied" => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let event = AuditEvent {
            tenant_id: row.get(3)?,
            at: get_ts(row, 4)?,
            actor_kind: row.get(5)?,
            actor_id: row.get(6)?,
            action: row.get(7)?,
            target_kind: row.get(8)?,
            target_id: row.get(9)?,
            outcome,
            ip: row.get(11)?,
            request_id: row.get(12)?,
            details: row.get(13)?,
        };
        let prev: Vec<u8> = row.get(14)?;
        let stored: Vec<u8> = row.get(15)?;
        let broken = |reason: &str| ChainBreak {
            chain,
            row_id: id,
            seq,
            reason: reason.to_owned(),
        };
        let problem = if seq != expected_seq {
            Some(broken("a row is missing before this one"))
        } else if prev.as_slice() != expected_prev.as_slice() {
            Some(broken("previous-hash link does not match"))
        } else if stored.as_slice() != event.chain_hash(seq, &expected_prev).as_slice() {
            Some(broken("row content does not match its hash"))
        } else {
            None
        };
        if let Some(b) = problem {
            report.first_break = Some(b);
            return Ok(report);
        }
        expected_prev = stored
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("audit hash length".to_owned()))?;
        expected_seq += 1;
    }
    Ok(report)
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

    /// Verifies the audit chains of the live database.
    pub async fn verify_audit(&self) -> StoreResult<ChainReport> {
        self.read(verify_chains).await
    }
}
