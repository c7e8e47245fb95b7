//! OPS-1, one writer: while the real server takes as many check-ins as it can
//! (the `genkan-load` benchmark tool, closed loop: 32 kiosks sending back to back),
//! `genkan backup now`, `genkan tenant end` and `genkan visitor erase` run beside it.
//! The server carries them out itself: no command process ever opens the database;
//! every check-in is acknowledged and stored, none is answered busy; each command
//! prints what it always prints; and the contract end holds from the very next
//! request. (A debug build spends about 2 ms of CPU per check-in, so on two cores it
//! saturates below 1,000/s; a release build takes over 7,000/s: BENCHMARKS.md.)

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::binaries;
use genkan_e2e::server::Server;
use serde_json::{Value, json};

use super::support::{backup_toml, check_in, genkan, options, passes, tenant};

/// Seconds of load, kiosks sending at once, and passes prepared (more than a debug
/// build gets through in that time: the load lasts the whole time).
const SECONDS: u64 = 12;
const CLIENTS: usize = 32;
const PASSES: usize = 20_000;

/// With `E2E_ONE_WRITER_RATE=N` (for a release build: `GENKAN_BIN`,
/// `GENKAN_LOAD_BIN`) the load is an open loop at N check-ins/s instead, and at least
/// 95 % of them must be acknowledged in time; passes are prepared for all of them.
fn fixed_rate() -> Option<u64> {
    std::env::var("E2E_ONE_WRITER_RATE").ok().map(|r| {
        r.parse()
            .expect("E2E_ONE_WRITER_RATE is a number of check-ins/s")
    })
}

/// A finished operator command.
struct Ran {
    ok: bool,
    out: String,
    err: String,
    /// Whether the command's process ever had the database (or its WAL) open.
    opened_database: bool,
}

fn drain(mut from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = from.read_to_string(&mut text);
        text
    })
}

/// Whether the process whose descriptors are in `fds` has a `genkan.db*` file of
/// `data` open.
fn holds_database(fds: &Path, data: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(fds) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|target| {
            target.starts_with(data)
                && target
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("genkan.db"))
        })
}

