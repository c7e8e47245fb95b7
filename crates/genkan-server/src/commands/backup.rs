//! `genkan backup now | list | verify | restore`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use genkan_core::audit::Outcome;
use genkan_core::{Clock as _, SystemClock};
use genkan_store::backup::Progress;
use genkan_store::backup::files::generations;
use genkan_store::backup::verify::{VerifyReport, restore_into, verify_backup};
use genkan_store::{AuditCtx, KeyRing, Store, StoreConfig};

use crate::cli::ops::RestoreArgs;
use crate::config::Config;
use crate::operator::Console;
use crate::operator::exec::OpCtx;
use crate::ops::backup::{Trigger, backup_and_drill};
use crate::ops::lock::ServerLock;

/// Progress on the operator's stderr: one updating line on a terminal, a line per
/// tenth otherwise.
fn progress_printer(console: Console, tty: bool) -> impl FnMut(Progress) + Send + 'static {
    let mut last_tenth = -1;
    move |p| match p {
        Progress::Copying { done, total } => {
            let pct = if total > 0 { done * 100 / total } else { 100 };
            if tty {
                console.eprint(format!("\rcopying pages: {done}/{total} ({pct}%)"));
            } else if pct / 10 != last_tenth {
                last_tenth = pct / 10;
                console.eprintln(format!("copying pages: {done}/{total} ({pct}%)"));
            }
        }
        Progress::Sealing => console.eprintln(format!(
            "{}checking the copy and writing its manifest",
            if tty { "\n" } else { "" }
        )),
        Progress::Installing(dest) => {
            console.eprintln(format!("installing in {}", dest.display()));
        }
    }
}

/// Whether this process's stderr is a terminal (sent along to the server).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// `genkan backup now`: a backup and its restore drill.
pub async fn now(ctx: &OpCtx) -> anyhow::Result<()> {
    let config = &ctx.config;
    if !config.backup.enabled() {
        bail!(
            "backup.destinations is empty in {}: nothing to back up to",
            ctx.config_name
        );
    }
    let run = backup_and_drill(
        &ctx.store,
        config,
        ctx.clock.as_ref(),
        Trigger::Manual,
        progress_printer(ctx.console.clone(), ctx.tty),
    )
    .await?;
    ctx.console.eprintln("running the restore drill… done");
    ctx.console
        .println(serde_json::to_string_pretty(&run).unwrap_or_default());
    match (run.ok, run.drill_ok, &run.error) {
        (true, Some(true), None) => Ok(()),
        (true, Some(true), Some(e)) => bail!("backup written, but some destinations failed: {e}"),
        (true, _, _) => bail!(
            "backup written but its restore drill failed: {}",
            run.drill_detail.unwrap_or_default()
        ),
        _ => bail!("backup failed: {}", run.error.unwrap_or_default()),
    }
}

/// `genkan backup list`: generations in every destination and the latest runs.
pub async fn list(ctx: &OpCtx) -> anyhow::Result<()> {
    let config = &ctx.config;
    let out = &ctx.console;
    let zone = config.backup.zone();
    for dest in &config.backup.destinations {
        let gens = generations(dest).with_context(|| format!("reading {}", dest.display()))?;
        out.println(format!(
            "{} — {} generations (keeping {})",
            dest.display(),
            gens.len(),
            config.backup.generations
        ));
        for g in gens {
            out.println(format!(
                "  {}  {}  {:>12} bytes  schema {}  {} tenants  sha256 {}…",
                g.manifest.file,
                g.manifest.created_at,
                g.manifest.size_bytes,
                g.manifest.schema_version,
                g.manifest.tenants.len(),
                &g.manifest.sha256[..12.min(g.manifest.sha256.len())]
            ));
        }
    }
    out.println("latest runs:");
    for run in ctx.store.backup_runs(20).await? {
        let drill = match run.drill_ok {
            Some(true) => "drill ok",
            Some(false) => "DRILL FAILED",
            None => "no drill",
        };
        out.println(format!(
            "  #{} {} {} {} {} ({} ms) {}",
            run.id,
            zone.format(run.finished_at),
            run.trigger,
            if run.ok { "ok" } else { "FAILED" },
            drill,
            run.drill_ms.unwrap_or(0),
            run.error
                .as_deref()
                .or(if run.drill_ok == Some(false) {
                    run.drill_detail.as_deref()
                } else {
                    None
                })
                .unwrap_or("")
        ));
    }
    Ok(())
}

