//! Nothing a user types runs as script: a corpus of script and HTML injections goes
//! through every text field the admin API and the web forms accept (appointments,
//! sites, users, walk-ins, searches, sign-in), and every page that shows them —
//! dashboard, appointments, passes, front desk, muster list, visit history, visits,
//! users, sites — must render them as inert text.
//!
//! The browser runs with the page's Content-Security-Policy bypassed, so that markup
//! which escaped the templates would really execute: the CSP is a second wall, and a
//! test that leaned on it could not notice broken escaping. Each page is checked for
//! execution (`window.__xss`), for injected elements, handlers and `javascript:` URLs,
//! and for the payload being visible as text; a probe then proves that script
//! injected into that very page would have run.

use std::time::{Duration, Instant};

use genkan_e2e::browser::{Browser, fill_element};
use genkan_e2e::inert::{APP_SCRIPT, EMAILS, PAYLOADS, assert_inert, problems};
use serde_json::json;

use super::{WebApp, today_slots};

/// The inspection is able to fail: every payload that is markup, written into a page
/// unescaped (as text, in attributes, as a link), is caught by the DOM checks alone.
/// The rest (`{{7*7}}`, full-width brackets, `&lt;`, `\u003c`) can only do harm if
/// something evaluates or decodes them, which the "shown as text" check catches.
async fn assert_inspection_catches_raw_payloads(browser: &Browser) {
    for payload in PAYLOADS {
        let opens_tag = payload
            .split('<')
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/'));
        let is_markup =
            opens_tag || payload.contains(['"', '\'']) || payload.starts_with("javascript:");
        let markup = format!(
            "<!doctype html><html><head><script src=\"{APP_SCRIPT}\"></script></head><body><main><p>{payload}</p><input value=\"{payload}\"><input value='{payload}'><a href=\"{payload}\">x</a></main></body></html>"
        );
        let found = problems(browser, Some(&markup), Some(APP_SCRIPT), &[]).await;
        assert_eq!(
            !found.is_empty(),
            is_markup,
            "{payload:?} rendered raw: {found:?}"
        );
    }
}

