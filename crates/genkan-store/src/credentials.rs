//! Ending every credential of a user at once: web sessions and API tokens (access
//! and refresh, of every family). Used when a password is reset or changed and
//! when a user is disabled; ended tokens stay revoked, so re-enabling a user
//! revives none of them (new ones must be made).

use chrono::{DateTime, Utc};
use genkan_core::id::{TenantId, UserId};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::StoreResult;
use crate::sql::ts;

/// How many credentials were ended (for the audit row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Ended {
    /// Web sessions ended.
    pub(crate) sessions_ended: usize,
    /// API tokens (access and refresh) revoked.
    pub(crate) tokens_revoked: usize,
}

/// Ends `user`'s sessions, except the one hashed `keep` (the browser making a
/// change of its own password), and revokes all their API tokens, in the caller's
/// transaction.
pub(crate) fn end_all(
    conn: &Connection,
    tenant: TenantId,
    user: UserId,
    keep: Option<&[u8; 32]>,
    at: DateTime<Utc>,
) -> StoreResult<Ended> {
    let sessions_ended = conn.execute(
        "UPDATE sessions SET revoked_at = ?1
         WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL
           AND (?4 IS NULL OR id_hash != ?4)",
        params![ts(at), tenant.get(), user.get(), keep.map(|k| k.as_slice())],
    )?;
    let tokens_revoked = conn.execute(
        "UPDATE api_tokens SET revoked_at = ?1
         WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
        params![ts(at), tenant.get(), user.get()],
    )?;
    Ok(Ended {
        sessions_ended,
        tokens_revoked,
    })
}
