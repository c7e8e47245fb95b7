//! One process, two OpenSSLs: SQLCipher (rusqlite's vendored, static OpenSSL, as in
//! genkan-store) and xmlsec1 (Debian's libxmlsec1-openssl over the system libcrypto) must
//! both work in the same binary. This test binary links both; this test uses both.

use std::sync::Arc;

use genkan_sso::saml::MemoryReplayCache;
use serde_json::json;

use crate::helpers::clock;
use crate::saml::{SamlIdp, login, service_provider};

#[tokio::test]
async fn sqlcipher_and_xmlsec_verify_and_encrypt_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cipher.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.pragma_update(
            None,
            "key",
            "x'2DD29CA851E7B56E4697B0E1F08507293D761A05CE4D1B628663F411A8086D99'",
        )
        .unwrap();
        let version: String = db
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .unwrap();
        assert!(!version.is_empty(), "SQLCipher is linked");
        db.execute_batch("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('canary-7f3a');")
            .unwrap();
    }
    let raw = std::fs::read(&path).unwrap();
    assert!(
        !raw.windows(11).any(|w| w == b"canary-7f3a"),
        "the file is encrypted"
    );

    // xmlsec1 verifies a real signed response in the same process …
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, Arc::clone(&clock));
    idp.next(json!({"sub": "link"})).await;
    let (pending, response) = login(&sp).await;
    let identity = sp
        .validate_response(&response, &pending)
        .unwrap()
        .claim_once(&MemoryReplayCache::new(10, clock))
        .await
        .unwrap();
    assert_eq!(identity.name_id, "link");

    // … and SQLCipher still decrypts afterwards.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.pragma_update(
        None,
        "key",
        "x'2DD29CA851E7B56E4697B0E1F08507293D761A05CE4D1B628663F411A8086D99'",
    )
    .unwrap();
    let v: String = db.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(v, "canary-7f3a");
}
