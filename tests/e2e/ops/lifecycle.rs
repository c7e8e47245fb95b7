//! The operator's lifecycle commands against a running server: a contract end
//! recorded by `genkan tenant end` makes the tenant read-only within seconds,
//! `tenant list` shows it, `visitor erase` works, `config check` names backup
//! problems, and the metrics listener answers in the Prometheus format.

use std::time::Duration;

use chrono::Days;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::server::Server;

use super::support::{check_in, genkan, options, passes, tenant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_end_recorded_on_the_command_line_makes_the_tenant_read_only() {
    let server = Server::start(&options("\n[metrics]\nlisten = \"127.0.0.1:0\"\n"));
    let t = tenant(&server, "acme", 1).await;
    let other = tenant(&server, "other", 1).await;
    let tokens = passes(&server.url, &t, 2).await;
    let other_tokens = passes(&server.url, &other, 1).await;
    let http = reqwest::Client::new();
    let (status, visit) = check_in(
        &http,
        &server.url,
        &t.kiosks[0],
        &tokens[0],
        "life-00000001",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);

    let (ok, out, err) = genkan(
        &server.config,
        &[
            "visitor",
            "erase",
            "--tenant",
            "acme",
            "--visitor",
            "999999",
        ],
    );
    assert!(!ok && err.contains("no visitor"), "{out}{err}");
    let api_visits: serde_json::Value = http
        .get(format!("{}/api/v1/visits", server.url))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        api_visits
            .to_string()
            .contains(visit["visitor_name"].as_str().unwrap())
    );

    let yesterday = SystemClock
        .now()
        .date_naive()
        .checked_sub_days(Days::new(2))
        .unwrap()
        .to_string();
    let (ok, out, err) = genkan(
        &server.config,
        &["tenant", "end", "--tenant", "acme", "--date", &yesterday],
    );
    assert!(ok && out.contains("read-only from"), "{out}{err}");
    // The server sees the end within its cache time (two seconds).
    let mut answer = (0, serde_json::Value::Null);
    for _ in 0..50 {
        answer = check_in(
            &http,
            &server.url,
            &t.kiosks[0],
            &tokens[1],
            &format!("life-{:08}", answer.0 + 2),
        )
        .await
        .unwrap();
        if answer.0 == 403 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (answer.0, answer.1["code"].as_str()),
        (403, Some("read_only")),
        "{}",
        answer.1
    );
    let create = http
        .post(format!("{}/api/v1/sites", server.url))
        .bearer_auth(&t.token)
        .json(&serde_json::json!({"name": "Annex", "time_zone": "Asia/Tokyo", "address": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status().as_u16(), 403);
    let (status, _) = check_in(
        &http,
        &server.url,
        &other.kiosks[0],
        &other_tokens[0],
        "life-other-0001",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "the other tenant is not affected");
    let (ok, list, _) = genkan(&server.config, &["tenant", "list"]);
    assert!(
        ok && list
            .lines()
            .any(|l| l.contains("acme") && l.contains("read-only")),
        "{list}"
    );

    // Metrics on their own listener.
    let log = server.log();
    let addr = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["metrics.addr"].as_str().map(str::to_owned))
        .expect("the metrics address is logged");
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("# TYPE genkan_checkin_duration_seconds histogram"),
        "{text}"
    );
    assert!(text.contains("genkan_checkins_total{outcome=\"refused\"}"));
    let main = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_ne!(
        main.status().as_u16(),
        200,
        "metrics are not on the public listener"
    );
}

#[test]
fn config_check_refuses_a_single_backup_destination_and_warns_about_none() {
    let dir = tempfile::tempdir().unwrap();
    let config = genkan_e2e::server::prepare(dir.path(), &options(""));
    let (ok, out, _) = genkan(&config, &["config", "check"]);
    assert!(
        ok && out.contains("warning: backup.destinations is empty"),
        "{out}"
    );
    let one = dir.path().join("one.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &one,
        format!(
            "{text}\n[backup]\ndestinations = [\"/tmp/a\"]\n[lifecycle]\npurge_within_days = 45\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = genkan(&one, &["config", "check"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("at least two") && err.contains("purge_within_days"),
        "{err}"
    );
}
