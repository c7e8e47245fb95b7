//! Operations against a real encrypted database: backups (online, rotated, verified,
//! restored, tampering refused), contract ends and purges, visitor erasure and
//! retention.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_store::backup::files::{generations, manifest_path};
use genkan_store::backup::verify::{drill, restore_into, verify_backup};
use genkan_store::backup::{BackupPlan, RotationPolicy};
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing, Store, StoreConfig, StoreError};

fn now() -> DateTime<Utc> {
    "2026-11-23T01:00:00Z".parse().unwrap()
}

fn sys(tenant: Option<TenantId>) -> AuditCtx {
    AuditCtx::system(tenant, now())
}

#[derive(Clone, Copy)]
struct Tenant {
    id: TenantId,
    site: SiteId,
    host: UserId,
    kiosk: KioskAuth,
}

async fn tenant(store: &Store, slug: &str) -> Tenant {
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
            String::new(),
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    let host = store
        .create_user(
            t.id,
            EmailAddress::parse(&format!("host@{slug}.example")).unwrap(),
            DisplayName::parse("Tanaka Ichiro").unwrap(),
            Role::Admin,
            None,
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    let new = store
        .create_kiosk(t.id, site.id, "Lobby".into(), sys(Some(t.id)))
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
        site: site.id,
        host: host.id,
        kiosk,
    }
}

/// Creates an appointment for `name` (e-mail derived from it) and checks the visitor in.
async fn visit(store: &Store, t: &Tenant, name: &str, request: &str) -> i64 {
    let input = AppointmentInput {
        site_id: t.site,
        host_id: t.host,
        title: None,
        starts_at: now(),
        ends_at: now() + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: vec![VisitorInput {
            name: name.into(),
            email: Some(format!(
                "{}@visitor.example",
                name.to_lowercase().replace(' ', ".")
            )),
            company: Some(format!("{name} Trading")),
            ..VisitorInput::default()
        }],
    };
    let created = store
        .create_appointment(t.id, input.validate(Locale::Ja).unwrap(), sys(Some(t.id)))
        .await
        .unwrap()
        .unwrap();
    let presented = Presented {
        request_id: request.into(),
        key: PassKey::Token(created.passes[0].token.hash()),
        offline_at: None,
    };
    store
        .check_in(t.kiosk, presented, sys(Some(t.id)))
        .await
        .unwrap()
        .unwrap();
    created.passes[0].visitor_id.get()
}

struct Fixture {
    store: Store,
    keys: KeyRing,
    dir: tempfile::TempDir,
}

fn open(dir: &Path, keys: &KeyRing) -> Store {
    Store::open(StoreConfig {
        path: dir.join("genkan.db"),
        keys: keys.clone(),
        readers: 2,
    })
    .unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyRing::generate();
    Fixture {
        store: open(dir.path(), &keys),
        keys,
        dir,
    }
}

/// A second connection, as the operator (or an attacker with the key) would open one.
fn raw(path: &Path, keys: &KeyRing) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    let hex: String = keys
        .database
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    conn
}

fn plan(f: &Fixture, dests: &[PathBuf]) -> BackupPlan {
    BackupPlan {
        destinations: dests.to_vec(),
        generations: 10,
        step_pages: 8,
        app_version: "test".into(),
        zone: TimeZone::default(),
        work_dir: f.dir.path().join("tmp"),
    }
}

fn rotation() -> RotationPolicy {
    RotationPolicy {
        generations: 10,
        purged: Vec::new(),
    }
}

