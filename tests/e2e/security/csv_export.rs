//! CSV-2 and INJ-2 in CSV: every export (visits, appointments, users, audit log, the all-data zip) neutralises cells starting with `= + - @ TAB CR`, and injection payloads come out verbatim as text.
//!
//! `= + - @` reach the exports through the API (names, titles, companies). TAB and CR
//! cannot: every name refuses control characters. They are written into the database
//! directly, through a connection holding the key (as an insider, an old version or a
//! restore could leave them), so the exports are shown to neutralise what is stored,
//! whatever let it in.

use std::io::Read as _;

use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::inert::PAYLOADS;
use genkan_e2e::server::{Server, ServerOptions};
use serde_json::json;

use super::kit::{WebSession, org};

/// One formula per character a spreadsheet reads as the start of one.
const FORMULAS: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 tab",
    "\r=1+1 cr",
];

/// Characters that make a cell a formula.
const LEADING: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A parsed CSV file: its name and every cell of every row (header included).
struct Csv {
    name: String,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn parse(name: &str, bytes: &[u8]) -> Self {
        let body = bytes
            .strip_prefix("\u{feff}".as_bytes())
            .unwrap_or_else(|| panic!("{name} has no BOM"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        Self {
            name: name.to_owned(),
            rows,
        }
    }

    /// How many cells are exactly `cell`.
    fn count(&self, cell: &str) -> usize {
        self.rows.iter().flatten().filter(|c| *c == cell).count()
    }

    /// Cells a spreadsheet would run as a formula.
    fn formulas(&self) -> Vec<String> {
        self.rows
            .iter()
            .flatten()
            .filter(|c| c.starts_with(LEADING))
            .map(|c| format!("{}: {c:?}", self.name))
            .collect()
    }
}

/// Every export an admin can download: the four CSV files and each file of the zip.
async fn every_export(session: &WebSession) -> Vec<Csv> {
    let mut files = Vec::new();
    for path in [
        "/exports/visits.csv",
        "/exports/appointments.csv",
        "/exports/users.csv",
        "/audit/export.csv",
    ] {
        let reply = session.post(path, &[]).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        files.push(Csv::parse(path, &reply.body));
    }
    let reply = session.post("/exports/all.zip", &[]).await;
    assert_eq!(reply.status, 200, "all.zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(reply.body)).unwrap();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push(Csv::parse(
            &format!("all.zip/{}", entry.name().unwrap()),
            &bytes,
        ));
    }
    files
}

fn file<'a>(files: &'a [Csv], name: &str) -> &'a Csv {
    files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// A placeholder stored through the API, replaced in the database by `FORMULAS[i]`.
fn placeholder(i: usize) -> String {
    format!("Placeholder Name {i}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_neutralises_cells_starting_with_each_formula_character() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = org(&server, "acme", 0).await;
    for (i, formula) in FORMULAS.iter().enumerate() {
        let text = if i < 4 {
            (*formula).to_owned()
        } else {
            placeholder(i)
        };
        let email = format!("formula{i}@acme.example");
        let user = acme
            .admin
            .create_user_with_password(&email, &text, "admin", "Blue-Lantern-Orbit-42!")
            .await
            .ok()["id"]
            .clone();
        let site = acme.admin.create_site(&text, "Asia/Tokyo", "").await.ok()["id"]
            .as_i64()
            .unwrap();
        let credential = acme.pair_kiosk(&server.url, site, "Lobby").await;
        let now = SystemClock.now();
        let created = acme
            .admin
            .create_appointment_with_passes(json!({
                "site_id": site, "host_id": user, "title": text,
                "starts_at": now.to_rfc3339(),
                "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "visitors": [{"name": text, "company": text}],
            }))
            .await
            .ok();
        Api::new(&server.url, Some(&credential))
            .check_in(json!({"request_id": format!("csv2-{i:08}"), "token": created["passes"][0]["token"]}))
            .await
            .ok();
    }

    // TAB and CR go in behind the API's back.
    let (dir, config) = server.stop();
    let data = dir.path().join("data");
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("genkan.key")).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(data.join("genkan.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\";",
        keys["database"].as_str().unwrap()
    ))
    .unwrap();
    for (i, formula) in FORMULAS.iter().enumerate().skip(4) {
        for (table, column) in [
            ("users", "display_name"),
            ("sites", "name"),
            ("appointments", "title"),
            ("visitors", "name"),
            ("visitors", "company"),
        ] {
            let changed = conn
                .execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"),
                    (formula, placeholder(i)),
                )
                .unwrap();
            assert_eq!(changed, 1, "{table}.{column} of {i}");
        }
    }
    drop(conn);
    let server = Server::start_in(dir, config);
    // An audit row whose actor is each user: their sign-in.
    for i in 0..FORMULAS.len() {
        let email = format!("formula{i}@acme.example");
        WebSession::sign_in(&server.url, "acme", &email, "Blue-Lantern-Orbit-42!").await;
    }
    let session =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    let files = every_export(&session).await;

    let problems: Vec<String> = files.iter().flat_map(Csv::formulas).collect();
    assert!(
        problems.is_empty(),
        "formula cells:\n{}",
        problems.join("\n")
    );
    // Each formula is there, neutralised, in every column that shows it:
    // (file, cells per formula).
    for (name, cells) in [
        ("/exports/visits.csv", 4),
        ("/exports/appointments.csv", 3),
        ("/exports/users.csv", 1),
        ("/audit/export.csv", 1),
        ("all.zip/users.csv", 1),
        ("all.zip/sites.csv", 1),
        ("all.zip/appointments.csv", 1),
        ("all.zip/visitors.csv", 2),
    ] {
        let csv = file(&files, name);
        for formula in FORMULAS {
            let found = csv.count(&format!("'{formula}"));
            assert!(
                found >= cells,
                "{name}: {formula:?} neutralised {found} times, expected {cells}:\n{:?}",
                csv.rows
            );
            assert_eq!(csv.count(formula), 0, "{name}: {formula:?} raw");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_payloads_come_out_of_every_export_verbatim_and_never_as_formulas() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = org(&server, "acme", 1).await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        assert!(!payload.starts_with(LEADING), "{payload:?}");
        let created = acme
            .appointment_at(
                acme.site_id,
                SystemClock.now(),
                payload,
                json!([{"name": payload, "company": payload}]),
            )
            .await;
        acme.kiosks[0]
            .check_in(json!({"request_id": format!("inj2-{i:08}"), "token": created["passes"][0]["token"]}))
            .await
            .ok();
    }
    let session =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    let files = every_export(&session).await;
    let problems: Vec<String> = files.iter().flat_map(Csv::formulas).collect();
    assert!(
        problems.is_empty(),
        "formula cells:\n{}",
        problems.join("\n")
    );
    // Text in, the same text out: not escaped, not decoded, not cut.
    for (name, cells) in [
        ("/exports/visits.csv", 2),
        ("/exports/appointments.csv", 1),
        ("all.zip/appointments.csv", 1),
        ("all.zip/visitors.csv", 2),
    ] {
        let csv = file(&files, name);
        for payload in PAYLOADS {
            assert!(
                csv.count(payload) >= cells,
                "{name}: {payload:?} not verbatim in {cells} cells"
            );
        }
    }
}
