//! Real questions to the upgraded store about the old data, answered as the landed
//! version answered them when it made the fixture (its `facts.json`): a kiosk's
//! credential, an API token, the appointments of a range, a visit history search
//! by visitor name, and the purged tenant's tombstone.

use chrono::{DateTime, Utc};
use genkan_core::access::Visibility;
use genkan_core::id::TenantId;
use genkan_store::Store;
use genkan_store::history::VisitFilter;
use serde_json::Value;

/// The `facts.json` format this test reads.
pub(crate) const FACTS_FORMAT: i64 = 1;

fn int(facts: &Value, path: &[&str]) -> i64 {
    path.iter()
        .fold(facts, |v, k| &v[*k])
        .as_i64()
        .unwrap_or_else(|| panic!("facts.json lacks the number {}", path.join(".")))
}

fn text<'a>(facts: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(facts, |v, k| &v[*k])
        .as_str()
        .unwrap_or_else(|| panic!("facts.json lacks the text {}", path.join(".")))
}

fn ids(facts: &Value, path: &[&str]) -> Vec<i64> {
    path.iter()
        .fold(facts, |v, k| &v[*k])
        .as_array()
        .unwrap_or_else(|| panic!("facts.json lacks the list {}", path.join(".")))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

fn instant(facts: &Value, path: &[&str]) -> DateTime<Utc> {
    text(facts, path)
        .parse()
        .unwrap_or_else(|e| panic!("facts.json {}: {e}", path.join(".")))
}

/// Asks `store` what the landed version answered; panics on the first difference.
pub(crate) async fn ask(store: &Store, facts: &Value, name: &str) {
    assert_eq!(
        facts["format"].as_i64(),
        Some(FACTS_FORMAT),
        "{name}/facts.json: unknown format"
    );
    let tenant = TenantId(int(facts, &["tenant", "id"]));
    let found = store
        .tenant_by_slug(text(facts, &["tenant", "slug"]))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: the tenant is not found by its slug"));
    assert_eq!(found.id, tenant, "{name}: the slug names another tenant");

    let credential = text(facts, &["kiosk", "credential"]);
    let kiosk = store
        .kiosk_by_credential(credential)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: the paired kiosk's credential is not recognised"));
    assert_eq!(kiosk.kiosk_id.get(), int(facts, &["kiosk", "id"]), "{name}");
    assert_eq!(kiosk.tenant_id, tenant, "{name}");
    assert_eq!(
        kiosk.site_id.get(),
        int(facts, &["kiosk", "site_id"]),
        "{name}"
    );
    assert!(
        !kiosk.revoked,
        "{name}: the kiosk is revoked after the upgrade"
    );

    let token = store
        .api_token(text(facts, &["api_token", "secret"]))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: the API token is not recognised"));
    assert_eq!(
        token.token_id.get(),
        int(facts, &["api_token", "id"]),
        "{name}"
    );
    assert_eq!(token.tenant_id, tenant, "{name}");
    assert_eq!(
        token.user_id.get(),
        int(facts, &["api_token", "user_id"]),
        "{name}"
    );
    assert!(
        !token.revoked,
        "{name}: the API token is revoked after the upgrade"
    );

    let listed: Vec<i64> = store
        .appointments_between(
            tenant,
            Visibility::Tenant,
            instant(facts, &["appointments", "from"]),
            instant(facts, &["appointments", "until"]),
        )
        .await
        .unwrap()
        .iter()
        .map(|a| a.id.get())
        .collect();
    assert_eq!(
        listed,
        ids(facts, &["appointments", "ids"]),
        "{name}: the appointment list differs from the landed version's"
    );

    let found: Vec<i64> = store
        .visit_history(
            tenant,
            Visibility::Tenant,
            VisitFilter {
                visitor: Some(text(facts, &["visit_search", "visitor"]).to_owned()),
                limit: 50,
                ..VisitFilter::default()
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|v| v.id.get())
        .collect();
    assert_eq!(
        found,
        ids(facts, &["visit_search", "visit_ids"]),
        "{name}: the visit history search by visitor name differs"
    );

    let purged = int(facts, &["purged_tenant_id"]);
    assert!(
        store
            .purged_tenants()
            .await
            .unwrap()
            .iter()
            .any(|p| p.tenant_id == purged),
        "{name}: the purged tenant's tombstone is gone"
    );
}
