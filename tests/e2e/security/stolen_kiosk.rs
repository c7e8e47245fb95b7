//! KIO-1: a stolen kiosk. The thief holds the device credential and every local file
//! of the real `genkan-kiosk` (paired and synced against the real server), and can
//! call the roster endpoint as the kiosk does. Nothing there recovers a pass code:
//! the roster carries no code verifier in any form (no code, no digest of one under
//! any value it holds), only SHA-256 hashes of 128-bit QR tokens; and the credential
//! stops working at the next request once the kiosk is revoked.

use genkan_core::pass::PassToken;
use genkan_e2e::server::{Server, ServerOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::kit;
use crate::support::kiosk_json;

/// The only fields a roster may carry.
const ROSTER_KEYS: [&str; 2] = ["generated_at", "passes"];
const PASS_KEYS: [&str; 7] = [
    "token_hash",
    "visitor_name",
    "host_name",
    "locale",
    "valid_from",
    "valid_until",
    "host_reachable",
];

/// Every string inside `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// Digests an offline verifier of `code` could take, keyed by any value the thief
/// holds (as text or as hex-decoded bytes), or by nothing.
fn derivations(code: &str, held: &[String]) -> Vec<[u8; 32]> {
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for h in held {
        keys.push(h.as_bytes().to_vec());
        if let Ok(bytes) = hex::decode(h) {
            keys.push(bytes);
        }
    }
    let mut out = Vec::new();
    for key in keys {
        out.push(
            Sha256::new()
                .chain_update(&key)
                .chain_update(code)
                .finalize()
                .into(),
        );
        out.push(
            Sha256::new()
                .chain_update(code)
                .chain_update(&key)
                .finalize()
                .into(),
        );
    }
    out
}

/// Whether `haystack` holds `needle`.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// SECURITY.md KIO-1: a stolen kiosk's credential, roster and local files yield no
/// pass code; tokens only as SHA-256 of 128 random bits; revocation holds at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_kiosks_credential_roster_and_files_yield_no_pass_code() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = kit::org(&server, "acme", 0).await;
    let passes = acme
        .passes_now(&["Sato Hanako", "John Smith", "Kim Lee"])
        .await;
    let created = acme.admin.create_kiosk(acme.site_id, "Lobby").await.ok();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("kiosk");
    let dir_arg = dir.display().to_string();
    let (status, paired) = kiosk_json(&[
        "pair",
        "--server",
        &server.url,
        "--code",
        created["pairing_code"].as_str().unwrap(),
        "--config-dir",
        &dir_arg,
    ]);
    assert_eq!(status, 0, "{paired}");
    let (status, synced) = kiosk_json(&["sync", "--config-dir", &dir_arg]);
    assert_eq!(status, 0, "{synced}");
    assert_eq!(synced["roster_passes"], 3);
    // One offline check-in, so the journal exists too.
    let dead = server.url.clone();
    let (data, config) = server.stop();
    let (status, offline) = kiosk_json(&[
        "checkin",
        "--server",
        &dead,
        "--token",
        &passes[0].0,
        "--offline-ok",
        "--config-dir",
        &dir_arg,
    ]);
    assert_eq!(status, 0, "{offline}");
    // Offline, a typed code is not checked at all: the kiosk has nothing to check it with.
    let (status, typed) = kiosk_json(&[
        "checkin",
        "--server",
        &dead,
        "--code",
        &passes[1].1,
        "--offline-ok",
        "--config-dir",
        &dir_arg,
    ]);
    assert_eq!(
        (status, typed["code"].as_str()),
        (2, Some("code_needs_connection")),
        "{typed}"
    );
    let server = Server::start_in(data, config);

    // The thief's view: the credential from the kiosk's files, and the roster endpoint.
    let credential = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .find_map(|text| {
            text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .find(|w| w.starts_with("gk_kiosk_"))
                .map(str::to_owned)
        })
        .expect("the device credential is on the kiosk's disk");
    let http = reqwest::Client::new();
    let roster: Value = http
        .get(format!("{}/api/kiosk/v1/roster", server.url))
        .bearer_auth(&credential)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&str> = roster
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ROSTER_KEYS, "{roster}");
    let listed = roster["passes"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for pass in listed {
        let mut keys: Vec<&str> = pass
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = PASS_KEYS;
        expected.sort_unstable();
        assert_eq!(keys, expected, "{pass}");
    }
    // Each token hash is SHA-256 of a pass token (128 random bits): one offline guess
    // costs a SHA-256 over a 2^128 space.
    for (token, _) in &passes {
        let hash = PassToken::parse(token).unwrap().hash().to_hex();
        assert!(listed.iter().any(|p| p["token_hash"] == hash.as_str()));
    }
    let mut held = Vec::new();
    strings(&roster, &mut held);
    held.push(credential.clone());
    let text = roster.to_string();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    assert!(
        files.iter().any(|(p, _)| p.ends_with("roster.bin"))
            && files.iter().any(|(p, _)| p.ends_with("journal.jsonl")),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (_, code) in &passes {
        assert!(!text.contains(code.as_str()), "a code in the roster");
        for digest in derivations(code, &held) {
            let hex = hex::encode(digest);
            assert!(!text.contains(&hex), "a digest of a code in the roster");
            for (path, bytes) in &files {
                assert!(!holds(bytes, code.as_bytes()), "a code in {path}");
                assert!(
                    !holds(bytes, &digest) && !holds(bytes, hex.as_bytes()),
                    "a code digest in {path}"
                );
            }
        }
    }

    // Revocation: the stolen credential is refused at its next request, and the
    // kiosk's own sync then deletes what it held.
    let admin = genkan_e2e::api::Api::new(&server.url, Some(&acme.token));
    let kiosks = admin.get("/api/v1/kiosks").await.ok();
    let id = kiosks[0]["id"].as_i64().unwrap();
    let revoked = admin
        .post(&format!("/api/v1/kiosks/{id}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let again = http
        .get(format!("{}/api/kiosk/v1/roster", server.url))
        .bearer_auth(&credential)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["code"], "kiosk_revoked");
    let (_, after) = kiosk_json(&["sync", "--server", &server.url, "--config-dir", &dir_arg]);
    assert!(after["stopped"].is_string(), "{after}");
    assert!(
        !dir.join("roster.bin").exists(),
        "the revoked kiosk deletes its roster"
    );
}
