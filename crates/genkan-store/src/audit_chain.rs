//! Verifying the audit chains of a database (the live one or a backup copy), their
//! heads (recorded outside the database as anchors), the comparison of anchors with
//! the chains, and the keying of chains written before links were keyed.
//!
//! Upgrade: a database keeps every row it had. When the keying migration runs, the
//! last row of each existing chain is recorded in `audit_keying` with a seal (a MAC
//! under the audit key); rows up to it keep their unkeyed links and are verified as
//! before, every later row is keyed. A database older than the keying migration (an
//! old backup) is verified entirely with unkeyed links.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use genkan_core::audit::anchor::{ChainHead, Finding, Live, Restore, compare, superseded};
use genkan_core::audit::chain::{Boundary, Break, Keying, StoredRow, Walker};
use genkan_core::audit::{AuditEvent, ChainKey, Outcome};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use crate::error::{StoreError, StoreResult};
use crate::migrate::KEYED_SCHEMA;
use crate::sql::{get_ts, parse_ts};

/// The first place where a chain does not verify.
pub type ChainBreak = Break;

/// Result of verifying every chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u64,
    /// Chains checked.
    pub chains: u64,
    /// Whether links are keyed (false: a database from before keying, whose rows
    /// are verified with unkeyed hashes).
    pub keyed: bool,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
}

/// How `conn`'s rows are linked: by its schema version and recorded boundaries.
fn keying(conn: &Connection, key: &ChainKey) -> StoreResult<Keying> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < KEYED_SCHEMA {
        return Ok(Keying::Unkeyed);
    }
    let mut stmt = conn
        .prepare("SELECT chain, seq, link, seal FROM audit_keying")
        .map_err(|e| {
            StoreError::Corrupt(format!(
                "the record of keyed audit chains cannot be read ({e})"
            ))
        })?;
    let boundaries = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Boundary {
                    seq: r.get(1)?,
                    link: r.get(2)?,
                    seal: r.get(3)?,
                },
            ))
        })?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    Ok(Keying::Keyed {
        key: key.clone(),
        boundaries,
    })
}

