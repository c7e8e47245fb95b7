//! Verification and restore of a backup file. A backup verifies when its size and
//! SHA-256 match the manifest, it opens with the key (every page's SQLCipher HMAC
//! checks), `PRAGMA integrity_check` is `ok`, every table has the manifest's row
//! count, every audit chain verifies (keyed links under the audit key) and ends
//! where the manifest's heads say (when it has them). Restore verifies first and
//! never overwrites an existing database.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::files::{read_manifest, sync_dir};
use super::{Manifest, describe, open_copy, sha256_file};
use crate::audit_chain::{ChainReport, chain_heads, verify_chains};
use crate::error::{StoreError, StoreResult};
use crate::keys::KeyRing;

/// What a successful verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The file checked.
    pub file: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The audit chains.
    pub audit: ChainReport,
    /// Milliseconds the checks took.
    pub elapsed_ms: u64,
}

/// Why a file failed: the first failed check, in words an operator can act on.
fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}

/// Checks the file's size and SHA-256 against `manifest`.
fn check_checksum(path: &Path, manifest: &Manifest) -> StoreResult<()> {
    let (sha, size) = sha256_file(path)?;
    if size != manifest.size_bytes {
        return Err(corrupt(format!(
            "{}: size {size} bytes, the manifest says {} (truncated or altered)",
            path.display(),
            manifest.size_bytes
        )));
    }
    if sha != manifest.sha256 {
        return Err(corrupt(format!(
            "{}: SHA-256 {sha} does not match the manifest's {} (the file was altered)",
            path.display(),
            manifest.sha256
        )));
    }
    Ok(())
}

/// Opens the copy and checks HMACs, integrity, row counts and the audit chains.
fn check_content(path: &Path, keys: &KeyRing, manifest: &Manifest) -> StoreResult<ChainReport> {
    let conn = open_copy(path, &keys.database)?;
    // SQLCipher's own check: the HMAC of every page.
    let cipher_problems: Vec<String> = conn
        .prepare("PRAGMA cipher_integrity_check")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()
        .map_err(|e| corrupt(format!("cipher integrity check failed: {e}")))?;
    if let Some(first) = cipher_problems.first() {
        return Err(corrupt(format!(
            "{}: page authentication failed ({} problems, first: {first})",
            path.display(),
            cipher_problems.len()
        )));
    }
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()
        .map_err(|e| corrupt(format!("integrity check failed: {e}")))?;
    if integrity != ["ok"] {
        return Err(corrupt(format!(
            "{}: integrity check: {}",
            path.display(),
            integrity.join("; ")
        )));
    }
    let (tables, version, _) = describe(&conn)?;
    if version != manifest.schema_version {
        return Err(corrupt(format!(
            "schema version {version}, the manifest says {}",
            manifest.schema_version
        )));
    }
    if tables != manifest.tables {
        let diff = manifest
            .tables
            .iter()
            .filter(|(t, n)| tables.get(*t) != Some(n))
            .map(|(t, n)| {
                format!(
                    "{t}: {} rows, manifest {n}",
                    tables.get(t).copied().unwrap_or(-1)
                )
            })
            .chain(
                tables
                    .keys()
                    .filter(|t| !manifest.tables.contains_key(*t))
                    .map(|t| format!("{t}: not in the manifest")),
            )
            .collect::<Vec<_>>()
            .join("; ");
        return Err(corrupt(format!(
            "row counts differ from the manifest: {diff}"
        )));
    }
    let audit = verify_chains(&conn, &keys.audit_key())?;
    if let Some(b) = &audit.first_break {
        return Err(corrupt(format!("audit chain breaks: {b}")));
    }
    if let Some(heads) = &manifest.audit_heads
        && *heads != chain_heads(&conn)?
    {
        return Err(corrupt(
            "the audit chain heads differ from the manifest's".to_owned(),
        ));
    }
    Ok(audit)
}

