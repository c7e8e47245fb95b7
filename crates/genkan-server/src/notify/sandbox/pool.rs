//! The server side of the sandbox: a pool of `genkan render-sandbox` processes.
//! A render waits for its tenant's turn (one render per tenant at a time, so one
//! tenant's bombs never occupy every process) and then for a free process; a
//! preview that cannot start soon, or whose tenant already has a render waiting, is
//! refused as busy. A process that overruns the time limit is killed; one that died
//! is replaced by a fresh one at the next render.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use genkan_core::id::TenantId;
use tokio::io::{AsyncReadExt as _, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::protocol::{Answer, Failure, HELLO, Job, JobPart, receive, send};
use super::{Limit, SandboxError};
use crate::config::TemplatesConfig;
use crate::notify::custom::Part;

/// Previews of one tenant in flight (rendering or waiting); more are refused as busy.
const PREVIEWS_PER_TENANT: usize = 2;
/// Longest a preview waits for its turn and a process.
const PREVIEW_WAIT: Duration = Duration::from_secs(4);
/// Longest a delivery waits (it then retries later).
const DELIVERY_WAIT: Duration = Duration::from_secs(30);
/// Longest a new process may take to say hello.
const START_WAIT: Duration = Duration::from_secs(10);

/// Who is waiting for a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// An administrator's preview or save: refused as busy rather than queued long.
    Preview,
    /// The outbox worker: waits longer, never counted against previews.
    Delivery,
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    program: PathBuf,
    time_limit: Duration,
    memory_mib: u64,
    cpu_secs: u64,
    fuel: u64,
    output_bytes: usize,
    /// One permit per process that may render at once.
    processes: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
    tenants: Mutex<HashMap<TenantId, Arc<Lane>>>,
    /// Previews in flight over all tenants.
    previews: AtomicUsize,
    max_previews: usize,
}

/// One tenant's place in line.
struct Lane {
    turn: Arc<Semaphore>,
    previews: AtomicUsize,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("program", &self.inner.program)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A pool as configured; processes start at the first render. An empty
    /// `sandbox_program` means this binary.
    pub fn new(config: &TemplatesConfig) -> Self {
        let program = if config.sandbox_program.as_os_str().is_empty() {
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from("genkan"))
        } else {
            config.sandbox_program.clone()
        };
        let workers = config.sandbox_workers.max(1);
        let time_limit = Duration::from_millis(config.time_limit_ms.clamp(100, 60_000));
        Self {
            inner: Arc::new(Inner {
                program,
                time_limit,
                memory_mib: config.memory_mib.max(16),
                // A process retires after half of it, so a healthy one never meets it.
                cpu_secs: (time_limit.as_secs() * 20).max(60),
                fuel: config.fuel.max(1),
                output_bytes: usize::try_from(config.output_kib.max(1) * 1024)
                    .unwrap_or(usize::MAX),
                processes: Arc::new(Semaphore::new(workers)),
                idle: Mutex::new(Vec::new()),
                tenants: Mutex::new(HashMap::new()),
                previews: AtomicUsize::new(0),
                max_previews: workers * 4,
            }),
        }
    }

    /// Starts one process and keeps it ready: fails when the sandbox cannot run.
    pub async fn check(&self) -> Result<(), SandboxError> {
        let worker = Worker::start(&self.inner).await?;
        self.inner.put_back(worker);
        Ok(())
    }

    /// Renders `parts` (template name, source) of `tenant` with `context`; gives one
    /// output per part, in order.
    pub async fn render(
        &self,
        tenant: TenantId,
        urgency: Urgency,
        parts: Vec<(Part, String, String)>,
        context: serde_json::Value,
    ) -> Result<Vec<String>, SandboxError> {
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let job = Job {
            parts: parts
                .into_iter()
                .map(|(part, name, source)| JobPart { part, name, source })
                .collect(),
            context,
            fuel: self.inner.fuel,
            output_bytes: self.inner.output_bytes,
        };
        let place = Place::take(&self.inner, tenant, urgency)?;
        let wait = match urgency {
            Urgency::Preview => PREVIEW_WAIT,
            Urgency::Delivery => DELIVERY_WAIT,
        };
        let deadline = tokio::time::Instant::now() + wait;
        let turn = Arc::clone(&place.lane.turn);
        let _turn = tokio::time::timeout_at(deadline, turn.acquire_owned())
            .await
            .map_err(|_| SandboxError::Busy)?
            .map_err(|_| SandboxError::Busy)?;
        let processes = Arc::clone(&self.inner.processes);
        let permit = tokio::time::timeout_at(deadline, processes.acquire_owned())
            .await
            .map_err(|_| SandboxError::Busy)?
            .map_err(|_| SandboxError::Busy)?;
        self.inner.run(&job, permit).await
    }
}

