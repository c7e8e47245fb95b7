//! What sign-in security keeps at rest, read back through a second keyed connection:
//! TOTP seeds only sealed, recovery codes and session ids only hashed, failure
//! counters under keyed hashes, one audit row per sign-in.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::Role;
use genkan_core::id::{TenantId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_core::totp;
use genkan_store::sessions::SessionLimits;
use genkan_store::signin::SignIn;
use genkan_store::tenants::NewTenant;
use genkan_store::{AuditCtx, KeyRing, Store, StoreConfig};

fn now() -> DateTime<Utc> {
    "2026-11-23T01:00:00Z".parse().unwrap()
}

struct Fixture {
    store: Store,
    tenant: TenantId,
    user: UserId,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig {
        path: dir.path().join("genkan.db"),
        keys: KeyRing::generate(),
        readers: 1,
    })
    .unwrap();
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: "acme".into(),
                name: OrgName::parse("Acme").unwrap(),
                default_locale: Locale::Ja,
                time_zone: TimeZone::default(),
            },
            AuditCtx::system(None, now()),
        )
        .await
        .unwrap()
        .id;
    let user = store
        .create_user(
            tenant,
            EmailAddress::parse("aiko@acme.example").unwrap(),
            DisplayName::parse("Aiko").unwrap(),
            Role::Admin,
            Some("$argon2id$placeholder".into()),
            AuditCtx::system(Some(tenant), now()),
        )
        .await
        .unwrap()
        .id;
    Fixture {
        store,
        tenant,
        user,
        _dir: dir,
    }
}

fn raw(store: &Store) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let key: String = store
        .keys()
        .database
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
        .unwrap();
    conn
}

fn user_ctx(f: &Fixture) -> AuditCtx {
    AuditCtx {
        tenant_id: Some(f.tenant),
        actor_kind: "user",
        actor_id: Some(f.user.get()),
        ip: Some("127.0.0.1".into()),
        request_id: Some("req".into()),
        at: now(),
    }
}

#[tokio::test]
async fn totp_seeds_are_stored_only_sealed_and_recovery_codes_only_hashed() {
    let f = fixture().await;
    f.store
        .begin_mfa_enrolment(f.tenant, f.user, user_ctx(&f))
        .await
        .unwrap();
    let secret = f
        .store
        .pending_mfa_secret(f.tenant, f.user)
        .await
        .unwrap()
        .unwrap();
    let code = totp::code_at(&secret, totp::step_of(now()));
    let codes = f
        .store
        .confirm_mfa(f.tenant, f.user, code, user_ctx(&f))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(codes.len(), 10);
    let conn = raw(&f.store);
    let sealed: Vec<u8> = conn
        .query_row("SELECT secret_sealed FROM user_mfa", [], |r| r.get(0))
        .unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
    let b32 = totp::base32_encode(&secret);
    assert!(!sealed.windows(8).any(|w| w == &b32.as_bytes()[..8]));
    let context = format!("tenant:{}:user:{}:totp", f.tenant, f.user);
    assert_eq!(f.store.keys().open(&sealed, &context).unwrap(), secret);
    assert!(
        f.store
            .keys()
            .open(&sealed, "tenant:1:user:999:totp")
            .is_err()
    );
    let mut stmt = conn
        .prepare("SELECT code_hash FROM mfa_recovery_codes")
        .unwrap();
    let hashes: Vec<Vec<u8>> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hashes.len(), 10);
    for c in &codes {
        let plain = totp::normalise_recovery_code(c).unwrap();
        assert!(
            hashes
                .iter()
                .all(|h| !h.windows(4).any(|w| w == &plain.as_bytes()[..4]))
        );
    }
}

#[tokio::test]
async fn only_the_hash_of_a_session_cookie_is_stored_and_a_sign_in_is_one_audit_row() {
    let f = fixture().await;
    let before = f.store.verify_audit().await.unwrap().rows;
    let limits = SessionLimits {
        idle: Duration::minutes(30),
        absolute: Duration::hours(12),
    };
    let new = f
        .store
        .sign_in(
            SignIn {
                tenant: f.tenant,
                user: f.user,
                mfa_pending: false,
                limits,
                user_agent: Some("test".into()),
            },
            user_ctx(&f),
        )
        .await
        .unwrap();
    assert_eq!(f.store.verify_audit().await.unwrap().rows, before + 1);
    assert!(
        f.store
            .session(&new.cookie, now(), limits)
            .await
            .unwrap()
            .is_some()
    );
    let conn = raw(&f.store);
    let dump: Vec<String> = conn
        .prepare("SELECT quote(id_hash) || csrf_token || coalesce(ip, '') FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(dump.len(), 1);
    assert!(!dump[0].to_lowercase().contains(&new.cookie));
}

#[tokio::test]
async fn failure_counters_are_kept_under_keyed_hashes_and_forgotten_after_success() {
    let f = fixture().await;
    let name = genkan_store::security::account_name("ACME", " Aiko@acme.example ");
    for _ in 0..3 {
        f.store
            .record_failed_attempt(
                genkan_store::security::FailedAttempt {
                    account: name.clone(),
                    counted: true,
                    action: "auth.sign_in",
                    target: ("user", Some(f.user.to_string())),
                    details: serde_json::json!({}),
                },
                AuditCtx::system(Some(f.tenant), now()),
            )
            .await
            .unwrap();
    }
    let failures = f
        .store
        .sign_in_failures(&name, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failures.count, 3);
    let conn = raw(&f.store);
    let key: Vec<u8> = conn
        .query_row("SELECT account_hash FROM sign_in_failures", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(key.len(), 32);
    assert!(!key.windows(4).any(|w| w == b"aiko"));
    f.store
        .sign_in(
            SignIn {
                tenant: f.tenant,
                user: f.user,
                mfa_pending: false,
                limits: SessionLimits {
                    idle: Duration::minutes(30),
                    absolute: Duration::hours(12),
                },
                user_agent: None,
            },
            user_ctx(&f),
        )
        .await
        .unwrap();
    assert_eq!(f.store.sign_in_failures(&name, now()).await.unwrap(), None);
}
