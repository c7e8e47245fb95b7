//! The harness: the real application on a loopback port with its own data directory,
//! store and manual clock, two tenants of seed data, and browsers (reqwest clients
//! with a cookie store) that sign in through the real forms.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use genkan_core::ManualClock;
use genkan_core::access::Role;
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_server::config::Config;
use genkan_server::passwords::Passwords;
use genkan_server::startup::{Application, open_store};
use genkan_store::tenants::NewTenant;
use genkan_store::{AuditCtx, KeyRing, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Every seeded account's password.
pub(crate) const PASSWORD: &str = "Blue-Lantern-Orbit-42!";
/// Admin of the main tenant.
pub(crate) const ADMIN: &str = "admin@acme.example";
/// Receptionist of the main tenant.
pub(crate) const DESK: &str = "desk@acme.example";
/// Host of the main tenant.
pub(crate) const HOST: &str = "host@acme.example";
/// Admin of the other tenant.
pub(crate) const OTHER_ADMIN: &str = "admin@other.example";

/// Timing measurements run alone: while hundreds of simultaneous requests of a
/// burst test (RACE-1) hold the CPU, a timing test would measure them instead of
/// the server. Bursts share this lock; timing tests take it whole.
pub(crate) static TIMING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A running application with its seed data.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The application's store (to check what was written).
    pub(crate) store: Store,
    /// The application's clock.
    pub(crate) clock: ManualClock,
    /// The port it listens on (all loopback addresses of its family reach it).
    pub(crate) port: u16,
    /// The main tenant (`acme`).
    pub(crate) tenant: TenantId,
    /// Another tenant (`other`), whose ids must stay invisible.
    pub(crate) other: TenantId,
    /// A site of the other tenant.
    pub(crate) other_site: SiteId,
    /// The application's password hasher (it counts the passwords it checks).
    pub(crate) passwords: Arc<Passwords>,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// A page as a browser received it.
#[derive(Debug)]
pub(crate) struct Page {
    /// HTTP status.
    pub(crate) status: u16,
    /// `Location` of a redirect.
    pub(crate) location: Option<String>,
    /// The body as text.
    pub(crate) body: String,
    /// The request id the server answered with.
    pub(crate) request_id: Option<String>,
}

impl Page {
    /// Panics unless this is a redirect (303) to a location starting with `prefix`.
    #[track_caller]
    pub(crate) fn assert_redirect(&self, prefix: &str) {
        assert_eq!(
            self.status, 303,
            "expected a redirect, got {}: {}",
            self.status, self.body
        );
        let to = self.location.as_deref().unwrap_or_default();
        assert!(
            to.starts_with(prefix),
            "redirected to {to}, expected {prefix}…"
        );
    }

    /// The error text shown next to field `name`.
    pub(crate) fn field_error(&self, name: &str) -> Option<String> {
        let marker = format!("id=\"{name}-error\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('<')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// Whether field `name` is marked invalid.
    pub(crate) fn is_invalid(&self, name: &str) -> bool {
        self.body.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"{name}-error\""
        ))
    }

    /// Every value of attribute `attr` in the page, in order.
    pub(crate) fn attr_values(&self, attr: &str) -> Vec<String> {
        let marker = format!("{attr}=\"");
        self.body
            .split(&marker)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }
}

/// A signed-in browser.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    jar: Arc<reqwest::cookie::Jar>,
    /// This session's CSRF token.
    pub(crate) csrf: String,
}

/// A client with its own cookie jar, connecting from `local` (any 127.0.0.0/8
/// address, or `::1`) when given.
fn http_client(
    lang: &str,
    jar: &Arc<reqwest::cookie::Jar>,
    local: Option<std::net::IpAddr>,
) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_str(lang).unwrap(),
    );
    reqwest::Client::builder()
        .cookie_provider(Arc::clone(jar))
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        .local_address(local)
        .build()
        .unwrap()
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    Page {
        status,
        location,
        body,
        request_id,
    }
}

fn encode(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// A file part of a multipart form.
pub(crate) struct FilePart<'a> {
    /// Field name.
    pub(crate) field: &'a str,
    /// File name.
    pub(crate) name: &'a str,
    /// Declared content type.
    pub(crate) content_type: &'a str,
    /// Content.
    pub(crate) bytes: &'a [u8],
}

