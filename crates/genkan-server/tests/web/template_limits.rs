//! TPL-1 in the web app: a tenant's template bombs are refused next to their field
//! on preview and save, each within seconds and naming the limit; a tenant's
//! previews beyond one waiting are refused as busy while another tenant's preview
//! goes through; a stored bomb shows its problem on the edit page.

use std::time::{Duration, Instant};

use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use genkan_store::templates::TemplateParts;

use crate::helpers::{ADMIN, OTHER_ADMIN, TestApp, ctx, start};

/// The bar: each bomb is refused within this time.
const REFUSED_WITHIN: Duration = Duration::from_secs(10);

const PREFIX: &str = "This template cannot be used:";

/// Bombs: what they are, the field they go in, the source, and the message of the
/// limit they must meet.
const BOMBS: &[(&str, &str, &str, &str)] = &[
    (
        "nested range loops",
        "html",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "it does too much work",
    ),
    (
        "nested range loops with output",
        "text",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "",
    ),
    (
        "a large string repetition",
        "text",
        "{{ 'x' * 1000000 }}",
        "its result is too large",
    ),
    (
        "a huge string repetition",
        "text",
        "{{ 'x' * 100000000 }}",
        "it needs too much memory",
    ),
    (
        "a string doubled until memory runs out",
        "html",
        "{% set s = 'x' * 100000000 %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s|length }}",
        "it needs too much memory",
    ),
    (
        "deep macro recursion",
        "html",
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "it nests or calls itself too deeply",
    ),
    (
        "a filter with a huge output",
        "text",
        "{{ ('ab' * 1000000)|replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') }}",
        "its result is too large",
    ),
    (
        "a list repeated until memory runs out",
        "html",
        "{% set l = range(100000)|list %}{{ (l * 100000)|list|length }}",
        "it needs too much memory",
    ),
];

/// Every limit's message (a bomb meeting any of them is refused for a limit).
const LIMIT_MESSAGES: &[&str] = &[
    "it does too much work",
    "it takes too long to render",
    "it needs too much memory",
    "its result is too large",
    "it nests or calls itself too deeply",
];

fn fields<'a>(action: &'a str, field: &str, source: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("action", action),
        ("subject", "Hello {{ visitor_name }}"),
        ("text", "Code: {{ code }}"),
        ("html", "<p>{{ visitor_name }}</p>"),
    ];
    for pair in &mut f {
        if pair.0 == field {
            pair.1 = source;
        }
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_bombs_are_refused_next_to_their_field_on_preview_and_save_within_seconds() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    for (what, field, source, limit) in BOMBS {
        for action in ["preview", "save"] {
            let started = Instant::now();
            let page = admin
                .post(
                    "/settings/templates/invitation/en",
                    &fields(action, field, source),
                )
                .await;
            let took = started.elapsed();
            eprintln!("{what} ({action}): {} in {took:?}", page.status);
            assert_eq!(page.status, 422, "{what} ({action}): {}", page.body);
            let why = page
                .field_error(field)
                .unwrap_or_else(|| panic!("{what} ({action}): no error next to {field}"));
            assert!(why.starts_with(PREFIX), "{what}: {why}");
            if limit.is_empty() {
                assert!(
                    LIMIT_MESSAGES.iter().any(|m| why.contains(m)),
                    "{what} ({action}) names no limit: {why}"
                );
            } else {
                // On a loaded machine the time limit may come first.
                assert!(
                    why.contains(limit) || why.contains("it takes too long to render"),
                    "{what} ({action}): {why}"
                );
            }
            assert!(took < REFUSED_WITHIN, "{what} ({action}) took {took:?}");
        }
    }
    assert!(
        app.store
            .template_overrides(app.tenant, MessageKind::Invitation, Locale::En)
            .await
            .unwrap()
            .is_empty(),
        "no bomb was saved"
    );
    // The sandbox recovered from every kill: a good template still previews.
    let good = admin
        .post(
            "/settings/templates/invitation/en",
            &fields("preview", "html", "<p>Welcome {{ visitor_name }}</p>"),
        )
        .await;
    assert_eq!(good.status, 200);
    assert!(good.body.contains("Welcome Hanako Sato"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_extra_bomb_previews_are_refused_as_busy_while_another_tenant_previews() {
    // A budget no template meets in time: these bombs run into the time limit.
    let app = TestApp::spawn_with(
        |c| {
            c.templates.fuel = u64::MAX / 4;
            c.templates.time_limit_ms = 1500;
        },
        "127.0.0.1:0",
    )
    .await;
    let admin = app.sign_in(ADMIN).await;
    let other = app.sign_in(OTHER_ADMIN).await;
    let bomb = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let started = Instant::now();
    let previews = (0..4).map(|_| {
        let f = fields("preview", "html", bomb);
        let admin = &admin;
        async move {
            let page = admin.post("/settings/templates/invitation/en", &f).await;
            (page, started.elapsed())
        }
    });
    let theirs = async {
        // Once the bombs are queued, the other tenant's preview still gets a process.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        let page = other
            .post(
                "/settings/templates/invitation/en",
                &fields("preview", "html", "<p>Ours, {{ visitor_name }}</p>"),
            )
            .await;
        (page, t.elapsed())
    };
    let (answers, (their_page, their_time)) =
        tokio::join!(futures_util::future::join_all(previews), theirs);
    assert_eq!(their_page.status, 200, "{}", their_page.body);
    assert!(their_page.body.contains("Ours, Hanako Sato"));
    assert!(
        their_time < Duration::from_secs(1),
        "another tenant's preview waited {their_time:?}"
    );
    let mut busy = 0;
    let mut timed_out = 0;
    for (page, took) in &answers {
        assert!(took < &REFUSED_WITHIN, "answered after {took:?}");
        match page.status {
            503 => {
                assert!(
                    page.body.contains("data-form-error")
                        && page.body.contains("Nothing was saved; please try again"),
                    "{}",
                    page.body
                );
                busy += 1;
            }
            422 => {
                let why = page.field_error("html").unwrap();
                assert!(why.contains("it takes too long to render"), "{why}");
                timed_out += 1;
            }
            other => panic!("unexpected {other}: {}", page.body),
        }
    }
    eprintln!("busy {busy}, over the time limit {timed_out}");
    assert!(busy >= 1, "one tenant cannot queue four renders");
    assert!(timed_out >= 1, "the first bomb ran into the time limit");
}

#[tokio::test]
async fn a_stored_bomb_shows_its_limit_on_the_edit_page() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    app.store
        .set_template(
            app.tenant,
            MessageKind::Reminder,
            Locale::Ja,
            TemplateParts {
                text: Some("{{ 'x' * 1000000 }}".to_owned()),
                ..TemplateParts::default()
            },
            ctx(Some(app.tenant), start()),
        )
        .await
        .unwrap();
    let page = admin.get("/settings/templates/reminder/ja").await;
    assert_eq!(page.status, 200);
    let why = page.field_error("text").unwrap();
    assert!(why.contains("its result is too large"), "{why}");
    assert!(!page.body.contains("data-preview"));
}
