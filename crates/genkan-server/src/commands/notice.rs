//! `genkan notice publish | list`.

use anyhow::{Context as _, bail};
use chrono::Duration;
use genkan_store::notices::{KINDS, NewNotice};

use crate::operator::exec::OpCtx;

/// `genkan notice publish`.
pub async fn publish(
    ctx: &OpCtx,
    kind: &str,
    title: &str,
    body: &str,
    tenants: Option<&str>,
    days: i64,
) -> anyhow::Result<()> {
    let store = &ctx.store;
    if !KINDS.contains(&kind) {
        bail!("--kind must be one of {}", KINDS.join(", "));
    }
    if title.trim().is_empty() || title.contains(['\r', '\n']) {
        bail!("--title must be one non-empty line");
    }
    let tenants = match tenants {
        None => None,
        Some(list) => {
            let mut ids = Vec::new();
            for slug in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let t = store
                    .tenant_by_slug(slug)
                    .await?
                    .with_context(|| format!("no tenant {slug:?}"))?;
                ids.push(t.id);
            }
            if ids.is_empty() {
                bail!("--tenants lists no organisation");
            }
            Some(ids)
        }
    };
    let now = ctx.now();
    let published = store
        .publish_notice(
            NewNotice {
                kind: kind.to_owned(),
                title: title.trim().to_owned(),
                body: body.to_owned(),
                shown_until: now + Duration::days(days.clamp(1, 365)),
                tenants,
            },
            now,
        )
        .await?;
    ctx.console
        .println(serde_json::to_string(&published).unwrap_or_default());
    Ok(())
}

/// `genkan notice list`.
pub async fn list(ctx: &OpCtx) -> anyhow::Result<()> {
    let zone = genkan_core::tenant::TimeZone::default();
    for n in ctx.store.notices().await? {
        let secs = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"));
        ctx.console.println(format!(
            "#{} {} [{}] {} — {} tenants, {}/{} delivered, {} failed; publication to delivery: median {}, max {}",
            n.banner.id,
            zone.format(n.banner.published_at),
            n.banner.kind,
            n.banner.title,
            if n.all_tenants {
                "all".to_owned()
            } else {
                n.tenants.to_string()
            },
            n.sent,
            n.messages,
            n.dead,
            secs(n.median_delivery_secs),
            secs(n.max_delivery_secs),
        ));
    }
    Ok(())
}
