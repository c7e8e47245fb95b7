//! CSV exports downloaded in the browser: UTF-8 with a BOM, formula-like cells
//! neutralised, and every row matching what the server's API says is in the
//! database; a host's export holds only their own visits.

use std::collections::HashMap;

use genkan_e2e::browser::Browser;
use serde_json::{Value, json};

use super::{WebApp, request_id, today_slots};

/// A cell as a spreadsheet must see it: formula-like text gets a leading `'`.
fn neutral(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Clicks the download button of the form posting to `action`, waits for the file,
/// checks the BOM and returns the header and the rows (by their first column).
async fn download_csv(
    browser: &Browser,
    action: &str,
    prefix: &str,
) -> (Vec<String>, HashMap<String, Vec<String>>) {
    browser
        .click(&format!("form[action='{action}'] button[type=submit]"))
        .await;
    let (name, bytes) = browser.download(prefix).await;
    assert!(name.ends_with(".csv"), "{name}");
    let body = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or_else(|| panic!("{name} has no UTF-8 BOM"));
    let mut reader = csv::Reader::from_reader(body);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        rows.insert(record[0].clone(), record);
    }
    (header, rows)
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_downloads_csv_exports_that_match_the_database_and_a_host_only_their_own() {
    let app = WebApp::start("acme").await;
    let password = "quiet lantern mosaic 7391";
    let tanaka = app
        .user("tanaka@acme.example", "田中 一郎", "host", password)
        .await;
    let suzuki = app
        .user("suzuki@acme.example", "Suzuki Jiro", "host", password)
        .await;
    let slots = today_slots(2);
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let own = app
        .appointment(
            app.site_id,
            tanaka,
            "-2+3 budget, \"final\"",
            slots[0],
            json!([
                {"name": "佐藤 花子", "company": "株式会社サンプル, 東京支店", "email": "sato@visitor.example"},
                {"name": formula, "company": "@SUM(A1)", "email": "eve@visitor.example"},
            ]),
        )
        .await;
    let other = app
        .appointment(
            app.site_id,
            suzuki,
            "Beta contract",
            slots[1],
            json!([{"name": "Jane Doe", "company": "Beta Inc", "email": "jane@beta.example"}]),
        )
        .await;
    let kiosk = app.kiosk(app.site_id, "Lobby").await;
    let tokens = [
        &own["passes"][0]["token"],
        &own["passes"][1]["token"],
        &other["passes"][0]["token"],
    ];
    for (n, token) in tokens.iter().enumerate() {
        kiosk
            .check_in(json!({"request_id": request_id(n), "token": token}))
            .await
            .ok();
    }
    kiosk
        .check_out(json!({"request_id": request_id(9), "token": tokens[2]}))
        .await
        .ok();

    let admin = app.admin_browser("ja").await;
    admin.allow_downloads().await;
    admin.goto("/exports").await;

    // Visits: one row per visit in the database, cell for cell.
    let (header, rows) = download_csv(&admin, "/exports/visits.csv", "visits-").await;
    assert_eq!(
        header,
        [
            "visit_id",
            "site",
            "visitor",
            "company",
            "host",
            "method",
            "status",
            "checked_in_at",
            "checked_out_at"
        ]
    );
    let visits = app.api.visits().await.ok();
    let visits = visits.as_array().unwrap();
    assert_eq!((rows.len(), visits.len()), (3, 3), "{rows:?}");
    for v in visits {
        let row = &rows[&s(&v["id"])];
        let expected = [
            s(&v["id"]),
            neutral(&s(&v["site_name"])),
            neutral(&s(&v["visitor_name"])),
            neutral(&s(&v["visitor_company"])),
            neutral(&s(&v["host_name"])),
            s(&v["method"]),
            s(&v["status"]),
            s(&v["checked_in_at_local"]),
            s(&v["checked_out_at_local"]),
        ];
        assert_eq!(row, &expected);
    }
    let cells: Vec<&String> = rows.values().flatten().collect();
    assert!(cells.contains(&&format!("'{formula}")), "{cells:?}");
    assert!(cells.contains(&&"'@SUM(A1)".to_owned()));
    assert!(cells.contains(&&"株式会社サンプル, 東京支店".to_owned()));

    // Appointments.
    let (header, rows) = download_csv(&admin, "/exports/appointments.csv", "appointments-").await;
    assert_eq!(
        header[..5],
        ["appointment_id", "site", "host", "title", "starts_at"]
    );
    let appointments = app.api.get("/api/v1/appointments").await.ok();
    let appointments = appointments.as_array().unwrap();
    assert_eq!((rows.len(), appointments.len()), (2, 2));
    for a in appointments {
        let row = &rows[&s(&a["id"])];
        assert_eq!(row[3], neutral(&s(&a["title"])));
        assert_eq!(row[4], s(&a["starts_at_local"]));
        assert_eq!(row[5], s(&a["ends_at_local"]));
        assert_eq!(row[6], s(&a["status"]));
    }

    // Users.
    let (header, rows) = download_csv(&admin, "/exports/users.csv", "users").await;
    assert_eq!(
        header[..5],
        ["user_id", "email", "display_name", "role", "status"]
    );
    let users = app.api.get("/api/v1/users").await.ok();
    let users = users.as_array().unwrap();
    assert_eq!((rows.len(), users.len()), (3, 3));
    for u in users {
        let row = &rows[&s(&u["id"])];
        let expected = [
            s(&u["email"]),
            neutral(&s(&u["display_name"])),
            s(&u["role"]),
            s(&u["status"]),
        ];
        assert_eq!(row[1..5], expected);
    }
    admin.close().await;

    // A host exports only their own visits, and no users at all.
    let host = app.browser("en").await;
    host.sign_in(&app.org, "tanaka@acme.example", password)
        .await;
    host.allow_downloads().await;
    host.goto("/exports").await;
    assert!(
        host.find_all("form[action='/exports/users.csv']")
            .await
            .is_empty()
    );
    let (_, rows) = download_csv(&host, "/exports/visits.csv", "visits-").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.values().all(|r| r[4] == "田中 一郎"), "{rows:?}");
    host.close().await;
}
