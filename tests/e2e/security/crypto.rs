//! CRY-1 and CRY-2: visitor data never appears in the raw bytes of the database, its WAL and SHM, backups or logs; `genkan serve` refuses missing, wrong and exposed keys.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::binaries;
use genkan_e2e::server::{Server, ServerOptions, genkan_with_config};
use serde_json::json;

use super::kit::{self, WebSession};

/// Text that must exist only inside the encryption: visitor and host names (Latin
/// and Japanese), company, e-mail, phone, meeting title, a walk-in's details.
const CANARIES: &[&str] = &[
    "Zqvtarro Canarius",
    "金糸雀花子",
    "Qwixolt Canary Works",
    "zqv.canary.mail@visitor.example",
    "0398761234",
    "Secret merger Xylofant agenda",
    "Jvxkanary Hostperson",
    "jvx.canary.host@acme.example",
    "Walkwin Canarybird",
    "Walkco Yzzyq",
];

/// Every file below `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The byte patterns a canary could leave: as written, lower case, UTF-16 (LE/BE),
/// and JSON `\u` escapes of non-ASCII text.
fn patterns(canary: &str) -> Vec<Vec<u8>> {
    let mut out = vec![
        canary.as_bytes().to_vec(),
        canary.to_lowercase().into_bytes(),
    ];
    out.push(canary.encode_utf16().flat_map(u16::to_le_bytes).collect());
    out.push(canary.encode_utf16().flat_map(u16::to_be_bytes).collect());
    if !canary.is_ascii() {
        let escaped: String = canary
            .encode_utf16()
            .map(|u| format!("\\u{u:04x}"))
            .collect();
        out.push(escaped.into_bytes());
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every (file, canary) pair where a canary's bytes occur, over all files below `dirs`;
/// also how many files and bytes were searched.
fn hits(dirs: &[&Path]) -> (Vec<String>, usize, usize) {
    let mut found = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for dir in dirs {
        for file in files(dir) {
            let Ok(data) = std::fs::read(&file) else {
                continue;
            };
            count += 1;
            bytes += data.len();
            for canary in CANARIES {
                if patterns(canary).iter().any(|p| contains(&data, p)) {
                    found.push(format!("{canary:?} in {}", file.display()));
                }
            }
        }
    }
    (found, count, bytes)
}

/// Puts every canary into the server through the admin API, the web app and a kiosk:
/// an appointment, a check-in and check-out, a host user and a walk-in.
async fn plant(server: &Server, org: &kit::Org) {
    let now = SystemClock.now();
    let host = org
        .admin
        .create_user_with_password(CANARIES[7], CANARIES[6], "host", "Orbit violet lantern 77")
        .await
        .ok();
    let appointment = org
        .admin
        .create_appointment_with_passes(json!({
            "site_id": org.site_id, "host_id": host["id"], "title": CANARIES[5],
            "starts_at": now.to_rfc3339(),
            "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "visitors": [
                {"name": CANARIES[0], "company": CANARIES[2], "email": CANARIES[3], "phone": CANARIES[4]},
                {"name": CANARIES[1], "company": CANARIES[2]},
            ],
        }))
        .await
        .ok();
    let passes = kit::pass_secrets(&appointment);
    let kiosk = &org.kiosks[0];
    for (i, (token, _)) in passes.iter().enumerate() {
        let a = kiosk
            .check_in(json!({"request_id": format!("canary-in-{i:04}"), "token": token}))
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    let a = kiosk
        .check_out(json!({"request_id": "canary-out-0001", "token": passes[0].0}))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    // Walk-ins with company and phone, turned on in the web app's settings.
    let web = WebSession::sign_in(
        &server.url,
        &org.slug,
        &org.admin_email,
        &org.admin_password,
    )
    .await;
    let saved = web
        .post(
            "/settings/kiosk",
            &[
                ("walk_in_enabled", "on"),
                ("walk_in_company", "on"),
                ("walk_in_phone", "on"),
                ("silence_minutes", "0"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let walk_in = kiosk
        .post(
            "/api/kiosk/v1/walk-in",
            json!({"request_id": "canary-walk-0001", "name": CANARIES[8], "company": CANARIES[9],
                   "phone": "0311112222", "host_id": host["id"]}),
        )
        .await;
    assert_eq!(walk_in.status, 200, "{:?}", walk_in.body);
}

/// SECURITY.md CRY-1: canary visitor data (names, e-mail, company, phone, meeting
/// title, host, walk-in) is absent from the raw bytes of the database, its WAL and
/// SHM, both backup destinations and the logs — while serving and after a stop —
/// yet readable through the API and a keyed connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_visitor_data_is_absent_from_raw_database_wal_backups_and_logs() {
    let (dest_a, dest_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: format!(
            "\n[backup]\ndestinations = [\"{}\", \"{}\"]\ngenerations = 3\n",
            dest_a.path().display(),
            dest_b.path().display()
        ),
    });
    let org = kit::org(&server, "acme", 1).await;
    plant(&server, &org).await;

    // The data is there: the API shows it.
    let visits = org.admin.visits().await.ok().to_string();
    for canary in [CANARIES[0], CANARIES[1], CANARIES[8]] {
        assert!(visits.contains(canary), "{canary} in {visits}");
    }
    let config = server.config.clone();
    let out = tokio::task::spawn_blocking(move || genkan_with_config(&config, &["backup", "now"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = server.dir.path().join("data");
    assert!(
        data.join("genkan.db-wal").exists(),
        "the WAL is searched while serving"
    );
    assert!(
        !files(dest_a.path()).is_empty() && !files(dest_b.path()).is_empty(),
        "both destinations hold a backup"
    );

    let dirs = [server.dir.path(), dest_a.path(), dest_b.path()];
    let (found, searched, bytes) = hits(&dirs);
    assert!(
        found.is_empty(),
        "plaintext visitor data on disk: {found:#?}"
    );
    assert!(
        searched >= 6 && bytes > 100_000,
        "{searched} files, {bytes} bytes searched"
    );
    assert!(
        server.log().lines().count() >= 10,
        "the log was written and is among the files searched"
    );

    // After the process is gone (WAL left as a crash leaves it) nothing appears either.
    let (dir, _config) = server.stop();
    let (found, _, _) = hits(&[dir.path(), dest_a.path(), dest_b.path()]);
    assert!(
        found.is_empty(),
        "plaintext visitor data on disk: {found:#?}"
    );

    // …and the canaries are really stored: a connection with the key reads them.
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("data/genkan.key")).unwrap())
            .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("data/genkan.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\";",
        keys["database"].as_str().unwrap()
    ))
    .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name || ' ' || coalesce(company, '') FROM visitors ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains(CANARIES[0]) && n.contains(CANARIES[2])),
        "{names:?}"
    );
}

/// Runs `genkan serve` and waits (at most a minute) for it to exit; a server that
/// starts listening instead is stopped and reported. Returns (exit success, stderr).
async fn serve_until_exit(config: &Path, keys_env: Option<&str>) -> (bool, String) {
    let work = tempfile::tempdir().unwrap();
    let (out, err) = (work.path().join("stdout"), work.path().join("stderr"));
    let mut cmd = binaries::genkan_command();
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .env_remove("GENKAN_KEYS")
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()));
    if let Some(keys) = keys_env {
        cmd.env("GENKAN_KEYS", keys);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        let stdout = std::fs::read_to_string(&out).unwrap_or_default();
        if stdout.contains("listening on") || start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        status.is_some(),
        "genkan serve started (or hung) instead of refusing: {stderr}"
    );
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(!stdout.contains("listening on"), "{stdout}");
    (status.is_some_and(|s| s.success()), stderr)
}

