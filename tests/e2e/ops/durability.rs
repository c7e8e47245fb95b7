//! DUR-1 and DUR-2: a SIGKILL in the middle of a stream of check-ins loses none that
//! were acknowledged and leaves the database intact; a full disk (ENOSPC injected
//! into the server's file writes with strace) gives clean errors, never an
//! acknowledgement that was not stored, and the server recovers afterwards.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genkan_e2e::server::{Server, prepare, read_listen_line};

use super::support::{Tenant, backup_toml, check_in, genkan, options, passes, tenant};

/// Sends check-ins for `tokens` from 16 clients until they run out or the server
/// goes away; returns the tokens acknowledged with 200. Kills the server (SIGKILL)
/// once `kill_after` were acknowledged. Request ids are unique per round (a kiosk's
/// repeated request id is answered with the first answer, by design).
async fn stream_then_kill(
    server: &mut Server,
    t: &Tenant,
    tokens: Vec<String>,
    kill_after: usize,
    round: usize,
) -> Vec<String> {
    let queue = Arc::new(Mutex::new(tokens));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (queue, acked, count) = (Arc::clone(&queue), Arc::clone(&acked), Arc::clone(&count));
        let (url, kiosk) = (server.url.clone(), t.kiosks[c % t.kiosks.len()].clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut n = 0;
            loop {
                let Some(token) = queue.lock().unwrap().pop() else {
                    return;
                };
                n += 1;
                match check_in(
                    &http,
                    &url,
                    &kiosk,
                    &token,
                    &format!("dur-{round}-{c:02}-{n:06}"),
                )
                .await
                {
                    Some((200, _)) => {
                        acked.lock().unwrap().push(token);
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    Some((status, body)) => panic!("unexpected answer {status}: {body}"),
                    None => return, // the server is gone
                }
            }
        }));
    }
    let killed = genkan_e2e::eventually(Duration::from_secs(60), || {
        (count.load(Ordering::SeqCst) >= kill_after).then_some(())
    })
    .await;
    assert!(killed.is_some(), "check-ins did not get going");
    server.kill();
    for c in clients {
        c.await.unwrap();
    }
    acked.lock().unwrap().clone()
}

/// Every acknowledged pass is inside: a new check-in with it says so.
async fn assert_all_inside(base: &str, t: &Tenant, acked: &[String], round: &str) {
    let http = reqwest::Client::new();
    let mut lost = Vec::new();
    for (i, token) in acked.iter().enumerate() {
        let (status, body) = check_in(
            &http,
            base,
            &t.kiosks[0],
            token,
            &format!("verify-{round}-{i:07}"),
        )
        .await
        .unwrap();
        if !(status == 409 && body["code"] == "already_inside") {
            lost.push((status, body));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged check-ins lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_stream_of_check_ins_loses_none_that_were_acknowledged() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut server = Server::start(&options(&backup_toml(&[a.path(), b.path()])));
    let t = tenant(&server, "acme", 4).await;
    let mut total = 0;
    for round in 0..3 {
        let tokens = passes(&server.url, &t, 400).await;
        let acked = stream_then_kill(&mut server, &t, tokens, 60 + round * 40, round).await;
        total += acked.len();
        let (dir, config) = server.stop();
        server = Server::start_in(dir, config);
        assert_all_inside(&server.url, &t, &acked, &round.to_string()).await;
        // Integrity: the audit chains verify, and a backup's restore drill
        // (integrity_check, row counts, chains on a copy of every page) passes.
        let (ok, out, err) = genkan(&server.config, &["audit", "verify"]);
        assert!(ok, "round {round}: {out}{err}");
        let (ok, out, err) = genkan(&server.config, &["backup", "now"]);
        assert!(
            ok && out.contains("\"drill_ok\": true"),
            "round {round}: {out}{err}"
        );
    }
    assert!(
        total >= 180,
        "{total} check-ins acknowledged over three rounds"
    );
}

/// Starts `genkan serve` under strace, which makes every `pwrite64` of each thread
/// after its first `ok_writes` fail with ENOSPC (a full disk). `-D` keeps the
/// server as our direct child, so killing it ends the run.
fn serve_with_full_disk(
    dir: &Path,
    config: &Path,
    ok_writes: usize,
) -> (std::process::Child, String) {
    let log_path = dir.join("server-enospc.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("strace")
        .args([
            "-D",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=pwrite64",
            "-e",
        ])
        .arg(format!(
            "inject=pwrite64:error=ENOSPC:when={}+",
            ok_writes + 1
        ))
        .arg(genkan_e2e::binaries::genkan())
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let url = read_listen_line(&mut child, &log_path);
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_clean_errors_and_no_false_acknowledgements_and_recovers() {
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is needed for the disk-full test (tests/run-all.sh installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(dir.path(), &options(""));
    let server = Server::start_in(dir, config);
    let t = tenant(&server, "acme", 1).await;
    let tokens = passes(&server.url, &t, 60).await;
    let (dir, config) = server.stop();

    let (mut child, url) = serve_with_full_disk(dir.path(), &config, 200);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for (i, token) in tokens.iter().enumerate() {
        let (status, body) = check_in(&http, &url, &t.kiosks[0], token, &format!("full-{i:05}"))
            .await
            .expect("the server stays up");
        match status {
            200 => acked.push(token.clone()),
            503 => {
                assert_eq!(body["code"], "unavailable", "{body}");
                refused.push(token.clone());
            }
            other => panic!("unclean answer {other}: {body}"),
        }
    }
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(
        health.status().as_u16(),
        200,
        "alive while the disk is full"
    );
    eprintln!(
        "disk full: {} acknowledged, {} refused",
        acked.len(),
        refused.len()
    );
    assert!(
        !refused.is_empty(),
        "the injected ENOSPC reached the database writes"
    );
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("server-enospc.log")).unwrap_or_default();
    assert!(log.contains("disk full"), "the operator is told: {log}");

    // Disk space is back: a normal start recovers; acknowledged check-ins are there,
    // refused ones are not (they check in now).
    let server = Server::start_in(dir, config);
    assert_all_inside(&server.url, &t, &acked, "full").await;
    for (i, token) in refused.iter().enumerate() {
        let (status, body) = check_in(
            &http,
            &server.url,
            &t.kiosks[0],
            token,
            &format!("again-{i:05}"),
        )
        .await
        .unwrap();
        assert_eq!(
            status, 200,
            "a refused check-in must not have been stored: {body}"
        );
    }
    let (ok, out, err) = genkan(&server.config, &["audit", "verify"]);
    assert!(ok, "{out}{err}");
}
