//! Notification settings and message templates: secrets never shown again, SSRF
//! refused at save time, templates validated with sample data and previewed.

use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;

use crate::helpers::{ADMIN, HOST, TestApp};

#[tokio::test]
async fn channel_secrets_are_shown_once_and_then_only_as_configured() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin.get("/settings/notifications").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-channel-state=\"webhook\""));

    // Internal addresses are refused next to the field (private networks not allowed).
    for (path, field, url) in [
        (
            "/settings/notifications/webhook",
            "webhook_url",
            "https://127.0.0.1/hook",
        ),
        (
            "/settings/notifications/teams",
            "teams_url",
            "https://169.254.169.254/x",
        ),
        (
            "/settings/notifications/webhook",
            "webhook_url",
            "http://hooks.example.com/x",
        ),
    ] {
        let refused = admin.post(path, &[(field, url)]).await;
        assert_eq!(refused.status, 422, "{url}");
        assert!(refused.is_invalid(field), "{url}");
    }
    assert!(
        app.store
            .configured_channels(app.tenant)
            .await
            .unwrap()
            .is_empty()
    );

    let bot = admin
        .post(
            "/settings/notifications/slack-bot",
            &[
                ("bot_token", "xoxb-1111-2222-secretpart"),
                ("signing_secret", "abcdef0123456789"),
            ],
        )
        .await;
    bot.assert_redirect("/settings/notifications");
    let chatwork = admin
        .post(
            "/settings/notifications/chatwork",
            &[
                ("chatwork_token", "cw-secret-token"),
                ("chatwork_room", "12/../x"),
            ],
        )
        .await;
    assert_eq!(chatwork.status, 422);
    assert!(chatwork.is_invalid("chatwork_room"));

    // The generic webhook needs a public https URL: store one directly, then rotate
    // its secret through the store as the page would (DNS is not reachable here).
    let page = admin.get("/settings/notifications").await;
    assert!(
        !page.body.contains("xoxb-1111"),
        "the token is never shown again"
    );
    assert!(!page.body.contains("abcdef0123456789"));
    assert!(
        page.body
            .contains("data-channel-state=\"slack_bot\"><span class=\"badge active\">")
    );
    let stored = app
        .store
        .channel(app.tenant, "slack_bot")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored["bot_token"], "xoxb-1111-2222-secretpart");

    let cleared = admin
        .post("/settings/notifications/slack-bot/clear", &[])
        .await;
    cleared.assert_redirect("/settings/notifications");
    assert!(
        app.store
            .configured_channels(app.tenant)
            .await
            .unwrap()
            .is_empty()
    );

    // Hosts may not change notification settings.
    let host = app.sign_in(HOST).await;
    assert_eq!(host.get("/settings/notifications").await.status, 403);
    assert_eq!(host.get("/settings/templates").await.status, 403);
}

