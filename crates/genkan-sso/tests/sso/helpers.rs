//! Starting the test IdPs and walking their redirects like a browser with cookies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use genkan_core::{Clock, ManualClock, SystemClock};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The crate's `tests/` folder.
pub(crate) fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A clock at the wall time (the IdPs stamp their tokens with it), moved by the tests.
pub(crate) fn clock() -> (ManualClock, Arc<dyn Clock>) {
    let clock = ManualClock::new(SystemClock.now());
    (clock.clone(), Arc::new(clock))
}

/// An HTTP client like the server's: no redirects followed.
pub(crate) fn http() -> reqwest::Client {
    genkan_sso::http::default_client().unwrap()
}

const QUIET: [&str; 4] = [
    "WARNING: Unsupported runtime",
    "development-only in-memory adapter",
    "CryptographyDeprecationWarning",
    "_ciphers.modes.CFB",
];

/// Starts `program args` and waits (at most 90 s) for its first stdout line that is a JSON
/// object. The process dies with the returned handle.
pub(crate) async fn spawn_reporting(
    program: &Path,
    args: &[&str],
    cwd: &Path,
) -> (Child, serde_json::Value) {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    // The IdPs' own warnings about their runtime are noise; anything else is shown with
    // the test's output.
    let stderr = child.stderr.take().unwrap();
    let name = program.file_name().unwrap().to_string_lossy().into_owned();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if !QUIET.iter().any(|q| line.contains(q)) {
                eprintln!("[{name}] {line}");
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(value @ serde_json::Value::Object(_)) = serde_json::from_str(&line) {
                return value;
            }
        }
        panic!("{} exited without reporting its address", program.display());
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} did not report its address within 90 s",
            program.display()
        )
    });
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, first)
}

/// Finds a program on PATH or fails with how to install it.
pub(crate) fn require_program(name: &str, install: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("`{name}` is needed by this test; install it with: {install}"))
}

/// A minimal cookie jar: name → value, sent back to the same host.
#[derive(Default)]
pub(crate) struct Jar(HashMap<String, String>);

impl Jar {
    fn absorb(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all("set-cookie") {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Follows redirects from `start` (sending cookies) until one points at `stop_prefix`, and
/// returns that URL without requesting it.
pub(crate) async fn follow_until(
    client: &reqwest::Client,
    start: &str,
    stop_prefix: &str,
) -> url::Url {
    let mut jar = Jar::default();
    let mut next = start.to_owned();
    for _ in 0..10 {
        let response = client
            .get(&next)
            .header("cookie", jar.header())
            .send()
            .await
            .unwrap();
        jar.absorb(&response);
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{next} answered {status} without a redirect"));
        let target = url::Url::parse(&next).unwrap().join(&location).unwrap();
        if target.as_str().starts_with(stop_prefix) {
            return target;
        }
        next = target.to_string();
    }
    panic!("more than 10 redirects from {start}");
}