impl Inner {
    fn put_back(&self, worker: Worker) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(worker);
    }

    fn take_idle(&self) -> Option<Worker> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Runs `job` on an idle process (or a new one). A kept process found dead
    /// before it took the job (killed while idle) is replaced once.
    async fn run(
        &self,
        job: &Job,
        _permit: OwnedSemaphorePermit,
    ) -> Result<Vec<String>, SandboxError> {
        let mut kept = self.take_idle();
        loop {
            let fresh = kept.is_none();
            let mut worker = match kept.take() {
                Some(w) => w,
                None => Worker::start(self).await?,
            };
            if let Err(e) = send(&mut worker.stdin, job).await {
                worker.discard().await;
                if fresh {
                    return Err(SandboxError::Unavailable(format!(
                        "cannot reach the sandbox: {e}"
                    )));
                }
                continue;
            }
            match self.exchange(job, worker).await {
                Exchanged::Stale if !fresh => {}
                Exchanged::Stale => {
                    return Err(SandboxError::Unavailable(
                        "the sandbox process ended before it took the job".to_owned(),
                    ));
                }
                Exchanged::Done(result) => return result,
            }
        }
    }

    /// Waits for the answer to `job` within the time limit.
    async fn exchange(&self, job: &Job, mut worker: Worker) -> Exchanged {
        let max_answer = self.output_bytes.saturating_mul(6 * job.parts.len()) + 64 * 1024;
        let part_of = |index: Option<usize>| {
            index
                .and_then(|i| job.parts.get(i))
                .or_else(|| job.parts.first())
                .map_or(Part::Html, |p| p.part)
        };
        let exchanged = tokio::time::timeout(self.time_limit, worker.answer(max_answer)).await;
        match exchanged {
            Err(_) => {
                let part = part_of(worker.started);
                tracing::warn!(
                    part = part.file(),
                    "a template overran its time; its sandbox process is killed"
                );
                worker.discard().await;
                Exchanged::Done(Err(SandboxError::Limit {
                    part,
                    limit: Limit::Time,
                }))
            }
            Ok(Some(Answer::Rendered { outputs, retire })) if outputs.len() == job.parts.len() => {
                self.keep_or_retire(worker, retire).await;
                Exchanged::Done(Ok(outputs))
            }
            Ok(Some(Answer::Failed {
                index,
                failure,
                retire,
            })) => {
                self.keep_or_retire(worker, retire).await;
                let part = part_of(Some(index));
                Exchanged::Done(Err(match failure {
                    Failure::Limit(limit) => SandboxError::Limit { part, limit },
                    Failure::Template { line, detail } => {
                        SandboxError::Template { part, line, detail }
                    }
                }))
            }
            Ok(_) if worker.started.is_none() => {
                worker.discard().await;
                Exchanged::Stale
            }
            Ok(_) => {
                let part = part_of(worker.started);
                let limit = worker.death().await;
                Exchanged::Done(Err(match limit {
                    Some(limit) => SandboxError::Limit { part, limit },
                    None => SandboxError::Template {
                        part,
                        line: None,
                        detail: "this template stopped the renderer".to_owned(),
                    },
                }))
            }
        }
    }

    async fn keep_or_retire(&self, worker: Worker, retire: bool) {
        if retire {
            worker.discard().await;
        } else {
            self.put_back(worker);
        }
    }
}

/// How one exchange with a process ended.
enum Exchanged {
    /// The process ended before it started the job.
    Stale,
    /// The job's result.
    Done(Result<Vec<String>, SandboxError>),
}

/// A tenant's claim on a place in line, given back when dropped.
struct Place<'a> {
    inner: &'a Inner,
    tenant: TenantId,
    lane: Arc<Lane>,
    preview: bool,
}

