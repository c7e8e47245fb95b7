//! The host search and kiosk walk-ins.

use chrono::Duration;
use genkan_core::access::{Role, Visibility};
use genkan_core::appointment::Visitor;
use genkan_core::text::{DisplayName, Locale, OrgName};
use genkan_core::wire::v1::ErrorCode;
use genkan_store::AuditCtx;

use crate::fixture::{now, store, sys, tenant, user};

#[tokio::test]
async fn the_host_search_needs_three_characters_and_gives_a_few_names_of_the_kiosks_tenant_only() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let other = tenant(&store, "other", "Tanaka Other").await;
    for i in 0..7 {
        user(
            &store,
            t.id,
            &format!("t{i}@acme.example"),
            &format!("Tanaka {i}"),
            Role::Host,
        )
        .await;
    }
    let gone = user(&store, t.id, "gone@acme.example", "Tanaka Gone", Role::Host).await;
    store
        .set_user_enabled(t.id, gone, false, sys(Some(t.id)))
        .await
        .unwrap();

    assert!(store.search_hosts(t.kiosk, "Ta").await.unwrap().is_empty());
    assert!(
        store
            .search_hosts(t.kiosk, " T a ")
            .await
            .unwrap()
            .is_empty()
    );
    let found = store.search_hosts(t.kiosk, "tanaka").await.unwrap();
    assert_eq!(found.len(), 5, "never more than five");
    assert!(found.iter().all(|m| m.name.starts_with("Tanaka")));
    let all: Vec<_> = store.search_hosts(t.kiosk, "Tanaka O").await.unwrap();
    assert!(
        all.is_empty(),
        "another tenant's staff never appear: {all:?}"
    );
    assert!(
        store
            .search_hosts(t.kiosk, "Gone")
            .await
            .unwrap()
            .is_empty(),
        "disabled users never appear"
    );
    let exact = store.search_hosts(t.kiosk, "ichiro").await.unwrap();
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].id, t.host.get());
    assert_eq!(
        store
            .search_hosts(other.kiosk, "Tanaka")
            .await
            .unwrap()
            .len(),
        1,
        "the other tenant sees only its own"
    );
}

#[tokio::test]
async fn a_kiosk_walk_in_is_idempotent_per_request_and_refuses_an_unknown_host() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let other = tenant(&store, "other", "Tanaka Other").await;
    let visitor = Visitor {
        name: DisplayName::parse("John Smith").unwrap(),
        company: Some(OrgName::parse("Contoso").unwrap()),
        email: None,
        phone: None,
        locale: Locale::En,
    };
    let ctx = AuditCtx {
        actor_kind: "kiosk",
        actor_id: Some(t.kiosk.kiosk_id.get()),
        ..sys(Some(t.id))
    };
    let first = store
        .kiosk_walk_in(
            t.kiosk,
            "walk-0000001".into(),
            t.host,
            visitor.clone(),
            ctx.clone(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            first.visitor_name.as_str(),
            first.host_name.as_str(),
            first.locale.as_str()
        ),
        ("John Smith", "Tanaka Ichiro", "en")
    );
    assert_eq!(first.visitor_company.as_deref(), Some("Contoso"));
    let again = store
        .kiosk_walk_in(
            t.kiosk,
            "walk-0000001".into(),
            t.host,
            visitor.clone(),
            ctx.clone(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, first);
    let visits = store
        .visits_between(
            t.id,
            Visibility::Tenant,
            now() - Duration::days(1),
            now() + Duration::days(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].status, "inside");
    assert_eq!(
        store
            .kiosk_walk_in(t.kiosk, "walk-0000002".into(), other.host, visitor, ctx)
            .await
            .unwrap(),
        Err(ErrorCode::Validation),
        "another tenant's user is no host here"
    );
}