/// Recomputes every link of every chain; stops at the first break.
pub fn verify_chains(conn: &Connection, key: &ChainKey) -> StoreResult<ChainReport> {
    let keying = keying(conn, key)?;
    let mut report = ChainReport {
        rows: 0,
        chains: 0,
        keyed: matches!(keying, Keying::Keyed { .. }),
        first_break: None,
    };
    let mut walker = Walker::new(keying);
    let mut stmt = conn.prepare(
        "SELECT id, chain, seq, tenant_id, at, actor_kind, actor_id, action, target_kind,
                target_id, outcome, ip, request_id, details, prev_hash, hash
         FROM audit_log ORDER BY chain, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut current = None;
    while let Some(row) = rows.next()? {
        let chain: i64 = row.get(1)?;
        if current != Some(chain) {
            current = Some(chain);
            report.chains += 1;
        }
        report.rows += 1;
        let outcome = match row.get::<_, String>(10)?.as_str() {
            "ok" => Outcome::Ok,
            "denied" => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let stored = StoredRow {
            row_id: row.get(0)?,
            chain,
            seq: row.get(2)?,
            event: AuditEvent {
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
            },
            prev: row.get(14)?,
            link: row.get(15)?,
        };
        if let Err(b) = walker.row(&stored) {
            report.first_break = Some(b);
            return Ok(report);
        }
    }
    report.first_break = walker.finish().err();
    Ok(report)
}

/// The last row of every chain: what anchors record.
pub fn chain_heads(conn: &Connection) -> StoreResult<Vec<ChainHead>> {
    // SQLite takes the bare column `hash` from the row holding max(seq).
    let mut stmt =
        conn.prepare("SELECT chain, max(seq), hash FROM audit_log GROUP BY chain ORDER BY chain")?;
    let heads = stmt
        .query_map([], |r| {
            Ok(ChainHead::new(
                r.get(0)?,
                r.get(1)?,
                &r.get::<_, Vec<u8>>(2)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(heads)
}

/// Heads recorded outside the database, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// Where they were read (a manifest's path, a file given by the operator).
    pub source: String,
    /// When they were recorded, if known (manifests know it).
    pub recorded: Option<DateTime<Utc>>,
    /// The heads.
    pub heads: Vec<ChainHead>,
}

/// An anchored head the database contradicts, and where the anchor came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorFinding {
    /// The anchor's source.
    pub source: String,
    /// What is wrong.
    pub finding: Finding,
}

/// What comparing anchors with the chains found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnchorReport {
    /// Heads compared.
    pub compared: usize,
    /// Heads of purged tenants' chains (gone by design).
    pub purged: usize,
    /// Heads recorded between a restored snapshot and its restore (history the
    /// restore replaced).
    pub superseded: usize,
    /// Contradictions, by chain, highest sequence number first.
    pub findings: Vec<AnchorFinding>,
}

/// Tenants purged and restores done, as recorded in the system chain (whose links
/// make them trustworthy once it verifies).
fn purges_and_restores(conn: &Connection) -> StoreResult<(Vec<i64>, Vec<Restore>)> {
    let purged: Vec<i64> = conn
        .prepare(
            "SELECT target_id FROM audit_log
             WHERE chain = 0 AND action = 'tenant.purge' AND outcome = 'ok'",
        )?
        .query_map([], |r| r.get::<_, Option<String>>(0))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter_map(|t| t?.parse().ok())
        .collect();
    let mut restores = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT at, details FROM audit_log
         WHERE chain = 0 AND action = 'backup.restore' AND outcome = 'ok'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let at = get_ts(row, 0)?;
        let details: serde_json::Value =
            serde_json::from_str(&row.get::<_, String>(1)?).unwrap_or_default();
        if let Some(snapshot_at) = details["snapshot_at"].as_str() {
            restores.push(Restore {
                snapshot_at: parse_ts(snapshot_at)?,
                at,
            });
        }
    }
    Ok((purged, restores))
}

/// Compares every anchored head with the row the database holds at its place.
pub fn check_anchors(conn: &Connection, anchors: &[Anchor]) -> StoreResult<AnchorReport> {
    let (purged, restores) = purges_and_restores(conn)?;
    let mut report = AnchorReport::default();
    let mut at_seq = conn.prepare("SELECT hash FROM audit_log WHERE chain = ?1 AND seq = ?2")?;
    let mut last = conn.prepare("SELECT max(seq) FROM audit_log WHERE chain = ?1")?;
    for anchor in anchors {
        if anchor.recorded.is_some_and(|t| superseded(t, &restores)) {
            report.superseded += anchor.heads.len();
            continue;
        }
        for head in &anchor.heads {
            let live = if purged.contains(&head.chain) {
                report.purged += 1;
                Live::Purged
            } else {
                report.compared += 1;
                match at_seq
                    .query_row(params![head.chain, head.seq], |r| r.get::<_, Vec<u8>>(0))
                    .optional()?
                {
                    Some(link) => Live::Row(link),
                    None => Live::Absent(last.query_row([head.chain], |r| r.get(0))?),
                }
            };
            if let Some(finding) = compare(head, &live) {
                report.findings.push(AnchorFinding {
                    source: anchor.source.clone(),
                    finding,
                });
            }
        }
    }
    let key = |f: &AnchorFinding| match &f.finding {
        Finding::Removed { chain, seq, .. } | Finding::Differs { chain, seq, .. } => {
            (*chain, std::cmp::Reverse(*seq))
        }
    };
    report.findings.sort_by_key(key);
    Ok(report)
}

/// Records where every existing chain's keyed part starts (its current last row),
/// sealed under `key`. Runs inside the keying migration's transaction.
pub(crate) fn key_existing_chains(conn: &Connection, key: &ChainKey) -> StoreResult<()> {
    let heads = chain_heads(conn)?;
    let mut rows = 0;
    for head in &heads {
        let link = hex::decode(&head.mac)
            .map_err(|_| StoreError::Corrupt("audit link is not hex".to_owned()))?;
        let seal = Boundary::seal(key, head.chain, head.seq, &link);
        conn.execute(
            "INSERT INTO audit_keying (chain, tenant_id, seq, link, seal)
             VALUES (?1, NULLIF(?1, 0), ?2, ?3, ?4)",
            params![head.chain, head.seq, link, seal.as_slice()],
        )?;
        rows += head.seq;
    }
    if !heads.is_empty() {
        tracing::warn!(
            audit.chains = heads.len(),
            audit.unkeyed_rows = rows,
            "audit chains keyed: earlier rows keep their unkeyed links up to each chain's recorded boundary"
        );
    }
    Ok(())
}

impl crate::Store {
    /// Verifies the audit chains of the live database.
    pub async fn verify_audit(&self) -> StoreResult<ChainReport> {
        let key = self.keys().audit_key();
        self.read(move |c| verify_chains(c, &key)).await
    }

    /// The last row of every chain, for anchors kept outside the database.
    pub async fn audit_heads(&self) -> StoreResult<Vec<ChainHead>> {
        self.read(chain_heads).await
    }

    /// Compares anchors with the live chains.
    pub async fn check_audit_anchors(&self, anchors: Vec<Anchor>) -> StoreResult<AnchorReport> {
        self.read(move |c| check_anchors(c, &anchors)).await
    }
}

#[cfg(test)]
mod tests {
    use genkan_core::audit::GENESIS;
    use genkan_core::audit::anchor::{format_heads, parse_heads};

    use super::*;
    use crate::migrate::{MIGRATIONS, migrate};
    use crate::sql::ts;

    fn key() -> ChainKey {
        ChainKey::new([5; 32])
    }

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-11-23T01:{minute:02}:00Z").parse().unwrap()
    }

    /// Appends a row to `chain` as the code of its time would: unkeyed links before
    /// keying (`key` is `None`), keyed after.
    fn add(conn: &Connection, chain: i64, action: &str, details: &str, key: Option<&ChainKey>) {
        add_target(conn, chain, action, &chain.to_string(), details, key);
    }

    fn add_target(
        conn: &Connection,
        chain: i64,
        action: &str,
        target: &str,
        details: &str,
        key: Option<&ChainKey>,
    ) {
        let (seq, prev): (i64, Vec<u8>) = conn
            .query_row(
                "SELECT seq, hash FROM audit_log WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
                [chain],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .unwrap()
            .map_or((1, GENESIS.to_vec()), |(s, h)| (s + 1, h));
        let prev: [u8; 32] = prev.try_into().unwrap();
        let event = AuditEvent {
            tenant_id: (chain != 0).then_some(chain),
            at: at(u32::try_from(seq).unwrap()),
            actor_kind: "system".into(),
            actor_id: None,
            action: action.into(),
            target_kind: "tenant".into(),
            target_id: Some(target.to_owned()),
            outcome: Outcome::Ok,
            ip: None,
            request_id: None,
            details: details.into(),
        };
        let link = match key {
            Some(k) => event.chain_mac(k, seq, &prev),
            None => event.chain_hash(seq, &prev),
        };
        conn.execute(
            "INSERT INTO audit_log (chain, seq, tenant_id, at, actor_kind, action, target_kind,
                target_id, outcome, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, 'system', ?5, 'tenant', ?6, 'ok', ?7, ?8, ?9)",
            params![
                chain,
                seq,
                event.tenant_id,
                ts(event.at),
                action,
                event.target_id,
                details,
                prev.as_slice(),
                link.as_slice()
            ],
        )
        .unwrap();
    }

    /// A database of the last schema before keying, with unkeyed chains 0 and 4.
    fn old_database() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 < KEYED_SCHEMA) {
            conn.execute_batch(sql).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {version}"))
                .unwrap();
        }
        for n in 0..3 {
            add(&conn, 0, &format!("old.{n}"), "{}", None);
            add(&conn, 4, &format!("old.{n}"), "{}", None);
        }
        conn
    }

    /// Drops the guards, as someone writing the file with the database key can.
    fn unguard(conn: &Connection) {
        conn.execute_batch(
            "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_keying_no_update;
             DROP TRIGGER audit_keying_no_delete;",
        )
        .unwrap();
    }

    fn first_break(conn: &Connection) -> Option<ChainBreak> {
        verify_chains(conn, &key()).unwrap().first_break
    }

    #[test]
    fn an_old_database_is_keyed_once_and_every_earlier_row_still_verifies() {
        let conn = old_database();
        let before = verify_chains(&conn, &key()).unwrap();
        assert_eq!(
            (before.rows, before.keyed, before.first_break),
            (6, false, None)
        );
        migrate(&conn, &key()).unwrap();
        let after = verify_chains(&conn, &key()).unwrap();
        assert_eq!(
            (after.rows, after.keyed, after.first_break),
            (6, true, None)
        );
        // Rows written from now on are keyed; the earlier ones keep their links.
        add(&conn, 4, "new.0", "{}", Some(&key()));
        add(&conn, 0, "new.0", "{}", Some(&key()));
        assert_eq!(first_break(&conn), None);
        migrate(&conn, &key()).unwrap();
        assert_eq!(first_break(&conn), None, "keyed only once");
        // Under another key, the first keyed row fails (the boundary's seal first).
        let other = verify_chains(&conn, &ChainKey::new([6; 32])).unwrap();
        assert!(other.first_break.unwrap().reason.contains("seal"));
        // A row added without the key after keying is refused.
        add(&conn, 4, "forged", "{}", None);
        let b = first_break(&conn).unwrap();
        assert_eq!((b.chain, b.seq), (4, 5));
        assert!(b.reason.contains("MAC"), "{b}");
    }

    #[test]
    fn removing_the_record_of_where_keying_starts_is_found() {
        let conn = old_database();
        migrate(&conn, &key()).unwrap();
        unguard(&conn);
        conn.execute("DELETE FROM audit_keying WHERE chain = 4", [])
            .unwrap();
        let b = first_break(&conn).unwrap();
        assert_eq!((b.chain, b.seq), (4, 1));
        // Moving it is found too.
        let conn = old_database();
        migrate(&conn, &key()).unwrap();
        unguard(&conn);
        add(&conn, 4, "new.0", "{}", Some(&key()));
        conn.execute("UPDATE audit_keying SET seq = 4 WHERE chain = 4", [])
            .unwrap();
        assert!(first_break(&conn).unwrap().reason.contains("seal"));
        // Unkeyed rows removed from the end of a chain keyed after them.
        let conn = old_database();
        migrate(&conn, &key()).unwrap();
        unguard(&conn);
        conn.execute("DELETE FROM audit_log WHERE chain = 4 AND seq = 3", [])
            .unwrap();
        let b = first_break(&conn).unwrap();
        assert_eq!((b.chain, b.row_id, b.seq), (4, None, 3));
    }

    #[test]
    fn anchors_find_a_removed_tail_and_a_relinked_chain_but_not_purges_or_restores() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &key()).unwrap();
        for n in 0..5 {
            add(&conn, 4, &format!("a.{n}"), "{}", Some(&key()));
            add(&conn, 7, &format!("a.{n}"), "{}", Some(&key()));
        }
        let heads = chain_heads(&conn).unwrap();
        assert_eq!(
            heads.iter().map(|h| (h.chain, h.seq)).collect::<Vec<_>>(),
            [(4, 5), (7, 5)]
        );
        let anchor = |recorded| Anchor {
            source: "manifest".into(),
            recorded,
            heads: heads.clone(),
        };
        let clean = check_anchors(&conn, &[anchor(None)]).unwrap();
        assert_eq!((clean.compared, clean.findings.len()), (2, 0));
        assert_eq!(parse_heads(&format_heads(&heads)), heads);

        unguard(&conn);
        conn.execute("DELETE FROM audit_log WHERE chain = 4 AND seq > 3", [])
            .unwrap();
        assert_eq!(first_break(&conn), None, "a shorter chain verifies alone");
        let found = check_anchors(&conn, &[anchor(None)]).unwrap();
        assert_eq!(
            found.findings[0].finding,
            Finding::Removed {
                chain: 4,
                seq: 5,
                last_seq: Some(3)
            }
        );
        // New rows in place of the removed ones do not hide it.
        add(&conn, 4, "b.3", "{}", Some(&key()));
        add(&conn, 4, "b.4", "{}", Some(&key()));
        let found = check_anchors(&conn, &[anchor(None)]).unwrap();
        assert!(matches!(
            found.findings[0].finding,
            Finding::Differs {
                chain: 4,
                seq: 5,
                ..
            }
        ));

        // Chain 7's tenant was purged, as the system chain records: its anchor
        // is no finding.
        add_target(&conn, 0, "tenant.purge", "7", "{}", Some(&key()));
        conn.execute("DELETE FROM audit_log WHERE chain = 7", [])
            .unwrap();
        let purged = check_anchors(&conn, &[anchor(None)]).unwrap();
        assert_eq!((purged.purged, purged.findings.len()), (1, 1));
        // A restore (system row at 01:02) of a snapshot taken at 01:00 replaced
        // what an anchor recorded at 01:01 describes, not what one of 01:03 does.
        let details = format!("{{\"snapshot_at\":\"{}\"}}", ts(at(0)));
        add_target(&conn, 0, "backup.restore", "x.db", &details, Some(&key()));
        let replaced = check_anchors(&conn, &[anchor(Some(at(1)))]).unwrap();
        assert_eq!((replaced.superseded, replaced.findings.len()), (2, 0));
        let later = check_anchors(&conn, &[anchor(Some(at(3)))]).unwrap();
        assert_eq!(later.findings.len(), 1);
        assert_eq!(first_break(&conn), None);
    }
}
