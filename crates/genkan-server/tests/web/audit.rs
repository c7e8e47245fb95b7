//! The audit log (LOG-1, LOG-2): exactly one row per mutating request, web or API,
//! with actor, tenant, action, target, address, request id and time; the search
//! screen (person, action, dates, paging) and its CSV export.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use genkan_store::audit_search::{AuditFilter, AuditRow};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, HOST, PASSWORD, Page, TestApp};
use crate::mfa::{code, secret_of};

async fn rows_since(app: &TestApp, last: i64) -> Vec<AuditRow> {
    let mut rows = app
        .store
        .audit_page(app.tenant, AuditFilter::default(), None, 500)
        .await
        .unwrap();
    rows.retain(|r| r.id > last);
    rows
}

async fn last_id(app: &TestApp) -> i64 {
    rows_since(app, 0).await.first().map_or(0, |r| r.id)
}

/// Checks that the request answered with `request_id` wrote exactly one row, with
/// every field; returns it.
#[track_caller]
fn one_row<'a>(
    rows: &'a [AuditRow],
    what: &str,
    request_id: Option<&str>,
    app: &TestApp,
) -> &'a AuditRow {
    assert_eq!(rows.len(), 1, "{what}: {rows:#?}");
    let r = &rows[0];
    assert!(
        !r.action.is_empty() && !r.target_kind.is_empty(),
        "{what}: {r:?}"
    );
    assert!(r.target_id.is_some(), "{what}: no target id: {r:?}");
    assert_eq!(r.ip.as_deref(), Some("127.0.0.1"), "{what}");
    assert!(request_id.is_some(), "{what}: no request id header");
    assert_eq!(r.request_id.as_deref(), request_id, "{what}");
    assert_eq!(r.at, app.clock.now(), "{what}");
    r
}

