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
use serde_json::{Value, json};

use super::{WebApp, today_slots};

/// Injection payloads: each tries to set `window.__xss` or to leave a marker element.
/// Every one fits a display name (100 characters) and is distinct (site names are unique).
const PAYLOADS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "\"><svg onload=window.__xss=3>",
    "'><svg/onload=window.__xss=4>",
    "javascript:window.__xss=5",
    "</textarea><script>window.__xss=6</script>",
    "</title><script>window.__xss=7</script>",
    "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
    "<iframe srcdoc=\"<script>parent.__xss=9</script>\"></iframe>",
    "<a href=\"javascript:window.__xss=10\">click me</a>",
    "<details open ontoggle=window.__xss=11>",
    "<body onload=window.__xss=12>",
    "<input autofocus onfocus=window.__xss=13>",
    "<b data-xss=14>bold</b><style>*{display:none}</style>",
    "\" onmouseover=\"window.__xss=15\" x=\"",
    "' onfocus='window.__xss=16' autofocus='",
    "＜script＞window.__xss=17＜/script＞",
    "&lt;script&gt;window.__xss=18&lt;/script&gt;",
    "<scr<script>ipt>window.__xss=19</scr</script>ipt>",
    "\u{200F}<img src=x onerror=window.__xss=20>\u{FEFF}",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=21>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=22>\">",
    "<object data=\"javascript:window.__xss=23\"></object>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=24\">",
    "</script><script>window.__xss=25</script>",
    "<base href=\"//evil.example/\"><b data-xss=26>base</b>",
    "<form action=\"javascript:window.__xss=27\"><button>go</button></form>",
    "\\u003cimg src=x onerror=window.__xss=28\\u003e",
];

/// Addresses that are valid e-mail addresses and still try to break out of HTML.
const EMAILS: &[&str] = &[
    "x'onmouseover='window.__xss=101'@evil.example",
    "{{7*7}}@evil.example",
    "'-window.__xss=102-'@evil.example",
    "x/onfocus=window.__xss=103/@evil.example",
    "${7*7}#{7*7}@evil.example",
    "ｓａｔｏ@evil.example",
];

/// What a page looks like from inside. With an HTML string as argument it inspects
/// that markup parsed (not run) instead of the page: the self-check below uses it.
const INSPECT: &str = r#"
const doc = arguments[0] ? new DOMParser().parseFromString(arguments[0], 'text/html') : document;
const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href', 'poster', 'background'];
const known = (e) => e.closest('.qr') !== null || e.matches('details.usermenu') || e.matches('img[src^="/static/"], img[src="/logo.png"]');
const suspicious = 'img, iframe, frame, object, embed, svg, math, details, noscript, template, style, meta[http-equiv], base, input[autofocus], [data-xss], marquee, video, audio, body form:not([method=post]):not([method=get])';
const all = [...doc.querySelectorAll('*')];
return {
  xss: window.__xss === undefined ? null : String(window.__xss),
  scripts: [...doc.scripts].map(s => s.getAttribute('src') || ('inline: ' + s.textContent.slice(0, 80))),
  injected: [...doc.querySelectorAll(suspicious)].filter(e => !known(e)).map(e => e.outerHTML.slice(0, 160)),
  unknown: all.filter(e => e instanceof HTMLUnknownElement).map(e => e.tagName),
  handlers: all.flatMap(e => [...e.attributes].filter(a => a.name.toLowerCase().startsWith('on')).map(a => e.tagName + ' ' + a.name + '=' + a.value)),
  js_urls: all.flatMap(e => urlAttrs.map(n => e.getAttribute(n)).filter(v => v !== null && /^\s*(javascript|vbscript):/i.test(v))),
  text: doc.body ? (arguments[0] ? doc.body.textContent : doc.body.innerText) : '',
};
"#;

/// What is wrong with the page (or with `markup`, parsed): script that ran, scripts
/// other than the app's own, injected or unknown elements, event handlers, `javascript:` URLs,
/// and any of `texts` not shown as text.
async fn problems(browser: &Browser, markup: Option<&str>, texts: &[&str]) -> Vec<String> {
    let report = browser
        .driver()
        .execute(INSPECT, vec![json!(markup)])
        .await
        .unwrap()
        .json()
        .clone();
    let mut found = Vec::new();
    if report["xss"] != Value::Null {
        found.push(format!("script ran: window.__xss = {}", report["xss"]));
    }
    let scripts: Vec<&str> = report["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if scripts.len() > 1 || scripts.iter().any(|s| !s.starts_with("/static/app.js")) {
        found.push(format!("scripts: {scripts:?}"));
    }
    for key in ["injected", "unknown", "handlers", "js_urls"] {
        if report[key] != json!([]) {
            found.push(format!("{key}: {}", report[key]));
        }
    }
    let text = report["text"].as_str().unwrap();
    for t in texts {
        if !text.contains(t) {
            found.push(format!("{t:?} is not shown as text"));
        }
    }
    found
}

/// Checks the current page: nothing ran, nothing was injected, every one of `texts`
/// is shown as text; then proves the check could have failed here.
async fn assert_inert(browser: &Browser, page: &str, texts: &[&str]) {
    let found = problems(browser, None, texts).await;
    assert!(found.is_empty(), "{page}:\n{}", found.join("\n"));
    assert_probe_runs(browser, page).await;
}

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
            "<!doctype html><html><head><script src=\"/static/app.js\"></script></head><body><main><p>{payload}</p><input value=\"{payload}\"><input value='{payload}'><a href=\"{payload}\">x</a></main></body></html>"
        );
        let found = problems(browser, Some(&markup), &[]).await;
        assert_eq!(
            !found.is_empty(),
            is_markup,
            "{payload:?} rendered raw: {found:?}"
        );
    }
}

/// Script injected into the page now does run: the CSP is really bypassed, so the
/// absence of `window.__xss` above means escaping held.
async fn assert_probe_runs(browser: &Browser, page: &str) {
    browser
        .eval("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__probe=1; this.remove()\">');")
        .await;
    let start = Instant::now();
    while browser.eval("return window.__probe === 1;").await != Value::Bool(true) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{page}: injected script does not run, so the XSS check would prove nothing"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
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
        "{}",
        browser.path().await
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
    let Some(app) = WebApp::start("acme").await else {
        return;
    };
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