/// A `multipart/form-data` body: (content type, bytes).
pub(crate) fn multipart(fields: &[(&str, &str)], file: &FilePart<'_>) -> (String, Vec<u8>) {
    let boundary = "----genkan-test-boundary-7d3f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            file.field, file.name, file.content_type
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Browser {
    /// The value of this browser's session cookie, if it has one.
    pub(crate) fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url: reqwest::Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix("genkan_session="))
            .map(str::to_owned)
    }

    /// GET `path` with extra request headers.
    pub(crate) async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }

    /// GET `path`.
    pub(crate) async fn get(&self, path: &str) -> Page {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GET raw bytes of `path`: (status, content type, bytes).
    pub(crate) async fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, r.bytes().await.unwrap().to_vec())
    }

    /// POSTs a form with this session's CSRF token added.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, None).await
    }

    /// POSTs a form with this session's CSRF token and extra request headers.
    pub(crate) async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(encode(&all));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }

    /// Sends a JSON API request with a bearer token: (status, request id, body).
    pub(crate) async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Option<String>, serde_json::Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, id, r.json().await.unwrap_or_default())
    }

    /// POSTs a form exactly as given, optionally with an `Origin` header.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(encode(fields));
        if let Some(o) = origin {
            req = req.header(reqwest::header::ORIGIN, o);
        }
        read(req.send().await.unwrap()).await
    }

    /// POSTs a multipart form with one file, this session's CSRF token first.
    pub(crate) async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: &FilePart<'_>,
    ) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.upload_raw(path, &all, file).await
    }

    /// POSTs a multipart form exactly as given.
    pub(crate) async fn upload_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: &FilePart<'_>,
    ) -> Page {
        let (content_type, body) = multipart(fields, file);
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        read(req.send().await.unwrap()).await
    }
}

pub(crate) fn ctx(tenant: Option<TenantId>, at: DateTime<Utc>) -> AuditCtx {
    AuditCtx::system(tenant, at)
}

/// The moment every test starts at: 10:00 in Tokyo.
pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

async fn seed_user(
    store: &Store,
    hasher: &Passwords,
    tenant: TenantId,
    email: &str,
    name: &str,
    role: Role,
) {
    store
        .create_user(
            tenant,
            EmailAddress::parse(email).unwrap(),
            DisplayName::parse(name).unwrap(),
            role,
            Some(hasher.hash(PASSWORD)),
            ctx(Some(tenant), start()),
        )
        .await
        .unwrap();
}

async fn seed_tenant(store: &Store, slug: &str, name: &str) -> TenantId {
    store
        .create_tenant(
            NewTenant {
                slug: slug.to_owned(),
                name: OrgName::parse(name).unwrap(),
                default_locale: Locale::Ja,
                time_zone: TimeZone::default(),
            },
            ctx(None, start()),
        )
        .await
        .unwrap()
        .id
}

