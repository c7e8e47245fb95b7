//! The binaries' command lines: production mode refuses to start without what it
//! needs; the demo starts, seeds, and reuses its data.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use genkan_e2e::binaries;
use genkan_e2e::server::{ServerOptions, genkan_with_config, prepare};

#[test]
fn serve_refuses_to_start_without_keys_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(
        dir.path(),
        &ServerOptions {
            smtp_port: None,
            extra_toml: String::new(),
        },
    );
    std::fs::remove_file(dir.path().join("data/genkan.key")).unwrap();
    let out = binaries::genkan_command()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env_remove("GENKAN_KEYS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no keys") && err.contains("genkan.key"),
        "{err}"
    );
    assert!(
        !dir.path().join("data/genkan.db").exists(),
        "nothing was created"
    );
}

#[test]
fn serve_refuses_a_key_file_others_can_read_and_a_wrong_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(
        dir.path(),
        &ServerOptions {
            smtp_port: None,
            extra_toml: String::new(),
        },
    );
    let key = dir.path().join("data/genkan.key");
    // A first start creates the database with this key.
    let ok = genkan_with_config(&config, &["audit", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = genkan_with_config(&config, &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("readable by other users"));
    std::fs::remove_file(&key).unwrap();
    let generated = binaries::genkan_command()
        .args(["keys", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let out = genkan_with_config(&config, &["audit", "verify"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("key is wrong"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_check_names_unknown_keys_and_default_config_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let out = binaries::genkan_command()
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));
    let example = binaries::genkan_command()
        .arg("default-config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&example.stdout);
    assert!(text.contains("[mail]") && text.contains("argon2_memory_kib = 19456"));
}

/// Starts the demo and returns its child, URL and printed banner.
fn start_demo(data: &std::path::Path) -> (std::process::Child, String, String) {
    let mut child = binaries::genkan_command()
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Press Ctrl-C") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("demo banner");
    let url = banner
        .lines()
        .find_map(|l| l.strip_prefix("genkan listening on "))
        .unwrap()
        .to_owned();
    (child, url, banner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_with_a_seeded_company_and_reuses_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("genkan-data");
    let (mut first, url, banner) = start_demo(&data);
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    for expected in [
        "Organisation ID : demo",
        "admin@demo.example",
        "Sample pass",
        "code ",
        "gk_at_",
    ] {
        assert!(
            banner.contains(expected),
            "{expected} missing from:\n{banner}"
        );
    }
    let token = banner
        .lines()
        .find_map(|l| l.split("Admin API token : ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let api = genkan_e2e::api::Api::new(&url, Some(&token));
    let users = api.get("/api/v1/users").await.ok();
    let roles: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["role"].as_str())
        .collect();
    assert_eq!(roles.iter().filter(|r| **r == "host").count(), 2);
    assert_eq!(roles.iter().filter(|r| **r == "admin").count(), 1);
    assert_eq!(api.get("/api/v1/kiosks").await.ok()[0]["status"], "active");
    let appointments = api.get("/api/v1/appointments").await.ok();
    assert!(appointments.as_array().unwrap().len() >= 3);
    assert!(data.join("kiosk/credential.json").exists());
    let key_mode = std::fs::metadata(data.join("genkan.key"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap();
    assert_eq!(key_mode, 0o600);
    first.kill().unwrap();
    first.wait().unwrap();

    // A second run reuses the data: same credentials, no second company.
    let (mut second, url, banner2) = start_demo(&data);
    let admin_line = |b: &str| {
        b.lines()
            .find(|l| l.contains("Admin sign-in"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(admin_line(&banner), admin_line(&banner2));
    let api = genkan_e2e::api::Api::new(&url, Some(&token));
    assert_eq!(
        api.get("/api/v1/users")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        api.get("/api/v1/appointments")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        appointments.as_array().unwrap().len()
    );
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_re_encrypts_the_database_and_sealed_secrets_still_open() {
    use chrono::Duration as Span;
    use genkan_core::{Clock as _, SystemClock};
    use genkan_e2e::api::Api;
    use genkan_e2e::receiver::{Answer, Receiver};
    use genkan_e2e::server::Server;
    use serde_json::json;

    let slack = Receiver::start(Answer::Ok).await;
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let site_id = server.create_tenant("acme")["site_id"].as_i64().unwrap();
    let api = Api::new(
        &server.url,
        Some(&server.create_token("acme", "admin@acme.example", "admin")),
    );
    let host = api
        .create_user("tanaka@acme.example", "Tanaka Ichiro", "host")
        .await
        .ok();
    // The Slack URL is stored sealed with the sealing key that the rotation retires.
    api.set_slack(&format!("{}/services/T0/B0/rotated", slack.url))
        .await
        .ok();
    let created = api.create_kiosk(site_id, "Lobby").await.ok();
    let paired = api
        .pair_kiosk(created["pairing_code"].as_str().unwrap(), "lobby")
        .await
        .ok();
    let now = SystemClock.now();
    let appointment = api
        .create_appointment_with_passes(json!({
            "site_id": site_id, "host_id": host["id"], "title": "After rotation",
            "starts_at": now.to_rfc3339(), "ends_at": (now + Span::hours(1)).to_rfc3339(),
            "visitors": [{"name": "Rotation Visitor"}],
        }))
        .await
        .ok();
    let token = appointment["passes"][0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (dir, config) = server.stop();

    let key = dir.path().join("data/genkan.key");
    let before = std::fs::read_to_string(&key).unwrap();
    let rotated = genkan_with_config(&config, &["keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let after = std::fs::read_to_string(&key).unwrap();
    assert_ne!(before, after, "a new key was written");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions())
            & 0o777;
    assert_eq!(mode, 0o600);
    let verify = genkan_with_config(&config, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // The server starts on the new keys; a check-in alerts through the Slack URL that
    // was sealed before the rotation.
    let old = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(".old-"))
        .expect("old key kept");
    let server = Server::start_in(dir, config);
    let kiosk = Api::new(&server.url, paired["credential"].as_str());
    let visit = kiosk
        .check_in(json!({"request_id": "rotate-00000001", "token": token}))
        .await
        .ok();
    assert_eq!(visit["visitor_name"], "Rotation Visitor");
    let hit = genkan_e2e::eventually(std::time::Duration::from_secs(20), || {
        slack.hits().into_iter().next()
    })
    .await
    .expect("the alert reached Slack");
    assert_eq!(hit.path, "/services/T0/B0/rotated");
    let (dir, config) = server.stop();

    // The old key file (kept for older backups) no longer opens the database.
    let key = dir.path().join("data/genkan.key");
    std::fs::copy(&old, &key).unwrap();
    let stale = genkan_with_config(&config, &["audit", "verify"]);
    assert!(!stale.status.success());
    assert!(String::from_utf8_lossy(&stale.stderr).contains("key is wrong"));
}

#[test]
fn tenant_create_right_after_keys_generate_makes_the_missing_data_directory_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // The README's order: a key file outside the data directory, then the first tenant.
    let key = dir.path().join("etc/genkan.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let generated = binaries::genkan_command()
        .args(["keys", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let data = dir.path().join("var/lib/genkan");
    let config = dir.path().join("genkan.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\ndir = \"{}\"\nkey_file = \"{}\"\n\n[mail]\ntransport = \"none\"\n\n[auth]\nargon2_memory_kib = 12288\nargon2_iterations = 3\n",
            data.display(),
            key.display()
        ),
    )
    .unwrap();
    // Any other command first says what is missing, and creates nothing.
    let early = genkan_with_config(&config, &["audit", "verify"]);
    assert!(!early.status.success());
    let err = String::from_utf8_lossy(&early.stderr);
    assert!(
        err.contains("does not exist") && err.contains("tenant create"),
        "{err}"
    );
    assert!(!data.exists());

    let created = genkan_with_config(
        &config,
        &[
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme KK",
            "--admin-email",
            "admin@acme.example",
            "--admin-name",
            "Admin",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(out["slug"], "acme");
    assert!(out["admin_password"].as_str().unwrap().len() >= 20);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&data),
        0o700,
        "the data directory is the service's alone"
    );
    assert_eq!(mode(&data.join("genkan.db")), 0o600);
    let token = genkan_with_config(
        &config,
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--user",
            "admin@acme.example",
        ],
    );
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
}