fn tenant_rows(conn: &rusqlite::Connection, tenant: i64) -> Vec<(String, i64)> {
    let tables: Vec<String> = conn
        .prepare("SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'tenant_id')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows: Vec<(String, i64)> = tables
        .into_iter()
        .map(|t| {
            let n = conn
                .query_row(
                    &format!("SELECT count(*) FROM \"{t}\" WHERE tenant_id = ?1"),
                    [tenant],
                    |r| r.get(0),
                )
                .unwrap();
            (t, n)
        })
        .collect();
    rows.push((
        "tenants".into(),
        conn.query_row(
            "SELECT count(*) FROM tenants WHERE id = ?1",
            [tenant],
            |r| r.get(0),
        )
        .unwrap(),
    ));
    rows.push((
        "audit_log chain".into(),
        conn.query_row(
            "SELECT count(*) FROM audit_log WHERE chain = ?1",
            [tenant],
            |r| r.get(0),
        )
        .unwrap(),
    ));
    rows
}

#[tokio::test]
async fn twelve_online_backups_leave_ten_verified_generations_in_each_of_two_places() {
    let f = fixture();
    let t = tenant(&f.store, "acme").await;
    let dests = [f.dir.path().join("local"), f.dir.path().join("remote")];
    for run in 0..12 {
        // Writes keep landing while the copy runs: the backup sees one snapshot.
        let writer = {
            let store = f.store.clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    visit(
                        &store,
                        &t,
                        &format!("Guest {run} {i}"),
                        &format!("req-{run:04}-{i:04}"),
                    )
                    .await;
                }
            })
        };
        let at = now() + Duration::hours(run);
        let outcome = f
            .store
            .backup(plan(&f, &dests), rotation(), at, |_| {})
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(outcome.written.len(), 2, "{:?}", outcome.failed);
        assert!(
            outcome.manifest.created_at.ends_with("+09:00"),
            "{}",
            outcome.manifest.created_at
        );
    }
    for dest in &dests {
        let gens = generations(dest).unwrap();
        assert_eq!(gens.len(), 10, "{}", dest.display());
        let files = std::fs::read_dir(dest).unwrap().count();
        assert_eq!(files, 20, "ten backups and ten manifests, nothing else");
        for (i, g) in gens.iter().enumerate() {
            let report = verify_backup(&g.path, &f.keys).unwrap();
            assert!(report.audit.rows > 0);
            assert!(g.manifest.tables["visits"] >= 0);
            let target = f.dir.path().join(format!(
                "restored-{}-{i}",
                dest.file_name().unwrap().to_string_lossy()
            ));
            restore_into(&g.path, &f.keys, &target).unwrap();
            let restored = open(&target, &f.keys);
            assert_eq!(restored.verify_audit().await.unwrap().first_break, None);
            assert!(!target.join("genkan.db-wal").exists() || restored.ping().await.is_ok());
        }
    }
    // The newest generation holds every visit written before it started.
    let newest = &generations(&dests[0]).unwrap()[0];
    assert!(
        newest.manifest.tables["visits"] >= 55,
        "{:?}",
        newest.manifest.tables
    );
}