impl TestApp {
    /// Starts the application with two seeded tenants.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}, "127.0.0.1:0").await
    }

    /// Starts the application with a changed configuration, listening on `bind`
    /// (`[::]:0` accepts IPv6 and, as IPv4-mapped addresses, IPv4 clients).
    pub(crate) async fn spawn_with(tweak: impl FnOnce(&mut Config), bind: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.data.dir = dir.path().to_path_buf();
        config.data.readers = 2;
        config.auth.argon2_memory_kib = 256;
        config.auth.argon2_iterations = 1;
        // The router runs in this test binary: tenant templates render in the real
        // `genkan` binary's sandbox.
        config.templates.sandbox_program = env!("CARGO_BIN_EXE_genkan").into();
        tweak(&mut config);
        let store = open_store(&config, KeyRing::generate()).unwrap();
        let clock = ManualClock::new(start());
        let hasher = Passwords::new(&config.auth);
        let tenant = seed_tenant(&store, "acme", "Acme Corp").await;
        seed_user(&store, &hasher, tenant, ADMIN, "Aiko Admin", Role::Admin).await;
        seed_user(
            &store,
            &hasher,
            tenant,
            DESK,
            "Daichi Desk",
            Role::Receptionist,
        )
        .await;
        seed_user(&store, &hasher, tenant, HOST, "Hana Host", Role::Host).await;
        let other = seed_tenant(&store, "other", "Other Inc").await;
        seed_user(
            &store,
            &hasher,
            other,
            OTHER_ADMIN,
            "Otto Other",
            Role::Admin,
        )
        .await;
        let other_site = store
            .create_site(
                other,
                OrgName::parse("Other HQ").unwrap(),
                TimeZone::default(),
                String::new(),
                ctx(Some(other), start()),
            )
            .await
            .unwrap()
            .id;
        let listener = TcpListener::bind(bind).await.unwrap();
        let app =
            Application::build(config, store.clone(), Arc::new(clock.clone()), listener).unwrap();
        let addr: SocketAddr = app.local_addr().unwrap();
        let passwords = Arc::clone(&app.state().passwords);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://127.0.0.1:{}", addr.port()),
            store,
            clock,
            port: addr.port(),
            tenant,
            other,
            other_site,
            passwords,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    /// A browser that is not signed in (English).
    pub(crate) fn anonymous(&self) -> Browser {
        self.anonymous_from(None)
    }

    /// A browser that is not signed in, connecting from `ip` (e.g. `127.0.0.2`, `::1`).
    pub(crate) fn anonymous_from(&self, ip: Option<&str>) -> Browser {
        let local: Option<std::net::IpAddr> = ip.map(|i| i.parse().unwrap());
        let base = match local {
            Some(std::net::IpAddr::V6(_)) => format!("http://[::1]:{}", self.port),
            _ => self.base.clone(),
        };
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Browser {
            http: http_client("en", &jar, local),
            base,
            jar,
            csrf: String::new(),
        }
    }

    /// Posts the sign-in form from `ip`: the browser and the answer to the post.
    pub(crate) async fn password_step(
        &self,
        email: &str,
        password: &str,
        ip: Option<&str>,
    ) -> (Browser, Page) {
        let browser = self.anonymous_from(ip);
        let organisation = if email.ends_with("@other.example") {
            "other"
        } else {
            "acme"
        };
        let form = browser.get("/login").await;
        let pre = csrf_of(&form.body);
        let page = browser
            .post_raw(
                "/login",
                &[
                    ("csrf", &pre),
                    ("organisation", organisation),
                    ("email", email),
                    ("password", password),
                ],
                None,
            )
            .await;
        (browser, page)
    }

    /// Signs in through the real sign-in form; panics if it fails.
    pub(crate) async fn sign_in(&self, email: &str) -> Browser {
        self.sign_in_with(email, PASSWORD)
            .await
            .expect("sign-in failed")
    }

    /// Signs in with `password`; `None` if the server did not let the user in.
    pub(crate) async fn sign_in_with(&self, email: &str, password: &str) -> Option<Browser> {
        self.sign_in_from(email, password, None).await
    }

    /// Signs in from `ip` with `password`; `None` unless the sign-in is complete
    /// (a second factor still to come counts as not signed in).
    pub(crate) async fn sign_in_from(
        &self,
        email: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Option<Browser> {
        let (mut browser, page) = self.password_step(email, password, ip).await;
        if page.status != 303 || page.location.as_deref() != Some("/dashboard?notice=signed_in") {
            return None;
        }
        let account = browser.get("/account").await;
        assert_eq!(account.status, 200, "{}", account.body);
        browser.csrf = csrf_of(&account.body);
        Some(browser)
    }

    /// The id of a user of the main tenant.
    pub(crate) async fn user_id(&self, email: &str) -> UserId {
        self.user_id_in(self.tenant, email).await
    }

    /// The id of a user of `tenant`.
    pub(crate) async fn user_id_in(&self, tenant: TenantId, email: &str) -> UserId {
        self.store
            .user_credentials(tenant, &EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .expect("no such user")
            .0
            .id
    }
}

/// The session CSRF token of a page's forms.
pub(crate) fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("no CSRF field on the page") + marker.len();
    body[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