/// The database and its WAL: name, length and an FNV-1a digest of the bytes. (The
/// `-shm` file is an index any opener rebuilds after a crash; it holds no data.)
fn snapshot(data: &Path) -> Vec<(String, usize, u64)> {
    let mut all: Vec<(String, usize, u64)> = files(data)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("genkan.db") && !name.ends_with("-shm")
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let digest = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
            (p.display().to_string(), bytes.len(), digest)
        })
        .collect();
    all.sort();
    all
}

/// SECURITY.md CRY-2: `genkan serve` refuses to start without keys, with a key file
/// that group or others can read (0644, 0640, 0604), with a malformed key file and
/// with the wrong key (from the file or `GENKAN_KEYS`), each with a message that says
/// what is wrong; the database is left untouched and the right key still opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_missing_exposed_malformed_and_wrong_keys_with_a_clear_message() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let org = kit::org(&server, "acme", 0).await;
    let (dir, config) = server.stop();
    let data = dir.path().join("data");
    let key = data.join("genkan.key");
    let right = std::fs::read_to_string(&key).unwrap();
    let before = snapshot(&data);
    let mode = |m: u32| std::fs::set_permissions(&key, std::fs::Permissions::from_mode(m)).unwrap();

    // Each refusal names the problem and leaves the database files as they were.
    let refuses = async |env: Option<&str>, words: &[&str], what: &str| {
        let (ok, err) = serve_until_exit(&config, env).await;
        assert!(!ok, "{what}: refused");
        for w in words {
            assert!(err.contains(w), "{what}: {w:?} in {err}");
        }
        assert_eq!(snapshot(&data), before, "{what}: the database is untouched");
    };

    // Missing: no file and no GENKAN_KEYS.
    std::fs::rename(&key, data.join("moved-away")).unwrap();
    let path = key.display().to_string();
    refuses(None, &["no keys", &path], "missing").await;
    std::fs::rename(data.join("moved-away"), &key).unwrap();

    // Readable by the group or by others.
    for m in [0o644, 0o640, 0o604] {
        mode(m);
        refuses(
            None,
            &["readable by other users", "chmod 600"],
            &format!("mode {m:o}"),
        )
        .await;
    }
    mode(0o600);

    // Not a key file at all.
    std::fs::write(&key, "this is not a key\n").unwrap();
    refuses(None, &["not valid"], "malformed").await;

    // Another key: in the file, then in GENKAN_KEYS with no file.
    std::fs::remove_file(&key).unwrap();
    let generated = binaries::genkan_command()
        .args(["keys", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let wrong = std::fs::read_to_string(&key).unwrap();
    assert_ne!(wrong, right);
    refuses(None, &["key is wrong"], "wrong key file").await;
    std::fs::remove_file(&key).unwrap();
    refuses(Some(&wrong), &["key is wrong"], "wrong GENKAN_KEYS").await;

    // The right key, restored with mode 0600, still opens the same data.
    std::fs::write(&key, right).unwrap();
    mode(0o600);
    let server = Server::start_in(dir, config);
    let me = Api::new(&server.url, Some(&org.token))
        .get("/api/v1/me")
        .await;
    assert_eq!(me.status, 200, "{:?}", me.body);
}
