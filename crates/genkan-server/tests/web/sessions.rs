//! Sessions and tokens at rest and at their end (SES-1, SES-3), and codes raced against each other (MFA-1): only hashes stored, refused on the very next request, one code accepted once however many try it at the same moment.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use genkan_store::kiosks::secret_hash;
use reqwest::Method;

use crate::helpers::{ADMIN, HOST, PASSWORD, TestApp};
use crate::route_table::raw_db;

/// Every cell of every table, as text (blobs as text and as hex).
fn every_cell(app: &TestApp) -> Vec<(String, String)> {
    let conn = raw_db(app);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                let text = match row.get::<_, rusqlite::types::Value>(i).unwrap() {
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => format!(
                        "{} {}",
                        String::from_utf8_lossy(&b),
                        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                    ),
                    other => format!("{other:?}"),
                };
                out.push((table.clone(), text));
            }
        }
    }
    out
}

/// SECURITY.md SES-1: session cookies and API tokens are kept only as hashes: no
/// cell of any table holds a live cookie value or token (as text or as bytes), while
/// each session's row is found by the hash of its cookie. (New id at sign-in,
/// `__Host-`/Secure/HttpOnly/SameSite: `signin` and `mfa`.)
#[tokio::test]
async fn only_hashes_of_session_cookies_and_tokens_are_stored() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let host = app.sign_in(HOST).await;
    let token = app
        .store
        .create_api_token(
            app.tenant,
            app.user_id(ADMIN).await,
            "stored".into(),
            vec![Scope::Admin],
            None,
            Some(Duration::days(30)),
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap();
    let secrets = [
        admin.session_cookie().unwrap(),
        host.session_cookie().unwrap(),
        token.access_token.clone(),
        token.refresh_token.unwrap(),
    ];
    let cells = every_cell(&app);
    assert!(cells.len() > 100);
    for secret in &secrets {
        assert!(secret.len() >= 32, "{secret}");
        let hits: Vec<&String> = cells
            .iter()
            .filter(|(_, v)| v.contains(secret.as_str()))
            .map(|(t, _)| t)
            .collect();
        assert!(hits.is_empty(), "a secret is stored in {hits:?}");
    }
    let conn = raw_db(&app);
    for cookie in &secrets[..2] {
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM sessions WHERE id_hash = ?1",
                [secret_hash(cookie).as_slice()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "the session is found by the hash of its cookie");
    }
}

/// SECURITY.md SES-3 (tokens; cookies are in `signin` and `account`): disabling a
/// user refuses their API token on the next request, and an administrator revoking
/// a token refuses it on the next request; other tokens keep working.
#[tokio::test]
async fn disabling_a_user_or_revoking_a_token_refuses_it_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let issue = async |email: &str, scopes: Vec<Scope>| {
        app.store
            .create_api_token(
                app.tenant,
                app.user_id(email).await,
                "ses3".into(),
                scopes,
                None,
                None,
                AuditCtx::system(Some(app.tenant), app.clock.now()),
            )
            .await
            .unwrap()
    };
    let host_token = issue(HOST, vec![Scope::AppointmentsRead]).await;
    let admin_token = issue(ADMIN, vec![Scope::Admin]).await;
    let doomed = issue(ADMIN, vec![Scope::Admin]).await;
    let me = async |token: &str| {
        admin
            .api(Method::GET, "/api/v1/me", token, None, &[])
            .await
            .0
    };
    for t in [&host_token, &admin_token, &doomed] {
        assert_eq!(me(&t.access_token).await, 200);
    }
    let host_id = app.user_id(HOST).await;
    admin
        .post(&format!("/users/{host_id}/disable"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}"));
    assert_eq!(me(&host_token.access_token).await, 401);
    let (status, ..) = admin
        .api(
            Method::POST,
            &format!("/api/v1/tokens/{}/revoke", doomed.token_id),
            &admin_token.access_token,
            None,
            &[],
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(me(&doomed.access_token).await, 401);
    assert_eq!(me(&admin_token.access_token).await, 200);
}

/// SECURITY.md MFA-1: one valid code sent by twelve browsers at the same moment
/// (each past the password step) signs exactly one of them in; the others are
/// refused like a wrong code. (Steps −2..+2 and failures toward the lock: `mfa`.)
#[tokio::test]
async fn a_code_raced_by_many_browsers_signs_in_exactly_one() {
    let app = TestApp::spawn().await;
    let (secret, _) = crate::mfa::enrol(&app, &app.sign_in(HOST).await).await;
    app.clock.advance(Duration::seconds(60));
    let mut pending = Vec::new();
    for n in 0..12 {
        let (b, page) = app
            .password_step(HOST, PASSWORD, Some(&format!("127.0.30.{}", n + 1)))
            .await;
        page.assert_redirect("/login/mfa");
        let csrf = crate::helpers::csrf_of(&b.get("/login/mfa").await.body);
        pending.push((b, csrf));
    }
    let code = crate::mfa::code(&app, &secret, 0);
    let answers = futures_util::future::join_all(pending.iter().map(|(b, csrf)| async {
        b.post_raw(
            "/login/mfa",
            &[("csrf", csrf.as_str()), ("code", code.as_str())],
            None,
        )
        .await
    }))
    .await;
    let signed_in = answers
        .iter()
        .filter(|p| p.status == 303 && p.location.as_deref() == Some("/dashboard?notice=signed_in"))
        .count();
    assert_eq!(
        signed_in,
        1,
        "{:?}",
        answers.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .filter(|p| p.status != 303)
            .all(|p| p.body.contains("The code was not accepted."))
    );
}
