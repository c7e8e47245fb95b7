//! LOG-3: a row of the audit log edited directly in the database (by someone holding
//! the key) is found and named by `genkan audit verify`. LOG-4: the newest rows
//! deleted, or every chain re-linked by someone with the database key but not the
//! audit key, are reported too (keyed links; heads anchored in backup manifests
//! and in the log).

use std::path::Path;
use std::time::Duration;

use genkan_core::audit::anchor::parse_heads;
use genkan_core::audit::{AuditEvent, ChainKey, GENESIS, Outcome};
use genkan_e2e::server::{Server, ServerOptions, genkan_with_config};

fn options() -> ServerOptions {
    ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    }
}

#[test]
fn audit_verify_names_the_row_that_was_edited_in_the_database() {
    let server = Server::start(&options());
    server.create_tenant("acme");
    server.create_tenant("globex");
    let (dir, config) = server.stop();
    let clean = genkan_with_config(&config, &["audit", "verify"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    // Tamper through a second connection opened with the database key.
    let data = dir.path().join("data");
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("genkan.key")).unwrap()).unwrap();
    let key = keys["database"].as_str().unwrap();
    let conn = rusqlite::Connection::open(data.join("genkan.db")).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
        .unwrap();
    let id: i64 = conn
        .query_row(
            "SELECT id FROM audit_log WHERE chain = (SELECT max(chain) FROM audit_log) ORDER BY seq LIMIT 1 OFFSET 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET ip = '203.0.113.66' WHERE id = {id};"
    ))
    .unwrap();
    drop(conn);

    let out = genkan_with_config(&config, &["audit", "verify"]);
    assert!(!out.status.success(), "tampering must fail verification");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&format!("row id {id}")), "{said}");
    assert!(said.contains("does not match"), "{said}");
}

/// A server whose backups go to the two places in `backups`.
fn with_backups(backups: &Path) -> ServerOptions {
    ServerOptions {
        smtp_port: None,
        extra_toml: format!(
            "\n[backup]\ndestinations = [\"{}\", \"{}\"]\ngenerations = 10\nstep_pages = 16\n",
            backups.join("local").display(),
            backups.join("remote").display()
        ),
    }
}

/// A connection to the stopped server's database, opened with the database key
/// from the key file (the insider of LOG-3 and LOG-4), the guards dropped.
fn insider(data: &Path) -> rusqlite::Connection {
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("genkan.key")).unwrap()).unwrap();
    let key = keys["database"].as_str().unwrap();
    let conn = rusqlite::Connection::open(data.join("genkan.db")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{key}'\";
         DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    ))
    .unwrap();
    conn
}

