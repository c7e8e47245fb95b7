//! BAK-1 and BAK-3 with the real binary: online backups to two places rotate to ten
//! generations, each verifies and restores to a working server; a flipped byte, a
//! truncated file and a wrong key fail verification and never touch the live data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use genkan_e2e::server::{Server, prepare};

use super::support::{backup_toml, check_in, genkan, options, passes, tenant};

fn backup_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    files.sort();
    files
}

/// Starts a server on a restored database (same key file) and checks it answers.
async fn serve_restored(backup: &Path, config: &Path, key: &Path, token: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = genkan(
        config,
        &[
            "backup",
            "restore",
            backup.to_str().unwrap(),
            "--into",
            data.to_str().unwrap(),
        ],
    );
    assert!(ok, "restore {}: {out}{err}", backup.display());
    std::fs::copy(key, data.join("genkan.key")).unwrap();
    let restored_config = prepare(dir.path(), &options(""));
    let server = Server::start_in(dir, restored_config);
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status().as_u16(),
        200,
        "{}",
        ready.text().await.unwrap()
    );
    let sites = http
        .get(format!("{}/api/v1/sites", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sites.status().as_u16(),
        200,
        "the restored data answers the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_backups_while_serving_keep_ten_generations_in_two_places_that_all_restore() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Server::start(&options(&backup_toml(&[a.path(), b.path()])));
    let t = tenant(&server, "acme", 2).await;
    let tokens = passes(&server.url, &t, 240).await;
    // Check-ins keep coming while the backups run.
    let load = {
        let (url, kiosks) = (server.url.clone(), t.kiosks.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ok = 0;
            for (i, token) in tokens.iter().enumerate() {
                let kiosk = &kiosks[i % kiosks.len()];
                if let Some((200, _)) =
                    check_in(&http, &url, kiosk, token, &format!("bak-{i:06}")).await
                {
                    ok += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ok
        })
    };
    let config = server.config.clone();
    for run in 0..12 {
        let c = config.clone();
        let (ok, out, err) = tokio::task::spawn_blocking(move || genkan(&c, &["backup", "now"]))
            .await
            .unwrap();
        assert!(ok, "backup run {run}: {out}{err}");
        assert!(err.contains("copying pages"), "progress is shown: {err}");
    }
    assert_eq!(
        load.await.unwrap(),
        240,
        "every check-in during the backups succeeded"
    );
    for dest in [a.path(), b.path()] {
        assert_eq!(backup_files(dest).len(), 10, "{}", dest.display());
        assert_eq!(
            std::fs::read_dir(dest).unwrap().count(),
            20,
            "ten backups with ten manifests"
        );
    }
    let (ok, out, err) = genkan(&config, &["backup", "verify"]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        20,
        "{out}"
    );
    let (ok, list, _) = genkan(&config, &["backup", "list"]);
    assert!(ok && list.matches("drill ok").count() >= 12, "{list}");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}.manifest.json",
            backup_files(a.path())[9].display()
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(
        manifest["created_at"].as_str().unwrap().ends_with("+09:00"),
        "{manifest}"
    );
    assert!(
        manifest["tables"]["visits"].as_i64().unwrap() > 0
            && manifest["schema_version"].as_i64().unwrap() >= 6
    );

    let key = server.dir.path().join("data/genkan.key");
    for dest in [a.path(), b.path()] {
        for file in backup_files(dest) {
            serve_restored(&file, &config, &key, &t.token).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_a_truncated_file_and_a_wrong_key_are_refused_and_the_live_database_is_untouched()
 {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Server::start(&options(&backup_toml(&[a.path(), b.path()])));
    let t = tenant(&server, "acme", 1).await;
    let tokens = passes(&server.url, &t, 5).await;
    let http = reqwest::Client::new();
    for (i, token) in tokens.iter().enumerate() {
        check_in(
            &http,
            &server.url,
            &t.kiosks[0],
            token,
            &format!("bak3-{i:05}"),
        )
        .await
        .unwrap();
    }
    let (ok, out, err) = genkan(&server.config, &["backup", "now"]);
    assert!(ok, "{out}{err}");
    let good = backup_files(a.path()).pop().unwrap();
    let work = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let p = work.path().join(name);
        std::fs::copy(&good, &p).unwrap();
        std::fs::copy(
            format!("{}.manifest.json", good.display()),
            format!("{}.manifest.json", p.display()),
        )
        .unwrap();
        p
    };
    let flipped = copy("flipped.db");
    let mut bytes = std::fs::read(&flipped).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x20;
    std::fs::write(&flipped, &bytes).unwrap();
    let truncated = copy("truncated.db");
    std::fs::write(
        &truncated,
        &std::fs::read(&good).unwrap()[..bytes.len() - 1000],
    )
    .unwrap();
    let wrong_key = work.path().join("other.key");
    assert!(
        std::process::Command::new(genkan_e2e::binaries::genkan())
            .args(["keys", "generate", "--out"])
            .arg(&wrong_key)
            .status()
            .unwrap()
            .success()
    );
    let wrong_config = work.path().join("wrong-key.toml");
    let text = std::fs::read_to_string(&server.config).unwrap();
    std::fs::write(
        &wrong_config,
        text.replacen(
            "[data]\n",
            &format!("[data]\nkey_file = \"{}\"\n", wrong_key.display()),
            1,
        ),
    )
    .unwrap();

    let live_config = server.config.clone();
    let cases = [
        (&flipped, &live_config, "SHA-256"),
        (&truncated, &live_config, "size"),
        (&good, &wrong_config, "key"),
    ];
    for (file, config, why) in cases {
        let (ok, out, err) = genkan(config, &["backup", "verify", file.to_str().unwrap()]);
        assert!(
            !ok && format!("{out}{err}").contains(why),
            "{}: {out}{err}",
            file.display()
        );
        let target = work.path().join("target");
        let (ok, _, _) = genkan(
            config,
            &[
                "backup",
                "restore",
                file.to_str().unwrap(),
                "--into",
                target.to_str().unwrap(),
            ],
        );
        assert!(
            !ok && !target.join("genkan.db").exists(),
            "nothing restored from {}",
            file.display()
        );
    }
    // While the server runs, the live database cannot be replaced at all.
    let (ok, _, err) = genkan(
        &server.config,
        &[
            "backup",
            "restore",
            good.to_str().unwrap(),
            "--replace-live",
        ],
    );
    assert!(!ok && err.contains("stop the server"), "{err}");

    let token = t.token.clone();
    let (dir, config) = server.stop();
    let live = dir.path().join("data/genkan.db");
    let wal = dir.path().join("data/genkan.db-wal");
    let before = (
        std::fs::read(&live).unwrap(),
        std::fs::read(&wal).unwrap_or_default(),
    );
    for (file, config, _) in cases {
        let (ok, _, _) = genkan(
            config,
            &[
                "backup",
                "restore",
                file.to_str().unwrap(),
                "--replace-live",
            ],
        );
        assert!(!ok);
    }
    let after = (
        std::fs::read(&live).unwrap(),
        std::fs::read(&wal).unwrap_or_default(),
    );
    assert!(
        before == after,
        "the live database is byte for byte what it was"
    );

    // A good backup does replace it, keeping the previous file aside.
    let (ok, out, err) = genkan(
        &config,
        &[
            "backup",
            "restore",
            good.to_str().unwrap(),
            "--replace-live",
        ],
    );
    assert!(ok, "{out}{err}");
    let aside = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("genkan.db.before-restore-")
        });
    assert!(aside);
    let server = Server::start_in(dir, config);
    let sites = reqwest::Client::new()
        .get(format!("{}/api/v1/sites", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(sites.status().as_u16(), 200);
}
