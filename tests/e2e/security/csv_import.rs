//! CSV-1 against the real binary: a 100 MB upload answered 413 without the server's memory growing by the file, forbidden columns and non-admins refused, and a server killed (SIGKILL) in the middle of a large import adds none of its rows.

use std::time::Duration;

use genkan_e2e::server::{Server, ServerOptions, genkan_with_config};

use super::kit::{WebSession, multipart, org};

fn no_mail() -> ServerOptions {
    ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    }
}

/// The peak resident memory of process `pid` so far, in KiB (`VmHWM`).
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A valid import file of `rows` new hosts at `domain`.
fn import_file(rows: usize, domain: &str) -> Vec<u8> {
    let mut csv = String::from("email,display_name,role,groups\n");
    for i in 0..rows {
        csv.push_str(&format!("user{i}@{domain},User {i},host,Team {}\n", i % 10));
    }
    csv.into_bytes()
}

/// The tenant's users, as the admin API lists them.
async fn user_count(api: &genkan_e2e::api::Api) -> usize {
    api.get("/api/v1/users")
        .await
        .ok()
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_upload_is_refused_with_413_and_never_held_in_memory() {
    let server = Server::start(&no_mail());
    let acme = org(&server, "acme", 0).await;
    let session =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    let pid = server.pid();
    let before = peak_kib(pid);
    let mut big = import_file(1, "acme.example");
    let filler = "padding@acme.example,Padding Padding Padding Padding,host\n".repeat(1024);
    while big.len() < 100 * 1024 * 1024 {
        big.extend_from_slice(filler.as_bytes());
    }
    let (content_type, body) = multipart(&session.csrf, "file", "users.csv", &big);
    drop(big);
    let answer = reqwest::Client::new()
        .post(format!("{}/users/import", server.url))
        .header(reqwest::header::COOKIE, &session.cookie)
        .header(reqwest::header::ORIGIN, &server.url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await;
    // The server answers as soon as the limit is passed; a client still sending may
    // see the connection closed instead, which is a refusal too.
    match answer {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => assert!(
            e.is_request() || e.is_body(),
            "neither 413 nor a closed upload: {e}"
        ),
    }
    let grown = peak_kib(pid).saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "the server's peak memory grew by {grown} KiB for a 100 MB upload"
    );
    assert_eq!(user_count(&acme.admin).await, 1, "nothing was imported");
    // Still serving, and a file within the limits still imports.
    let small = session
        .upload(
            "/users/import",
            "file",
            "users.csv",
            &import_file(3, "acme.example"),
        )
        .await;
    assert_eq!(small.status, 303, "{}", small.text());
    assert_eq!(user_count(&acme.admin).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_columns_and_non_admins_import_nothing() {
    let server = Server::start(&no_mail());
    let acme = org(&server, "acme", 0).await;
    let admin =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    // Columns that would choose an id, a tenant, a password or a status are refused
    // by name (422), whatever else the file holds.
    for column in [
        "id",
        "user_id",
        "tenant",
        "tenant_id",
        "password_hash",
        "status",
    ] {
        let file = format!("email,display_name,role,{column}\nevil@acme.example,Evil,admin,1\n");
        let reply = admin
            .upload("/users/import", "file", "users.csv", file.as_bytes())
            .await;
        assert_eq!(reply.status, 422, "{column}");
        assert!(
            reply
                .text()
                .contains(&format!("次の列は取り込めません：{column}。")),
            "{column}: {}",
            reply.text()
        );
    }
    // A receptionist may not import at all, so cannot make anyone an admin.
    acme.admin
        .create_user_with_password(
            "desk@acme.example",
            "Desk",
            "receptionist",
            "Blue-Lantern-Orbit-42!",
        )
        .await
        .ok();
    let desk = WebSession::sign_in(
        &server.url,
        "acme",
        "desk@acme.example",
        "Blue-Lantern-Orbit-42!",
    )
    .await;
    let reply = desk
        .upload(
            "/users/import",
            "file",
            "users.csv",
            b"email,display_name,role\nboss@acme.example,Boss,admin\n",
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(
        user_count(&acme.admin).await,
        2,
        "only the admin and the desk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_in_the_middle_of_an_import_keeps_none_of_its_rows() {
    let mut server = Server::start(&no_mail());
    let acme = org(&server, "acme", 0).await;
    let session =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    let file = import_file(5000, "acme.example");
    let upload = tokio::spawn(async move {
        session
            .upload("/users/import", "file", "users.csv", &file)
            .await
            .status
    });
    // The handler logs once the file is read and checked, just before the one
    // transaction that writes every row: kill the server there.
    genkan_e2e::eventually(Duration::from_secs(30), || {
        server.log().contains("user import file read").then_some(())
    })
    .await
    .expect("the import started");
    server.kill();
    let status = upload.await;
    assert!(
        status.is_err(),
        "the import finished before the kill ({status:?}); the test proves nothing"
    );

    let (dir, config) = server.stop();
    let verify = genkan_with_config(&config, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let data = dir.path().join("data");
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("genkan.key")).unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(data.join("genkan.db")).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\";",
            keys["database"].as_str().unwrap()
        ))
        .unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM users"), 1, "only the admin");
        assert_eq!(count("SELECT count(*) FROM groups"), 0);
        assert_eq!(
            count("SELECT count(*) FROM outbox"),
            0,
            "no invitation queued"
        );
    }
    // After a restart the same file imports in full.
    let server = Server::start_in(dir, config);
    let session =
        WebSession::sign_in(&server.url, "acme", &acme.admin_email, &acme.admin_password).await;
    let reply = session
        .upload(
            "/users/import",
            "file",
            "users.csv",
            &import_file(5000, "acme.example"),
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text());
    let admin = genkan_e2e::api::Api::new(&server.url, Some(&acme.token));
    assert_eq!(user_count(&admin).await, 5001);
}
