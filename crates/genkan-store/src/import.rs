//! Bulk import of staff users: every account, group membership and invitation mail
//! of one file is written in a single transaction, or nothing is.

use std::collections::HashMap;

use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, UserId};
use genkan_core::text::Locale;
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::StoreResult;
use crate::sql::ts;
use crate::users::{LinkMail, LinkPurpose, insert_link};

pub use genkan_core::import::ImportUser;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Users created (each was sent an invitation).
    pub users: usize,
    /// Groups that did not exist before.
    pub groups_created: usize,
}

/// Why an import was refused as a whole (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// These rows name e-mail addresses the tenant already has: `(row, email)`.
    EmailsTaken(Vec<(usize, String)>),
}

impl Store {
    /// Imports `rows` as invited users with their groups and queues every invitation,
    /// in one transaction. If any address already exists in the tenant, nothing is
    /// written and the offending rows are returned.
    pub async fn import_users(
        &self,
        tenant: TenantId,
        rows: Vec<ImportUser>,
        inviter: String,
        ctx: AuditCtx,
    ) -> StoreResult<Result<ImportSummary, ImportRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            // Check everything before writing anything.
            let mut taken = Vec::new();
            {
                let mut exists = tx.prepare_cached(
                    "SELECT 1 FROM users WHERE tenant_id = ?1 AND email = ?2",
                )?;
                for r in &rows {
                    if exists
                        .query_row(params![tenant.get(), r.email.as_str()], |_| Ok(()))
                        .optional()?
                        .is_some()
                    {
                        taken.push((r.row, r.email.as_str().to_owned()));
                    }
                }
            }
            if !taken.is_empty() {
                return Ok(Err(ImportRefusal::EmailsTaken(taken)));
            }
            let locale: String = tx.query_row(
                "SELECT default_locale FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| r.get(0),
            )?;
            let locale = Locale::parse(&locale).unwrap_or_default();
            let mut group_ids: HashMap<String, i64> = HashMap::new();
            let mut groups_created = 0;
            for r in &rows {
                tx.prepare_cached(
                    "INSERT INTO users (tenant_id, email, display_name, role, status, created_at)
                     VALUES (?1, ?2, ?3, ?4, 'invited', ?5)",
                )?
                .execute(params![
                    tenant.get(),
                    r.email.as_str(),
                    r.name.as_str(),
                    r.role.as_str(),
                    ts(ctx.at)
                ])?;
                let user = UserId(tx.last_insert_rowid());
                for name in &r.groups {
                    let id = match group_ids.get(name) {
                        Some(id) => *id,
                        None => {
                            let existing: Option<i64> = tx
                                .query_row(
                                    "SELECT id FROM groups WHERE tenant_id = ?1 AND name = ?2",
                                    params![tenant.get(), name],
                                    |r| r.get(0),
                                )
                                .optional()?;
                            let id = match existing {
                                Some(id) => id,
                                None => {
                                    tx.execute(
                                        "INSERT INTO groups (tenant_id, name, created_at) VALUES (?1, ?2, ?3)",
                                        params![tenant.get(), name, ts(ctx.at)],
                                    )?;
                                    groups_created += 1;
                                    let id = tx.last_insert_rowid();
                                    append(tx, &ctx, "group.create", "group", Some(id.to_string()), Outcome::Ok, &json!({"name": name, "import": true}))?;
                                    id
                                }
                            };
                            group_ids.insert(name.clone(), id);
                            id
                        }
                    };
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO group_members (group_id, user_id, tenant_id) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![id, user.get(), tenant.get()])?;
                }
                insert_link(
                    tx,
                    &keys,
                    LinkMail {
                        tenant,
                        user,
                        email: r.email.as_str(),
                        locale,
                        purpose: LinkPurpose::Invite,
                        inviter: Some(inviter.clone()),
                        at: ctx.at,
                    },
                )?;
                append(
                    tx,
                    &ctx,
                    "user.invite",
                    "user",
                    Some(user.to_string()),
                    Outcome::Ok,
                    &json!({"role": r.role.as_str(), "import": true}),
                )?;
            }
            append(
                tx,
                &ctx,
                "user.import",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!({"users": rows.len(), "groups_created": groups_created}),
            )?;
            if !rows.is_empty() {
                tx.wake_outbox();
            }
            Ok(Ok(ImportSummary {
                users: rows.len(),
                groups_created,
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use genkan_core::access::Role;
    use genkan_core::tenant::TimeZone;
    use genkan_core::text::{DisplayName, EmailAddress, OrgName};

    use super::*;
    use crate::tenants::NewTenant;
    use crate::{KeyRing, StoreConfig};

    fn row(row: usize, email: &str, groups: &[&str]) -> ImportUser {
        ImportUser {
            row,
            email: EmailAddress::parse(email).unwrap(),
            name: DisplayName::parse("Someone").unwrap(),
            role: Role::Host,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn an_import_writes_every_row_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig {
            path: dir.path().join("t.db"),
            keys: KeyRing::generate(),
            readers: 1,
        })
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        let tenant = store
            .create_tenant(
                NewTenant {
                    slug: "acme".into(),
                    name: OrgName::parse("Acme").unwrap(),
                    default_locale: Locale::Ja,
                    time_zone: TimeZone::default(),
                },
                AuditCtx::system(None, at),
            )
            .await
            .unwrap()
            .id;
        let ctx = AuditCtx::system(Some(tenant), at);
        let first = store
            .import_users(
                tenant,
                vec![
                    row(2, "a@acme.example", &["Sales", "Tokyo"]),
                    row(3, "b@acme.example", &["Sales"]),
                ],
                "Admin".into(),
                ctx.clone(),
            )
            .await
            .unwrap();
        assert_eq!(
            first,
            Ok(ImportSummary {
                users: 2,
                groups_created: 2
            })
        );
        let refused = store
            .import_users(
                tenant,
                vec![
                    row(2, "c@acme.example", &["New"]),
                    row(3, "a@acme.example", &[]),
                ],
                "Admin".into(),
                ctx,
            )
            .await
            .unwrap();
        assert_eq!(
            refused,
            Err(ImportRefusal::EmailsTaken(vec![(
                3,
                "a@acme.example".into()
            )]))
        );
        assert_eq!(
            store.users(tenant).await.unwrap().len(),
            2,
            "c was not written"
        );
        let groups = store.groups(tenant).await.unwrap();
        assert_eq!(groups.len(), 2, "the group New was not created");
        let queued: u64 = store
            .outbox_counts(Some(tenant))
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            queued, 2,
            "one invitation per imported user, none for the refused file"
        );
    }
}
