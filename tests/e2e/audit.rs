//! LOG-3: a row of the audit log edited directly in the database (by someone holding
//! the key) is found and named by `genkan audit verify`.

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
