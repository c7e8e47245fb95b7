//! Shared setup of the operations tests: a tenant with an admin token, paired
//! kiosks and fresh passes made through the admin API, and single check-ins.

use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use serde_json::{Value, json};

/// A tenant ready for check-ins.
pub(crate) struct Tenant {
    pub(crate) token: String,
    pub(crate) site_id: i64,
    pub(crate) admin_id: i64,
    pub(crate) kiosks: Vec<String>,
}

/// Options with extra configuration and no mail.
pub(crate) fn options(extra_toml: &str) -> ServerOptions {
    ServerOptions {
        smtp_port: None,
        extra_toml: extra_toml.to_owned(),
    }
}

/// `[backup]` with the given destinations.
pub(crate) fn backup_toml(dests: &[&std::path::Path]) -> String {
    let list = dests
        .iter()
        .map(|d| format!("\"{}\"", d.display()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("\n[backup]\ndestinations = [{list}]\ngenerations = 10\nstep_pages = 16\n")
}

/// Creates tenant `slug` with an admin API token and `kiosks` paired kiosks.
pub(crate) async fn tenant(server: &Server, slug: &str, kiosks: usize) -> Tenant {
    let created = server.create_tenant(slug);
    let token = server.create_token(slug, &format!("admin@{slug}.example"), "admin");
    let api = Api::new(&server.url, Some(&token));
    let site_id = created["site_id"].as_i64().unwrap();
    let mut creds = Vec::new();
    for i in 0..kiosks {
        let kiosk = api.create_kiosk(site_id, &format!("Kiosk {i}")).await.ok();
        let paired = Api::new(&server.url, None)
            .pair_kiosk(
                kiosk["pairing_code"].as_str().unwrap(),
                &format!("device-{i}"),
            )
            .await
            .ok();
        creds.push(paired["credential"].as_str().unwrap().to_owned());
    }
    Tenant {
        token,
        site_id,
        admin_id: created["admin_id"].as_i64().unwrap(),
        kiosks: creds,
    }
}

/// `n` fresh passes valid now (50 visitors per appointment); returns their QR tokens.
pub(crate) async fn passes(base: &str, t: &Tenant, n: usize) -> Vec<String> {
    let api = Api::new(base, Some(&t.token));
    let now = SystemClock.now();
    let mut tokens = Vec::with_capacity(n);
    while tokens.len() < n {
        let visitors: Vec<Value> = (0..50.min(n - tokens.len()))
            .map(|i| json!({"name": format!("Guest {} {i}", tokens.len())}))
            .collect();
        let out = api
            .create_appointment_with_passes(json!({
                "site_id": t.site_id, "host_id": t.admin_id, "title": "Ops test",
                "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(2)).to_rfc3339(),
                "visitors": visitors,
            }))
            .await
            .ok();
        tokens.extend(
            out["passes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["token"].as_str().unwrap().to_owned()),
        );
    }
    tokens
}

/// One kiosk check-in: (status, body); `None` if the connection failed.
pub(crate) async fn check_in(
    http: &reqwest::Client,
    base: &str,
    kiosk: &str,
    token: &str,
    request_id: &str,
) -> Option<(u16, Value)> {
    let resp = http
        .post(format!("{base}/api/kiosk/v1/check-in"))
        .bearer_auth(kiosk)
        .json(&json!({"request_id": request_id, "token": token}))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let body = resp.json().await.ok()?;
    Some((status, body))
}

/// Runs `genkan <args> --config <config>` and returns (success, stdout, stderr).
pub(crate) fn genkan(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = genkan_e2e::server::genkan_with_config(config, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
