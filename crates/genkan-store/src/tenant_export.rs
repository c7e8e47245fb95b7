//! Everything a tenant holds, entity by entity, for the "download all data" export:
//! read in one read transaction (a consistent picture), row by row (flat memory),
//! without any secret (no password, pass, kiosk or session hashes, no sealed
//! payloads) and with e-mail recipients of the delivery ledger masked. Times are
//! ISO 8601 with the tenant's offset.

use genkan_core::id::TenantId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::mask_email;
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::parse_ts;

/// Receives the export: one `table` call per entity, then its rows.
pub trait ExportSink: Send + 'static {
    /// Starts entity `name` (file `<name>.csv`) with its column names; `false` stops.
    fn table(&mut self, name: &str, header: &[&str]) -> bool;
    /// One row; `false` stops (the client went away).
    fn row(&mut self, cells: &[String]) -> bool;
}

/// How a column is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Plain,
    Time,
    MaskedEmail,
    Hex,
}

/// (file, SQL with `?1` = tenant, columns (name, kind)).
type Entity = (&'static str, &'static str, &'static [(&'static str, Col)]);

const ENTITIES: &[Entity] = &[
    (
        "tenant",
        "SELECT id, slug, name, default_locale, time_zone, created_at, contract_ends_on, visitor_retention_days FROM tenants WHERE id = ?1",
        &[
            ("id", Col::Plain),
            ("slug", Col::Plain),
            ("name", Col::Plain),
            ("default_locale", Col::Plain),
            ("time_zone", Col::Plain),
            ("created_at", Col::Time),
            ("contract_ends_on", Col::Plain),
            ("visitor_retention_days", Col::Plain),
        ],
    ),
    (
        "sites",
        "SELECT id, name, time_zone, address, created_at FROM sites WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("name", Col::Plain),
            ("time_zone", Col::Plain),
            ("address", Col::Plain),
            ("created_at", Col::Time),
        ],
    ),
    (
        "users",
        "SELECT id, email, display_name, role, locale, status, created_at, last_sign_in_at FROM users WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("email", Col::Plain),
            ("display_name", Col::Plain),
            ("role", Col::Plain),
            ("locale", Col::Plain),
            ("status", Col::Plain),
            ("created_at", Col::Time),
            ("last_sign_in_at", Col::Time),
        ],
    ),
    (
        "groups",
        "SELECT g.id, g.name, g.created_at, (SELECT group_concat(m.user_id, ';') FROM group_members m WHERE m.group_id = g.id AND m.tenant_id = g.tenant_id) FROM groups g WHERE g.tenant_id = ?1 ORDER BY g.id",
        &[
            ("id", Col::Plain),
            ("name", Col::Plain),
            ("created_at", Col::Time),
            ("member_user_ids", Col::Plain),
        ],
    ),
    (
        "appointments",
        "SELECT id, site_id, host_id, title, starts_at, ends_at, valid_from, valid_until, status, created_by, created_at, updated_at FROM appointments WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("site_id", Col::Plain),
            ("host_id", Col::Plain),
            ("title", Col::Plain),
            ("starts_at", Col::Time),
            ("ends_at", Col::Time),
            ("valid_from", Col::Time),
            ("valid_until", Col::Time),
            ("status", Col::Plain),
            ("created_by", Col::Plain),
            ("created_at", Col::Time),
            ("updated_at", Col::Time),
        ],
    ),
    (
        "visitors",
        "SELECT id, appointment_id, name, company, email, phone, locale, created_at, anonymised_at FROM visitors WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("appointment_id", Col::Plain),
            ("name", Col::Plain),
            ("company", Col::Plain),
            ("email", Col::Plain),
            ("phone", Col::Plain),
            ("locale", Col::Plain),
            ("created_at", Col::Time),
            ("anonymised_at", Col::Time),
        ],
    ),
    (
        "passes",
        "SELECT id, visitor_id, site_id, valid_from, valid_until, CASE WHEN revoked_at IS NULL THEN 'valid' ELSE 'revoked' END, revoked_at, created_at FROM passes WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("visitor_id", Col::Plain),
            ("site_id", Col::Plain),
            ("valid_from", Col::Time),
            ("valid_until", Col::Time),
            ("status", Col::Plain),
            ("revoked_at", Col::Time),
            ("created_at", Col::Time),
        ],
    ),
    (
        "visits",
        "SELECT id, site_id, appointment_id, visitor_id, pass_id, host_id, kiosk_id, method, status, checked_in_at, checked_out_at FROM visits WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("site_id", Col::Plain),
            ("appointment_id", Col::Plain),
            ("visitor_id", Col::Plain),
            ("pass_id", Col::Plain),
            ("host_id", Col::Plain),
            ("kiosk_id", Col::Plain),
            ("method", Col::Plain),
            ("status", Col::Plain),
            ("checked_in_at", Col::Time),
            ("checked_out_at", Col::Time),
        ],
    ),
    (
        "kiosks",
        "SELECT id, site_id, name, status, device_name, last_seen_at, created_at, revoked_at FROM kiosks WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("site_id", Col::Plain),
            ("name", Col::Plain),
            ("status", Col::Plain),
            ("device_name", Col::Plain),
            ("last_seen_at", Col::Time),
            ("created_at", Col::Time),
            ("revoked_at", Col::Time),
        ],
    ),
    (
        "outbox_ledger",
        "SELECT id, kind, channel, recipient, status, attempts, appointment_id, visit_id, created_at, sent_at FROM outbox WHERE tenant_id = ?1 ORDER BY id",
        &[
            ("id", Col::Plain),
            ("kind", Col::Plain),
            ("channel", Col::Plain),
            ("recipient", Col::MaskedEmail),
            ("status", Col::Plain),
            ("attempts", Col::Plain),
            ("appointment_id", Col::Plain),
            ("visit_id", Col::Plain),
            ("created_at", Col::Time),
            ("sent_at", Col::Time),
        ],
    ),
    (
        "audit_log",
        "SELECT id, seq, at, actor_kind, actor_id, action, target_kind, target_id, outcome, ip, request_id, details, hash FROM audit_log WHERE chain = ?1 ORDER BY seq",
        &[
            ("id", Col::Plain),
            ("seq", Col::Plain),
            ("at", Col::Time),
            ("actor_kind", Col::Plain),
            ("actor_id", Col::Plain),
            ("action", Col::Plain),
            ("target_kind", Col::Plain),
            ("target_id", Col::Plain),
            ("outcome", Col::Plain),
            ("ip", Col::Plain),
            ("request_id", Col::Plain),
            ("details", Col::Plain),
            ("hash", Col::Hex),
        ],
    ),
];