/// Verifies the backup file at `path` against its manifest with `keys`.
pub fn verify_backup(path: &Path, keys: &KeyRing) -> StoreResult<VerifyReport> {
    let started = Instant::now();
    let manifest = read_manifest(path).ok_or_else(|| {
        corrupt(format!(
            "{}: no readable manifest beside it ({})",
            path.display(),
            super::files::manifest_path(path).display()
        ))
    })?;
    check_checksum(path, &manifest)?;
    let audit = check_content(path, keys, &manifest)?;
    Ok(VerifyReport {
        file: path.to_owned(),
        manifest,
        audit,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Restores `backup` as `dir/genkan.db`: checks its size and SHA-256 against the
/// manifest, copies it beside the target, checks the copy's content (page
/// authentication, integrity, row counts, audit chains) and only then renames it into
/// place. Never overwrites an existing database; a failed check leaves nothing behind.
pub fn restore_into(backup: &Path, keys: &KeyRing, dir: &Path) -> StoreResult<VerifyReport> {
    let started = Instant::now();
    let manifest = read_manifest(backup).ok_or_else(|| {
        corrupt(format!(
            "{}: no readable manifest beside it ({})",
            backup.display(),
            super::files::manifest_path(backup).display()
        ))
    })?;
    check_checksum(backup, &manifest)?;
    std::fs::create_dir_all(dir)?;
    let target = dir.join("genkan.db");
    if target.exists() {
        return Err(StoreError::Conflict {
            constraint: format!(
                "{} exists already; restore never overwrites",
                target.display()
            ),
        });
    }
    let restoring = dir.join(".genkan.db.restoring");
    let _ = std::fs::remove_file(&restoring);
    let checked = super::pace::copy_paced(backup, &restoring)
        .map_err(StoreError::from)
        .and_then(|()| check_content(&restoring, keys, &manifest));
    let audit = match checked {
        Ok(audit) => audit,
        Err(e) => {
            let _ = std::fs::remove_file(&restoring);
            return Err(e);
        }
    };
    std::fs::rename(&restoring, &target)?;
    sync_dir(dir)?;
    Ok(VerifyReport {
        file: backup.to_owned(),
        manifest,
        audit,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// The outcome of a restore drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// Whether every check passed.
    pub ok: bool,
    /// Milliseconds the drill took.
    pub elapsed_ms: u64,
    /// What was checked, or the first failure.
    pub detail: String,
}

/// Restores `backup` into a fresh directory under `work_dir`, checks it, and
/// removes the directory again.
pub fn drill(backup: &Path, keys: &KeyRing, work_dir: &Path) -> DrillReport {
    let started = Instant::now();
    let scratch = work_dir.join(format!(".drill-{}", hex::encode(rand::random::<[u8; 6]>())));
    let result = restore_into(backup, keys, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(r) => DrillReport {
            ok: true,
            elapsed_ms,
            detail: format!(
                "restored {}: checksum, page authentication, integrity, row counts of {} tables ({} rows) and {} audit chains ({} rows) ok",
                r.manifest.file,
                r.manifest.tables.len(),
                r.manifest.tables.values().sum::<i64>(),
                r.audit.chains,
                r.audit.rows
            ),
        },
        Err(e) => DrillReport {
            ok: false,
            elapsed_ms,
            detail: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use genkan_core::audit::Outcome;
    use genkan_core::tenant::TimeZone;
    use serde_json::{Value, json};

    use super::*;
    use crate::backup::files::manifest_path;
    use crate::backup::{BackupPlan, RotationPolicy};
    use crate::{AuditCtx, Store, StoreConfig};

    fn write_manifest(file: &Path, manifest: &Value) {
        std::fs::write(manifest_path(file), serde_json::to_vec(manifest).unwrap()).unwrap();
    }

    #[tokio::test]
    async fn manifests_carry_the_chain_heads_and_older_ones_without_them_still_verify() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::generate();
        let store = Store::open(StoreConfig {
            path: dir.path().join("genkan.db"),
            keys: keys.clone(),
            readers: 1,
        })
        .unwrap();
        let at: DateTime<Utc> = "2026-11-24T01:00:00Z".parse().unwrap();
        for action in ["test.one", "test.two"] {
            store
                .record_audit(
                    AuditCtx::system(None, at),
                    action,
                    "test",
                    None,
                    Outcome::Ok,
                    json!({}),
                )
                .await
                .unwrap();
        }
        let plan = BackupPlan {
            destinations: vec![dir.path().join("backups")],
            generations: 2,
            step_pages: 16,
            app_version: "test".into(),
            zone: TimeZone::default(),
            work_dir: dir.path().join("tmp"),
        };
        let out = store
            .backup(plan, RotationPolicy::default(), at, |_| {})
            .await
            .unwrap();
        let file = out.written[0].clone();
        let heads = store.audit_heads().await.unwrap();
        assert_eq!(out.manifest.audit_heads.as_ref(), Some(&heads));
        assert_eq!((heads[0].chain, heads[0].seq), (0, 2));
        assert_eq!(verify_backup(&file, &keys).unwrap().audit.rows, 2);
        let written: Value =
            serde_json::from_slice(&std::fs::read(manifest_path(&file)).unwrap()).unwrap();

        // A manifest of the first format (no heads) still verifies.
        let mut old = written.clone();
        old.as_object_mut().unwrap().remove("audit_heads");
        old["format"] = 1.into();
        write_manifest(&file, &old);
        verify_backup(&file, &keys).unwrap();

        // Heads that do not match the copy fail it.
        let mut wrong = written.clone();
        wrong["audit_heads"][0]["seq"] = 1.into();
        write_manifest(&file, &wrong);
        let err = verify_backup(&file, &keys).unwrap_err().to_string();
        assert!(err.contains("heads differ"), "{err}");

        // The right database key with another audit key fails the chain.
        write_manifest(&file, &written);
        let mut other: Value = serde_json::from_str(&keys.to_file_text()).unwrap();
        other["mac"] = hex::encode([7u8; 32]).into();
        let other = KeyRing::parse(&other.to_string()).unwrap();
        let err = verify_backup(&file, &other).unwrap_err().to_string();
        assert!(err.contains("MAC"), "{err}");
    }
}