/// Runs `genkan <args> --config <config>`, looking at its open files every few
/// milliseconds until it ends.
async fn run_watched(config: PathBuf, data: PathBuf, args: Vec<String>) -> Ran {
    let mut child = binaries::genkan_command()
        .args(&args)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let mut opened_database = false;
    let status = loop {
        opened_database |= holds_database(&fds, &data);
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    Ran {
        ok: status.success(),
        out: out.join().unwrap(),
        err: err.join().unwrap(),
        opened_database,
    }
}

/// The `visits` column of `slug`'s row in `genkan tenant list`.
fn visits_of(config: &Path, slug: &str) -> i64 {
    let (ok, list, err) = genkan(config, &["tenant", "list"]);
    assert!(ok, "{list}{err}");
    let row = list
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(slug))
        .unwrap_or_else(|| panic!("no {slug} in\n{list}"));
    // Columns: id 5, slug 20, name 30, users 6, visits 9, one space between.
    row[65..74].trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_tenant_end_and_visitor_erase_beside_a_saturating_check_in_load_lose_nothing() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Server::start(&options(&backup_toml(&[a.path(), b.path()])));
    let data = server.dir.path().join("data").canonicalize().unwrap();
    let acme = tenant(&server, "acme", 1).await;
    let ending = tenant(&server, "ending", 1).await;
    let ending_passes = passes(&server.url, &ending, 2).await;
    let http = reqwest::Client::new();
    let (status, _) = check_in(
        &http,
        &server.url,
        &ending.kiosks[0],
        &ending_passes[0],
        "ending-before-0001",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);

    // A visitor who came earlier and asks to be erased.
    let now = SystemClock.now();
    let made = Api::new(&server.url, Some(&acme.token))
        .create_appointment_with_passes(json!({
            "site_id": acme.site_id, "host_id": acme.admin_id, "title": "Earlier",
            "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "visitors": [{"name": "Erase Me"}],
        }))
        .await
        .ok();
    let pass = &made["passes"][0];
    let (status, _) = check_in(
        &http,
        &server.url,
        &acme.kiosks[0],
        pass["token"].as_str().unwrap(),
        "erase-me-000001",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let visitor = pass["visitor_id"].as_i64().unwrap().to_string();
    let before = visits_of(&server.config, "acme");
    assert_eq!(before, 1);

    // The load: passes and kiosks prepared through the admin API, then a closed loop.
    let rate = fixed_rate();
    let passes = rate.map_or(PASSES, |r| usize::try_from(r * SECONDS * 3 / 2).unwrap());
    let mut load = Command::new(binaries::load());
    load.args(["--url", &server.url, "--token", &acme.token])
        .args(["--duration", &SECONDS.to_string()])
        .args(["--passes", &passes.to_string()])
        .args(["--concurrency", &CLIENTS.to_string(), "--kiosks", "16"]);
    if let Some(r) = rate {
        load.args(["--rate", &r.to_string()]);
    }
    let mut load = load
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let report = drain(load.stdout.take().unwrap());
    let (running_tx, running) = std::sync::mpsc::channel();
    let stderr = load.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("running for") {
                let _ = running_tx.send(Instant::now());
            }
        }
    });
    let started =
        tokio::task::spawn_blocking(move || running.recv_timeout(Duration::from_secs(600)))
            .await
            .unwrap()
            .expect("genkan-load prepared its passes and started");

    // Two seconds in, the three commands at once.
    tokio::time::sleep_until((started + Duration::from_secs(2)).into()).await;
    let two_days_ago = now
        .date_naive()
        .checked_sub_days(chrono::Days::new(2))
        .unwrap()
        .to_string();
    let command = |args: &[&str]| {
        let args = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::spawn(run_watched(server.config.clone(), data.clone(), args))
    };
    let backup = command(&["backup", "now"]);
    let end = command(&[
        "tenant",
        "end",
        "--tenant",
        "ending",
        "--date",
        &two_days_ago,
    ]);
    let erase = command(&[
        "visitor",
        "erase",
        "--tenant",
        "acme",
        "--visitor",
        &visitor,
    ]);

    let end = end.await.unwrap();
    let mut under_load = vec![("tenant end", load.try_wait().unwrap().is_none())];
    assert!(
        end.ok
            && end.out.starts_with("ending: contract ends")
            && end.out.contains("read-only from"),
        "{}{}",
        end.out,
        end.err
    );
    // The server itself recorded the end: its very next request sees it.
    let (status, body) = check_in(
        &http,
        &server.url,
        &ending.kiosks[0],
        &ending_passes[1],
        "ending-after-0001",
    )
    .await
    .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("read_only")),
        "{body}"
    );

    let erase = erase.await.unwrap();
    under_load.push(("visitor erase", load.try_wait().unwrap().is_none()));
    assert!(
        erase.ok
            && erase.out.starts_with(&format!(
                "erased visitor {visitor} of acme: 1 visits kept without identity, "
            )),
        "{}{}",
        erase.out,
        erase.err
    );
    let backup = backup.await.unwrap();
    assert!(
        backup.ok && backup.out.contains("\"drill_ok\": true"),
        "{}{}",
        backup.out,
        backup.err
    );
    assert!(
        backup.err.contains("copying pages")
            && backup.err.contains("running the restore drill… done"),
        "progress as always: {}",
        backup.err
    );
    for (name, ran) in [
        ("backup now", &backup),
        ("tenant end", &end),
        ("visitor erase", &erase),
    ] {
        assert!(
            !ran.opened_database,
            "`genkan {name}` opened the database beside the running server"
        );
        assert!(!format!("{}{}", ran.out, ran.err).contains("busy"));
    }
    // The writes were made under load. (The backup, paced to leave the server
    // first, started under load too and may outlast it.)
    for (name, running) in under_load {
        assert!(running, "the load ended before `genkan {name}` finished");
    }

    let status = tokio::task::spawn_blocking(move || load.wait())
        .await
        .unwrap()
        .unwrap();
    let report = report.join().unwrap();
    assert!(status.success(), "genkan-load failed: {report}");
    eprintln!("genkan-load: {report}");
    let report: Value = serde_json::from_str(report.trim()).unwrap();
    let requests = report["requests"].as_u64().unwrap();
    // A stream all along (the passes never ran out), at whatever rate this machine
    // gives the build under test.
    assert!(
        requests < passes as u64 && requests >= rate.map_or(300, |r| r * SECONDS * 95 / 100),
        "{requests} check-ins in {SECONDS} s: {report}"
    );
    assert_eq!(
        report["outcomes"],
        json!({"ok": requests}),
        "every check-in acknowledged, none busy or failed: {report}"
    );

    // Every acknowledged check-in is in the database (the erased visitor's visit is
    // kept without identity).
    let acknowledged = i64::try_from(requests).unwrap();
    assert_eq!(visits_of(&server.config, "acme"), before + acknowledged);
    let (ok, out, err) = genkan(&server.config, &["audit", "verify"]);
    assert!(ok && out.starts_with("audit log ok"), "{out}{err}");
}
