//! IP-1 against every forwarding header and address form: with the admin allowlist at 127.0.0.2/32 no sign-in, stolen cookie or token gets in from anywhere else, and a configured proxy is believed only for the hop it adds.

use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use reqwest::Method;

use crate::helpers::{ADMIN, Browser, PASSWORD, TestApp, csrf_of};

/// Every header a client might use to claim to be 127.0.0.2, in the forms proxies write.
const SPOOFS: &[(&str, &str)] = &[
    ("x-forwarded-for", "127.0.0.2"),
    ("x-forwarded-for", "127.0.0.2, 127.0.0.2"),
    ("x-forwarded-for", "::ffff:127.0.0.2"),
    ("x-forwarded-for", "[::ffff:127.0.0.2]:443"),
    ("x-forwarded-for", "127.0.0.3, 127.0.0.2"),
    ("forwarded", "for=127.0.0.2"),
    ("forwarded", "for=\"[::ffff:127.0.0.2]\";proto=https"),
    ("forwarded", "for=127.0.0.3, for=127.0.0.2"),
    ("x-real-ip", "127.0.0.2"),
    ("x-client-ip", "127.0.0.2"),
    ("client-ip", "127.0.0.2"),
    ("true-client-ip", "127.0.0.2"),
    ("cf-connecting-ip", "127.0.0.2"),
    ("fastly-client-ip", "127.0.0.2"),
    ("x-cluster-client-ip", "127.0.0.2"),
    ("x-originating-ip", "127.0.0.2"),
    ("x-remote-ip", "127.0.0.2"),
    ("x-remote-addr", "127.0.0.2"),
    ("x-forwarded", "for=127.0.0.2"),
    ("forwarded-for", "127.0.0.2"),
];

/// Every spoof alone, then all of them at once.
fn spoof_sets() -> Vec<Vec<(&'static str, &'static str)>> {
    let mut sets: Vec<Vec<_>> = SPOOFS.iter().map(|s| vec![*s]).collect();
    sets.push(Vec::new());
    sets.push(SPOOFS.to_vec());
    sets
}

/// Posts the sign-in form from `ip` with extra headers; whether a full session came of it.
async fn sign_in_with_headers(app: &TestApp, ip: &str, headers: &[(&str, &str)]) -> bool {
    let mut b = app.anonymous_from(Some(ip));
    b.csrf = csrf_of(&b.get("/login").await.body);
    let page = b
        .post_with(
            "/login",
            &[
                ("organisation", "acme"),
                ("email", ADMIN),
                ("password", PASSWORD),
            ],
            headers,
        )
        .await;
    page.status == 303
}

