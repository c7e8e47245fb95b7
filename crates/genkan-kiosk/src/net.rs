//! The network thread: a small tokio runtime that runs kiosk API requests and reports
//! each outcome through a callback (which forwards it to the UI thread).
//!
//! The offline desk sits here, between the controller and the client: when the
//! server cannot be reached, a check-in is answered from the roster and journaled,
//! and the background task ([`crate::offline::sync::Background`]) replays the journal
//! once the server is back. The request functions ([`check_in`], [`watch_reply`], …)
//! are generic over [`KioskApi`] so tests run them against a fake server.

pub mod requests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use genkan_core::Clock;
use genkan_core::wire::v1::{HostMatch, HostReply, KioskConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::KioskClient;
use crate::controller::{Answer, Branding, Effect, Mode, PairingIssue, Problem};
use crate::credential::CredentialStore;
use crate::offline::OfflineDesk;
use crate::offline::sync::{Background, Health, LinkEvent};
use crate::session::{self, Session};
pub use requests::{answer, check_in, problem, watch_reply};

/// How long to wait before asking again for a configuration that could not be fetched.
const CONFIG_RETRY: Duration = Duration::from_secs(30);
/// How often the background task looks at what is due (heartbeat, roster, replay).
const BACKGROUND_TICK: Duration = Duration::from_secs(5);
/// The last kiosk configuration, kept so a kiosk that starts offline still shows its
/// company's name, colours and options (nothing personal in it).
const CONFIG_FILE: &str = "kiosk-config.json";

/// The configuration the server gave last, if any.
pub fn cached_config(dir: &std::path::Path) -> Option<KioskConfig> {
    let text = std::fs::read_to_string(dir.join(CONFIG_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn cache_config(dir: &std::path::Path, config: &KioskConfig) {
    let written = serde_json::to_vec_pretty(config)
        .map_err(std::io::Error::other)
        .and_then(|json| std::fs::write(dir.join(CONFIG_FILE), json));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot keep the kiosk configuration");
    }
}

/// What the network thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a presented pass or a walk-in.
    Answered {
        /// The request id.
        request_id: String,
        /// What the server (or the offline desk) said.
        answer: Answer,
    },
    /// Pairing finished.
    Paired(Result<Branding, PairingIssue>),
    /// The kiosk configuration arrived.
    Configured(KioskConfig),
    /// The tenant's logo (PNG bytes).
    Logo(Vec<u8>),
    /// Hosts matching a walk-in's search.
    Hosts {
        /// The search the matches are for.
        query: String,
        /// The matches, or why there are none.
        result: Result<Vec<HostMatch>, Problem>,
    },
    /// A host answered the arrival alert.
    HostReplied {
        /// The visit.
        visit_id: i64,
        /// The answer.
        reply: HostReply,
    },
    /// The server stopped or started answering, or revoked this kiosk.
    Link(LinkEvent),
}

enum Job {
    Run(Effect),
    FetchConfig,
    Health(Health),
}

/// Handle to the network thread. Dropping it ends the thread once queued work is done.
#[derive(Debug, Clone)]
pub struct Network {
    jobs: mpsc::UnboundedSender<Job>,
}

type Report = Arc<dyn Fn(Reply) + Send + Sync>;

impl Network {
    /// Starts the thread. `session` is the paired session, if any; `report` receives
    /// every outcome (on the network thread: it must hand over, not block).
    pub fn start(
        store: CredentialStore,
        session: Option<Session>,
        clock: Arc<dyn Clock>,
        report: impl Fn(Reply) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, queue) = mpsc::unbounded_channel();
        let report: Report = Arc::new(report);
        std::thread::Builder::new()
            .name("network".to_owned())
            .spawn(move || {
                let worker = Worker {
                    store,
                    clock,
                    report,
                    linked: None,
                    health: Arc::new(Mutex::new(Health::default())),
                    reply_task: None,
                };
                runtime.block_on(worker.serve(session, queue));
            })?;
        Ok(Self { jobs })
    }

    /// Carries out an effect asked by the controller.
    pub fn run(&self, effect: Effect) {
        if self.jobs.send(Job::Run(effect)).is_err() {
            tracing::error!("the network thread has stopped");
        }
    }

    /// Fetches the kiosk configuration (names, colour, languages), retrying until it arrives.
    pub fn fetch_config(&self) {
        let _ = self.jobs.send(Job::FetchConfig);
    }

    /// What the next heartbeats report.
    pub fn report_health(&self, health: Health) {
        let _ = self.jobs.send(Job::Health(health));
    }
}

/// A paired kiosk's connection: the client, the offline desk and the link flag.
struct Linked {
    api: Arc<KioskClient>,
    desk: Arc<Mutex<OfflineDesk>>,
    link: Arc<std::sync::atomic::AtomicBool>,
    background: JoinHandle<()>,
}

struct Worker {
    store: CredentialStore,
    clock: Arc<dyn Clock>,
    report: Report,
    linked: Option<Linked>,
    health: Arc<Mutex<Health>>,
    reply_task: Option<JoinHandle<()>>,
}

impl Worker {
    async fn serve(mut self, session: Option<Session>, mut queue: mpsc::UnboundedReceiver<Job>) {
        if let Some(session) = session {
            self.link(session);
        }
        while let Some(job) = queue.recv().await {
            match job {
                Job::Run(effect) => self.run(effect).await,
                Job::FetchConfig => self.spawn_config(),
                Job::Health(health) => {
                    *self
                        .health
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = health;
                }
            }
        }
        if let Some(linked) = self.linked.take() {
            linked.background.abort();
        }
    }

    /// Sets up the offline desk and the background task for a paired session.
    fn link(&mut self, session: Session) {
        let desk = Arc::new(Mutex::new(OfflineDesk::open(
            self.store.dir(),
            &session.stored.credential,
            session.stored.kiosk_id,
        )));
        let api = Arc::new(session.client);
        let mut background = Background::new();
        let link = background.link();
        let (task_api, task_desk) = (Arc::clone(&api), Arc::clone(&desk));
        let (clock, report, health) = (
            Arc::clone(&self.clock),
            Arc::clone(&self.report),
            Arc::clone(&self.health),
        );
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(BACKGROUND_TICK);
            loop {
                tick.tick().await;
                let now_health = health
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                for event in background
                    .step(task_api.as_ref(), &task_desk, &now_health, clock.now())
                    .await
                {
                    report(Reply::Link(event));
                }
            }
        });
        if let Some(old) = self.linked.replace(Linked {
            api,
            desk,
            link,
            background: task,
        }) {
            old.background.abort();
        }
    }

    async fn run(&mut self, effect: Effect) {
        let report = Arc::clone(&self.report);
        if let Effect::Pair { server_url, code } = effect {
            // Pairing is awaited in line: nothing else can happen before it.
            match Session::pair(&self.store, &server_url, &code).await {
                Ok((paired, response)) => {
                    tracing::info!(kiosk_id = response.kiosk_id, "paired");
                    self.link(paired);
                    report(Reply::Paired(Ok(session::branding(&response))));
                    self.spawn_config();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pairing failed");
                    report(Reply::Paired(Err(e.issue())));
                }
            }
            return;
        }
        let Some(linked) = &self.linked else {
            if let Effect::Present { pass, .. } = effect {
                report(Reply::Answered {
                    request_id: pass.request_id,
                    answer: Answer::Failed("this kiosk is not paired".to_owned()),
                });
            }
            return;
        };
        let (api, desk, link) = (
            Arc::clone(&linked.api),
            Arc::clone(&linked.desk),
            Arc::clone(&linked.link),
        );
        let clock = Arc::clone(&self.clock);
        // Requests run side by side: a slow answer never holds up the next scan.
        match effect {
            Effect::Present { mode, pass } => {
                tokio::spawn(async move {
                    let answer = match mode {
                        Mode::CheckIn => {
                            check_in(api.as_ref(), &desk, &link, &pass, || clock.now()).await
                        }
                        Mode::CheckOut => answer(api.check_out(&pass).await, Answer::CheckedOut),
                    };
                    report(Reply::Answered {
                        request_id: pass.request_id,
                        answer,
                    });
                });
            }
            Effect::WalkIn(request) => {
                tokio::spawn(async move {
                    let answer = answer(api.walk_in(&request).await, Answer::CheckedIn);
                    report(Reply::Answered {
                        request_id: request.request_id,
                        answer,
                    });
                });
            }
            Effect::SearchHosts { query } => {
                tokio::spawn(async move {
                    let result = api.hosts(&query).await.map_err(|e| problem(&e));
                    report(Reply::Hosts { query, result });
                });
            }
            Effect::WatchReply { visit_id, wait } => {
                if let Some(previous) = self.reply_task.take() {
                    previous.abort();
                }
                self.reply_task = Some(tokio::spawn(async move {
                    if let Some(reply) = watch_reply(api.as_ref(), visit_id, wait).await {
                        report(Reply::HostReplied { visit_id, reply });
                    }
                }));
            }
            Effect::Pair { .. } => {}
        }
    }

    fn spawn_config(&self) {
        let Some(api) = self.linked.as_ref().map(|l| Arc::clone(&l.api)) else {
            return;
        };
        let report = Arc::clone(&self.report);
        let dir = self.store.dir().to_owned();
        tokio::spawn(async move {
            loop {
                match api.config().await {
                    Ok(config) => {
                        cache_config(&dir, &config);
                        let has_logo = config.has_logo;
                        report(Reply::Configured(config));
                        if has_logo {
                            match api.logo().await {
                                Ok(png) => report(Reply::Logo(png)),
                                Err(e) => tracing::warn!(error = %e, "cannot fetch the logo"),
                            }
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot fetch the kiosk configuration; retrying");
                        tokio::time::sleep(CONFIG_RETRY).await;
                    }
                }
            }
        });
    }
}