impl<'a> Place<'a> {
    fn take(inner: &'a Inner, tenant: TenantId, urgency: Urgency) -> Result<Self, SandboxError> {
        let mut tenants = inner.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = Arc::clone(tenants.entry(tenant).or_insert_with(|| {
            Arc::new(Lane {
                turn: Arc::new(Semaphore::new(1)),
                previews: AtomicUsize::new(0),
            })
        }));
        let preview = urgency == Urgency::Preview;
        if preview {
            if lane.previews.load(Ordering::Relaxed) >= PREVIEWS_PER_TENANT
                || inner.previews.load(Ordering::Relaxed) >= inner.max_previews
            {
                if Arc::strong_count(&lane) == 2 {
                    tenants.remove(&tenant);
                }
                return Err(SandboxError::Busy);
            }
            lane.previews.fetch_add(1, Ordering::Relaxed);
            inner.previews.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Self {
            inner,
            tenant,
            lane,
            preview,
        })
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut tenants = self
            .inner
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.preview {
            self.lane.previews.fetch_sub(1, Ordering::Relaxed);
            self.inner.previews.fetch_sub(1, Ordering::Relaxed);
        }
        // The map's and this one: nobody else is in this tenant's line.
        if Arc::strong_count(&self.lane) == 2 {
            tenants.remove(&self.tenant);
        }
    }
}

/// One sandbox process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: ChildStderr,
    /// The part of the current job it announced last.
    started: Option<usize>,
}

impl Worker {
    async fn start(inner: &Inner) -> Result<Self, SandboxError> {
        let unavailable =
            |why: String| SandboxError::Unavailable(format!("{}: {why}", inner.program.display()));
        let mut command = Command::new(&inner.program);
        command
            .arg("render-sandbox")
            .arg("--memory-mib")
            .arg(inner.memory_mib.to_string())
            .arg("--cpu-secs")
            .arg(inner.cpu_secs.to_string())
            // Nothing of the server's environment (keys may be there) reaches it.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Starting a process blocks its thread for a moment: not an async worker's.
        let mut child = tokio::task::spawn_blocking(move || command.spawn())
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .map_err(|e| unavailable(e.to_string()))?;
        // Lowered at once, not only when it gets to it itself: loading the program
        // already runs below the server's threads.
        if let Some(pid) = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            let _ = rustix::process::setpriority_process(Some(pid), super::child::NICENESS);
        }
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(unavailable("no pipes".to_owned()));
        };
        let mut worker = Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
            started: None,
        };
        let hello =
            tokio::time::timeout(START_WAIT, receive::<Answer>(&mut worker.stdout, 1024)).await;
        match hello {
            Ok(Ok(Some(Answer::Hello { protocol }))) if protocol == HELLO => Ok(worker),
            _ => {
                let said = first_line(&worker.stderr_text().await);
                worker.discard().await;
                Err(unavailable(format!(
                    "it does not answer as a Genkan render sandbox (set templates.sandbox_program to the genkan binary){}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!("; it said: {said}")
                    }
                )))
            }
        }
    }

    /// Reads frames until the job's answer; `None` when the process died.
    async fn answer(&mut self, max: usize) -> Option<Answer> {
        self.started = None;
        loop {
            match receive::<Answer>(&mut self.stdout, max).await {
                Ok(Some(Answer::Started { index })) => self.started = Some(index),
                Ok(Some(answer)) => return Some(answer),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Why the process died, as a limit when it was one.
    async fn death(mut self) -> Option<Limit> {
        let said = self.stderr_text().await;
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let signal = match status {
            Ok(Ok(status)) => status.signal(),
            _ => {
                self.discard().await;
                None
            }
        };
        tracing::warn!(signal, stderr = %first_line(&said), "a template sandbox process died");
        const SIGKILL: i32 = 9;
        const SIGXCPU: i32 = 24;
        if said.contains("memory allocation") || signal == Some(SIGKILL) {
            Some(Limit::Memory)
        } else if signal == Some(SIGXCPU) {
            Some(Limit::Time)
        } else {
            None
        }
    }

    /// What the process wrote to stderr (bounded).
    async fn stderr_text(&mut self) -> String {
        let mut buf = Vec::new();
        let mut limited = (&mut self.stderr).take(8 * 1024);
        let _ = tokio::time::timeout(Duration::from_secs(1), limited.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Kills the process and reaps it.
    async fn discard(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }
}

/// The first line a process wrote (its cause; what follows is a backtrace), without
/// control characters and bounded, for a log line.
fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}