fn keys(path: &Path) -> anyhow::Result<(Config, KeyRing)> {
    let mut config = Config::load(Some(path))?;
    config.resolve_secret_files()?;
    let keys = KeyRing::load(&config.data.key_path())?;
    Ok((config, keys))
}

/// `genkan backup verify`: needs only the keys, never the live database.
pub fn verify(path: &Path, file: Option<&Path>) -> anyhow::Result<()> {
    let (config, keys) = keys(path)?;
    let files: Vec<PathBuf> = match file {
        Some(f) => vec![f.to_owned()],
        None => config
            .backup
            .destinations
            .iter()
            .flat_map(|d| generations(d).unwrap_or_default())
            .map(|g| g.path)
            .collect(),
    };
    if files.is_empty() {
        bail!("no backups to verify");
    }
    let mut failed = 0;
    for f in &files {
        match verify_backup(f, &keys) {
            Ok(r) => println!(
                "ok      {} ({} tables, {} audit rows, {} ms)",
                f.display(),
                r.manifest.tables.len(),
                r.audit.rows,
                r.elapsed_ms
            ),
            Err(e) => {
                failed += 1;
                println!("FAILED  {}: {e}", f.display());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} backups failed verification", files.len());
    }
    Ok(())
}

/// Records the restore in the restored database's system audit chain: anchors
/// recorded between the restored snapshot and now describe history it replaced.
async fn record_restore(db: &Path, keys: &KeyRing, report: &VerifyReport) -> anyhow::Result<()> {
    let store = Store::open(StoreConfig {
        path: db.to_owned(),
        keys: keys.clone(),
        readers: 1,
    })
    .with_context(|| format!("opening the restored {}", db.display()))?;
    store
        .record_audit(
            AuditCtx::system(None, SystemClock.now()),
            "backup.restore",
            "backup",
            Some(report.manifest.file.clone()),
            Outcome::Ok,
            serde_json::json!({"snapshot_at": report.manifest.created_at}),
        )
        .await
        .context("recording the restore in the audit log")?;
    Ok(())
}

/// `genkan backup restore`: into a new directory, or over the live database with
/// no server running.
pub async fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let (config, keys) = keys(&args.config)?;
    if let Some(dir) = &args.into {
        eprintln!("verifying {} …", args.file.display());
        let report = restore_into(&args.file, &keys, dir)
            .with_context(|| format!("restoring {}", args.file.display()))?;
        record_restore(&dir.join("genkan.db"), &keys, &report).await?;
        println!(
            "restored {} into {} ({} tables, {} audit rows verified); start a server with data.dir = {} and the same key file",
            report.manifest.file,
            dir.join("genkan.db").display(),
            report.manifest.tables.len(),
            report.audit.rows,
            dir.display()
        );
        return Ok(());
    }
    // --replace-live: only with the server stopped, and the current file kept aside.
    let data = &config.data.dir;
    let _lock = ServerLock::acquire_alone(data)
        .context("stop the server before restoring over the live database")?;
    eprintln!("verifying {} …", args.file.display());
    verify_backup(&args.file, &keys)
        .with_context(|| format!("verifying {}", args.file.display()))?;
    let live = config.data.database();
    let stamp = SystemClock.now().format("%Y%m%dT%H%M%SZ");
    let aside = data.join(format!("genkan.db.before-restore-{stamp}"));
    if live.exists() {
        std::fs::create_dir_all(&aside)?;
        for suffix in ["", "-wal", "-shm"] {
            let from = data.join(format!("genkan.db{suffix}"));
            if from.exists() {
                std::fs::rename(&from, aside.join(format!("genkan.db{suffix}")))?;
            }
        }
    }
    match restore_into(&args.file, &keys, data) {
        Ok(report) => {
            record_restore(&live, &keys, &report).await?;
            println!(
                "replaced the live database with {}; the previous one is in {}",
                report.manifest.file,
                aside.display()
            );
            Ok(())
        }
        Err(e) => {
            // Put the previous database back.
            for suffix in ["", "-wal", "-shm"] {
                let from = aside.join(format!("genkan.db{suffix}"));
                if from.exists() {
                    let _ = std::fs::rename(&from, data.join(format!("genkan.db{suffix}")));
                }
            }
            Err(e).context("restore failed; the previous database is back in place")
        }
    }
}
