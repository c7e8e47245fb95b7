//! The kiosk without its server, end to end: the real `genkan` server and the real
//! `genkan-kiosk` binary (its `sync`, `checkin --offline-ok` and `journal`
//! subcommands run the same offline desk as the kiosk window). Roster synced, server
//! stopped, visitors checked in offline by QR code (a pass used twice is refused; a
//! typed code is refused kindly: only the server checks codes), server restarted on
//! the same data, journal replayed: every visit recorded once with its real arrival
//! time, and the host alerted. Also the walk-in API: host search from
//! three characters, at most five names of the kiosk's own tenant, idempotent walk-ins.

use chrono::{DateTime, Duration, Utc};
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::{Value, json};

use crate::support::{kiosk_json, mails_to};

/// Visitors checked in while the server is down.
const OFFLINE: usize = 6;

struct Setup {
    api: Api,
    site_id: i64,
    host_id: i64,
    pairing_code: String,
}

async fn setup(server: &Server, slug: &str, host: &str) -> Setup {
    let tenant = server.create_tenant(slug);
    let site_id = tenant["site_id"].as_i64().unwrap();
    let token = server.create_token(slug, &format!("admin@{slug}.example"), "admin");
    let api = Api::new(&server.url, Some(&token));
    let host = api
        .create_user(&format!("host@{slug}.example"), host, "host")
        .await
        .ok();
    let kiosk = api.create_kiosk(site_id, "Lobby").await.ok();
    Setup {
        api,
        site_id,
        host_id: host["id"].as_i64().unwrap(),
        pairing_code: kiosk["pairing_code"].as_str().unwrap().to_owned(),
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_check_ins_are_journaled_then_replayed_once_each_with_their_real_arrival_times() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let s = setup(&server, "acme", "Tanaka Ichiro").await;
    let now = SystemClock.now();
    let visitors: Vec<Value> = (0..=OFFLINE)
        .map(|i| json!({"name": format!("Visitor {i}"), "locale": if i % 2 == 0 { "ja" } else { "en" }}))
        .collect();
    let appointment = s
        .api
        .create_appointment_with_passes(json!({
            "site_id": s.site_id, "host_id": s.host_id, "title": "Offline day",
            "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(1)).to_rfc3339(),
            "visitors": visitors,
        }))
        .await
        .ok();
    let passes = appointment["passes"].as_array().unwrap().clone();
    assert_eq!(passes.len(), OFFLINE + 1);

    // Paired and synced while the server is there.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("kiosk").display().to_string();
    let (status, paired) = kiosk_json(&[
        "pair",
        "--server",
        &server.url,
        "--code",
        &s.pairing_code,
        "--config-dir",
        &dir,
    ]);
    assert_eq!(status, 0, "{paired}");
    let (status, synced) = kiosk_json(&["sync", "--config-dir", &dir]);
    assert_eq!(status, 0, "{synced}");
    assert_eq!(synced["roster_passes"], OFFLINE + 1);
    assert_eq!(synced["journal_length"], 0);
    let roster_file = work.path().join("kiosk/roster.bin");
    let sealed = std::fs::read(&roster_file).unwrap();
    assert!(
        !sealed.windows(7).any(|w| w == b"Visitor"),
        "the roster is encrypted at rest"
    );

    // A visitor registered after the last sync is not in the kiosk's roster.
    let late = s
        .api
        .create_appointment_with_passes(json!({
            "site_id": s.site_id, "host_id": s.host_id,
            "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(1)).to_rfc3339(),
            "visitors": [{"name": "Late Registration"}],
        }))
        .await
        .ok();
    let stranger = late["passes"][0]["token"].as_str().unwrap().to_owned();

    // The server goes away.
    let dead_url = server.url.clone();
    let (data, config) = server.stop();

    // A visitor types their code: offline it cannot be checked (the roster holds no
    // code verifier), so they are told to scan or go to the desk; nothing journaled.
    let (status, typed) = kiosk_json(&[
        "checkin",
        "--server",
        &dead_url,
        "--code",
        passes[1]["code"].as_str().unwrap(),
        "--offline-ok",
        "--config-dir",
        &dir,
    ]);
    assert_eq!(
        (status, typed["code"].as_str()),
        (2, Some("code_needs_connection")),
        "{typed}"
    );
    assert_eq!(typed["journal_length"], 0);

    // Visitors arrive and scan their QR code.
    let mut arrivals = Vec::new();
    for (i, pass) in passes.iter().take(OFFLINE).enumerate() {
        let (flag, value) = ("--token", pass["token"].as_str().unwrap());
        let (status, welcome) = kiosk_json(&[
            "checkin",
            "--server",
            &dead_url,
            flag,
            value,
            "--offline-ok",
            "--config-dir",
            &dir,
        ]);
        assert_eq!(status, 0, "visitor {i}: {welcome}");
        assert_eq!(welcome["offline"], true);
        assert_eq!(welcome["visitor_name"], format!("Visitor {i}"));
        assert_eq!(welcome["host_name"], "Tanaka Ichiro");
        assert_eq!(welcome["host_reachable"], true, "mail goes out to the host");
        assert_eq!(welcome["journal_length"], i + 1);
        arrivals.push((
            welcome["request_id"].as_str().unwrap().to_owned(),
            time(&welcome["offline_at"]),
        ));
    }
    // A pass used offline is refused the second time.
    let (status, again) = kiosk_json(&[
        "checkin",
        "--server",
        &dead_url,
        "--token",
        passes[0]["token"].as_str().unwrap(),
        "--offline-ok",
        "--config-dir",
        &dir,
    ]);
    assert_eq!(
        (status, again["code"].as_str()),
        (2, Some("already_inside")),
        "{again}"
    );
    // A pass the roster does not know is refused too.
    let (status, unknown) = kiosk_json(&[
        "checkin",
        "--server",
        &dead_url,
        "--token",
        &stranger,
        "--offline-ok",
        "--config-dir",
        &dir,
    ]);
    assert_eq!(
        (status, unknown["code"].as_str()),
        (2, Some("pass_unknown"))
    );
    let (_, held) = kiosk_json(&["journal", "--config-dir", &dir]);
    assert_eq!(
        held["journal_length"], OFFLINE,
        "all journaled, refusals not"
    );
    let journal_file = work.path().join("kiosk/journal.jsonl");
    let journal_copy = std::fs::read(&journal_file).unwrap();
    assert!(
        !String::from_utf8_lossy(&journal_copy).contains("Visitor"),
        "the journal holds no names"
    );

    // The server comes back on the same data (at a new address).
    let server = Server::start_in(data, config);
    let (status, replay) = kiosk_json(&["sync", "--server", &server.url, "--config-dir", &dir]);
    assert_eq!(status, 0, "{replay}");
    let replayed = replay["replayed"].as_array().unwrap();
    assert_eq!(replayed.len(), OFFLINE, "{replay}");
    assert_eq!(replay["refused"], json!([]));
    assert_eq!(
        replay["host_not_reached"],
        json!([]),
        "the host was reached each time"
    );
    assert_eq!(replay["journal_length"], 0);
    for ((request_id, _), done) in arrivals.iter().zip(replayed) {
        assert_eq!(done[0], request_id.as_str(), "replayed in order");
    }
    assert!(!journal_file.exists(), "the empty journal is deleted");

    // Exactly one visit per offline check-in, at the real arrival time.
    let token = server.create_token("acme", "admin@acme.example", "admin");
    let api = Api::new(&server.url, Some(&token));
    let check = || async {
        let visits = api.visits().await.ok();
        let visits = visits.as_array().unwrap().clone();
        assert_eq!(visits.len(), OFFLINE, "0 lost, 0 duplicates: {visits:?}");
        for (i, (_, at)) in arrivals.iter().enumerate() {
            let visit = visits
                .iter()
                .find(|v| v["visitor_name"] == format!("Visitor {i}"))
                .unwrap_or_else(|| panic!("no visit of Visitor {i}"));
            assert_eq!(visit["method"], "offline");
            let recorded = time(&visit["checked_in_at"]);
            assert!(
                (recorded - *at).num_milliseconds().abs() < 1,
                "Visitor {i} arrived at {at}, recorded {recorded}"
            );
        }
    };
    check().await;

    // A kiosk that crashed before deleting its journal replays it again: same visits.
    std::fs::write(&journal_file, &journal_copy).unwrap();
    let (status, again) = kiosk_json(&["sync", "--config-dir", &dir, "--server", &server.url]);
    assert_eq!(status, 0, "{again}");
    let first: Vec<_> = replayed.iter().map(|r| r[1].clone()).collect();
    let second: Vec<_> = again["replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(
        first, second,
        "the server answers each replay with the same visit"
    );
    check().await;

    // The host hears of every arrival once the journal is replayed.
    let mails = mails_to(&smtp, "host@acme.example", OFFLINE).await;
    assert_eq!(mails.len(), OFFLINE);
    // Back online, the last visitor checks in normally, and the roster was refreshed.
    let (status, online) = kiosk_json(&[
        "checkin",
        "--server",
        &server.url,
        "--token",
        passes[OFFLINE]["token"].as_str().unwrap(),
        "--offline-ok",
        "--config-dir",
        &dir,
    ]);
    assert_eq!(status, 0, "{online}");
    assert!(online.get("offline").is_none(), "{online}");
    assert!(online["visit_id"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_ins_find_their_host_by_three_letters_among_five_names_of_their_own_company() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let s = setup(&server, "acme", "Tanaka Ichiro").await;
    let other = setup(&server, "other", "Tanaka Zeta").await;
    for i in 0..7 {
        s.api
            .create_user(
                &format!("t{i}@acme.example"),
                &format!("Tanaka Staff {i}"),
                "host",
            )
            .await
            .ok();
    }
    let paired = s.api.pair_kiosk(&s.pairing_code, "lobby").await.ok();
    let kiosk = Api::new(&server.url, paired["credential"].as_str());
    let other_paired = other
        .api
        .pair_kiosk(&other.pairing_code, "lobby")
        .await
        .ok();
    let other_kiosk = Api::new(&server.url, other_paired["credential"].as_str());

    let short = kiosk.get("/api/kiosk/v1/hosts?q=Ta").await;
    assert_eq!((short.status.as_u16(), short.code()), (422, "validation"));
    let spaced = kiosk.get("/api/kiosk/v1/hosts?q=T%20a").await;
    assert_eq!(spaced.status.as_u16(), 422, "spaces do not count");
    let found = kiosk.get("/api/kiosk/v1/hosts?q=tanaka").await.ok();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 5, "at most five: {found:?}");
    for m in found {
        assert!(m["name"].as_str().unwrap().starts_with("Tanaka"));
        assert_eq!(m.as_object().unwrap().len(), 2, "id and display name only");
    }
    let zeta = kiosk.get("/api/kiosk/v1/hosts?q=Zeta").await.ok();
    assert_eq!(zeta, json!([]), "another company's staff never appear");
    let theirs = other_kiosk.get("/api/kiosk/v1/hosts?q=Tanaka").await.ok();
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    let anonymous = Api::new(&server.url, None)
        .get("/api/kiosk/v1/hosts?q=Tanaka")
        .await;
    assert_eq!(anonymous.status.as_u16(), 401);

    let ichiro = kiosk.get("/api/kiosk/v1/hosts?q=Ichiro").await.ok();
    assert_eq!(ichiro[0]["id"], s.host_id);
    let walk_in = json!({
        "request_id": "walkin-0000001", "name": "John Smith", "company": "Contoso",
        "host_id": s.host_id, "locale": "en",
    });
    let first = kiosk
        .post("/api/kiosk/v1/walk-in", walk_in.clone())
        .await
        .ok();
    assert_eq!(first["visitor_name"], "John Smith");
    assert_eq!(first["host_name"], "Tanaka Ichiro");
    let again = kiosk.post("/api/kiosk/v1/walk-in", walk_in).await.ok();
    assert_eq!(
        again["visit_id"], first["visit_id"],
        "idempotent per request id"
    );
    let visits = s.api.visits().await.ok();
    assert_eq!(visits.as_array().unwrap().len(), 1);
    mails_to(&smtp, "host@acme.example", 1).await;
    let foreign_host = kiosk
        .post(
            "/api/kiosk/v1/walk-in",
            json!({"request_id": "walkin-0000002", "name": "Jane", "host_id": other.host_id}),
        )
        .await;
    assert_eq!(
        (foreign_host.status.as_u16(), foreign_host.code()),
        (422, "validation")
    );
    let nameless = kiosk
        .post(
            "/api/kiosk/v1/walk-in",
            json!({"request_id": "walkin-0000003", "name": " ", "host_id": s.host_id}),
        )
        .await;
    assert_eq!(nameless.status.as_u16(), 422);

    // The heartbeat is accepted and the logo is "none yet".
    let beat = kiosk
        .post(
            "/api/kiosk/v1/heartbeat",
            json!({"version": "0.1.0", "camera": "ok", "journal_length": 0}),
        )
        .await;
    assert_eq!(beat.status.as_u16(), 204);
    assert_eq!(kiosk.get("/api/kiosk/v1/logo").await.status.as_u16(), 404);
    let config = kiosk.get("/api/kiosk/v1/config").await.ok();
    assert_eq!(config["walk_in"]["enabled"], true);

    // Searching the staff directory is limited per kiosk: 60 a minute in all.
    let mut answers = Vec::new();
    for _ in 0..70 {
        answers.push(
            kiosk
                .get("/api/kiosk/v1/hosts?q=Tanaka")
                .await
                .status
                .as_u16(),
        );
    }
    let limited = answers
        .iter()
        .position(|&s| s == 429)
        .expect("limit engages");
    assert!(
        limited <= 60,
        "limited after {limited} searches in this test"
    );
    assert!(answers[limited..].iter().all(|&s| s == 429), "{answers:?}");
    let theirs = other_kiosk.get("/api/kiosk/v1/hosts?q=Tanaka").await;
    assert_eq!(theirs.status.as_u16(), 200, "other kiosks are not affected");
}
