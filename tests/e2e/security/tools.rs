//! External scanners (schemathesis, sqlmap): finding them, or failing with how to install them, and reading what the server wrote while they ran.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Checks that `program` runs (`program version_arg`); fails the test with `install`
/// otherwise — a missing scanner is a failed test, never a skipped one.
pub(crate) fn require(program: &str, version_arg: &str, install: &str) -> String {
    match Command::new(program)
        .arg(version_arg)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_owned()
        }
        Ok(out) => panic!(
            "`{program} {version_arg}` failed ({}): {}\ninstall it with: {install} \
             (tests/run-all.sh installs every tool the tests need)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "{program} is needed by this test but could not be run ({e}).\n\
             install it with: {install} (tests/run-all.sh installs every tool the tests need)"
        ),
    }
}

/// What in a response body would betray the server's internals: a Rust panic or
/// backtrace, a source location, SQLite's own words, a debug-printed error, or
/// another runtime's traceback.
pub(crate) fn stack_trace_marker(body: &str) -> Option<&'static str> {
    const MARKERS: &[&str] = &[
        "panicked at",
        "stack backtrace",
        "RUST_BACKTRACE",
        "called `Option::unwrap()`",
        "called `Result::unwrap()`",
        "Traceback (most recent call last)",
        "rusqlite",
        "SqliteFailure",
        "SQLITE_",
        "sqlite_master",
        "no such table",
        "no such column",
        "syntax error",
        "unrecognized token",
        "genkan_server::",
        "genkan_store::",
        "genkan_core::",
        "/.cargo/registry/",
        "Os { code",
        "Error {",
    ];
    if let Some(m) = MARKERS.iter().find(|m| body.contains(*m)) {
        return Some(m);
    }
    // `file.rs:12:5`, as in a panic message or a backtrace frame.
    body.match_indices(".rs:")
        .any(|(at, _)| {
            let rest = &body[at + 4..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with(':')
        })
        .then_some("<file>.rs:<line>:<column>")
}

/// Lines of the server log that report a failure of the server itself: errors
/// (every 5xx is logged at error level) and panics.
pub(crate) fn server_failures(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains("\"level\":\"ERROR\"")
                || l.contains("panicked at")
                || l.contains("stack backtrace")
        })
        .map(|l| l.chars().take(600).collect())
        .collect()
}

/// Runs `command` with stdin closed and its output written to `log`, killing it after
/// `limit`; returns its exit status (`None` if it was killed) and the output text.
pub(crate) async fn run_logged_async(
    mut command: Command,
    log: &Path,
    limit: Duration,
) -> (Option<ExitStatus>, String) {
    let file = std::fs::File::create(log).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    (status, std::fs::read_to_string(log).unwrap_or_default())
}
