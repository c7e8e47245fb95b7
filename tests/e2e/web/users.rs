//! Accounts by e-mail link in the browser: an admin invites someone, the invitee opens
//! the link in the mail, chooses a password and signs in; a forgotten password is reset
//! the same way. Links work once, and work when clicked in a web mail client (a
//! navigation that comes from another site).

use genkan_e2e::browser::Browser;

use super::WebApp;
use crate::support::mails_to;

/// The path of the first link containing `marker` in the latest mail to `address`
/// (the mail's host is the configured public URL; the test server has its own port).
async fn link_path(app: &WebApp, address: &str, count: usize, marker: &str) -> String {
    let mails = mails_to(&app.smtp, address, count).await;
    let text = mails[count - 1].parsed().body_text(0).unwrap().into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    let path = &link[link.find(marker).unwrap()..];
    assert!(path.len() > marker.len() + 16, "{link}");
    path.to_owned()
}

/// Opens `path` by clicking it on another site, as in a web mail client. Returns
/// whether the password form was offered that way; if it was not, opens the link
/// directly (as if pasted) so that the rest of the flow is still tested.
async fn open_mailed_link(browser: &Browser, path: &str, form_path: &str) -> bool {
    browser
        .follow_link_from_elsewhere(&format!("{}{path}", browser.base))
        .await;
    assert_eq!(browser.path().await, form_path);
    let offered = !browser.find_all("input[name=password]").await.is_empty();
    if !offered {
        browser.goto(path).await;
        assert_eq!(browser.path().await, form_path);
    }
    assert!(
        browser.find_all("[role=alert]").await.is_empty(),
        "the link is valid: {}",
        browser.body_text().await
    );
    offered
}

/// Fills and submits the set-password form.
async fn choose_password(browser: &Browser, password: &str) {
    browser.fill("input[name=password]", password).await;
    browser.fill("input[name=repeat]", password).await;
    browser
        .submit("main form[method=post] button[type=submit]")
        .await;
}

/// Opening a used link again shows the "not valid any more" message and no form.
async fn assert_used(browser: &Browser, path: &str) {
    browser.goto(path).await;
    assert!(browser.find_all("input[name=password]").await.is_empty());
    assert_eq!(browser.texts_of("[role=alert]").await.len(), 1);
}

const FROM_ELSEWHERE: &str = "a link clicked in a web mail client (a cross-site navigation) must open the password form, not \"link invalid\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_user_opens_the_mailed_link_chooses_a_password_and_signs_in() {
    let app = WebApp::start("acme").await;
    let admin = app.admin_browser("ja").await;
    admin.goto("/users/new").await;
    admin
        .fill("input[name=email]", "kobayashi@acme.example")
        .await;
    admin.fill("input[name=name]", "小林 直樹").await;
    admin.select("select[name=role]", "receptionist").await;
    admin
        .submit("main form[method=post] button[type=submit]")
        .await;
    assert_eq!(admin.path().await, "/users?notice=invited");
    let listed = admin.texts_of("main tbody tr").await.join("\n");
    assert!(listed.contains("小林 直樹"), "{listed}");

    let path = link_path(&app, "kobayashi@acme.example", 1, "/invite/").await;
    let invitee = app.browser("ja").await;
    let from_elsewhere = open_mailed_link(&invitee, &path, "/invite").await;
    let password = "sakura-no-kisetsu-2026";
    choose_password(&invitee, password).await;
    assert_eq!(invitee.path().await, "/login?notice=password_set");
    let landed = invitee
        .sign_in(&app.org, "kobayashi@acme.example", password)
        .await;
    assert!(landed.starts_with("/dashboard"), "{landed}");
    let menu = invitee.text_of(".usermenu summary").await;
    assert!(
        menu.contains("小林 直樹") && menu.contains("受付"),
        "{menu}"
    );

    invitee.sign_out().await;
    assert_used(&invitee, &path).await;
    assert!(from_elsewhere, "{FROM_ELSEWHERE}");
    invitee.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_from_the_mailed_link_and_the_old_one_stops_working() {
    let app = WebApp::start("acme").await;
    let email = "tanaka@acme.example";
    app.user(email, "Tanaka Ichiro", "host", "the original password")
        .await;
    let browser = app.browser("en").await;
    browser.goto("/password/forgot").await;
    browser.fill("input[name=organisation]", &app.org).await;
    browser.fill("input[name=email]", email).await;
    browser
        .submit("form[action='/password/forgot'] button[type=submit]")
        .await;
    assert_eq!(browser.texts_of("[role=status]").await.len(), 1);

    let path = link_path(&app, email, 1, "/password/reset/").await;
    let from_elsewhere = open_mailed_link(&browser, &path, "/password/reset").await;
    let password = "a brand new passphrase";
    choose_password(&browser, password).await;
    assert_eq!(browser.path().await, "/login?notice=password_set");

    let refused = browser
        .sign_in(&app.org, email, "the original password")
        .await;
    assert_eq!(refused, "/login", "the old password no longer works");
    let landed = browser.sign_in(&app.org, email, password).await;
    assert!(landed.starts_with("/dashboard"), "{landed}");
    browser.sign_out().await;
    assert_used(&browser, &path).await;
    assert!(from_elsewhere, "{FROM_ELSEWHERE}");
    browser.close().await;
}
