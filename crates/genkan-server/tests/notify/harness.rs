//! A store with one tenant (site, host, paired kiosk), a manual clock, and a
//! notifier driven step by step with `deliver()`; or the whole application on a
//! loopback port for the HTTP routes.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use genkan_core::ManualClock;
use genkan_core::access::Role;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{SiteId, TenantId, UserId, VisitId};
use genkan_core::pass::PassToken;
use genkan_core::tenant::TimeZone;
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use genkan_server::config::{Config, MailTransport, SmtpTls};
use genkan_server::notify::Notifier;
use genkan_server::startup::{Application, open_store};
use genkan_store::kiosks::KioskAuth;
use genkan_store::outbox::MessageState;
use genkan_store::tenants::NewTenant;
use genkan_store::visits::{PassKey, Presented};
use genkan_store::{AuditCtx, KeyRing, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The host's address.
pub(crate) const HOST: &str = "tanaka@acme.example";

/// 10:00 in Tokyo.
pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

/// A configuration for tests: SMTP (plain) to `smtp_port`, private networks allowed,
/// short timeouts, and quick retries.
pub(crate) fn config(smtp_port: Option<u16>) -> Config {
    let mut c = Config::default();
    if let Some(port) = smtp_port {
        c.mail.transport = MailTransport::Smtp;
        c.mail.host = "127.0.0.1".to_owned();
        c.mail.port = port;
        c.mail.tls = SmtpTls::None;
        c.mail.from = "Reception <reception@acme.example>".to_owned();
        c.mail.timeout_secs = 2;
    }
    c.outbound.allow_private_networks = true;
    c.outbound.timeout_secs = 2;
    c.server.public_url = "http://genkan.test".to_owned();
    c.data.readers = 2;
    c.auth.argon2_memory_kib = 256;
    c.auth.argon2_iterations = 1;
    // The notifier runs in this test binary: tenant templates render in the real
    // `genkan` binary's sandbox.
    c.templates.sandbox_program = env!("CARGO_BIN_EXE_genkan").into();
    c
}

pub(crate) struct Harness {
    pub(crate) store: Store,
    pub(crate) clock: ManualClock,
    pub(crate) notifier: Arc<Notifier>,
    pub(crate) config: Config,
    pub(crate) tenant: TenantId,
    pub(crate) site: SiteId,
    pub(crate) host: UserId,
    pub(crate) kiosk: KioskAuth,
    pub(crate) credential: String,
    _dir: tempfile::TempDir,
    requests: std::sync::atomic::AtomicUsize,
}

pub(crate) fn sys(tenant: TenantId, at: DateTime<Utc>) -> AuditCtx {
    AuditCtx::system(Some(tenant), at)
}

impl Harness {
    pub(crate) async fn new(config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config;
        config.data.dir = dir.path().to_path_buf();
        let store = open_store(&config, KeyRing::generate()).unwrap();
        let clock = ManualClock::new(start());
        let ctx = AuditCtx::system(None, start());
        let tenant = store
            .create_tenant(
                NewTenant {
                    slug: "acme".into(),
                    name: OrgName::parse("Acme Corp").unwrap(),
                    default_locale: Locale::En,
                    time_zone: TimeZone::default(),
                },
                ctx,
            )
            .await
            .unwrap()
            .id;
        let site = store
            .create_site(
                tenant,
                OrgName::parse("Tokyo HQ").unwrap(),
                TimeZone::default(),
                "1-1 Chiyoda".into(),
                sys(tenant, start()),
            )
            .await
            .unwrap()
            .id;
        let host = store
            .create_user(
                tenant,
                EmailAddress::parse(HOST).unwrap(),
                DisplayName::parse("Tanaka Ichiro").unwrap(),
                Role::Host,
                Some("$argon2id$placeholder".into()),
                sys(tenant, start()),
            )
            .await
            .unwrap()
            .id;
        let new = store
            .create_kiosk(tenant, site, "Lobby".into(), sys(tenant, start()))
            .await
            .unwrap();
        let paired = store
            .pair_kiosk(
                &new.pairing_code,
                Some("ipad".into()),
                AuditCtx::system(None, start()),
            )
            .await
            .unwrap()
            .unwrap();
        let kiosk = store
            .kiosk_by_credential(&paired.credential)
            .await
            .unwrap()
            .unwrap();
        let notifier = Arc::new(
            Notifier::new(
                store.clone(),
                Arc::new(clock.clone()),
                Arc::new(config.clone()),
            )
            .unwrap(),
        );
        Self {
            store,
            clock,
            notifier,
            config,
            tenant,
            site,
            host,
            kiosk,
            credential: paired.credential,
            _dir: dir,
            requests: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Adds a staff user.
    pub(crate) async fn user(&self, email: &str, name: &str) -> UserId {
        self.store
            .create_user(
                self.tenant,
                EmailAddress::parse(email).unwrap(),
                DisplayName::parse(name).unwrap(),
                Role::Host,
                Some("$argon2id$placeholder".into()),
                sys(self.tenant, self.clock.now_utc()),
            )
            .await
            .unwrap()
            .id
    }

    /// An appointment starting `starts_in` from now with visitors `names`
    /// (addresses `<first>@visitor.example`); returns the pass tokens.
    pub(crate) async fn appointment_at(
        &self,
        starts_in: Duration,
        names: &[&str],
    ) -> Vec<PassToken> {
        let at = self.clock.now_utc() + starts_in;
        let input = AppointmentInput {
            site_id: self.site,
            host_id: self.host,
            title: Some("Review".into()),
            starts_at: at,
            ends_at: at + Duration::hours(1),
            valid_from_date: None,
            valid_until_date: None,
            visitors: names
                .iter()
                .map(|n| VisitorInput {
                    name: (*n).into(),
                    email: Some(format!(
                        "{}@visitor.example",
                        n.split_whitespace()
                            .next()
                            .unwrap_or("x")
                            .to_lowercase()
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .collect::<String>()
                    )),
                    locale: Some("en".into()),
                    ..VisitorInput::default()
                })
                .collect(),
        };
        let created = self
            .store
            .create_appointment(
                self.tenant,
                input.validate(Locale::En).unwrap(),
                sys(self.tenant, self.clock.now_utc()),
            )
            .await
            .unwrap()
            .unwrap();
        created.passes.iter().map(|p| p.token.clone()).collect()
    }

    /// An appointment starting now.
    pub(crate) async fn appointment(&self, names: &[&str]) -> Vec<PassToken> {
        self.appointment_at(Duration::zero(), names).await
    }

    /// Checks a pass in at the kiosk.
    pub(crate) async fn check_in(&self, token: &PassToken) -> VisitId {
        let n = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer = self
            .store
            .check_in(
                self.kiosk,
                Presented {
                    request_id: format!("test-req-{n:08}"),
                    key: PassKey::Token(token.hash()),
                    offline_at: None,
                },
                sys(self.tenant, self.clock.now_utc()),
            )
            .await
            .unwrap()
            .unwrap();
        VisitId(answer.visit_id)
    }

    /// Delivers what is due now; returns how many messages were attempted.
    pub(crate) async fn deliver(&self) -> usize {
        self.notifier.run_once().await.unwrap()
    }

    /// Moves the clock.
    pub(crate) fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    /// Every message of the tenant, oldest first.
    pub(crate) async fn messages(&self) -> Vec<MessageState> {
        let mut out = Vec::new();
        for id in self.store.message_ids(self.tenant).await.unwrap() {
            out.push(self.store.message_state(id).await.unwrap());
        }
        out
    }

    /// Starts the whole application on this store and clock (its worker runs).
    pub(crate) async fn serve(&self) -> RunningApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = Application::build(
            self.config.clone(),
            self.store.clone(),
            Arc::new(self.clock.clone()),
            listener,
        )
        .unwrap();
        let addr: SocketAddr = app.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        RunningApp {
            base: format!("http://{addr}"),
            _stop: tx,
        }
    }
}

/// A running application; stops when dropped.
pub(crate) struct RunningApp {
    pub(crate) base: String,
    _stop: oneshot::Sender<()>,
}

pub(crate) trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        genkan_core::Clock::now(self)
    }
}
