//! The admin's view of the staff directory: users with their last sign-in and groups,
//! the mails sent to one user, and groups looked up one at a time.

use chrono::{DateTime, Utc};
use genkan_core::id::{MessageId, TenantId, UserId};
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::outbox::LedgerEntry;
use crate::sql::{get_opt_ts, get_ts};
use crate::tenants::{User, user_row};
use crate::users::Group;

/// A user as listed on the users screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserListing {
    /// The account.
    pub user: User,
    /// Last successful sign-in, if any.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Names of the groups the user belongs to, sorted.
    pub groups: Vec<String>,
}

impl Store {
    /// Every user of the tenant with last sign-in and group names, by name.
    pub async fn user_directory(&self, tenant: TenantId) -> StoreResult<Vec<UserListing>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT u.id, u.tenant_id, u.email, u.display_name, u.role, u.locale, u.status, u.created_at,
                        u.last_sign_in_at,
                        (SELECT group_concat(name, char(31)) FROM
                            (SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
                             WHERE m.user_id = u.id AND m.tenant_id = u.tenant_id ORDER BY g.name))
                 FROM users u WHERE u.tenant_id = ?1 ORDER BY u.display_name, u.id",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| {
                    let groups: Option<String> = r.get(9)?;
                    Ok(UserListing {
                        user: user_row(r)?,
                        last_sign_in_at: get_opt_ts(r, 8)?,
                        groups: groups
                            .map(|g| g.split('\u{1f}').map(str::to_owned).collect())
                            .unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// One user of the tenant with last sign-in and groups.
    pub async fn user_listing(&self, tenant: TenantId, user: UserId) -> StoreResult<UserListing> {
        self.user_directory(tenant)
            .await?
            .into_iter()
            .find(|l| l.user.id == user)
            .ok_or(StoreError::NotFound)
    }

    /// The mails sent (or queued) to a staff user: invitations and password resets.
    pub async fn user_messages(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<LedgerEntry>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, channel, recipient, status, attempts, last_error, created_at, sent_at
                 FROM outbox WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY id",
            )?;
            let rows = stmt
                .query_map(params![tenant.get(), user.get()], |r| {
                    let recipient: String = r.get(3)?;
                    Ok(LedgerEntry {
                        id: MessageId(r.get(0)?),
                        kind: r.get(1)?,
                        channel: r.get(2)?,
                        recipient: genkan_core::text::mask_email(&recipient),
                        status: r.get(4)?,
                        attempts: r.get(5)?,
                        last_error: r.get(6)?,
                        created_at: get_ts(r, 7)?,
                        sent_at: get_opt_ts(r, 8)?,
                        delivered_at: None,
                        acknowledged_at: None,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// One group of the tenant with its members.
    pub async fn group(&self, tenant: TenantId, group: i64) -> StoreResult<Group> {
        self.read(move |c| {
            let name: Option<String> = c
                .query_row(
                    "SELECT name FROM groups WHERE id = ?1 AND tenant_id = ?2",
                    params![group, tenant.get()],
                    |r| r.get(0),
                )
                .optional()?;
            let name = name.ok_or(StoreError::NotFound)?;
            let members = c
                .prepare_cached(
                    "SELECT user_id FROM group_members WHERE group_id = ?1 AND tenant_id = ?2",
                )?
                .query_map(params![group, tenant.get()], |r| Ok(UserId(r.get(0)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Group {
                id: group,
                name,
                members,
            })
        })
        .await
    }
}
