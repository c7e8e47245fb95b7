//! The tenant's address allowlist (IP-1): enforced at sign-in, on every request of
//! open sessions and on API tokens; client addresses come from the socket, so
//! forwarding headers sent by a client never help; IPv6 and IPv4-mapped forms.

use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use reqwest::Method;

use crate::helpers::{ADMIN, Browser, HOST, PASSWORD, TestApp};

/// Headers a client might send to pretend to be 127.0.0.2.
const SPOOFS: [(&str, &str); 4] = [
    ("x-forwarded-for", "127.0.0.2"),
    ("forwarded", "for=127.0.0.2"),
    ("x-real-ip", "127.0.0.2"),
    ("x-forwarded-for", "127.0.0.3, 127.0.0.2"),
];

async fn set_allowlist(admin: &Browser, networks: &str, scope: &str) -> u16 {
    admin
        .post(
            "/settings/security",
            &[
                ("mfa_policy", "none"),
                ("allowlist", networks),
                ("allowlist_scope", scope),
            ],
        )
        .await
        .status
}

/// Sends `path` from `ip` with exactly this session cookie (a stolen one).
async fn with_cookie_from(app: &TestApp, ip: &str, cookie: &str, extra: &[(&str, &str)]) -> u16 {
    let mut headers = vec![("cookie", format!("genkan_session={cookie}"))];
    headers.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.anonymous_from(Some(ip))
        .get_with("/dashboard", &headers)
        .await
        .status
}

async fn admin_token(app: &TestApp) -> String {
    let admin = app.user_id(ADMIN).await;
    app.store
        .create_api_token(
            app.tenant,
            admin,
            "integration".into(),
            vec![Scope::Admin],
            None,
            None,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
        .access_token
}

#[tokio::test]
async fn only_the_listed_address_gets_in_and_spoofed_headers_never_help() {
    let app = TestApp::spawn().await;
    // An administrator cannot save a list that shuts out their own address.
    let from_one = app.sign_in(ADMIN).await;
    assert_eq!(
        set_allowlist(&from_one, "127.0.0.2/32", "admins").await,
        422
    );
    let admin = app
        .sign_in_from(ADMIN, PASSWORD, Some("127.0.0.2"))
        .await
        .unwrap();
    let stolen = admin.session_cookie().unwrap();
    let token = admin_token(&app).await;
    assert_eq!(set_allowlist(&admin, "127.0.0.2/32", "admins").await, 303);

    // Sign-in: refused from .3 like a wrong password, also with forged headers.
    let (_, refused) = app.password_step(ADMIN, PASSWORD, Some("127.0.0.3")).await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains("is not correct"));
    for (name, value) in SPOOFS {
        let b = app.anonymous_from(Some("127.0.0.3"));
        let form = b.get("/login").await;
        let pre = crate::helpers::csrf_of(&form.body);
        let mut b = b;
        b.csrf = pre;
        let page = b
            .post_with(
                "/login",
                &[
                    ("organisation", "acme"),
                    ("email", ADMIN),
                    ("password", PASSWORD),
                ],
                &[(name, value)],
            )
            .await;
        assert_eq!(page.status, 200, "{name}: {value} must not help");
    }
    assert!(
        app.sign_in_from(ADMIN, PASSWORD, Some("127.0.0.2"))
            .await
            .is_some()
    );

    // A session taken to another address is refused there, forged headers or not.
    assert_eq!(with_cookie_from(&app, "127.0.0.2", &stolen, &[]).await, 200);
    assert_eq!(with_cookie_from(&app, "127.0.0.3", &stolen, &[]).await, 403);
    assert_eq!(with_cookie_from(&app, "127.0.0.1", &stolen, &[]).await, 403);
    for spoof in SPOOFS {
        assert_eq!(
            with_cookie_from(&app, "127.0.0.3", &stolen, &[spoof]).await,
            403
        );
    }
    // The session opened from 127.0.0.1 before the list existed is refused too.
    assert_eq!(from_one.get("/dashboard").await.status, 403);

    // API tokens follow the same list.
    let api = |ip: &'static str| app.anonymous_from(Some(ip));
    assert_eq!(
        api("127.0.0.2")
            .api(Method::GET, "/api/v1/me", &token, None, &[])
            .await
            .0,
        200
    );
    assert_eq!(
        api("127.0.0.3")
            .api(Method::GET, "/api/v1/me", &token, None, &[])
            .await
            .0,
        403
    );
    for spoof in SPOOFS {
        let (status, ..) = api("127.0.0.3")
            .api(Method::GET, "/api/v1/me", &token, None, &[spoof])
            .await;
        assert_eq!(status, 403);
    }

    // Scope "administrators": others sign in from anywhere.
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.0.0.3"))
            .await
            .is_some()
    );
    // Scope "everyone": then not.
    let host_session = app
        .sign_in_from(HOST, PASSWORD, Some("127.0.0.4"))
        .await
        .unwrap();
    assert_eq!(set_allowlist(&admin, "127.0.0.2/32", "everyone").await, 303);
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.0.0.3"))
            .await
            .is_none()
    );
    assert_eq!(host_session.get("/dashboard").await.status, 403);
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.0.0.2"))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn ipv6_and_ipv4_mapped_forms_are_normalised_on_both_sides() {
    let app = TestApp::spawn_with(|_| {}, "[::]:0").await;
    let admin = app
        .sign_in_from(ADMIN, PASSWORD, Some("::1"))
        .await
        .unwrap();
    let page = admin.get("/settings/security").await;
    assert!(page.body.contains("data-your-ip>::1<"), "{}", page.body);
    // The typed mapped form is stored as the IPv4 network.
    assert_eq!(
        set_allowlist(&admin, "::ffff:127.0.0.2\n::1/128", "admins").await,
        303
    );
    let page = admin.get("/settings/security").await;
    assert!(page.body.contains("127.0.0.2/32\n::1/128"), "{}", page.body);
    // IPv4 clients reach a dual-stack socket as ::ffff:127.0.0.x and are normalised.
    assert!(
        app.sign_in_from(ADMIN, PASSWORD, Some("127.0.0.2"))
            .await
            .is_some()
    );
    assert!(
        app.sign_in_from(ADMIN, PASSWORD, Some("127.0.0.3"))
            .await
            .is_none()
    );
    assert!(
        app.sign_in_from(ADMIN, PASSWORD, Some("::1"))
            .await
            .is_some()
    );
    assert_eq!(admin.get("/dashboard").await.status, 200);
    // A wrong network is refused with the reason.
    assert_eq!(set_allowlist(&admin, "::1/129", "admins").await, 422);
    assert_eq!(set_allowlist(&admin, "not-a-network", "admins").await, 422);
}
