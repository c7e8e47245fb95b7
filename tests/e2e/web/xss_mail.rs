//! INJ-2 in e-mail: the HTML part of every mail built from names carrying the injection payloads (invitation, staff invitation, host arrival, cancellation, operator notice) renders in headless Chromium as inert text.
//!
//! The mails are captured as sent, on the loopback SMTP server, and each HTML part is
//! opened from a file with no Content-Security-Policy at all, so markup that escaped
//! the templates would run. The checks are the web pages' own (`genkan_e2e::inert`):
//! no script ran and none is present, no injected element, handler or `javascript:`
//! URL, every payload the plain-text part carries shown as text; then a probe proves
//! script put into that very page does run.

use std::collections::BTreeSet;
use std::time::Duration;

use genkan_e2e::browser::Browser;
use genkan_e2e::inert::{EMAILS, PAYLOADS, assert_probe_runs, problems};
use genkan_e2e::server::genkan_with_config;
use genkan_e2e::smtp::Received;
use serde_json::json;

use super::{TenantNames, WebApp, request_id, today_slots};

/// The address payload `i`'s visitor is invited at.
fn visitor_address(i: usize) -> String {
    EMAILS.get(i).map_or_else(
        || format!("visitor{i}@visitor.example"),
        |e| (*e).to_owned(),
    )
}

/// Opens one mail's HTML part and checks it is inert; returns the payloads it showed.
async fn check_mail(browser: &Browser, dir: &std::path::Path, n: usize, mail: &Received) -> usize {
    let parsed = mail.parsed();
    let subject = parsed.subject().unwrap_or_default().to_owned();
    let text = parsed
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let html = parsed
        .body_html(0)
        .unwrap_or_else(|| panic!("mail {subject:?} has no HTML part"))
        .into_owned();
    let shown: Vec<&str> = PAYLOADS
        .iter()
        .copied()
        .filter(|p| text.contains(p))
        .collect();
    let path = dir.join(format!("mail-{n}.html"));
    std::fs::write(&path, html.as_bytes()).unwrap();
    browser
        .driver()
        .goto(format!("file://{}", path.display()))
        .await
        .unwrap();
    let what = format!("mail {n} to {:?} ({subject:?})", mail.rcpt_to);
    let found = problems(browser, None, None, &shown).await;
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
    assert_probe_runs(browser, &what).await;
    shown.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_markup_in_names_stays_inert_in_every_html_mail() {
    let names = TenantNames {
        company: PAYLOADS[0],
        site: PAYLOADS[1],
        admin: PAYLOADS[2],
    };
    let app = WebApp::start_named("acme", &names).await;
    let slots = today_slots(PAYLOADS.len());
    let mut appointments = Vec::new();
    for (i, payload) in PAYLOADS.iter().enumerate() {
        // An invited host (staff invitation mail) whose name is the payload, at a site
        // named and addressed with it, expecting a visitor named with it.
        let host = app
            .api
            .create_user(&format!("host{i}@acme.example"), payload, "host")
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let site = app
            .api
            .create_site(&format!("{payload} #{i}"), "Asia/Tokyo", payload)
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let company = PAYLOADS[(i + 3) % PAYLOADS.len()];
        let created = app
            .appointment(
                site,
                host,
                payload,
                slots[i],
                json!([{"name": payload, "company": company, "email": visitor_address(i), "locale": if i % 2 == 0 { "en" } else { "ja" }}]),
            )
            .await;
        appointments.push((site, created));
    }
    // Half the visitors arrive (the host's arrival mail); the other half's
    // appointments are cancelled (the visitor's cancellation mail).
    for (i, (site, created)) in appointments.iter().enumerate() {
        if i % 2 == 0 {
            app.kiosk(*site, &format!("Lobby {i}"))
                .await
                .check_in(
                    json!({"request_id": request_id(i), "token": created["passes"][0]["token"]}),
                )
                .await
                .ok();
        } else {
            app.api
                .post(
                    &format!("/api/v1/appointments/{}/cancel", created["id"]),
                    json!({}),
                )
                .await
                .ok();
        }
    }
    // An operator notice to the tenant's admins, its title and text payloads too.
    let notice = genkan_with_config(
        &app.server.config,
        &[
            "notice",
            "publish",
            "--kind",
            "maintenance",
            "--title",
            PAYLOADS[3],
            "--body",
            PAYLOADS[4],
            "--tenants",
            "acme",
        ],
    );
    assert!(
        notice.status.success(),
        "{}",
        String::from_utf8_lossy(&notice.stderr)
    );

    // Staff invited through the web form (the staff invitation mail); every third
    // payload, as the form is slow to drive.
    let browser = app.admin_browser("en").await;
    let invited: Vec<usize> = (0..PAYLOADS.len()).step_by(3).collect();
    for &i in &invited {
        browser.goto("/users/new").await;
        browser
            .fill("input[name=email]", &format!("staff{i}@acme.example"))
            .await;
        browser.fill("input[name=name]", PAYLOADS[i]).await;
        browser.select("select[name=role]", "host").await;
        browser
            .submit("main form[method=post] button[type=submit]")
            .await;
        assert_eq!(browser.path().await, "/users?notice=invited");
    }

    // Visitors: an invitation each, and a cancellation for every odd one; hosts: a
    // an arrival for every even one; staff: their invitation; the admin: the notice.
    let n = PAYLOADS.len();
    let expected = n + n / 2 + n.div_ceil(2) + invited.len() + 1;
    let mails = genkan_e2e::eventually(Duration::from_secs(60), || {
        let m = app.smtp.messages();
        (m.len() >= expected).then_some(m)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "expected {expected} mails, got {}",
            app.smtp.messages().len()
        )
    });
    assert_eq!(mails.len(), expected, "no mail more than planned");

    browser.bypass_csp().await;
    let dir = tempfile::tempdir().unwrap();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (k, mail) in mails.iter().enumerate() {
        let shown = check_mail(&browser, dir.path(), k, mail).await;
        assert!(
            shown > 0,
            "mail {k} to {:?} carries no payload, so it proves nothing",
            mail.rcpt_to
        );
        let text = mail
            .parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        seen.extend(PAYLOADS.iter().copied().filter(|p| text.contains(p)));
    }
    let missing: Vec<_> = PAYLOADS.iter().filter(|p| !seen.contains(*p)).collect();
    assert!(
        missing.is_empty(),
        "payloads in no mail at all: {missing:?}"
    );
    browser.close().await;
}
