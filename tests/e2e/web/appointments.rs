//! The appointment form in the browser: several visitors (the "add a visitor" button
//! adds a row), invitations delivered to the loopback SMTP server, and problems shown
//! next to the field they belong to with everything else kept.

use genkan_e2e::browser::{Browser, fill_element, select_element};
use mail_parser::MimeHeaders as _;

use super::WebApp;
use crate::support::{invitation, mails_to};

/// One visitor row of the form.
struct Row<'a> {
    name: &'a str,
    company: &'a str,
    email: &'a str,
    phone: &'a str,
    locale: &'a str,
}

/// Fills visitor row `index` (0-based) of the appointment form.
async fn fill_row(browser: &Browser, index: usize, row: &Row<'_>) {
    let rows = browser.find_all("[data-visitor-row]").await;
    let el = &rows[index];
    for (field, value) in [
        ("visitor_name", row.name),
        ("visitor_company", row.company),
        ("visitor_email", row.email),
        ("visitor_phone", row.phone),
    ] {
        let input = el
            .find(thirtyfour::By::Css(format!("input[name={field}]")))
            .await
            .unwrap();
        fill_element(&input, value).await;
    }
    let select = el
        .find(thirtyfour::By::Css("select[name=visitor_locale]"))
        .await
        .unwrap();
    select_element(&select, row.locale).await;
}

/// The values of input `name` in every visitor row.
async fn row_values(browser: &Browser, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for input in browser.find_all(&format!("input[name={name}]")).await {
        out.push(input.value().await.unwrap().unwrap_or_default());
    }
    out
}

const SATO: Row<'static> = Row {
    name: "佐藤 花子",
    company: "株式会社サンプル",
    email: "sato@visitor.example",
    phone: "03-1234-5678",
    locale: "ja",
};

const SMITH: Row<'static> = Row {
    name: "John Smith",
    company: "Contoso Ltd.",
    email: "john@visitor.example",
    phone: "+1 206 555 0100",
    locale: "en",
};