#[tokio::test]
async fn a_flipped_byte_a_truncated_file_and_a_wrong_key_all_fail_and_restore_refuses() {
    let f = fixture();
    let t = tenant(&f.store, "acme").await;
    visit(&f.store, &t, "Sato Hanako", "req-00000001").await;
    let dest = f.dir.path().join("backups");
    let outcome = f
        .store
        .backup(
            plan(&f, std::slice::from_ref(&dest)),
            rotation(),
            now(),
            |_| {},
        )
        .await
        .unwrap();
    let good = outcome.written[0].clone();
    verify_backup(&good, &f.keys).unwrap();

    let copy = |name: &str| {
        let p = f.dir.path().join(name);
        std::fs::copy(&good, &p).unwrap();
        std::fs::copy(manifest_path(&good), manifest_path(&p)).unwrap();
        p
    };
    let refit_manifest = |p: &Path| {
        // An attacker who also rewrites the manifest's checksum and size.
        let (sha, size) = genkan_store::backup::sha256_file(p).unwrap();
        let mut m = genkan_store::backup::files::read_manifest(p).unwrap();
        m.sha256 = sha;
        m.size_bytes = size;
        std::fs::write(manifest_path(p), serde_json::to_vec(&m).unwrap()).unwrap();
    };
    let flipped = copy("flipped.db");
    let mut bytes = std::fs::read(&flipped).unwrap();
    let middle = bytes.len() / 2 + 100;
    bytes[middle] ^= 0x01;
    std::fs::write(&flipped, &bytes).unwrap();
    let err = verify_backup(&flipped, &f.keys).unwrap_err().to_string();
    assert!(err.contains("SHA-256"), "{err}");
    refit_manifest(&flipped);
    let err = verify_backup(&flipped, &f.keys).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(_) | StoreError::KeyRejected),
        "page HMAC must catch it: {err}"
    );

    let truncated = copy("truncated.db");
    let len = std::fs::metadata(&truncated).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len - 4096)
        .unwrap();
    let err = verify_backup(&truncated, &f.keys).unwrap_err().to_string();
    assert!(err.contains("size"), "{err}");
    refit_manifest(&truncated);
    assert!(verify_backup(&truncated, &f.keys).is_err());

    let wrong = KeyRing::generate();
    assert!(matches!(
        verify_backup(&good, &wrong),
        Err(StoreError::KeyRejected)
    ));

    for (bad, key) in [(&flipped, &f.keys), (&truncated, &f.keys), (&good, &wrong)] {
        let target = f.dir.path().join("restore-target");
        assert!(restore_into(bad, key, &target).is_err());
        assert!(
            !target.join("genkan.db").exists(),
            "nothing installed from {}",
            bad.display()
        );
        assert!(!drill(bad, key, f.dir.path()).ok);
    }
    assert!(drill(&good, &f.keys, f.dir.path()).ok);
    // The live database is still what it was.
    assert_eq!(f.store.verify_audit().await.unwrap().first_break, None);
    assert_eq!(f.store.tenant_statuses().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_audit_log_refuses_deletes_outside_a_purge_of_an_ended_tenant() {
    let f = fixture();
    let t = tenant(&f.store, "acme").await;
    let conn = raw(&f.dir.path().join("genkan.db"), &f.keys);
    let err = conn
        .execute("DELETE FROM audit_log WHERE chain = ?1", [t.id.get()])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute(
            "INSERT INTO purge_in_progress (tenant_id) VALUES (?1)",
            [t.id.get()],
        )
        .unwrap_err();
    assert!(err.to_string().contains("contract ended"), "{err}");
}

#[tokio::test]
async fn purging_an_ended_tenant_deletes_every_row_and_leaves_the_other_tenant_alone() {
    let f = fixture();
    let gone = tenant(&f.store, "gone").await;
    let stays = tenant(&f.store, "stays").await;
    for i in 0..3 {
        visit(
            &f.store,
            &gone,
            &format!("Canary Zqx {i}"),
            &format!("gone-{i:06}"),
        )
        .await;
        visit(
            &f.store,
            &stays,
            &format!("Keeper {i}"),
            &format!("stay-{i:06}"),
        )
        .await;
    }
    f.store
        .publish_notice(
            genkan_store::notices::NewNotice {
                kind: "maintenance".into(),
                title: "Maintenance".into(),
                body: "Tonight".into(),
                shown_until: now() + Duration::days(1),
                tenants: None,
            },
            now(),
        )
        .await
        .unwrap();
    let path = f.dir.path().join("genkan.db");
    let before_other = tenant_rows(&raw(&path, &f.keys), stays.id.get());
    let ends_on = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let read_only_from = TimeZone::default().start_of_day(ends_on.succ_opt().unwrap());
    f.store
        .end_contract(gone.id, ends_on, read_only_from, sys(None))
        .await
        .unwrap();
    assert!(
        !f.store
            .is_read_only(gone.id, read_only_from - Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(f.store.is_read_only(gone.id, read_only_from).await.unwrap());
    assert!(
        !f.store
            .is_read_only(stays.id, read_only_from)
            .await
            .unwrap()
    );
    // A tenant still under contract cannot be purged.
    assert!(f.store.purge_tenant(stays.id, now(), now()).await.is_err());

    let report = f
        .store
        .purge_tenant(
            gone.id,
            read_only_from + Duration::days(30),
            read_only_from + Duration::days(19),
        )
        .await
        .unwrap();
    assert!(
        report.deleted["visits"] == 3 && report.deleted["audit_log"] > 0,
        "{report:?}"
    );
    let conn = raw(&path, &f.keys);
    for (table, n) in tenant_rows(&conn, gone.id.get()) {
        assert_eq!(n, 0, "rows of the purged tenant left in {table}");
    }
    assert_eq!(tenant_rows(&conn, stays.id.get()), before_other);
    let hits: i64 = conn
        .query_row(
            "SELECT count(*) FROM visitor_search WHERE visitor_search MATCH 'zqx'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 0);
    assert_eq!(f.store.verify_audit().await.unwrap().first_break, None);
    let purged = f.store.purged_tenants().await.unwrap();
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0].tenant_id, gone.id.get());
}

#[tokio::test]
async fn erasing_a_visitor_reaches_the_visitor_row_search_index_outbox_and_kiosk_answers() {
    let f = fixture();
    let t = tenant(&f.store, "acme").await;
    let visitor = visit(&f.store, &t, "Erase Me Please", "req-erase-0001").await;
    let kept = visit(&f.store, &t, "Keep Me", "req-keep-0001").await;
    let report = f
        .store
        .erase_visitor(t.id, genkan_core::id::VisitorId(visitor), sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(report.visits, 1);
    assert!(
        report.messages >= 1 && report.kiosk_answers == 1,
        "{report:?}"
    );
    let conn = raw(&f.dir.path().join("genkan.db"), &f.keys);
    let (name, email, company): (String, Option<String>, Option<String>) = conn
        .query_row(
            "SELECT name, email, company FROM visitors WHERE id = ?1",
            [visitor],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), email, company),
        (genkan_store::privacy::ANONYMISED_NAME, None, None)
    );
    let leaks: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM outbox WHERE recipient LIKE 'erase.me%' OR (visitor_id = ?1 AND payload IS NOT NULL))
                  + (SELECT count(*) FROM visitor_search WHERE rowid = ?1)
                  + (SELECT count(*) FROM kiosk_requests WHERE body LIKE '%Erase Me%')",
            [visitor],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaks, 0);
    let other: String = conn
        .query_row("SELECT name FROM visitors WHERE id = ?1", [kept], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(other, "Keep Me");
    assert_eq!(
        f.store
            .find_visitors(t.id, "Erase".into())
            .await
            .unwrap()
            .len(),
        0
    );
    let erased = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'visitor.erase' AND target_id = ?1",
            [visitor.to_string()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(erased, 1);
}

#[tokio::test]
async fn retention_anonymises_visitors_after_their_days_and_keeps_the_visits() {
    let f = fixture();
    let t = tenant(&f.store, "acme").await;
    let visitor = visit(&f.store, &t, "Old Visitor", "req-old-00001").await;
    f.store
        .set_visitor_retention(t.id, Some(30), sys(Some(t.id)))
        .await
        .unwrap();
    assert!(
        f.store
            .anonymise_expired_visitors(now() + Duration::days(29))
            .await
            .unwrap()
            .is_empty()
    );
    let done = f
        .store
        .anonymise_expired_visitors(now() + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(done, vec![(t.id, 1)]);
    let conn = raw(&f.dir.path().join("genkan.db"), &f.keys);
    let (name, visits): (String, i64) = conn
        .query_row(
            "SELECT v.name, (SELECT count(*) FROM visits WHERE visitor_id = v.id) FROM visitors v WHERE v.id = ?1",
            [visitor],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), visits),
        (genkan_store::privacy::ANONYMISED_NAME, 1)
    );
}

#[tokio::test]
async fn rotation_drops_every_generation_holding_a_purged_tenant_once_its_deadline_passed() {
    let f = fixture();
    let t = tenant(&f.store, "gone").await;
    let dest = f.dir.path().join("backups");
    for h in 0..3 {
        f.store
            .backup(
                plan(&f, std::slice::from_ref(&dest)),
                rotation(),
                now() + Duration::hours(h),
                |_| {},
            )
            .await
            .unwrap();
    }
    let deadline = now() + Duration::days(30);
    let policy = RotationPolicy {
        generations: 10,
        purged: vec![(t.id.get(), deadline)],
    };
    let removed =
        genkan_store::backup::files::rotate(&dest, &policy, deadline - Duration::seconds(1))
            .unwrap();
    assert!(removed.is_empty());
    let removed = genkan_store::backup::files::rotate(&dest, &policy, deadline).unwrap();
    assert_eq!(removed.len(), 3);
    assert!(generations(&dest).unwrap().is_empty());
}
