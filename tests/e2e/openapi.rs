//! The OpenAPI document served by the server describes routes that exist.

use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_exists_and_errors_are_documented() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let api = Api::new(&server.url, None);
    let doc = api.get("/api/openapi.json").await.ok();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = api
                .call(
                    m.clone(),
                    &path.replace("{id}", "1"),
                    (m != Method::GET).then(|| serde_json::json!({})),
                )
                .await;
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert!(
                !answer.body["message"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("No such endpoint"),
                "{method} {path} is documented but not routed"
            );
            if answer.status.is_client_error() {
                let documented = op["responses"].as_object().unwrap();
                assert!(
                    documented.contains_key(answer.status.as_str()),
                    "{method} {path} answered {} which is not documented",
                    answer.status
                );
            }
        }
    }
}