/// Opens the form, types a title and two visitors (the second row from the button).
async fn two_visitor_form(browser: &Browser, second: &Row<'_>) {
    browser.goto("/appointments/new").await;
    browser.fill("input[name=title]", "Quarterly review").await;
    fill_row(browser, 0, &SATO).await;
    assert_eq!(browser.find_all("[data-visitor-row]").await.len(), 1);
    browser.click("button[data-add-visitor]").await;
    assert_eq!(
        browser.find_all("[data-visitor-row]").await.len(),
        2,
        "the button adds a second, empty row"
    );
    assert_eq!(row_values(browser, "visitor_name").await, [SATO.name, ""]);
    fill_row(browser, 1, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appointment_with_two_visitors_from_the_form_sends_both_invitations() {
    let app = WebApp::start("acme").await;
    let host = app
        .user(
            "tanaka@acme.example",
            "田中 一郎",
            "host",
            "quiet lantern mosaic 7391",
        )
        .await;
    let browser = app.admin_browser("en").await;

    two_visitor_form(&browser, &SMITH).await;
    browser
        .select("select[name=host_id]", &host.to_string())
        .await;
    browser.submit("button.primary[type=submit]").await;

    let landed = browser.path().await;
    let id: i64 = landed
        .strip_prefix("/appointments/")
        .and_then(|rest| rest.strip_suffix("?notice=created"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not on the new appointment's page: {landed}"));
    assert!(id > 0);
    assert_eq!(
        browser.text_of("h1").await.split_whitespace().next(),
        Some("Quarterly")
    );

    // The detail page lists both visitors with what was typed.
    let rows = browser
        .texts_of("main tbody tr:has(form[action$='/pass'])")
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, v) in rows.iter().zip([&SATO, &SMITH]) {
        for fact in [v.name, v.company, v.email, v.phone] {
            assert!(row.contains(fact), "{fact} missing from {row}");
        }
    }
    assert!(
        browser.body_text().await.contains("田中 一郎"),
        "the chosen host is shown"
    );

    // Both invitations reach the SMTP server, each in the visitor's language, with the
    // QR code inline (cid:) and attached as pass.png.
    for (v, subject_start) in [(&SATO, "【"), (&SMITH, "Your visitor pass")] {
        let mails = mails_to(&app.smtp, v.email, 1).await;
        assert_eq!(mails.len(), 1, "one invitation to {}", v.email);
        let parsed = mails[0].parsed();
        let subject = parsed.subject().unwrap_or_default().to_owned();
        assert!(subject.starts_with(subject_start), "{subject}");
        let inv = invitation(&mails[0]);
        assert!(
            inv.html.contains("cid:pass-qr"),
            "the HTML shows the inline QR"
        );
        assert!(inv.inline_png.starts_with(b"\x89PNG"));
        assert_eq!(inv.inline_png, inv.attached_png);
        assert_eq!(inv.code.len(), 8);
        let attachment = parsed
            .attachments()
            .find(|p| p.attachment_name() == Some("pass.png"));
        assert!(attachment.is_some(), "pass.png is an attachment");
    }
    assert_eq!(app.smtp.messages().len(), 2, "nothing else was sent");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_email_in_the_second_row_is_shown_in_that_row_and_everything_typed_is_kept() {
    let app = WebApp::start("acme").await;
    let browser = app.admin_browser("ja").await;
    let bad = Row {
        email: "john@@visitor",
        ..SMITH
    };
    two_visitor_form(&browser, &bad).await;
    browser.submit("button.primary[type=submit]").await;

    // Still the form (answered 422, which WebDriver cannot see), with the problem in row 2.
    assert_eq!(browser.path().await, "/appointments/new");
    // The summary above the form (checked at the end, so that everything else is too).
    let summary = browser.texts_of("main [role=alert]").await;
    let rows = browser.find_all("[data-visitor-row]").await;
    assert_eq!(rows.len(), 2);
    let second_errors = rows[1]
        .find_all(thirtyfour::By::Css(".field-error"))
        .await
        .unwrap();
    assert_eq!(second_errors.len(), 1);
    assert_eq!(
        second_errors[0].text().await.unwrap(),
        "メールアドレスの形式が正しくありません。"
    );
    let email_label = second_errors[0].parent().await.unwrap();
    let invalid = email_label
        .find(thirtyfour::By::Css("input[aria-invalid=true]"))
        .await
        .unwrap();
    assert_eq!(
        invalid.attr("name").await.unwrap().as_deref(),
        Some("visitor_email")
    );
    assert!(
        rows[0]
            .find_all(thirtyfour::By::Css(".field-error"))
            .await
            .unwrap()
            .is_empty(),
        "row 1 is fine"
    );

    // Everything typed is still there, the bad address too, so it can be corrected.
    assert_eq!(
        browser
            .find("input[name=title]")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("Quarterly review")
    );
    assert_eq!(
        row_values(&browser, "visitor_name").await,
        [SATO.name, SMITH.name]
    );
    assert_eq!(
        row_values(&browser, "visitor_company").await,
        [SATO.company, SMITH.company]
    );
    assert_eq!(
        row_values(&browser, "visitor_email").await,
        [SATO.email, "john@@visitor"]
    );
    assert_eq!(
        row_values(&browser, "visitor_phone").await,
        [SATO.phone, SMITH.phone]
    );
    let mut locales = Vec::new();
    for select in browser.find_all("select[name=visitor_locale]").await {
        locales.push(select.prop("value").await.unwrap().unwrap_or_default());
    }
    assert_eq!(locales, ["ja", "en"]);

    // Nothing was created or sent.
    let created = app.api.get("/api/v1/appointments").await.ok();
    assert_eq!(created.as_array().map(Vec::len), Some(0), "{created}");
    assert!(app.smtp.messages().is_empty());

    // Correcting the one field of the re-shown form is enough.
    let emails = browser.find_all("input[name=visitor_email]").await;
    fill_element(&emails[1], SMITH.email).await;
    browser.submit("button.primary[type=submit]").await;
    assert!(browser.path().await.ends_with("?notice=created"));
    assert_eq!(
        browser
            .find_all("main tbody tr:has(form[action$='/pass'])")
            .await
            .len(),
        2
    );
    assert_eq!(
        summary,
        ["下に示した項目を修正してください。"],
        "a problem in a visitor row also gets the summary above the form"
    );
    browser.close().await;
}
