//! Fixtures: a store in a temporary directory, tenants with two sites, a host, two
//! admins and a paired kiosk, and passes for a visit some days away.

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_store::appointments::IssuedPass;
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::{AuditCtx, KeyRing, Store, StoreConfig};

pub(crate) fn now() -> DateTime<Utc> {
    // 10:00 in Tokyo.
    "2026-11-23T01:00:00Z".parse().unwrap()
}

pub(crate) fn sys(tenant: Option<TenantId>) -> AuditCtx {
    AuditCtx::system(tenant, now())
}

pub(crate) struct Tenant {
    pub(crate) id: TenantId,
    pub(crate) site: SiteId,
    pub(crate) other_site: SiteId,
    pub(crate) host: UserId,
    pub(crate) kiosk: KioskAuth,
}

pub(crate) async fn user(
    store: &Store,
    t: TenantId,
    email: &str,
    name: &str,
    role: Role,
) -> UserId {
    store
        .create_user(
            t,
            EmailAddress::parse(email).unwrap(),
            DisplayName::parse(name).unwrap(),
            role,
            Some("$argon2id$placeholder".into()),
            sys(Some(t)),
        )
        .await
        .unwrap()
        .id
}

pub(crate) async fn tenant(store: &Store, slug: &str, host_name: &str) -> Tenant {
    let t = store
        .create_tenant(
            NewTenant {
                slug: slug.into(),
                name: OrgName::parse(&format!("{slug} Inc")).unwrap(),
                default_locale: Locale::Ja,
                time_zone: TimeZone::default(),
            },
            sys(None),
        )
        .await
        .unwrap();
    let mut sites = Vec::new();
    for name in ["HQ", "Osaka"] {
        sites.push(
            store
                .create_site(
                    t.id,
                    OrgName::parse(name).unwrap(),
                    TimeZone::default(),
                    String::new(),
                    sys(Some(t.id)),
                )
                .await
                .unwrap()
                .id,
        );
    }
    let host = user(
        store,
        t.id,
        &format!("host@{slug}.example"),
        host_name,
        Role::Host,
    )
    .await;
    user(
        store,
        t.id,
        &format!("admin@{slug}.example"),
        "Admin One",
        Role::Admin,
    )
    .await;
    user(
        store,
        t.id,
        &format!("admin2@{slug}.example"),
        "Admin Two",
        Role::Admin,
    )
    .await;
    let new = store
        .create_kiosk(t.id, sites[0], "Lobby".into(), sys(Some(t.id)))
        .await
        .unwrap();
    let paired = store
        .pair_kiosk(&new.pairing_code, None, sys(None))
        .await
        .unwrap()
        .unwrap();
    let kiosk = store
        .kiosk_by_credential(&paired.credential)
        .await
        .unwrap()
        .unwrap();
    Tenant {
        id: t.id,
        site: sites[0],
        other_site: sites[1],
        host,
        kiosk,
    }
}

pub(crate) async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig {
        path: dir.path().join("genkan.db"),
        keys: KeyRing::generate(),
        readers: 2,
    })
    .unwrap();
    (store, dir)
}

/// Passes for `names` at `site`, for a visit `days` days from now.
pub(crate) async fn passes(
    store: &Store,
    t: &Tenant,
    site: SiteId,
    names: &[&str],
    days: i64,
) -> Vec<IssuedPass> {
    let start = now() + Duration::days(days);
    let input = AppointmentInput {
        site_id: site,
        host_id: t.host,
        title: None,
        starts_at: start,
        ends_at: start + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: names
            .iter()
            .map(|n| VisitorInput {
                name: (*n).into(),
                ..VisitorInput::default()
            })
            .collect(),
    };
    store
        .create_appointment(t.id, input.validate(Locale::Ja).unwrap(), sys(Some(t.id)))
        .await
        .unwrap()
        .unwrap()
        .passes
}