/// `genkan audit verify` with extra arguments: (success, stdout and stderr).
fn verify(config: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = genkan_with_config(config, &args);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// Two tenants, a backup in two places (each manifest holds the heads), then a
/// restart whose start-up logs the heads too; returns the stopped server's
/// directory, its configuration and the first tenant's chain.
async fn anchored_server(backups: &Path) -> (tempfile::TempDir, std::path::PathBuf, i64) {
    let server = Server::start(&with_backups(backups));
    let acme = server.create_tenant("acme")["tenant_id"].as_i64().unwrap();
    server.create_tenant("globex");
    let out = server.genkan(&["backup", "now"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (dir, config) = server.stop();
    let server = Server::start_in(dir, config);
    let heads_logged = |log: &str| {
        log.lines().any(|l| {
            l.contains("audit chain heads") && parse_heads(l).iter().any(|h| h.chain == acme)
        })
    };
    genkan_e2e::eventually(Duration::from_secs(30), || {
        heads_logged(&server.log()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("no heads in the log:\n{}", server.log()));
    let (dir, config) = server.stop();
    (dir, config, acme)
}

/// SECURITY.md LOG-4 (removed tail): the newest rows of a tenant's chain deleted
/// with the database key leave a chain that verifies alone, but `genkan audit
/// verify` reports the removed tail from the backup manifest's heads, and from the
/// heads of a copied log line given with `--anchor` when no backup is at hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_reports_a_removed_tail_from_the_backup_manifest_and_a_logged_anchor() {
    let backups = tempfile::tempdir().unwrap();
    let (dir, config, acme) = anchored_server(backups.path()).await;
    let line: String = std::fs::read_to_string(dir.path().join("server.log"))
        .unwrap()
        .lines()
        .rfind(|l| l.contains("audit chain heads"))
        .unwrap()
        .to_owned();
    let anchor = dir.path().join("heads-from-the-log.txt");
    std::fs::write(&anchor, &line).unwrap();
    let (ok, said) = verify(&config, &["--anchor", anchor.to_str().unwrap()]);
    assert!(ok, "{said}");
    // Every manifest in both places (the start-up may have taken the day's backup
    // too) and the file.
    let sources: usize = said
        .split(" sources compared")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(said.contains("audit log ok") && sources >= 3, "{said}");

    // With the server running, the command hands its anchors to the server: a head
    // past the chain's end, given in a file, is reported through the control socket.
    let server = Server::start_in(dir, config);
    let beyond = server.dir.path().join("heads-beyond-the-end.txt");
    std::fs::write(&beyond, format!("{acme}:999999:{}", "ab".repeat(32))).unwrap();
    let out = server.genkan(&["audit", "verify", "--anchor", beyond.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success()
            && said.contains(&format!(
                "chain {acme}: the anchored row seq 999999 is missing"
            ))
            && said.contains("anchor file"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server.log().contains("operator command"),
        "ran in the server"
    );
    let (dir, config) = server.stop();

    let conn = insider(&dir.path().join("data"));
    let last: i64 = conn
        .query_row(
            "SELECT max(seq) FROM audit_log WHERE chain = ?1",
            [acme],
            |r| r.get(0),
        )
        .unwrap();
    assert!(last >= 3, "the tenant's chain has rows to lose");
    conn.execute(
        "DELETE FROM audit_log WHERE chain = ?1 AND seq > ?2",
        [acme, last - 2],
    )
    .unwrap();
    drop(conn);

    let (ok, said) = verify(&config, &[]);
    assert!(!ok, "a removed tail must fail verification: {said}");
    assert!(
        said.contains("audit log ok"),
        "the chain alone verifies: {said}"
    );
    let removed = format!(
        "chain {acme}: the anchored row seq {last} is missing; the chain ends at seq {} (rows {}..={last} were removed)",
        last - 2,
        last - 1
    );
    assert!(said.contains(&removed), "{said}");
    assert!(said.contains("manifest of"), "names the anchor: {said}");

    // Without the backups, the copied log line shows it alike.
    std::fs::rename(backups.path(), dir.path().join("backups-elsewhere")).unwrap();
    let (ok, said) = verify(&config, &[]);
    assert!(
        ok && said.contains("no anchors"),
        "nothing to compare: {said}"
    );
    let (ok, said) = verify(&config, &["--anchor", anchor.to_str().unwrap()]);
    assert!(
        !ok && said.contains(&removed) && said.contains("anchor file"),
        "{said}"
    );
}

/// How an insider re-links the chains.
#[derive(Clone, Copy)]
enum Relink {
    /// The unkeyed SHA-256 links of the first version.
    Unkeyed,
    /// Keyed, but with a key of their own.
    OtherKey,
}

/// Recomputes every link of every chain as `how` says, through `conn`.
fn relink(conn: &rusqlite::Connection, how: Relink) {
    let other = ChainKey::new([0x5a; 32]);
    let rows: Vec<(i64, i64, i64, AuditEvent)> = conn
        .prepare(
            "SELECT id, chain, seq, tenant_id, at, actor_kind, actor_id, action, target_kind,
                    target_id, outcome, ip, request_id, details
             FROM audit_log ORDER BY chain, seq",
        )
        .unwrap()
        .query_map([], |r| {
            let at: String = r.get(4)?;
            let outcome: String = r.get(10)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                AuditEvent {
                    tenant_id: r.get(3)?,
                    at: at.parse().unwrap(),
                    actor_kind: r.get(5)?,
                    actor_id: r.get(6)?,
                    action: r.get(7)?,
                    target_kind: r.get(8)?,
                    target_id: r.get(9)?,
                    outcome: match outcome.as_str() {
                        "ok" => Outcome::Ok,
                        "denied" => Outcome::Denied,
                        _ => Outcome::Failed,
                    },
                    ip: r.get(11)?,
                    request_id: r.get(12)?,
                    details: r.get(13)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut chain = None;
    let mut prev = GENESIS;
    for (id, c, seq, event) in rows {
        if chain != Some(c) {
            chain = Some(c);
            prev = GENESIS;
        }
        let link = match how {
            Relink::Unkeyed => event.chain_hash(seq, &prev),
            Relink::OtherKey => event.chain_mac(&other, seq, &prev),
        };
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
            rusqlite::params![prev.as_slice(), link.as_slice(), id],
        )
        .unwrap();
        prev = link;
    }
}

/// SECURITY.md LOG-4 (recomputed chain): every chain re-linked with the database
/// key, as unkeyed SHA-256 (the first version's rule) or under a key of the
/// insider's own, fails `genkan audit verify` at the first row of the first chain,
/// and every anchored head is reported as contradicted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_reports_chains_recomputed_without_the_audit_key() {
    let backups = tempfile::tempdir().unwrap();
    let (dir, config, _) = anchored_server(backups.path()).await;
    let data = dir.path().join("data");
    let saved = dir.path().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    let files = ["genkan.db", "genkan.db-wal", "genkan.db-shm"];
    for f in files {
        if data.join(f).exists() {
            std::fs::copy(data.join(f), saved.join(f)).unwrap();
        }
    }
    for (name, how) in [
        ("unkeyed", Relink::Unkeyed),
        ("other key", Relink::OtherKey),
    ] {
        for f in files {
            let _ = std::fs::remove_file(data.join(f));
            if saved.join(f).exists() {
                std::fs::copy(saved.join(f), data.join(f)).unwrap();
            }
        }
        let (ok, said) = verify(&config, &[]);
        assert!(ok, "{name}: the saved database verifies: {said}");
        let conn = insider(&data);
        let first: i64 = conn
            .query_row(
                "SELECT id FROM audit_log ORDER BY chain, seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        relink(&conn, how);
        drop(conn);
        let (ok, said) = verify(&config, &[]);
        assert!(!ok, "{name}: a re-linked chain must fail: {said}");
        assert!(
            said.contains(&format!("row id {first} (seq 1)"))
                && said.contains("does not match its MAC"),
            "{name}: names the first row: {said}"
        );
        assert!(said.contains("re-linked or replaced"), "{name}: {said}");
    }
}
