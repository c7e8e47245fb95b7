//! `genkan tenant end | list` and `genkan visitor erase`.

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use genkan_core::id::VisitorId;

use crate::operator::exec::OpCtx;
use crate::ops::lifecycle::{backups_clear_by, purge_delay, read_only_from};

/// `genkan tenant end`: records the contract's last day.
pub async fn end(ctx: &OpCtx, slug: &str, date: &str) -> anyhow::Result<()> {
    let (store, config) = (&ctx.store, &ctx.config);
    let tenant = store
        .tenant_by_slug(slug)
        .await?
        .with_context(|| format!("no tenant {slug:?}"))?;
    let Ok(ends_on) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        bail!("--date must be YYYY-MM-DD");
    };
    let from = read_only_from(ends_on, tenant.time_zone);
    let now = ctx.now();
    store
        .end_contract(tenant.id, ends_on, from, ctx.audit(Some(tenant.id), now))
        .await?;
    let zone = tenant.time_zone;
    ctx.console.println(format!(
        "{}: contract ends {ends_on}; read-only from {}; purged from {} (all data, backups included, gone by {})",
        tenant.slug,
        zone.format(from),
        zone.format(from + purge_delay(config)),
        zone.format(backups_clear_by(from, config)),
    ));
    Ok(())
}

/// `genkan tenant list`.
pub async fn list(ctx: &OpCtx) -> anyhow::Result<()> {
    let (store, config, out) = (&ctx.store, &ctx.config, &ctx.console);
    let now = ctx.now();
    out.println(format!(
        "{:<5} {:<20} {:<30} {:>6} {:>9}  contract",
        "id", "slug", "name", "users", "visits"
    ));
    for t in store.tenant_statuses().await? {
        let zone = genkan_core::tenant::TimeZone::parse(&t.time_zone).unwrap_or_default();
        let state = match (t.contract_ends_on, t.read_only_from) {
            (Some(day), Some(from)) if from <= now => format!(
                "ended {day}, read-only; purge from {}",
                zone.format(from + purge_delay(config))
            ),
            (Some(day), _) => format!("ends {day}"),
            _ => "active".to_owned(),
        };
        out.println(format!(
            "{:<5} {:<20} {:<30} {:>6} {:>9}  {state}",
            t.id, t.slug, t.name, t.users, t.visits
        ));
    }
    for p in store.purged_tenants().await? {
        out.println(format!(
            "{:<5} {:<20} {:<30} {:>6} {:>9}  purged {} ({} rows; backups clear by {})",
            p.tenant_id, "-", "(purged)", "-", "-", p.purged_at, p.rows_deleted, p.backups_clear_by
        ));
    }
    Ok(())
}

/// `genkan visitor erase`.
pub async fn erase(ctx: &OpCtx, slug: &str, visitor: i64) -> anyhow::Result<()> {
    let store = &ctx.store;
    let tenant = store
        .tenant_by_slug(slug)
        .await?
        .with_context(|| format!("no tenant {slug:?}"))?;
    let report = store
        .erase_visitor(
            tenant.id,
            VisitorId(visitor),
            ctx.audit(Some(tenant.id), ctx.now()),
        )
        .await
        .map_err(|e| match e {
            genkan_store::StoreError::NotFound => anyhow::anyhow!("no visitor {visitor} in {slug}"),
            other => other.into(),
        })?;
    ctx.console.println(format!(
        "erased visitor {visitor} of {slug}: {} visits kept without identity, {} messages scrubbed, {} kiosk answers deleted",
        report.visits, report.messages, report.kiosk_answers
    ));
    Ok(())
}
