//! INJ-1: sqlmap against every parameter of the admin, kiosk and web requests: 0 injectable.
//!
//! The API requests are enumerated from the OpenAPI document the server serves (every
//! operation, every query and path parameter, every field of every JSON body), so a
//! new endpoint is attacked without touching this file; the web app's search, export
//! and sign-in forms are added by hand. The requests go to sqlmap as Burp-style logs
//! (`-l`): one invocation per round, a round holding at most one request per path
//! (three rounds today), because sqlmap skips a parameter of a path it has tested.
//!
//! The test was checked against a server with a planted injection (the audit search's
//! action filter spliced into the SQL): sqlmap reported it, on the audit export.
//!
//! sqlmap settings, and why:
//! - `--dbms=SQLite`: the store is SQLite (SQLCipher) and nothing else, so payloads
//!   for other engines cannot tell anything; all techniques sqlmap has for SQLite stay
//!   on (boolean-blind, UNION, stacked and time-based heavy queries; it has no
//!   error-based or inline payloads for SQLite).
//! - `--level=3 --risk=2`: more boundaries (quotes, parentheses, comments) and
//!   payloads than the default and the heavy-query time-based tests, at ≈1.3 s per
//!   parameter; risk 3 adds `OR` payloads that on an UPDATE can rewrite every row —
//!   harmless here but it makes later requests meaningless — at three times the
//!   time. Level 3 would also test `User-Agent` and `Referer` on every request;
//!   they are skipped there and attacked once, with a custom marker, on sign-in
//!   (where the user agent is stored with the session), and the session cookie
//!   likewise once on the visit history.
//! - `--ignore-code=401,404`: refusals are pages to compare like any other, not a
//!   reason to stop (sign-in, a refresh token after rotation, an already revoked
//!   kiosk, an unknown pass).
//! - `--skip=csrf`: the CSRF token is compared in constant time, never queried;
//!   tampering with it only gets 403s.

mod report;
mod requests;
mod target;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};

use self::report::read_report;
use self::requests::{api_targets, fixtures, web_targets};
use self::target::{Target, burp_log};
use super::kit::{self, WebSession};
use super::tools;