async fn admin_token(app: &TestApp) -> String {
    app.store
        .create_api_token(
            app.tenant,
            app.user_id(ADMIN).await,
            "ip".into(),
            vec![Scope::Admin],
            None,
            None,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
        .access_token
}

/// What a request with the stolen cookie or token gets from `b`: (page, form post, API).
async fn stolen_use(
    b: &mut Browser,
    cookie: &str,
    csrf: &str,
    token: &str,
    spoof: &[(&str, &str)],
) -> [u16; 3] {
    let mut headers = vec![("cookie", cookie)];
    headers.extend_from_slice(spoof);
    let page = b.get_with("/users", &headers).await.status;
    csrf.clone_into(&mut b.csrf);
    let post = b
        .post_with("/users/groups", &[("name", "Stolen group")], &headers)
        .await
        .status;
    let (api, ..) = b
        .api(Method::GET, "/api/v1/users", token, None, spoof)
        .await;
    [page, post, api]
}

/// SECURITY.md IP-1: the allowlist is 127.0.0.2/32 for administrators on a
/// dual-stack listener. From 127.0.0.3, 127.0.0.1 and ::1 — with no header, each of
/// twenty forwarding headers (X-Forwarded-For, Forwarded, X-Real-IP, …) claiming
/// 127.0.0.2 in plain, IPv6-mapped and bracketed forms, and all of them at once —
/// the right password, the session cookie and the API token taken from 127.0.0.2
/// all fail: 0 bypasses. From 127.0.0.2 (reaching the socket as ::ffff:127.0.0.2)
/// everything works.
#[tokio::test]
async fn no_forwarding_header_or_address_form_bypasses_the_allowlist() {
    let app = TestApp::spawn_with(|_| {}, "[::]:0").await;
    let admin = app
        .sign_in_from(ADMIN, PASSWORD, Some("127.0.0.2"))
        .await
        .unwrap();
    admin
        .post(
            "/settings/security",
            &[
                ("mfa_policy", "none"),
                ("allowlist", "127.0.0.2/32"),
                ("allowlist_scope", "admins"),
            ],
        )
        .await
        .assert_redirect("/settings/security");
    let cookie = format!("genkan_session={}", admin.session_cookie().unwrap());
    let token = admin_token(&app).await;
    let groups_before = app.store.groups(app.tenant).await.unwrap().len();

    let mut tries = 0;
    let mut bypasses = Vec::new();
    for ip in ["127.0.0.3", "127.0.0.1", "::1"] {
        let mut b = app.anonymous_from(Some(ip));
        for spoof in spoof_sets() {
            tries += 4;
            if sign_in_with_headers(&app, ip, &spoof).await {
                bypasses.push(format!("sign-in from {ip} with {spoof:?}"));
            }
            let [page, post, api] = stolen_use(&mut b, &cookie, &admin.csrf, &token, &spoof).await;
            for (what, status, refused) in
                [("page", page, 403), ("form", post, 403), ("API", api, 403)]
            {
                if status != refused {
                    bypasses.push(format!("{what} from {ip} with {spoof:?}: {status}"));
                }
            }
        }
    }
    assert!(tries >= 250, "{tries}");
    assert_eq!(bypasses, Vec::<String>::new());
    assert_eq!(
        app.store.groups(app.tenant).await.unwrap().len(),
        groups_before
    );

    // The listed address itself gets in every way.
    assert!(sign_in_with_headers(&app, "127.0.0.2", &[]).await);
    let mut from_listed = app.anonymous_from(Some("127.0.0.2"));
    assert_eq!(
        stolen_use(&mut from_listed, &cookie, &admin.csrf, &token, &[]).await,
        [200, 303, 200]
    );
}

/// SECURITY.md IP-1: behind a configured proxy (127.0.0.9) only the address the
/// proxy itself appended counts: a client that prepends 127.0.0.2 to
/// X-Forwarded-For stays itself, other headers are not read, and the same header
/// sent directly by a client (not the proxy) is ignored.
#[tokio::test]
async fn a_trusted_proxy_is_believed_only_for_the_hop_it_adds() {
    let app = TestApp::spawn_with(
        |c| c.server.trusted_proxies = vec!["127.0.0.9".to_owned()],
        "127.0.0.1:0",
    )
    .await;
    let admin = app
        .sign_in_from(ADMIN, PASSWORD, Some("127.0.0.2"))
        .await
        .unwrap();
    admin
        .post(
            "/settings/security",
            &[
                ("mfa_policy", "none"),
                ("allowlist", "127.0.0.2/32"),
                ("allowlist_scope", "admins"),
            ],
        )
        .await
        .assert_redirect("/settings/security");
    // Through the proxy: the client is whatever the proxy appended last.
    for (xff, allowed) in [
        ("127.0.0.2", true),
        ("127.0.0.3", false),
        ("127.0.0.2, 127.0.0.3", false),
        ("127.0.0.2,127.0.0.3", false),
        ("::ffff:127.0.0.2", true),
        ("not-an-address, 127.0.0.3", false),
    ] {
        let got_in = sign_in_with_headers(&app, "127.0.0.9", &[("x-forwarded-for", xff)]).await;
        assert_eq!(got_in, allowed, "via the proxy, X-Forwarded-For: {xff}");
    }
    for (name, value) in SPOOFS.iter().filter(|(n, _)| *n != "x-forwarded-for") {
        let got_in = sign_in_with_headers(
            &app,
            "127.0.0.9",
            &[("x-forwarded-for", "127.0.0.3"), (name, value)],
        )
        .await;
        assert!(!got_in, "via the proxy, {name}: {value}");
    }
    // Not the proxy: its header means nothing.
    assert!(!sign_in_with_headers(&app, "127.0.0.3", &[("x-forwarded-for", "127.0.0.2")]).await);
}
