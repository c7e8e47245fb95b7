//! The network thread: a small tokio runtime that runs kiosk API requests and reports
//! each outcome through a callback (which forwards it to the UI thread).
//!
//! The controller only sees [`Answer`]s, so an offline journal can later sit here,
//! between the controller and the client, answering from the roster when the server
//! is unreachable.

use std::sync::Arc;
use std::time::Duration;

use genkan_core::wire::v1::KioskConfig;
use tokio::sync::mpsc;

use crate::client::ClientError;
use crate::controller::{Answer, Branding, Effect, Mode, PairingIssue};
use crate::credential::CredentialStore;
use crate::session::{self, Session};

/// How long to wait before asking again for a configuration that could not be fetched.
const CONFIG_RETRY: Duration = Duration::from_secs(30);

/// What the network thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a presented pass.
    Answered {
        /// The request id of the presented pass.
        request_id: String,
        /// What the server said.
        answer: Answer,
    },
    /// Pairing finished.
    Paired(Result<Branding, PairingIssue>),
    /// The kiosk configuration arrived.
    Configured(KioskConfig),
}

/// Turns a client result into the controller's terms.
pub fn answer<T>(result: Result<T, ClientError>, ok: impl FnOnce(T) -> Answer) -> Answer {
    match result {
        Ok(value) => ok(value),
        Err(ClientError::Refused(body)) => Answer::Refused(body),
        Err(ClientError::Unreachable(why)) => Answer::Unreachable(why),
        Err(e @ (ClientError::Protocol(_) | ClientError::InvalidServer(_))) => {
            Answer::Failed(e.to_string())
        }
    }
}

enum Job {
    Run(Effect),
    FetchConfig,
}

/// Handle to the network thread. Dropping it ends the thread once queued work is done.
#[derive(Debug, Clone)]
pub struct Network {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Network {
    /// Starts the thread. `session` is the paired session, if any; `report` receives
    /// every outcome (on the network thread: it must hand over, not block).
    pub fn start(
        store: CredentialStore,
        session: Option<Session>,
        report: impl Fn(Reply) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, queue) = mpsc::unbounded_channel();
        let report: Arc<dyn Fn(Reply) + Send + Sync> = Arc::new(report);
        std::thread::Builder::new()
            .name("network".to_owned())
            .spawn(move || runtime.block_on(serve(store, session, queue, report)))?;
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
}

async fn serve(
    store: CredentialStore,
    mut session: Option<Session>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    report: Arc<dyn Fn(Reply) + Send + Sync>,
) {
    while let Some(job) = queue.recv().await {
        match job {
            Job::Run(Effect::Present { mode, pass }) => {
                let client = session.as_ref().map(|s| s.client.clone());
                let report = Arc::clone(&report);
                // Requests run side by side: a slow answer never holds up the next scan.
                tokio::spawn(async move {
                    let answer = match client {
                        None => Answer::Failed("this kiosk is not paired".to_owned()),
                        Some(client) => match mode {
                            Mode::CheckIn => {
                                answer(client.check_in(&pass).await, Answer::CheckedIn)
                            }
                            Mode::CheckOut => {
                                answer(client.check_out(&pass).await, Answer::CheckedOut)
                            }
                        },
                    };
                    report(Reply::Answered {
                        request_id: pass.request_id,
                        answer,
                    });
                });
            }
            Job::Run(Effect::Pair { server_url, code }) => {
                // Pairing is awaited in line: nothing else can happen before it.
                match Session::pair(&store, &server_url, &code).await {
                    Ok((paired, response)) => {
                        tracing::info!(kiosk_id = response.kiosk_id, "paired");
                        session = Some(paired);
                        report(Reply::Paired(Ok(session::branding(&response))));
                        spawn_config(session.as_ref(), &report);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pairing failed");
                        report(Reply::Paired(Err(e.issue())));
                    }
                }
            }
            Job::FetchConfig => spawn_config(session.as_ref(), &report),
        }
    }
}

fn spawn_config(session: Option<&Session>, report: &Arc<dyn Fn(Reply) + Send + Sync>) {
    let Some(client) = session.map(|s| s.client.clone()) else {
        return;
    };
    let report = Arc::clone(report);
    tokio::spawn(async move {
        loop {
            match client.config().await {
                Ok(config) => {
                    report(Reply::Configured(config));
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