const INSTALL: &str = "sudo apt-get install sqlmap";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlmap_finds_no_injectable_parameter_in_any_request() {
    let version = tools::require("sqlmap", "--version", INSTALL);
    let started = Instant::now();
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = kit::org(&server, "acme", 1).await;
    let fixtures = fixtures(&server, &acme).await;
    let web = WebSession::sign_in(
        &server.url,
        &acme.slug,
        &acme.admin_email,
        &acme.admin_password,
    )
    .await;
    let document = Api::new(&server.url, None)
        .get("/api/openapi.json")
        .await
        .ok();

    let mut targets = api_targets(&document, &fixtures, &acme);
    targets.extend(web_targets(&server.url, &fixtures, &acme, &web).await);

    // sqlmap remembers each (host, path, place, parameter) it tested and skips it in
    // later requests; requests sharing a path (the pass presentations by token, code
    // or hash, GET and POST of a collection) therefore go to separate rounds, one
    // sqlmap run each, so every one of them is attacked in full.
    let mut rounds: Vec<Vec<Target>> = Vec::new();
    for target in targets {
        let free = rounds.iter().position(|r| {
            r.iter()
                .all(|t| t.without_query() != target.without_query())
        });
        match free {
            Some(i) => rounds[i].push(target),
            None => rounds.push(vec![target]),
        }
    }
    let cookie_names: Vec<&str> = web
        .cookie
        .split(';')
        .filter_map(|c| c.trim().split('=').next())
        .collect();
    let work = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let (mut requests, mut tested, mut techniques) = (0, 0, 0);
    let mut tails = String::new();
    for (i, round) in rounds.iter().enumerate() {
        let dir = work.path().join(format!("round-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let outcome = sqlmap(&server.url, round, &cookie_names, &dir).await;
        problems.extend(outcome.problems);
        requests += round.len();
        tested += outcome.tested;
        techniques += outcome.techniques;
        let _ = writeln!(tails, "--- end of round {i}'s output ---\n{}", outcome.tail);
    }
    let failures = tools::server_failures(&server.log());
    if !failures.is_empty() {
        problems.push(format!(
            "the server logged errors or panics:\n{}",
            failures.join("\n")
        ));
    }
    let kept = if problems.is_empty() {
        String::new()
    } else {
        format!(
            "sqlmap's requests and output are kept in {}",
            work.keep().display()
        )
    };
    assert!(
        problems.is_empty(),
        "{version}: {} problem(s):\n{}\n{tails}\n{kept}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "INJ-1: sqlmap {version}: {requests} requests in {} rounds, {tested} parameters, \
         {techniques} technique tests, 0 injectable, in {:.0?}",
        rounds.len(),
        started.elapsed()
    );
}

/// What one sqlmap run found wrong, and how much it did.
struct Outcome {
    problems: Vec<String>,
    tested: usize,
    techniques: usize,
    tail: String,
}

/// Runs sqlmap once over `targets` (no two on one path), in `dir`.
async fn sqlmap(base: &str, targets: &[Target], cookie_names: &[&str], dir: &Path) -> Outcome {
    let host = base.trim_start_matches("http://");
    let log = dir.join("requests.log");
    std::fs::write(&log, burp_log(host, targets)).unwrap();
    let out_dir = dir.join("sqlmap");
    let mut command = Command::new("sqlmap");
    command
        .arg("-l")
        .arg(&log)
        .args(["--batch", "--ignore-stdin", "--disable-coloring", "-v", "1"])
        .args(["--dbms=SQLite", "--level=3", "--risk=2"])
        .args(["--flush-session", "--skip-waf", "--drop-set-cookie"])
        .args(["--ignore-code=401,404", "--timeout=30", "--retries=1"])
        .arg(format!(
            "--skip=csrf,user-agent,referer,{}",
            cookie_names.join(",")
        ))
        .arg(format!("--output-dir={}", out_dir.display()));
    let (status, output) =
        tools::run_logged_async(command, &dir.join("sqlmap.log"), Duration::from_secs(480)).await;
    let report = read_report(&output);

    let mut problems = Vec::new();
    if status.is_none() {
        problems.push("sqlmap did not finish within 8 minutes".to_owned());
    }
    for line in &report.findings {
        problems.push(format!("sqlmap: {line}"));
    }
    for line in &report.server_errors {
        problems.push(format!("server errors seen by sqlmap: {line}"));
    }
    // Injectable findings also land in the results CSV of multiple-target mode. A row
    // sqlmap itself judged "false positive or unexploitable" (its confirmation queries
    // failed: typically the sign-in form turning to 429 under the per-address limit in
    // the middle of a boolean test) is reported, not counted as an injection.
    for csv in csv_files(&out_dir) {
        let rows = std::fs::read_to_string(&csv).unwrap_or_default();
        for row in rows.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            if row.trim_end().ends_with(",false positive or unexploitable") {
                eprintln!("sqlmap dismissed a heuristic hit itself: {row}");
            } else {
                problems.push(format!("sqlmap results: {row}"));
            }
        }
    }
    // Each request was really attacked, parameter by parameter.
    if report.targets.len() != targets.len() {
        problems.push(format!(
            "sqlmap took {} of the {} requests",
            report.targets.len(),
            targets.len()
        ));
    }
    let mut tested = 0;
    for (target, seen) in targets.iter().zip(&report.targets) {
        if !seen.url.contains(target.without_query()) {
            problems.push(format!(
                "request order: expected {} {}, sqlmap took {}",
                target.method, target.path, seen.url
            ));
            continue;
        }
        let missing: Vec<&String> = target.params.difference(&seen.params).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} {}: parameters not tested: {missing:?} (tested: {:?})",
                target.method, target.path, seen.params
            ));
        }
        tested += seen.params.len();
    }
    let lines: Vec<&str> = output.lines().collect();
    Outcome {
        problems,
        tested,
        techniques: report.techniques,
        tail: lines[lines.len().saturating_sub(40)..].join("\n"),
    }
}

fn csv_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("results-") && n.ends_with(".csv"))
        })
        .collect()
}
