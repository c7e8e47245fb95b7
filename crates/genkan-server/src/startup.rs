//! Builds the application from its configuration: opens the store, starts the
//! notification worker, the scheduled jobs and metrics, and serves HTTP on a listener
//! the caller bound (or serves HTTP alone, for benchmarks).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use genkan_core::Clock;
use genkan_store::{KeyRing, Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, MailTransport};
use crate::jobs::{JobContext, Scheduler};
use crate::notify::Notifier;
use crate::passwords::Passwords;
use crate::ratelimit::Limits;
use crate::request::TrustedProxies;
use crate::routes;
use crate::state::AppState;
use genkan_core::reach::Deliverable;

/// Opens the encrypted store described by `config` with `keys`, and tells it which
/// channels this server delivers.
pub fn open_store(config: &Config, keys: KeyRing) -> anyhow::Result<Store> {
    let store = Store::open(StoreConfig {
        path: config.data.database(),
        keys,
        readers: config.data.readers,
    })
    .with_context(|| format!("opening the database {}", config.data.database().display()))?;
    store.set_deliverable(deliverable(config));
    Ok(store)
}

/// The channels this configuration delivers: e-mail only with a mail transport;
/// the HTTP channels always (each needs its tenant's settings before anything goes).
pub fn deliverable(config: &Config) -> Deliverable {
    Deliverable {
        email: config.mail.transport != MailTransport::None,
        chat: true,
    }
}

/// A built application, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    notifier: Arc<Notifier>,
}

impl Application {
    /// Builds the application on an already bound `listener`.
    pub fn build(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        // Whoever opened the store, check-ins answer for what this server delivers.
        store.set_deliverable(deliverable(&config));
        let trusted = config
            .server
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<IpAddr>()
                    .with_context(|| format!("server.trusted_proxies: {p:?} is not an IP address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let notifier = Arc::new(
            Notifier::new(store.clone(), Arc::clone(&clock), Arc::clone(&config))
                .map_err(anyhow::Error::msg)?,
        );
        let state = AppState {
            sandbox: notifier.sandbox().clone(),
            limits: Arc::new(Limits::new(&clock)),
            passwords: Arc::new(Passwords::new(&config.auth)),
            trusted: TrustedProxies(Arc::new(
                trusted.into_iter().map(crate::request::canonical).collect(),
            )),
            store,
            clock,
            config,
            clock_status: crate::ops::clock_sync::ClockStatus::default(),
        };
        Ok(Self {
            listener,
            state,
            notifier,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (for tests and tools).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops the worker and drains requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(Arc::clone(&self.notifier).run(stop_rx.clone()));
        // Tenant templates need the sandbox: say so at start-up, not at the first mail.
        let sandbox = self.state.sandbox.clone();
        tokio::spawn(async move {
            if let Err(e) = sandbox.check().await {
                tracing::error!(error = %e, "tenant message templates cannot be rendered");
            }
        });
        let scheduler = Arc::new(Scheduler::new(JobContext {
            store: self.state.store.clone(),
            clock: Arc::clone(&self.state.clock),
            config: Arc::clone(&self.state.config),
        }));
        let metrics = crate::ops::metrics::spawn(&self.state, stop_rx.clone()).await?;
        let clock_check = tokio::spawn(crate::ops::clock_sync::run(
            self.state.clock_status.clone(),
            self.state.config.readiness.clone(),
            Arc::new(genkan_core::SystemClock),
            stop_rx.clone(),
        ));
        let jobs = tokio::spawn(scheduler.run(stop_rx));
        let app = routes::router(self.state.clone());
        serve(&self.state.config, self.listener, app, shutdown).await?;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        let _ = jobs.await;
        let _ = clock_check.await;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        Ok(())
    }

    /// Serves HTTP only, until `shutdown` completes: no notification worker, no
    /// scheduled jobs (auto check-out, reminders, no-shows, backups, …) and no metrics
    /// listener, so nothing but the requests themselves reads or changes the data.
    /// For benchmarks that measure requests alone; alerts queued by requests stay
    /// queued. A server in service runs [`Self::run_until_stopped`].
    pub async fn run_without_background_jobs(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = routes::router(self.state.clone());
        serve(&self.state.config, self.listener, app, shutdown).await
    }
}

/// Serves `app` on `listener`: HTTPS when certificate files are configured (plus the
/// optional plain-HTTP listener that only redirects), plain HTTP otherwise.
async fn serve(
    config: &Config,
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    // Clamped: hyper adds it to an `Instant`, which must not overflow.
    let header_timeout =
        std::time::Duration::from_secs(config.server.header_read_timeout_secs.clamp(1, 3600));
    if !config.tls.redirect_listen.is_empty() {
        let addr = config
            .tls
            .redirect_listen
            .parse()
            .context("tls.redirect_listen")?;
        let public = config.server.public_url.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::tls::serve_redirects(addr, public, header_timeout).await {
                tracing::error!(error = %e, "redirect listener stopped");
            }
        });
    }
    let Some((cert, key)) = config.tls.files() else {
        return crate::http::serve(listener, app, header_timeout, shutdown)
            .await
            .context("serving HTTP");
    };
    let tls =
        axum_server::tls_rustls::RustlsConfig::from_config(crate::tls::server_config(cert, key)?);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let mut server =
        axum_server::from_tcp_rustls(listener.into_std().context("TLS listener")?, tls)
            .context("TLS listener")?
            .handle(handle)
            // After the handshake, the protocol sniffing before hyper's own header
            // timer starts is bounded too: a silent TLS client is closed in time.
            .first_request_timeout(header_timeout);
    // axum-server installs a timer but turns hyper's header timeout off.
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_timeout);
    server.serve(app).await.context("serving HTTPS")
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
