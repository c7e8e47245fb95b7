//! The harness: a store in a temporary data directory with a manual clock, the
//! scheduler's jobs, seeded tenants with visits, and (when a test needs HTTP) the
//! real application on a loopback port with browsers that sign in through the forms.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use genkan_core::ManualClock;
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_server::config::Config;
use genkan_server::jobs::{JobContext, Scheduler};
use genkan_server::passwords::Passwords;
use genkan_server::startup::{Application, open_store};
use genkan_store::kiosks::KioskAuth;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Every seeded admin's password.
pub(crate) const PASSWORD: &str = "Blue-Lantern-Orbit-42!";

/// 10:00 in Tokyo.
pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

/// A data directory, its store and configuration, and a manual clock.
pub(crate) struct Ops {
    pub(crate) store: Store,
    pub(crate) keys: KeyRing,
    pub(crate) clock: ManualClock,
    pub(crate) config: Arc<Config>,
    _dir: tempfile::TempDir,
}

/// A seeded tenant.
#[derive(Debug, Clone)]
pub(crate) struct Seeded {
    pub(crate) id: TenantId,
    pub(crate) slug: String,
    pub(crate) site: SiteId,
    pub(crate) admin: UserId,
    pub(crate) admin_email: String,
    pub(crate) kiosk: KioskAuth,
    pub(crate) kiosk_credential: String,
}

impl Ops {
    /// A fresh directory; with `backups`, two destinations `backups-a` and `backups-b`.
    pub(crate) fn new(backups: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.data.dir = dir.path().join("data");
        std::fs::create_dir_all(&config.data.dir).unwrap();
        config.data.readers = 2;
        config.auth.argon2_memory_kib = 256;
        config.auth.argon2_iterations = 1;
        config.server.public_url = "http://127.0.0.1".into();
        if backups {
            config.backup.destinations =
                vec![dir.path().join("backups-a"), dir.path().join("backups-b")];
        }
        let keys = KeyRing::generate();
        let store = open_store(&config, keys.clone()).unwrap();
        Self {
            store,
            keys,
            clock: ManualClock::new(start()),
            config: Arc::new(config),
            _dir: dir,
        }
    }

    /// The backup destinations.
    pub(crate) fn destinations(&self) -> Vec<PathBuf> {
        self.config.backup.destinations.clone()
    }

    /// A scheduler with the standard jobs on this store and clock.
    pub(crate) fn scheduler(&self) -> Scheduler {
        Scheduler::new(JobContext {
            store: self.store.clone(),
            clock: Arc::new(self.clock.clone()),
            config: Arc::clone(&self.config),
        })
    }

    fn ctx(&self, tenant: Option<TenantId>) -> AuditCtx {
        AuditCtx::system(tenant, genkan_core::Clock::now(&self.clock))
    }

    /// Creates tenant `slug` with a site, an admin (who also hosts) and a paired kiosk.
    pub(crate) async fn tenant(&self, slug: &str) -> Seeded {
        let t = self
            .store
            .create_tenant(
                NewTenant {
                    slug: slug.into(),
                    name: OrgName::parse(&format!("{slug} Inc")).unwrap(),
                    default_locale: Locale::En,
                    time_zone: TimeZone::default(),
                },
                self.ctx(None),
            )
            .await
            .unwrap();
        let site = self
            .store
            .create_site(
                t.id,
                OrgName::parse("HQ").unwrap(),
                TimeZone::default(),
                String::new(),
                self.ctx(Some(t.id)),
            )
            .await
            .unwrap();
        let admin_email = format!("admin@{slug}.example");
        let hash = Passwords::new(&self.config.auth).hash(PASSWORD);
        let admin = self
            .store
            .create_user(
                t.id,
                EmailAddress::parse(&admin_email).unwrap(),
                DisplayName::parse("Aiko Admin").unwrap(),
                Role::Admin,
                Some(hash),
                self.ctx(Some(t.id)),
            )
            .await
            .unwrap();
        let new = self
            .store
            .create_kiosk(t.id, site.id, "Lobby".into(), self.ctx(Some(t.id)))
            .await
            .unwrap();
        let paired = self
            .store
            .pair_kiosk(&new.pairing_code, None, self.ctx(None))
            .await
            .unwrap()
            .unwrap();
        let kiosk = self
            .store
            .kiosk_by_credential(&paired.credential)
            .await
            .unwrap()
            .unwrap();
        Seeded {
            id: t.id,
            slug: slug.into(),
            site: site.id,
            admin: admin.id,
            admin_email,
            kiosk,
            kiosk_credential: paired.credential,
        }
    }

    /// An appointment for `name` today, its visitor checked in at the kiosk; returns
    /// (visitor id, the pass's QR token).
    pub(crate) async fn visit(&self, t: &Seeded, name: &str, email: &str) -> (i64, String) {
        self.appointment(t, name, email, true).await
    }

    /// An appointment for `name` today, checked in at the kiosk if `check_in`.
    pub(crate) async fn appointment(
        &self,
        t: &Seeded,
        name: &str,
        email: &str,
        check_in: bool,
    ) -> (i64, String) {
        let now = genkan_core::Clock::now(&self.clock);
        let input = AppointmentInput {
            site_id: t.site,
            host_id: t.admin,
            title: Some(format!("Meeting with {name}")),
            starts_at: now,
            ends_at: now + Duration::hours(1),
            valid_from_date: None,
            valid_until_date: None,
            visitors: vec![VisitorInput {
                name: name.into(),
                email: Some(email.into()),
                company: Some(format!("{name} Trading")),
                phone: Some("+81 3 1234 5678".into()),
                ..VisitorInput::default()
            }],
        };
        let created = self
            .store
            .create_appointment(
                t.id,
                input.validate(Locale::En).unwrap(),
                self.ctx(Some(t.id)),
            )
            .await
            .unwrap()
            .unwrap();
        let token = created.passes[0].token.clone();
        if !check_in {
            return (created.passes[0].visitor_id.get(), token.encode());
        }
        let presented = Presented {
            request_id: format!("req-{}", created.passes[0].visitor_id),
            key: PassKey::Token(token.hash()),
            offline_at: None,
        };
        self.store
            .check_in(t.kiosk, presented, self.ctx(Some(t.id)))
            .await
            .unwrap()
            .unwrap();
        (created.passes[0].visitor_id.get(), token.encode())
    }

    /// Starts the real application on this store and clock.
    pub(crate) async fn serve(&self) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = Application::build(
            (*self.config).clone(),
            self.store.clone(),
            Arc::new(self.clock.clone()),
            listener,
        )
        .unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        Running { base, _stop: tx }
    }
}

/// A running application; stops when dropped.
pub(crate) struct Running {
    pub(crate) base: String,
    _stop: oneshot::Sender<()>,
}

/// A browser with a cookie jar.
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) csrf: String,
}

fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("no CSRF field") + marker.len();
    body[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Browser {
    /// Signs in through the real form.
    pub(crate) async fn sign_in(base: &str, t: &Seeded) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static("en"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = http
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", csrf_of(&form).as_str()),
                ("organisation", t.slug.as_str()),
                ("email", t.admin_email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            303,
            "sign-in failed: {}",
            r.text().await.unwrap_or_default()
        );
        let account = http
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Self {
            csrf: csrf_of(&account),
            http,
            base: base.to_owned(),
        }
    }

    /// GET: (status, body).
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// POSTs a form with the CSRF token: (status, headers, body bytes).
    pub(crate) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.bytes().await.unwrap().to_vec())
    }
}
