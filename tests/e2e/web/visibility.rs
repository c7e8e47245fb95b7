//! Who sees what: a host sees only the appointments and visitors they host — on the
//! dashboard, in its live refresh, in the appointment list, in visit history and its
//! search — and another host's appointment or visit is "not found", exactly like one
//! that does not exist. (Exports are checked in `exports`.)

use serde_json::json;

use super::{WebApp, request_id, today_slots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_sees_only_their_own_visitors_and_another_hosts_appointment_is_not_found() {
    let app = WebApp::start("acme").await;
    let password = "correct horse battery staple";
    let tanaka = app
        .user("tanaka@acme.example", "Tanaka Ichiro", "host", password)
        .await;
    let suzuki = app
        .user("suzuki@acme.example", "Suzuki Jiro", "host", password)
        .await;
    let slots = today_slots(2);
    let own = app
        .appointment(
            app.site_id,
            tanaka,
            "Alpha design review",
            slots[0],
            json!([{"name": "Sato Hanako", "company": "Alpha KK", "email": "sato@alpha.example"}]),
        )
        .await;
    let other = app
        .appointment(
            app.site_id,
            suzuki,
            "Beta contract talk",
            slots[1],
            json!([{"name": "Jane Doe", "company": "Beta Inc", "email": "jane@beta.example"}]),
        )
        .await;

    // Both visitors arrive, so there is visit history for each host too.
    let kiosk = app.kiosk(app.site_id, "Lobby").await;
    for (n, appointment) in [&own, &other].into_iter().enumerate() {
        let token = &appointment["passes"][0]["token"];
        kiosk
            .check_in(json!({"request_id": request_id(n), "token": token}))
            .await
            .ok();
    }
    let visits = app.api.visits().await.ok();
    let other_visit = visits
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["visitor_name"] == "Jane Doe")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let browser = app.browser("en").await;
    let landed = browser
        .sign_in(&app.org, "tanaka@acme.example", password)
        .await;
    assert!(landed.starts_with("/dashboard"), "{landed}");

    // Dashboard: only their visitor, and no admin navigation.
    let expected = browser.texts_of("tbody[data-rows=expected] tr").await;
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert!(expected[0].contains("Sato Hanako") && expected[0].contains("Alpha KK"));
    assert_eq!(browser.text_of("[data-count=expected]").await, "1");
    let page = browser.body_text().await;
    for theirs in ["Jane Doe", "Beta Inc", "Suzuki Jiro"] {
        assert!(!page.contains(theirs), "{theirs} on the host's dashboard");
    }
    assert!(browser.find_all("nav a[href='/users']").await.is_empty());

    // The live refresh obeys the same rule (the page script replaces the rows with it).
    browser.goto("/dashboard/live").await;
    let live = browser.body_text().await;
    assert!(live.contains("Sato Hanako"), "{live}");
    assert!(!live.contains("Jane Doe"), "{live}");

    // Visit history, also when searching for the other host's visitor.
    browser.goto("/visits").await;
    let rows = browser.texts_of("main tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Sato Hanako"));
    browser.goto("/visits?visitor=Jane").await;
    assert!(browser.find_all("main tbody tr").await.is_empty());
    assert!(!browser.body_text().await.contains("Beta Inc"));

    // The appointment list.
    browser.goto("/appointments").await;
    let rows = browser.texts_of("main tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Alpha design review") && rows[0].contains("Sato Hanako"));

    // Their own appointment opens; the other host's answers with the 404 page, as does
    // its edit form, and nothing of it shows.
    let own_id = own["id"].as_i64().unwrap();
    browser.goto(&format!("/appointments/{own_id}")).await;
    assert!(browser.body_text().await.contains("Sato Hanako"));
    let other_id = other["id"].as_i64().unwrap();
    for path in [
        format!("/appointments/{other_id}"),
        format!("/appointments/{other_id}/edit"),
        format!("/appointments/{}", other_id + 1000),
        format!("/visits/{other_visit}"),
    ] {
        browser.goto(&path).await;
        assert_eq!(browser.text_of(".status-code").await, "404", "{path}");
        assert_eq!(browser.text_of("h2[lang=en]").await, "Not found", "{path}");
        let text = browser.body_text().await;
        assert!(
            !text.contains("Jane Doe") && !text.contains("Beta"),
            "{path}: {text}"
        );
    }

    // A host creates appointments only for themselves.
    browser.goto("/appointments/new").await;
    let hosts = browser.texts_of("select[name=host_id] option").await;
    assert_eq!(hosts, ["Tanaka Ichiro"]);

    // The admin, in the same browser, sees both (so the data was there to leak).
    browser.sign_out().await;
    browser
        .sign_in(&app.org, &app.admin_email, &app.admin_password)
        .await;
    let all = browser
        .texts_of("tbody[data-rows=expected] tr")
        .await
        .join("\n");
    assert!(
        all.contains("Sato Hanako") && all.contains("Jane Doe"),
        "{all}"
    );
    browser.close().await;
}
