//! `genkan notice publish | list`.

use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_store::notices::{KINDS, NewNotice};

use super::open_from;
use crate::cli::ops::NoticePublish;

/// `genkan notice publish`.
pub async fn publish(args: NoticePublish) -> anyhow::Result<()> {
    let (_, store) = open_from(&args.config)?;
    if !KINDS.contains(&args.kind.as_str()) {
        bail!("--kind must be one of {}", KINDS.join(", "));
    }
    if args.title.trim().is_empty() || args.title.contains(['\r', '\n']) {
        bail!("--title must be one non-empty line");
    }
    let tenants = match &args.tenants {
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
    let now = SystemClock.now();
    let published = store
        .publish_notice(
            NewNotice {
                kind: args.kind.clone(),
                title: args.title.trim().to_owned(),
                body: args.body.clone(),
                shown_until: now + Duration::days(args.days.clamp(1, 365)),
                tenants,
            },
            now,
        )
        .await?;
    println!("{}", serde_json::to_string(&published).unwrap_or_default());
    Ok(())
}

/// `genkan notice list`.
pub async fn list(path: &Path) -> anyhow::Result<()> {
    let (_, store) = open_from(path)?;
    let zone = genkan_core::tenant::TimeZone::default();
    for n in store.notices().await? {
        let secs = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"));
        println!(
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
        );
    }
    Ok(())
}
