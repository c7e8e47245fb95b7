//! HTTPS: the built-in listener offers only TLS 1.3 and 1.2 with ECDHE and AEAD
//! ciphers (checked with sslyze), sends HSTS, and plain HTTP only redirects.

use std::process::Command;

use genkan_e2e::binaries;
use genkan_e2e::server::{Server, ServerOptions, prepare};

/// A server with the HTTPS listener and the plain-HTTP redirect listener; returns it and
/// the redirect listener's address.
pub(crate) fn tls_server() -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let out = binaries::genkan_command()
        .args(["tls", "self-signed", "--out"])
        .arg(&tls)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let redirect = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect_addr = redirect.local_addr().unwrap().to_string();
    drop(redirect);
    let extra = format!(
        "\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\nredirect_listen = \"{redirect_addr}\"\n",
        tls.join("cert.pem").display(),
        tls.join("key.pem").display()
    );
    let config = prepare(
        dir.path(),
        &ServerOptions {
            smtp_port: None,
            extra_toml: extra,
        },
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "public_url = \"http://127.0.0.1\"",
        "public_url = \"https://127.0.0.1\"",
    );
    std::fs::write(&config, text).unwrap();
    (Server::start_in(dir, config), redirect_addr)
}

/// A client trusting the server's self-signed certificate, following no redirects.
pub(crate) fn client(server: &Server) -> reqwest::Client {
    let pem = std::fs::read(server.dir.path().join("tls/cert.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_with_hsts_and_plain_http_only_redirects() {
    let (server, redirect_addr) = tls_server();
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let http = client(&server);
    let health = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let hsts = health
        .headers()
        .get("strict-transport-security")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
    let plain = http
        .get(format!("http://{redirect_addr}/login?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 308);
    assert_eq!(plain.headers()["location"], "https://127.0.0.1/login?x=1");
    let body = plain.text().await.unwrap();
    assert!(!body.contains("<form"), "nothing is served over plain HTTP");
}

#[test]
fn sslyze_finds_only_tls_1_2_and_1_3_with_ecdhe_and_aead_ciphers() {
    let (server, _) = tls_server();
    let target = server.url.trim_start_matches("https://").to_owned();
    let report = server.dir.path().join("sslyze.json");
    let out = Command::new("python3")
        .args(["-m", "sslyze", "--quiet", "--json_out"])
        .arg(&report)
        .args([
            "--sslv2",
            "--sslv3",
            "--tlsv1",
            "--tlsv1_1",
            "--tlsv1_2",
            "--tlsv1_3",
            &target,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        report.exists(),
        "sslyze did not run (tests/run-all.sh installs it with pip): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let scan = &json["server_scan_results"][0]["scan_result"];
    let accepted = |key: &str| -> Vec<String> {
        scan[key]["result"]["accepted_cipher_suites"]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} result in {scan}"))
            .iter()
            .map(|c| c["cipher_suite"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for old in [
        "ssl_2_0_cipher_suites",
        "ssl_3_0_cipher_suites",
        "tls_1_0_cipher_suites",
        "tls_1_1_cipher_suites",
    ] {
        assert!(
            accepted(old).is_empty(),
            "{old} accepted: {:?}",
            accepted(old)
        );
    }
    let tls13 = accepted("tls_1_3_cipher_suites");
    assert!(!tls13.is_empty(), "TLS 1.3 must be offered");
    let tls12 = accepted("tls_1_2_cipher_suites");
    assert!(!tls12.is_empty(), "TLS 1.2 must be offered");
    for suite in &tls12 {
        assert!(suite.contains("ECDHE"), "non-ECDHE suite {suite}");
        assert!(
            suite.contains("GCM") || suite.contains("CHACHA20"),
            "non-AEAD suite {suite}"
        );
    }
}

/// Completes a TLS handshake with the server at `port` and then sends nothing; prints
/// how many seconds passed until the server closed the connection (or "open").
const SILENT_TLS_CLIENT: &str = r#"
import socket, ssl, sys, time
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
tls = ctx.wrap_socket(raw, server_hostname="localhost")
tls.settimeout(30)
start = time.monotonic()
try:
    data = tls.recv(1)
    print("closed" if not data else "data", round(time.monotonic() - start, 2))
except (ssl.SSLError, ConnectionError) as e:
    print("closed", round(time.monotonic() - start, 2))
except socket.timeout:
    print("open", round(time.monotonic() - start, 2))
"#;

/// DOS-1 over HTTPS: a client that completes the handshake and then stays silent is
/// cut off after the header deadline (`server.header_read_timeout_secs`, 10 s by
/// default), like a slow client on plain HTTP, and the server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_after_the_tls_handshake_is_cut_off_at_the_header_deadline() {
    let (server, _) = tls_server();
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches('/');
    let silent: Vec<_> = (0..5)
        .map(|_| {
            Command::new("python3")
                .args(["-c", SILENT_TLS_CLIENT, port])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("python3 runs the silent client")
        })
        .collect();
    let http = client(&server);
    let health = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "served while the silent clients wait");
    for child in silent {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        let (verdict, seconds) = (
            words.next().unwrap_or_default(),
            words.next().and_then(|s| s.parse::<f64>().ok()),
        );
        assert_eq!(verdict, "closed", "{text}");
        let seconds = seconds.unwrap();
        assert!((8.0..15.0).contains(&seconds), "closed after {seconds} s");
    }
}
