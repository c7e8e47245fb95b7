//! The web app in headless Chromium: the real server, a real SMTP server on loopback,
//! and a browser driven over WebDriver (`genkan_e2e::browser`). One module per screen
//! area; each test gets its own server, data directory and browser profile. A new
//! screen gets a module here, its pages a place in `xss` (every text it shows) and
//! `screenshots`, and its lists a check in `visibility` if hosts can open it.

mod appointments;
mod exports;
mod screenshots;
mod sign_in;
mod users;
mod visibility;
mod xss;
mod xss_mail;

use chrono::{DateTime, Duration, Timelike as _, Utc};
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::browser::{self, Browser};
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::{Value, json};

/// The session cookie over plain HTTP.
pub(crate) const SESSION_COOKIE: &str = "genkan_session";

/// A server with one tenant, its admin, an admin API token and an SMTP sink.
pub(crate) struct WebApp {
    /// Receives every mail the server sends.
    pub(crate) smtp: SmtpSink,
    /// The running `genkan serve`.
    pub(crate) server: Server,
    /// Admin API client.
    pub(crate) api: Api,
    /// Organisation id typed at sign-in.
    pub(crate) org: String,
    /// The tenant's first site.
    pub(crate) site_id: i64,
    /// The first admin's address.
    pub(crate) admin_email: String,
    /// The generated password `tenant create` printed.
    pub(crate) admin_password: String,
}

/// Names of a tenant as people see them.
pub(crate) struct TenantNames<'a> {
    /// Company name.
    pub(crate) company: &'a str,
    /// First site.
    pub(crate) site: &'a str,
    /// First admin's display name.
    pub(crate) admin: &'a str,
}

impl WebApp {
    /// A tenant `slug` with plain test names (fails when no browser driver is installed).
    pub(crate) async fn start(slug: &str) -> Self {
        let names = TenantNames {
            company: &format!("{slug} Corporation"),
            site: "Tokyo HQ",
            admin: "Admin",
        };
        Self::start_named(slug, &names).await
    }

    /// A tenant `slug` with the given names.
    pub(crate) async fn start_named(slug: &str, names: &TenantNames<'_>) -> Self {
        browser::require();
        let smtp = SmtpSink::start(Mode::Accept).await;
        let server = Server::start(&ServerOptions::with_smtp(smtp.port));
        let tenant = server.create_tenant_named(slug, names.company, names.site, names.admin);
        let admin_email = tenant["admin_email"].as_str().unwrap().to_owned();
        let token = server.create_token(slug, &admin_email, "admin");
        Self {
            api: Api::new(&server.url, Some(&token)),
            smtp,
            org: slug.to_owned(),
            site_id: tenant["site_id"].as_i64().unwrap(),
            admin_password: tenant["admin_password"].as_str().unwrap().to_owned(),
            admin_email,
            server,
        }
    }

    /// A browser preferring `lang` (`ja` or `en`) pointed at this server.
    pub(crate) async fn browser(&self, lang: &str) -> Browser {
        Browser::launch(&self.server.url, lang).await
    }

    /// A browser signed in as the tenant's admin.
    pub(crate) async fn admin_browser(&self, lang: &str) -> Browser {
        let browser = self.browser(lang).await;
        let landed = browser
            .sign_in(&self.org, &self.admin_email, &self.admin_password)
            .await;
        assert!(
            landed.starts_with("/dashboard"),
            "sign-in ended on {landed}"
        );
        browser
    }

    /// Creates a user with a password through the admin API; returns its id.
    pub(crate) async fn user(&self, email: &str, name: &str, role: &str, password: &str) -> i64 {
        self.api
            .create_user_with_password(email, name, role, password)
            .await
            .ok()["id"]
            .as_i64()
            .unwrap()
    }

    /// Creates an appointment through the admin API at `starts_at` for an hour.
    pub(crate) async fn appointment(
        &self,
        site_id: i64,
        host_id: i64,
        title: &str,
        starts_at: DateTime<Utc>,
        visitors: Value,
    ) -> Value {
        self.api
            .create_appointment_with_passes(json!({
                "site_id": site_id,
                "host_id": host_id,
                "title": title,
                "starts_at": starts_at.to_rfc3339(),
                "ends_at": (starts_at + Duration::hours(1)).to_rfc3339(),
                "visitors": visitors,
            }))
            .await
            .ok()
    }

    /// Adds and pairs a kiosk at `site_id`; returns a client holding its credential.
    pub(crate) async fn kiosk(&self, site_id: i64, name: &str) -> Api {
        let created = self.api.create_kiosk(site_id, name).await.ok();
        let anonymous = Api::new(&self.server.url, None);
        let paired = anonymous
            .pair_kiosk(created["pairing_code"].as_str().unwrap(), name)
            .await
            .ok();
        Api::new(&self.server.url, paired["credential"].as_str())
    }
}

/// `n` start times today (in Japan, the default zone), five minutes apart and as
/// near to now as the day allows, so that every one is "expected today" and its
/// pass is already valid.
pub(crate) fn today_slots(n: usize) -> Vec<DateTime<Utc>> {
    let now = SystemClock.now();
    let jst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let local = now.with_timezone(&jst);
    let minute = local.minute() - local.minute() % 5;
    let base = local
        .with_minute(minute)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    let step = Duration::minutes(5);
    let span = step * i32::try_from(n).unwrap();
    // Late in the evening the slots go backwards so they stay on today's date.
    let forward = (base + span).date_naive() == local.date_naive();
    (0..n)
        .map(|i| {
            let offset = step * i32::try_from(i).unwrap();
            let t = if forward {
                base + offset
            } else {
                base - offset
            };
            t.with_timezone(&Utc)
        })
        .collect()
}

/// A request id the kiosk API accepts.
pub(crate) fn request_id(n: usize) -> String {
    format!("web-{n:08}")
}