/// The files of a full export, in order.
pub fn entity_names() -> Vec<&'static str> {
    ENTITIES.iter().map(|e| e.0).collect()
}

fn cell(value: ValueRef<'_>, col: Col, zone: TimeZone) -> String {
    let text = match value {
        ValueRef::Null => return String::new(),
        ValueRef::Integer(i) => return i.to_string(),
        ValueRef::Real(f) => return f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => {
            return if col == Col::Hex {
                hex::encode(b)
            } else {
                String::new()
            };
        }
    };
    match col {
        Col::Time => parse_ts(&text).map_or(text, |t| zone.format(t)),
        Col::MaskedEmail if text.contains('@') => mask_email(&text),
        _ => text,
    }
}

fn export(conn: &Connection, tenant: TenantId, sink: &mut dyn ExportSink) -> StoreResult<u64> {
    let zone: String = conn.query_row(
        "SELECT time_zone FROM tenants WHERE id = ?1",
        [tenant.get()],
        |r| r.get(0),
    )?;
    let zone = TimeZone::parse(&zone).unwrap_or_default();
    let mut total = 0;
    for (name, sql, cols) in ENTITIES {
        let header: Vec<&str> = cols.iter().map(|c| c.0).collect();
        if !sink.table(name, &header) {
            return Ok(total);
        }
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([tenant.get()])?;
        while let Some(r) = rows.next()? {
            let cells = cols
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| Ok(cell(r.get_ref(i)?, *kind, zone)))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            total += 1;
            if !sink.row(&cells) {
                return Ok(total);
            }
        }
    }
    Ok(total)
}

impl Store {
    /// Feeds every entity of `tenant` to `sink` from one consistent snapshot;
    /// returns the rows written and the sink.
    pub async fn export_tenant<S: ExportSink>(
        &self,
        tenant: TenantId,
        mut sink: S,
    ) -> StoreResult<(u64, S)> {
        self.read(move |c| {
            c.execute_batch("BEGIN")?;
            let result = export(c, tenant, &mut sink);
            let _ = c.execute_batch("COMMIT");
            result.map(|n| (n, sink))
        })
        .await
    }
}