#[tokio::test]
async fn every_mutating_request_writes_exactly_one_complete_audit_row() {
    let app = TestApp::spawn().await;
    let admin_id = app.user_id(ADMIN).await.get();
    let host_id = app.user_id(HOST).await;
    // Web forms, each checked on its own.
    let mut last = last_id(&app).await;
    let (_, signed_in) = app.password_step(ADMIN, PASSWORD, None).await;
    let rows = rows_since(&app, last).await;
    let r = one_row(&rows, "sign-in", signed_in.request_id.as_deref(), &app);
    assert_eq!(
        (r.action.as_str(), r.actor_kind.as_str(), r.actor_id),
        ("auth.sign_in", "user", Some(admin_id))
    );
    last = r.id;
    let (_, failed) = app.password_step(ADMIN, "wrong-wrong-wrong", None).await;
    let rows = rows_since(&app, last).await;
    let r = one_row(&rows, "failed sign-in", failed.request_id.as_deref(), &app);
    assert_eq!(
        (r.actor_kind.as_str(), r.outcome.as_str()),
        ("anonymous", "denied")
    );
    last = r.id;
    let admin = app.sign_in(ADMIN).await;
    last = rows_since(&app, last).await.first().unwrap().id;
    let mut admin = admin;
    /// Expected action, path, fields.
    type Step = (&'static str, String, Vec<(&'static str, String)>);
    let steps: Vec<Step> = vec![
        (
            "user.locale",
            "/account/language".into(),
            vec![("language", "en".into())],
        ),
        (
            "user.invite",
            "/users".into(),
            vec![
                ("email", "new@acme.example".into()),
                ("name", "New Person".into()),
                ("role", "host".into()),
            ],
        ),
        (
            "user.update",
            format!("/users/{host_id}"),
            vec![("name", "Hana Renamed".into()), ("role", "host".into())],
        ),
        ("user.disable", format!("/users/{host_id}/disable"), vec![]),
        ("user.enable", format!("/users/{host_id}/enable"), vec![]),
        (
            "settings.security",
            "/settings/security".into(),
            vec![
                ("mfa_policy", "none".into()),
                ("allowlist", String::new()),
                ("allowlist_scope", "admins".into()),
            ],
        ),
        (
            "session.end_all",
            format!("/users/{host_id}/sessions/end"),
            vec![],
        ),
        ("mfa.reset", format!("/users/{host_id}/mfa/reset"), vec![]),
        ("mfa.enrol_start", "/account/mfa/start".into(), vec![]),
        (
            "session.end_others",
            "/account/sessions/others/end".into(),
            vec![],
        ),
        (
            "user.password_change",
            "/account/password".into(),
            vec![
                ("current", PASSWORD.into()),
                ("password", "Amber-Valley-Stone-93!".into()),
                ("repeat", "Amber-Valley-Stone-93!".into()),
            ],
        ),
        ("export.csv", "/audit/export.csv".into(), vec![]),
    ];
    for (action, path, fields) in steps {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page: Page = admin.post(&path, &fields).await;
        assert!(page.status < 400, "{path}: {} {}", page.status, page.body);
        let rows = rows_since(&app, last).await;
        let r = one_row(&rows, &path, page.request_id.as_deref(), &app);
        assert_eq!(r.action, action, "{path}");
        assert_eq!(
            (r.actor_kind.as_str(), r.actor_id),
            ("user", Some(admin_id)),
            "{path}"
        );
        last = r.id;
        app.clock.advance(Duration::seconds(1));
    }
    // Confirming the second factor (after the start above), then signing out.
    let secret = secret_of(&admin.get("/account/mfa").await);
    let page = admin
        .post("/account/mfa/confirm", &[("code", &code(&app, &secret, 0))])
        .await;
    let rows = rows_since(&app, last).await;
    last = one_row(&rows, "mfa.enable", page.request_id.as_deref(), &app).id;
    admin.csrf = crate::helpers::csrf_of(&admin.get("/account").await.body);
    let page = admin.post("/logout", &[]).await;
    let rows = rows_since(&app, last).await;
    let r = one_row(&rows, "logout", page.request_id.as_deref(), &app);
    assert_eq!(r.action, "session.end");
    last = r.id;

    // The API, with a token: the actor is the token.
    let issued = app
        .store
        .create_api_token(
            app.tenant,
            app.user_id(ADMIN).await,
            "integration".into(),
            vec![Scope::Admin],
            None,
            None,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap();
    let (token_id, token) = (issued.token_id, issued.access_token);
    last = rows_since(&app, last).await.first().unwrap().id;
    let api = app.anonymous();
    let (status, id, site) = api
        .api(
            Method::POST,
            "/api/v1/sites",
            &token,
            Some(json!({"name": "Osaka Office"})),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{site}");
    let rows = rows_since(&app, last).await;
    let r = one_row(&rows, "api site", id.as_deref(), &app);
    assert_eq!(
        (r.actor_kind.as_str(), r.actor_id),
        ("token", Some(token_id.get()))
    );
    last = r.id;
    let (status, id, kiosk) = api
        .api(
            Method::POST,
            "/api/v1/kiosks",
            &token,
            Some(json!({"site_id": site["id"], "name": "Lobby"})),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{kiosk}");
    let rows = rows_since(&app, last).await;
    last = one_row(&rows, "api kiosk", id.as_deref(), &app).id;
    let (status, id, _) = api
        .api(
            Method::POST,
            &format!("/api/v1/kiosks/{}/revoke", kiosk["id"]),
            &token,
            None,
            &[],
        )
        .await;
    assert!(status < 300, "{status}");
    let rows = rows_since(&app, last).await;
    one_row(&rows, "api revoke", id.as_deref(), &app);
}

#[tokio::test]
async fn the_log_is_searchable_by_person_action_and_date_and_paged_by_key() {
    let app = TestApp::spawn().await;
    let host = app.sign_in(HOST).await;
    for lang in ["en", "ja", "en"] {
        host.post("/account/language", &[("language", lang)]).await;
    }
    app.clock.advance(Duration::days(1));
    let admin = app.sign_in(ADMIN).await;
    for _ in 0..60 {
        admin.post("/account/language", &[("language", "en")]).await;
    }
    let host_id = app.user_id(HOST).await;
    let page = admin
        .get(&format!("/audit?person={host_id}&action=user.locale"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attr_values("data-audit-id").len(), 3);
    assert!(
        page.body.contains("2026-11-23T10:00:00+09:00"),
        "times with the offset"
    );
    // By date: the second day holds the admin's rows only.
    let page = admin
        .get("/audit?action=user.locale&from=2026-11-24&to=2026-11-24")
        .await;
    let first = page.attr_values("data-audit-id");
    assert_eq!(first.len(), 50, "one page");
    let next = page
        .body
        .split("class=\"pager\"><a class=\"button\" href=\"")
        .nth(1)
        .unwrap();
    let next = next
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let second = admin.get(&next).await.attr_values("data-audit-id");
    assert_eq!(second.len(), 10);
    assert!(
        second.iter().all(|id| !first.contains(id)),
        "pages do not overlap"
    );
    // Only administrators see it.
    let host = app.sign_in(HOST).await;
    assert_eq!(host.get("/audit").await.status, 403);
}

#[tokio::test]
async fn the_csv_export_needs_a_post_with_the_token_and_is_itself_audited() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    assert_eq!(admin.get("/audit/export.csv").await.status, 405);
    let no_token = admin
        .post_raw("/audit/export.csv", &[("action", "auth.")], None)
        .await;
    assert_eq!(no_token.status, 403);
    let csv = admin
        .post("/audit/export.csv", &[("action", "auth.")])
        .await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0]
            .trim_start_matches('\u{feff}')
            .starts_with("id,time,actor_kind")
    );
    assert!(lines.len() >= 2 && lines[1..].iter().all(|l| l.contains("auth.")));
    assert!(lines[1].contains("+09:00"));
    let rows = app
        .store
        .audit_page(
            app.tenant,
            AuditFilter {
                action: Some("export.csv".into()),
                ..AuditFilter::default()
            },
            None,
            5,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id.as_deref(), Some("audit"));
}
