//! Store behaviour against a real encrypted database in a temporary directory.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::{Role, Visibility};
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::notification::Channel;
use genkan_core::pass::{FallbackCode, PassToken};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::wire::v1::ErrorCode;
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing, Store, StoreConfig, StoreError};

struct Fixture {
    store: Store,
    tenant: TenantId,
    site: SiteId,
    host: UserId,
    kiosk: KioskAuth,
    _dir: tempfile::TempDir,
}

fn now() -> DateTime<Utc> {
    "2026-11-23T01:00:00Z".parse().unwrap()
}

fn sys(tenant: Option<TenantId>) -> AuditCtx {
    AuditCtx::system(tenant, now())
}

async fn tenant_with_kiosk(store: &Store, slug: &str) -> (TenantId, SiteId, UserId, KioskAuth) {
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
    let site = store
        .create_site(
            t.id,
            OrgName::parse("HQ").unwrap(),
            TimeZone::default(),
            "1-1 Chiyoda".into(),
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    let host = store
        .create_user(
            t.id,
            EmailAddress::parse(&format!("host@{slug}.example")).unwrap(),
            DisplayName::parse("Tanaka Ichiro").unwrap(),
            Role::Host,
            Some("$argon2id$placeholder".into()),
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    let new = store
        .create_kiosk(t.id, site.id, "Lobby".into(), sys(Some(t.id)))
        .await
        .unwrap();
    let paired = store
        .pair_kiosk(&new.pairing_code, Some("ipad".into()), sys(None))
        .await
        .unwrap()
        .unwrap();
    let kiosk = store
        .kiosk_by_credential(&paired.credential)
        .await
        .unwrap()
        .unwrap();
    (t.id, site.id, host.id, kiosk)
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig {
        path: dir.path().join("genkan.db"),
        keys: KeyRing::generate(),
        readers: 2,
    })
    .unwrap();
    let (tenant, site, host, kiosk) = tenant_with_kiosk(&store, "acme").await;
    Fixture {
        store,
        tenant,
        site,
        host,
        kiosk,
        _dir: dir,
    }
}

fn appointment(site: SiteId, host: UserId, visitors: &[&str]) -> AppointmentInput {
    AppointmentInput {
        site_id: site,
        host_id: host,
        title: Some("Review".into()),
        starts_at: now(),
        ends_at: now() + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: visitors
            .iter()
            .map(|n| VisitorInput {
                name: (*n).into(),
                email: Some(format!(
                    "{}@visitor.example",
                    n.to_lowercase().replace(' ', ".")
                )),
                ..VisitorInput::default()
            })
            .collect(),
    }
}

fn scan(token: &PassToken, request: &str) -> Presented {
    Presented {
        request_id: request.into(),
        key: PassKey::Token(token.hash()),
        offline_at: None,
    }
}

#[tokio::test]
async fn a_pass_checks_in_once_then_says_already_inside_then_checks_out() {
    let f = fixture().await;
    let created = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &["Sato Hanako"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let token = created.passes[0].token.clone();
    let ok = f
        .store
        .check_in(f.kiosk, scan(&token, "req-00000001"), sys(Some(f.tenant)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.visitor_name, "Sato Hanako");
    assert_eq!(ok.host_name, "Tanaka Ichiro");
    assert!(ok.checked_in_at.ends_with("+09:00"), "{}", ok.checked_in_at);

    // A retry of the same request gets the same answer and no second visit.
    let again = f
        .store
        .check_in(f.kiosk, scan(&token, "req-00000001"), sys(Some(f.tenant)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, ok);
    let second = f
        .store
        .check_in(f.kiosk, scan(&token, "req-00000002"), sys(Some(f.tenant)))
        .await
        .unwrap();
    assert_eq!(second, Err(ErrorCode::AlreadyInside));

    let out = f
        .store
        .check_out(f.kiosk, scan(&token, "req-00000003"), sys(Some(f.tenant)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.visit_id, ok.visit_id);
    let out_again = f
        .store
        .check_out(f.kiosk, scan(&token, "req-00000004"), sys(Some(f.tenant)))
        .await
        .unwrap();
    assert_eq!(out_again, Err(ErrorCode::NotInside));

    let visits = f
        .store
        .visits_between(
            f.tenant,
            Visibility::Tenant,
            now() - Duration::days(1),
            now() + Duration::days(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].status, "checked_out");
}

#[tokio::test]
async fn the_fallback_code_checks_in_like_the_qr_token() {
    let f = fixture().await;
    let created = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &["Ito Ken"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let code = FallbackCode::parse(created.passes[0].code.as_str()).unwrap();
    let presented = Presented {
        request_id: "code-0000001".into(),
        key: PassKey::Code(code.hash(&f.store.keys().code_key())),
        offline_at: None,
    };
    let ok = f
        .store
        .check_in(f.kiosk, presented, sys(Some(f.tenant)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.visitor_name, "Ito Ken");
}

#[tokio::test]
async fn a_thousand_racing_scans_of_one_pass_make_exactly_one_visit() {
    let f = fixture().await;
    let created = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &["Race Runner"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let token = Arc::new(created.passes[0].token.clone());
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let store = f.store.clone();
        let token = Arc::clone(&token);
        let kiosk = f.kiosk;
        let tenant = f.tenant;
        tasks.push(tokio::spawn(async move {
            store
                .check_in(
                    kiosk,
                    scan(&token, &format!("race-{i:06}")),
                    sys(Some(tenant)),
                )
                .await
        }));
    }
    let mut ok = 0;
    let mut inside = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Ok(_) => ok += 1,
            Err(ErrorCode::AlreadyInside) => inside += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, inside), (1, 999));
}

#[tokio::test]
async fn another_tenants_pass_is_unknown_and_a_revoked_kiosk_is_refused() {
    let f = fixture().await;
    let (other_tenant, other_site, other_host, other_kiosk) =
        tenant_with_kiosk(&f.store, "globex").await;
    let theirs = f
        .store
        .create_appointment(
            other_tenant,
            appointment(other_site, other_host, &["Their Guest"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(other_tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let token = theirs.passes[0].token.clone();
    assert_eq!(
        f.store
            .check_in(f.kiosk, scan(&token, "foreign-0001"), sys(Some(f.tenant)))
            .await
            .unwrap(),
        Err(ErrorCode::PassUnknown)
    );
    // A host of one tenant cannot be used by another tenant's appointment.
    let cross = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, other_host, &["X Y"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap();
    assert!(cross.is_err());
    f.store
        .revoke_kiosk(other_tenant, other_kiosk.kiosk_id, sys(Some(other_tenant)))
        .await
        .unwrap();
    assert_eq!(
        f.store
            .check_in(
                other_kiosk,
                scan(&token, "revoked-0001"),
                sys(Some(other_tenant))
            )
            .await
            .unwrap(),
        Err(ErrorCode::KioskRevoked)
    );
}

#[tokio::test]
async fn cancelling_revokes_passes_and_queues_cancellation_mail() {
    let f = fixture().await;
    let created = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &["Mori Aki"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let id = created.appointment.id;
    // A host cannot see (or cancel) someone else's appointment.
    let stranger = Visibility::Host(UserId(999));
    assert_eq!(
        f.store
            .cancel_appointment(f.tenant, stranger, id, sys(Some(f.tenant)))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    let cancelled = f
        .store
        .cancel_appointment(f.tenant, Visibility::Tenant, id, sys(Some(f.tenant)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert!(cancelled.visitors[0].pass_revoked_at.is_some());
    let answer = f
        .store
        .check_in(
            f.kiosk,
            scan(&created.passes[0].token, "cancel-0001"),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap();
    assert_eq!(answer, Err(ErrorCode::PassCancelled));
    let ledger = f.store.ledger(f.tenant, Some(id), None).await.unwrap();
    let kinds: Vec<_> = ledger.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["invitation", "cancellation"]);
}

#[tokio::test]
async fn outbox_messages_are_claimed_once_and_expired_leases_come_back() {
    let f = fixture().await;
    f.store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &["A One", "B Two"])
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    let lease = Duration::seconds(60);
    let claimed = f
        .store
        .claim_due(now(), 10, lease, &[Channel::Email])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let secrets: serde_json::Value =
        serde_json::from_slice(claimed[0].secret_payload.as_ref().unwrap()).unwrap();
    assert!(PassToken::parse(secrets["token"].as_str().unwrap()).is_ok());
    assert!(
        f.store
            .claim_due(now(), 10, lease, &[Channel::Email])
            .await
            .unwrap()
            .is_empty(),
        "claimed twice"
    );
    // A worker that died: its lease expires and the message is due again.
    let later = now() + lease + Duration::seconds(1);
    let again = f
        .store
        .claim_due(later, 10, lease, &[Channel::Email])
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].attempt, 2);
    f.store
        .record_attempt(
            again[0].id,
            later,
            genkan_store::outbox::AttemptResult::Sent {
                detail: "250 ok".into(),
            },
        )
        .await
        .unwrap();
    let ledger = f
        .store
        .ledger(
            f.tenant,
            Some(
                f.store
                    .appointments_between(
                        f.tenant,
                        Visibility::Tenant,
                        now() - Duration::days(1),
                        now() + Duration::days(1),
                    )
                    .await
                    .unwrap()[0]
                    .id,
            ),
            None,
        )
        .await
        .unwrap();
    assert!(ledger.iter().any(|l| l.status == "sent"));
    assert!(
        ledger.iter().all(|l| !l.recipient.contains("a.one@")),
        "ledger must mask addresses"
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_a_tampered_row() {
    let f = fixture().await;
    let report = f.store.verify_audit().await.unwrap();
    assert!(
        report.rows >= 5 && report.first_break.is_none(),
        "{report:?}"
    );
    let path = f.store.path().to_owned();
    let keys = f.store.keys().clone();
    drop(f.store);
    // Tamper through a second connection, as an attacker with the key would.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex_key(&keys)))
        .unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'tampered' WHERE id = 3;",
    )
    .unwrap();
    let report = genkan_store::audit_chain::verify_chains(&conn, &keys.audit_key()).unwrap();
    let broken = report.first_break.expect("tampering must be found");
    assert_eq!(broken.row_id, Some(3));
}

fn hex_key(keys: &KeyRing) -> String {
    keys.database
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_database_file_does_not_open_with_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genkan.db");
    let store = Store::open(StoreConfig {
        path: path.clone(),
        keys: KeyRing::generate(),
        readers: 1,
    })
    .unwrap();
    store.ping().await.unwrap();
    drop(store);
    let wrong = Store::open(StoreConfig {
        path,
        keys: KeyRing::generate(),
        readers: 1,
    });
    assert!(matches!(wrong, Err(StoreError::KeyRejected)));
}

#[tokio::test]
async fn history_finds_visitors_by_any_part_of_their_name_and_pages_without_gaps() {
    use genkan_store::history::VisitFilter;
    let f = fixture().await;
    let names = [
        "佐藤 花子",
        "佐藤太郎",
        "小林 一郎",
        "Sato Hanako",
        "Emma Brown",
    ];
    let created = f
        .store
        .create_appointment(
            f.tenant,
            appointment(f.site, f.host, &names)
                .validate(Locale::Ja)
                .unwrap(),
            sys(Some(f.tenant)),
        )
        .await
        .unwrap()
        .unwrap();
    for (i, pass) in created.passes.iter().enumerate() {
        f.store
            .check_in(
                f.kiosk,
                scan(&pass.token, &format!("hist-{i:06}")),
                sys(Some(f.tenant)),
            )
            .await
            .unwrap()
            .unwrap();
    }
    let search = |visitor: &str| {
        let store = f.store.clone();
        let tenant = f.tenant;
        let visitor = visitor.to_owned();
        async move {
            let mut found: Vec<String> = store
                .visit_history(
                    tenant,
                    Visibility::Tenant,
                    VisitFilter {
                        visitor: Some(visitor),
                        limit: 50,
                        ..VisitFilter::default()
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.visitor_name)
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(search("佐藤").await, ["佐藤 花子", "佐藤太郎"]);
    assert_eq!(
        search("藤花").await,
        ["佐藤 花子"],
        "spaces are ignored, order matters"
    );
    assert_eq!(
        search("林").await,
        ["小林 一郎"],
        "one character finds it at the end"
    );
    assert_eq!(search("sato hana").await, ["Sato Hanako"]);
    assert!(
        search("花藤").await.is_empty(),
        "bigrams out of order do not match"
    );
    assert_eq!(search("\" OR 1=1 --").await, Vec::<String>::new());
    // Pages of 2 cover all five visits once each.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .visit_history(
                f.tenant,
                Visibility::Tenant,
                VisitFilter {
                    after,
                    limit: 2,
                    ..VisitFilter::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.checked_in_at, last.id));
        seen.extend(page.iter().map(|v| v.id));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    // A host sees only their own visits.
    let none = f
        .store
        .visit_history(
            f.tenant,
            Visibility::Host(UserId(999)),
            VisitFilter {
                limit: 50,
                ..VisitFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}
