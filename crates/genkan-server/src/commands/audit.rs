//! `genkan audit verify`: recomputes every link of every audit chain (keyed under
//! the audit key from the key file), then compares the chains with the anchors
//! kept outside the database: the heads in every backup manifest of the configured
//! destinations, and the heads in files given with `--anchor` (a manifest, a copied
//! `audit chain heads` log line, or the `heads:` line of an earlier run). A changed
//! row, a chain re-linked without the key, or a removed tail fails with its place.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use genkan_core::audit::anchor::{format_heads, parse_heads};
use genkan_store::audit_chain::Anchor;
use genkan_store::backup::Manifest;
use genkan_store::backup::files::generations;

use crate::config::Config;
use crate::operator::exec::OpCtx;

/// Findings printed at most (the count is always given).
const SHOWN: usize = 20;

/// The anchors in the manifests of every configured backup destination, and how
/// many manifests predate anchors.
fn manifest_anchors(config: &Config) -> anyhow::Result<(Vec<Anchor>, usize)> {
    let mut anchors = Vec::new();
    let mut without = 0;
    for dest in &config.backup.destinations {
        let found = generations(dest)
            .with_context(|| format!("reading the backup destination {}", dest.display()))?;
        for g in found {
            let recorded = g.manifest.created();
            match g.manifest.audit_heads {
                Some(heads) => anchors.push(Anchor {
                    source: format!("manifest of {}", g.path.display()),
                    recorded,
                    heads,
                }),
                None => without += 1,
            }
        }
    }
    Ok((anchors, without))
}

/// The heads in the files given with `--anchor`, read by the command itself (the
/// running server may not be able to read the operator's files).
pub fn read_anchor_files(files: &[PathBuf]) -> anyhow::Result<Vec<Anchor>> {
    files.iter().map(|f| file_anchor(f)).collect()
}

/// The heads in a file given by the operator.
fn file_anchor(path: &Path) -> anyhow::Result<Anchor> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the anchor file {}", path.display()))?;
    let source = format!("anchor file {}", path.display());
    if let Ok(manifest) = serde_json::from_str::<Manifest>(&text)
        && let recorded = manifest.created()
        && let Some(heads) = manifest.audit_heads
    {
        return Ok(Anchor {
            source,
            recorded,
            heads,
        });
    }
    let heads = parse_heads(&text);
    if heads.is_empty() {
        bail!(
            "{}: no audit chain heads in it (give a backup manifest, an `audit chain heads` log line, or chain:seq:mac tokens)",
            path.display()
        );
    }
    Ok(Anchor {
        source,
        recorded: None,
        heads,
    })
}

/// Runs `genkan audit verify` with the anchors read from the operator's files.
pub async fn verify(ctx: &OpCtx, given: Vec<Anchor>) -> anyhow::Result<()> {
    let store = &ctx.store;
    let (mut anchors, old_manifests) = manifest_anchors(&ctx.config)?;
    anchors.extend(given);
    let chains = store.verify_audit().await?;
    let anchored = store.check_audit_anchors(anchors.clone()).await?;
    let heads = store.audit_heads().await?;

    match &chains.first_break {
        None => ctx.console.println(format!(
            "audit log ok: {} rows in {} chains verified ({})",
            chains.rows,
            chains.chains,
            if chains.keyed {
                "keyed links"
            } else {
                "unkeyed links of a database from before keying"
            }
        )),
        Some(b) => ctx.console.println(format!("audit log TAMPERED: {b}")),
    }
    ctx.console.println(format!(
        "anchors: {} heads from {} sources compared ({} of purged tenants, {} of history replaced by a restore; {} older manifests carry no heads)",
        anchored.compared,
        anchors.len(),
        anchored.purged,
        anchored.superseded,
        old_manifests
    ));
    if anchors.is_empty() {
        ctx.console.println(
            "warning: no anchors: a removed tail cannot be seen (configure backup.destinations or give --anchor FILE)",
        );
    }
    for f in anchored.findings.iter().take(SHOWN) {
        ctx.console
            .println(format!("audit log TAMPERED: {} ({})", f.finding, f.source));
    }
    if anchored.findings.len() > SHOWN {
        ctx.console.println(format!(
            "… and {} more contradicted anchors",
            anchored.findings.len() - SHOWN
        ));
    }
    ctx.console
        .println(format!("heads: {}", format_heads(&heads)));
    match (&chains.first_break, anchored.findings.first()) {
        (None, None) => Ok(()),
        (Some(b), _) => bail!(
            "audit verification failed: {b}{}",
            if anchored.findings.is_empty() {
                String::new()
            } else {
                format!("; {} anchors contradicted", anchored.findings.len())
            }
        ),
        (None, Some(f)) => bail!(
            "audit verification failed: {} ({} anchors contradicted)",
            f.finding,
            anchored.findings.len()
        ),
    }
}
