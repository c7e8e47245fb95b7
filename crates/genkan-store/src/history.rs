//! Visit history: filtered, newest first, page by page with a keyset cursor so every
//! page costs the same however deep it is; name and company search use the FTS index.

use chrono::{DateTime, Utc};
use genkan_core::access::Visibility;
use genkan_core::id::{KioskId, SiteId, TenantId, UserId, VisitId};
use genkan_core::search;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension as _, params_from_iter};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::sql::ts;
use crate::visits::{VISIT_COLS, VisitView, visit_row};

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    /// Arrivals from (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Arrivals until (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// One site.
    pub site: Option<SiteId>,
    /// One host.
    pub host: Option<UserId>,
    /// Arrivals recorded by one kiosk (device).
    pub kiosk: Option<KioskId>,
    /// `inside` or `checked_out`.
    pub status: Option<String>,
    /// Part of the visitor's name.
    pub visitor: Option<String>,
    /// Part of the visitor's company.
    pub company: Option<String>,
    /// Continue after this (arrival, id) — the last row of the previous page.
    pub after: Option<(DateTime<Utc>, VisitId)>,
    /// Page size (at most 200).
    pub limit: u32,
}

impl Store {
    /// One page of visits matching `filter` that `visibility` allows, newest first.
    pub async fn visit_history(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        filter: VisitFilter,
    ) -> StoreResult<Vec<VisitView>> {
        self.read(move |c| {
            // Phase 1 finds the page's ids using only indexes; phase 2 reads those rows.
            // Only fixed SQL fragments are put together; every value is a parameter.
            let mut inner = String::from("SELECT vi.id FROM visits vi WHERE vi.tenant_id = ?");
            let mut args: Vec<Value> = vec![tenant.get().into()];
            let mut push = |clause: &str, value: Value| {
                inner.push_str(clause);
                args.push(value);
            };
            if let Visibility::Host(me) = visibility {
                push(" AND vi.host_id = ?", me.get().into());
            }
            if let Some(h) = filter.host {
                push(" AND vi.host_id = ?", h.get().into());
            }
            if let Some(s) = filter.site {
                push(" AND vi.site_id = ?", s.get().into());
            }
            if let Some(k) = filter.kiosk {
                push(" AND vi.kiosk_id = ?", k.get().into());
            }
            if let Some(f) = filter.from {
                push(" AND vi.checked_in_at >= ?", ts(f).into());
            }
            if let Some(u) = filter.until {
                push(" AND vi.checked_in_at < ?", ts(u).into());
            }
            if let Some(st) = filter.status.filter(|s| s == "inside" || s == "checked_out") {
                push(" AND vi.status = ?", st.into());
            }
            // Name and company search: the FTS index finds the visitors; a few of them
            // are looked up by visitor (covering index), many are met while walking
            // the time index — whichever reads fewer rows.
            let mut few_candidates = false;
            for (column, text) in [("name_tokens", &filter.visitor), ("company_tokens", &filter.company)] {
                let Some(expr) = text.as_deref().and_then(|t| search::match_expression(column, t)) else {
                    continue;
                };
                let candidates: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM (SELECT rowid FROM visitor_search WHERE visitor_search MATCH ?1 LIMIT 2001)",
                    )?
                    .query_row([&expr], |r| r.get(0))?;
                few_candidates |= candidates <= 2000;
                push(" AND vi.visitor_id IN (SELECT rowid FROM visitor_search WHERE visitor_search MATCH ?)", expr.into());
            }
            if let Some((at, id)) = filter.after {
                inner.push_str(" AND (vi.checked_in_at < ? OR (vi.checked_in_at = ? AND vi.id < ?))");
                args.push(ts(at).into());
                args.push(ts(at).into());
                args.push(id.get().into());
            }
            if few_candidates {
                inner = inner.replacen("FROM visits vi ", "FROM visits vi INDEXED BY visits_search ", 1);
            }
            inner.push_str(" ORDER BY vi.checked_in_at DESC, vi.id DESC LIMIT ?");
            args.push(i64::from(filter.limit.clamp(1, 200)).into());
            let sql = format!("SELECT {VISIT_COLS} WHERE vi.id IN ({inner}) ORDER BY vi.checked_in_at DESC, vi.id DESC");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), visit_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// One visit, if visible.
    pub async fn visit(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        id: VisitId,
    ) -> StoreResult<VisitView> {
        let host = match visibility {
            Visibility::Tenant => None,
            Visibility::Host(u) => Some(u.get()),
        };
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {VISIT_COLS} WHERE vi.id = ?1 AND vi.tenant_id = ?2 AND (?3 IS NULL OR vi.host_id = ?3)"
            ))?
            .query_row(rusqlite::params![id.get(), tenant.get(), host], visit_row)
            .optional()?
            .ok_or(StoreError::NotFound)
        })
        .await
    }
}
