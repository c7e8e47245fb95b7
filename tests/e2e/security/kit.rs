//! Shared setup of the pass, CSV, crypto, DoS and sqlmap batteries: tenants with tokens, kiosks and passes, and web sessions over plain HTTP.

use chrono::{DateTime, Duration, Utc};
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::Server;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};

/// A tenant made through the command line and the admin API.
pub(crate) struct Org {
    /// Organisation id typed at sign-in.
    pub(crate) slug: String,
    /// Admin API client.
    pub(crate) admin: Api,
    /// The admin's API token.
    pub(crate) token: String,
    /// The first site.
    pub(crate) site_id: i64,
    /// The first admin (also the host of the test appointments).
    pub(crate) admin_id: i64,
    /// The first admin's address.
    pub(crate) admin_email: String,
    /// The first admin's generated password.
    pub(crate) admin_password: String,
    /// Paired kiosks at the first site.
    pub(crate) kiosks: Vec<Api>,
    /// Their credentials, in the same order.
    pub(crate) kiosk_credentials: Vec<String>,
}

/// Creates tenant `slug` with an admin token and `kiosks` kiosks paired at its first site.
pub(crate) async fn org(server: &Server, slug: &str, kiosks: usize) -> Org {
    let created = server.create_tenant(slug);
    let admin_email = created["admin_email"].as_str().unwrap().to_owned();
    let token = server.create_token(slug, &admin_email, "admin");
    let admin = Api::new(&server.url, Some(&token));
    let site_id = created["site_id"].as_i64().unwrap();
    let mut org = Org {
        slug: slug.to_owned(),
        admin,
        token,
        site_id,
        admin_id: created["admin_id"].as_i64().unwrap(),
        admin_email,
        admin_password: created["admin_password"].as_str().unwrap().to_owned(),
        kiosks: Vec::new(),
        kiosk_credentials: Vec::new(),
    };
    for i in 0..kiosks {
        let credential = org
            .pair_kiosk(&server.url, site_id, &format!("Kiosk {i}"))
            .await;
        org.kiosks.push(Api::new(&server.url, Some(&credential)));
        org.kiosk_credentials.push(credential);
    }
    org
}

impl Org {
    /// Adds a kiosk at `site_id` and pairs it; returns its credential.
    pub(crate) async fn pair_kiosk(&self, base: &str, site_id: i64, name: &str) -> String {
        let created = self.admin.create_kiosk(site_id, name).await.ok();
        let paired = Api::new(base, None)
            .pair_kiosk(created["pairing_code"].as_str().unwrap(), name)
            .await
            .ok();
        paired["credential"].as_str().unwrap().to_owned()
    }

    /// An appointment hosted by the first admin at `site_id` from `starts_at` for an
    /// hour, with `visitors`; returns the answer with its passes.
    pub(crate) async fn appointment_at(
        &self,
        site_id: i64,
        starts_at: DateTime<Utc>,
        title: &str,
        visitors: Value,
    ) -> Value {
        self.admin
            .create_appointment_with_passes(json!({
                "site_id": site_id, "host_id": self.admin_id, "title": title,
                "starts_at": starts_at.to_rfc3339(),
                "ends_at": (starts_at + Duration::hours(1)).to_rfc3339(),
                "visitors": visitors,
            }))
            .await
            .ok()
    }

    /// Passes valid now at the first site, one per name: (token, code) pairs.
    pub(crate) async fn passes_now(&self, names: &[&str]) -> Vec<(String, String)> {
        let visitors: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
        let created = self
            .appointment_at(self.site_id, SystemClock.now(), "Meeting", json!(visitors))
            .await;
        pass_secrets(&created)
    }
}

/// The (token, code) of every pass of a created appointment.
pub(crate) fn pass_secrets(created: &Value) -> Vec<(String, String)> {
    created["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["token"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A signed-in browser session driven with plain HTTP requests: its cookies and the
/// session's CSRF token.
pub(crate) struct WebSession {
    base: String,
    http: reqwest::Client,
    /// The `Cookie` header to send.
    pub(crate) cookie: String,
    /// The session's CSRF token (the `csrf` field of every form).
    pub(crate) csrf: String,
}

/// An HTTP answer: status, headers and body.
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: u16,
    /// Response headers.
    pub(crate) headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client that follows no redirects.
pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `name=value` of every cookie a response sets.
pub(crate) fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// The value of the first `name="csrf" value="…"` field of a page.
pub(crate) fn csrf_field(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

impl WebSession {
    /// Signs in through the real sign-in form; panics unless the sign-in completes.
    pub(crate) async fn sign_in(base: &str, org: &str, email: &str, password: &str) -> Self {
        Self::sign_in_with(no_redirects(), base, org, email, password).await
    }

    /// Like [`Self::sign_in`], with `http` (e.g. a client trusting a test certificate;
    /// it must not follow redirects).
    pub(crate) async fn sign_in_with(
        http: reqwest::Client,
        base: &str,
        org: &str,
        email: &str,
        password: &str,
    ) -> Self {
        let form = http.get(format!("{base}/login")).send().await.unwrap();
        let pre = set_cookies(form.headers()).join("; ");
        let csrf = csrf_field(&form.text().await.unwrap());
        let answer = http
            .post(format!("{base}/login"))
            .header(COOKIE, &pre)
            .header(ORIGIN, base)
            .form(&[
                ("csrf", csrf.as_str()),
                ("organisation", org),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "sign-in of {email} at {org}");
        let cookie = set_cookies(answer.headers())
            .into_iter()
            .filter(|c| !c.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ");
        let mut session = Self {
            base: base.to_owned(),
            http,
            cookie,
            csrf: String::new(),
        };
        let account = session.get("/account").await;
        assert_eq!(account.status, 200, "signed in: {}", account.text());
        session.csrf = csrf_field(&account.text());
        session
    }

    /// GET `path` with the session.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// Any request with the session from the server's own origin, without a body.
    pub(crate) async fn send(&self, method: reqwest::Method, path: &str) -> Reply {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, &self.base)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// POSTs a form (the CSRF token added first) from the server's own origin.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, &self.base)
            .form(&all)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// POSTs a multipart form with the CSRF token and one file `field` named `name`.
    pub(crate) async fn upload(&self, path: &str, field: &str, name: &str, bytes: &[u8]) -> Reply {
        let (content_type, body) = multipart(&self.csrf, field, name, bytes);
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, &self.base)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        read(r).await
    }
}

/// Status, headers and body of an answer.
pub(crate) async fn read(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap_or_default().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// A `multipart/form-data` body with the `csrf` field and one file: (content type, bytes).
pub(crate) fn multipart(csrf: &str, field: &str, name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----genkan-security-boundary-5c1e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
