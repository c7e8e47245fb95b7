//! A notification lab: the real server with every channel configured against
//! loopback peers (SMTP server, Slack webhook, a stand-in for the Slack Web API and
//! Chatwork, Teams, a webhook receiver), quick retries, and helpers to check visitors
//! in through the kiosk API. Used by the FLT-1 test and the notification benchmarks.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::api::Api;
use crate::receiver::{Answer, Receiver};
use crate::server::{Server, ServerOptions, prepare};
use crate::smtp::{Mode, SmtpSink};

/// The loopback peers.
#[derive(Clone)]
pub struct Peers {
    /// The SMTP server.
    pub smtp: SmtpSink,
    /// Slack incoming webhook.
    pub slack: Receiver,
    /// Slack Web API and Chatwork API stand-in.
    pub api: Receiver,
    /// Teams workflow URL.
    pub teams: Receiver,
    /// Generic webhook receiver.
    pub hook: Receiver,
}

impl Peers {
    /// Starts all peers healthy.
    pub async fn start() -> Self {
        Self {
            smtp: SmtpSink::start(Mode::Accept).await,
            slack: Receiver::start(Answer::Ok).await,
            api: Receiver::start(Answer::Api).await,
            teams: Receiver::start(Answer::Ok).await,
            hook: Receiver::start(Answer::Ok).await,
        }
    }

    /// Sets every HTTP peer to `answer` (the API stand-in to `Api` when `Ok`).
    pub fn set_http(&self, answer: Answer) {
        self.slack.set_answer(answer);
        self.teams.set_answer(answer);
        self.hook.set_answer(answer);
        self.api.set_answer(if answer == Answer::Ok {
            Answer::Api
        } else {
            answer
        });
    }
}

/// Writes a configuration for a server talking to `peers`, with `notify` as the
/// `[notify]` section and the API stand-in as Slack's and Chatwork's API.
pub fn configure(dir: &std::path::Path, peers: &Peers, notify: &str) -> PathBuf {
    let path = prepare(
        dir,
        &ServerOptions {
            smtp_port: Some(peers.smtp.port),
            extra_toml: format!("\n[notify]\n{notify}\n"),
        },
    );
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "[outbound]\n",
        &format!(
            "[outbound]\nslack_api_url = \"{0}/api\"\nchatwork_api_url = \"{0}/v2\"\n",
            peers.api.url
        ),
        1,
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A tenant with a host, every channel configured, and paired kiosks.
pub struct Lab {
    /// Admin API client.
    pub api: Api,
    /// Site id.
    pub site_id: i64,
    /// Host user id.
    pub host_id: i64,
    /// Kiosk credentials.
    pub kiosks: Vec<String>,
    /// The generic webhook's secret (shown once by the API).
    pub webhook_secret: String,
}

/// The host's address.
pub const HOST: &str = "host@lab.example";

impl Lab {
    /// Creates the tenant `lab` on `server` with every channel pointed at `peers`.
    pub async fn set_up(server: &Server, peers: &Peers, kiosks: usize) -> Self {
        let tenant = server.create_tenant("lab");
        let site_id = tenant["site_id"].as_i64().unwrap();
        let token = server.create_token("lab", "admin@lab.example", "admin");
        let api = Api::new(&server.url, Some(&token));
        let host = api.create_user(HOST, "Lab Host", "host").await.ok();
        api.set_slack(&format!("{}/services/T/B/x", peers.slack.url))
            .await
            .ok();
        api.put(
            "/api/v1/settings/slack-bot",
            json!({"bot_token": "xoxb-lab-1", "signing_secret": "labsecret1"}),
        )
        .await
        .ok();
        api.put(
            "/api/v1/settings/teams",
            json!({"url": format!("{}/workflows/lab", peers.teams.url)}),
        )
        .await
        .ok();
        api.put(
            "/api/v1/settings/chatwork",
            json!({"token": "cw-lab", "room_id": "77"}),
        )
        .await
        .ok();
        let secret = api
            .put(
                "/api/v1/settings/webhook",
                json!({"url": format!("{}/genkan", peers.hook.url)}),
            )
            .await
            .ok()["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut creds = Vec::new();
        for i in 0..kiosks {
            let created = api.create_kiosk(site_id, &format!("Kiosk {i}")).await.ok();
            let paired = api
                .pair_kiosk(created["pairing_code"].as_str().unwrap(), "lab")
                .await
                .ok();
            creds.push(paired["credential"].as_str().unwrap().to_owned());
        }
        Self {
            api,
            site_id,
            host_id: host["id"].as_i64().unwrap(),
            kiosks: creds,
            webhook_secret: secret,
        }
    }

    /// Invites `names` (addresses `<lowercase name without spaces>@visitor.example`)
    /// to an appointment starting now; returns their pass tokens in order.
    pub async fn invite(&self, names: &[String]) -> Vec<String> {
        let now = genkan_core::Clock::now(&genkan_core::SystemClock);
        let visitors: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "email": visitor_email(n), "locale": "en"}))
            .collect();
        let created = self
            .api
            .create_appointment_with_passes(json!({
                "site_id": self.site_id, "host_id": self.host_id, "title": "lab",
                "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
                "visitors": visitors,
            }))
            .await
            .ok();
        created["passes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["token"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The address a lab visitor is invited at.
pub fn visitor_email(name: &str) -> String {
    format!(
        "{}@visitor.example",
        name.to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    )
}
