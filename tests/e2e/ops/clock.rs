//! The clock against NTP time (S26: logs in JST with NTP time): a real NTP server
//! (chrony) on loopback; the server reports in `/readyz` and its metrics whether its
//! clock is synchronised, and a process whose clock runs 30 seconds ahead (moved by
//! libfaketime) is reported as not synchronised and not ready. Readiness details go
//! only to loopback clients and the metrics listener.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use genkan_e2e::server::Server;
use serde_json::Value;

use super::support::options;

/// A chrony NTP server on 127.0.0.1, serving its local clock (it never touches the
/// system clock: `-x`); killed when dropped.
struct Chrony {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Chrony {
    fn start() -> Self {
        assert!(
            Path::new("/usr/sbin/chronyd").exists(),
            "/usr/sbin/chronyd not found: install Debian's chrony (tests/run-all.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        // chronyd cannot report a port it picked, so take a free one from the kernel.
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.path().join("chrony.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbindaddress 127.0.0.1\ncmdport 0\nlocal stratum 3\nallow 127.0.0.1\n\
                 driftfile {d}/drift\npidfile {d}/chronyd.pid\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/chronyd")
            .args(["-x", "-d", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let chrony = Self {
            child,
            port,
            _dir: dir,
        };
        chrony.wait_until_it_answers();
        chrony
    }

    /// Sends SNTP requests until one is answered (chronyd binds within milliseconds).
    fn wait_until_it_answers(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = [0u8; 48];
        request[0] = 0x23; // version 4, client mode
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            socket.send_to(&request, ("127.0.0.1", self.port)).unwrap();
            let mut answer = [0u8; 48];
            if socket.recv(&mut answer).is_ok_and(|n| n == 48) {
                return;
            }
        }
        panic!("chronyd does not answer on port {}", self.port);
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_for(ntp_port: u16) -> String {
    format!(
        "\n[readiness]\nntp_servers = [\"127.0.0.1:{ntp_port}\"]\nmax_clock_offset_ms = 1000\n\
         clock_check_minutes = 1\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n"
    )
}

/// `/readyz` once the clock was checked (the first check runs at start).
async fn readyz_after_clock_check(url: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http.get(format!("{url}/readyz")).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        if body["checks"]["clock"]["synchronised"].is_boolean() {
            return (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "the clock was never checked: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn metrics(server: &Server) -> String {
    let addr = server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["metrics.addr"].as_str().map(str::to_owned))
        .expect("the metrics address is logged");
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_that_keeps_ntp_time_is_reported_synchronised() {
    let chrony = Chrony::start();
    let server = Server::start(&options(&config_for(chrony.port)));
    let (status, body) = readyz_after_clock_check(&server.url).await;
    assert_eq!(status, 200, "{body}");
    let clock = &body["checks"]["clock"];
    assert_eq!(clock["synchronised"], true, "{body}");
    assert!(
        clock["offset_ms"].as_f64().unwrap().abs() < 1000.0,
        "{body}"
    );
    assert_eq!(
        clock["server"],
        format!("127.0.0.1:{}", chrony.port),
        "{body}"
    );
    let text = metrics(&server).await;
    assert!(text.contains("\ngenkan_clock_synchronised 1\n"), "{text}");
    assert!(text.contains("\ngenkan_clock_offset_seconds "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_thirty_seconds_ahead_is_reported_and_makes_the_server_not_ready() {
    let preload = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    assert!(
        Path::new(preload).exists(),
        "{preload} not found: install Debian's faketime (tests/run-all.sh does)"
    );
    let chrony = Chrony::start();
    let server = Server::start_with_env(
        &options(&config_for(chrony.port)),
        &[
            ("LD_PRELOAD", preload),
            ("FAKETIME", "+30s"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let (status, body) = readyz_after_clock_check(&server.url).await;
    assert_eq!(status, 503, "{body}");
    let clock = &body["checks"]["clock"];
    assert_eq!(clock["synchronised"], false, "{body}");
    let offset = clock["offset_ms"].as_f64().unwrap();
    assert!((29_000.0..31_000.0).contains(&offset), "{body}");
    assert!(
        body["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("clock")),
        "{body}"
    );
    let text = metrics(&server).await;
    assert!(text.contains("\ngenkan_clock_synchronised 0\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_details_reach_only_loopback_clients_and_the_metrics_listener() {
    // Behind a trusted proxy on loopback, the client is the address it forwards.
    let server = Server::start_with_env(
        &options("\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
        &[("GENKAN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]")],
    );
    let http = reqwest::Client::new();
    let remote: Value = http
        .get(format!("{}/readyz", server.url))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        remote.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["status"],
        "a remote client sees the verdict only: {remote}"
    );
    let local: Value = http
        .get(format!("{}/readyz", server.url))
        .header("x-forwarded-for", "127.0.0.1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(local["checks"]["database"].is_string(), "{local}");
    let addr = server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["metrics.addr"].as_str().map(str::to_owned))
        .unwrap();
    let detailed: Value = http
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(detailed["checks"]["clock"].is_object(), "{detailed}");
}
