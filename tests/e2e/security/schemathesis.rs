//! API-4: schemathesis over the whole OpenAPI document, as a kiosk and as an admin: 0 server errors, 0 stack traces in bodies, every answer as documented.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use serde_json::{Value, json};

use super::kit;
use super::tools;

const INSTALL: &str = "python3 -m pip install schemathesis";

/// The checks every answer must pass: no 5xx, and the status, content type and body
/// are the ones the document gives for the operation.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// Which paths of a prefix a run takes, by their ending.
#[derive(Clone, Copy)]
enum Ending {
    Any,
    Not(&'static str),
    Only(&'static str),
}

/// One schemathesis run: the operations whose path starts with one of `prefixes`
/// and ends as `ending` says, called with `bearer`.
struct Run {
    name: &'static str,
    prefixes: &'static [&'static str],
    ending: Ending,
    bearer: String,
    max_examples: u32,
}

impl Run {
    fn selects(&self, path: &str) -> bool {
        self.prefixes.iter().any(|p| path.starts_with(p))
            && match self.ending {
                Ending::Any => true,
                Ending::Not(s) => !path.ends_with(s),
                Ending::Only(s) => path.ends_with(s),
            }
    }

    /// The same selection as `--include-path-regex` / `--exclude-path-regex` arguments.
    fn filter_args(&self) -> Vec<String> {
        let prefixes = self
            .prefixes
            .iter()
            .map(|p| p.replace('.', "\\."))
            .collect::<Vec<_>>()
            .join("|");
        match self.ending {
            Ending::Any => vec!["--include-path-regex".into(), format!("^({prefixes})")],
            Ending::Not(s) => vec![
                "--include-path-regex".into(),
                format!("^({prefixes})"),
                "--exclude-path-regex".into(),
                format!("{s}$"),
            ],
            Ending::Only(s) => vec![
                "--include-path-regex".into(),
                format!("^({prefixes}).*{s}$"),
            ],
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_no_stack_trace_and_no_undocumented_answer() {
    let version = tools::require("schemathesis", "--version", INSTALL);
    let started = Instant::now();
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = kit::org(&server, "acme", 1).await;
    // Something for the readers to find: passes, one visitor inside, a kiosk heartbeat.
    let passes = acme.passes_now(&["Sato Hanako", "Suzuki Ichiro"]).await;
    acme.kiosks[0]
        .check_in(json!({"request_id": "schemathesis-seed-01", "token": passes[0].0}))
        .await
        .ok();
    acme.kiosks[0]
        .post(
            "/api/kiosk/v1/heartbeat",
            json!({"version": "1.0.0", "camera": "ok", "journal_length": 0}),
        )
        .await;
    let document = Api::new(&server.url, None)
        .get("/api/openapi.json")
        .await
        .ok();
    let work = tempfile::tempdir().unwrap();

    let runs = [
        Run {
            name: "kiosk",
            prefixes: &["/api/kiosk/", "/healthz", "/readyz"],
            ending: Ending::Any,
            bearer: acme.kiosk_credentials[0].clone(),
            max_examples: 100,
        },
        Run {
            name: "admin",
            prefixes: &["/api/v1/"],
            ending: Ending::Not("/revoke"),
            bearer: acme.token.clone(),
            max_examples: 150,
        },
        // Last: these may revoke the very token and kiosk the runs above used.
        Run {
            name: "revocations",
            prefixes: &["/api/v1/"],
            ending: Ending::Only("/revoke"),
            bearer: acme.token.clone(),
            max_examples: 30,
        },
    ];
    let mut problems = Vec::new();
    for run in &runs {
        problems.extend(schemathesis(&server.url, &document, run, work.path()).await);
    }
    let failures = tools::server_failures(&server.log());
    assert!(
        failures.is_empty(),
        "the server logged errors or panics during the runs:\n{}",
        failures.join("\n")
    );
    assert!(
        problems.is_empty(),
        "{version}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "API-4: {version}, {} runs in {:.0?}",
        runs.len(),
        started.elapsed()
    );
}

/// Runs schemathesis for `run`; returns what went wrong.
async fn schemathesis(base: &str, document: &Value, run: &Run, work: &Path) -> Vec<String> {
    let reports = work.join(run.name);
    let mut command = Command::new("schemathesis");
    // Its example database (`.schemathesis/`) goes to the run's own folder.
    command
        .current_dir(work)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--url", base])
        .args(["--header", &format!("Authorization: Bearer {}", run.bearer)])
        .args(run.filter_args())
        .args(["--checks", CHECKS])
        .args(["--max-examples", &run.max_examples.to_string()])
        .args(["--workers", "2", "--no-shrink", "--request-timeout", "30"])
        .args(["--report", "har", "--report-dir"])
        .arg(&reports)
        .args(["--output-truncate", "true"]);
    if let Ok(seed) = std::env::var("GENKAN_SCHEMATHESIS_SEED") {
        command.args(["--seed", &seed]);
    }
    let started = Instant::now();
    let (status, output) = tools::run_logged_async(
        command,
        &work.join(format!("{}.log", run.name)),
        Duration::from_secs(240),
    )
    .await;
    let seed = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Seed: "))
        .unwrap_or("?")
        .to_owned();
    let mut problems = Vec::new();
    if !status.is_some_and(|s| s.success()) {
        problems.push(format!(
            "[{}] schemathesis exited with {status:?} (seed {seed}; rerun with \
             GENKAN_SCHEMATHESIS_SEED={seed}):\n{output}",
            run.name
        ));
    }

    let har = std::fs::read_dir(&reports)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"));
    let Some(har) = har else {
        problems.push(format!("[{}] no HAR report was written", run.name));
        return problems;
    };
    let har: Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();

    // Every selected operation was called, so the run cannot pass by testing nothing.
    let operations: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| run.selects(path))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !operations.is_empty(),
        "[{}] selects no operation",
        run.name
    );
    let mut statuses = std::collections::BTreeMap::<u64, usize>::new();
    let mut called = std::collections::BTreeSet::new();
    for entry in &entries {
        let method = entry["request"]["method"].as_str().unwrap_or("");
        let url = entry["request"]["url"].as_str().unwrap_or("");
        let path = url
            .strip_prefix(base)
            .unwrap_or(url)
            .split(['?', '#'])
            .next()
            .unwrap_or("");
        let status = entry["response"]["status"].as_u64().unwrap_or(0);
        *statuses.entry(status).or_default() += 1;
        for (m, template) in &operations {
            if m == method && matches_template(template, path) {
                called.insert((m.clone(), template.clone()));
            }
        }
        let body = entry["response"]["content"]["text"].as_str().unwrap_or("");
        if status >= 500 || status == 0 {
            problems.push(format!(
                "[{}] {method} {url} answered {status}: {body}",
                run.name
            ));
        }
        if let Some(marker) = tools::stack_trace_marker(body) {
            problems.push(format!(
                "[{}] {method} {url} answered {status} with {marker:?} in its body: {body}",
                run.name
            ));
        }
        if status >= 400 && path.starts_with("/api/") && !typed_error(body) {
            problems.push(format!(
                "[{}] {method} {url} answered {status} without a typed error body \
                 ({{\"code\", \"message\"}}): {body:?}",
                run.name
            ));
        }
    }
    for op in &operations {
        if !called.contains(op) {
            problems.push(format!("[{}] {} {} was never called", run.name, op.0, op.1));
        }
    }
    eprintln!(
        "API-4 [{}]: {} requests over {} operations in {:.0?} (seed {seed}), statuses {statuses:?}",
        run.name,
        entries.len(),
        operations.len(),
        started.elapsed()
    );
    if entries.len() < operations.len() * 10 {
        problems.push(format!(
            "[{}] only {} requests for {} operations",
            run.name,
            entries.len(),
            operations.len()
        ));
    }
    problems
}

/// Whether `path` is an instance of the document's `template` (`{name}` = one segment).
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// `{"code": "...", "message": "...", ...}`: the API's one error shape.
fn typed_error(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v["code"].as_str().is_some_and(|c| !c.is_empty())
            && v["message"].as_str().is_some_and(|m| !m.is_empty())
    })
}