/// Waits until the dashboard's live refresh replaced the rows (they are rebuilt by script).
async fn wait_for_live_refresh(browser: &Browser) {
    browser
        .eval("for (const tr of document.querySelectorAll('tbody[data-rows] tr')) tr.dataset.old = '1';")
        .await;
    let start = Instant::now();
    while browser
        .eval("return document.querySelectorAll('tbody[data-rows] tr[data-old]').length;")
        .await
        != json!(0)
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the dashboard did not refresh itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ids of what the API created for payload `i`.
struct Planted {
    appointment: i64,
    payload: &'static str,
    email: &'static str,
}

/// Puts every payload through every text field of the admin API: a host's display
/// name, a site's name and address, an appointment's title, a visitor's name and
/// company, and (e-mail-shaped payloads) the visitor's address.
async fn plant_through_api(app: &WebApp) -> Vec<Planted> {
    let slots = today_slots(PAYLOADS.len());
    let mut planted = Vec::new();
    for (i, payload) in PAYLOADS.iter().enumerate() {
        assert!(
            payload.chars().count() <= 100,
            "{payload} is too long for a name"
        );
        let host = app
            .api
            .create_user(&format!("host{i}@acme.example"), payload, "host")
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let site = app
            .api
            .create_site(payload, "Asia/Tokyo", payload)
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let email = EMAILS[i % EMAILS.len()];
        let created = app
            .appointment(
                site,
                host,
                payload,
                slots[i],
                json!([{"name": payload, "company": payload, "email": email, "phone": "03-1234-5678"}]),
            )
            .await;
        planted.push(Planted {
            appointment: created["id"].as_i64().unwrap(),
            payload,
            email,
        });
    }
    planted
}

/// Types payloads into the appointment form (with one bad field, so the form comes
/// back filled in), checks the re-shown form, corrects it and checks the result.
async fn plant_through_appointment_form(browser: &Browser) {
    let (title, name1, company1, name2, company2) = (
        PAYLOADS[5],
        PAYLOADS[14],
        PAYLOADS[3],
        PAYLOADS[15],
        PAYLOADS[1],
    );
    browser.goto("/appointments/new").await;
    browser.fill("input[name=title]", title).await;
    browser.click("button[data-add-visitor]").await;
    let rows = [
        (name1, company1, EMAILS[0], "not a phone"),
        (name2, company2, EMAILS[2], "03-1234-5678"),
    ];
    for (kind, index) in [
        ("visitor_name", 0),
        ("visitor_company", 1),
        ("visitor_email", 2),
        ("visitor_phone", 3),
    ] {
        let inputs = browser.find_all(&format!("input[name={kind}]")).await;
        for (input, row) in inputs.iter().zip(&rows) {
            let value = [row.0, row.1, row.2, row.3][index];
            fill_element(input, value).await;
        }
    }
    browser.submit("button.primary[type=submit]").await;
    assert_eq!(
        browser.path().await,
        "/appointments/new",
        "the bad phone keeps the form"
    );
    assert_inert(browser, "re-shown appointment form", &[]).await;
    // Each payload came back exactly, as a value, not as markup.
    assert_eq!(
        browser
            .find("input[name=title]")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some(title)
    );
    let names = browser.find_all("input[name=visitor_name]").await;
    let companies = browser.find_all("input[name=visitor_company]").await;
    for ((n, c), row) in names.iter().zip(&companies).zip(&rows) {
        assert_eq!(n.value().await.unwrap().as_deref(), Some(row.0));
        assert_eq!(c.value().await.unwrap().as_deref(), Some(row.1));
    }

    let phones = browser.find_all("input[name=visitor_phone]").await;
    fill_element(&phones[0], "03-9876-5432").await;
    browser.submit("button.primary[type=submit]").await;
    assert!(
        browser.path().await.ends_with("?notice=created"),
        "{} {}",
        browser.path().await,
        browser.body_text().await
    );
    assert_inert(
        browser,
        "appointment created in the form",
        &[
            title, name1, company1, name2, company2, EMAILS[0], EMAILS[2],
        ],
    )
    .await;
}

/// A site and an invited user whose texts are payloads, through their web forms.
async fn plant_through_admin_forms(browser: &Browser) {
    let (site_name, address, user_name) = (PAYLOADS[9], PAYLOADS[20], PAYLOADS[10]);
    browser.goto("/sites/new").await;
    browser
        .fill("input[name=name]", &format!("{site_name} (web)"))
        .await;
    browser.fill("input[name=time_zone]", "Asia/Tokyo").await;
    browser.fill("input[name=address]", address).await;
    browser
        .submit("main form[method=post] button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/sites?notice=created");
    assert_inert(
        browser,
        "sites after the web form",
        &[&format!("{site_name} (web)"), address],
    )
    .await;

    browser.goto("/users/new").await;
    browser.fill("input[name=email]", EMAILS[3]).await;
    browser.fill("input[name=name]", user_name).await;
    browser.select("select[name=role]", "host").await;
    browser
        .submit("main form[method=post] button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/users?notice=invited");
    assert_inert(
        browser,
        "users after the invitation form",
        &[user_name, EMAILS[3]],
    )
    .await;
}

/// The front desk: checks every expected visitor in by hand (so the payloads reach the
/// visit pages) and registers a walk-in whose name and company are payloads, first with
/// a company that is too long so the form comes back filled in.
async fn plant_through_front_desk(browser: &Browser) {
    browser.goto("/onsite").await;
    assert_inert(browser, "front desk before check-ins", PAYLOADS).await;
    let check_in = "form[action^='/onsite/check-in/'] button";
    while !browser.find_all(check_in).await.is_empty() {
        browser.submit(check_in).await;
        assert_eq!(browser.path().await, "/onsite?notice=checked_in");
    }

    let (name, company) = (PAYLOADS[12], PAYLOADS[21]);
    browser.fill("input[name=name]", name).await;
    browser
        .set_value("input[name=company]", &"x".repeat(121))
        .await;
    browser
        .submit("form[action='/onsite/walk-in'] button")
        .await;
    assert_inert(browser, "re-shown walk-in form", &[]).await;
    let shown = browser
        .find("form[action='/onsite/walk-in'] input[name=name]")
        .await;
    assert_eq!(shown.value().await.unwrap().as_deref(), Some(name));
    browser
        .fill(
            "form[action='/onsite/walk-in'] input[name=company]",
            company,
        )
        .await;
    browser
        .submit("form[action='/onsite/walk-in'] button")
        .await;
    assert_eq!(browser.path().await, "/onsite?notice=checked_in");
    assert_inert(browser, "front desk after check-ins", PAYLOADS).await;
    browser.goto("/onsite/muster").await;
    assert_inert(browser, "muster list", PAYLOADS).await;
}

/// Visit history (with a payload typed into its search boxes) and every visit's page.
async fn check_visit_history(browser: &Browser) {
    browser.goto("/visits").await;
    assert_inert(browser, "visit history", PAYLOADS).await;
    let mut pages = Vec::new();
    for link in browser.find_all("main tbody a[href^='/visits/']").await {
        pages.push(link.attr("href").await.unwrap().unwrap());
    }
    assert!(pages.len() > PAYLOADS.len(), "{} visits", pages.len());
    for page in pages {
        browser.goto(&page).await;
        assert_inert(browser, &page, &[]).await;
    }

    browser.goto("/visits").await;
    browser.fill("input[name=visitor]", PAYLOADS[2]).await;
    browser.fill("input[name=company]", PAYLOADS[14]).await;
    browser
        .submit("form[action='/visits'] button[type=submit]")
        .await;
    assert_inert(browser, "visit search", &[]).await;
    for (field, typed) in [("visitor", PAYLOADS[2]), ("company", PAYLOADS[14])] {
        let input = browser.find(&format!("input[name={field}]")).await;
        assert_eq!(
            input.value().await.unwrap().as_deref(),
            Some(typed),
            "{field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_markup_in_every_text_field_renders_as_inert_text() {
    let app = WebApp::start("acme").await;
    assert!(PAYLOADS.len() >= 20);
    let planted = plant_through_api(&app).await;
    let browser = app.admin_browser("en").await;
    browser.bypass_csp().await;
    assert_inspection_catches_raw_payloads(&browser).await;

    plant_through_appointment_form(&browser).await;
    plant_through_admin_forms(&browser).await;
    plant_through_front_desk(&browser).await;
    check_visit_history(&browser).await;

    // The lists show every payload at least once (visitor, company, host, site, title),
    // the dashboard as expected, on site, and again after its script rebuilt the rows.
    browser.goto("/dashboard").await;
    assert_inert(&browser, "dashboard", PAYLOADS).await;
    wait_for_live_refresh(&browser).await;
    assert_inert(&browser, "dashboard after its live refresh", PAYLOADS).await;
    browser.goto("/appointments").await;
    assert_inert(&browser, "appointment list", PAYLOADS).await;
    browser.goto("/users").await;
    assert_inert(&browser, "users", PAYLOADS).await;
    browser.goto("/sites").await;
    assert_inert(&browser, "sites", PAYLOADS).await;

    // Every appointment page, and the printable pass of its visitor.
    for p in &planted {
        let page = format!("/appointments/{}", p.appointment);
        browser.goto(&page).await;
        assert_inert(&browser, &page, &[p.payload, p.email]).await;
        browser
            .submit(&format!(
                "form[action^='/appointments/{}/visitors/'][action$='/pass'] button",
                p.appointment
            ))
            .await;
        assert_inert(&browser, &format!("{page} pass"), &[p.payload]).await;
    }

    // The sign-in form shows what was typed back after a failure.
    assert_eq!(browser.sign_out().await, "/login?notice=signed_out");
    let landed = browser
        .sign_in(PAYLOADS[2], EMAILS[0], "not the password")
        .await;
    assert_eq!(landed, "/login");
    assert_inert(&browser, "sign-in form after a failure", &[]).await;
    for (field, typed) in [("organisation", PAYLOADS[2]), ("email", EMAILS[0])] {
        let input = browser.find(&format!("input[name={field}]")).await;
        assert_eq!(
            input.value().await.unwrap().as_deref(),
            Some(typed),
            "{field}"
        );
    }
    browser.close().await;
}