#[tokio::test]
async fn reminder_and_no_show_settings_are_validated_next_to_their_fields() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let bad = admin
        .post(
            "/settings/notifications/policy",
            &[
                ("reminder_enabled", "1"),
                ("reminder_hour", "25"),
                ("no_show_minutes", "15"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.field_error("reminder_hour").as_deref(),
        Some("Enter an hour from 0 to 23.")
    );
    let ok = admin
        .post(
            "/settings/notifications/policy",
            &[
                ("reminder_enabled", "1"),
                ("reminder_hour", "18"),
                ("no_show_minutes", "20"),
            ],
        )
        .await;
    ok.assert_redirect("/settings/notifications");
    let p = app.store.notification_policy(app.tenant).await.unwrap();
    assert!(p.reminder_enabled && p.reminder_hour == 18 && p.no_show_minutes == 20);
}

#[tokio::test]
async fn bad_templates_are_refused_next_to_their_field_and_good_ones_previewed_and_saved() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let list = admin.get("/settings/templates").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("data-template=\"invitation/en\""));
    let form = admin.get("/settings/templates/invitation/en").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("{{ visitor_name }}"),
        "the built-in source is the starting point"
    );

    let unknown = admin
        .post(
            "/settings/templates/invitation/en",
            &[
                ("action", "save"),
                ("subject", "Hi {{ visitor_nam }}"),
                ("text", "x"),
                ("html", "<p>x</p>"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 422);
    let why = unknown.field_error("subject").unwrap();
    assert!(
        why.starts_with("This template cannot be used:") && why.contains("undefined"),
        "{why}"
    );
    let broken = admin
        .post(
            "/settings/templates/invitation/en",
            &[
                ("action", "save"),
                ("subject", "Hi"),
                ("text", "x"),
                ("html", "<p>{% if code %}</p>"),
            ],
        )
        .await;
    assert_eq!(broken.status, 422);
    assert!(broken.is_invalid("html"));
    assert!(
        app.store
            .template_overrides(app.tenant, MessageKind::Invitation, Locale::En)
            .await
            .unwrap()
            .is_empty()
    );

    let fields = [
        ("subject", "Welcome to Acme, {{ visitor_name }}"),
        ("text", "Code: {{ code }}"),
        (
            "html",
            "<p>Hello <b>{{ visitor_name }}</b></p><script>alert(1)</script>",
        ),
    ];
    let mut preview_fields = vec![("action", "preview")];
    preview_fields.extend_from_slice(&fields);
    let preview = admin
        .post("/settings/templates/invitation/en", &preview_fields)
        .await;
    assert_eq!(preview.status, 200);
    assert!(
        preview.body.contains("Welcome to Acme, Hanako Sato"),
        "sample data in the preview"
    );
    assert!(
        preview.body.contains("sandbox=\"\""),
        "the HTML preview cannot run script"
    );
    assert!(
        !preview.body.contains("<script>alert(1)"),
        "escaped into srcdoc"
    );
    assert!(
        app.store
            .template_overrides(app.tenant, MessageKind::Invitation, Locale::En)
            .await
            .unwrap()
            .is_empty(),
        "a preview saves nothing"
    );

    let mut save_fields = vec![("action", "save")];
    save_fields.extend_from_slice(&fields);
    admin
        .post("/settings/templates/invitation/en", &save_fields)
        .await
        .assert_redirect("/settings/templates");
    let saved = app
        .store
        .template_overrides(app.tenant, MessageKind::Invitation, Locale::En)
        .await
        .unwrap();
    assert_eq!(
        saved.subject.as_deref(),
        Some("Welcome to Acme, {{ visitor_name }}")
    );
    let list = admin.get("/settings/templates").await;
    assert!(
        list.body
            .contains("data-template=\"invitation/en\"><span class=\"badge active\">")
    );
    admin
        .post("/settings/templates/invitation/en", &[("action", "reset")])
        .await
        .assert_redirect("/settings/templates");
    assert!(
        app.store
            .template_overrides(app.tenant, MessageKind::Invitation, Locale::En)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        admin
            .get("/settings/templates/user_invitation/en")
            .await
            .status,
        404,
        "sign-in mails are not editable"
    );
}

#[tokio::test]
async fn a_host_marks_themselves_away_with_a_delegate_of_their_own_tenant() {
    let app = TestApp::spawn().await;
    let host = app.sign_in(HOST).await;
    let page = host.get("/account/away").await;
    assert_eq!(page.status, 200);
    let desk = app.user_id(crate::helpers::DESK).await;
    let other = app.user_id_in(app.other, crate::helpers::OTHER_ADMIN).await;
    let refused = host
        .post(
            "/account/away",
            &[("away", "1"), ("delegate_id", &other.get().to_string())],
        )
        .await;
    assert_eq!(
        refused.status, 422,
        "another tenant's user cannot be a delegate"
    );
    let missing = host.post("/account/away", &[("away", "1")]).await;
    assert_eq!(missing.status, 422);
    host.post(
        "/account/away",
        &[("away", "1"), ("delegate_id", &desk.get().to_string())],
    )
    .await
    .assert_redirect("/account/away");
    let me = app.user_id(HOST).await;
    let away = app.store.away(app.tenant, me).await.unwrap();
    assert!(away.away && away.delegate == Some(desk));
}
